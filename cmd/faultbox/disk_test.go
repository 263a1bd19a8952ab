package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/faultbox/faultbox/disk/wal"
)

func TestDiskTorture(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	code := dispatch([]string{"disk", "torture", "--seed", "3", "--ops", "600", "--config", "stress"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d, stderr %s\n%s", code, errb.String(), out.String())
	}
	for _, want := range []string{"injected events:", "torn-write", "verdict: OK", "naive log", "silently lost"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	// Same seed, same output.
	var again bytes.Buffer
	dispatch([]string{"disk", "torture", "--seed", "3", "--ops", "600", "--config", "stress"}, &again, &errb)
	if again.String() != out.String() {
		t.Fatal("two runs with the same seed printed different reports")
	}
}

// The exit-1 path: a log that acknowledges records before syncing them loses acknowledged
// records at a crash; the command must say so and exit 1.
func TestDiskTortureExitsOneOnALostRecord(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	code := runDiskWith([]string{"torture", "--seed", "1", "--ops", "400", "--config", "default", "--naive=false"},
		&out, &errb, func(o *wal.TortureOptions) { o.AckBeforeSync = true })
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr %q\n%s", code, errb.String(), out.String())
	}
	for _, want := range []string{"verdict: FAIL", "were acknowledged"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	// The same run with the honest log passes: the exit code comes from the lost records.
	out.Reset()
	if code := runDiskWith([]string{"torture", "--seed", "1", "--ops", "400", "--config", "default", "--naive=false"},
		&out, &errb, nil); code != 0 {
		t.Fatalf("honest log: exit %d\n%s", code, out.String())
	}
}

// "injected events" counts every fault, also past the recorder's cap on kept events, and
// says when the list was truncated.
func TestDiskTortureCountsEventsPastTheCap(t *testing.T) {
	t.Parallel()
	args := []string{"torture", "--seed", "10", "--ops", "1500", "--config", "stress", "--naive=false"}
	var full, capped, errb bytes.Buffer
	if code := runDiskWith(args, &full, &errb, nil); code != 0 {
		t.Fatalf("exit %d, stderr %q\n%s", code, errb.String(), full.String())
	}
	rep, err := wal.Torture(wal.TortureOptions{Seed: 10, Ops: 1500, Config: wal.Stress()})
	if err != nil {
		t.Fatal(err)
	}
	c := rep.Counters
	total := c.Total()
	if total < 2 || len(rep.Events) != total+c.Crashes+c.Wipes { // the log also holds crashes and wipes
		t.Fatalf("the reference run injected %d faults and kept %d events", total, len(rep.Events))
	}
	wantLine := fmt.Sprintf("injected events: %d;", total)
	if !strings.Contains(full.String(), wantLine) || strings.Contains(full.String(), "truncated") {
		t.Fatalf("output lacks %q or claims truncation:\n%s", wantLine, full.String())
	}
	if code := runDiskWith(args, &capped, &errb, func(o *wal.TortureOptions) { o.EventLimit = 1 }); code != 0 {
		t.Fatalf("capped: exit %d\n%s", code, capped.String())
	}
	for _, want := range []string{wantLine, fmt.Sprintf("kept the first 1; %d more were counted", total+c.Crashes+c.Wipes-1),
		"all after the event list was full", "verdict: OK"} {
		if !strings.Contains(capped.String(), want) {
			t.Errorf("capped output lacks %q:\n%s", want, capped.String())
		}
	}
}

func TestDiskTortureJSONConfig(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	code := dispatch([]string{"disk", "torture", "--ops", "300", "--naive=false", "--config",
		`{"SyncFailureProbability": 0.05, "SyncFailureDropsDirty": true}`}, &out, &errb)
	if code != 0 || !strings.Contains(out.String(), "sync-failure") {
		t.Fatalf("exit %d:\n%s%s", code, out.String(), errb.String())
	}
}

func TestDiskTortureBadInput(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"torture", "--ops", "-5"}, "--ops -5"},
		{[]string{"torture", "--config", `{"ReadFaultProbability": 3}`}, "ReadFaultProbability = 3"},
		{[]string{"torture", "--config", `{"IOPS": -2}`}, "IOPS = -2"},
		{[]string{"torture", "--config", `{"WriteLatency": {"Min": "2ms", "Max": "1ms"}}`}, "WriteLatency = [2ms, 1ms]"},
		{[]string{"torture", "--config", "turbo"}, `--config "turbo"`},
		{[]string{"torture", "--seed", "x"}, "invalid value \"x\" for flag -seed"},
		{[]string{"torture", "extra"}, `unexpected argument "extra"`},
		{[]string{"format"}, "usage: faultbox disk torture"},
	} {
		var out, errb bytes.Buffer
		if code := dispatch(append([]string{"disk"}, tc.args...), &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2", tc.args, code)
		}
		if !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%v: stderr %q lacks %q", tc.args, errb.String(), tc.want)
		}
	}
}

func FuzzDiskTortureFlags(f *testing.F) {
	f.Add("--seed 1 --ops 10 --config stress")
	f.Add(`--config {"IOPS":-1}`)
	f.Add("--ops 99999999999 --events -1")
	f.Add("--config random --seed 18446744073709551615")
	f.Fuzz(func(t *testing.T, line string) {
		var errb bytes.Buffer
		a, err := parseDiskTorture(strings.Fields(line), &errb)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if a.opts.Ops < 0 || a.opts.Ops > maxTortureOps || a.events < 0 {
			t.Fatalf("accepted out-of-range flags: %+v", a)
		}
		if err := a.opts.Config.Validate(); err != nil {
			t.Fatalf("accepted an invalid config: %v", err)
		}
	})
}
