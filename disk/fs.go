package disk

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"time"
)

// FS is a file system as a storage engine uses it: files addressed by offset, explicit
// durability (File.Sync for data, SyncDir for directory entries) and a flat set of
// directory operations. Names are slash-separated and relative to the FS's root; a leading
// slash is ignored and "" or "." names the root.
type FS interface {
	// Create makes the named file, or truncates it if it exists, and opens it for
	// reading and writing. The new directory entry is durable only after SyncDir of its
	// parent.
	Create(name string) (File, error)
	// Open opens an existing file for reading and writing.
	Open(name string) (File, error)
	// Remove deletes a file or an empty directory.
	Remove(name string) error
	// Rename moves oldname to newname, replacing a file at newname.
	Rename(oldname, newname string) error
	// Mkdir makes one directory; its parent must exist.
	Mkdir(name string) error
	// List returns the names in a directory, sorted.
	List(dir string) ([]string, error)
	// Stat describes a file or directory.
	Stat(name string) (fs.FileInfo, error)
	// SyncDir makes the directory's entries (creates, renames, removes) durable.
	SyncDir(dir string) error
}

// File is an open file. Reads and writes take explicit offsets, so a File has no cursor.
type File interface {
	// ReadAt reads len(p) bytes at off; fewer bytes come with io.EOF at the end of the file.
	ReadAt(p []byte, off int64) (int, error)
	// WriteAt writes p at off, growing the file (with zeros) if needed.
	WriteAt(p []byte, off int64) (int, error)
	// Sync makes the file's data durable.
	Sync() error
	// Truncate sets the file's size.
	Truncate(size int64) error
	// Stat describes the file.
	Stat() (fs.FileInfo, error)
	// Close releases the handle; later use fails with ErrClosed.
	Close() error
	// Name is the name the file was opened under.
	Name() string
}

// Sentinel errors callers test with errors.Is.
var (
	// ErrClosed: the handle was closed.
	ErrClosed = fs.ErrClosed
	// ErrCrashed: the handle or FS belongs to a process incarnation that crashed; open the
	// process's storage again to see the post-crash disk.
	ErrCrashed = errors.New("disk: process crashed: handle belongs to a dead incarnation")
	// ErrWiped: the handle or FS belongs to a process whose storage was wiped.
	ErrWiped = errors.New("disk: process storage wiped: handle belongs to a dead incarnation")
	// ErrSyncFailed: an injected sync failure (the fsync returned EIO).
	ErrSyncFailed = errors.New("disk: injected sync failure (EIO)")
	// ErrNotEmpty: Remove of a directory that still has entries.
	ErrNotEmpty = errors.New("directory not empty")
	// ErrIsDir / ErrNotDir: the name is of the wrong kind for the operation.
	ErrIsDir  = errors.New("is a directory")
	ErrNotDir = errors.New("not a directory")
	// ErrRange: a negative offset or size, or one whose end would pass MaxFileSize. It
	// wraps fs.ErrInvalid, so errors.Is(err, fs.ErrInvalid) holds too.
	ErrRange = fmt.Errorf("%w: offset or size negative or beyond disk.MaxFileSize (%d bytes)", fs.ErrInvalid, MaxFileSize)
)

// MaxFileSize caps a file of the memory disk and of the fault wrapper (1 TiB, whatever the
// wrapper wraps): a write or truncate that would reach past it fails with ErrRange instead
// of overflowing or asking for an impossible allocation. The memory disk is dense, so the
// practical limit is the machine's memory.
const MaxFileSize int64 = 1 << 40

// checkRange rejects an operation on [off, off+n) that is negative or ends past MaxFileSize
// (computed without overflow).
func checkRange(op, name string, off int64, n int) error {
	if off < 0 || n < 0 || off > MaxFileSize || int64(n) > MaxFileSize-off {
		return &fs.PathError{Op: op, Path: name, Err: ErrRange}
	}
	return nil
}

// clean turns a user name into the canonical form used as a key: no leading slash, cleaned,
// "" for the root.
func clean(name string) string {
	name = path.Clean("/" + name)
	return strings.TrimPrefix(name, "/")
}

// split returns the parent directory and the base name of a cleaned name.
func split(name string) (dir, base string) {
	i := strings.LastIndexByte(name, '/')
	if i < 0 {
		return "", name
	}
	return name[:i], name[i+1:]
}

// fileInfo is the fs.FileInfo of the memory disk.
type fileInfo struct {
	name string
	size int64
	dir  bool
}

func (i fileInfo) Name() string { return i.name }
func (i fileInfo) Size() int64  { return i.size }
func (i fileInfo) Mode() fs.FileMode {
	if i.dir {
		return fs.ModeDir | 0o755
	}
	return 0o644
}
func (i fileInfo) ModTime() time.Time { return time.Time{} }
func (i fileInfo) IsDir() bool        { return i.dir }
func (i fileInfo) Sys() any           { return nil }
