package sim

import (
	"encoding/binary"
	"math/bits"

	"github.com/faultbox/faultbox/fault"
)

// digest is a payload's 64-bit fingerprint for the trace hash. It reads 8 bytes at a time
// through a 64x64->128-bit multiply folded to 64 bits (wyhash's mixing step), in four
// independent lanes for long payloads, then spreads the result with the shared core's
// mixer: fault.HashBytes (FNV-1a, a byte at a time) cost several times as much per byte, and
// the world digests every message it carries.
func digest(b []byte) uint64 {
	const (
		m  = 0xe7037ed1a0b428db
		k0 = 0xa0761d6478bd642f
		k1 = 0x8ebc6af09c88c6e3
		k2 = 0x589965cc75374cc3
		k3 = 0x1d8e4e27c47d124f
	)
	n := len(b)
	h := uint64(k0)
	if len(b) >= 32 {
		h0, h1, h2, h3 := uint64(k0), uint64(k1), uint64(k2), uint64(k3)
		for len(b) >= 32 {
			h0 = mum(h0^binary.LittleEndian.Uint64(b), m)
			h1 = mum(h1^binary.LittleEndian.Uint64(b[8:]), m)
			h2 = mum(h2^binary.LittleEndian.Uint64(b[16:]), m)
			h3 = mum(h3^binary.LittleEndian.Uint64(b[24:]), m)
			b = b[32:]
		}
		h = mum(mum(mum(h0^k1, h1^k2)^h2, m)^h3, m)
	}
	for len(b) >= 8 {
		h = mum(h^binary.LittleEndian.Uint64(b), m)
		b = b[8:]
	}
	if len(b) > 0 {
		// The last 1-7 bytes as a little-endian word padded with zeros, put together in a
		// register: copying them into a buffer and loading it as a word stalls the load.
		var v uint64
		for i := len(b) - 1; i >= 0; i-- {
			v = v<<8 | uint64(b[i])
		}
		h = mum(h^v, m)
	}
	return fault.Seed(h).Hash1(uint64(n))
}

// fold folds one event into the trace hash h: what (kind and incarnation packed in one word:
// an incarnation never reaches 2^56), when, where, and its two values. Three multiplies
// rather than fault.Seed.Hash's two mixes per value: the world folds every event it runs.
func fold(h, at, kindInc, addr, a, b uint64) uint64 {
	const (
		m  = 0xe7037ed1a0b428db
		k1 = 0x8ebc6af09c88c6e3
		k2 = 0x589965cc75374cc3
		k3 = 0x1d8e4e27c47d124f
	)
	x := mum(at^k1, kindInc^k2)
	y := mum(a^k3, b^m)
	return mum(h^x, addr^y^m) ^ bits.RotateLeft64(h, 29) // h again: a zero product must not erase it
}

// mum multiplies x by y to 128 bits and folds the halves together.
func mum(x, y uint64) uint64 {
	hi, lo := bits.Mul64(x, y)
	return hi ^ lo
}

// payloadBlock is the size of the blocks small payload copies are carved from (the largest
// of Go's small-object size classes: a larger block would be a large object, allocated and
// returned to the OS on its own); payloads larger than payloadBlock/8 get their own
// allocation.
const payloadBlock = 32 << 10

// Payloads that may be recycled are carved in power-of-two classes from minClass to
// payloadBlock/8 bytes, so that a recycled one can serve any later payload of its class.
const (
	minClassShift = 4
	maxClassShift = 12
	minClass      = 1 << minClassShift
)

// classOf is the index of the smallest class that holds n bytes (0 < n <= payloadBlock/8).
func classOf(n int) int {
	if n <= minClass {
		return 0
	}
	return bits.Len(uint(n-1)) - minClassShift
}

// copyPayload copies a message's payload for its receiver (processes share no memory). Small
// payloads are carved out of a shared block, with their capacity clipped so that a
// receiver's append reallocates instead of spilling into a neighbour: one allocation per
// block rather than one per message. A receiver that keeps a payload keeps its block alive,
// which costs memory only. A pooled payload (one bound for a Borrower) takes a whole
// power-of-two class, from that class's free list when recycle has put one there.
func (w *World) copyPayload(b []byte, pooled bool) []byte {
	if len(b) == 0 {
		return nil
	}
	if len(b) > payloadBlock/8 {
		return append([]byte(nil), b...)
	}
	size := len(b)
	if pooled {
		c := classOf(len(b))
		if free := w.payloads[c]; len(free) > 0 {
			buf := free[len(free)-1]
			w.payloads[c] = free[:len(free)-1]
			copy(buf[:len(b)], b)
			return buf[:len(b)]
		}
		size = minClass << c
	}
	if len(w.slab) < size {
		w.slab = make([]byte, payloadBlock)
	}
	c := w.slab[:len(b):size]
	copy(c, b)
	w.slab = w.slab[size:]
	return c
}

// recycle takes back the payload of a message that has reached its end (a Borrower's Receive
// returned, or the message was lost on the way) for a later payload of its class. Only a
// payload whose capacity is a class qualifies (a pooled one, or by chance an exact copy of a
// class's length: either way one nobody holds), and one that reached anyone but a Borrower
// is never offered.
func (w *World) recycle(payload []byte) {
	n := cap(payload)
	if n < minClass || n > payloadBlock/8 || n&(n-1) != 0 {
		return
	}
	c := classOf(n)
	w.payloads[c] = append(w.payloads[c], payload[:n])
}
