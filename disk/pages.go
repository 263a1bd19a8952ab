package disk

import "maps"

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
// a sync, a page reused by a post-crash disk.
const (
	pageShift  = 9
	pageSize   = 1 << pageShift // 512 bytes, the unit of copy on write
	chunkShift = 8
	chunkPages = 1 << chunkShift // 256 pages (128 KiB) per chunk of a table
)

type page = [pageSize]byte

// owner tags the chunks a table may change in place; a zero-size type would let distinct
// tokens share an address.
type owner struct{ _ byte }

type chunk struct {
	owner *owner
	pages [chunkPages]*page
}

// table maps page indexes to pages through chunks, so that cloning a table copies one
// pointer per 128 KiB of file, and the two clones copy a chunk only when they change it.
type table struct {
	chunks map[int64]*chunk
	owner  *owner
}

func newTable() *table { return &table{chunks: map[int64]*chunk{}, owner: &owner{}} }

func (t *table) get(i int64) *page {
	c := t.chunks[i>>chunkShift]
	if c == nil {
		return nil
	}
	return c.pages[i&(chunkPages-1)]
}

// set stores pg (nil deletes) at page index i, copying the chunk first if it is shared.
func (t *table) set(i int64, pg *page) {
	k := i >> chunkShift
	c := t.chunks[k]
	switch {
	case c == nil:
		if pg == nil {
			return
		}
		c = &chunk{owner: t.owner}
		t.chunks[k] = c
	case c.owner != t.owner:
		cc := *c
		cc.owner = t.owner
		c = &cc
		t.chunks[k] = c
	}
	c.pages[i&(chunkPages-1)] = pg
}

// clone returns a table holding the same pages. Both tables take new owner tokens, so each
// copies a chunk before its first change to it.
func (t *table) clone() *table {
	t.owner = &owner{}
	return &table{chunks: maps.Clone(t.chunks), owner: &owner{}}
}

// eachIn calls fn for every present page with an index in [lo, hi), in no particular order.
func (t *table) eachIn(lo, hi int64, fn func(i int64, pg *page)) {
	if hi <= lo {
		return
	}
	if hi-lo <= int64(len(t.chunks))*chunkPages { // a short range: probe it
		for i := lo; i < hi; i++ {
			if pg := t.get(i); pg != nil {
				fn(i, pg)
			}
		}
		return
	}
	for k, c := range t.chunks {
		for j, pg := range c.pages {
			if i := k<<chunkShift | int64(j); pg != nil && i >= lo && i < hi {
				fn(i, pg)
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
