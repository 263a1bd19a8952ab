package explore

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func explore(t *testing.T, tg Target, o Options) *Result {
	t.Helper()
	res, err := Explore(context.Background(), tg, o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func files(t *testing.T, r *Result) (runs, result []byte) {
	t.Helper()
	dir := t.TempDir()
	if err := r.Write(dir); err != nil {
		t.Fatal(err)
	}
	runs, _ = os.ReadFile(filepath.Join(dir, RunsFile))
	result, _ = os.ReadFile(filepath.Join(dir, ResultFile))
	return runs, result
}

// The same options give the same results files, whatever the number of workers.
func TestExplorationRepeats(t *testing.T) {
	t.Parallel()
	tg := NewDbctl(100, 8, "ack-before-sync", nil)
	for _, s := range []Strategy{Random, Aimed, Lineage} {
		o := Options{Strategy: s, Seed: 5, Runs: 24, Shrink: true}
		a1, a2 := files(t, explore(t, tg, o))
		o.Workers = 3
		b1, b2 := files(t, explore(t, tg, o))
		if !bytes.Equal(a1, b1) || !bytes.Equal(a2, b2) {
			t.Errorf("%s: one worker and three wrote different results", s)
		}
		if bytes.Count(a1, []byte("\n")) != 24 {
			t.Errorf("%s: %d runs written, want 24", s, bytes.Count(a1, []byte("\n")))
		}
	}
}

// Shards merged are the single machine's exploration, byte for byte.
func TestShardsMergeToTheSingleRun(t *testing.T) {
	t.Parallel()
	for _, s := range []Strategy{Random, Lineage} {
		shardsMerge(t, s)
	}
}

func shardsMerge(t *testing.T, s Strategy) {
	tg := NewDbctl(100, 8, "ack-before-sync", nil)
	o := Options{Strategy: s, Seed: 9, Runs: 30, Shrink: true}
	single := explore(t, tg, o)
	var shards []*Result
	for i := range 3 {
		o.Shard, o.Shards = i, 3
		dir := t.TempDir()
		if err := explore(t, tg, o).Write(dir); err != nil {
			t.Fatal(err)
		}
		back, err := Read(dir)
		if err != nil {
			t.Fatal(err)
		}
		shards = append(shards, back)
	}
	merged, err := Merge([]*Result{shards[2], shards[0], shards[1]})
	if err != nil {
		t.Fatal(err)
	}
	s1, s2 := files(t, single)
	m1, m2 := files(t, merged)
	if !bytes.Equal(s1, m1) || !bytes.Equal(s2, m2) {
		t.Fatalf("%s: merged shards differ from the single run:\n%s\n---\n%s", s, s2, m2)
	}
	if len(single.Failures) == 0 {
		t.Fatalf("%s: the exploration found nothing: the test shows little", s)
	}
	if _, err := Merge(shards[:2]); err == nil || !strings.Contains(err.Error(), "2 of 3 shards") {
		t.Fatalf("a missing shard: %v", err)
	}
}

// A failure's plan shrinks to the one fault that matters, and its replay command names it.
func TestShrinkToTheFaultThatMatters(t *testing.T) {
	t.Parallel()
	tg := NewDbctl(200, 16, "ack-before-sync", nil)
	f := Failure{Check: "acknowledged entries survive a crash", Seed: 1, Plan: []string{
		"at 10ms partition 10.0.0.1 10.0.0.3 for 5ms", "at 30ms reboot 10.0.0.3 for 5ms",
		"at 80ms crash 10.0.0.2 for 10ms", "at 120ms isolate 10.0.0.1 for 5ms"}}
	out, err := tg.Run(context.Background(), f.Seed, f.Plan)
	if err != nil || !out.Failed || out.Check != f.Check {
		t.Fatalf("the full plan does not fail as expected: %+v %v", out, err)
	}
	shrink(context.Background(), tg, &f)
	if !reflect.DeepEqual(f.Minimal, []string{"at 80ms crash 10.0.0.2 for 10ms"}) {
		t.Fatalf("minimal plan %v (after %d runs)", f.Minimal, f.ShrinkRuns)
	}
	if !strings.Contains(f.Replay, "--bug ack-before-sync --schedule 'at 80ms crash 10.0.0.2 for 10ms'") || len(f.Points) == 0 {
		t.Fatalf("replay %q, %d points", f.Replay, len(f.Points))
	}
}

// The correct code survives every strategy; the planted bug is found by each that can.
func TestCorrectCodeSurvivesPlantedBugIsFound(t *testing.T) {
	t.Parallel()
	for _, s := range []Strategy{Random, Aimed, Lineage} {
		ok := explore(t, NewDbctl(100, 8, "", nil), Options{Strategy: s, Seed: 3, Runs: 40})
		if ok.FirstFailure >= 0 {
			t.Errorf("%s on correct code: run %d failed: %+v", s, ok.FirstFailure, ok.Runs[ok.FirstFailure])
		}
	}
	for _, s := range []Strategy{Random, Aimed} {
		bad := explore(t, NewDbctl(100, 8, "ack-before-sync", nil), Options{Strategy: s, Seed: 3, Runs: 40})
		if bad.FirstFailure < 0 {
			t.Errorf("%s did not find ack-before-sync in 40 runs", s)
		}
	}
}

// raftkv's driver survives torn crashes: a tear can take synced records with the sector
// they share with an unsynced batch, which the driver treats as a node that lost its state.
// With the checksums off (no-checksum) lineage's tears find the bug.
func TestRaftkvSurvivesTears(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		s     Strategy
		kinds []string
	}{{Random, []string{"tear"}}, {Random, []string{"garble"}}, {Lineage, nil}, {Aimed, nil}} {
		tg, err := NewRaftkv(3, 3, 2*time.Second, "", c.kinds)
		if err != nil {
			t.Fatal(err)
		}
		if res := explore(t, tg, Options{Strategy: c.s, Seed: 3, Runs: 40}); res.FirstFailure >= 0 {
			t.Errorf("%s on correct code: run %d failed: %+v", c.s, res.FirstFailure, res.Runs[res.FirstFailure])
		}
	}
	tg, err := NewRaftkv(3, 3, 2*time.Second, "no-checksum", nil)
	if err != nil {
		t.Fatal(err)
	}
	if res := explore(t, tg, Options{Strategy: Lineage, Seed: 3, Runs: 40}); res.FirstFailure < 0 {
		t.Error("lineage did not find no-checksum in 40 runs")
	}
	// Aimed garbles the first write into a sector where a synced write ends, every other run.
	if res := explore(t, tg, Options{Strategy: Aimed, Seed: 3, Runs: 6}); res.FirstFailure < 0 {
		t.Errorf("aimed did not find no-checksum in 6 runs: plans %v", res.Runs)
	}
}

// tornWrites picks, per sector, the first write into a sector where the last synced write of
// the file ends, having begun in an earlier one; crashesAndTears puts a garble of each
// between the crashes at exposed writes.
func TestTornWrites(t *testing.T) {
	t.Parallel()
	const ms = time.Millisecond
	a := netip.MustParseAddr("10.0.0.1")
	w := func(at time.Duration, off int64, n int) Point {
		return Point{At: at * ms, Kind: "write", Where: a.String(), File: "wal", Offset: off, Length: n}
	}
	sync := func(at time.Duration) Point { return Point{At: at * ms, Kind: "sync", Where: a.String(), File: "wal"} }
	pts := []Point{
		w(1, 0, 300), sync(2), // ends at 300, began in sector 0
		w(3, 300, 300), sync(4), // starts in sector 0 after a write that began there: no; ends at 600, began in 0
		w(5, 600, 100), sync(6), // sector 1 holds the end of [300, 600), which began in sector 0: torn
		w(7, 700, 100), sync(8), // same sector, after a write that began in it: no
		w(9, 800, 300), // sector 1 again, after [700, 800): no; not synced
		{At: 10 * ms, Kind: "stop", Where: a.String()},
		w(11, 800, 300), sync(12), // ends at 1100, began in sector 1
		w(13, 1100, 50), // sector 2 holds the end of [800, 1100): torn
		{At: 14 * ms, Kind: "write", Where: a.String(), File: "other", Offset: 1100, Length: 50}, // another file: nothing synced
	}
	var got []time.Duration
	for _, p := range tornWrites(pts, []netip.Addr{a}) {
		got = append(got, p.At)
	}
	if want := []time.Duration{13 * ms, 5 * ms}; !reflect.DeepEqual(got, want) { // spread: the middle first
		t.Fatalf("torn writes at %v, want %v", got, want)
	}
	d := &Sim{kinds: DefaultKinds}
	plan := d.crashesAndTears([]Point{w(3, 300, 300)}, tornWrites(pts, []netip.Addr{a}))
	want := []string{"at 3.001ms crash 10.0.0.1 for 20ms", "at 13.001ms garble 10.0.0.1 for 20ms",
		"at 5.001ms garble 10.0.0.1 for 20ms", "at 3.001ms tear 10.0.0.1 for 20ms"}
	if !reflect.DeepEqual(plan, want) {
		t.Errorf("crashes and tears %q, want %q", plan, want)
	}
	if plan := (&Sim{kinds: []string{"crash"}}).crashesAndTears([]Point{w(3, 300, 300)}, tornWrites(pts, []netip.Addr{a})); len(plan) != 1 {
		t.Errorf("without tears in the kinds: %q, want the crash only", plan)
	}
	if plan := (&Sim{kinds: []string{"garble"}}).crashesAndTears([]Point{w(3, 300, 300)}, nil); len(plan) != 2 ||
		plan[1] != "at 3.001ms garble 10.0.0.1 for 20ms" {
		t.Errorf("with garble the only torn kind: %q, want a crash and a garble", plan)
	}

	// Only the first unsynced write into a sector; not a write into the middle of a long
	// synced write; nothing a node synced before it stopped.
	pts = []Point{
		w(1, 0, 600), sync(2), // ends at 600, in sector 1, began in sector 0
		w(3, 600, 10), // torn
		w(4, 610, 10), // the same sector again, before a sync: no
		sync(5),
		w(6, 0, 2000), sync(7), // ends at 2000, in sector 3
		w(8, 1000, 10), // sector 1 is inside the synced write, whose end is in sector 3: no
		w(9, 2000, 10), // torn
		{At: 10 * ms, Kind: "start", Where: a.String()},
		w(11, 2010, 10), // after a start: what was synced is forgotten (recovery may have cut it)
	}
	got = nil
	for _, p := range tornWrites(pts, []netip.Addr{a}) {
		got = append(got, p.At)
	}
	if want := []time.Duration{9 * ms, 3 * ms}; !reflect.DeepEqual(got, want) {
		t.Errorf("torn writes at %v, want %v", got, want)
	}
}

func TestReportHTML(t *testing.T) {
	t.Parallel()
	res := explore(t, NewDbctl(100, 8, "ack-before-sync", nil), Options{Strategy: Aimed, Seed: 1, Runs: 10, Shrink: true})
	h := res.HTML()
	for _, want := range []string{"<polyline", "distinct signatures", "Failure 1: acknowledged entries survive a crash",
		"faultbox sim run --target dbctl", "space-time diagram", "<table>"} {
		if !strings.Contains(h, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
}

func TestReadRunsErrors(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`{"index":0,"colour":1}`:       `unknown field "colour"`,
		`{"index":0} {"index":1}`:      "more than one JSON value",
		`[`:                            "line 1: unexpected EOF",
		`{"index":-1}`:                 "line 1: index -1: want runs in increasing order",
		"{\"index\":1}\n{\"index\":1}": "line 2: index 1: want runs in increasing order",
	} {
		if _, err := ReadRuns(strings.NewReader(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ReadRuns(%q) = %v, want %q", in, err, want)
		}
	}
}

func FuzzReadRuns(f *testing.F) {
	f.Add(`{"index":0,"seed":1,"plan":["at 1ms crash 10.0.0.1"],"failed":true,"check":"x","signature":"ab","new_signature":true,"replay":"r"}`)
	f.Add("{\"index\":0}\n{\"index\":1}")
	f.Fuzz(func(t *testing.T, in string) {
		runs, err := ReadRuns(strings.NewReader(in))
		if err != nil {
			return
		}
		for i, r := range runs {
			if r.Index < 0 || (i > 0 && r.Index <= runs[i-1].Index) {
				t.Fatalf("run %d has index %d after %v", i, r.Index, runs)
			}
		}
	})
}

// BenchmarkDbctlRuns: exploration runs of the dbctl target (200 operations, about 0.4 s of
// virtual time each) per second, one worker and two.
func BenchmarkDbctlRuns(b *testing.B) {
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("j=%d", workers), func(b *testing.B) {
			tg := NewDbctl(200, 16, "", nil)
			runs := 0
			for b.Loop() {
				res, err := Explore(context.Background(), tg, Options{Strategy: Random, Seed: 1, Runs: 50, Workers: workers})
				if err != nil {
					b.Fatal(err)
				}
				runs += len(res.Runs)
			}
			b.ReportMetric(float64(runs)/b.Elapsed().Seconds(), "runs/s")
		})
	}
}

// A write is exposed when the node sent a message after it and before the sync that made it
// durable, or never synced it; aimed crashes go there first: replies (every such message to
// the process the node heard from last before it wrote), then the others, then the writes
// never synced, each class's nodes with the most writes in it first. A message sent before
// the write and delivered after it does not expose it.
func TestExposedWrites(t *testing.T) {
	t.Parallel()
	a, b, c := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.3")
	ms := time.Millisecond
	pts := []Point{
		{At: 1 * ms, Kind: "write", Where: "10.0.0.1"}, // synced before it spoke: safe
		{At: 2 * ms, Kind: "sync", Where: "10.0.0.1"},
		{At: 3 * ms, Kind: "deliver", Where: "10.0.0.2", From: "10.0.0.1", Sent: 2 * ms},
		{At: 3 * ms, Kind: "deliver", Where: "10.0.0.1", From: "10.0.0.2", Sent: 2 * ms},
		{At: 4 * ms, Kind: "write", Where: "10.0.0.1"}, // answered b, who asked, then synced: a reply
		{At: 5 * ms, Kind: "deliver", Where: "10.0.0.2", From: "10.0.0.1", Sent: 4 * ms},
		{At: 6 * ms, Kind: "sync", Where: "10.0.0.1"},
		{At: 7 * ms, Kind: "write", Where: "10.0.0.2"}, // never synced: last
		{At: 8 * ms, Kind: "write", Where: "10.0.0.1"}, // a message from before it arrives: safe
		{At: 9 * ms, Kind: "deliver", Where: "10.0.0.2", From: "10.0.0.1", Sent: 7 * ms},
		{At: 10 * ms, Kind: "sync", Where: "10.0.0.1"},
		{At: 10 * ms, Kind: "write", Where: "10.0.0.3"}, // spoke to a, who did not ask: not a reply
		{At: 11 * ms, Kind: "deliver", Where: "10.0.0.1", From: "10.0.0.3", Sent: 10 * ms},
		{At: 12 * ms, Kind: "sync", Where: "10.0.0.3"},
		{At: 13 * ms, Kind: "write", Where: "10.0.0.3"}, // spoke to two, then synced: a broadcast
		{At: 14 * ms, Kind: "deliver", Where: "10.0.0.1", From: "10.0.0.3", Sent: 13 * ms},
		{At: 14 * ms, Kind: "deliver", Where: "10.0.0.2", From: "10.0.0.3", Sent: 13 * ms},
		{At: 15 * ms, Kind: "sync", Where: "10.0.0.3"},
	}
	var got []time.Duration
	for _, p := range exposedWrites(pts, []netip.Addr{a, b, c}) {
		got = append(got, p.At)
	}
	// c's two come from the middle out (spread), round-robin after a's one reply.
	if want := []time.Duration{4 * ms, 13 * ms, 10 * ms, 7 * ms}; !reflect.DeepEqual(got, want) {
		t.Fatalf("exposed writes at %v, want %v", got, want)
	}
}

// Aimed finds raftkv's send-before-persist within a few runs: its first aims are crashes
// just after the writes a node spoke of before it synced them.
func TestAimedFindsSendBeforePersist(t *testing.T) {
	t.Parallel()
	tg, err := NewRaftkv(3, 3, 2*time.Second, "send-before-persist", nil)
	if err != nil {
		t.Fatal(err)
	}
	res := explore(t, tg, Options{Strategy: Aimed, Seed: 1, Runs: 5})
	if res.FirstFailure < 0 {
		t.Fatalf("aimed did not find send-before-persist in 5 runs: first plans %v", res.Runs[0].Plan)
	}
}

// BenchmarkRaftkvRuns: exploration runs of the raftkv target (3 nodes, 3 clients, 10 s of
// client work in virtual time each, random plans) per second, one worker and two.
func BenchmarkRaftkvRuns(b *testing.B) {
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("j=%d", workers), func(b *testing.B) {
			b.ReportAllocs()
			tg, err := NewRaftkv(3, 3, 10*time.Second, "", nil)
			if err != nil {
				b.Fatal(err)
			}
			runs := 0
			for b.Loop() {
				res, err := Explore(context.Background(), tg, Options{Strategy: Random, Seed: 1, Runs: 8, Workers: workers})
				if err != nil {
					b.Fatal(err)
				}
				runs += len(res.Runs)
			}
			b.ReportMetric(float64(runs)/b.Elapsed().Seconds(), "runs/s")
		})
	}
}
