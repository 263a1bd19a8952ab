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
	sector := int64(opts.SectorSize)
	if sector <= 0 {
		sector = 512
	}
	r := opts.Seed.Stream("crash")
	keepAll := opts.KeepAllProbability > 0 && r.Float64() < opts.KeepAllProbability
	c := &crasher{r: r, keepAll: keepAll, torn: opts.TornProbability, sector: sector,
		memo: map[*memInode]*memInode{}, process: opts.Process, time: opts.Time, clock: opts.Clock}
	out := &MemFS{root: c.dir(m.root, "")}
	return out, c.events
}

type crasher struct {
	r       *rand.Rand
	keepAll bool
	torn    float64
	sector  int64
	memo    map[*memInode]*memInode
	events  []fault.Event
	clock   fault.Clock
	process string
	time    int64
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
	var img []byte
	switch {
	case c.keepAll:
		img = bytes.Clone(n.data)
	case n.dirty && c.torn > 0 && c.r.Float64() < c.torn: // a clean file draws nothing
		img = c.tear(n, name)
	default:
		img = bytes.Clone(n.durable)
	}
	applyPhantom(img, n.phantom)
	if img == nil {
		img = []byte{}
	}
	out := &memInode{data: img, durable: bytes.Clone(img)}
	c.memo[n] = out
	return out
}

// tear decides each changed sector of a dirty file: new, old or garbage.
func (c *crasher) tear(n *memInode, name string) []byte {
	D, L := int64(len(n.data)), int64(len(n.durable))
	end := max(D, L)
	img := make([]byte, end)
	copy(img, n.durable)
	newLen := L
	start := (min(n.dirtyLo, end) / c.sector) * c.sector
	var shape strings.Builder
	for s0 := start; s0 < end; s0 += c.sector {
		s1 := min(s0+c.sector, end)
		if bytes.Equal(seg(n.data, s0, s1), seg(n.durable, s0, s1)) {
			continue
		}
		switch c.r.IntN(3) {
		case 0: // new
			shape.WriteByte('n')
			clear(img[s0:s1])
			copy(img[s0:s1], seg(n.data, s0, s1))
			if s0 < D {
				newLen = max(newLen, min(s1, D))
			}
		case 1: // old
			shape.WriteByte('o')
		default: // garbage
			shape.WriteByte('g')
			for i := s0; i < s1; i++ {
				img[i] = byte(c.r.Uint32())
			}
			newLen = max(newLen, s1)
		}
	}
	if D < L && c.r.IntN(2) == 0 {
		newLen = D // the truncation reached the media
	}
	c.events = append(c.events, fault.Event{Layer: fault.LayerDisk, Kind: string(TornWrite), Process: c.process, Where: name,
		Offset: start, Length: end - start, Time: time.Duration(c.time), Clock: c.clock,
		Detail: fmt.Sprintf("shape=%s size=%d->%d", shape.String(), L, newLen)})
	return img[:newLen]
}

func seg(b []byte, lo, hi int64) []byte {
	n := int64(len(b))
	if lo >= n {
		return nil
	}
	return b[lo:min(hi, n)]
}
