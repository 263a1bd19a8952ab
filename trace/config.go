//go:build linux

package trace

import (
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/faultbox/faultbox/fault"
)

// Config says what to run, what to trace and which faults to inject.
type Config struct {
	Args []string // the command and its arguments
	// Attach lists running processes to trace instead of starting a command (strace -p):
	// every thread of each is seized, their later children are followed, and when the run is
	// interrupted (ctx) they are detached and left running rather than killed. Without the
	// seccomp filter faultbox puts on the commands it starts, every call of an attached
	// process stops (at entry and exit), which is slower. Args must be empty.
	Attach []int
	// Paths, when not empty, limits what is reported (events, the text trace, the -c table)
	// to the calls on one of these paths, as strace -P: a call whose path argument is one
	// (or matches one, for a pattern with * or ?), or whose descriptor is on one. Rules still
	// apply to every call they name. Without Trace, the calls that take a path or a
	// descriptor are traced too.
	Paths      []string
	Env        []string // nil means os.Environ()
	Dir        string
	Stdin      *os.File // nil means os.Stdin (likewise for Stdout, Stderr)
	Stdout     *os.File
	Stderr     *os.File
	Rules      []*Rule
	Partitions []*Partition
	Links      []*Link // delays and losses between groups of processes (--link)
	// Schedule adds timed steps (--schedule): its partitions and links join Partitions and
	// Links, its crashes kill processes at their times. Nil: none.
	Schedule *Schedule
	Labels   []Label
	Seed     fault.Seed
	// Trace lists the system call numbers to stop at besides those the rules name; nil means
	// DefaultTrace (communication and storage calls).
	Trace []int
	// Helper is a binary that imports this package (it carries the helper mode); empty means
	// the running executable.
	Helper    string
	MaxEvents int // 0 means 1,000,000; negative keeps none (the summary still counts calls)
	// OnThisThread runs the tracer in the calling goroutine, which the caller has locked to its
	// OS thread, instead of a goroutine of its own. Best done from the main thread (locked in
	// init): the SIGCHLD the kernel sends for every tracee stop then lands on the thread that
	// is waiting for that stop anyway, rather than waking an idle one.
	// The thread must have no child processes of its own: the tracer's wait4(-1) would reap
	// them. Without OnThisThread, Run finds such a thread itself.
	OnThisThread bool
	// Text, when not nil, receives a line per traced call in strace's format as the call
	// completes ([pid N] read(3, "abc"..., 4096) = 3), and a line per process exit.
	Text        io.Writer
	TextOptions TextOptions
	// NoCallStats leaves Result.CallStats' errors and time out (calls are still counted).
	// With no events kept (MaxEvents < 0) and no Text either, a call whose result nothing
	// needs (no fault, no new descriptor, no stream offset a p= rule reads…) then runs to its
	// end without a second stop at its exit: one stop per traced call instead of two.
	NoCallStats bool
	// Clock offsets the command's CLOCK_MONOTONIC and CLOCK_BOOTTIME (a time namespace,
	// Linux 5.6+, root or CAP_SYS_ADMIN): see ClockOffsets. Not for attached processes.
	Clock ClockOffsets
	// Skew is added to the times clock_gettime, gettimeofday and time return when the call
	// reaches the kernel (the tracer rewrites the result): see ClockSkew.
	Skew ClockSkew
	// NoVDSO hides the vDSO from every program executed under the tracer, so that its clock
	// reads are system calls (which Skew then reaches): see hideVDSO. Each such read then
	// stops the tracee, which is slow for a program that reads the clock often (Go's runtime).
	NoVDSO bool
}

// ClockOffsets are added to the clocks of the traced command and its children, from their
// start: it runs in a new time namespace (unshare(CLONE_NEWTIME), /proc/self/timens_offsets).
// Every reader sees them, the vDSO's clock_gettime included; CLOCK_REALTIME cannot be
// offset this way.
type ClockOffsets struct {
	Monotonic time.Duration
	Boottime  time.Duration
}

// timensOffsets is o as /proc/self/timens_offsets takes it, "" when both are zero.
func (o ClockOffsets) timensOffsets() string {
	if o.Monotonic == 0 && o.Boottime == 0 {
		return ""
	}
	line := func(clock string, d time.Duration) string {
		secs, ns := int64(d/time.Second), int64(d%time.Second)
		if ns < 0 {
			secs, ns = secs-1, ns+int64(time.Second)
		}
		return clock + " " + strconv.FormatInt(secs, 10) + " " + strconv.FormatInt(ns, 10) + "\n"
	}
	return line("monotonic", o.Monotonic) + line("boottime", o.Boottime)
}

// ParseClockOffset parses a --clock-offset: CLOCK=DURATION with CLOCK monotonic, boottime or
// both, and DURATION as Go writes it (1h, -90s, 2h30m), at most 10 years either way.
func ParseClockOffset(s string, into *ClockOffsets) error {
	clock, d, err := parseClockSpec("--clock-offset", s, "monotonic, boottime or both", "1h, -90s or 2h30m")
	if err != nil {
		return err
	}
	switch clock {
	case "monotonic":
		into.Monotonic = d
	case "boottime":
		into.Boottime = d
	case "both":
		into.Monotonic, into.Boottime = d, d
	default:
		return clockSpecError("--clock-offset", s, "clock", clock, "monotonic, boottime or both (CLOCK_REALTIME cannot be offset)")
	}
	return nil
}

// parseClockSpec splits a CLOCK=DURATION spec of flag into the clock's name (checked by the
// caller; clocks lists them for the error) and a duration within 10 years either way.
func parseClockSpec(flag, s, clocks, examples string) (string, time.Duration, error) {
	clock, val, ok := strings.Cut(s, "=")
	if !ok {
		return "", 0, clockSpecError(flag, s, "clock", s, "CLOCK=DURATION with CLOCK "+clocks)
	}
	d, err := time.ParseDuration(val)
	const limit = 10 * 365 * 24 * time.Hour
	if err != nil || d > limit || d < -limit {
		return "", 0, clockSpecError(flag, s, "duration", val, "a duration like "+examples+", within 10 years (87600h) either way")
	}
	return clock, d, nil
}

func clockSpecError(flag, spec, field, value, want string) error {
	return &SpecError{Flag: flag, Spec: spec, Pos: 1, Field: field, Value: value, Expected: want}
}

// DefaultTrace is the set of calls traced when Config.Trace is nil: the network class, reads
// and writes of every kind, pipes, and the storage barriers. (arm64 has no pipe, only pipe2.)
func DefaultTrace() []int {
	set, _ := parseSyscallSet("%network,read,write,readv,writev,pread64,pwrite64,fsync,fdatasync,?pipe,pipe2")
	return set
}

// ParseTrace parses a --trace set (strace's -e trace= syntax).
func ParseTrace(s string) ([]int, error) {
	set, err := parseSyscallSet(s)
	if err != nil {
		return nil, &SpecError{Flag: "--trace", Spec: s, Pos: 1, Field: "syscall set", Value: s, Expected: err.Error()}
	}
	return set, nil
}

// ErrNoCommand is returned by Run when Config.Args is empty.
var ErrNoCommand = errors.New("trace: no command to run and no process to attach to")

// ErrCommandAndAttach is returned by Run when Config.Args and Config.Attach are both set.
var ErrCommandAndAttach = errors.New("trace: a command to run and processes to attach to: expected one of the two")

type process struct {
	pid       int
	parent    *process
	label     string
	comm      string
	path      []int    // fork index at each level from the root: the position in the tree
	names     []string // labels worn so far (derived from the parent's, then from --label)
	fromLabel []bool   // names[i] came from a --label match
	atSpawn   int      // index of the parent's name when this process was forked
	finals    []string // names after duplicates are numbered, filled when the run ends
	nChildren int
	nThreads  int
	counts    map[countKey]uint64
	started   bool
	muted     bool           // crash-stopped in communication: every send is omitted
	armed     map[int]bool   // after=send rules a send has armed (rule index), until their next call
	linkN     map[int]uint64 // messages sent across each --link (link index)
	exited    bool
	status    string
	code      int
}

type countKey struct{ rule, nr int }
