package raftkv

import (
	"testing"
	"time"

	"github.com/faultbox/faultbox/fault"
	"github.com/faultbox/faultbox/sim"
)

func run(t testing.TB, seed uint64, prof sim.Profile, bug Bug, d time.Duration) *Result {
	t.Helper()
	res, err := Run("test", RunConfig{Seed: fault.Seed(seed), Faults: prof,
		Config: Config{Nodes: 3, Clients: 3, Workload: d, Bug: bug}})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// Two runs of a seed are the same run under every profile.
func TestDeterminismPerProfile(t *testing.T) {
	t.Parallel()
	for _, prof := range sim.Profiles {
		a, b := run(t, 11, prof, NoBug, 2*time.Second), run(t, 11, prof, NoBug, 2*time.Second)
		if a.World.TraceHash() != b.World.TraceHash() {
			t.Errorf("%s: trace hashes %s and %s", prof, a.World.TraceHash(), b.World.TraceHash())
		}
	}
}

// With no bug, a sample of seeds under every profile has no violation.
func TestCorrectModeHasNoViolation(t *testing.T) {
	t.Parallel()
	for _, prof := range []sim.Profile{sim.FaultsNone, sim.FaultsNet, sim.FaultsCrash, sim.FaultsAll} {
		for seed := uint64(1); seed <= 4; seed++ {
			res := run(t, seed, prof, NoBug, 3*time.Second)
			if res.Report.Verdict != fault.Pass {
				t.Errorf("%s seed %d: %s %+v", prof, seed, res.Report.Verdict, res.Report.Checks)
			}
		}
	}
}

// Each planted bug the checkers catch is caught within its measured seed budget under `all`
// (BENCHMARKS.md records the budgets).
func TestPlantedBugsAreCaught(t *testing.T) {
	t.Parallel()
	budget := map[Bug]uint64{BugApplyUncommitted: 1, BugSkipFsync: 1, BugSendBeforePersist: 1, BugStaleRead: 1, BugNoChecksum: 4}
	for bug, n := range budget {
		found := false
		for seed := uint64(1); seed <= n && !found; seed++ {
			found = run(t, seed, sim.FaultsAll, bug, 10*time.Second).Report.Verdict == fault.Fail
		}
		if !found {
			t.Errorf("%s: not caught in seeds 1..%d", bug, n)
		}
	}
}

func BenchmarkTenSecondsAll(b *testing.B) {
	b.ReportAllocs()
	var sim, wall, check time.Duration
	for i := 0; i < b.N; i++ {
		res := run(b, uint64(i+1), "all", NoBug, 10*time.Second)
		sim += res.World.Now()
		wall += res.Wall
		check += res.CheckWall
	}
	b.ReportMetric(float64(sim)/float64(wall), "sim/wall")
	b.ReportMetric(float64(check.Microseconds())/float64(b.N), "porcupine-µs/run")
}
