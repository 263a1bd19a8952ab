package disk

// The dense memory disk as it was before file data moved to shared pages: kept, test-only,
// as the oracle that the paged MemFS must match byte for byte and event for event.

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/faultbox/faultbox/fault"
)

// refFS is a memory disk that keeps two images of every file and every directory: what the
// program sees (visible) and what would survive a power loss (durable). File.Sync copies a
// file's visible data to its durable image; SyncDir does the same for a directory's entries,
// so a created, renamed or removed name is durable only after its directory is synced.
// Crash derives a new, independent refFS from the durable images. The zero value is not
// usable; call newRef.
type refFS struct {
	mu   sync.Mutex
	root *refDir
}

// newRef returns an empty memory disk.
func newRef() *refFS {
	return &refFS{root: newRefDir()}
}

type refDir struct {
	visible map[string]any // *refDir or *refInode
	durable map[string]any
}

func newRefDir() *refDir {
	return &refDir{visible: map[string]any{}, durable: map[string]any{}}
}

// refInode is one file's two images. The dirty hull [dirtyLo, dirtyHi) covers every byte
// that changed since the last sync, so a sync copies only that range (a sequential log
// costs O(bytes written), not O(file size), per sync).
type refInode struct {
	data    []byte
	durable []byte
	dirty   bool
	dirtyLo int64
	dirtyHi int64
	// phantom holds ranges whose writes were lost on their way to the media: syncs keep
	// the bytes the media had before those writes, while reads still see the writes.
	phantom []refExtent
}

type refExtent struct {
	off int64
	old []byte
}

func (n *refInode) markDirty(lo, hi int64) {
	if !n.dirty {
		n.dirty, n.dirtyLo, n.dirtyHi = true, lo, hi
		return
	}
	n.dirtyLo = min(n.dirtyLo, lo)
	n.dirtyHi = max(n.dirtyHi, hi)
}

// resize sets the visible length, zero-filling growth.
func (n *refInode) resize(size int64) {
	if size <= int64(len(n.data)) {
		n.data = n.data[:size]
		return
	}
	n.grow(size, size) // a write of nothing at size: the whole gap is zeroed
}

// grow extends the visible data to end for a write at off, zeroing only the gap before off
// (the write covers the rest).
func (n *refInode) grow(off, end int64) {
	old := int64(len(n.data))
	if end <= int64(cap(n.data)) {
		n.data = n.data[:end]
		if off > old {
			clear(n.data[old:off])
		}
		return
	}
	d := make([]byte, end, max(end, 2*int64(cap(n.data))))
	copy(d, n.data)
	n.data = d
}

func (n *refInode) writeAt(p []byte, off int64, phantom bool) {
	if len(p) == 0 {
		return // like pwrite(2): an empty write does not extend the file
	}
	end := off + int64(len(p))
	oldLen := int64(len(n.data))
	if phantom {
		n.addPhantom(off, end, n.data)
	} else if len(n.phantom) > 0 {
		n.subtract(off, end)
	}
	if end > oldLen {
		n.grow(off, end)
		n.markDirty(oldLen, end)
	}
	copy(n.data[off:end], p)
	n.markDirty(off, end)
}

// addPhantom makes [lo, hi) a phantom refExtent whose media still holds what media holds
// there now (zeros past its end).
func (n *refInode) addPhantom(lo, hi int64, media []byte) {
	old := make([]byte, hi-lo)
	copy(old, refSeg(media, lo, hi))
	n.subtract(lo, hi)
	n.phantom = append(n.phantom, refExtent{off: lo, old: old})
}

// subtract removes [lo, hi) from the phantom extents: a later write to a range makes it an
// ordinary write again.
func (n *refInode) subtract(lo, hi int64) {
	out := n.phantom[:0]
	for _, e := range n.phantom {
		e0, e1 := e.off, e.off+int64(len(e.old))
		if e1 <= lo || e0 >= hi {
			out = append(out, e)
			continue
		}
		if e0 < lo {
			out = append(out, refExtent{off: e0, old: e.old[:lo-e0]})
		}
		if e1 > hi {
			out = append(out, refExtent{off: hi, old: e.old[hi-e0:]})
		}
	}
	n.phantom = out
}

func (n *refInode) truncate(size int64) {
	oldLen := int64(len(n.data))
	if size == oldLen {
		return
	}
	n.resize(size)
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

func (n *refInode) sync() {
	if !n.dirty {
		return
	}
	size := int64(len(n.data))
	if int64(cap(n.durable)) < size {
		d := make([]byte, size, cap(n.data))
		copy(d, n.durable)
		n.durable = d
	} else {
		n.durable = n.durable[:size]
	}
	lo, hi := min(n.dirtyLo, size), min(n.dirtyHi, size)
	copy(n.durable[lo:hi], n.data[lo:hi])
	refApplyPhantom(n.durable, n.phantom)
	n.dirty = false
}

// dropDirty is the Linux behaviour after a failed fsync: the dirty pages are marked clean
// without reaching the media. Reads still see them; no later sync will write them.
func (n *refInode) dropDirty() {
	if !n.dirty {
		return
	}
	size := int64(len(n.data))
	lo, hi := min(n.dirtyLo, size), min(n.dirtyHi, size)
	if hi > lo {
		n.addPhantom(lo, hi, n.durable)
	}
	n.sync()
}

func refApplyPhantom(img []byte, ph []refExtent) {
	for _, e := range ph {
		if e.off < int64(len(img)) {
			copy(img[e.off:], e.old)
		}
	}
}

// walk resolves a cleaned directory name against the visible tree.
func (m *refFS) dir(name, op string) (*refDir, error) {
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
		cd, ok := child.(*refDir)
		if !ok {
			return nil, &fs.PathError{Op: op, Path: name, Err: ErrNotDir}
		}
		d = cd
		start = i + 1
	}
	return d, nil
}

// Create implements FS.
func (m *refFS) Create(name string) (File, error) {
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
	case *refDir:
		return nil, &fs.PathError{Op: "create", Path: name, Err: ErrIsDir}
	case *refInode:
		e.truncate(0)
		return &refFile{fs: m, name: name, n: e}, nil
	}
	n := &refInode{}
	d.visible[base] = n
	return &refFile{fs: m, name: name, n: n}, nil
}

// Open implements FS.
func (m *refFS) Open(name string) (File, error) {
	name = clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.inode(name, "open")
	if err != nil {
		return nil, err
	}
	return &refFile{fs: m, name: name, n: n}, nil
}

func (m *refFS) inode(name, op string) (*refInode, error) {
	dn, base := split(name)
	d, err := m.dir(dn, op)
	if err != nil {
		return nil, err
	}
	switch e := d.visible[base].(type) {
	case *refInode:
		return e, nil
	case *refDir:
		return nil, &fs.PathError{Op: op, Path: name, Err: ErrIsDir}
	}
	return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
}

// Remove implements FS.
func (m *refFS) Remove(name string) error {
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
	if sub, ok := e.(*refDir); ok && len(sub.visible) > 0 {
		return &fs.PathError{Op: "remove", Path: name, Err: ErrNotEmpty}
	}
	delete(d.visible, base)
	return nil
}

// Rename implements FS.
func (m *refFS) Rename(oldname, newname string) error {
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
		if _, isDir := old.(*refDir); isDir {
			return &fs.PathError{Op: "rename", Path: oldname + " -> " + newname, Err: ErrIsDir}
		}
	}
	delete(src.visible, ob)
	dst.visible[nb] = e
	return nil
}

// Mkdir implements FS.
func (m *refFS) Mkdir(name string) error {
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
	d.visible[base] = newRefDir()
	return nil
}

// List implements FS.
func (m *refFS) List(dir string) ([]string, error) {
	dir = clean(dir)
	m.mu.Lock()
	defer m.mu.Unlock()
	d, err := m.dir(dir, "list")
	if err != nil {
		return nil, err
	}
	return refSortedNames(d.visible), nil
}

func refSortedNames(entries map[string]any) []string {
	names := slices.AppendSeq(make([]string, 0, len(entries)), maps.Keys(entries))
	slices.Sort(names) // not slices.Sorted: an empty directory lists as empty, not nil, like OS
	return names
}

// Stat implements FS.
func (m *refFS) Stat(name string) (fs.FileInfo, error) {
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
	case *refInode:
		return fileInfo{name: base, size: int64(len(e.data))}, nil
	case *refDir:
		return fileInfo{name: base, dir: true}, nil
	}
	return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
}

// SyncDir implements FS: the directory's durable entries become its visible ones.
func (m *refFS) SyncDir(dir string) error {
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

// refFile is a handle on a refInode. It keeps working on the inode after the name is
// removed or renamed, like a POSIX descriptor.
type refFile struct {
	fs     *refFS
	name   string
	n      *refInode
	closed bool
}

func (f *refFile) Name() string { return f.name }

func (f *refFile) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, &fs.PathError{Op: "read", Path: f.name, Err: fs.ErrInvalid}
	}
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return 0, &fs.PathError{Op: "read", Path: f.name, Err: ErrClosed}
	}
	if off >= int64(len(f.n.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.n.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *refFile) WriteAt(p []byte, off int64) (int, error) {
	return f.write(p, off, false)
}

func (f *refFile) write(p []byte, off int64, phantom bool) (int, error) {
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
func (f *refFile) writePhantom(p []byte, off int64) (int, error) {
	return f.write(p, off, true)
}

// dropDirty marks the file's dirty data clean without making it durable (Linux after EIO).
func (f *refFile) dropDirty() {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	f.n.dropDirty()
}

func (f *refFile) Sync() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return &fs.PathError{Op: "sync", Path: f.name, Err: ErrClosed}
	}
	f.n.sync()
	return nil
}

func (f *refFile) Truncate(size int64) error {
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

func (f *refFile) Stat() (fs.FileInfo, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return nil, &fs.PathError{Op: "stat", Path: f.name, Err: ErrClosed}
	}
	_, base := split(f.name)
	return fileInfo{name: base, size: int64(len(f.n.data))}, nil
}

func (f *refFile) Close() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return &fs.PathError{Op: "close", Path: f.name, Err: ErrClosed}
	}
	f.closed = true
	return nil
}

// DurableSize reports the durable length of a file, for tests that check the model.
func (m *refFS) DurableSize(name string) (int64, error) {
	name = clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.inode(name, "stat")
	if err != nil {
		return 0, err
	}
	return int64(len(n.durable)), nil
}

// Crash returns the disk as it would be found after power loss at this instant: a new,
// independent refFS built from the durable images, with unsynced data lost, kept (when the
// crash keeps everything) or torn. m itself and its open handles are not changed. The
// returned events list every torn file.
func (m *refFS) Crash(opts CrashOptions) (*refFS, []fault.Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	sector := int64(opts.SectorSize)
	if sector <= 0 {
		sector = 512
	}
	r := opts.Seed.Stream("crash")
	keepAll := opts.KeepAllProbability > 0 && r.Float64() < opts.KeepAllProbability
	c := &refCrasher{r: r, keepAll: keepAll, torn: opts.TornProbability, sector: sector,
		memo: map[*refInode]*refInode{}, process: opts.Process, time: opts.Time, clock: opts.Clock}
	out := &refFS{root: c.dir(m.root, "")}
	return out, c.events
}

type refCrasher struct {
	r       *rand.Rand
	keepAll bool
	torn    float64
	sector  int64
	memo    map[*refInode]*refInode
	events  []fault.Event
	clock   fault.Clock
	process string
	time    int64
}

func (c *refCrasher) dir(d *refDir, name string) *refDir {
	entries := d.durable
	if c.keepAll {
		entries = d.visible
	}
	out := newRefDir()
	// Sorted order: the random draws must not depend on map iteration.
	for _, base := range refSortedNames(entries) {
		child := name + "/" + base
		if name == "" {
			child = base
		}
		var node any
		switch e := entries[base].(type) {
		case *refDir:
			node = c.dir(e, child)
		case *refInode:
			node = c.file(e, child)
		}
		out.visible[base] = node
		out.durable[base] = node
	}
	return out
}

func (c *refCrasher) file(n *refInode, name string) *refInode {
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
	refApplyPhantom(img, n.phantom)
	if img == nil {
		img = []byte{}
	}
	out := &refInode{data: img, durable: bytes.Clone(img)}
	c.memo[n] = out
	return out
}

// tear decides each changed sector of a dirty file: new, old or garbage.
func (c *refCrasher) tear(n *refInode, name string) []byte {
	D, L := int64(len(n.data)), int64(len(n.durable))
	end := max(D, L)
	img := make([]byte, end)
	copy(img, n.durable)
	newLen := L
	start := (min(n.dirtyLo, end) / c.sector) * c.sector
	var shape strings.Builder
	for s0 := start; s0 < end; s0 += c.sector {
		s1 := min(s0+c.sector, end)
		if bytes.Equal(refSeg(n.data, s0, s1), refSeg(n.durable, s0, s1)) {
			continue
		}
		switch c.r.IntN(3) {
		case 0: // new
			shape.WriteByte('n')
			clear(img[s0:s1])
			copy(img[s0:s1], refSeg(n.data, s0, s1))
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

func refSeg(b []byte, lo, hi int64) []byte {
	n := int64(len(b))
	if lo >= n {
		return nil
	}
	return b[lo:min(hi, n)]
}
