package raftkv

import (
	"fmt"
	"math"
	"os"
	"slices"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/faultbox/faultbox/disk"
	"github.com/faultbox/faultbox/fault"
	"github.com/faultbox/faultbox/sim"
)

// RunConfig is one run of the target: the world's seed, the cluster, the faults, and where
// to write porcupine's visualisation when the history is not linearizable.
type RunConfig struct {
	Seed fault.Seed
	Config
	// Faults is the nemesis's profile; it acts while the clients work (Config.Workload),
	// then heals everything.
	Faults sim.Profile
	// Schedule, when set, is a scripted fault schedule applied as well.
	Schedule sim.Schedule
	// CheckTimeout bounds porcupine's search; 0 means 10s. A search cut short is a failed
	// check ("inconclusive"), never a pass.
	CheckTimeout time.Duration
	// HTML, when set, is the file porcupine's visualisation is written to on a
	// linearizability violation (the report names it); the command line puts it beside the
	// run's event file (-o) unless --html names one.
	HTML string
	// Observe, when set, is the world's observer (sim.Options.Observe).
	Observe func(sim.Happening)
}

// Result is what a run produced.
type Result struct {
	World     *sim.World
	Cluster   *Cluster
	Report    *fault.Report
	Wall      time.Duration // the run in the world
	CheckWall time.Duration // porcupine on the history
	Linear    porcupine.CheckResult
	HTML      string // the visualisation written, if any
}

// settle is how long, past the workload, the clients have to finish their operations.
const settle = 5 * time.Second

// Run runs the cluster and its clients in a new world and judges the run. It stops early at
// the first invariant violation. command is the command line's name for the report.
func Run(command string, cfg RunConfig) (*Result, error) {
	if err := cfg.Config.defaults(); err != nil {
		return nil, err
	}
	if _, err := sim.ParseProfile(string(cfg.Faults)); err != nil {
		return nil, err
	}
	if cfg.CheckTimeout <= 0 {
		cfg.CheckTimeout = 10 * time.Second
	}
	start := time.Now() // wall time, reported, never part of the run
	dcfg := disk.DefaultConfig()
	w := sim.New(cfg.Seed, sim.Options{Storage: &dcfg, Observe: cfg.Observe,
		Network: sim.Network{LatencyMin: 500 * time.Microsecond, LatencyMax: 2 * time.Millisecond}})
	c, err := Start(w, cfg.Config)
	if err != nil {
		return nil, err
	}
	if err := w.Apply(cfg.Schedule); err != nil {
		return nil, err
	}
	dur := c.cfg.Workload
	if _, err := w.StartNemesis(sim.Nemesis{Profile: cfg.Faults, Targets: c.NodeAddrs()}, dur); err != nil {
		return nil, err
	}
	if cfg.Faults == sim.FaultsNet || cfg.Faults == sim.FaultsAll {
		c.startLeaderNemesis(dur)
	}
	limit := dur + settle
	runErr := w.RunUntil(func() bool {
		return c.Violated() || (w.Now() >= dur && c.Idle()) || w.Now() > limit
	})
	wall := time.Since(start)

	hist := c.History()
	checkStart := time.Now()
	lin, info := porcupine.CheckOperationsVerbose(Model, hist, cfg.CheckTimeout)
	checkWall := time.Since(checkStart)
	res := &Result{World: w, Cluster: c, Wall: wall, CheckWall: checkWall, Linear: lin}

	r := fault.NewReport(command, cfg.Seed)
	r.Target = "raftkv"
	bug := string(c.cfg.Bug)
	if bug == "" {
		bug = "none"
	}
	r.Add("cluster", fmt.Sprintf("%d nodes, %d clients, %d keys", c.cfg.Nodes, c.cfg.Clients, c.cfg.Keys))
	r.Add("faults", fmt.Sprintf("%s, for %s", cfg.Faults, dur))
	r.Add("bug", bug)
	w.AddFigures(r, wall)
	okOps, unknown := 0, 0
	for _, op := range hist {
		if op.Return == math.MaxInt64 {
			unknown++
		} else {
			okOps++
		}
	}
	r.Add("operations", fmt.Sprintf("%d completed, %d with unknown outcome", okOps, unknown))
	r.Add("terms with a leader", c.Terms())
	r.Add("snapshots", fmt.Sprintf("%d taken, %d installed from the leader", c.snapshots, c.installs))
	r.Add("porcupine time", checkWall.Round(time.Microsecond))
	r.SetFaults(w.Log().Counts())
	if runErr != nil {
		r.Check("the world ran", false, "%v", runErr)
	}
	viols := c.Violations()
	for _, name := range invariantChecks {
		detail, n := "held after every handler call", c.inv.count[name]
		for _, v := range viols {
			if v.Check == name {
				detail = fmt.Sprintf("t=%s %s", v.At, v.Detail)
				if n > 1 {
					detail += fmt.Sprintf(" (and %d more)", n-1)
				}
				break
			}
		}
		r.Check(name, n == 0, "%s", detail)
	}
	switch lin {
	case porcupine.Ok:
		r.Check(checkLinearizable, true, "%d operations on %d keys", len(hist), c.cfg.Keys)
	case porcupine.Unknown:
		r.Check(checkLinearizable, false, "inconclusive: porcupine's search passed its %s limit", cfg.CheckTimeout)
	case porcupine.Illegal:
		key, ops := failingKey(hist, cfg.CheckTimeout)
		r.Check(checkLinearizable, false, "the history of key k%d (%d operations) has no linearization", key, len(ops))
		for _, op := range involved(ops, cfg.CheckTimeout) {
			r.Note("operation involved: %s", describeOp(op))
		}
		if cfg.HTML == "" {
			r.Note("porcupine's visualisation: not written (no file named for it)")
		} else if err := writeHTML(cfg.HTML, info); err != nil {
			r.Note("porcupine's visualisation: not written: %v", err)
		} else {
			res.HTML = cfg.HTML
			r.Note("porcupine's visualisation: %s", cfg.HTML)
		}
	}
	for _, f := range c.Failures() {
		if len(r.Notes) >= 15 {
			r.Note("(%d node failures in all)", len(c.Failures()))
			break
		}
		r.Note("a node crashed itself: %s", f)
	}
	for _, a := range c.Amnesia() {
		r.Note("%s", a)
	}
	if r.Judge() == fault.Pass && okOps == 0 {
		r.Verdict = fault.Empty
		r.Note("no client operation completed: the run proved nothing")
	}
	res.Report = r
	return res, nil
}

// involved picks the operations a reader should look at in a key's history that has no
// linearization: the last three of porcupine's longest partial linearization, then the
// operations it could not place that were called before the first of them returned.
func involved(ops []porcupine.Operation, timeout time.Duration) []porcupine.Operation {
	_, info := porcupine.CheckOperationsVerbose(Model, ops, timeout)
	parts := info.PartialLinearizations()
	if len(parts) == 0 || len(parts[0]) == 0 {
		return nil
	}
	cands := parts[0]
	slices.SortFunc(cands, func(a, b []int) int { // longest first, then by ids: deterministic
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return slices.Compare(a, b)
	})
	best := cands[0]
	var out []porcupine.Operation
	for _, id := range best[max(len(best)-3, 0):] {
		out = append(out, ops[id])
	}
	placed := map[int]bool{}
	for _, id := range best {
		placed[id] = true
	}
	var rest []int
	frontier := int64(math.MaxInt64)
	for id, op := range ops {
		if !placed[id] {
			rest = append(rest, id)
			frontier = min(frontier, op.Return)
		}
	}
	for _, id := range rest {
		if ops[id].Call <= frontier && len(out) < 12 {
			out = append(out, ops[id])
		}
	}
	return out
}

// writeHTML writes porcupine's visualisation of the history to path: an HTML page with
// every operation, by client and key, and its longest partial linearizations.
func writeHTML(path string, info porcupine.LinearizationInfo) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	werr := porcupine.Visualize(Model, info, f)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("write %s: %w", path, werr)
	}
	return nil
}
