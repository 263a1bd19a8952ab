package dbctl

import (
	"strings"
	"testing"
	"time"

	"github.com/faultbox/faultbox/cluster"
	"github.com/faultbox/faultbox/fault"
	"github.com/faultbox/faultbox/sim"
)

func run(t *testing.T, seed fault.Seed, p cluster.Params, prof sim.Profile, sched string) (*sim.World, *Cluster) {
	t.Helper()
	w := sim.New(seed, sim.Options{Network: sim.Network{LatencyMin: 100 * time.Microsecond, LatencyMax: 2 * time.Millisecond}})
	c, err := Start(w, Config{Params: p})
	if err != nil {
		t.Fatal(err)
	}
	if sched != "" {
		s, err := sim.ParseSchedule(sched)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Apply(s); err != nil {
			t.Fatal(err)
		}
	}
	if prof != sim.FaultsNone {
		if _, err := w.StartNemesis(sim.Nemesis{Profile: prof, Every: 20 * time.Millisecond, Span: 100 * time.Millisecond}, time.Duration(p.Ops)*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	limit := time.Duration(p.Ops)*time.Millisecond + 10*time.Second
	if err := w.RunUntil(func() bool { return c.Done() || w.Now() > limit }); err != nil {
		t.Fatal(err)
	}
	if !c.Done() {
		t.Fatalf("not converged by %s: %v", w.Now(), c.Failures())
	}
	return w, c
}

// The frozen hashes hold through the network: the world's cluster ends where the pure model
// does, with and without the lab's fault scenario.
func TestFrozenHashesThroughTheNetwork(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		p    cluster.Params
		want string
	}{
		{cluster.Params{Seed: 42, Ops: 200, Keys: 16, Scenario: cluster.Normal}, cluster.NormalHash},
		{cluster.Params{Seed: 7, Ops: 2000, Keys: 128, Scenario: cluster.Fault}, cluster.FaultHash},
	} {
		_, c := run(t, 0, tc.p, sim.FaultsNone, "")
		if got := c.Hash(); got != tc.want {
			t.Errorf("%+v: hash %s, want the frozen %s", tc.p, got, tc.want)
		}
	}
}

func pureHash(t *testing.T, p cluster.Params) string {
	t.Helper()
	c, _, err := cluster.Run(p)
	if err != nil {
		t.Fatal(err)
	}
	return cluster.HashSnapshot(c.Snapshot())
}

// Under every fault profile, once the nemesis has healed everything, the cluster converges to
// the pure model's snapshot and never loses a committed entry; each run replays from its seed.
func TestEveryProfileConvergesToThePureModel(t *testing.T) {
	t.Parallel()
	p := cluster.Params{Seed: 9, Ops: 400, Keys: 32}
	want := pureHash(t, p)
	for _, prof := range sim.Profiles {
		for _, seed := range []fault.Seed{1, 2, 3} {
			w, c := run(t, seed, p, prof, "")
			if got := c.Hash(); got != want {
				t.Errorf("%s seed %d: hash %s, want the pure model's %s", prof, seed, got, want)
			}
			if l := c.Losses(); len(l) > 0 {
				t.Errorf("%s seed %d: committed entries lost: %v", prof, seed, l)
			}
			if prof != sim.FaultsNone && w.Log().Len() == 0 {
				t.Errorf("%s seed %d: no fault injected", prof, seed)
			}
			again, _ := run(t, seed, p, prof, "")
			if again.TraceHash() != w.TraceHash() {
				t.Errorf("%s seed %d: the run does not replay (%s vs %s)", prof, seed, w.TraceHash(), again.TraceHash())
			}
		}
	}
}

// Which schedules may lose data: wiping every node that holds a committed entry at once. A
// single wipe, or crashes of any kind, never do.
func TestWhichSchedulesMayLoseData(t *testing.T) {
	t.Parallel()
	p := cluster.Params{Seed: 3, Ops: 300, Keys: 16}
	want := pureHash(t, p)
	for _, tc := range []struct {
		sched    string
		mayLose  bool
		describe string
	}{
		{"at 50ms wipe 10.0.0.2 for 20ms", false, "one follower wiped: the others hold everything"},
		{"at 50ms wipe 10.0.0.1 for 20ms", false, "the leader wiped: the followers hold what was committed"},
		{"at 30ms crash 10.0.0.1 for 5ms; at 60ms crash 10.0.0.2 for 5ms; at 61ms crash 10.0.0.3 for 5ms", false, "crashes keep what was synced"},
		{"at 20ms stop 10.0.0.2; at 100ms wipe 10.0.0.1 for 5ms; at 100ms wipe 10.0.0.3 for 5ms; at 120ms start 10.0.0.2", true,
			"follower 1 down, then the leader and follower 2, the only holders, wiped together"},
	} {
		_, c := run(t, 1, p, sim.FaultsNone, tc.sched)
		if lost := len(c.Losses()) > 0; lost != tc.mayLose {
			t.Errorf("%s (%s): lost=%v %v", tc.sched, tc.describe, lost, c.Losses())
		}
		// The lab's operations are a function of the seed, so the leader draws what was lost
		// again and even a lossy schedule ends at the pure model's snapshot.
		if got := c.Hash(); got != want {
			t.Errorf("%s: hash %s, want %s", tc.sched, got, want)
		}
	}
}

// BenchmarkFrozenFaultWorkload: the lab's fault workload (seed 7, 2000 ops, 128 keys) through
// the world with the default network (1ms) and disks (FastLocal); reports simulated time over
// wall time.
func BenchmarkFrozenFaultWorkload(b *testing.B) {
	p := cluster.Params{Seed: 7, Ops: 2000, Keys: 128, Scenario: cluster.Fault}
	var simulated, running time.Duration
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		w := sim.New(1, sim.Options{})
		c, err := Start(w, Config{Params: p})
		if err != nil {
			b.Fatal(err)
		}
		if err := w.RunUntil(c.Done); err != nil {
			b.Fatal(err)
		}
		running += time.Since(start)
		simulated += w.Now()
		if c.Hash() != cluster.FaultHash {
			b.Fatal("hash")
		}
	}
	// x-realtime is the run's speed as `faultbox sim run` reports it (the world made, started
	// and run until the cluster converged); x-realtime-checked also counts the SHA-256 of
	// the final snapshot (some 200 KB) and its comparison with the frozen hash, which every
	// iteration makes too.
	b.ReportMetric(float64(simulated)/float64(running), "x-realtime")
	b.ReportMetric(float64(simulated)/float64(b.Elapsed()), "x-realtime-checked")
	b.ReportMetric(float64(simulated.Milliseconds())/float64(b.N), "sim-ms/op")
}

// The planted bug ack-before-sync loses acknowledged entries in a follower's crash, and the
// check names it; the correct code never does, under the same schedule.
func TestAckBeforeSyncIsCaught(t *testing.T) {
	t.Parallel()
	sched, _ := sim.ParseSchedule("at 50ms crash 10.0.0.2 for 10ms")
	for _, bug := range []string{"", "ack-before-sync"} {
		res, err := Run("test", RunConfig{Seed: 1, Ops: 200, Keys: 16, Faults: sim.FaultsNone, Schedule: sched, Bug: bug})
		if err != nil {
			t.Fatal(err)
		}
		lost := len(res.Cluster.AckLosses()) > 0
		if lost != (bug != "") || (res.Report.Verdict == fault.Fail) != (bug != "") {
			t.Errorf("bug %q: acknowledged entries lost %v (%v), verdict %s", bug, lost, res.Cluster.AckLosses(), res.Report.Verdict)
		}
	}
	if _, err := Run("test", RunConfig{Seed: 1, Ops: 10, Keys: 1, Faults: sim.FaultsNone, Bug: "typo"}); err == nil ||
		!strings.Contains(err.Error(), `bug "typo": want one of ack-before-sync`) {
		t.Fatalf("unknown bug: %v", err)
	}
}
