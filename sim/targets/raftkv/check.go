package raftkv

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/faultbox/faultbox/fault"
	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
)

// The checks a run is judged by, by the names the report gives them.
const (
	checkOneLeader      = "at most one leader per term"
	checkCommitted      = "committed entries never change"
	checkState          = "applied state equal at the same index"
	checkRaftAssertions = "raft's own assertions held"
	checkLinearizable   = "linearizable (porcupine)"
)

// invariantChecks are the checks run as the world runs, in report order.
var invariantChecks = []string{checkOneLeader, checkCommitted, checkState, checkRaftAssertions}

// Violation is one invariant found broken, at a virtual time.
type Violation struct {
	At     time.Duration
	Check  string
	Detail string
}

// maxViolations bounds the violations kept (the count goes on).
const maxViolations = 20

// invariants are checked after every handler call of a node.
type invariants struct {
	leaders map[uint64]uint64 // term -> the raft ID that led it
	entries []mark            // by index: the first entry any node applied there
	states  []mark            // by index: the first state hash any node reached there
	list    []Violation
	count   map[string]int
}

type mark struct {
	set  bool
	node uint64
	term uint64
	hash uint64
}

func (v *invariants) init() {
	v.leaders, v.count = map[uint64]uint64{}, map[string]int{}
}

func (v *invariants) failed() bool { return len(v.list) > 0 }

func (v *invariants) add(at time.Duration, check, detail string) {
	v.count[check]++
	if len(v.list) < maxViolations {
		v.list = append(v.list, Violation{At: at, Check: check, Detail: detail})
	}
}

// observe checks that n, if it leads, is its term's only leader.
func (v *invariants) observe(n *node, st raft.BasicStatus) {
	if st.RaftState != raft.StateLeader {
		return
	}
	term := st.GetTerm()
	if id, ok := v.leaders[term]; !ok {
		v.leaders[term] = n.raftID()
	} else if id != n.raftID() {
		v.add(n.p.Now(), checkOneLeader, fmt.Sprintf("term %d: node %d leads, and node %d led it", term, n.raftID(), id))
	}
}

func grow(s []mark, i uint64) []mark {
	if i >= uint64(len(s)) {
		s = append(s, make([]mark, int(i)-len(s)+1+len(s)/2)...)
	}
	return s
}

// committed checks that the entry n applies at its index is the one every node applied there.
func (v *invariants) committed(n *node, e *pb.Entry) {
	i := e.GetIndex()
	v.entries = grow(v.entries, i)
	h := fault.HashBytes(e.GetData())
	m := &v.entries[i]
	if !m.set {
		*m = mark{set: true, node: n.raftID(), term: e.GetTerm(), hash: h}
		return
	}
	if m.term != e.GetTerm() || m.hash != h {
		v.add(n.p.Now(), checkCommitted, fmt.Sprintf("index %d: node %d applied term %d (data %016x), node %d applied term %d (data %016x)",
			i, n.raftID(), e.GetTerm(), h, m.node, m.term, m.hash))
	}
}

// state checks that n's state after applying index i is every node's state there.
func (v *invariants) state(n *node, i, h uint64) {
	v.states = grow(v.states, i)
	m := &v.states[i]
	if !m.set {
		*m = mark{set: true, node: n.raftID(), hash: h}
		return
	}
	if m.hash != h {
		v.add(n.p.Now(), checkState, fmt.Sprintf("after index %d: node %d's state %016x, node %d's %016x",
			i, n.raftID(), h, m.node, m.hash))
	}
}

// Terms is how many terms had a leader.
func (c *Cluster) Terms() int { return len(c.inv.leaders) }

// Model is the porcupine model of the store: one register per key (the history is
// partitioned by key), holding 0 while absent.
var Model = porcupine.Model{
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		by := map[uint64][]porcupine.Operation{}
		var keys []uint64
		for _, op := range h {
			k := op.Input.(kvInput).Key
			if _, ok := by[k]; !ok {
				keys = append(keys, k)
			}
			by[k] = append(by[k], op)
		}
		slices.Sort(keys)
		out := make([][]porcupine.Operation, len(keys))
		for i, k := range keys {
			out[i] = by[k]
		}
		return out
	},
	Init: func() any { return uint64(0) },
	Step: func(state, input, output any) (bool, any) {
		s, in, out := state.(uint64), input.(kvInput), output.(kvOutput)
		switch in.Op {
		case opGet:
			return out.Unknown || out.Value == s, s
		case opPut:
			return true, in.Value
		case opCAS:
			if out.Unknown || out.OK {
				if s == in.Expect {
					return true, in.Value
				}
				return out.Unknown, s
			}
			return s != in.Expect, s
		}
		return false, s
	},
	DescribeOperation: func(input, output any) string { return describe(input.(kvInput), output.(kvOutput)) },
	DescribeState:     func(state any) string { return fmt.Sprintf("%#x", state.(uint64)) },
}

func describe(in kvInput, out kvOutput) string {
	res := ""
	switch {
	case out.Unknown:
		res = " -> ?"
	case in.Op == opGet:
		res = fmt.Sprintf(" -> %#x", out.Value)
	case in.Op == opCAS:
		res = fmt.Sprintf(" -> %v", out.OK)
	}
	switch in.Op {
	case opGet:
		return fmt.Sprintf("get(k%d)%s", in.Key, res)
	case opPut:
		return fmt.Sprintf("put(k%d, %#x)%s", in.Key, in.Value, res)
	}
	return fmt.Sprintf("cas(k%d, %#x -> %#x)%s", in.Key, in.Expect, in.Value, res)
}

// describeOp is one line of a history for a report.
func describeOp(op porcupine.Operation) string {
	ret := "never (outcome unknown)"
	if op.Return != math.MaxInt64 {
		ret = time.Duration(op.Return).String()
	}
	return fmt.Sprintf("client %d: %s, called %s, returned %s", op.ClientId,
		describe(op.Input.(kvInput), op.Output.(kvOutput)), time.Duration(op.Call), ret)
}

// failingKey finds the first key whose operations alone are not linearizable, and them.
func failingKey(h []porcupine.Operation, timeout time.Duration) (uint64, []porcupine.Operation) {
	for _, part := range Model.Partition(h) {
		if porcupine.CheckOperationsTimeout(Model, part, timeout) == porcupine.Illegal {
			return part[0].Input.(kvInput).Key, part
		}
	}
	return 0, nil
}
