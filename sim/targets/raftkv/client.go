package raftkv

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/faultbox/faultbox/sim"
)

// kvInput is an operation as porcupine sees it.
type kvInput struct {
	Op     byte
	Key    uint64
	Value  uint64
	Expect uint64
}

// kvOutput is its result; Unknown marks an operation whose outcome the client never learned.
type kvOutput struct {
	Value   uint64
	OK      bool
	Unknown bool
}

// openOp is the operation a client waits on.
type openOp struct {
	in       kvInput
	cmd      command
	call     time.Duration
	attempts int
}

// unknown is the operation with an unknown outcome: it returns at infinity, so it may take
// effect at any point after its call, or never (porcupine issue #8).
func (o *openOp) unknown() porcupine.Operation {
	return porcupine.Operation{ClientId: int(o.cmd.Client), Input: o.in, Call: int64(o.call),
		Output: kvOutput{Unknown: true}, Return: math.MaxInt64}
}

// client is one client process: a sim.Handler issuing one operation at a time against the
// node it thinks leads, redirected by not-leader answers, retrying the same command (same
// client and sequence number, so it applies once) after a timeout, and giving up after
// ClientAttempts attempts.
type client struct {
	c        *Cluster
	id       int
	p        *sim.Process
	seq      uint64
	leader   int // the node it will send its next write to
	reader   int // the node it will send its next get to (unless Config.LeaderReads)
	op       *openOp
	done     bool
	lastSeen map[uint64]uint64
	// The world's streams for this incarnation: think times, and the operations drawn.
	think, ops *rand.Rand
}

// retryPause is how long a client waits before it asks again when no node knows a leader.
const retryPause = 10 * time.Millisecond

func (cl *client) Start(p *sim.Process) {
	cl.p = p
	cl.think, cl.ops = p.Rand("think"), p.Rand("ops")
	if cl.lastSeen == nil {
		cl.lastSeen = map[uint64]uint64{}
	}
	cl.leader = cl.id % cl.c.cfg.Nodes
	cl.reader = cl.leader
	cl.next()
}

// next pauses a drawn think time, then starts the next operation.
func (cl *client) next() {
	think := cl.c.cfg.Think
	cl.p.SetTimer("next", time.Duration(cl.think.Int64N(int64(think)+1)))
}

func (cl *client) Timer(p *sim.Process, name string) {
	cfg := cl.c.cfg
	switch name {
	case "next":
		if p.Now() >= cfg.Workload {
			cl.done = true
			return
		}
		r := cl.ops
		cl.seq++
		in := kvInput{Key: 1 + uint64(r.IntN(cfg.Keys))}
		switch k := r.IntN(10); {
		case k < 4:
			in.Op = opGet
		case k < 8:
			in.Op = opPut
			in.Value = uint64(cl.id+1)<<32 | cl.seq
		default:
			in.Op = opCAS
			in.Value = uint64(cl.id+1)<<32 | cl.seq
			in.Expect = cl.lastSeen[in.Key]
		}
		cl.op = &openOp{in: in, call: p.Now(), cmd: command{Client: uint32(cl.id), Seq: cl.seq, Op: in.Op,
			Key: in.Key, Value: in.Value, Expect: in.Expect}}
		if cl.followerRead() {
			cl.reader = (cl.reader + 1) % cfg.Nodes
		}
		cl.send()
	case "timeout":
		if cl.op == nil {
			return
		}
		*cl.target() = (*cl.target() + 1) % cfg.Nodes
		cl.retry()
	case "retry":
		if cl.op != nil {
			cl.send()
		}
	}
}

// followerRead reports whether the open operation is a get that may go to any node.
func (cl *client) followerRead() bool { return cl.op.in.Op == opGet && !cl.c.cfg.LeaderReads }

// target is the node the open operation goes to next: the reader for a get that may go to
// any node, the leader it believes in otherwise.
func (cl *client) target() *int {
	if cl.followerRead() {
		return &cl.reader
	}
	return &cl.leader
}

func (cl *client) send() {
	cl.op.attempts++
	cl.p.Send(NodeAddr(*cl.target()), cl.op.cmd.appendTo([]byte{wireRequest}))
	cl.p.SetTimer("timeout", cl.c.cfg.ClientTimeout)
}

// retry sends the operation again, or gives up on it after ClientAttempts attempts: a write
// then has an unknown outcome; a read is dropped (it changed nothing).
func (cl *client) retry() {
	if cl.op.attempts < cl.c.cfg.ClientAttempts {
		cl.send()
		return
	}
	if cl.op.in.Op != opGet {
		cl.c.history = append(cl.c.history, cl.op.unknown())
	}
	cl.op = nil
	cl.p.CancelTimer("timeout")
	cl.next()
}

// BorrowsPayloads tells the world that Receive keeps nothing of a payload (an answer is
// decoded into values).
func (cl *client) BorrowsPayloads() {}

func (cl *client) Receive(p *sim.Process, m sim.Message) {
	if len(m.Payload) == 0 || m.Payload[0] != wireAnswer || cl.op == nil {
		return
	}
	a, ok := decodeAnswer(m.Payload[1:])
	if !ok || a.Seq != cl.op.cmd.Seq {
		return
	}
	cfg := cl.c.cfg
	if a.Status == answerNotLeader {
		p.CancelTimer("timeout")
		if cl.op.attempts >= cfg.ClientAttempts {
			cl.retry()
			return
		}
		to := cl.target()
		if h := int(a.Hint) - 1; h >= 0 && h < cfg.Nodes && h != *to {
			*to = h
			cl.send()
			return
		}
		*to = (*to + 1) % cfg.Nodes
		p.SetTimer("retry", retryPause) // no leader known: give the election a moment
		return
	}
	op := cl.op
	out := kvOutput{Value: a.Value, OK: a.OK}
	switch op.in.Op {
	case opGet:
		cl.lastSeen[op.in.Key] = a.Value
	case opPut:
		out.OK = true
		cl.lastSeen[op.in.Key] = op.in.Value
	case opCAS:
		if a.OK {
			cl.lastSeen[op.in.Key] = op.in.Value
		}
	}
	cl.c.history = append(cl.c.history, porcupine.Operation{ClientId: cl.id, Input: op.in, Call: int64(op.call),
		Output: out, Return: int64(p.Now())})
	cl.op = nil
	p.CancelTimer("timeout")
	cl.next()
}
