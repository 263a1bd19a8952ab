//go:build linux

package main

import (
	"errors"
	"flag"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

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

// --schedule and --schedule-file make one schedule: a heal in one may end a cut of another,
// and an error names the file and the line.
func TestParseRunArgsSchedule(t *testing.T) {
	t.Parallel()
	plan := t.TempDir() + "/plan"
	if err := os.WriteFile(plan, []byte("# the plan\nat 1s partition a/b\nat 3s crash b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	o, err := parseRunArgs([]string{"--schedule", "at 2s heal a/b; at 4s partition a>b", "--schedule-file", plan, "--", "true"})
	if err != nil || o.Schedule == nil || len(o.Schedule.Partitions) != 2 || len(o.Schedule.Procs) != 1 ||
		o.Schedule.Partitions[0].ToTime != 2*time.Second {
		t.Fatalf("parsed %+v, %v", o.Schedule, err)
	}
	os.WriteFile(plan, []byte("at 1s partition a/b\nat 2s heal a/b\nat 3s heal a/b\n"), 0o644)
	_, err = parseRunArgs([]string{"--schedule-file", plan, "--", "true"})
	if want := "--schedule-file " + plan + `: line 3 ("at 3s heal a/b"): groups "a/b": expected a partition of a/b open at 3s`; err == nil || err.Error() != want {
		t.Errorf("error %v\nwant  %s", err, want)
	}
	_, err = parseRunArgs([]string{"--schedule-file", plan + ".missing", "--", "true"})
	var se *trace.SpecError
	if !errors.As(err, &se) || se.Field != "file" {
		t.Errorf("missing file: %v", err)
	}
}

// --clock-skew and --no-vdso reach the trace.Config; a bad skew names the field.
func TestParseRunArgsClockSkew(t *testing.T) {
	t.Parallel()
	o, err := parseRunArgs([]string{"--clock-skew", "realtime=24h", "--clock-skew", "monotonic=-1m", "--no-vdso", "--", "date"})
	if err != nil || o.Skew != (trace.ClockSkew{Realtime: 24 * time.Hour, Monotonic: -time.Minute}) || !o.NoVDSO {
		t.Fatalf("parsed %+v %v, %v", o.Skew, o.NoVDSO, err)
	}
	_, err = parseRunArgs([]string{"--clock-skew", "tai=1s", "--", "date"})
	var se *trace.SpecError
	if !errors.As(err, &se) || se.Flag != "--clock-skew" || se.Field != "clock" || se.Value != "tai" {
		t.Errorf("bad clock: %v", err)
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
	f.Add("-p\x0012,x\x00-P\x00/etc\x00-e\x00status=!failed\x00-e\x00signal=INT")
	f.Add("-z\x00-e\x00bogus=1\x00--\x00x")
	f.Add("--schedule\x00at 1s partition a/b for 1s; at 3s crash b\x00--\x00x")
	f.Add("--schedule\x00at 1s heal a/b\x00--schedule-file\x00/nonexistent\x00--\x00x")
	f.Fuzz(func(t *testing.T, s string) {
		o, err := parseRunArgs(strings.Split(s, "\x00"))
		if err == nil && len(o.Args) == 0 && len(o.Attach) == 0 {
			t.Fatalf("parseRunArgs(%q) accepted no command and no process to attach to", s)
		}
		if err == nil || errors.Is(err, flag.ErrHelp) {
			return
		}
		// Every refusal names the flag, the field, the value and what was expected; a
		// schedule's, the line.
		var sched *trace.ScheduleError
		if errors.As(err, &sched) {
			if sched.Source == "" || sched.Line < 1 || sched.Field == "" || sched.Expected == "" ||
				!strings.Contains(err.Error(), strconv.Quote(sched.Value)) {
				t.Fatalf("parseRunArgs(%q): incomplete error %+v", s, sched)
			}
			return
		}
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

// -p, -P, -e and -z/-Z: strace's flags, parsed into the trace.Config, and refused naming the
// flag, the field and the value.
func TestParseRunArgsStraceFlags(t *testing.T) {
	t.Parallel()
	o, err := parseRunArgs([]string{"-p", "12,13", "-p", "14", "-P", "/etc/hostname", "-e", "status=failed", "-e", "signal=!SIGCHLD", "-e", "read,write"})
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Attach) != 3 || o.Attach[2] != 14 || len(o.Paths) != 1 || len(o.Args) != 0 || len(o.Trace) != 2 {
		t.Errorf("parsed %+v", o.Config)
	}
	if o.TextOptions.Status.Has(trace.StatusSuccessful) || !o.TextOptions.Status.Has(trace.StatusFailed) ||
		o.TextOptions.Signals.Has(17) || !o.TextOptions.Signals.Has(2) {
		t.Errorf("status %v signals %+v", o.TextOptions.Status, o.TextOptions.Signals)
	}
	o, err = parseRunArgs([]string{"-Z", "--", "true"})
	if err != nil || o.TextOptions.Status.Has(trace.StatusSuccessful) || !o.TextOptions.Status.Has(trace.StatusFailed) {
		t.Errorf("-Z: %v %v", o, err)
	}
	for _, c := range []struct {
		args         []string
		field, value string
	}{
		{[]string{"-p", "x1"}, "pid", "x1"},
		{[]string{"-p", "0"}, "pid", "0"},
		{[]string{"-p", ","}, "pid", ","},
		{[]string{"-p", "5", "--", "true"}, "command", "true"},
		{[]string{"-P", "", "--", "true"}, "path", ""},
		{[]string{"-e", "status=maybe", "--", "true"}, "status", "maybe"},
		{[]string{"-e", "signal=SIGFOO", "--", "true"}, "signal", "SIGFOO"},
		{[]string{"-e", "inject=write:error=EIO", "--", "true"}, "qualifier", "inject"},
		{[]string{"-e", "trace=nosuchcall", "--", "true"}, "syscall set", "nosuchcall"},
		{[]string{"--clock-offset", "realtime=1h", "--", "true"}, "clock", "realtime"},
		{[]string{"--link", "a/b:delay=fast", "--", "true"}, "delay", "fast"},
		{[]string{"--link", "a/b", "--", "true"}, "link", "a/b"},
		{[]string{"--clock-offset", "both=1h", "-p", "7"}, "clock-offset", "both=1h"},
	} {
		_, err := parseRunArgs(c.args)
		var se *trace.SpecError
		if !errors.As(err, &se) || se.Field != c.field || se.Value != c.value {
			t.Errorf("%q: %v, want field %q value %q", c.args, err, c.field, c.value)
		}
	}
}
