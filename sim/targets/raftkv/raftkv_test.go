package raftkv

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

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
	budget := map[Bug]uint64{BugApplyUncommitted: 1, BugSkipFsync: 1, BugSendBeforePersist: 1, BugStaleRead: 1, BugNoChecksum: 8}
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

// A linearizability violation (the planted stale read) writes porcupine's visualisation: an
// HTML page holding the history's operations, named by the report.
func TestViolationWritesVisualisation(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "run.html")
	res, err := Run("test", RunConfig{Seed: 1, Faults: sim.FaultsNone, HTML: path,
		Config: Config{Nodes: 3, Clients: 3, Workload: 2 * time.Second, Bug: BugStaleRead}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Linear != porcupine.Illegal || res.HTML != path {
		t.Fatalf("linearizability %v, visualisation %q: want a violation written to %s", res.Linear, res.HTML, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	for _, want := range []string{"<html", "</html>", "get(k", "put(k"} {
		if !strings.Contains(page, want) {
			t.Errorf("the visualisation (%d bytes) lacks %q", len(b), want)
		}
	}
	if !slices.Contains(res.Report.Notes, "porcupine's visualisation: "+path) {
		t.Errorf("the report's notes do not name the file: %q", res.Report.Notes)
	}
	// A correct run writes none.
	ok := filepath.Join(t.TempDir(), "ok.html")
	if res, err := Run("test", RunConfig{Seed: 1, Faults: sim.FaultsNone, HTML: ok,
		Config: Config{Nodes: 3, Clients: 3, Workload: time.Second}}); err != nil || res.HTML != "" {
		t.Fatalf("correct run: visualisation %q, %v", res.HTML, err)
	}
	if _, err := os.Stat(ok); !os.IsNotExist(err) {
		t.Errorf("correct run: %s exists (%v)", ok, err)
	}
}
