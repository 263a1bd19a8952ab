package disk

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/faultbox/faultbox/fault"
)

// A sync hands the durable page it replaces back to its inode for the next write when
// nothing else holds it (see memInode.share). These tests guard that: every disk that
// shares pages with the one reusing them (its crash clones, the disk it was crashed from,
// the states Enumerate hands out) keeps its bytes while the others go on writing.

// reusePair is one disk in both implementations, with file "f" open on both (nil when the
// disk has no such file).
type reusePair struct {
	a      *MemFS
	b      *refFS
	fa, fb diffFile
}

func (p *reusePair) open(t *testing.T) {
	fa, ea := p.a.Open("f")
	fb, eb := p.b.Open("f")
	if (ea == nil) != (eb == nil) {
		t.Fatalf("open f: %v vs %v", ea, eb)
	}
	p.fa, p.fb = nil, nil
	if ea == nil {
		p.fa, p.fb = fa.(diffFile), fb.(diffFile)
	}
}

// TestReuseSparesOtherDisks drives up to six disks at once, each in the paged and the dense
// implementation: the first, and the post-crash disks of crashes of every shape taken from
// any of them. Every disk keeps writing and syncing (whole 4 KiB blocks mostly, which is
// what reuses pages, and partial, phantom and truncating writes), and every ten steps each
// one's visible and durable bytes must equal the dense model's. A page reused while a
// clone still held it would change the clone's bytes under it.
func TestReuseSparesOtherDisks(t *testing.T) {
	t.Parallel()
	seeds := 10
	if testing.Short() {
		seeds = 4
	}
	for seed := uint64(1); seed <= uint64(seeds); seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			reuseWorkload(t, seed, 500)
		})
	}
}

func reuseWorkload(t *testing.T, seed uint64, steps int) {
	r := rand.New(rand.NewPCG(seed, 13))
	const size = 64 << 10
	first := &reusePair{a: NewMem(), b: newRef()}
	for _, m := range []FS{first.a, first.b} {
		f := mustCreate(t, m, "f", bytes.Repeat([]byte{1}, size))
		_ = f.Sync()
		_ = m.SyncDir("")
	}
	first.open(t)
	disks := []*reusePair{first}
	reused := 0
	buf := make([]byte, 4096)
	for step := 0; step < steps; step++ {
		p := disks[r.IntN(len(disks))]
		k := r.IntN(100)
		if p.fa == nil && k < 90 {
			k = 90 // no file on this disk: crash it
		}
		switch {
		case k < 45: // a whole block, or part of one, at a random place
			n, off := 4096, r.Int64N(size/4096)*4096
			if r.IntN(4) == 0 {
				n, off = 1+r.IntN(4096), r.Int64N(size+4096)
			}
			for j := range buf[:n] {
				buf[j] = byte(r.IntN(4))
			}
			_, _ = p.fa.WriteAt(buf[:n], off)
			_, _ = p.fb.WriteAt(buf[:n], off)
		case k < 75:
			before := len(p.fa.(*memFile).n.free)
			_, _ = p.fa.Sync(), p.fb.Sync()
			if len(p.fa.(*memFile).n.free) > before {
				reused++
			}
		case k < 80:
			off := r.Int64N(size)
			_, _ = p.fa.writePhantom(buf[:1000], off)
			_, _ = p.fb.writePhantom(buf[:1000], off)
		case k < 83:
			p.fa.dropDirty()
			p.fb.dropDirty()
		case k < 86:
			n := r.Int64N(size + 8192)
			_, _ = p.fa.Truncate(n), p.fb.Truncate(n)
		default:
			co := CrashOptions{Seed: fault.Seed(r.Uint64()), SectorSize: []int{0, 512, 4096, 1000}[r.IntN(4)],
				TornProbability: []float64{0, 0.5, 1}[r.IntN(3)], KeepAllProbability: []float64{0, 0.3, 1}[r.IntN(3)]}
			ca, eva := p.a.Crash(co)
			cb, evb := p.b.Crash(co)
			if x, y := eventsText(eva), eventsText(evb); x != y {
				t.Fatalf("step %d crash %+v: events differ:\npaged:\n%s\ndense:\n%s", step, co, x, y)
			}
			c := &reusePair{a: ca, b: cb}
			c.open(t)
			if len(disks) == 6 {
				disks = append(disks[:0], disks[1:]...) // the oldest goes
			}
			disks = append(disks, c)
		}
		if step%10 == 0 || step == steps-1 {
			for d, p := range disks {
				if x, y := dump(t, p.a), dump(t, p.b); x != y {
					t.Fatalf("after step %d, disk %d of %d: visible disks differ:\npaged:\n%s\ndense:\n%s", step, d, len(disks), x, y)
				}
				if p.fa == nil {
					continue
				}
				an, bn := p.fa.(*memFile).n, p.fb.(*refFile).n
				da := make([]byte, an.durSize)
				an.dur.readAt(da, 0)
				if !bytes.Equal(da, bn.durable) {
					t.Fatalf("after step %d, disk %d of %d: durable images differ", step, d, len(disks))
				}
			}
		}
	}
	if reused == 0 {
		t.Fatal("no sync kept a page for reuse: the test does not exercise reuse")
	}
}

// TestReuseSparesEnumeratedStates: the states Enumerate hands out share pages with the
// workload's disk, which goes on writing after each; each state also writes and syncs. Every
// state must still hold, after the run, the bytes it held when its check returned.
func TestReuseSparesEnumeratedStates(t *testing.T) {
	t.Parallel()
	const size = 32 << 10
	type kept struct {
		name string
		fs   FS
		want []byte
	}
	var states []kept
	readAll := func(fsys FS) []byte {
		f, err := fsys.Open("f")
		if err != nil {
			return nil
		}
		fi, err := f.Stat()
		if err != nil {
			t.Fatal(err)
		}
		b := make([]byte, fi.Size())
		if n, err := f.ReadAt(b, 0); n != len(b) || (err != nil && err != io.EOF) {
			t.Fatalf("read f: %d %v", n, err)
		}
		return b
	}
	r := rand.New(rand.NewPCG(5, 6))
	workload := func(fsys FS) error {
		f, err := fsys.Create("f")
		if err != nil {
			return err
		}
		if _, err := f.WriteAt(bytes.Repeat([]byte{9}, size), 0); err != nil {
			return err
		}
		if err := f.Sync(); err != nil {
			return err
		}
		if err := fsys.SyncDir(""); err != nil {
			return err
		}
		p := make([]byte, 4096)
		for i := range 40 {
			for j := range p {
				p[j] = byte(i)
			}
			if _, err := f.WriteAt(p, r.Int64N(size/4096)*4096); err != nil {
				return err
			}
			if err := f.Sync(); err != nil {
				return err
			}
		}
		return nil
	}
	check := func(s CrashState) error {
		// The state writes and syncs too, so its own syncs reuse pages.
		if f, err := s.FS.Open("f"); err == nil {
			p := bytes.Repeat([]byte{0xee}, 4096)
			for i := range 3 {
				_, _ = f.WriteAt(p, int64(i%2)*4096)
				_ = f.Sync()
			}
		}
		states = append(states, kept{s.String(), s.FS, readAll(s.FS)})
		return nil
	}
	res, err := Enumerate(workload, check, EnumerateOptions{TornSeeds: 2, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if res.Distinct < 40 {
		t.Fatalf("only %d distinct states checked", res.Distinct)
	}
	for _, s := range states {
		if got := readAll(s.fs); !bytes.Equal(got, s.want) {
			t.Fatalf("%s: its file changed after its check returned", s.name)
		}
	}
}

// TestReuseSparesACrashClone, step by step: pages made durable by a sync, then a crash of
// each shape, then writes and syncs that would reuse those pages: the post-crash disks keep
// their bytes, and the live disk's later syncs still reuse pages.
func TestReuseSparesACrashClone(t *testing.T) {
	t.Parallel()
	for _, co := range []CrashOptions{{}, {KeepAllProbability: 1}, {TornProbability: 1, Seed: 4}} {
		m := NewMem()
		f := mustCreate(t, m, "f", bytes.Repeat([]byte{1}, 16<<10))
		_ = f.Sync()
		_ = m.SyncDir("")
		block := func(b byte) []byte { return bytes.Repeat([]byte{b}, 4096) }
		_, _ = f.WriteAt(block(2), 0)
		_ = f.Sync() // the durable image's block 0 is young: a write + sync would reuse it
		_, _ = f.WriteAt(block(3), 4096)
		c, _ := m.Crash(co)
		want := dump(t, c)
		n := f.(*memFile).n
		reused := 0
		for i := range 20 {
			_, _ = f.WriteAt(block(byte(10+i)), int64(i%2)*4096)
			before := len(n.free)
			_ = f.Sync()
			if len(n.free) > before {
				reused++
			}
		}
		if got := dump(t, c); got != want {
			t.Fatalf("%+v: the post-crash disk changed after the live one wrote on:\nbefore:\n%s\nafter:\n%s", co, want, got)
		}
		if reused < 15 {
			t.Fatalf("%+v: %d of 20 syncs kept a page for reuse, want most", co, reused)
		}
		// And the other way round: the post-crash disk writes, the live one keeps its bytes.
		wantLive := dump(t, m)
		cf, err := c.Open("f")
		if err != nil {
			t.Fatal(err)
		}
		for i := range 20 {
			_, _ = cf.WriteAt(block(byte(40+i)), int64(i%4)*4096)
			_ = cf.Sync()
		}
		if got := dump(t, m); got != wantLive {
			t.Fatalf("%+v: the live disk changed after its post-crash disk wrote:\nbefore:\n%s\nafter:\n%s", co, wantLive, got)
		}
	}
}

// TestSteadyWriteSyncAllocatesNothing: once warm, a random 4 KiB write with a sync after
// it, or ten writes and one sync, allocates nothing: each sync hands the durable pages it
// replaces to the next writes. (BenchmarkMemRandomWrite measures the same at 1 MiB to 1 GiB.)
func TestSteadyWriteSyncAllocatesNothing(t *testing.T) {
	// Not parallel: AllocsPerRun counts every allocation of the process.
	const size = 4 << 20
	m := NewMem()
	f := mustCreate(t, m, "f", bytes.Repeat([]byte{5}, size))
	_ = f.Sync()
	r := rand.New(rand.NewPCG(1, 2))
	p := make([]byte, 4096)
	write := func() {
		p[0]++
		_, _ = f.WriteAt(p, r.Int64N(size/4096)*4096)
	}
	for range 2000 { // warm: the pages the first syncs retire were not made by this inode
		write()
		_ = f.Sync()
	}
	if a := testing.AllocsPerRun(2000, func() { write(); _ = f.Sync() }); a != 0 {
		t.Fatalf("a random 4 KiB write + sync allocates %v times, want 0", a)
	}
	ten := func() {
		for range 10 {
			write()
		}
		_ = f.Sync()
	}
	for range 20 {
		ten()
	}
	if a := testing.AllocsPerRun(200, ten); a != 0 {
		t.Fatalf("10 random 4 KiB writes + a sync allocate %v times, want 0", a)
	}
}

// TestReuseAcrossDisksConcurrently: a disk and its post-crash disk share pages and each has
// its own lock, so they may be driven from different goroutines at once; with -race this
// shows that reuse writes no page or chunk the other disk can see. Every page of the first
// disk is young when it crashes, so its writes would reuse pages the post-crash disk holds
// if the crash did not retire the marks; each side writes a third of the blocks, keeps a
// shadow of its file and checks the whole file at the end.
func TestReuseAcrossDisksConcurrently(t *testing.T) {
	t.Parallel()
	const size = 1 << 20
	// shadow is read before either side starts: what the other side does must not show.
	shadow := func(fsys *MemFS) []byte {
		f, err := fsys.Open("f")
		if err != nil {
			t.Fatal(err)
		}
		b := make([]byte, size)
		if _, err := f.ReadAt(b, 0); err != nil {
			t.Fatal(err)
		}
		return b
	}
	drive := func(fsys *MemFS, shadow []byte, seed uint64, done chan<- error) {
		f, err := fsys.Open("f")
		if err != nil {
			done <- err
			return
		}
		r := rand.New(rand.NewPCG(seed, 1))
		p := make([]byte, 4096)
		for i := range 100 {
			for j := range p {
				p[j] = byte(int(seed) + i + j)
			}
			off := r.Int64N(size/4096) * 4096
			_, _ = f.WriteAt(p, off)
			copy(shadow[off:], p)
			_ = f.Sync()
		}
		got := make([]byte, size)
		if _, err := f.ReadAt(got, 0); err != nil {
			done <- err
			return
		}
		if !bytes.Equal(got, shadow) {
			done <- fmt.Errorf("disk %d: the file differs from what was written to it", seed)
			return
		}
		done <- nil
	}
	for _, co := range []CrashOptions{{}, {KeepAllProbability: 1}, {TornProbability: 1, Seed: 2}} {
		m := NewMem()
		f := mustCreate(t, m, "f", bytes.Repeat([]byte{1}, size))
		_ = f.Sync()
		_ = m.SyncDir("")
		for off := int64(0); off < size; off += 4096 { // every durable page young
			_, _ = f.WriteAt(bytes.Repeat([]byte{byte(off >> 12)}, 4096), off)
			_ = f.Sync()
		}
		_, _ = f.WriteAt([]byte{9}, 100) // unsynced: something for a tear to tear
		c, _ := m.Crash(co)
		sm, sc := shadow(m), shadow(c)
		done := make(chan error, 2)
		go drive(m, sm, 1, done)
		go drive(c, sc, 2, done)
		for range 2 {
			if err := <-done; err != nil {
				t.Fatalf("%+v: %v", co, err)
			}
		}
	}
}
