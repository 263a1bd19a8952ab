package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/faultbox/faultbox/cmd/internal/clitest"
	"github.com/faultbox/faultbox/fault"
)

// Every command of the binary, enumerated from its registry, answers -h, -help and --help
// with its usage on stdout (naming it as typed) and exit 0, and an unknown flag with exit 2.
//
// Not parallel, nor is any test here that starts a process: the 'run' tests ignore SIGCHLD
// while they trace, which makes the kernel reap every child of the test process, and
// os/exec's Wait then fails with ECHILD. Sequential tests finish before parallel ones start.
func TestEveryCommandAnswersHelp(t *testing.T) {
	bin := clitest.Build(t, ".", "faultbox")
	paths := clitest.CheckTree(t, bin, "faultbox", root)
	for _, want := range []string{"faultbox", "faultbox disk torture", "faultbox failpoints set", "faultbox chunkcache",
		"faultbox chunkcache server", "faultbox chunkcache bench", "faultbox chunkcache adapters"} {
		if !slices.Contains(paths, want) {
			t.Errorf("the walk missed %q: %q", want, paths)
		}
	}
	// With no command, a dispatcher's usage goes to stderr and the exit code is 2.
	for _, args := range [][]string{{}, {"disk"}, {"failpoints"}, {"chunkcache"}} {
		code, out, errOut := clitest.Run(t, bin, args...)
		if code != fault.ExitUsage || out != "" || !strings.Contains(errOut, "usage: faultbox") {
			t.Errorf("faultbox %q: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
}

// The binary imports nothing from examples/ and no other command (ARCHITECTURE.md).
func TestNoExamplesImported(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	out, err := exec.Command(goBin, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.Contains(dep, "/faultbox/examples") || (strings.Contains(dep, "/faultbox/cmd/") && !strings.Contains(dep, "/cmd/internal/") && !strings.HasSuffix(dep, "/cmd/faultbox")) {
			t.Errorf("faultbox depends on %s", dep)
		}
	}
}
