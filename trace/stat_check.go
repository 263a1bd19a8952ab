//go:build linux && (amd64 || arm64)

package trace

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// The struct stat layout constants are checked against x/sys/unix's Stat_t as the package
// compiles, for each architecture it is built for: a wrong one is an index out of range here.
var (
	_ = [1]int{}[statLen-unsafe.Sizeof(unix.Stat_t{})]
	_ = [1]int{}[statModeOff-unsafe.Offsetof(unix.Stat_t{}.Mode)]
	_ = [1]int{}[statRdevOff-unsafe.Offsetof(unix.Stat_t{}.Rdev)]
	_ = [1]int{}[statSizeOff-unsafe.Offsetof(unix.Stat_t{}.Size)]
)
