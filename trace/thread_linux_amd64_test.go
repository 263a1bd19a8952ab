package trace

import (
	"os/exec"
	"runtime"
	"sync"
	"testing"
)

// The tracer waits with wait4(-1, __WALL|__WNOTHREAD): any child of its OS thread is fair game.
// Children that other goroutines started (os/exec) from threads the Go scheduler later hands
// to the tracer must not be reaped by it, or their owners' Wait fails with ECHILD.
// Not parallel: it needs the process's idle threads to be the ones it dirtied.
func TestTracerLeavesOtherChildrenAlone(t *testing.T) {
	const dirty = 8
	cmds := make([]*exec.Cmd, dirty)
	// Start each child from its own locked thread, all at once so that they are distinct
	// threads, then let the threads go back to the scheduler with a child each.
	var started, release sync.WaitGroup
	started.Add(dirty)
	release.Add(1)
	errs := make(chan error, dirty)
	for i := range cmds {
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			cmds[i] = exec.Command("sleep", "0.3")
			errs <- cmds[i].Start()
			started.Done()
			release.Wait()
		}()
	}
	started.Wait()
	release.Done()
	for range dirty {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	// While these traced runs last, every child above exits and becomes waitable.
	for range 3 {
		res, _, _ := runTraced(t, Config{Args: []string{"sleep", "0.4"}})
		if res.ExitCode != 0 {
			t.Fatalf("traced sleep exited %d", res.ExitCode)
		}
	}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Errorf("child %d started outside the tracer: Wait: %v (reaped by the tracer?)", i, err)
		}
	}
}
