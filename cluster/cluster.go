package cluster

import "fmt"

// Kind is what an operation does to the key-value map.
type Kind uint8

// The encoding of Kind in a snapshot is its numeric value.
const (
	Put Kind = 0
	Del Kind = 1
)

func (k Kind) String() string {
	switch k {
	case Put:
		return "Put"
	case Del:
		return "Del"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Op is one client operation. V is meaningless for Del (and encoded as 0).
type Op struct {
	Kind Kind
	K    int64
	V    int64
}

// StepOp draws the next operation from r over keys distinct keys. It always draws three words
// (kind, key, value), also for Del, so that the stream stays aligned whatever the kinds are.
// keys must be at least 1.
func StepOp(r *Rand, keys uint64) Op {
	if keys == 0 {
		panic("cluster: StepOp with keys == 0")
	}
	r1, r2, r3 := r.Next(), r.Next(), r.Next()
	kind := Put
	if (r1>>62)&3 == 3 {
		kind = Del
	}
	return Op{Kind: kind, K: int64(r2 % keys), V: int64(r3 % 1000)}
}

// Entry is one log entry. Index is 1-based.
type Entry struct {
	Term  uint64
	Index uint64
	Op    Op
}

// Node is one replica: its log, its commit point and the key-value map built by applying the
// committed prefix of the log.
type Node struct {
	ID          uint8
	Term        uint64
	CommitIndex uint64
	LastApplied uint64 // not part of the snapshot
	Log         []Entry
	KV          map[int64]int64
	Up          bool // not part of the snapshot
}

func newNode(id uint8) Node {
	return Node{ID: id, Term: 1, KV: make(map[int64]int64), Up: true}
}

// append adds e to the log. An entry whose index is already present is accepted and changes
// nothing; any index other than len+1 is a bug in the caller.
func (n *Node) append(e Entry) {
	length := uint64(len(n.Log))
	if e.Index <= length {
		return
	}
	if e.Index != length+1 {
		panic(fmt.Sprintf("cluster: node %d: append of index %d to a log of length %d", n.ID, e.Index, length))
	}
	n.Log = append(n.Log, e)
}

// applyCommitted applies every committed entry that has not been applied yet, in log order.
func (n *Node) applyCommitted() {
	for n.LastApplied < n.CommitIndex {
		op := n.Log[n.LastApplied].Op
		switch op.Kind {
		case Put:
			n.KV[op.K] = op.V
		case Del:
			delete(n.KV, op.K)
		}
		n.LastApplied++
	}
}

// Cluster is three nodes: 0 is the leader (never down), 1 and 2 are followers.
type Cluster struct {
	Nodes [3]Node
}

// New returns a cluster with every node up, at term 1, with empty logs.
func New() *Cluster {
	c := &Cluster{}
	for i := range c.Nodes {
		c.Nodes[i] = newNode(uint8(i))
	}
	return c
}

// Submit replicates op: the leader appends it, each follower that is up appends it, and if at
// least two nodes acknowledge it, it commits on the leader and then on every follower whose log
// holds it. A down follower never acknowledges, whatever its log holds. It returns the number
// of acknowledgements.
func (c *Cluster) Submit(op Op) int {
	leader := &c.Nodes[0]
	idx := uint64(len(leader.Log)) + 1
	e := Entry{Term: leader.Term, Index: idx, Op: op}
	leader.append(e)
	for i := 1; i < len(c.Nodes); i++ {
		if c.Nodes[i].Up {
			c.Nodes[i].append(e)
		}
	}
	acks := 1
	for i := 1; i < len(c.Nodes); i++ {
		f := &c.Nodes[i]
		if f.Up && uint64(len(f.Log)) >= idx {
			acks++
		}
	}
	if acks >= 2 {
		leader.CommitIndex = idx
		leader.applyCommitted()
		for i := 1; i < len(c.Nodes); i++ {
			f := &c.Nodes[i]
			if uint64(len(f.Log)) >= idx {
				f.CommitIndex = idx
				f.applyCommitted()
			}
		}
	}
	return acks
}

// SetFollowerUp marks follower fid (1 or 2) up or down. The leader never goes down.
func (c *Cluster) SetFollowerUp(fid int, up bool) {
	mustFollower(fid)
	c.Nodes[fid].Up = up
}

// CatchUp brings follower fid level with the leader: it appends the leader's entries that it
// lacks and adopts the leader's commit index. It reads the leader's log and commit index
// first; append copies each entry into the follower's own array, so the two logs never share
// memory. It returns how many entries it appended.
func (c *Cluster) CatchUp(fid int) int {
	mustFollower(fid)
	leaderLog, leaderCommit := c.Nodes[0].Log, c.Nodes[0].CommitIndex
	f := &c.Nodes[fid]
	appended := 0
	for len(f.Log) < len(leaderLog) {
		f.append(leaderLog[len(f.Log)])
		appended++
	}
	if f.CommitIndex < leaderCommit {
		f.CommitIndex = leaderCommit
		f.applyCommitted()
	}
	return appended
}

func mustFollower(fid int) {
	if fid != 1 && fid != 2 {
		panic(fmt.Sprintf("cluster: follower id %d, want 1 or 2", fid))
	}
}
