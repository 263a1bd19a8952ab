// Package pebblefs runs Pebble on faultbox's lying disk: FS implements Pebble's vfs.FS over
// a disk.FS (a MemFS, a FaultFS, a process's disk in a disk.Storage), so that Pebble's
// writes, syncs and directory syncs meet the durability model and the fault families.
//
// It lives in the bench module so that the main module keeps no Pebble dependency.
package pebblefs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sync"

	"github.com/cockroachdb/pebble/vfs"
	"github.com/faultbox/faultbox/disk"
)

// ErrUnsupported: an operation disk.FS has no model for (hard links).
var ErrUnsupported = errors.New("pebblefs: not supported by disk.FS")

// FS is Pebble's vfs.FS over a disk.FS. Names are slash-separated (Pebble's PathJoin here
// is path.Join). Locks are held in memory, per FS value.
type FS struct {
	d     disk.FS
	mu    sync.Mutex
	locks map[string]bool
}

// New wraps d.
func New(d disk.FS) *FS { return &FS{d: d, locks: map[string]bool{}} }

var _ vfs.FS = (*FS)(nil)

func (f *FS) Create(name string) (vfs.File, error) {
	h, err := f.d.Create(name)
	if err != nil {
		return nil, err
	}
	return &file{h: h}, nil
}

func (f *FS) Link(oldname, newname string) error {
	return &fs.PathError{Op: "link", Path: oldname + " -> " + newname, Err: ErrUnsupported}
}

func (f *FS) Open(name string, opts ...vfs.OpenOption) (vfs.File, error) {
	fi, err := f.d.Stat(name)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return &dir{fs: f.d, name: name}, nil // Stat said so: no second Stat through OpenDir
	}
	h, err := f.d.Open(name)
	if err != nil {
		return nil, err
	}
	return withOptions(&file{h: h}, opts), nil
}

func (f *FS) OpenReadWrite(name string, opts ...vfs.OpenOption) (vfs.File, error) {
	h, err := f.d.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		h, err = f.d.Create(name)
	}
	if err != nil {
		return nil, err
	}
	return withOptions(&file{h: h}, opts), nil
}

func (f *FS) OpenDir(name string) (vfs.File, error) {
	fi, err := f.d.Stat(name)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, &fs.PathError{Op: "opendir", Path: name, Err: disk.ErrNotDir}
	}
	return &dir{fs: f.d, name: name}, nil
}

func (f *FS) Remove(name string) error { return f.d.Remove(name) }

func (f *FS) RemoveAll(name string) error {
	fi, err := f.d.Stat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.IsDir() {
		names, err := f.d.List(name)
		if err != nil {
			return err
		}
		for _, n := range names {
			if err := f.RemoveAll(path.Join(name, n)); err != nil {
				return err
			}
		}
	}
	return f.d.Remove(name)
}

func (f *FS) Rename(oldname, newname string) error { return f.d.Rename(oldname, newname) }

func (f *FS) ReuseForWrite(oldname, newname string) (vfs.File, error) {
	if err := f.d.Rename(oldname, newname); err != nil {
		return nil, err
	}
	h, err := f.d.Open(newname)
	if err != nil {
		return nil, err
	}
	return &file{h: h}, nil
}

func (f *FS) MkdirAll(dir string, _ os.FileMode) error {
	dir = path.Clean("/" + dir)
	if dir == "/" {
		return nil
	}
	if err := f.MkdirAll(path.Dir(dir), 0); err != nil {
		return err
	}
	if fi, err := f.d.Stat(dir); err == nil {
		if !fi.IsDir() {
			return &fs.PathError{Op: "mkdir", Path: dir, Err: disk.ErrNotDir}
		}
		return nil
	}
	return f.d.Mkdir(dir)
}

func (f *FS) Lock(name string) (io.Closer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.locks[name] {
		return nil, fmt.Errorf("pebblefs: lock %s: held", name)
	}
	if _, err := f.d.Stat(name); errors.Is(err, fs.ErrNotExist) {
		h, err := f.d.Create(name)
		if err != nil {
			return nil, err
		}
		_ = h.Close()
	}
	f.locks[name] = true
	return closerFunc(func() error {
		f.mu.Lock()
		defer f.mu.Unlock()
		delete(f.locks, name)
		return nil
	}), nil
}

type closerFunc func() error

func (c closerFunc) Close() error { return c() }

func (f *FS) List(dir string) ([]string, error)     { return f.d.List(dir) }
func (f *FS) Stat(name string) (os.FileInfo, error) { return f.d.Stat(name) }
func (f *FS) PathBase(p string) string              { return path.Base(p) }
func (f *FS) PathJoin(elem ...string) string        { return path.Join(elem...) }
func (f *FS) PathDir(p string) string               { return path.Dir(p) }
func (f *FS) GetDiskUsage(string) (vfs.DiskUsage, error) {
	return vfs.DiskUsage{AvailBytes: 1 << 40, TotalBytes: 1 << 40}, nil
}

// file adds the cursor of Read and Write to a disk.File, which has only offsets.
type file struct {
	h      disk.File
	mu     sync.Mutex
	rd, wr int64
}

func (f *file) Close() error { return f.h.Close() }

func (f *file) Read(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.h.ReadAt(p, f.rd)
	f.rd += int64(n)
	if n > 0 && errors.Is(err, io.EOF) {
		err = nil
	}
	return n, err
}

func (f *file) ReadAt(p []byte, off int64) (int, error) { return f.h.ReadAt(p, off) }

func (f *file) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.h.WriteAt(p, f.wr)
	f.wr += int64(n)
	return n, err
}

func (f *file) WriteAt(p []byte, off int64) (int, error) { return f.h.WriteAt(p, off) }
func (f *file) Preallocate(int64, int64) error           { return nil }
func (f *file) Stat() (os.FileInfo, error)               { return f.h.Stat() }
func (f *file) Sync() error                              { return f.h.Sync() }
func (f *file) SyncTo(int64) (bool, error)               { return true, f.h.Sync() }
func (f *file) SyncData() error                          { return f.h.Sync() }
func (f *file) Prefetch(int64, int64) error              { return nil }
func (f *file) Fd() uintptr                              { return vfs.InvalidFd }

// dir is an open directory: its Sync makes its entries durable (disk.FS.SyncDir).
type dir struct {
	fs   disk.FS
	name string
}

func (d *dir) errNotFile(op string) error {
	return &fs.PathError{Op: op, Path: d.name, Err: disk.ErrIsDir}
}

func (d *dir) Close() error                      { return nil }
func (d *dir) Read([]byte) (int, error)          { return 0, d.errNotFile("read") }
func (d *dir) ReadAt([]byte, int64) (int, error) { return 0, d.errNotFile("read") }
func (d *dir) Write([]byte) (int, error)         { return 0, d.errNotFile("write") }
func (d *dir) WriteAt([]byte, int64) (int, error) {
	return 0, d.errNotFile("write")
}
func (d *dir) Preallocate(int64, int64) error { return nil }
func (d *dir) Stat() (os.FileInfo, error)     { return d.fs.Stat(d.name) }
func (d *dir) Sync() error                    { return d.fs.SyncDir(d.name) }
func (d *dir) SyncTo(int64) (bool, error)     { return true, d.Sync() }
func (d *dir) SyncData() error                { return d.Sync() }
func (d *dir) Prefetch(int64, int64) error    { return nil }
func (d *dir) Fd() uintptr                    { return vfs.InvalidFd }

// withOptions applies Pebble's open options to f.
func withOptions(f *file, opts []vfs.OpenOption) *file {
	for _, o := range opts {
		o.Apply(f)
	}
	return f
}
