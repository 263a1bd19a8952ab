package disk

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/faultbox/faultbox/fault"
)

// CrashOptions shape a crash of a MemFS.
type CrashOptions struct {
	// Seed decides every choice the crash makes.
	Seed fault.Seed
	// TornProbability is the chance that a file with unsynced data is torn: each of its
	// changed sectors independently lands new, stays old or becomes garbage. Otherwise the
	// file's unsynced data is lost. 0 draws nothing.
	TornProbability float64
	// KeepAllProbability is the chance that the whole crash keeps everything: the drive
	// flushed its cache just before the power went, so every visible byte and entry
	// survives (except phantom writes, which never reached the media). 0 draws nothing.
	KeepAllProbability float64
	// Garbage makes every tear its worst: each changed sector of a torn file becomes garbage
	// (with TornProbability 1: every file with unsynced data), rather than new, old or garbage
	// as drawn. A sector that held synced bytes beside unsynced ones loses them: what a log
	// without checksums takes for data.
	Garbage bool
	// PowersafeOverwrite models a drive with power-safe overwrite (SQLite's
	// SQLITE_IOCAP_POWERSAFE_OVERWRITE, which Pebble's and SQLite's recovery assume): a torn
	// sector lands new or stays old, never garbage, so the synced bytes beside unsynced ones
	// in a sector survive. Ignored with Garbage. Off, the crash draws as it always did.
	PowersafeOverwrite bool
	// SectorSize is the granularity of tearing; 0 means 512.
	SectorSize int
	// Process and Time label the events the crash reports.
	Process string
	Time    int64
	// Clock is the clock Time was read on.
	Clock fault.Clock
}

// Crash returns the disk as it would be found after power loss at this instant: a new,
// independent MemFS built from the durable images, with unsynced data lost, kept (when the
// crash keeps everything) or torn. m itself and its open handles are not changed. The
// returned events list every torn file.
func (m *MemFS) Crash(opts CrashOptions) (*MemFS, []fault.Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.crashLocked(opts)
}

// crashLocked is Crash with m.mu held.
func (m *MemFS) crashLocked(opts CrashOptions) (*MemFS, []fault.Event) {
	sector := int64(opts.SectorSize)
	if sector <= 0 {
		sector = 512
	}
	r := opts.Seed.Stream("crash")
	keepAll := opts.KeepAllProbability > 0 && r.Float64() < opts.KeepAllProbability
	c := &crasher{r: r, keepAll: keepAll, torn: opts.TornProbability, sector: sector, garbage: opts.Garbage,
		powersafe: opts.PowersafeOverwrite, memo: map[*memInode]*memInode{}, process: opts.Process, time: opts.Time, clock: opts.Clock}
	out := &MemFS{root: c.dir(m.root, "")}
	return out, c.events
}

type crasher struct {
	r         *rand.Rand
	keepAll   bool
	torn      float64
	garbage   bool // every torn sector becomes garbage
	powersafe bool // no torn sector becomes garbage
	sector    int64
	memo      map[*memInode]*memInode
	events    []fault.Event
	clock     fault.Clock
	process   string
	time      int64
}

func (c *crasher) dir(d *memDir, name string) *memDir {
	entries := d.durable
	if c.keepAll {
		entries = d.visible
	}
	out := newMemDir()
	// Sorted order: the random draws must not depend on map iteration.
	for _, base := range sortedNames(entries) {
		child := name + "/" + base
		if name == "" {
			child = base
		}
		var node any
		switch e := entries[base].(type) {
		case *memDir:
			node = c.dir(e, child)
		case *memInode:
			node = c.file(e, child)
		}
		out.visible[base] = node
		out.durable[base] = node
	}
	return out
}

func (c *crasher) file(n *memInode, name string) *memInode {
	if done, ok := c.memo[n]; ok {
		return done
	}
	var im *image
	switch {
	case c.keepAll:
		// The visible image; its private pages are copied, since the running code may
		// still change them.
		im = &image{t: n.vis.clone(), mine: map[int64]bool{}, size: n.size}
		n.diff.each(func(i int64) {
			if v := n.vis.get(i); v != nil {
				cp := *v
				im.t.set(i, &cp)
				im.mine[i] = true
			}
		})
	case n.dirty && c.torn > 0 && c.r.Float64() < c.torn: // a clean file draws nothing
		im = c.tear(n, name)
	default:
		im = &image{t: n.dur.clone(), mine: map[int64]bool{}, size: n.durSize}
	}
	for _, e := range n.phantom {
		if e.off < im.size {
			im.writeAt(e.old[:min(int64(len(e.old)), im.size-e.off)], e.off, false)
		}
	}
	out := &memInode{vis: im.t, size: im.size, durSize: im.size}
	out.dur = im.t.clone()
	c.memo[n] = out
	return out
}

// tear decides each changed sector of a dirty file: new, old or garbage. The sectors are
// those of the dense model, from the start of the dirty hull to the larger of the two
// lengths, in order; only those that can differ are compared (the sectors of pages the
// images do not share, and every sector past the shorter length), so a tear costs the
// unsynced data, not the file.
func (c *crasher) tear(n *memInode, name string) *image {
	D, L := n.size, n.durSize
	end := max(D, L)
	im := &image{t: n.dur.clone(), mine: map[int64]bool{}, size: end} // zeros past L
	newLen := L
	sector := c.sector
	start := (min(n.dirtyLo, end) / sector) * sector
	tail := max(start, (min(D, L)/sector)*sector) // from here on, every sector is a candidate
	var cands []int64
	for _, i := range n.diff.sorted() {
		lo, hi := i<<pageShift, min((i+1)<<pageShift, tail)
		for s := max((lo/sector)*sector, start); s < hi; s += sector {
			if len(cands) == 0 || cands[len(cands)-1] < s {
				cands = append(cands, s)
			}
		}
	}
	bufNew, bufOld := make([]byte, sector), make([]byte, sector)
	var shape strings.Builder
	do := func(s0 int64) {
		s1 := min(s0+sector, end)
		nb, ob := n.vis.segment(D, s0, s1, bufNew), n.dur.segment(L, s0, s1, bufOld)
		if bytes.Equal(nb, ob) {
			return
		}
		fate := 2 // garbage
		switch {
		case c.garbage:
		case c.powersafe:
			fate = c.r.IntN(2) // new or old
		default:
			fate = c.r.IntN(3)
		}
		switch fate {
		case 0: // new
			shape.WriteByte('n')
			im.writeAt(nb, s0, false)
			if k := s0 + int64(len(nb)); k < s1 {
				im.writeAt(bufOld[:s1-k], k, true) // past the visible end: zeros
			}
			if s0 < D {
				newLen = max(newLen, min(s1, D))
			}
		case 1: // old
			shape.WriteByte('o')
		default: // garbage
			shape.WriteByte('g')
			g := bufOld[:s1-s0]
			for i := range g {
				g[i] = byte(c.r.Uint32())
			}
			im.writeAt(g, s0, false)
			newLen = max(newLen, s1)
		}
	}
	for _, s0 := range cands {
		do(s0)
	}
	for s0 := tail; s0 < end; s0 += sector {
		do(s0)
	}
	if D < L && c.r.IntN(2) == 0 {
		newLen = D // the truncation reached the media
	}
	c.events = append(c.events, fault.Event{Layer: fault.LayerDisk, Kind: string(TornWrite), Process: c.process, Where: name,
		Offset: start, Length: end - start, Time: time.Duration(c.time), Clock: c.clock,
		Detail: fmt.Sprintf("shape=%s size=%d->%d", shape.String(), L, newLen)})
	im.truncate(newLen)
	return im
}
