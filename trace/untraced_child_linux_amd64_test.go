//go:build linux && amd64

package trace

import (
	"context"
	"os/exec"
	"runtime"
	"testing"
	"time"
)

// A run ends when its traced processes are gone, even when the tracer's thread is also the
// parent of a child it never traced. Run looks for a childless thread, but OnThisThread takes
// the caller's, and a child can slip past that look; the loop used to wait for ECHILD, and so
// for such a child to exit: a hang, seen as TestRunTextTraceAndTable stuck in wait4 beside an
// attach test (2 of 2 paired runs; 40 of 40 passed with the loop ending on its own count).
func TestRunEndsBesideAnUntracedChild(t *testing.T) {
	runtime.LockOSThread() // the untraced child and the tracer share this thread
	defer runtime.UnlockOSThread()
	other := exec.Command("sleep", "30")
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { other.Process.Kill(); other.Wait() }()
	start := time.Now()
	res, err := Run(context.Background(), Config{Args: []string{"true"}, OnThisThread: true})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 10*time.Second || res.ExitCode != 0 {
		t.Errorf("tracing true took %s, exit %d: want it to end with its tracee, not with the untraced child", took, res.ExitCode)
	}
}
