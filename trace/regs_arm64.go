//go:build linux && arm64

package trace

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// arm64Regs are an arm64 thread's registers: the call number in x8, the arguments in x0..x5,
// the result in x0. x0 is overwritten by the result, so an argument read after the entry stop
// is the result: the tracer reads the arguments at the entry only. The kernel keeps the call
// number apart from x8 (regs->syscallno): changing it, to skip a call, takes
// PTRACE_SETREGSET with NT_ARM_SYSTEM_CALL, done by setRegs.
type arm64Regs struct {
	r     unix.PtraceRegs
	nr    int
	setNr bool
}

var _ regs = (*arm64Regs)(nil)

type archRegs = arm64Regs

// auditArch is the seccomp_data.arch of the calls the filter traces.
const auditArch = unix.AUDIT_ARCH_AARCH64

func getRegs(tid int) (*arm64Regs, error) {
	var a arm64Regs
	err := unix.PtraceGetRegs(tid, &a.r) // PTRACE_GETREGSET, NT_PRSTATUS
	a.nr = int(int64(a.r.Regs[8]))
	return &a, err
}

func setRegs(tid int, a *arm64Regs) error {
	if a.setNr {
		nr := int32(a.nr)
		iov := unix.Iovec{Base: (*byte)(unsafe.Pointer(&nr))}
		iov.SetLen(4)
		if _, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SETREGSET, uintptr(tid), unix.NT_ARM_SYSTEM_CALL,
			uintptr(unsafe.Pointer(&iov)), 0, 0); e != 0 {
			return e
		}
	}
	return unix.PtraceSetRegs(tid, &a.r)
}

func (a *arm64Regs) Syscall() int           { return a.nr }
func (a *arm64Regs) SetSyscall(nr int)      { a.nr, a.setNr = nr, true }
func (a *arm64Regs) Ret() int64             { return int64(a.r.Regs[0]) }
func (a *arm64Regs) SetRet(v int64)         { a.r.Regs[0] = uint64(v) }
func (a *arm64Regs) Arg(i int) uint64       { return a.r.Regs[i] }
func (a *arm64Regs) SetArg(i int, v uint64) { a.r.Regs[i] = v }
func (a *arm64Regs) StackPointer() uint64   { return a.r.Sp }
