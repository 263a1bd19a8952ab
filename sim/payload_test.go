package sim

import (
	"fmt"
	"net/netip"
	"runtime"
	"testing"
	"time"
)

// echo records every message it gets and, unless quiet, answers it with its payload one byte
// longer; it is a Borrower.
type echo struct {
	got   *[]string
	quiet bool
	buf   *[]byte // the answer, built in a reused buffer (Send copies it)
}

func (echo) Start(*Process)         {}
func (echo) Timer(*Process, string) {}
func (echo) BorrowsPayloads()       {}
func (h echo) Receive(p *Process, m Message) {
	if h.got != nil {
		*h.got = append(*h.got, string(m.Payload)) // a copy: nothing of m.Payload is kept
	}
	if !h.quiet && len(m.Payload) < 200 {
		b := append(append((*h.buf)[:0], m.Payload...), byte(len(m.Payload)))
		*h.buf = b
		p.Send(m.From, b)
	}
}

// keeper keeps every payload it receives as it is: it is not a Borrower.
type keeper struct{ kept *[][]byte }

func (keeper) Start(*Process)                  {}
func (keeper) Timer(*Process, string)          {}
func (h keeper) Receive(_ *Process, m Message) { *h.kept = append(*h.kept, m.Payload) }

// A Borrower's payloads are recycled: a long exchange between two of them allocates for the
// messages in flight, not for every message, and each message still arrives as it was sent.
func TestBorrowerPayloadsAreRecycled(t *testing.T) {
	var got []string
	w := New(1, Options{})
	w.SpawnHandler(ip1, func() Handler { return echo{got: &got, buf: new([]byte)} })
	w.SpawnHandler(ip2, func() Handler { return echo{buf: new([]byte)} })
	w.RunUntilIdle()
	w.Process(ip1).Send(ip2, []byte("x"))
	if err := w.RunUntilIdle(); err != nil {
		t.Fatal(err)
	}
	for i, s := range got { // ip1 receives the odd lengths: 2, 4, ...
		if want := wantEcho(2 * (i + 1)); s != want {
			t.Fatalf("message %d: %q, want %q", i, s, want)
		}
	}
	// Steady state, in a world of its own where nothing records: the classes' free lists serve
	// every payload, so 200 messages allocate next to nothing (a round measures 1-2 KB, the
	// test's and runtime's own); without recycling they allocate their classes' bytes, some
	// 30 KB.
	w = New(1, Options{})
	w.SpawnHandler(ip1, func() Handler { return echo{buf: new([]byte)} })
	w.SpawnHandler(ip2, func() Handler { return echo{buf: new([]byte)} })
	round := func() {
		w.Process(ip1).Send(ip2, []byte("y"))
		w.RunUntilIdle()
	}
	round()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 20 {
		round()
	}
	runtime.ReadMemStats(&after)
	if perRound := (after.TotalAlloc - before.TotalAlloc) / 20; perRound > 8<<10 {
		t.Errorf("%d bytes allocated a round of 200 messages between Borrowers: want under 8 KB", perRound)
	}
}

func wantEcho(n int) string {
	b := []byte("x")
	for len(b) < n {
		b = append(b, byte(len(b)))
	}
	return string(b)
}

// A handler that is not a Borrower keeps its payloads intact while many later messages pass,
// and a duplicated message arrives whole twice, even when the first copy went to a Borrower
// that gave it back.
func TestKeptPayloadsAndDuplicatesStayIntact(t *testing.T) {
	var kept [][]byte
	ip3 := netip.MustParseAddr("10.0.0.3")
	w := New(1, Options{Network: Network{LatencyMin: time.Millisecond, LatencyMax: 5 * time.Millisecond, DuplicateProbability: 1}})
	w.SpawnHandler(ip1, func() Handler { return keeper{kept: &kept} })
	var got []string
	w.SpawnHandler(ip2, func() Handler { return echo{got: &got, quiet: true} })
	w.SpawnHandler(ip3, func() Handler { return echo{quiet: true} })
	w.RunUntilIdle()
	for i := range 50 {
		w.Process(ip3).Send(ip1, fmt.Appendf(nil, "kept %011d", i)) // 16 bytes: the size of a class
		w.Process(ip3).Send(ip2, fmt.Appendf(nil, "%0*d", 10+i%20, i))
		w.RunFor(time.Millisecond)
	}
	if err := w.RunUntilIdle(); err != nil {
		t.Fatal(err)
	}
	if len(kept) != 100 {
		t.Fatalf("the keeper got %d messages, want 100 (50, each duplicated)", len(kept))
	}
	count := map[string]int{}
	for _, b := range kept {
		count[string(b)]++
	}
	for i := range 50 {
		if s := fmt.Sprintf("kept %011d", i); count[s] != 2 {
			t.Errorf("%q kept %d times, want 2 (payloads changed under the keeper: %q)", s, count[s], kept)
		}
	}
	seen := map[string]int{}
	for _, s := range got {
		seen[s]++
	}
	for i := range 50 {
		if s := fmt.Sprintf("%0*d", 10+i%20, i); seen[s] != 2 {
			t.Errorf("%q arrived %d times at the Borrower, want 2", s, seen[s])
		}
	}
}

// A payload sent while its receiver was down is pooled (most such messages are lost); if a
// handler that keeps payloads has started by the time it arrives, it gets it clipped to its
// length, as every payload it gets: an append reallocates rather than writing over room an
// earlier message may have used.
func TestAKeeperGetsClippedPayloads(t *testing.T) {
	t.Parallel()
	var kept [][]byte
	w := New(1, Options{})
	w.SpawnHandler(ip1, func() Handler { return keeper{kept: &kept} })
	w.SpawnHandler(ip2, func() Handler { return echo{quiet: true} })
	w.RunUntilIdle()
	w.Stop(ip1, Graceful)
	w.Process(ip2).Send(ip1, []byte("sent while down")) // 15 bytes: pooled in the 16-byte class
	w.Start(ip1)
	if err := w.RunUntilIdle(); err != nil {
		t.Fatal(err)
	}
	if len(kept) != 1 || string(kept[0]) != "sent while down" || cap(kept[0]) != len(kept[0]) {
		t.Fatalf("the keeper got %q (capacity %d), want it clipped to its length", kept, cap(kept[0]))
	}
}
