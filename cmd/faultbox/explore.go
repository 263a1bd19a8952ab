package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/faultbox/faultbox/cmd/internal/cli"
	"github.com/faultbox/faultbox/explore"
	"github.com/faultbox/faultbox/fault"
	"github.com/faultbox/faultbox/internal/progress"
	"github.com/faultbox/faultbox/sim/targets/dbctl"
)

func init() {
	register(&cli.Command{
		Name:    "explore",
		Summary: "Run a system many times, aim faults at the events that matter, and hand back the smallest failing run.",
		Args:    "--target dbctl [flags]   |   merge [--out DIR] DIR...",
		Details: `A run is (target, seed, fault plan). --strategy random draws new seeds and plans of one to
three faults; aimed runs a baseline and then a single fault at each distinct event of it:
first a crash just after each exposed write (the node spoke before the write was synced),
then after each write, then at each delivery (crash the receiver just after, cut the link
just before), then pairs; lineage cuts, one at a time, what the baseline's good outcome rests
on (the writes a node spoke of, the messages between nodes), and each run that survives adds
the supports it rested on to its model: its set plus each new support is tried next. Each distinct
failure's plan is shrunk (delta debugging) to a minimal plan that still fails the same check;
the last line printed is the command that replays it.

--out DIR writes runs.jsonl (one run a line), result.json and report.html (the verdict table,
the curve of distinct traces against runs, each failure's minimal plan, space-time diagram and
replay command). Runs are a function of the flags: the same flags write the same files,
whatever -j; --shard I/N (or JOB_COMPLETION_INDEX with --shards N, as a Kubernetes Indexed
Job sets it) does runs i with i % N == I, and 'faultbox explore merge DIR...' combines the
shards' directories into the single machine's result. --budget stops by wall time (then how
many runs were done depends on the machine).

Targets: dbctl (the lab's cluster in the simulation world; --bug ack-before-sync plants a
mistake) and raftkv (etcd's raft in the world, --nodes, --clients, --duration; its planted
bugs are listed by 'faultbox sim run --target raftkv --bug list'). --faults limits what
random plans do (crash, tear, garble, reboot, wipe, partition, isolate; default crash, tear,
reboot, partition, isolate) and which torn crashes aimed and lineage use (tear; garble, a
tear that turns every unsynced sector to garbage, at the first write into a sector where a
synced write ends).`,
		Exits: []cli.Exit{
			{Code: fault.ExitPass, Meaning: "no run failed"},
			{Code: fault.ExitFail, Meaning: "a failure was found (its replay command is the last line), or the exploration could not run"},
			cli.UsageExit,
		},
		Run: runExplore,
	})
}

type exploreArgs struct {
	opts     explore.Options
	target   string
	strategy string
	bug      string
	faults   string
	shard    string
	shards   int
	out      string
	json     bool
	noShrink bool
	ops      uint64
	keys     uint64
	nodes    int
	clients  int
	duration time.Duration
	program  programArgs     // --check, --label, --timeout: explore_program.go
	set      map[string]bool // the flags given
}

func runExplore(e *cli.Env, args []string) int {
	if len(args) > 0 && args[0] == "merge" {
		return runExploreMerge(e, args[1:])
	}
	var a exploreArgs
	fs := e.FlagSet()
	exploreFlags(fs, &a)
	pos, code, ok := e.Parse(fs, args)
	if !ok {
		return code
	}
	tg, err := exploreTarget(fs, &a, pos)
	if err != nil {
		return e.UsageError(fs, "%v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var meter *progress.Meter
	if !a.json {
		meter = progress.New(e.Stderr, "explore", "runs", a.opts.Runs)
		a.opts.Progress = func(p explore.Progress) { meter.Update(p.Done) }
	}
	res, err := explore.Explore(ctx, tg, a.opts)
	meter.Done()
	if err != nil {
		return e.Fail("%v", err)
	}
	if a.out != "" {
		if err := res.Write(a.out); err != nil {
			return e.Fail("write %s: %v", a.out, err)
		}
	}
	return printExploration(e, res, a.json, a.out)
}

// exploreFlags defines the flags of 'faultbox explore' on fs, into a.
func exploreFlags(fs *flag.FlagSet, a *exploreArgs) {
	a.opts.Seed = 1
	fs.StringVar(&a.target, "target", "", "the system to explore: dbctl or raftkv")
	fs.StringVar(&a.strategy, "strategy", "aimed", "how runs are chosen: random, aimed or lineage")
	fs.Var(&a.opts.Seed, "seed", "seed `N` of the exploration, decimal or 0x hex")
	fs.IntVar(&a.opts.Runs, "runs", 200, "runs at most (not counting the baseline and shrinking)")
	fs.DurationVar(&a.opts.Budget, "budget", 0, "stop after this much wall time (0: no limit)")
	fs.IntVar(&a.opts.Workers, "j", 1, "runs in parallel")
	fs.StringVar(&a.shard, "shard", "", "do only share `I/N` of the runs")
	fs.IntVar(&a.shards, "shards", 0, "with JOB_COMPLETION_INDEX set: the number of shards")
	fs.StringVar(&a.out, "out", "", "write runs.jsonl, result.json and report.html to `DIR`")
	fs.StringVar(&a.bug, "bug", "", "plant a known mistake in the target (dbctl: "+strings.Join(dbctl.Bugs, ", ")+
		"; raftkv: see 'faultbox sim run --target raftkv --bug list')")
	fs.StringVar(&a.faults, "faults", "", "what random plans may do, comma-separated: "+strings.Join(simKinds, ", "))
	fs.Uint64Var(&a.ops, "ops", 200, "operations of the target's workload")
	fs.Uint64Var(&a.keys, "keys", 16, "distinct keys of the workload")
	fs.IntVar(&a.nodes, "nodes", 3, "raftkv: the cluster's size, 3 or 5")
	fs.IntVar(&a.clients, "clients", 3, "raftkv: client processes")
	fs.DurationVar(&a.duration, "duration", 2*time.Second, "raftkv: how long the clients work in each run, in virtual time")
	fs.BoolVar(&a.noShrink, "no-shrink", false, "do not shrink failures")
	fs.BoolVar(&a.json, "json", false, "print the result as JSON on stdout (without the runs)")
	programFlags(fs, a) // --check, --label, --timeout for a real program (explore_program.go)
}

// exploreTarget checks the parsed flags (fs) and positional arguments and returns the
// target they name: a simulated one, or a real program given after the flags.
func exploreTarget(fs *flag.FlagSet, a *exploreArgs, pos []string) (explore.Target, error) {
	a.set = given(fs)
	if len(pos) > 0 {
		return programTarget(a, pos) // a real program: explore_program.go
	}
	return checkExploreArgs(a)
}

// checkCommonArgs checks the flags every kind of target shares.
func checkCommonArgs(a *exploreArgs) error {
	s, err := explore.ParseStrategy(a.strategy)
	if err != nil {
		return fmt.Errorf("--%v", err)
	}
	a.opts.Strategy = s
	a.opts.Shrink = !a.noShrink
	if a.opts.Runs < 0 || a.opts.Runs > 10_000_000 {
		return fmt.Errorf("--runs %d: want 0..10000000", a.opts.Runs)
	}
	if a.opts.Runs == 0 && a.opts.Budget <= 0 {
		return fmt.Errorf("--runs 0 needs a --budget")
	}
	if a.opts.Budget < 0 {
		return fmt.Errorf("--budget %s: want a duration >= 0", a.opts.Budget)
	}
	if a.opts.Workers < 1 || a.opts.Workers > 256 {
		return fmt.Errorf("-j %d: want 1..256", a.opts.Workers)
	}
	return parseShard(a)
}

func checkExploreArgs(a *exploreArgs) (explore.Target, error) {
	if err := checkCommonArgs(a); err != nil {
		return nil, err
	}
	kinds, err := parseKinds(a.faults, simKinds, "")
	if err != nil {
		return nil, err
	}
	switch a.target {
	case "dbctl":
		if a.set["nodes"] || a.set["clients"] || a.set["duration"] {
			return nil, fmt.Errorf("--nodes, --clients and --duration are for --target raftkv")
		}
		if err := checkDbctlBug(a.bug); err != nil {
			return nil, err
		}
		if a.keys < 1 || a.ops < 1 || a.ops > 1_000_000 {
			return nil, fmt.Errorf("--ops %d --keys %d: want 1..1000000 operations over at least 1 key", a.ops, a.keys)
		}
		return explore.NewDbctl(a.ops, a.keys, a.bug, kinds), nil
	case "raftkv":
		if a.set["ops"] || a.set["keys"] {
			return nil, fmt.Errorf("--ops and --keys are for --target dbctl")
		}
		if err := checkRaftkvSize(a.nodes, a.clients); err != nil {
			return nil, err
		}
		if a.duration <= 0 || a.duration > time.Hour {
			return nil, fmt.Errorf("--duration %s: want more than 0 and at most 1h of virtual time", a.duration)
		}
		tg, err := explore.NewRaftkv(a.nodes, a.clients, a.duration, a.bug, kinds)
		if err != nil {
			return nil, fmt.Errorf("--%v", err)
		}
		return tg, nil
	case "":
		return nil, fmt.Errorf("--target is required: want dbctl or raftkv")
	}
	return nil, fmt.Errorf("--target %q: want dbctl or raftkv", a.target)
}

// simKinds are the faults random plans of a simulated target may draw.
var simKinds = []string{"crash", "tear", "garble", "reboot", "wipe", "partition", "isolate"}

// parseKinds reads --faults, a comma-separated list of kinds from allowed ("" is nil: the
// target's default); what ends the error's want ("" or " for a program").
func parseKinds(s string, allowed []string, what string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	var kinds []string
	for _, k := range strings.Split(s, ",") {
		if !slices.Contains(allowed, k) {
			return nil, fmt.Errorf("--faults: kind %q: want %s%s", k, strings.Join(allowed, ", "), what)
		}
		kinds = append(kinds, k)
	}
	return kinds, nil
}

// parseShard reads --shard I/N, or JOB_COMPLETION_INDEX with --shards N.
func parseShard(a *exploreArgs) error {
	if a.shard != "" && a.shards != 0 {
		return fmt.Errorf("--shard %s and --shards %d: give one", a.shard, a.shards)
	}
	if a.shards != 0 {
		idx := os.Getenv("JOB_COMPLETION_INDEX")
		i, err := strconv.Atoi(idx)
		if err != nil || a.shards < 1 || i < 0 || i >= a.shards {
			return fmt.Errorf("--shards %d with JOB_COMPLETION_INDEX=%q: want 0 <= index < shards", a.shards, idx)
		}
		a.opts.Shard, a.opts.Shards = i, a.shards
		return nil
	}
	if a.shard == "" {
		return nil
	}
	is, ns, ok := strings.Cut(a.shard, "/")
	i, err1 := strconv.Atoi(is)
	n, err2 := strconv.Atoi(ns)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return fmt.Errorf("--shard %q: want I/N with 0 <= I < N", a.shard)
	}
	a.opts.Shard, a.opts.Shards = i, n
	return nil
}

func runExploreMerge(e *cli.Env, args []string) int {
	fs := e.FlagSet()
	var out string
	var asJSON bool
	fs.StringVar(&out, "out", "", "write the merged runs.jsonl, result.json and report.html to `DIR`")
	fs.BoolVar(&asJSON, "json", false, "print the merged result as JSON on stdout (without the runs)")
	dirs, code, ok := e.Parse(fs, args)
	if !ok {
		return code
	}
	if len(dirs) == 0 {
		return e.UsageError(fs, "merge: want the directories of the shards (DIR...)")
	}
	var shards []*explore.Result
	for _, d := range dirs {
		r, err := explore.Read(d)
		if err != nil {
			return e.Fail("merge: %v", err)
		}
		shards = append(shards, r)
	}
	res, err := explore.Merge(shards)
	if err != nil {
		return e.Fail("%v", err)
	}
	if out != "" {
		if err := res.Write(out); err != nil {
			return e.Fail("write %s: %v", out, err)
		}
	}
	return printExploration(e, res, asJSON, out)
}

// printExploration prints the summary (or JSON) and returns the exit code; with failures,
// the last line is the first failure's replay command.
func printExploration(e *cli.Env, res *explore.Result, asJSON bool, out string) int {
	code := fault.ExitPass
	if len(res.Failures) > 0 {
		code = fault.ExitFail
	}
	if asJSON {
		if err := res.WriteJSON(e.Stdout); err != nil {
			return e.Fail("%v", err)
		}
		return code
	}
	w := e.Stdout
	fmt.Fprintf(w, "faultbox explore  target %s  strategy %s  seed %d", res.Target, res.Strategy, res.Seed)
	if res.Shards > 1 {
		fmt.Fprintf(w, "  shard %d/%d", res.Shard, res.Shards)
	}
	fmt.Fprintf(w, "\n  runs                %d\n  distinct signatures %d\n  failed runs         %d\n", len(res.Runs), res.Distinct(), res.FailedRuns())
	if res.FirstFailure >= 0 {
		fmt.Fprintf(w, "  first failure       run %d\n", res.FirstFailure)
	}
	if res.Elapsed > 0 {
		fmt.Fprintf(w, "  wall time           %s (%.0f runs/s)\n", res.Elapsed.Round(time.Millisecond),
			float64(len(res.Runs))/res.Elapsed.Seconds())
	}
	if out != "" {
		fmt.Fprintf(w, "  report              %s\n", out+"/"+explore.ReportFile)
	}
	for _, f := range res.Failures {
		fmt.Fprintf(w, "failure: %s\n  %s\n  found at run %d with %d fault(s), shrunk to %d in %d runs:\n", f.Check, f.Detail,
			f.Run, len(f.Plan), len(f.Minimal), f.ShrinkRuns)
		for _, p := range f.Minimal {
			fmt.Fprintf(w, "    %s\n", p)
		}
	}
	if len(res.Failures) == 0 {
		fmt.Fprintln(w, "verdict: no run failed")
		return code
	}
	fmt.Fprintf(w, "verdict: fail\nreplay:\n%s\n", res.Failures[0].Replay)
	return code
}
