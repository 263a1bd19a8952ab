package chunkcache

import (
	"context"
	"fmt"
	"os"
	"testing"
)

const (
	benchChunks     = 8
	benchChunkBytes = 64 << 10
)

// BenchmarkRetrieve measures an in-process retrieve (Cache.Prefetch) of 8 chunks of 64 KiB,
// all present in one L2 adapter, next to a plain copy() of the same bytes (the bandwidth
// ceiling). Run the sub-benchmarks side by side in one run; see notes/BENCHMARKS-chunkcache.md.
func BenchmarkRetrieve(b *testing.B) {
	ctx := context.Background()
	keys := KeysFor(seqTokens(benchChunks*256, 1), 256, Key{Model: "bench"})
	payloads := testPayloads(benchChunks, benchChunkBytes)

	b.Run("copy", func(b *testing.B) {
		dst := buffers(benchChunks, benchChunkBytes)
		b.SetBytes(benchChunks * benchChunkBytes)
		b.ReportAllocs()
		for b.Loop() {
			for i := range dst {
				dst[i] = dst[i][:benchChunkBytes]
				copy(dst[i], payloads[i])
			}
		}
	})

	shm := func(b *testing.B) string {
		dir, err := os.MkdirTemp("/dev/shm", "chunkcache-bench-")
		if err != nil {
			b.Skip("no writable /dev/shm:", err)
		}
		b.Cleanup(func() { _ = os.RemoveAll(dir) })
		return dir
	}
	cases := []struct {
		name string
		spec func(b *testing.B) string
	}{
		{"memory", func(*testing.B) string { return `{"type":"memory"}` }},
		{"fault_inject_passthrough(memory)", func(*testing.B) string {
			return `{"type":"fault_inject","inner":{"type":"memory"}}`
		}},
		// A gap index past the batch: the drop rule runs, nothing drops.
		{"fault_inject_gap_rule(memory)", func(*testing.B) string {
			return `{"type":"fault_inject","inner":{"type":"memory"},"gap_indices":[100],"gap_tail_ratios":[]}`
		}},
		// rate 1e-6: one BLAKE2b per key, and none of these 8 keys drops (checked below).
		{"fault_inject_rate_hash(memory)", func(*testing.B) string {
			return `{"type":"fault_inject","inner":{"type":"memory"},"rate":0.000001,"seed":1}`
		}},
		{"fs_shm", func(b *testing.B) string { return fmt.Sprintf(`{"type":"fs","base_path":%q}`, shm(b)) }},
		{"fs_native_shm", func(b *testing.B) string { return fmt.Sprintf(`{"type":"fs_native","base_path":%q}`, shm(b)) }},
		{"fault_inject_passthrough(fs_native_shm)", func(b *testing.B) string {
			return fmt.Sprintf(`{"type":"fault_inject","inner":{"type":"fs_native","base_path":%q}}`, shm(b))
		}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			c, err := DefaultRegistry().Parse(1, []byte(tc.spec(b)))
			if err != nil {
				b.Fatal(err)
			}
			a, err := c.Open(ctx, Env{})
			if err != nil {
				b.Fatal(err)
			}
			defer a.Close()
			cache := NewCache(CacheConfig{L2: []Adapter{a}})
			if err := cache.Store(ctx, keys, payloads); err != nil {
				b.Fatal(err)
			}
			bufs := buffers(benchChunks, benchChunkBytes)
			res, err := cache.Prefetch(ctx, keys, bufs, PolicyPrefix)
			if err != nil || res.Kept.Count() != benchChunks {
				b.Fatalf("warm-up retrieve kept %s, %v; want all %d", res.Kept, err, benchChunks)
			}
			b.SetBytes(benchChunks * benchChunkBytes)
			b.ReportAllocs()
			for b.Loop() {
				for i := range bufs {
					bufs[i] = bufs[i][:0]
				}
				if _, err := cache.Prefetch(ctx, keys, bufs, PolicyPrefix); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFaultInjectDecision measures the drop rule alone for one 8-key batch.
func BenchmarkFaultInjectDecision(b *testing.B) {
	keys := KeysFor(seqTokens(benchChunks*256, 1), 256, Key{Model: "bench"})
	f := NewFaultInject(NewMemory(1), 0.1, 7, []int64{3}, []float64{0.5})
	b.ReportAllocs()
	for b.Loop() {
		_ = f.DropBitmap(keys)
	}
}

// BenchmarkFaultInjectOverhead isolates the wrapper: the same lookup, load and unlock of 8
// chunks of 64 KiB on a memory adapter, called directly ("inner") and through a
// pass-through fault_inject ("wrapped") and one that evaluates the gap rule ("wrapped_rule").
func BenchmarkFaultInjectOverhead(b *testing.B) {
	ctx := context.Background()
	keys := KeysFor(seqTokens(benchChunks*256, 1), 256, Key{Model: "bench"})
	m := NewMemory(1 << 30)
	if err := m.Store(ctx, keys, testPayloads(benchChunks, benchChunkBytes)); err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		a    Adapter
	}{
		{"inner", m},
		{"wrapped", NewFaultInject(m, 0, 0, nil, nil)},
		{"wrapped_rule", NewFaultInject(m, 0, 0, []int64{100}, nil)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			bufs := buffers(benchChunks, benchChunkBytes)
			b.SetBytes(benchChunks * benchChunkBytes)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tc.a.LookupAndLock(ctx, keys); err != nil {
					b.Fatal(err)
				}
				got, err := tc.a.Load(ctx, keys, bufs)
				tc.a.Unlock(ctx, keys)
				if err != nil || got.Count() != benchChunks {
					b.Fatalf("loaded %s, %v", got, err)
				}
			}
		})
	}
}
