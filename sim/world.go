package sim

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/faultbox/faultbox/disk"
	"github.com/faultbox/faultbox/failpoint"
	"github.com/faultbox/faultbox/fault"
)

// Options configure a world. The zero value is a fast, fault-free world.
type Options struct {
	// Storage is every process's disk model unless SetProcessStorageConfig overrides it;
	// the zero Config is disk.FastLocal().
	Storage *disk.Config
	// Network is the network model; the zero value delivers every message after 1ms.
	Network Network
	// Trace, when set, receives one text line per simulation event, as it runs.
	Trace io.Writer
	// Observe, when set, is told of every message delivered to a process, every stop and
	// start, and every write and sync a process makes on its disk, as they happen: what an
	// explorer aims faults at and abstracts runs by.
	Observe func(Happening)
	// StallTimeout is how long, in wall time, a task may run without handing control back to
	// the world before the world reports it as blocked outside the world; 0 means 5s.
	StallTimeout time.Duration
}

// ErrStalled reports a task that blocked on something the world does not own (a real
// channel, a lock held by a real goroutine, real I/O) or ran for too long without yielding.
var ErrStalled = errors.New("sim: a task blocked outside the world (determinism violation)")

// World is a deterministic simulation: one event queue on virtual time, processes addressed by
// IP, their disks, a network and a fail point scope, all driven by Step from one goroutine.
// A World is not safe for concurrent use: drive it from one goroutine.
type World struct {
	seed     fault.Seed
	opts     Options
	now      time.Duration
	q        queue
	free     []*event                                    // events that have run, for reuse
	slab     []byte                                      // the rest of the block payload copies are carved from
	payloads [maxClassShift - minClassShift + 1][][]byte // recycled payloads by class (see copyPayload)
	seq      uint64
	steps    uint64
	hash     uint64
	log      *fault.Log
	storage  *disk.Storage
	clock    *clock
	procs    map[netip.Addr]*Process
	order    []*Process
	net      *network
	fp       *failpoint.Scope
	streams  map[string]*rand.Rand
	sched    scheduler
	err      error
}

// New returns a world whose every decision derives from seed.
func New(seed fault.Seed, opts Options) *World {
	cfg := disk.FastLocal()
	if opts.Storage != nil {
		cfg = *opts.Storage
	}
	if opts.StallTimeout <= 0 {
		opts.StallTimeout = 5 * time.Second
	}
	w := &World{seed: seed, opts: opts, hash: uint64(seed.Derive("sim/trace")),
		procs: map[netip.Addr]*Process{}, streams: map[string]*rand.Rand{}}
	w.clock = &clock{w: w}
	st, err := disk.NewStorage(seed, cfg, w.clock)
	if err != nil {
		panic(fmt.Sprintf("sim.New: storage configuration: %v", err)) // validated below
	}
	w.storage = st
	w.log = st.Log()
	w.log.SetClock(fault.Virtual, w.Now)
	w.net = newNetwork(w, opts.Network)
	w.fp = failpoint.NewScope()
	w.fp.SetSeed(seed)
	w.fp.SetRecorder(w.log)
	w.fp.SetOutput(nil)
	w.sched.init(w)
	return w
}

// Seed returns the world's seed.
func (w *World) Seed() fault.Seed { return w.seed }

// Now is the virtual time since the world began.
func (w *World) Now() time.Duration { return w.now }

// Log is the world's fault log: every fault from the disks, the network, the fail points and
// the processes' lifecycle, in the order they happened.
func (w *World) Log() *fault.Log { return w.log }

// Storage is the world's disks, one per process.
func (w *World) Storage() *disk.Storage { return w.storage }

// Failpoints is the scope of the world's fail points: enable terms on it, and evaluate sites
// with a Process's Context, so that their probabilities draw from the world's seed and their
// firings land in the world's log. Actions that wait (sleep, delay, pause) wait in real time,
// not the world's: use return, panic, print and off inside a world.
func (w *World) Failpoints() *failpoint.Scope { return w.fp }

// Rand returns the world's random stream of that name (created on first use): for decisions
// of the code under test that must replay with the seed.
func (w *World) Rand(name string) *rand.Rand {
	r, ok := w.streams[name]
	if !ok {
		r = w.seed.Stream("sim", name)
		w.streams[name] = r
	}
	return r
}

// Steps is how many events the world has run.
func (w *World) Steps() uint64 { return w.steps }

// Pending is how many events are queued.
func (w *World) Pending() int { return len(w.q) }

// Err is the determinism violation that stopped the world, if any.
func (w *World) Err() error { return w.err }

// TraceHash digests every event the world has run (what, where, when, in which order, and the
// bytes of every message): two runs are the same run when their hashes are equal.
func (w *World) TraceHash() string { return fmt.Sprintf("%016x", w.hash) }

// event is one thing the world will do at a virtual time. Events at the same time run in the
// order they were scheduled (seq), so the order never depends on anything but the run.
//
// The hot events (a message arriving, a delivery put off while its process is busy, a
// timer, a start, a task's wake-up) say what to do with do and their operands, so that
// scheduling one allocates nothing: the world is driven from one goroutine, and an event
// goes back to the world's free list once it has run. Rarer ones carry a closure (doFn).
type event struct {
	at   time.Duration
	seq  uint64
	kind kind
	do   action
	proc *Process
	inc  int    // the incarnation it belongs to; a later incarnation drops it (0: any)
	a, b uint64 // kind-specific values folded into the trace
	fn   func()
	msg  Message  // doArrive, doDeliver
	dest *Process // doArrive: the process at msg.To when it was sent
	name string   // doFire: the timer
	task *Task    // doRun
}

type kind uint8

const (
	kindCall kind = iota + 1
	kindStart
	kindTimer
	kindDeliver
	kindWake
	kindReboot
	kindRestart
	kindNemesis
)

var kindNames = [...]string{kindCall: "call", kindStart: "start", kindTimer: "timer", kindDeliver: "deliver",
	kindWake: "wake", kindReboot: "reboot", kindRestart: "restart", kindNemesis: "nemesis"}

// action is what running an event does.
type action uint8

const (
	doFn      action = iota // call fn
	doArrive                // the network delivers msg unless a partition cuts its link
	doDeliver               // hand msg to proc (put off while proc was busy)
	doFire                  // fire proc's timer name, generation b
	doStart                 // start proc
	doRun                   // give the baton to task
)

// queue is a binary min-heap of events by (at, seq).
type queue []*event

func (e *event) before(o *event) bool {
	if e.at != o.at {
		return e.at < o.at
	}
	return e.seq < o.seq
}

func (q *queue) push(e *event) {
	h := append(*q, e)
	i := len(h) - 1
	for i > 0 {
		up := (i - 1) / 2
		if !e.before(h[up]) {
			break
		}
		h[i] = h[up]
		i = up
	}
	h[i] = e
	*q = h
}

func (q *queue) pop() *event {
	h := *q
	top := h[0]
	n := len(h) - 1
	last := h[n]
	h[n] = nil
	h = h[:n]
	if n > 0 {
		i := 0
		for {
			c := 2*i + 1
			if c >= n {
				break
			}
			if r := c + 1; r < n && h[r].before(h[c]) {
				c = r
			}
			if !h[c].before(last) {
				break
			}
			h[i] = h[c]
			i = c
		}
		h[i] = last
	}
	*q = h
	return top
}

// newEvent returns a cleared event, from the free list when it has one.
func (w *World) newEvent() *event {
	if n := len(w.free); n > 0 {
		e := w.free[n-1]
		w.free[n-1] = nil
		w.free = w.free[:n-1]
		return e
	}
	return new(event)
}

// release clears an event that has run (so it holds on to no payload, closure or process)
// and keeps it for reuse.
func (w *World) release(e *event) {
	*e = event{}
	w.free = append(w.free, e)
}

func (w *World) schedule(e *event) {
	if e.at < w.now {
		e.at = w.now
	}
	w.seq++
	e.seq = w.seq
	w.q.push(e)
}

// At runs fn at virtual time t (now, if t is past): for test scripts and drivers.
func (w *World) At(t time.Duration, fn func()) {
	e := w.newEvent()
	e.at, e.kind, e.fn = t, kindCall, fn
	w.schedule(e)
}

// After runs fn after d of virtual time.
func (w *World) After(d time.Duration, fn func()) { w.At(w.now+d, fn) }

// Step runs the next event. It returns false when there is nothing to run or the world has
// stopped on a determinism violation (see Err).
func (w *World) Step() bool {
	if w.err != nil || len(w.q) == 0 {
		return false
	}
	e := w.q.pop()
	if e.proc != nil && e.inc != 0 && e.inc != e.proc.inc {
		if e.do == doDeliver {
			w.recycle(e.msg.Payload)
		}
		w.release(e)
		return true // for an incarnation that is gone: dropped, and not part of the trace
	}
	w.now = e.at
	w.steps++
	var addr uint64
	if e.proc != nil {
		addr = e.proc.key
	}
	w.hash = fold(w.hash, uint64(e.at), uint64(e.kind)<<56^uint64(e.inc), addr, e.a, e.b)
	if w.opts.Trace != nil {
		name := "-"
		if e.proc != nil {
			name = e.proc.name
		}
		fmt.Fprintf(w.opts.Trace, "%d t=%s %s %s inc=%d %d %d\n", w.steps, e.at, kindNames[e.kind], name, e.inc, e.a, e.b)
	}
	switch e.do {
	case doFn:
		e.fn()
	case doArrive:
		w.net.arrive(&e.msg, e.dest)
	case doDeliver:
		w.deliver(e.proc, &e.msg)
	case doFire:
		w.fire(e.proc, e.name, e.b)
	case doStart:
		w.start(e.proc)
	case doRun:
		w.sched.run(e.task)
	}
	w.release(e)
	return w.err == nil
}

// RunUntil steps until cond holds (checked before each step), the queue is empty, or a
// violation stops the world. It returns the violation, or an error when the queue ran dry
// before cond held.
func (w *World) RunUntil(cond func() bool) error {
	for !cond() {
		if !w.Step() {
			if w.err != nil {
				return w.err
			}
			if cond() {
				return nil
			}
			return fmt.Errorf("sim: nothing left to run at t=%s and the condition does not hold", w.now)
		}
	}
	return w.err
}

// RunFor steps through every event up to now+d, then sets the clock to now+d.
func (w *World) RunFor(d time.Duration) error {
	end := w.now + d
	for len(w.q) > 0 && w.q[0].at <= end {
		if !w.Step() && w.err != nil {
			return w.err
		}
	}
	if w.now < end {
		w.now = end
	}
	return w.err
}

// RunUntilIdle steps until no event is left. A world with a periodic timer is never idle:
// bound such runs with RunFor or RunUntil.
func (w *World) RunUntilIdle() error {
	for w.Step() {
	}
	return w.err
}

func (w *World) record(e fault.Event) { w.log.Record(e) }

// Happening is one thing an observer is told of (Options.Observe).
type Happening struct {
	At   time.Duration
	Kind string        // "deliver", "stop", "start", or a disk operation: "write", "sync", "syncdir"
	To   netip.Addr    // the process it happened to
	From netip.Addr    // deliver: the sender
	Type byte          // deliver: the payload's first byte (a message type, for most protocols)
	ID   uint64        // deliver: the message's id
	Sent time.Duration // deliver: when the message left its sender
	// write and sync: the file (as the process named it); write: the range written.
	File   string
	Offset int64
	Length int
}

func (w *World) observe(h Happening) {
	if w.opts.Observe != nil {
		h.At = w.now
		w.opts.Observe(h)
	}
}

// AddFigures adds the run's figures every target reports: simulated time, the wall time the
// run took (measured by the caller: not reproducible), the speed, the events run and the trace
// hash.
func (w *World) AddFigures(r *fault.Report, wall time.Duration) {
	r.Add("simulated time", w.now)
	r.Add("wall time", wall.Round(time.Microsecond))
	if wall > 0 {
		r.Add("speed", fmt.Sprintf("%.0fx real time", float64(w.now)/float64(wall)))
	}
	r.Add("events", w.steps)
	r.Add("trace hash", w.TraceHash())
}
