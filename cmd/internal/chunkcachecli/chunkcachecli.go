package chunkcachecli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/faultbox/faultbox/chunkcache"
	"github.com/faultbox/faultbox/cmd/internal/cli"
	"github.com/faultbox/faultbox/fault"
)

// Command returns the chunkcache command tree. newContext gives the context a server or a
// bench runs in and the function that releases it; nil means until SIGINT or SIGTERM.
func Command(newContext func() (context.Context, context.CancelFunc)) *cli.Command {
	if newContext == nil {
		newContext = func() (context.Context, context.CancelFunc) {
			return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		}
	}
	return &cli.Command{
		Name:    "chunkcache",
		Summary: "Tiered chunk cache server and bench, with the fault_inject L2 adapter.",
		Subs: []*cli.Command{
			serverCommand(newContext),
			benchCommand(newContext),
			adaptersCommand(),
		},
	}
}

// asFlag rewrites a *chunkcache.FieldError in terms of the flag its field came from
// (flags maps field to flag name); any other error is returned as it is.
func asFlag(err error, flags map[string]string) error {
	var fe *chunkcache.FieldError
	if !errors.As(err, &fe) {
		return err
	}
	name, ok := flags[fe.Field]
	if !ok {
		return err
	}
	return &chunkcache.FieldError{Field: "--" + name, Value: fe.Value, Expected: fe.Expected}
}

func adaptersCommand() *cli.Command {
	return &cli.Command{
		Name:    "adapters",
		Summary: "List the L2 adapter types and the fields of their --l2-adapter specs.",
		Args:    "",
		Exits: []cli.Exit{
			{Code: fault.ExitPass, Meaning: "the list was written"},
			{Code: fault.ExitFail, Meaning: "the list could not be written"},
			cli.UsageExit,
		},
		Run: func(e *cli.Env, args []string) int {
			fs := e.FlagSet()
			pos, code, ok := e.Parse(fs, args)
			if !ok {
				return code
			}
			if len(pos) > 0 {
				return e.UsageError(fs, "unexpected argument %q: expected none", pos[0])
			}
			for _, t := range chunkcache.DefaultRegistry().Types() {
				if _, err := fmt.Fprintf(e.Stdout, "%s: %s\n", t.Name, t.Doc); err != nil {
					return e.Fail("write output: %v", err)
				}
				for _, f := range t.Fields {
					def := "required"
					if f.Default != "" {
						def = "default " + f.Default
					}
					fmt.Fprintf(e.Stdout, "  %-16s %s (%s): %s\n", f.Name, f.Type, def, f.Doc)
				}
			}
			return fault.ExitPass
		},
	}
}
