package disk

import "slices"

// File data lives in fixed-size pages, stored sparsely: a page that was never written is
// absent and reads as zeros. A file's visible and durable images are two page tables that
// share every page unchanged since the last sync, so a write copies at most the pages it
// touches, a sync moves only the pages changed since the last one, a crash clones tables
// (not bytes) and touches only what was not yet durable, and memory follows the data
// actually written rather than the largest offset.
//
// Ownership rule (what makes sharing safe): a page is written in place only through the
// visible table of the inode that created it, and only while it is not shared, which the
// inode knows from its diff set (pages where visible and durable may differ; the visible
// page there is private). Every other page is immutable: a durable page, a page shared by
// a sync, a page reused by a post-crash disk. A page is reused for other bytes only once
// no table holds it: when a sync replaces a durable page that the durable table marks
// young (put there by this inode's syncs since the last clone of either of its tables)
// and that is not the visible page (see memInode.share).
const (
	pageShift  = 12
	pageSize   = 1 << pageShift // 4 KiB, the unit of copy on write (see docs/disk.md's limits)
	chunkShift = 6
	chunkPages = 1 << chunkShift // 64 pages (256 KiB) per chunk of a table
)

type page = [pageSize]byte

// owner tags the chunks a table may change in place; a zero-size type would let distinct
// tokens share an address.
type owner struct{ _ byte }

type chunk struct {
	owner *owner
	// young marks the pages put here by setYoung since the table that owns the chunk made
	// or copied it: no clone of that table has seen them. Meaningful only while owner is
	// the table's owner (a clone shares the chunk and gives both tables new owners).
	young [chunkPages / 64]uint64
	pages [chunkPages]*page
}

// table maps page indexes to pages through chunks, so that cloning a table copies one
// pointer per 256 KiB of file, and the two clones copy a chunk only when they change it.
// The chunks hang from a two-level radix of slices (dirs of dirChunks chunks, 256 MiB of
// file each), not a map: a lookup is three indexed loads whatever the file's size, where a
// map's probing missed the cache more the more chunks it held (a 1 GiB file has 4,096).
// The top level spans the highest dir written: 32 KiB of pointers for a write at
// MaxFileSize.
type table struct {
	dirs   []*dir
	chunks int // chunks present
	owner  *owner
}

const (
	dirShift  = 10
	dirChunks = 1 << dirShift
)

type dir [dirChunks]*chunk

// maxDirs is how many dirs MaxFileSize spans.
const maxDirs = (MaxFileSize + 1<<(pageShift+chunkShift+dirShift) - 1) >> (pageShift + chunkShift + dirShift)

func newTable() *table { return &table{owner: &owner{}} }

// chunk returns the chunk holding chunk index k, or nil.
func (t *table) chunk(k int64) *chunk {
	if d := k >> dirShift; d < int64(len(t.dirs)) {
		if dd := t.dirs[d]; dd != nil {
			return dd[k&(dirChunks-1)]
		}
	}
	return nil
}

func (t *table) get(i int64) *page {
	if c := t.chunk(i >> chunkShift); c != nil {
		return c.pages[i&(chunkPages-1)]
	}
	return nil
}

// set stores pg (nil deletes) at page index i, copying the chunk first if it is shared.
func (t *table) set(i int64, pg *page) {
	if pg == nil && t.chunk(i>>chunkShift) == nil {
		return // nothing there to delete
	}
	*t.slot(i) = pg
}

// slot returns where page index i is stored, in a chunk private to t (made when absent),
// with its young mark cleared: for the caller to read the page there and store another.
func (t *table) slot(i int64) **page {
	c := t.own(i)
	j := i & (chunkPages - 1)
	c.young[j>>6] &^= 1 << (j & 63)
	return &c.pages[j]
}

// setYoung stores pg at page index i and marks it young (see chunk). It returns the page
// it replaced when that page was young too: then this table alone holds it, as far as the
// table knows (the caller answers for other tables that hold it, such as the visible one).
func (t *table) setYoung(i int64, pg *page) (retired *page) {
	c := t.own(i)
	j := i & (chunkPages - 1)
	w, bit := &c.young[j>>6], uint64(1)<<(j&63)
	if *w&bit != 0 {
		retired = c.pages[j]
	}
	c.pages[j] = pg
	*w |= bit
	return retired
}

// own returns the chunk holding page index i, private to t: copied first when it is shared
// (its copy has no young pages), made when absent.
func (t *table) own(i int64) *chunk {
	k := i >> chunkShift
	c := t.chunk(k)
	switch {
	case c == nil:
		c = &chunk{owner: t.owner}
		t.put(k, c)
		t.chunks++
	case c.owner != t.owner:
		cc := *c
		cc.owner = t.owner
		cc.young = [chunkPages / 64]uint64{}
		c = &cc
		t.put(k, c)
	}
	return c
}

// put stores c as chunk k, growing the radix as needed.
func (t *table) put(k int64, c *chunk) {
	d := k >> dirShift
	if d >= int64(len(t.dirs)) {
		// Doubling as a file grows, but only as far as the write when it jumps: one
		// allocation, never past the dir of MaxFileSize.
		dirs := make([]*dir, min(max(d+1, 2*int64(len(t.dirs))), maxDirs))
		copy(dirs, t.dirs)
		t.dirs = dirs
	}
	if t.dirs[d] == nil {
		t.dirs[d] = new(dir)
	}
	t.dirs[d][k&(dirChunks-1)] = c
}

// disown gives t a new owner token: its chunks are then shared as far as it knows (each is
// copied before its next change) and its young marks no longer count.
func (t *table) disown() { t.owner = &owner{} }

// clone returns a table holding the same pages. Both tables take new owner tokens, so each
// copies a chunk before its first change to it. The radix itself is copied (a pointer per
// chunk), so neither clone's new chunks show in the other.
func (t *table) clone() *table {
	t.owner = &owner{}
	out := &table{dirs: make([]*dir, len(t.dirs)), chunks: t.chunks, owner: &owner{}}
	for d, dd := range t.dirs {
		if dd != nil {
			cp := *dd
			out.dirs[d] = &cp
		}
	}
	return out
}

// eachIn calls fn for every present page with an index in [lo, hi), in index order.
func (t *table) eachIn(lo, hi int64, fn func(i int64, pg *page)) {
	if hi <= lo {
		return
	}
	if hi-lo <= int64(t.chunks)*chunkPages { // a short range: probe it
		for i := lo; i < hi; i++ {
			if pg := t.get(i); pg != nil {
				fn(i, pg)
			}
		}
		return
	}
	for d, dd := range t.dirs {
		if dd == nil {
			continue
		}
		for j, c := range dd {
			if c == nil {
				continue
			}
			k := int64(d)<<dirShift | int64(j)
			for m, pg := range c.pages {
				if i := k<<chunkShift | int64(m); pg != nil && i >= lo && i < hi {
					fn(i, pg)
				}
			}
		}
	}
}

// readAt copies the bytes of [off, off+len(p)) into p, zeros where no page is present. The
// caller clips the range to the image's length.
func (t *table) readAt(p []byte, off int64) {
	for len(p) > 0 {
		i, in := off>>pageShift, int(off&(pageSize-1))
		n := min(len(p), pageSize-in)
		if pg := t.get(i); pg != nil {
			copy(p[:n], pg[in:in+n])
		} else {
			clear(p[:n])
		}
		p, off = p[n:], off+int64(n)
	}
}

// segment returns the bytes of [lo, hi) clipped to size (nil when lo >= size), like a
// slice of the dense image, using buf for storage.
func (t *table) segment(size, lo, hi int64, buf []byte) []byte {
	if lo >= size {
		return nil
	}
	b := buf[:min(hi, size)-lo]
	t.readAt(b, lo)
	return b
}

// image is a page table under construction by a crash: pages it made are its own, pages
// it took from the crashed disk are copied before they change.
type image struct {
	t    *table
	mine map[int64]bool
	size int64
}

func (im *image) writable(i int64) *page {
	if im.mine[i] {
		return im.t.get(i)
	}
	np := new(page)
	if old := im.t.get(i); old != nil {
		*np = *old
	}
	im.t.set(i, np)
	im.mine[i] = true
	return np
}

// writeAt copies p to off; zero, when set, writes zeros instead (p gives the length).
func (im *image) writeAt(p []byte, off int64, zero bool) {
	for len(p) > 0 {
		i, in := off>>pageShift, int(off&(pageSize-1))
		n := min(len(p), pageSize-in)
		if zero && im.t.get(i) == nil {
			// nothing to clear
		} else if pg := im.writable(i); zero {
			clear(pg[in : in+n])
		} else {
			copy(pg[in:in+n], p[:n])
		}
		p, off = p[n:], off+int64(n)
	}
}

// truncate cuts the image to size: pages past it go, the tail of the last one is zeroed
// (a table's pages hold zeros past its length).
func (im *image) truncate(size int64) {
	if size >= im.size {
		im.size = size
		return
	}
	first := (size + pageSize - 1) >> pageShift
	var gone []int64
	im.t.eachIn(first, (im.size+pageSize-1)>>pageShift, func(i int64, _ *page) { gone = append(gone, i) })
	for _, i := range gone {
		im.t.set(i, nil)
		delete(im.mine, i)
	}
	if in := size & (pageSize - 1); in != 0 && im.t.get(size>>pageShift) != nil {
		clear(im.writable(size >> pageShift)[in:])
	}
	im.size = size
}

// pageSet is a set of page indexes (an inode's diff): a short slice while it is small (the
// tail of a log, the pages of a few writes between two syncs), where a lookup scans a few
// words and nothing is hashed, and a map past smallPages entries.
type pageSet struct {
	small []int64
	big   map[int64]struct{}
	peak  int // the most entries big held since it was made (a Go map never shrinks)
	// spare is the map the set last went back to a slice from, emptied, for the next time
	// it outgrows the slice (a sync every few random writes would otherwise make a map
	// each time); sparePeak is its peak.
	spare     map[int64]struct{}
	sparePeak int
}

const (
	smallPages   = 32
	maxSparePeak = 1024 // a larger map is dropped: iterating it costs its peak
)

func (s *pageSet) has(i int64) bool {
	if s.big != nil {
		_, ok := s.big[i]
		return ok
	}
	return slices.Contains(s.small, i)
}

func (s *pageSet) add(i int64) {
	switch {
	case s.big != nil:
		s.big[i] = struct{}{}
		s.peak = max(s.peak, len(s.big))
	case slices.Contains(s.small, i):
	case len(s.small) < smallPages:
		s.small = append(s.small, i)
	default:
		if s.spare != nil {
			s.big, s.peak, s.spare = s.spare, s.sparePeak, nil
		} else {
			s.big = make(map[int64]struct{}, 2*smallPages)
		}
		for _, j := range s.small {
			s.big[j] = struct{}{}
		}
		s.big[i] = struct{}{}
		s.small, s.peak = s.small[:0], max(s.peak, len(s.big))
	}
}

func (s *pageSet) len() int {
	if s.big != nil {
		return len(s.big)
	}
	return len(s.small)
}

// filter calls keep for every index, in no particular order, and removes those it returns
// false for; keep must not change the set. Iterating a map costs its peak size, not its
// length, so a map that shrank a lot is rebuilt (or goes back to a slice): after a large
// sync the next ones cost what they move.
func (s *pageSet) filter(keep func(i int64) bool) {
	if s.big == nil {
		out := s.small[:0]
		for _, i := range s.small {
			if keep(i) {
				out = append(out, i)
			}
		}
		clear(s.small[len(out):])
		s.small = out
		return
	}
	for i := range s.big {
		if !keep(i) {
			delete(s.big, i)
		}
	}
	switch {
	case len(s.big) <= smallPages/2:
		for i := range s.big {
			s.small = append(s.small, i)
		}
		if s.peak <= maxSparePeak {
			clear(s.big)
			s.spare, s.sparePeak = s.big, s.peak
		}
		s.big, s.peak = nil, 0
	case s.peak > 64 && 4*len(s.big) < s.peak:
		small := make(map[int64]struct{}, len(s.big)) // not maps.Clone: it keeps the capacity
		for i := range s.big {
			small[i] = struct{}{}
		}
		s.big, s.peak = small, len(small)
	}
}

// each calls fn for every index, in no particular order.
func (s *pageSet) each(fn func(i int64)) {
	for _, i := range s.small {
		fn(i)
	}
	for i := range s.big {
		fn(i)
	}
}

// sorted returns the indexes in increasing order.
func (s *pageSet) sorted() []int64 {
	out := slices.Clone(s.small)
	for i := range s.big {
		out = append(out, i)
	}
	slices.Sort(out)
	return out
}
