package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/faultbox/faultbox/disk"
	"github.com/faultbox/faultbox/disk/wal"
)

func init() {
	register(command{
		name:    "disk",
		summary: "storage faults: 'disk torture' runs a write-ahead log on a lying disk",
		run:     runDisk,
	})
}

// diskTortureArgs are the parsed flags of 'faultbox disk torture'.
type diskTortureArgs struct {
	opts   wal.TortureOptions
	config string
	events int
	naive  bool
}

const maxTortureOps = 10_000_000

func parseDiskTorture(args []string, stderr io.Writer) (diskTortureArgs, error) {
	var a diskTortureArgs
	fs := flag.NewFlagSet("faultbox disk torture", flag.ContinueOnError)
	fs.SetOutput(stderr)
	a.opts.Seed = 1
	fs.Var(&a.opts.Seed, "seed", "seed of the whole run, decimal or 0x hex (default 1)")
	fs.IntVar(&a.opts.Ops, "ops", 2000, "workload steps (append, sync, read, crash)")
	fs.StringVar(&a.config, "config", "stress", "disk model: a preset (default, fast-local, random, stress) or a JSON object of disk.Config fields")
	fs.IntVar(&a.events, "events", 0, "also list the first N injected events")
	fs.BoolVar(&a.naive, "naive", true, "also run the naive log (no checksums) under the same faults, for contrast")
	if err := fs.Parse(args); err != nil {
		return a, err
	}
	if fs.NArg() > 0 {
		return a, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if a.opts.Ops < 0 || a.opts.Ops > maxTortureOps {
		return a, fmt.Errorf("--ops %d: want 0..%d", a.opts.Ops, maxTortureOps)
	}
	if a.events < 0 {
		return a, fmt.Errorf("--events %d: want >= 0", a.events)
	}
	cfg, err := wal.ConfigFor(a.config, a.opts.Seed)
	if err != nil {
		return a, err
	}
	a.opts.Config = cfg
	return a, nil
}

func runDisk(args []string, stdout, stderr io.Writer) int {
	return runDiskWith(args, stdout, stderr, nil)
}

// runDiskWith is runDisk with a hook that adjusts the torture options after the flags are
// parsed: the tests use it to run a deliberately broken log or a small event cap, which
// the command line does not offer.
func runDiskWith(args []string, stdout, stderr io.Writer, adjust func(*wal.TortureOptions)) int {
	if len(args) == 0 || args[0] != "torture" {
		fmt.Fprintln(stderr, "usage: faultbox disk torture [--seed N] [--ops N] [--config preset|JSON] [--events N] [--naive=false]")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			return 0
		}
		return 2
	}
	a, err := parseDiskTorture(args[1:], stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "faultbox disk torture: %v\n", err)
		return 2
	}
	if adjust != nil {
		adjust(&a.opts)
	}
	rep, err := wal.Torture(a.opts)
	if err != nil {
		fmt.Fprintf(stderr, "faultbox disk torture: %v\n", err)
		return 2
	}
	fmt.Fprintf(stdout, "faultbox disk torture: seed=%d ops=%d config=%s\n", a.opts.Seed, a.opts.Ops, a.config)
	fmt.Fprintf(stdout, "injected events: %d; the first of each family:\n", rep.Counters.Total())
	if rep.EventsDropped > 0 {
		fmt.Fprintf(stdout, "  (the event list is truncated: it kept the first %d; %d more were counted, not kept)\n",
			len(rep.Events), rep.EventsDropped)
	}
	for _, fam := range disk.Families {
		kept := false
		for _, e := range rep.Events {
			if e.Kind == string(fam) {
				fmt.Fprintf(stdout, "  %s\n", e)
				kept = true
				break
			}
		}
		if n := rep.Counters.Of(fam); !kept && n > 0 {
			fmt.Fprintf(stdout, "  %s: %d injected, all after the event list was full\n", fam, n)
		}
	}
	if n := min(a.events, len(rep.Events)); n > 0 {
		fmt.Fprintf(stdout, "the first %d events:\n", n)
		for _, e := range rep.Events[:n] {
			fmt.Fprintf(stdout, "  %s\n", e)
		}
	}
	fmt.Fprintf(stdout, "\nchecksummed WAL (length, CRC32C, position, index; read after write):\n%s", indent(rep.String()))
	if a.naive {
		nrep, err := wal.NaiveTorture(a.opts)
		if err != nil {
			fmt.Fprintf(stderr, "faultbox disk torture: naive: %v\n", err)
			return 2
		}
		fmt.Fprintf(stdout, "\nnaive log (no checksums, retries failed syncs) on the same kind of disk:\n")
		fmt.Fprintf(stdout, "  acked=%d recoveries=%d injected: %s\n", nrep.Acked, nrep.Recoveries, nrep.Counters)
		fmt.Fprintf(stdout, "  recoveries that silently lost or altered acknowledged records: %d\n", nrep.SilentLosses)
	}
	if !rep.OK() {
		return 1
	}
	return 0
}

// indent prefixes every line of s with two spaces; a final newline starts no new line.
func indent(s string) string {
	body, nl := strings.CutSuffix(s, "\n")
	out := "  " + strings.ReplaceAll(body, "\n", "\n  ")
	if nl {
		out += "\n"
	}
	return out
}
