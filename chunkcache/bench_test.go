package chunkcache

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"
)

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

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
		{"fs_shm", func(b *testing.B) string { return fmt.Sprintf(`{"type":"fs","base_path":%q}`, shmDir(b)) }},
		{"fs_native_shm", func(b *testing.B) string { return fmt.Sprintf(`{"type":"fs_native","base_path":%q}`, shmDir(b)) }},
		{"fault_inject_passthrough(fs_native_shm)", func(b *testing.B) string {
			return fmt.Sprintf(`{"type":"fault_inject","inner":{"type":"fs_native","base_path":%q}}`, shmDir(b))
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

// BenchmarkFaultInjectOverheadPaired measures the wrapper's cost on a shared, noisy machine:
// each iteration runs the same retrieve (lookup, load, unlock of 8 chunks of 64 KiB) once on
// the inner adapter and once through a pass-through fault_inject, alternating which goes
// first, and reports the wrapped time over the inner time as "overhead-%". Interleaving at
// this grain makes both sides see the same load, which separate benchmarks do not.
func BenchmarkFaultInjectOverheadPaired(b *testing.B) {
	ctx := context.Background()
	keys := KeysFor(seqTokens(benchChunks*256, 1), 256, Key{Model: "bench"})
	payloads := testPayloads(benchChunks, benchChunkBytes)
	for _, tc := range []struct {
		name string
		spec func(b *testing.B) string
	}{
		{"memory", func(*testing.B) string { return `{"type":"memory"}` }},
		{"fs_native_shm", func(b *testing.B) string { return fmt.Sprintf(`{"type":"fs_native","base_path":%q}`, shmDir(b)) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			c, err := DefaultRegistry().Parse(1, []byte(tc.spec(b)))
			if err != nil {
				b.Fatal(err)
			}
			inner, err := c.Open(ctx, Env{})
			if err != nil {
				b.Fatal(err)
			}
			defer inner.Close()
			if err := inner.Store(ctx, keys, payloads); err != nil {
				b.Fatal(err)
			}
			wrapped := NewFaultInject(inner, 0, 0, nil, nil)
			bufs := buffers(benchChunks, benchChunkBytes)
			run := func(a Adapter) time.Duration {
				start := time.Now()
				if _, err := a.LookupAndLock(ctx, keys); err != nil {
					b.Fatal(err)
				}
				got, err := a.Load(ctx, keys, bufs)
				a.Unlock(ctx, keys)
				if err != nil || got.Count() != benchChunks {
					b.Fatalf("loaded %s, %v", got, err)
				}
				return time.Since(start)
			}
			var tInner, tWrapped []time.Duration
			i := 0
			for b.Loop() {
				if i%2 == 0 {
					tInner = append(tInner, run(inner))
					tWrapped = append(tWrapped, run(wrapped))
				} else {
					tWrapped = append(tWrapped, run(wrapped))
					tInner = append(tInner, run(inner))
				}
				i++
			}
			// Medians, because a preemption by another process adds milliseconds to
			// whichever side it hits and would dominate a sum.
			mi, mw := median(tInner), median(tWrapped)
			b.ReportMetric(float64(mi.Nanoseconds()), "inner-median-ns")
			b.ReportMetric(float64(mw.Nanoseconds()), "wrapped-median-ns")
			b.ReportMetric(100*(float64(mw)/float64(mi)-1), "overhead-%")
		})
	}
}

// BenchmarkRetrievePaired interleaves two ways of getting the same 8 chunks of 64 KiB and
// reports per-iteration medians, for the same reason as BenchmarkFaultInjectOverheadPaired:
// "memory_vs_copy" sets a full in-process retrieve (Cache.Prefetch on the memory adapter)
// against a plain copy() of the bytes and reports memory's bandwidth as a percentage of
// copy's; "fs_native_vs_fs" sets the two file adapters on /dev/shm side by side and reports
// fs_native's speed-up over fs.
func BenchmarkRetrievePaired(b *testing.B) {
	ctx := context.Background()
	keys := KeysFor(seqTokens(benchChunks*256, 1), 256, Key{Model: "bench"})
	payloads := testPayloads(benchChunks, benchChunkBytes)
	openCache := func(b *testing.B, spec string) *Cache {
		c, err := DefaultRegistry().Parse(1, []byte(spec))
		if err != nil {
			b.Fatal(err)
		}
		a, err := c.Open(ctx, Env{})
		if err != nil {
			b.Fatal(err)
		}
		cache := NewCache(CacheConfig{L2: []Adapter{a}})
		b.Cleanup(func() { _ = cache.Close() })
		if err := cache.Store(ctx, keys, payloads); err != nil {
			b.Fatal(err)
		}
		return cache
	}
	retrieve := func(b *testing.B, c *Cache, bufs [][]byte) func() {
		return func() {
			for i := range bufs {
				bufs[i] = bufs[i][:0]
			}
			res, err := c.Prefetch(ctx, keys, bufs, PolicyPrefix)
			if err != nil || res.Kept.Count() != benchChunks {
				b.Fatalf("kept %s, %v", res.Kept, err)
			}
		}
	}
	paired := func(b *testing.B, first, second func()) (time.Duration, time.Duration) {
		var t1, t2 []time.Duration
		timed := func(f func()) time.Duration { s := time.Now(); f(); return time.Since(s) }
		i := 0
		for b.Loop() {
			if i%2 == 0 {
				t1 = append(t1, timed(first))
				t2 = append(t2, timed(second))
			} else {
				t2 = append(t2, timed(second))
				t1 = append(t1, timed(first))
			}
			i++
		}
		return median(t1), median(t2)
	}
	b.Run("memory_vs_copy", func(b *testing.B) {
		mem := openCache(b, `{"type":"memory"}`)
		dst := buffers(benchChunks, benchChunkBytes)
		copyAll := func() {
			for i := range dst {
				dst[i] = dst[i][:benchChunkBytes]
				copy(dst[i], payloads[i])
			}
		}
		tc, tm := paired(b, copyAll, retrieve(b, mem, buffers(benchChunks, benchChunkBytes)))
		b.ReportMetric(float64(tc.Nanoseconds()), "copy-median-ns")
		b.ReportMetric(float64(tm.Nanoseconds()), "memory-median-ns")
		b.ReportMetric(100*float64(tc)/float64(tm), "memory-bw-%-of-copy")
	})
	b.Run("fs_native_vs_fs", func(b *testing.B) {
		dir := shmDir(b)
		fsC := openCache(b, fmt.Sprintf(`{"type":"fs","base_path":%q}`, dir+"/fs"))
		nativeC := openCache(b, fmt.Sprintf(`{"type":"fs_native","base_path":%q}`, dir+"/native"))
		tf, tn := paired(b, retrieve(b, fsC, buffers(benchChunks, benchChunkBytes)), retrieve(b, nativeC, buffers(benchChunks, benchChunkBytes)))
		b.ReportMetric(float64(tf.Nanoseconds()), "fs-median-ns")
		b.ReportMetric(float64(tn.Nanoseconds()), "fs_native-median-ns")
		b.ReportMetric(float64(tf)/float64(tn), "fs_native-speedup-x")
	})
}

// shmDir returns a fresh directory under /dev/shm, removed when b ends; b is skipped when
// /dev/shm is not writable.
func shmDir(b *testing.B) string {
	dir, err := os.MkdirTemp("/dev/shm", "chunkcache-bench-")
	if err != nil {
		b.Skip("no writable /dev/shm:", err)
	}
	b.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}
