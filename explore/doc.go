// Package explore runs a system many times, aims faults at the events that matter, and hands
// back the smallest failing run with the one command that replays it.
//
// A run is (target, seed, fault plan); its verdict comes from the target's checks. Three
// strategies choose the runs: random (new seeds, faults drawn from the target's profile),
// aimed (time of fault: single faults at each distinct communication or storage event of a
// baseline run, then pairs) and lineage (faults that cut the supports of a good outcome: the
// messages and writes its final state depends on, smallest sets first). Each run is
// abstracted to a signature (the cross-process structure of its communication and its
// faults, not timings or pids), and the report draws the curve of distinct signatures
// against runs: the long tail where time-of-fault bugs live. Each distinct failure's plan is
// shrunk by delta debugging to a minimal plan that still fails the same check.
//
// Runs are chosen as a pure function of the options (and of the baseline run, which is
// itself deterministic), so an exploration repeats, in parallel (Workers) or split into
// shards (Shard, Shards) whose results merge (Merge) into exactly the single machine's.
// A wall-clock Budget is the exception: it decides how many runs are done.
package explore
