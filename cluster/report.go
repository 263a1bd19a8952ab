package cluster

import (
	"fmt"
	"strings"
)

// Report is the human summary of a run: the workload, the snapshot hash, the fault window and
// what follower 1 missed and caught up, and each node's log length, commit index and key count.
func Report(c *Cluster, s Summary) string {
	var b strings.Builder
	p := s.Params
	fmt.Fprintf(&b, "workload  seed %d, ops %d, keys %d, scenario %s\n", p.Seed, p.Ops, p.Keys, p.Scenario)
	fmt.Fprintf(&b, "sha256    %s (%d snapshot bytes)\n", c.Hash(), c.SnapshotSize())
	if p.Scenario == Fault {
		fmt.Fprintf(&b, "fault     follower 1 down for ops [%d, %d): missed %d entries, caught up %d\n",
			s.DownStart, s.DownEnd, s.Missed, s.CaughtUp)
	} else {
		b.WriteString("fault     none: every node up for the whole run\n")
	}
	if s.Unacked > 0 {
		fmt.Fprintf(&b, "unacked   %d submissions did not reach a quorum\n", s.Unacked)
	}
	for i := range c.Nodes {
		n := &c.Nodes[i]
		role := "follower"
		if i == 0 {
			role = "leader"
		}
		fmt.Fprintf(&b, "node %d    %-8s log %d, commit %d, keys %d\n", n.ID, role, len(n.Log), n.CommitIndex, len(n.KV))
	}
	return b.String()
}
