package chunkcache_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

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

// The HTTP API: store 4 chunks of 2 tokens, then retrieve them through a fault_inject
// adapter that drops load position 1.
func ExampleServer() {
	ctx := context.Background()
	adapters, err := chunkcache.DefaultRegistry().ParseAll([]string{`{"type":"fault_inject","inner":{"type":"memory"},"gap_indices":[1]}`})
	if err != nil {
		panic(err)
	}
	cfg := chunkcache.ServerConfig{ChunkSize: 2, SegmentedPrefix: true, Adapters: adapters}
	srv, err := chunkcache.NewServer(ctx, cfg, nil)
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()

	call := func(path, body string) string {
		resp, err := http.Post(hs.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
			panic(err)
		}
		return fmt.Sprintf("chunks=%v reused=%v prefix=%v recomputed=%v", v["chunks"] != nil, v["reused_tokens"], v["prefix_tokens"], v["recomputed_ranges"])
	}
	call("/v1/store", `{"tokens":[1,2,3,4,5,6,7,8],"payloads":["AA==","AQ==","Ag==","Aw=="]}`)
	fmt.Println(call("/v1/retrieve", `{"tokens":[1,2,3,4,5,6,7,8]}`))
	// Output: chunks=true reused=6 prefix=2 recomputed=[[2 4]]
}
