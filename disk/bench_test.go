package disk

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
)

// The cost benchmarks of the memory disk at growing file sizes, the paged MemFS (impl=paged)
// side by side with the dense model it replaced (impl=dense, the test-only oracle in
// ref_test.go), in one run:
//
//	go test -run '^$' -bench 'Mem(RandomWrite|Crash|Footprint)' -benchmem ./disk/
//
// The sizes are in the benchmarks, not in tests, so the suite stays fast.

// benchFS is what the benchmarks need of either implementation.
type benchFS interface {
	FS
	crash(CrashOptions) any
}

type pagedBench struct{ *MemFS }

func (m pagedBench) crash(o CrashOptions) any { d, _ := m.Crash(o); return d }

type denseBench struct{ *refFS }

func (m denseBench) crash(o CrashOptions) any { d, _ := m.Crash(o); return d }

var impls = []struct {
	name string
	make func() benchFS
}{{"paged", func() benchFS { return pagedBench{NewMem()} }}, {"dense", func() benchFS { return denseBench{newRef()} }}}

var benchSizes = []struct {
	name  string
	bytes int64
}{{"1MiB", 1 << 20}, {"64MiB", 64 << 20}, {"1GiB", 1 << 30}}

// filled returns a memory disk holding one synced file of size bytes (its entry synced too).
func filled(b *testing.B, newFS func() benchFS, size int64) (benchFS, File) {
	m, fs := filledFiles(b, newFS, 1, size)
	return m, fs[0]
}

// filledFiles returns a memory disk holding count synced files of size bytes each.
func filledFiles(b *testing.B, newFS func() benchFS, count int, size int64) (benchFS, []File) {
	b.Helper()
	m := newFS()
	chunk := make([]byte, min(size, 1<<20))
	for i := range chunk {
		chunk[i] = byte(i * 7)
	}
	files := make([]File, count)
	for k := range files {
		f, err := m.Create(fmt.Sprintf("f%d", k))
		if err != nil {
			b.Fatal(err)
		}
		for off := int64(0); off < size; off += int64(len(chunk)) {
			if _, err := f.WriteAt(chunk[:min(int64(len(chunk)), size-off)], off); err != nil {
				b.Fatal(err)
			}
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		files[k] = f
	}
	if err := m.SyncDir(""); err != nil {
		b.Fatal(err)
	}
	return m, files
}

// BenchmarkMemRandomWrite: 4 KiB writes at random aligned offsets of a file of each size,
// with a sync after every write (syncEvery=1) or after every tenth (syncEvery=10, the
// issue's figure: the writes between two syncs are spread over the whole file). ns/op is
// per write, its share of the syncs included; cpu-ns/op is the process's CPU time per write
// (the GC's included), which a machine shared with other work disturbs less than ns/op.
func BenchmarkMemRandomWrite(b *testing.B) {
	for _, every := range []int{1, 10} {
		for _, s := range benchSizes {
			for _, im := range impls {
				b.Run(fmt.Sprintf("syncEvery=%d/size=%s/impl=%s", every, s.name, im.name), func(b *testing.B) {
					_, f := filled(b, im.make, s.bytes)
					blocks := s.bytes / 4096
					r := rand.New(rand.NewPCG(1, 2))
					p := make([]byte, 4096)
					runtime.GC()
					b.ReportAllocs()
					b.ResetTimer()
					cpu0, cpuOK := cpuTime()
					for i := 0; i < b.N; i++ {
						p[0] = byte(i)
						if _, err := f.WriteAt(p, r.Int64N(blocks)*4096); err != nil {
							b.Fatal(err)
						}
						if (i+1)%every == 0 {
							if err := f.Sync(); err != nil {
								b.Fatal(err)
							}
						}
					}
					b.StopTimer()
					if cpu1, ok := cpuTime(); ok && cpuOK {
						b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
					}
				})
			}
		}
	}
}

// BenchmarkRawRandomWrite is the floor under BenchmarkMemRandomWrite: the same 4 KiB writes
// at random aligned offsets, copied into one plain byte slice of each size (no pages, no
// sync, no lock). What grows with the size here is the memory hierarchy's, not the disk
// model's: at 1 GiB a write stores into memory last touched when it was filled.
func BenchmarkRawRandomWrite(b *testing.B) {
	for _, s := range benchSizes {
		b.Run("size="+s.name, func(b *testing.B) {
			buf := make([]byte, s.bytes)
			for i := range buf {
				buf[i] = byte(i * 7)
			}
			blocks := s.bytes / 4096
			r := rand.New(rand.NewPCG(1, 2))
			p := make([]byte, 4096)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				p[0] = byte(i)
				off := r.Int64N(blocks) * 4096
				copy(buf[off:off+4096], p)
			}
		})
	}
}

// BenchmarkMemWorkingSet separates what the file's size costs a write from what the memory
// the writes touch costs: random 4 KiB writes, a sync of a file after every tenth write to
// it, at a fixed working set and growing file sizes, the model (impl=paged) beside the same
// copies into plain byte slices (impl=raw).
//   - set=1MiB: one file of each size, filled; the writes go to 256 pages spread evenly over
//     the file (page j*size/1MiB), so the bytes written stay in the CPU's caches at every
//     size while the file, its page tables and the disk grow 1,024-fold.
//   - set=1GiB: 1 GiB of files, filled, as 1,024 files of 1 MiB, 16 of 64 MiB or one of
//     1 GiB; a write picks a file and a page at random. The memory touched is the same at
//     every size, the files' sizes differ.
//
// Within one set, ns/op moving with the file size is the model's doing; across the two
// sets it is the memory hierarchy's (compare BenchmarkRawRandomWrite).
func BenchmarkMemWorkingSet(b *testing.B) {
	const every = 10
	for _, set := range []int64{1 << 20, 1 << 30} {
		for _, s := range benchSizes {
			count, pages := int(set/s.bytes), set/4096 // files, and pages a file is written at
			stride := int64(1)
			if set < s.bytes {
				count, stride = 1, s.bytes/set
			} else {
				pages = s.bytes / 4096
			}
			name := fmt.Sprintf("set=%s/file=%s", map[int64]string{1 << 20: "1MiB", 1 << 30: "1GiB"}[set], s.name)
			b.Run(name+"/impl=paged", func(b *testing.B) {
				_, files := filledFiles(b, impls[0].make, count, s.bytes)
				writes := make([]int, count)
				r := rand.New(rand.NewPCG(1, 2))
				p := make([]byte, 4096)
				runtime.GC()
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					p[0] = byte(i)
					k := r.IntN(count)
					f := files[k]
					if _, err := f.WriteAt(p, r.Int64N(pages)*stride*4096); err != nil {
						b.Fatal(err)
					}
					if writes[k]++; writes[k] == every {
						writes[k] = 0
						if err := f.Sync(); err != nil {
							b.Fatal(err)
						}
					}
				}
			})
			b.Run(name+"/impl=raw", func(b *testing.B) {
				bufs := make([][]byte, count)
				for k := range bufs {
					bufs[k] = make([]byte, s.bytes)
					for i := range bufs[k] {
						bufs[k][i] = byte(i * 7)
					}
				}
				r := rand.New(rand.NewPCG(1, 2))
				p := make([]byte, 4096)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					p[0] = byte(i)
					buf := bufs[r.IntN(count)]
					off := r.Int64N(pages) * stride * 4096
					copy(buf[off:off+4096], p)
				}
			})
		}
	}
}

// BenchmarkMemCrash: a crash (every file torn, the costliest shape) of a disk holding one
// synced file of each size with 16 unsynced random 4 KiB writes, and at 1 GiB with 256.
// A crash never changes the disk it is called on, so each iteration crashes the same one.
func BenchmarkMemCrash(b *testing.B) {
	type tc struct {
		name     string
		size     int64
		unsynced int
	}
	cases := []tc{}
	for _, s := range benchSizes {
		cases = append(cases, tc{fmt.Sprintf("size=%s/unsynced=64KiB", s.name), s.bytes, 16})
	}
	cases = append(cases, tc{"size=1GiB/unsynced=1MiB", 1 << 30, 256})
	for _, c := range cases {
		for _, im := range impls {
			b.Run(c.name+"/impl="+im.name, func(b *testing.B) {
				m, f := filled(b, im.make, c.size)
				r := rand.New(rand.NewPCG(3, 4))
				p := make([]byte, 4096)
				for i := 0; i < c.unsynced; i++ {
					p[0] = byte(i + 1)
					if _, err := f.WriteAt(p, r.Int64N(c.size/4096)*4096); err != nil {
						b.Fatal(err)
					}
				}
				runtime.GC()
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if m.crash(CrashOptions{Seed: 7, TornProbability: 1}) == nil {
						b.Fatal("no disk after the crash")
					}
				}
			})
		}
	}
}

// BenchmarkMemFootprint writes 1 GiB to one file in 1 MiB writes, syncing every 64 MiB,
// and reports the live heap afterwards (heap-MiB): the memory a 1 GiB written disk takes.
func BenchmarkMemFootprint(b *testing.B) {
	for _, im := range impls {
		b.Run("impl="+im.name, func(b *testing.B) { footprint(b, im.make) })
	}
}

func footprint(b *testing.B, newFS func() benchFS) {
	for i := 0; i < b.N; i++ {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		m := newFS()
		f, err := m.Create("f")
		if err != nil {
			b.Fatal(err)
		}
		chunk := make([]byte, 1<<20)
		for j := range chunk {
			chunk[j] = byte(j * 7)
		}
		for off := int64(0); off < 1<<30; off += 1 << 20 {
			if _, err := f.WriteAt(chunk, off); err != nil {
				b.Fatal(err)
			}
			if (off+1<<20)%(64<<20) == 0 {
				if err := f.Sync(); err != nil {
					b.Fatal(err)
				}
			}
		}
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "heap-MiB")
		runtime.KeepAlive(m)
	}
}
