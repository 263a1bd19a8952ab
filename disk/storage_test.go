package disk

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"
)

func TestPerProcessConfig(t *testing.T) {
	t.Parallel()
	st, err := NewStorage(5, Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetProcessConfig("10.0.0.2:4000", Config{SyncFailureProbability: 1}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"10.0.0.1:4000", "10.0.0.2:4000"} {
		h := mustCreate(t, st.FS(p), "log", []byte("x"))
		err := h.Sync()
		if degraded := p == "10.0.0.2:4000"; degraded != errors.Is(err, ErrSyncFailed) {
			t.Fatalf("%s: sync = %v (degraded: %v)", p, err, degraded)
		}
	}
	ev := st.Events()
	if len(ev) != 1 || ev[0].Process != "10.0.0.2:4000" {
		t.Fatalf("events = %v, want one, owned by the degraded process", ev)
	}
	st.ClearProcessConfig("10.0.0.2:4000")
	h, _ := st.FS("10.0.0.2:4000").Open("log")
	if err := h.Sync(); err != nil {
		t.Fatalf("after clearing the override: %v", err)
	}
	if err := st.SetProcessConfig("p", Config{ReadFaultProbability: 2}); err == nil {
		t.Fatal("an invalid per-process config was accepted")
	}
}

func TestCrashClosesHandles(t *testing.T) {
	t.Parallel()
	st, _ := NewStorage(1, Config{}, nil)
	old := st.FS("a")
	h := mustCreate(t, old, "f", []byte("synced"))
	_ = h.Sync()
	_ = old.SyncDir("")
	_, _ = h.WriteAt([]byte("++"), 6)
	other := mustCreate(t, st.FS("b"), "f", []byte("b's"))

	st.Crash("a", true)
	if _, err := h.ReadAt(make([]byte, 1), 0); !errors.Is(err, ErrCrashed) {
		t.Fatalf("handle after crash: %v, want ErrCrashed", err)
	}
	if _, err := old.Open("f"); !errors.Is(err, ErrCrashed) {
		t.Fatalf("old FS after crash: %v, want ErrCrashed", err)
	}
	var pe *fs.PathError
	if _, err := h.WriteAt([]byte("x"), 0); !errors.As(err, &pe) || pe.Path != "f" {
		t.Fatalf("the error must say which file: %v", err)
	}
	if got := readAll(t, st.FS("a"), "f"); string(got) != "synced" {
		t.Fatalf("post-crash disk = %q, want the synced bytes", got)
	}
	// Another process is untouched.
	if _, err := other.ReadAt(make([]byte, 1), 0); err != nil {
		t.Fatalf("crash of a hurt b: %v", err)
	}
}

func TestCrashWithoutClosingFiles(t *testing.T) {
	t.Parallel()
	st, _ := NewStorage(1, Config{}, nil)
	h := mustCreate(t, st.FS("a"), "f", []byte("v1"))
	_ = h.Sync()
	_ = st.FS("a").SyncDir("")
	st.Crash("a", false)
	if _, err := h.WriteAt([]byte("v2"), 0); err != nil {
		t.Fatalf("without closeFiles the old handle keeps working: %v", err)
	}
	_ = h.Sync()
	if got := readAll(t, st.FS("a"), "f"); string(got) != "v1" {
		t.Fatalf("a dead incarnation's write reached the new disk: %q", got)
	}
}

func TestWipe(t *testing.T) {
	t.Parallel()
	st, _ := NewStorage(1, Config{}, nil)
	h := mustCreate(t, st.FS("a"), "f", []byte("x"))
	_ = h.Sync()
	_ = st.FS("a").SyncDir("")
	st.Crash("a", true)
	st.Wipe("a")
	if names, _ := st.FS("a").List(""); len(names) != 0 {
		t.Fatalf("after wipe: %v, want an empty disk", names)
	}
	g := mustCreate(t, st.FS("a"), "g", nil)
	st.Wipe("a")
	if err := g.Sync(); !errors.Is(err, ErrWiped) {
		t.Fatalf("handle after wipe: %v, want ErrWiped", err)
	}
	if c := st.Counters(); c.Crashes != 1 || c.Wipes != 2 {
		t.Fatalf("counters = %+v", c)
	}
}

func TestStorageCrashTearsByProcessConfig(t *testing.T) {
	t.Parallel()
	st, _ := NewStorage(9, Config{}, nil)
	_ = st.SetProcessConfig("torn", Config{CrashFaultProbability: 1})
	for _, p := range []string{"clean", "torn"} {
		h := mustCreate(t, st.FS(p), "f", nil)
		_ = h.Sync()
		_ = st.FS(p).SyncDir("")
		_, _ = h.WriteAt(pattern(4096), 0)
		ev := st.Crash(p, true)
		if torn := p == "torn"; torn != (len(ev) == 1) {
			t.Fatalf("%s: crash events %v", p, ev)
		}
	}
}

func TestAtlasLeavesAGoodCopy(t *testing.T) {
	t.Parallel()
	a, err := NewAtlas(1, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	for s := int64(0); s < 1000; s++ {
		n := 0
		for r := 0; r < 3; r++ {
			if a.Faultable(r, "f", s) {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("sector %d: %d replicas faultable, want quorum-1 = 1", s, n)
		}
	}
	// Through Storage: corruption everywhere it is allowed, never on every copy.
	st, _ := NewStorage(2, Config{WriteFaultProbability: 1, ReadFaultProbability: 1}, nil)
	replicas := map[string]int{"r0": 0, "r1": 1, "r2": 2}
	st.SetAtlas(a, replicas)
	for addr := range replicas {
		h := mustCreate(t, st.FS(addr), "log", nil)
		for i := 0; i < 64; i++ {
			_, _ = h.WriteAt(pattern(512), int64(i)*512)
		}
		_, _ = h.ReadAt(make([]byte, 64*512), 0)
	}
	hit := map[string]map[string]bool{}
	for _, e := range st.Events() {
		key := fmt.Sprintf("%s/%d", e.Where, e.Offset/512)
		if hit[key] == nil {
			hit[key] = map[string]bool{}
		}
		hit[key][e.Process] = true
	}
	if len(hit) == 0 {
		t.Fatal("no corruption at all")
	}
	for key, procs := range hit {
		if len(procs) > 1 {
			t.Fatalf("location %s corrupted on %d replicas, want at most quorum-1", key, len(procs))
		}
	}
	for _, bad := range [][2]int{{0, 1}, {3, 4}, {3, 0}} {
		if _, err := NewAtlas(1, bad[0], bad[1]); err == nil {
			t.Errorf("NewAtlas(replicas=%d, quorum=%d) accepted", bad[0], bad[1])
		}
	}
}

// Concurrent use from many goroutines is safe (run under -race); crashes racing with I/O
// make the losers fail with ErrCrashed, never corrupt the model.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.ReadFaultProbability, cfg.WriteFaultProbability, cfg.SyncFailureProbability = 0.01, 0.01, 0.01
	st, _ := NewStorage(1, cfg, nil)
	a, _ := NewAtlas(1, 2, 2)
	done := make(chan error)
	for g := 0; g < 4; g++ {
		go func(g int) {
			p := fmt.Sprintf("p%d", g%2)
			for i := 0; i < 200; i++ {
				fsys := st.FS(p)
				h, err := fsys.Create(fmt.Sprintf("f%d", g))
				if err != nil {
					if errors.Is(err, ErrCrashed) {
						continue
					}
					done <- err
					return
				}
				_, _ = h.WriteAt(pattern(700), int64(i))
				_, _ = h.ReadAt(make([]byte, 100), 0)
				_ = h.Sync()
				if i%50 == 0 {
					st.Crash(p, true)
				}
				if i == 100 {
					st.SetAtlas(a, map[string]int{"p0": 0, "p1": 1})
				}
			}
			done <- nil
		}(g)
	}
	for g := 0; g < 4; g++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if st.Counters().Crashes != 16 {
		t.Fatalf("crashes = %d, want 16", st.Counters().Crashes)
	}
}

// Read faults belong to a physical disk: replicas with the same bytes at the same place do
// not share them, a crash keeps them, a wipe (a new disk) changes them.
func TestReadFaultsBelongToTheDisk(t *testing.T) {
	t.Parallel()
	st, _ := NewStorage(3, Config{ReadFaultProbability: 0.3}, nil)
	data := pattern(64 * 512)
	faults := func(p string) string {
		fsys := st.FS(p)
		h, err := fsys.Open("f")
		if err != nil {
			h = mustCreate(t, fsys, "f", data)
			_ = h.Sync()
			_ = fsys.SyncDir("")
		}
		got := make([]byte, len(data))
		_, _ = h.ReadAt(got, 0)
		var b []byte
		for i := range got {
			if got[i] != data[i] {
				b = append(b, fmt.Sprint(i, ",")...)
			}
		}
		return string(b)
	}
	a, b := faults("a"), faults("b")
	if a == "" || a == b {
		t.Fatalf("replicas a and b share their bad bytes: %q vs %q", a, b)
	}
	st.Crash("a", true)
	if again := faults("a"); again != a {
		t.Fatalf("a crash changed the disk's bad sectors: %q vs %q", again, a)
	}
	st.Wipe("a")
	if fresh := faults("a"); fresh == a {
		t.Fatal("a wiped (new) disk has the old disk's bad sectors")
	}
}
