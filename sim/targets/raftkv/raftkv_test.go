package raftkv

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/faultbox/faultbox/fault"
	"github.com/faultbox/faultbox/sim"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
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
	// Gets served by the leader only, under the leader isolations of the target's nemesis.
	for seed := uint64(1); seed <= 2; seed++ {
		res, err := Run("test", RunConfig{Seed: fault.Seed(seed), Faults: sim.FaultsNet,
			Config: Config{Nodes: 3, Clients: 3, Workload: 3 * time.Second, LeaderReads: true}})
		if err != nil || res.Report.Verdict != fault.Pass {
			t.Errorf("leader reads, seed %d: %v %+v", seed, err, res.Report.Checks)
		}
	}
}

// Each planted bug is caught within its measured seed budget under the profile where it
// shows soonest (BENCHMARKS.md records the budgets under `all` and that profile).
func TestPlantedBugsAreCaught(t *testing.T) {
	t.Parallel()
	budget := map[Bug]struct {
		prof  sim.Profile
		seeds uint64
	}{
		BugApplyUncommitted:  {sim.FaultsAll, 1},
		BugSkipFsync:         {sim.FaultsAll, 1},
		BugSendBeforePersist: {sim.FaultsCrash, 1},
		BugStaleRead:         {sim.FaultsAll, 1},
		BugNoChecksum:        {sim.FaultsStorage, 2},
	}
	for _, bug := range Bugs {
		b, ok := budget[bug]
		if !ok {
			t.Errorf("%s: no seed budget", bug)
			continue
		}
		found := false
		for seed := uint64(1); seed <= b.seeds && !found; seed++ {
			found = run(t, seed, b.prof, bug, 10*time.Second).Report.Verdict == fault.Fail
		}
		if !found {
			t.Errorf("%s: not caught in seeds 1..%d under %s", bug, b.seeds, b.prof)
		}
	}
}

func BenchmarkTenSecondsAll(b *testing.B) {
	b.ReportAllocs()
	var sim, wall, check time.Duration
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		res := run(b, uint64(i+1), "all", NoBug, 10*time.Second)
		sim += res.World.Now()
		wall += res.Wall
		check += res.CheckWall
	}
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(sim)/float64(wall), "sim/wall")
	b.ReportMetric(float64(sim)/float64(cpu), "sim/cpu")
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/run")
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

// A 5-node cluster with 5 clients for 60 simulated seconds under `all`: wall time, speed,
// allocations, and memory. live-MB is the heap still live after the run (collected, the
// world and its disks still referenced: no log is ever compacted, so it is the run's
// peak of live data); peak-heap-MB is the most the heap's objects (garbage not yet
// collected included) took, sampled every 1,000 happenings.
func BenchmarkFiveNodesSixtySeconds(b *testing.B) {
	b.ReportAllocs()
	var simTime, wall, check time.Duration
	var live, peak uint64
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var cpu time.Duration
	for i := 0; i < b.N; i++ {
		cpu0 := cpuTime()
		seen := 0
		res, err := Run("bench", RunConfig{Seed: fault.Seed(i + 1), Faults: sim.FaultsAll,
			Config: Config{Nodes: 5, Clients: 5, Workload: 60 * time.Second},
			Observe: func(sim.Happening) {
				if seen++; seen%1000 == 0 {
					metrics.Read(sample)
					peak = max(peak, sample[0].Value.Uint64())
				}
			}})
		if err != nil {
			b.Fatal(err)
		}
		simTime += res.World.Now()
		wall += res.Wall
		check += res.CheckWall
		cpu += cpuTime() - cpu0
		b.StopTimer()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		live = max(live, ms.HeapAlloc)
		runtime.KeepAlive(res)
		b.StartTimer()
	}
	b.ReportMetric(float64(simTime)/float64(wall), "sim/wall")
	b.ReportMetric(float64(simTime)/float64(cpu), "sim/cpu")
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/run")
	b.ReportMetric(float64(check.Milliseconds())/float64(b.N), "porcupine-ms/run")
	b.ReportMetric(float64(live)/(1<<20), "live-MB")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
}

// stateHash is kept as the state changes: after any sequence of puts, cas and retried
// commands it equals the digest computed afresh from the state, and two nodes that reach
// the same state by different orders agree.
func TestStateHashKeptAsStateChanges(t *testing.T) {
	t.Parallel()
	afresh := func(n *node) uint64 {
		var d uint64
		for k, v := range n.kv {
			d += kvDigest(k, v)
		}
		for c, s := range n.sessions {
			d += sessionDigest(c, s)
		}
		return d
	}
	newNode := func() *node {
		return &node{c: &Cluster{}, kv: map[uint64]uint64{}, sessions: map[uint32]session{}, pending: map[reqKey]netip.Addr{}}
	}
	cmds := []command{
		{Client: 0, Seq: 1, Op: opPut, Key: 1, Value: 10},
		{Client: 1, Seq: 1, Op: opPut, Key: 2, Value: 20},
		{Client: 0, Seq: 2, Op: opCAS, Key: 1, Expect: 10, Value: 11},
		{Client: 1, Seq: 2, Op: opCAS, Key: 2, Expect: 99, Value: 21}, // fails
		{Client: 1, Seq: 2, Op: opCAS, Key: 2, Expect: 99, Value: 21}, // a retry: applied once
		{Client: 2, Seq: 1, Op: opPut, Key: 1, Value: 12},
	}
	a, b := newNode(), newNode()
	for _, c := range cmds {
		a.execute(c)
		if got, want := a.stateHash(), afresh(a); got != want {
			t.Fatalf("after %+v: kept %x, afresh %x", c, got, want)
		}
	}
	if a.stateHash() == 0 || a.stateHash() == newNode().stateHash() {
		t.Fatalf("digest %x does not tell the state from the empty one", a.stateHash())
	}
	// The same final state, reached in another order: key 2 then key 1.
	for _, i := range []int{1, 3, 0, 2, 5} {
		b.execute(cmds[i])
	}
	if a.stateHash() != b.stateHash() {
		t.Fatalf("same state, digests %x and %x", a.stateHash(), b.stateHash())
	}
	b.execute(command{Client: 2, Seq: 2, Op: opPut, Key: 1, Value: 13})
	if a.stateHash() == b.stateHash() {
		t.Fatalf("different states, one digest %x", a.stateHash())
	}
}

// validHardState accepts exactly what proto.Unmarshal parses as a hard state: replay skips
// decoding all but the last.
func FuzzValidHardState(f *testing.F) {
	for _, hs := range []*pb.HardState{{}, {Term: new(uint64(3)), Vote: new(uint64(2)), Commit: new(uint64(99))}} {
		b, err := proto.Marshal(hs)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0x08})             // a varint cut short
	f.Add([]byte{0x0a, 0x01, 0x30}) // term as bytes: the wrong wire type, kept as unknown
	f.Add([]byte{0x22, 0x00})       // field 4 as bytes: unknown, kept
	f.Fuzz(func(t *testing.T, b []byte) {
		var hs pb.HardState
		if got, want := validHardState(b), proto.Unmarshal(b, &hs) == nil; got != want {
			t.Fatalf("validHardState(%x) = %v, proto.Unmarshal ok = %v", b, got, want)
		}
	})
}

// With frequent snapshots, nodes compact their logs, rewrite them, restart from a snapshot
// and receive the leader's snapshots when they fall behind its log, and every check holds.
func TestSnapshotsTakenAndInstalled(t *testing.T) {
	t.Parallel()
	taken, installed := 0, 0
	for seed := uint64(1); seed <= 3; seed++ {
		res, err := Run("test", RunConfig{Seed: fault.Seed(seed), Faults: sim.FaultsCrash,
			Config: Config{Nodes: 3, Clients: 3, Workload: 4 * time.Second, SnapshotEntries: 20}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Report.Verdict != fault.Pass {
			t.Errorf("seed %d: %s %+v", seed, res.Report.Verdict, res.Report.Checks)
		}
		taken += res.Cluster.snapshots
		installed += res.Cluster.installs
	}
	if taken == 0 || installed == 0 {
		t.Fatalf("%d snapshots taken, %d installed: want both", taken, installed)
	}
}

// decodeState reads back what encodeState wrote, and refuses anything else with an error,
// never a panic.
func FuzzDecodeState(f *testing.F) {
	n := &node{kv: map[uint64]uint64{1: 10, 3: 30}, sessions: map[uint32]session{0: {seq: 4, ok: true}, 2: {seq: 1}}}
	f.Add(n.encodeState())
	f.Add([]byte{})
	f.Add([]byte{1, 0, 0, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		kv, sessions, err := decodeState(b)
		if err != nil {
			return
		}
		again := (&node{kv: kv, sessions: sessions}).encodeState()
		if !bytes.Equal(again, b) {
			t.Fatalf("decodeState(%x) then encodeState gives %x", b, again)
		}
	})
}

// A node that lost acknowledged entries answers the leader's probes beyond its log once per
// heartbeat: without that, raft's leader probes again at each rejection and storage seed 1
// ran 728,036 events in 10 simulated seconds.
func TestLostLogNoProbePingPong(t *testing.T) {
	t.Parallel()
	res := run(t, 1, sim.FaultsStorage, NoBug, 10*time.Second)
	if len(res.Cluster.Amnesia()) == 0 {
		t.Fatal("storage seed 1: no node lost its log; pick a seed where one does")
	}
	if steps := res.World.Steps(); steps > 100_000 {
		t.Fatalf("storage seed 1: %d events in 10 simulated seconds: want under 100,000", steps)
	}
	if res.Report.Verdict != fault.Pass {
		t.Fatalf("storage seed 1: %s %+v", res.Report.Verdict, res.Report.Checks)
	}
}
