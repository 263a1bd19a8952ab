//go:build linux && (amd64 || arm64)

package trace

import (
	"encoding/binary"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// stat is the -c row of a call, created at its first entry.
func (t *tracer) stat(name string) *CallStat {
	s := t.stats[name]
	if s == nil {
		s = &CallStat{}
		t.stats[name] = s
	}
	return s
}

// finishStat adds a completed call's time and error to its -c row.
func (t *tracer) finishStat(c *callState, ret int64) {
	c.stat.Time += time.Since(c.enterAt)
	if ret < 0 && ret > -4096 {
		c.stat.Errors++
	}
}

// textLine writes a completed call's line to the text trace, strace's way:
// [pid N] name(args) = ret (INJECTED).
func (t *tracer) textLine(tk *task, c *callState, ret int64, finished bool) {
	if t.text == nil {
		return
	}
	st := StatusSuccessful
	switch {
	case !finished:
		st = StatusUnfinished
	case ret < 0 && ret > -4096:
		st = StatusFailed
	}
	if !t.cfg.TextOptions.Status.Has(st) || !t.reported(c) {
		return
	}
	var b strings.Builder
	b.WriteString("[pid ")
	b.WriteString(strconv.Itoa(tk.tid))
	b.WriteString("] ")
	start := b.Len()
	name := sysName(c.nr)
	b.WriteString(name)
	b.WriteByte('(')
	b.WriteString(t.argsText(tk, c, ret, finished))
	b.WriteByte(')')
	if pad := 39 - (b.Len() - start); pad > 0 {
		b.WriteString(strings.Repeat(" ", pad))
	}
	b.WriteString(" = ")
	if !finished {
		b.WriteString("?")
	} else {
		b.WriteString(retText(ret))
		if ret >= 0 && t.cfg.TextOptions.FdPaths && callRetFd[c.nr] {
			if ep := t.eps.resolveCached(tk.proc.pid, tk.tid, int(ret)); ep != nil {
				b.WriteString("<" + endpointText(ep) + ">")
			}
		}
	}
	if c.mark != "" {
		b.WriteString(" (" + c.mark + ")")
	}
	b.WriteByte('\n')
	t.text.WriteString(b.String())
}

// textExit writes how a process ended: +++ exited with N +++ or +++ killed by SIG +++.
func (t *tracer) textExit(pid int, status string) {
	if t.text == nil {
		return
	}
	if n, ok := strings.CutPrefix(status, "exit "); ok {
		status = "exited with " + n
	}
	t.text.WriteString("[pid " + strconv.Itoa(pid) + "] +++ " + status + " +++\n")
}

// keepInput reads, at a call's entry, the start of the buffer it sends or writes, so that the
// text trace shows it even when the process dies in the call.
func (t *tracer) keepInput(tk *task, c *callState) {
	if t.text == nil || !callInBuf[c.nr] || c.args[1] == 0 {
		return
	}
	n := min(int64(c.args[2]), int64(t.cfg.TextOptions.strSize()))
	if n < 0 {
		return
	}
	b := make([]byte, n)
	if t.readMem(tk.tid, c.args[1], b) {
		c.inBuf = b
	}
}

// callInBuf are the calls whose second argument is a buffer they read, its size the third.
var callInBuf = names("write", "pwrite64", "sendto")

// callRetFd are the calls whose result is a new descriptor (-y shows what it is).
var callRetFd = names("open", "openat", "openat2", "creat", "socket", "accept", "accept4", "dup", "dup2",
	"dup3", "epoll_create1", "eventfd2", "memfd_create", "timerfd_create", "signalfd4", "pidfd_open")

// nargs is how many arguments the calls the text trace does not decode take (others: 6).
var nargs = map[string]int{
	"fcntl": 3, "ioctl": 3, "mmap": 6, "munmap": 2, "mprotect": 3, "brk": 1, "getdents64": 3,
	"fadvise64": 4, "futex": 6, "poll": 3, "ppoll": 5, "epoll_wait": 4, "epoll_pwait": 6,
	"epoll_ctl": 4, "select": 5, "pselect6": 6, "nanosleep": 2, "clock_nanosleep": 4,
	"getrandom": 3, "ftruncate": 2, "fallocate": 4, "sync_file_range": 4, "rt_sigaction": 4,
	"rt_sigprocmask": 4, "kill": 2, "tgkill": 3, "wait4": 4, "clone": 5, "clone3": 2,
	"execve": 3, "sendmsg": 3, "recvmsg": 3, "sendmmsg": 4, "recvmmsg": 5, "splice": 6,
	"tee": 4, "rename": 2, "renameat": 4, "renameat2": 5, "statx": 5, "getpid": 0,
	"getppid": 0, "gettid": 0, "sched_yield": 0, "sync": 0, "fork": 0, "vfork": 0,
}

// argsText decodes a call's arguments for the text trace: descriptors (with -y what they
// are), paths, buffers (up to -s bytes), flags and socket addresses for the common calls,
// the rest in hex. Buffers a call fills are read at its exit, others as they still are then.
func (t *tracer) argsText(tk *task, c *callState, ret int64, finished bool) string {
	a := c.args
	name := sysName(c.nr)
	limit := t.cfg.TextOptions.strSize()
	fd := func(i int) string {
		n := int(int32(a[i]))
		s := strconv.Itoa(n)
		if t.cfg.TextOptions.FdPaths && n >= 0 {
			ep := c.e.Endpoint
			if i != 0 || c.e.Fd != n || ep == nil {
				ep = t.eps.resolveCached(tk.proc.pid, tk.tid, n)
			}
			if txt := endpointText(ep); txt != "" {
				s += "<" + txt + ">"
			}
		}
		return s
	}
	ptr := func(i int) string {
		if a[i] == 0 {
			return "NULL"
		}
		return "0x" + strconv.FormatUint(a[i], 16)
	}
	num := func(i int) string { return strconv.FormatInt(int64(a[i]), 10) }
	unum := func(i int) string { return strconv.FormatUint(a[i], 10) }
	path := func(i int) string {
		if c.e.Path != "" && (callPath0[c.nr] && i == 0 || callPath1[c.nr] && i == 1) {
			return strconv.Quote(c.e.Path)
		}
		if a[i] == 0 {
			return "NULL"
		}
		return strconv.Quote(t.readString(tk.tid, a[i]))
	}
	buf := func(i int, n int64) string {
		if a[i] == 0 || n < 0 {
			return ptr(i)
		}
		if c.inBuf != nil && i == 1 {
			return quoteBuf(c.inBuf, limit, n > int64(len(c.inBuf)))
		}
		k := min(n, int64(limit))
		b := make([]byte, k)
		if !t.readMem(tk.tid, a[i], b) {
			return ptr(i)
		}
		return quoteBuf(b, limit, n > k)
	}
	// out is a buffer the call fills: shown once it has, with what it returned.
	out := func(i int) string {
		if !finished || ret < 0 {
			return ptr(i)
		}
		return buf(i, ret)
	}
	sa := func(i, leni int) string {
		n := int(a[leni])
		if a[i] == 0 || n <= 0 || n > 128 {
			return ptr(i)
		}
		b := make([]byte, n)
		if !t.readMem(tk.tid, a[i], b) {
			return ptr(i)
		}
		return sockaddrText(b)
	}
	mode := func(flags uint64, i int) []string {
		if flags&unix.O_CREAT != 0 || flags&unix.O_TMPFILE == unix.O_TMPFILE {
			return []string{"0" + strconv.FormatUint(a[i]&0o7777, 8)}
		}
		return nil
	}
	iov := func(i, cnti int, fill bool) string {
		cnt := int(a[cnti])
		if cnt <= 0 || cnt > 1024 {
			return ptr(i)
		}
		raw := make([]byte, 16*cnt)
		if !t.readMem(tk.tid, a[i], raw) {
			return ptr(i)
		}
		left := ret
		if !fill {
			left = 1 << 62
		}
		var parts []string
		for k := 0; k < cnt; k++ {
			base := binary.LittleEndian.Uint64(raw[16*k:])
			l := int64(binary.LittleEndian.Uint64(raw[16*k+8:]))
			if k == 4 {
				parts = append(parts, "...")
				break
			}
			show := min(l, max(left, 0))
			left -= show
			var s string
			if fill && (!finished || ret < 0) {
				s = "0x" + strconv.FormatUint(base, 16)
			} else {
				b := make([]byte, min(show, int64(limit)))
				if t.readMem(tk.tid, base, b) {
					s = quoteBuf(b, limit, show > int64(len(b)))
				} else {
					s = "0x" + strconv.FormatUint(base, 16)
				}
			}
			parts = append(parts, "{iov_base="+s+", iov_len="+strconv.FormatInt(l, 10)+"}")
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	var args []string
	switch name {
	case "read":
		args = []string{fd(0), out(1), unum(2)}
	case "pread64":
		args = []string{fd(0), out(1), unum(2), num(3)}
	case "write":
		args = []string{fd(0), buf(1, int64(a[2])), unum(2)}
	case "pwrite64":
		args = []string{fd(0), buf(1, int64(a[2])), unum(2), num(3)}
	case "readv", "writev":
		args = []string{fd(0), iov(1, 2, name == "readv"), num(2)}
	case "preadv", "pwritev":
		args = []string{fd(0), iov(1, 2, name == "preadv"), num(2), num(3)}
	case "open":
		args = append([]string{path(0), openFlags(a[1])}, mode(a[1], 2)...)
	case "creat":
		args = []string{path(0), "0" + strconv.FormatUint(a[1]&0o7777, 8)}
	case "openat":
		args = append([]string{dirfd(a[0]), path(1), openFlags(a[2])}, mode(a[2], 3)...)
	case "close", "fsync", "fdatasync", "dup", "fchdir", "syncfs":
		args = []string{fd(0)}
	case "dup2":
		args = []string{fd(0), num(1)}
	case "dup3":
		args = []string{fd(0), num(1), flagNames(a[2], []flagName{{unix.O_CLOEXEC, "O_CLOEXEC"}}, "0")}
	case "listen":
		args = []string{fd(0), num(1)}
	case "socket":
		args = []string{family(a[0]), sockType(a[1]), num(2)}
	case "socketpair":
		args = []string{family(a[0]), sockType(a[1]), num(2), t.fdPair(tk, c, ret, finished, 3)}
	case "connect", "bind":
		args = []string{fd(0), sa(1, 2), unum(2)}
	case "accept":
		args = []string{fd(0), ptr(1), ptr(2)}
	case "accept4":
		args = []string{fd(0), ptr(1), ptr(2), flagNames(a[3], sockTypeFlags, "0")}
	case "sendto":
		dest := "NULL"
		if a[4] != 0 {
			dest = sa(4, 5)
		}
		args = []string{fd(0), buf(1, int64(a[2])), unum(2), flagNames(a[3], msgFlagNames, "0"), dest, unum(5)}
	case "recvfrom":
		args = []string{fd(0), out(1), unum(2), flagNames(a[3], msgFlagNames, "0"), ptr(4), ptr(5)}
	case "shutdown":
		how := map[uint64]string{0: "SHUT_RD", 1: "SHUT_WR", 2: "SHUT_RDWR"}[a[1]]
		if how == "" {
			how = num(1)
		}
		args = []string{fd(0), how}
	case "pipe":
		args = []string{t.fdPair(tk, c, ret, finished, 0)}
	case "pipe2":
		args = []string{t.fdPair(tk, c, ret, finished, 0), flagNames(a[1], []flagName{{unix.O_CLOEXEC, "O_CLOEXEC"}, {unix.O_NONBLOCK, "O_NONBLOCK"}, {unix.O_DIRECT, "O_DIRECT"}}, "0")}
	case "lseek":
		whence := map[uint64]string{0: "SEEK_SET", 1: "SEEK_CUR", 2: "SEEK_END", 3: "SEEK_DATA", 4: "SEEK_HOLE"}[a[2]]
		if whence == "" {
			whence = num(2)
		}
		args = []string{fd(0), num(1), whence}
	case "fstat":
		args = []string{fd(0), t.statText(tk, a[1], ret, finished)}
	case "stat", "lstat":
		args = []string{path(0), t.statText(tk, a[1], ret, finished)}
	case "newfstatat":
		args = []string{dirfd(a[0]), path(1), t.statText(tk, a[2], ret, finished), flagNames(a[3], atFlagNames, "0")}
	case "access", "mkdir", "chmod":
		args = []string{path(0), "0" + strconv.FormatUint(a[1], 8)}
	case "unlink", "rmdir", "chdir":
		args = []string{path(0)}
	case "unlinkat":
		args = []string{dirfd(a[0]), path(1), flagNames(a[2], atFlagNames, "0")}
	case "mkdirat":
		args = []string{dirfd(a[0]), path(1), "0" + strconv.FormatUint(a[2], 8)}
	case "faccessat", "faccessat2":
		args = []string{dirfd(a[0]), path(1), num(2)}
	case "exit", "exit_group":
		args = []string{num(0)}
	case "getsockname", "getpeername":
		args = []string{fd(0), ptr(1), ptr(2)}
	case "copy_file_range":
		args = []string{fd(0), ptr(1), fd(2), ptr(3), unum(4), num(5)}
	case "sendfile":
		args = []string{fd(0), fd(1), ptr(2), unum(3)}
	case "execve":
		args = []string{path(0), ptr(1), ptr(2)}
	default:
		n, ok := nargs[name]
		if !ok {
			n = 6
		}
		for i := 0; i < n; i++ {
			if callFdArg0[c.nr] && i == 0 {
				args = append(args, fd(0))
			} else {
				args = append(args, "0x"+strconv.FormatUint(a[i], 16))
			}
		}
	}
	return strings.Join(args, ", ")
}

var atFlagNames = []flagName{
	{unix.AT_SYMLINK_NOFOLLOW, "AT_SYMLINK_NOFOLLOW"}, {unix.AT_REMOVEDIR, "AT_REMOVEDIR"},
	{unix.AT_SYMLINK_FOLLOW, "AT_SYMLINK_FOLLOW"}, {unix.AT_NO_AUTOMOUNT, "AT_NO_AUTOMOUNT"},
	{unix.AT_EMPTY_PATH, "AT_EMPTY_PATH"},
}

// fdPair shows the two descriptors pipe, pipe2 and socketpair fill in: [3, 4].
func (t *tracer) fdPair(tk *task, c *callState, ret int64, finished bool, i int) string {
	var b [8]byte
	if !finished || ret < 0 || !t.readMem(tk.tid, c.args[i], b[:]) {
		return "0x" + strconv.FormatUint(c.args[i], 16)
	}
	var fds [2]string
	for k := range fds {
		n := int(int32(binary.LittleEndian.Uint32(b[4*k:])))
		fds[k] = strconv.Itoa(n)
		if t.cfg.TextOptions.FdPaths {
			if txt := endpointText(t.eps.resolveCached(tk.proc.pid, tk.tid, n)); txt != "" {
				fds[k] += "<" + txt + ">"
			}
		}
	}
	return "[" + fds[0] + ", " + fds[1] + "]"
}

// statText shows the struct stat a stat call filled as strace does: the type and mode, then
// the device of a device file or the size of anything else.
func (t *tracer) statText(tk *task, addr uint64, ret int64, finished bool) string {
	var b [statLen]byte // struct stat
	if !finished || ret != 0 || addr == 0 || !t.readMem(tk.tid, addr, b[:]) {
		if addr == 0 {
			return "NULL"
		}
		return "0x" + strconv.FormatUint(addr, 16)
	}
	return statStruct(b[:])
}

// textDetached writes the line of a call in progress when the tracer detached, as strace
// does: [pid N] name(args <detached ...>.
func (t *tracer) textDetached(tk *task) {
	c := tk.call
	if t.text == nil || !t.cfg.TextOptions.Status.Has(StatusDetached) || !t.reported(c) {
		return
	}
	t.text.WriteString("[pid " + strconv.Itoa(tk.tid) + "] " + sysName(c.nr) + "(" +
		t.argsText(tk, c, 0, false) + " <detached ...>\n")
}

// textSignal writes a signal's delivery to tk, strace's way:
// [pid N] --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=7, ...} ---.
func (t *tracer) textSignal(tk *task, sig int) {
	if t.text == nil || !t.cfg.TextOptions.Signals.Has(sig) || !tk.proc.started {
		return
	}
	var si [128]byte
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_GETSIGINFO, uintptr(tk.tid), 0,
		uintptr(unsafe.Pointer(&si[0])), 0, 0)
	info := ""
	if e == 0 {
		info = " " + siginfoText(si[:])
	}
	t.text.WriteString("[pid " + strconv.Itoa(tk.tid) + "] --- " + unix.SignalName(syscall.Signal(sig)) + info + " ---\n")
}

// textStopped writes a group-stop, strace's way: [pid N] --- stopped by SIGSTOP ---.
func (t *tracer) textStopped(tk *task, sig int) {
	if t.text == nil || !t.cfg.TextOptions.Signals.Has(sig) || !tk.proc.started {
		return
	}
	t.text.WriteString("[pid " + strconv.Itoa(tk.tid) + "] --- stopped by " + unix.SignalName(syscall.Signal(sig)) + " ---\n")
}
