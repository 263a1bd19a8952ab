package chunkcache

import (
	"encoding/hex"
	"slices"
	"strings"
	"testing"
)

// Expected hashes computed with Python's hashlib.sha256 over the documented byte layout
// (32 zero bytes, then each token as little-endian uint32), an independent implementation.
func TestChunkHashesVector(t *testing.T) {
	t.Parallel()
	got := ChunkHashes([]uint32{1, 2, 3, 4, 5}, 2)
	want := []string{
		"e7ca17d6581d126af7e0c8574cdd8987ed93319969b54a5e2a272d585a38f3ea",
		"a9edfe541f21e65d5b60b9415fa27b3f4f5719355cfb89fe6027548c9d21d5dd",
		"d0959160a34210cdb9f8eb56a39de89682e80b5d94318a979dd2da817c228765",
	}
	if len(got) != len(want) {
		t.Fatalf("%d hashes, want %d", len(got), len(want))
	}
	for i := range want {
		if h := hex.EncodeToString(got[i]); h != want[i] {
			t.Errorf("hash %d = %s, want %s", i, h, want[i])
		}
	}
}

func TestChunkHashesChainPrefix(t *testing.T) {
	t.Parallel()
	a := seqTokens(1000, 1)
	b := slices.Clone(a)
	b[600] ^= 1 // differs in chunk 2 (of 256)
	ha, hb := ChunkHashes(a, 256), ChunkHashes(b, 256)
	for i := range ha {
		same := string(ha[i]) == string(hb[i])
		if same != (i < 2) {
			t.Errorf("chunk %d: equal=%v; want equal only before the changed chunk", i, same)
		}
	}
	// Equal chunk content after a different prefix gives a different key.
	c := slices.Clone(a)
	c[0] ^= 1
	if hc := ChunkHashes(c, 256); string(hc[3]) == string(ha[3]) {
		t.Error("chunk 3 has the same hash after a different prefix")
	}
	if n := len(ChunkHashes(nil, 256)); n != 0 {
		t.Errorf("no tokens gave %d hashes", n)
	}
}

func TestKeyID(t *testing.T) {
	t.Parallel()
	k := Key{ChunkHash: []byte{0, 0, 0, 1}, Model: "test_model"}
	if k.ID() != "00000001:test_model:0:0:" {
		t.Fatalf("ID = %q", k.ID())
	}
	k = Key{ChunkHash: []byte{0xab}, Model: "m", KVRank: 3, ObjectGroup: 4294967295, CacheSalt: "s:t"}
	if k.ID() != "ab:m:3:4294967295:s:t" {
		t.Fatalf("ID = %q", k.ID())
	}
}

// ID and AppendID must agree, including for hashes and names longer than ID's stack buffer.
func TestKeyIDMatchesAppendID(t *testing.T) {
	t.Parallel()
	keys := []Key{
		{},
		{ChunkHash: make([]byte, ChunkHashSize), Model: "m", KVRank: 1, ObjectGroup: 2, CacheSalt: "s"},
		{ChunkHash: make([]byte, 3*ChunkHashSize), Model: strings.Repeat("model/", 40), KVRank: 4294967295, ObjectGroup: 4294967295, CacheSalt: strings.Repeat("salt:", 40)},
	}
	for _, k := range keys {
		if id, app := k.ID(), string(k.AppendID([]byte("prefix")))[len("prefix"):]; id != app {
			t.Fatalf("ID = %q, AppendID appended %q", id, app)
		}
	}
}

func TestBitmap(t *testing.T) {
	t.Parallel()
	b := NewBitmap(130)
	for _, i := range []int{0, 1, 2, 64, 129} {
		b.Set(i)
	}
	if b.Count() != 5 || b.LeadingOnes() != 3 || !b.Test(129) || b.Test(128) {
		t.Fatalf("count %d leading %d", b.Count(), b.LeadingOnes())
	}
	if got := b.Positions(); !slices.Equal(got, []int{0, 1, 2, 64, 129}) {
		t.Fatalf("positions %v", got)
	}
	b.Clear(1)
	if b.LeadingOnes() != 1 {
		t.Fatalf("leading after clear = %d", b.LeadingOnes())
	}
	f := FullBitmap(130)
	if f.Count() != 130 || f.LeadingOnes() != 130 {
		t.Fatalf("full: count %d leading %d", f.Count(), f.LeadingOnes())
	}
	if f64 := FullBitmap(64); f64.LeadingOnes() != 64 || f64.Count() != 64 {
		t.Fatal("full 64")
	}
	if got := f.And(b).Count(); got != 4 {
		t.Fatalf("and count %d", got)
	}
	if got := NewBitmap(130).Or(b).String(); got != b.String() {
		t.Fatal("or")
	}
	if NewBitmap(0).LeadingOnes() != 0 || NewBitmap(5).String() != "00000" {
		t.Fatal("empty bitmaps")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("Set out of range did not panic")
		}
	}()
	b.Set(130)
}
