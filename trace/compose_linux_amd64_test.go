//go:build linux && amd64

package trace

import (
	"strings"
	"testing"
	"time"
)

// An action and a delay in one term compose in time: the call is held for the delay, then
// the action happens. With crash the process dies only when the delay is over (at the call's
// entry, the call not run; with delay_exit, after the call ran); with error= the call returns
// the error after the delay.
func TestDelayThenAction(t *testing.T) {
	t.Parallel()
	const hold = 300 * time.Millisecond
	cases := []struct {
		spec      string
		stdout    string // what reached stdout: the crashed write never runs at entry
		killed    bool
		errno     string
		heldAtEnd bool // the hold is between the write and the exit (crash), else inside the write
	}{
		{spec: "write:crash:delay_enter=300ms:when=2", stdout: "one\n", killed: true, heldAtEnd: true},
		{spec: "write:crash:delay_exit=300ms:when=2", stdout: "one\ntwo\n", killed: true, heldAtEnd: true},
		{spec: "write:error=EIO:delay_enter=300ms:when=2", stdout: "one\nthree\n", errno: "EIO"},
		{spec: "write:omit:delay_enter=300ms:when=2", stdout: "one\nthree\n"},
	}
	for _, tc := range cases {
		t.Run(tc.spec, func(t *testing.T) {
			t.Parallel()
			res, stdout, _ := runTraced(t, Config{
				Args:  []string{"sh", "-c", "echo one; echo two; echo three"},
				Rules: []*Rule{mustRule(t, tc.spec)},
			})
			if stdout != tc.stdout {
				t.Errorf("stdout %q, want %q", stdout, tc.stdout)
			}
			if got := res.Procs[0].Status; (got == "killed by SIGKILL") != tc.killed {
				t.Errorf("status %q, killed want %v", got, tc.killed)
			}
			var w, exit *Event
			for _, e := range res.Events {
				switch {
				case e.Call == "write" && e.Fault != "":
					w = e
				case e.Call == "exit" && e.Label == "p1":
					exit = e
				}
			}
			if w == nil || exit == nil {
				t.Fatalf("no faulted write (%v) or no exit (%v)", w, exit)
			}
			if w.Errno != tc.errno && !tc.killed {
				t.Errorf("write errno %q, want %q", w.Errno, tc.errno)
			}
			held := time.Duration(w.DurUs) * time.Microsecond
			if tc.heldAtEnd {
				held = time.Duration(exit.TimeUs-w.TimeUs) * time.Microsecond
			}
			if held < hold {
				t.Errorf("held %v from the write's entry, want at least %v", held, hold)
			}
			if tc.killed && held > hold+5*time.Second {
				t.Errorf("killed %v after the write's entry: the kill did not follow the delay", held)
			}
		})
	}
}

// count=process counts a call's invocations per process, so in a Go program whose writing
// goroutine moves between OS threads "the 120th write" is the same write on every run. The
// per-thread count (strace's) is not: this also shows the program's writes do move.
func TestCountPerProcessIsStable(t *testing.T) {
	t.Parallel()
	bin := buildGo(t, "gologw")
	lines := map[string]bool{}
	for range 2 {
		res, _, stderr := runTraced(t, Config{
			Args:      []string{bin},
			Rules:     []*Rule{mustRule(t, "write:error=EIO:when=120:count=process")},
			MaxEvents: -1,
		})
		if res.ExitCode != 3 || len(res.Faults) != 1 {
			t.Fatalf("exit %d, faults %v, stderr %q: want the 120th write to fail", res.ExitCode, res.Faults, stderr)
		}
		lines[strings.TrimSpace(stderr)] = true
	}
	if len(lines) != 1 || !lines["gologw: line 120: write /dev/stdout: input/output error"] {
		t.Errorf("the failed writes: %v, want line 120 in both runs", lines)
	}
	res, _, stderr := runTraced(t, Config{Args: []string{bin}, MaxEvents: -1})
	if res.ExitCode != 0 || stderr == "gologw: threads 1\n" {
		t.Logf("the writes stayed on one thread (%q): the per-process count was not put to the test", stderr)
	}
}
