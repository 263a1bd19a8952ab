package chunkcache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
)

// contractCase opens a fresh adapter of one type.
type contractCase struct {
	name string
	spec func(t *testing.T) string
}

func contractCases() []contractCase {
	dir := func(t *testing.T) string { return t.TempDir() }
	return []contractCase{
		{"memory", func(*testing.T) string { return `{"type":"memory","capacity_bytes":1048576}` }},
		{"fs", func(t *testing.T) string { return fmt.Sprintf(`{"type":"fs","base_path":%q}`, dir(t)) }},
		{"fs_crc32", func(t *testing.T) string {
			return fmt.Sprintf(`{"type":"fs","base_path":%q,"checksum":"crc32"}`, dir(t))
		}},
		{"fs_native", func(t *testing.T) string { return fmt.Sprintf(`{"type":"fs_native","base_path":%q}`, dir(t)) }},
		{"fs_native_odirect_crc32", func(t *testing.T) string {
			return fmt.Sprintf(`{"type":"fs_native","base_path":%q,"num_workers":2,"use_odirect":true,"checksum":"crc32"}`, dir(t))
		}},
		{"resp", func(t *testing.T) string { return fmt.Sprintf(`{"type":"resp","url":%q}`, startRedis(t)) }},
		{"fault_inject", func(t *testing.T) string {
			return fmt.Sprintf(`{"type":"fault_inject","inner":{"type":"fs_native","base_path":%q}}`, dir(t))
		}},
	}
}

func openSpec(t *testing.T, spec string) Adapter {
	t.Helper()
	c, err := DefaultRegistry().Parse(1, []byte(spec))
	if err != nil {
		t.Fatalf("parse %s: %v", spec, err)
	}
	a, err := c.Open(context.Background(), Env{})
	if err != nil {
		t.Fatalf("open %s: %v", spec, err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}

// TestAdapterContract runs the same contract against every adapter type.
func TestAdapterContract(t *testing.T) {
	t.Parallel()
	for _, tc := range contractCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := openSpec(t, tc.spec(t))
			ctx := context.Background()
			const n, size = 6, 3000
			keys := testKeys(n, "tenant-a")
			payloads := testPayloads(n, size)

			t.Run("empty", func(t *testing.T) {
				found, err := a.LookupAndLock(ctx, keys)
				if err != nil || found.Count() != 0 || found.Len() != n {
					t.Fatalf("lookup on empty adapter = %s, %v; want %d zero bits", found, err, n)
				}
				requireNoLocks(t, a)
			})

			// Store the even keys only.
			var even []Key
			var evenP [][]byte
			for i := 0; i < n; i += 2 {
				even = append(even, keys[i])
				evenP = append(evenP, payloads[i])
			}
			if err := a.Store(ctx, even, evenP); err != nil {
				t.Fatalf("store: %v", err)
			}

			found, err := a.LookupAndLock(ctx, keys)
			if err != nil {
				t.Fatalf("lookup: %v", err)
			}
			if got, want := found.String(), "101010"; got != want {
				t.Fatalf("lookup bitmap = %s, want %s", got, want)
			}
			if li := a.(LockInspector).LockedKeys(); len(li) != 3 {
				t.Fatalf("after lookup of 3 present keys, %d locked: %v", len(li), li)
			}
			bufs := buffers(n, size)
			got, err := a.Load(ctx, keys, bufs)
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			if got.String() != "101010" {
				t.Fatalf("load bitmap = %s, want 101010", got)
			}
			for i := 0; i < n; i += 2 {
				if !bytes.Equal(bufs[i], payloads[i]) {
					t.Fatalf("key %d: loaded %d bytes that differ from the stored %d", i, len(bufs[i]), len(payloads[i]))
				}
			}
			a.Unlock(ctx, found.positionsKeys(keys))
			requireNoLocks(t, a)
			a.Unlock(ctx, keys) // unlocking unlocked keys is harmless
			requireNoLocks(t, a)

			t.Run("short buffer fails the key only", func(t *testing.T) {
				b := [][]byte{make([]byte, 0, size-1), make([]byte, 0, size)}
				got, err := a.Load(ctx, []Key{keys[0], keys[2]}, b)
				if err != nil || got.String() != "01" {
					t.Fatalf("load with a short buffer = %s, %v; want 01", got, err)
				}
				if !bytes.Equal(b[1], payloads[2]) {
					t.Fatal("second key's payload differs")
				}
			})

			t.Run("batch mismatch", func(t *testing.T) {
				if err := a.Store(ctx, keys[:2], payloads[:1]); !errors.Is(err, ErrBatch) {
					t.Fatalf("store with 2 keys, 1 object: err = %v, want ErrBatch", err)
				}
				if _, err := a.Load(ctx, keys[:2], buffers(1, size)); !errors.Is(err, ErrBatch) {
					t.Fatalf("load with 2 keys, 1 buffer: err = %v, want ErrBatch", err)
				}
			})

			t.Run("usage per salt", func(t *testing.T) {
				other := testKey(100, "tenant-b")
				if err := a.Store(ctx, []Key{other}, [][]byte{testPayload(9, 100)}); err != nil {
					t.Fatal(err)
				}
				u, err := a.Usage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if u.BytesPerSalt["tenant-a"] != 3*size || u.BytesPerSalt["tenant-b"] != 100 || u.UsedBytes != 3*size+100 {
					t.Fatalf("usage = %+v; want tenant-a %d, tenant-b 100, total %d", u, 3*size, 3*size+100)
				}
				if err := a.Delete(ctx, []Key{other, testKey(999, "none")}); err != nil {
					t.Fatalf("delete (one missing key): %v", err)
				}
				u, _ = a.Usage(ctx)
				if u.BytesPerSalt["tenant-b"] != 0 || u.UsedBytes != 3*size {
					t.Fatalf("usage after delete = %+v", u)
				}
			})

			t.Run("overwrite", func(t *testing.T) {
				k := testKey(200, "x")
				if err := a.Store(ctx, []Key{k}, [][]byte{[]byte("first")}); err != nil {
					t.Fatal(err)
				}
				if err := a.Store(ctx, []Key{k}, [][]byte{[]byte("second!")}); err != nil {
					t.Fatal(err)
				}
				b := buffers(1, 64)
				if got, _ := a.Load(ctx, []Key{k}, b); got.String() != "1" || string(b[0]) != "second!" {
					t.Fatalf("after overwrite load = %s %q", got, b[0])
				}
				_ = a.Delete(ctx, []Key{k})
			})

			t.Run("delete then miss", func(t *testing.T) {
				if err := a.Delete(ctx, keys[:1]); err != nil {
					t.Fatal(err)
				}
				found, _ := a.LookupAndLock(ctx, keys[:3])
				if found.String() != "001" {
					t.Fatalf("after delete of key 0, lookup = %s, want 001", found)
				}
				a.Unlock(ctx, keys[:3])
				requireNoLocks(t, a)
			})

			t.Run("status", func(t *testing.T) {
				st := a.Status(ctx)
				if h, ok := st["is_healthy"].(bool); !ok || !h {
					t.Fatalf("status = %v; want is_healthy true", st)
				}
			})

			t.Run("concurrent", func(t *testing.T) {
				var wg sync.WaitGroup
				errs := make(chan error, 8)
				for g := range 4 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						ks := testKeys(5, fmt.Sprintf("g%d", g))
						ps := testPayloads(5, 512+g)
						for r := range 5 {
							if err := a.Store(ctx, ks, ps); err != nil {
								errs <- err
								return
							}
							f, err := a.LookupAndLock(ctx, ks)
							if err != nil {
								errs <- err
								return
							}
							b := buffers(5, 1024)
							got, err := a.Load(ctx, ks, b)
							a.Unlock(ctx, ks)
							if err != nil || f.Count() != 5 || got.Count() != 5 {
								errs <- fmt.Errorf("goroutine %d round %d: found %s loaded %s err %v", g, r, f, got, err)
								return
							}
							for i := range ks {
								if !bytes.Equal(b[i], ps[i]) {
									errs <- fmt.Errorf("goroutine %d: key %d payload differs", g, i)
									return
								}
							}
						}
					}()
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Error(err)
				}
				requireNoLocks(t, a)
			})
		})
	}
}

// positionsKeys returns the keys whose bit is set.
func (b Bitmap) positionsKeys(keys []Key) []Key {
	var out []Key
	for _, p := range b.Positions() {
		out = append(out, keys[p])
	}
	return out
}

// When the Redis server dies, the resp adapter reports itself unhealthy, lookups fail
// without leaving locks, and a retrieve degrades to recomputing everything.
func TestRESPServerDown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url, stop := startRedisStoppable(t)
	a := openSpec(t, fmt.Sprintf(`{"type":"resp","url":%q}`, url))
	keys := testKeys(4, "")
	if err := a.Store(ctx, keys, testPayloads(4, 100)); err != nil {
		t.Fatal(err)
	}
	stop()
	if st := a.Status(ctx); st["is_healthy"] != false {
		t.Fatalf("status with the server down = %v; want is_healthy false", st)
	}
	if _, err := a.LookupAndLock(ctx, keys); err == nil {
		t.Fatal("lookup with the server down succeeded")
	}
	requireNoLocks(t, a)
	c := NewCache(CacheConfig{L2: []Adapter{a}})
	res, err := c.Retrieve(ctx, seqTokens(64, 1), 16, Key{}, PolicySegmentedPrefix, false)
	if err != nil || res.RecomputedTokens != 64 {
		t.Fatalf("retrieve with the server down: recomputed %d, %v; want all 64 recomputed", res.RecomputedTokens, err)
	}
	requireNoLocks(t, a)
}

// The redis helper survives the race it is exposed to: the port it picked is taken before
// redis-server binds it. redis exits early on the taken port and the helper retries on a
// fresh one.
func TestStartRedisRetriesTakenPort(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	takenPort := taken.Addr().(*net.TCPAddr).Port
	var picks []int
	url, _ := startRedisOnPorts(t, func() (int, error) {
		if len(picks) == 0 {
			picks = append(picks, takenPort)
			return takenPort, nil
		}
		p, err := freePort()
		picks = append(picks, p)
		return p, err
	})
	if len(picks) != 2 || url != fmt.Sprintf("redis://127.0.0.1:%d/0", picks[1]) {
		t.Fatalf("picks %v, url %s; want a retry on a second port after the taken %d", picks, url, takenPort)
	}
	a := openSpec(t, fmt.Sprintf(`{"type":"resp","url":%q}`, url))
	if st := a.Status(context.Background()); st["is_healthy"] != true {
		t.Fatalf("status of the retried server = %v", st)
	}
}
