package sim

import (
	"errors"
	"io"
	"net/netip"
	"time"

	"github.com/faultbox/faultbox/fault"
)

// Errors of ordered streams.
var (
	// ErrRefused: Dial reached no running process at the address (or a partition stood in
	// the way).
	ErrRefused = errors.New("sim: connection refused")
	// ErrReset: the other end crashed or stopped, or a partition cut the connection.
	ErrReset = errors.New("sim: connection reset")
	// ErrClosed: this end was closed.
	ErrClosed = errors.New("sim: use of a closed connection")
)

// retransmitDelay is what a lost segment costs a stream: it arrives this much later, in
// order (a stream never loses data; it resets).
const retransmitDelay = 200 * time.Millisecond

// Conn is one end of an ordered, reliable stream between two tasks, as a TCP connection is:
// what one end sends arrives at the other in order, a lost segment arrives late rather than
// never, and the connection resets when either end's process stops or crashes, or when a
// partition cuts it. Streams are for tasks; handlers use messages.
type Conn struct {
	w      *World
	id     uint64
	p      *Process
	inc    int
	peer   *Conn
	inbox  [][]byte
	waiter *Task
	err    error         // why this end cannot go on (ErrReset, ErrClosed, io.EOF from the peer)
	last   time.Duration // arrival time of the last segment sent toward this end
	ready  bool          // the handshake completed (the dialer's end)
}

// LocalAddr and RemoteAddr are the ends' addresses.
func (c *Conn) LocalAddr() netip.Addr  { return c.p.addr }
func (c *Conn) RemoteAddr() netip.Addr { return c.peer.p.addr }

// Dial opens a stream to the process at to and waits for the handshake: one round trip. It
// fails with ErrRefused when no process runs there when the request arrives.
func (t *Task) Dial(to netip.Addr) (*Conn, error) {
	p, w := t.p, t.p.w
	w.net.conns++
	c := &Conn{w: w, id: w.net.conns, p: p, inc: p.inc}
	p.conns = append(p.conns, c)
	r := w.net.stream(p.addr)
	syn := w.now + w.net.latency(r)
	w.schedule(&event{at: syn, kind: kindDeliver, proc: p, a: c.id, b: 1, fn: func() {
		if c.err != nil {
			return // the dialer stopped before its request arrived
		}
		q := w.procs[to]
		back := w.now + w.net.latency(r)
		if q == nil || !q.up || w.net.blocked[link{p.addr, to}] {
			w.schedule(&event{at: back, kind: kindDeliver, proc: p, inc: c.inc, a: c.id, b: 2, fn: func() {
				c.fail(ErrRefused)
			}})
			return
		}
		s := &Conn{w: w, id: c.id, p: q, inc: q.inc, peer: c, ready: true}
		c.peer = s
		q.conns = append(q.conns, s)
		q.accepts = append(q.accepts, s)
		if len(q.acceptors) > 0 {
			a := q.acceptors[0]
			q.acceptors = q.acceptors[1:]
			w.sched.run(a)
		}
		w.schedule(&event{at: back, kind: kindDeliver, proc: p, inc: c.inc, a: c.id, b: 3, fn: func() {
			c.ready = true
			c.wake()
		}})
	}})
	for !c.ready && c.err == nil {
		c.waiter = t
		t.park()
	}
	c.waiter = nil
	if c.err != nil {
		return nil, c.err
	}
	return c, nil
}

// Accept waits for the next stream another process dials to this one.
func (t *Task) Accept() *Conn {
	p := t.p
	for len(p.accepts) == 0 {
		p.acceptors = append(p.acceptors, t)
		t.park()
	}
	c := p.accepts[0]
	p.accepts = p.accepts[1:]
	return c
}

// Send queues b for the other end; it returns at once, or the error that ended the stream.
func (c *Conn) Send(b []byte) error {
	if c.err != nil {
		return c.err
	}
	w, peer := c.w, c.peer
	r := w.net.stream(c.p.addr)
	at := w.now + w.net.latency(r)
	l := link{c.p.addr, peer.p.addr}
	if p := w.net.cfg.DropProbability; p > 0 && r.Float64() < p {
		at += retransmitDelay
		w.record(fault.Event{Layer: fault.LayerNet, Kind: "retransmit", Process: c.p.name,
			Where: l.from.String() + "->" + l.to.String(), Offset: int64(c.id)})
	}
	at = max(at, peer.last) // in order
	peer.last = at
	data := append([]byte(nil), b...)
	w.schedule(&event{at: at, kind: kindDeliver, a: c.id, b: digest(data), fn: func() {
		if w.net.blocked[l] {
			w.record(fault.Event{Layer: fault.LayerNet, Kind: "reset", Process: l.from.String(),
				Where: l.from.String() + "->" + l.to.String(), Offset: int64(c.id), Detail: "cut by a partition"})
			c.fail(ErrReset)
			peer.fail(ErrReset)
			return
		}
		if peer.err == nil && peer.p.inc == peer.inc {
			peer.inbox = append(peer.inbox, data)
			peer.wake()
		}
	}})
	return nil
}

// Recv waits for the next data from the other end. After the other end closes, it returns
// what was sent before and then io.EOF; after a reset, ErrReset at once.
func (c *Conn) Recv() ([]byte, error) {
	t := c.w.sched.cur
	if t == nil || t.p != c.p {
		panic("sim: Conn.Recv outside a task of the connection's process")
	}
	for {
		if c.err != nil && c.err != io.EOF {
			return nil, c.err
		}
		if len(c.inbox) > 0 {
			b := c.inbox[0]
			c.inbox = c.inbox[1:]
			return b, nil
		}
		if c.err != nil {
			return nil, c.err
		}
		c.waiter = t
		t.park()
		c.waiter = nil
	}
}

// Close ends this side: later Sends fail, and the other end reads io.EOF after the data
// already sent.
func (c *Conn) Close() error {
	if c.err != nil {
		return nil
	}
	c.err = ErrClosed
	peer, w := c.peer, c.w
	if peer == nil {
		return nil
	}
	at := max(w.now+w.net.latency(w.net.stream(c.p.addr)), peer.last)
	peer.last = at
	w.schedule(&event{at: at, kind: kindDeliver, a: c.id, b: 4, fn: func() { peer.fail(io.EOF) }})
	return nil
}

func (c *Conn) fail(err error) {
	if c.err == nil {
		c.err = err
		c.wake()
	}
}

func (c *Conn) wake() {
	if t := c.waiter; t != nil && c.p.inc == c.inc {
		c.waiter = nil
		c.w.sched.run(t)
	}
}

// resetConns resets every stream of p's current incarnation: the other ends learn it one
// network latency later.
func (w *World) resetConns(p *Process) {
	for _, c := range p.conns {
		c.err = ErrReset
		if peer := c.peer; peer != nil && peer.err == nil {
			at := max(w.now+w.net.latency(w.net.stream(p.addr)), peer.last)
			w.schedule(&event{at: at, kind: kindDeliver, a: c.id, b: 5, fn: func() { peer.fail(ErrReset) }})
		}
	}
	p.conns, p.accepts, p.acceptors = nil, nil, nil
}
