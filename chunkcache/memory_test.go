package chunkcache

import (
	"context"
	"errors"
	"slices"
	"testing"
)

func TestMemoryLRUEviction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := NewMemory(300)
	keys := testKeys(4, "")
	if err := m.Store(ctx, keys[:3], testPayloads(3, 100)); err != nil {
		t.Fatal(err)
	}
	// Touch key 0 so key 1 is the least recently used.
	if got, _ := m.Load(ctx, keys[:1], buffers(1, 100)); got.Count() != 1 {
		t.Fatal("load key 0")
	}
	if err := m.Store(ctx, keys[3:], testPayloads(1, 100)); err != nil {
		t.Fatal(err)
	}
	found, _ := m.LookupAndLock(ctx, keys)
	m.Unlock(ctx, keys)
	if found.String() != "1011" {
		t.Fatalf("after eviction present = %s, want 1011 (key 1 evicted)", found)
	}
}

func TestMemoryNeverEvictsLockedKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := NewMemory(200)
	keys := testKeys(4, "")
	_ = m.Store(ctx, keys[:2], testPayloads(2, 100))
	// Lock key 0, then make key 1 the most recent: key 0 is the LRU but locked.
	if f, _ := m.LookupAndLock(ctx, keys[:1]); f.Count() != 1 {
		t.Fatal("lock key 0")
	}
	_, _ = m.Load(ctx, keys[1:2], buffers(1, 100))
	if err := m.Store(ctx, keys[2:3], testPayloads(1, 100)); err != nil {
		t.Fatal(err)
	}
	if got := m.LockedKeys(); !slices.Equal(got, []string{keys[0].ID()}) {
		t.Fatalf("locked = %v", got)
	}
	found, _ := m.LookupAndLock(ctx, keys[:3])
	m.Unlock(ctx, found.positionsKeys(keys[:3]))
	if found.String() != "101" {
		t.Fatalf("present = %s, want 101: the unlocked key 1 goes, the locked key 0 stays", found)
	}
	// Lock both resident keys: nothing can be evicted, so a store fails with ErrNoSpace.
	f2, _ := m.LookupAndLock(ctx, keys[2:3])
	if err := m.Store(ctx, keys[3:], testPayloads(1, 100)); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("store with every entry locked: %v, want ErrNoSpace", err)
	}
	if err := m.Store(ctx, keys[3:], [][]byte{make([]byte, 201)}); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("store larger than capacity: %v, want ErrNoSpace", err)
	}
	m.Unlock(ctx, keys[:1])
	m.Unlock(ctx, f2.positionsKeys(keys[2:3]))
	requireNoLocks(t, m)
	u, _ := m.Usage(ctx)
	if u.UsedBytes != 200 || u.CapacityBytes != 200 {
		t.Fatalf("usage %+v", u)
	}
}
