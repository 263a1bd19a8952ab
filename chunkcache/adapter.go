package chunkcache

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
)

// Adapter is one L2 storage tier. Every method is synchronous and safe for concurrent use.
// Results that are per key come back as a Bitmap whose bit i describes keys[i].
type Adapter interface {
	// Name is the adapter's implementation name (for example "FSNativeL2Adapter"), used in
	// logs such as the fault_inject start-up line.
	Name() string
	// Store writes objects[i] under keys[i]. The result is coarse: nil when every key was
	// stored, an error otherwise (some keys may have been stored).
	Store(ctx context.Context, keys []Key, objects [][]byte) error
	// LookupAndLock reports which keys are present and locks each present key against
	// eviction; every set bit must later be released by exactly one Unlock of that key.
	// On error nothing stays locked.
	LookupAndLock(ctx context.Context, keys []Key) (Bitmap, error)
	// Unlock releases one lock on each key. The caller never retries, so the adapter must
	// not fail; unlocking a key that is not locked does nothing.
	Unlock(ctx context.Context, keys []Key)
	// Load copies each present key's bytes into bufs[i] and reslices bufs[i] to the
	// object's length. A key whose object is longer than cap(bufs[i]) fails. Success is
	// not guaranteed even for locked keys.
	Load(ctx context.Context, keys []Key, bufs [][]byte) (Bitmap, error)
	// Delete removes the keys; missing keys are ignored.
	Delete(ctx context.Context, keys []Key) error
	// Usage reports bytes used, capacity and bytes per cache salt.
	Usage(ctx context.Context) (Usage, error)
	// Status returns a JSON-encodable object with at least "is_healthy": bool.
	Status(ctx context.Context) map[string]any
	// Close releases the adapter's resources; it does not delete stored data.
	Close() error
}

// LockInspector is implemented by adapters that can list the keys they hold locked; tests
// and the server's status use it to prove that no lock leaks.
type LockInspector interface {
	// LockedKeys returns the IDs (Key.ID) of the keys locked right now, sorted.
	LockedKeys() []string
}

// Usage is an adapter's space accounting.
type Usage struct {
	UsedBytes     int64            `json:"used_bytes"`
	CapacityBytes int64            `json:"capacity_bytes"` // 0 means unbounded
	BytesPerSalt  map[string]int64 `json:"bytes_per_salt"`
}

// Errors that callers test with errors.Is.
var (
	// ErrNoSpace: a store did not fit, even after evicting every unlocked key.
	ErrNoSpace = errors.New("chunkcache: no space left")
	// ErrClosed: the adapter was closed.
	ErrClosed = errors.New("chunkcache: adapter closed")
	// ErrBatch: keys and objects (or buffers) have different lengths.
	ErrBatch = errors.New("chunkcache: batch lengths differ")
	// ErrChunkTooLarge: a payload passed the cache's chunk limit (CacheConfig.MaxChunkBytes).
	ErrChunkTooLarge = errors.New("chunkcache: chunk too large")
)

func checkBatch(op string, nkeys, nobjs int) error {
	if nkeys != nobjs {
		return fmt.Errorf("%s: %d keys but %d buffers: %w", op, nkeys, nobjs, ErrBatch)
	}
	return nil
}

// lockTable counts locks per key ID for adapters whose storage has no lock of its own.
type lockTable struct {
	mu    sync.Mutex
	count map[string]int
}

func (t *lockTable) lock(id string) {
	t.mu.Lock()
	if t.count == nil {
		t.count = make(map[string]int)
	}
	t.count[id]++
	t.mu.Unlock()
}

// unlockKeys releases one lock on each of keys, taking the mutex once.
func (t *lockTable) unlockKeys(keys []Key) {
	var idBuf [160]byte
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		id := k.AppendID(idBuf[:0])
		if c := t.count[string(id)]; c > 1 {
			t.count[string(id)] = c - 1
		} else {
			delete(t.count, string(id))
		}
	}
}

func (t *lockTable) keys() []string {
	t.mu.Lock()
	out := make([]string, 0, len(t.count))
	for id := range t.count {
		out = append(out, id)
	}
	t.mu.Unlock()
	sort.Strings(out)
	return out
}

// copySaltBytes is a copy of a per-salt byte map.
func copySaltBytes(m map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}
