//go:build !linux

package raftkv

import "time"

// cpuTime is not measured off Linux: the benchmarks report 0.
func cpuTime() time.Duration { return 0 }
