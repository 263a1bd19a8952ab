package chunkcache

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// DefaultNumWorkers is fs_native's worker count when the spec gives none.
const DefaultNumWorkers = 4

const directAlign = 4096

var fsNativeType = AdapterType{
	Name: "fs_native",
	Doc:  "The fs layout, served by a pool of workers that pread and pwrite straight into the caller's buffers, keys of one batch in parallel.",
	Fields: []FieldDoc{
		{Name: "base_path", Type: "string", Doc: "folder of the chunk files (created if missing); same layout as fs"},
		{Name: "num_workers", Type: "integer in [1, 1024]", Default: "4", Doc: "parallel I/O workers"},
		{Name: "use_odirect", Type: "boolean", Default: "false", Doc: "open files with O_DIRECT (bypass the page cache); falls back to buffered I/O, reported in status, where the file system refuses it"},
		{Name: "checksum", Type: `"crc32" or "none"`, Default: `"none"`, Doc: "as for fs"},
	},
	Parse: func(s *Spec) (Config, error) {
		base, err := s.String("base_path", "", true)
		if err != nil {
			return nil, err
		}
		n, err := s.Int("num_workers", DefaultNumWorkers, 1, 1024)
		if err != nil {
			return nil, err
		}
		direct, err := s.Bool("use_odirect", false)
		if err != nil {
			return nil, err
		}
		sum, err := parseChecksum(s)
		if err != nil {
			return nil, err
		}
		return FSNativeConfig{BasePath: base, NumWorkers: int(n), UseODirect: direct, Checksum: sum}, nil
	},
}

// FSNativeConfig configures the fs_native adapter (type "fs_native").
type FSNativeConfig struct {
	BasePath   string
	NumWorkers int
	UseODirect bool
	Checksum   bool
}

// Type implements Config.
func (FSNativeConfig) Type() string { return "fs_native" }

// Open implements Config.
func (c FSNativeConfig) Open(context.Context, Env) (Adapter, error) {
	l, err := openFileLayout(c.BasePath, c.Checksum)
	if err != nil {
		return nil, fmt.Errorf("fs_native %s: %w", c.BasePath, err)
	}
	n := c.NumWorkers
	if n <= 0 {
		n = DefaultNumWorkers
	}
	a := &FSNative{l: l, jobs: make(chan nativeJob, n), workers: n, direct: c.UseODirect}
	if c.UseODirect && !probeODirect(c.BasePath) {
		a.direct = false
		a.directRefused = true
	}
	a.wg.Add(n)
	for range n {
		go a.worker()
	}
	return a, nil
}

// probeODirect reports whether the file system under dir accepts O_DIRECT.
func probeODirect(dir string) bool {
	name := filepath.Join(dir, ".tmp-odirect-probe-"+strconv.Itoa(os.Getpid()))
	fd, err := unix.Open(name, unix.O_CREAT|unix.O_WRONLY|unix.O_DIRECT|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return false
	}
	_ = unix.Close(fd)
	_ = os.Remove(name)
	return true
}

// FSNative is the parallel file adapter.
type FSNative struct {
	l             *fileLayout
	jobs          chan nativeJob
	workers       int
	wg            sync.WaitGroup
	direct        bool
	directRefused bool
	mu            sync.RWMutex // held shared while sending jobs, exclusively to close
	closed        atomic.Bool
	tmpSeq        atomic.Uint64
}

type nativeJob struct {
	run  func(scratch *[]byte)
	done *sync.WaitGroup
}

func (a *FSNative) worker() {
	defer a.wg.Done()
	var scratch []byte // aligned buffer for O_DIRECT, grown on demand
	for j := range a.jobs {
		j.run(&scratch)
		j.done.Done()
	}
}

// each runs fn(i) for i in [0, n) on the workers and waits for all of them.
func (a *FSNative) each(n int, fn func(i int, scratch *[]byte)) error {
	a.mu.RLock()
	if a.closed.Load() {
		a.mu.RUnlock()
		return ErrClosed
	}
	var done sync.WaitGroup
	done.Add(n)
	for i := range n {
		a.jobs <- nativeJob{run: func(s *[]byte) { fn(i, s) }, done: &done}
	}
	a.mu.RUnlock()
	done.Wait()
	return nil
}

// Name implements Adapter.
func (a *FSNative) Name() string { return "FSNativeL2Adapter" }

// Store implements Adapter.
func (a *FSNative) Store(ctx context.Context, keys []Key, objects [][]byte) error {
	if err := checkBatch("fs_native store", len(keys), len(objects)); err != nil {
		return err
	}
	errs := make([]error, len(keys))
	err := a.each(len(keys), func(i int, scratch *[]byte) {
		if err := ctx.Err(); err != nil {
			errs[i] = err
			return
		}
		if err := a.write(keys[i], objects[i], scratch); err != nil {
			a.l.noteError(err)
			errs[i] = fmt.Errorf("fs_native store %s: %w", keys[i].ID(), err)
			return
		}
		a.l.index.put(keys[i], int64(len(objects[i])))
	})
	if err != nil {
		return err
	}
	return errors.Join(errs...)
}

func (a *FSNative) write(k Key, obj []byte, scratch *[]byte) error {
	dir, err := a.l.ensureDir(k)
	if err != nil {
		return err
	}
	size := len(obj)
	if a.l.checksum {
		size += 4
	}
	tmp := filepath.Join(dir, ".tmp-"+strconv.Itoa(os.Getpid())+"-"+strconv.FormatUint(a.tmpSeq.Add(1), 10))
	flags := unix.O_CREAT | unix.O_EXCL | unix.O_WRONLY | unix.O_CLOEXEC
	var data []byte
	if a.direct {
		flags |= unix.O_DIRECT
		data = alignedScratch(scratch, roundUp(size, directAlign))
		copy(data, obj)
		clear(data[len(obj):])
	} else if a.l.checksum {
		data = growScratch(scratch, size)
		copy(data, obj)
	} else {
		data = obj
	}
	if a.l.checksum {
		binary.BigEndian.PutUint32(data[len(obj):], crc32.ChecksumIEEE(obj))
	}
	fd, err := unix.Open(tmp, flags, 0o644)
	if err != nil {
		return &os.PathError{Op: "open", Path: tmp, Err: err}
	}
	werr := pwriteAll(fd, data)
	if werr == nil && a.direct {
		werr = unix.Ftruncate(fd, int64(size))
	}
	cerr := unix.Close(fd)
	if err := errors.Join(werr, cerr); err != nil {
		_ = unix.Unlink(tmp)
		return &os.PathError{Op: "write", Path: tmp, Err: err}
	}
	if err := unix.Rename(tmp, a.l.path(k)); err != nil {
		_ = unix.Unlink(tmp)
		return &os.PathError{Op: "rename", Path: tmp, Err: err}
	}
	return nil
}

func pwriteAll(fd int, data []byte) error {
	for off := 0; off < len(data); {
		n, err := unix.Pwrite(fd, data[off:], int64(off))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return errors.New("short write")
		}
		off += n
	}
	return nil
}

func preadFull(fd int, buf []byte) (int, error) {
	off := 0
	for off < len(buf) {
		n, err := unix.Pread(fd, buf[off:], int64(off))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return off, err
		}
		if n == 0 {
			break
		}
		off += n
	}
	return off, nil
}

// read loads k into *buf; it reports false for a miss, a short file or a bad checksum.
func (a *FSNative) read(k Key, buf *[]byte, scratch *[]byte) bool {
	path := a.l.path(k)
	flags := unix.O_RDONLY | unix.O_CLOEXEC
	if a.direct {
		flags |= unix.O_DIRECT
	}
	fd, err := unix.Open(path, flags, 0)
	if err != nil {
		if err != unix.ENOENT {
			a.l.noteError(&os.PathError{Op: "open", Path: path, Err: err})
		}
		return false
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		a.l.noteError(&os.PathError{Op: "fstat", Path: path, Err: err})
		return false
	}
	size := int(st.Size)
	payload := size
	if a.l.checksum {
		payload -= 4
	}
	if payload < 0 {
		a.l.corrupt(k)
		return false
	}
	if payload > cap(*buf) {
		return false
	}
	out := (*buf)[:payload]
	var sum []byte
	if a.direct {
		src := alignedScratch(scratch, roundUp(size, directAlign))
		n, err := preadFull(fd, src)
		if err != nil || n < size {
			a.l.noteError(&os.PathError{Op: "pread", Path: path, Err: errors.Join(err, errors.New("short read"))})
			return false
		}
		copy(out, src[:payload])
		sum = src[payload:size]
	} else {
		n, err := preadFull(fd, out)
		if err != nil || n < payload {
			a.l.noteError(&os.PathError{Op: "pread", Path: path, Err: errors.Join(err, errors.New("short read"))})
			return false
		}
		if a.l.checksum {
			var tail [4]byte
			if n, err := unix.Pread(fd, tail[:], int64(payload)); err != nil || n != 4 {
				a.l.corrupt(k)
				return false
			}
			sum = tail[:]
		}
	}
	if a.l.checksum && crc32.ChecksumIEEE(out) != binary.BigEndian.Uint32(sum) {
		a.l.corrupt(k)
		return false
	}
	*buf = out
	return true
}

// LookupAndLock implements Adapter.
func (a *FSNative) LookupAndLock(_ context.Context, keys []Key) (Bitmap, error) {
	if a.closed.Load() {
		return Bitmap{}, ErrClosed
	}
	return a.l.lookupAndLock(keys), nil
}

// Unlock implements Adapter.
func (a *FSNative) Unlock(_ context.Context, keys []Key) { a.l.unlock(keys) }

// Load implements Adapter: the batch's keys are read in parallel by the workers.
func (a *FSNative) Load(ctx context.Context, keys []Key, bufs [][]byte) (Bitmap, error) {
	if err := checkBatch("fs_native load", len(keys), len(bufs)); err != nil {
		return Bitmap{}, err
	}
	ok := make([]bool, len(keys))
	err := a.each(len(keys), func(i int, scratch *[]byte) {
		if ctx.Err() != nil {
			return
		}
		ok[i] = a.read(keys[i], &bufs[i], scratch)
	})
	if err != nil {
		return Bitmap{}, err
	}
	got := NewBitmap(len(keys))
	for i, b := range ok {
		if b {
			got.Set(i)
		}
	}
	return got, ctx.Err()
}

// Delete implements Adapter.
func (a *FSNative) Delete(_ context.Context, keys []Key) error { return a.l.delete(keys) }

// Usage implements Adapter.
func (a *FSNative) Usage(context.Context) (Usage, error) { return a.l.index.usage(), nil }

// Status implements Adapter.
func (a *FSNative) Status(context.Context) map[string]any {
	st := a.l.status("fs_native")
	st["num_workers"] = a.workers
	st["odirect_active"] = a.direct
	if a.directRefused {
		st["odirect_refused"] = true
	}
	if a.closed.Load() {
		st["is_healthy"] = false
	}
	return st
}

// LockedKeys implements LockInspector.
func (a *FSNative) LockedKeys() []string { return a.l.locks.keys() }

// Close implements Adapter: it stops the workers after the batches in flight.
func (a *FSNative) Close() error {
	a.mu.Lock()
	if a.closed.Load() {
		a.mu.Unlock()
		return nil
	}
	a.closed.Store(true)
	close(a.jobs)
	a.mu.Unlock()
	a.wg.Wait()
	return nil
}

func roundUp(n, to int) int { return (n + to - 1) / to * to }

func growScratch(s *[]byte, n int) []byte {
	if cap(*s) < n {
		*s = make([]byte, n)
	}
	return (*s)[:n]
}

// alignedScratch returns n bytes of *s starting at a directAlign boundary.
func alignedScratch(s *[]byte, n int) []byte {
	if cap(*s) < n+directAlign {
		*s = make([]byte, n+directAlign)
	}
	b := (*s)[:cap(*s)]
	off := 0
	if r := int(uintptr(unsafe.Pointer(&b[0])) % directAlign); r != 0 {
		off = directAlign - r
	}
	return b[off : off+n]
}
