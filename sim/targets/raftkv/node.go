package raftkv

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/faultbox/faultbox/disk"
	"github.com/faultbox/faultbox/sim"
	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// electionTickOutOfReach is the ElectionTick raft gets: it never campaigns on its own, so
// its randomized election timeout (drawn from a global source) decides nothing. The driver
// campaigns from the world's seed instead.
const electionTickOutOfReach = 1 << 30

// heartbeatTicks is the leader's heartbeat interval in ticks: one tick per heartbeat, so a
// tick is an event only when it does something.
const heartbeatTicks = 1

// maxPendingReads bounds the reads a node holds waiting for their read index.
const maxPendingReads = 1024

var quietLogger = &raft.DefaultLogger{Logger: log.New(io.Discard, "", 0)}

// node is one incarnation of a raft node: a sim.Handler.
type node struct {
	c  *Cluster
	id int // from 0; the raft ID is id+1
	p  *sim.Process

	f      disk.File
	walEnd int64
	ms     *raft.MemoryStorage
	rn     *raft.RawNode
	dead   bool // failed: waiting for its restart, or stopped on a raft panic

	// inflight is a Ready whose writes wait for the group commit's fsync before its
	// messages go out, its committed entries apply and it is advanced.
	inflight *raft.Ready
	batch    []byte // the records written for it, at batchOff
	batchOff int64
	walBuf   []byte // reused for each batch's records
	readBuf  []byte // reused to read each batch back
	sendBuf  []byte // reused to marshal each message sent

	kv       map[uint64]uint64
	digest   uint64 // of kv and sessions: stateHash
	sessions map[uint32]session
	applied  uint64
	// snapIndex is the index of the storage's snapshot (0 before the first).
	snapIndex uint64
	pending   map[reqKey]netip.Addr // writes proposed here, by the client waiting
	reads     []*readReq
	readSeq   uint64

	lastContact time.Duration // when a leader was last heard from (or an election began)
	timeout     time.Duration // the election timeout drawn for this round
	electRand   *rand.Rand    // the world's stream for this incarnation's election timeouts
	ticking     bool          // the tick timer is armed

	// After a wipe: no vote for a term at or below voteFloor, no vote or campaign before
	// the node has applied commitFloor.
	amnesiac               bool
	gapAnswered            time.Duration // when it last answered a probe beyond its log
	voteFloor, commitFloor uint64
}

type session struct {
	seq uint64
	ok  bool
}

type reqKey struct {
	client uint32
	seq    uint64
}

type readReq struct {
	ctx   uint64
	from  netip.Addr
	seq   uint64
	key   uint64
	index uint64
	ready bool          // the read index is known
	at    time.Duration // when it was asked
}

func (n *node) raftID() uint64 { return uint64(n.id + 1) }

// guard turns a panic in raft (its own assertions: "tocommit is out of range", "state.commit
// is out of range") into a violation and stops the node for good.
func (n *node) guard(where string) {
	r := recover()
	if r == nil {
		return
	}
	n.dead = true
	n.c.inv.add(n.c.w.Now(), checkRaftAssertions, fmt.Sprintf("node %d (%s) panicked in %s: %v", n.raftID(), NodeAddr(n.id), where, r))
	w, addr := n.c.w, NodeAddr(n.id)
	w.After(0, func() {
		if w.Process(addr).Up() {
			w.Stop(addr, sim.Graceful)
		}
	})
}

func (n *node) Start(p *sim.Process) {
	n.p = p
	defer n.guard("start")
	cfg := n.c.cfg
	n.kv, n.sessions, n.pending = map[uint64]uint64{}, map[uint32]session{}, map[reqKey]netip.Addr{}
	fsys := p.FS()
	f, err := fsys.Open("wal")
	fresh := false
	if errors.Is(err, fs.ErrNotExist) {
		fresh = true
		if f, err = fsys.Create("wal"); err == nil {
			err = fsys.SyncDir(".")
		}
	}
	if err != nil {
		n.c.fail(n, "open the log", err)
		return
	}
	n.f = f
	ms := raft.NewMemoryStorage()
	voters := make([]uint64, cfg.Nodes)
	for i := range voters {
		voters[i] = uint64(i + 1)
	}
	if err := ms.ApplySnapshot(&pb.Snapshot{Metadata: &pb.SnapshotMetadata{ConfState: &pb.ConfState{Voters: voters}}}); err != nil {
		panic(err)
	}
	recs, damaged, err := readWAL(f, cfg.Bug != BugNoChecksum)
	if err != nil {
		n.c.fail(n, "read the log", err)
		return
	}
	k := replay(ms, recs)
	end := int64(0)
	if k > 0 {
		end = recs[k-1].end
	}
	cut := false
	if st, err := f.Stat(); err == nil && st.Size() > end {
		// A torn or corrupt tail: cut it off, so that new records follow the good ones.
		cut = true
		if err := f.Truncate(end); err != nil {
			n.c.fail(n, "truncate the log", err)
			return
		}
		if err := f.Sync(); err != nil {
			n.c.fail(n, "sync the truncated log", err)
			return
		}
	}
	n.walEnd = end
	n.ms = ms
	if (fresh && p.Incarnation() > 1) || damaged || cut {
		// The disk was wiped, or lost records it had synced: this node may have voted, and
		// acknowledged entries, that it no longer knows of. It stands in for etcd's
		// remove-and-re-add: it votes only in terms above any term it can have seen, and
		// only once it holds every entry that was committed when it came back.
		//
		// A cut tail counts too. Batches are appended where the last one ended, inside a
		// sector that already holds synced records; a power loss that tears that sector
		// (a disk without power-safe overwrite) takes those records with it, and what is
		// left looks like any torn tail. The node cannot tell an unsynced batch from synced
		// records lost with it, so it takes the cautious reading.
		f := &n.c.floors[n.id]
		f.set, f.vote, f.commit = true, max(f.vote, n.c.maxTerm), max(f.commit, n.c.maxCommit)
		what := "came back with an empty disk"
		switch {
		case damaged:
			what = fmt.Sprintf("found its log damaged after record %d", k)
		case cut:
			what = fmt.Sprintf("found its log cut after record %d", k)
		}
		n.c.amnesia = append(n.c.amnesia, fmt.Sprintf("t=%s %s %s: no vote at or below term %d, none before index %d is applied",
			p.Now(), p.Addr(), what, f.vote, f.commit))
	}
	if f := n.c.floors[n.id]; f.set {
		// The floors outlive restarts: a later recovery of the cut log looks clean.
		n.amnesiac, n.voteFloor, n.commitFloor = true, f.vote, f.commit
	}
	snap, _ := ms.Snapshot()
	n.applied = snap.GetMetadata().GetIndex()
	if n.applied > 0 {
		n.restore(snap)
	}
	rn, err := raft.NewRawNode(&raft.Config{
		ID:              n.raftID(),
		ElectionTick:    electionTickOutOfReach,
		HeartbeatTick:   heartbeatTicks,
		Storage:         ms,
		Applied:         n.applied,
		MaxSizePerMsg:   4 << 10,
		MaxInflightMsgs: 64,
		PreVote:         true,
		ReadOnlyOption:  raft.ReadOnlySafe,
		Logger:          quietLogger,
	})
	if err != nil {
		panic(fmt.Sprintf("raft.NewRawNode: %v", err))
	}
	n.rn = rn
	n.electRand = p.Rand("election")
	n.lastContact = p.Now()
	n.timeout = n.drawTimeout()
	p.SetTimer("elect", n.timeout)
	n.afterCall()
}

// afterCall ends every handler call: handle the Readys raft has, tick while leading, and check
// the invariants.
func (n *node) afterCall() {
	n.pump()
	if n.dead || n.rn == nil {
		return
	}
	st := n.rn.BasicStatus()
	if !n.ticking && st.RaftState == raft.StateLeader {
		// Only a leader is ticked: its ticks send heartbeats. A follower's or a candidate's
		// only advance raft's election timer, which is out of reach, so they are no events.
		n.ticking = true
		n.p.SetTimer("tick", n.c.cfg.Tick)
	}
	n.c.inv.observe(n, st)
}

func (n *node) drawTimeout() time.Duration {
	e := n.c.cfg.Election
	return e + time.Duration(n.electRand.Int64N(int64(e)))
}

func (n *node) Timer(p *sim.Process, name string) {
	if n.dead || n.rn == nil {
		return
	}
	defer n.guard("timer " + name)
	switch name {
	case "tick":
		n.ticking = false
		if n.rn.BasicStatus().RaftState == raft.StateLeader {
			n.rn.Tick()
		}
	case "elect":
		n.elect()
	case "sync":
		if rd := n.inflight; rd != nil {
			n.inflight = nil
			n.finish(*rd, true)
		}
	}
	n.afterCall()
}

// elect campaigns when no leader was heard from for the drawn timeout: the world's draw, not
// raft's, decides when a node stands.
func (n *node) elect() {
	now := n.p.Now()
	st := n.rn.BasicStatus()
	if st.RaftState == raft.StateLeader {
		n.lastContact = now
	}
	if wait := n.lastContact + n.timeout - now; wait > 0 {
		n.p.SetTimer("elect", wait)
		return
	}
	if !n.amnesiac || (st.GetTerm() >= n.voteFloor && n.applied >= n.commitFloor) {
		_ = n.rn.Campaign()
	}
	n.lastContact = now
	n.timeout = n.drawTimeout()
	n.p.SetTimer("elect", n.timeout)
}

// BorrowsPayloads tells the world that Receive keeps nothing of a payload: raft's messages
// are unmarshalled into their own memory (protobuf copies bytes fields), and a client's
// command is decoded into values.
func (n *node) BorrowsPayloads() {}

func (n *node) Receive(p *sim.Process, m sim.Message) {
	if n.dead || n.rn == nil || len(m.Payload) == 0 {
		return
	}
	defer n.guard("receive")
	switch m.Payload[0] {
	case wireRaft:
		var msg pb.Message
		if proto.Unmarshal(m.Payload[1:], &msg) != nil {
			return
		}
		switch msg.GetType() {
		case pb.MsgApp, pb.MsgHeartbeat, pb.MsgSnap:
			n.lastContact = p.Now()
			if n.amnesiac {
				last, _ := n.ms.LastIndex()
				if msg.GetType() == pb.MsgApp && msg.GetIndex() > last {
					// The leader believes this node holds entries it lost, and raft's leader
					// ignores a rejection below what it counts as matched, probing again at
					// once: a ping-pong of thousands of messages a second until the leader
					// changes. Answer such a probe once per heartbeat interval.
					if p.Now() < n.gapAnswered+n.c.cfg.Tick {
						return
					}
					n.gapAnswered = p.Now()
				}
				if msg.GetType() == pb.MsgHeartbeat && msg.GetCommit() > last {
					// The leader thinks this node holds what it lost: raft would panic
					// ("tocommit out of range"). Commit what it holds; the next append
					// finds the gap.
					msg.Commit = new(last)
				}
			}
		case pb.MsgVote, pb.MsgPreVote:
			if n.amnesiac && (msg.GetTerm() <= n.voteFloor || n.applied < n.commitFloor) {
				return // it may have voted in that term before the wipe
			}
		}
		_ = n.rn.Step(&msg)
	case wireRequest:
		n.request(m.From, m.Payload[1:])
	}
	n.afterCall()
}

// request takes a client's command. A get is served by any node that knows a leader (etcd's
// linearizable read: the node asks the leader for a read index through raft's ReadIndex, and
// answers once it has applied up to it), or only by the leader with Config.LeaderReads. A
// write is proposed by the leader; any other node answers with the leader it knows.
func (n *node) request(from netip.Addr, body []byte) {
	cmd, err := decodeCommand(body)
	if err != nil {
		return
	}
	st := n.rn.BasicStatus()
	leads := st.RaftState == raft.StateLeader
	if cmd.Op == opGet && st.Lead != 0 && (leads || !n.c.cfg.LeaderReads) {
		if n.c.cfg.Bug == BugStaleRead {
			n.p.Send(from, answer{Seq: cmd.Seq, Status: answerOK, Value: n.kv[cmd.Key]}.encode())
			return
		}
		if len(n.reads) >= maxPendingReads {
			n.reads = n.reads[1:]
		}
		n.readSeq++
		n.reads = append(n.reads, &readReq{ctx: n.readSeq, from: from, seq: cmd.Seq, key: cmd.Key, at: n.p.Now()})
		n.rn.ReadIndex(binary.LittleEndian.AppendUint64(nil, n.readSeq))
		return
	}
	if !leads {
		n.p.Send(from, answer{Seq: cmd.Seq, Status: answerNotLeader, Hint: uint32(st.Lead)}.encode())
		return
	}
	if s, ok := n.sessions[cmd.Client]; ok && s.seq == cmd.Seq {
		n.p.Send(from, answer{Seq: cmd.Seq, Status: answerOK, OK: s.ok}.encode()) // applied already
		return
	}
	if err := n.rn.Propose(cmd.appendTo(nil)); err != nil {
		n.p.Send(from, answer{Seq: cmd.Seq, Status: answerNotLeader}.encode())
		return
	}
	n.pending[reqKey{cmd.Client, cmd.Seq}] = from
}

// pump handles Readys in raft's order: write the hard state and entries to the log, wait for
// the group commit's fsync (a separate event), then send, apply and advance (finish).
func (n *node) pump() {
	bug := n.c.cfg.Bug
	if n.inflight == nil && !n.dead {
		n.maybeSnapshot()
	}
	for !n.dead && n.inflight == nil && n.rn.HasReady() {
		rd := n.rn.Ready()
		if durable(rd) {
			buf := n.walBuf[:0] // WriteAt copies: the buffer is the node's again after it
			if !raft.IsEmptySnap(rd.Snapshot) {
				buf = appendRecord(buf, recSnapshot, rd.Snapshot)
			}
			for _, e := range rd.Entries {
				buf = appendRecord(buf, recEntry, e)
			}
			if !raft.IsEmptyHardState(rd.HardState) {
				buf = appendRecord(buf, recHardState, rd.HardState)
			}
			if _, err := n.f.WriteAt(buf, n.walEnd); err != nil {
				n.c.fail(n, "write the log", err)
				return
			}
			n.batch, n.batchOff, n.walBuf = buf, n.walEnd, buf
			n.walEnd += int64(len(buf))
		}
		if bug == BugSendBeforePersist {
			n.send(rd.Messages)
			rd.Messages = nil
		}
		if bug == BugApplyUncommitted {
			n.apply(rd.Entries)
		}
		if durable(rd) {
			n.inflight = &rd
			n.p.SetTimer("sync", n.c.cfg.GroupCommit)
			return
		}
		n.finish(rd, false)
	}
}

func durable(rd raft.Ready) bool {
	return !raft.IsEmptyHardState(rd.HardState) || len(rd.Entries) > 0 || !raft.IsEmptySnap(rd.Snapshot)
}

// readBack reads want back from f at off: nil when the bytes are there as written.
func (n *node) readBack(f disk.File, off int64, want []byte) error {
	if cap(n.readBuf) < len(want) {
		n.readBuf = make([]byte, len(want))
	}
	got := n.readBuf[:len(want)]
	if _, err := f.ReadAt(got, off); err != nil {
		return err
	}
	if !bytes.Equal(got, want) {
		return errors.New("the bytes read back differ from those written")
	}
	return nil
}

// finish completes a Ready once its writes are written: fsync, then make them raft's stable
// storage, then send, apply the committed entries, serve reads, and advance.
func (n *node) finish(rd raft.Ready, written bool) {
	if written && n.c.cfg.Bug != BugSkipFsync {
		if err := n.f.Sync(); err != nil {
			n.c.fail(n, "sync the log", err)
			return
		}
		// Read the batch back before anything it promises leaves: a write that was
		// corrupted or misdirected on its way to the media is caught here, not at recovery.
		if err := n.readBack(n.f, n.batchOff, n.batch); err != nil {
			n.c.fail(n, "verify the log", err)
			return
		}
	}
	n.batch = nil
	if !raft.IsEmptySnap(rd.Snapshot) {
		switch err := n.ms.ApplySnapshot(rd.Snapshot); {
		case err == nil:
			n.restore(rd.Snapshot)
			n.c.installs++
		case !errors.Is(err, raft.ErrSnapOutOfDate):
			panic(fmt.Sprintf("apply snapshot: %v", err))
		}
	}
	if len(rd.Entries) > 0 {
		if err := n.ms.Append(rd.Entries); err != nil {
			panic(fmt.Sprintf("append to storage: %v", err))
		}
	}
	if hs := rd.HardState; !raft.IsEmptyHardState(hs) {
		if err := n.ms.SetHardState(hs); err != nil {
			panic(fmt.Sprintf("set hard state: %v", err))
		}
		n.c.maxTerm = max(n.c.maxTerm, hs.GetTerm())
		n.c.maxCommit = max(n.c.maxCommit, hs.GetCommit())
	}
	n.send(rd.Messages)
	n.apply(rd.CommittedEntries)
	for _, rs := range rd.ReadStates {
		if len(rs.RequestCtx) != 8 {
			continue
		}
		ctx := binary.LittleEndian.Uint64(rs.RequestCtx)
		for _, r := range n.reads {
			if r.ctx == ctx {
				r.index, r.ready = rs.Index, true
			}
		}
	}
	n.serveReads()
	n.rn.Advance(rd)
}

func (n *node) send(msgs []*pb.Message) {
	for _, m := range msgs {
		to := m.GetTo()
		if to == n.raftID() || to == 0 || to > uint64(n.c.cfg.Nodes) {
			continue
		}
		// The world copies the payload: one buffer serves every message.
		b, err := marshal.MarshalAppend(append(n.sendBuf[:0], wireRaft), m)
		if err != nil {
			panic(fmt.Sprintf("marshal a raft message: %v", err))
		}
		n.sendBuf = b
		n.p.Send(NodeAddr(int(to-1)), b)
		if m.GetType() == pb.MsgSnap {
			// The world's network gives no delivery report: count it delivered. If it was
			// lost, the follower's next rejection sends another.
			n.rn.ReportSnapshot(to, raft.SnapshotFinish)
		}
	}
}

// apply applies entries after the applied index to the key-value state, answers the clients
// waiting here, and reports each to the invariants.
func (n *node) apply(ents []*pb.Entry) {
	for _, e := range ents {
		idx := e.GetIndex()
		if idx <= n.applied {
			continue
		}
		if idx != n.applied+1 {
			panic(fmt.Sprintf("apply index %d after %d: a gap", idx, n.applied))
		}
		n.c.inv.committed(n, e)
		if e.GetType() == pb.EntryNormal && len(e.GetData()) > 0 {
			if cmd, err := decodeCommand(e.GetData()); err == nil {
				n.execute(cmd)
			}
		}
		n.applied = idx
		n.c.inv.state(n, idx, n.stateHash())
	}
	n.serveReads()
}

func (n *node) execute(cmd command) {
	s, seen := n.sessions[cmd.Client]
	if !seen || cmd.Seq > s.seq {
		if seen {
			n.digest -= sessionDigest(cmd.Client, s)
		}
		s = session{seq: cmd.Seq}
		switch cmd.Op {
		case opPut:
			n.put(cmd.Key, cmd.Value)
			s.ok = true
		case opCAS:
			if n.kv[cmd.Key] == cmd.Expect {
				n.put(cmd.Key, cmd.Value)
				s.ok = true
			}
		}
		n.sessions[cmd.Client] = s
		n.digest += sessionDigest(cmd.Client, s)
	}
	k := reqKey{cmd.Client, cmd.Seq}
	if from, ok := n.pending[k]; ok {
		delete(n.pending, k)
		if s.seq == cmd.Seq {
			n.p.Send(from, answer{Seq: cmd.Seq, Status: answerOK, OK: s.ok}.encode())
		}
	}
}

func (n *node) serveReads() {
	kept := n.reads[:0]
	now := n.p.Now()
	for _, r := range n.reads {
		if r.ready && n.applied >= r.index {
			n.p.Send(r.from, answer{Seq: r.seq, Status: answerOK, Value: n.kv[r.key]}.encode())
			continue
		}
		if now-r.at > 2*n.c.cfg.ClientTimeout {
			continue // its read index never came (the leader changed): the client has moved on
		}
		kept = append(kept, r)
	}
	clear(n.reads[len(kept):])
	n.reads = kept
}

// put sets a key, keeping the state's digest.
func (n *node) put(k, v uint64) {
	if old, ok := n.kv[k]; ok {
		n.digest -= kvDigest(k, old)
	}
	n.kv[k] = v
	n.digest += kvDigest(k, v)
}

// stateHash digests the key-value state and the client sessions: the sum of a strong
// 64-bit hash of each key's (key, value) and of each client's session, kept as they change
// (order-free, so no sort, and O(1) per applied entry).
func (n *node) stateHash() uint64 { return n.digest }

func kvDigest(k, v uint64) uint64 { return mix64(mix64(k^0x6b76) ^ v) }

func sessionDigest(c uint32, s session) uint64 {
	ok := uint64(0)
	if s.ok {
		ok = 1
	}
	return mix64(mix64(mix64(uint64(c)^0x73657373)^s.seq) ^ ok)
}

// mix64 is splitmix64's finaliser: every input bit moves every output bit.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}
