//go:build linux

package trace

// regs is a stopped thread's registers as the tracer needs them: the one place that knows
// which register holds the call number, the arguments and the result, so that another
// architecture (arm64) only has to provide its own implementation.
type regs interface {
	Syscall() int
	SetSyscall(nr int) // -1 skips the call
	Arg(i int) uint64  // i in 0..5; at the entry stop only (arm64's x0 is the result at the exit)
	SetArg(i int, v uint64)
	Ret() int64
	SetRet(v int64)
	StackPointer() uint64
}
