package disk

import (
	"sync/atomic"
	"time"

	"github.com/faultbox/faultbox/fault"
)

// Clock is the time an operation's latency is spent on. The real clock sleeps; a virtual
// clock only moves a number, so simulated disk time costs no wall time.
type Clock interface {
	// Now is the time since the clock's epoch.
	Now() time.Duration
	// Sleep spends d of this clock's time.
	Sleep(d time.Duration)
}

// A YieldingClock is a Clock that says whether its Sleep lets other code use the disk in the
// meantime (the sim world's: a task's sleep does, a handler's does not). A disk counts the
// operations in progress to report concurrent use, and leaves a sleeping operation out of
// the count only when the sleep may let another one in; a Clock without the method is taken
// to let one in (the wall clock does).
type YieldingClock interface {
	Clock
	SleepYields() bool
}

// clockKind says which clock events stamped with c's time were read on: the wall clock for
// RealClock, the clock's own answer when it has a Kind method, else virtual (a clock a
// simulation owns).
func clockKind(c Clock) fault.Clock {
	switch c := c.(type) {
	case realClock:
		return fault.Wall
	case interface{ Kind() fault.Clock }:
		return c.Kind()
	}
	return fault.Virtual
}

// RealClock returns a clock backed by the wall clock, with its epoch now.
func RealClock() Clock { return realClock{start: time.Now()} }

type realClock struct{ start time.Time }

func (c realClock) Now() time.Duration    { return time.Since(c.start) }
func (c realClock) Sleep(d time.Duration) { time.Sleep(d) }

// VirtualClock is a clock a simulation owns. Sleep advances it by d at once (the caller is
// the only thing running, as in a single-threaded simulation); Advance moves it from the
// outside. Safe for concurrent use.
type VirtualClock struct{ now atomic.Int64 }

// NewVirtualClock returns a virtual clock at 0.
func NewVirtualClock() *VirtualClock { return &VirtualClock{} }

// Now implements Clock.
func (c *VirtualClock) Now() time.Duration { return time.Duration(c.now.Load()) }

// Sleep implements Clock by advancing the clock.
func (c *VirtualClock) Sleep(d time.Duration) {
	if d > 0 {
		c.now.Add(int64(d))
	}
}

// Advance moves the clock forward by d.
func (c *VirtualClock) Advance(d time.Duration) { c.Sleep(d) }
