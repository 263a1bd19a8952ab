package sim

import (
	"strconv"
	"testing"
)

// The payload digest tells apart payloads that differ in one bit at any position, or only in
// their length (trailing zeros), for lengths around the lanes' 32-byte stride and the
// 8-byte words.
func TestDigestSeesEveryByte(t *testing.T) {
	t.Parallel()
	seen := map[uint64]string{}
	for n := range 80 {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i*7 + n)
		}
		add := func(what string, d uint64) {
			if prev, dup := seen[d]; dup {
				t.Fatalf("digest of %s equals that of %s", what, prev)
			}
			seen[d] = what
		}
		add("len "+itoa(n), digest(b))
		for i := range b {
			b[i] ^= 1
			add("len "+itoa(n)+" bit flipped at "+itoa(i), digest(b))
			b[i] ^= 1
		}
	}
	zeros := make([]byte, 40)
	for n := range len(zeros) {
		if digest(zeros[:n]) == digest(zeros[:n+1]) {
			t.Fatalf("digest of %d and %d zero bytes are equal", n, n+1)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// Running a handler event (a delivery whose handler sends the next message) allocates
// nothing: events come from the world's free list and payload copies from shared blocks.
func TestHandlerEventsDoNotAllocate(t *testing.T) {
	w := New(1, Options{})
	for i := range 3 {
		w.SpawnHandler(ringAddr(i), func() Handler { return relay{next: ringAddr((i + 1) % 3)} })
	}
	if err := w.RunUntilIdle(); err != nil {
		t.Fatal(err)
	}
	w.Process(ringAddr(0)).Send(ringAddr(1), []byte("hello, world"))
	for range 100 { // warm the free list and the payload block
		w.Step()
	}
	// A 12-byte payload takes a new 32 KiB block every 2,730 messages: allow for one.
	if a := testing.AllocsPerRun(1000, func() { w.Step() }); a > 0.01 {
		t.Fatalf("%.3f allocations an event, want none", a)
	}
}

// The digest is part of every trace hash, so its values are frozen: these are the digests
// session 18's code gave (a tail copied into a buffer and loaded as a word; the finish
// through fault.Seed.Hash), for payloads of every length around the words and lanes.
func TestDigestValuesAreFrozen(t *testing.T) {
	t.Parallel()
	var sum uint64
	for n := range 100 {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i*31 + n*7 + 1)
		}
		sum = sum*0x100000001b3 ^ digest(b)
	}
	if sum != frozenDigestSum {
		t.Fatalf("digests of payloads of 0..99 bytes fold to %#x, want %#x: every trace hash would change", sum, frozenDigestSum)
	}
}

const frozenDigestSum uint64 = 0xe9a571899597bda6
