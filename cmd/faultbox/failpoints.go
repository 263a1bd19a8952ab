package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/faultbox/faultbox/cmd/internal/cli"
	"github.com/faultbox/faultbox/failpoint"
	"github.com/faultbox/faultbox/fault"
)

var failpointExits = []cli.Exit{
	{Code: fault.ExitPass, Meaning: "the program did what was asked"},
	{Code: fault.ExitFail, Meaning: "the program could not be reached, or refused (an unknown fail point, an error status)"},
	cli.UsageExit,
}

const failpointAddr = `ADDR is host:port or http://host:port/prefix of a failpoint.Handler; --addr defaults to
$` + failpoint.EnvHTTP + `.`

func init() {
	register(&cli.Command{
		Name:    "failpoints",
		Summary: "List, set or clear the fail points of a running program (a client of failpoint.Handler).",
		Details: failpointAddr + "\nFlags may come before the command: 'faultbox failpoints --addr A list'.",
		Subs: []*cli.Command{
			{
				Name:    "list",
				Summary: "List every fail point of the program: state, hits, fired, terms.",
				Args:    "[--addr ADDR] [--timeout D]",
				Details: failpointAddr,
				Exits:   failpointExits,
				Run:     runFailpointsList,
			},
			{
				Name:    "set",
				Summary: "Set a fail point of the program to a chain of terms.",
				Args:    "[--addr ADDR] [--timeout D] NAME TERMS",
				Details: failpointAddr + "\nTERMS is a chain like '50%3*return(EIO)->off' (see docs/failpoint.md); it is checked\n" +
					"here before anything is sent, and a bad one is a usage error.",
				Exits: failpointExits,
				Run:   runFailpointsSet,
			},
			{
				Name:    "clear",
				Summary: "Turn one fail point of the program off, or all of them.",
				Args:    "[--addr ADDR] [--timeout D] NAME\n[--addr ADDR] [--timeout D] --all",
				Details: failpointAddr,
				Exits:   failpointExits,
				Run:     runFailpointsClear,
			},
		},
	})
}

// failpointsFlags are the flags every failpoints command shares.
type failpointsFlags struct {
	addr    string
	timeout time.Duration
}

func (f *failpointsFlags) define(fs *flag.FlagSet) {
	fs.StringVar(&f.addr, "addr", os.Getenv(failpoint.EnvHTTP), "`ADDR` of the program's fail point handler (default $"+failpoint.EnvHTTP+")")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Second, "give up on the program after this long")
}

// call checks the flags, then runs fn with a client and a context bounded by --timeout;
// an error of fn fails the command.
func (f *failpointsFlags) call(e *cli.Env, fs *flag.FlagSet, fn func(context.Context, *failpoint.Client) error) int {
	if f.addr == "" {
		return e.UsageError(fs, "no address: pass --addr or set %s", failpoint.EnvHTTP)
	}
	if f.timeout <= 0 {
		return e.UsageError(fs, "--timeout %s: want a duration above 0", f.timeout)
	}
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	defer cancel()
	if err := fn(ctx, &failpoint.Client{Addr: f.addr}); err != nil {
		return e.Fail("%v", err)
	}
	return fault.ExitPass
}

func runFailpointsList(e *cli.Env, args []string) int {
	var f failpointsFlags
	fs := e.FlagSet()
	f.define(fs)
	pos, code, ok := e.Parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		return e.UsageError(fs, "unexpected argument %q: list takes none", pos[0])
	}
	return f.call(e, fs, func(ctx context.Context, c *failpoint.Client) error {
		list, err := c.List(ctx)
		if err != nil {
			return err
		}
		return failpoint.WriteList(e.Stdout, list)
	})
}

func runFailpointsSet(e *cli.Env, args []string) int {
	var f failpointsFlags
	fs := e.FlagSet()
	f.define(fs)
	pos, code, ok := e.Parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 2 {
		return e.UsageError(fs, "got %d arguments %q: want NAME TERMS", len(pos), pos)
	}
	name, terms := pos[0], pos[1]
	// What the command line says is checked here: a bad name or bad terms is a usage error
	// (2), only a refusal by the program is a failure (1).
	if err := checkFailpointName(name); err != nil {
		return e.UsageError(fs, "%v", err)
	}
	if _, err := failpoint.Parse(terms); err != nil {
		return e.UsageError(fs, "%v", err)
	}
	return f.call(e, fs, func(ctx context.Context, c *failpoint.Client) error {
		if err := c.Set(ctx, name, terms); err != nil {
			return err
		}
		fmt.Fprintf(e.Stdout, "%s=%s\n", name, terms)
		return nil
	})
}

// checkFailpointName applies the package's rule for names (the one FAILPOINTS uses).
func checkFailpointName(name string) error {
	set, err := failpoint.ParseEnv(name + "=off")
	if err != nil || len(set) != 1 || set[0].Name != name {
		return fmt.Errorf(`fail point name %q: want 1 to 256 bytes without spaces, control bytes, "=" or ";"`, name)
	}
	return nil
}

func runFailpointsClear(e *cli.Env, args []string) int {
	var f failpointsFlags
	fs := e.FlagSet()
	f.define(fs)
	all := fs.Bool("all", false, "turn every fail point off (instead of NAME)")
	pos, code, ok := e.Parse(fs, args)
	if !ok {
		return code
	}
	switch {
	case *all && len(pos) == 0, !*all && len(pos) == 1:
	case *all:
		return e.UsageError(fs, "--all and a NAME %q: want one of them", pos[0])
	default:
		return e.UsageError(fs, "got %d arguments %q: want NAME or --all", len(pos), pos)
	}
	name := "" // every fail point
	if !*all {
		name = pos[0]
		if err := checkFailpointName(name); err != nil {
			return e.UsageError(fs, "%v", err)
		}
	}
	return f.call(e, fs, func(ctx context.Context, c *failpoint.Client) error {
		if err := c.Clear(ctx, name); err != nil {
			return err
		}
		if *all {
			fmt.Fprintln(e.Stdout, "all fail points off")
		} else {
			fmt.Fprintf(e.Stdout, "%s off\n", name)
		}
		return nil
	})
}
