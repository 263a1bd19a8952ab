//go:build linux && amd64

package explore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/faultbox/faultbox/fault"
)

var ackkv struct {
	once sync.Once
	path string
	err  error
}

// TestMain removes the example binary ackkvBinary built.
func TestMain(m *testing.M) {
	code := m.Run()
	if ackkv.path != "" {
		os.RemoveAll(filepath.Dir(ackkv.path))
	}
	os.Exit(code)
}

// ackkvBinary builds examples/ackkv once per test binary.
func ackkvBinary(t testing.TB) string {
	t.Helper()
	ackkv.once.Do(func() {
		dir, err := os.MkdirTemp("", "explore-ackkv-")
		if err != nil {
			ackkv.err = err
			return
		}
		ackkv.path = filepath.Join(dir, "ackkv")
		out, err := exec.Command("go", "build", "-o", ackkv.path, "../examples/ackkv").CombinedOutput()
		if err != nil {
			ackkv.err = errors.New(string(out))
		}
	})
	if ackkv.err != nil {
		t.Fatalf("build examples/ackkv: %v", ackkv.err)
	}
	return ackkv.path
}

// ackkvProgram is the example under exploration, in a fresh directory.
func ackkvProgram(t *testing.T, fixed bool) *Program {
	bin, dir := ackkvBinary(t), t.TempDir()
	args := []string{bin, "demo", dir}
	if fixed {
		args = []string{bin, "demo", "-fixed", dir}
	}
	return &Program{Args: args, Check: bin + " check " + dir, Labels: []string{"server=serve", "client=demo"}}
}

// The example's bug (a put acknowledged before it is logged) is found by aimed runs at once
// (the log write comes after the reply: an exposed storage event, aimed at first), shrunk
// to the one fault at the server's log write, and running the minimal plan again fails the
// check the same way; the correct order survives the same aims.
func TestProgramAimedFindsAcknowledgedWriteLost(t *testing.T) {
	t.Parallel()
	p := ackkvProgram(t, false)
	res, err := Explore(t.Context(), p, Options{Strategy: Aimed, Seed: 1, Runs: 20, Shrink: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.FirstFailure < 0 || len(res.Failures) != 1 {
		t.Fatalf("first failure %d, failures %+v: want the lost acknowledged write found within 20 runs", res.FirstFailure, res.Failures)
	}
	if res.FirstFailure > 1 {
		t.Errorf("first failure at run %d: want it among the first aims (the server's log write follows its reply: exposed)", res.FirstFailure)
	}
	f := res.Failures[0]
	if len(f.Minimal) != 1 || !strings.Contains(f.Minimal[0], "proc=server") || !strings.Contains(f.Minimal[0], "/log") ||
		!strings.Contains(f.Detail, "acknowledged puts lost") {
		t.Fatalf("minimal %q, detail %q: want one fault at the server's log write", f.Minimal, f.Detail)
	}
	if !strings.HasPrefix(f.Replay, "faultbox run --seed ") || !strings.Contains(f.Replay, "--inject "+f.Minimal[0]) ||
		!strings.HasSuffix(f.Replay, "; "+p.Check) {
		t.Errorf("replay %q: want faultbox run with the minimal fault, then the check", f.Replay)
	}
	again, err := p.Run(t.Context(), f.Seed, f.Minimal)
	if err != nil || !again.Failed || again.Check != f.Check {
		t.Fatalf("the minimal plan again: %+v, %v: want the check to fail again", again, err)
	}

	fixed := ackkvProgram(t, true)
	res, err = Explore(t.Context(), fixed, Options{Strategy: Aimed, Seed: 1, Runs: 30})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Runs) != 30 || res.FirstFailure >= 0 {
		t.Fatalf("the correct order: %d runs, first failure %d (%+v): want 30 runs and none failed", len(res.Runs), res.FirstFailure, res.Failures)
	}
}

// A fault-free run's signature does not depend on pids or times; a fault changes it.
func TestProgramSignatureIsStable(t *testing.T) {
	t.Parallel()
	p := ackkvProgram(t, false)
	a, err := p.Run(t.Context(), 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Run(t.Context(), 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.Failed || a.Signature != b.Signature {
		t.Fatalf("two fault-free runs: failed %v, signatures %s and %s: want one passing signature", a.Failed, a.Signature, b.Signature)
	}
	aims := p.Aims(a)
	if len(aims) == 0 || len(p.Cuts(a)) == 0 {
		t.Fatalf("aims %q: want aims and cuts from the baseline", aims)
	}
	thens := 0
	for _, a := range aims {
		if strings.Contains(a, " then ") {
			thens++
			if r := p.Replay(1, []string{a}); strings.Count(r, " --inject ") != 2 {
				t.Errorf("replay of %q: %s: want its two rules as two --inject flags", a, r)
			}
		}
	}
	if thens == 0 {
		t.Errorf("aims %q: want a delay then a crash among them", aims)
	}
	c, err := p.Run(t.Context(), 1, aims[:1])
	if err != nil {
		t.Fatal(err)
	}
	if c.Signature == a.Signature {
		t.Errorf("plan %q: signature %s, the same as the fault-free run's", aims[:1], c.Signature)
	}
	// Lineage asks for the supports of runs with faults too: they are the run's own.
	if ca, cc := p.Cuts(a), p.Cuts(c); slices.Equal(ca, cc) {
		t.Errorf("plan %q: the run's cuts %q are the fault-free run's", aims[:1], cc)
	}
	plan := p.RandomPlan(fault.Seed(1).Stream("test"))
	if len(plan) < 1 || len(plan) > 2 {
		t.Errorf("random plan %q: want one or two faults", plan)
	}
	for _, f := range plan {
		if _, err := ParseProgramFault(f); err != nil {
			t.Errorf("random plan: %v", err)
		}
	}
}

// Without a check the program's exit status judges.
func TestProgramExitStatusJudgesWithoutCheck(t *testing.T) {
	t.Parallel()
	p := &Program{Args: []string{"sh", "-c", "echo going; echo gone >&2; exit 3"}}
	o, err := p.Run(context.Background(), 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !o.Failed || o.Check != "exit status" || !strings.Contains(o.Detail, "exit 3") || !strings.Contains(o.Detail, "gone") {
		t.Fatalf("outcome %+v: want a failure on exit 3 with the output's last lines", o)
	}
	if _, err := p.Run(context.Background(), 1, []string{"write:sometimes"}); !errors.Is(err, ErrProgramFault) {
		t.Errorf("a bad plan: error %v, want ErrProgramFault", err)
	}
}

func TestParseProgramFault(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"write:crash:when=2:proc=server":   "--inject write:crash:when=2:proc=server",
		"inject fsync:eio:path=/x/log":     "--inject fsync:eio:path=/x/log",
		"crash server@write#3":             "--crash server@write#3",
		"partition client/server@2..":      "--partition client/server@2..",
		"  sendto:omit:fd=tcp  ":           "--inject sendto:omit:fd=tcp",
		"write:error=EIO":                  "--inject write:error=EIO",
		"crash server@write#0":             "error",
		"write:sometimes":                  "error",
		"pause server":                     "error",
		"":                                 "error",
		"partition client":                 "error",
		"write:delay_enter=50ms:when=1..3": "--inject write:delay_enter=50ms:when=1..3",
	} {
		f, err := ParseProgramFault(in)
		got := f.Flag + " " + f.Spec
		if err != nil {
			got = "error"
			if !errors.Is(err, ErrProgramFault) || !strings.Contains(err.Error(), in) {
				t.Errorf("%q: error %v: want ErrProgramFault naming the element", in, err)
			}
		}
		if got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
}

// FuzzParseProgramFault: any element parses or is refused with ErrProgramFault, never a
// panic; a parsed one says the same through its flag and spec.
func FuzzParseProgramFault(f *testing.F) {
	for _, s := range []string{"write:crash:when=2:proc=server:path=/x/log", "crash a@write#2", "partition a,b/c@1..4",
		"inject read:eio", "sendto:omit:addr=[::1]:80", "x y z", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pf, err := ParseProgramFault(s)
		if err != nil {
			if !errors.Is(err, ErrProgramFault) {
				t.Fatalf("%q: error %v is not ErrProgramFault", s, err)
			}
			return
		}
		if (pf.Rule == nil) == (pf.Partition == nil) {
			t.Fatalf("%q: want exactly one of a rule and a partition", s)
		}
		word := map[string]string{"--inject": "inject", "--crash": "crash", "--partition": "partition"}[pf.Flag]
		again, err := ParseProgramFault(word + " " + pf.Spec)
		if err != nil || again.Flag != pf.Flag || again.Spec != pf.Spec {
			t.Fatalf("%q: reparsing %q %q: %+v, %v", s, word, pf.Spec, again, err)
		}
	})
}

func TestParsePlanElement(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"write:delay_enter=50ms:when=1:proc=s then write:crash:when=3:proc=s": "--inject write:delay_enter=50ms:when=1:proc=s|--inject write:crash:when=3:proc=s",
		"crash s@write#2 then partition a/b":                                  "--crash s@write#2|--partition a/b",
		"write:eio":                                                           "--inject write:eio",
		"write:eio then":                                                      "error",
		"a:eio then b:eio then c:eio then d:eio then e:eio":                   "error",
	} {
		fs, err := ParsePlanElement(in)
		var got []string
		for _, f := range fs {
			got = append(got, f.Flag+" "+f.Spec)
		}
		if err != nil {
			got = []string{"error"}
			if !errors.Is(err, ErrProgramFault) {
				t.Errorf("%q: error %v: want ErrProgramFault", in, err)
			}
		}
		if g := strings.Join(got, "|"); g != want {
			t.Errorf("%q: got %q, want %q", in, g, want)
		}
	}
}

// FuzzParsePlanElement: any element parses into 1..maxThen faults or is refused with
// ErrProgramFault, never a panic.
func FuzzParsePlanElement(f *testing.F) {
	for _, s := range []string{"write:delay_enter=50ms:when=1:proc=s then write:crash:when=3:proc=s", "crash a@write then",
		"partition a/b then inject read:eio", " then "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fs, err := ParsePlanElement(s)
		if err != nil {
			if !errors.Is(err, ErrProgramFault) {
				t.Fatalf("%q: error %v is not ErrProgramFault", s, err)
			}
			return
		}
		if len(fs) < 1 || len(fs) > maxThen {
			t.Fatalf("%q: %d faults: want 1..%d", s, len(fs), maxThen)
		}
	})
}

func ExampleParsePlanElement() {
	fs, err := ParsePlanElement("read:delay_enter=50ms:when=1:proc=server:fd=unix then crash server@write#2")
	if err != nil {
		panic(err)
	}
	for _, f := range fs {
		fmt.Println(f.Flag, f.Spec)
	}
	// Output:
	// --inject read:delay_enter=50ms:when=1:proc=server:fd=unix
	// --crash server@write#2
}

// BenchmarkProgramRun is one fault-free run of examples/ackkv (client and server traced)
// and its check: what a real-program exploration's rate is made of.
func BenchmarkProgramRun(b *testing.B) {
	bin, dir := ackkvBinary(b), b.TempDir()
	p := &Program{Args: []string{bin, "demo", dir}, Check: bin + " check " + dir, Labels: []string{"server=serve", "client=demo"}}
	b.ReportAllocs()
	for b.Loop() {
		o, err := p.Run(b.Context(), 1, nil)
		if err != nil || o.Failed {
			b.Fatalf("%+v, %v", o, err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "runs/s")
}
