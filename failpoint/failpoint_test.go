package failpoint

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/faultbox/faultbox/fault"
)

var siteSeq atomic.Int64

// fresh registers a site whose name no other test uses.
func fresh(t testing.TB) *Site {
	return New(fmt.Sprintf("test/%s/%d", t.Name(), siteSeq.Add(1)))
}

// evals evaluates s n times in ctx and returns what each evaluation returned ("-" for none).
func evals(ctx context.Context, s *Site, n int) []string {
	out := make([]string, n)
	for i := range out {
		v, ok := s.EvalContext(ctx)
		if !ok {
			v = "-"
		}
		out[i] = v
	}
	return out
}

func TestChainsAndCounts(t *testing.T) {
	t.Parallel()
	cases := []struct {
		terms string
		want  string // one result per evaluation, "-" when nothing was returned
		fired uint64 // evaluations where a term fired (off, yield and print fire without returning)
	}{
		{"return(a)", "a a a a", 4},
		{"off", "- - - -", 4},
		{"2*return(a)->return(b)", "a a b b", 4},
		{"1*return(a)->off", "a - - -", 4},
		{"1*return(a)->2*return(b)", "a b b -", 3},
		{"0*return(a)->return(b)", "b b b b", 4},
		{"1*off->return(b)", "- b b b", 4},
		{"0%return(a)->return(b)", "b b b b", 4},
		{"150%return(a)->return(b)", "a a a a", 4}, // fail-rs: 100% and above always fire
		{"100.5%2*return(a)->return(b)", "a a b b", 4},
		{"2*yield->return(c)", "- - c c", 4},
		{"2*print->return(d)", "- - d d", 4},
		{"1*return(a)", "a - - -", 1},
	}
	for _, c := range cases {
		sc, ctx := TestScope(t)
		s := fresh(t)
		if err := sc.Enable(s.Name(), c.terms); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(evals(ctx, s, 4), " "); got != c.want {
			t.Errorf("%s: got %q, want %q", c.terms, got, c.want)
		}
		st, err := sc.Get(s.Name())
		if err != nil {
			t.Fatal(err)
		}
		if st.Hits != 4 || st.Fired != c.fired || st.Terms != c.terms {
			t.Errorf("%s: status %+v, want 4 hits, %d fired", c.terms, st, c.fired)
		}
	}
}

func TestFiredCountsNonReturning(t *testing.T) {
	t.Parallel()
	sc, ctx := TestScope(t)
	s := fresh(t)
	if err := sc.Enable(s.Name(), "2*off->0%return"); err != nil {
		t.Fatal(err)
	}
	evals(ctx, s, 5)
	st, _ := sc.Get(s.Name())
	if st.Hits != 5 || st.Fired != 2 {
		t.Fatalf("status %+v, want 5 hits and 2 fired (the two offs)", st)
	}
}

func TestReenableResetsCounts(t *testing.T) {
	t.Parallel()
	sc, ctx := TestScope(t)
	s := fresh(t)
	for range 2 {
		if err := sc.Enable(s.Name(), "1*return(x)"); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(evals(ctx, s, 2), " "); got != "x -" {
			t.Fatalf("after enable: %q, want %q", got, "x -")
		}
	}
	if st, _ := sc.Get(s.Name()); st.Hits != 4 {
		t.Fatalf("hits %d, want 4 (hit counts survive reconfiguration)", st.Hits)
	}
}

func TestProbabilitySeeded(t *testing.T) {
	t.Parallel()
	s := fresh(t)
	run := func(seed fault.Seed, terms string, n int) string {
		sc := NewScope()
		defer sc.Close()
		sc.SetSeed(seed)
		if err := sc.Enable(s.Name(), terms); err != nil {
			t.Fatal(err)
		}
		return strings.Join(evals(sc.Context(context.Background()), s, n), "")
	}
	a, b, c := run(7, "50%return(1)->return(0)", 64), run(7, "50%return(1)->return(0)", 64), run(8, "50%return(1)->return(0)", 64)
	if a != b {
		t.Errorf("same seed, different runs:\n%s\n%s", a, b)
	}
	if a == c {
		t.Errorf("seeds 7 and 8 gave the same 64 decisions: %s", a)
	}
	const n = 20000
	for _, pct := range []float64{1, 12.5, 50, 90} {
		got := run(1, fmt.Sprintf("%g%%return(1)->return(0)", pct), n)
		frac := float64(strings.Count(got, "1")) / n * 100
		if frac < pct*0.85-0.5 || frac > pct*1.15+0.5 {
			t.Errorf("%g%%: fired %.2f%% of %d", pct, frac, n)
		}
	}
	// Counts and probabilities compose: at most 3 of the 50% firings.
	got := run(3, "50%3*return(1)->return(0)", 200)
	if k := strings.Count(got, "1"); k != 3 {
		t.Errorf("50%%3*return fired %d times in 200, want 3", k)
	}
}

func TestGlobalSeedReproducesRun(t *testing.T) {
	// Not parallel: sets the process-wide seed.
	old := Seed()
	t.Cleanup(func() { SetSeed(old) })
	s := fresh(t)
	run := func(seed fault.Seed) string {
		SetSeed(seed)
		if err := Enable(s.Name(), "30%return(1)->return(0)"); err != nil {
			t.Fatal(err)
		}
		defer Disable(s.Name())
		var b strings.Builder
		for range 50 {
			v, _ := s.Eval()
			b.WriteString(v)
		}
		return b.String()
	}
	if a, b := run(11), run(11); a != b {
		t.Fatalf("seed 11 twice: %s vs %s", a, b)
	}
	if a, b := run(11), run(12); a == b {
		t.Fatalf("seeds 11 and 12 agree on 50 draws: %s", a)
	}
}

func TestRegistry(t *testing.T) {
	t.Parallel()
	// A name no earlier run (-count) has registered: sites never unregister.
	name := fmt.Sprintf("test/registry/%s/%d", t.Name(), siteSeq.Add(1))
	if err := Enable(name, "return"); !errors.Is(err, ErrNotRegistered) {
		t.Fatalf("Enable before New = %v, want ErrNotRegistered", err)
	}
	if _, err := Get(name); !errors.Is(err, ErrNotRegistered) {
		t.Fatalf("Get before New = %v, want ErrNotRegistered", err)
	}
	s := New(name)
	if New(name) != s {
		t.Fatal("New twice with one name gave two sites")
	}
	if err := Enable(name, "return(EIO)"); err != nil {
		t.Fatal(err)
	}
	if v, ok := s.Eval(); !ok || v != "EIO" {
		t.Fatalf("Eval = %q, %v; want EIO, true", v, ok)
	}
	err := s.Err()
	var fe *Error
	if !errors.Is(err, ErrInjected) || !errors.As(err, &fe) || fe.Value != "EIO" || fe.Name != name {
		t.Fatalf("Err = %#v, want an *Error with EIO", err)
	}
	if v, ok := Eval(name); !ok || v != "EIO" {
		t.Fatalf("Eval(name) = %q, %v", v, ok)
	}
	st, err := Get(name)
	if err != nil || st.Hits != 3 || st.Fired != 3 || st.Terms != "return(EIO)" || !st.Registered {
		t.Fatalf("Get = %+v, %v", st, err)
	}
	var listed bool
	for _, l := range List() {
		listed = listed || l == st
	}
	if !listed {
		t.Fatalf("List lacks %+v", st)
	}
	if err := Enable(name, "return(x"); err == nil || !strings.Contains(err.Error(), name) {
		t.Fatalf("Enable with bad terms = %v, want a parse error naming the fail point", err)
	}
	if err := Disable(name); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Eval(); ok {
		t.Fatal("Eval after Disable fired")
	}
	if st, _ := Get(name); st.Terms != "" || st.Hits != 3 {
		t.Fatalf("after Disable: %+v, want off with 3 hits kept", st)
	}
	if err := Disable(name + "/nope"); !errors.Is(err, ErrNotRegistered) {
		t.Fatalf("Disable unknown = %v", err)
	}
}

func TestConfigurePendingThenRegister(t *testing.T) {
	t.Parallel()
	base := fmt.Sprintf("test/pending/%s/%d", t.Name(), siteSeq.Add(1)) // new in every run
	t.Cleanup(func() {
		for _, n := range []string{"/late", "/never", "/byname", "/ok"} {
			_ = Disable(base + n) // leave nothing pending for the tests and examples that follow
		}
	})
	if err := Configure(base + "/late=1*return(late);" + base + "/never=panic"); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(Pending(), base+"/late") || !slices.Contains(Pending(), base+"/never") {
		t.Fatalf("Pending() = %q, want both names", Pending())
	}
	if st, err := Get(base + "/never"); err != nil || st.Registered || st.Terms != "panic" {
		t.Fatalf("Get(pending) = %+v, %v", st, err)
	}
	late := New(base + "/late")
	if v, ok := late.Eval(); !ok || v != "late" {
		t.Fatalf("site registered after FAILPOINTS: Eval = %q, %v; want the pending terms", v, ok)
	}
	if slices.Contains(Pending(), base+"/late") || !slices.Contains(Pending(), base+"/never") {
		t.Fatalf("Pending() = %q after registration", Pending())
	}
	if err := Disable(base + "/never"); err != nil || slices.Contains(Pending(), base+"/never") {
		t.Fatalf("Disable(pending) = %v, Pending = %q", err, Pending())
	}
	// By-name evaluation registers on first use and picks up pending terms.
	if err := Configure(base + "/byname=return(7)"); err != nil {
		t.Fatal(err)
	}
	if v, ok := Eval(base + "/byname"); !ok || v != "7" {
		t.Fatalf("Eval(byname) = %q, %v", v, ok)
	}
	if err := Configure(base + "/ok=off;" + base + "/bad=explode"); err == nil {
		t.Fatal("Configure with a bad entry succeeded")
	}
	if slices.Contains(Pending(), base+"/ok") {
		t.Fatal("a Configure with one bad entry applied another")
	}
	if err := Disable(base + "/byname"); err != nil {
		t.Fatal(err)
	}
}

func TestLoadEnv(t *testing.T) {
	// Not parallel: sets the process-wide seed.
	old := Seed()
	t.Cleanup(func() { SetSeed(old) })
	name := "test/env/" + t.Name()
	s := New(name)
	if err := loadEnv("0x10", name+"=return(env)"); err != nil {
		t.Fatal(err)
	}
	if Seed() != 16 {
		t.Fatalf("seed %d, want 16", Seed())
	}
	if v, ok := s.Eval(); !ok || v != "env" {
		t.Fatalf("Eval = %q, %v", v, ok)
	}
	if err := loadEnv("nope", ""); err == nil || !strings.Contains(err.Error(), EnvSeed) {
		t.Fatalf("bad seed: %v", err)
	}
	if err := loadEnv("", name+"=return(x"); err == nil || !strings.Contains(err.Error(), EnvTerms) {
		t.Fatalf("bad terms: %v", err)
	}
	if v, _ := s.Eval(); v != "env" {
		t.Fatalf("a bad FAILPOINTS changed the configuration: %q", v)
	}
	if err := Disable(name); err != nil {
		t.Fatal(err)
	}
}

func TestNewPanicsOnUnconfigurableName(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"", "a b", "a=b", "a;b", strings.Repeat("x", 257)} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New(%q) did not panic", name)
				}
			}()
			New(name)
		}()
		if _, ok := Eval(name); ok {
			t.Errorf("Eval(%q) fired", name)
		}
	}
}

func TestScopeIsolation(t *testing.T) {
	t.Parallel()
	s := New("test/isolation")
	for i := range 8 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			sc, ctx := TestScope(t)
			want := fmt.Sprint(i)
			if err := sc.Enable(s.Name(), "return("+want+")"); err != nil {
				t.Fatal(err)
			}
			for range 200 {
				if v, ok := s.EvalContext(ctx); !ok || v != want {
					t.Fatalf("scope %d saw %q, %v", i, v, ok)
				}
			}
			if _, ok := s.Eval(); ok {
				t.Fatal("a scope's terms leaked into the process-wide registry")
			}
			if _, ok := s.EvalContext(context.Background()); ok {
				t.Fatal("a scope's terms leaked into a context without the scope")
			}
			if st, _ := sc.Get(s.Name()); st.Hits != 200 {
				t.Fatalf("scope hits %d, want 200", st.Hits)
			}
		})
	}
}

func TestScopeHidesGlobal(t *testing.T) {
	t.Parallel()
	s := fresh(t)
	if err := Enable(s.Name(), "return(global)"); err != nil {
		t.Fatal(err)
	}
	defer Disable(s.Name())
	sc, ctx := TestScope(t)
	if _, ok := s.EvalContext(ctx); ok {
		t.Fatal("a scoped evaluation saw process-wide terms")
	}
	if v, _ := s.EvalContext(context.Background()); v != "global" {
		t.Fatalf("unscoped evaluation = %q", v)
	}
	if err := sc.Enable(s.Name(), "return(scoped)"); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.ErrContext(ctx).(*Error); v == nil || v.Value != "scoped" {
		t.Fatalf("ErrContext = %v", v)
	}
	if st, _ := Get(s.Name()); st.Hits != 1 {
		t.Fatalf("global hits %d, want 1", st.Hits)
	}
	if len(sc.List()) != 1 || sc.List()[0].Hits != 1 {
		t.Fatalf("scope list %+v", sc.List())
	}
	sc.Close()
	if err := sc.Enable(s.Name(), "off"); !errors.Is(err, ErrScopeClosed) {
		t.Fatalf("Enable after Close = %v", err)
	}
	if _, ok := FromContext(ctx); !ok {
		t.Fatal("FromContext lost the scope")
	}
}

// TestScopeCloseRacesEnable: an Enable racing Close either lands before Close (and Close
// turns it off) or fails with ErrScopeClosed; it never leaves the site armed by a closed scope.
func TestScopeCloseRacesEnable(t *testing.T) {
	t.Parallel()
	const rounds = 1000
	s := fresh(t)
	for range rounds {
		sc := NewScope()
		ctx := sc.Context(t.Context())
		first := make(chan struct{})
		done := make(chan error, 1)
		go func() {
			for i := 0; ; i++ {
				err := sc.Enable(s.Name(), "return(leak)")
				if errors.Is(err, ErrScopeClosed) {
					done <- nil
					return
				}
				if err != nil {
					done <- err
					return
				}
				if i == 0 {
					close(first)
				}
			}
		}()
		<-first
		sc.Close()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if n := s.armed.Load(); n != 0 {
			t.Fatalf("after Close, site armed by %d configurations", n)
		}
		if v, ok := s.EvalContext(ctx); ok {
			t.Fatalf("after Close, the closed scope's fail point fired: %q", v)
		}
		for _, st := range sc.List() {
			if st.Terms != "" {
				t.Fatalf("after Close, the scope lists %+v", st)
			}
		}
		if err := sc.Enable(s.Name(), "off"); !errors.Is(err, ErrScopeClosed) {
			t.Fatalf("Enable after Close = %v, want ErrScopeClosed", err)
		}
	}
}

// TestSleepRunsOutsideLocks proves without a clock that sleep holds no lock: n goroutines
// enter a sleep(1h) together (n hits, none returned), then each is released alone by its own
// context, in a fixed order, while the others stay asleep. Were the action run under a lock,
// the goroutines would be queued behind whichever holds it, and releasing goroutine 0 first
// would not return it. The wall-clock comparison with the peers (8 goroutines, one sleep each)
// is BenchmarkFailpointParallelSleep in the bench module.
func TestSleepRunsOutsideLocks(t *testing.T) {
	t.Parallel()
	const n = 8
	sc, ctx := TestScope(t)
	s := fresh(t)
	if err := sc.Enable(s.Name(), "sleep(1h)"); err != nil {
		t.Fatal(err)
	}
	deadline, cancelAll := context.WithTimeout(ctx, time.Minute)
	defer cancelAll()
	var cancels [n]context.CancelFunc
	var done [n]chan struct{}
	for i := range n {
		gctx, cancel := context.WithCancel(deadline)
		cancels[i], done[i] = cancel, make(chan struct{})
		go func() {
			defer close(done[i])
			s.EvalContext(gctx)
		}()
	}
	if err := sc.WaitHits(deadline, s.Name(), n); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		for j := i; j < n; j++ {
			select {
			case <-done[j]:
				t.Fatalf("goroutine %d left sleep(1h) before its context ended", j)
			default:
			}
		}
		cancels[i]()
		select {
		case <-done[i]:
		case <-deadline.Done():
			t.Fatalf("goroutine %d of %d still in the fail point after its context ended: "+
				"the sleep is serialised", i, n)
		}
	}
	if st, _ := sc.Get(s.Name()); st.Hits != n || st.Fired != n {
		t.Fatalf("status %+v, want %d hits and %d fired", st, n, n)
	}
}

// blockingWriter records each Write on entered and holds it until release is closed.
type blockingWriter struct {
	entered chan struct{}
	release chan struct{}
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	w.entered <- struct{}{}
	<-w.release
	return len(p), nil
}

// TestActionsRunTogether: n goroutines are inside the same `print` action at the same time
// (each blocked in the output's Write), which no lock around actions would allow.
func TestActionsRunTogether(t *testing.T) {
	t.Parallel()
	const n = 8
	sc, ctx := TestScope(t)
	w := &blockingWriter{entered: make(chan struct{}, n), release: make(chan struct{})}
	sc.SetOutput(w)
	s := fresh(t)
	if err := sc.Enable(s.Name(), "print(inside)"); err != nil {
		t.Fatal(err)
	}
	deadline, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(w.release) }) }
	defer release() // let the goroutines go even when the test fails
	for range n {
		wg.Go(func() { s.EvalContext(ctx) })
	}
	for i := range n {
		select {
		case <-w.entered:
		case <-deadline.Done():
			t.Fatalf("only %d of %d goroutines inside the print action at once", i, n)
		}
	}
	release()
	wg.Wait()
}

func TestSleepHonoursContext(t *testing.T) {
	t.Parallel()
	sc, ctx := TestScope(t)
	s := fresh(t)
	if err := sc.Enable(s.Name(), "sleep(1h)"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { s.EvalContext(ctx); close(done) }()
	if err := sc.WaitHits(ctx, s.Name(), 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("sleep(1h) ignored its context")
	}
}

func TestPause(t *testing.T) {
	t.Parallel()
	sc, ctx := TestScope(t)
	s := fresh(t)
	if err := sc.Enable(s.Name(), "pause"); err != nil {
		t.Fatal(err)
	}
	const n = 4
	var released atomic.Int32
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if _, ok := s.EvalContext(ctx); ok {
				t.Error("a paused evaluation returned a value")
			}
			released.Add(1)
		})
	}
	if err := sc.WaitHits(ctx, s.Name(), n); err != nil {
		t.Fatal(err)
	}
	if r := released.Load(); r != 0 {
		t.Fatalf("%d evaluations left pause before reconfiguration", r)
	}
	if err := sc.Enable(s.Name(), "off"); err != nil { // reconfiguring releases them
		t.Fatal(err)
	}
	wg.Wait()

	// Context cancellation releases a pause too.
	if err := sc.Enable(s.Name(), "pause"); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { s.EvalContext(cctx); close(done) }()
	if err := sc.WaitHits(ctx, s.Name(), n+1); err != nil {
		t.Fatal(err)
	}
	cancel()
	<-done

	// And so does the end of the scope (as when a test ends).
	done2 := make(chan struct{})
	go func() { s.EvalContext(ctx); close(done2) }()
	if err := sc.WaitHits(ctx, s.Name(), n+2); err != nil {
		t.Fatal(err)
	}
	sc.Close()
	<-done2
}

func TestPauseGlobalDisable(t *testing.T) {
	t.Parallel()
	s := fresh(t)
	if err := Enable(s.Name(), "pause"); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { s.Eval(); close(done) }()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := WaitHits(ctx, s.Name(), 1); err != nil {
		t.Fatal(err)
	}
	if err := Disable(s.Name()); err != nil {
		t.Fatal(err)
	}
	<-done
}

func TestWaitHitsBoundedByContext(t *testing.T) {
	t.Parallel()
	sc, ctx := TestScope(t)
	s := fresh(t)
	ctx2, cancel := context.WithCancel(ctx)
	cancel()
	if err := sc.WaitHits(ctx2, s.Name(), 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("WaitHits on a cancelled context = %v", err)
	}
	if err := sc.WaitHits(ctx, "test/none/"+t.Name(), 1); !errors.Is(err, ErrNotRegistered) {
		t.Fatalf("WaitHits unknown = %v", err)
	}
	if err := WaitHits(ctx2, s.Name(), 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("global WaitHits on a cancelled context = %v", err)
	}
	// Sequencing: a goroutine proceeds step by step, the test waits on each hit.
	if err := sc.Enable(s.Name(), "off"); err != nil {
		t.Fatal(err)
	}
	go func() {
		for range 5 {
			s.EvalContext(ctx)
		}
	}()
	if err := sc.WaitHits(ctx, s.Name(), 5); err != nil {
		t.Fatal(err)
	}
}

func TestPanicAndPrint(t *testing.T) {
	t.Parallel()
	sc, ctx := TestScope(t)
	var out bytes.Buffer
	sc.SetOutput(&out)
	s := fresh(t)
	if err := sc.Enable(s.Name(), "1*print->1*print(hello)->1*panic->panic(boom)"); err != nil {
		t.Fatal(err)
	}
	s.EvalContext(ctx)
	s.EvalContext(ctx)
	want := "failpoint " + s.Name() + " executed.\nhello\n" // fail-rs: "failpoint {name} executed."
	if out.String() != want {
		t.Fatalf("print wrote %q, want %q", out.String(), want)
	}
	for _, msg := range []string{"failpoint " + s.Name() + " panic", "boom"} {
		func() {
			defer func() {
				err, _ := recover().(error)
				if !errors.Is(err, ErrInjected) || err.Error() != msg {
					t.Errorf("panic value %v, want an injected error %q", err, msg)
				}
			}()
			s.EvalContext(ctx)
		}()
	}
}

func TestDelayBusyWaits(t *testing.T) {
	t.Parallel()
	sc, ctx := TestScope(t)
	s := fresh(t)
	if err := sc.Enable(s.Name(), "delay(20)"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	s.EvalContext(ctx)
	if took := time.Since(start); took < 20*time.Millisecond {
		t.Fatalf("delay(20) took %v", took)
	}
}

// TestConcurrentCounts: a count is spent exactly, however many goroutines race for it, while
// the configuration changes under them.
func TestConcurrentCounts(t *testing.T) {
	t.Parallel()
	sc, ctx := TestScope(t)
	s := fresh(t)
	if err := sc.Enable(s.Name(), "100*return(x)"); err != nil {
		t.Fatal(err)
	}
	var fired atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if _, ok := s.EvalContext(ctx); ok {
					fired.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if fired.Load() != 100 {
		t.Fatalf("100*return fired %d times", fired.Load())
	}
	// Reconfigure while evaluating: no race, no lost evaluation.
	other := fresh(t)
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					other.EvalContext(ctx)
					other.Eval()
				}
			}
		})
	}
	for i := range 200 {
		terms := []string{"return", "off", "50%yield->return", "2*return->off"}[i%4]
		if err := sc.Enable(other.Name(), terms); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			_ = sc.Disable(other.Name())
		}
	}
	close(stop)
	wg.Wait()
}

func TestFastPathAllocs(t *testing.T) {
	// Not parallel: AllocsPerRun counts every allocation of the process.
	s := New("test/fastpath")
	ctx := context.Background()
	allocs := testing.AllocsPerRun(1000, func() {
		s.Eval()
		s.EvalContext(ctx)
		_ = s.Err()
		Eval("test/fastpath")
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per evaluation with nothing configured", allocs)
	}
	// And a site stays cheap while another is active.
	other := New("test/fastpath/other")
	if err := Enable(other.Name(), "off"); err != nil {
		t.Fatal(err)
	}
	defer Disable(other.Name())
	allocs = testing.AllocsPerRun(1000, func() {
		s.Eval()
		s.EvalContext(ctx)
		other.Eval()
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per evaluation with another fail point active", allocs)
	}
}

func BenchmarkSite(b *testing.B) {
	s := New("bench/site")
	b.Run("nothing-configured", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := s.Eval(); ok {
				b.Fatal("fired")
			}
		}
	})
	other := New("bench/other")
	_ = Enable(other.Name(), "off")
	b.Run("other-active", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := s.Eval(); ok {
				b.Fatal("fired")
			}
		}
	})
	_ = Enable(s.Name(), "off")
	b.Run("active-off", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s.Eval()
		}
	})
	_ = Enable(s.Name(), "return(x)")
	b.Run("active-return", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s.Eval()
		}
	})
	DisableAll()
}
