package cluster_test

import (
	"fmt"

	"github.com/faultbox/faultbox/cluster"
)

// Run a frozen workload and check its hash.
func ExampleRun() {
	c, s, err := cluster.Run(cluster.Params{Seed: 7, Ops: 2000, Keys: 128, Scenario: cluster.Fault})
	if err != nil {
		panic(err)
	}
	fmt.Println(cluster.HashSnapshot(c.Snapshot()) == cluster.FaultHash)
	fmt.Printf("follower 1 down for [%d, %d), missed %d, caught up %d\n", s.DownStart, s.DownEnd, s.Missed, s.CaughtUp)
	// Output:
	// true
	// follower 1 down for [1000, 1500), missed 500, caught up 500
}

// Drive the model by hand: with both followers down, nothing commits.
func ExampleCluster_Submit() {
	c := cluster.New()
	c.SetFollowerUp(1, false)
	fmt.Println(c.Submit(cluster.Op{Kind: cluster.Put, K: 1, V: 10}))
	c.SetFollowerUp(2, false)
	fmt.Println(c.Submit(cluster.Op{Kind: cluster.Put, K: 2, V: 20}), c.Nodes[0].CommitIndex)
	// Output:
	// 2
	// 1 1
}
