package bench

import (
	"io"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/vfs"
	"github.com/faultbox/faultbox/disk"
)

// The disk benchmarks compare faultbox's memory disk with Pebble's vfs.NewMem (no
// durability model: Sync is a no-op) and vfs.NewStrictMem (keeps synced data: Sync copies
// the whole file), side by side in one run:
//
//	cd bench && go test -run '^$' -bench 'Disk' -benchmem -count 6 . | tee disk.txt

const (
	blockSize = 4096
	seqBlocks = 4096 // a sequential file restarts every 16 MiB, so memory stays bounded
	fileBytes = 16 << 20
)

type seqWriter interface {
	write(p []byte, off int64) error
	sync() error
	restart() error
}

type fbSeq struct {
	fsys disk.FS
	f    disk.File
}

func (w *fbSeq) write(p []byte, off int64) error { _, err := w.f.WriteAt(p, off); return err }
func (w *fbSeq) sync() error                     { return w.f.Sync() }
func (w *fbSeq) restart() (err error)            { w.f, err = w.fsys.Create("seq"); return err }

type pebbleSeq struct {
	fsys vfs.FS
	f    vfs.File
}

func (w *pebbleSeq) write(p []byte, _ int64) error { _, err := w.f.Write(p); return err }
func (w *pebbleSeq) sync() error                   { return w.f.Sync() }
func (w *pebbleSeq) restart() (err error) {
	if w.f != nil {
		w.f.Close()
	}
	w.f, err = w.fsys.Create("seq")
	return err
}

func faultWrapped(b *testing.B, inner disk.FS, cfg disk.Config, clock disk.Clock) disk.FS {
	f, err := disk.NewFaultFS(inner, disk.FaultOptions{Seed: 1, Config: cfg, Clock: clock})
	if err != nil {
		b.Fatal(err)
	}
	return f
}

func benchSeq(b *testing.B, w seqWriter) {
	buf := make([]byte, blockSize)
	b.SetBytes(blockSize)
	b.ReportAllocs()
	if err := w.restart(); err != nil {
		b.Fatal(err)
	}
	runtime.GC() // the previous sub-benchmark's garbage must not be collected on our time
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := i % seqBlocks
		if k == 0 && i > 0 {
			if err := w.restart(); err != nil {
				b.Fatal(err)
			}
		}
		buf[0] = byte(i)
		if err := w.write(buf, int64(k)*blockSize); err != nil {
			b.Fatal(err)
		}
		if err := w.sync(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDiskSeqWriteSync: 4 KiB sequential write followed by a sync.
func BenchmarkDiskSeqWriteSync(b *testing.B) {
	b.Run("faultbox-mem", func(b *testing.B) { benchSeq(b, &fbSeq{fsys: disk.NewMem()}) })
	b.Run("faultbox-fault0", func(b *testing.B) {
		benchSeq(b, &fbSeq{fsys: faultWrapped(b, disk.NewMem(), disk.Config{}, nil)})
	})
	b.Run("pebble-mem", func(b *testing.B) { benchSeq(b, &pebbleSeq{fsys: vfs.NewMem()}) })
	b.Run("pebble-strictmem", func(b *testing.B) { benchSeq(b, &pebbleSeq{fsys: vfs.NewStrictMem()}) })
}

func offsets() []int64 {
	r := rand.New(rand.NewPCG(1, 2))
	offs := make([]int64, 1<<16)
	for i := range offs {
		offs[i] = int64(r.IntN(fileBytes/blockSize)) * blockSize
	}
	return offs
}

func benchRead(b *testing.B, f io.ReaderAt) {
	offs := offsets()
	buf := make([]byte, blockSize)
	b.SetBytes(blockSize)
	b.ReportAllocs()
	runtime.GC() // the previous sub-benchmark's garbage must not be collected on our time
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := f.ReadAt(buf, offs[i&(len(offs)-1)]); err != nil {
			b.Fatal(err)
		}
	}
}

func fbFile(b *testing.B, fsys disk.FS) disk.File {
	f, err := fsys.Create("data")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := f.WriteAt(make([]byte, fileBytes), 0); err != nil {
		b.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	return f
}

func pebbleFile(b *testing.B, fsys vfs.FS) vfs.File {
	f, err := fsys.Create("data")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := f.Write(make([]byte, fileBytes)); err != nil {
		b.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	return f
}

// BenchmarkDiskRandRead: 4 KiB reads at random aligned offsets of a 16 MiB file.
func BenchmarkDiskRandRead(b *testing.B) {
	b.Run("faultbox-mem", func(b *testing.B) { benchRead(b, fbFile(b, disk.NewMem())) })
	b.Run("faultbox-fault0", func(b *testing.B) {
		benchRead(b, fbFile(b, faultWrapped(b, disk.NewMem(), disk.Config{}, nil)))
	})
	b.Run("pebble-mem", func(b *testing.B) { benchRead(b, pebbleFile(b, vfs.NewMem())) })
	b.Run("pebble-strictmem", func(b *testing.B) { benchRead(b, pebbleFile(b, vfs.NewStrictMem())) })
}

// BenchmarkDiskVirtualMillionIOs: one million 4 KiB I/Os (reads and writes, a sync every
// 64 writes) at moonpool's default latencies on a virtual clock. It reports the simulated
// disk time per million I/Os next to the wall time.
func BenchmarkDiskVirtualMillionIOs(b *testing.B) {
	const ios = 1_000_000
	b.ReportAllocs()
	var simulated time.Duration
	for i := 0; i < b.N; i++ {
		clock := disk.NewVirtualClock()
		fsys := faultWrapped(b, disk.NewMem(), disk.DefaultConfig(), clock)
		f, err := fsys.Create("data")
		if err != nil {
			b.Fatal(err)
		}
		buf := make([]byte, blockSize)
		const span = 1024 // a 4 MiB working set
		for k := 0; k < ios; k++ {
			off := int64(k%span) * blockSize
			if k&1 == 0 {
				if _, err := f.WriteAt(buf, off); err != nil {
					b.Fatal(err)
				}
				if k%128 == 0 {
					if err := f.Sync(); err != nil {
						b.Fatal(err)
					}
				}
			} else if _, err := f.ReadAt(buf, off-blockSize); err != nil {
				b.Fatal(err)
			}
		}
		simulated += clock.Now()
	}
	b.ReportMetric(simulated.Seconds()/float64(b.N), "sim-s/op")
}
