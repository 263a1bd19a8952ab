//go:build linux

package trace

import (
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// errnoNames maps symbolic errno names (ENOENT) to numbers.
var errnoNames = func() map[string]int {
	e := map[string]int{}
	for n := 1; n < 4096; n++ {
		if name := unix.ErrnoName(syscall.Errno(n)); name != "" {
			e[name] = n
		}
	}
	// Aliases strace accepts that ErrnoName reports under another name.
	e["EWOULDBLOCK"] = int(unix.EWOULDBLOCK)
	e["EDEADLOCK"] = int(unix.EDEADLOCK)
	e["ENOTSUP"] = int(unix.ENOTSUP)
	return e
}()

// signalNum is the number of a signal name (SIGSEGV), 0 when unknown: unix.SignalNum, plus
// aliases strace accepts that unix reports under another name.
func signalNum(name string) int {
	switch name {
	case "SIGIOT":
		return int(unix.SIGIOT)
	case "SIGPOLL":
		return int(unix.SIGPOLL)
	}
	return int(unix.SignalNum(name))
}

func errnoName(n int) string {
	if s := unix.ErrnoName(syscall.Errno(n)); s != "" {
		return s
	}
	return "E" + strconv.Itoa(n)
}
