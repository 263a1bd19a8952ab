package main

import (
	"fmt"
	"strconv"

	"github.com/faultbox/faultbox/cluster"
	"github.com/faultbox/faultbox/fault"
	"github.com/faultbox/faultbox/internal/shellquote"
)

// report is a run as a fault.Report: the figures 'show' prints, the fault of the scenario,
// the checks the model must pass (the followers hold the leader's log, every submission
// reached a quorum, catch-up replayed what follower 1 missed, the frozen hash where one is
// frozen) and the command line that replays it. A run of no operations replicated nothing:
// its verdict is empty.
func report(path string, c *cluster.Cluster, s cluster.Summary) *fault.Report {
	p := s.Params
	r := fault.NewReport(path, fault.Seed(p.Seed))
	r.Target = "3-node replicated log (leader, 2 followers)"
	hash := c.Hash()
	r.Add("ops", p.Ops)
	r.Add("keys", p.Keys)
	r.Add("scenario", p.Scenario)
	r.Add("sha256", hash)
	r.Add("snapshot bytes", c.SnapshotSize())
	if p.Scenario == cluster.Fault {
		r.Add("follower 1 down", fmt.Sprintf("ops [%d, %d)", s.DownStart, s.DownEnd))
		r.Add("missed", s.Missed)
		r.Add("caught up", s.CaughtUp)
		r.SetFaults([]fault.Count{{Layer: fault.LayerProcess, Kind: "down", N: 1}})
	}
	r.Add("unacknowledged", s.Unacked)
	leader := &c.Nodes[0]
	agree, detail := true, ""
	for i := range c.Nodes {
		n := &c.Nodes[i]
		role := "follower"
		if i == 0 {
			role = "leader"
		}
		r.Add(fmt.Sprintf("node %d %s", n.ID, role), fmt.Sprintf("log %d, commit %d, keys %d", len(n.Log), n.CommitIndex, len(n.KV)))
		if i > 0 && (len(n.Log) != len(leader.Log) || n.CommitIndex != leader.CommitIndex || len(n.KV) != len(leader.KV)) {
			agree = false
			detail += fmt.Sprintf("node %d: log %d, commit %d; ", n.ID, len(n.Log), n.CommitIndex)
		}
	}
	if agree {
		detail = fmt.Sprintf("every node: log %d, commit %d", len(leader.Log), leader.CommitIndex)
	}
	r.Check("followers hold the leader's log", agree, "%s", detail)
	r.Check("every submission reached a quorum", s.Unacked == 0, "%d of %d unacknowledged", s.Unacked, p.Ops)
	if p.Scenario == cluster.Fault {
		r.Check("catch-up replayed what follower 1 missed", s.CaughtUp == s.Missed, "missed %d, caught up %d", s.Missed, s.CaughtUp)
	}
	if frozen := cluster.FrozenHash(p); frozen != "" {
		r.Check("snapshot matches the frozen hash", hash == frozen, "%s", frozen)
	}
	r.Judge()
	if p.Ops == 0 {
		r.Verdict = fault.Empty
		r.Note("no operations: nothing was replicated, so nothing was checked")
	}
	r.Replay = path + " " + shellquote.Quote("workload", "--seed", strconv.FormatUint(p.Seed, 10), "--ops", strconv.FormatUint(p.Ops, 10),
		"--keys", strconv.FormatUint(p.Keys, 10), "--scenario", p.Scenario.String())
	return r
}
