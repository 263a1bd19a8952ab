//go:build linux

package main

import (
	"errors"
	"flag"
	"strconv"
	"strings"
	"testing"

	"github.com/faultbox/faultbox/fault"
	"github.com/faultbox/faultbox/trace"
)

func TestParseRunArgs(t *testing.T) {
	t.Parallel()
	o, err := parseRunArgs([]string{"--inject", "write:error=EIO", "--crash", "s@accept#2", "--partition", "a/b@1..2",
		"--label", "s=server", "--seed", "7", "-o", "ev.jsonl", "--", "sh", "-c", "true"})
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Rules) != 2 || len(o.Partitions) != 1 || len(o.Labels) != 1 || o.Seed != 7 || !o.SeedGiven || o.EventsPath != "ev.jsonl" || len(o.Args) != 3 {
		t.Errorf("parseRunArgs = %+v", o)
	}
	for _, bad := range [][]string{{"--"}, {"--inject", "bad"}, {"--seed", "-1", "--", "x"}, {"--trace", "nope", "--", "x"}} {
		if _, err := parseRunArgs(bad); err == nil {
			t.Errorf("parseRunArgs(%q) accepted", bad)
		}
	}
	if _, err := parseRunArgs([]string{"-h"}); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v, want flag.ErrHelp", err)
	}
}

// --seed parses through fault.Seed: decimal or 0x hex (a leading zero is not octal), and a
// bad one is refused naming the field and the value.
func TestParseRunArgsSeed(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]fault.Seed{"16": 16, "0x10": 16, "010": 10, "18446744073709551615": 1<<64 - 1} {
		o, err := parseRunArgs([]string{"--seed", in, "--", "true"})
		if err != nil || o.Seed != want {
			t.Errorf("--seed %s: %v, %v; want %d", in, o, err, want)
		}
	}
	o, err := parseRunArgs([]string{"--", "true"})
	if err != nil || o.Seed != 1 || o.SeedGiven {
		t.Errorf("no --seed: %+v, %v; want seed 1, not given", o, err)
	}
	_, err = parseRunArgs([]string{"--seed", "0xzz", "--", "true"})
	var se *trace.SpecError
	if !errors.As(err, &se) || se.Field != "seed" || se.Value != "0xzz" || !strings.Contains(err.Error(), "0x and up to 16 hex digits") {
		t.Errorf("bad seed: %v", err)
	}
}

func FuzzParseRunArgs(f *testing.F) {
	f.Add("--inject\x00write:error=EIO\x00--\x00true")
	f.Add("--partition\x00a/b@1..3\x00--crash\x00s@accept#2\x00--\x00x")
	f.Add("--label\x00a=b\x00--seed\x000x10\x00--trace\x00%net\x00--\x00x")
	f.Add("--bogus\x00--\x00x")
	f.Add("-o")
	f.Add("--seed\x00zz\x00--\x00x")
	f.Add("--inject\x00read,,write::error=enospc\x00--")
	f.Fuzz(func(t *testing.T, s string) {
		o, err := parseRunArgs(strings.Split(s, "\x00"))
		if err == nil && len(o.Args) == 0 {
			t.Fatalf("parseRunArgs(%q) accepted no command", s)
		}
		if err == nil || errors.Is(err, flag.ErrHelp) {
			return
		}
		// Every refusal names the flag, the field, the value and what was expected.
		var se *trace.SpecError
		if !errors.As(err, &se) {
			t.Fatalf("parseRunArgs(%q): %T %v, want a *trace.SpecError", s, err, err)
		}
		if se.Flag == "" || se.Field == "" || se.Expected == "" || se.Pos < 1 {
			t.Fatalf("parseRunArgs(%q): incomplete error %+v", s, se)
		}
		if msg := err.Error(); !strings.Contains(msg, se.Field) || !strings.Contains(msg, strconv.Quote(se.Value)) {
			t.Fatalf("parseRunArgs(%q): message %q lacks field or value", s, msg)
		}
	})
}
