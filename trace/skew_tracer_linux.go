//go:build linux && (amd64 || arm64)

package trace

import (
	"encoding/binary"
	"time"

	"golang.org/x/sys/unix"
)

// skew adds d to the time a clock call of tk returned (ret, its result, 0 or the time for
// time(2)); it returns the result the thread must see.
func (t *tracer) skew(tk *task, c *callState, ret int64, d time.Duration) int64 {
	// struct timespec and struct timeval: two 64-bit words, seconds then ns or µs.
	addTo := func(addr uint64, unit int64) {
		var b [16]byte
		if addr == 0 || !t.readMem(tk.tid, addr, b[:]) {
			return
		}
		sec := int64(binary.LittleEndian.Uint64(b[0:]))
		frac := int64(binary.LittleEndian.Uint64(b[8:]))
		perSec := int64(time.Second) / unit
		total := time.Duration(sec)*time.Second + time.Duration(frac*unit) + d
		sec, frac = int64(total/time.Second), int64(total%time.Second)/unit
		if frac < 0 {
			sec, frac = sec-1, frac+perSec
		}
		binary.LittleEndian.PutUint64(b[0:], uint64(sec))
		binary.LittleEndian.PutUint64(b[8:], uint64(frac))
		t.writeMem(tk.tid, addr, b[:])
	}
	switch c.nr {
	case sysClockGettime:
		addTo(c.args[1], 1)
	case sysGettimeofday:
		addTo(c.args[0], int64(time.Microsecond))
	default: // time(2): the result, and *tloc when given
		ret += int64(d / time.Second)
		if c.args[0] != 0 {
			var b [8]byte
			binary.LittleEndian.PutUint64(b[:], uint64(ret))
			t.writeMem(tk.tid, c.args[0], b[:])
		}
	}
	return ret
}

func (t *tracer) writeMem(tid int, addr uint64, b []byte) bool {
	n, err := unix.ProcessVMWritev(tid, []unix.Iovec{{Base: &b[0], Len: uint64(len(b))}},
		[]unix.RemoteIovec{{Base: uintptr(addr), Len: len(b)}}, 0)
	return err == nil && n == len(b)
}

// Auxiliary vector entry types (elf.h).
const (
	atNull        = 0
	atIgnore      = 1
	atSysinfoEhdr = 33
)

// hideVDSO makes a process that has just executed unable to find the vDSO: at the exec stop,
// before the dynamic loader (or the Go runtime) reads its auxiliary vector, the tracer turns
// the AT_SYSINFO_EHDR entry on its stack into AT_IGNORE. The C library and the Go runtime then
// make every clock_gettime, gettimeofday and time a system call (both fall back to the call
// when there is no vDSO), which the tracer sees. The stack at that point holds argc, the
// argument pointers, NULL, the environment pointers, NULL, then the auxiliary vector.
func (t *tracer) hideVDSO(tid int) bool {
	r, err := getRegs(tid)
	if err != nil {
		return false
	}
	sp := r.StackPointer()
	word := func(addr uint64) (uint64, bool) {
		var b [8]byte
		ok := t.readMem(tid, addr, b[:])
		return binary.LittleEndian.Uint64(b[:]), ok
	}
	argc, ok := word(sp)
	if !ok || argc > 1<<20 {
		return false
	}
	p := sp + 8*(argc+2) // past argc, the arguments and their NULL
	for i := 0; ; i++ {  // the environment, to its NULL
		v, ok := word(p)
		if !ok || i > 1<<20 {
			return false
		}
		p += 8
		if v == 0 {
			break
		}
	}
	for i := 0; i < 256; i++ {
		typ, ok := word(p)
		if !ok || typ == atNull {
			return false
		}
		if typ == atSysinfoEhdr {
			var b [8]byte
			binary.LittleEndian.PutUint64(b[:], atIgnore)
			return t.writeMem(tid, p, b[:])
		}
		p += 16
	}
	return false
}
