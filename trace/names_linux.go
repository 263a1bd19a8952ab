//go:build linux

package trace

import (
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// errnoNames and signalNames map symbolic names (ENOENT, SIGSEGV) to numbers.
var errnoNames, signalNames = func() (map[string]int, map[string]int) {
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
	s := map[string]int{}
	for n := 1; n < 65; n++ {
		if name := unix.SignalName(syscall.Signal(n)); name != "" {
			s[name] = n
		}
	}
	s["SIGIOT"] = int(unix.SIGIOT)
	s["SIGPOLL"] = int(unix.SIGPOLL)
	return e, s
}()

func errnoName(n int) string {
	if s := unix.ErrnoName(syscall.Errno(n)); s != "" {
		return s
	}
	return "E" + strconv.Itoa(n)
}
