// Package cluster is the dbctl lab's replicated key-value model: a leader and two followers
// that replicate a log of Put and Del operations, run as a pure deterministic state machine
// (no I/O, no clock, no goroutines, no globals), so that one (seed, ops, keys, scenario)
// always yields the same snapshot bytes.
//
// The model follows ../shared/specs/dbctl-lab.md rule for rule; independent Rust and C++ ports
// under conformance/dbctl reproduce the same SHA-256 of the snapshot, and two of those hashes
// are frozen (NormalHash, FaultHash). Any change to a rule here changes the hashes.
//
// The usual entry point is Run, which drives a whole workload and returns the final cluster
// and a Summary of what happened; Cluster.Snapshot encodes it and Hash digests it. The
// single-step methods (Submit, SetFollowerUp, CatchUp) let tests drive the model by hand.
package cluster
