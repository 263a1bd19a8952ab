//go:build linux

package trace

import (
	"os/exec"
	"runtime"
	"testing"
)

// threadHasChildren sees a child of the calling thread, and only of it: the tracer must not run
// on a thread whose children its wait4(-1) would reap (an os/exec child of another goroutine
// failed its Wait with "waitid: no child processes" beside a run when the check relied on
// /proc/thread-self/children, which this machine's kernel does not have).
func TestThreadHasChildren(t *testing.T) {
	done := make(chan bool)
	go func() {
		runtime.LockOSThread() // a fresh goroutine's thread; never unlocked, so Go discards it
		done <- threadHasChildren()
	}()
	if <-done {
		t.Skip("a new thread already has children here; nothing to compare")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before := threadHasChildren()
	cmd := exec.Command("sleep", "10")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	got := threadHasChildren()
	other := make(chan bool)
	go func() {
		runtime.LockOSThread()
		other <- threadHasChildren()
	}()
	otherGot := <-other
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	after := threadHasChildren()
	if !got || otherGot || (after && !before) {
		t.Fatalf("children seen: this thread with its child %v, another thread %v, this thread after the Wait %v (before %v)",
			got, otherGot, after, before)
	}
}
