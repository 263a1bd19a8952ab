package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/faultbox/faultbox/cmd/internal/clitest"
	"github.com/faultbox/faultbox/fault"
)

// Every command of chunkcache, enumerated from its tree, answers -h, -help and --help with
// its usage on stdout (naming it as typed) and exit 0, and an unknown flag with exit 2.
func TestEveryCommandAnswersHelp(t *testing.T) {
	t.Parallel()
	bin := clitest.Build(t, ".", "chunkcache")
	paths := clitest.CheckTree(t, bin, "chunkcache", root)
	if want := []string{"chunkcache", "chunkcache server", "chunkcache bench", "chunkcache adapters"}; !slices.Equal(paths, want) {
		t.Errorf("checked %q, want %q", paths, want)
	}
	// A wrong command line: the message names the command as typed, on stderr, exit 2.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "usage: chunkcache <command>"},
		{[]string{"server"}, "chunkcache server: --l2-adapter: expected at least one adapter spec"},
		{[]string{"bench", "--server", "http://127.0.0.1:7420", "--seed", "-1"}, `chunkcache bench: invalid value "-1" for flag -seed`},
	} {
		code, out, errOut := clitest.Run(t, bin, tc.args...)
		if code != fault.ExitUsage || out != "" || !strings.Contains(errOut, tc.want) {
			t.Errorf("chunkcache %q: exit %d, stdout %q, stderr %q; want 2 and %q on stderr", tc.args, code, out, errOut, tc.want)
		}
	}
}
