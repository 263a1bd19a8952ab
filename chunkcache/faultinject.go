package chunkcache

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/faultbox/faultbox/fault"
	"golang.org/x/crypto/blake2b"
)

// bucketDenom is the number of rate buckets: a key drops when its bucket is below
// floor(rate × bucketDenom).
const bucketDenom = 1_000_000

var faultInjectType = AdapterType{
	Name: "fault_inject",
	Doc: "Test-only wrapper that makes chosen loads of its inner adapter fail, so that a gapped found-set (hit … miss … hit) happens on demand. " +
		"Only load is faulted: lookup reports a dropped key present (and the inner adapter locks it), the load then reports it failed. " +
		"Drop decisions match LMCache's fault_inject adapter drop for drop.",
	Fields: []FieldDoc{
		{Name: "inner", Type: "object", Doc: "the wrapped adapter's full spec, of any registered type"},
		{Name: "gap_tail_ratios", Type: "list of numbers in [0, 1]", Default: "[]", Doc: "drop position round_half_even((1 - r) × (n - 1)) of each n-key load: 0.0 = last, 0.5 = middle, 1.0 = first"},
		{Name: "gap_indices", Type: "list of integers ≥ 0", Default: "[]", Doc: "exact positions (from the head) of each load batch to drop"},
		{Name: "rate", Type: "number in [0, 1]", Default: "0.0", Doc: "per-key drop probability, decided by an 8-byte BLAKE2b of the seed and the key"},
		{Name: "seed", Type: "integer", Default: "0", Doc: "seed of that hash"},
	},
	Parse: parseFaultInject,
}

func parseFaultInject(s *Spec) (Config, error) {
	inner, err := s.Adapter("inner")
	if err != nil {
		return nil, err
	}
	c := FaultInjectConfig{Inner: inner}
	if v, ok := s.Raw("rate"); ok {
		r, isNum := asFloat(v)
		if !isNum || r < 0 || r > 1 {
			return nil, s.Errorf("rate", "rate must be a number in [0, 1], got %s", render(v))
		}
		c.Rate = r
	}
	if v, ok := s.Raw("seed"); ok {
		n, isInt := asInt(v)
		if !isInt {
			return nil, s.Errorf("seed", "seed must be an integer (64-bit), got %s", render(v))
		}
		c.Seed = n
	}
	if v, ok := s.Raw("gap_indices"); ok {
		list, isList := v.([]any)
		if !isList {
			return nil, s.Errorf("gap_indices", "gap_indices must be a list of non-negative integers, got %s", render(v))
		}
		for _, e := range list {
			n, isInt := asInt(e)
			if !isInt || n < 0 {
				return nil, s.Errorf("gap_indices", "gap_indices must be a list of non-negative integers, got %s", render(e))
			}
			c.GapIndices = append(c.GapIndices, n)
		}
	}
	if v, ok := s.Raw("gap_tail_ratios"); ok {
		list, isList := v.([]any)
		if !isList {
			return nil, s.Errorf("gap_tail_ratios", "gap_tail_ratios must be a list of floats in [0, 1], got %s", render(v))
		}
		for _, e := range list {
			r, isNum := asFloat(e)
			if !isNum || r < 0 || r > 1 {
				return nil, s.Errorf("gap_tail_ratios", "gap_tail_ratios must be a list of floats in [0, 1], got %s", render(e))
			}
			c.GapTailRatios = append(c.GapTailRatios, r)
		}
	}
	return c, nil
}

// FaultInjectConfig configures the fault_inject adapter. The zero value of every field but
// Inner passes everything through.
type FaultInjectConfig struct {
	Inner         Config
	Rate          float64   // in [0, 1]
	Seed          int64     // seed of the rate hash
	GapIndices    []int64   // ≥ 0
	GapTailRatios []float64 // in [0, 1]
}

// Type implements Config.
func (FaultInjectConfig) Type() string { return "fault_inject" }

// Open implements Config: it opens the inner adapter, wraps it, and logs the start-up
// warning once through env.Warn.
func (c FaultInjectConfig) Open(ctx context.Context, env Env) (Adapter, error) {
	if c.Inner == nil {
		return nil, fmt.Errorf("fault_inject: no inner adapter")
	}
	inner, err := c.Inner.Open(ctx, env)
	if err != nil {
		return nil, fmt.Errorf("fault_inject inner (%s): %w", c.Inner.Type(), err)
	}
	f := NewFaultInject(inner, c.Rate, c.Seed, c.GapIndices, c.GapTailRatios)
	f.onFault = env.OnFault
	env.warn(f.StartupLine())
	return f, nil
}

// FaultInject wraps an adapter and fails chosen loads. See the package documentation for
// the drop rule.
type FaultInject struct {
	inner     Adapter
	rate      float64
	threshold uint64 // floor(rate × bucketDenom)
	seed      int64
	seedStr   string
	indices   []int64 // sorted, distinct
	ratios    []float64
	dropped   atomic.Uint64
	byRule    [len(ruleNames)]atomic.Uint64
	onFault   func(fault.Event)
}

// NewFaultInject wraps inner. Arguments are taken as given (validation is the spec
// parser's job); gapIndices are sorted and deduplicated. It never fails and never panics
// later: a gap index that names no position of a batch, negative or ≥ the batch length,
// never matches, and so does a tail ratio whose position falls outside the batch (a ratio
// outside [0, 1], or NaN). This is how LMCache's adapter treats them (a position is dropped
// when it is in the index set, so a negative index never is). Such values still show, as
// given, in StartupLine and Status, as LMCache logs them.
func NewFaultInject(inner Adapter, rate float64, seed int64, gapIndices []int64, gapTailRatios []float64) *FaultInject {
	idx := append([]int64(nil), gapIndices...)
	slices.Sort(idx)
	idx = slices.Compact(idx)
	return &FaultInject{
		inner:     inner,
		rate:      rate,
		threshold: uint64(rate * bucketDenom), // truncation, as Python's int() does
		seed:      seed,
		seedStr:   strconv.FormatInt(seed, 10),
		indices:   idx,
		ratios:    append([]float64(nil), gapTailRatios...),
	}
}

// StartupLine is the warning logged once when the adapter starts.
func (f *FaultInject) StartupLine() string {
	idx := make([]string, len(f.indices))
	for i, v := range f.indices {
		idx[i] = strconv.FormatInt(v, 10)
	}
	rs := make([]string, len(f.ratios))
	for i, r := range f.ratios {
		rs[i] = pyFloat(r)
	}
	return fmt.Sprintf("FaultInjectL2Adapter ACTIVE (rate=%.3f seed=%d gap_indices=[%s] gap_tail_ratios=[%s]) wrapping %s -- test/diagnostic use only.",
		f.rate, f.seed, strings.Join(idx, ", "), strings.Join(rs, ", "), f.inner.Name())
}

// pyFloat formats a float as Python's repr does (for values in [0, 1] at least, and for
// NaN and the infinities, which only the Go API can pass).
func pyFloat(v float64) string {
	switch {
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	s := strconv.FormatFloat(v, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eIN") {
		s += ".0"
	}
	return s
}

// Bucket returns the rate bucket of key under seed: the 8-byte BLAKE2b digest (an 8-byte
// output, not a truncated longer one) of `{seed}:{Key.ID()}`, read big-endian, modulo
// 1,000,000.
func Bucket(seed int64, key Key) uint64 {
	return newBucketHasher().bucket(strconv.FormatInt(seed, 10), key)
}

// bucketHasher computes buckets; one serves a whole batch, so that a batch costs one
// allocation rather than a few per key.
type bucketHasher struct {
	h     hash.Hash
	ident []byte
	sum   []byte
}

func newBucketHasher() *bucketHasher {
	h, err := blake2b.New(8, nil)
	if err != nil {
		panic(err) // size 8 with no key is always valid
	}
	return &bucketHasher{h: h, ident: make([]byte, 0, 160), sum: make([]byte, 0, 8)}
}

func (b *bucketHasher) bucket(seedStr string, key Key) uint64 {
	b.h.Reset()
	b.ident = append(b.ident[:0], seedStr...)
	b.ident = append(b.ident, ':')
	b.ident = key.AppendID(b.ident)
	_, _ = b.h.Write(b.ident)
	b.sum = b.h.Sum(b.sum[:0])
	return binary.BigEndian.Uint64(b.sum) % bucketDenom
}

// DropRule names the rule that dropped a position of a load batch.
type DropRule uint8

// The drop rules, in the order they are checked (the first that matches is reported).
const (
	RuleNone      DropRule = iota
	RuleTailRatio          // gap_tail_ratios
	RuleGapIndex           // gap_indices
	RuleRate               // rate
)

var ruleNames = [...]string{"none", "gap_tail_ratios", "gap_indices", "rate"}

func (r DropRule) String() string {
	if int(r) < len(ruleNames) {
		return ruleNames[r]
	}
	return fmt.Sprintf("DropRule(%d)", int(r))
}

// KindLoadDrop is the Kind of the fault.Event a fault_inject adapter reports for each load it
// fails on purpose (Layer fault.LayerChunkcache): Where is the dropped key's Key.ID, Offset its
// position in the load batch, Length the batch's length, Seq the 1-based count of this
// adapter's drops, and Detail "rule=R inner=NAME" (R: gap_tail_ratios, gap_indices or rate;
// NAME: the inner adapter's name).
const KindLoadDrop = "l2_load_drop"

// DropRules returns, for each position of a load batch of keys, the rule that drops it
// (RuleNone for a kept position).
func (f *FaultInject) DropRules(keys []Key) []DropRule {
	n := len(keys)
	rules := make([]DropRule, n)
	if n == 0 {
		return rules
	}
	for _, r := range f.ratios {
		// Bounds-check the float before converting it: converting NaN or an out-of-range
		// float to int is implementation-defined in Go.
		pos := math.RoundToEven((1.0 - r) * float64(n-1))
		if pos >= 0 && pos < float64(n) && rules[int(pos)] == RuleNone {
			rules[int(pos)] = RuleTailRatio
		}
	}
	for _, i := range f.indices {
		if i >= 0 && i < int64(n) && rules[i] == RuleNone {
			rules[i] = RuleGapIndex
		}
	}
	if f.rate > 0 {
		h := newBucketHasher()
		for i, k := range keys {
			if rules[i] == RuleNone && h.bucket(f.seedStr, k) < f.threshold {
				rules[i] = RuleRate
			}
		}
	}
	return rules
}

// DropBitmap returns which positions of a load batch of keys are dropped (bit set = drop).
func (f *FaultInject) DropBitmap(keys []Key) Bitmap {
	drop := NewBitmap(len(keys))
	for i, r := range f.DropRules(keys) {
		if r != RuleNone {
			drop.Set(i)
		}
	}
	return drop
}

// OnFault sets a function that receives every injected fault, called synchronously from
// Load. Set it before the adapter is used.
func (f *FaultInject) OnFault(fn func(fault.Event)) { f.onFault = fn }

// Name implements Adapter.
func (f *FaultInject) Name() string { return "FaultInjectL2Adapter" }

// Inner returns the wrapped adapter.
func (f *FaultInject) Inner() Adapter { return f.inner }

// Dropped returns how many loads of present keys this adapter has failed on purpose.
func (f *FaultInject) Dropped() uint64 { return f.dropped.Load() }

// DroppedBy returns how many of those drops the rule made.
func (f *FaultInject) DroppedBy(rule DropRule) uint64 {
	if int(rule) >= len(f.byRule) {
		return 0
	}
	return f.byRule[rule].Load()
}

// Store implements Adapter (pass-through).
func (f *FaultInject) Store(ctx context.Context, keys []Key, objects [][]byte) error {
	return f.inner.Store(ctx, keys, objects)
}

// LookupAndLock implements Adapter (pass-through: a key that will be dropped at load is
// still reported present, and locked by the inner adapter).
func (f *FaultInject) LookupAndLock(ctx context.Context, keys []Key) (Bitmap, error) {
	return f.inner.LookupAndLock(ctx, keys)
}

// Unlock implements Adapter (pass-through; this layer holds no locks of its own).
func (f *FaultInject) Unlock(ctx context.Context, keys []Key) { f.inner.Unlock(ctx, keys) }

// Load implements Adapter: the inner adapter loads, then the dropped positions of this
// batch are cleared.
func (f *FaultInject) Load(ctx context.Context, keys []Key, bufs [][]byte) (Bitmap, error) {
	got, err := f.inner.Load(ctx, keys, bufs)
	if got.Len() != len(keys) {
		return got, err
	}
	if len(f.ratios) == 0 && len(f.indices) == 0 && f.rate <= 0 {
		return got, err
	}
	for i, rule := range f.DropRules(keys) {
		if rule == RuleNone || !got.Test(i) {
			continue
		}
		got.Clear(i)
		f.byRule[rule].Add(1)
		seq := f.dropped.Add(1)
		if f.onFault != nil {
			f.onFault(fault.Event{Seq: int64(seq), Layer: fault.LayerChunkcache, Kind: KindLoadDrop, Where: keys[i].ID(),
				Offset: int64(i), Length: int64(len(keys)), Detail: "rule=" + rule.String() + " inner=" + f.inner.Name()})
		}
	}
	return got, err
}

// Delete implements Adapter (pass-through).
func (f *FaultInject) Delete(ctx context.Context, keys []Key) error { return f.inner.Delete(ctx, keys) }

// Usage implements Adapter (pass-through).
func (f *FaultInject) Usage(ctx context.Context) (Usage, error) { return f.inner.Usage(ctx) }

// Status implements Adapter: the inner status plus a "fault_inject" object with the four
// settings.
func (f *FaultInject) Status(ctx context.Context) map[string]any {
	st := f.inner.Status(ctx)
	if st == nil {
		st = map[string]any{"is_healthy": false}
	}
	idx := append([]int64{}, f.indices...)
	ratios := append([]float64{}, f.ratios...)
	st["fault_inject"] = map[string]any{
		"rate":            f.rate,
		"seed":            f.seed,
		"gap_indices":     idx,
		"gap_tail_ratios": ratios,
	}
	return st
}

// LockedKeys implements LockInspector by asking the inner adapter.
func (f *FaultInject) LockedKeys() []string {
	if li, ok := f.inner.(LockInspector); ok {
		return li.LockedKeys()
	}
	return nil
}

// Close implements Adapter.
func (f *FaultInject) Close() error { return f.inner.Close() }
