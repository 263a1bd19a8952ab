package main

import (
	"context"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/faultbox/faultbox/chunkcache"
	"github.com/faultbox/faultbox/cmd/internal/cli"
	"github.com/faultbox/faultbox/fault"
)

func init() {
	register(&cli.Command{
		Name:    "chunkcache",
		Summary: "Tiered chunk cache server and bench, with the fault_inject L2 adapter.",
		Args:    "server|bench|adapters [flags]",
		Exits: []cli.Exit{
			{Code: fault.ExitPass, Meaning: "the command did its job (or help was printed)"},
			{Code: fault.ExitFail, Meaning: "the server or the bench failed at run time"},
			cli.UsageExit,
		},
		Run: runChunkcache,
	})
}

// chunkcacheVerbs are the commands chunkcache.Main runs.
var chunkcacheVerbs = []string{"server", "bench", "adapters"}

// runChunkcache hands the arguments to package chunkcache, which still parses them (its
// command line moves here later). Only its help is answered here, so that it names the
// command as typed.
func runChunkcache(e *cli.Env, args []string) int {
	if len(args) > 0 && cli.IsHelp(args[0]) {
		c := *e.Cmd
		c.Details = chunkcacheUsage(e.Path)
		help := *e
		help.Cmd = &c
		help.WriteUsage(e.Stdout, nil)
		return fault.ExitPass
	}
	if len(args) == 0 {
		return e.UsageError(nil, "no command given: want one of %s", strings.Join(chunkcacheVerbs, ", "))
	}
	if !slices.Contains(chunkcacheVerbs, args[0]) {
		return e.UsageError(nil, "unknown command %q: want one of %s", args[0], strings.Join(chunkcacheVerbs, ", "))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return chunkcache.Main(ctx, args, e.Stdout, e.Stderr)
}

// chunkcacheUsage is package chunkcache's own usage text with its commands renamed as typed
// here ("chunkcache server" becomes "faultbox chunkcache server").
func chunkcacheUsage(path string) string {
	var b strings.Builder
	chunkcache.Main(context.Background(), []string{"-h"}, &b, &b)
	pad := strings.Repeat(" ", len(path)-len("chunkcache"))
	var out []string
	for _, line := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
		trimmed := strings.TrimLeft(line, " ")
		indent := line[:len(line)-len(trimmed)]
		switch {
		case strings.HasPrefix(line, "usage:"):
			line = "commands and their flags:"
		case strings.HasPrefix(trimmed, "chunkcache "):
			line = indent + path + strings.TrimPrefix(trimmed, "chunkcache")
		case len(indent) > 4:
			line = pad + line // a continued flag list, aligned under its command
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}
