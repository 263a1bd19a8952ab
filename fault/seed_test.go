package fault

import (
	"flag"
	"strings"
	"testing"
)

func TestParseSeed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want Seed
		bad  bool
	}{
		{"0", 0, false},
		{"42", 42, false},
		{"010", 10, false}, // not octal
		{"0x10", 16, false},
		{"0X2a", 42, false},
		{"0xffffffffffffffff", 1<<64 - 1, false},
		{"18446744073709551615", 1<<64 - 1, false},
		{"18446744073709551616", 0, true},
		{"0x10000000000000000", 0, true},
		{"", 0, true},
		{"0x", 0, true},
		{"-1", 0, true},
		{"+1", 0, true},
		{"1_000", 0, true},
		{"0b101", 0, true},
		{"seven", 0, true},
		{" 7", 0, true},
	} {
		got, err := ParseSeed(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("ParseSeed(%q) = %d, want an error", tc.in, got)
			} else if !strings.Contains(err.Error(), "seed "+strconvQuote(tc.in)) || !strings.Contains(err.Error(), "want") {
				t.Errorf("ParseSeed(%q) error %q does not name the field, the value and what was expected", tc.in, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseSeed(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

func strconvQuote(s string) string { return `"` + s + `"` }

func TestSeedIsAFlag(t *testing.T) {
	t.Parallel()
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	var s Seed
	fs.Var(&s, "seed", "the seed")
	if err := fs.Parse([]string{"--seed", "0x10"}); err != nil || s != 16 {
		t.Fatalf("--seed 0x10: %d, %v", s, err)
	}
	fs.SetOutput(new(strings.Builder))
	if err := fs.Parse([]string{"--seed", "x"}); err == nil {
		t.Fatal("--seed x parsed")
	}
}

// The derivation is part of what a seed reproduces: these values may only change on purpose,
// with a CHANGELOG entry (every layer's outputs for a seed would change with them).
func TestDeriveIsFrozen(t *testing.T) {
	t.Parallel()
	if got := Seed(7).Derive("disk", "10.0.0.2:7000", "incarnation 3", "sync"); got != Seed(derivedFrozen) {
		t.Errorf("Derive = %#x, want %#x", uint64(got), uint64(derivedFrozen))
	}
	if got := Seed(7).Stream("disk").Uint64(); got != streamFrozen {
		t.Errorf("Stream(disk).Uint64 = %#x, want %#x", got, uint64(streamFrozen))
	}
}

func TestStreamsAreIndependentAndRepeat(t *testing.T) {
	t.Parallel()
	a1, a2 := Seed(1).Stream("a"), Seed(1).Stream("a")
	b, c := Seed(1).Stream("b"), Seed(2).Stream("a")
	same, diffName, diffSeed := 0, 0, 0
	for range 1000 {
		x := a1.Uint64()
		if x == a2.Uint64() {
			same++
		}
		if x == b.Uint64() {
			diffName++
		}
		if x == c.Uint64() {
			diffSeed++
		}
	}
	if same != 1000 || diffName != 0 || diffSeed != 0 {
		t.Fatalf("same name %d/1000 equal, other name %d, other seed %d", same, diffName, diffSeed)
	}
	// Parts are hashed whole: a slash inside a part is not a separator.
	if Seed(1).Derive("a/b") == Seed(1).Derive("a", "b") {
		t.Error(`Derive("a/b") == Derive("a", "b")`)
	}
	if Seed(1).Derive("ab") == Seed(1).Derive("a", "b") {
		t.Error(`Derive("ab") == Derive("a", "b")`)
	}
}

func TestChanceFollowsProbability(t *testing.T) {
	t.Parallel()
	hits := 0
	for i := range uint64(100000) {
		if Seed(3).Chance(0.25, HashString("f"), i) {
			hits++
		}
	}
	if hits < 24000 || hits > 26000 {
		t.Fatalf("Chance(0.25) hit %d of 100000", hits)
	}
	if Seed(3).Chance(0, 1) || !Seed(3).Chance(1, 1) {
		t.Fatal("Chance(0) fired or Chance(1) did not")
	}
}

func FuzzParseSeed(f *testing.F) {
	for _, s := range []string{"0", "42", "0x2a", "0X", "18446744073709551616", "-1", "1e3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseSeed(s)
		if err != nil {
			if !strings.Contains(err.Error(), "want") {
				t.Fatalf("error %q does not say what was expected", err)
			}
			return
		}
		// Whatever parses prints back in decimal and parses to the same seed.
		again, err := ParseSeed(v.String())
		if err != nil || again != v {
			t.Fatalf("%q -> %d -> %q -> %d, %v", s, v, v.String(), again, err)
		}
	})
}

// Frozen on 2026-12-02; the same as disk's streams before they moved here.
const derivedFrozen, streamFrozen = 0xf397458c8fafd535, 0x1b1d42e032029a7f

func TestSeedJSON(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]Seed{`42`: 42, `"42"`: 42, `"0x2a"`: 42, `18446744073709551615`: 1<<64 - 1} {
		var s Seed
		if err := s.UnmarshalJSON([]byte(in)); err != nil || s != want {
			t.Errorf("UnmarshalJSON(%s) = %d, %v; want %d", in, s, err, want)
		}
	}
	for _, in := range []string{`-1`, `1.5`, `"x"`, `null`, `true`} {
		var s Seed
		if err := s.UnmarshalJSON([]byte(in)); err == nil {
			t.Errorf("UnmarshalJSON(%s) accepted", in)
		}
	}
}

func TestHash1IsHashOfOne(t *testing.T) {
	t.Parallel()
	for _, s := range []Seed{0, 1, 42, 1 << 63} {
		for _, v := range []uint64{0, 1, 7, 1 << 40, ^uint64(0)} {
			if s.Hash1(v) != s.Hash(v) {
				t.Fatalf("Seed(%d).Hash1(%d) = %#x, Hash = %#x", s, v, s.Hash1(v), s.Hash(v))
			}
		}
	}
}
