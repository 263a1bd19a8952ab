package disk

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/faultbox/faultbox/fault"
)

// modelFS is what the differential test drives: the paged MemFS and the dense oracle.
type modelFS interface {
	FS
	DurableSize(name string) (int64, error)
}

type diffFile interface {
	File
	writePhantom(p []byte, off int64) (int, error)
	dropDirty()
}

// dump is a canonical text of a disk's visible tree: every directory and file, with each
// file's size, durable size and a hash of its bytes.
func dump(t *testing.T, m modelFS) string {
	t.Helper()
	var b strings.Builder
	var walk func(dir string)
	walk = func(dir string) {
		names, err := m.List(dir)
		if err != nil {
			t.Fatalf("list %q: %v", dir, err)
		}
		for _, n := range names {
			p := n
			if dir != "" {
				p = dir + "/" + n
			}
			fi, err := m.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if fi.IsDir() {
				fmt.Fprintf(&b, "d %s\n", p)
				walk(p)
				continue
			}
			f, err := m.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, fi.Size())
			if n, err := f.ReadAt(buf, 0); n != len(buf) || (err != nil && err != io.EOF) {
				t.Fatalf("read %s: %d %v", p, n, err)
			}
			ds, _ := m.DurableSize(p)
			fmt.Fprintf(&b, "f %s size=%d durable=%d hash=%x\n", p, fi.Size(), ds, fault.HashBytes(buf))
		}
	}
	walk("")
	return b.String()
}

func eventsText(es []fault.Event) string {
	var b strings.Builder
	for _, e := range es {
		b.WriteString(e.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// TestPagedMatchesDense drives the paged memory disk and the dense oracle (ref_test.go, the
// model as it was before pages) through the same random workloads of writes, phantom
// writes, truncates, syncs, dropped syncs, directory operations and crashes of every
// shape, and requires the same visible bytes, the same durable sizes, and after every crash
// the same post-crash disk and the same events.
func TestPagedMatchesDense(t *testing.T) {
	t.Parallel()
	seeds := 40
	if testing.Short() {
		seeds = 15
	}
	for seed := uint64(1); seed <= uint64(seeds); seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			diffWorkload(t, rand.New(rand.NewPCG(seed, 99)), 400)
		})
	}
}

// FuzzPagedMatchesDense is TestPagedMatchesDense with the fuzzer choosing: every choice of
// the workload (file, operation, offset, size, bytes, crash shape) is read from the input,
// so the fuzzer's coverage guidance steers the operation sequences, not only the seed.
func FuzzPagedMatchesDense(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x00\x10\x20\x30\x40\x50\x60\x70\x80\x90\xa0\xb0\xc0\xd0\xe0\xf0"))
	f.Add(bytes.Repeat([]byte{3, 200, 17, 90, 64, 5, 250, 128}, 40))
	f.Fuzz(func(t *testing.T, choices []byte) {
		diffWorkload(t, rand.New(&byteSource{data: choices}), 120)
	})
}

// byteSource is a rand.Source that reads its values from data, eight bytes a value, and
// goes on with a fixed sequence when data runs out (every input is a whole workload).
type byteSource struct {
	data []byte
	n    uint64
}

func (s *byteSource) Uint64() uint64 {
	if len(s.data) == 0 {
		s.n++
		return s.n * 0x9e3779b97f4a7c15
	}
	var b [8]byte
	k := copy(b[:], s.data)
	s.data = s.data[k:]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

func diffWorkload(t *testing.T, r *rand.Rand, steps int) {
	var a modelFS = NewMem()
	var b modelFS = newRef()
	names := []string{"a", "b", "d/c", "d/e", "log"}
	sectors := []int{0, 512, 256, 4096, 8192, 1000}
	maxOff := []int64{2000, 20_000, 70_000, 300_000}[r.IntN(4)]
	type pair struct{ a, b diffFile }
	open := map[string]pair{}
	var lastKey string
	step := func(i int) string {
		name := names[r.IntN(len(names))]
		switch k := r.IntN(100); {
		case k < 6:
			fa, ea := a.Create(name)
			fb, eb := b.Create(name)
			if (ea == nil) != (eb == nil) {
				t.Fatalf("step %d create %s: %v vs %v", i, name, ea, eb)
			}
			if ea == nil {
				open[name] = pair{fa.(diffFile), fb.(diffFile)}
			}
			return "create " + name
		case k < 9:
			fa, ea := a.Open(name)
			fb, eb := b.Open(name)
			if (ea == nil) != (eb == nil) {
				t.Fatalf("step %d open %s: %v vs %v", i, name, ea, eb)
			}
			if ea == nil {
				open[name] = pair{fa.(diffFile), fb.(diffFile)}
			}
			return "open " + name
		case k < 11:
			ea, eb := a.Mkdir("d"), b.Mkdir("d")
			if (ea == nil) != (eb == nil) {
				t.Fatalf("step %d mkdir: %v vs %v", i, ea, eb)
			}
			return "mkdir d"
		case k < 14:
			dir := []string{"", "d"}[r.IntN(2)]
			_, _ = a.SyncDir(dir), b.SyncDir(dir)
			return "syncdir " + dir
		case k < 16:
			to := names[r.IntN(len(names))]
			ea, eb := a.Rename(name, to), b.Rename(name, to)
			if (ea == nil) != (eb == nil) {
				t.Fatalf("step %d rename: %v vs %v", i, ea, eb)
			}
			return "rename " + name + " " + to
		case k < 17:
			ea, eb := a.Remove(name), b.Remove(name)
			if (ea == nil) != (eb == nil) {
				t.Fatalf("step %d remove: %v vs %v", i, ea, eb)
			}
			return "remove " + name
		case k < 22:
			co := CrashOptions{Seed: fault.Seed(r.Uint64()), SectorSize: sectors[r.IntN(len(sectors))],
				TornProbability: []float64{0, 0.5, 1}[r.IntN(3)], KeepAllProbability: []float64{0, 0.2}[r.IntN(2)]}
			ca, eva := a.(*MemFS).Crash(co)
			cb, evb := b.(*refFS).Crash(co)
			if x, y := eventsText(eva), eventsText(evb); x != y {
				t.Fatalf("step %d crash %+v: events differ:\npaged:\n%s\ndense:\n%s", i, co, x, y)
			}
			if x, y := dump(t, ca), dump(t, cb); x != y {
				t.Fatalf("step %d crash %+v: post-crash disks differ:\npaged:\n%s\ndense:\n%s", i, co, x, y)
			}
			if r.IntN(2) == 0 { // go on with the post-crash disk; else keep the old one
				a, b = ca, cb
				open = map[string]pair{}
			}
			return "crash"
		}
		if len(open) == 0 {
			return "noop"
		}
		keys := make([]string, 0, len(open))
		for k := range open {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		key := keys[r.IntN(len(keys))]
		p := open[key]
		defer func() { lastKey = key }()
		switch k := r.IntN(100); {
		case k < 45, k >= 95:
			off := r.Int64N(maxOff)
			if r.IntN(4) == 0 {
				off = off / 4096 * 4096
			}
			n := []int{1, 100, 512, 4096, 5000, 9000}[r.IntN(6)]
			buf := make([]byte, n)
			for j := range buf {
				buf[j] = byte(r.IntN(3)) // few distinct bytes: rewrites often equal
			}
			if k < 8 {
				_, _ = p.a.writePhantom(buf, off)
				_, _ = p.b.writePhantom(buf, off)
				return "phantom"
			}
			_, _ = p.a.WriteAt(buf, off)
			_, _ = p.b.WriteAt(buf, off)
			return fmt.Sprintf("write %d@%d", n, off)
		case k < 65:
			_, _ = p.a.Sync(), p.b.Sync()
			return "sync"
		case k < 72:
			p.a.dropDirty()
			p.b.dropDirty()
			return "drop"
		case k < 82:
			size := r.Int64N(maxOff + 5000)
			_, _ = p.a.Truncate(size), p.b.Truncate(size)
			return fmt.Sprintf("truncate %d", size)
		default:
			off := r.Int64N(maxOff)
			ba, bb := make([]byte, 3000), make([]byte, 3000)
			na, ea := p.a.ReadAt(ba, off)
			nb, eb := p.b.ReadAt(bb, off)
			if na != nb || ea != eb || !bytes.Equal(ba, bb) {
				t.Fatalf("step %d read at %d: %d %v vs %d %v", i, off, na, ea, nb, eb)
			}
			return "read"
		}
	}
	var hist []string
	for i := 0; i < steps; i++ {
		hist = append(hist, step(i)+"("+lastKey+")")
		lastKey = ""
		if i%10 == 0 || i == steps-1 {
			for k, p := range open {
				an, bn := p.a.(*memFile).n, p.b.(*refFile).n
				da := make([]byte, an.durSize)
				an.dur.readAt(da, 0)
				if !bytes.Equal(da, bn.durable) {
					t.Fatalf("after step %d %s raw durable differs: %s\n%v", i, k, inodeDiff(t, an, bn), hist[max(0, len(hist)-10):])
				}
			}
			if x, y := dump(t, a), dump(t, b); x != y {
				t.Fatalf("after step %d (%v): visible disks differ:\npaged:\n%s\ndense:\n%s", i, hist[max(0, len(hist)-10):], x, y)
			}
		}
	}
}

// inodeDiff describes a paged inode next to a dense one, for a failure message.
func inodeDiff(t *testing.T, a *memInode, b *refInode) string {
	da := make([]byte, a.durSize)
	a.dur.readAt(da, 0)
	va := make([]byte, a.size)
	a.vis.readAt(va, 0)
	s := fmt.Sprintf("sizes %d/%d vs %d/%d dirty %v [%d,%d) vs %v [%d,%d) ph %d vs %d\n", a.size, a.durSize, len(b.data), len(b.durable),
		a.dirty, a.dirtyLo, a.dirtyHi, b.dirty, b.dirtyLo, b.dirtyHi, len(a.phantom), len(b.phantom))
	for _, e := range a.phantom {
		s += fmt.Sprintf(" ext %d+%d", e.off, len(e.old))
	}
	s += "\n"
	cnt := 0
	for i := range da {
		if i < len(b.durable) && da[i] != b.durable[i] && cnt < 5 {
			s += fmt.Sprintf("dur differs at %d (page %d) %d vs %d, vis %d/%d\n", i, i>>12, da[i], b.durable[i], va[min(i, len(va)-1)], b.data[min(i, len(b.data)-1)])
			cnt++
		}
	}
	return s
}

// allocated reports the bytes fn allocates (not parallel: it reads global counters).
func allocated(fn func()) uint64 {
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	fn()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// TestCostFollowsTheWork: memory follows the data written, a sync costs what it makes
// durable and a crash what was not yet durable, whatever the file's size.
func TestCostFollowsTheWork(t *testing.T) {
	m := NewMem()
	f := mustCreate(t, m, "f", nil)
	if n := allocated(func() { _, _ = f.WriteAt([]byte{1}, 512<<30) }); n > 64<<10 {
		t.Fatalf("a 1-byte write at 512 GiB allocated %d bytes, want one page", n)
	}
	if err := f.Truncate(0); err != nil {
		t.Fatal(err)
	}
	block := bytes.Repeat([]byte{7}, 1<<20)
	for off := int64(0); off < 32<<20; off += 1 << 20 {
		_, _ = f.WriteAt(block, off)
	}
	_ = f.Sync()
	_ = m.SyncDir("")
	if n := allocated(func() {
		_, _ = f.WriteAt(block[:4096], 20<<20)
		_ = f.Sync()
	}); n > 64<<10 {
		t.Fatalf("4 KiB write + sync in a 32 MiB file allocated %d bytes", n)
	}
	_, _ = f.WriteAt(block[:4096], 9<<20)
	if n := allocated(func() { m.Crash(CrashOptions{Seed: 1, TornProbability: 1}) }); n > 512<<10 {
		t.Fatalf("crash of a 32 MiB file with 4 KiB unsynced allocated %d bytes", n)
	}
}
