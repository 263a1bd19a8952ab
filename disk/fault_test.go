package disk

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/faultbox/faultbox/fault"
)

func faulty(t *testing.T, cfg Config) (*FaultFS, *MemFS) {
	t.Helper()
	m := NewMem()
	f, err := NewFaultFS(m, FaultOptions{Seed: 7, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	return f, m
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/512)
	}
	return b
}

func TestReadCorruptionIsAnOverlay(t *testing.T) {
	t.Parallel()
	cfg := Config{ReadFaultProbability: 1}
	f, m := faulty(t, cfg)
	data := pattern(2048)
	h := mustCreate(t, f, "f", data)
	got := make([]byte, len(data))
	if _, err := h.ReadAt(got, 0); err != nil {
		t.Fatal(err)
	}
	diff := 0
	for i := range got {
		if got[i] != data[i] {
			diff++
		}
	}
	if diff != 4 {
		t.Fatalf("read of 4 sectors at probability 1: %d bytes differ, want one per sector", diff)
	}
	if stored := readAll(t, m, "f"); !bytes.Equal(stored, data) {
		t.Fatal("read corruption changed the stored bytes")
	}
	again := make([]byte, len(data))
	_, _ = h.ReadAt(again, 0)
	if !bytes.Equal(again, got) {
		t.Fatal("a retry saw a different fault: the overlay must be keyed by location")
	}
	if n := f.Counters().ReadCorruption; n != 8 {
		t.Fatalf("counter = %d, want 8 (4 sectors, read twice)", n)
	}
	if err := f.SetConfig(cfg.FaultsOff()); err != nil {
		t.Fatal(err)
	}
	_, _ = h.ReadAt(again, 0)
	if !bytes.Equal(again, data) {
		t.Fatal("with faults off, reads must see the true bytes")
	}
}

func TestMisdirectedRead(t *testing.T) {
	t.Parallel()
	f, _ := faulty(t, Config{MisdirectReadProbability: 1})
	data := pattern(8 * 512)
	h := mustCreate(t, f, "f", data)
	got := make([]byte, 100)
	if _, err := h.ReadAt(got, 1024+10); err != nil {
		t.Fatal(err)
	}
	ev := f.Log().Events()
	if len(ev) != 1 || ev[0].Kind != string(MisdirectedRead) || ev[0].Offset != 1034 {
		t.Fatalf("events = %v, want one misdirected read at 1034", ev)
	}
	var from int64
	if _, err := fmt.Sscanf(ev[0].Detail, "from=%d", &from); err != nil {
		t.Fatal(err)
	}
	if from == 1034 || (from-1034)%512 != 0 {
		t.Fatalf("misdirected to %d: want another offset a whole number of sectors away", from)
	}
	if !bytes.Equal(got, data[from:from+100]) {
		t.Fatal("misdirected read did not return the bytes at its target")
	}
}

func TestWriteCorruption(t *testing.T) {
	t.Parallel()
	f, m := faulty(t, Config{WriteFaultProbability: 1})
	data := pattern(300)
	h := mustCreate(t, f, "f", nil)
	if n, err := h.WriteAt(data, 0); n != len(data) || err != nil {
		t.Fatalf("corrupted write must report success: %d, %v", n, err)
	}
	stored := readAll(t, m, "f")
	ev := f.Log().Events()
	if len(ev) != 1 || ev[0].Kind != string(WriteCorruption) {
		t.Fatalf("events = %v", ev)
	}
	at := ev[0].Offset
	if stored[at] == data[at] || !bytes.Equal(stored[:at], data[:at]) || !bytes.Equal(stored[at+1:], data[at+1:]) {
		t.Fatal("what landed must differ from what was written in exactly the reported byte")
	}
	if data[0] != pattern(1)[0] {
		t.Fatal("the caller's buffer was modified")
	}
}

func TestMisdirectedWrite(t *testing.T) {
	t.Parallel()
	f, m := faulty(t, Config{MisdirectWriteProbability: 1})
	h := mustCreate(t, f, "f", nil) // create is not a write
	if _, err := h.WriteAt([]byte("RECORD"), 4096); err != nil {
		t.Fatal(err)
	}
	ev := f.Log().Events()
	if len(ev) != 1 || ev[0].Kind != string(MisdirectedWrite) {
		t.Fatalf("events = %v", ev)
	}
	var to int64
	_, _ = fmt.Sscanf(ev[0].Detail, "to=%d", &to)
	if to == 4096 || (to-4096)%512 != 0 || to < 0 {
		t.Fatalf("landed at %d: want another aligned offset", to)
	}
	stored := readAll(t, m, "f")
	if !bytes.Equal(stored[to:to+6], []byte("RECORD")) {
		t.Fatal("the bytes are not at the target")
	}
	if int64(len(stored)) > 4096 && bytes.Contains(stored[4096:min(int64(len(stored)), 4102)], []byte("R")) {
		t.Fatal("the bytes also landed where they were aimed")
	}
}

func TestPhantomWriteThroughStorage(t *testing.T) {
	t.Parallel()
	st, err := NewStorage(1, Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	fsys := st.FS("p")
	h := mustCreate(t, fsys, "f", []byte("durable"))
	_ = h.Sync()
	_ = fsys.SyncDir("")
	_ = st.SetProcessConfig("p", Config{PhantomWriteProbability: 1})
	if _, err := h.WriteAt([]byte("PHANTOM"), 0); err != nil {
		t.Fatal(err)
	}
	if err := h.Sync(); err != nil {
		t.Fatalf("a phantom write's sync reports success, got %v", err)
	}
	if got := readAll(t, fsys, "f"); string(got) != "PHANTOM" {
		t.Fatalf("before the crash reads see the write, got %q", got)
	}
	st.Crash("p", true)
	if got := readAll(t, st.FS("p"), "f"); string(got) != "durable" {
		t.Fatalf("after the crash the phantom write is gone, got %q", got)
	}
	if c := st.Counters(); c.PhantomWrite != 1 || c.Crashes != 1 {
		t.Fatalf("counters = %+v", c)
	}
}

func TestSyncFailure(t *testing.T) {
	t.Parallel()
	for _, linux := range []bool{false, true} {
		st, _ := NewStorage(1, Config{}, nil)
		fsys := st.FS("p")
		h := mustCreate(t, fsys, "f", nil)
		_ = h.Sync()
		_ = fsys.SyncDir("")
		_, _ = h.WriteAt([]byte("dirty"), 0)
		_ = st.SetProcessConfig("p", Config{SyncFailureProbability: 1, SyncFailureDropsDirty: linux})
		if err := h.Sync(); !errors.Is(err, ErrSyncFailed) {
			t.Fatalf("linux=%v: sync = %v, want ErrSyncFailed", linux, err)
		}
		st.ClearProcessConfig("p")
		if err := h.Sync(); err != nil {
			t.Fatalf("linux=%v: later sync: %v", linux, err)
		}
		st.Crash("p", true)
		got := readAll(t, st.FS("p"), "f")
		if linux && bytes.Contains(got, []byte("dirty")) {
			t.Fatalf("linux mode: the later sync succeeded without the dropped data, yet %q survived", got)
		}
		if !linux && string(got) != "dirty" {
			t.Fatalf("plain mode: the data stays dirty and the later sync writes it, got %q", got)
		}
	}
}

// workload drives the same operations against a FaultFS.
func workload(t *testing.T, fsys FS) {
	t.Helper()
	h := mustCreate(t, fsys, "w", nil)
	buf := make([]byte, 700)
	for i := 0; i < 300; i++ {
		data := pattern(100 + i%400)
		_, _ = h.WriteAt(data, int64(i*97))
		if i%5 == 0 {
			_ = h.Sync()
		}
		_, _ = h.ReadAt(buf, int64(i*53))
	}
}

func eventLines(ev []fault.Event, fam Family) string {
	var b strings.Builder
	for _, e := range ev {
		if fam == "" || e.Kind == string(fam) {
			e.Seq = 0
			if fam != "" {
				e.Time = 0 // other families' latency moves the clock, not the decisions
			}
			b.WriteString(e.String() + "\n")
		}
	}
	return b.String()
}

func TestSameSeedSameEvents(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	for _, f := range []*float64{&cfg.ReadFaultProbability, &cfg.WriteFaultProbability,
		&cfg.MisdirectWriteProbability, &cfg.MisdirectReadProbability,
		&cfg.PhantomWriteProbability, &cfg.SyncFailureProbability} {
		*f = 0.05
	}
	run := func(seed fault.Seed) string {
		st, _ := NewStorage(seed, cfg, NewVirtualClock())
		workload(t, st.FS("a"))
		st.Crash("a", true)
		workload(t, st.FS("a"))
		return eventLines(st.Events(), "")
	}
	a, b := run(10), run(10) // a seed whose workload hits every family (read corruption is keyed by content, so it clumps)
	if a != b {
		t.Fatalf("same seed, same workload, different events:\n%s\n---\n%s", a, b)
	}
	for _, fam := range []Family{ReadCorruption, WriteCorruption, MisdirectedWrite, MisdirectedRead, PhantomWrite, SyncFailure} {
		if !strings.Contains(a, string(fam)) {
			t.Errorf("workload injected no %s at 5%%", fam)
		}
	}
	if c := run(12); c == a {
		t.Fatal("a different seed gave the same events")
	}
}

func TestOffFamilyDrawsNothing(t *testing.T) {
	t.Parallel()
	run := func(cfg Config) string {
		f, _ := faulty(t, cfg)
		workload(t, f)
		return eventLines(f.Log().Events(), WriteCorruption)
	}
	alone := run(Config{WriteFaultProbability: 0.2})
	withOthers := run(Config{WriteFaultProbability: 0.2, SyncFailureProbability: 0.5,
		PhantomWriteProbability: 0.3, ReadFaultProbability: 0.1, WriteLatency: LatencyRange{1, 1000}})
	if alone == "" || alone != withOthers {
		t.Fatalf("turning other families on changed write corruption:\n%s\n---\n%s", alone, withOthers)
	}
}

func TestLatencyOnVirtualClock(t *testing.T) {
	t.Parallel()
	clock := NewVirtualClock()
	cfg := Config{IOPS: 1000, Bandwidth: 1e6, ReadLatency: LatencyRange{time.Millisecond, time.Millisecond},
		SyncLatency: LatencyRange{2 * time.Millisecond, 4 * time.Millisecond}}
	f, err := NewFaultFS(NewMem(), FaultOptions{Seed: 1, Config: cfg, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := f.inner.Create("f")
	ff := newFaultFile(f, h, "f")
	start := clock.Now()
	_, _ = ff.ReadAt(make([]byte, 1000), 0)
	// 1 ms sampled + 1/IOPS (1 ms) + 1000 B / 1 MB/s (1 ms).
	if got := clock.Now() - start; got != 3*time.Millisecond {
		t.Fatalf("read cost %s, want 3ms", got)
	}
	for i := 0; i < 50; i++ {
		before := clock.Now()
		_ = ff.Sync()
		if d := clock.Now() - before; d < 3*time.Millisecond || d > 5*time.Millisecond {
			t.Fatalf("sync cost %s, want sampled 2-4ms plus 1ms", d)
		}
	}
	// Wall time is not asserted here (BenchmarkDiskVirtualMillionIOs measures it); the clock
	// must have moved by the simulated amount.
	for i := 0; i < 10000; i++ {
		_ = ff.Sync()
	}
	if clock.Now() < 30*time.Second {
		t.Fatalf("10,000 syncs advanced the virtual clock only %s", clock.Now())
	}
}

func TestRealClockSleeps(t *testing.T) {
	t.Parallel()
	c := RealClock()
	f, _ := NewFaultFS(NewMem(), FaultOptions{Config: Config{SyncLatency: LatencyRange{2 * time.Millisecond, 2 * time.Millisecond}}, Clock: c})
	h, _ := f.Create("x")
	start := time.Now()
	_ = h.Sync()
	if d := time.Since(start); d < 2*time.Millisecond {
		t.Fatalf("real clock: sync took %s, want at least its 2ms latency", d)
	}
}

func TestFaultFSOverOS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f, err := NewFaultFS(OS(dir), FaultOptions{Seed: 3, Config: Config{WriteFaultProbability: 1, PhantomWriteProbability: 1}})
	if err != nil {
		t.Fatal(err)
	}
	h := mustCreate(t, f, "x", []byte("hello world"))
	_ = h.Sync()
	got := readAll(t, OS(dir), "x")
	if bytes.Equal(got, []byte("hello world")) || len(got) != 11 {
		t.Fatalf("write corruption over the OS: file = %q, want one flipped bit", got)
	}
	if f.Counters().PhantomWrite != 0 {
		t.Fatal("phantom writes cannot be applied to the OS and must not be reported")
	}
}

func TestOSPassThrough(t *testing.T) {
	t.Parallel()
	o := OS(t.TempDir())
	if err := o.Mkdir("d"); err != nil {
		t.Fatal(err)
	}
	h := mustCreate(t, o, "d/a", []byte("abc"))
	if h.Name() != "d/a" {
		t.Fatalf("name = %q", h.Name())
	}
	if err := h.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := o.SyncDir("d"); err != nil {
		t.Fatal(err)
	}
	if err := o.Rename("d/a", "d/b"); err != nil {
		t.Fatal(err)
	}
	names, err := o.List("d")
	if err != nil || strings.Join(names, ",") != "b" {
		t.Fatalf("list = %v, %v", names, err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := h.ReadAt(make([]byte, 1), 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("read after close: %v, want ErrClosed", err)
	}
	buf := make([]byte, 10)
	g, _ := o.Open("d/b")
	if n, err := g.ReadAt(buf, 0); n != 3 || err != io.EOF {
		t.Fatalf("read = %d, %v", n, err)
	}
}
