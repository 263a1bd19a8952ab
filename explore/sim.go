package explore

import (
	"cmp"
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/faultbox/faultbox/fault"
	"github.com/faultbox/faultbox/internal/shellquote"
	"github.com/faultbox/faultbox/sim"
	"github.com/faultbox/faultbox/sim/targets/dbctl"
	"github.com/faultbox/faultbox/sim/targets/raftkv"
)

// Sim is a system in the simulation world as an exploration target. A plan is a list of sim
// schedule items ("at 120ms crash 10.0.0.2 for 20ms"). NewDbctl and NewRaftkv make one.
type Sim struct {
	name    string
	nodes   []netip.Addr  // the processes plans may hurt
	horizon time.Duration // random faults fall in [0, horizon)
	kinds   []string
	run     func(seed fault.Seed, sched sim.Schedule, observe func(sim.Happening)) (*fault.Report, error)
	replay  func(seed fault.Seed) []string // the command line without its plan
	// supports reports whether a delivery is one the good outcome rests on (for Cuts).
	supports func(p Point) bool
}

// DefaultKinds are the faults random plans draw from when none are given.
var DefaultKinds = []string{"crash", "tear", "reboot", "partition", "isolate"}

// NewDbctl explores the lab's cluster (sim/targets/dbctl) with ops operations over keys keys
// and, when bug is not empty, a planted bug (dbctl.Bugs). kinds limits what random plans do
// (crash, tear, garble, reboot, wipe, partition, isolate; nil: DefaultKinds) and which torn
// crashes aimed and lineage use (none without tear or garble).
func NewDbctl(ops, keys uint64, bug string, kinds []string) *Sim {
	return &Sim{name: "dbctl", nodes: dbctl.Addrs[:], horizon: time.Duration(max(ops, 1)) * time.Millisecond,
		kinds: kindsOr(kinds),
		run: func(seed fault.Seed, sched sim.Schedule, observe func(sim.Happening)) (*fault.Report, error) {
			res, err := dbctl.Run("faultbox sim run", dbctl.RunConfig{Seed: seed, Ops: ops, Keys: keys,
				Faults: sim.FaultsNone, Schedule: sched, Bug: bug, Observe: observe})
			if err != nil {
				return nil, err
			}
			return res.Report, nil
		},
		replay: func(seed fault.Seed) []string {
			args := []string{"faultbox", "sim", "run", "--target", "dbctl", "--seed", seed.String(),
				"--ops", fmt.Sprint(ops), "--keys", fmt.Sprint(keys)}
			if bug != "" {
				args = append(args, "--bug", bug)
			}
			return args
		},
		// The appends that carry entries to the followers and the acknowledgements that
		// commit them.
		supports: func(p Point) bool { return p.Label == "A" || p.Label == "K" },
	}
}

// NewRaftkv explores the raft key-value store (sim/targets/raftkv): nodes nodes, clients
// clients, workload of virtual time, and a planted bug when bug is not empty (raftkv.Bugs).
func NewRaftkv(nodes, clients int, workload time.Duration, bug string, kinds []string) (*Sim, error) {
	b, err := raftkv.ParseBug(bug)
	if err != nil {
		return nil, err
	}
	cfg := raftkv.Config{Nodes: nodes, Clients: clients, Workload: workload, Bug: b}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	addrs := make([]netip.Addr, nodes)
	for i := range addrs {
		addrs[i] = raftkv.NodeAddr(i)
	}
	return &Sim{name: "raftkv", nodes: addrs, horizon: workload, kinds: kindsOr(kinds),
		run: func(seed fault.Seed, sched sim.Schedule, observe func(sim.Happening)) (*fault.Report, error) {
			res, err := raftkv.Run("faultbox sim run", raftkv.RunConfig{Seed: seed, Config: cfg,
				Faults: sim.FaultsNone, Schedule: sched, Observe: observe})
			if err != nil {
				return nil, err
			}
			return res.Report, nil
		},
		replay: func(seed fault.Seed) []string {
			args := []string{"faultbox", "sim", "run", "--target", "raftkv", "--seed", seed.String(),
				"--nodes", fmt.Sprint(nodes), "--clients", fmt.Sprint(clients), "--duration", workload.String()}
			if b != raftkv.NoBug {
				args = append(args, "--bug", string(b))
			}
			return args
		},
		// Messages between nodes: raft's appends, votes and their answers carry the outcome.
		supports: func(p Point) bool { return slices.Contains(addrs, netip.MustParseAddr(p.From)) },
	}, nil
}

func kindsOr(kinds []string) []string {
	if len(kinds) == 0 {
		return DefaultKinds
	}
	return kinds
}

// Name implements Target.
func (d *Sim) Name() string { return d.name }

// Run implements Target.
func (d *Sim) Run(ctx context.Context, seed fault.Seed, plan []string) (*Outcome, error) {
	sched, err := sim.ParseSchedule(strings.Join(plan, "\n"))
	if err != nil {
		return nil, err
	}
	var points []Point
	observe := func(h sim.Happening) {
		p := Point{At: h.At, Kind: h.Kind, Where: h.To.String()}
		switch h.Kind {
		case "deliver":
			p.From, p.Label, p.Sent = h.From.String(), string(rune(h.Type)), h.Sent
		case "write", "sync":
			p.File, p.Offset, p.Length = h.File, h.Offset, h.Length
		}
		points = append(points, p)
	}
	rep, err := d.run(seed, sched, observe)
	if err != nil {
		return nil, err
	}
	out := &Outcome{Points: points, Report: rep}
	for _, c := range rep.Checks {
		if !c.OK {
			out.Failed, out.Check, out.Detail = true, c.Name, c.Detail
			break
		}
	}
	out.Signature = signature(points, rep.Faults, out.Check)
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
		case "stop", "start":
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
func (d *Sim) RandomPlan(r *rand.Rand) []string {
	kinds := d.kinds
	n := 1 + r.IntN(3)
	plan := make([]string, 0, n)
	for range n {
		at := time.Duration(r.Int64N(int64(d.horizon))).Round(time.Microsecond)
		dur := (5*time.Millisecond + time.Duration(r.Int64N(int64(45*time.Millisecond)))).Round(time.Microsecond)
		ia := r.IntN(len(d.nodes))
		a, b := d.nodes[ia], d.nodes[(ia+1+r.IntN(len(d.nodes)-1))%len(d.nodes)]
		switch k := kinds[r.IntN(len(kinds))]; k {
		case "partition":
			plan = append(plan, fmt.Sprintf("at %s partition %s %s for %s", at, a, b, dur))
		case "isolate":
			plan = append(plan, fmt.Sprintf("at %s isolate %s for %s", at, a, dur))
		default: // crash, tear, garble, reboot, wipe
			plan = append(plan, fmt.Sprintf("at %s %s %s for %s", at, k, a, dur))
		}
	}
	return plan
}

// maxAims bounds the aims of a baseline.
const maxAims = 4096

// Aims implements Target: crash a node just after each exposed write, with garbles at the
// torn writes between those crashes (see crashesAndTears), then just after each write it
// makes to its disk (before the sync that follows), and for each delivery of the baseline
// crash the receiver just after it handled the message and cut the link just before the
// message arrives (see aim for the order).
func (d *Sim) Aims(base *Outcome) []string {
	first := d.crashesAndTears(exposedWrites(base.Points, d.nodes), tornWrites(base.Points, d.nodes))
	rest := d.aim(base, func(p Point) []string {
		if !slices.Contains(d.nodes, netip.MustParseAddr(p.Where)) {
			return nil // a client: the cluster is what is tested
		}
		if p.Kind == "write" { // after the write, before its sync
			return d.afterWrite(p)
		}
		return []string{
			crashAfter(p),
			fmt.Sprintf("at %s oneway %s %s for 5ms", max(p.At-time.Microsecond, 0), p.From, p.Where),
		}
	})
	out := first[:min(len(first), maxAims)]
	seen := map[string]bool{}
	for _, f := range first {
		seen[f] = true
	}
	for _, f := range rest {
		if !seen[f] && len(out) < maxAims {
			out = append(out, f)
		}
	}
	return out
}

// exposedWrites are the writes of a run that were exposed: the node wrote, and before the
// sync that made the write durable (or with no sync after it at all) it sent a message that
// reached another process. A crash just after such a write loses what the node had already
// spoken of: the promise outlives its grounds. In a system that syncs before it speaks no
// write is exposed (a message sent before the write and delivered after it does not count).
// Replies come first: writes whose messages in that window all went to the process the node
// heard from last before it wrote (an acknowledgement, a vote: a promise to the one that
// asked), then the others (a broadcast, whose receivers hold what it carried), then those
// never synced. In each class, round-robin over the nodes, the node with the most writes in
// the class first (in the replies, the one that most often answered before it was durable:
// a follower, where a leader's writes are mostly broadcasts), each node's from the middle of
// the run out (spread). Each is aimed at with a crash and, when the kinds allow, a tear.
func exposedWrites(points []Point, nodes []netip.Addr) []Point {
	type send struct {
		at time.Duration
		to string
	}
	sent := map[string][]send{} // per node: the messages it sent that arrived, by when they left
	for _, p := range points {
		if p.Kind == "deliver" {
			sent[p.From] = append(sent[p.From], send{p.Sent, p.Where})
		}
	}
	for _, s := range sent {
		slices.SortStableFunc(s, func(a, b send) int { return cmp.Compare(a.at, b.at) })
	}
	const (
		reply  = iota // every exposing message went to the process the node heard from last
		spoken        // exposed otherwise (a broadcast, an answer to someone else)
		neverSynced
		classes
	)
	// class says which class a write of node at from, synced at to, is in; -1 when no
	// message left the node in [from, to).
	class := func(node, asker string, from, to time.Duration) int {
		s := sent[node]
		i, _ := slices.BinarySearchFunc(s, from, func(e send, t time.Duration) int { return cmp.Compare(e.at, t) })
		if i == len(s) || s[i].at >= to {
			return -1
		}
		for j := i; j < len(s) && s[j].at < to; j++ {
			if s[j].to != asker {
				return spoken
			}
		}
		return reply
	}
	byNode := map[string]*[classes][]Point{}
	for _, n := range nodes {
		byNode[n.String()] = new([classes][]Point)
	}
	type write struct {
		p     Point
		asker string // the process the node heard from last before it wrote
	}
	open := map[string][]write{} // per node: its writes since its last sync
	heard := map[string]string{} // per node: the sender of the last message it received
	for _, p := range points {
		switch p.Kind {
		case "deliver":
			heard[p.Where] = p.From
		case "write":
			open[p.Where] = append(open[p.Where], write{p, heard[p.Where]})
		case "sync":
			if b := byNode[p.Where]; b != nil {
				for _, w := range open[p.Where] {
					if k := class(p.Where, w.asker, w.p.At, p.At); k >= 0 {
						b[k] = append(b[k], w.p)
					}
				}
			}
			open[p.Where] = nil
		case "stop":
			open[p.Where] = nil // a crash of the baseline: its writes' fate is decided
		}
	}
	var out []Point
	for k := range classes {
		lists := make([][]Point, len(nodes))
		for i, n := range nodes {
			ps := byNode[n.String()][k]
			if k == neverSynced {
				for _, w := range open[n.String()] {
					ps = append(ps, w.p)
				}
			}
			lists[i] = ps
		}
		// The node with the most writes in the class first: in the reply class, the one
		// that most often answered what it had not made durable.
		out = append(out, byNodes(lists)...)
	}
	return out
}

// spread orders a node's exposed writes from the middle out (the middle, then the quarters,
// then the eighths...): one in the middle of the run finds the node holding state its peers
// rely on, where the first ones (an election) may not.
func spread(ps []Point) []Point {
	out := make([]Point, 0, len(ps))
	taken := make([]bool, len(ps))
	for den := 2; len(out) < len(ps); den *= 2 {
		for num := 1; num < den; num += 2 {
			i := num * len(ps) / den
			if !taken[i] {
				taken[i] = true
				out = append(out, ps[i])
			}
		}
		if den > 2*len(ps) {
			for i, t := range taken {
				if !t {
					taken[i] = true
					out = append(out, ps[i])
				}
			}
		}
	}
	return out
}

// roundRobin takes the first of each list, then the second of each, and so on.
func roundRobin(lists [][]Point) []Point {
	var out []Point
	for i := 0; ; i++ {
		any := false
		for _, l := range lists {
			if i < len(l) {
				out = append(out, l[i])
				any = true
			}
		}
		if !any {
			return out
		}
	}
}

// Cuts implements Target: the supports of a run's good outcome are the writes a node spoke
// of (it sent a message after the write and before its next one: an acknowledgement, a vote,
// an append carries what the write made durable), each cut by a crash of the node just after
// the write, before its sync (and, when the kinds allow, a torn crash there), with the torn
// writes' garbles between the first crashes (see crashesAndTears); then the deliveries the
// outcome rests on (the target says which: for dbctl the appends and acknowledgements, for
// raftkv the messages between nodes), each cut by the link for the millisecond around it. Writes spoken of before they were
// durable (exposedWrites) come first, then the others round-robin over the nodes, then the
// deliveries (see aim for their order). Lineage calls Cuts on every run that survives its
// faults: what the run rested on that the baseline did not is the redundancy it revealed.
func (d *Sim) Cuts(base *Outcome) []string {
	var out []string
	seen := map[string]bool{}
	add := func(f string) {
		if !seen[f] && len(out) < maxAims {
			seen[f] = true
			out = append(out, f)
		}
	}
	for _, f := range d.crashesAndTears(exposedWrites(base.Points, d.nodes), tornWrites(base.Points, d.nodes)) {
		add(f)
	}
	for _, p := range spokenWrites(base.Points, d.nodes) {
		for _, f := range d.afterWrite(p) {
			add(f)
		}
	}
	for _, f := range d.aim(base, func(p Point) []string {
		if p.Kind != "deliver" || !d.supports(p) {
			return nil
		}
		return []string{fmt.Sprintf("at %s oneway %s %s for 1ms", max(p.At-time.Microsecond, 0), p.From, p.Where)}
	}) {
		add(f)
	}
	return out
}

// afterWrite is what is aimed at a write, just after it and before its sync: a crash, which
// loses what was not synced, and, when the kinds allow it, a torn crash, which leaves the
// unsynced sectors new, old or garbage for recovery to tell apart.
func (d *Sim) afterWrite(p Point) []string {
	out := []string{crashAfter(p)}
	if v := d.tearVerb(); v != "" {
		out = append(out, after(v, p))
	}
	return out
}

// tearVerb is the torn crash the kinds allow: tear, else garble, else none ("").
func (d *Sim) tearVerb() string {
	switch {
	case slices.Contains(d.kinds, "tear"):
		return "tear"
	case slices.Contains(d.kinds, "garble"):
		return "garble"
	}
	return ""
}

// crashesAndTears aims a crash just after each exposed write, and between them (when the
// kinds allow tears) a garbling crash just after each write of torn, then a torn crash after
// each exposed write: crash, tear, crash, tear... A crash stays where it was without tears,
// so the tears cost a crash-only bug one run in two at most. A write of torn gets garble, not
// tear: a tear draws each sector's fate from the crash's seed, the same for every first crash
// of a node in one baseline, so a node whose draw keeps the shared sector would keep it at
// every aim; garble makes it garbage every time.
func (d *Sim) crashesAndTears(exposed, torn []Point) []string {
	var crashes, tears []string
	for _, p := range exposed {
		crashes = append(crashes, crashAfter(p))
	}
	if v := d.tearVerb(); v != "" {
		for _, p := range torn {
			tears = append(tears, after("garble", p))
		}
		for _, p := range exposed {
			tears = append(tears, after(v, p))
		}
	}
	out := make([]string, 0, len(crashes)+len(tears))
	for i := range max(len(crashes), len(tears)) {
		if i < len(crashes) {
			out = append(out, crashes[i])
		}
		if i < len(tears) {
			out = append(out, tears[i])
		}
	}
	return out
}

// sectorSize is the sector a tear garbles, as the world's disks have it by default.
const sectorSize = 512

// tornWrites are the writes after which a torn crash can cut a synced write in two: the
// sector the write starts in also holds the end of the last synced write (the write starts
// past the sector's first byte, the synced write ends inside the sector), and that write
// began in an earlier sector. Tearing that sector leaves the synced write's head whole and
// its tail garbage: a log that cannot tell (no checksum) takes the garbage for data, one that
// can must treat the write as lost though it was synced. Every later write into the same
// sector exposes the same synced write again, so only the first is aimed at: one a sector
// (until the next sync), per node from the middle of the run out (spread), round-robin over
// the nodes, the node with the most first. Files are known by the name the node opened them
// under; a rename or truncate is not seen, so a node's files are forgotten when it stops or
// starts (a restarted node opens its files again, and recovery may cut them).
func tornWrites(points []Point, nodes []netip.Addr) []Point {
	type file struct{ node, name string }
	type span struct{ off, end int64 }
	pending := map[file][]span{} // written since the file's last sync
	synced := map[file]span{}    // the last write a sync made durable
	aimed := map[file]int64{}    // the sector aimed at since the file's last sync
	byNode := map[string][]Point{}
	for _, p := range points {
		f := file{p.Where, p.File}
		switch p.Kind {
		case "write":
			sec := p.Offset &^ (sectorSize - 1)
			s, ok := synced[f]
			if a, done := aimed[f]; ok && !(done && a == sec) && p.Offset > sec &&
				s.off < sec && s.end > sec && s.end <= sec+sectorSize {
				byNode[p.Where] = append(byNode[p.Where], p)
				aimed[f] = sec
			}
			pending[f] = append(pending[f], span{p.Offset, p.Offset + int64(p.Length)})
		case "sync":
			if ps := pending[f]; len(ps) > 0 {
				synced[f] = ps[len(ps)-1]
			}
			pending[f] = nil
			delete(aimed, f)
		case "stop", "start":
			for k := range pending {
				if k.node == p.Where {
					delete(pending, k)
				}
			}
			for k := range synced {
				if k.node == p.Where {
					delete(synced, k)
					delete(aimed, k)
				}
			}
		}
	}
	lists := make([][]Point, len(nodes))
	for i, n := range nodes {
		lists[i] = byNode[n.String()]
	}
	return byNodes(lists)
}

// byNodes orders the nodes' points: each node's from the middle of the run out (spread),
// round-robin over the nodes, the node with the most first.
func byNodes(lists [][]Point) []Point {
	for i, l := range lists {
		lists[i] = spread(l)
	}
	slices.SortStableFunc(lists, func(a, b []Point) int { return len(b) - len(a) })
	return roundRobin(lists)
}

// crashAfter crashes the process of p just after p, for 20ms.
func crashAfter(p Point) string { return after("crash", p) }

// after is a reboot of the process of p (verb crash, tear or garble) just after p, for 20ms.
func after(verb string, p Point) string {
	return fmt.Sprintf("at %s %s %s for 20ms", p.At+time.Microsecond, verb, p.Where)
}

// spokenWrites are the writes of the nodes after which, before its next write, the node's
// message reached another process, round-robin over the nodes.
func spokenWrites(points []Point, nodes []netip.Addr) []Point {
	last := map[string]*Point{} // per node: its last write not yet spoken of
	byNode := map[string][]Point{}
	for _, p := range points {
		switch p.Kind {
		case "write":
			last[p.Where] = &p
		case "stop":
			last[p.Where] = nil
		case "deliver":
			if w := last[p.From]; w != nil {
				byNode[p.From] = append(byNode[p.From], *w)
				last[p.From] = nil
			}
		}
	}
	lists := make([][]Point, len(nodes))
	for i, n := range nodes {
		lists[i] = byNode[n.String()]
	}
	return roundRobin(lists)
}

func (d *Sim) aim(base *Outcome, faults func(Point) []string) []string {
	// Points of one class (a process's writes; deliveries from one process to another of one
	// message type) are tried in order of occurrence, the classes round-robin: storage first
	// (a crash between a write and its sync is where durability bugs show), then deliveries,
	// rarer classes (elections, recoveries) before frequent ones (steady replication).
	classes := map[string][]Point{}
	var order []string
	for _, p := range base.Points {
		var k string
		switch p.Kind {
		case "deliver":
			k = "deliver " + p.From + ">" + p.Where + ":" + p.Label
		case "write":
			k = "write " + p.Where
		default:
			continue
		}
		if _, ok := classes[k]; !ok {
			order = append(order, k)
		}
		classes[k] = append(classes[k], p)
	}
	for k, ps := range classes {
		if strings.HasPrefix(k, "write ") {
			classes[k] = spread(ps) // from the middle of the run out, as the exposed writes
		}
	}

	slices.SortStableFunc(order, func(a, b string) int {
		sa, sb := strings.HasPrefix(a, "write "), strings.HasPrefix(b, "write ")
		if sa != sb {
			if sa {
				return -1
			}
			return 1
		}
		return len(classes[a]) - len(classes[b])
	})
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
func (d *Sim) Replay(seed fault.Seed, plan []string) string {
	args := d.replay(seed)
	if len(plan) > 0 {
		args = append(args, "--schedule", strings.Join(plan, "; "))
	}
	return shellquote.Quote(args...)
}
