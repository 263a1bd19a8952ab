package raftkv

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/faultbox/faultbox/disk"
	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// The write-ahead log is one file of records appended in batches, one batch per Ready:
//
//	[crc u32][length u32][type u8][payload]
//
// The CRC-32C covers the length, the type and the payload. Recovery reads records from the
// start and stops at the first one that is short, too long for the file, fails its checksum
// or does not parse: a torn or corrupt tail is cut off. Records replay in order into a
// raft.MemoryStorage: a snapshot replaces the log, entries append (truncating a conflicting
// suffix, as raft asks), a hard state replaces the hard state.
const (
	recEntry     = 1
	recHardState = 2
	recSnapshot  = 3

	recHeaderBytes = 9
	// maxRecordBytes bounds one record, so a torn length cannot ask for the whole disk.
	maxRecordBytes = 16 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var marshal = proto.MarshalOptions{Deterministic: true}

// appendRecord encodes one record onto b.
func appendRecord(b []byte, typ byte, m proto.Message) []byte {
	start := len(b)
	b = append(b, make([]byte, recHeaderBytes)...)
	b, err := marshal.MarshalAppend(b, m)
	if err != nil {
		panic(fmt.Sprintf("raftkv: marshal a %T: %v", m, err)) // raftpb messages always marshal
	}
	n := len(b) - start - recHeaderBytes
	binary.LittleEndian.PutUint32(b[start+4:], uint32(n))
	b[start+8] = typ
	binary.LittleEndian.PutUint32(b[start:], crc32.Checksum(b[start+4:], castagnoli))
	return b
}

// walRecord is one decoded record.
type walRecord struct {
	typ  byte
	data []byte
	end  int64 // the file offset just after the record
}

// readWAL reads the valid records of the log file, and reports whether a valid record
// follows the first bad one (damage that is not a torn tail). With verify false (the planted
// bug no-checksum) a record's CRC is not compared: a corrupt record is accepted as long as
// its length fits.
func readWAL(f disk.File, verify bool) (recs []walRecord, damaged bool, err error) {
	st, err := f.Stat()
	if err != nil {
		return nil, false, fmt.Errorf("stat %s: %w", f.Name(), err)
	}
	size := st.Size()
	buf := make([]byte, size)
	if n, err := f.ReadAt(buf, 0); err != nil && !(errors.Is(err, io.EOF) && int64(n) == size) {
		return nil, false, fmt.Errorf("read %s: %w", f.Name(), err)
	}
	off := int64(0)
	recs = make([]walRecord, 0, size/64)
	for {
		n, ok := recordAt(buf, off, verify)
		if !ok {
			break
		}
		off += recHeaderBytes + n
		recs = append(recs, walRecord{typ: buf[off-n-1], data: buf[off-n : off], end: off})
	}

	if verify {
		// A torn tail is the last batch only: a good record after the bad one means the disk
		// lost or garbled records that were synced (a misdirected or phantom write, a
		// corrupted sector), some of which this node may have acknowledged.
		for x := off + 1; x+recHeaderBytes <= size && !damaged; x++ {
			_, damaged = recordAt(buf, x, true)
		}
	}
	return recs, damaged, nil
}

// recordAt reports whether a whole, valid record starts at off in buf, and its payload's
// length.
func recordAt(buf []byte, off int64, verify bool) (int64, bool) {
	size := int64(len(buf))
	if off+recHeaderBytes > size {
		return 0, false
	}
	h := buf[off:]
	n := int64(binary.LittleEndian.Uint32(h[4:]))
	if n > maxRecordBytes || off+recHeaderBytes+n > size {
		return 0, false
	}
	if typ := h[8]; typ < recEntry || typ > recSnapshot {
		return 0, false
	}
	if verify && crc32.Checksum(buf[off+4:off+recHeaderBytes+n], castagnoli) != binary.LittleEndian.Uint32(h) {
		return 0, false
	}
	return n, true
}

// replay applies records to a fresh storage. It stops at the first record that does not
// parse or does not fit the log (a gap), returning how many it applied. A hard state
// replaces the one before it, so only the last is decoded: the others are checked to parse
// (their wire format holds, field by field) and skipped.
func replay(ms memStorage, recs []walRecord) (applied int) {
	var lastHS []byte
	defer func() {
		if lastHS != nil {
			var hs pb.HardState
			if proto.Unmarshal(lastHS, &hs) != nil {
				panic("raftkv: a hard state record that was checked to parse does not") // validHardState lied
			}
			_ = ms.SetHardState(&hs)
		}
	}()
	for _, r := range recs {
		if r.typ == recHardState {
			if !validHardState(r.data) {
				return applied
			}
			lastHS = r.data
		} else if !replayOne(ms, r) {
			return applied
		}
		applied++
	}
	return applied
}

// validHardState reports whether b parses as a raftpb.HardState without decoding it: a
// sequence of whole fields (protobuf keeps a field of an unknown number, or of a known
// number with another wire type, as unknown).
func validHardState(b []byte) bool {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || num > protowire.MaxValidNumber {
			return false
		}
		b = b[n:]
		if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
			return false
		}
		b = b[n:]
	}
	return true
}

// memStorage is what replay needs of raft.MemoryStorage.
type memStorage interface {
	Append([]*pb.Entry) error
	SetHardState(*pb.HardState) error
	ApplySnapshot(*pb.Snapshot) error
	LastIndex() (uint64, error)
	FirstIndex() (uint64, error)
}

func replayOne(ms memStorage, r walRecord) (ok bool) {
	defer func() {
		if recover() != nil { // MemoryStorage panics on a gap: a log that does not fit
			ok = false
		}
	}()
	switch r.typ {
	case recEntry:
		var e pb.Entry
		if proto.Unmarshal(r.data, &e) != nil {
			return false
		}
		last, _ := ms.LastIndex()
		first, _ := ms.FirstIndex()
		if e.GetIndex() > last+1 || e.GetIndex() < first {
			return e.GetIndex() < first // already in the snapshot: skip it; a gap: stop
		}
		return ms.Append([]*pb.Entry{&e}) == nil
	case recHardState:
		var hs pb.HardState
		if proto.Unmarshal(r.data, &hs) != nil {
			return false
		}
		return ms.SetHardState(&hs) == nil
	case recSnapshot:
		var s pb.Snapshot
		if proto.Unmarshal(r.data, &s) != nil {
			return false
		}
		err := ms.ApplySnapshot(&s)
		return err == nil || errors.Is(err, raft.ErrSnapOutOfDate)
	}
	return false
}
