// Package bench holds benchmarks that compare faultbox with its peers side by side in one run.
// It is its own module so that the main module never depends on the peers.
package bench
