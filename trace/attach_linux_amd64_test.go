//go:build linux && amd64

package trace

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/faultbox/faultbox/internal/testutil"
)

// fileLines is the number of lines in path (0 when it does not exist yet).
func fileLines(path string) int {
	b, _ := os.ReadFile(path)
	return strings.Count(string(b), "\n")
}

// waitFor waits until ok holds, failing the test after the deadline.
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// -p: a shell loop started outside the tracer is attached to (its threads seized, its later
// children followed), its writes to the log fail while it is traced, and when the run is
// interrupted it is detached, not killed: it goes on writing, traced by nobody.
func TestAttachInjectDetach(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	cmd := exec.Command("sh", "-c", "while :; do echo tick >> "+log+"; sleep 0.02; done")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	pid := cmd.Process.Pid
	waitFor(t, "the loop's first tick", func() bool { return fileLines(log) > 0 })

	var text testutil.Buffer
	injected := text.NotifyOn(regexp.MustCompile(`ENOSPC.*\(INJECTED\)`))
	set, err := ParseTrace("write,openat")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan *Result, 1)
	go func() {
		res, err := Run(ctx, Config{Attach: []int{pid}, Trace: set, Text: &text,
			Rules: []*Rule{mustRule(t, "write:error=ENOSPC:path="+log)}})
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	select {
	case <-injected:
	case <-time.After(10 * time.Second):
		t.Fatalf("no injected write in 10 s:\n%s", text.String())
	}
	// A sleep the loop starts after the attach is followed: its exit is in the trace.
	waitFor(t, "a followed child's exit", func() bool {
		for _, m := range regexp.MustCompile(`\[pid (\d+)\] \+\+\+ exited with 0`).FindAllStringSubmatch(text.String(), -1) {
			if m[1] != strconv.Itoa(pid) {
				return true
			}
		}
		return false
	})
	cancel()
	var res *Result
	select {
	case res = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return 10 s after the interrupt")
	}
	if res == nil {
		t.Fatal("no result")
	}
	if !res.Interrupted || !res.Detached || len(res.Faults) == 0 {
		t.Errorf("Interrupted %v Detached %v Faults %d; want true, true, > 0", res.Interrupted, res.Detached, len(res.Faults))
	}
	if res.Procs[0].Pid != pid || res.Procs[0].Status != "detached" {
		t.Errorf("first process %+v, want pid %d detached", res.Procs[0], pid)
	}
	// Left running and untraced: the log grows again.
	n := fileLines(log)
	waitFor(t, "the loop to write after the detach", func() bool { return fileLines(log) > n+2 })
	if tp, _ := procStatus(pid, "TracerPid"); tp != "0" {
		t.Errorf("TracerPid %q after the detach, want 0", tp)
	}
	if st, _ := procStatus(pid, "State"); strings.HasPrefix(st, "T") || strings.HasPrefix(st, "t") {
		t.Errorf("State %q after the detach, want running or sleeping", st)
	}
}

// Attaching to a process that does not exist is an error naming it; so is asking for a
// command and an attach at once.
func TestAttachErrors(t *testing.T) {
	t.Parallel()
	_, err := Run(context.Background(), Config{Attach: []int{1 << 30}})
	if err == nil || !strings.Contains(err.Error(), strconv.Itoa(1<<30)) {
		t.Errorf("attach to a missing process: %v", err)
	}
	if _, err := Run(context.Background(), Config{Attach: []int{1}, Args: []string{"true"}}); err != ErrCommandAndAttach {
		t.Errorf("Args and Attach: %v, want ErrCommandAndAttach", err)
	}
}

// The signal lines, -e status= and -P agree with strace's: the same program under strace -ff
// with the same options and under the tracer gives, process by process, the same lines
// (pids in si_pid aside).
func TestTextSignalsStatusPathMatchStrace(t *testing.T) {
	if _, err := exec.LookPath("strace"); err != nil {
		t.Skip("strace not installed (scripts/deps.sh installs it)")
	}
	t.Parallel()
	const set = "openat,read,write,close,fstat,newfstatat,lseek"
	prog := []string{"sh", "-c", `trap "echo got" USR1; kill -USR1 $$; cat src; cat /etc/hostname > /dev/null; cat nosuch; (exit 3); echo done`}
	status := func(s string) StatusSet { st, err := ParseStatus(s); must(t, err); return st }
	signals := func(s string) SignalSet { st, err := ParseSignals(s); must(t, err); return st }
	cases := []struct {
		name    string
		strace  []string
		cfg     Config
		signals bool
	}{
		{"signals", []string{"-e", "trace=" + set}, Config{}, true},
		{"signal=USR1", []string{"-e", "trace=" + set, "-e", "signal=USR1"}, Config{TextOptions: TextOptions{Signals: signals("USR1")}}, true},
		{"status=failed", []string{"-e", "trace=" + set, "-e", "status=failed"}, Config{TextOptions: TextOptions{Status: status("failed")}}, false},
		{"status=!successful", []string{"-e", "trace=" + set, "-e", "status=!successful"}, Config{TextOptions: TextOptions{Status: status("!successful")}}, false},
		{"P=src", []string{"-e", "trace=" + set, "-P", "src"}, Config{Paths: []string{"src"}}, true},
		{"P=/etc/hostname", []string{"-P", "/etc/hostname", "-e", "trace=" + set}, Config{Paths: []string{"/etc/hostname"}}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want := straceLines(t, tc.strace, prog, tc.signals)
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "src"), []byte("hello\nworld\n"), 0o644)
			var text testutil.Buffer
			cfg := tc.cfg
			cfg.Args, cfg.Dir, cfg.Text, cfg.MaxEvents = prog, dir, &text, -1
			cfg.Env = []string{"PWD=" + dir} // as exec.Cmd gives strace: the shell stats $PWD
			for _, kv := range os.Environ() {
				if !strings.HasPrefix(kv, "PWD=") {
					cfg.Env = append(cfg.Env, kv)
				}
			}
			tr, err := ParseTrace(set)
			must(t, err)
			cfg.Trace = tr
			runTraced(t, cfg)
			byPid := map[string][]string{}
			for _, l := range strings.Split(text.String(), "\n") {
				m := pidLine.FindStringSubmatch(l)
				if m == nil || strings.HasPrefix(m[2], "+++") || !tc.signals && strings.HasPrefix(m[2], "---") {
					continue
				}
				byPid[m[1]] = append(byPid[m[1]], normLine(strings.ReplaceAll(m[2], dir, "DIR")))
			}
			var got [][]string
			for _, ls := range byPid {
				got = append(got, ls)
			}
			sortProcs(got)
			if !slices.EqualFunc(got, want, slices.Equal[[]string]) {
				t.Errorf("%d processes, strace %d; first difference: %s", len(got), len(want), procsDiff(got, want))
			}
			if len(want) == 0 {
				t.Errorf("strace printed nothing to compare")
			}
		})
	}
}

// procsDiff says where two lists of processes' lines first differ.
func procsDiff(got, want [][]string) string {
	for i := 0; i < max(len(got), len(want)); i++ {
		var g, w []string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		for j := 0; j < max(len(g), len(w)); j++ {
			var gl, wl string
			if j < len(g) {
				gl = g[j]
			}
			if j < len(w) {
				wl = w[j]
			}
			if gl != wl {
				return "process " + strconv.Itoa(i) + " line " + strconv.Itoa(j) + ":\n\tfaultbox " + gl + "\n\tstrace   " + wl
			}
		}
	}
	return "none"
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
