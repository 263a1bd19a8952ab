package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"time"

	"github.com/faultbox/faultbox/disk"
	"github.com/faultbox/faultbox/fault"
)

// Handler is a process written actor-style, as etcd's raft is driven: the world calls it on
// start (and on every restart, with a fresh handler), for each message and for each timer,
// one call at a time. A handler must not block; its disk I/O takes effect at once and its
// latency makes the process busy: later sends leave, and later calls come, when it is over.
type Handler interface {
	Start(p *Process)
	Receive(p *Process, m Message)
	Timer(p *Process, name string)
}

// A Borrower is a Handler that keeps no part of a message's payload once Receive returns: it
// decodes what it needs, or copies it. The world then reuses the payload's memory for a later
// message, so a run allocates for the messages in flight rather than for every message sent
// (etcd raft's messages, for one, are unmarshalled into their own memory). A handler that
// keeps a payload, or a slice of one, past Receive must not be a Borrower: what it kept would
// change under it.
type Borrower interface {
	Handler
	// BorrowsPayloads marks the handler; the world never calls it.
	BorrowsPayloads()
}

// Message is what one process sends another. Payload is copied when sent: processes share
// no memory.
type Message struct {
	From, To netip.Addr
	Payload  []byte
	ID       uint64        // the world's send counter: unique per message, shared by a duplicate
	Sent     time.Duration // the virtual time it left its sender
}

// RebootKind says what a reboot does to a process's state.
type RebootKind int

const (
	// Graceful: the process stops and starts again; its disk keeps everything it wrote.
	Graceful RebootKind = iota + 1
	// Crash: power loss; the disk's crash model decides what of the unsynced data survives,
	// and the old incarnation's open files fail from now on.
	Crash
	// CrashAndWipe: a crash, then the process's storage is deleted at once.
	CrashAndWipe
	// CrashTorn: a crash in which every file with unsynced data is torn (each changed sector
	// new, old or garbage), whatever the disk's configuration: aimed at a write not yet
	// synced, it is what checksums are for.
	CrashTorn
	// CrashGarbage: CrashTorn at its worst, every changed sector garbage: aimed at a write
	// that shares a sector with synced data, it always damages that data.
	CrashGarbage
)

func (k RebootKind) String() string {
	switch k {
	case Graceful:
		return "graceful"
	case Crash:
		return "crash"
	case CrashAndWipe:
		return "crash-and-wipe"
	case CrashTorn:
		return "crash-torn"
	case CrashGarbage:
		return "crash-garbage"
	}
	return fmt.Sprintf("RebootKind(%d)", int(k))
}

// Process is one simulated process, identified by its IP address.
type Process struct {
	w    *World
	addr netip.Addr
	name string
	key  uint64
	inc  int // incarnation, from 1; 0 before the first start
	up   bool

	newHandler func() Handler
	main       func(*Task)
	handler    Handler
	borrows    bool // handler is a Borrower: its delivered payloads are recycled

	timers    []timer // this incarnation's timers, by name: a process has a few
	busyUntil time.Duration
	tasks     []*Task
	inbox     []Message
	receivers []*Task
	conns     []*Conn // stream ends of this incarnation
	accepts   []*Conn // dialed, not yet accepted
	acceptors []*Task // waiting in Accept
	ctx       context.Context
	net       *rand.Rand // the network's stream for messages from this address (a cache)
	peers     []*Process // processes this one sent to lately (a cache: see peer)
}

// SpawnHandler adds a process at addr run by handlers that newHandler makes (one per
// incarnation) and starts it now. It panics if addr is taken: a script error.
func (w *World) SpawnHandler(addr netip.Addr, newHandler func() Handler) *Process {
	p := w.newProcess(addr)
	p.newHandler = newHandler
	w.startLater(p, 0)
	return p
}

// SpawnTask adds a process at addr whose main task is main (run again from the start after
// every restart) and starts it now. It panics if addr is taken.
func (w *World) SpawnTask(addr netip.Addr, main func(t *Task)) *Process {
	p := w.newProcess(addr)
	p.main = main
	w.startLater(p, 0)
	return p
}

func (w *World) newProcess(addr netip.Addr) *Process {
	if _, dup := w.procs[addr]; dup {
		panic(fmt.Sprintf("sim: a process already runs at %s", addr))
	}
	p := &Process{w: w, addr: addr, name: addr.String(), key: fault.HashString(addr.String())}
	w.procs[addr] = p
	w.order = append(w.order, p)
	return p
}

// Process returns the process at addr, or nil.
func (w *World) Process(addr netip.Addr) *Process { return w.procs[addr] }

// Processes lists the processes in the order they were spawned.
func (w *World) Processes() []*Process { return append([]*Process(nil), w.order...) }

func (w *World) startLater(p *Process, d time.Duration) {
	e := w.newEvent()
	e.at, e.kind, e.do, e.proc = w.now+d, kindStart, doStart, p
	w.schedule(e)
}

func (w *World) start(p *Process) {
	if p.up {
		return
	}
	p.inc++
	p.up = true
	w.observe(Happening{Kind: "start", To: p.addr})
	p.timers = p.timers[:0]
	p.busyUntil = w.now
	p.ctx = w.fp.Context(context.Background())
	if p.newHandler != nil {
		p.handler = p.newHandler()
		_, p.borrows = p.handler.(Borrower)
		prev := w.enterHandler(p)
		p.handler.Start(p)
		w.clock.handler = prev
		return
	}
	w.sched.spawn(p, "main", p.main)
}

// Reboot stops the process now, applies kind to its disk, and starts it again after down (a
// fresh handler or main task; only what its disk kept survives). Every step is a fault event.
func (w *World) Reboot(addr netip.Addr, kind RebootKind, down time.Duration) {
	p := w.mustProcess(addr)
	w.stop(p, kind)
	w.startLater(p, down)
}

// Stop stops the process as Reboot does, without starting it again (see Start).
func (w *World) Stop(addr netip.Addr, kind RebootKind) { w.stop(w.mustProcess(addr), kind) }

// Start starts a stopped process now.
func (w *World) Start(addr netip.Addr) { w.startLater(w.mustProcess(addr), 0) }

// SetProcessStorageConfig gives one process its own disk model (one node with a flaky SSD),
// from now on.
func (w *World) SetProcessStorageConfig(addr netip.Addr, cfg disk.Config) error {
	return w.storage.SetProcessConfig(addr.String(), cfg)
}

func (w *World) mustProcess(addr netip.Addr) *Process {
	p := w.procs[addr]
	if p == nil {
		panic(fmt.Sprintf("sim: no process at %s", addr))
	}
	return p
}

func (w *World) stop(p *Process, kind RebootKind) {
	if w.sched.cur != nil {
		// Called from a task: the baton is the task's, so the stop happens as the next event.
		w.At(w.now, func() { w.stop(p, kind) })
		return
	}
	w.record(fault.Event{Layer: fault.LayerProcess, Kind: kind.String(), Process: p.name,
		Detail: fmt.Sprintf("incarnation %d", p.inc)})
	w.observe(Happening{Kind: "stop", To: p.addr})
	if p.up {
		w.resetConns(p)
		w.sched.killAll(p)
		p.up = false
		p.inc++ // timers and wakes of the old incarnation are dropped
		p.handler, p.borrows = nil, false
		p.inbox, p.receivers = nil, nil
	}
	switch kind {
	case Crash:
		w.storage.Crash(p.name, true)
	case CrashAndWipe:
		w.storage.Crash(p.name, true)
		w.storage.Wipe(p.name)
	case CrashTorn:
		w.storage.CrashTorn(p.name, true)
	case CrashGarbage:
		w.storage.CrashGarbage(p.name, true)
	}
}

// CrashRestart crashes the process as the next event (after the handler call or task that
// asks), unless it has restarted by then, and starts it again after down: what a storage
// engine does when its disk fails it (a failed fsync must not be retried).
func (p *Process) CrashRestart(down time.Duration) {
	w, inc := p.w, p.inc
	w.After(0, func() {
		if p.inc == inc {
			w.Reboot(p.addr, Crash, down)
		}
	})
}

// enterHandler marks p as the process doing I/O for a handler call; the caller puts back the
// process it returns when the call is over. Not a function that takes the call as a closure:
// deliveries and timers are the world's hottest calls.
func (w *World) enterHandler(p *Process) (prev *Process) {
	prev, w.clock.handler = w.clock.handler, p
	return prev
}

// Addr is the process's address.
func (p *Process) Addr() netip.Addr { return p.addr }

// Up reports whether the process is running.
func (p *Process) Up() bool { return p.up }

// Incarnation counts the process's starts and stops: odd while it runs the first time, and so on.
func (p *Process) Incarnation() int { return p.inc }

// Now is the world's virtual time.
func (p *Process) Now() time.Duration { return p.w.now }

// World is the world the process lives in.
func (p *Process) World() *World { return p.w }

// FS is the process's disk as it is now (a crash replaces it).
func (p *Process) FS() disk.FS {
	fsys := disk.FS(p.w.storage.FS(p.name))
	if p.w.opts.Observe != nil {
		fsys = observedFS{FS: fsys, p: p}
	}
	return fsys
}

// Context carries the world's fail point scope: evaluate sites with it (EvalContext, ErrContext).
func (p *Process) Context() context.Context { return p.ctx }

// Rand is the process's random stream of that name, restarted with every incarnation.
func (p *Process) Rand(name string) *rand.Rand {
	return p.w.Rand(p.name + "/" + strconv.Itoa(p.inc) + "/" + name)
}

// Send sends payload to the process at to through the network. It returns at once; the
// message leaves when the process is no longer busy with disk I/O.
func (p *Process) Send(to netip.Addr, payload []byte) {
	if !p.up {
		return
	}
	p.w.net.send(p, to, payload, max(p.w.now, p.busyUntil))
}

// SetTimer arms the timer name to fire after d, replacing an armed timer of that name.
func (p *Process) SetTimer(name string, d time.Duration) {
	if !p.up {
		return
	}
	t := p.timer(name)
	t.gen++
	p.w.scheduleTimer(p, max(p.w.now, p.busyUntil)+d, t)
}

// timer is a named timer of a process: the generation of the armed one (a later SetTimer or
// CancelTimer makes the events of earlier ones stale) and the name's hash, for the trace.
type timer struct {
	name     string
	key, gen uint64
}

// timer returns the process's timer of that name, adding it on first use.
func (p *Process) timer(name string) *timer {
	for i := range p.timers {
		if p.timers[i].name == name {
			return &p.timers[i]
		}
	}
	p.timers = append(p.timers, timer{name: name, key: fault.HashString(name)})
	return &p.timers[len(p.timers)-1]
}

func (w *World) scheduleTimer(p *Process, at time.Duration, t *timer) {
	e := w.newEvent()
	e.at, e.kind, e.do, e.proc, e.inc, e.a, e.b, e.name = at, kindTimer, doFire, p, p.inc, t.key, t.gen, t.name
	w.schedule(e)
}

// CancelTimer disarms the timer name.
func (p *Process) CancelTimer(name string) {
	if p.up {
		p.timer(name).gen++
	}
}

func (w *World) fire(p *Process, name string, gen uint64) {
	if p.handler == nil {
		return
	}
	t := p.timer(name)
	if t.gen != gen {
		return
	}
	if p.busyUntil > w.now { // busy with I/O: the timer fires when it is done
		w.scheduleTimer(p, p.busyUntil, t)
		return
	}
	prev := w.enterHandler(p)
	p.handler.Timer(p, name)
	w.clock.handler = prev
}

// deliver hands a message to its process: to the handler, or to a task waiting in Recv, or to
// the inbox.
func (w *World) deliver(p *Process, m *Message) {
	if !p.up {
		w.recycle(m.Payload)
		return
	}
	if !p.borrows {
		// A payload pooled for a Borrower (the process was down, or borrowed, when it was
		// sent) has room past its length, where an earlier message's bytes may lie: a keeper
		// gets it clipped, so that an append reallocates.
		m.Payload = m.Payload[:len(m.Payload):len(m.Payload)]
	}
	if p.handler != nil {
		if p.busyUntil > w.now {
			e := w.newEvent()
			e.at, e.kind, e.do, e.proc, e.inc, e.a, e.msg = p.busyUntil, kindDeliver, doDeliver, p, p.inc, m.ID, *m
			w.schedule(e)
			return
		}
		w.observeDelivery(p, m)
		prev := w.enterHandler(p)
		p.handler.Receive(p, *m)
		w.clock.handler = prev
		if p.borrows {
			w.recycle(m.Payload)
		}
		return
	}
	w.observeDelivery(p, m)
	p.inbox = append(p.inbox, *m)
	if len(p.receivers) > 0 {
		t := p.receivers[0]
		p.receivers = p.receivers[1:]
		w.sched.run(t)
	}
}

func (w *World) observeDelivery(p *Process, m *Message) {
	if w.opts.Observe != nil {
		var typ byte
		if len(m.Payload) > 0 {
			typ = m.Payload[0]
		}
		w.observe(Happening{Kind: "deliver", To: p.addr, From: m.From, Type: typ, ID: m.ID, Sent: m.Sent})
	}
}
