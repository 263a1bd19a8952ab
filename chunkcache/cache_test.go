package chunkcache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/faultbox/faultbox/fault"
)

func seqTokens(n int, seed fault.Seed) []uint32 {
	s := seed.Stream("test tokens")
	out := make([]uint32, n)
	for i := range out {
		out[i] = uint32(s.IntN(50000))
	}
	return out
}

func gapCache(t *testing.T, l1 int64) (*Cache, []uint32, [][]byte) {
	t.Helper()
	a := openSpec(t, fmt.Sprintf(`{"type":"fault_inject","inner":{"type":"fs_native","base_path":%q},"gap_tail_ratios":[0.5]}`, t.TempDir()))
	c := NewCache(CacheConfig{L2: []Adapter{a}, L1CapacityBytes: l1})
	tokens := seqTokens(8*256, 1)
	payloads := testPayloads(8, 1000)
	if err := c.Store(context.Background(), KeysFor(tokens, 256, Key{}), payloads); err != nil {
		t.Fatal(err)
	}
	return c, tokens, payloads
}

// The spec's worked example: 8 chunks of 256 tokens, all in L2, gap_tail_ratios [0.5].
func TestRetrieveWorkedExample(t *testing.T) {
	t.Parallel()
	cases := []struct {
		policy                     Policy
		reused, prefix, recomputed int
		ranges                     [][2]int
		sources                    string
	}{
		{PolicyPrefix, 1024, 1024, 1024, [][2]int{{1024, 2048}}, "LLLLRRRR"},
		{PolicySegmentedPrefix, 1792, 1024, 256, [][2]int{{1024, 1280}}, "LLLLRLLL"},
		{PolicySparse, 1792, 1024, 256, [][2]int{{1024, 1280}}, "LLLLRLLL"},
	}
	for _, tc := range cases {
		t.Run(tc.policy.String(), func(t *testing.T) {
			t.Parallel()
			c, tokens, payloads := gapCache(t, 0)
			res, err := c.Retrieve(context.Background(), tokens, 256, Key{}, tc.policy, true)
			if err != nil {
				t.Fatal(err)
			}
			if res.ReusedTokens != tc.reused || res.SegmentedTokens != tc.reused || res.PrefixTokens != tc.prefix || res.RecomputedTokens != tc.recomputed {
				t.Fatalf("reused %d segmented %d prefix %d recomputed %d; want %d %d %d %d",
					res.ReusedTokens, res.SegmentedTokens, res.PrefixTokens, res.RecomputedTokens, tc.reused, tc.reused, tc.prefix, tc.recomputed)
			}
			if !slices.Equal(res.RecomputedRanges, tc.ranges) {
				t.Fatalf("ranges %v, want %v", res.RecomputedRanges, tc.ranges)
			}
			var src []byte
			for _, ch := range res.Chunks {
				if ch.Source == SourceNameL2 {
					src = append(src, 'L')
					if !bytes.Equal(ch.Payload, payloads[ch.Index]) {
						t.Fatalf("chunk %d payload differs", ch.Index)
					}
				} else {
					src = append(src, 'R')
				}
			}
			if string(src) != tc.sources {
				t.Fatalf("sources %s, want %s", src, tc.sources)
			}
			if res.Chunks[4].Reason != "load_failed" {
				t.Fatalf("chunk 4 reason %q, want load_failed", res.Chunks[4].Reason)
			}
			if tc.policy == PolicyPrefix && res.Chunks[5].Reason != "trimmed" {
				t.Fatalf("chunk 5 reason %q, want trimmed", res.Chunks[5].Reason)
			}
			requireNoLocks(t, c.Adapters()[0])
		})
	}
}

// Keys served from L1 never reach L2, so positions in the L2 batch count only the rest.
func TestRetrieveL1KeysNeverReachL2(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	inner := &recorder{mem: NewMemory(1 << 20)}
	f := NewFaultInject(inner, 0, 0, []int64{0}, nil) // drop the first key of every L2 load
	c := NewCache(CacheConfig{L2: []Adapter{f}, L1CapacityBytes: 1 << 20})
	keys := testKeys(4, "")
	payloads := testPayloads(4, 100)
	if err := inner.Store(ctx, keys, payloads); err != nil { // L2 only
		t.Fatal(err)
	}
	if err := c.L1().Store(ctx, keys[:2], payloads[:2]); err != nil { // chunks 0 and 1 in L1
		t.Fatal(err)
	}
	inner.calls = nil
	res, err := c.Prefetch(ctx, keys, buffers(4, 100), PolicySegmentedPrefix)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Sources, []int{SourceL1, SourceL1, SourceRecompute, 1}) {
		t.Fatalf("sources %v; want L1, L1, recompute (position 0 of the L2 batch dropped), L2#1", res.Sources)
	}
	want := []string{fmt.Sprintf("lookup %v", keys[2:]), fmt.Sprintf("load %v", keys[2:]), fmt.Sprintf("unlock %v", keys[2:])}
	if !slices.Equal(inner.calls, want) {
		t.Fatalf("inner saw %q, want %q", inner.calls, want)
	}
	requireNoLocks(t, inner)
	requireNoLocks(t, c.L1())
	// The kept L2 chunk was promoted: a second retrieve serves it from L1.
	res, _ = c.Prefetch(ctx, keys, buffers(4, 100), PolicySegmentedPrefix)
	if res.Sources[3] != SourceL1 {
		t.Fatalf("after promotion chunk 3 source %d, want L1", res.Sources[3])
	}
}

// A key present on two adapters is planned on the first; the second's lock is released
// before the load.
func TestPrefetchPlansOnFirstAdapter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := &recorder{mem: NewMemory(1 << 20)}
	b := &recorder{mem: NewMemory(1 << 20)}
	keys := testKeys(4, "")
	payloads := testPayloads(4, 50)
	_ = a.Store(ctx, keys[:2], payloads[:2])
	_ = b.Store(ctx, keys[1:], payloads[1:])
	a.calls, b.calls = nil, nil
	c := NewCache(CacheConfig{L2: []Adapter{a, b}})
	bufs := buffers(4, 50)
	res, err := c.Prefetch(ctx, keys, bufs, PolicyPrefix)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Sources, []int{1, 1, 2, 2}) || res.Kept.Count() != 4 {
		t.Fatalf("sources %v kept %s", res.Sources, res.Kept)
	}
	for i := range keys {
		if !bytes.Equal(bufs[i], payloads[i]) {
			t.Fatalf("chunk %d payload differs", i)
		}
	}
	wantB := []string{fmt.Sprintf("lookup %v", keys), fmt.Sprintf("unlock %v", keys[1:2]), fmt.Sprintf("load %v", keys[2:]), fmt.Sprintf("unlock %v", keys[2:])}
	if !slices.Equal(b.calls, wantB) {
		t.Fatalf("second adapter saw %q, want %q", b.calls, wantB)
	}
	requireNoLocks(t, a)
	requireNoLocks(t, b)
}

func TestPrefetchCancelledLeavesNoLocks(t *testing.T) {
	t.Parallel()
	m := NewMemory(1 << 20)
	keys := testKeys(8, "")
	_ = m.Store(context.Background(), keys, testPayloads(8, 10))
	c := NewCache(CacheConfig{L2: []Adapter{m}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Prefetch(ctx, keys, buffers(8, 10), PolicyPrefix)
	if err == nil {
		t.Fatal("prefetch with a cancelled context returned no error")
	}
	requireNoLocks(t, m)
}

func TestPolicyParse(t *testing.T) {
	t.Parallel()
	for _, p := range []Policy{PolicyPrefix, PolicySegmentedPrefix, PolicySparse} {
		got, err := ParsePolicy(p.String())
		if err != nil || got != p {
			t.Fatalf("ParsePolicy(%s) = %v, %v", p, got, err)
		}
	}
	if _, err := ParsePolicy("SUFFIX"); err == nil || err.Error() != `policy "SUFFIX": expected PREFIX, SEGMENTED_PREFIX or SPARSE` {
		t.Fatalf("bad policy error = %v", err)
	}
}

// Cache.Store refuses a payload over the chunk limit with ErrChunkTooLarge, which the
// server answers with 413.
func TestCacheStoreChunkTooLarge(t *testing.T) {
	t.Parallel()
	c := NewCache(CacheConfig{L2: []Adapter{NewMemory(1 << 20)}, MaxChunkBytes: 8})
	defer c.Close()
	err := c.Store(context.Background(), testKeys(2, ""), [][]byte{make([]byte, 8), make([]byte, 9)})
	if !errors.Is(err, ErrChunkTooLarge) || !strings.Contains(err.Error(), "chunk 1: payload of 9 bytes exceeds the 8-byte limit") {
		t.Fatalf("Store of a 9-byte payload with an 8-byte limit: %v, want ErrChunkTooLarge naming chunk 1", err)
	}
}
