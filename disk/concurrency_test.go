package disk

import (
	"sync/atomic"
	"testing"
	"time"
)

// blockOnce is a predicate that, the first time it is asked, waits until released: it
// holds an operation in progress so that another can start during it, deterministically.
type blockOnce struct {
	first            atomic.Bool
	entered, release chan struct{}
}

func (b *blockOnce) Match(a Access) bool {
	if b.first.CompareAndSwap(false, true) {
		close(b.entered)
		<-b.release
	}
	return false
}

func (b *blockOnce) String() string { return "block-once" }

// Outside a world that serialises them, two goroutines whose operations on one process's
// disk overlap are reported: a concurrent-use event and counter, since the order of their
// fault draws is then the scheduler's, not the seed's.
func TestConcurrentUseIsReported(t *testing.T) {
	t.Parallel()
	st, _ := NewStorage(1, Config{}, nil)
	b := &blockOnce{entered: make(chan struct{}), release: make(chan struct{})}
	entered := b.entered
	if err := st.SetRules([]Rule{{When: b, Err: 5}}); err != nil {
		t.Fatal(err)
	}
	fsys := st.FS("p")
	done := make(chan error)
	go func() {
		_, err := fsys.Create("a") // blocks in the predicate, in progress
		done <- err
	}()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the first operation never started")
	}
	if _, err := fsys.Create("b"); err != nil { // overlaps the first
		t.Fatal(err)
	}
	close(b.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	c := st.Counters()
	if c.Concurrent != 1 {
		t.Fatalf("concurrent = %d, want 1 (%v)", c.Concurrent, st.Events())
	}
	if e := st.Events()[0]; e.Kind != KindConcurrentUse || e.Where != "b" {
		t.Fatalf("event %v, want concurrent-use on b", e)
	}
	// Taking turns is not overlap: nothing more is reported.
	for i := 0; i < 100; i++ {
		_, _ = fsys.Stat("a")
	}
	if c := st.Counters(); c.Concurrent != 1 {
		t.Fatalf("sequential use reported: %d", c.Concurrent)
	}
}

// A latency sleep is not use: under a world that runs another task while one waits out its
// disk latency, the other's operations are not concurrent with it.
func TestLatencySleepIsNotUse(t *testing.T) {
	t.Parallel()
	clk := &parkingClock{VirtualClock: NewVirtualClock(), parked: make(chan struct{}), wake: make(chan struct{})}
	cfg := Config{WriteLatency: LatencyRange{Min: time.Millisecond, Max: time.Millisecond}}
	st, _ := NewStorage(1, cfg, clk)
	fsys := st.FS("p")
	done := make(chan error)
	go func() {
		_, err := fsys.Create("a") // parks in its latency sleep
		done <- err
	}()
	<-clk.parked
	clk.noPark()
	if _, err := fsys.Create("b"); err != nil {
		t.Fatal(err)
	}
	close(clk.wake)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if c := st.Counters(); c.Concurrent != 0 {
		t.Fatalf("an operation during another's latency sleep was reported as concurrent: %v", st.Events())
	}
}

// parkingClock parks the first Sleep until woken, as a world would while another task runs.
type parkingClock struct {
	*VirtualClock
	parked, wake chan struct{}
	skip         chan struct{}
}

func (c *parkingClock) noPark() { c.skip = make(chan struct{}) }

func (c *parkingClock) Sleep(d time.Duration) {
	if c.skip == nil {
		close(c.parked)
		<-c.wake
	}
	c.VirtualClock.Sleep(d)
}
