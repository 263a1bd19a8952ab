package failpoint

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// TestBuildTagOff runs TestTagOff (tag_off_test.go) in a build with -tags failpoint_off, so
// the ordinary suite proves that the release path compiles and evaluates to "off".
func TestBuildTagOff(t *testing.T) {
	t.Parallel()
	if compiledOut {
		t.Skip("already built with failpoint_off")
	}
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		var lookErr error
		if goBin, lookErr = exec.LookPath("go"); lookErr != nil {
			t.Skip("no go command to build with the tag")
		}
	}
	cmd := exec.CommandContext(t.Context(), goBin, "test", "-count=1", "-tags=failpoint_off", "-run=^TestTagOff$", "-v", ".")
	// GOFLAGS is cleared so that the parent's flags (-cover, -race...) do not reach the
	// builds: coverage counters would turn the bare return below into counter stores.
	cmd.Env = append(os.Environ(), "GOFLAGS=", "FAILPOINTS=test/tagoff=return(on)")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go test -tags=failpoint_off: %v\n%s", err, out)
	}
	if !regexpPass.Match(out) {
		t.Fatalf("TestTagOff did not run and pass under the tag:\n%s", out)
	}

	// And the sites compile away: the guarded function is a bare `return nil`. The check
	// reads amd64 disassembly; elsewhere the behavioural check above is the proof.
	if runtime.GOARCH != "amd64" {
		t.Logf("skipping the disassembly check on %s (it reads amd64 code)", runtime.GOARCH)
		return
	}
	bin := filepath.Join(t.TempDir(), "offprog")
	build := exec.CommandContext(t.Context(), goBin, "build", "-tags=failpoint_off", "-o", bin, "./testdata/offprog")
	build.Env = append(os.Environ(), "GOFLAGS=")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build -tags=failpoint_off: %v\n%s", err, out)
	}
	dump, err := exec.CommandContext(t.Context(), goBin, "tool", "objdump", "-s", `^main\.guarded$`, bin).CombinedOutput()
	if err != nil {
		t.Fatalf("go tool objdump: %v\n%s", err, dump)
	}
	lines := strings.Split(strings.TrimSpace(string(dump)), "\n")
	body := strings.Join(lines[1:], "\n") // after the TEXT line, which holds the file's path
	if len(lines) < 2 || len(lines) > 6 || strings.Contains(body, "CALL") || strings.Contains(body, "failpoint.") {
		t.Fatalf("under failpoint_off, main.guarded is not a bare return:\n%s", dump)
	}
}

var regexpPass = regexp.MustCompile(`(?m)^--- PASS: TestTagOff`)
