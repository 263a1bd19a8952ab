// Command dbctl runs the dbctl lab's replicated key-value model (package cluster) on a seeded
// workload and prints its snapshot hash, its raw snapshot or a human summary.
package main
