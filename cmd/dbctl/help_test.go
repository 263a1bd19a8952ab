package main

import (
	"testing"

	"github.com/faultbox/faultbox/cmd/internal/clitest"
)

// Every command of dbctl, enumerated from its tree, answers -h, -help and --help with its
// usage on stdout (naming it as typed) and exit 0, and an unknown flag with exit 2.
func TestEveryCommandAnswersHelp(t *testing.T) {
	t.Parallel()
	bin := clitest.Build(t, ".", "dbctl")
	if paths := clitest.CheckTree(t, bin, "dbctl", root); len(paths) != 4 {
		t.Errorf("checked %q, want dbctl and its three commands", paths)
	}
}
