package sim

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/faultbox/faultbox/fault"
)

// Network is the network model: every message's fate is drawn from the sending process's
// network stream, so one seed replays it.
type Network struct {
	// LatencyMin and LatencyMax bound a message's one-way latency, drawn uniformly; a message
	// can overtake an earlier one when they differ. Both 0 mean 1ms.
	LatencyMin, LatencyMax time.Duration
	// DropProbability is the chance a message is lost.
	DropProbability float64
	// DuplicateProbability is the chance a message is delivered twice (the copy with its own
	// latency).
	DuplicateProbability float64
}

// Validate reports the first field out of range, naming it.
func (n Network) Validate() error {
	switch {
	case n.LatencyMin < 0 || n.LatencyMax < 0:
		return fmt.Errorf("sim network: latency [%s, %s]: want durations >= 0", n.LatencyMin, n.LatencyMax)
	case n.LatencyMax < n.LatencyMin:
		return fmt.Errorf("sim network: LatencyMax = %s: want >= LatencyMin (%s)", n.LatencyMax, n.LatencyMin)
	case !(n.DropProbability >= 0 && n.DropProbability <= 1):
		return fmt.Errorf("sim network: DropProbability = %v: want a probability in [0, 1]", n.DropProbability)
	case !(n.DuplicateProbability >= 0 && n.DuplicateProbability <= 1):
		return fmt.Errorf("sim network: DuplicateProbability = %v: want a probability in [0, 1]", n.DuplicateProbability)
	}
	return nil
}

type link struct{ from, to netip.Addr }

type network struct {
	w       *World
	cfg     Network
	ids     uint64
	conns   uint64
	blocked map[link]bool
	clogged map[link]time.Duration // until when
	streams map[netip.Addr]*rand.Rand
}

// withDefaults gives a model with no latency set the default of 1ms.
func (n Network) withDefaults() Network {
	if n.LatencyMin == 0 && n.LatencyMax == 0 {
		n.LatencyMin, n.LatencyMax = time.Millisecond, time.Millisecond
	}
	return n
}

func newNetwork(w *World, cfg Network) *network {
	return &network{w: w, cfg: cfg.withDefaults(), blocked: map[link]bool{}, clogged: map[link]time.Duration{},
		streams: map[netip.Addr]*rand.Rand{}}
}

func (n *network) stream(from netip.Addr) *rand.Rand {
	r, ok := n.streams[from]
	if !ok {
		r = n.w.seed.Stream("net", from.String())
		n.streams[from] = r
	}
	return r
}

func (n *network) fault(kind string, l link, id uint64, detail string) {
	n.w.record(fault.Event{Layer: fault.LayerNet, Kind: kind, Process: l.from.String(),
		Where: l.from.String() + "->" + l.to.String(), Offset: int64(id), Detail: detail})
}

// send draws the message's fate and queues its delivery; depart is when it leaves.
func (n *network) send(from *Process, to netip.Addr, payload []byte, depart time.Duration) {
	n.ids++
	id := n.ids
	l := link{from.addr, to}
	// A payload for a process that is down (its handler unknown) is pooled too: most such
	// messages are lost at arrival, and one that finds a new non-Borrower costs it only the
	// rest of its class.
	dest := from.peer(to)
	pooled := dest == nil || !dest.up || dest.borrows
	m := Message{From: from.addr, To: to, Payload: n.w.copyPayload(payload, pooled), ID: id, Sent: depart}
	r := from.net
	if r == nil {
		r = n.stream(from.addr)
		from.net = r
	}
	if p := n.cfg.DropProbability; p > 0 && r.Float64() < p {
		n.fault("drop", l, id, "")
		n.w.recycle(m.Payload)
		return
	}
	copies := 1
	if p := n.cfg.DuplicateProbability; p > 0 && r.Float64() < p {
		copies = 2
		n.fault("duplicate", l, id, "")
	}
	sum := digest(m.Payload)
	for i := range copies {
		if i > 0 {
			m.Payload = n.w.copyPayload(m.Payload, pooled) // each delivery owns its payload: one may be recycled before the other arrives
		}
		at := depart + n.latency(r)
		if len(n.clogged) > 0 {
			if until, ok := n.clogged[l]; ok && until > at {
				n.fault("clog", l, id, fmt.Sprintf("held until %s", until))
				at = until
			}
		}
		e := n.w.newEvent()
		e.at, e.kind, e.do, e.a, e.b, e.msg, e.dest = at, kindDeliver, doArrive, id, sum, m, dest
		n.w.schedule(e)
	}
}

func (n *network) latency(r *rand.Rand) time.Duration {
	lo, hi := n.cfg.LatencyMin, n.cfg.LatencyMax
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(r.Int64N(int64(hi-lo)+1))
}

// arrive delivers m unless a partition stands between its ends now; dest is the process at
// m.To when m was sent (nil: none was there then).
func (n *network) arrive(m *Message, dest *Process) {
	l := link{m.From, m.To}
	if len(n.blocked) > 0 && n.blocked[l] {
		n.fault("partition", l, m.ID, "dropped at the partition")
		n.w.recycle(m.Payload)
		return
	}
	if dest == nil {
		dest = n.w.procs[m.To] // spawned since
	}
	if dest != nil {
		n.w.deliver(dest, m)
	} else {
		n.w.recycle(m.Payload)
	}
}

// SetNetwork replaces the network model from now on (messages in flight keep their fate).
func (w *World) SetNetwork(cfg Network) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	w.net.cfg = cfg.withDefaults()
	return nil
}

// Partition cuts the link from a to b and from b to a: nothing is delivered across it, even
// what was sent before, until it heals.
func (w *World) Partition(a, b netip.Addr) {
	w.PartitionOneWay(a, b)
	w.PartitionOneWay(b, a)
}

// PartitionOneWay cuts the link from one address to another only.
func (w *World) PartitionOneWay(from, to netip.Addr) {
	w.net.blocked[link{from, to}] = true
	w.record(fault.Event{Layer: fault.LayerNet, Kind: "partition-start", Where: from.String() + "->" + to.String()})
}

// Isolate cuts every link between addr and the other processes, both ways.
func (w *World) Isolate(addr netip.Addr) {
	for _, p := range w.order {
		if p.addr != addr {
			w.Partition(addr, p.addr)
		}
	}
}

// Heal restores every cut link.
func (w *World) Heal() {
	if len(w.net.blocked) == 0 {
		return
	}
	clear(w.net.blocked)
	w.record(fault.Event{Layer: fault.LayerNet, Kind: "heal"})
}

// HealLink restores the links between a and b, both ways.
func (w *World) HealLink(a, b netip.Addr) {
	delete(w.net.blocked, link{a, b})
	delete(w.net.blocked, link{b, a})
	w.record(fault.Event{Layer: fault.LayerNet, Kind: "heal", Where: a.String() + "<->" + b.String()})
}

// Clog holds every message from one address to another that would arrive in the next d until
// d has passed (a congested or stalled link), then delivers it.
func (w *World) Clog(from, to netip.Addr, d time.Duration) {
	w.net.clogged[link{from, to}] = w.now + d
	w.record(fault.Event{Layer: fault.LayerNet, Kind: "clog-start", Where: from.String() + "->" + to.String(),
		Detail: d.String()})
}

// peer returns the process at addr, or nil: from the process's few recent peers when it is
// one (an address's hash costs more than comparing a handful of addresses), else from the
// world's map.
func (p *Process) peer(addr netip.Addr) *Process {
	for _, q := range p.peers {
		if q.addr == addr {
			return q
		}
	}
	q := p.w.procs[addr]
	if q != nil && len(p.peers) < maxPeers {
		p.peers = append(p.peers, q) // processes are never removed: the entry stays right
	}
	return q
}

// maxPeers bounds a process's cache of peers.
const maxPeers = 8
