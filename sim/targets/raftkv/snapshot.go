package raftkv

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
)

// Snapshots and log compaction, as etcd does them: every Config.SnapshotEntries applied
// entries a node snapshots its state machine into raft's storage, compacts the log but for
// the last half of that many entries (etcd keeps 5,000 of its 10,000: a follower a little
// behind still catches up from the log),
// and rewrites its write-ahead log as the snapshot, the hard state and the entries after it
// (a new file, synced, read back, renamed over the old one, the directory synced: a crash
// leaves one log or the other). A node further behind than the compacted log receives the
// snapshot from the leader (MsgSnap) and restores its state from it. A restart replays the
// snapshot and the entries after it, not the whole history.

// encodeState is the state machine as a snapshot's data: the keys in order, then the
// sessions by client.
//
//	[nkeys u32]([key u64][value u64])*[nsessions u32]([client u32][seq u64][ok u8])*
func (n *node) encodeState() []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(n.kv)))
	for _, k := range slices.Sorted(maps.Keys(n.kv)) {
		b = binary.LittleEndian.AppendUint64(b, k)
		b = binary.LittleEndian.AppendUint64(b, n.kv[k])
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(n.sessions)))
	for _, c := range slices.Sorted(maps.Keys(n.sessions)) {
		s := n.sessions[c]
		b = binary.LittleEndian.AppendUint32(b, c)
		b = binary.LittleEndian.AppendUint64(b, s.seq)
		ok := byte(0)
		if s.ok {
			ok = 1
		}
		b = append(b, ok)
	}
	return b
}

// decodeState reads a snapshot's data back into a key-value map and sessions. Only what
// encodeState writes is accepted: keys and clients in increasing order, each once.
func decodeState(b []byte) (map[uint64]uint64, map[uint32]session, error) {
	const keyBytes, sessionBytes = 16, 13
	var prevKey uint64
	var prevClient uint32
	u32 := func(what string) (uint32, error) {
		if len(b) < 4 {
			return 0, fmt.Errorf("snapshot data: %s: %d bytes left, want 4", what, len(b))
		}
		v := binary.LittleEndian.Uint32(b)
		b = b[4:]
		return v, nil
	}
	nk, err := u32("the key count")
	if err != nil {
		return nil, nil, err
	}
	if uint64(nk)*keyBytes > uint64(len(b)) {
		return nil, nil, fmt.Errorf("snapshot data: %d keys: want at most %d in %d bytes", nk, len(b)/keyBytes, len(b))
	}
	kv := make(map[uint64]uint64, nk)
	for i := range nk {
		k := binary.LittleEndian.Uint64(b)
		if i > 0 && k <= prevKey {
			return nil, nil, fmt.Errorf("snapshot data: key %d after key %d: want increasing keys", k, prevKey)
		}
		prevKey = k
		kv[k] = binary.LittleEndian.Uint64(b[8:])
		b = b[keyBytes:]
	}
	ns, err := u32("the session count")
	if err != nil {
		return nil, nil, err
	}
	if uint64(ns)*sessionBytes != uint64(len(b)) {
		return nil, nil, fmt.Errorf("snapshot data: %d sessions: want %d bytes for them, have %d", ns, uint64(ns)*sessionBytes, len(b))
	}
	sessions := make(map[uint32]session, ns)
	for i := range ns {
		c := binary.LittleEndian.Uint32(b)
		if i > 0 && c <= prevClient {
			return nil, nil, fmt.Errorf("snapshot data: client %d after client %d: want increasing clients", c, prevClient)
		}
		prevClient = c
		if b[12] > 1 {
			return nil, nil, fmt.Errorf("snapshot data: session ok byte %d: want 0 or 1", b[12])
		}
		sessions[c] = session{seq: binary.LittleEndian.Uint64(b[4:]), ok: b[12] == 1}
		b = b[sessionBytes:]
	}
	return kv, sessions, nil
}

// restore replaces the state machine with a snapshot's, and reports it to the invariants.
func (n *node) restore(snap *pb.Snapshot) {
	kv, sessions, err := decodeState(snap.GetData())
	if err != nil {
		panic(fmt.Sprintf("restore the snapshot at index %d: %v", snap.GetMetadata().GetIndex(), err))
	}
	n.kv, n.sessions, n.digest = kv, sessions, 0
	for k, v := range kv {
		n.digest += kvDigest(k, v)
	}
	for c, s := range sessions {
		n.digest += sessionDigest(c, s)
	}
	n.applied = snap.GetMetadata().GetIndex()
	n.snapIndex = n.applied
	n.c.inv.state(n, n.applied, n.digest)
}

// maybeSnapshot snapshots and compacts once SnapshotEntries entries were applied since the
// last snapshot, and rewrites the log to match. Only between Readys (nothing written waits
// for its sync, so everything applied is in the storage).
func (n *node) maybeSnapshot() {
	every := n.c.cfg.SnapshotEntries
	if every <= 0 || n.applied < n.snapIndex+uint64(every) {
		return // the cheap test, before asking the storage
	}
	snap, _ := n.ms.Snapshot()
	last, _ := n.ms.LastIndex()
	hs, _, _ := n.ms.InitialState()
	at := n.applied
	if at < snap.GetMetadata().GetIndex()+uint64(every) || at > last || at > hs.GetCommit() {
		return // not yet, or applied past what is stored (the planted apply-uncommitted)
	}
	s, err := n.ms.CreateSnapshot(at, snap.GetMetadata().GetConfState(), n.encodeState())
	if err != nil {
		panic(fmt.Sprintf("create a snapshot at %d: %v", at, err))
	}
	if keep := uint64(every / 2); at > keep {
		if err := n.ms.Compact(at - keep); err != nil && !errors.Is(err, raft.ErrCompacted) {
			panic(fmt.Sprintf("compact the log at %d: %v", at-keep, err))
		}
	}
	// The new log: the snapshot, the hard state, the entries the storage still holds.
	buf := appendRecord(n.walBuf[:0], recSnapshot, s)
	first, _ := n.ms.FirstIndex()
	if first <= last {
		ents, err := n.ms.Entries(first, last+1, 1<<62)
		if err != nil {
			panic(fmt.Sprintf("read the entries %d..%d: %v", first, last, err))
		}
		for _, e := range ents {
			buf = appendRecord(buf, recEntry, e)
		}
	}
	buf = appendRecord(buf, recHardState, hs)
	n.walBuf = buf
	fsys := n.p.FS()
	f, err := fsys.Create("wal.new")
	if err != nil {
		n.c.fail(n, "create the new log", err)
		return
	}
	if _, err := f.WriteAt(buf, 0); err != nil {
		n.c.fail(n, "write the new log", err)
		return
	}
	if n.c.cfg.Bug != BugSkipFsync {
		if err := f.Sync(); err != nil {
			n.c.fail(n, "sync the new log", err)
			return
		}
		if err := n.readBack(f, 0, buf); err != nil {
			n.c.fail(n, "verify the new log", err)
			return
		}
	}
	if err := fsys.Rename("wal.new", "wal"); err != nil {
		n.c.fail(n, "rename the new log", err)
		return
	}
	if err := fsys.SyncDir("."); err != nil {
		n.c.fail(n, "sync the log's directory", err)
		return
	}
	_ = n.f.Close()
	n.f, n.walEnd = f, int64(len(buf))
	n.c.snapshots++
	n.snapIndex = at
}
