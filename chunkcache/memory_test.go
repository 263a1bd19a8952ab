package chunkcache

import (
	"bytes"
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

// A stale Unlock must not release another caller's lock. Caller A locks k; k is deleted and
// stored again; caller B locks the new k; A's late Unlock arrives. B still holds a lock, so
// the new k must survive memory pressure until B unlocks it.
func TestMemoryStaleUnlockAfterDeleteAndRestore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := NewMemory(200)
	keys := testKeys(4, "")
	k := keys[:1]
	if err := m.Store(ctx, k, testPayloads(1, 100)); err != nil {
		t.Fatal(err)
	}
	if f, _ := m.LookupAndLock(ctx, k); f.String() != "1" { // caller A
		t.Fatal("A: lock k")
	}
	if err := m.Delete(ctx, k); err != nil {
		t.Fatal(err)
	}
	if f, _ := m.LookupAndLock(ctx, k); f.String() != "0" {
		t.Fatal("k found after delete")
	}
	// The deleted k's lock is still outstanding (A has not unlocked), so it is reported.
	if got := m.LockedKeys(); !slices.Equal(got, []string{k[0].ID()}) {
		t.Fatalf("locked after delete = %v, want A's lock on k", got)
	}
	if u, _ := m.Usage(ctx); u.UsedBytes != 0 {
		t.Fatalf("usage after delete = %+v, want the data gone", u)
	}
	second := [][]byte{testPayload(7, 100)}
	if err := m.Store(ctx, k, second); err != nil {
		t.Fatal(err)
	}
	if f, _ := m.LookupAndLock(ctx, k); f.String() != "1" { // caller B
		t.Fatal("B: lock the re-stored k")
	}
	m.Unlock(ctx, k) // A's late unlock
	// Fill memory: k is the least recently used entry, but B holds it.
	if err := m.Store(ctx, keys[1:2], testPayloads(1, 100)); err != nil {
		t.Fatal(err)
	}
	if err := m.Store(ctx, keys[2:3], testPayloads(1, 100)); err != nil {
		t.Fatal(err)
	}
	b := buffers(1, 100)
	if got, _ := m.Load(ctx, k, b); got.String() != "1" || !bytes.Equal(b[0], second[0]) {
		t.Fatalf("B's load of k after A's stale unlock = %s; k was evicted while B held it", got)
	}
	if got := m.LockedKeys(); !slices.Equal(got, []string{k[0].ID()}) {
		t.Fatalf("locked = %v, want B's lock on k", got)
	}
	m.Unlock(ctx, k) // B
	requireNoLocks(t, m)
	// Now k is unlocked and evictable: storing key 3 evicts the LRU entry.
	if err := m.Store(ctx, keys[3:], testPayloads(1, 100)); err != nil {
		t.Fatal(err)
	}
	found, _ := m.LookupAndLock(ctx, keys)
	m.Unlock(ctx, found.positionsKeys(keys))
	if found.Count() != 2 || !found.Test(3) {
		t.Fatalf("present after B unlocked and key 3 was stored = %s, want 2 entries including key 3", found)
	}
	requireNoLocks(t, m)
}

// Delete of a locked key and an Unlock before any re-Store leave no lock behind, and a
// later Store of the key starts unlocked.
func TestMemoryUnlockAfterDelete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := NewMemory(100)
	keys := testKeys(2, "")
	_ = m.Store(ctx, keys[:1], testPayloads(1, 100))
	_, _ = m.LookupAndLock(ctx, keys[:1])
	_, _ = m.LookupAndLock(ctx, keys[:1])
	_ = m.Delete(ctx, keys[:1])
	m.Unlock(ctx, keys[:1])
	m.Unlock(ctx, keys[:1])
	m.Unlock(ctx, keys[:1]) // one too many: harmless
	requireNoLocks(t, m)
	_ = m.Store(ctx, keys[:1], testPayloads(1, 100))
	// Unlocked, so a store that needs the space evicts it.
	if err := m.Store(ctx, keys[1:], testPayloads(1, 100)); err != nil {
		t.Fatalf("store evicting the re-stored, unlocked key: %v", err)
	}
	found, _ := m.LookupAndLock(ctx, keys)
	m.Unlock(ctx, found.positionsKeys(keys))
	if found.String() != "01" {
		t.Fatalf("present = %s, want 01", found)
	}
}
