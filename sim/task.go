package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"runtime/debug"
	"slices"
	"time"

	"github.com/faultbox/faultbox/disk"
	"github.com/faultbox/faultbox/fault"
)

// Task is sequential Go code running in a process: it sleeps, sends, receives and does disk
// I/O through the world, and exactly one task (or handler) runs at a time. Each task is a
// goroutine that holds the world's baton while it runs and hands it back whenever it waits on
// the world (Sleep, Recv, a disk operation's latency) or ends. A task must wait on nothing
// else: a real channel, a lock held by a real goroutine or real I/O stops the world with
// ErrStalled after Options.StallTimeout of wall time, naming the task.
type Task struct {
	p        *Process
	name     string
	key      uint64    // the name's hash, for the trace
	resume   chan bool // true: run on; false: the process stopped, unwind
	done     bool
	waitGen  uint64
	receiver bool
}

// scheduler hands the baton between the world's goroutine and the tasks.
type scheduler struct {
	w     *World
	yield chan struct{}
	cur   *Task
	timer *time.Timer
}

func (s *scheduler) init(w *World) {
	s.w = w
	s.yield = make(chan struct{})
	s.timer = time.NewTimer(time.Hour)
	s.timer.Stop()
}

// spawn starts fn as a new task of p at the current time (after the events already queued
// for now).
func (s *scheduler) spawn(p *Process, name string, fn func(*Task)) *Task {
	t := &Task{p: p, name: name, resume: make(chan bool)}
	p.tasks = append(p.tasks, t)
	go t.body(fn)
	t.key = fault.HashString(name)
	s.w.scheduleRun(t, s.w.now)
	return t
}

func (t *Task) body(fn func(*Task)) {
	s := &t.p.w.sched
	if !<-t.resume {
		t.done = true
		s.yield <- struct{}{}
		return
	}
	defer func() {
		if r := recover(); r != nil {
			s.w.err = fmt.Errorf("sim: task %q on %s panicked at t=%s: %v\n%s", t.name, t.p.name, s.w.now, r, debug.Stack())
		}
		t.done = true
		s.yield <- struct{}{}
	}()
	fn(t)
}

// run gives the baton to t until it waits on the world again or ends.
func (s *scheduler) run(t *Task) {
	if t.done || s.w.err != nil {
		return
	}
	s.cur = t
	t.resume <- true
	s.wait(t)
	s.cur = nil
	if t.done {
		p := t.p
		p.tasks = slices.DeleteFunc(p.tasks, func(x *Task) bool { return x == t })
	}
}

func (s *scheduler) wait(t *Task) {
	s.timer.Reset(s.w.opts.StallTimeout)
	select {
	case <-s.yield:
		s.timer.Stop()
	case <-s.timer.C:
		s.w.err = fmt.Errorf("%w: task %q on %s at t=%s did not hand control back within %s of wall time "+
			"(it waits on a real channel, a lock, real I/O, or computes for too long)",
			ErrStalled, t.name, t.p.name, s.w.now, s.w.opts.StallTimeout)
	}
}

// killAll unwinds every task of p (their deferred calls run; the world's primitives they
// wait in do not return).
func (s *scheduler) killAll(p *Process) {
	for _, t := range p.tasks {
		if t.done {
			continue
		}
		s.cur = t
		t.resume <- false
		s.wait(t)
		s.cur = nil
		if s.w.err != nil {
			return
		}
	}
	p.tasks = nil
}

// park hands the baton back to the world and waits until the world resumes this task.
func (t *Task) park() {
	s := &t.p.w.sched
	s.yield <- struct{}{}
	if !<-t.resume {
		runtime.Goexit()
	}
}

func (t *Task) wakeAt(at time.Duration, fn func()) {
	w := t.p.w
	e := w.newEvent()
	e.at, e.kind, e.do, e.proc, e.inc, e.a, e.fn = at, kindWake, doFn, t.p, t.p.inc, t.key, fn
	w.schedule(e)
}

// scheduleRun gives the baton to t at virtual time at.
func (w *World) scheduleRun(t *Task, at time.Duration) {
	e := w.newEvent()
	e.at, e.kind, e.do, e.proc, e.inc, e.a, e.task = at, kindWake, doRun, t.p, t.p.inc, t.key, t
	w.schedule(e)
}

// Name is the task's name ("main" for a process's first task).
func (t *Task) Name() string { return t.name }

// Process is the process the task runs in.
func (t *Task) Process() *Process { return t.p }

// Addr is the task's process's address.
func (t *Task) Addr() netip.Addr { return t.p.addr }

// Now is the world's virtual time.
func (t *Task) Now() time.Duration { return t.p.w.now }

// Sleep waits d of virtual time.
func (t *Task) Sleep(d time.Duration) {
	t.p.w.scheduleRun(t, t.p.w.now+max(d, 0))
	t.park()
}

// Yield lets the events already queued for this instant run first.
func (t *Task) Yield() { t.Sleep(0) }

// Send sends payload to the process at to; it returns at once.
func (t *Task) Send(to netip.Addr, payload []byte) { t.p.w.net.send(t.p, to, payload, t.p.w.now) }

// Recv waits for the next message to this process.
func (t *Task) Recv() Message {
	m, _ := t.recv(-1)
	return m
}

// RecvTimeout waits up to d for the next message; ok is false when d passed first.
func (t *Task) RecvTimeout(d time.Duration) (m Message, ok bool) { return t.recv(max(d, 0)) }

func (t *Task) recv(d time.Duration) (Message, bool) {
	p := t.p
	if len(p.inbox) == 0 {
		t.waitGen++
		gen := t.waitGen
		p.receivers = append(p.receivers, t)
		if d >= 0 {
			s := &p.w.sched
			t.wakeAt(p.w.now+d, func() {
				if t.waitGen != gen {
					return // a message came first
				}
				p.receivers = slices.DeleteFunc(p.receivers, func(x *Task) bool { return x == t })
				s.run(t)
			})
		}
		t.park()
		t.waitGen++
	}
	if len(p.inbox) == 0 {
		return Message{}, false
	}
	m := p.inbox[0]
	p.inbox = p.inbox[1:]
	return m, true
}

// Go starts fn as another task of the same process, now (after this one waits).
func (t *Task) Go(name string, fn func(*Task)) { t.p.w.sched.spawn(t.p, name, fn) }

// FS is the process's disk. Every operation waits its latency in virtual time, so it completes
// only as the world steps.
func (t *Task) FS() disk.FS { return t.p.FS() }

// Context carries the world's fail point scope.
func (t *Task) Context() context.Context { return t.p.ctx }

// Rand is the process's random stream of that name (see Process.Rand).
func (t *Task) Rand(name string) *rand.Rand { return t.p.Rand(name) }

// clock is the world's virtual clock as the disks see it: latency spent by a task parks the
// task; latency spent by a handler makes its process busy.
type clock struct {
	w       *World
	handler *Process
}

func (c *clock) Now() time.Duration { return c.w.now }
func (c *clock) Kind() fault.Clock  { return fault.Virtual }

// SleepYields tells the disk whether Sleep lets other simulated code run: only a task's does
// (a handler's sleep makes its process busy and returns at once).
func (c *clock) SleepYields() bool { return c.w.sched.cur != nil }

func (c *clock) Sleep(d time.Duration) {
	if t := c.w.sched.cur; t != nil {
		t.Sleep(d)
		return
	}
	if p := c.handler; p != nil {
		p.busyUntil = max(p.busyUntil, c.w.now) + d
	}
	// Outside any process (a test reading a disk between steps): nobody waits.
}
