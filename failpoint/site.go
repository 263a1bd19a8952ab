package failpoint

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/faultbox/faultbox/fault"
)

// Errors callers test for with errors.Is.
var (
	// ErrNotRegistered: no site with this name exists (yet) in the program.
	ErrNotRegistered = errors.New("failpoint: no site registered with this name")
	// ErrInjected marks every error and panic value a fail point produces.
	ErrInjected = errors.New("failpoint: injected failure")
	// ErrCompiledOut: the program was built with the failpoint_off tag.
	ErrCompiledOut = errors.New("failpoint: fail points are compiled out (build tag failpoint_off)")
	// ErrScopeClosed: the scope was closed (its test ended).
	ErrScopeClosed = errors.New("failpoint: scope is closed")
)

// Error is what a fired fail point produces: the error from Site.Err after `return`, and the
// panic value of `panic`. errors.Is(err, ErrInjected) holds for it.
type Error struct {
	Name   string // the fail point
	Action Action // Return or Panic
	Value  string // the term's argument
	HasArg bool
}

func (e *Error) Error() string {
	if e.Action == Panic {
		if e.HasArg {
			return e.Value
		}
		return "failpoint " + e.Name + " panic"
	}
	if e.HasArg {
		return "failpoint " + e.Name + ": " + e.Action.String() + "(" + e.Value + ")"
	}
	return "failpoint " + e.Name + ": " + e.Action.String()
}

// Is reports that every *Error is an ErrInjected.
func (e *Error) Is(target error) bool { return target == ErrInjected }

// active counts everything that could make any fail point act: configured (registry, site)
// pairs, process-wide and scoped, plus pending FAILPOINTS entries. Zero means every fail point
// is off; the by-name Eval checks it before looking the name up.
var active atomic.Int64

// Site is a fail point placed in code. Declare it once, at package level:
//
//	var walSync = failpoint.New("wal/sync")
//
// and evaluate it where the failure should happen. A nil *Site is never valid.
type Site struct {
	// armed counts the configurations of this site: 1 for the process-wide registry when
	// enabled, plus 1 per scope that enables it. Zero, the common case, makes an evaluation
	// this one atomic load.
	armed atomic.Int32
	name  string
	// The padding keeps the counters that busy sites write off the cache lines that idle
	// sites read.
	_      [64]byte
	global state // the site's configuration in the process-wide registry
	_      [64]byte
}

// Name returns the fail point's name.
func (s *Site) Name() string { return s.name }

// Eval evaluates the fail point in the process-wide registry. It reports (value, true) when a
// `return` term fired, and runs every other action (sleep, panic, pause...) before returning
// ("", false). While the site is not configured it costs one atomic load, whatever else is.
func (s *Site) Eval() (value string, ok bool) {
	if !compiledOut && s.armed.Load() != 0 {
		value, ok = s.eval(nil)
	}
	return
}

// EvalContext is Eval for code that has a context: when ctx carries a Scope, the scope's
// terms apply instead of the process-wide ones, and sleep and pause end when ctx ends.
func (s *Site) EvalContext(ctx context.Context) (value string, ok bool) {
	if !compiledOut && s.armed.Load() != 0 {
		value, ok = s.eval(ctx)
	}
	return
}

// Err is Eval for sites that fail with an error: after a `return` term it returns an *Error
// (errors.Is(err, ErrInjected)), otherwise nil.
func (s *Site) Err() error {
	if compiledOut || s.armed.Load() == 0 {
		return nil
	}
	return s.err(nil)
}

// ErrContext is Err with a context, as EvalContext.
func (s *Site) ErrContext(ctx context.Context) error {
	if compiledOut || s.armed.Load() == 0 {
		return nil
	}
	return s.err(ctx)
}

// err and eval stay out of line so that Err, ErrContext, Eval and EvalContext inline into
// their callers, whose fast path is then one atomic load: inlining eval into Eval puts Eval
// over the inlining budget.
//
//go:noinline
func (s *Site) err(ctx context.Context) error {
	if t := s.fire(ctx); t != nil {
		return &Error{Name: s.name, Action: Return, Value: t.Arg, HasArg: t.HasArg}
	}
	return nil
}

//go:noinline
func (s *Site) eval(ctx context.Context) (string, bool) {
	if t := s.fire(ctx); t != nil {
		return t.Arg, true
	}
	return "", false
}

// fire finds the state that governs this evaluation, the context's scope if it has one
// (scopes isolate fully) else the process-wide registry, and runs it: it returns the
// `return` term that fired, or nil when none did (not configured, no term fired, or another
// action ran).
func (s *Site) fire(ctx context.Context) *termState {
	st := &s.global
	if ctx != nil {
		if sc, ok := FromContext(ctx); ok {
			if st = sc.lookup(s); st == nil {
				return nil
			}
		}
	}
	c := st.cfg.Load()
	if c == nil {
		return nil
	}
	return st.run(ctx, c)
}

// state is one site's configuration and counters in one registry (the process-wide one or a
// scope).
type state struct {
	cfg     atomic.Pointer[config]
	hits    atomic.Uint64 // evaluations while configured
	fired   atomic.Uint64 // evaluations where a term fired
	waiting atomic.Int32  // goroutines in waitHits
	waitMu  sync.Mutex
	waitCh  chan struct{} // closed at the next hit, when someone waits
}

// config is an immutable, parsed configuration with its live counters. Replacing it (enable,
// disable) closes changed, which wakes paused evaluations.
type config struct {
	name    string
	text    string
	terms   []termState
	seed    fault.Seed    // stream key of this site's probabilities
	draws   atomic.Uint64 // draws taken from the stream
	out     io.Writer
	rec     fault.Recorder // nil: fired actions are not reported
	changed chan struct{}
}

type termState struct {
	Term
	left atomic.Int64 // firings left when Count >= 0
}

func newConfig(name, text string, terms []Term, seed fault.Seed, out io.Writer, rec fault.Recorder) *config {
	c := &config{name: name, text: text, terms: make([]termState, len(terms)), seed: seed.Derive("failpoint", name),
		out: out, rec: rec, changed: make(chan struct{})}
	for i, t := range terms {
		c.terms[i].Term = t
		c.terms[i].left.Store(t.Count)
	}
	return c
}

// pick returns the first term of the chain that fires, following fail-rs: a term whose count
// is spent is skipped; otherwise it draws its probability; a term that passes takes one from
// its count and fires. No term firing means nothing happens.
func (c *config) pick() *termState {
	for i := range c.terms {
		t := &c.terms[i]
		if t.Count >= 0 && t.left.Load() <= 0 {
			continue
		}
		if t.Percent < 100 && !c.chance(t.Percent) {
			continue
		}
		if t.Count >= 0 && !t.take() {
			continue
		}
		return t
	}
	return nil
}

func (t *termState) take() bool {
	for {
		n := t.left.Load()
		if n <= 0 {
			return false
		}
		if t.left.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

// chance draws the next number of the site's stream and reports whether it falls under pct.
func (c *config) chance(pct float64) bool {
	if pct <= 0 {
		return false
	}
	// The n-th draw is keyed by n, not taken from a shared generator, so concurrent
	// evaluations need no lock; the site's key is the seed derived by the site's name, so
	// its decisions depend only on the seed and on its own evaluations.
	n := c.draws.Add(1)
	return fault.Unit(c.seed.Hash(n))*100 < pct
}

// run counts a hit, picks a term and performs it; it returns the term when it is a `return`,
// else nil. No lock is held: N goroutines sleeping at the same site sleep together.
func (st *state) run(ctx context.Context, c *config) *termState {
	st.hit()
	t := c.pick()
	if t == nil {
		return nil
	}
	st.fired.Add(1)
	if c.rec != nil {
		c.report(t)
	}
	if t.Action == Return {
		return t
	}
	// Only the waiting actions (sleep, pause, delay) use done; on a cancellable context the
	// first Done call allocates, so `return` does not make it.
	var done <-chan struct{}
	if ctx != nil && (t.Action == Sleep || t.Action == Pause || t.Action == Delay) {
		done = ctx.Done()
	}
	switch t.Action {
	case Sleep:
		if t.Duration > 0 {
			timer := time.NewTimer(t.Duration)
			select {
			case <-timer.C:
			case <-done:
				timer.Stop()
			}
		}
	case Panic:
		panic(&Error{Name: c.name, Action: Panic, Value: t.Arg, HasArg: t.HasArg})
	case Print:
		msg := "failpoint " + c.name + " executed." // fail-rs's words, period included
		if t.HasArg {
			msg = t.Arg
		}
		if c.out != nil {
			_, _ = io.WriteString(c.out, msg+"\n")
		}
	case Pause:
		select {
		case <-c.changed:
		case <-done:
		}
	case Yield:
		runtime.Gosched()
	case Delay:
		end := time.Now().Add(t.Duration)
		for time.Now().Before(end) {
			if done != nil {
				select {
				case <-done:
					return nil
				default:
				}
			}
		}
	}
	return nil
}

func (st *state) hit() {
	st.hits.Add(1)
	if st.waiting.Load() > 0 {
		st.waitMu.Lock()
		if st.waitCh != nil {
			close(st.waitCh)
			st.waitCh = nil
		}
		st.waitMu.Unlock()
	}
}

// waitHits blocks until the state has n hits or ctx ends.
func (st *state) waitHits(ctx context.Context, name string, n uint64) error {
	for {
		if st.hits.Load() >= n {
			return nil
		}
		st.waitMu.Lock()
		if st.waitCh == nil {
			st.waitCh = make(chan struct{})
		}
		ch := st.waitCh
		st.waiting.Add(1)
		st.waitMu.Unlock()
		if st.hits.Load() >= n { // a hit between the check and the registration
			st.waiting.Add(-1)
			return nil
		}
		select {
		case <-ch:
			st.waiting.Add(-1)
		case <-ctx.Done():
			st.waiting.Add(-1)
			return fmt.Errorf("failpoint: wait for %d hits of %s (have %d): %w", n, name, st.hits.Load(), ctx.Err())
		}
	}
}

// set installs c (nil: off) and reports the change in the active count. Callers hold the
// owning registry's lock, so sets on one state never interleave.
func (st *state) set(c *config) (was, now bool) {
	old := st.cfg.Swap(c)
	if old != nil {
		close(old.changed)
	}
	switch {
	case old == nil && c != nil:
		active.Add(1)
	case old != nil && c == nil:
		active.Add(-1)
	}
	return old != nil, c != nil
}

// setGlobal installs c in the process-wide registry; reg.mu is held.
func (s *Site) setGlobal(c *config) { s.install(&s.global, c) }

// install installs c (nil: off) in st, one of the site's states, and keeps the site's armed
// count in step; the lock of st's registry is held.
func (s *Site) install(st *state, c *config) {
	was, now := st.set(c)
	switch {
	case !was && now:
		s.armed.Add(1)
	case was && !now:
		s.armed.Add(-1)
	}
}

// status is the state's status under name, for a registered site.
func (st *state) status(name string) Status {
	s := Status{Name: name, Registered: true, Hits: st.hits.Load(), Fired: st.fired.Load()}
	if c := st.cfg.Load(); c != nil {
		s.Terms = c.text
	}
	return s
}

// Status is a fail point's configuration and counters in one registry.
type Status struct {
	Name       string `json:"name"`
	Terms      string `json:"terms"`      // as given to Enable; "" when off
	Registered bool   `json:"registered"` // false for FAILPOINTS entries whose site never registered
	Hits       uint64 `json:"hits"`       // evaluations while configured
	Fired      uint64 `json:"fired"`      // evaluations where a term fired
}

// report records one fired action as a fault event.
func (c *config) report(t *termState) {
	e := fault.Event{Layer: fault.LayerFailpoint, Kind: t.Action.String(), Where: c.name}
	switch {
	case t.Duration > 0: // sleep and delay: the time, whatever unit it was written in
		e.Detail = t.Duration.String()
	case t.HasArg:
		e.Detail = t.Arg
	}
	c.rec.Record(e)
}
