// Package raftkv runs a key-value store replicated by etcd's raft library
// (go.etcd.io/raft/v3, a real raft.RawNode per node) as processes of a sim world, with
// clients issuing put, get and compare-and-swap against whichever node they think leads, and
// judges every run: invariants after every handler call (at most one leader per term,
// committed entries never change, applied state equal on all nodes at the same index, raft's
// own assertions) and the client history checked for linearizability with porcupine.
//
// Clients send writes to the node they think leads and spread their gets over the nodes,
// each served through raft's ReadIndex (Config.LeaderReads sends them to the leader). Under
// the net and all profiles the target adds its own nemesis: it cuts the leader off from the
// other nodes while the clients still reach it. On a linearizability violation, porcupine's
// HTML visualisation is written where RunConfig.HTML says.
//
// Each node keeps its raft log and hard state in a write-ahead log with CRC-32C checksums on
// its simulated disk, handles every Ready in raft's order (persist and fsync, then send,
// then apply the committed entries, then Advance), ticks from world timers, and recovers
// from its log after a crash; every Config.SnapshotEntries applied entries it snapshots its
// state, compacts the log and rewrites it, and a node behind the compacted log is sent the
// leader's snapshot. Elections are the world's decision: raft's own election timer
// is set out of reach (its randomized timeout draws from a global source nobody can seed)
// and the driver calls Campaign when a timer drawn from the world's seed fires without word
// from a leader. Planted bugs (Bugs) break one rule each, to show what the checkers find.
package raftkv

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/faultbox/faultbox/fault"
	"github.com/faultbox/faultbox/sim"
)

// Bug names one planted mistake in how the driver uses raft.
type Bug string

// The planted bugs. Each breaks one rule of driving raft correctly.
const (
	NoBug Bug = ""
	// BugSendBeforePersist sends a Ready's messages before its hard state and entries are
	// durable: a vote or an acknowledgement can outlive a crash that loses what it promised.
	BugSendBeforePersist Bug = "send-before-persist"
	// BugSkipFsync writes the log and never syncs it: a crash loses what was acknowledged.
	BugSkipFsync Bug = "skip-fsync"
	// BugApplyUncommitted applies entries as soon as they are appended, before they commit.
	BugApplyUncommitted Bug = "apply-uncommitted"
	// BugStaleRead serves reads from the node's local state without ReadIndex.
	BugStaleRead Bug = "stale-read"
	// BugNoChecksum accepts log records at recovery without comparing their checksums.
	BugNoChecksum Bug = "no-checksum"
)

// Bugs lists the planted bugs in the order `--bug list` prints them.
var Bugs = []Bug{BugSendBeforePersist, BugSkipFsync, BugApplyUncommitted, BugStaleRead, BugNoChecksum}

// ParseBug reads a bug name; "" and "none" mean no bug.
func ParseBug(s string) (Bug, error) {
	if s == "" || s == "none" {
		return NoBug, nil
	}
	if slices.Contains(Bugs, Bug(s)) {
		return Bug(s), nil
	}
	names := make([]string, len(Bugs))
	for i, b := range Bugs {
		names[i] = string(b)
	}
	return "", fmt.Errorf("bug %q: want none or one of %s", s, strings.Join(names, ", "))
}

// Config shapes a cluster and its clients in a world.
type Config struct {
	// Nodes is the cluster's size: 3 or 5.
	Nodes int
	// Clients is how many client processes issue operations (1 to 64).
	Clients int
	// Keys is how many distinct keys the clients use; 0 means 4.
	Keys int
	// Workload is how long, in virtual time, the clients start new operations; 0 means 10s.
	Workload time.Duration
	// Bug is the planted mistake, if any.
	Bug Bug
	// LeaderReads sends every get to the leader. By default a client spreads its gets over
	// the nodes, round robin, as etcd's client balancer does, and a follower serves them
	// through raft's ReadIndex (the leader confirms its leadership and names the index to
	// wait for).
	LeaderReads bool

	// Tick is the interval of raft's Tick, the leader's heartbeat interval (HeartbeatTick is
	// 1; only a leader is ticked); 0 means 30ms (etcd's default is 100ms).
	Tick time.Duration
	// Election is the least election timeout; each is drawn in [Election, 2*Election) from
	// the world's seed. 0 means 150ms (etcd's default is 1s, ten heartbeats).
	Election time.Duration
	// GroupCommit is how long a node gathers a Ready's writes before it syncs them (its
	// fsync comes as a separate event, after the writes' latency); 0 means 1ms.
	GroupCommit time.Duration
	// ClientTimeout is how long a client waits for one attempt; 0 means 100ms.
	ClientTimeout time.Duration
	// ClientAttempts bounds the attempts of one operation (redirects and timeouts) before
	// the client gives up on it (its outcome is then unknown); 0 means 20.
	ClientAttempts int
	// Think is the longest pause between a client's operations (drawn uniformly); 0 means 20ms.
	Think time.Duration
	// SnapshotEntries is how many entries a node applies between two snapshots (each
	// compacts the log but for the last SnapshotEntries/2 entries and rewrites the
	// write-ahead log); 0 means 200, -1 never. etcd's default is 10,000 (keeping 5,000):
	// scaled down so that a run of seconds compacts and sends snapshots.
	SnapshotEntries int
}

// Validate reports the first field of c out of range, as Start and Run would.
func (c Config) Validate() error { return c.defaults() }

func (c *Config) defaults() error {
	if c.Nodes != 3 && c.Nodes != 5 {
		return fmt.Errorf("raftkv: nodes = %d: want 3 or 5", c.Nodes)
	}
	if c.Clients < 1 || c.Clients > 64 {
		return fmt.Errorf("raftkv: clients = %d: want 1..64", c.Clients)
	}
	if c.Keys < 0 || c.Keys > 1024 {
		return fmt.Errorf("raftkv: keys = %d: want 0 (4) or 1..1024", c.Keys)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.Keys == 0 {
		c.Keys = 4
	}
	def(&c.Workload, 10*time.Second)
	def(&c.Tick, 30*time.Millisecond)
	def(&c.Election, 150*time.Millisecond)
	def(&c.GroupCommit, time.Millisecond)
	def(&c.ClientTimeout, 100*time.Millisecond)
	def(&c.Think, 20*time.Millisecond)
	if c.SnapshotEntries < -1 {
		return fmt.Errorf("raftkv: snapshot entries = %d: want -1 (never), 0 (200) or more", c.SnapshotEntries)
	}
	if c.SnapshotEntries == 0 {
		c.SnapshotEntries = 200
	}
	if c.ClientAttempts <= 0 {
		c.ClientAttempts = 20
	}
	if _, err := ParseBug(string(c.Bug)); err != nil {
		return fmt.Errorf("raftkv: %w", err)
	}
	return nil
}

// NodeAddr is node i's address (from 0): 10.0.0.1, 10.0.0.2, …; its raft ID is i+1.
func NodeAddr(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)}) }

// ClientAddr is client i's address (from 0): 10.0.1.1, 10.0.1.2, …
func ClientAddr(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 0, 1, byte(i + 1)}) }

// Cluster is the target running in a world: the nodes, the clients, the history they
// record and the invariants checked as the world runs.
type Cluster struct {
	w       *sim.World
	cfg     Config
	nodes   []*node // each node's current incarnation (nil before its first start)
	clients []*client

	history []porcupine.Operation
	inv     invariants
	// maxTerm and maxCommit are the highest term and commit index any node has made
	// durable: what an operator knows when a node comes back with an empty disk.
	maxTerm, maxCommit uint64
	// snapshots counts the snapshots nodes took (and their logs rewritten); installs, those
	// a node received from the leader and restored.
	snapshots, installs int
	failures            []string
	amnesia             []string
	floors              []floor // by node: set once it lost state
}

// floor is what an amnesiac node must not vote at or below, and must apply before voting.
type floor struct {
	set          bool
	vote, commit uint64
}

// Start spawns the nodes and the clients in w.
func Start(w *sim.World, cfg Config) (*Cluster, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	c := &Cluster{w: w, cfg: cfg, nodes: make([]*node, cfg.Nodes), floors: make([]floor, cfg.Nodes)}
	c.inv.init()
	for i := range cfg.Nodes {
		w.SpawnHandler(NodeAddr(i), func() sim.Handler {
			n := &node{c: c, id: i}
			c.nodes[i] = n
			return n
		})
	}
	for i := range cfg.Clients {
		cl := &client{c: c, id: i}
		c.clients = append(c.clients, cl)
		w.SpawnHandler(ClientAddr(i), func() sim.Handler { return cl })
	}
	return c, nil
}

// NodeAddrs lists the nodes' addresses: the nemesis's targets.
func (c *Cluster) NodeAddrs() []netip.Addr {
	out := make([]netip.Addr, c.cfg.Nodes)
	for i := range out {
		out[i] = NodeAddr(i)
	}
	return out
}

// Idle reports whether every client has finished its workload and has no operation open.
func (c *Cluster) Idle() bool {
	for _, cl := range c.clients {
		if !cl.done || cl.op != nil {
			return false
		}
	}
	return true
}

// Violated reports whether an invariant has failed.
func (c *Cluster) Violated() bool { return c.inv.failed() }

// History is every client operation so far, for porcupine: those still open, or given up,
// return at infinity with an unknown outcome.
func (c *Cluster) History() []porcupine.Operation {
	h := slices.Clone(c.history)
	for _, cl := range c.clients {
		if cl.op != nil && cl.op.in.Op != opGet {
			h = append(h, cl.op.unknown())
		}
	}
	return h
}

// fail records that node id crashed itself and restarts it 5ms later, as a storage engine
// does when its log cannot be trusted (a failed fsync is not retried).
func (c *Cluster) fail(n *node, what string, err error) {
	n.dead = true
	if len(c.failures) < 1000 {
		c.failures = append(c.failures, fmt.Sprintf("t=%s %s: %s: %v", c.w.Now(), NodeAddr(n.id), what, err))
	}
	n.p.CrashRestart(5 * time.Millisecond)
}

// Failures lists the times a node crashed itself because its disk failed it.
func (c *Cluster) Failures() []string { return slices.Clone(c.failures) }

// Amnesia lists the times a node came back without the state it had (a wiped disk).
func (c *Cluster) Amnesia() []string { return slices.Clone(c.amnesia) }

// Violations lists the invariant violations found, in order.
func (c *Cluster) Violations() []Violation { return slices.Clone(c.inv.list) }

// Seed is the world's seed (for reports).
func (c *Cluster) Seed() fault.Seed { return c.w.Seed() }
