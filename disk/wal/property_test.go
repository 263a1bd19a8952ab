package wal

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/faultbox/faultbox/disk"
	"github.com/faultbox/faultbox/fault"
)

// For many seeds, a random workload with crashes on a RandomForSeed disk never loses an
// acknowledged, synced record without saying so, and never returns one altered.
func TestNoAcknowledgedRecordLost(t *testing.T) {
	t.Parallel()
	seeds, ops := fault.Seed(50), 600
	if testing.Short() {
		seeds = 20
	}
	var total disk.Counters
	crashes := 0
	for seed := fault.Seed(1); seed <= seeds; seed++ {
		rep, err := Torture(TortureOptions{Seed: seed, Ops: ops, Config: disk.RandomForSeed(seed)})
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK() {
			t.Fatalf("seed %d:\n%s", seed, rep)
		}
		if rep.Acked == 0 {
			t.Fatalf("seed %d: the workload acknowledged nothing:\n%s", seed, rep)
		}
		c := rep.Counters
		total.ReadCorruption += c.ReadCorruption
		total.WriteCorruption += c.WriteCorruption
		total.MisdirectedWrite += c.MisdirectedWrite
		total.MisdirectedRead += c.MisdirectedRead
		total.PhantomWrite += c.PhantomWrite
		total.SyncFailure += c.SyncFailure
		total.TornWrite += c.TornWrite
		crashes += rep.CrashSteps
	}
	if crashes == 0 || total.Total() == 0 {
		t.Fatalf("no crashes (%d) or no faults (%s): the property was not exercised", crashes, total)
	}
	t.Logf("%d seeds x %d ops: %d crashes, faults: %s", seeds, ops, crashes, total)
}

// The checker itself: a log that acknowledges before syncing must be caught.
func TestTortureCatchesALyingLog(t *testing.T) {
	t.Parallel()
	rep, err := Torture(TortureOptions{Seed: 1, Ops: 400, Config: disk.DefaultConfig(), AckBeforeSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || !strings.Contains(rep.Problems[0], "were acknowledged") {
		t.Fatalf("acknowledging unsynced records went unnoticed:\n%s", rep)
	}
}

// Detected losses are explained by the counters, not by the kept events: with the recorder
// keeping a single event, the verdict must be the same as with its full default cap (a long
// run passes the default cap of 65,536 events the same way).
func TestTortureExplainsLossesPastTheEventCap(t *testing.T) {
	t.Parallel()
	run := func(limit int) *TortureReport {
		rep, err := Torture(TortureOptions{Seed: 4, Ops: 1500, Config: Stress(), EventLimit: limit})
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	full, capped := run(0), run(1)
	if full.DetectedLoss < 2 || !full.OK() || full.EventsDropped != 0 {
		t.Fatalf("seed 4 under Stress no longer detects two or more losses cleanly with all events kept:\n%s", full)
	}
	if !capped.OK() || capped.String() != full.String() {
		t.Fatalf("keeping one event changed the verdict:\n%s\nwant:\n%s", capped, full)
	}
	c := capped.Counters
	if all := c.Total() + c.Crashes + c.Wipes; len(capped.Events) != 1 || capped.EventsDropped != all-1 {
		t.Fatalf("kept %d events, dropped %d, counted %d; want 1 kept and the rest dropped",
			len(capped.Events), capped.EventsDropped, c.Total()+c.Crashes+c.Wipes)
	}
}

func TestTortureIsDeterministic(t *testing.T) {
	t.Parallel()
	run := func() string {
		rep, err := Torture(TortureOptions{Seed: 77, Ops: 1500, Config: Stress()})
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		b.WriteString(rep.String())
		for _, e := range rep.Events {
			b.WriteString(e.String() + "\n")
		}
		return b.String()
	}
	a, b := run(), run()
	if a != b {
		t.Fatal("same seed, same workload: different reports or events")
	}
	if !strings.Contains(a, "torn-write") {
		t.Fatalf("the stress preset injected no torn writes:\n%s", a)
	}
}

// FuzzTorture is the long run: any seed, any length, under RandomForSeed.
func FuzzTorture(f *testing.F) {
	f.Add(uint64(1), uint16(500))
	f.Add(uint64(99), uint16(3000))
	f.Fuzz(func(t *testing.T, seed uint64, ops uint16) {
		rep, err := Torture(TortureOptions{Seed: fault.Seed(seed), Ops: int(ops), Config: disk.RandomForSeed(fault.Seed(seed))})
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK() {
			t.Fatalf("seed %d ops %d:\n%s", seed, ops, rep)
		}
	})
}

// The two crash counts are what they say: CrashSteps is one per crash step the log shows,
// the disk's count is every crash event in its log, and the second is the first plus the
// restarts, the recovery crashes and the final crash.
func TestTortureCrashFigures(t *testing.T) {
	t.Parallel()
	var logged strings.Builder
	logger := slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelDebug}))
	rep, err := Torture(TortureOptions{Seed: 3, Ops: 600, Config: Stress(), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	steps := strings.Count(logged.String(), `msg="crash step"`)
	if steps == 0 || rep.CrashSteps != steps {
		t.Errorf("CrashSteps = %d, the log shows %d crash steps", rep.CrashSteps, steps)
	}
	events := 0
	for _, e := range rep.Events {
		if e.Layer == fault.LayerDisk && e.Kind == disk.KindCrash {
			events++
		}
	}
	sum := rep.CrashSteps + rep.Restarts + rep.RecoveryCrashes + 1
	if rep.EventsDropped != 0 || rep.Counters.Crashes != events || events != sum {
		t.Errorf("disk crashes %d, crash events %d, steps+restarts+recovery crashes+final = %d", rep.Counters.Crashes, events, sum)
	}
	if rep.Restarts == 0 || rep.Counters.Crashes == rep.CrashSteps {
		t.Errorf("seed 3 no longer restarts (%d restarts): the two counts are not told apart", rep.Restarts)
	}
	text := rep.String()
	for _, want := range []string{fmt.Sprintf("crash steps %d", steps), fmt.Sprintf("disk crashes %d", sum)} {
		if !strings.Contains(strings.Join(strings.Fields(text), " "), want) {
			t.Errorf("report lacks %q:\n%s", want, text)
		}
	}
}

// Nothing acknowledged, nothing checked: the verdict is empty, not pass.
func TestTortureNothingAcknowledgedIsEmpty(t *testing.T) {
	t.Parallel()
	for _, opts := range []TortureOptions{
		{Seed: 1, Ops: 0, Config: disk.DefaultConfig()},
		{Seed: 1, Ops: 300, Config: disk.Config{SyncFailureProbability: 1}},
	} {
		rep, err := Torture(opts)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Acked != 0 || rep.Verdict() != fault.Empty || rep.Report("x").Verdict != fault.Empty || rep.Survived != 0 {
			t.Errorf("ops %d config %+v: acked %d verdict %s survived %d, want 0, empty, 0:\n%s",
				opts.Ops, opts.Config, rep.Acked, rep.Verdict(), rep.Survived, rep)
		}
	}
	rep, err := Torture(TortureOptions{Seed: 1, Ops: 300, Config: disk.DefaultConfig()})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Acked == 0 || rep.Verdict() != fault.Pass || rep.Survived != rep.Held || rep.Held == 0 {
		t.Errorf("a clean run: acked %d verdict %s held %d survived %d", rep.Acked, rep.Verdict(), rep.Held, rep.Survived)
	}
}

// OnStep sees every step, in order, with the total; the naive run's too.
func TestTortureOnStep(t *testing.T) {
	t.Parallel()
	for _, run := range []func(TortureOptions) error{
		func(o TortureOptions) error { _, err := Torture(o); return err },
		func(o TortureOptions) error { _, err := NaiveTorture(o); return err },
	} {
		var seen []int
		err := run(TortureOptions{Seed: 2, Ops: 50, Config: disk.DefaultConfig(), OnStep: func(done, total int) {
			if total != 50 {
				t.Errorf("total %d, want 50", total)
			}
			seen = append(seen, done)
		}})
		if err != nil {
			t.Fatal(err)
		}
		if len(seen) != 50 || seen[0] != 1 || seen[49] != 50 {
			t.Fatalf("OnStep saw %d steps: %v", len(seen), seen)
		}
	}
}
