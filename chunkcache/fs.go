package chunkcache

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// The on-disk layout shared by fs and fs_native: one file per key,
//
//	<base_path>/<first two hex digits of the chunk hash>/<hex hash>_<hex model>_<kv rank>_<object group>_<hex salt>.chunk
//
// holding the payload, followed by a 4-byte big-endian CRC-32 (IEEE, as zlib.crc32 computes it) of the payload
// when "checksum": "crc32" is set. Model and salt are hex-encoded so any string is a safe
// file name. A file is written under a temporary name in the same folder and renamed into
// place, so a reader never sees half a file.
const chunkFileSuffix = ".chunk"

func chunkFileName(k Key) string {
	h := hex.EncodeToString(k.ChunkHash)
	return h + "_" + hex.EncodeToString([]byte(k.Model)) + "_" + strconv.FormatUint(uint64(k.KVRank), 10) +
		"_" + strconv.FormatUint(uint64(k.ObjectGroup), 10) + "_" + hex.EncodeToString([]byte(k.CacheSalt)) + chunkFileSuffix
}

// chunkDirName is the hex of the hash's first byte, or "_" for an empty hash.
func chunkDirName(k Key) string {
	if len(k.ChunkHash) == 0 {
		return "_"
	}
	return hex.EncodeToString(k.ChunkHash[:1])
}

// parseChunkFileName decodes a file name written by chunkFileName.
func parseChunkFileName(name string) (Key, bool) {
	base, ok := strings.CutSuffix(name, chunkFileSuffix)
	if !ok {
		return Key{}, false
	}
	parts := strings.Split(base, "_")
	if len(parts) != 5 {
		return Key{}, false
	}
	h, err1 := hex.DecodeString(parts[0])
	model, err2 := hex.DecodeString(parts[1])
	rank, err3 := strconv.ParseUint(parts[2], 10, 32)
	group, err4 := strconv.ParseUint(parts[3], 10, 32)
	salt, err5 := hex.DecodeString(parts[4])
	if err := errors.Join(err1, err2, err3, err4, err5); err != nil {
		return Key{}, false
	}
	return Key{ChunkHash: h, Model: string(model), KVRank: uint32(rank), ObjectGroup: uint32(group), CacheSalt: string(salt)}, true
}

// fileIndex is the in-memory account of the files under base_path, for Usage.
type fileIndex struct {
	mu      sync.Mutex
	size    map[string]int64 // key ID -> payload bytes
	salt    map[string]string
	used    int64
	perSalt map[string]int64
}

func newFileIndex() *fileIndex {
	return &fileIndex{size: map[string]int64{}, salt: map[string]string{}, perSalt: map[string]int64{}}
}

func (x *fileIndex) put(k Key, size int64) {
	id := k.ID()
	x.mu.Lock()
	defer x.mu.Unlock()
	x.removeLocked(id)
	x.size[id] = size
	x.salt[id] = k.CacheSalt
	x.used += size
	x.perSalt[k.CacheSalt] += size
}

func (x *fileIndex) remove(id string) {
	x.mu.Lock()
	x.removeLocked(id)
	x.mu.Unlock()
}

func (x *fileIndex) removeLocked(id string) {
	size, ok := x.size[id]
	if !ok {
		return
	}
	salt := x.salt[id]
	delete(x.size, id)
	delete(x.salt, id)
	x.used -= size
	x.perSalt[salt] -= size
	if x.perSalt[salt] == 0 {
		delete(x.perSalt, salt)
	}
}

func (x *fileIndex) usage() Usage {
	x.mu.Lock()
	defer x.mu.Unlock()
	return Usage{UsedBytes: x.used, BytesPerSalt: copySaltBytes(x.perSalt)}
}

func (x *fileIndex) count() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return len(x.size)
}

// fileLayout holds what fs and fs_native share: the folder, the checksum choice, the index
// and the lock table.
type fileLayout struct {
	base     string
	checksum bool
	index    *fileIndex
	locks    lockTable
	dirs     sync.Map // folder name -> struct{}, folders known to exist

	mu               sync.Mutex
	checksumFailures int64
	ioErrors         int64
	lastError        string
}

func openFileLayout(base string, checksum bool) (*fileLayout, error) {
	if err := os.MkdirAll(base, 0o755); err != nil {
		return nil, fmt.Errorf("create base_path: %w", err)
	}
	l := &fileLayout{base: base, checksum: checksum, index: newFileIndex()}
	trailer := int64(0)
	if checksum {
		trailer = 4
	}
	// Rebuild the index from what an earlier run left, and drop temporary files of writes
	// that never finished.
	err := filepath.WalkDir(base, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if strings.HasPrefix(d.Name(), ".tmp-") {
			_ = os.Remove(path)
			return nil
		}
		k, ok := parseChunkFileName(d.Name())
		if !ok {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil // removed under us
		}
		if size := info.Size() - trailer; size >= 0 {
			l.index.put(k, size)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("scan base_path: %w", err)
	}
	return l, nil
}

func (l *fileLayout) path(k Key) string {
	return filepath.Join(l.base, chunkDirName(k), chunkFileName(k))
}

func (l *fileLayout) ensureDir(k Key) (string, error) {
	d := chunkDirName(k)
	full := filepath.Join(l.base, d)
	if _, ok := l.dirs.Load(d); ok {
		return full, nil
	}
	if err := os.MkdirAll(full, 0o755); err != nil {
		return "", err
	}
	l.dirs.Store(d, struct{}{})
	return full, nil
}

func (l *fileLayout) noteError(err error) {
	l.mu.Lock()
	l.ioErrors++
	l.lastError = err.Error()
	l.mu.Unlock()
}

// corrupt handles a checksum mismatch: the file is removed and the key served as a miss.
func (l *fileLayout) corrupt(k Key) {
	_ = os.Remove(l.path(k))
	l.index.remove(k.ID())
	l.mu.Lock()
	l.checksumFailures++
	l.mu.Unlock()
}

func (l *fileLayout) lookupAndLock(keys []Key) Bitmap {
	found := NewBitmap(len(keys))
	for i, k := range keys {
		if _, err := os.Stat(l.path(k)); err == nil {
			l.locks.lock(k.ID())
			found.Set(i)
		}
	}
	return found
}

func (l *fileLayout) unlock(keys []Key) { l.locks.unlockKeys(keys) }

func (l *fileLayout) delete(keys []Key) error {
	var errs []error
	for _, k := range keys {
		if err := os.Remove(l.path(k)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
		l.index.remove(k.ID())
	}
	return errors.Join(errs...)
}

func (l *fileLayout) status(typ string) map[string]any {
	_, err := os.Stat(l.base)
	l.mu.Lock()
	defer l.mu.Unlock()
	checksum := "none"
	if l.checksum {
		checksum = "crc32"
	}
	st := map[string]any{
		"is_healthy":        err == nil,
		"type":              typ,
		"base_path":         l.base,
		"checksum":          checksum,
		"files":             l.index.count(),
		"checksum_failures": l.checksumFailures,
		"io_errors":         l.ioErrors,
	}
	if l.lastError != "" {
		st["last_error"] = l.lastError
	}
	return st
}

// encode returns obj followed by its checksum when checksums are on.
func (l *fileLayout) encode(obj []byte) []byte {
	if !l.checksum {
		return obj
	}
	out := make([]byte, len(obj)+4)
	copy(out, obj)
	binary.BigEndian.PutUint32(out[len(obj):], crc32.ChecksumIEEE(obj))
	return out
}

// writeFile writes data to a temporary file next to the key's file and renames it in.
func (l *fileLayout) writeFile(k Key, data []byte) error {
	dir, err := l.ensureDir(k)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(f.Name())
		return err
	}
	if err := os.Rename(f.Name(), l.path(k)); err != nil {
		_ = os.Remove(f.Name())
		return err
	}
	return nil
}

var fsType = AdapterType{
	Name: "fs",
	Doc:  "One file per key under base_path, written to a temporary file and renamed into place; reads a whole file per key, one key after another.",
	Fields: []FieldDoc{
		{Name: "base_path", Type: "string", Doc: "folder of the chunk files (created if missing)"},
		{Name: "checksum", Type: `"crc32" or "none"`, Default: `"none"`, Doc: "append a CRC-32 (IEEE) to each file; a mismatch at load is a miss and the file is removed"},
	},
	Parse: func(s *Spec) (Config, error) {
		base, err := s.String("base_path", "", true)
		if err != nil {
			return nil, err
		}
		sum, err := parseChecksum(s)
		if err != nil {
			return nil, err
		}
		return FSConfig{BasePath: base, Checksum: sum}, nil
	},
}

func parseChecksum(s *Spec) (bool, error) {
	v, ok := s.Raw("checksum")
	if !ok {
		return false, nil
	}
	switch v {
	case "crc32":
		return true, nil
	case "none":
		return false, nil
	}
	return false, s.Errorf("checksum", `expected "crc32" or "none", got %s`, render(v))
}

// FSConfig configures the fs adapter (type "fs").
type FSConfig struct {
	BasePath string
	Checksum bool // CRC-32 (IEEE) trailer per file
}

// Type implements Config.
func (FSConfig) Type() string { return "fs" }

// Open implements Config.
func (c FSConfig) Open(context.Context, Env) (Adapter, error) {
	l, err := openFileLayout(c.BasePath, c.Checksum)
	if err != nil {
		return nil, fmt.Errorf("fs %s: %w", c.BasePath, err)
	}
	return &FS{l: l}, nil
}

// FS is the plain file adapter: simple and sequential.
type FS struct {
	l *fileLayout
}

// Name implements Adapter.
func (a *FS) Name() string { return "FSL2Adapter" }

// Store implements Adapter.
func (a *FS) Store(ctx context.Context, keys []Key, objects [][]byte) error {
	if err := checkBatch("fs store", len(keys), len(objects)); err != nil {
		return err
	}
	var errs []error
	for i, k := range keys {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := a.l.writeFile(k, a.l.encode(objects[i])); err != nil {
			a.l.noteError(err)
			errs = append(errs, fmt.Errorf("fs store %s: %w", k.ID(), err))
			continue
		}
		a.l.index.put(k, int64(len(objects[i])))
	}
	return errors.Join(errs...)
}

// LookupAndLock implements Adapter.
func (a *FS) LookupAndLock(_ context.Context, keys []Key) (Bitmap, error) {
	return a.l.lookupAndLock(keys), nil
}

// Unlock implements Adapter.
func (a *FS) Unlock(_ context.Context, keys []Key) { a.l.unlock(keys) }

// Load implements Adapter: it reads each whole file, checks it, and copies the payload.
func (a *FS) Load(ctx context.Context, keys []Key, bufs [][]byte) (Bitmap, error) {
	if err := checkBatch("fs load", len(keys), len(bufs)); err != nil {
		return Bitmap{}, err
	}
	got := NewBitmap(len(keys))
	for i, k := range keys {
		if err := ctx.Err(); err != nil {
			return got, err
		}
		data, err := os.ReadFile(a.l.path(k))
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				a.l.noteError(err)
			}
			continue
		}
		if a.l.checksum {
			if len(data) < 4 || crc32.ChecksumIEEE(data[:len(data)-4]) != binary.BigEndian.Uint32(data[len(data)-4:]) {
				a.l.corrupt(k)
				continue
			}
			data = data[:len(data)-4]
		}
		if len(data) > cap(bufs[i]) {
			continue
		}
		bufs[i] = bufs[i][:len(data)]
		copy(bufs[i], data)
		got.Set(i)
	}
	return got, nil
}

// Delete implements Adapter.
func (a *FS) Delete(_ context.Context, keys []Key) error { return a.l.delete(keys) }

// Usage implements Adapter.
func (a *FS) Usage(context.Context) (Usage, error) { return a.l.index.usage(), nil }

// Status implements Adapter.
func (a *FS) Status(context.Context) map[string]any { return a.l.status("fs") }

// LockedKeys implements LockInspector.
func (a *FS) LockedKeys() []string { return a.l.locks.keys() }

// Close implements Adapter.
func (a *FS) Close() error { return nil }
