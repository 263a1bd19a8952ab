package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/faultbox/faultbox/cluster"
)

// workloadFlags is the part of every command line after the command's name.
const workloadFlags = "workload --seed N --ops N --keys N --scenario normal|fault"

// commands lists the subcommands in the order the usage text shows them.
var commands = []struct{ name, summary string }{
	{"hash", "print the lowercase SHA-256 hex of the snapshot, with no trailing newline"},
	{"snapshot", "write the raw snapshot bytes to stdout (for ports and debugging)"},
	{"show", "print a human summary: the fault window, what follower 1 missed and caught up,\n" +
		"            each node's log length, commit index and number of keys"},
}

func summary(cmd string) (string, bool) {
	for _, c := range commands {
		if c.name == cmd {
			return c.summary, true
		}
	}
	return "", false
}

func usageText() string {
	var b strings.Builder
	b.WriteString("dbctl runs the deterministic replicated key-value model of the dbctl lab.\n\nusage:\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "  dbctl %s %s\n", c.name, workloadFlags)
	}
	b.WriteString("\ncommands:\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-9s %s\n", c.name, c.summary)
	}
	b.WriteString("\nRun 'dbctl <command> -h' for the flags.\n")
	return b.String()
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText())
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usageText())
		return 0
	}
	cmd := args[0]
	if _, ok := summary(cmd); !ok {
		fmt.Fprintf(stderr, "dbctl: unknown command %q: expected hash, snapshot or show\n", cmd)
		return 2
	}
	p, err := parseWorkload(cmd, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, commandUsage(cmd))
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "dbctl %s: %v\n", cmd, err)
		fmt.Fprintf(stderr, "usage: dbctl %s %s\n", cmd, workloadFlags)
		return 2
	}
	c, s, err := cluster.Run(p)
	if err != nil {
		fmt.Fprintf(stderr, "dbctl %s: %v\n", cmd, err)
		return 2
	}
	switch cmd {
	case "hash":
		_, err = io.WriteString(stdout, cluster.HashSnapshot(c.Snapshot()))
	case "snapshot":
		_, err = stdout.Write(c.Snapshot())
	case "show":
		_, err = io.WriteString(stdout, cluster.Report(c, s))
	}
	if err != nil {
		fmt.Fprintf(stderr, "dbctl %s: write output: %v\n", cmd, err)
		return 1
	}
	return 0
}

func commandUsage(cmd string) string {
	sum, _ := summary(cmd)
	return fmt.Sprintf(`usage: dbctl %s %s

%s.

flags (all required):
  --seed N       seed of the workload's random stream, 0 to 18446744073709551615
  --ops N        number of operations, 0 to %d
  --keys N       number of distinct keys, at least 1
  --scenario S   normal (every node up) or fault (follower 1 down for ops [ops/2, ops*3/4))
`, cmd, workloadFlags, strings.Join(strings.Fields(sum), " "), cluster.MaxOps)
}

// parseWorkload parses "workload" and the four required flags. Every error names the flag,
// the value and what was expected.
func parseWorkload(cmd string, args []string) (cluster.Params, error) {
	var p cluster.Params
	if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		return p, flag.ErrHelp
	}
	if len(args) == 0 || args[0] != "workload" {
		got := "nothing"
		if len(args) > 0 {
			got = strconv.Quote(args[0])
		}
		return p, fmt.Errorf("expected the word workload after %q, got %s", cmd, got)
	}
	fs := flag.NewFlagSet("dbctl "+cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	seen := map[string]bool{}
	var valueErr error // the first bad value, in our words rather than the flag package's
	value := func(name, expected string, set func(string) bool) {
		fs.Func(name, "", func(s string) error {
			switch {
			case seen[name]:
				valueErr = fmt.Errorf("--%s %q: given twice, expected once", name, s)
			case !set(s):
				valueErr = fmt.Errorf("--%s %q: expected %s", name, s, expected)
			default:
				seen[name] = true
				return nil
			}
			return valueErr
		})
	}
	number := func(name string, min, max uint64, dst *uint64) {
		value(name, fmt.Sprintf("a whole number from %d to %d", min, max), func(s string) bool {
			v, err := strconv.ParseUint(s, 10, 64)
			*dst = v
			return err == nil && v >= min && v <= max
		})
	}
	number("seed", 0, 1<<64-1, &p.Seed)
	number("ops", 0, cluster.MaxOps, &p.Ops)
	number("keys", 1, 1<<64-1, &p.Keys)
	value("scenario", "normal or fault", func(s string) bool {
		sc, err := cluster.ParseScenario(s)
		p.Scenario = sc
		return err == nil
	})
	if err := fs.Parse(args[1:]); err != nil {
		switch {
		case errors.Is(err, flag.ErrHelp):
			return p, err
		case valueErr != nil:
			return p, valueErr
		}
		return p, fmt.Errorf("%v (expected the flags --seed, --ops, --keys and --scenario)", err)
	}
	if fs.NArg() > 0 {
		return p, fmt.Errorf("unexpected argument %q: expected only flags after workload", fs.Arg(0))
	}
	for _, name := range []string{"seed", "ops", "keys", "scenario"} {
		if !seen[name] {
			return p, fmt.Errorf("missing required flag --%s", name)
		}
	}
	return p, nil
}
