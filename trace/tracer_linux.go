//go:build linux && (amd64 || arm64)

package trace

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

type task struct {
	tid     int
	proc    *process
	index   int
	n       int // events recorded for this thread
	last    int // index of its last event, -1 when none
	firstHB int // spawn event the first event follows, -1 when none
	call    *callState
	counts  map[countKey]uint64
}

type callState struct {
	ev         int // index into events, -1 when not kept
	e          *Event
	nr         int
	skip       bool
	ret        int64
	corrupt    bool
	delayExit  time.Duration
	buf        uint64
	fdOut      bool // accept: ret is a new fd to name
	fresh      bool // re-resolve the endpoint at exit (connect, bind, listen)
	pairAddr   uint64
	hashAtExit bool
	killAtExit bool // crash with delay_exit: kill the process once the delay at exit is over
	args       [6]uint64
	enterAt    time.Time
	stat       *CallStat // the call's -c row
	mark       string    // the text trace's note on an injected fault: INJECTED, DELAYED
	inBuf      []byte    // the start of the buffer a write sends, read at entry for the text trace
	corruptAt  *streamFault
	skew       time.Duration // added to the time a clock call returns, at its exit
	hidden     bool          // not on a path of Config.Paths: not reported (no event, line or -c row)
}

type delayed struct {
	at   time.Time
	tid  int
	cont int // a paused process to send SIGCONT to first, or 0
	kill int // a process to SIGKILL instead of resuming tid (crash after a delay), or 0
}

type tracer struct {
	cfg       Config
	skewFault string // what a skewed clock read's event says: --clock-skew and the skews
	rules     []*Rule
	ruleSets  []map[int]bool
	start     time.Time
	tasks     map[int]*task
	procs     map[int]*process
	order     []*process
	orphans   map[int]bool // stopped new tasks whose parent's event has not arrived
	root      *process
	rootCode  int
	events    []*Event
	dropped   int
	faults    []injected
	fired     map[int]int // rule index → times it fired
	unfired   []string
	calls     map[string]int
	eps       *endpoints
	owner     map[string]*process // "tcp|addr", "udp|addr", "unix|path", "ino|N" → owner
	sendOff   map[uint64]int64
	recvOff   map[uint64]int64
	crossN    map[int]uint64 // partition index → messages that tried to cross
	delays    []delayed
	// steps are the schedule's steps on processes (crash, pause), by time; the first
	// nextStep have fired.
	steps    []ProcStep
	nextStep int
	stepHit  []bool // a step found at least one process
	// epoch is when the command started (its first exec; the attach for attached
	// processes): timed windows and crashes count from it. Zero until then.
	epoch time.Time
	// streamNext is, per rule and stream, the first offset whose fault point has not fired.
	streamNext map[streamKey]uint64
	traced     map[int]bool // calls that make events (fd bookkeeping calls stop too)
	afterRules []int        // the rules with after=send
	// allExits: every traced call stops at its exit too (events are kept, or a text trace or
	// the -c figures asked for); otherwise only the calls needExit names do.
	allExits    bool
	streamRules bool   // a p= rule: stream offsets are counted at exits
	exitStops   int    // syscall-exit stops seen (for tests of needExit)
	miss        misses // what unfired rules will say about the run
	stats       map[string]*CallStat
	text        *bufio.Writer // the text trace, nil when none

	// attached is set when the processes were attached to (Config.Attach) rather than
	// started: every call stops at entry and exit, and an interrupt detaches.
	attached  bool
	detached  bool        // every task has been detached (attached processes only)
	detachReq atomic.Bool // the run was interrupted: detach (set by the interrupt goroutine)

	mu          sync.Mutex // guards pids and interrupted, shared with the interrupt goroutine
	pids        map[int]bool
	interrupted bool
}

// Run starts cfg.Args under the tracer, waits until every traced process has exited and
// returns what happened. When ctx is cancelled every traced process is killed (none is left
// stopped) and Run returns with Result.Interrupted set.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if len(cfg.Args) == 0 && len(cfg.Attach) == 0 {
		return nil, ErrNoCommand
	}
	if len(cfg.Args) > 0 && len(cfg.Attach) > 0 {
		return nil, ErrCommandAndAttach
	}
	if len(cfg.Attach) > 0 && cfg.Clock != (ClockOffsets{}) {
		return nil, errors.New("trace: clock offsets need a command to start: a running process cannot enter a time namespace")
	}
	if cfg.MaxEvents == 0 {
		cfg.MaxEvents = 1_000_000
	}
	cfg.Paths = resolvePaths(cfg.Paths, cfg.Dir)
	var steps []ProcStep
	if s := cfg.Schedule; s != nil {
		cfg.Partitions = slices.Concat(cfg.Partitions, s.Partitions)
		cfg.Links = slices.Concat(cfg.Links, s.Links)
		steps = s.Procs
	}
	t := &tracer{cfg: cfg, skewFault: "--clock-skew " + cfg.Skew.String(), rules: cfg.Rules, tasks: map[int]*task{}, procs: map[int]*process{},
		orphans: map[int]bool{}, calls: map[string]int{}, owner: map[string]*process{},
		sendOff: map[uint64]int64{}, recvOff: map[uint64]int64{}, crossN: map[int]uint64{},
		pids: map[int]bool{}, fired: map[int]int{}, stats: map[string]*CallStat{},
		streamNext: map[streamKey]uint64{}, attached: len(cfg.Attach) > 0,
		steps: steps, stepHit: make([]bool, len(steps)),
		allExits: cfg.MaxEvents >= 0 || cfg.Text != nil || !cfg.NoCallStats}
	for _, r := range cfg.Rules {
		t.streamRules = t.streamRules || r.Prob < 1
	}
	if cfg.Text != nil {
		t.text = bufio.NewWriterSize(cfg.Text, 64<<10)
	}
	for i, r := range t.rules {
		s := map[int]bool{}
		for _, nr := range r.Syscalls {
			s[nr] = true
		}
		// strace keeps one --inject per system call, the last given: a later term in strace's
		// own grammar replaces an earlier one for the calls both name. Terms with faultbox's
		// filters or actions add up instead (first that fires wins), see docs/trace.md.
		if r.straceOnly() {
			for _, later := range t.rules[i+1:] {
				if later.straceOnly() {
					for _, nr := range later.Syscalls {
						delete(s, nr)
					}
				}
			}
		}
		t.ruleSets = append(t.ruleSets, s)
	}
	type out struct {
		res *Result
		err error
	}
	done := make(chan out, 1)
	stop := make(chan struct{})
	if cfg.OnThisThread {
		defer func() {
			close(stop)
		}()
		go func() {
			select {
			case <-ctx.Done():
				t.interrupt()
			case <-stop:
			}
		}()
		return t.run()
	}
	go onChildlessThread(func() {
		res, err := t.run()
		done <- out{res, err}
	})
	go func() {
		select {
		case <-ctx.Done():
			t.interrupt()
		case <-stop:
		}
	}()
	o := <-done
	close(stop)
	return o.res, o.err
}

// maxThreadTries bounds the search for a thread without children.
const maxThreadTries = 16

// onChildlessThread runs f locked to an OS thread that has no child processes, and never
// unlocks it (Go discards the thread when f returns). All ptrace requests must come from the
// thread that attached, and the tracer waits with wait4(-1, __WALL|__WNOTHREAD), which reaps
// any child of its thread: a child that another goroutine started earlier from the same thread
// (os/exec, say) would be reaped and its owner's Wait would fail with ECHILD. A thread that has
// children stays locked to a parked goroutine while the next attempt runs, so that attempt
// gets another thread; the parked ones are released once f has its thread. If every attempt
// finds children (or the kernel cannot list them), f runs on the last thread tried.
func onChildlessThread(f func()) {
	release := make(chan struct{})
	var try func(n int)
	try = func(n int) {
		runtime.LockOSThread()
		if n+1 < maxThreadTries && threadHasChildren() {
			go try(n + 1)
			<-release
			runtime.UnlockOSThread()
			return
		}
		close(release)
		f()
	}
	try(0)
}

// threadHasChildren reports whether the calling OS thread has child processes, zombies
// included: waitid on every child of this thread alone (__WNOTHREAD), of any kind (__WALL),
// without waiting or reaping (WNOHANG, WNOWAIT), fails with ECHILD only when there is none.
// (/proc/thread-self/children would say the same, but only on kernels built with
// CONFIG_PROC_CHILDREN.)
func threadHasChildren() bool {
	var info unix.Siginfo
	err := unix.Waitid(unix.P_ALL, 0, &info,
		unix.WEXITED|unix.WSTOPPED|unix.WCONTINUED|unix.WNOHANG|unix.WNOWAIT|unix.WNOTHREAD|unix.WALL, nil)
	return !errors.Is(err, unix.ECHILD)
}

func (t *tracer) interrupt() {
	t.mu.Lock()
	t.interrupted = true
	if t.attached {
		// Attached processes are left running: the tracer detaches them (it polls, so it
		// sees the request even when every tracee sleeps).
		t.mu.Unlock()
		t.detachReq.Store(true)
		return
	}
	pids := make([]int, 0, len(t.pids))
	for p := range t.pids {
		pids = append(pids, p)
	}
	t.mu.Unlock()
	for _, p := range pids {
		unix.Kill(p, unix.SIGKILL)
	}
}

func (t *tracer) addPid(pid int) {
	t.mu.Lock()
	t.pids[pid] = true
	killed := t.interrupted && !t.attached
	t.mu.Unlock()
	if killed {
		unix.Kill(pid, unix.SIGKILL)
	}
}

func (t *tracer) filterSet() []int {
	set := map[int]bool{}
	base := t.cfg.Trace
	if base == nil {
		base = DefaultTrace()
	}
	for _, nr := range base {
		set[nr] = true
	}
	if t.cfg.Trace == nil && len(t.cfg.Paths) > 0 {
		// strace -P alone traces every call on the path: those that name a path or act on
		// a descriptor.
		addPathCalls(set)
	}
	for i, r := range t.rules {
		for _, nr := range r.Syscalls {
			set[nr] = true
		}
		if r.After {
			// The sends that arm an after=send term must stop (and make events).
			t.afterRules = append(t.afterRules, i)
			maps.Copy(set, callSend)
		}
	}
	if len(t.cfg.Partitions) > 0 || len(t.cfg.Links) > 0 {
		for _, n := range []string{"connect", "write", "writev", "sendto", "sendmsg"} {
			nr, _ := sysNumber(n)
			set[nr] = true
		}
	}
	if t.cfg.Skew != (ClockSkew{}) {
		for _, nr := range skewCalls() {
			set[nr] = true
		}
	}
	t.traced = map[int]bool{}
	for nr := range set {
		t.traced[nr] = true
	}
	// The fd cache needs to see descriptors closed or replaced.
	for _, nr := range []int{sysClose, sysDup2, sysDup3, sysCloseRange} {
		if nr >= 0 {
			set[nr] = true
		}
	}
	// So do the calls a filtered rule's "never fired" warning lists.
	for _, nr := range t.watchSet() {
		set[nr] = true
	}
	// execve runs free: the helper executes the target with the filter already in place.
	return slices.Sorted(maps.Keys(set))
}

const (
	baseOptions = unix.PTRACE_O_EXITKILL | unix.PTRACE_O_TRACESECCOMP | unix.PTRACE_O_TRACEEXEC |
		unix.PTRACE_O_TRACESYSGOOD
	fullOptions = baseOptions | unix.PTRACE_O_TRACEFORK | unix.PTRACE_O_TRACEVFORK | unix.PTRACE_O_TRACECLONE
)

func (t *tracer) run() (*Result, error) {
	if t.attached {
		t.filterSet()
		t.start = time.Now()
		t.epoch = t.start
		if err := t.attach(); err != nil {
			t.eps.close()
			return nil, err
		}
		defer t.eps.close()
		t.loop()
		if t.text != nil {
			t.text.Flush()
		}
		return t.result(), nil
	}
	helper := t.cfg.Helper
	if helper == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("trace: find own executable for the helper: %w", err)
		}
		helper = exe
	}
	nrs := t.filterSet()
	list := make([]string, len(nrs))
	for i, n := range nrs {
		list[i] = strconv.Itoa(n)
	}
	env := t.cfg.Env
	if env == nil {
		env = os.Environ()
	}
	env = append(append([]string{}, env...), helperEnv+"="+strings.Join(list, ","),
		helperParentEnv+"="+strconv.Itoa(os.Getpid()))
	if off := t.cfg.Clock.timensOffsets(); off != "" {
		env = append(env, helperTimensEnv+"="+off)
	}
	files := []uintptr{fileFd(t.cfg.Stdin, os.Stdin), fileFd(t.cfg.Stdout, os.Stdout), fileFd(t.cfg.Stderr, os.Stderr)}
	pid, err := syscall.ForkExec(helper, append([]string{helper}, t.cfg.Args...), &syscall.ProcAttr{
		Dir: t.cfg.Dir, Env: env, Files: files,
	})
	runtime.KeepAlive(t.cfg.Stdin)
	runtime.KeepAlive(t.cfg.Stdout)
	runtime.KeepAlive(t.cfg.Stderr)
	if err != nil {
		return nil, fmt.Errorf("trace: start %s: %w", t.cfg.Args[0], err)
	}
	t.start = time.Now()
	t.addPid(pid)
	var ws unix.WaitStatus
	for {
		_, err = unix.Wait4(pid, &ws, unix.WUNTRACED|unix.WALL|unix.WNOTHREAD, nil)
		if err != unix.EINTR {
			break
		}
	}
	if err == unix.ECHILD {
		// The helper failed before it stopped (it said why) and SIGCHLD is ignored, so the
		// kernel reaped it: its status is gone, report what the helper reports.
		return &Result{ExitCode: 127, Calls: map[string]int{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("trace: wait for helper %d: %w", pid, err)
	}
	if !ws.Stopped() {
		// The helper failed before stopping (bad command): it printed why.
		return &Result{ExitCode: statusCode(ws), Calls: map[string]int{}}, nil
	}
	if _, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SEIZE, uintptr(pid), 0, baseOptions, 0, 0); e != 0 {
		unix.Kill(pid, unix.SIGKILL)
		return nil, fmt.Errorf("trace: seize %d: %w", pid, e)
	}
	t.eps = newEndpoints()
	defer t.eps.close()
	t.root = &process{pid: pid, label: "p1", counts: map[countKey]uint64{}, nThreads: 1,
		names: []string{"p1"}, fromLabel: []bool{false}}
	t.procs[pid] = t.root
	t.order = append(t.order, t.root)
	t.tasks[pid] = &task{tid: pid, proc: t.root, last: -1, firstHB: -1, counts: map[countKey]uint64{}}
	unix.Kill(pid, unix.SIGCONT)
	t.loop()
	if t.text != nil {
		t.text.Flush()
	}
	return t.result(), nil
}

func fileFd(f, def *os.File) uintptr {
	if f == nil {
		f = def
	}
	return f.Fd()
}

func statusCode(ws unix.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

func (t *tracer) loop() {
	const pollMin = 20 * time.Microsecond
	poll := pollMin
	for {
		var ws unix.WaitStatus
		var tid int
		var err error
		if !t.attached && len(t.tasks) == 0 && len(t.orphans) == 0 {
			// Every traced task is gone. Not waiting for ECHILD: in a program that runs
			// other children too (a test binary, a server embedding the tracer), the locked
			// thread may be the parent of a child it never traced, started on that thread
			// before it was locked, and wait4 would block on it.
			return
		}
		if t.attached || len(t.delays) > 0 || t.nextStep < len(t.steps) {
			// Something is due at a time (a held call, a scheduled step), or the run must
			// see a request to detach: poll for stops, sleeping a little longer each time
			// none has come (the next deadline at the latest).
			if t.attached && !t.detached && t.detachReq.Load() {
				t.detachAll()
				t.detached = true
			}
			t.fireDelays()
			t.fireSteps()
			tid, err = unix.Wait4(-1, &ws, unix.WALL|unix.WNOTHREAD|unix.WNOHANG, nil)
			if err == nil && tid == 0 {
				if t.text != nil && t.text.Buffered() > 0 {
					t.text.Flush()
				}
				wait := poll
				if len(t.delays) > 0 {
					wait = min(wait, time.Until(t.delays[0].at))
				}
				if t.nextStep < len(t.steps) && !t.detached && !t.epoch.IsZero() {
					wait = min(wait, time.Until(t.epoch.Add(t.steps[t.nextStep].At)))
				}
				time.Sleep(max(wait, 0))
				longest := time.Millisecond
				if t.attached {
					longest = attachPoll
				}
				poll = min(2*poll, longest)
				continue
			}
			poll = pollMin
			if err == nil && t.detached {
				t.afterDetach(tid, ws)
				continue
			}
		} else {
			if t.text != nil && t.text.Buffered() > 0 {
				t.text.Flush() // nothing to do until a tracee stops: let the lines out
			}
			tid, err = unix.Wait4(-1, &ws, unix.WALL|unix.WNOTHREAD, nil)
		}
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return // ECHILD: every traced process is gone
		}
		t.handle(tid, ws)
	}
}

// fireSteps applies each scheduled step whose time has come to every live process whose
// label matches its glob: a crash kills it (SIGKILL); a pause stops it (SIGSTOP: its threads
// enter a group-stop, held as any) and queues its SIGCONT for the end of the pause.
func (t *tracer) fireSteps() {
	if t.detached || t.epoch.IsZero() {
		return
	}
	el := time.Since(t.epoch)
	for t.nextStep < len(t.steps) && t.steps[t.nextStep].At <= el {
		i := t.nextStep
		st := t.steps[i]
		t.nextStep++
		for _, p := range t.order {
			if p.exited || !p.started || !globMatch(st.Label, p.label) {
				continue
			}
			t.stepHit[i] = true
			if st.Verb == "pause" {
				unix.Kill(p.pid, unix.SIGSTOP)
				t.contAt(t.epoch.Add(st.At+st.For), p.pid)
			} else {
				unix.Kill(p.pid, unix.SIGKILL)
			}
			e := &Event{Call: st.Verb, Fd: -1, proc: p, Label: p.label, gen: len(p.names) - 1, Addr: p.label,
				TimeUs: time.Since(t.start).Microseconds()}
			t.faults = append(t.faults, injected{e, st.Name, st.Verb, ""})
		}
	}
}

// contAt queues a SIGCONT to process pid at a time (the end of a scheduled pause).
func (t *tracer) contAt(at time.Time, pid int) { t.queue(delayed{at: at, cont: pid}) }

func (t *tracer) fireDelays() {
	now := time.Now()
	for len(t.delays) > 0 && !t.delays[0].at.After(now) {
		d := t.delays[0]
		t.delays = t.delays[1:]
		if d.cont != 0 {
			unix.Kill(d.cont, unix.SIGCONT)
		}
		if d.kill != 0 {
			// The held thread stays stopped: SIGKILL ends it where it waits.
			unix.Kill(d.kill, unix.SIGKILL)
			continue
		}
		if tk := t.tasks[d.tid]; tk != nil {
			t.resume(tk, 0)
		}
	}
}

func (t *tracer) delay(tk *task, d time.Duration) { t.hold(tk, d, delayed{}) }

// delayThen holds tk for d; when d is over it sends SIGCONT to cont (if not 0) and resumes tk.
func (t *tracer) delayThen(tk *task, d time.Duration, cont int) { t.hold(tk, d, delayed{cont: cont}) }

// killAfter holds tk for d, then kills its process (SIGKILL) without resuming it.
func (t *tracer) killAfter(tk *task, d time.Duration) { t.hold(tk, d, delayed{kill: tk.proc.pid}) }

// hold queues what to do with tk (resume it, SIGCONT its process first, or kill it) when d
// is over; the tracer serves every other task meanwhile.
func (t *tracer) hold(tk *task, d time.Duration, what delayed) {
	what.at, what.tid = time.Now().Add(d), tk.tid
	t.queue(what)
}

// queue inserts d into t.delays, kept in time order (after those due at the same time).
func (t *tracer) queue(d delayed) {
	i := sort.Search(len(t.delays), func(i int) bool { return t.delays[i].at.After(d.at) })
	t.delays = slices.Insert(t.delays, i, d)
}

func (t *tracer) resume(tk *task, sig int) {
	if tk.call != nil || t.attached {
		unix.PtraceSyscall(tk.tid, sig)
	} else {
		unix.PtraceCont(tk.tid, sig)
	}
}

func (t *tracer) handle(tid int, ws unix.WaitStatus) {
	if ws.Exited() || ws.Signaled() {
		t.gone(tid, ws)
		return
	}
	if !ws.Stopped() {
		return
	}
	sig := ws.StopSignal()
	event := int(ws >> 16)
	tk := t.tasks[tid]
	if tk == nil {
		// A new task can report its first stop before its parent's fork event: hold it.
		t.orphans[tid] = true
		t.addPid(tid)
		return
	}
	switch {
	case sig == unix.SIGTRAP|0x80:
		t.syscallStop(tk)
	case event == unix.PTRACE_EVENT_SECCOMP:
		t.entry(tk, nil)
	case event == unix.PTRACE_EVENT_FORK || event == unix.PTRACE_EVENT_VFORK || event == unix.PTRACE_EVENT_CLONE:
		msg, err := unix.PtraceGetEventMsg(tid)
		if err == nil {
			t.spawn(tk, int(msg))
		}
		t.resume(tk, 0)
	case event == unix.PTRACE_EVENT_EXEC:
		t.exec(tk)
		t.resume(tk, 0)
	case event == unix.PTRACE_EVENT_STOP:
		switch sig {
		case unix.SIGSTOP, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU:
			// A group-stop: keep the task stopped, as it would be untraced, until SIGCONT.
			t.textStopped(tk, int(sig))
			unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_LISTEN, uintptr(tid), 0, 0, 0, 0)
		default:
			t.resume(tk, 0)
		}
	case event != 0:
		t.resume(tk, 0)
	default:
		// A signal on its way to the task: deliver it as it would be delivered untraced.
		t.textSignal(tk, int(sig))
		t.resume(tk, int(sig))
	}
}

func (t *tracer) gone(tid int, ws unix.WaitStatus) {
	delete(t.orphans, tid)
	tk := t.tasks[tid]
	delete(t.tasks, tid)
	if tk == nil {
		return
	}
	if tk.call != nil {
		t.textLine(tk, tk.call, 0, false) // killed in the call: strace's "= ?"
	}
	p := tk.proc
	if tid != p.pid {
		return
	}
	p.exited = true
	t.eps.forget(p.pid, -1)
	p.code = statusCode(ws)
	if ws.Signaled() {
		p.status = "killed by " + unix.SignalName(ws.Signal())
	} else {
		p.status = "exit " + strconv.Itoa(ws.ExitStatus())
	}
	if p.started {
		t.textExit(p.pid, p.status)
		e := t.record(tk, "exit", -1)
		if e != nil {
			e.Ret = int64(p.code)
			e.complete = true
		}
	}
	t.mu.Lock()
	delete(t.pids, tid)
	t.mu.Unlock()
	if p == t.root {
		t.rootCode = p.code
	}
}

func (t *tracer) spawn(parent *task, child int) {
	var p *process
	if tgid := readTgid(child); tgid == parent.proc.pid {
		p = parent.proc
	} else {
		pp := parent.proc
		pp.nChildren++
		p = &process{pid: child, parent: pp, label: pp.label + "." + strconv.Itoa(pp.nChildren),
			comm: pp.comm, counts: map[countKey]uint64{}, started: true,
			path: append(append([]int(nil), pp.path...), pp.nChildren), atSpawn: len(pp.names) - 1}
		p.names, p.fromLabel = []string{p.label}, []bool{false}
		t.procs[child] = p
		t.order = append(t.order, p)
	}
	nt := &task{tid: child, proc: p, index: p.nThreads, last: -1, firstHB: -1, counts: map[countKey]uint64{}}
	p.nThreads++
	t.tasks[child] = nt
	t.addPid(child)
	call := "fork"
	if p == parent.proc {
		call = "clone" // a new thread of the parent's process
	}
	if e := t.record(parent, call, -1); e != nil {
		e.Ret = int64(child)
		e.complete = true
		nt.firstHB = len(t.events) - 1
	}
	if t.orphans[child] {
		delete(t.orphans, child)
		t.cont(child, 0)
	}
}

func readTgid(tid int) int {
	v, ok := procStatus(tid, "Tgid")
	if !ok {
		return -1
	}
	n, _ := strconv.Atoi(v)
	return n
}

// procStatus is the value of field key (Tgid, State) in /proc/PID/status; false when the
// process is gone or has no such field.
func procStatus(pid int, key string) (string, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return "", false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

func (t *tracer) exec(tk *task) {
	p := tk.proc
	if old, err := unix.PtraceGetEventMsg(tk.tid); err == nil && int(old) != tk.tid {
		// A non-leader thread executed: it now wears the leader's id, and its execve (if
		// traced) is still to report its exit.
		if ot := t.tasks[int(old)]; ot != nil {
			tk.call = ot.call
		} else {
			tk.call = nil
		}
		delete(t.tasks, int(old))
	}
	t.eps.forget(p.pid, -1)
	if !p.started {
		// The helper has executed the target: from now on follow every child and thread.
		p.started = true
		unix.PtraceSetOptions(tk.tid, fullOptions)
		t.epoch = time.Now()
	}
	if t.cfg.NoVDSO {
		t.hideVDSO(tk.tid)
	}
	line := t.nameFromCmdline(p)
	if e := t.record(tk, "exec", -1); e != nil {
		e.Dest = line
		e.complete = true
	}
}

// addr is the address of tk's latest event: process label, thread index, event number.
func (tk *task) addr() string {
	return tk.proc.label + "/t" + strconv.Itoa(tk.index) + "/" + strconv.Itoa(tk.n)
}

// record appends a new event for tk (or returns nil when the log is full).
func (t *tracer) record(tk *task, call string, fd int) *Event {
	t.calls[call]++
	tk.n++
	if t.cfg.MaxEvents < 0 || len(t.events) >= t.cfg.MaxEvents {
		t.dropped++
		return nil
	}
	p := tk.proc
	e := &Event{Seq: len(t.events), Pid: p.pid, Tid: tk.tid, Label: p.label, Thread: tk.index, N: tk.n,
		Call: call, Fd: fd, TimeUs: time.Since(t.start).Microseconds(), proc: p, gen: len(p.names) - 1}
	e.Addr = tk.addr()
	if tk.last >= 0 {
		e.hb = append(e.hb, tk.last)
	} else if tk.firstHB >= 0 {
		e.hb = append(e.hb, tk.firstHB)
	}
	tk.last = len(t.events)
	t.events = append(t.events, e)
	return e
}

// actionErrno is the error an action makes its call fail with.
var actionErrno = map[Action]unix.Errno{
	ActRefuse: unix.ECONNREFUSED,
	ActReset:  unix.ECONNRESET,
	ActENOSPC: unix.ENOSPC,
	ActEIO:    unix.EIO,
}

// Calls by what their arguments mean.
var (
	callFdArg0 = names("read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev",
		"preadv2", "pwritev2", "sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg",
		"connect", "accept", "accept4", "bind", "listen", "shutdown", "fsync", "fdatasync", "close",
		"getsockname", "getpeername", "setsockopt", "getsockopt", "ftruncate", "fallocate", "sendfile",
		"lseek", "fstat", "dup", "dup2", "dup3", "fcntl", "ioctl",
		// Of two descriptors, the first (the input; sendfile's is the output): fd= and path=
		// look at it. cat and cp copy a file with copy_file_range when stdout is a file.
		"copy_file_range", "splice", "tee", "sync_file_range")
	callSend  = names(sendCalls...)
	callRecv  = names(recvCalls...)
	callIov   = names("readv", "writev", "preadv", "pwritev", "preadv2", "pwritev2")
	callMsg   = names("sendmsg", "recvmsg")
	callFresh = names("connect", "bind", "listen")
	callNewFd = names("accept", "accept4")
	callPair  = names("pipe", "pipe2", "socketpair")
	// Calls whose path argument is at this position (the first path, for rename and link).
	callPath0 = names("open", "creat", "unlink", "rename", "mkdir", "rmdir", "stat", "lstat", "access",
		"truncate", "chdir", "chmod", "chown", "lchown", "link", "symlink", "readlink", "mknod", "statfs",
		"execve", "utime", "utimes", "setxattr", "lsetxattr", "getxattr", "lgetxattr", "listxattr",
		"llistxattr", "removexattr", "lremovexattr", "chroot", "acct", "swapon", "swapoff", "uselib")
	callPath1 = names("openat", "openat2", "unlinkat", "renameat", "renameat2", "mkdirat", "newfstatat",
		"statx", "faccessat", "faccessat2", "fchmodat", "fchownat", "linkat", "readlinkat", "mknodat",
		"futimesat", "utimensat", "execveat", "name_to_handle_at", "inotify_add_watch")
	callSockaddr = names("connect", "bind")
)

var (
	sysClose      = sysNr("close")
	sysDup2       = sysNr("dup2") // not on arm64
	sysDup3       = sysNr("dup3")
	sysCloseRange = sysNr("close_range")
)

func names(ns ...string) map[int]bool {
	m := map[int]bool{}
	for _, n := range ns {
		if nr, ok := sysNumber(n); ok {
			m[nr] = true
		}
	}
	return m
}

// entry handles a call's entry stop. info, when not nil, is the PTRACE_GET_SYSCALL_INFO the
// caller made at this stop.
func (t *tracer) entry(tk *task, info *syscallInfo) {
	r, err := readCall(tk.tid, info)
	if err != nil {
		// ESRCH: the task is gone (killed), nothing to resume. Any other error: let the call
		// run untouched rather than leave the task stopped.
		if err != unix.ESRCH {
			t.cont(tk.tid, 0)
		}
		return
	}
	nr := r.Syscall()
	if t.miss.watched[nr] {
		t.watch(tk, nr, r)
	}
	// Before the target starts, the helper can only stop at its execve of the target (or a
	// write of its error message): that execve is the command's first, an event as in strace.
	switch nr {
	case sysClose:
		if !t.traced[nr] {
			// A traced close names its fd from the cache first and forgets it at exit.
			t.eps.forget(tk.proc.pid, int(int32(r.Arg(0))))
		}
	case sysDup2, sysDup3:
		t.eps.forget(tk.proc.pid, int(int32(r.Arg(1))))
	case sysCloseRange:
		for fd := r.Arg(0); fd <= r.Arg(1) && fd < 1<<16; fd++ {
			t.eps.forget(tk.proc.pid, int(fd))
		}
		if r.Arg(1)-r.Arg(0) >= 1<<16 {
			t.eps.forget(tk.proc.pid, -1)
		}
	}
	if !t.traced[nr] {
		// Stopped only so that the fd cache stays true: no event.
		t.cont(tk.tid, 0)
		return
	}
	fd := -1
	if callFdArg0[nr] {
		fd = int(int32(r.Arg(0)))
	}
	name := sysName(nr)
	hidden := len(t.cfg.Paths) > 0 && !t.onPaths(tk, nr, r)
	if hidden && !t.mayTamper(nr) && nr != sysClose && !callRetFd[nr] {
		// Off the -P paths and nothing to do with it. A close or a call that makes a
		// descriptor goes on below all the same: its exit keeps the fd cache true.
		t.cont(tk.tid, 0)
		return
	}
	c := &callState{nr: nr, ev: -1, enterAt: time.Now(), stat: &CallStat{}, hidden: hidden}
	if !hidden {
		c.stat = t.stat(name) // a hidden call is counted nowhere, and gets no -c row
	}
	for i := range c.args {
		c.args[i] = r.Arg(i)
	}
	c.stat.Calls++
	if !hidden {
		t.keepInput(tk, c) // its buffer would never be printed
	}
	var e *Event
	if !hidden {
		e = t.record(tk, name, fd)
	}
	if e == nil {
		// Not kept, still used for the decisions and named in the list of faults.
		e = &Event{Call: name, Fd: fd, proc: tk.proc, Label: tk.proc.label, gen: len(tk.proc.names) - 1,
			Addr: tk.addr()}
	} else {
		c.ev = len(t.events) - 1
	}
	c.e = e
	tk.call = c
	if fd >= 0 {
		e.Endpoint = t.eps.resolveCached(tk.proc.pid, tk.tid, fd)
		t.noteOwner(tk.proc, e.Endpoint)
	}
	switch {
	case callSend[nr]:
		e.Dir = "send"
	case callRecv[nr]:
		e.Dir = "recv"
	}
	if e.Dir != "" && !callIov[nr] && !callMsg[nr] {
		e.Size = int64(r.Arg(2))
		c.buf = r.Arg(1)
	}
	if callIov[nr] {
		e.Size = t.iovLen(tk.tid, r.Arg(1), int(r.Arg(2)))
	}
	if callMsg[nr] {
		e.Size = t.msgLen(tk.tid, r.Arg(1))
	}
	switch {
	case callSockaddr[nr]:
		e.Dest = t.sockaddr(tk.tid, r.Arg(1), int(r.Arg(2)))
	case name == "sendto":
		e.Dest = t.sockaddr(tk.tid, r.Arg(4), int(r.Arg(5)))
	}
	switch {
	case callPath0[nr]:
		e.Path = t.readString(tk.tid, r.Arg(0))
	case callPath1[nr]:
		e.Path = t.readString(tk.tid, r.Arg(1))
	case callSockaddr[nr] || name == "sendto":
		if p := destPath(e.Dest); p != "" {
			e.Path = p
		}
	}
	if e.Dir == "send" && e.Endpoint != nil && (e.Endpoint.Kind == "udp" || e.Endpoint.Kind == "sock") && c.buf != 0 {
		e.dgram = t.hashMem(tk.tid, c.buf, e.Size)
	}
	c.fresh = callFresh[nr]
	c.fdOut = callNewFd[nr]
	if callPair[nr] {
		c.pairAddr = r.Arg(0)
		if name == "socketpair" {
			c.pairAddr = r.Arg(3)
		}
	}
	c.hashAtExit = e.Dir == "recv" && e.Endpoint != nil && e.Endpoint.Kind == "udp" && c.buf != 0

	var rule *Rule
	var ri int
	var at *streamFault
	var linkDelay time.Duration
	if tk.proc.started {
		// strace neither counts nor tampers with the command's own first execve.
		rule, ri, at = t.matchRule(tk, nr, e)
	}
	changed := false
	if rule != nil {
		what := rule.Text
		switch {
		case rule.Action == ActCrash && rule.DelayExit > 0:
			// Crash after the call: it runs (after any delay_enter), the thread is held at
			// its exit for delay_exit, then the process is killed before it sees the result.
			c.killAtExit = true
		case rule.Action == ActCrash:
			// The call does not run; with delay_enter the thread is held at its entry for
			// the delay (the other threads go on), then the process is killed.
			r.SetSyscall(-1)
			r.SetRet(-int64(unix.ENOSYS))
			changed = true
			if rule.DelayEnter == 0 {
				unix.Kill(tk.proc.pid, unix.SIGKILL)
			}
		case rule.Error != 0 || actionErrno[rule.Action] != 0:
			errno := int64(rule.Error)
			if en := actionErrno[rule.Action]; en != 0 {
				errno = int64(en)
			}
			c.skip, c.ret = true, -errno
		case rule.HasRetval:
			c.skip, c.ret = true, rule.Retval
		case rule.Action == ActOmit || rule.Action == ActPhantom:
			c.skip, c.ret = true, e.Size
		case rule.Action == ActMute:
			tk.proc.muted = true
			c.skip, c.ret = true, e.Size
		case rule.Action == ActPause:
			// Every other thread goes into a group-stop; this one is held at its call.
			unix.Kill(tk.proc.pid, unix.SIGSTOP)
		case rule.Action == ActShort:
			n := rule.ShortBytes
			if n < 0 {
				n = e.Size / 2
			}
			if at != nil {
				// Decided by a byte offset: the call stops just after the point's byte, so it
				// passes over no other point (see nextStreamFault).
				n = at.cut()
			}
			if n < e.Size {
				r.SetArg(2, uint64(n))
				changed = true
			}
		case rule.Action == ActCorrupt:
			c.corrupt = true
			if at != nil && at.cut() < e.Size {
				// Decided by a byte offset: the read stops just after the point's byte, the
				// byte whose bit is flipped.
				r.SetArg(2, uint64(at.cut()))
				changed = true
			}
			c.corruptAt = at
		}
		e.Fault = what
		t.faults = append(t.faults, injected{e, what, ruleKind(rule), at.String()})
		t.fired[ri]++
		if rule.Signal != 0 {
			unix.Tgkill(tk.proc.pid, tk.tid, unix.Signal(rule.Signal))
		}
		c.delayExit = rule.DelayExit
	} else if tk.proc.muted && e.Dir == "send" && e.Endpoint != nil && e.Endpoint.isSocket() {
		c.skip, c.ret = true, e.Size
		e.Fault = "mute (crash-stop in communication)"
		t.faults = append(t.faults, injected{e, e.Fault, "mute", ""})
	} else if pi := t.partitioned(tk, nr, e); pi >= 0 {
		what := t.cfg.Partitions[pi].name()
		if name == "connect" {
			c.skip, c.ret = true, -int64(unix.ECONNREFUSED)
			what += " (refused)"
		} else {
			c.skip, c.ret = true, e.Size
			what += " (omitted)"
		}
		e.Fault = what
		kind := "partition-omit"
		if name == "connect" {
			kind = "partition-refused"
		}
		t.faults = append(t.faults, injected{e, what, kind, ""})
	} else if li, d, lost, msg := t.linked(tk, nr, e); li >= 0 && (lost || d > 0) {
		what := t.cfg.Links[li].name()
		kind := "link-delay"
		switch {
		case lost:
			c.skip, c.ret = true, e.Size
			what, kind = what+" (message "+strconv.FormatUint(msg, 10)+" lost: omitted)", "link-loss"
		default:
			linkDelay = d
			what += " (message " + strconv.FormatUint(msg, 10) + " delayed " + d.String() + ")"
		}
		e.Fault = what
		t.faults = append(t.faults, injected{e, what, kind, ""})
	}
	if c.skew = t.cfg.Skew.of(nr, c.args); c.skew != 0 && e.Fault == "" && !c.skip {
		e.Fault = t.skewFault
		t.faults = append(t.faults, injected{e, e.Fault, "clock-skew", ""})
	}
	if e.Fault != "" {
		c.stat.Faults++
		c.mark = "INJECTED: " + t.faults[len(t.faults)-1].kind
		if rule != nil && rule.Action == ActNone {
			// strace's own marks for strace's own terms.
			c.mark = "INJECTED"
			if rule.Error == 0 && !rule.HasRetval && rule.Signal == 0 {
				c.mark = "DELAYED"
			}
		}
	}
	if c.skip {
		// The call is not run: the thread sees c.ret as its result.
		r.SetSyscall(-1)
		r.SetRet(c.ret)
		changed = true
	}
	if changed {
		r.flush()
	}
	if !t.needExit(c) {
		// Nothing needs the result: the call runs to its end without stopping again.
		tk.call = nil
	}
	if rule != nil && rule.Action == ActPause {
		t.delayThen(tk, rule.Pause+rule.DelayEnter, tk.proc.pid)
		return
	}
	if rule != nil && rule.Action == ActCrash && !c.killAtExit && rule.DelayEnter > 0 {
		t.killAfter(tk, rule.DelayEnter)
		return
	}
	if rule != nil && rule.DelayEnter > 0 {
		t.delay(tk, rule.DelayEnter)
		return
	}
	if linkDelay > 0 {
		t.delay(tk, linkDelay)
		return
	}
	t.resume(tk, 0)
}

// matchRule finds the first rule that fires for this call, counting invocations as strace does
// (per system call, per thread; per process with count=process) among the calls that pass the
// rule's filters. A p= rule decides a call that moves bytes on a stream by the bytes' offsets
// (see nextStreamFault); at then says where the point was.
func (t *tracer) matchRule(tk *task, nr int, e *Event) (rule *Rule, index int, at *streamFault) {
	for i, r := range t.rules {
		if !t.ruleSets[i][nr] {
			continue
		}
		if !r.passes(tk.proc.label, e) {
			continue
		}
		if r.After {
			if !tk.proc.armed[i] {
				continue
			}
			delete(tk.proc.armed, i) // only the first call after the send
		}
		key, counts := countKey{i, nr}, tk.counts
		switch {
		case r.PerProcess:
			key.nr, counts = -1, tk.proc.counts
		case r.CountProcess:
			counts = tk.proc.counts
		}
		counts[key]++
		n := counts[key]
		if t.fired[i] == 0 {
			// Only a rule that never fires says why: once it has, its counts are not needed.
			t.miss.count(i, key.nr, n)
		}
		if !r.When.Match(n) {
			continue
		}
		if r.Prob < 1 {
			if off, ok := t.streamOffset(e); ok {
				k := streamKey{rule: i, label: tk.proc.label, fd: e.Fd}
				point, fire := nextStreamFault(t.cfg.Seed, k, r.Prob, t.streamNext[k], uint64(off), uint64(max(e.Size, 0)))
				if !fire {
					continue
				}
				t.streamNext[k] = point + 1
				return r, i, &streamFault{point: point, off: uint64(off), dir: e.Dir, fd: e.Fd}
			}
			if draw(t.cfg.Seed, i, tk.proc.label, tk.index, n) >= r.Prob {
				continue
			}
		}
		return r, i, nil
	}
	return nil, -1, nil
}

// streamFault is where a byte-offset decision put a fault: the point, and the offset of the
// first byte of the call it fell in.
type streamFault struct {
	point, off uint64
	dir        string
	fd         int
}

// cut is how many bytes the call moves when it stops just after the point's byte.
func (f *streamFault) cut() int64 { return int64(f.point-f.off) + 1 }

func (f *streamFault) String() string {
	if f == nil {
		return ""
	}
	return " (byte " + strconv.FormatUint(f.point, 10) + " of " + f.dir + " fd " + strconv.Itoa(f.fd) + ")"
}

// streamOffset is the offset in its direction of the first byte a call on a stream (a pipe,
// a TCP or unix socket) moves, as the tracer has counted them; false for other calls.
func (t *tracer) streamOffset(e *Event) (int64, bool) {
	ep := e.Endpoint
	if e.Fd < 0 || ep == nil || !(ep.Kind == "pipe" || ep.Kind == "tcp" || ep.Kind == "unix") {
		return 0, false
	}
	switch e.Dir {
	case "send":
		return t.sendOff[ep.Inode], true
	case "recv":
		return t.recvOff[ep.Inode], true
	}
	return 0, false
}

func addrMatches(pattern string, e *Event) bool {
	var cands []string
	if e.Dest != "" {
		cands = append(cands, e.Dest)
	}
	if e.Endpoint != nil {
		cands = append(cands, e.Endpoint.Remote, e.Endpoint.Local, e.Endpoint.Path)
	}
	ph, pp, _ := splitHostPort(pattern)
	for _, c := range cands {
		if c == "" {
			continue
		}
		if c == pattern {
			return true
		}
		h, p, ok := splitHostPort(c)
		if !ok {
			continue
		}
		if (ph == "" || ph == "*" || ph == h) && (pp == "" || pp == "*" || pp == p) {
			return true
		}
	}
	return false
}

func (t *tracer) noteOwner(p *process, ep *Endpoint) {
	if ep == nil {
		return
	}
	switch ep.Kind {
	case "tcp", "udp":
		if ep.Local != "" {
			t.owner[ep.Kind+"|"+ep.Local] = p
			if _, port, ok := splitHostPort(ep.Local); ok {
				if _, taken := t.owner[ep.Kind+"|*:"+port]; !taken || ep.Remote == "" {
					t.owner[ep.Kind+"|*:"+port] = p
				}
			}
		}
	case "unix":
		if ep.Path != "" && ep.peer == 0 {
			t.owner["unix|"+ep.Path] = p
		}
	}
	if ep.Inode != 0 {
		t.owner["ino|"+strconv.FormatUint(ep.Inode, 10)] = p
	}
}

// peerOf names the process at the other end of a send or connect, when the tracer knows it.
func (t *tracer) peerOf(e *Event) *process {
	ep := e.Endpoint
	lookup := func(kind, addr string) *process {
		if addr == "" {
			return nil
		}
		if p := t.owner[kind+"|"+addr]; p != nil {
			return p
		}
		if _, port, ok := splitHostPort(addr); ok {
			return t.owner[kind+"|*:"+port]
		}
		return nil
	}
	if e.Dest != "" {
		for _, k := range []string{"tcp", "udp", "unix"} {
			if p := lookup(k, e.Dest); p != nil {
				return p
			}
		}
	}
	if ep == nil {
		return nil
	}
	switch ep.Kind {
	case "tcp", "udp":
		return lookup(ep.Kind, ep.Remote)
	case "unix":
		if ep.peer != 0 {
			return t.owner["ino|"+strconv.FormatUint(ep.peer, 10)]
		}
	}
	return nil
}

// linked finds the first --link a send or connect crosses and draws what happens to its n-th
// call across the link (counted per sending process): lost, or delayed by d (Delay plus a
// jitter draw). The draws come from the seed,
// the link, the sender's label and the count of its messages on the link: the same on every
// run as long as the process sends them in the same order. li is -1 when no link applies.
func (t *tracer) linked(tk *task, nr int, e *Event) (li int, d time.Duration, lost bool, n uint64) {
	if len(t.cfg.Links) == 0 || !(e.Dir == "send" || sysName(nr) == "connect") {
		return -1, 0, false, 0
	}
	if e.Endpoint != nil && !e.Endpoint.isSocket() {
		return -1, 0, false, 0
	}
	peer := t.peerOf(e)
	if peer == nil {
		return -1, 0, false, 0
	}
	el := time.Since(t.epoch)
	for i, l := range t.cfg.Links {
		if !l.active(el) || !crosses(tk.proc.label, peer.label, l.A, l.B, l.OneWay) {
			continue
		}
		if tk.proc.linkN == nil {
			tk.proc.linkN = map[int]uint64{}
		}
		tk.proc.linkN[i]++
		n = tk.proc.linkN[i]
		if l.Loss > 0 && e.Dir == "send" && draw(t.cfg.Seed, -1000-2*i, tk.proc.label, 0, n) < l.Loss {
			return i, 0, true, n
		}
		d = l.Delay
		if l.Jitter > 0 {
			u := draw(t.cfg.Seed, -1001-2*i, tk.proc.label, 0, n)
			d += time.Duration((2*u - 1) * float64(l.Jitter))
		}
		return i, max(d, 0), false, n
	}
	return -1, 0, false, 0
}

func (t *tracer) partitioned(tk *task, nr int, e *Event) int {
	if len(t.cfg.Partitions) == 0 || !(e.Dir == "send" || sysName(nr) == "connect") {
		return -1
	}
	if e.Endpoint != nil && !e.Endpoint.isSocket() {
		return -1
	}
	peer := t.peerOf(e)
	if peer == nil {
		return -1
	}
	for i, pt := range t.cfg.Partitions {
		if !crosses(tk.proc.label, peer.label, pt.A, pt.B, pt.OneWay) {
			continue
		}
		t.crossN[i]++
		if pt.ByTime {
			el := time.Since(t.epoch)
			if el >= pt.FromTime && (pt.ToTime == 0 || el < pt.ToTime) {
				return i
			}
			continue
		}
		n := t.crossN[i]
		if n >= pt.FromMsg && (pt.ToMsg == 0 || n <= pt.ToMsg) {
			return i
		}
	}
	return -1
}

func (t *tracer) exit(tk *task) {
	t.exitStops++
	c := tk.call
	if c == nil {
		t.resume(tk, 0)
		return
	}
	tk.call = nil
	r, err := getRegs(tk.tid)
	if err != nil {
		if err != unix.ESRCH {
			t.resume(tk, 0)
		}
		return
	}
	e := c.e
	ret := r.Ret()
	if c.skip {
		if ret != c.ret {
			r.SetRet(c.ret)
			setRegs(tk.tid, r)
		}
		ret = c.ret
	} else if c.skew != 0 && ret >= 0 {
		if skewed := t.skew(tk, c, ret, c.skew); skewed != ret {
			ret = skewed
			r.SetRet(ret)
			setRegs(tk.tid, r)
		}
	}
	e.Ret = ret
	if ret < 0 && ret > -4096 {
		e.Errno = errnoName(int(-ret))
	}
	if c.corrupt && ret > 0 && c.buf != 0 {
		if at := c.corruptAt; at != nil {
			if ret >= at.cut() {
				// The bit is drawn from the seed and the byte's offset in its stream.
				t.flipBit(tk, c.buf+uint64(at.cut()-1), t.cfg.Seed.Derive("trace", "stream").Hash(at.point))
			}
		} else {
			t.corrupt(tk, c.buf, ret)
		}
	}
	if ret >= 0 {
		switch {
		case c.fdOut:
			ep := t.eps.resolve(tk.proc.pid, tk.tid, int(ret), true)
			t.noteOwner(tk.proc, ep)
			e.Dest = ""
			if ep != nil {
				e.Dest = ep.Remote
				e.Endpoint = ep
			}
		case c.fresh && e.Fd >= 0:
			e.Endpoint = t.eps.resolve(tk.proc.pid, tk.tid, e.Fd, true)
			t.noteOwner(tk.proc, e.Endpoint)
		case c.pairAddr != 0:
			var fds [8]byte
			if t.readMem(tk.tid, c.pairAddr, fds[:]) {
				for i := 0; i < 2; i++ {
					fd := int(int32(binary.LittleEndian.Uint32(fds[4*i:])))
					t.noteOwner(tk.proc, t.eps.resolve(tk.proc.pid, tk.tid, fd, true))
				}
			}
		}
		if !c.fresh && e.Endpoint != nil && e.Endpoint.Kind == "sock" && e.Fd >= 0 {
			// An unbound socket (a UDP sender) enters the tables as the call binds it. (After
			// connect, bind or listen the case above has just looked it up afresh.)
			e.Endpoint = t.eps.resolve(tk.proc.pid, tk.tid, e.Fd, true)
		}
		if e.Dir != "" && ret > 0 && e.Endpoint != nil && !c.skip {
			e.Bytes = ret
			ino := e.Endpoint.Inode
			if e.Endpoint.Kind == "tcp" || e.Endpoint.Kind == "pipe" || e.Endpoint.Kind == "unix" {
				if e.Dir == "send" {
					e.Offset = t.sendOff[ino]
					t.sendOff[ino] += ret
				} else {
					e.Offset = t.recvOff[ino]
					t.recvOff[ino] += ret
				}
			}
			if c.hashAtExit {
				e.dgram = t.hashMem(tk.tid, c.buf, ret)
			}
			if e.Dir == "send" && e.Endpoint.isSocket() {
				t.arm(tk.proc, e)
			}
		}
	}
	e.complete = true
	if c.ev >= 0 {
		e.DurUs = time.Since(t.start).Microseconds() - e.TimeUs
	}
	switch {
	case c.nr == sysClose:
		// The close event named the fd at entry from the cache: it is gone now.
		t.eps.forget(tk.proc.pid, e.Fd)
	case callRetFd[c.nr] && ret >= 0:
		// A new descriptor: whatever was cached under its number is stale.
		t.eps.forget(tk.proc.pid, int(ret))
	}
	t.finishStat(c, ret)
	t.textLine(tk, c, ret, true)
	if c.killAtExit {
		t.killAfter(tk, c.delayExit)
		return
	}
	if c.delayExit > 0 {
		t.delay(tk, c.delayExit)
		return
	}
	t.resume(tk, 0)
}

func (t *tracer) readMem(tid int, addr uint64, b []byte) bool {
	if len(b) == 0 {
		return true
	}
	n, err := unix.ProcessVMReadv(tid, []unix.Iovec{{Base: &b[0], Len: uint64(len(b))}},
		[]unix.RemoteIovec{{Base: uintptr(addr), Len: len(b)}}, 0)
	return err == nil && n == len(b)
}

// readString reads a NUL-terminated string (a path) from the tracee, up to PATH_MAX bytes,
// page by page so that a string ending just before an unmapped page is still read.
func (t *tracer) readString(tid int, addr uint64) string {
	if addr == 0 {
		return ""
	}
	const pathMax, page = 4096, 4096
	var out []byte
	for len(out) < pathMax {
		n := page - int(addr%page)
		if n > pathMax-len(out) {
			n = pathMax - len(out)
		}
		b := make([]byte, n)
		if !t.readMem(tid, addr, b) {
			break
		}
		if i := bytes.IndexByte(b, 0); i >= 0 {
			return string(append(out, b[:i]...))
		}
		out = append(out, b...)
		addr += uint64(n)
	}
	return string(out)
}

// destPath is the path in a call's destination address: a unix socket's path (or @abstract
// name), "" for an internet address or none.
func destPath(dest string) string {
	if dest == "" || strings.HasPrefix(dest, "family ") {
		return ""
	}
	if _, _, ok := splitHostPort(dest); ok {
		return ""
	}
	return dest
}

func (t *tracer) sockaddr(tid int, addr uint64, n int) string {
	if addr == 0 || n <= 0 || n > 128 {
		return ""
	}
	b := make([]byte, n)
	if !t.readMem(tid, addr, b) {
		return ""
	}
	return sockaddrString(b)
}

func (t *tracer) iovLen(tid int, addr uint64, cnt int) int64 {
	if cnt <= 0 || cnt > 1024 {
		return 0
	}
	b := make([]byte, 16*cnt)
	if !t.readMem(tid, addr, b) {
		return 0
	}
	var sum int64
	for i := 0; i < cnt; i++ {
		sum += int64(binary.LittleEndian.Uint64(b[16*i+8:]))
	}
	return sum
}

func (t *tracer) msgLen(tid int, addr uint64) int64 {
	var h [56]byte // struct msghdr
	if !t.readMem(tid, addr, h[:]) {
		return 0
	}
	return t.iovLen(tid, binary.LittleEndian.Uint64(h[16:]), int(binary.LittleEndian.Uint64(h[24:])))
}

func (t *tracer) hashMem(tid int, addr uint64, n int64) uint64 {
	if n <= 0 {
		return 0
	}
	if n > 4096 {
		n = 4096
	}
	b := make([]byte, n)
	if !t.readMem(tid, addr, b) {
		return 0
	}
	h := fnv.New64a()
	h.Write(b)
	return h.Sum64() | 1
}

// corrupt flips one bit of the bytes a read returned; which bit is drawn from the seed.
func (t *tracer) corrupt(tk *task, addr uint64, n int64) {
	x := uint64(draw(t.cfg.Seed, -1, tk.proc.label, tk.index, uint64(tk.n)) * float64(1<<53))
	t.flipBit(tk, addr+x%uint64(n), x>>32)
}

// flipBit flips bit h%8 of the tracee's byte at addr.
func (t *tracer) flipBit(tk *task, addr, h uint64) {
	var b [1]byte
	if !t.readMem(tk.tid, addr, b[:]) {
		return
	}
	b[0] ^= 1 << (h % 8)
	t.writeMem(tk.tid, addr, b[:])
}

func (t *tracer) result() *Result {
	t.rename()
	link(t.events, t.eps.byInode)
	var faults []string
	for _, f := range t.faults {
		relabel(f.e)
		faults = append(faults, f.e.Addr+": "+f.what+f.at)
	}
	var why []string
	for i, r := range t.rules {
		if t.fired[i] == 0 {
			text := r.Text
			if !strings.HasPrefix(text, "--") {
				text = "--inject " + text
			}
			t.unfired = append(t.unfired, text)
			why = append(why, t.whyUnfired(i))
		}
	}
	for i, st := range t.steps {
		if !t.stepHit[i] {
			t.unfired = append(t.unfired, st.Name)
			if i < t.nextStep {
				why = append(why, "no live process was labelled "+st.Label+" at "+st.At.String())
			} else {
				why = append(why, "the run ended before "+st.At.String())
			}
		}
	}
	stats := make(map[string]CallStat, len(t.stats))
	for n, s := range t.stats {
		stats[n] = *s
	}
	res := &Result{ExitCode: t.rootCode, Events: t.events, Dropped: t.dropped, Faults: faults, Calls: t.calls,
		CallStats:   stats,
		FaultEvents: faultEvents(t.faults),
		Unfired:     t.unfired,
		UnfiredWhy:  why,
		tableReads:  t.eps.tableReads,
		exitStops:   t.exitStops}
	t.mu.Lock()
	res.Interrupted = t.interrupted
	res.Detached = t.detached
	t.mu.Unlock()
	for _, p := range t.order {
		pi := ProcInfo{Pid: p.pid, Label: p.final(len(p.names) - 1), Comm: p.comm, Status: p.status, Code: p.code}
		if p.parent != nil {
			pi.Parent = p.parent.pid
		}
		if !p.exited && p.status != "detached" {
			pi.Status = "not seen exiting"
		}
		res.Procs = append(res.Procs, pi)
	}
	return res
}

// rename numbers the processes that wear the same --label name: ordered by their position in
// the process tree (fork index at each level, which is the parent's program order), the first
// keeps NAME and the others become NAME#2, NAME#3. The names reach events, faults and the
// process list; children's derived names ("NAME#2.1") follow.
func (t *tracer) rename() {
	type worn struct {
		p   *process
		gen int
	}
	groups := map[string][]worn{}
	var order []string
	for _, p := range t.order {
		p.finals = make([]string, len(p.names))
		for i, n := range p.names {
			if !p.fromLabel[i] {
				continue
			}
			if _, ok := groups[n]; !ok {
				order = append(order, n)
			}
			groups[n] = append(groups[n], worn{p, i})
		}
	}
	for _, n := range order {
		g := groups[n]
		sort.SliceStable(g, func(i, j int) bool {
			if c := slices.Compare(g[i].p.path, g[j].p.path); c != 0 {
				return c < 0
			}
			return g[i].gen < g[j].gen
		})
		for k, w := range g {
			w.p.finals[w.gen] = n
			if k > 0 {
				w.p.finals[w.gen] = n + "#" + strconv.Itoa(k+1)
			}
		}
	}
	for _, e := range t.events {
		relabel(e)
	}
}

// final is the name a process wore as names[gen], with duplicates numbered.
func (p *process) final(gen int) string {
	if gen < 0 || gen >= len(p.names) {
		return p.label
	}
	if p.finals != nil && p.finals[gen] != "" {
		return p.finals[gen]
	}
	if p.fromLabel[gen] || p.parent == nil {
		return p.names[gen]
	}
	return p.parent.final(p.atSpawn) + "." + strconv.Itoa(p.path[len(p.path)-1])
}

func relabel(e *Event) {
	if e.renamed || e.proc == nil {
		return
	}
	e.renamed = true
	old, nl := e.Label, e.proc.final(e.gen)
	if old == nl {
		return
	}
	e.Addr = nl + strings.TrimPrefix(e.Addr, old)
	e.Label = nl
}

// nameFromCmdline reads the process's command line: its comm, and the first label whose
// match it passes; it returns the command line, its arguments joined by spaces. Every process the label matches wears the bare name while it runs (rules
// and draws see NAME); duplicates are numbered when the run ends, by their position in the
// process tree, never by the order their execs happened to arrive in.
func (t *tracer) nameFromCmdline(p *process) string {
	cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(p.pid) + "/cmdline")
	args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	if len(args) > 0 {
		p.comm = filepath.Base(args[0])
	}
	line := strings.Join(args, " ")
	for _, l := range t.cfg.Labels {
		if l.matches(line) {
			p.label = l.Name
			p.names = append(p.names, l.Name)
			p.fromLabel = append(p.fromLabel, true)
			break
		}
	}
	return line
}
