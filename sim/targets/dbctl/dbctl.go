// Package dbctl runs the dbctl lab's replicated key-value cluster (package cluster) as three
// processes of a sim world: a leader and two followers that exchange messages over the
// world's network, keep their logs on their simulated disks, recover them after a crash and
// catch up over the network. With no faults, and under any fault schedule that heals, the
// final snapshot hash equals the pure model's (cluster.Run) for the same seed, ops and keys:
// the frozen hashes hold through the network.
//
// The leader draws the operations from the lab's generator, in order, so the log's contents
// are fixed by the seed; the world decides only when and where they get. After losing part of
// its log (a crash that tore an unsynced tail, a wipe), the leader draws the lost operations
// again: the model has one writer and no elections.
package dbctl

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/faultbox/faultbox/cluster"
	"github.com/faultbox/faultbox/disk"
	"github.com/faultbox/faultbox/fault"
	"github.com/faultbox/faultbox/sim"
)

// Addrs are the three nodes: the leader (node 0), then followers 1 and 2.
var Addrs = [3]netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.3")}

// Config shapes a cluster in a world.
type Config struct {
	cluster.Params
	// Interval is the time between two operations the leader proposes; 0 means 1ms.
	Interval time.Duration
	// Heartbeat is how often the leader re-sends what a follower lacks (and its commit
	// index); 0 means 10ms.
	Heartbeat time.Duration
	// Bug plants a known mistake (see Bugs), for the explorer to find; "" runs correct code.
	Bug string
}

// Bugs are the mistakes Config.Bug can plant:
//
//	ack-before-sync   a follower acknowledges entries it has written but not yet synced,
//	                  and syncs them when the next heartbeat comes: a crash in between
//	                  loses entries it acknowledged (check "acknowledged entries survive a crash")
var Bugs = []string{"ack-before-sync"}

// Cluster is the target running in a world.
type Cluster struct {
	w     *sim.World
	cfg   Config
	nodes [3]*node // each node's current incarnation
	procs [3]*sim.Process
	// maxCommitted is the highest index the leader ever declared committed; durable is the
	// log length each node last made durable (or recovered).
	maxCommitted uint64
	durable      [3]uint64
	losses       []string
	failures     []string
	acked        [3]uint64 // the longest log each node acknowledged holding
	ackLosses    []string
	scenarioDown bool // the lab's scenario has taken follower 1 down
}

// Start spawns the three nodes in w. The lab's fault scenario takes follower 1 down (a crash)
// while the leader proposes operations [ops/2, ops*3/4), as cluster.Run does.
func Start(w *sim.World, cfg Config) (*Cluster, error) {
	if err := cfg.Params.Validate(); err != nil {
		return nil, fmt.Errorf("dbctl target: %w", err)
	}
	if cfg.Bug != "" && !slices.Contains(Bugs, cfg.Bug) {
		return nil, fmt.Errorf("dbctl target: bug %q: want one of %s", cfg.Bug, strings.Join(Bugs, ", "))
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Millisecond
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 10 * time.Millisecond
	}
	c := &Cluster{w: w, cfg: cfg}
	for id := range Addrs {
		c.procs[id] = w.SpawnHandler(Addrs[id], func() sim.Handler {
			n := &node{c: c, id: id}
			if old := c.nodes[id]; old != nil {
				// The last incarnation is gone for good: its buffers serve this one.
				n.log, n.enc, n.kv, n.msg, n.rec, n.add = old.log[:0], old.enc[:0], old.kv, old.msg, old.rec, old.add
				clear(n.kv)
			}
			c.nodes[id] = n
			return n
		})
	}
	return c, nil
}

// Done reports whether every node is up, holds every operation and knows all are committed.
func (c *Cluster) Done() bool {
	for id, n := range c.nodes {
		if n == nil || uint64(len(n.log)) != c.cfg.Ops || n.commit != c.cfg.Ops || !c.procs[id].Up() {
			return false
		}
	}
	return true
}

// Model returns the nodes as the pure model's cluster, for its snapshot and report.
func (c *Cluster) Model() *cluster.Cluster { return c.model(true) }

// model returns the nodes as the pure model's cluster: a copy of their logs and stores, or
// (clone false, for a snapshot taken at once and dropped) the nodes' own.
func (c *Cluster) model(clone bool) *cluster.Cluster {
	m := cluster.New()
	for id, n := range c.nodes {
		if n == nil {
			continue
		}
		nd := &m.Nodes[id]
		nd.CommitIndex, nd.LastApplied = n.commit, n.applied
		if !clone {
			nd.Log, nd.KV = n.log, n.kv
			continue
		}
		nd.Log = slices.Clone(n.log)
		for k, v := range n.kv {
			nd.KV[k] = v
		}
	}
	return m
}

// Hash is the SHA-256 of the nodes' snapshot, as `dbctl hash workload` prints it.
func (c *Cluster) Hash() string { return c.model(false).Hash() }

// Losses lists the moments a committed entry had no durable copy on any node (empty when
// none did). A schedule that wipes every node holding an entry can cause one; others must not.
func (c *Cluster) Losses() []string { return slices.Clone(c.losses) }

// MaxCommitted is the highest index the leader declared committed.
func (c *Cluster) MaxCommitted() uint64 { return c.maxCommitted }

func (c *Cluster) checkDurable() {
	best := slices.Max(c.durable[:])
	if best < c.maxCommitted {
		c.losses = append(c.losses, fmt.Sprintf("t=%s: entries %d..%d were committed, and the longest durable log holds %d",
			c.w.Now(), best+1, c.maxCommitted, best))
	}
}

const (
	entryBytes  = cluster.EntryBytes
	recordBytes = entryBytes + 4 // the entry and its CRC-32C
	maxBatch    = 64             // entries in one append message
	msgAppend   = 'A'
	msgAck      = 'K'
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// node is one incarnation of a node: a sim.Handler.
type node struct {
	c       *Cluster
	id      int
	f       disk.File
	log     []cluster.Entry
	commit  uint64
	applied uint64
	kv      map[int64]int64
	dirty   bool // written, not synced (the planted bug)
	// leader only
	rng  *cluster.Rand
	have [3]uint64 // what each follower reported holding
	sent [3]uint64 // the end of the last batch sent to each follower
	// Buffers reused from one call to the next: the world copies a payload when it is sent,
	// and the disk copies what it is given to write.
	msg, rec []byte
	add      []cluster.Entry
	// enc is the leader's log as append messages carry it (cluster.AppendEntry, entryBytes
	// an entry), kept as the log grows, so a batch is one copy rather than an encoding of
	// each entry: a heartbeat to a follower that is down carries maxBatch of them.
	enc []byte
}

func (n *node) Start(p *sim.Process) {
	if n.kv == nil {
		n.kv = make(map[int64]int64, min(n.c.cfg.Keys, n.c.cfg.Ops, 1<<12)) // room for every key the run can write: no growth
	}
	fsys := p.FS()
	f, err := fsys.Open("log")
	existed := err == nil
	if errors.Is(err, fs.ErrNotExist) {
		if f, err = fsys.Create("log"); err == nil {
			err = fsys.SyncDir(".")
		}
	}
	if err != nil {
		n.fail(p, "open the log", err)
		return
	}
	n.f = f
	// The leader stops at Ops and a follower holds no more: room for them all up front (up
	// to a bound), rather than a log that grows by copying itself.
	if want := min(n.c.cfg.Ops, 1<<16); cap(n.log) < int(want) {
		n.log = make([]cluster.Entry, 0, want)
	}
	if n.id == 0 && cap(n.enc) < cap(n.log)*entryBytes {
		n.enc = make([]byte, 0, cap(n.log)*entryBytes)
	}
	n.recover()
	n.c.checkAcked(n.id, existed, uint64(len(n.log)), p)
	n.c.durable[n.id] = uint64(len(n.log))
	n.c.checkDurable()
	if n.id == 0 {
		n.rng = cluster.NewRand(n.c.cfg.Seed)
		for range len(n.log) {
			cluster.StepOp(n.rng, n.c.cfg.Keys) // the operations the log already holds
		}
		p.SetTimer("propose", n.c.cfg.Interval)
		p.SetTimer("beat", n.c.cfg.Heartbeat)
	}
}

// recover reads the log's records until one is short, fails its checksum or is out of order.
func (n *node) recover() {
	buf := make([]byte, recordBytes)
	for {
		off := int64(len(n.log)) * recordBytes
		if m, err := n.f.ReadAt(buf, off); m < recordBytes || (err != nil && !errors.Is(err, io.EOF)) {
			return
		}
		if crc32.Checksum(buf[:entryBytes], castagnoli) != binary.LittleEndian.Uint32(buf[entryBytes:]) {
			return
		}
		e := decodeEntry(buf)
		if e.Index != uint64(len(n.log))+1 {
			return
		}
		n.log = append(n.log, e)
		if n.id == 0 {
			n.enc = cluster.AppendEntry(n.enc, e)
		}
	}
}

// fail crashes this node, as a storage engine does when its log cannot be trusted (a failed
// fsync must not be retried: Linux drops the dirty pages). It restarts 5ms later.
func (n *node) fail(p *sim.Process, what string, err error) {
	n.c.failures = append(n.c.failures, fmt.Sprintf("t=%s %s: %s: %v", p.Now(), p.Addr(), what, err))
	p.CrashRestart(5 * time.Millisecond)
}

// Failures lists the times a node crashed itself because its disk failed it.
func (c *Cluster) Failures() []string { return slices.Clone(c.failures) }

// persist appends entries to the log file and syncs it (unless sync is false: the planted
// bug); false means the node failed.
func (n *node) persist(p *sim.Process, entries []cluster.Entry, sync bool) bool {
	buf := n.rec[:0]
	for _, e := range entries {
		start := len(buf)
		buf = cluster.AppendEntry(buf, e)
		buf = binary.LittleEndian.AppendUint32(buf, crc32.Checksum(buf[start:], castagnoli))
	}
	encoded := len(n.enc) // the leader's enc grows with its log, below
	if n.id == 0 {
		for k := range entries {
			n.enc = append(n.enc, buf[k*recordBytes:k*recordBytes+entryBytes]...)
		}
	}
	n.rec = buf
	off := int64(len(n.log)) * recordBytes
	if _, err := n.f.WriteAt(buf, off); err != nil {
		n.enc = n.enc[:encoded]
		n.fail(p, "write the log", err)
		return false
	}
	if !sync {
		n.log = append(n.log, entries...)
		n.dirty = true
		return true
	}
	if err := n.f.Sync(); err != nil {
		n.enc = n.enc[:encoded]
		n.fail(p, "sync the log", err)
		return false
	}
	n.log = append(n.log, entries...)
	n.c.durable[n.id] = uint64(len(n.log))
	return true
}

func (n *node) apply() {
	for n.applied < min(n.commit, uint64(len(n.log))) {
		op := n.log[n.applied].Op
		switch op.Kind {
		case cluster.Put:
			n.kv[op.K] = op.V
		case cluster.Del:
			delete(n.kv, op.K)
		}
		n.applied++
	}
}

func (n *node) Timer(p *sim.Process, name string) {
	cfg := n.c.cfg
	switch name {
	case "propose":
		i := uint64(len(n.log)) // the next operation, 0-based
		if i >= cfg.Ops {
			return
		}
		if cfg.Scenario == cluster.Fault {
			w := p.World()
			if i == cfg.Ops/2 && !n.c.scenarioDown {
				n.c.scenarioDown = true
				w.Stop(Addrs[1], sim.Crash)
			}
			if i == cfg.Ops*3/4 && n.c.scenarioDown && !w.Process(Addrs[1]).Up() {
				w.Start(Addrs[1])
			}
		}
		e := [1]cluster.Entry{{Term: 1, Index: i + 1, Op: cluster.StepOp(n.rng, cfg.Keys)}}
		if !n.persist(p, e[:], true) {
			return
		}
		n.advance()
		for f := 1; f <= 2; f++ {
			// Only what was not sent yet: a lost batch is re-sent by the next heartbeat.
			n.sendFrom(p, f, max(n.have[f], n.sent[f]))
		}
		p.SetTimer("propose", cfg.Interval)
	case "beat":
		if n.c.scenarioDown && uint64(len(n.log)) >= cfg.Ops && !p.World().Process(Addrs[1]).Up() {
			p.World().Start(Addrs[1]) // the window reached the end: bring follower 1 back
		}
		for f := 1; f <= 2; f++ {
			n.sendAppend(p, f)
		}
		p.SetTimer("beat", cfg.Heartbeat)
	}
}

// sendAppend sends follower f what it lacks (at most maxBatch entries) and the commit index.
func (n *node) sendAppend(p *sim.Process, f int) { n.sendFrom(p, f, n.have[f]) }

// sendFrom sends follower f the entries after index from (at most maxBatch) and the commit
// index.
func (n *node) sendFrom(p *sim.Process, f int, from uint64) {
	from = min(from, uint64(len(n.log)))
	to := min(from+maxBatch, uint64(len(n.log)))
	msg := append(n.msg[:0], msgAppend)
	msg = binary.LittleEndian.AppendUint64(msg, from)
	msg = binary.LittleEndian.AppendUint64(msg, n.commit)
	msg = binary.LittleEndian.AppendUint32(msg, uint32(to-from))
	if len(n.enc) != len(n.log)*entryBytes {
		panic(fmt.Sprintf("dbctl target: the leader's encoded log holds %d bytes for %d entries", len(n.enc), len(n.log)))
	}
	msg = append(msg, n.enc[from*entryBytes:to*entryBytes]...)
	n.sent[f] = to
	n.msg = msg
	p.Send(Addrs[f], msg)
}

// advance moves the leader's commit index to the highest index two of the three nodes hold.
func (n *node) advance() {
	// The median of the three.
	a, b, c := uint64(len(n.log)), n.have[1], n.have[2]
	q := max(min(a, b), min(max(a, b), c))
	if q > n.commit {
		n.commit = q
		n.c.maxCommitted = max(n.c.maxCommitted, q)
		n.apply()
	}
}

// BorrowsPayloads tells the world that Receive keeps nothing of a payload (it decodes the
// entries it appends): the world may reuse a payload's memory once Receive returns.
func (n *node) BorrowsPayloads() {}

func (n *node) Receive(p *sim.Process, m sim.Message) {
	b := m.Payload
	if len(b) == 0 {
		return
	}
	switch b[0] {
	case msgAppend:
		if n.id == 0 || len(b) < 21 {
			return
		}
		prev := binary.LittleEndian.Uint64(b[1:])
		commit := binary.LittleEndian.Uint64(b[9:])
		count := int(binary.LittleEndian.Uint32(b[17:]))
		if len(b) != 21+count*entryBytes {
			return
		}
		if prev <= uint64(len(n.log)) {
			add := n.add[:0]
			for i := range count {
				eb := b[21+i*entryBytes:]
				// An entry's index is its second word: decode only the ones that extend the log.
				if binary.LittleEndian.Uint64(eb[8:]) == uint64(len(n.log)+len(add))+1 {
					add = append(add, decodeEntry(eb))
				}
			}
			n.add = add
			lazy := n.c.cfg.Bug == "ack-before-sync"
			if len(add) > 0 && !n.persist(p, add, !lazy) {
				return
			}
			if lazy && len(add) == 0 && n.dirty { // the planted bug syncs on a heartbeat only
				if err := n.f.Sync(); err != nil {
					n.fail(p, "sync the log", err)
					return
				}
				n.dirty = false
				n.c.durable[n.id] = uint64(len(n.log))
			}
		}
		if c := min(commit, uint64(len(n.log))); c > n.commit {
			n.commit = c
			n.apply()
		}
		var ack [9]byte
		ack[0] = msgAck
		binary.LittleEndian.PutUint64(ack[1:], uint64(len(n.log)))
		p.Send(m.From, ack[:])
		n.c.acked[n.id] = max(n.c.acked[n.id], uint64(len(n.log)))
	case msgAck:
		if n.id != 0 || len(b) != 9 {
			return
		}
		f := slices.Index(Addrs[:], m.From)
		if f < 1 {
			return
		}
		n.have[f] = binary.LittleEndian.Uint64(b[1:])
		n.advance()
		// Catching up: the next batch once the last one is in; anything else waits for the
		// next proposal or heartbeat, so acks do not multiply messages.
		if n.have[f] >= n.sent[f] && n.have[f] < uint64(len(n.log)) {
			n.sendAppend(p, f)
		}
	}
}

func decodeEntry(b []byte) cluster.Entry {
	return cluster.Entry{Term: binary.LittleEndian.Uint64(b), Index: binary.LittleEndian.Uint64(b[8:]),
		Op: cluster.Op{Kind: cluster.Kind(b[16]), K: int64(binary.LittleEndian.Uint64(b[17:])), V: int64(binary.LittleEndian.Uint64(b[25:]))}}
}

// checkAcked compares what a node recovered with what it acknowledged before: a node whose
// log survived (no wipe) must hold every entry it acknowledged, unless its disk lied (a
// write-side fault on that process excuses it: the disk, not the node, lost the data).
func (c *Cluster) checkAcked(id int, existed bool, recovered uint64, p *sim.Process) {
	if existed && recovered < c.acked[id] && !c.diskLied(p.Addr().String()) {
		c.ackLosses = append(c.ackLosses, fmt.Sprintf("t=%s: %s acknowledged entries %d..%d and recovered only %d after a crash",
			c.w.Now(), p.Addr(), recovered+1, c.acked[id], recovered))
	}
	c.acked[id] = recovered
}

func (c *Cluster) diskLied(process string) bool {
	for _, e := range c.w.Log().Events() {
		if e.Process == process && e.Layer == fault.LayerDisk && e.Kind != "crash" && e.Kind != "wipe" &&
			e.Kind != "degrade-start" && e.Kind != "degrade-end" {
			return true
		}
	}
	return false
}

// AckLosses lists the times a node came back without entries it had acknowledged.
func (c *Cluster) AckLosses() []string { return slices.Clone(c.ackLosses) }
