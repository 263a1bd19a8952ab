//go:build linux && (amd64 || arm64)

package trace

import (
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The tracee is started through a small re-executed helper: the running binary (faultbox, or a
// test binary that imports this package) is started again with helperEnv set. Its init, which
// Go runs on the main thread before main, installs the seccomp filter on that thread, stops
// itself with SIGSTOP so that the tracer can seize it, and then executes the target in place.
// The target thus starts already traced and already filtered: only the listed system calls
// stop; every other call runs at native speed.
const helperEnv = "FAULTBOX_TRACE_HELPER"

// helperParentEnv carries the tracer's pid: the helper checks that its parent is still that
// process after asking to be killed when its parent dies, so that a tracer dying before it
// seized the helper never leaves it stopped and orphaned.
const helperParentEnv = "FAULTBOX_TRACE_PARENT"

// helperTimensEnv carries the clock offsets of a time namespace for the command, as
// /proc/self/timens_offsets takes them ("monotonic SECS NSECS\nboottime SECS NSECS").
const helperTimensEnv = "FAULTBOX_TRACE_TIMENS"

func init() {
	spec, ok := os.LookupEnv(helperEnv)
	if !ok {
		return
	}
	os.Exit(runHelper(spec))
}

func runHelper(spec string) int {
	_ = os.Unsetenv(helperEnv)
	parent, _ := strconv.Atoi(os.Getenv(helperParentEnv))
	_ = os.Unsetenv(helperParentEnv)
	timens, hasTimens := os.LookupEnv(helperTimensEnv)
	_ = os.Unsetenv(helperTimensEnv)
	args := os.Args[1:]
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "faultbox: trace helper: no command")
		return 127
	}
	var nrs []int
	if spec != "" {
		for _, f := range strings.Split(spec, ",") {
			n, err := strconv.Atoi(f)
			if err != nil {
				fmt.Fprintf(os.Stderr, "faultbox: trace helper: bad syscall list %q\n", spec)
				return 127
			}
			nrs = append(nrs, n)
		}
	}
	// Resolve the path before the filter is in place.
	path, err := exec.LookPath(args[0])
	if err != nil {
		fmt.Fprintf(os.Stderr, "faultbox: %v\n", err)
		return 127
	}
	if hasTimens {
		// A new time namespace for the command: its offsets are set before any process is in
		// it, and the command enters it at its execve (a new mm switches to the namespace
		// for children, Linux 5.18+).
		if err := unix.Unshare(unix.CLONE_NEWTIME); err != nil {
			fmt.Fprintf(os.Stderr, "faultbox: trace helper: unshare(CLONE_NEWTIME) for the clock offsets: %v\n", err)
			return 127
		}
		if err := os.WriteFile("/proc/self/timens_offsets", []byte(timens), 0); err != nil {
			fmt.Fprintf(os.Stderr, "faultbox: trace helper: clock offsets %q: %v\n", timens, err)
			return 127
		}
	}
	// Until the tracer has seized it (then PTRACE_O_EXITKILL takes over) the helper dies with
	// its parent; the parent may have died before the request, hence the check after it.
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		fmt.Fprintf(os.Stderr, "faultbox: trace helper: prctl(PDEATHSIG): %v\n", err)
		return 127
	}
	if parent != 0 && unix.Getppid() != parent {
		return 127 // the tracer is gone
	}
	// Stop first, filter after: once the tracer has seized this thread, the filter may trace
	// anything (kill and execve included) without the helper tripping over it.
	if err := unix.Kill(unix.Getpid(), unix.SIGSTOP); err != nil {
		return 127
	}
	// Seized and continued: the command must not inherit the parent-death signal (it survives
	// execve), the tracer's death is handled by EXITKILL.
	_ = unix.Prctl(unix.PR_SET_PDEATHSIG, 0, 0, 0, 0)
	prog := seccompFilter(nrs)
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		fmt.Fprintf(os.Stderr, "faultbox: trace helper: prctl(NO_NEW_PRIVS): %v\n", err)
		return 127
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	if _, _, e := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0,
		uintptr(unsafe.Pointer(&fprog))); e != 0 {
		fmt.Fprintf(os.Stderr, "faultbox: trace helper: seccomp: %v\n", e)
		return 127
	}
	err = unix.Exec(path, args, os.Environ())
	fmt.Fprintf(os.Stderr, "faultbox: exec %s: %v\n", path, err)
	return 127
}

// seccompFilter builds a classic BPF program that returns SECCOMP_RET_TRACE for the listed
// system calls of the native ABI (x86-64, arm64) and SECCOMP_RET_ALLOW for everything else (other ABIs included). The
// numbers are searched as a binary tree, so that an untraced call (the common case, which must
// run at native speed) costs a handful of instructions however many calls are traced.
func seccompFilter(nrs []int) []unix.SockFilter {
	const (
		offNr   = 0 // offsetof(struct seccomp_data, nr)
		offArch = 4 // offsetof(struct seccomp_data, arch)
	)
	sorted := append([]int(nil), nrs...)
	sort.Ints(sorted)
	head := []unix.SockFilter{
		stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, offArch),
		jump(unix.BPF_JEQ, auditArch, 1, 0),
		stmt(unix.BPF_RET|unix.BPF_K, unix.SECCOMP_RET_ALLOW),
		stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, offNr),
	}
	if tree, ok := bpfTree(sorted); ok {
		return append(head, tree...)
	}
	return append(head, bpfList(sorted)...)
}

func stmt(code uint16, k uint32) unix.SockFilter { return unix.SockFilter{Code: code, K: k} }

func jump(op uint16, k uint32, jt, jf uint8) unix.SockFilter {
	return unix.SockFilter{Code: unix.BPF_JMP | op | unix.BPF_K, K: k, Jt: jt, Jf: jf}
}

// bpfList tests each number in turn.
func bpfList(nrs []int) []unix.SockFilter {
	var p []unix.SockFilter
	for _, nr := range nrs {
		p = append(p, jump(unix.BPF_JEQ, uint32(nr), 0, 1), stmt(unix.BPF_RET|unix.BPF_K, unix.SECCOMP_RET_TRACE))
	}
	return append(p, stmt(unix.BPF_RET|unix.BPF_K, unix.SECCOMP_RET_ALLOW))
}

// bpfTree splits the sorted numbers in halves: "nr >= middle" jumps to the upper half's code,
// which comes first, else over it to the lower half's. It fails when a jump would exceed
// classic BPF's 255-instruction reach.
func bpfTree(nrs []int) ([]unix.SockFilter, bool) {
	if len(nrs) <= 4 {
		return bpfList(nrs), true
	}
	mid := len(nrs) / 2
	hi, ok1 := bpfTree(nrs[mid:])
	lo, ok2 := bpfTree(nrs[:mid])
	if !ok1 || !ok2 || len(hi) > 255 {
		return nil, false
	}
	p := append([]unix.SockFilter{jump(unix.BPF_JGE, uint32(nrs[mid]), 0, uint8(len(hi)))}, hi...)
	return append(p, lo...), true
}
