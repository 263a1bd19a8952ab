package disk

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"github.com/faultbox/faultbox/fault"
)

func mustCreate(t *testing.T, fsys FS, name string, data []byte) File {
	t.Helper()
	f, err := fsys.Create(name)
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	if len(data) > 0 {
		if _, err := f.WriteAt(data, 0); err != nil {
			t.Fatalf("write %s: %v", name, err)
		}
	}
	return f
}

func readAll(t *testing.T, fsys FS, name string) []byte {
	t.Helper()
	f, err := fsys.Open(name)
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, fi.Size())
	if n, err := f.ReadAt(buf, 0); n != len(buf) || (err != nil && err != io.EOF) {
		t.Fatalf("read %s: %d, %v", name, n, err)
	}
	return buf
}

func TestMemReadWrite(t *testing.T) {
	t.Parallel()
	m := NewMem()
	f := mustCreate(t, m, "a", []byte("hello"))
	if _, err := f.WriteAt([]byte("X"), 8); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, m, "a"); !bytes.Equal(got, []byte("hello\x00\x00\x00X")) {
		t.Fatalf("content = %q, want hello, a zero gap and X", got)
	}
	buf := make([]byte, 4)
	if n, err := f.ReadAt(buf, 7); n != 2 || err != io.EOF {
		t.Fatalf("read across the end = %d, %v; want 2, EOF", n, err)
	}
	if err := f.Truncate(2); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(4); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, m, "a"); !bytes.Equal(got, []byte("he\x00\x00")) {
		t.Fatalf("after shrink and grow = %q, want he and zeros (no stale bytes)", got)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ReadAt(buf, 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("read after close: %v, want ErrClosed", err)
	}
}

func TestMemDirectoryOperations(t *testing.T) {
	t.Parallel()
	m := NewMem()
	if err := m.Mkdir("d"); err != nil {
		t.Fatal(err)
	}
	if err := m.Mkdir("d"); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second mkdir: %v, want ErrExist", err)
	}
	if err := m.Mkdir("x/y"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("mkdir without parent: %v, want ErrNotExist", err)
	}
	mustCreate(t, m, "d/b", []byte("b"))
	mustCreate(t, m, "d/a", []byte("a"))
	names, err := m.List("/d/")
	if err != nil || !slices.Equal(names, []string{"a", "b"}) {
		t.Fatalf("list = %v, %v; want [a b]", names, err)
	}
	if err := m.Rename("d/a", "d/b"); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, m, "d/b"); string(got) != "a" {
		t.Fatalf("rename over a file: d/b = %q, want a", got)
	}
	if _, err := m.Open("d/a"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("old name after rename: %v, want ErrNotExist", err)
	}
	if err := m.Remove("d"); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("remove non-empty dir: %v, want ErrNotEmpty", err)
	}
	fi, err := m.Stat("d/b")
	if err != nil || fi.Size() != 1 || fi.IsDir() {
		t.Fatalf("stat = %v, %v", fi, err)
	}
	if fi, err := m.Stat("d"); err != nil || !fi.IsDir() {
		t.Fatalf("stat dir = %v, %v", fi, err)
	}
	if _, err := m.Open("d"); !errors.Is(err, ErrIsDir) {
		t.Fatalf("open a dir: %v, want ErrIsDir", err)
	}
	if err := m.Remove("d/b"); err != nil {
		t.Fatal(err)
	}
	if err := m.Remove("d"); err != nil {
		t.Fatal(err)
	}
}

func TestCrashKeepsOnlySyncedData(t *testing.T) {
	t.Parallel()
	m := NewMem()
	f := mustCreate(t, m, "wal", []byte("synced"))
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := m.SyncDir(""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("-unsynced"), 6); err != nil {
		t.Fatal(err)
	}
	after, events := m.Crash(CrashOptions{Seed: 1})
	if len(events) != 0 {
		t.Fatalf("crash without torn writes reported %v", events)
	}
	if got := readAll(t, after, "wal"); string(got) != "synced" {
		t.Fatalf("after crash = %q, want only the synced bytes", got)
	}
	// The crash never touches what the running code holds.
	if got := readAll(t, m, "wal"); string(got) != "synced-unsynced" {
		t.Fatalf("pre-crash disk changed: %q", got)
	}
	// The post-crash disk is independent of the old one.
	g, _ := after.Open("wal")
	if _, err := g.WriteAt([]byte("NEW"), 0); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, m, "wal"); string(got) != "synced-unsynced" {
		t.Fatalf("write to the post-crash disk leaked into the old one: %q", got)
	}
}

func TestDirectoryEntriesDurableOnlyAfterSyncDir(t *testing.T) {
	t.Parallel()
	m := NewMem()
	f := mustCreate(t, m, "new", []byte("data"))
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	after, _ := m.Crash(CrashOptions{Seed: 1})
	if _, err := after.Stat("new"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("file synced but directory not: after crash stat = %v, want ErrNotExist", err)
	}
	if err := m.SyncDir(""); err != nil {
		t.Fatal(err)
	}
	if err := m.Rename("new", "renamed"); err != nil {
		t.Fatal(err)
	}
	after, _ = m.Crash(CrashOptions{Seed: 2})
	if got := readAll(t, after, "new"); string(got) != "data" {
		t.Fatalf("unsynced rename: old name should survive with its data, got %q", got)
	}
	if _, err := after.Stat("renamed"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("unsynced rename: new name survived the crash: %v", err)
	}
	if err := m.SyncDir(""); err != nil {
		t.Fatal(err)
	}
	after, _ = m.Crash(CrashOptions{Seed: 3})
	if names, _ := after.List(""); !slices.Equal(names, []string{"renamed"}) {
		t.Fatalf("after synced rename: entries %v, want [renamed]", names)
	}
	if err := m.Remove("renamed"); err != nil {
		t.Fatal(err)
	}
	after, _ = m.Crash(CrashOptions{Seed: 4})
	if names, _ := after.List(""); !slices.Equal(names, []string{"renamed"}) {
		t.Fatalf("unsynced remove: entries %v, want the file back", names)
	}
	// Nested: a directory's own entry needs its parent synced.
	if err := m.Mkdir("dir"); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, m, "dir/x", nil)
	if err := m.SyncDir("dir"); err != nil {
		t.Fatal(err)
	}
	after, _ = m.Crash(CrashOptions{Seed: 5})
	if _, err := after.Stat("dir"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("dir synced but its parent not: stat = %v, want ErrNotExist", err)
	}
}

func TestCrashKeepAll(t *testing.T) {
	t.Parallel()
	m := NewMem()
	mustCreate(t, m, "f", []byte("unsynced"))
	after, _ := m.Crash(CrashOptions{Seed: 1, KeepAllProbability: 1})
	if got := readAll(t, after, "f"); string(got) != "unsynced" {
		t.Fatalf("keep-all crash: %q, want every visible byte and entry", got)
	}
	// A small share, not all: over many seeds some crashes keep and some do not.
	kept := 0
	for seed := fault.Seed(0); seed < 400; seed++ {
		after, _ := m.Crash(CrashOptions{Seed: seed, KeepAllProbability: 0.05})
		if _, err := after.Stat("f"); err == nil {
			kept++
		}
	}
	if kept == 0 || kept > 60 {
		t.Fatalf("keep-all at 5%%: %d of 400 crashes kept everything, want a small share", kept)
	}
}

func TestTornWriteShapes(t *testing.T) {
	t.Parallel()
	const sector = 512
	old := bytes.Repeat([]byte{'o'}, 8*sector)
	neu := bytes.Repeat([]byte{'n'}, 8*sector)
	seen := map[byte]int{}
	for seed := fault.Seed(0); seed < 20; seed++ {
		m := NewMem()
		f := mustCreate(t, m, "f", old)
		_ = f.Sync()
		_ = m.SyncDir("")
		if _, err := f.WriteAt(neu, 0); err != nil {
			t.Fatal(err)
		}
		after, events := m.Crash(CrashOptions{Seed: seed, TornProbability: 1, SectorSize: sector})
		if len(events) != 1 || events[0].Kind != string(TornWrite) || events[0].Where != "f" {
			t.Fatalf("seed %d: events %v, want one torn-write on f", seed, events)
		}
		shape := strings.TrimPrefix(strings.Fields(events[0].Detail)[0], "shape=")
		got := readAll(t, after, "f")
		if len(got) != len(old) || len(shape) != 8 {
			t.Fatalf("seed %d: size %d shape %q", seed, len(got), shape)
		}
		for s := 0; s < 8; s++ {
			sec := got[s*sector : (s+1)*sector]
			switch shape[s] {
			case 'n':
				if !bytes.Equal(sec, neu[:sector]) {
					t.Fatalf("seed %d sector %d: shape says new, bytes are not", seed, s)
				}
			case 'o':
				if !bytes.Equal(sec, old[:sector]) {
					t.Fatalf("seed %d sector %d: shape says old, bytes are not", seed, s)
				}
			case 'g':
				if bytes.Equal(sec, old[:sector]) || bytes.Equal(sec, neu[:sector]) {
					t.Fatalf("seed %d sector %d: shape says garbage, bytes are old or new", seed, s)
				}
			}
			seen[shape[s]]++
		}
	}
	if seen['n'] == 0 || seen['o'] == 0 || seen['g'] == 0 {
		t.Fatalf("sector outcomes over 20 seeds: %v, want new, old and garbage", seen)
	}
}

// With power-safe overwrite a torn sector lands new or stays old, never garbage: a log's
// synced records that share their last sector with an unsynced one survive every tear.
// Without it the same workload loses them in some seeds.
func TestPowersafeOverwrite(t *testing.T) {
	t.Parallel()
	const sector = 512
	synced := bytes.Repeat([]byte{'s'}, 700)   // the second sector holds synced bytes...
	unsynced := bytes.Repeat([]byte{'u'}, 600) // ...and the first unsynced ones
	for _, powersafe := range []bool{true, false} {
		shapes, lostSynced := map[byte]int{}, 0
		for seed := fault.Seed(0); seed < 40; seed++ {
			m := NewMem()
			f := mustCreate(t, m, "log", synced)
			_ = f.Sync()
			_ = m.SyncDir("")
			if _, err := f.WriteAt(unsynced, int64(len(synced))); err != nil {
				t.Fatal(err)
			}
			after, events := m.Crash(CrashOptions{Seed: seed, TornProbability: 1, SectorSize: sector, PowersafeOverwrite: powersafe})
			if len(events) != 1 {
				t.Fatalf("seed %d: events %v, want one torn write", seed, events)
			}
			for _, c := range strings.TrimPrefix(strings.Fields(events[0].Detail)[0], "shape=") {
				shapes[byte(c)]++
			}
			got := readAll(t, after, "log")
			if len(got) < len(synced) || !bytes.Equal(got[:len(synced)], synced) {
				lostSynced++
			}
		}
		switch {
		case powersafe && (shapes['g'] > 0 || lostSynced > 0 || shapes['n'] == 0 || shapes['o'] == 0):
			t.Fatalf("power-safe: shapes %v, %d of 40 seeds lost synced bytes; want new and old only, none lost", shapes, lostSynced)
		case !powersafe && (shapes['g'] == 0 || lostSynced == 0):
			t.Fatalf("default: shapes %v, %d of 40 seeds lost synced bytes; want garbage, and a loss", shapes, lostSynced)
		}
	}
}

func TestCrashIsAFunctionOfTheSeed(t *testing.T) {
	t.Parallel()
	m := NewMem()
	f := mustCreate(t, m, "f", bytes.Repeat([]byte("x"), 4096))
	_ = f.Sync()
	_ = m.SyncDir("")
	_, _ = f.WriteAt(bytes.Repeat([]byte("y"), 3000), 1000)
	opts := CrashOptions{Seed: 42, TornProbability: 1}
	a, ea := m.Crash(opts)
	b, eb := m.Crash(opts)
	if !bytes.Equal(readAll(t, a, "f"), readAll(t, b, "f")) || ea[0].String() != eb[0].String() {
		t.Fatal("two crashes with the same seed differ")
	}
	opts.Seed = 43
	differs := false
	for s := fault.Seed(43); s < 53 && !differs; s++ {
		opts.Seed = s
		c, _ := m.Crash(opts)
		differs = !bytes.Equal(readAll(t, a, "f"), readAll(t, c, "f"))
	}
	if !differs {
		t.Fatal("ten other seeds all gave the same torn image")
	}
}

func TestPhantomAndDroppedWrites(t *testing.T) {
	t.Parallel()
	m := NewMem()
	f := mustCreate(t, m, "f", []byte("aaaa"))
	_ = f.Sync()
	_ = m.SyncDir("")
	mf := f.(*memFile)
	if _, err := mf.writePhantom([]byte("PP"), 1); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, m, "f"); string(got) != "aPPa" {
		t.Fatalf("a phantom write is visible to reads: got %q", got)
	}
	_ = f.Sync()
	after, _ := m.Crash(CrashOptions{Seed: 1, KeepAllProbability: 1})
	if got := readAll(t, after, "f"); string(got) != "aaaa" {
		t.Fatalf("phantom write survived a crash (even a keep-all one): %q", got)
	}
	// A later ordinary write to part of the range makes that part real again.
	_, _ = f.WriteAt([]byte("Q"), 2)
	_ = f.Sync()
	after, _ = m.Crash(CrashOptions{Seed: 1})
	if got := readAll(t, after, "f"); string(got) != "aaQa" {
		t.Fatalf("overwrite of a phantom range: %q, want aaQa", got)
	}
	// Linux after a failed fsync: dirty data marked clean, never written.
	_, _ = f.WriteAt([]byte("DD"), 0)
	mf.dropDirty()
	_ = f.Sync()
	after, _ = m.Crash(CrashOptions{Seed: 1})
	if got := readAll(t, after, "f"); string(got) != "aaQa" {
		t.Fatalf("dropped dirty data reached the media: %q", got)
	}
	if got := readAll(t, m, "f"); string(got) != "DDQa" {
		t.Fatalf("dropped dirty data must stay visible to reads, got %q", got)
	}
}

// Offsets and sizes that are negative, overflow off+len or pass MaxFileSize are rejected
// with ErrRange (an fs.ErrInvalid) by the memory disk and by the fault wrapper, never a
// panic or a huge allocation; the file is left as it was and no fault is injected.
func TestOutOfRangeOffsetsAndSizes(t *testing.T) {
	t.Parallel()
	m, inner := NewMem(), NewMem()
	f, err := NewFaultFS(inner, FaultOptions{Seed: 7, Config: Config{
		WriteFaultProbability: 1, MisdirectWriteProbability: 1, PhantomWriteProbability: 1}})
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, m, "f", []byte("abc"))
	mustCreate(t, inner, "f", []byte("abc"))
	const maxInt64 = int64(^uint64(0) >> 1)
	for _, fsys := range []FS{m, f} {
		h, err := fsys.Open("f")
		if err != nil {
			t.Fatal(err)
		}
		writes := []struct {
			n   int
			off int64
		}{
			{1, -1}, {4, 1 << 62}, {4, maxInt64 - 1}, {2, MaxFileSize - 1}, {1, MaxFileSize},
		}
		for _, w := range writes {
			n, err := h.WriteAt(make([]byte, w.n), w.off)
			var pe *fs.PathError
			if n != 0 || !errors.Is(err, ErrRange) || !errors.Is(err, fs.ErrInvalid) ||
				!errors.As(err, &pe) || pe.Op != "write" || pe.Path != "f" {
				t.Errorf("%T: WriteAt(%d bytes, %d) = %d, %v; want 0 and a write PathError wrapping ErrRange", fsys, w.n, w.off, n, err)
			}
		}
		for _, size := range []int64{-1, MaxFileSize + 1, 1 << 62, maxInt64} {
			err := h.Truncate(size)
			var pe *fs.PathError
			if !errors.Is(err, ErrRange) || !errors.Is(err, fs.ErrInvalid) || !errors.As(err, &pe) || pe.Op != "truncate" {
				t.Errorf("%T: Truncate(%d) = %v; want a truncate PathError wrapping ErrRange", fsys, size, err)
			}
		}
		if fi, err := h.Stat(); err != nil || fi.Size() != 3 {
			t.Errorf("%T: after rejected calls: size %v, %v; want 3", fsys, fi.Size(), err)
		}
		// An empty write at MaxFileSize is in range and, like pwrite(2), grows nothing.
		if n, err := h.WriteAt(nil, MaxFileSize); n != 0 || err != nil {
			t.Errorf("%T: WriteAt(nil, MaxFileSize) = %d, %v; want 0, nil", fsys, n, err)
		}
		if fi, err := h.Stat(); err != nil || fi.Size() != 3 {
			t.Errorf("%T: after an empty write: size %v, %v; want 3", fsys, fi.Size(), err)
		}
	}
	if c := f.Counters(); c.Total() != 0 {
		t.Errorf("rejected writes injected faults: %s", c)
	}
}
