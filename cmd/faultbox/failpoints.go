package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/faultbox/faultbox/failpoint"
)

func init() {
	register(command{
		name:    "failpoints",
		summary: "list, set or clear the fail points of a running program (client of failpoint.Handler)",
		run:     runFailpoints,
	})
}

const failpointsUsage = `usage:
  faultbox failpoints list  [--addr ADDR]
  faultbox failpoints set   [--addr ADDR] NAME TERMS
  faultbox failpoints clear [--addr ADDR] NAME | --all

ADDR is host:port or http://host:port/prefix of a failpoint.Handler (default: $FAILPOINTS_HTTP).
TERMS is a chain like '50%3*return(EIO)->off' (see docs/failpoint.md).
`

func runFailpoints(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("failpoints", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, failpointsUsage); fs.PrintDefaults() }
	addr := fs.String("addr", os.Getenv(failpoint.EnvHTTP), "address of the program's fail point handler")
	all := fs.Bool("all", false, "with clear: turn every fail point off")
	timeout := fs.Duration("timeout", 10*time.Second, "give up on the program after this long")
	// Flags may come before or after the positional arguments.
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				return 0
			}
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) == 0 {
		fs.Usage()
		return 2
	}
	if *addr == "" {
		fmt.Fprintf(stderr, "faultbox failpoints: no address: pass --addr or set %s\n", failpoint.EnvHTTP)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	c := &failpoint.Client{Addr: *addr}
	verb, rest := pos[0], pos[1:]
	var err error
	switch {
	case verb == "list" && len(rest) == 0:
		var list []failpoint.Status
		if list, err = c.List(ctx); err == nil {
			err = failpoint.WriteList(stdout, list)
		}
	case verb == "set" && len(rest) == 2:
		if err = c.Set(ctx, rest[0], rest[1]); err == nil {
			fmt.Fprintf(stdout, "%s=%s\n", rest[0], rest[1])
		}
	case verb == "clear" && len(rest) == 1 && !*all:
		if err = c.Clear(ctx, rest[0]); err == nil {
			fmt.Fprintf(stdout, "%s off\n", rest[0])
		}
	case verb == "clear" && len(rest) == 0 && *all:
		if err = c.Clear(ctx, ""); err == nil {
			fmt.Fprintln(stdout, "all fail points off")
		}
	default:
		fmt.Fprintf(stderr, "faultbox failpoints: unexpected arguments %q\n", pos)
		fs.Usage()
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "faultbox failpoints:", err)
		return 1
	}
	return 0
}
