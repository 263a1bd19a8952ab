package chunkcache

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFileChecksumMismatchIsMissAndRemoves(t *testing.T) {
	t.Parallel()
	for _, typ := range []string{"fs", "fs_native"} {
		t.Run(typ, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dir := t.TempDir()
			a := openSpec(t, fmt.Sprintf(`{"type":%q,"base_path":%q,"checksum":"crc32"}`, typ, dir))
			keys := testKeys(3, "s")
			payloads := testPayloads(3, 500)
			if err := a.Store(ctx, keys, payloads); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, chunkDirName(keys[1]), chunkFileName(keys[1]))
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if len(data) != 504 {
				t.Fatalf("file of %d bytes, want payload + 4-byte checksum", len(data))
			}
			// The trailer is the big-endian CRC-32 (IEEE, zlib's) of the payload.
			if got, want := binary.BigEndian.Uint32(data[500:]), crc32.ChecksumIEEE(payloads[1]); got != want {
				t.Fatalf("checksum trailer %08x, want IEEE CRC-32 %08x", got, want)
			}
			data[10] ^= 0xff
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			found, _ := a.LookupAndLock(ctx, keys)
			bufs := buffers(3, 500)
			got, err := a.Load(ctx, keys, bufs)
			a.Unlock(ctx, found.positionsKeys(keys))
			if err != nil || got.String() != "101" {
				t.Fatalf("load with a corrupt key 1 = %s, %v; want 101", got, err)
			}
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Fatalf("corrupt file still there: %v", err)
			}
			if st := a.Status(ctx); st["checksum_failures"] != int64(1) {
				t.Fatalf("status %v; want checksum_failures 1", st)
			}
			if u, _ := a.Usage(ctx); u.UsedBytes != 1000 {
				t.Fatalf("usage after removal %+v", u)
			}
			requireNoLocks(t, a)
		})
	}
}

// fs and fs_native share one layout: each reads what the other wrote, and a reopened
// adapter finds the files (and their usage) of an earlier run.
func TestFileLayoutShared(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	keys := testKeys(4, "salt")
	keys[3].Model = "a_b/c" // needs escaping in a file name
	payloads := testPayloads(4, 777)
	w := openSpec(t, fmt.Sprintf(`{"type":"fs","base_path":%q,"checksum":"crc32"}`, dir))
	if err := w.Store(ctx, keys, payloads); err != nil {
		t.Fatal(err)
	}
	// A temporary file left by a crashed writer is cleaned up at open.
	stale := filepath.Join(dir, chunkDirName(keys[0]), ".tmp-stale")
	if err := os.WriteFile(stale, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := openSpec(t, fmt.Sprintf(`{"type":"fs_native","base_path":%q,"checksum":"crc32","num_workers":3}`, dir))
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatal("stale temporary file survived open")
	}
	u, _ := r.Usage(ctx)
	if u.UsedBytes != 4*777 || u.BytesPerSalt["salt"] != 4*777 {
		t.Fatalf("reopened usage %+v", u)
	}
	bufs := buffers(4, 777)
	got, err := r.Load(ctx, keys, bufs)
	if err != nil || got.Count() != 4 {
		t.Fatalf("fs_native reading fs files: %s %v", got, err)
	}
	for i := range keys {
		if !bytes.Equal(bufs[i], payloads[i]) {
			t.Fatalf("key %d differs", i)
		}
	}
	// And the other way round.
	k := testKey(50, "salt")
	if err := r.Store(ctx, []Key{k}, [][]byte{[]byte("native")}); err != nil {
		t.Fatal(err)
	}
	b := buffers(1, 10)
	if got, _ := w.Load(ctx, []Key{k}, b); got.Count() != 1 || string(b[0]) != "native" {
		t.Fatalf("fs reading an fs_native file: %s %q", got, b[0])
	}
	name := chunkFileName(keys[3])
	if strings.ContainsAny(name, "/") {
		t.Fatalf("file name %q has a separator", name)
	}
	if back, ok := parseChunkFileName(name); !ok || back.ID() != keys[3].ID() {
		t.Fatalf("file name round trip: %v %v", back, ok)
	}
}

func TestFSNativeODirectOnShm(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/dev/shm"); err != nil {
		t.Skip("no /dev/shm on this machine")
	}
	dir, err := os.MkdirTemp("/dev/shm", "chunkcache-odirect-")
	if err != nil {
		t.Skip("cannot write /dev/shm:", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	ctx := context.Background()
	a := openSpec(t, fmt.Sprintf(`{"type":"fs_native","base_path":%q,"use_odirect":true}`, dir))
	keys := testKeys(3, "")
	payloads := [][]byte{testPayload(0, 1), testPayload(1, 4096), testPayload(2, 10000)}
	if err := a.Store(ctx, keys, payloads); err != nil {
		t.Fatal(err)
	}
	bufs := buffers(3, 10000)
	got, err := a.Load(ctx, keys, bufs)
	if err != nil || got.Count() != 3 {
		t.Fatalf("load %s %v", got, err)
	}
	for i := range keys {
		if !bytes.Equal(bufs[i], payloads[i]) {
			t.Fatalf("key %d: %d bytes differ (status %v)", i, len(bufs[i]), a.Status(ctx))
		}
	}
	st := a.Status(ctx)
	t.Logf("odirect_active=%v", st["odirect_active"])
	if st["odirect_active"] != true && st["odirect_refused"] != true {
		t.Fatalf("status %v says neither active nor refused", st)
	}
}
