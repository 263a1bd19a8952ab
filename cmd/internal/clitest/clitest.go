// Package clitest checks a built binary against its command tree: every command answers
// -h, -help and --help (and a dispatcher also help) with its usage on stdout, naming the
// command as typed, and exit 0; and an unknown flag with a message on stderr, nothing on
// stdout, and exit 2. The commands are enumerated from the tree, so a new one is checked
// the day it is registered.
package clitest

import (
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/faultbox/faultbox/cmd/internal/cli"
	"github.com/faultbox/faultbox/fault"
)

// Build builds the main package in dir (a path go build understands, "." for the test's
// own) into a temporary directory and returns the binary's path.
func Build(t *testing.T, dir, name string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), name)
	cmd := exec.Command(goBin, "build", "-o", bin, dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", dir, err, out)
	}
	return bin
}

// Run runs bin with args and returns its exit code, stdout and stderr.
func Run(t *testing.T, bin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Stdin = nil
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return ee.ExitCode(), out.String(), errb.String()
	case err != nil:
		t.Fatalf("%s %q: %v", bin, args, err)
	}
	return 0, out.String(), errb.String()
}

// CheckTree runs the checks on every command of root, which bin (named name, as typed)
// implements. It returns the commands it checked, as typed.
func CheckTree(t *testing.T, bin, name string, root *cli.Command) []string {
	t.Helper()
	var paths []string
	cli.Walk(root, name, func(path string, c *cli.Command) {
		paths = append(paths, path)
		words := strings.Fields(path)[1:]
		helps := []string{"-h", "-help", "--help"}
		if c.Subs != nil {
			helps = append(helps, "help")
		}
		for _, h := range helps {
			args := append(append([]string{}, words...), h)
			code, out, errOut := Run(t, bin, args...)
			if code != fault.ExitPass || errOut != "" {
				t.Errorf("%s %s: exit %d, stderr %q; want 0 and nothing on stderr", path, h, code, errOut)
			}
			for _, want := range []string{"usage: " + path + " ", "exit codes:", strings.TrimSpace(c.Summary)} {
				if !strings.Contains(out, want) {
					t.Errorf("%s %s: the help on stdout lacks %q:\n%s", path, h, want, out)
				}
			}
		}
		args := append(append([]string{}, words...), "--no-such-flag")
		code, out, errOut := Run(t, bin, args...)
		if code != fault.ExitUsage || out != "" || !strings.Contains(errOut, path) {
			t.Errorf("%s --no-such-flag: exit %d, stdout %q, stderr %q; want 2, nothing on stdout, a message naming %q on stderr",
				path, code, out, errOut, path)
		}
	})
	return paths
}
