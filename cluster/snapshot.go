package cluster

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"slices"
)

// magic opens every node's encoding.
const magic = "DSEDIST2"

const (
	nodeHeaderBytes = len(magic) + 1 + 8 + 8 + 4 // magic, id, term, commit index, log length
	entryBytes      = 8 + 8 + 1 + 8 + 8          // term, index, kind, k, v
	kvHeaderBytes   = 4
	kvPairBytes     = 8 + 8
)

// SnapshotSize is the exact length of c's snapshot encoding.
func (c *Cluster) SnapshotSize() int {
	n := 0
	for i := range c.Nodes {
		nd := &c.Nodes[i]
		n += nodeHeaderBytes + len(nd.Log)*entryBytes + kvHeaderBytes + len(nd.KV)*kvPairBytes
	}
	return n
}

// Snapshot encodes the three nodes in id order, little-endian, as the lab specifies.
func (c *Cluster) Snapshot() []byte {
	return c.AppendSnapshot(make([]byte, 0, c.SnapshotSize()))
}

// AppendSnapshot appends the snapshot encoding to b and returns the extended slice.
func (c *Cluster) AppendSnapshot(b []byte) []byte { return c.encode(b, nil) }

// Hash is HashSnapshot(c.Snapshot()) without holding the whole encoding: it is made a few
// kilobytes at a time and fed to SHA-256 as it goes.
func (c *Cluster) Hash() string {
	h := sha256.New()
	var buf [4 << 10]byte
	b := c.encode(buf[:0], func(b []byte) []byte {
		h.Write(b)
		return b[:0]
	})
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// flushAt is how full encode lets b get before it hands it to flush.
const flushAt = 3 << 10

// encode appends the snapshot encoding to b; when flush is not nil, it hands b to flush
// whenever b holds flushAt bytes or more and goes on with what flush returns.
func (c *Cluster) encode(b []byte, flush func([]byte) []byte) []byte {
	keys := make([]int64, 0, 16)
	for i := range c.Nodes {
		nd := &c.Nodes[i]
		b = append(b, magic...)
		b = append(b, nd.ID)
		b = binary.LittleEndian.AppendUint64(b, nd.Term)
		b = binary.LittleEndian.AppendUint64(b, nd.CommitIndex)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(nd.Log)))
		for _, e := range nd.Log {
			b = AppendEntry(b, e)
			if flush != nil && len(b) >= flushAt {
				b = flush(b)
			}
		}
		keys = keys[:0]
		for k := range nd.KV {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(keys)))
		for _, k := range keys {
			b = binary.LittleEndian.AppendUint64(b, uint64(k))
			b = binary.LittleEndian.AppendUint64(b, uint64(nd.KV[k]))
			if flush != nil && len(b) >= flushAt {
				b = flush(b)
			}
		}
	}
	return b
}

// EntryBytes is the length of one encoded log entry.
const EntryBytes = entryBytes

// AppendEntry appends e's snapshot encoding: term, index, kind, k, v, little-endian (a Del
// writes v as 0, whatever was drawn).
func AppendEntry(b []byte, e Entry) []byte {
	b = binary.LittleEndian.AppendUint64(b, e.Term)
	b = binary.LittleEndian.AppendUint64(b, e.Index)
	b = append(b, byte(e.Op.Kind))
	b = binary.LittleEndian.AppendUint64(b, uint64(e.Op.K))
	v := e.Op.V
	if e.Op.Kind == Del {
		v = 0
	}
	return binary.LittleEndian.AppendUint64(b, uint64(v))
}
