//go:build linux && amd64

package trace

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestConformanceWithStrace gives the same --inject spec to `strace -f` and to the tracer and
// checks the same outcome: exit status, what the program printed, and how many times the call
// was made.
func TestConformanceWithStrace(t *testing.T) {
	if _, err := exec.LookPath("strace"); err != nil {
		t.Skip("strace not installed (scripts/deps.sh installs it)")
	}
	t.Parallel()
	cprog := buildC(t, "fsync")
	goprog := buildGo(t, "gowrite")
	cases := []struct {
		name  string
		args  []string
		spec  string
		count string // the call whose invocations are counted
	}{
		{"cat-read-EIO", []string{"cat", "src"}, "read:error=EIO:when=2", "read"},
		{"cat-read-retval0", []string{"cat", "src"}, "read:retval=0:when=2", "read"},
		{"cp-copy-ENOSPC", []string{"cp", "src", "dst"}, "copy_file_range:error=ENOSPC", "copy_file_range"},
		{"cp-open-EACCES", []string{"cp", "src", "dst"}, "openat:error=EACCES:when=3+", "openat"},
		{"dd-write-EIO-3rd", []string{"dd", "if=src", "of=dst", "bs=1", "count=10", "status=none"}, "write:error=EIO:when=3", "write"},
		{"dd-read-every-2nd-EINTR", []string{"dd", "if=src", "of=dst", "bs=4", "status=none"}, "read:error=EINTR:when=3..5+2", "read"},
		{"sh-write-EPIPE-2nd", []string{"sh", "-c", "echo one; echo two; echo three"}, "write:error=EPIPE:when=2", "write"},
		{"sh-write-signal", []string{"sh", "-c", "echo one; echo two; echo three"}, "write:signal=SIGTERM:when=2", "write"},
		{"sh-fork-child-write", []string{"sh", "-c", "(echo a; echo b) | cat; echo c"}, "write:error=EBADF:when=2+", "write"},
		{"sh-kill-EPERM", []string{"sh", "-c", "kill -0 $$ && echo alive"}, "kill:error=EPERM", "kill"},
		{"sh-execve-EACCES", []string{"sh", "-c", "exec /bin/echo inner"}, "execve:error=EACCES:when=1", "execve"},
		{"c-fsync-EIO", []string{cprog, "data"}, "fsync:error=EIO", "fsync"},
		{"c-write-ENOSPC-2nd", []string{cprog, "data"}, "write:error=ENOSPC:when=2", "write"},
		{"c-openat-ENOENT", []string{cprog, "data"}, "openat:error=ENOENT:when=3", "openat"},
		{"go-write-ENOSPC-3rd", []string{goprog}, "write:error=ENOSPC:when=3", "write"},
		{"go-write-retval", []string{goprog}, "write:retval=7:when=2", "write"},
		// strace's grammar as-is: lower-case names, empty fields and items, stat classes.
		{"sh-write-lowercase-enospc", []string{"sh", "-c", "echo one; echo two"}, "write:error=enospc:when=2", "write"},
		{"sh-write-signal-term", []string{"sh", "-c", "echo one; echo two; echo three"}, "write:signal=term:when=2", "write"},
		{"cat-read-empty-fields", []string{"cat", "src"}, "read,,write::error=EIO:when=2:", "read"},
		{"cat-stat-class", []string{"cat", "src"}, "%%stat:error=EACCES:when=2", "newfstatat"},
		// Two terms for one call: strace keeps the last (" ; " separates --inject flags here).
		{"sh-write-two-terms", []string{"sh", "-c", "echo a; echo b; echo c"}, "write:error=EIO:when=1 ; write:error=ENOSPC:when=2", "write"},
		{"sh-write-two-terms-overlap", []string{"sh", "-c", "echo a; echo b; echo c"}, "write:error=EIO:when=1 ; read,write:error=ENOSPC:when=3", "write"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want := runStrace(t, tc.args, tc.spec, tc.count)
			var rules []*Rule
			for _, spec := range strings.Split(tc.spec, " ; ") {
				rules = append(rules, mustRule(t, spec))
			}
			dir := setupDir(t)
			res, stdout, stderr := runTraced(t, Config{Args: tc.args, Dir: dir, Rules: rules})
			got := outcome{code: res.ExitCode, stdout: stdout, stderr: stderr, calls: res.Calls[tc.count]}
			if got != want {
				t.Errorf("spec %q on %v:\nfaultbox %+v\nstrace   %+v", tc.spec, tc.args, got, want)
			}
			if len(res.Faults) == 0 {
				t.Errorf("no fault recorded")
			}
		})
	}
}

type outcome struct {
	code           int
	stdout, stderr string
	calls          int
}

func setupDir(t *testing.T) string {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "src"), bytes.Repeat([]byte("0123456789abcdef\n"), 3), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func runStrace(t *testing.T, args []string, spec, count string) outcome {
	t.Helper()
	dir := setupDir(t)
	log := filepath.Join(t.TempDir(), "strace.log")
	flags := []string{"-f", "-qq", "-o", log, "-e", "trace=" + count}
	for _, s := range strings.Split(spec, " ; ") {
		flags = append(flags, "--inject="+s)
	}
	cmd := exec.Command("strace", append(append(flags, "--"), args...)...)
	cmd.Dir = dir
	var read func() (string, string)
	cmd.Stdout, cmd.Stderr, read = outFiles(t)
	err := cmd.Run()
	o, e := read()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
	} else if err != nil {
		t.Fatalf("strace: %v", err)
	}
	b, _ := os.ReadFile(log)
	calls := 0
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, count+"(") && !strings.Contains(line, "<... "+count+" resumed>") {
			calls++
		}
	}
	return outcome{code: code, stdout: o, stderr: e, calls: calls}
}
