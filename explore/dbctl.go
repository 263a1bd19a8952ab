package explore

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/faultbox/faultbox/fault"
	"github.com/faultbox/faultbox/sim"
	"github.com/faultbox/faultbox/sim/targets/dbctl"
)

// Dbctl explores the lab's cluster in the simulation world (package sim/targets/dbctl). A
// plan is a list of sim schedule items ("at 120ms crash 10.0.0.2 for 20ms").
type Dbctl struct {
	Ops, Keys uint64
	Bug       string   // a planted bug (dbctl.Bugs), or "" for the correct code
	Kinds     []string // what random plans may do: crash, reboot, wipe, partition, isolate; nil: all but wipe
}

// DefaultKinds are the faults random plans draw from when Kinds is nil.
var DefaultKinds = []string{"crash", "reboot", "partition", "isolate"}

// Name implements Target.
func (d *Dbctl) Name() string { return "dbctl" }

// horizon is how long the workload runs: the leader proposes an operation a millisecond.
func (d *Dbctl) horizon() time.Duration { return time.Duration(max(d.Ops, 1)) * time.Millisecond }

// Run implements Target.
func (d *Dbctl) Run(ctx context.Context, seed fault.Seed, plan []string) (*Outcome, error) {
	sched, err := sim.ParseSchedule(strings.Join(plan, "\n"))
	if err != nil {
		return nil, err
	}
	var points []Point
	observe := func(h sim.Happening) {
		p := Point{At: h.At, Kind: h.Kind, Where: h.To.String()}
		if h.Kind == "deliver" {
			p.From, p.Label = h.From.String(), string(rune(h.Type))
		}
		points = append(points, p)
	}
	res, err := dbctl.Run("faultbox sim run", dbctl.RunConfig{Seed: seed, Ops: d.Ops, Keys: d.Keys,
		Faults: sim.FaultsNone, Schedule: sched, Bug: d.Bug, Observe: observe})
	if err != nil {
		return nil, err
	}
	out := &Outcome{Points: points, Report: res.Report}
	for _, c := range res.Report.Checks {
		if !c.OK {
			out.Failed, out.Check, out.Detail = true, c.Name, c.Detail
			break
		}
	}
	out.Signature = signature(points, res.Report.Faults, out.Check)
	return out, nil
}

// signature abstracts a run: the distinct kinds of message between processes (sender,
// receiver, message type), the order of stops and starts per process, the kinds of fault and
// the failed check; not times, counts or ids.
func signature(points []Point, faults []fault.Count, check string) string {
	edges := map[string]bool{}
	var life []string
	for _, p := range points {
		switch p.Kind {
		case "deliver":
			edges[p.From+">"+p.Where+":"+p.Label] = true
		default:
			life = append(life, p.Kind+" "+p.Where)
		}
	}
	keys := make([]string, 0, len(edges))
	for k := range edges {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	h := fnv.New64a()
	fmt.Fprintf(h, "%s|%s|", strings.Join(keys, ","), strings.Join(life, ","))
	for _, c := range faults {
		fmt.Fprintf(h, "%s/%s,", c.Layer, c.Kind)
	}
	fmt.Fprint(h, "|", check)
	return fmt.Sprintf("%012x", h.Sum64()>>16)
}

// RandomPlan implements Target: one to three faults at uniform times of the workload, on
// uniform nodes, lasting 5 to 50ms.
func (d *Dbctl) RandomPlan(r *rand.Rand) []string {
	kinds := d.Kinds
	if len(kinds) == 0 {
		kinds = DefaultKinds
	}
	n := 1 + r.IntN(3)
	plan := make([]string, 0, n)
	for range n {
		at := time.Duration(r.Int64N(int64(d.horizon()))).Round(time.Microsecond)
		dur := (5*time.Millisecond + time.Duration(r.Int64N(int64(45*time.Millisecond)))).Round(time.Microsecond)
		a := dbctl.Addrs[r.IntN(3)]
		b := dbctl.Addrs[(slices.Index(dbctl.Addrs[:], a)+1+r.IntN(2))%3]
		switch k := kinds[r.IntN(len(kinds))]; k {
		case "partition":
			plan = append(plan, fmt.Sprintf("at %s partition %s %s for %s", at, a, b, dur))
		case "isolate":
			plan = append(plan, fmt.Sprintf("at %s isolate %s for %s", at, a, dur))
		default: // crash, reboot, wipe
			plan = append(plan, fmt.Sprintf("at %s %s %s for %s", at, k, a, dur))
		}
	}
	return plan
}

// maxAims bounds the aims of a baseline.
const maxAims = 4096

// Aims implements Target: for each distinct delivery of the baseline (by sender, receiver and
// message type; the first of each, then the second of each, ...), crash the receiver just
// after it handled the message, and cut the link just before the message arrives.
func (d *Dbctl) Aims(base *Outcome) []string {
	return d.aim(base, func(p Point) []string {
		return []string{
			fmt.Sprintf("at %s crash %s for 20ms", p.At+time.Microsecond, p.Where),
			fmt.Sprintf("at %s oneway %s %s for 5ms", max(p.At-time.Microsecond, 0), p.From, p.Where),
		}
	})
}

// Cuts implements Target: the supports of the cluster's good outcome are the appends that
// carry entries to the followers and the acknowledgements that commit them; each cut omits
// one (the link is cut for the millisecond around it), earliest first.
func (d *Dbctl) Cuts(base *Outcome) []string {
	return d.aim(base, func(p Point) []string {
		if p.Label != "A" && p.Label != "K" {
			return nil
		}
		return []string{fmt.Sprintf("at %s oneway %s %s for 1ms", max(p.At-time.Microsecond, 0), p.From, p.Where)}
	})
}

func (d *Dbctl) aim(base *Outcome, faults func(Point) []string) []string {
	classes := map[string][]Point{}
	var order []string
	for _, p := range base.Points {
		if p.Kind != "deliver" {
			continue
		}
		k := p.From + ">" + p.Where + ":" + p.Label
		if _, ok := classes[k]; !ok {
			order = append(order, k)
		}
		classes[k] = append(classes[k], p)
	}
	seen := map[string]bool{}
	var out []string
	for round := 0; len(out) < maxAims; round++ {
		any := false
		for _, k := range order {
			if round >= len(classes[k]) {
				continue
			}
			any = true
			for _, f := range faults(classes[k][round]) {
				if !seen[f] && len(out) < maxAims {
					seen[f] = true
					out = append(out, f)
				}
			}
		}
		if !any {
			break
		}
	}
	return out
}

// Replay implements Target.
func (d *Dbctl) Replay(seed fault.Seed, plan []string) string {
	args := []string{"faultbox", "sim", "run", "--target", "dbctl", "--seed", seed.String(),
		"--ops", fmt.Sprint(d.Ops), "--keys", fmt.Sprint(d.Keys)}
	if d.Bug != "" {
		args = append(args, "--bug", d.Bug)
	}
	if len(plan) > 0 {
		args = append(args, "--schedule", strings.Join(plan, "; "))
	}
	return shellQuote(args)
}

// shellQuote joins args for a POSIX shell, quoting those that need it.
func shellQuote(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a != "" && strings.IndexFunc(a, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@,+", r))
		}) < 0 {
			out[i] = a
			continue
		}
		out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(out, " ")
}
