package main

import (
	"flag"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/faultbox/faultbox/cluster"
	"github.com/faultbox/faultbox/cmd/internal/cli"
	"github.com/faultbox/faultbox/fault"
	"github.com/faultbox/faultbox/internal/shellquote"
	"github.com/faultbox/faultbox/sim"
	"github.com/faultbox/faultbox/sim/targets/dbctl"
	"github.com/faultbox/faultbox/sim/targets/raftkv"
)

func init() {
	register(&cli.Command{
		Name:    "sim",
		Summary: "Run a distributed system in the deterministic simulation world, under faults from every layer.",
		Subs: []*cli.Command{{
			Name:    "run",
			Summary: "Run a target in a world from one seed and judge it: same seed, same run, byte for byte.",
			Args:    "--target dbctl|raftkv [flags]",
			Details: `Targets: dbctl, the lab's replicated key-value cluster as three processes (leader
10.0.0.1, followers 10.0.0.2 and 10.0.0.3) keeping their logs on simulated disks. The seed
drives the world (network, disks, nemesis) and the lab's workload. The nemesis acts for
--duration of virtual time (default: as long as the workload takes), then heals everything;
the cluster must then converge to the pure model's snapshot (cluster.Run) and must never
have had a committed entry without a durable copy.

raftkv: etcd's raft library (a raft.RawNode per node, 10.0.0.1..5) replicating a
key-value store, with --clients processes (10.0.1.x) issuing put/get/cas; checked after every
handler call (one leader per term, committed entries never change, applied state equal at
each index, raft's own assertions) and, at the end, for linearizability with porcupine.
--bug NAME plants a known mistake (--bug list prints them). When the history is not
linearizable, porcupine's visualisation (an HTML page) is written to --html FILE, or beside
the -o event file (-o run/events.jsonl: run/events.porcupine.html); the report names it.
See docs/raftkv.md.

--faults: none, net (partitions, one-way cuts, isolation, clogs, lossy spells), crash
(crashes and graceful reboots of one node at a time), storage (degraded disks), all.
--schedule adds scripted faults: "at 2s crash 10.0.0.2 for 500ms; at 3s heal".
The report's wall time and speed are measured, not reproduced; everything else is.`,
			Exits: []cli.Exit{
				{Code: fault.ExitPass, Meaning: "pass: every check held"},
				{Code: fault.ExitFail, Meaning: "fail: a check failed (the report names it), or the run could not be done"},
				cli.UsageExit,
			},
			Run: runSim,
		}},
	})
}

type simArgs struct {
	cfg       dbctl.RunConfig
	target    string
	scenario  string
	faults    string
	schedule  string
	events    string
	json      bool
	determin  bool
	ops, keys uint64
	nodes     int
	clients   int
	bug       string
	html      string
	set       map[string]bool
}

func runSim(e *cli.Env, args []string) int {
	var a simArgs
	fs := e.FlagSet()
	simFlags(fs, &a)
	pos, code, ok := e.Parse(fs, args)
	if !ok {
		return code
	}
	a.set = given(fs)
	if a.bug == "list" { // the target's bugs; raftkv's when no target is named
		if a.target == "dbctl" {
			for _, b := range dbctl.Bugs {
				fmt.Fprintln(e.Stdout, b)
			}
			return fault.ExitPass
		}
		for _, b := range raftkv.Bugs {
			fmt.Fprintln(e.Stdout, b)
		}
		return fault.ExitPass
	}
	if err := checkSimArgs(&a, pos); err != nil {
		return e.UsageError(fs, "%v", err)
	}
	if a.target == "raftkv" {
		return runRaftkv(e, &a)
	}
	res, err := dbctl.Run(e.Path, a.cfg)
	if err != nil {
		return e.Fail("%v", err)
	}
	rerun := func() (string, error) {
		again, err := dbctl.Run(e.Path, a.cfg)
		if err != nil {
			return "", err
		}
		return again.World.TraceHash(), nil
	}
	replay := []string{"--target", a.target, "--seed", a.cfg.Seed.String(), "--ops", strconv.FormatUint(a.ops, 10),
		"--keys", strconv.FormatUint(a.keys, 10), "--scenario", a.scenario}
	return finishSim(e, &a, res.Report, res.World, rerun, replay)
}

// given returns the names of the flags set on the command line.
func given(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// simFlags defines the flags of 'faultbox sim run' on fs, into a.
func simFlags(fs *flag.FlagSet, a *simArgs) {
	a.cfg.Seed = 1
	fs.StringVar(&a.target, "target", "", "the system to run: dbctl or raftkv")
	fs.Var(&a.cfg.Seed, "seed", "seed `N` of the whole run, decimal or 0x hex")
	fs.Uint64Var(&a.ops, "ops", 2000, "operations of the workload")
	fs.Uint64Var(&a.keys, "keys", 128, "distinct keys of the workload, at least 1")
	fs.StringVar(&a.scenario, "scenario", "normal", "the lab's scenario: normal, or fault (follower 1 down for a quarter of the run)")
	fs.StringVar(&a.faults, "faults", "none", "what the nemesis may do: none, net, crash, storage or all")
	fs.DurationVar(&a.cfg.Duration, "duration", 0, "how long the nemesis acts, in virtual time (0: the workload's length)")
	fs.StringVar(&a.schedule, "schedule", "", "scripted faults, e.g. \"at 2s crash 10.0.0.2 for 500ms; at 3s heal\"")
	fs.StringVar(&a.events, "o", "", "write every fault event of the run to `FILE` as JSON lines")
	fs.BoolVar(&a.json, "json", false, "print the report as JSON on stdout, and nothing else there")
	fs.BoolVar(&a.determin, "check-determinism", false, "run the seed twice and fail unless the trace hashes are equal")
	fs.IntVar(&a.nodes, "nodes", 3, "raftkv: the cluster's size, 3 or 5")
	fs.IntVar(&a.clients, "clients", 3, "raftkv: client processes, 1..64")
	fs.StringVar(&a.bug, "bug", "", "plant a known mistake in the target; list prints the target's (dbctl: "+
		strings.Join(dbctl.Bugs, ", ")+"; raftkv: see list)")
	fs.StringVar(&a.html, "html", "", "raftkv: write porcupine's visualisation to `FILE` on a linearizability violation (default: beside -o's file)")
}

// finishSim does what every target's run shares: the determinism check, the replay line,
// the fault log file and the report. replay holds the target's own flags.
func finishSim(e *cli.Env, a *simArgs, r *fault.Report, w *sim.World, rerun func() (string, error), replay []string) int {
	if a.determin {
		h2, err := rerun()
		if err != nil {
			return e.Fail("second run: %v", err)
		}
		h1 := w.TraceHash()
		r.Check("deterministic", h1 == h2, "two runs of the seed: trace hashes %s and %s", h1, h2)
		r.Judge()
	}
	replay = append(replay, "--faults", a.faults)
	if a.cfg.Duration > 0 {
		replay = append(replay, "--duration", a.cfg.Duration.String())
	}
	if a.bug != "" && a.bug != "none" {
		replay = append(replay, "--bug", a.bug)
	}
	if a.schedule != "" {
		replay = append(replay, "--schedule", a.cfg.Schedule.String())
	}
	r.Replay = e.Path + " " + shellquote.Quote(replay...)
	if a.events != "" {
		if err := writeEventsFile(a.events, w.Log().Events()); err != nil {
			return e.Fail("write %s: %v", a.events, err)
		}
	}
	return writeReport(e, r, a.json)
}

// maxSimOps bounds a run: the world keeps every node's log in memory.
const maxSimOps = 1_000_000

func checkSimArgs(a *simArgs, pos []string) error {
	if len(pos) > 0 {
		return fmt.Errorf("unexpected argument %q", pos[0])
	}
	only := map[string][]string{
		"dbctl":  {"nodes", "clients", "html"},
		"raftkv": {"ops", "keys", "scenario"},
	}
	switch a.target {
	case "dbctl", "raftkv":
		for _, name := range only[a.target] {
			if a.set[name] {
				return fmt.Errorf("--%s does not apply to --target %s", name, a.target)
			}
		}
	case "":
		return fmt.Errorf("--target is required: want dbctl or raftkv")
	default:
		return fmt.Errorf("--target %q: want dbctl or raftkv", a.target)
	}
	if a.ops > maxSimOps {
		return fmt.Errorf("--ops %d: want 0..%d", a.ops, maxSimOps)
	}
	if a.keys < 1 {
		return fmt.Errorf("--keys %d: want at least 1", a.keys)
	}
	sc, err := cluster.ParseScenario(a.scenario)
	if err != nil {
		return fmt.Errorf("--scenario: %v", err)
	}
	prof, err := sim.ParseProfile(a.faults)
	if err != nil {
		return fmt.Errorf("--%v", err)
	}
	if a.cfg.Duration < 0 || a.cfg.Duration > 24*time.Hour {
		return fmt.Errorf("--duration %s: want 0..24h of virtual time", a.cfg.Duration)
	}
	if a.schedule != "" {
		s, err := sim.ParseSchedule(a.schedule)
		if err != nil {
			return fmt.Errorf("--schedule: %v", err)
		}
		a.cfg.Schedule = s
	}
	switch a.target {
	case "dbctl":
		if err := checkDbctlBug(a.bug); err != nil {
			return err
		}
	case "raftkv":
		bug, err := raftkv.ParseBug(a.bug)
		if err != nil {
			return fmt.Errorf("--%v", err)
		}
		a.bug = string(bug) // "none" is no bug
		if err := checkRaftkvSize(a.nodes, a.clients); err != nil {
			return err
		}
	}
	a.cfg.Ops, a.cfg.Keys, a.cfg.Scenario, a.cfg.Faults, a.cfg.Bug = a.ops, a.keys, sc, prof, a.bug
	return nil
}

// runRaftkv runs the raftkv target (its flags checked by checkSimArgs); the run logic lives
// in the target package.
func runRaftkv(e *cli.Env, a *simArgs) int {
	cfg := raftkv.RunConfig{Seed: a.cfg.Seed, Faults: a.cfg.Faults, Schedule: a.cfg.Schedule, HTML: a.html,
		Config: raftkv.Config{Nodes: a.nodes, Clients: a.clients, Workload: a.cfg.Duration, Bug: raftkv.Bug(a.bug)}}
	if cfg.HTML == "" && a.events != "" {
		cfg.HTML = htmlBeside(a.events)
	}
	res, err := raftkv.Run(e.Path, cfg)
	if err != nil {
		return e.Fail("%v", err)
	}
	rerun := func() (string, error) {
		cfg.HTML = ""
		again, err := raftkv.Run(e.Path, cfg)
		if err != nil {
			return "", err
		}
		return again.World.TraceHash(), nil
	}
	replay := []string{"--target", "raftkv", "--seed", a.cfg.Seed.String(), "--nodes", strconv.Itoa(a.nodes),
		"--clients", strconv.Itoa(a.clients)}
	return finishSim(e, a, res.Report, res.World, rerun, replay)
}

// htmlBeside is where porcupine's visualisation goes when only the event file is named: beside
// it, events.jsonl giving events.porcupine.html.
func htmlBeside(events string) string {
	return strings.TrimSuffix(events, filepath.Ext(events)) + ".porcupine.html"
}

// checkDbctlBug checks --bug for the dbctl target ("" is none).
func checkDbctlBug(bug string) error {
	if bug != "" && !slices.Contains(dbctl.Bugs, bug) {
		return fmt.Errorf("--bug %q: want one of %s", bug, strings.Join(dbctl.Bugs, ", "))
	}
	return nil
}

// checkRaftkvSize checks --nodes and --clients for the raftkv target.
func checkRaftkvSize(nodes, clients int) error {
	if nodes != 3 && nodes != 5 {
		return fmt.Errorf("--nodes %d: want 3 or 5", nodes)
	}
	if clients < 1 || clients > 64 {
		return fmt.Errorf("--clients %d: want 1..64", clients)
	}
	return nil
}
