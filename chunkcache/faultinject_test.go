package chunkcache

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/faultbox/faultbox/fault"
	"golang.org/x/crypto/blake2b"
)

// The spec's test vector: the 8-byte BLAKE2b digest of `0:00000001:test_model:0:0:`.
func TestFaultInjectBucketVector(t *testing.T) {
	t.Parallel()
	h, _ := blake2b.New(8, nil)
	h.Write([]byte("0:00000001:test_model:0:0:"))
	if got := hex.EncodeToString(h.Sum(nil)); got != "474c2b8a79232eba" {
		t.Fatalf("digest = %s, want 474c2b8a79232eba", got)
	}
	k := Key{ChunkHash: []byte{0, 0, 0, 1}, Model: "test_model"}
	if got := Bucket(0, k); got != 723386 {
		t.Fatalf("Bucket(0, %s) = %d, want 723386", k, got)
	}
}

// Rate drops for seed 7, rate 0.25 over keys 0..39 as computed by Python's hashlib
// (hashlib.blake2b(ident, digest_size=8)) with LMCache's identity string: an independent
// implementation of the same rule.
func TestFaultInjectRateMatchesPythonReference(t *testing.T) {
	t.Parallel()
	f := NewFaultInject(NewMemory(1), 0.25, 7, nil, nil)
	var got []int
	for i := range 40 {
		if f.DropBitmap([]Key{testKey(i, "s")}).Test(0) {
			got = append(got, i)
		}
	}
	want := []int{4, 12, 19, 23, 29, 32, 35, 36}
	if !slices.Equal(got, want) {
		t.Fatalf("dropped = %v, want %v", got, want)
	}
}

func TestFaultInjectTailRatiosRoundHalfEven(t *testing.T) {
	t.Parallel()
	// Expected positions from Python's round((1 - r) * (n - 1)).
	cases := []struct {
		n    int
		r    float64
		want int
	}{
		{8, 0.5, 4}, {2, 0.5, 0}, {6, 0.5, 2}, {4, 0.5, 2}, {10, 0.5, 4}, {5, 0.5, 2}, {1, 0.5, 0},
		{8, 0.0, 7}, {8, 1.0, 0}, {3, 0.25, 2}, {7, 1.0 / 3, 4}, {9, 0.125, 7},
	}
	for _, c := range cases {
		f := NewFaultInject(NewMemory(1), 0, 0, nil, []float64{c.r})
		got := f.DropBitmap(testKeys(c.n, "")).Positions()
		if !slices.Equal(got, []int{c.want}) {
			t.Errorf("n=%d r=%v: dropped %v, want [%d]", c.n, c.r, got, c.want)
		}
	}
	f := NewFaultInject(NewMemory(1), 0, 0, nil, []float64{0.5})
	if got := f.DropBitmap(nil); got.Len() != 0 {
		t.Errorf("empty batch: %s", got)
	}
}

func TestFaultInjectGapIndices(t *testing.T) {
	t.Parallel()
	f := NewFaultInject(NewMemory(1), 0, 0, []int64{12, 3, 3, 0}, []float64{0.0})
	if got := f.DropBitmap(testKeys(8, "")).String(); got != "10010001" {
		t.Fatalf("gap_indices [0 3 12] + tail 0.0 over 8 keys = %s, want 10010001", got)
	}
	if got := f.DropBitmap(testKeys(13, "")).Positions(); !slices.Equal(got, []int{0, 3, 12}) {
		t.Fatalf("over 13 keys = %v, want [0 3 12]", got)
	}
}

func TestFaultInjectRateDeterminism(t *testing.T) {
	t.Parallel()
	const n = 20000
	keys := make([]Key, n)
	for i := range keys {
		keys[i] = testKey(i, "salt")
	}
	dropSet := func(seed int64, rate float64) Bitmap {
		return NewFaultInject(NewMemory(1), rate, seed, nil, nil).DropBitmap(keys)
	}
	a, b, other := dropSet(42, 0.1), dropSet(42, 0.1), dropSet(43, 0.1)
	if a.String() != b.String() {
		t.Fatal("same seed gave different drop sets")
	}
	if a.String() == other.String() {
		t.Fatal("seeds 42 and 43 gave the same drop set")
	}
	// About rate × n: binomial σ = sqrt(n p (1-p)) ≈ 42; allow 5σ.
	for _, set := range []Bitmap{a, other} {
		if c := set.Count(); math.Abs(float64(c)-0.1*n) > 5*math.Sqrt(n*0.1*0.9) {
			t.Fatalf("dropped %d of %d at rate 0.1; want about %d", c, n, n/10)
		}
	}
	// The decision is per key, not per position: the same key drops at any position.
	rev := slices.Clone(keys)
	slices.Reverse(rev)
	r := NewFaultInject(NewMemory(1), 0.1, 42, nil, nil).DropBitmap(rev)
	for i := range n {
		if r.Test(i) != a.Test(n-1-i) {
			t.Fatalf("key %d: decision depends on its position", n-1-i)
		}
	}
	if c := dropSet(42, 0).Count(); c != 0 {
		t.Fatalf("rate 0 dropped %d", c)
	}
	if c := dropSet(42, 1).Count(); c != n {
		t.Fatalf("rate 1 dropped %d of %d", c, n)
	}
}

// recorder is an inner adapter that records every call, to check pass-through.
type recorder struct {
	mu    sync.Mutex
	calls []string
	mem   *Memory
}

func (r *recorder) rec(format string, args ...any) {
	r.mu.Lock()
	r.calls = append(r.calls, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}
func (r *recorder) Name() string { return "RecorderAdapter" }
func (r *recorder) Store(ctx context.Context, k []Key, o [][]byte) error {
	r.rec("store %v", k)
	return r.mem.Store(ctx, k, o)
}
func (r *recorder) LookupAndLock(ctx context.Context, k []Key) (Bitmap, error) {
	r.rec("lookup %v", k)
	return r.mem.LookupAndLock(ctx, k)
}
func (r *recorder) Unlock(ctx context.Context, k []Key) { r.rec("unlock %v", k); r.mem.Unlock(ctx, k) }
func (r *recorder) Load(ctx context.Context, k []Key, b [][]byte) (Bitmap, error) {
	r.rec("load %v", k)
	return r.mem.Load(ctx, k, b)
}
func (r *recorder) Delete(ctx context.Context, k []Key) error {
	r.rec("delete %v", k)
	return r.mem.Delete(ctx, k)
}
func (r *recorder) Usage(ctx context.Context) (Usage, error) { r.rec("usage"); return r.mem.Usage(ctx) }
func (r *recorder) Status(ctx context.Context) map[string]any {
	r.rec("status")
	return map[string]any{"is_healthy": true, "inner": "yes"}
}
func (r *recorder) Close() error         { r.rec("close"); return nil }
func (r *recorder) LockedKeys() []string { return r.mem.LockedKeys() }

// NewFaultInject takes its arguments as given (the spec parser refuses a negative index, but
// a Go caller can pass one). A negative gap index, like one past the batch, never matches a
// position: it must not panic at load (it indexed the rule slice), and it still shows in the
// start-up line and the status, as LMCache shows it. A NaN ratio never matches either.
func TestFaultInjectOutOfRangeArguments(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		indices []int64
		ratios  []float64
		n       int
		want    string // drop bitmap over n keys
		line    string // gap_indices=[...] gap_tail_ratios=[...] in the start-up line
	}{
		{"negative index", []int64{-1}, nil, 4, "0000", "gap_indices=[-1] gap_tail_ratios=[]"},
		{"negative and valid", []int64{2, -3, math.MinInt64}, nil, 4, "0010", "gap_indices=[-9223372036854775808, -3, 2] gap_tail_ratios=[]"},
		{"index past the batch", []int64{4, math.MaxInt64}, nil, 4, "0000", "gap_indices=[4, 9223372036854775807] gap_tail_ratios=[]"},
		{"ratio out of [0, 1]", nil, []float64{-1, 2}, 4, "0000", "gap_indices=[] gap_tail_ratios=[-1.0, 2.0]"},
		{"NaN ratio", nil, []float64{math.NaN()}, 4, "0000", "gap_indices=[] gap_tail_ratios=[nan]"},
		{"negative index, one key", []int64{-1, 0}, nil, 1, "1", "gap_indices=[-1, 0] gap_tail_ratios=[]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			f := NewFaultInject(NewMemory(1<<20), 0, 0, tc.indices, tc.ratios)
			keys := testKeys(tc.n, "")
			if err := f.Store(ctx, keys, testPayloads(tc.n, 8)); err != nil {
				t.Fatal(err)
			}
			if _, err := f.LookupAndLock(ctx, keys); err != nil {
				t.Fatal(err)
			}
			got, err := f.Load(ctx, keys, buffers(tc.n, 8))
			f.Unlock(ctx, keys)
			if err != nil {
				t.Fatal(err)
			}
			if loaded := got.String(); loaded != strings.Map(func(r rune) rune { return '0' + '1' - r }, tc.want) {
				t.Errorf("load over %d keys = %s, want drops %s", tc.n, loaded, tc.want)
			}
			if drops := f.DropBitmap(keys).String(); drops != tc.want {
				t.Errorf("DropBitmap over %d keys = %s, want %s", tc.n, drops, tc.want)
			}
			if line := f.StartupLine(); !strings.Contains(line, "("+"rate=0.000 seed=0 "+tc.line+")") {
				t.Errorf("start-up line %q, want it to contain %q", line, tc.line)
			}
		})
	}
}

func TestFaultInjectPassesThroughAllButLoad(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	inner := &recorder{mem: NewMemory(1 << 20)}
	// Drop everything: every position is in gap_indices and the rate is 1.
	f := NewFaultInject(inner, 1, 0, []int64{0, 1, 2}, []float64{0.5})
	keys := testKeys(3, "")
	if err := f.Store(ctx, keys, testPayloads(3, 10)); err != nil {
		t.Fatal(err)
	}
	found, err := f.LookupAndLock(ctx, keys)
	if err != nil || found.String() != "111" {
		t.Fatalf("lookup through fault_inject = %s, %v; want 111 (dropped keys are reported present)", found, err)
	}
	if n := len(inner.LockedKeys()); n != 3 {
		t.Fatalf("inner holds %d locks after lookup, want 3", n)
	}
	got, err := f.Load(ctx, keys, buffers(3, 10))
	if err != nil || got.String() != "000" {
		t.Fatalf("load = %s, %v; want 000", got, err)
	}
	if len(f.LockedKeys()) != 3 {
		t.Fatal("the fault layer released locks itself; it must issue no unlocks")
	}
	f.Unlock(ctx, keys)
	_ = f.Delete(ctx, keys[:1])
	u, _ := f.Usage(ctx)
	if u.UsedBytes != 20 {
		t.Fatalf("usage = %+v, want the inner's 20 bytes", u)
	}
	st := f.Status(ctx)
	_ = f.Close()
	want := []string{
		fmt.Sprintf("store %v", keys), fmt.Sprintf("lookup %v", keys), fmt.Sprintf("load %v", keys),
		fmt.Sprintf("unlock %v", keys), fmt.Sprintf("delete %v", keys[:1]), "usage", "status", "close",
	}
	if !slices.Equal(inner.calls, want) {
		t.Fatalf("inner saw\n%s\nwant\n%s", strings.Join(inner.calls, "\n"), strings.Join(want, "\n"))
	}
	if st["inner"] != "yes" {
		t.Fatalf("status lost the inner fields: %v", st)
	}
	if f.Dropped() != 3 {
		t.Fatalf("Dropped() = %d, want 3", f.Dropped())
	}
}

func TestFaultInjectStatusObject(t *testing.T) {
	t.Parallel()
	c, err := DefaultRegistry().Parse(1, []byte(`{"type":"fault_inject","inner":{"type":"memory"},"rate":0.1,"seed":7,"gap_indices":[12,3],"gap_tail_ratios":[0.5]}`))
	if err != nil {
		t.Fatal(err)
	}
	a, err := c.Open(context.Background(), Env{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, _ := json.Marshal(a.Status(context.Background()))
	var st struct {
		IsHealthy   bool   `json:"is_healthy"`
		Type        string `json:"type"`
		FaultInject struct {
			Rate          float64   `json:"rate"`
			Seed          int64     `json:"seed"`
			GapIndices    []int64   `json:"gap_indices"`
			GapTailRatios []float64 `json:"gap_tail_ratios"`
		} `json:"fault_inject"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	fi := st.FaultInject
	if !st.IsHealthy || st.Type != "memory" || fi.Rate != 0.1 || fi.Seed != 7 ||
		!reflect.DeepEqual(fi.GapIndices, []int64{3, 12}) || !reflect.DeepEqual(fi.GapTailRatios, []float64{0.5}) {
		t.Fatalf("status = %s", b)
	}
	var raw map[string]map[string]any
	_ = json.Unmarshal(b, &raw)
	if len(raw["fault_inject"]) != 4 {
		t.Fatalf("fault_inject object has %d fields, want the four settings: %v", len(raw["fault_inject"]), raw["fault_inject"])
	}
}

func TestFaultInjectStartupLine(t *testing.T) {
	t.Parallel()
	cases := []struct{ spec, want string }{
		{`{"type":"fault_inject","inner":{"type":"memory"},"gap_tail_ratios":[0.5]}`,
			"FaultInjectL2Adapter ACTIVE (rate=0.000 seed=0 gap_indices=[] gap_tail_ratios=[0.5]) wrapping MemoryL2Adapter -- test/diagnostic use only."},
		{`{"type":"fault_inject","inner":{"type":"memory"},"rate":0.1,"seed":7,"gap_indices":[12,3,3],"gap_tail_ratios":[1,0.25,0.00001]}`,
			"FaultInjectL2Adapter ACTIVE (rate=0.100 seed=7 gap_indices=[3, 12] gap_tail_ratios=[1.0, 0.25, 1e-05]) wrapping MemoryL2Adapter -- test/diagnostic use only."},
		{`{"type":"fault_inject","inner":{"type":"memory"},"rate":0.0005,"seed":-3}`,
			"FaultInjectL2Adapter ACTIVE (rate=0.001 seed=-3 gap_indices=[] gap_tail_ratios=[]) wrapping MemoryL2Adapter -- test/diagnostic use only."},
	}
	for _, c := range cases {
		cfg, err := DefaultRegistry().Parse(1, []byte(c.spec))
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		a, err := cfg.Open(context.Background(), Env{Warn: func(l string) { lines = append(lines, l) }})
		if err != nil {
			t.Fatal(err)
		}
		// Using the adapter logs nothing more.
		_, _ = a.Load(context.Background(), testKeys(4, ""), buffers(4, 1))
		_ = a.Close()
		if len(lines) != 1 || lines[0] != c.want {
			t.Errorf("spec %s logged %q, want exactly one line %q", c.spec, lines, c.want)
		}
	}
}

// After a retrieve with drops, no key is left locked in the inner adapter.
func TestFaultInjectRetrieveLeavesNoLocks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	inners := []string{`{"type":"memory"}`, fmt.Sprintf(`{"type":"fs_native","base_path":%q}`, t.TempDir()),
		fmt.Sprintf(`{"type":"resp","url":%q}`, startRedis(t))}
	for _, inner := range inners {
		spec := `{"type":"fault_inject","inner":` + inner + `,"rate":0.3,"seed":5,"gap_tail_ratios":[0.5],"gap_indices":[1]}`
		a := openSpec(t, spec)
		f := a.(*FaultInject)
		c := NewCache(CacheConfig{L2: []Adapter{a}})
		tokens := seqTokens(40*16, 9)
		keys := KeysFor(tokens, 16, Key{Model: "m"})
		if err := c.Store(ctx, keys, testPayloads(len(keys), 64)); err != nil {
			t.Fatal(err)
		}
		for _, p := range []Policy{PolicyPrefix, PolicySegmentedPrefix, PolicySparse} {
			res, err := c.Prefetch(ctx, keys, buffers(len(keys), 64), p)
			if err != nil {
				t.Fatal(err)
			}
			if res.Found.Count() != 40 || res.Loaded.Count() == 40 {
				t.Fatalf("%s: found %d loaded %d; want 40 found and some dropped", p, res.Found.Count(), res.Loaded.Count())
			}
			requireNoLocks(t, f.Inner())
		}
	}
}

// Every drop is reported as a fault.Event naming the rule that made it.
func TestFaultInjectEvents(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg, err := DefaultRegistry().Parse(1, []byte(`{"type":"fault_inject","inner":{"type":"memory"},"gap_tail_ratios":[0.5],"gap_indices":[4,0],"rate":0.25,"seed":7}`))
	if err != nil {
		t.Fatal(err)
	}
	var events []fault.Event
	a, err := cfg.Open(ctx, Env{OnFault: func(e fault.Event) { events = append(events, e) }})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	// Keys 0..12 with salt "s": the Python reference drops 4 and 12 by rate for seed 7 at
	// rate 0.25 (see TestFaultInjectRateMatchesPythonReference).
	keys := testKeys(13, "s")
	if err := a.Store(ctx, keys[1:], testPayloads(12, 8)); err != nil { // key 0 is absent
		t.Fatal(err)
	}
	got, err := a.Load(ctx, keys, buffers(13, 8))
	if err != nil {
		t.Fatal(err)
	}
	// Position 6 (tail ratio 0.5 of 13), 4 (gap index; also a rate hit, but the index rule
	// is checked first), 12 (rate); 0 is in gap_indices but absent, so nothing was dropped.
	if got.String() != "0111010111110" {
		t.Fatalf("loaded %s", got)
	}
	var summary []string
	for i, e := range events {
		rule, inner, _ := strings.Cut(strings.TrimPrefix(e.Detail, "rule="), " inner=")
		if e.Layer != fault.LayerChunkcache || e.Kind != KindLoadDrop || inner != "MemoryL2Adapter" || e.Length != 13 ||
			e.Where != keys[e.Offset].ID() || e.Seq != int64(i+1) || e.Validate() != nil {
			t.Fatalf("event %d = %+v", i, e)
		}
		summary = append(summary, fmt.Sprintf("%d:%s", e.Offset, rule))
	}
	if want := []string{"4:gap_indices", "6:gap_tail_ratios", "12:rate"}; !slices.Equal(summary, want) {
		t.Fatalf("events %v, want %v", summary, want)
	}
	f := a.(*FaultInject)
	if f.Dropped() != 3 || f.DroppedBy(RuleTailRatio) != 1 || f.DroppedBy(RuleGapIndex) != 1 || f.DroppedBy(RuleRate) != 1 {
		t.Fatalf("counters: total %d by rule %d %d %d", f.Dropped(), f.DroppedBy(RuleTailRatio), f.DroppedBy(RuleGapIndex), f.DroppedBy(RuleRate))
	}
}
