package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/faultbox/faultbox/cluster"
	"github.com/faultbox/faultbox/fault"
)

func runArgs(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestHashFrozenScenarios(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"hash", "workload", "--seed", "42", "--ops", "200", "--keys", "16", "--scenario", "normal"}, cluster.NormalHash},
		{[]string{"hash", "workload", "--seed=7", "--ops=2000", "--keys=128", "--scenario=fault"}, cluster.FaultHash},
	} {
		code, out, errOut := runArgs(tc.args...)
		if code != 0 || out != tc.want || errOut != "" {
			t.Errorf("%v: code %d, stdout %q, stderr %q; want 0, %q (no newline), empty", tc.args, code, out, errOut, tc.want)
		}
	}
}

func TestSnapshotIsRawBytes(t *testing.T) {
	t.Parallel()
	code, out, _ := runArgs("snapshot", "workload", "--seed", "42", "--ops", "200", "--keys", "16", "--scenario", "normal")
	if code != 0 || len(out) != 20523 || cluster.HashSnapshot([]byte(out)) != cluster.NormalHash {
		t.Fatalf("snapshot: code %d, %d bytes; want 0, 20523 bytes hashing to the frozen value", code, len(out))
	}
}

func TestShowSummary(t *testing.T) {
	t.Parallel()
	code, out, _ := runArgs("show", "workload", "--seed", "7", "--ops", "2000", "--keys", "128", "--scenario", "fault")
	if code != 0 {
		t.Fatalf("show: exit %d", code)
	}
	for _, want := range []string{
		cluster.FaultHash,
		"follower 1 down for ops [1000, 1500): missed 500 entries, caught up 500",
		"node 1    follower log 2000, commit 2000, keys 97",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("show output lacks %q:\n%s", want, out)
		}
	}
}

// The default outputs stay byte for byte what they were: the frozen hashes and the ports
// are compared against them (scripts/verify.sh, scripts/cross_test.sh, the demo).
func TestShowIsByteIdentical(t *testing.T) {
	t.Parallel()
	for golden, args := range map[string][]string{
		"testdata/show-fault.golden":  {"show", "workload", "--seed", "7", "--ops", "2000", "--keys", "128", "--scenario", "fault"},
		"testdata/show-normal.golden": {"show", "workload", "--seed", "42", "--ops", "200", "--keys", "16", "--scenario", "normal"},
	} {
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if code, out, errOut := runArgs(args...); code != 0 || out != string(want) || errOut != "" {
			t.Errorf("%v: exit %d, stderr %q, stdout:\n%s\nwant:\n%s", args, code, errOut, out, want)
		}
	}
}

// --seed parses through fault.Seed: 0x2a is 42, and reproduces the frozen hash.
func TestHexSeed(t *testing.T) {
	t.Parallel()
	for _, seed := range []string{"0x2a", "0X2A", "42", "042"} {
		code, out, errOut := runArgs("hash", "workload", "--seed", seed, "--ops", "200", "--keys", "16", "--scenario", "normal")
		if code != 0 || out != cluster.NormalHash {
			t.Errorf("--seed %s: exit %d, %q, stderr %q; want the frozen normal hash", seed, code, out, errOut)
		}
	}
	if code, out, _ := runArgs("hash", "workload", "--seed", "0x10", "--ops", "10", "--keys", "4", "--scenario", "fault"); code != 0 {
		t.Errorf("--seed 0x10: exit %d, %q", code, out)
	} else if _, same, _ := runArgs("hash", "workload", "--seed", "16", "--ops", "10", "--keys", "4", "--scenario", "fault"); same != out {
		t.Errorf("--seed 0x10 and --seed 16 differ: %s %s", out, same)
	}
}

// --json prints the run as one fault.Report and exits with its verdict's code.
func TestJSONReport(t *testing.T) {
	t.Parallel()
	for _, cmd := range []string{"hash", "snapshot", "show"} {
		code, out, errOut := runArgs(cmd, "workload", "--seed", "7", "--ops", "2000", "--keys", "128", "--scenario", "fault", "--json")
		if code != 0 || errOut != "" {
			t.Fatalf("%s --json: exit %d, stderr %q", cmd, code, errOut)
		}
		var r fault.Report
		dec := json.NewDecoder(strings.NewReader(out))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil || dec.More() {
			t.Fatalf("%s --json: not one report: %v\n%s", cmd, err, out)
		}
		figs := map[string]string{}
		for _, f := range r.Figures {
			figs[f.Name] = f.Value
		}
		if r.Command != "dbctl "+cmd || *r.Seed != 7 || r.Verdict != fault.Pass || figs["sha256"] != cluster.FaultHash ||
			figs["missed"] != "500" || r.FaultTotal() != 1 || len(r.Checks) != 4 ||
			r.Replay != "dbctl "+cmd+" workload --seed 7 --ops 2000 --keys 128 --scenario fault" {
			t.Errorf("%s --json: %+v", cmd, r)
		}
	}
	code, out, _ := runArgs("show", "workload", "--seed", "1", "--ops", "0", "--keys", "1", "--scenario", "normal", "--json")
	if code != fault.ExitEmpty || !strings.Contains(out, `"verdict": "empty"`) {
		t.Errorf("no operations: exit %d, want 3 and an empty verdict:\n%s", code, out)
	}
	// Without --json, no operations is still a plain success: the ports are compared on it.
	if code, out, _ := runArgs("hash", "workload", "--seed", "0", "--ops", "0", "--keys", "1", "--scenario", "normal"); code != 0 || len(out) != 64 {
		t.Errorf("hash of no operations: exit %d, %q", code, out)
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--help"}, {"hash", "-h"}, {"snapshot", "--help"}, {"show", "workload", "-h"}} {
		code, out, _ := runArgs(args...)
		if code != 0 || !strings.Contains(out, "usage:") || !strings.Contains(out, "--scenario") {
			t.Errorf("%v: code %d, stdout %q; want 0 and a usage text", args, code, out)
		}
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	ok := []string{"--seed", "1", "--ops", "10", "--keys", "4", "--scenario", "normal"}
	with := func(name, value string) []string {
		args := []string{"hash", "workload"}
		for i := 0; i < len(ok); i += 2 {
			if ok[i] == name {
				if value != "<drop>" {
					args = append(args, name, value)
				}
				continue
			}
			args = append(args, ok[i], ok[i+1])
		}
		return args
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"keys zero", with("--keys", "0"), `--keys "0": expected a whole number from 1 to`},
		{"negative ops", with("--ops", "-3"), `--ops "-3": expected a whole number from 0 to 10000000`},
		{"negative seed", with("--seed", "-1"), `--seed "-1": expected a whole number from 0 to`},
		{"non-numeric keys", with("--keys", "many"), `--keys "many": expected a whole number`},
		{"ops too large", with("--ops", "10000001"), `--ops "10000001": expected a whole number from 0 to 10000000`},
		{"seed overflow", with("--seed", "18446744073709551616"), `--seed "18446744073709551616"`},
		{"unknown scenario", with("--scenario", "chaos"), `--scenario "chaos": expected normal or fault`},
		{"missing flag", with("--keys", "<drop>"), "missing required flag --keys"},
		{"flag given twice", append(with("--seed", "1"), "--seed", "2"), `--seed "2": given twice`},
		{"flag without value", []string{"hash", "workload", "--seed"}, "flag needs an argument: -seed"},
		{"unknown flag", append(with("--seed", "1"), "--bogus", "1"), "flag provided but not defined: -bogus"},
		{"extra argument", append(with("--seed", "1"), "extra"), `unexpected argument "extra"`},
		{"no workload word", []string{"hash", "--seed", "1"}, `expected the word workload after "hash", got "--seed"`},
		{"nothing after command", []string{"show"}, `expected the word workload after "show", got nothing`},
		{"unknown command", []string{"frob", "workload"}, `dbctl: unknown command "frob": want one of hash, snapshot, show`},
		{"hex seed too long", with("--seed", "0x10000000000000000"), `--seed "0x10000000000000000": expected a whole number from 0 to 18446744073709551615, or 0x and up to 16 hex digits`},
		{"no arguments", nil, "usage:"},
	} {
		code, out, errOut := runArgs(tc.args...)
		if code == 0 || out != "" || !strings.Contains(errOut, tc.want) {
			t.Errorf("%s: %v\n code %d, stdout %q, stderr %q\n want non-zero, empty stdout, stderr containing %q",
				tc.name, tc.args, code, out, errOut, tc.want)
		}
	}
}

// FuzzParseWorkload drives the flag parser with arbitrary argument lists: it never panics,
// and what it accepts is inside the model's domain.
func FuzzParseWorkload(f *testing.F) {
	f.Add("workload --seed 42 --ops 200 --keys 16 --scenario normal")
	f.Add("workload --seed=7 --ops=2000 --keys=128 --scenario=fault")
	f.Add("workload --keys 0")
	f.Add("workload --ops -1 --seed x")
	f.Add("--help")
	f.Add("workload -- --seed 1")
	f.Fuzz(func(t *testing.T, line string) {
		p, err := parseWorkload("hash", strings.Fields(line))
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if verr := p.p.Validate(); verr != nil {
			t.Fatalf("parser accepted %q but Validate rejects it: %v", line, verr)
		}
	})
}
