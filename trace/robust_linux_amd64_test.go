//go:build linux && amd64

package trace

import (
	"bufio"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestManyProcessesAndThreads(t *testing.T) {
	t.Parallel()
	prog := buildC(t, "spawn", "-pthread")
	res, stdout, _ := runTraced(t, Config{Args: []string{prog}})
	if res.ExitCode != 0 || strings.TrimSpace(stdout) != "lines 100 bad 0" {
		t.Fatalf("exit %d, stdout %q", res.ExitCode, stdout)
	}
	if len(res.Procs) != 51 {
		t.Errorf("%d processes traced, want 51", len(res.Procs))
	}
	threads := map[int]bool{}
	writes := 0
	for _, e := range res.Events {
		if e.Call == "write" && e.Endpoint != nil && e.Endpoint.Kind == "pipe" {
			writes++
			threads[e.Tid] = true
		}
	}
	if writes != 100 || len(threads) != 100 {
		t.Errorf("%d pipe writes from %d threads, want 100 from 100", writes, len(threads))
	}
	// The parent's reads are each paired with the pipe writes they drained.
	paired := map[string]bool{}
	for _, e := range res.Events {
		if e.Call == "read" && e.Endpoint != nil && e.Endpoint.Kind == "pipe" {
			for _, h := range e.HB {
				paired[h] = true
			}
		}
	}
	for _, e := range res.Events {
		if e.Call == "write" && e.Endpoint != nil && e.Endpoint.Kind == "pipe" && !paired[e.Addr] {
			t.Errorf("pipe write %s not paired with a read", e.Addr)
		}
	}
}

func TestTraceeKilledBySIGKILL(t *testing.T) {
	t.Parallel()
	res, _, _ := runTraced(t, Config{Args: []string{"sh", "-c", "echo before; kill -9 $$; echo after"}})
	if res.ExitCode != 128+9 {
		t.Errorf("exit %d, want 137", res.ExitCode)
	}
	if got := res.Procs[0].Status; got != "killed by SIGKILL" {
		t.Errorf("status %q", got)
	}
}

func TestStaticBinary(t *testing.T) {
	t.Parallel()
	prog := buildC(t, "fsync", "-static")
	out, err := exec.Command("file", prog).Output()
	if err == nil && !strings.Contains(string(out), "statically linked") {
		t.Fatalf("not static: %s", out)
	}
	dir := t.TempDir()
	res, _, stderr := runTraced(t, Config{Args: []string{prog, "data"}, Dir: dir, Rules: []*Rule{mustRule(t, "fsync:error=EIO")}})
	if res.ExitCode != 4 || stderr != "fsync: Input/output error\n" {
		t.Errorf("exit %d stderr %q, want 4 and the fsync error", res.ExitCode, stderr)
	}
}

func TestGoTarget(t *testing.T) {
	t.Parallel()
	prog := buildGo(t, "gobusy")
	res, stdout, stderr := runTraced(t, Config{Args: []string{prog}})
	if res.ExitCode != 0 || strings.TrimSpace(stdout) != "bytes 160" {
		t.Fatalf("exit %d stdout %q stderr %q", res.ExitCode, stdout, stderr)
	}
	threads := map[int]bool{}
	for _, e := range res.Events {
		threads[e.Tid] = true
	}
	if len(threads) < 2 {
		t.Errorf("events from %d threads; a Go program has several", len(threads))
	}
}

func TestGoTargetStartingProcesses(t *testing.T) {
	t.Parallel()
	prog := buildGo(t, "gospawn")
	res, stdout, stderr := runTraced(t, Config{Args: []string{prog}})
	if res.ExitCode != 0 || stdout != "child said: from child\n" {
		t.Fatalf("exit %d stdout %q stderr %q", res.ExitCode, stdout, stderr)
	}
	var child *ProcInfo
	for i, p := range res.Procs {
		if p.Comm == "sh" {
			child = &res.Procs[i]
		}
	}
	if child == nil || child.Status != "exit 0" || child.Parent != res.Procs[0].Pid {
		t.Fatalf("the vforked child was not followed: %+v", res.Procs)
	}
	// Its write to the pipe is paired with the parent's read.
	paired := false
	for _, e := range res.Events {
		if e.Pid == res.Procs[0].Pid && e.Call == "read" && e.Endpoint != nil && e.Endpoint.Kind == "pipe" && e.Bytes > 0 {
			for _, s := range e.msgFrom {
				paired = paired || res.Events[s].Pid == child.Pid
			}
		}
	}
	if !paired {
		t.Errorf("the parent's pipe read is not paired with the child's write")
	}
}

func TestSignalsDeliveredAsUntraced(t *testing.T) {
	t.Parallel()
	res, stdout, _ := runTraced(t, Config{Args: []string{"sh", "-c",
		`trap 'echo got USR1' USR1; kill -USR1 $$; sleep 60 & pid=$!; kill -STOP $pid; ` +
			`i=0; until grep -q '^State:.*[Tt]' /proc/$pid/status || [ $i = 3000 ]; do i=$((i+1)); sleep 0.01; done; ` +
			// Stopped it stays, as untraced (a group-stop of a traced process reads
			// "t (tracing stop)" in /proc), until SIGCONT resumes it; then it is ended early.
			`sleep 0.5; grep -q '^State:.*[Tt]' /proc/$pid/status && echo stopped; kill -CONT $pid; ` +
			`i=0; while grep -q '^State:.*[Tt]' /proc/$pid/status && [ $i != 3000 ]; do i=$((i+1)); sleep 0.01; done; ` +
			`grep -q '^State:.*[Tt]' /proc/$pid/status || echo running; kill $pid; wait $pid; echo done $?`}})
	if res.ExitCode != 0 || stdout != "got USR1\nstopped\nrunning\ndone 143\n" {
		t.Errorf("exit %d stdout %q", res.ExitCode, stdout)
	}
}

// TestInterruptLeavesNothingStopped stops faultbox itself mid-run (Ctrl-C, SIGTERM, and
// SIGKILL, which leaves the tracees to PTRACE_O_EXITKILL) and then checks every traced
// process: none may be left stopped, or alive.
func TestInterruptLeavesNothingStopped(t *testing.T) {
	t.Parallel()
	fb := build(t, "go:faultbox", func(out string) *exec.Cmd {
		return exec.Command("go", "build", "-o", out, "../cmd/faultbox")
	})
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			interruptAndCheck(t, fb, sig)
		})
	}
	// The shell is held by the tracer in its wait: at entry (a delay timer pending) or
	// stopped as a whole (pause), when faultbox is interrupted.
	for _, rule := range []string{"wait4:delay_enter=60s", "wait4:pause=60s"} {
		t.Run("SIGINT held by "+rule, func(t *testing.T) {
			t.Parallel()
			interruptAndCheck(t, fb, syscall.SIGINT, "--inject", rule)
		})
	}
}

func interruptAndCheck(t *testing.T, fb string, sig syscall.Signal, flags ...string) {
	args := append(append([]string{"run", "-q"}, flags...), "--", "sh", "-c", "sleep 30 & sleep 30 & echo $$ $!; wait")
	cmd := exec.Command(fb, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		t.Fatalf("read pids: %v", err)
	}
	var pids []int
	for _, f := range strings.Fields(line) {
		n, _ := strconv.Atoi(f)
		pids = append(pids, n)
	}
	if len(flags) > 0 {
		// Interrupt only once the shell is held (stopped at its wait), not before.
		deadline := time.Now().Add(20 * time.Second)
		for st := procState(pids[0]); !strings.HasPrefix(st, "t") && !strings.HasPrefix(st, "T"); st = procState(pids[0]) {
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				t.Fatalf("shell never held (state %q)", st)
			}
			time.Sleep(10 * time.Millisecond) // polling /proc: there is nothing to wait on
		}
	}
	cmd.Process.Signal(sig)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("faultbox did not exit after %v", sig)
	}
	if code := cmd.ProcessState.ExitCode(); sig != syscall.SIGKILL && code != 128+int(sig) {
		t.Errorf("faultbox exit %d after %v, want %d", code, sig, 128+int(sig))
	}
	for _, pid := range pids {
		deadline := time.Now().Add(10 * time.Second)
		for {
			st := procState(pid)
			if st == "" || strings.HasPrefix(st, "Z") || strings.HasPrefix(st, "X") {
				break // gone, or dead and waiting for its reaper
			}
			if strings.HasPrefix(st, "T") || strings.HasPrefix(st, "t") {
				t.Fatalf("pid %d left stopped: %s", pid, st)
			}
			if time.Now().After(deadline) {
				t.Fatalf("pid %d still alive (%s) after faultbox exited", pid, st)
			}
			time.Sleep(10 * time.Millisecond) // polling /proc: there is nothing to wait on
		}
	}
}

// procState is the State line of /proc/PID/status ("" when the process is gone).
func procState(pid int) string {
	st, _ := procStatus(pid, "State")
	return st
}

func TestLabelsAndTraceSet(t *testing.T) {
	t.Parallel()
	only, err := ParseTrace("write")
	if err != nil {
		t.Fatal(err)
	}
	res, stdout, _ := runTraced(t, Config{Args: []string{"sh", "-c", `sh -c "echo x"; sh -c "echo y"; cat /dev/null`},
		Labels: []Label{{Name: "w", Match: "sh -c echo"}}, Trace: only})
	if res.ExitCode != 0 || stdout != "x\ny\n" {
		t.Fatalf("exit %d stdout %q", res.ExitCode, stdout)
	}
	var labels []string
	for _, p := range res.Procs {
		labels = append(labels, p.Label)
	}
	if got := strings.Join(labels, " "); got != "p1 w w#2 p1.3" {
		t.Errorf("labels %q, want %q", got, "p1 w w#2 p1.3")
	}
	for _, e := range res.Events {
		switch e.Call {
		case "write", "exec", "fork", "exit":
		default:
			t.Errorf("%s: %s traced with --trace=write", e.Addr, e.Call)
		}
	}
}

// Naming sockets must not cost a scan of the machine's socket tables per call: those tables
// grow with every connection left in TIME_WAIT, which made a connect/accept loop quadratic
// (seconds at N=500, over a minute at N=2000). A thousand rounds read the tables a constant
// number of times, every accept names its peer, and the run ends well within a minute.
func TestConnectAcceptLoopNamesSocketsInConstantTime(t *testing.T) {
	t.Parallel()
	prog := buildGo(t, "goconn")
	const rounds = 1000
	start := time.Now()
	res, stdout, stderr := runTraced(t, Config{Args: []string{prog, strconv.Itoa(rounds)}})
	took := time.Since(start)
	if res.ExitCode != 0 || strings.TrimSpace(stdout) != strconv.Itoa(4*rounds) {
		t.Fatalf("exit %d, stdout %q, stderr %q", res.ExitCode, stdout, stderr)
	}
	accepts := 0
	for _, e := range res.Events {
		if (e.Call == "accept" || e.Call == "accept4") && e.Ret >= 0 {
			accepts++
			if e.Endpoint == nil || e.Endpoint.Kind != "tcp" || e.Endpoint.Remote == "" {
				t.Fatalf("%s: accepted socket not named: %+v", e.Addr, e.Endpoint)
			}
		}
	}
	if accepts != rounds {
		t.Errorf("%d accepts named, want %d", accepts, rounds)
	}
	if res.tableReads > 10 {
		t.Errorf("%d reads of /proc/PID/net tables for %d rounds, want a constant few", res.tableReads, rounds)
	}
	if took > 60*time.Second {
		t.Errorf("%d rounds took %v under the tracer", rounds, took)
	}
}
