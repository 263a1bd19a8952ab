//go:build linux && (amd64 || arm64)

package trace

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// attachOptions are the ptrace options of an attached process: no EXITKILL (a faultbox that
// dies leaves the process running, as strace -p does) and no seccomp stops (the process was
// not started under faultbox's filter: every call stops, entry and exit).
const attachOptions = unix.PTRACE_O_TRACESYSGOOD | unix.PTRACE_O_TRACEEXEC | unix.PTRACE_O_TRACEFORK |
	unix.PTRACE_O_TRACEVFORK | unix.PTRACE_O_TRACECLONE

// maxAttachRounds bounds the re-reads of a process's thread list while its threads are seized
// (a thread started by one not yet seized is found by the next read).
const maxAttachRounds = 64

// attach seizes every thread of each process in cfg.Attach and interrupts it, so that its
// first stop starts syscall tracing; the processes' later children are followed.
func (t *tracer) attach() error {
	t.eps = newEndpoints()
	for i, pid := range t.cfg.Attach {
		if pid <= 0 {
			return fmt.Errorf("trace: attach to process %d: expected a process id > 0", pid)
		}
		if t.procs[pid] != nil {
			continue
		}
		label := "p" + strconv.Itoa(i+1)
		p := &process{pid: pid, label: label, counts: map[countKey]uint64{}, started: true,
			names: []string{label}, fromLabel: []bool{false}, path: []int{i + 1}}
		if err := t.seizeThreads(p); err != nil {
			t.detachAll()
			return err
		}
		t.nameFromCmdline(p)
		t.procs[pid] = p
		t.order = append(t.order, p)
		if t.root == nil {
			t.root = p
		}
	}
	return nil
}

// seizeThreads seizes and interrupts every thread of p, the leader first (thread 0), the
// others in the order of their ids.
func (t *tracer) seizeThreads(p *process) error {
	dir := "/proc/" + strconv.Itoa(p.pid) + "/task"
	for round := 0; round < maxAttachRounds; round++ {
		ents, err := os.ReadDir(dir)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("trace: attach to process %d: no such process", p.pid)
			}
			return fmt.Errorf("trace: attach to process %d: %w", p.pid, err)
		}
		var tids []int
		for _, e := range ents {
			if tid, err := strconv.Atoi(e.Name()); err == nil && t.tasks[tid] == nil {
				tids = append(tids, tid)
			}
		}
		if len(tids) == 0 {
			return nil
		}
		sort.Slice(tids, func(i, j int) bool {
			if (tids[i] == p.pid) != (tids[j] == p.pid) {
				return tids[i] == p.pid
			}
			return tids[i] < tids[j]
		})
		for _, tid := range tids {
			_, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SEIZE, uintptr(tid), 0, attachOptions, 0, 0)
			if e == unix.ESRCH {
				continue // the thread ended meanwhile
			}
			if e != 0 {
				if tid == p.pid {
					return fmt.Errorf("trace: attach to process %d: %w", p.pid, e)
				}
				return fmt.Errorf("trace: attach to thread %d of process %d: %w", tid, p.pid, e)
			}
			t.tasks[tid] = &task{tid: tid, proc: p, index: p.nThreads, last: -1, firstHB: -1, counts: map[countKey]uint64{}}
			p.nThreads++
			t.addPid(tid)
			unix.PtraceInterrupt(tid)
		}
	}
	return nil
}

// syscallInfo is struct ptrace_syscall_info, as far as the tracer reads it.
type syscallInfo struct {
	Op    uint8
	_     [3]uint8
	Arch  uint32
	IP    uint64
	SP    uint64
	Nr    uint64 // entry and seccomp: the call number; exit: the return value
	Args  [6]uint64
	Extra uint32
}

// syscallStopInfo reads PTRACE_GET_SYSCALL_INFO (Linux 5.3) at a syscall stop: its Op says
// whether it is an entry or an exit (PTRACE_SYSCALL_INFO_ENTRY, _EXIT), and an entry's
// number and arguments come with it.
func syscallStopInfo(tid int) (syscallInfo, error) {
	var info syscallInfo
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_GET_SYSCALL_INFO, uintptr(tid),
		unsafe.Sizeof(info), uintptr(unsafe.Pointer(&info)), 0, 0)
	if e != 0 {
		return info, e
	}
	return info, nil
}

// syscallStop handles a syscall stop of an attached process (no seccomp stops there: every
// call stops at its entry and at its exit).
func (t *tracer) syscallStop(tk *task) {
	if !t.attached {
		t.exit(tk)
		return
	}
	info, err := syscallStopInfo(tk.tid)
	switch op := info.Op; {
	case err != nil:
		if err != unix.ESRCH {
			t.resume(tk, 0)
		}
	case op == unix.PTRACE_SYSCALL_INFO_ENTRY:
		t.entry(tk, &info) // the call's number and arguments are in info: no second request
	case op == unix.PTRACE_SYSCALL_INFO_EXIT:
		t.exit(tk)
	default:
		t.resume(tk, 0)
	}
}

// cont lets a stopped task go on to its next stop: the next traced call (seccomp), or in an
// attached process the next call's entry or exit.
func (t *tracer) cont(tid int, sig int) {
	if t.attached {
		unix.PtraceSyscall(tid, sig)
		return
	}
	unix.PtraceCont(tid, sig)
}

// attachPoll is the longest the tracer of attached processes sleeps between looks for a
// stopped task: it polls (wait4 with WNOHANG) so that a request to detach is seen even when
// every tracee sleeps in a call.
const attachPoll = 5 * time.Millisecond

// detachAll detaches every traced task and leaves it running: tasks stopped now (held by a
// delay, paused, just reported) are detached at once, running ones are interrupted first.
// Pending delays and crashes are dropped; a process paused by pause= is continued.
func (t *tracer) detachAll() {
	for _, d := range t.delays {
		if d.cont != 0 {
			unix.Kill(d.cont, unix.SIGCONT)
		}
	}
	t.delays = nil
	tids := make([]int, 0, len(t.tasks)+len(t.orphans))
	for tid := range t.tasks {
		tids = append(tids, tid)
	}
	for tid := range t.orphans {
		tids = append(tids, tid)
	}
	sort.Ints(tids)
	for _, tid := range tids {
		unix.PtraceInterrupt(tid)
	}
	pending := map[int]bool{}
	for _, tid := range tids {
		if tk := t.tasks[tid]; tk != nil && tk.call != nil {
			t.textDetached(tk)
			tk.call = nil
		}
		if err := unix.PtraceDetach(tid); err == unix.ESRCH {
			pending[tid] = true // running: detached at the stop the interrupt makes
		}
	}
	// Any task's stop, not one task's: a vfork parent cannot stop until its child, stopped
	// here too, has been let go.
	for len(pending) > 0 {
		var ws unix.WaitStatus
		tid, err := unix.Wait4(-1, &ws, unix.WALL|unix.WNOTHREAD, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			break // ECHILD: nothing left
		}
		if ws.Exited() || ws.Signaled() {
			if t.tasks[tid] != nil {
				t.gone(tid, ws)
			}
			delete(pending, tid)
			continue
		}
		t.afterDetach(tid, ws)
		delete(pending, tid)
	}
	for _, p := range t.order {
		if !p.exited {
			p.status = "detached"
		}
	}
	t.tasks = map[int]*task{}
	t.orphans = map[int]bool{}
	t.mu.Lock()
	t.pids = map[int]bool{}
	t.mu.Unlock()
}

// afterDetach lets go of a task that reports a stop after every known task was detached: a
// child whose fork was reported while detaching, or a task whose stop was already queued.
func (t *tracer) afterDetach(tid int, ws unix.WaitStatus) {
	if !ws.Stopped() {
		return
	}
	sig := 0
	if int(ws>>16) == 0 && ws.StopSignal() != unix.SIGTRAP|0x80 {
		sig = int(ws.StopSignal())
	}
	unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_DETACH, uintptr(tid), 0, uintptr(sig), 0, 0)
}

// addPathCalls adds the calls that name a path or act on a descriptor (execve aside: the
// helper's own execve of the command would stop too) to set: what strace -P alone traces.
func addPathCalls(set map[int]bool) {
	for _, calls := range []map[int]bool{callPath0, callPath1, callFdArg0} {
		for nr := range calls {
			if n := sysName(nr); n != "execve" && n != "execveat" {
				set[nr] = true
			}
		}
	}
	for n := range watchFdArgs {
		if nr, ok := sysNumber(n); ok {
			set[nr] = true
		}
	}
}

// onPaths reports whether the call tk has entered is on one of Config.Paths (strace -P): the
// path it names, the unix socket path it connects, binds or sends to, or the file (or socket
// path) one of its descriptors is on.
func (t *tracer) onPaths(tk *task, nr int, r regs) bool {
	name := sysName(nr)
	fds := watchFdArgs[name]
	if callPath0[nr] || callPath1[nr] {
		arg := 0
		if callPath1[nr] {
			arg = 1
		}
		if p := t.readString(tk.tid, r.Arg(arg)); p != "" {
			if pathMatches(t.cfg.Paths, p) {
				return true
			}
		} else if callPath1[nr] {
			fds = []int{0} // an *at call with an empty path acts on its dirfd
		}
	}
	if fds == nil && callFdArg0[nr] {
		fds = []int{0}
	}
	for _, pos := range fds {
		fd := int(int32(r.Arg(pos)))
		if fd < 0 {
			continue
		}
		if ep := t.eps.resolveCached(tk.proc.pid, tk.tid, fd); ep != nil && pathMatches(t.cfg.Paths, ep.Path) {
			return true
		}
	}
	var dest string
	switch {
	case callSockaddr[nr]:
		dest = t.sockaddr(tk.tid, r.Arg(1), int(r.Arg(2)))
	case name == "sendto":
		dest = t.sockaddr(tk.tid, r.Arg(4), int(r.Arg(5)))
	}
	return pathMatches(t.cfg.Paths, destPath(dest))
}

// mayTamper reports whether a rule or a partition could act on call nr: such a call goes
// through the decisions even when it is not reported.
func (t *tracer) mayTamper(nr int) bool {
	if len(t.cfg.Partitions) > 0 || len(t.cfg.Links) > 0 {
		return true
	}
	for _, s := range t.ruleSets {
		if s[nr] {
			return true
		}
	}
	return false
}

// reported reports whether a call is reported (not left out by Config.Paths).
func (t *tracer) reported(c *callState) bool { return c != nil && !c.hidden }

// arm records, after a send on a socket completed, that each after=send rule whose address it
// matches now waits for its process's next call.
func (t *tracer) arm(p *process, e *Event) {
	for _, i := range t.afterRules {
		r := t.rules[i]
		if r.AfterAddr != "" && !addrMatches(r.AfterAddr, e) {
			continue
		}
		if p.armed == nil {
			p.armed = map[int]bool{}
		}
		p.armed[i] = true
		t.miss.armed(i)
	}
}

// needExit reports whether the call tk has entered must stop at its exit: for its event, its
// text line or its -c figures (allExits), or because the tracer acts on or learns from its
// result (a fault to finish, a descriptor to name or forget, a stream offset, an after=send).
func (t *tracer) needExit(c *callState) bool {
	if t.allExits || t.attached {
		return true
	}
	if c.skip || c.skew != 0 || c.corrupt || c.killAtExit || c.delayExit > 0 || c.fdOut || c.fresh || c.pairAddr != 0 || c.hashAtExit {
		return true
	}
	if c.nr == sysClose || callRetFd[c.nr] {
		return true
	}
	e := c.e
	if e.Endpoint != nil && e.Endpoint.Kind == "sock" {
		return true // named afresh at the exit, once the call has bound it
	}
	return e.Dir != "" && (t.streamRules || len(t.afterRules) > 0)
}
