//go:build linux && (amd64 || arm64)

package trace

import "golang.org/x/sys/unix"

// callRegs is a thread stopped at a call's entry: the call number and arguments come from one
// PTRACE_GET_SYSCALL_INFO request (Linux 5.3+), and the registers are read (and written back
// by flush) only when something changes them: a fault that skips the call, shortens it or
// sets its result. Before Linux 5.3 the registers are read at once instead.
type callRegs struct {
	tid  int
	info syscallInfo
	full *archRegs // nil until a change needs the registers
	err  error     // reading them failed: changes go nowhere
}

var _ regs = (*callRegs)(nil)

// readCall reads the call tid is stopped at. info, when not nil, is a PTRACE_GET_SYSCALL_INFO
// already made at this stop (an attached process's entry stop).
func readCall(tid int, info *syscallInfo) (*callRegs, error) {
	c := &callRegs{tid: tid}
	if info != nil {
		c.info = *info
		return c, nil
	}
	var err error
	c.info, err = syscallStopInfo(tid)
	switch {
	case err == unix.ESRCH:
		return nil, err
	case err == nil && (c.info.Op == unix.PTRACE_SYSCALL_INFO_SECCOMP || c.info.Op == unix.PTRACE_SYSCALL_INFO_ENTRY):
		return c, nil
	}
	full, err := getRegs(tid) // an older kernel
	if err != nil {
		return nil, err
	}
	c.full = full
	return c, nil
}

func (c *callRegs) regs() *archRegs {
	if c.full == nil {
		if c.full, c.err = getRegs(c.tid); c.err != nil {
			c.full = &archRegs{}
		}
	}
	return c.full
}

// flush writes the registers back if a change read them.
func (c *callRegs) flush() error {
	if c.full == nil || c.err != nil {
		return c.err
	}
	return setRegs(c.tid, c.full)
}

func (c *callRegs) Syscall() int {
	if c.full != nil {
		return c.full.Syscall()
	}
	return int(int64(c.info.Nr))
}

func (c *callRegs) Arg(i int) uint64 {
	if c.full != nil {
		return c.full.Arg(i)
	}
	return c.info.Args[i]
}

func (c *callRegs) StackPointer() uint64 {
	if c.full != nil {
		return c.full.StackPointer()
	}
	return c.info.SP
}

func (c *callRegs) SetSyscall(nr int)      { c.regs().SetSyscall(nr) }
func (c *callRegs) SetArg(i int, v uint64) { c.regs().SetArg(i, v) }
func (c *callRegs) Ret() int64             { return c.regs().Ret() }
func (c *callRegs) SetRet(v int64)         { c.regs().SetRet(v) }
