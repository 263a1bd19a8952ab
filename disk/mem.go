package disk

import (
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

// memInode is one file's two images. The dirty hull [dirtyLo, dirtyHi) covers every byte
// that changed since the last sync, so a sync copies only that range (a sequential log
// costs O(bytes written), not O(file size), per sync).
type memInode struct {
	data    []byte
	durable []byte
	dirty   bool
	dirtyLo int64
	dirtyHi int64
	// phantom holds ranges whose writes were lost on their way to the media: syncs keep
	// the bytes the media had before those writes, while reads still see the writes.
	phantom []extent
}

type extent struct {
	off int64
	old []byte
}

func (n *memInode) markDirty(lo, hi int64) {
	if !n.dirty {
		n.dirty, n.dirtyLo, n.dirtyHi = true, lo, hi
		return
	}
	n.dirtyLo = min(n.dirtyLo, lo)
	n.dirtyHi = max(n.dirtyHi, hi)
}

// resize sets the visible length, zero-filling growth.
func (n *memInode) resize(size int64) {
	if size <= int64(len(n.data)) {
		n.data = n.data[:size]
		return
	}
	n.grow(size, size) // a write of nothing at size: the whole gap is zeroed
}

// grow extends the visible data to end for a write at off, zeroing only the gap before off
// (the write covers the rest).
func (n *memInode) grow(off, end int64) {
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

func (n *memInode) writeAt(p []byte, off int64, phantom bool) {
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

// addPhantom makes [lo, hi) a phantom extent whose media still holds what media holds
// there now (zeros past its end).
func (n *memInode) addPhantom(lo, hi int64, media []byte) {
	old := make([]byte, hi-lo)
	copy(old, seg(media, lo, hi))
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

func (n *memInode) sync() {
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
	applyPhantom(n.durable, n.phantom)
	n.dirty = false
}

// dropDirty is the Linux behaviour after a failed fsync: the dirty pages are marked clean
// without reaching the media. Reads still see them; no later sync will write them.
func (n *memInode) dropDirty() {
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

func applyPhantom(img []byte, ph []extent) {
	for _, e := range ph {
		if e.off < int64(len(img)) {
			copy(img[e.off:], e.old)
		}
	}
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
	n := &memInode{}
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
		return fileInfo{name: base, size: int64(len(e.data))}, nil
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
	if off >= int64(len(f.n.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.n.data[off:])
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
	return fileInfo{name: base, size: int64(len(f.n.data))}, nil
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
	return int64(len(n.durable)), nil
}

var _ FS = (*MemFS)(nil)

func (f *memFile) String() string { return fmt.Sprintf("memfile(%s)", f.name) }
