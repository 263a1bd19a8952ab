package main

import (
	"encoding/json"
	"flag"
	"io"
	"reflect"
	"regexp"
	"strconv"

	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/faultbox/faultbox/cmd/internal/cli"
	"github.com/faultbox/faultbox/disk"
	"github.com/faultbox/faultbox/fault"

	"github.com/faultbox/faultbox/disk/wal"
)

// torture runs 'faultbox disk torture' with a hook on the options (see runDiskTorture).
func torture(args []string, stdout, stderr io.Writer, adjust func(*wal.TortureOptions)) int {
	e := &cli.Env{Cmd: root.Sub("disk").Sub("torture"), Path: "faultbox disk torture", Stdout: stdout, Stderr: stderr}
	return runDiskTorture(e, args, adjust)
}

func TestDiskTorture(t *testing.T) {
	t.Parallel()
	args := []string{"disk", "torture", "--seed", "3", "--ops", "600", "--config", "stress"}
	var out, errb bytes.Buffer
	code := dispatch(args, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d, stderr %s\n%s", code, errb.String(), out.String())
	}
	for _, want := range []string{"faultbox disk torture  target wal on disk config stress  seed 3\n",
		"faults: ", "disk/torn-write=", "ok    no silent loss", "ok    losses explained", "verdict: pass\n",
		"naive: silent losses", "replay: faultbox disk torture --seed 3 --ops 600 --config stress\n",
		"the first fault of each family:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if errb.Len() != 0 {
		t.Errorf("stderr is not empty: %q", errb.String())
	}
	// Same seed, same output; and the replay line is that command.
	var again bytes.Buffer
	dispatch(args, &again, &errb)
	if again.String() != out.String() {
		t.Fatal("two runs with the same seed printed different reports")
	}
}

// --json prints one fault.Report on stdout and nothing else; it is the text report's data.
func TestDiskTortureJSON(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	code := dispatch([]string{"disk", "torture", "--seed", "0x3", "--ops", "600", "--json"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d, stderr %s\n%s", code, errb.String(), out.String())
	}
	dec := json.NewDecoder(&out)
	dec.DisallowUnknownFields()
	var rep fault.Report
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("stdout is not a JSON report: %v", err)
	}
	if dec.More() {
		t.Fatal("stdout holds more than the report")
	}
	if rep.Command != "faultbox disk torture" || rep.Seed == nil || *rep.Seed != 3 || rep.Verdict != fault.Pass ||
		len(rep.Checks) != 2 || rep.FaultTotal() == 0 || rep.Replay != "faultbox disk torture --seed 3 --ops 600 --config stress" {
		t.Fatalf("report: %+v", rep)
	}
	// The same run as text has the same figures.
	var text bytes.Buffer
	dispatch([]string{"disk", "torture", "--seed", "3", "--ops", "600"}, &text, &errb)
	for _, f := range rep.Figures {
		if !regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(f.Name) + ` +` + regexp.QuoteMeta(f.Value) + `$`).MatchString(text.String()) {
			t.Errorf("text report lacks the figure %s = %s:\n%s", f.Name, f.Value, text.String())
		}
	}
	if code := dispatch([]string{"disk", "torture", "--json", "--events", "3"}, &out, &errb); code != fault.ExitUsage {
		t.Errorf("--json --events 3: exit %d, want 2", code)
	}
}

// The exit-1 path: a log that acknowledges records before syncing them loses acknowledged
// records at a crash; the command must say so and exit 1.
func TestDiskTortureExitsOneOnALostRecord(t *testing.T) {
	t.Parallel()
	args := []string{"--seed", "1", "--ops", "400", "--config", "default", "--naive=false"}
	var out, errb bytes.Buffer
	code := torture(args, &out, &errb, func(o *wal.TortureOptions) { o.AckBeforeSync = true })
	if code != fault.ExitFail {
		t.Fatalf("exit %d, want 1; stderr %q\n%s", code, errb.String(), out.String())
	}
	for _, want := range []string{"verdict: fail", "FAIL  no silent loss", "were acknowledged"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.Contains(errb.String(), "level=WARN msg=\"silent loss\"") {
		t.Errorf("the loss was not logged on stderr: %q", errb.String())
	}
	// The same run with the honest log passes: the exit code comes from the lost records.
	out.Reset()
	if code := torture(args, &out, &errb, nil); code != 0 {
		t.Fatalf("honest log: exit %d\n%s", code, out.String())
	}
}

// The fault counts cover every fault, also past the log's cap on kept events, and the
// report says when the event list was truncated.
func TestDiskTortureCountsEventsPastTheCap(t *testing.T) {
	t.Parallel()
	args := []string{"--seed", "10", "--ops", "1500", "--config", "stress", "--naive=false", "--json"}
	var full, capped, errb bytes.Buffer
	if code := torture(args, &full, &errb, nil); code != 0 {
		t.Fatalf("exit %d, stderr %q\n%s", code, errb.String(), full.String())
	}
	if code := torture(args, &capped, &errb, func(o *wal.TortureOptions) { o.EventLimit = 1 }); code != 0 {
		t.Fatalf("capped: exit %d\n%s", code, capped.String())
	}
	var a, b fault.Report
	if err := json.Unmarshal(full.Bytes(), &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(capped.Bytes(), &b); err != nil {
		t.Fatal(err)
	}
	if a.FaultTotal() < 2 || !reflect.DeepEqual(a.Faults, b.Faults) || !reflect.DeepEqual(a.Figures, b.Figures) || a.Verdict != b.Verdict {
		t.Fatalf("keeping one event changed the counts or the verdict:\n%+v\n%+v", a, b)
	}
	if len(a.Notes) != 0 || len(b.Notes) != 1 ||
		b.Notes[0] != fmt.Sprintf("the event log kept the first 1 events; %d more were counted (the fault counts cover them), not kept", a.FaultTotal()-1) {
		t.Fatalf("notes: full %q, capped %q", a.Notes, b.Notes)
	}
	var text bytes.Buffer
	torture(args[:len(args)-1], &text, &errb, func(o *wal.TortureOptions) { o.EventLimit = 1 })
	if !strings.Contains(text.String(), "injected, all after the event log was full") {
		t.Errorf("the text does not say which families came after the cap:\n%s", text.String())
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
		{[]string{"torture", "--seed", "-1"}, `seed "-1": want a decimal number`},
		{[]string{"torture", "extra"}, `unexpected argument "extra"`},
		{[]string{"torture", "--json", "--events", "2"}, "--events 2 with --json"},
		{[]string{"format"}, `faultbox disk: unknown command "format"`},
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
		var a diskTortureArgs
		fs := flag.NewFlagSet("faultbox disk torture", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		diskTortureFlags(fs, &a)
		err := fs.Parse(strings.Fields(line))
		if err == nil {
			err = checkDiskTorture(&a, fs.Args())
		}
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

// The report names two different crash counts differently, and each is what it says: "crash
// steps" are the workload's steps that cut the power (one log line each with -v), "disk
// crashes" every power cut the disk took (those, the restarts after a failed write or sync,
// the crashes while recovering, and the final one), which is the disk's crash count.
// Before, both were printed as "crashes", with different numbers.
func TestDiskTortureCrashFigures(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	code := dispatch([]string{"disk", "torture", "--seed", "3", "--ops", "600", "--config", "stress", "--naive=false", "-v", "--json"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d, stderr %s\n%s", code, errb.String(), out.String())
	}
	var rep fault.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("stdout is not one JSON report: %v\n%s", err, out.String())
	}
	fig := map[string]int{}
	for _, f := range rep.Figures {
		if n, err := strconv.Atoi(f.Value); err == nil {
			fig[f.Name] = n
		}
	}
	steps := strings.Count(errb.String(), `msg="crash step"`)
	if steps == 0 || fig["crash steps"] != steps {
		t.Errorf("crash steps = %d, the log shows %d crash steps", fig["crash steps"], steps)
	}
	diskCrashes := 0
	for _, c := range rep.Faults {
		if c.Layer == fault.LayerDisk && c.Kind == disk.KindCrash {
			diskCrashes = c.N
		}
	}
	if fig["disk crashes"] != diskCrashes || fig["disk crashes"] != steps+fig["restarts"]+fig["recovery crashes"]+1 {
		t.Errorf("disk crashes = %d; the disk counted %d; steps %d + restarts %d + recovery crashes %d + the final one = %d",
			fig["disk crashes"], diskCrashes, steps, fig["restarts"], fig["recovery crashes"], steps+fig["restarts"]+fig["recovery crashes"]+1)
	}
	if fig["disk crashes"] == fig["crash steps"] {
		t.Errorf("seed 3 no longer tells the two counts apart (both %d): pick a seed with restarts", steps)
	}
	for _, f := range rep.Figures {
		if f.Name == "crashes" {
			t.Errorf("a figure is still called just %q", f.Name)
		}
	}
}

// A run that acknowledged nothing proved nothing: its verdict is empty and the exit code 3,
// not "verdict: OK" and 0.
func TestDiskTortureNothingAcknowledgedIsEmpty(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--ops", "0"},
		{"--ops", "300", "--config", `{"SyncFailureProbability": 1}`},
	} {
		var out, errb bytes.Buffer
		code := dispatch(append([]string{"disk", "torture", "--naive=false"}, args...), &out, &errb)
		if code != fault.ExitEmpty || !strings.Contains(out.String(), "verdict: empty") {
			t.Errorf("%q: exit %d, want %d and verdict empty; stderr %q\n%s", args, code, fault.ExitEmpty, errb.String(), out.String())
		}
	}
}
