package cluster

import (
	"bytes"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestFrozenNormalHash(t *testing.T) {
	t.Parallel()
	c, _, err := Run(Params{Seed: 42, Ops: 200, Keys: 16, Scenario: Normal})
	if err != nil {
		t.Fatal(err)
	}
	if got := HashSnapshot(c.Snapshot()); got != NormalHash {
		t.Fatalf("normal scenario hash = %s, want frozen %s", got, NormalHash)
	}
}

func TestFrozenFaultHash(t *testing.T) {
	t.Parallel()
	c, _, err := Run(Params{Seed: 7, Ops: 2000, Keys: 128, Scenario: Fault})
	if err != nil {
		t.Fatal(err)
	}
	if got := HashSnapshot(c.Snapshot()); got != FaultHash {
		t.Fatalf("fault scenario hash = %s, want frozen %s", got, FaultHash)
	}
}

// Hash streams the encoding through SHA-256 in pieces: the same digest as the whole snapshot's,
// for snapshots smaller and larger than a piece.
func TestHashStreamsTheSnapshot(t *testing.T) {
	t.Parallel()
	for _, p := range []Params{{Seed: 7, Ops: 2000, Keys: 128, Scenario: Fault}, {Seed: 42, Ops: 200, Keys: 16, Scenario: Normal},
		{Seed: 3, Ops: 5, Keys: 2, Scenario: Normal}, {Seed: 9, Ops: 600, Keys: 1000, Scenario: Fault}} {
		c, _, err := Run(p)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := c.Hash(), HashSnapshot(c.Snapshot()); got != want {
			t.Errorf("%+v: Hash = %s, want HashSnapshot(Snapshot()) = %s (%d bytes)", p, got, want, c.SnapshotSize())
		}
	}
	if got, want := New().Hash(), HashSnapshot(New().Snapshot()); got != want {
		t.Errorf("empty cluster: Hash = %s, want %s", got, want)
	}
}

func TestRandVectors(t *testing.T) {
	t.Parallel()
	var zero Rand
	if got := zero.Next(); got != 0x8b57dafca0cee644 {
		t.Errorf("state 0: first Next = %#x, want 0x8b57dafca0cee644", got)
	}
	r := NewRand(42)
	for i, want := range []uint64{0x28d3c9252e01f1bf, 0x488e98293832f91f, 0x8e6e25fde867f756} {
		if got := r.Next(); got != want {
			t.Errorf("seed 42: Next #%d = %#x, want %#x", i+1, got, want)
		}
	}
}

func TestStepOpDrawsThreeWordsEvenForDel(t *testing.T) {
	t.Parallel()
	// Find a seed whose first op is a Del, then check that the stream after it is the stream
	// after three words.
	for seed := uint64(0); seed < 1000; seed++ {
		r := NewRand(seed)
		op := StepOp(r, 10)
		if op.Kind != Del {
			continue
		}
		ref := NewRand(seed)
		ref.Next()
		ref.Next()
		ref.Next()
		if r.Next() != ref.Next() {
			t.Fatalf("seed %d: a Del op did not consume exactly three words", seed)
		}
		return
	}
	t.Fatal("no seed below 1000 starts with a Del")
}

func TestSnapshotSizes(t *testing.T) {
	t.Parallel()
	empty := New()
	if got := len(empty.Snapshot()); got != 99 {
		t.Errorf("empty cluster: %d bytes, want 99", got)
	}
	one := New()
	one.Submit(Op{Kind: Put, K: 3, V: 4})
	if got := len(one.Snapshot()); got != 246 {
		t.Errorf("after one Put: %d bytes, want 246", got)
	}
	normal, _, err := Run(Params{Seed: 42, Ops: 200, Keys: 16, Scenario: Normal})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(normal.Snapshot()); got != 20523 {
		t.Errorf("normal scenario: %d bytes, want 20523", got)
	}
	for _, c := range []*Cluster{empty, one, normal} {
		if got, want := len(c.Snapshot()), c.SnapshotSize(); got != want {
			t.Errorf("SnapshotSize = %d, encoding is %d bytes", want, got)
		}
	}
}

func TestDelEncodesValueAsZero(t *testing.T) {
	t.Parallel()
	c := New()
	c.Submit(Op{Kind: Del, K: 1, V: 999})
	snap := c.Snapshot()
	// The leader's only entry: v is the last 8 bytes before the kv length.
	entryEnd := nodeHeaderBytes + entryBytes
	if v := snap[entryEnd-8 : entryEnd]; !bytes.Equal(v, make([]byte, 8)) {
		t.Fatalf("Del entry encodes v as % x, want zeros", v)
	}
}

// A down follower whose log is long enough still contributes no ack.
func TestDownFollowerNeverAcks(t *testing.T) {
	t.Parallel()
	c := New()
	for i := range 3 {
		c.Submit(Op{Kind: Put, K: int64(i), V: int64(i)})
	}
	// Give follower 1 a log longer than the leader's, then take both followers down: if a down
	// follower could ack, follower 1's log would make a quorum for the next entry.
	extra := append([]Entry(nil), c.Nodes[0].Log...)
	extra = append(extra, Entry{Term: 1, Index: 4, Op: Op{Kind: Put, K: 9, V: 9}},
		Entry{Term: 1, Index: 5, Op: Op{Kind: Put, K: 9, V: 9}})
	c.Nodes[1].Log = extra
	c.SetFollowerUp(1, false)
	c.SetFollowerUp(2, false)
	if acks := c.Submit(Op{Kind: Put, K: 7, V: 7}); acks != 1 {
		t.Fatalf("acks = %d with both followers down, want 1 (the leader alone)", acks)
	}
	if got := c.Nodes[0].CommitIndex; got != 3 {
		t.Fatalf("leader commit index = %d, want 3 (entry 4 must not commit)", got)
	}
	if _, ok := c.Nodes[0].KV[7]; ok {
		t.Fatal("uncommitted Put was applied on the leader")
	}
	// The same cluster with follower 1 up does commit: the log length alone was enough.
	c.SetFollowerUp(1, true)
	if acks := c.Submit(Op{Kind: Put, K: 8, V: 8}); acks != 2 {
		t.Fatalf("acks = %d with follower 1 up and holding the entry, want 2", acks)
	}
}

func TestAppendExistingIndexIsNoOp(t *testing.T) {
	t.Parallel()
	n := newNode(1)
	n.append(Entry{Term: 1, Index: 1, Op: Op{Kind: Put, K: 1, V: 1}})
	n.append(Entry{Term: 1, Index: 1, Op: Op{Kind: Put, K: 2, V: 2}})
	if len(n.Log) != 1 || n.Log[0].Op.K != 1 {
		t.Fatalf("log = %+v, want the first entry only", n.Log)
	}
}

func TestAppendGapPanics(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Fatal("appending index 3 to an empty log did not fail loudly")
		}
	}()
	n := newNode(1)
	n.append(Entry{Term: 1, Index: 3})
}

// CatchUp works from a copy of the leader's log: the follower never shares the leader's
// backing array, so later leader appends cannot show through.
func TestCatchUpCopiesLeaderLog(t *testing.T) {
	t.Parallel()
	c := New()
	c.SetFollowerUp(1, false)
	for i := range 5 {
		c.Submit(Op{Kind: Put, K: int64(i), V: int64(10 + i)})
	}
	if len(c.Nodes[1].Log) != 0 {
		t.Fatalf("down follower received %d entries", len(c.Nodes[1].Log))
	}
	c.SetFollowerUp(1, true)
	if n := c.CatchUp(1); n != 5 {
		t.Fatalf("CatchUp appended %d entries, want 5", n)
	}
	f := &c.Nodes[1]
	if f.CommitIndex != 5 || len(f.KV) != 5 || f.KV[4] != 14 {
		t.Fatalf("follower after catch-up: commit %d, kv %v", f.CommitIndex, f.KV)
	}
	c.Nodes[0].Log[0].Op.V = -1 // scribble on the leader's log
	if f.Log[0].Op.V != 10 {
		t.Fatal("follower's log aliases the leader's: a write to the leader showed through")
	}
	if n := c.CatchUp(1); n != 0 {
		t.Fatalf("second CatchUp appended %d entries, want 0", n)
	}
}

// With ops not divisible by 4, the window [ops/2, ops*3/4) still ends inside the loop and the
// follower ends caught up.
func TestSmallOpsFaultConverges(t *testing.T) {
	t.Parallel()
	for _, ops := range []uint64{1, 2, 3, 5, 6, 7} {
		c, s, err := Run(Params{Seed: 1, Ops: ops, Keys: 4, Scenario: Fault})
		if err != nil {
			t.Fatal(err)
		}
		if s.DownStart != ops/2 || s.DownEnd != ops*3/4 {
			t.Errorf("ops %d: window [%d, %d), want [%d, %d)", ops, s.DownStart, s.DownEnd, ops/2, ops*3/4)
		}
		if s.Missed != s.DownEnd-s.DownStart || s.CaughtUp != s.Missed {
			t.Errorf("ops %d: missed %d, caught up %d, window length %d", ops, s.Missed, s.CaughtUp, s.DownEnd-s.DownStart)
		}
		assertConverged(t, c, ops)
	}
}

// The catch-up after the loop runs when the down window reaches the end of the run.
func TestPostLoopCatchUp(t *testing.T) {
	t.Parallel()
	for _, ops := range []uint64{3, 5} {
		p := Params{Seed: 9, Ops: ops, Keys: 3, Scenario: Fault}
		c, s := run(p, ops/2, ops) // the window never closes inside the loop
		if !c.Nodes[1].Up {
			t.Fatalf("ops %d: follower 1 still down after the run", ops)
		}
		wantMissed := ops - ops/2
		if s.Missed != wantMissed || s.CaughtUp != wantMissed || s.DownEnd != ops {
			t.Fatalf("ops %d: missed %d, caught up %d, down end %d; want %d, %d, %d",
				ops, s.Missed, s.CaughtUp, s.DownEnd, wantMissed, wantMissed, ops)
		}
		assertConverged(t, c, ops)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	for _, p := range []Params{
		{Keys: 0},
		{Keys: 1, Ops: MaxOps + 1},
		{Keys: 1, Scenario: Scenario(9)},
	} {
		if _, _, err := Run(p); err == nil {
			t.Errorf("Run(%+v) accepted invalid parameters", p)
		}
	}
	if _, err := ParseScenario("chaos"); err == nil || !bytes.Contains([]byte(err.Error()), []byte("normal, fault")) {
		t.Errorf("ParseScenario(chaos) = %v, want an error listing normal, fault", err)
	}
}

// Property: for many workloads, both scenarios end with all three nodes identical, every entry
// committed, and two runs of the same parameters give the same bytes.
func TestRunProperties(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	n := 60
	if testing.Short() {
		n = 10
	}
	for range n {
		p := Params{
			Seed:     r.Uint64(),
			Ops:      r.Uint64N(5001),
			Keys:     1 + r.Uint64N(300),
			Scenario: Scenario(r.IntN(2)),
		}
		checkRun(t, p)
	}
}

func FuzzRun(f *testing.F) {
	f.Add(uint64(42), uint16(200), uint64(16), false)
	f.Add(uint64(7), uint16(2000), uint64(128), true)
	f.Add(uint64(0), uint16(0), uint64(1), true)
	f.Fuzz(func(t *testing.T, seed uint64, ops uint16, keys uint64, fault bool) {
		if keys == 0 {
			keys = 1
		}
		sc := Normal
		if fault {
			sc = Fault
		}
		checkRun(t, Params{Seed: seed, Ops: uint64(ops) % 5001, Keys: keys, Scenario: sc})
	})
}

func checkRun(t *testing.T, p Params) {
	t.Helper()
	c1, _, err := Run(p)
	if err != nil {
		t.Fatalf("%+v: %v", p, err)
	}
	c2, _, _ := Run(p)
	if !bytes.Equal(c1.Snapshot(), c2.Snapshot()) {
		t.Fatalf("%+v: two runs gave different snapshots", p)
	}
	assertConverged(t, c1, p.Ops)
}

func assertConverged(t *testing.T, c *Cluster, ops uint64) {
	t.Helper()
	leader := &c.Nodes[0]
	if uint64(len(leader.Log)) != ops || leader.CommitIndex != ops {
		t.Fatalf("leader: log %d, commit %d, want both %d", len(leader.Log), leader.CommitIndex, ops)
	}
	for i := 1; i < 3; i++ {
		f := &c.Nodes[i]
		if !slices.Equal(f.Log, leader.Log) || f.CommitIndex != leader.CommitIndex || !maps.Equal(f.KV, leader.KV) {
			t.Fatalf("node %d differs from the leader: log %d/%d, commit %d/%d, keys %d/%d",
				i, len(f.Log), len(leader.Log), f.CommitIndex, leader.CommitIndex, len(f.KV), len(leader.KV))
		}
	}
}

func BenchmarkRun(b *testing.B) {
	b.ReportAllocs()
	p := Params{Seed: 7, Ops: 2000, Keys: 128, Scenario: Fault}
	var buf []byte
	for b.Loop() {
		c, _, err := Run(p)
		if err != nil {
			b.Fatal(err)
		}
		buf = c.AppendSnapshot(buf[:0])
		if HashSnapshot(buf) != FaultHash {
			b.Fatal("wrong hash")
		}
	}
}
