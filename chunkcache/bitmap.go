package chunkcache

import (
	"math/bits"
	"strings"
)

// Bitmap is a fixed-length set of bit positions; an adapter reports per-key results in one
// (bit i describes key i of the batch). The zero value has length 0.
type Bitmap struct {
	n     int
	words []uint64
}

// NewBitmap returns a bitmap of n clear bits. It panics if n < 0.
func NewBitmap(n int) Bitmap {
	if n < 0 {
		panic("chunkcache: NewBitmap: negative length")
	}
	return Bitmap{n: n, words: make([]uint64, (n+63)/64)}
}

// FullBitmap returns a bitmap of n set bits.
func FullBitmap(n int) Bitmap {
	b := NewBitmap(n)
	for i := range b.words {
		b.words[i] = ^uint64(0)
	}
	b.trim()
	return b
}

func (b *Bitmap) trim() {
	if r := b.n % 64; r != 0 {
		b.words[len(b.words)-1] &= (uint64(1) << r) - 1
	}
}

// Len returns the number of positions.
func (b Bitmap) Len() int { return b.n }

func (b Bitmap) check(i int) {
	if i < 0 || i >= b.n {
		panic("chunkcache: Bitmap index out of range")
	}
}

// Set sets bit i.
func (b Bitmap) Set(i int) { b.check(i); b.words[i/64] |= 1 << (i % 64) }

// Clear clears bit i.
func (b Bitmap) Clear(i int) { b.check(i); b.words[i/64] &^= 1 << (i % 64) }

// Test reports whether bit i is set.
func (b Bitmap) Test(i int) bool { b.check(i); return b.words[i/64]&(1<<(i%64)) != 0 }

// Count returns the number of set bits.
func (b Bitmap) Count() int {
	c := 0
	for _, w := range b.words {
		c += bits.OnesCount64(w)
	}
	return c
}

// LeadingOnes returns the length of the run of set bits that starts at position 0.
func (b Bitmap) LeadingOnes() int {
	for i, w := range b.words {
		if w != ^uint64(0) {
			return min(i*64+bits.TrailingZeros64(^w), b.n)
		}
	}
	return b.n
}

// Clone returns an independent copy.
func (b Bitmap) Clone() Bitmap {
	return Bitmap{n: b.n, words: append([]uint64(nil), b.words...)}
}

// And returns the intersection of b and o, which must have the same length.
func (b Bitmap) And(o Bitmap) Bitmap {
	if b.n != o.n {
		panic("chunkcache: Bitmap.And: length mismatch")
	}
	r := b.Clone()
	for i := range r.words {
		r.words[i] &= o.words[i]
	}
	return r
}

// Or returns the union of b and o, which must have the same length.
func (b Bitmap) Or(o Bitmap) Bitmap {
	if b.n != o.n {
		panic("chunkcache: Bitmap.Or: length mismatch")
	}
	r := b.Clone()
	for i := range r.words {
		r.words[i] |= o.words[i]
	}
	return r
}

// Positions returns the set positions in ascending order.
func (b Bitmap) Positions() []int {
	out := make([]int, 0, b.Count())
	for i := 0; i < b.n; i++ {
		if b.Test(i) {
			out = append(out, i)
		}
	}
	return out
}

// String renders the bitmap as a string of '1' and '0', position 0 first.
func (b Bitmap) String() string {
	var s strings.Builder
	s.Grow(b.n)
	for i := 0; i < b.n; i++ {
		if b.Test(i) {
			s.WriteByte('1')
		} else {
			s.WriteByte('0')
		}
	}
	return s.String()
}
