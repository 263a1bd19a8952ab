package chunkcache

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
)

// Policy is the trim policy applied to the loaded bitmap of a retrieve.
type Policy int

const (
	// PolicyPrefix keeps the leading run of loaded chunks; everything after the first
	// failure is recomputed.
	PolicyPrefix Policy = iota
	// PolicySegmentedPrefix keeps every loaded chunk; only the gaps are recomputed.
	PolicySegmentedPrefix
	// PolicySparse keeps every loaded chunk (an intentional scatter).
	PolicySparse
)

func (p Policy) String() string {
	switch p {
	case PolicyPrefix:
		return "PREFIX"
	case PolicySegmentedPrefix:
		return "SEGMENTED_PREFIX"
	case PolicySparse:
		return "SPARSE"
	}
	return fmt.Sprintf("Policy(%d)", int(p))
}

// ParsePolicy parses "PREFIX", "SEGMENTED_PREFIX" or "SPARSE" (any case).
func ParsePolicy(s string) (Policy, error) {
	switch strings.ToUpper(s) {
	case "PREFIX":
		return PolicyPrefix, nil
	case "SEGMENTED_PREFIX":
		return PolicySegmentedPrefix, nil
	case "SPARSE":
		return PolicySparse, nil
	}
	return 0, fmt.Errorf("policy %q: expected PREFIX, SEGMENTED_PREFIX or SPARSE", s)
}

// Trim applies the policy to a loaded bitmap and returns the kept bitmap.
func (p Policy) Trim(loaded Bitmap) Bitmap {
	if p == PolicyPrefix {
		kept := NewBitmap(loaded.Len())
		for i := range loaded.LeadingOnes() {
			kept.Set(i)
		}
		return kept
	}
	return loaded.Clone()
}

// Where a chunk of a prefetch came from.
const (
	SourceRecompute = -1 // not kept: the caller recomputes it
	SourceL1        = 0  // the L1 tier; 1, 2, … are L2 adapters by position
)

// CacheConfig configures a Cache.
type CacheConfig struct {
	// L1CapacityBytes is the L1 tier's capacity; 0 disables L1.
	L1CapacityBytes int64
	// L2 is the adapter cascade, first adapter first. The cache closes them in Close.
	L2 []Adapter
	// MaxChunkBytes bounds one chunk's payload (DefaultMaxChunkBytes when 0).
	MaxChunkBytes int
}

// DefaultMaxChunkBytes bounds one chunk's payload when CacheConfig.MaxChunkBytes is 0.
const DefaultMaxChunkBytes = 4 << 20

// Cache is an L1 tier in process memory in front of a cascade of L2 adapters. It is safe
// for concurrent use.
type Cache struct {
	l1       *Memory
	l2       []Adapter
	maxChunk int
	maxSeen  atomic.Int64
	m        cacheCounters
}

type cacheCounters struct {
	storeBatches, storedChunks, storeErrors       atomic.Uint64
	prefetches, fromL1, fromL2, recomputed        atomic.Uint64
	loadFailures, trimmed, lookupErrors, loadErrs atomic.Uint64
}

// NewCache builds a cache over adapters.
func NewCache(cfg CacheConfig) *Cache {
	c := &Cache{l2: cfg.L2, maxChunk: cfg.MaxChunkBytes}
	if c.maxChunk <= 0 {
		c.maxChunk = DefaultMaxChunkBytes
	}
	if cfg.L1CapacityBytes > 0 {
		c.l1 = NewMemory(cfg.L1CapacityBytes)
	}
	return c
}

// L1 returns the L1 tier, nil when disabled.
func (c *Cache) L1() *Memory { return c.l1 }

// Adapters returns the L2 cascade.
func (c *Cache) Adapters() []Adapter { return c.l2 }

// Close closes every L2 adapter.
func (c *Cache) Close() error {
	var errs []error
	for i, a := range c.l2 {
		if err := a.Close(); err != nil {
			errs = append(errs, fmt.Errorf("l2 adapter #%d: close: %w", i+1, err))
		}
	}
	if c.l1 != nil {
		_ = c.l1.Close()
	}
	return errors.Join(errs...)
}

// Store writes the chunks to L1 (when it has room) and to every L2 adapter.
func (c *Cache) Store(ctx context.Context, keys []Key, payloads [][]byte) error {
	if err := checkBatch("store", len(keys), len(payloads)); err != nil {
		return err
	}
	for i, p := range payloads {
		if len(p) > c.maxChunk {
			return fmt.Errorf("store: chunk %d: payload of %d bytes exceeds the %d-byte limit: %w", i, len(p), c.maxChunk, ErrChunkTooLarge)
		}
		for {
			seen := c.maxSeen.Load()
			if int64(len(p)) <= seen || c.maxSeen.CompareAndSwap(seen, int64(len(p))) {
				break
			}
		}
	}
	c.m.storeBatches.Add(1)
	if c.l1 != nil {
		_ = c.l1.Store(ctx, keys, payloads) // L1 is best effort: a full L1 is not an error
	}
	var errs []error
	for i, a := range c.l2 {
		if err := a.Store(ctx, keys, payloads); err != nil {
			errs = append(errs, fmt.Errorf("l2 adapter #%d (%s): %w", i+1, a.Name(), err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		c.m.storeErrors.Add(1)
		return err
	}
	c.m.storedChunks.Add(uint64(len(keys)))
	return nil
}

// BufferBytes is the capacity a retrieve buffer needs: the largest payload stored through
// this cache so far, or the chunk limit when nothing was stored yet.
func (c *Cache) BufferBytes() int {
	if s := c.maxSeen.Load(); s > 0 {
		return int(s)
	}
	return c.maxChunk
}

// PrefetchResult is the outcome of a prefetch, one entry per key.
type PrefetchResult struct {
	Found   Bitmap // present in some tier at lookup
	Loaded  Bitmap // loaded into its buffer
	Kept    Bitmap // loaded and kept by the trim policy
	Sources []int  // SourceL1, an L2 position (1-based), or SourceRecompute when not kept
}

// Prefetch fills bufs[i] with the payload of keys[i] wherever it can, following the
// prefetch path:
//
//  1. keys present in L1 are served from L1 and never reach L2;
//  2. every other key is looked up (and locked) on every L2 adapter;
//  3. each found key is planned on the first adapter that has it, and the locks of the
//     other adapters that found it are released;
//  4. each adapter loads its planned keys in one batch, in ascending request order (this
//     batch is where fault_inject counts positions); then all its planned keys are unlocked;
//  5. the trim policy turns the loaded bitmap into the kept one.
//
// bufs[i] must have capacity for the chunk (see BufferBytes); it is resliced to the
// payload's length. Every lock taken is released before Prefetch returns, whatever happens.
func (c *Cache) Prefetch(ctx context.Context, keys []Key, bufs [][]byte, policy Policy) (PrefetchResult, error) {
	if err := checkBatch("prefetch", len(keys), len(bufs)); err != nil {
		return PrefetchResult{}, err
	}
	c.m.prefetches.Add(1)
	n := len(keys)
	// Unlocks must happen even when ctx is cancelled: the caller never retries them.
	release := context.WithoutCancel(ctx)
	res := PrefetchResult{Found: NewBitmap(n), Loaded: NewBitmap(n), Sources: make([]int, n)}
	for i := range res.Sources {
		res.Sources[i] = SourceRecompute
	}

	rest := make([]int, 0, n) // request positions that L1 did not serve
	if c.l1 != nil {
		found, err := c.l1.LookupAndLock(ctx, keys)
		if err != nil {
			found = NewBitmap(n)
		}
		l1pos := found.Positions()
		if len(l1pos) > 0 {
			lk, lb := subset(keys, bufs, l1pos)
			got, _ := c.l1.Load(ctx, lk, lb)
			c.l1.Unlock(release, lk)
			for j, p := range l1pos {
				bufs[p] = lb[j]
				if got.Len() == len(lk) && got.Test(j) {
					res.Found.Set(p)
					res.Loaded.Set(p)
					res.Sources[p] = SourceL1
				}
			}
		}
	}
	for i := range n { // without L1, Loaded is still empty: every position
		if !res.Loaded.Test(i) {
			rest = append(rest, i)
		}
	}

	if len(rest) > 0 && len(c.l2) > 0 {
		restKeys := make([]Key, len(rest))
		for j, p := range rest {
			restKeys[j] = keys[p]
		}
		// Lookup-and-lock on every adapter.
		found := make([]Bitmap, len(c.l2))
		for a, ad := range c.l2 {
			bm, err := ad.LookupAndLock(ctx, restKeys)
			if err != nil || bm.Len() != len(restKeys) {
				c.m.lookupErrors.Add(1)
				bm = NewBitmap(len(restKeys)) // contract: on error nothing stays locked
			}
			found[a] = bm
		}
		// Plan on the first adapter that has each key; release the others' locks.
		plan := make([][]int, len(c.l2))      // adapter -> request positions, ascending
		unplanned := make([][]Key, len(c.l2)) // adapter -> keys to unlock now
		for j, p := range rest {
			owner := -1
			for a := range c.l2 {
				if !found[a].Test(j) {
					continue
				}
				if owner < 0 {
					owner = a
					plan[a] = append(plan[a], p)
					res.Found.Set(p)
				} else {
					unplanned[a] = append(unplanned[a], keys[p])
				}
			}
		}
		for a, ks := range unplanned {
			if len(ks) > 0 {
				c.l2[a].Unlock(release, ks)
			}
		}
		// Load per adapter, then unlock everything planned there.
		for a, ps := range plan {
			if len(ps) == 0 {
				continue
			}
			lk, lb := subset(keys, bufs, ps)
			got, err := c.l2[a].Load(ctx, lk, lb)
			if err != nil {
				c.m.loadErrs.Add(1)
			}
			c.l2[a].Unlock(release, lk)
			for j, p := range ps {
				bufs[p] = lb[j]
				if got.Len() == len(lk) && got.Test(j) {
					res.Loaded.Set(p)
					res.Sources[p] = a + 1
				} else {
					c.m.loadFailures.Add(1)
				}
			}
		}
	}

	res.Kept = policy.Trim(res.Loaded)
	for i := range n {
		switch {
		case !res.Kept.Test(i):
			if res.Loaded.Test(i) {
				c.m.trimmed.Add(1)
			}
			res.Sources[i] = SourceRecompute
			c.m.recomputed.Add(1)
		case res.Sources[i] == SourceL1:
			c.m.fromL1.Add(1)
		default:
			c.m.fromL2.Add(1)
		}
	}
	// Promote kept L2 chunks into L1 (best effort).
	if c.l1 != nil {
		var pk []Key
		var pb [][]byte
		for i := range n {
			if res.Sources[i] > 0 {
				pk = append(pk, keys[i])
				pb = append(pb, bufs[i])
			}
		}
		if len(pk) > 0 {
			_ = c.l1.Store(release, pk, pb)
		}
	}
	return res, ctx.Err()
}

func subset(keys []Key, bufs [][]byte, pos []int) ([]Key, [][]byte) {
	k := make([]Key, len(pos))
	b := make([][]byte, len(pos))
	for j, p := range pos {
		k[j] = keys[p]
		b[j] = bufs[p]
	}
	return k, b
}

// ChunkResult describes one chunk of a retrieve.
type ChunkResult struct {
	Index   int    `json:"index"`
	Start   int    `json:"start"` // first token
	End     int    `json:"end"`   // one past the last token
	Key     string `json:"key"`   // chunk hash, lowercase hex
	Source  string `json:"source"`
	Adapter int    `json:"adapter,omitempty"` // 1-based L2 position when Source is "l2"
	Reason  string `json:"reason,omitempty"`  // why a recomputed chunk was not reused
	Payload []byte `json:"payload,omitempty"`
}

// Chunk sources in a RetrieveResult.
const (
	SourceNameL1        = "l1"
	SourceNameL2        = "l2"
	SourceNameRecompute = "recompute"
)

// RetrieveResult is the outcome of a token-level retrieve.
type RetrieveResult struct {
	Policy           string        `json:"policy"`
	TotalTokens      int           `json:"total_tokens"`
	PrefixTokens     int           `json:"prefix_tokens"`     // tokens of the leading run of reused chunks
	SegmentedTokens  int           `json:"segmented_tokens"`  // tokens of all reused chunks
	ReusedTokens     int           `json:"reused_tokens"`     // = SegmentedTokens
	RecomputedTokens int           `json:"recomputed_tokens"` // TotalTokens - ReusedTokens
	RecomputedRanges [][2]int      `json:"recomputed_ranges"` // [start, end) token ranges
	Chunks           []ChunkResult `json:"chunks"`
}

// Retrieve splits tokens into chunks of chunkSize, prefetches them, and reports where each
// came from. With withPayload the reused chunks carry their bytes.
func (c *Cache) Retrieve(ctx context.Context, tokens []uint32, chunkSize int, tmpl Key, policy Policy, withPayload bool) (RetrieveResult, error) {
	keys := KeysFor(tokens, chunkSize, tmpl)
	bufCap := c.BufferBytes()
	// One slab for all chunks; each buffer's capacity ends where the next one starts.
	slab := make([]byte, len(keys)*bufCap)
	bufs := make([][]byte, len(keys))
	for i := range bufs {
		bufs[i] = slab[i*bufCap : i*bufCap : (i+1)*bufCap]
	}
	pr, err := c.Prefetch(ctx, keys, bufs, policy)
	if err != nil {
		return RetrieveResult{}, err
	}
	res := RetrieveResult{Policy: policy.String(), TotalTokens: len(tokens), RecomputedRanges: [][2]int{}, Chunks: make([]ChunkResult, len(keys))}
	leading := true
	for i, k := range keys {
		start := i * chunkSize
		end := min(start+chunkSize, len(tokens))
		ch := ChunkResult{Index: i, Start: start, End: end, Key: hex.EncodeToString(k.ChunkHash)}
		switch src := pr.Sources[i]; {
		case src == SourceL1:
			ch.Source = SourceNameL1
		case src > 0:
			ch.Source = SourceNameL2
			ch.Adapter = src
		default:
			ch.Source = SourceNameRecompute
			switch {
			case pr.Loaded.Test(i):
				ch.Reason = "trimmed"
			case pr.Found.Test(i):
				ch.Reason = "load_failed"
			default:
				ch.Reason = "miss"
			}
		}
		if ch.Source != SourceNameRecompute {
			res.SegmentedTokens += end - start
			if leading {
				res.PrefixTokens += end - start
			}
			if withPayload {
				ch.Payload = bufs[i]
			}
		} else {
			leading = false
			if r := len(res.RecomputedRanges); r > 0 && res.RecomputedRanges[r-1][1] == start {
				res.RecomputedRanges[r-1][1] = end
			} else {
				res.RecomputedRanges = append(res.RecomputedRanges, [2]int{start, end})
			}
		}
		res.Chunks[i] = ch
	}
	res.ReusedTokens = res.SegmentedTokens
	res.RecomputedTokens = res.TotalTokens - res.ReusedTokens
	return res, nil
}
