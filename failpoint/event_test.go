package failpoint

import (
	"context"
	"testing"

	"github.com/faultbox/faultbox/disk"
	"github.com/faultbox/faultbox/fault"
)

// recording returns a fresh site enabled with terms in a test scope that records into log,
// and a context carrying the scope.
func recording(t *testing.T, terms string) (s *Site, sc *Scope, ctx context.Context, log *fault.Log) {
	t.Helper()
	s = fresh(t)
	log = fault.NewLog()
	sc, ctx = TestScope(t)
	sc.SetRecorder(log)
	if err := sc.Enable(s.Name(), terms); err != nil {
		t.Fatal(err)
	}
	return s, sc, ctx, log
}

// Every fired action is one event in the scope's log; evaluations where no term fires are not.
func TestFiredActionsAreEvents(t *testing.T) {
	t.Parallel()
	s, sc, ctx, log := recording(t, "2*return(EIO)->1*print(hello)->1*sleep(1)->off")
	sc.SetOutput(nil)
	for range 6 {
		s.EvalContext(ctx)
	}
	want := []string{
		"#1 failpoint return " + s.Name() + " EIO",
		"#2 failpoint return " + s.Name() + " EIO",
		"#3 failpoint print " + s.Name() + " hello",
		"#4 failpoint sleep " + s.Name() + " 1ms",
		"#5 failpoint off " + s.Name(),
		"#6 failpoint off " + s.Name(),
	}
	ev := log.Events()
	if len(ev) != len(want) {
		t.Fatalf("%d events, want %d: %v", len(ev), len(want), ev)
	}
	for i := range want {
		if ev[i].String() != want[i] {
			t.Errorf("event %d = %q, want %q", i, ev[i], want[i])
		}
	}
	if st, _ := sc.Get(s.Name()); st.Fired != 6 {
		t.Errorf("fired %d, want 6", st.Fired)
	}
}

// A probability that does not fire records nothing; with no recorder nothing is recorded.
func TestUnfiredDrawsRecordNothing(t *testing.T) {
	t.Parallel()
	s, _, ctx, log := recording(t, "0%return(x)")
	for range 100 {
		s.EvalContext(ctx)
	}
	if log.Len() != 0 {
		t.Fatalf("a term that never fired recorded %d events", log.Len())
	}
}

// A fail point and a disk report into one log, in the order their faults happened.
func TestFailpointAndDiskShareALog(t *testing.T) {
	t.Parallel()
	s, _, ctx, log := recording(t, "1*return(EIO)")
	fsys, err := disk.NewFaultFS(disk.NewMem(), disk.FaultOptions{Seed: 1, Log: log,
		Config: disk.Config{SyncFailureProbability: 1}})
	if err != nil {
		t.Fatal(err)
	}
	f, err := fsys.Create("wal")
	if err != nil {
		t.Fatal(err)
	}
	if f.Sync() == nil {
		t.Fatal("sync did not fail at probability 1")
	}
	if err := s.ErrContext(ctx); err == nil {
		t.Fatal("the fail point did not fire")
	}
	ev := log.Events()
	if len(ev) != 2 || ev[0].Layer != fault.LayerDisk || ev[1].Layer != fault.LayerFailpoint || ev[1].Seq != 2 {
		t.Fatalf("events = %v", ev)
	}
}
