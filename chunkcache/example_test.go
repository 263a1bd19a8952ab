package chunkcache_test

import (
	"context"
	"fmt"

	"github.com/faultbox/faultbox/chunkcache"
)

// The spec's worked example: 8 chunks of 256 tokens, all in L2 behind a fault_inject
// adapter that drops the middle position of every load.
func ExampleCache_Retrieve() {
	ctx := context.Background()
	reg := chunkcache.DefaultRegistry()
	cfg, err := reg.Parse(1, []byte(`{"type":"fault_inject","inner":{"type":"memory"},"gap_tail_ratios":[0.5]}`))
	if err != nil {
		panic(err)
	}
	adapter, err := cfg.Open(ctx, chunkcache.Env{Warn: func(line string) { fmt.Println(line) }})
	if err != nil {
		panic(err)
	}
	cache := chunkcache.NewCache(chunkcache.CacheConfig{L2: []chunkcache.Adapter{adapter}})
	defer cache.Close()

	tokens := make([]uint32, 8*256)
	for i := range tokens {
		tokens[i] = uint32(i)
	}
	keys := chunkcache.KeysFor(tokens, 256, chunkcache.Key{Model: "demo"})
	payloads := make([][]byte, len(keys))
	for i := range payloads {
		payloads[i] = []byte(fmt.Sprintf("kv of chunk %d", i))
	}
	if err := cache.Store(ctx, keys, payloads); err != nil {
		panic(err)
	}
	for _, p := range []chunkcache.Policy{chunkcache.PolicyPrefix, chunkcache.PolicySegmentedPrefix} {
		res, err := cache.Retrieve(ctx, tokens, 256, chunkcache.Key{Model: "demo"}, p, false)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s: reused %d tokens, recomputed %v\n", res.Policy, res.ReusedTokens, res.RecomputedRanges)
	}
	// Output:
	// FaultInjectL2Adapter ACTIVE (rate=0.000 seed=0 gap_indices=[] gap_tail_ratios=[0.5]) wrapping MemoryL2Adapter -- test/diagnostic use only.
	// PREFIX: reused 1024 tokens, recomputed [[1024 2048]]
	// SEGMENTED_PREFIX: reused 1792 tokens, recomputed [[1024 1280]]
}

// A bad spec names the adapter's position, the field and what was expected.
func ExampleRegistry_Parse() {
	reg := chunkcache.DefaultRegistry()
	_, err := reg.Parse(2, []byte(`{"type":"fault_inject","inner":{"type":"memory"},"rate":1.5}`))
	fmt.Println(err)
	_, err = reg.Parse(1, []byte(`{"type":"fs"}`))
	fmt.Println(err)
	// Output:
	// l2 adapter #2 (fault_inject): field "rate": rate must be a number in [0, 1], got 1.5
	// l2 adapter #1 (fs): field "base_path": required; expected a non-empty string
}

// The rate bucket of the spec's test vector.
func ExampleBucket() {
	key := chunkcache.Key{ChunkHash: []byte{0, 0, 0, 1}, Model: "test_model"}
	fmt.Println(key.ID(), chunkcache.Bucket(0, key))
	// Output: 00000001:test_model:0:0: 723386
}

// Which positions of a load batch fault_inject drops.
func ExampleFaultInject_DropBitmap() {
	f := chunkcache.NewFaultInject(chunkcache.NewMemory(1), 0, 0, []int64{0}, []float64{0.5})
	for _, n := range []int{2, 6, 8} {
		keys := make([]chunkcache.Key, n)
		fmt.Println(n, f.DropBitmap(keys))
	}
	// Output:
	// 2 10
	// 6 101000
	// 8 10001000
}

func ExampleChunkHashes() {
	hashes := chunkcache.ChunkHashes([]uint32{1, 2, 3, 4, 5}, 2)
	for _, h := range hashes {
		fmt.Printf("%x\n", h[:8])
	}
	// Output:
	// e7ca17d6581d126a
	// a9edfe541f21e65d
	// d0959160a34210cd
}
