package explore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/faultbox/faultbox/fault"
)

// Target is a system an exploration runs many times: a simulated system (package sim) or a
// real program (package trace). A plan is a list of faults in the target's own grammar (a sim
// schedule item such as "at 120ms crash 10.0.0.2 for 50ms", a trace rule such as
// "write:error=EIO:when=3:proc=server"); the target parses it.
type Target interface {
	// Name is the target's name in reports ("dbctl", "raftkv", the program's name).
	Name() string
	// Run runs one seed under one plan and judges it. An error means the run could not be
	// done (a bad plan, a program that would not start), not that a check failed.
	Run(ctx context.Context, seed fault.Seed, plan []string) (*Outcome, error)
	// RandomPlan draws the plan of a random run from r.
	RandomPlan(r *rand.Rand) []string
	// Aims lists single faults aimed at the events of a baseline run, most promising first,
	// without duplicates.
	Aims(base *Outcome) []string
	// Cuts lists single faults that each cut one support of the baseline's good outcome (a
	// message or a write the final state depends on), most promising first.
	Cuts(base *Outcome) []string
	// Replay is the command line that replays one run.
	Replay(seed fault.Seed, plan []string) string
}

// Outcome is what one run produced.
type Outcome struct {
	Failed bool
	Check  string // the first check that failed ("" when none did)
	Detail string
	// Signature abstracts the run: the cross-process structure of its communication and its
	// faults, not timings or pids. Runs with one signature are one kind of run.
	Signature string
	// Points are the run's communication and storage events that faults can be aimed at, in
	// the target's own words (used by Aims on a baseline).
	Points []Point

	// Report is the run's own report, when the target makes one.
	Report *fault.Report

	// run is what the target keeps of the run for its Aims and Cuts (a real program's
	// events); it goes when the outcome does.
	run any
}

// Point is one event of a run a fault can be aimed at.
type Point struct {
	At    time.Duration // virtual time, or the event's order for a real program
	Kind  string        // "deliver", "write", "sync", "connect", …
	Where string        // the process, or process and endpoint
	From  string        // the other end, when there is one
	Label string        // what distinguishes it among its kind (a message type, a call)
	Sent  time.Duration `json:",omitempty"` // a delivery in a simulated run: when the message left its sender
	// A write or sync in a simulated run: the file; a write: the range it wrote. Used to aim,
	// not shown: results files do not carry them.
	File   string `json:"-"`
	Offset int64  `json:"-"`
	Length int    `json:"-"`
}

// Strategy names how runs are chosen.
type Strategy string

// The strategies.
const (
	Random  Strategy = "random"  // new seeds, faults drawn from the target's profile
	Aimed   Strategy = "aimed"   // single faults at each distinct event of a baseline, then pairs
	Lineage Strategy = "lineage" // cut the supports of a good outcome, smallest sets first
)

// ParseStrategy reads a strategy name.
func ParseStrategy(s string) (Strategy, error) {
	switch Strategy(s) {
	case Random, Aimed, Lineage:
		return Strategy(s), nil
	}
	return "", fmt.Errorf("strategy %q: want random, aimed or lineage", s)
}

// Options shape an exploration.
type Options struct {
	Strategy Strategy
	// Seed roots every choice of the exploration (the runs' seeds, random plans).
	Seed fault.Seed
	// Runs bounds the number of runs (not counting the baseline and shrinking); Budget, when
	// set, bounds the wall time too (a budget makes how many runs were done depend on the
	// machine; Runs alone does not).
	Runs   int
	Budget time.Duration
	// Workers run in parallel (0 or 1: one at a time).
	Workers int
	// Shard and Shards split the runs: this exploration does runs i with i % Shards == Shard.
	Shard, Shards int
	// Shrink reduces each distinct failure's plan to a minimal one that still fails.
	Shrink bool
	// Progress, when set, is called after each run.
	Progress func(Progress)
}

// Progress is what an exploration has done so far.
type Progress struct {
	Done, Total, Failures, Distinct int
	Elapsed                         time.Duration
}

// RunResult is one run of an exploration.
type RunResult struct {
	Index     int        `json:"index"`
	Seed      fault.Seed `json:"seed"`
	Plan      []string   `json:"plan"`
	Failed    bool       `json:"failed"`
	Check     string     `json:"check,omitempty"`
	Detail    string     `json:"detail,omitempty"`
	Signature string     `json:"signature"`
	New       bool       `json:"new_signature"` // first run (by index) with this signature
	Error     string     `json:"error,omitempty"`
	Replay    string     `json:"replay"`
}

// Failure is one distinct failure found: the first run (by index) that failed a check, and
// its plan shrunk to a minimal one that still fails the same check.
type Failure struct {
	Check      string     `json:"check"`
	Detail     string     `json:"detail"`
	Run        int        `json:"run"`
	Seed       fault.Seed `json:"seed"`
	Plan       []string   `json:"plan"`
	Minimal    []string   `json:"minimal"`
	ShrinkRuns int        `json:"shrink_runs"`
	Replay     string     `json:"replay"`
	Signature  string     `json:"signature"`
	// Points are the minimal run's events (at most 200), for its space-time diagram.
	Points []Point `json:"points,omitempty"`
}

// Result is a whole exploration.
type Result struct {
	Target   string      `json:"target"`
	Strategy Strategy    `json:"strategy"`
	Seed     fault.Seed  `json:"seed"`
	Shard    int         `json:"shard"`
	Shards   int         `json:"shards"`
	Runs     []RunResult `json:"runs"`
	Failures []Failure   `json:"failures"`
	// Curve is the number of distinct signatures after each run, by index.
	Curve []int `json:"curve"`
	// FirstFailure is the index of the first failing run, -1 when none failed.
	FirstFailure int `json:"first_failure"`
	// Model is lineage's support model at the end: the ways the good outcome was seen to be
	// reached (the baseline's, then one per surviving run that revealed new supports).
	Model   *Model        `json:"model,omitempty"`
	Elapsed time.Duration `json:"-"` // wall time: not part of the results file
}

// planned is one run to do.
type planned struct {
	index int
	seed  fault.Seed
	plan  []string
}

// Explore runs the target under the strategy and returns what it found. Runs are chosen as a
// pure function of the options (and, for aimed and lineage, of the baseline run), so two
// explorations with the same options give the same results whatever Workers is.
func Explore(ctx context.Context, t Target, o Options) (*Result, error) {
	if o.Shards <= 0 {
		o.Shards, o.Shard = 1, 0
	}
	if o.Shard < 0 || o.Shard >= o.Shards {
		return nil, fmt.Errorf("explore: shard %d of %d: want 0 <= shard < shards", o.Shard, o.Shards)
	}
	if o.Runs <= 0 && o.Budget <= 0 {
		return nil, fmt.Errorf("explore: runs %d and no budget: want a number of runs or a budget", o.Runs)
	}
	start := time.Now() // for the budget and the report only
	res := &Result{Target: t.Name(), Strategy: o.Strategy, Seed: o.Seed, Shard: o.Shard, Shards: o.Shards, FirstFailure: -1}
	if o.Strategy == Lineage {
		// Each run's plan depends on the outcomes of the runs before it: every shard does
		// them all and keeps its share (sharding lineage saves no time; it stays correct).
		runs, m, err := lineage(ctx, t, o, start)
		if err != nil {
			return nil, err
		}
		for _, r := range runs {
			if r.Index%o.Shards == o.Shard {
				res.Runs = append(res.Runs, r)
			}
		}
		res.Model = m
	} else {
		plans, err := choose(ctx, t, o)
		if err != nil {
			return nil, err
		}
		var mine []planned
		for _, p := range plans {
			if p.index%o.Shards == o.Shard {
				mine = append(mine, p)
			}
		}
		res.Runs, _ = runAll(ctx, t, mine, o, start, 0, len(mine), false)
	}
	finish(res)
	if o.Shrink {
		for i := range res.Failures {
			shrink(ctx, t, &res.Failures[i])
		}
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

// choose lists the runs of the exploration, in order.
func choose(ctx context.Context, t Target, o Options) ([]planned, error) {
	n := o.Runs
	if n <= 0 {
		n = 1 << 20 // a budget alone: as many as time allows
	}
	base := o.Seed.Derive("explore", "baseline")
	switch o.Strategy {
	case Random:
		out := make([]planned, n)
		for i := range out {
			idx := fmt.Sprint(i)
			out[i] = planned{index: i, seed: o.Seed.Derive("explore", "run", idx),
				plan: t.RandomPlan(o.Seed.Stream("explore", "plan", idx))}
		}
		return out, nil
	case Aimed:
		b, err := t.Run(ctx, base, nil)
		if err != nil {
			return nil, fmt.Errorf("explore: the baseline run: %w", err)
		}
		sets := aimedSets(t.Aims(b), n)
		out := make([]planned, len(sets))
		for i, s := range sets {
			out[i] = planned{index: i, seed: base, plan: s}
		}
		return out, nil
	}
	return nil, fmt.Errorf("explore: strategy %q: want random, aimed or lineage", o.Strategy)
}

// aimedSets is every single aim, then pairs of aims in order (i < j), up to n sets.
func aimedSets(aims []string, n int) [][]string {
	var out [][]string
	for _, a := range aims {
		if len(out) == n {
			return out
		}
		out = append(out, []string{a})
	}
	for i := range aims {
		for j := i + 1; j < len(aims); j++ {
			if len(out) == n {
				return out
			}
			out = append(out, []string{aims[i], aims[j]})
		}
	}
	return out
}

// runAll runs the planned runs on o.Workers workers and returns the results in plan order,
// with the outcomes (nil for a run that could not be done). before and total are the runs
// done before these and the exploration's total, for the progress. Outcomes are kept only
// when keep is set (they hold every event of their run).
func runAll(ctx context.Context, t Target, runs []planned, o Options, start time.Time, before, total int, keep bool) ([]RunResult, []*Outcome) {
	workers := max(o.Workers, 1)
	results := make([]RunResult, len(runs))
	outcomes := make([]*Outcome, len(runs))
	done := make([]bool, len(runs))
	var mu sync.Mutex
	next, finished, failures := 0, 0, 0
	sigs := map[string]bool{}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				mu.Lock()
				if next >= len(runs) || ctx.Err() != nil || (o.Budget > 0 && time.Since(start) > o.Budget) {
					mu.Unlock()
					return
				}
				i := next
				next++
				mu.Unlock()
				p := runs[i]
				r := RunResult{Index: p.index, Seed: p.seed, Plan: p.plan, Replay: t.Replay(p.seed, p.plan)}
				out, err := t.Run(ctx, p.seed, p.plan)
				if err != nil {
					r.Error = err.Error()
				} else {
					r.Failed, r.Check, r.Detail, r.Signature = out.Failed, out.Check, out.Detail, out.Signature
				}
				mu.Lock()
				results[i], done[i] = r, true
				if keep {
					outcomes[i] = out
				}
				finished++
				if r.Failed {
					failures++
				}
				sigs[r.Signature] = true
				if o.Progress != nil {
					o.Progress(Progress{Done: before + finished, Total: total, Failures: failures, Distinct: len(sigs), Elapsed: time.Since(start)})
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	// With a budget, keep only the prefix of runs that all finished: the result is then a
	// prefix of the unbounded exploration's.
	k := 0
	for k < len(done) && done[k] {
		k++
	}
	return results[:k], outcomes[:k]
}

// finish marks new signatures, draws the curve and collects the distinct failures.
func finish(res *Result) {
	seen := map[string]bool{}
	failed := map[string]bool{}
	res.Curve = make([]int, len(res.Runs))
	for i := range res.Runs {
		r := &res.Runs[i]
		r.New = !seen[r.Signature]
		seen[r.Signature] = true
		res.Curve[i] = len(seen)
		if r.Failed {
			if res.FirstFailure < 0 {
				res.FirstFailure = r.Index
			}
			if !failed[r.Check] {
				failed[r.Check] = true
				res.Failures = append(res.Failures, Failure{Check: r.Check, Detail: r.Detail, Run: r.Index, Seed: r.Seed,
					Plan: r.Plan, Minimal: r.Plan, Replay: r.Replay, Signature: r.Signature})
			}
		}
	}
}

// shrink reduces f's plan by delta debugging (ddmin): it removes chunks of the plan, then
// single faults, keeping any smaller plan whose run fails the same check.
func shrink(ctx context.Context, t Target, f *Failure) {
	var last *Outcome // the run of the smallest failing plan so far: its points are the diagram
	fails := func(plan []string) bool {
		f.ShrinkRuns++
		out, err := t.Run(ctx, f.Seed, plan)
		if err != nil || !out.Failed || out.Check != f.Check {
			return false
		}
		last = out
		return true
	}
	cur := slices.Clone(f.Plan)
	for n := 2; len(cur) >= 2; {
		chunk := (len(cur) + n - 1) / n
		reduced := false
		for lo := 0; lo < len(cur); lo += chunk {
			hi := min(lo+chunk, len(cur))
			cand := slices.Concat(cur[:lo], cur[hi:])
			if len(cand) > 0 && fails(cand) {
				cur, reduced = cand, true
				n = max(n-1, 2)
				break
			}
		}
		if !reduced {
			if n >= len(cur) {
				break
			}
			n = min(2*n, len(cur))
		}
	}
	if len(cur) == 1 && fails(nil) {
		cur = nil // the failure needs no fault at all
	}
	f.Minimal = cur
	f.Replay = t.Replay(f.Seed, cur)
	if last == nil { // nothing was removed: run the plan once more for its diagram
		if out, err := t.Run(ctx, f.Seed, cur); err == nil {
			last = out
		}
	}
	if last != nil {
		f.Points = window(last.Points)
	}
}

// window picks the points a diagram shows: up to maxDiagramPoints around the first stop (a
// crash or a reboot, where a failure usually turns), else the first ones.
func window(points []Point) []Point {
	center := 0
	for i, p := range points {
		if p.Kind == "stop" {
			center = i
			break
		}
	}
	lo := max(center-maxDiagramPoints/2, 0)
	hi := min(lo+maxDiagramPoints, len(points))
	return slices.Clone(points[lo:hi])
}
