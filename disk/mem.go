package disk

import (
	"cmp"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"slices"
	"sync"
)

// MemFS is a memory disk that keeps two images of every file and every directory: what the
// program sees (visible) and what would survive a power loss (durable). File.Sync copies a
// file's visible data to its durable image; SyncDir does the same for a directory's entries,
// so a created, renamed or removed name is durable only after its directory is synced.
// Crash derives a new, independent MemFS from the durable images. The zero value is not
// usable; call NewMem.
type MemFS struct {
	mu   sync.Mutex
	root *memDir
}

// NewMem returns an empty memory disk.
func NewMem() *MemFS {
	return &MemFS{root: newMemDir()}
}

type memDir struct {
	visible map[string]any // *memDir or *memInode
	durable map[string]any
}

func newMemDir() *memDir {
	return &memDir{visible: map[string]any{}, durable: map[string]any{}}
}

// memInode is one file's two images, as page tables sharing every page unchanged since the
// last sync (see pages.go). The dirty hull [dirtyLo, dirtyHi) covers every byte that changed
// since the last sync; it shapes a torn crash (where tearing starts) exactly as it did when
// the images were dense. diff holds the pages where the two images may differ: a write
// adds the pages it copies, a sync moves them to the durable image and forgets them, so a
// sync costs the pages changed since the last one, whatever the file's size.
type memInode struct {
	vis, dur      *table
	size, durSize int64
	diff          pageSet
	dirty         bool
	dirtyLo       int64
	dirtyHi       int64
	// phantom holds ranges whose writes were lost on their way to the media: syncs keep
	// the bytes the media had before those writes, while reads still see the writes.
	phantom []extent
	// durMine holds durable pages a sync of this inode made and nothing else has seen: a
	// later sync may change them in place. They are valid only while the durable table's
	// owner is durMineOwner: cloning the table (a crash, an enumeration) shares every page
	// and gives the table a new owner, which retires them all at once.
	durMine      map[int64]*page
	durMineOwner *owner
	// free holds pages to reuse (at most maxFree): durable pages a sync replaced that
	// nothing else held (young in the durable table, see chunk, and not the visible page),
	// so a steady random write + sync allocates nothing and leaves no garbage.
	free []*page
	// visSeen is the visible table's owner when the durable table's young marks were made.
	// A clone of the visible table (a crash that keeps everything) holds the pages a sync
	// shared with the durable image, so when the owner has changed, the durable table takes
	// a new owner too and its young marks stop counting.
	visSeen *owner
}

// maxFree bounds an inode's free pages (1 MiB): the pages a sync of a few hundred random
// 4 KiB writes retires, for the writes that follow it.
const maxFree = 256

type extent struct {
	off int64
	old []byte
}

func newInode() *memInode {
	return &memInode{vis: newTable(), dur: newTable()}
}

func (n *memInode) markDirty(lo, hi int64) {
	if !n.dirty {
		n.dirty, n.dirtyLo, n.dirtyHi = true, lo, hi
		return
	}
	n.dirtyLo = min(n.dirtyLo, lo)
	n.dirtyHi = max(n.dirtyHi, hi)
}

// writable returns the visible page i, private to this image: in place when it already is,
// else a copy (whole: the caller overwrites all of it, so nothing is copied).
func (n *memInode) writable(i int64, whole bool) *page {
	if n.diff.has(i) {
		if pg := n.vis.get(i); pg != nil {
			return pg
		}
	}
	s := n.vis.slot(i)
	old := *s
	np := n.newPage(old == nil && !whole)
	if old != nil && !whole {
		*np = *old
	}
	*s = np
	n.addDiff(i)
	return np
}

// newPage returns a page no table holds, reused when the inode has one; zero asks for
// zeros (a reused page holds old bytes, a new one zeros).
func (n *memInode) newPage(zero bool) *page {
	k := len(n.free) - 1
	if k < 0 {
		return new(page)
	}
	pg := n.free[k]
	n.free[k] = nil
	n.free = n.free[:k]
	if zero {
		clear(pg[:])
	}
	return pg
}

// release keeps pg, which no table holds any more, for reuse.
func (n *memInode) release(pg *page) {
	if pg != nil && len(n.free) < maxFree {
		n.free = append(n.free, pg)
	}
}

// share makes the visible page v (nil: none) page i of the durable image too, and keeps
// the durable page it replaces for reuse when nothing else holds it: a young page (put
// there by a sync of this inode since the last clone of either table) that is not v.
func (n *memInode) share(i int64, v *page) {
	delete(n.durMine, i) // the durable page is v now, not a copy of this inode's own
	if v == nil {
		n.dur.set(i, nil)
		return
	}
	old := n.dur.setYoung(i, v)
	if old == v {
		panic("disk: a durable page marked young is still the visible page")
	}
	n.release(old)
}

func (n *memInode) writeAt(p []byte, off int64, phantom bool) {
	if len(p) == 0 {
		return // like pwrite(2): an empty write does not extend the file
	}
	end := off + int64(len(p))
	oldLen := n.size
	if phantom {
		n.addPhantom(off, end, n.vis, n.size)
	} else if len(n.phantom) > 0 {
		n.subtract(off, end)
	}
	if end > oldLen {
		n.size = end // pages past the old end hold zeros: the gap needs nothing
		n.markDirty(oldLen, end)
	}
	for q, o := p, off; len(q) > 0; {
		i, in := o>>pageShift, int(o&(pageSize-1))
		k := min(len(q), pageSize-in)
		copy(n.writable(i, k == pageSize)[in:in+k], q[:k])
		q, o = q[k:], o+int64(k)
	}
	n.markDirty(off, end)
}

// addPhantom makes [lo, hi) a phantom extent whose media still holds what media (an image
// of length size) holds there now (zeros past its end).
func (n *memInode) addPhantom(lo, hi int64, media *table, size int64) {
	old := make([]byte, hi-lo)
	media.segment(size, lo, hi, old)
	n.subtract(lo, hi)
	n.phantom = append(n.phantom, extent{off: lo, old: old})
}

// subtract removes [lo, hi) from the phantom extents: a later write to a range makes it an
// ordinary write again.
func (n *memInode) subtract(lo, hi int64) {
	out := n.phantom[:0]
	for _, e := range n.phantom {
		e0, e1 := e.off, e.off+int64(len(e.old))
		if e1 <= lo || e0 >= hi {
			out = append(out, e)
			continue
		}
		if e0 < lo {
			out = append(out, extent{off: e0, old: e.old[:lo-e0]})
		}
		if e1 > hi {
			out = append(out, extent{off: hi, old: e.old[hi-e0:]})
		}
	}
	n.phantom = out
}

func (n *memInode) truncate(size int64) {
	oldLen := n.size
	if size == oldLen {
		return
	}
	if size < oldLen {
		// Pages past the new end go; the tail of the last one is zeroed, so that a later
		// growth reads zeros there.
		var gone []int64
		n.vis.eachIn((size+pageSize-1)>>pageShift, (oldLen+pageSize-1)>>pageShift,
			func(i int64, _ *page) { gone = append(gone, i) })
		for _, i := range gone {
			n.vis.set(i, nil)
			n.addDiff(i)
		}
		if in := size & (pageSize - 1); in != 0 && n.vis.get(size>>pageShift) != nil {
			clear(n.writable(size>>pageShift, false)[in:])
		}
	}
	n.size = size
	n.markDirty(min(size, oldLen), max(size, oldLen))
	out := n.phantom[:0]
	for _, e := range n.phantom {
		if e.off >= size {
			continue
		}
		if e.off+int64(len(e.old)) > size {
			e.old = e.old[:size-e.off]
		}
		out = append(out, e)
	}
	n.phantom = out
}

// sync makes the visible image durable, exactly as the dense model did: the bytes of the
// dirty hull come from the visible image, every other byte keeps its durable value, and the
// phantom extents then put back the bytes the media never received. A changed page wholly
// inside the hull and under no extent is shared with the durable image; the few others
// (the hull's two ends, pages under an extent) get a durable copy and stay in diff while
// they differ from the visible page. So a sync costs the pages changed since the last one.
func (n *memInode) sync() {
	if !n.dirty {
		return
	}
	if n.visSeen != n.vis.owner {
		n.dur.disown()
		n.visSeen = n.vis.owner
	}
	size := n.size
	if size < n.durSize {
		n.cutDurable(size)
	}
	lo, hi := min(n.dirtyLo, size), min(n.dirtyHi, size)
	ix := newExtentIndex(n.phantom)
	n.diff.filter(func(i int64) bool {
		p0, p1 := i<<pageShift, (i+1)<<pageShift
		if p0 >= size {
			return false // gone from both images
		}
		if p1 <= lo || p0 >= hi {
			return true // outside the hull: its durable bytes stay (phantom bytes there are already applied)
		}
		v := n.vis.get(i)
		if p0 >= lo && p1 <= hi && !ix.overlaps(p0, p1) {
			n.share(i, v)
			return false
		}
		d, inPlace := n.durablePage(i)
		a, b := max(p0, lo), min(p1, hi)
		if v != nil {
			copy(d[a-p0:b-p0], v[a-p0:b-p0])
		} else {
			clear(d[a-p0 : b-p0])
		}
		ix.apply(d, p0, size)
		if v != nil && p1 <= size && *d == *v {
			n.share(i, v) // the same bytes after all: share
			if !inPlace {
				n.release(d) // made just now, held by no table
			}
			return false
		}
		// A page the file ends in (the tail of an append-only log) keeps its own visible
		// and durable copies: the next append writes the visible one in place and the next
		// sync copies what changed into the durable one, with no page allocated for either.
		if !inPlace {
			n.release(n.dur.setYoung(i, d))
		}
		return true
	})
	n.durSize = size
	n.dirty = false
}

// durablePage returns a page holding page i's durable bytes that the caller may change:
// the durable page itself when this inode's syncs made it and nothing else has seen it
// (inPlace), else a new copy, recorded as this inode's own for later syncs.
func (n *memInode) durablePage(i int64) (d *page, inPlace bool) {
	old := n.dur.get(i)
	if n.durMineOwner == n.dur.owner {
		if pg := n.durMine[i]; pg != nil && pg == old {
			return pg, true
		}
	} else {
		n.durMine, n.durMineOwner = map[int64]*page{}, n.dur.owner
	}
	d = n.newPage(old == nil)
	if old != nil {
		*d = *old
	}
	n.durMine[i] = d
	return d, false
}

func (n *memInode) addDiff(i int64) { n.diff.add(i) }

// cutDurable shortens the durable image to size: its pages past it go, and the tail of the
// last one is zeroed in a copy (durable pages are shared, so never changed in place). The
// pages dropped are in diff already (the visible image lost them when it shrank).
func (n *memInode) cutDurable(size int64) {
	var gone []int64
	n.dur.eachIn((size+pageSize-1)>>pageShift, (n.durSize+pageSize-1)>>pageShift,
		func(i int64, _ *page) { gone = append(gone, i) })
	for _, i := range gone {
		n.dur.set(i, nil)
	}
	if in := size & (pageSize - 1); in != 0 {
		if old := n.dur.get(size >> pageShift); old != nil {
			d := *old
			clear(d[in:])
			n.dur.set(size>>pageShift, &d)
			n.addDiff(size >> pageShift)
		}
	}
}

// extentIndex finds the phantom extents that meet a range. Extents can overlap (the
// subtraction keeps the dense model's exact behaviour, duplicates included), but every
// extent covering a byte holds the same old value for it, so their order does not matter.
type extentIndex struct {
	byOff  []extent
	maxEnd []int64 // maxEnd[k]: the largest end among byOff[:k+1]
}

func newExtentIndex(ph []extent) extentIndex {
	if len(ph) == 0 {
		return extentIndex{}
	}
	ix := extentIndex{byOff: slices.Clone(ph), maxEnd: make([]int64, len(ph))}
	slices.SortStableFunc(ix.byOff, func(a, b extent) int { return cmp.Compare(a.off, b.off) })
	m := int64(0)
	for k, e := range ix.byOff {
		m = max(m, e.off+int64(len(e.old)))
		ix.maxEnd[k] = m
	}
	return ix
}

// each calls fn for every extent meeting [lo, hi).
func (ix extentIndex) each(lo, hi int64, fn func(e extent)) {
	k, _ := slices.BinarySearchFunc(ix.byOff, hi, func(e extent, hi int64) int { return cmp.Compare(e.off, hi) })
	for k--; k >= 0 && ix.maxEnd[k] > lo; k-- {
		if e := ix.byOff[k]; e.off+int64(len(e.old)) > lo {
			fn(e)
		}
	}
}

func (ix extentIndex) overlaps(lo, hi int64) bool {
	found := false
	ix.each(lo, hi, func(extent) { found = true })
	return found
}

// apply writes the old bytes of every extent meeting page d (at p0) into it, up to size.
func (ix extentIndex) apply(d *page, p0, size int64) {
	p1 := min(p0+pageSize, size)
	ix.each(p0, p1, func(e extent) {
		a, b := max(e.off, p0), min(e.off+int64(len(e.old)), p1)
		copy(d[a-p0:b-p0], e.old[a-e.off:b-e.off])
	})
}

// dropDirty is the Linux behaviour after a failed fsync: the dirty pages are marked clean
// without reaching the media. Reads still see them; no later sync will write them.
func (n *memInode) dropDirty() {
	if !n.dirty {
		return
	}
	lo, hi := min(n.dirtyLo, n.size), min(n.dirtyHi, n.size)
	if hi > lo {
		n.addPhantom(lo, hi, n.dur, n.durSize)
	}
	n.sync()
}

// walk resolves a cleaned directory name against the visible tree.
func (m *MemFS) dir(name, op string) (*memDir, error) {
	d := m.root
	if name == "" {
		return d, nil
	}
	start := 0
	for i := 0; i <= len(name); i++ {
		if i < len(name) && name[i] != '/' {
			continue
		}
		child, ok := d.visible[name[start:i]]
		if !ok {
			return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
		}
		cd, ok := child.(*memDir)
		if !ok {
			return nil, &fs.PathError{Op: op, Path: name, Err: ErrNotDir}
		}
		d = cd
		start = i + 1
	}
	return d, nil
}

// Create implements FS.
func (m *MemFS) Create(name string) (File, error) {
	name = clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	dn, base := split(name)
	if base == "" {
		return nil, &fs.PathError{Op: "create", Path: name, Err: ErrIsDir}
	}
	d, err := m.dir(dn, "create")
	if err != nil {
		return nil, err
	}
	switch e := d.visible[base].(type) {
	case *memDir:
		return nil, &fs.PathError{Op: "create", Path: name, Err: ErrIsDir}
	case *memInode:
		e.truncate(0)
		return &memFile{fs: m, name: name, n: e}, nil
	}
	n := newInode()
	d.visible[base] = n
	return &memFile{fs: m, name: name, n: n}, nil
}

// Open implements FS.
func (m *MemFS) Open(name string) (File, error) {
	name = clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.inode(name, "open")
	if err != nil {
		return nil, err
	}
	return &memFile{fs: m, name: name, n: n}, nil
}

func (m *MemFS) inode(name, op string) (*memInode, error) {
	dn, base := split(name)
	d, err := m.dir(dn, op)
	if err != nil {
		return nil, err
	}
	switch e := d.visible[base].(type) {
	case *memInode:
		return e, nil
	case *memDir:
		return nil, &fs.PathError{Op: op, Path: name, Err: ErrIsDir}
	}
	return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
}

// Remove implements FS.
func (m *MemFS) Remove(name string) error {
	name = clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	dn, base := split(name)
	if base == "" {
		return &fs.PathError{Op: "remove", Path: name, Err: fs.ErrInvalid}
	}
	d, err := m.dir(dn, "remove")
	if err != nil {
		return err
	}
	e, ok := d.visible[base]
	if !ok {
		return &fs.PathError{Op: "remove", Path: name, Err: fs.ErrNotExist}
	}
	if sub, ok := e.(*memDir); ok && len(sub.visible) > 0 {
		return &fs.PathError{Op: "remove", Path: name, Err: ErrNotEmpty}
	}
	delete(d.visible, base)
	return nil
}

// Rename implements FS.
func (m *MemFS) Rename(oldname, newname string) error {
	oldname, newname = clean(oldname), clean(newname)
	m.mu.Lock()
	defer m.mu.Unlock()
	od, ob := split(oldname)
	nd, nb := split(newname)
	if ob == "" || nb == "" {
		return &fs.PathError{Op: "rename", Path: oldname + " -> " + newname, Err: fs.ErrInvalid}
	}
	src, err := m.dir(od, "rename")
	if err != nil {
		return err
	}
	dst, err := m.dir(nd, "rename")
	if err != nil {
		return err
	}
	e, ok := src.visible[ob]
	if !ok {
		return &fs.PathError{Op: "rename", Path: oldname + " -> " + newname, Err: fs.ErrNotExist}
	}
	if old, ok := dst.visible[nb]; ok {
		if _, isDir := old.(*memDir); isDir {
			return &fs.PathError{Op: "rename", Path: oldname + " -> " + newname, Err: ErrIsDir}
		}
	}
	delete(src.visible, ob)
	dst.visible[nb] = e
	return nil
}

// Mkdir implements FS.
func (m *MemFS) Mkdir(name string) error {
	name = clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	dn, base := split(name)
	if base == "" {
		return &fs.PathError{Op: "mkdir", Path: name, Err: fs.ErrExist}
	}
	d, err := m.dir(dn, "mkdir")
	if err != nil {
		return err
	}
	if _, ok := d.visible[base]; ok {
		return &fs.PathError{Op: "mkdir", Path: name, Err: fs.ErrExist}
	}
	d.visible[base] = newMemDir()
	return nil
}

// List implements FS.
func (m *MemFS) List(dir string) ([]string, error) {
	dir = clean(dir)
	m.mu.Lock()
	defer m.mu.Unlock()
	d, err := m.dir(dir, "list")
	if err != nil {
		return nil, err
	}
	return sortedNames(d.visible), nil
}

func sortedNames(entries map[string]any) []string {
	names := slices.AppendSeq(make([]string, 0, len(entries)), maps.Keys(entries))
	slices.Sort(names) // not slices.Sorted: an empty directory lists as empty, not nil, like OS
	return names
}

// Stat implements FS.
func (m *MemFS) Stat(name string) (fs.FileInfo, error) {
	name = clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	dn, base := split(name)
	if base == "" {
		return fileInfo{name: ".", dir: true}, nil
	}
	d, err := m.dir(dn, "stat")
	if err != nil {
		return nil, err
	}
	switch e := d.visible[base].(type) {
	case *memInode:
		return fileInfo{name: base, size: e.size}, nil
	case *memDir:
		return fileInfo{name: base, dir: true}, nil
	}
	return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
}

// SyncDir implements FS: the directory's durable entries become its visible ones.
func (m *MemFS) SyncDir(dir string) error {
	dir = clean(dir)
	m.mu.Lock()
	defer m.mu.Unlock()
	d, err := m.dir(dir, "syncdir")
	if err != nil {
		return err
	}
	d.durable = maps.Clone(d.visible)
	return nil
}

// memFile is a handle on a memInode. It keeps working on the inode after the name is
// removed or renamed, like a POSIX descriptor.
type memFile struct {
	fs     *MemFS
	name   string
	n      *memInode
	closed bool
}

func (f *memFile) Name() string { return f.name }

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, &fs.PathError{Op: "read", Path: f.name, Err: fs.ErrInvalid}
	}
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return 0, &fs.PathError{Op: "read", Path: f.name, Err: ErrClosed}
	}
	if off >= f.n.size {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), f.n.size-off))
	f.n.vis.readAt(p[:n], off)
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) WriteAt(p []byte, off int64) (int, error) {
	return f.write(p, off, false)
}

func (f *memFile) write(p []byte, off int64, phantom bool) (int, error) {
	if err := checkRange("write", f.name, off, len(p)); err != nil {
		return 0, err
	}
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return 0, &fs.PathError{Op: "write", Path: f.name, Err: ErrClosed}
	}
	f.n.writeAt(p, off, phantom)
	return len(p), nil
}

// writePhantom is a write that reads will see and the media never will.
func (f *memFile) writePhantom(p []byte, off int64) (int, error) {
	return f.write(p, off, true)
}

// dropDirty marks the file's dirty data clean without making it durable (Linux after EIO).
func (f *memFile) dropDirty() {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	f.n.dropDirty()
}

func (f *memFile) Sync() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return &fs.PathError{Op: "sync", Path: f.name, Err: ErrClosed}
	}
	f.n.sync()
	return nil
}

func (f *memFile) Truncate(size int64) error {
	if err := checkRange("truncate", f.name, size, 0); err != nil {
		return err
	}
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return &fs.PathError{Op: "truncate", Path: f.name, Err: ErrClosed}
	}
	f.n.truncate(size)
	return nil
}

func (f *memFile) Stat() (fs.FileInfo, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return nil, &fs.PathError{Op: "stat", Path: f.name, Err: ErrClosed}
	}
	_, base := split(f.name)
	return fileInfo{name: base, size: f.n.size}, nil
}

func (f *memFile) Close() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return &fs.PathError{Op: "close", Path: f.name, Err: ErrClosed}
	}
	f.closed = true
	return nil
}

// DurableSize reports the durable length of a file, for tests that check the model.
func (m *MemFS) DurableSize(name string) (int64, error) {
	name = clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.inode(name, "stat")
	if err != nil {
		return 0, err
	}
	return n.durSize, nil
}

var _ FS = (*MemFS)(nil)

func (f *memFile) String() string { return fmt.Sprintf("memfile(%s)", f.name) }
