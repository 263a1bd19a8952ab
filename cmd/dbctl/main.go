package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/faultbox/faultbox/cluster"
	"github.com/faultbox/faultbox/cmd/internal/cli"
	"github.com/faultbox/faultbox/fault"
)

// workloadArgs is the part of every command line after the command's name.
const workloadArgs = "workload --seed N --ops N --keys N --scenario normal|fault [--json]"

var exits = []cli.Exit{
	{Code: fault.ExitPass, Meaning: "the run's output was written (with --json: the report's verdict is pass)"},
	{Code: fault.ExitFail, Meaning: "the output could not be written (with --json: a check failed)"},
	cli.UsageExit,
	{Code: fault.ExitEmpty, Meaning: "with --json only: the verdict is empty (--ops 0: nothing was replicated, nothing checked)"},
}

const flagsNote = `All four workload flags are required. With --json the command prints its run as a JSON
fault report (the figures of show, the fault, the checks, the verdict and a replay line)
instead of its usual output, and exits with the verdict's code.`

var root = &cli.Command{
	Name:    "dbctl",
	Summary: "dbctl runs the deterministic replicated key-value model of the dbctl lab.",
	Args:    "hash " + workloadArgs + "\nsnapshot " + workloadArgs + "\nshow " + workloadArgs,
	Subs: []*cli.Command{
		leaf("hash", "Print the lowercase SHA-256 hex of the snapshot, with no trailing newline."),
		leaf("snapshot", "Write the raw snapshot bytes to stdout (for ports and debugging)."),
		leaf("show", "Print a human summary: the fault window, what follower 1 missed and caught up, each node's log length, commit index and number of keys."),
	},
}

func leaf(name, summary string) *cli.Command {
	return &cli.Command{Name: name, Summary: summary, Args: workloadArgs, Details: flagsNote, Exits: exits, Run: runWorkload}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	return cli.Main(root, "dbctl", args, stdout, stderr)
}

func runWorkload(e *cli.Env, args []string) int {
	cmd := e.Cmd.Name
	w, err := parseWorkload(cmd, args)
	if errors.Is(err, flag.ErrHelp) {
		e.WriteUsage(e.Stdout, newWorkloadParser(e.Path).fs)
		return fault.ExitPass
	}
	if err != nil {
		return e.UsageError(nil, "%v", err)
	}
	c, s, err := cluster.Run(w.p)
	if err != nil {
		return e.UsageError(nil, "%v", err)
	}
	if w.json {
		r := report(e.Path, c, s)
		if err := r.WriteJSON(e.Stdout); err != nil {
			return e.Fail("write output: %v", err)
		}
		return r.Verdict.ExitCode()
	}
	switch cmd {
	case "hash":
		_, err = io.WriteString(e.Stdout, c.Hash())
	case "snapshot":
		_, err = e.Stdout.Write(c.Snapshot())
	case "show":
		_, err = io.WriteString(e.Stdout, cluster.Report(c, s))
	}
	if err != nil {
		return e.Fail("write output: %v", err)
	}
	return fault.ExitPass
}

// workload is a parsed command line: the model's parameters and the output form.
type workload struct {
	p    cluster.Params
	json bool
}

// workloadParser holds the flag set of the workload flags. Every value error names the
// flag, the value and what was expected, in our words rather than the flag package's.
type workloadParser struct {
	fs       *flag.FlagSet
	w        workload
	seen     map[string]bool
	valueErr error // the first bad value
}

func newWorkloadParser(name string) *workloadParser {
	wp := &workloadParser{fs: flag.NewFlagSet(name, flag.ContinueOnError), seen: map[string]bool{}}
	wp.fs.SetOutput(io.Discard)
	p := &wp.w.p
	value := func(name, usage, expected string, set func(string) bool) {
		wp.fs.Func(name, usage, func(s string) error {
			switch {
			case wp.seen[name]:
				wp.valueErr = fmt.Errorf("--%s %q: given twice, expected once", name, s)
			case !set(s):
				wp.valueErr = fmt.Errorf("--%s %q: expected %s", name, s, expected)
			default:
				wp.seen[name] = true
				return nil
			}
			return wp.valueErr
		})
	}
	number := func(name, usage string, min, max uint64, dst *uint64) {
		value(name, usage, fmt.Sprintf("a whole number from %d to %d", min, max), func(s string) bool {
			v, err := strconv.ParseUint(s, 10, 64)
			*dst = v
			return err == nil && v >= min && v <= max
		})
	}
	value("seed", "seed `N` of the workload's random stream: 0 to 18446744073709551615, decimal or 0x hex",
		"a whole number from 0 to 18446744073709551615, or 0x and up to 16 hex digits", func(s string) bool {
			v, err := fault.ParseSeed(s)
			p.Seed = uint64(v)
			return err == nil
		})
	number("ops", fmt.Sprintf("number of operations `N`, 0 to %d", cluster.MaxOps), 0, cluster.MaxOps, &p.Ops)
	number("keys", "number of distinct keys `N`, at least 1", 1, 1<<64-1, &p.Keys)
	value("scenario", "`S`: normal (every node up) or fault (follower 1 down for ops [ops/2, ops*3/4))", "normal or fault", func(s string) bool {
		sc, err := cluster.ParseScenario(s)
		p.Scenario = sc
		return err == nil
	})
	wp.fs.BoolVar(&wp.w.json, "json", false, "print the run as a JSON fault report instead of the usual output")
	return wp
}

// parseWorkload parses "workload" and the flags after the command cmd ("hash"). It returns
// flag.ErrHelp for -h.
func parseWorkload(cmd string, args []string) (workload, error) {
	if len(args) > 0 && cli.IsHelp(args[0]) {
		return workload{}, flag.ErrHelp
	}
	if len(args) == 0 || args[0] != "workload" {
		got := "nothing"
		if len(args) > 0 {
			got = strconv.Quote(args[0])
		}
		return workload{}, fmt.Errorf("expected the word workload after %q, got %s", cmd, got)
	}
	wp := newWorkloadParser("dbctl " + cmd)
	if err := wp.fs.Parse(args[1:]); err != nil {
		switch {
		case errors.Is(err, flag.ErrHelp):
			return workload{}, err
		case wp.valueErr != nil:
			return workload{}, wp.valueErr
		}
		return workload{}, fmt.Errorf("%v (expected the flags --seed, --ops, --keys and --scenario)", err)
	}
	if wp.fs.NArg() > 0 {
		return workload{}, fmt.Errorf("unexpected argument %q: expected only flags after workload", wp.fs.Arg(0))
	}
	for _, name := range []string{"seed", "ops", "keys", "scenario"} {
		if !wp.seen[name] {
			return workload{}, fmt.Errorf("missing required flag --%s", name)
		}
	}
	return wp.w, nil
}
