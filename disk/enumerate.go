package disk

import (
	"fmt"
	"io/fs"
	"strconv"
	"sync"

	"github.com/faultbox/faultbox/fault"
)

// EnumerateOptions shape the crash states Enumerate tries at each persistence point.
type EnumerateOptions struct {
	// TornSeeds is how many torn shapes (every file with unsynced data torn, sector by
	// sector new, old or garbage) are tried per point, besides dropping everything
	// unsynced and keeping everything; 0 means 8, negative means none.
	TornSeeds int
	// SectorSize is the granularity of tearing; 0 means 512.
	SectorSize int
	// Seed roots the torn shapes.
	Seed fault.Seed
	// PowersafeOverwrite tears sectors new or old, never garbage (see CrashOptions): the
	// drive that Pebble's and SQLite's recovery assume.
	PowersafeOverwrite bool
}

// CrashState is one post-crash disk that Enumerate hands to the check.
type CrashState struct {
	// Point numbers the persistence points from 1, in the order the workload reached
	// them; the last point is the end of the workload.
	Point int
	// Op and Path are the persistence operation the crash came just before (a file sync
	// or a directory sync); Op is "" at the end of the workload.
	Op   Op
	Path string
	// Variant is how the unsynced data fared: "drop" (all lost), "keep-all" (all kept, the
	// drive flushed in time) or "torn/N" (the N-th torn shape).
	Variant string
	// FS is the post-crash disk, independent of the workload's and of every other state's:
	// the check may recover on it, write and sync.
	FS FS
}

func (s CrashState) String() string {
	at := "end"
	if s.Op != "" {
		at = string(s.Op) + " " + s.Path
	}
	return fmt.Sprintf("point %d (before %s), %s", s.Point, at, s.Variant)
}

// CrashFailure is a crash state the check rejected.
type CrashFailure struct {
	State   string // CrashState.String()
	Point   int    // CrashState.Point
	Variant string // CrashState.Variant
	Err     error
}

// EnumerateResult counts what Enumerate did.
type EnumerateResult struct {
	Points   int // persistence points reached, the end included
	Tried    int // crash states built
	Distinct int // of those, distinct disks at their point: the ones checked
	Failures []CrashFailure
}

// Enumerate runs workload once on a fresh memory disk and, just before each of its
// persistence operations (every File.Sync and SyncDir) and at its end, builds the crash
// states of that instant, as ALICE and CrashMonkey do: everything unsynced lost, everything
// kept, and TornSeeds torn shapes. States that give the same disk at the same point are
// checked once. check is called synchronously at the point, so it can compare with what
// the workload had acknowledged so far. Enumerate returns the workload's error, if any,
// with the result so far.
//
// The space is bounded, not exhaustive: within one point, the states between "drop" and
// "keep-all" are sampled by the torn shapes (each file's unsynced sectors new, old or
// garbage), not enumerated subset by subset.
//
// check runs while the enumerator holds every persistence operation of the workload: it
// must not sync through the workload's FS, nor wait for a workload goroutine that may be
// in a Sync, or it waits forever. It reads what it needs (the acknowledged writes) under
// the workload's own lock, held briefly, and recovers on s.FS, which is its own.
//
// The workload may use the disk from several goroutines, as a storage engine's flushes and
// commits do. Persistence operations are then taken one at a time: a Sync or SyncDir holds
// the enumerator from its point until it returns, so no other sync can make data durable
// while a point's states are built and checked, and a write the workload acknowledged after
// its sync returned is in every state of every later point. The states of one point are
// all built from the same instant. What a concurrent workload does not get is repeatability:
// its points, their order and so the counts follow the goroutines' scheduling, run to run;
// a single-goroutine workload gives the same result every time.
func Enumerate(workload func(FS) error, check func(CrashState) error, opts EnumerateOptions) (EnumerateResult, error) {
	if opts.TornSeeds == 0 {
		opts.TornSeeds = 8
	}
	e := &enumerator{mem: NewMem(), check: check, opts: opts}
	err := workload(&pointFS{e: e})
	e.mu.Lock()
	defer e.mu.Unlock()
	e.point("", "")
	return e.res, err
}

type enumerator struct {
	mu    sync.Mutex // held from a point until its persistence operation returns
	mem   *MemFS
	check func(CrashState) error
	opts  EnumerateOptions
	res   EnumerateResult
}

func (e *enumerator) point(op Op, name string) {
	e.res.Points++
	type variant struct {
		name string
		co   CrashOptions
	}
	vs := []variant{{"drop", CrashOptions{}}, {"keep-all", CrashOptions{KeepAllProbability: 1}}}
	for i := 1; i <= e.opts.TornSeeds; i++ {
		vs = append(vs, variant{"torn/" + strconv.Itoa(i), CrashOptions{TornProbability: 1,
			Seed: e.opts.Seed.Derive("enumerate", strconv.Itoa(e.res.Points), strconv.Itoa(i))}})
	}
	states := make([]*MemFS, len(vs))
	e.mem.mu.Lock() // every state from the same instant
	for i, v := range vs {
		v.co.SectorSize = e.opts.SectorSize
		v.co.PowersafeOverwrite = e.opts.PowersafeOverwrite
		states[i], _ = e.mem.crashLocked(v.co)
	}
	e.mem.mu.Unlock()
	seen := map[uint64]bool{}
	for i, v := range vs {
		after := states[i]
		e.res.Tried++
		d := digest(after)
		if seen[d] {
			continue
		}
		seen[d] = true
		e.res.Distinct++
		s := CrashState{Point: e.res.Points, Op: op, Path: clean(name), Variant: v.name, FS: after}
		if err := e.check(s); err != nil {
			e.res.Failures = append(e.res.Failures, CrashFailure{State: s.String(), Point: s.Point, Variant: s.Variant, Err: err})
		}
	}
}

// Digest hashes the disk's visible tree (names, kinds, sizes and bytes): two disks with the
// same digest hold the same files, as far as a 64-bit hash can tell. Enumerate uses it to
// check each distinct crash state once.
func (m *MemFS) Digest() uint64 { return digest(m) }

// digest hashes a disk's visible tree: names, kinds, sizes and bytes.
func digest(m *MemFS) uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	h := fault.Seed(0x6469676573)
	var walk func(d *memDir)
	buf := make([]byte, pageSize)
	walk = func(d *memDir) {
		for _, name := range sortedNames(d.visible) {
			h = fault.Seed(h.Hash(fault.HashString(name)))
			switch e := d.visible[name].(type) {
			case *memDir:
				h = fault.Seed(h.Hash(1))
				walk(e)
			case *memInode:
				h = fault.Seed(h.Hash(2, uint64(e.size)))
				for off := int64(0); off < e.size; off += pageSize {
					b := e.vis.segment(e.size, off, off+pageSize, buf)
					h = fault.Seed(h.Hash(fault.HashBytes(b)))
				}
			}
		}
	}
	walk(m.root)
	return uint64(h)
}

// pointFS is the workload's view of the enumerator's disk: every persistence operation
// first builds the crash states of the instant before it.
type pointFS struct{ e *enumerator }

func (p *pointFS) Create(name string) (File, error) {
	f, err := p.e.mem.Create(name)
	if err != nil {
		return nil, err
	}
	return &pointFile{File: f, e: p.e}, nil
}

func (p *pointFS) Open(name string) (File, error) {
	f, err := p.e.mem.Open(name)
	if err != nil {
		return nil, err
	}
	return &pointFile{File: f, e: p.e}, nil
}

func (p *pointFS) Remove(name string) error              { return p.e.mem.Remove(name) }
func (p *pointFS) Rename(oldname, newname string) error  { return p.e.mem.Rename(oldname, newname) }
func (p *pointFS) Mkdir(name string) error               { return p.e.mem.Mkdir(name) }
func (p *pointFS) List(dir string) ([]string, error)     { return p.e.mem.List(dir) }
func (p *pointFS) Stat(name string) (fs.FileInfo, error) { return p.e.mem.Stat(name) }
func (p *pointFS) SyncDir(dir string) error {
	p.e.mu.Lock()
	defer p.e.mu.Unlock()
	p.e.point(OpSyncDir, dir)
	return p.e.mem.SyncDir(dir)
}

type pointFile struct {
	File
	e *enumerator
}

func (f *pointFile) Sync() error {
	f.e.mu.Lock()
	defer f.e.mu.Unlock()
	f.e.point(OpSync, f.Name())
	return f.File.Sync()
}

var _ FS = (*pointFS)(nil)
