//go:build linux && amd64

package trace

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// With -P, the calls on another file are hidden, but their exits still keep the fd cache
// true: stalefd reads DIR/b on fd 3 (the cache learns "fd 3 is b"), closes it, and opens DIR/a
// by a relative path (hidden too), which gets fd 3 again. Had the hidden close and open left
// the cache as it was, the write to a would be named b and hidden: it must be reported.
func TestPathsHiddenCloseForgetsFd(t *testing.T) {
	t.Parallel()
	bin := buildC(t, "stalefd")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "b"), []byte("b"), 0o644); err != nil {
		t.Fatal(err)
	}
	a := filepath.Join(dir, "a")
	// close traced: an untraced close drops its fd from the cache as it enters.
	set, err := ParseTrace("openat,read,write,close")
	must(t, err)
	res, _, stderr := runTraced(t, Config{Args: []string{bin, dir}, Paths: []string{a}, Trace: set})
	if res.ExitCode != 0 {
		t.Fatalf("exit %d, stderr %q", res.ExitCode, stderr)
	}
	var calls []string
	for _, e := range res.Events {
		if e.Call != "exec" && e.Call != "exit" {
			where := e.Path
			if where == "" && e.Endpoint != nil {
				where = e.Endpoint.Path
			}
			calls = append(calls, e.Call+" "+where)
		}
	}
	if got := strings.Join(calls, ", "); got != "write "+a {
		t.Errorf("reported calls: %q, want the write to a alone", got)
	}
}
