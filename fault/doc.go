// Package fault is the vocabulary every faultbox layer shares: the seed that reproduces a run,
// the independent random streams derived from it by stable names, the fault event each layer
// reports when it injects a fault, the log that collects events from several layers in one
// order, and the report every command prints.
//
// # Seeds and streams
//
// A Seed is a uint64, written in decimal or as 0x-prefixed hex (ParseSeed, and Seed as a
// flag.Value). Seed.Derive names an independent sub-seed by a path of parts, and
// Seed.Stream turns one into a *rand.Rand on math/rand/v2's PCG source:
//
//	r := seed.Stream("disk", "10.0.0.2:7000", "incarnation 3", "sync")
//
// Two streams with different names are independent; the same seed and name always give the
// same numbers. Decisions that must not depend on the order in which they are asked for (a
// read fault keyed by the location read, a fail point's n-th draw, a traced call's address)
// use Seed.Hash and Unit instead: a pure function of the seed and the values hashed.
//
// # Events, logs and reports
//
// An Event is one injected fault: the layer that injected it, its kind, the process and
// place it hit, when (on a virtual or a wall clock) and a detail. Its text form (String) and
// JSON-lines form (WriteJSONL, ReadJSONL) are stable: on a virtual clock, two runs with the
// same seed and workload print the same bytes. A Log collects events from every layer of a
// run in the order they were recorded and counts them by layer and kind, even past its
// limit of kept events. A Report is what a command prints when a run ends: what ran, with
// which seed, the faults injected by layer and kind, the verdict and the checks behind it,
// as text or JSON.
//
// # What is not reproducible
//
// A Log is ordered by the calls to Record. When several goroutines record concurrently
// (fail points evaluated by real goroutines, a traced program's threads), that order, and
// every wall-clock time, depends on scheduling; only events on a virtual clock recorded by a
// single-threaded driver (the disk layer under a simulation, a torture run) are byte for byte
// reproducible. The counts by layer and kind do not depend on order.
package fault
