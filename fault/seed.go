package fault

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Seed reproduces a run: every probabilistic decision of every layer takes its numbers from
// the seed, through a stream or a hash derived from it by a stable name.
type Seed uint64

// ParseSeed reads a seed written in decimal ("42") or hexadecimal with a 0x prefix ("0x2a").
// A leading zero does not make a number octal: "010" is ten.
func ParseSeed(s string) (Seed, error) {
	digits, base := s, 10
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		digits, base = s[2:], 16
	}
	if digits == "" || strings.ContainsAny(digits, "+-_") {
		return 0, seedError(s)
	}
	v, err := strconv.ParseUint(digits, base, 64)
	if err != nil {
		return 0, seedError(s)
	}
	return Seed(v), nil
}

func seedError(s string) error {
	return fmt.Errorf("seed %q: want a decimal number from 0 to 18446744073709551615 or 0x followed by up to 16 hex digits", s)
}

// String writes the seed in decimal, the form reports and replay commands use.
func (s Seed) String() string { return strconv.FormatUint(uint64(s), 10) }

// Set parses a seed, so that *Seed is a flag.Value.
func (s *Seed) Set(text string) error {
	v, err := ParseSeed(text)
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// UnmarshalJSON reads a seed written as a JSON number or as a string in either form, so a
// configuration file may say "0x2a".
func (s *Seed) UnmarshalJSON(b []byte) error {
	text := string(b)
	if len(text) >= 2 && text[0] == '"' && text[len(text)-1] == '"' {
		text = text[1 : len(text)-1]
	} else if strings.HasPrefix(text, "0x") || strings.HasPrefix(text, "0X") {
		return seedError(text) // hex must be quoted to be JSON
	}
	return s.Set(text)
}

// Derive returns the sub-seed named by parts. Each part is hashed as a whole (a '/' inside a
// part is not a separator), so Derive("disk", "10.0.0.2") names what the docs write as
// "disk/10.0.0.2". Deriving step by step is not the same as deriving at once:
// s.Derive("a").Derive("b") differs from s.Derive("a", "b"); both are stable.
func (s Seed) Derive(parts ...string) Seed {
	h := mix(uint64(s))
	for _, p := range parts {
		h = foldString(h, p)
	}
	return Seed(h)
}

// Stream returns the random stream named by parts: math/rand/v2's PCG source keyed by
// s.Derive(parts...). A *rand.Rand is not safe for concurrent use; give each goroutine its
// own stream.
func (s Seed) Stream(parts ...string) *rand.Rand {
	h := uint64(s.Derive(parts...))
	return rand.New(rand.NewPCG(h, mix(h^0x5851f42d4c957f2d)))
}

// Hash is a stateless draw: a 64-bit number that depends only on the seed and vals, in order.
// Use it for decisions keyed by where they happen rather than by when they are asked for.
func (s Seed) Hash(vals ...uint64) uint64 {
	h := uint64(s)
	for _, v := range vals {
		h = mix(h ^ mix(v))
	}
	return h
}

// Hash1 is Hash of one value, small enough to inline: for the hot paths that hash a value
// per event.
func (s Seed) Hash1(v uint64) uint64 { return mix(uint64(s) ^ mix(v)) }

// Chance reports whether the stateless draw keyed by vals falls under probability p.
func (s Seed) Chance(p float64, vals ...uint64) bool { return Unit(s.Hash(vals...)) < p }

// Unit maps a 64-bit hash to a float64 in [0, 1), using its top 53 bits.
func Unit(h uint64) float64 { return float64(h>>11) / (1 << 53) }

// HashString hashes a name (a file, a process label) to a value for Hash.
func HashString(s string) uint64 { return foldString(0, s) }

// HashBytes hashes bytes (a buffer's contents) to a value for Hash.
func HashBytes(b []byte) uint64 {
	h := fnv.New64a()
	h.Write(b)
	return mix(h.Sum64())
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// foldString folds s into h with FNV-1a (h == 0 starts from FNV's offset basis) and spreads
// the result with mix.
func foldString(h uint64, s string) uint64 {
	if h == 0 {
		h = fnvOffset
	}
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return mix(h)
}

// mix is splitmix64's output function on x plus the golden gamma: a bijection that spreads
// every input bit. It keys streams and hashes; it is not a generator.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
