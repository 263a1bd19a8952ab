package failpoint

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/faultbox/faultbox/fault"
)

type scopeKey struct{}

// Scope is a private registry of fail point terms and counters, carried by a context. An
// evaluation whose context carries a scope (EvalContext, ErrContext) sees only that scope's
// terms: never the process-wide ones, never another scope's. Parallel tests each use their
// own scope and cannot see each other's fail points.
type Scope struct {
	mu     sync.Mutex
	states atomic.Pointer[map[*Site]*state] // copied on write; read without a lock
	seed   fault.Seed
	out    io.Writer
	rec    fault.Recorder
	closed bool
}

// NewScope returns an empty scope whose seed is the process-wide seed and whose `print`
// output is discarded until SetOutput.
func NewScope() *Scope {
	sc := &Scope{seed: Seed()}
	m := map[*Site]*state{}
	sc.states.Store(&m)
	return sc
}

// TestScope returns a scope for tb and a context carrying it, derived from tb.Context(). When
// the test ends, its context is cancelled (waking paused evaluations) and the scope is closed.
func TestScope(tb testing.TB) (*Scope, context.Context) {
	tb.Helper()
	sc := NewScope()
	tb.Cleanup(sc.Close)
	return sc, sc.Context(tb.Context())
}

// Context returns a copy of parent that carries the scope.
func (sc *Scope) Context(parent context.Context) context.Context {
	return context.WithValue(parent, scopeKey{}, sc)
}

// FromContext returns the scope ctx carries, if any.
func FromContext(ctx context.Context) (*Scope, bool) {
	sc, ok := ctx.Value(scopeKey{}).(*Scope)
	return sc, ok && sc != nil
}

func (sc *Scope) lookup(s *Site) *state {
	return (*sc.states.Load())[s]
}

// stateFor returns the scope's state for s, creating it; sc.mu is held.
func (sc *Scope) stateFor(s *Site) *state {
	old := *sc.states.Load()
	if st, ok := old[s]; ok {
		return st
	}
	m := maps.Clone(old) // old is never nil: NewScope stores an empty map
	st := &state{}
	m[s] = st
	sc.states.Store(&m)
	return st
}

func (sc *Scope) site(name string) (*Site, error) {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	return registered(name)
}

// Enable configures name within the scope; errors as for the package-level Enable, plus
// ErrScopeClosed.
func (sc *Scope) Enable(name, terms string) error {
	if compiledOut {
		return ErrCompiledOut
	}
	parsed, err := Parse(terms)
	if err != nil {
		return fmt.Errorf("failpoint %q: %w", name, err)
	}
	s, err := sc.site(name)
	if err != nil {
		return err
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.closed {
		return fmt.Errorf("failpoint %q: %w", name, ErrScopeClosed)
	}
	s.install(sc.stateFor(s), newConfig(name, strings.TrimSpace(terms), parsed, sc.seed, sc.out, sc.rec))
	return nil
}

// Disable turns name off within the scope (hit counts stay).
func (sc *Scope) Disable(name string) error {
	if compiledOut {
		return ErrCompiledOut
	}
	s, err := sc.site(name)
	if err != nil {
		return err
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if st := sc.lookup(s); st != nil {
		s.install(st, nil)
	}
	return nil
}

// DisableAll turns every fail point of the scope off.
func (sc *Scope) DisableAll() {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.disableAllLocked()
}

// disableAllLocked turns every fail point of the scope off; sc.mu is held.
func (sc *Scope) disableAllLocked() {
	for s, st := range *sc.states.Load() {
		s.install(st, nil)
	}
}

// Close turns everything off, wakes paused evaluations and refuses further Enable calls
// (they fail with ErrScopeClosed). Marking the scope closed and turning its fail points off
// happen in one critical section, so an Enable racing Close either lands first and is turned
// off, or fails: it never leaves a site armed by a closed scope. Close may be called again.
func (sc *Scope) Close() {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.closed = true
	sc.disableAllLocked()
}

// List returns the status of every fail point the scope has configured or waited on, sorted.
func (sc *Scope) List() []Status {
	m := *sc.states.Load()
	out := make([]Status, 0, len(m))
	for s, st := range m {
		out = append(out, st.status(s.name))
	}
	slices.SortFunc(out, func(a, b Status) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Get returns the status of name within the scope.
func (sc *Scope) Get(name string) (Status, error) {
	s, err := sc.site(name)
	if err != nil {
		return Status{}, err
	}
	if st := sc.lookup(s); st != nil {
		return st.status(name), nil
	}
	return Status{Name: name, Registered: true}, nil
}

// WaitHits blocks until name has been hit n times within the scope, or ctx ends.
func (sc *Scope) WaitHits(ctx context.Context, name string, n uint64) error {
	if compiledOut {
		return ErrCompiledOut
	}
	s, err := sc.site(name)
	if err != nil {
		return err
	}
	sc.mu.Lock()
	st := sc.stateFor(s)
	sc.mu.Unlock()
	return st.waitHits(ctx, name, n)
}

// SetSeed sets the seed of the scope's probabilities, for fail points enabled from now on.
func (sc *Scope) SetSeed(seed fault.Seed) {
	sc.mu.Lock()
	sc.seed = seed
	sc.mu.Unlock()
}

// SetOutput sets where `print` writes, for fail points enabled from now on; nil discards.
func (sc *Scope) SetOutput(w io.Writer) {
	sc.mu.Lock()
	sc.out = w
	sc.mu.Unlock()
}

// SetRecorder sets where the scope's fail points enabled from now on report each action they
// fire (see the package-level SetRecorder); nil reports nothing. A test or a simulation gives
// its scope the run's fault.Log so fail points land in one log with the other layers'.
func (sc *Scope) SetRecorder(r fault.Recorder) {
	sc.mu.Lock()
	sc.rec = r
	sc.mu.Unlock()
}
