package raftkv

import (
	"math/rand/v2"
	"time"

	"go.etcd.io/raft/v3"
)

// The target's own nemesis, on top of the world's: under the net and all profiles it cuts
// the node that leads from every other node, both ways, while the clients still reach it:
// the partition a real cluster meets when a leader's peer links fail and its client-facing
// ones do not (Jepsen's "isolate the primary"). The old leader does not know it is deposed
// (CheckQuorum is off, see node.go), the majority elects a new one, and a node that answers
// reads from local state serves stale values from then on.
const (
	isolateEvery = time.Second // the mean time between two leader isolations
	isolateMin   = 300 * time.Millisecond
	isolateMax   = 1500 * time.Millisecond
)

type leaderNemesis struct {
	c     *Cluster
	r     *rand.Rand
	until time.Duration
}

// startLeaderNemesis schedules leader isolations until until, drawn from the world's stream
// "raftkv-nemesis".
func (c *Cluster) startLeaderNemesis(until time.Duration) {
	ln := &leaderNemesis{c: c, r: c.w.Rand("raftkv-nemesis"), until: until}
	ln.next()
}

func (ln *leaderNemesis) next() {
	w := ln.c.w
	d := time.Duration(ln.r.ExpFloat64() * float64(isolateEvery))
	if w.Now()+d >= ln.until {
		return
	}
	w.After(d, func() {
		ln.strike()
		ln.next()
	})
}

// strike isolates the leader of the highest term among the live nodes from its peers.
func (ln *leaderNemesis) strike() {
	c, w := ln.c, ln.c.w
	span := isolateMin + time.Duration(ln.r.Int64N(int64(isolateMax-isolateMin)+1))
	lead, term := -1, uint64(0)
	for i, n := range c.nodes {
		if n == nil || n.dead || n.rn == nil || !n.p.Up() {
			continue
		}
		if st := n.rn.BasicStatus(); st.RaftState == raft.StateLeader && st.GetTerm() > term {
			lead, term = i, st.GetTerm()
		}
	}
	if lead < 0 {
		return
	}
	a := NodeAddr(lead)
	for i := range c.cfg.Nodes {
		if i != lead {
			w.Partition(a, NodeAddr(i))
		}
	}
	w.After(span, func() {
		for i := range c.cfg.Nodes {
			if i != lead {
				w.HealLink(a, NodeAddr(i))
			}
		}
	})
}
