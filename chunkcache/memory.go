package chunkcache

import (
	"container/list"
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"sync"
)

// DefaultMemoryCapacityBytes is the memory adapter's capacity when the spec gives none.
const DefaultMemoryCapacityBytes = 1 << 30

var memoryType = AdapterType{
	Name: "memory",
	Doc:  "Bounded in-process store; least recently used entries are evicted first, but a locked entry is never evicted.",
	Fields: []FieldDoc{
		{Name: "capacity_bytes", Type: "integer ≥ 1", Default: "1073741824 (1 GiB)", Doc: "bytes of payload kept before eviction"},
	},
	Parse: func(s *Spec) (Config, error) {
		c, err := s.Int("capacity_bytes", DefaultMemoryCapacityBytes, 1, math.MaxInt64)
		if err != nil {
			return nil, err
		}
		return MemoryConfig{CapacityBytes: c}, nil
	},
}

// MemoryConfig configures the memory adapter (type "memory").
type MemoryConfig struct {
	CapacityBytes int64
}

// Type implements Config.
func (MemoryConfig) Type() string { return "memory" }

// Open implements Config.
func (c MemoryConfig) Open(context.Context, Env) (Adapter, error) {
	return NewMemory(c.CapacityBytes), nil
}

// Memory is the bounded in-process adapter. Eviction is LRU over unlocked entries: a store
// that does not fit evicts the least recently used unlocked entries until it does, and fails
// with ErrNoSpace when only locked entries remain.
//
// Locks are counted per key, not per stored entry: the count of a key is the number of
// LookupAndLock bits set for it and not yet released by Unlock, whatever happened to the
// entry in between. Delete of a locked key drops its data at once but keeps its count
// (locks is keyed by key ID, not by entry), and a later Store of the same key is held by
// that count. An Unlock that arrives after a Delete and a re-Store therefore can never
// release a lock that another caller took on the new entry: the new entry stays locked
// until every outstanding lock on the key, old or new, has been released. (Unlock names
// only keys, so it cannot tell which caller's lock it releases; counting per key is the
// sound choice.)
type Memory struct {
	mu       sync.Mutex
	capacity int64
	used     int64
	perSalt  map[string]int64
	entries  map[string]*list.Element // of *memEntry
	lru      *list.List               // front = most recently used
	closed   bool
	evicted  int64
	// locks counts the outstanding locks per key ID, whether or not the key is stored;
	// a key is present only while its count is positive.
	locks map[string]int
}

type memEntry struct {
	id   string
	salt string
	data []byte
}

// NewMemory returns a memory adapter holding at most capacityBytes of payload.
func NewMemory(capacityBytes int64) *Memory {
	return &Memory{capacity: capacityBytes, perSalt: map[string]int64{}, entries: map[string]*list.Element{}, lru: list.New(), locks: map[string]int{}}
}

// Name implements Adapter.
func (m *Memory) Name() string { return "MemoryL2Adapter" }

// Store implements Adapter.
func (m *Memory) Store(_ context.Context, keys []Key, objects [][]byte) error {
	if err := checkBatch("memory store", len(keys), len(objects)); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	failed := 0
	for i, k := range keys {
		if !m.storeLocked(k, objects[i]) {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("memory store: %d of %d keys did not fit in %d bytes: %w", failed, len(keys), m.capacity, ErrNoSpace)
	}
	return nil
}

func (m *Memory) storeLocked(k Key, obj []byte) bool {
	id := k.ID()
	size := int64(len(obj))
	if el, ok := m.entries[id]; ok {
		if m.locks[id] > 0 {
			// A locked entry may be being loaded; same key means same content, keep it.
			m.lru.MoveToFront(el)
			return true
		}
		m.removeLocked(el)
	}
	if size > m.capacity {
		return false
	}
	for m.used+size > m.capacity {
		victim := m.lru.Back()
		for victim != nil && m.locks[victim.Value.(*memEntry).id] > 0 {
			victim = victim.Prev()
		}
		if victim == nil {
			return false
		}
		m.removeLocked(victim)
		m.evicted++
	}
	// Locks taken on a deleted generation of this key still count (see Memory).
	e := &memEntry{id: id, salt: k.CacheSalt, data: append([]byte(nil), obj...)}
	m.entries[id] = m.lru.PushFront(e)
	m.used += size
	m.perSalt[k.CacheSalt] += size
	return true
}

func (m *Memory) removeLocked(el *list.Element) {
	e := el.Value.(*memEntry)
	m.lru.Remove(el)
	delete(m.entries, e.id)
	m.used -= int64(len(e.data))
	m.perSalt[e.salt] -= int64(len(e.data))
	if m.perSalt[e.salt] == 0 {
		delete(m.perSalt, e.salt)
	}
}

// LookupAndLock implements Adapter.
func (m *Memory) LookupAndLock(_ context.Context, keys []Key) (Bitmap, error) {
	found := NewBitmap(len(keys))
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return Bitmap{}, ErrClosed
	}
	var idBuf [128]byte
	for i, k := range keys {
		if el, ok := m.entries[string(k.AppendID(idBuf[:0]))]; ok {
			m.locks[el.Value.(*memEntry).id]++
			m.lru.MoveToFront(el)
			found.Set(i)
		}
	}
	return found, nil
}

// Unlock implements Adapter.
func (m *Memory) Unlock(_ context.Context, keys []Key) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var idBuf [128]byte
	for _, k := range keys {
		id := k.AppendID(idBuf[:0])
		switch n := m.locks[string(id)]; {
		case n > 1:
			m.locks[string(id)] = n - 1
		case n == 1:
			delete(m.locks, string(id))
		}
	}
}

// Load implements Adapter.
func (m *Memory) Load(_ context.Context, keys []Key, bufs [][]byte) (Bitmap, error) {
	if err := checkBatch("memory load", len(keys), len(bufs)); err != nil {
		return Bitmap{}, err
	}
	got := NewBitmap(len(keys))
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return Bitmap{}, ErrClosed
	}
	var idBuf [128]byte
	for i, k := range keys {
		el, ok := m.entries[string(k.AppendID(idBuf[:0]))]
		if !ok {
			continue
		}
		e := el.Value.(*memEntry)
		if len(e.data) > cap(bufs[i]) {
			continue
		}
		bufs[i] = bufs[i][:len(e.data)]
		copy(bufs[i], e.data)
		m.lru.MoveToFront(el)
		got.Set(i)
	}
	return got, nil
}

// Delete implements Adapter. A locked key is deleted too (the lock only guards eviction):
// its data goes at once, but its outstanding locks are kept, per key, and so hold the next
// Store of the key, so late Unlocks release exactly those (see Memory).
func (m *Memory) Delete(_ context.Context, keys []Key) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	for _, k := range keys {
		if el, ok := m.entries[k.ID()]; ok {
			m.removeLocked(el)
		}
	}
	return nil
}

// Usage implements Adapter.
func (m *Memory) Usage(context.Context) (Usage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return Usage{UsedBytes: m.used, CapacityBytes: m.capacity, BytesPerSalt: copySaltBytes(m.perSalt)}, nil
}

// Status implements Adapter.
func (m *Memory) Status(context.Context) map[string]any {
	m.mu.Lock()
	defer m.mu.Unlock()
	return map[string]any{
		"is_healthy":     !m.closed,
		"type":           "memory",
		"entries":        len(m.entries),
		"used_bytes":     m.used,
		"capacity_bytes": m.capacity,
		"evictions":      m.evicted,
	}
}

// LockedKeys implements LockInspector.
func (m *Memory) LockedKeys() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(maps.Keys(m.locks))
}

// Close implements Adapter; it drops the data.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	m.entries = map[string]*list.Element{}
	m.lru.Init()
	m.used = 0
	m.perSalt = map[string]int64{}
	clear(m.locks)
	return nil
}
