package failpoint

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/faultbox/faultbox/fault"
)

// The process-wide registry: every site, the FAILPOINTS entries waiting for their site, the
// seed and the print output. Evaluation never takes mu.
var reg = struct {
	mu      sync.Mutex
	sites   map[string]*Site
	pending map[string]Setting
	seed    fault.Seed
	out     io.Writer
	rec     fault.Recorder
}{sites: map[string]*Site{}, pending: map[string]Setting{}, out: os.Stderr}

// byName mirrors reg.sites for the lock-free lookups of Eval(name).
var byName sync.Map // string -> *Site

// New registers the fail point name and returns its site. Calling New again with the same
// name returns the same site: like fail-rs, two places with one name act as one. Terms that
// FAILPOINTS (or Configure) gave for the name before it registered apply now.
//
// New panics if name could never be configured (empty, over 256 bytes, or holding a space, a
// control byte, "=" or ";"): that is a mistake in the program, found at start-up.
func New(name string) *Site {
	if err := checkName(name); err != nil {
		panic("failpoint.New: " + err.Error())
	}
	reg.mu.Lock()
	defer reg.mu.Unlock()
	if s, ok := reg.sites[name]; ok {
		return s
	}
	s := &Site{name: name}
	reg.sites[name] = s
	byName.Store(name, s)
	if p, ok := reg.pending[name]; ok {
		delete(reg.pending, name)
		s.setGlobal(newConfig(name, p.Text, p.Terms, reg.seed, reg.out, reg.rec))
		active.Add(-1) // the pending entry became a configuration
	}
	return s
}

// Eval evaluates the fail point name, for one-off use where declaring a Site is not worth
// it; it registers the name the first time it runs while anything is configured. Prefer a
// Site in hot code: this form looks the name up.
func Eval(name string) (value string, ok bool) {
	if !compiledOut && active.Load() != 0 {
		value, ok = evalName(nil, name)
	}
	return
}

// EvalContext is Eval with a context; see Site.EvalContext.
func EvalContext(ctx context.Context, name string) (value string, ok bool) {
	if !compiledOut && active.Load() != 0 {
		value, ok = evalName(ctx, name)
	}
	return
}

//go:noinline
func evalName(ctx context.Context, name string) (string, bool) { return lookup(name).eval(ctx) }

func lookup(name string) *Site {
	if s, ok := byName.Load(name); ok {
		return s.(*Site)
	}
	if checkName(name) != nil {
		return &Site{name: name} // never configurable: an unregistered, always-off site
	}
	return New(name)
}

func registered(name string) (*Site, error) {
	s, ok := reg.sites[name]
	if !ok {
		return nil, fmt.Errorf("failpoint %q: %w", name, ErrNotRegistered)
	}
	return s, nil
}

// Enable configures the registered fail point name with terms (see Parse). It returns a
// *ParseError for bad terms and an error wrapping ErrNotRegistered when no site has that name.
// Enabling replaces the previous terms and their counts, and wakes paused evaluations.
func Enable(name, terms string) error {
	if compiledOut {
		return ErrCompiledOut
	}
	parsed, err := Parse(terms)
	if err != nil {
		return fmt.Errorf("failpoint %q: %w", name, err)
	}
	reg.mu.Lock()
	defer reg.mu.Unlock()
	s, err := registered(name)
	if err != nil {
		return err
	}
	s.setGlobal(newConfig(name, strings.TrimSpace(terms), parsed, reg.seed, reg.out, reg.rec))
	return nil
}

// Disable turns the fail point name off (hit counts stay) and wakes paused evaluations.
func Disable(name string) error {
	if compiledOut {
		return ErrCompiledOut
	}
	reg.mu.Lock()
	defer reg.mu.Unlock()
	if _, ok := reg.pending[name]; ok {
		delete(reg.pending, name)
		active.Add(-1)
		return nil
	}
	s, err := registered(name)
	if err != nil {
		return err
	}
	s.setGlobal(nil)
	return nil
}

// DisableAll turns every fail point of the process-wide registry off and drops pending
// FAILPOINTS entries.
func DisableAll() {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	for _, s := range reg.sites {
		s.setGlobal(nil)
	}
	active.Add(-int64(len(reg.pending)))
	clear(reg.pending)
}

// Configure applies a FAILPOINTS-style value ("name=terms;...") to the process-wide registry:
// registered names are enabled now, the others wait for their site (see Pending). Nothing is
// applied when any entry is wrong.
func Configure(value string) error {
	if compiledOut {
		return ErrCompiledOut
	}
	settings, err := ParseEnv(value)
	if err != nil {
		return err
	}
	reg.mu.Lock()
	defer reg.mu.Unlock()
	for _, st := range settings {
		if s, ok := reg.sites[st.Name]; ok {
			s.setGlobal(newConfig(st.Name, st.Text, st.Terms, reg.seed, reg.out, reg.rec))
			continue
		}
		if _, ok := reg.pending[st.Name]; !ok {
			active.Add(1) // a pending entry keeps sites on the slow path so Eval(name) registers
		}
		reg.pending[st.Name] = st
	}
	return nil
}

// Pending returns, sorted, the names given terms by FAILPOINTS or Configure that no site has
// registered: usually a typo, or code that never ran New.
func Pending() []string {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	return slices.Sorted(maps.Keys(reg.pending))
}

// List returns the status of every registered fail point and every pending entry, sorted by
// name.
func List() []Status {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	out := make([]Status, 0, len(reg.sites)+len(reg.pending))
	for n, s := range reg.sites {
		out = append(out, s.global.status(n))
	}
	for n, p := range reg.pending {
		out = append(out, Status{Name: n, Terms: p.Text})
	}
	slices.SortFunc(out, func(a, b Status) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Get returns the status of one fail point, or an error wrapping ErrNotRegistered.
func Get(name string) (Status, error) {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	if p, ok := reg.pending[name]; ok {
		return Status{Name: name, Terms: p.Text}, nil
	}
	s, err := registered(name)
	if err != nil {
		return Status{}, err
	}
	return s.global.status(name), nil
}

// WaitHits blocks until the fail point name has been hit n times in the process-wide
// registry (hits count evaluations while configured; enable `off` to count without acting),
// or until ctx ends.
func WaitHits(ctx context.Context, name string, n uint64) error {
	if compiledOut {
		return ErrCompiledOut
	}
	reg.mu.Lock()
	s, err := registered(name)
	reg.mu.Unlock()
	if err != nil {
		return err
	}
	return s.global.waitHits(ctx, name, n)
}

// SetSeed sets the seed of the probabilities of fail points enabled from now on (FAILPOINTS_SEED
// sets it at start-up; the default is 0). Each site draws from its own stream, derived from the
// seed and its name and restarted by each Enable, so one seed repeats a run.
func SetSeed(seed fault.Seed) {
	reg.mu.Lock()
	reg.seed = seed
	reg.mu.Unlock()
}

// Seed returns the seed set by SetSeed or FAILPOINTS_SEED.
func Seed() fault.Seed {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	return reg.seed
}

// SetOutput sets where `print` writes, for fail points enabled from now on (default: standard
// error; nil discards). w must be safe for concurrent use.
func SetOutput(w io.Writer) {
	reg.mu.Lock()
	reg.out = w
	reg.mu.Unlock()
}

// SetRecorder sets where fail points enabled from now on report each action they fire, as a
// fault.Event (layer "failpoint", kind the action, where the fail point's name, detail the
// term's argument); nil (the default) reports nothing. r must be safe for concurrent use, as
// *fault.Log is. Events come in the order evaluations fired, which for concurrent goroutines
// is the scheduler's.
func SetRecorder(r fault.Recorder) {
	reg.mu.Lock()
	reg.rec = r
	reg.mu.Unlock()
}
