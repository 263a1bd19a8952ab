package dbctl

import (
	"fmt"
	"time"

	"github.com/faultbox/faultbox/cluster"
	"github.com/faultbox/faultbox/fault"
	"github.com/faultbox/faultbox/sim"
)

// RunConfig is one run of the target: the world's seed (which also seeds the lab's workload),
// the workload, and the faults.
type RunConfig struct {
	Seed     fault.Seed
	Ops      uint64
	Keys     uint64
	Scenario cluster.Scenario
	// Faults is the nemesis's profile; it acts for Duration of virtual time (0: as long as
	// the leader takes to propose every operation), then heals everything.
	Faults   sim.Profile
	Duration time.Duration
	// Schedule, when set, is a scripted fault schedule applied as well.
	Schedule sim.Schedule
	// Bug plants a known mistake (see Bugs).
	Bug string
	// Observe, when set, is the world's observer (sim.Options.Observe).
	Observe func(sim.Happening)
}

// Result is what a run produced.
type Result struct {
	World   *sim.World
	Cluster *Cluster
	Report  *fault.Report
	Wall    time.Duration
}

// settle is how long, past the nemesis, the cluster has to converge before the run fails.
const settle = 60 * time.Second

// Run runs the cluster in a new world and judges it: it must converge after the faults heal,
// end at the pure model's snapshot, and never lose a committed entry. command is the
// command line's name for the report ("faultbox sim run").
func Run(command string, cfg RunConfig) (*Result, error) {
	p := cluster.Params{Seed: uint64(cfg.Seed), Ops: cfg.Ops, Keys: cfg.Keys, Scenario: cfg.Scenario}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("dbctl target: %w", err)
	}
	if _, err := sim.ParseProfile(string(cfg.Faults)); err != nil {
		return nil, err
	}
	start := time.Now() // wall time, reported, never part of the run
	w := sim.New(cfg.Seed, sim.Options{Observe: cfg.Observe})
	c, err := Start(w, Config{Params: p, Bug: cfg.Bug})
	if err != nil {
		return nil, err
	}
	if err := w.Apply(cfg.Schedule); err != nil {
		return nil, err
	}
	dur := cfg.Duration
	if dur <= 0 {
		dur = time.Duration(cfg.Ops) * c.cfg.Interval
	}
	if _, err := w.StartNemesis(sim.Nemesis{Profile: cfg.Faults}, dur); err != nil {
		return nil, err
	}
	limit := dur + settle
	runErr := w.RunUntil(func() bool { return c.Done() || w.Now() > limit })
	wall := time.Since(start)

	r := fault.NewReport(command, cfg.Seed)
	r.Target = "dbctl"
	r.Add("workload", fmt.Sprintf("ops %d, keys %d, scenario %s", cfg.Ops, cfg.Keys, cfg.Scenario))
	r.Add("faults", string(cfg.Faults)+", for "+dur.String())
	w.AddFigures(r, wall)
	hash := c.Hash()
	r.Add("snapshot sha256", hash)
	r.SetFaults(w.Log().Counts())
	if runErr != nil {
		r.Check("the world ran", false, "%v", runErr)
	}
	r.Check("converged", c.Done(), "every node up with %d of %d operations committed, at t=%s (limit %s)",
		minCommit(c), cfg.Ops, w.Now(), limit)
	pure, _, _ := cluster.Run(p)
	want := pure.Hash()
	r.Check("snapshot equals the pure model's", hash == want, "cluster.Run gives %s", want)
	if frozen := cluster.FrozenHash(p); frozen != "" {
		r.Check("frozen hash holds through the network", hash == frozen, "frozen %s", frozen)
	}
	losses := c.Losses()
	detail := "no committed entry was ever without a durable copy"
	if len(losses) > 0 {
		detail = losses[0]
		if len(losses) > 1 {
			detail += fmt.Sprintf(" (and %d more)", len(losses)-1)
		}
	}
	r.Check("no committed entry lost", len(losses) == 0, "%s", detail)
	ackLosses := c.AckLosses()
	detail = "every node that came back from a crash held what it had acknowledged"
	if len(ackLosses) > 0 {
		detail = ackLosses[0]
	}
	r.Check("acknowledged entries survive a crash", len(ackLosses) == 0, "%s", detail)
	for _, f := range c.Failures() {
		r.Note("a node crashed itself: %s", f)
		if len(r.Notes) >= 5 {
			r.Note("(%d node failures in all)", len(c.Failures()))
			break
		}
	}
	r.Judge()
	return &Result{World: w, Cluster: c, Report: r, Wall: wall}, nil
}

func minCommit(c *Cluster) uint64 {
	m := c.cfg.Ops
	for _, n := range c.nodes {
		if n == nil {
			return 0
		}
		m = min(m, n.commit)
	}
	return m
}
