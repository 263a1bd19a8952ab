//go:build linux && amd64

package trace

import (
	"os"
	"path/filepath"
	"testing"
)

// With no events kept, no text trace and no -c figures, a traced call whose result nothing
// needs stops once (at its entry), not twice; a call with a fault, and a call whose new
// descriptor the fd cache must learn, still stop at their exits, and the faults still land.
func TestLeanTracingSkipsExits(t *testing.T) {
	t.Parallel()
	const n = 500
	dd := []string{"dd", "if=/dev/zero", "of=/dev/null", "bs=1", "count=500", "status=none"}
	set, err := ParseTrace("write")
	must(t, err)
	res, _, _ := runTraced(t, Config{Args: dd, Trace: set, MaxEvents: -1, NoCallStats: true})
	if res.Calls["write"] < n || res.exitStops != 0 || res.ExitCode != 0 {
		t.Errorf("lean: %d writes, %d exit stops, exit %d; want >= %d, 0, 0", res.Calls["write"], res.exitStops, res.ExitCode, n)
	}
	// -c figures asked for: every call stops at its exit.
	res, _, _ = runTraced(t, Config{Args: dd, Trace: set, MaxEvents: -1})
	if res.exitStops < n || res.CallStats["write"].Calls < n {
		t.Errorf("with call stats: %d exit stops, %+v; want >= %d", res.exitStops, res.CallStats["write"], n)
	}
	// A fault and a file descriptor: dd's 3rd write fails (EIO), and the file it opened
	// (openat at its exit names a new fd) is still known by path to a path= rule.
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	set, err = ParseTrace("write,openat")
	must(t, err)
	res, _, _ = runTraced(t, Config{Args: []string{"dd", "if=/dev/zero", "of=" + out, "bs=1", "count=10", "status=none"},
		Trace: set, MaxEvents: -1, NoCallStats: true, Rules: []*Rule{mustRule(t, "write:error=EIO:when=3:path="+out)}})
	b, _ := os.ReadFile(out)
	if len(res.Faults) != 1 || len(b) != 2 || res.ExitCode == 0 {
		t.Errorf("faults %q, %d bytes written, exit %d; want 1 fault after 2 bytes and a failure", res.Faults, len(b), res.ExitCode)
	}
	if want := res.Calls["openat"] + 1; res.exitStops != want {
		t.Errorf("%d exit stops; want %d: the openat calls' and the fault's only", res.exitStops, want)
	}
}
