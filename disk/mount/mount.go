package mount

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sync"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/faultbox/faultbox/disk"
	"github.com/faultbox/faultbox/fault"
)

// DefaultProcess is the name the mount's disk has in its disk.Storage when Options.Process
// is empty.
const DefaultProcess = "mount"

// Options shape a mount.
type Options struct {
	// Process names the mount's disk in the Storage (its configuration, rules, events and
	// crashes are that process's); "" means DefaultProcess.
	Process string
	// Debug logs every FUSE request on stderr.
	Debug bool
	// StopAtCrash makes every operation fail with EIO once the disk has crashed after the
	// mount was made (by Crash or a crash rule): the programs on the mount are then as good
	// as dead, as after a power cut, and cannot touch the post-crash disk. Mount it again
	// to use that disk.
	StopAtCrash bool
}

// Mount is a disk.Storage process's disk served as a FUSE file system. Every operation the
// kernel forwards goes through the process's FaultFS, one at a time, in the order the
// requests arrive.
type Mount struct {
	dir     string
	st      *disk.Storage
	process string
	server  *fuse.Server

	// mu serialises every operation on the model: the disk is not for concurrent use, and
	// one order of operations is what its events and crashes are decided by.
	mu    sync.Mutex
	ops   uint64
	syncs uint64 // file and directory fsyncs served
	stop  int    // with StopAtCrash, the crash count at which operations stop; else -1
}

// New mounts the disk of opts.Process in st at dir (an existing, empty directory) and
// serves it until Unmount. It needs /dev/fuse and either root (the mount is made with
// mount(2) directly) or the fusermount3 helper.
func New(dir string, st *disk.Storage, opts Options) (*Mount, error) {
	if st == nil {
		return nil, errors.New("mount: storage is nil: want a disk.Storage to serve")
	}
	if opts.Process == "" {
		opts.Process = DefaultProcess
	}
	m := &Mount{dir: dir, st: st, process: opts.Process, stop: -1}
	if opts.StopAtCrash {
		m.stop = st.Crashes(opts.Process) + 1
	}
	zero := time.Duration(0)
	root := &node{m: m}
	server, err := gofs.Mount(dir, root, &gofs.Options{
		// No kernel caching of names or attributes: after a crash the kernel must ask again.
		EntryTimeout:    &zero,
		AttrTimeout:     &zero,
		NegativeTimeout: &zero,
		MountOptions: fuse.MountOptions{
			FsName:      "faultbox",
			Name:        "faultbox",
			DirectMount: true, // root mounts with mount(2); others fall back to fusermount3
			Debug:       opts.Debug,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("mount %s: %w (FUSE needs /dev/fuse, and root or the fusermount3 helper from Debian's fuse3)", dir, err)
	}
	m.server = server
	return m, nil
}

// Dir is the mount point.
func (m *Mount) Dir() string { return m.dir }

// Process is the name of the mount's disk in its Storage.
func (m *Mount) Process() string { return m.process }

// Storage is the model behind the mount.
func (m *Mount) Storage() *disk.Storage { return m.st }

// Ops counts the file-system operations served so far.
func (m *Mount) Ops() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ops
}

// Syncs counts the fsyncs of files and directories served so far: the persistence points
// of what ran on the mount.
func (m *Mount) Syncs() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.syncs
}

// Crashes counts the crashes of the mount's disk (by Crash and by crash rules).
func (m *Mount) Crashes() int {
	return m.st.Crashes(m.process)
}

// Crash is power loss for the disk under the mount, as LazyFS's "clear cache" is: what was
// not synced is lost, kept or torn as the disk's configuration and the seed decide, and every
// file still open fails with EIO from now on. Stop the programs using the mount first, as a
// power cut would; what they do afterwards sees the post-crash disk. It returns the crash's
// torn-write events.
func (m *Mount) Crash() []fault.Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st.Crash(m.process, true)
}

// Wipe empties the disk under the mount; open files fail with EIO from now on.
func (m *Mount) Wipe() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.st.Wipe(m.process)
}

// Unmount detaches the file system; it fails while a program still uses it.
func (m *Mount) Unmount() error { return m.server.Unmount() }

// Wait blocks until the file system is unmounted (by Unmount or by umount(8)).
func (m *Mount) Wait() { m.server.Wait() }

// do runs op on the current incarnation of the disk, holding the lock.
func (m *Mount) do(op func(fsys *disk.FaultFS) error) syscall.Errno {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stop >= 0 && m.st.Crashes(m.process) >= m.stop {
		return syscall.EIO
	}
	m.ops++
	return errno(op(m.st.FS(m.process)))
}

// doSync is do for an fsync, counted.
func (m *Mount) doSync(op func(fsys *disk.FaultFS) error) syscall.Errno {
	return m.do(func(fsys *disk.FaultFS) error {
		m.syncs++
		return op(fsys)
	})
}

// errno maps the disk's errors to what a program sees.
func errno(err error) syscall.Errno {
	var en syscall.Errno
	switch {
	case err == nil:
		return 0
	case errors.As(err, &en): // injected errors unwrap to their errno
		return en
	case errors.Is(err, fs.ErrNotExist):
		return syscall.ENOENT
	case errors.Is(err, fs.ErrExist):
		return syscall.EEXIST
	case errors.Is(err, disk.ErrNotEmpty):
		return syscall.ENOTEMPTY
	case errors.Is(err, disk.ErrIsDir):
		return syscall.EISDIR
	case errors.Is(err, disk.ErrNotDir):
		return syscall.ENOTDIR
	case errors.Is(err, disk.ErrRange):
		return syscall.EFBIG
	case errors.Is(err, fs.ErrInvalid):
		return syscall.EINVAL
	case errors.Is(err, fs.ErrClosed):
		return syscall.EBADF
	}
	return syscall.EIO // sync failures, crashed and wiped handles, anything else
}

// node is a file or directory of the mount, found by its path from the root each time: the
// disk is addressed by name, and a crash may replace everything under a path.
type node struct {
	gofs.Inode
	m *Mount
}

var (
	_ gofs.NodeLookuper  = (*node)(nil)
	_ gofs.NodeGetattrer = (*node)(nil)
	_ gofs.NodeSetattrer = (*node)(nil)
	_ gofs.NodeReaddirer = (*node)(nil)
	_ gofs.NodeMkdirer   = (*node)(nil)
	_ gofs.NodeCreater   = (*node)(nil)
	_ gofs.NodeOpener    = (*node)(nil)
	_ gofs.NodeUnlinker  = (*node)(nil)
	_ gofs.NodeRmdirer   = (*node)(nil)
	_ gofs.NodeRenamer   = (*node)(nil)
	_ gofs.NodeFsyncer   = (*node)(nil)
	_ gofs.NodeStatfser  = (*node)(nil)
	_ gofs.FileReader    = (*handle)(nil)
	_ gofs.FileWriter    = (*handle)(nil)
	_ gofs.FileFsyncer   = (*handle)(nil)
	_ gofs.FileFlusher   = (*handle)(nil)
	_ gofs.FileReleaser  = (*handle)(nil)
	_ gofs.FileGetattrer = (*handle)(nil)
	_ gofs.FileSetattrer = (*handle)(nil)
	_ gofs.FileAllocater = (*handle)(nil)
	_ gofs.NodeOnAdder   = (*node)(nil)
	_ gofs.InodeEmbedder = (*node)(nil)
)

// OnAdd is called for the root: nothing to do, the tree is read from the disk on demand.
func (n *node) OnAdd(context.Context) {}

func (n *node) path() string { return n.Path(nil) }

func (n *node) child(name string) string { return path.Join(n.path(), name) }

// fill describes a file or directory as the kernel wants it.
func fill(fi fs.FileInfo, out *fuse.Attr) {
	if fi.IsDir() {
		out.Mode = syscall.S_IFDIR | 0o755
		out.Nlink = 2
	} else {
		out.Mode = syscall.S_IFREG | 0o644
		out.Nlink = 1
		out.Size = uint64(fi.Size())
		out.Blocks = (out.Size + 511) / 512
	}
	out.Blksize = 4096
}

// newChild returns the inode of the child name: the one the tree already holds when it is
// of the same kind, so that a file keeps its inode number while it exists (sqlite, for one,
// takes a changed number for a moved database and refuses to write), else a new one.
func (n *node) newChild(ctx context.Context, name string, fi fs.FileInfo, out *fuse.EntryOut) *gofs.Inode {
	fill(fi, &out.Attr)
	mode := uint32(syscall.S_IFREG)
	if fi.IsDir() {
		mode = syscall.S_IFDIR
	}
	if ch := n.GetChild(name); ch != nil && ch.Mode() == mode {
		return ch
	}
	return n.NewInode(ctx, &node{m: n.m}, gofs.StableAttr{Mode: mode})
}

func (n *node) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	var fi fs.FileInfo
	if e := n.m.do(func(fsys *disk.FaultFS) (err error) {
		fi, err = fsys.Stat(n.child(name))
		return err
	}); e != 0 {
		return nil, e
	}
	return n.newChild(ctx, name, fi, out), 0
}

func (n *node) Getattr(ctx context.Context, f gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	if h, ok := f.(*handle); ok {
		return h.Getattr(ctx, out)
	}
	return n.m.do(func(fsys *disk.FaultFS) error {
		fi, err := fsys.Stat(n.path())
		if err == nil {
			fill(fi, &out.Attr)
		}
		return err
	})
}

// Setattr changes a file's size; modes, owners and times are accepted and not kept (the
// model has none).
func (n *node) Setattr(ctx context.Context, f gofs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if h, ok := f.(*handle); ok {
		return h.Setattr(ctx, in, out)
	}
	return n.m.do(func(fsys *disk.FaultFS) error {
		p := n.path()
		if size, ok := in.GetSize(); ok {
			if err := withFile(fsys, p, func(f disk.File) error { return f.Truncate(int64(size)) }); err != nil {
				return err
			}
		}
		fi, err := fsys.Stat(p)
		if err == nil {
			fill(fi, &out.Attr)
		}
		return err
	})
}

func (n *node) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	var entries []fuse.DirEntry
	e := n.m.do(func(fsys *disk.FaultFS) error {
		dir := n.path()
		names, err := fsys.List(dir)
		if err != nil {
			return err
		}
		for _, name := range names {
			fi, err := fsys.Stat(path.Join(dir, name))
			if err != nil {
				return err
			}
			mode := uint32(syscall.S_IFREG)
			if fi.IsDir() {
				mode = syscall.S_IFDIR
			}
			entries = append(entries, fuse.DirEntry{Name: name, Mode: mode})
		}
		return nil
	})
	if e != 0 {
		return nil, e
	}
	return gofs.NewListDirStream(entries), 0
}

func (n *node) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	var fi fs.FileInfo
	if e := n.m.do(func(fsys *disk.FaultFS) error {
		p := n.child(name)
		if err := fsys.Mkdir(p); err != nil {
			return err
		}
		var err error
		fi, err = fsys.Stat(p)
		return err
	}); e != 0 {
		return nil, e
	}
	return n.newChild(ctx, name, fi, out), 0
}

// Create makes a file (open with O_CREAT), or opens it when it exists and O_EXCL is not set.
func (n *node) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*gofs.Inode, gofs.FileHandle, uint32, syscall.Errno) {
	var (
		file disk.File
		fi   fs.FileInfo
	)
	if e := n.m.do(func(fsys *disk.FaultFS) error {
		p := n.child(name)
		_, err := fsys.Stat(p)
		switch {
		case err == nil && flags&syscall.O_EXCL != 0:
			return fs.ErrExist
		case err == nil:
			if file, err = fsys.Open(p); err == nil && flags&syscall.O_TRUNC != 0 {
				err = file.Truncate(0)
			}
		case errors.Is(err, fs.ErrNotExist):
			file, err = fsys.Create(p)
		}
		if err != nil {
			return err
		}
		fi, err = file.Stat()
		return err
	}); e != 0 {
		if file != nil {
			n.m.do(func(*disk.FaultFS) error { return file.Close() })
		}
		return nil, nil, 0, e
	}
	return n.newChild(ctx, name, fi, out), &handle{m: n.m, f: file}, fuse.FOPEN_DIRECT_IO, 0
}

// Open opens a file. Reads and writes bypass the kernel's page cache (direct I/O), so that
// every write reaches the model when the program makes it and a crash is seen at once.
func (n *node) Open(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	var file disk.File
	if e := n.m.do(func(fsys *disk.FaultFS) (err error) {
		if file, err = fsys.Open(n.path()); err == nil && flags&syscall.O_TRUNC != 0 {
			err = file.Truncate(0)
		}
		return err
	}); e != 0 {
		return nil, 0, e
	}
	return &handle{m: n.m, f: file}, fuse.FOPEN_DIRECT_IO, 0
}

// remove deletes a child of the kind wanted.
func (n *node) remove(name string, wantDir bool) syscall.Errno {
	return n.m.do(func(fsys *disk.FaultFS) error {
		p := n.child(name)
		fi, err := fsys.Stat(p)
		switch {
		case err != nil:
			return err
		case fi.IsDir() && !wantDir:
			return disk.ErrIsDir
		case !fi.IsDir() && wantDir:
			return disk.ErrNotDir
		}
		return fsys.Remove(p)
	})
}

func (n *node) Unlink(ctx context.Context, name string) syscall.Errno { return n.remove(name, false) }
func (n *node) Rmdir(ctx context.Context, name string) syscall.Errno  { return n.remove(name, true) }

// Rename moves a file or directory; RENAME_EXCHANGE and RENAME_NOREPLACE are not offered.
func (n *node) Rename(ctx context.Context, name string, newParent gofs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	if flags != 0 {
		return syscall.EINVAL
	}
	to := path.Join(newParent.EmbeddedInode().Path(nil), newName)
	return n.m.do(func(fsys *disk.FaultFS) error { return fsys.Rename(n.child(name), to) })
}

// Fsync on a directory makes its entries durable (SyncDir); on a file without a handle (the
// kernel sends one), it syncs the file.
func (n *node) Fsync(ctx context.Context, f gofs.FileHandle, flags uint32) syscall.Errno {
	switch h := f.(type) {
	case *handle:
		return h.Fsync(ctx, flags)
	}
	if n.IsDir() {
		return n.m.doSync(func(fsys *disk.FaultFS) error { return fsys.SyncDir(n.path()) })
	}
	return n.m.doSync(func(fsys *disk.FaultFS) error {
		return withFile(fsys, n.path(), disk.File.Sync)
	})
}

// withFile opens name, runs op on it and closes it, for a request that comes without a handle.
func withFile(fsys *disk.FaultFS, name string, op func(disk.File) error) error {
	f, err := fsys.Open(name)
	if err != nil {
		return err
	}
	err = op(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Statfs reports a large, empty disk: the model has no capacity (ENOSPC comes from rules).
func (n *node) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	const blocks = 1 << 30
	out.Blocks, out.Bfree, out.Bavail = blocks, blocks, blocks
	out.Files, out.Ffree = 1<<20, 1<<20
	out.Bsize, out.Frsize, out.NameLen = 4096, 4096, 255
	return 0
}

// handle is an open file: a disk.File of the incarnation it was opened on, so that after a
// crash it fails (EIO) rather than reaching the new disk.
type handle struct {
	m *Mount
	f disk.File
}

func (h *handle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	var n int
	e := h.m.do(func(*disk.FaultFS) (err error) {
		n, err = h.f.ReadAt(dest, off)
		if errors.Is(err, io.EOF) {
			err = nil
		}
		return err
	})
	if e != 0 {
		return nil, e
	}
	return fuse.ReadResultData(dest[:n]), 0
}

func (h *handle) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	var n int
	e := h.m.do(func(*disk.FaultFS) (err error) {
		n, err = h.f.WriteAt(data, off)
		return err
	})
	return uint32(n), e
}

// Fsync makes the file durable. fdatasync is the same: the model has no metadata to skip.
func (h *handle) Fsync(ctx context.Context, flags uint32) syscall.Errno {
	return h.m.doSync(func(*disk.FaultFS) error { return h.f.Sync() })
}

// Flush (close(2) of one descriptor) does not make anything durable, as on a real disk.
func (h *handle) Flush(ctx context.Context) syscall.Errno { return 0 }

func (h *handle) Release(ctx context.Context) syscall.Errno {
	e := h.m.do(func(*disk.FaultFS) error { return h.f.Close() })
	if e == syscall.EIO { // a handle of a crashed incarnation: nothing left to release
		return 0
	}
	return e
}

func (h *handle) Getattr(ctx context.Context, out *fuse.AttrOut) syscall.Errno {
	return h.m.do(func(*disk.FaultFS) error {
		fi, err := h.f.Stat()
		if err == nil {
			fill(fi, &out.Attr)
		}
		return err
	})
}

func (h *handle) Setattr(ctx context.Context, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	return h.m.do(func(*disk.FaultFS) error {
		if size, ok := in.GetSize(); ok {
			if err := h.f.Truncate(int64(size)); err != nil {
				return err
			}
		}
		fi, err := h.f.Stat()
		if err == nil {
			fill(fi, &out.Attr)
		}
		return err
	})
}

// Allocate (fallocate) grows the file to off+size when mode is 0 (the model keeps no
// reservation, only the size); other modes are not offered.
func (h *handle) Allocate(ctx context.Context, off, size uint64, mode uint32) syscall.Errno {
	if mode != 0 {
		return syscall.EOPNOTSUPP
	}
	return h.m.do(func(*disk.FaultFS) error {
		fi, err := h.f.Stat()
		if err != nil {
			return err
		}
		if end := int64(off + size); end > fi.Size() {
			return h.f.Truncate(end)
		}
		return nil
	})
}
