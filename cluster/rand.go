package cluster

// Rand is the lab's SplitMix64 variant. It differs from the textbook generator in its first
// multiplier (0xBF58476D1CE4E7B5, not ...E5B9); the textbook constant does not reproduce the
// frozen hashes. The zero value is a generator seeded with 0.
type Rand struct {
	state uint64
}

// NewRand returns a generator whose state starts at seed.
func NewRand(seed uint64) *Rand { return &Rand{state: seed} }

// Next advances the state and returns the next 64-bit output.
func (r *Rand) Next() uint64 {
	r.state += 0x9E3779B97F4A7C15
	z := r.state
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E7B5
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}
