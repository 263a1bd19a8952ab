package disk

import "math/rand/v2"

// Every probabilistic decision takes its numbers from a stream derived from the run's seed
// and a stable name, or from a hash of the seed and a location. Nothing reads global or
// time-seeded randomness.

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// hashString is FNV-1a, folded into h.
func hashString(h uint64, s string) uint64 {
	if h == 0 {
		h = fnvOffset
	}
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return mix(h)
}

func hashBytes(h uint64, b []byte) uint64 {
	h ^= fnvOffset
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime
	}
	return mix(h)
}

// mix is splitmix64's finaliser: a bijection that spreads every input bit.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func combine(h uint64, vals ...uint64) uint64 {
	for _, v := range vals {
		h = mix(h ^ mix(v))
	}
	return h
}

// unit maps a hash to [0, 1).
func unit(h uint64) float64 { return float64(h>>11) / (1 << 53) }

// newStream returns the random stream named by seed and the given parts.
func newStream(seed uint64, parts ...string) *rand.Rand {
	h := mix(seed)
	for _, p := range parts {
		h = hashString(h, p)
	}
	return rand.New(rand.NewPCG(h, mix(h^0x5851f42d4c957f2d)))
}

// DeriveSeed names a sub-seed of seed, for callers that build their own streams.
func DeriveSeed(seed uint64, name string) uint64 { return hashString(mix(seed), name) }
