//go:build linux && amd64

package trace

import "golang.org/x/sys/unix"

type amd64Regs struct{ r unix.PtraceRegs }

type archRegs = amd64Regs

var _ regs = (*amd64Regs)(nil)

// auditArch is the seccomp_data.arch of the calls the filter traces (x32 calls share it, with
// bit 30 set in their numbers).
const auditArch = unix.AUDIT_ARCH_X86_64

func getRegs(tid int) (*amd64Regs, error) {
	var a amd64Regs
	err := unix.PtraceGetRegs(tid, &a.r)
	return &a, err
}

func setRegs(tid int, a *amd64Regs) error { return unix.PtraceSetRegs(tid, &a.r) }

func (a *amd64Regs) Syscall() int           { return int(int64(a.r.Orig_rax)) }
func (a *amd64Regs) SetSyscall(nr int)      { a.r.Orig_rax = uint64(int64(nr)) }
func (a *amd64Regs) Ret() int64             { return int64(a.r.Rax) }
func (a *amd64Regs) SetRet(v int64)         { a.r.Rax = uint64(v) }
func (a *amd64Regs) Arg(i int) uint64       { return *a.arg(i) }
func (a *amd64Regs) SetArg(i int, v uint64) { *a.arg(i) = v }
func (a *amd64Regs) StackPointer() uint64   { return a.r.Rsp }

func (a *amd64Regs) arg(i int) *uint64 {
	switch i {
	case 0:
		return &a.r.Rdi
	case 1:
		return &a.r.Rsi
	case 2:
		return &a.r.Rdx
	case 3:
		return &a.r.R10
	case 4:
		return &a.r.R8
	default:
		return &a.r.R9
	}
}
