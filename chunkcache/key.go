package chunkcache

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strconv"
)

// ChunkHashSize is the length in bytes of a chunk hash.
const ChunkHashSize = sha256.Size

// Key names one chunk of one token sequence in one cache namespace.
//
// ChunkHash names the whole prefix that ends with this chunk (see ChunkHashes); the other
// fields separate models, tensor-parallel ranks, object groups and tenants (CacheSalt) that
// must never share an entry even for equal tokens.
type Key struct {
	ChunkHash   []byte
	Model       string
	KVRank      uint32
	ObjectGroup uint32
	CacheSalt   string
}

// ID returns a string that identifies the key exactly; adapters use it as a map key and the
// fault_inject adapter hashes the same fields in the same order:
// `{lowercase hex of chunk hash}:{model}:{kv rank}:{object group}:{cache salt}`.
func (k Key) ID() string {
	var buf [160]byte
	return string(k.AppendID(buf[:0]))
}

// AppendID appends ID to dst; with a stack buffer it lets a map lookup by ID allocate
// nothing (m[string(buf)] does not copy).
func (k Key) AppendID(dst []byte) []byte {
	dst = hex.AppendEncode(dst, k.ChunkHash)
	dst = append(dst, ':')
	dst = append(dst, k.Model...)
	dst = append(dst, ':')
	dst = strconv.AppendUint(dst, uint64(k.KVRank), 10)
	dst = append(dst, ':')
	dst = strconv.AppendUint(dst, uint64(k.ObjectGroup), 10)
	dst = append(dst, ':')
	return append(dst, k.CacheSalt...)
}

// String returns ID, so that keys print readably in logs and test failures.
func (k Key) String() string { return k.ID() }

// ChunkHashes splits tokens into chunks of chunkSize tokens (the last chunk may be shorter)
// and returns the prefix-chained hash of each chunk.
//
// The hash is SHA-256 over the previous chunk's hash (32 zero bytes for the first chunk)
// followed by the chunk's tokens as little-endian uint32 values:
//
//	hash_0 = SHA-256(0^32 || le32(t_0) || … || le32(t_{c-1}))
//	hash_i = SHA-256(hash_{i-1} || le32 tokens of chunk i)
//
// SHA-256 was chosen because it is in the standard library, hardware-accelerated on amd64
// and arm64, fixed by a standard (so another implementation can reproduce the keys), and
// collision-resistant: two different prefixes never share a key in practice. Chaining makes
// a key name its whole prefix, so equal chunks after different prefixes get different keys.
// It panics if chunkSize <= 0, which is a programming error.
func ChunkHashes(tokens []uint32, chunkSize int) [][]byte {
	if chunkSize <= 0 {
		panic("chunkcache: ChunkHashes: chunkSize must be positive")
	}
	n := (len(tokens) + chunkSize - 1) / chunkSize
	out := make([][]byte, 0, n)
	prev := make([]byte, ChunkHashSize)
	buf := make([]byte, 0, ChunkHashSize+4*chunkSize)
	for start := 0; start < len(tokens); start += chunkSize {
		end := min(start+chunkSize, len(tokens))
		buf = append(buf[:0], prev...)
		for _, t := range tokens[start:end] {
			buf = binary.LittleEndian.AppendUint32(buf, t)
		}
		sum := sha256.Sum256(buf)
		h := sum[:]
		out = append(out, h)
		prev = h
	}
	return out
}

// KeysFor returns the keys of the chunks of tokens, with the other key fields from tmpl.
func KeysFor(tokens []uint32, chunkSize int, tmpl Key) []Key {
	hashes := ChunkHashes(tokens, chunkSize)
	keys := make([]Key, len(hashes))
	for i, h := range hashes {
		k := tmpl
		k.ChunkHash = h
		keys[i] = k
	}
	return keys
}
