//go:build linux

package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/faultbox/faultbox/fault"
	"github.com/faultbox/faultbox/trace"
)

// runOptions is a parsed 'faultbox run' command line.
type runOptions struct {
	trace.Config
	EventsPath string // -o
	HTMLPath   string // --html
	ChromePath string // --chrome
	Quiet      bool   // -q: no summary
	JSON       bool   // --json: the summary as a fault.Report (on stderr)
	SeedGiven  bool   // --seed was on the command line
	TextPath   string // --text: the strace-format trace, "-" for stderr
	Stats      bool   // -c: strace -c's table on stderr after the run
}

type multi []string

func (m *multi) String() string     { return strings.Join(*m, " ") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

// seedFlag is a fault.Seed that remembers the text it refused, for the error.
type seedFlag struct {
	fault.Seed
	bad   string
	given bool
}

func (s *seedFlag) Set(text string) error {
	if err := s.Seed.Set(text); err != nil {
		s.bad = text
		return err
	}
	s.given = true
	return nil
}

// runFlagSet defines the flags of 'faultbox run' on fs.
type runFlagSet struct {
	injects, parts, crashes, labels multi
	links, schedules, scheduleFiles multi
	pids, paths, exprs, clocks      multi
	skews                           multi
	onlyOK, onlyFailed              bool
	seed                            seedFlag
	traceSet                        string
	o                               runOptions
}

func (r *runFlagSet) define(fs *flag.FlagSet) {
	fs.Var(&r.injects, "inject", "inject faults as `SPEC` says: strace's --inject syntax plus extensions (repeatable)")
	fs.Var(&r.parts, "partition", "cut the processes labelled A from those labelled B, for the window `A/B[@FROM..TO]` (repeatable)")
	fs.Var(&r.links, "link", "delay or lose the messages between the processes labelled A and B: `A/B:delay=D[:jitter=D][:loss=P]` (A>B: one way; repeatable)")
	fs.Var(&r.schedules, "schedule", "timed fault steps from the start of the command, `STEPS` separated by ; or new lines: \"at 2s partition A/B; at 3s heal A/B; at 4s crash LABEL\" (partition, heal, link, unlink, pause, crash; repeatable)")
	fs.Var(&r.scheduleFiles, "schedule-file", "read timed fault steps from `FILE`, one a line (as --schedule; # comments; repeatable)")
	fs.Var(&r.crashes, "crash", "SIGKILL a process at its N-th such call: `LABEL@SYSCALLS[#N]` (repeatable)")
	fs.Var(&r.labels, "label", "label processes whose command line matches: `NAME=MATCH` (repeatable)")
	r.seed.Seed = 1
	fs.Var(&r.seed, "seed", "seed `N` of every probabilistic decision, decimal or 0x hex")
	fs.StringVar(&r.traceSet, "trace", "", "trace the calls in `SET` (strace -e trace= syntax); default: communication and storage calls")
	fs.StringVar(&r.o.EventsPath, "o", "", "write the events as JSON lines to `FILE`")
	fs.StringVar(&r.o.HTMLPath, "html", "", "write the space-time diagram (self-contained HTML) to `FILE`")
	fs.StringVar(&r.o.ChromePath, "chrome", "", "write a Chrome trace-event JSON (Perfetto opens it) to `FILE`")
	fs.BoolVar(&r.o.Quiet, "q", false, "no summary on stderr")
	fs.StringVar(&r.o.TextPath, "text", "", "write a line per traced call in strace's format to `FILE` (- for stderr)")
	fs.IntVar(&r.o.TextOptions.StrSize, "s", 32, "show at most `N` bytes of each buffer in the --text trace (strace -s)")
	fs.BoolVar(&r.o.TextOptions.FdPaths, "y", false, "show what each descriptor is in the --text trace: path, pipe, socket addresses (strace -y/-yy)")
	fs.BoolVar(&r.o.Stats, "c", false, "write strace -c's table (time, calls, errors, faults per call) on stderr after the run")
	fs.Var(&r.pids, "p", "attach to the running process `PID` and its threads instead of starting a command; its later children are followed, and on exit or Ctrl-C it is detached and left running (strace -p; repeatable, or a comma list)")
	fs.Var(&r.paths, "P", "report only the calls on `PATH`: that name it, or whose descriptor is on it (strace -P; repeatable; * and ? make a pattern)")
	fs.Var(&r.exprs, "e", "strace's `EXPR` for the --text trace: trace=SET (as --trace), status=SET (successful, failed, unfinished, unavailable, detached), signal=SET (names or numbers; default all); a leading ! negates (repeatable)")
	fs.Var(&r.clocks, "clock-offset", "run the command in a time namespace whose clock is offset: `CLOCK=DURATION`, CLOCK monotonic, boottime or both, DURATION like 1h or -90s (repeatable; root)")
	fs.Var(&r.skews, "clock-skew", "add `CLOCK=DURATION` to the time clock_gettime, gettimeofday and time return when the call reaches the kernel (not the vDSO's: see --no-vdso); CLOCK realtime, monotonic, boottime or all (repeatable)")
	fs.BoolVar(&r.o.NoVDSO, "no-vdso", false, "hide the vDSO from the programs run, so that their clock reads are system calls (which --clock-skew reaches; slow for programs that read the clock often)")
	fs.BoolVar(&r.onlyOK, "z", false, "show only the calls that succeeded in the --text trace (strace -z: -e status=successful)")
	fs.BoolVar(&r.onlyFailed, "Z", false, "show only the calls that failed in the --text trace (strace -Z: -e status=failed)")
	fs.BoolVar(&r.o.JSON, "json", false, "write the summary as a JSON fault report on stderr (stdout is the program's)")
}

// options turns what the flag package parsed into options: every spec is checked
// here, so that a bad one is rejected before anything starts. err, when the flag package
// refused the line, is its error; args is the whole line, for the message.
func (r *runFlagSet) options(args, rest []string, err error) (*runOptions, error) {
	if err != nil {
		if r.seed.bad != "" {
			return nil, &trace.SpecError{Flag: "--seed", Spec: r.seed.bad, Pos: 1, Field: "seed", Value: r.seed.bad,
				Expected: "a decimal number from 0 to 18446744073709551615 or 0x and up to 16 hex digits"}
		}
		// The flag package says what is wrong ("flag provided but not defined: -x", "flag
		// needs an argument: -o"); the value named is the argument it choked on.
		what, arg, _ := strings.Cut(err.Error(), ": ")
		if arg == "" {
			arg = what
		}
		return nil, &trace.SpecError{Flag: "faultbox run", Spec: strings.Join(args, " "), Pos: 1, Field: "flag", Value: arg,
			Expected: "a flag of faultbox run with its value (" + what + "; see -h)"}
	}
	o := &r.o
	o.Args = rest
	if o.TextOptions.StrSize < 0 {
		return nil, &trace.SpecError{Flag: "-s", Spec: "-s", Pos: 1, Field: "string size",
			Value: "negative", Expected: "a byte count >= 0"}
	}
	o.Seed = r.seed.Seed
	o.NoCallStats = !o.Stats // only -c prints them
	o.SeedGiven = r.seed.given
	if o.EventsPath == "" && o.HTMLPath == "" && o.ChromePath == "" {
		o.MaxEvents = -1 // nothing will read them: do not keep them
	}
	for _, v := range r.pids {
		for _, item := range strings.FieldsFunc(v, func(c rune) bool { return c == ',' || c == ' ' }) {
			pid, err := strconv.Atoi(item)
			if err != nil || pid <= 0 {
				return nil, &trace.SpecError{Flag: "-p", Spec: v, Pos: strings.Index(v, item) + 1, Field: "pid", Value: item,
					Expected: "a process id: a decimal number > 0 (a comma list for several)"}
			}
			o.Attach = append(o.Attach, pid)
		}
		if len(o.Attach) == 0 {
			return nil, &trace.SpecError{Flag: "-p", Spec: v, Pos: 1, Field: "pid", Value: v,
				Expected: "a process id: a decimal number > 0 (a comma list for several)"}
		}
	}
	switch {
	case len(o.Args) == 0 && len(o.Attach) == 0:
		return nil, &trace.SpecError{Flag: "faultbox run", Spec: strings.Join(args, " "), Pos: 1, Field: "command",
			Value: "", Expected: "-- CMD [ARGS...]: a command to run, or -p PID: a process to attach to"}
	case len(o.Args) > 0 && len(o.Attach) > 0:
		return nil, &trace.SpecError{Flag: "faultbox run", Spec: strings.Join(args, " "), Pos: 1, Field: "command",
			Value: strings.Join(o.Args, " "), Expected: "either -- CMD [ARGS...] or -p PID, not both"}
	}
	for _, p := range r.paths {
		if p == "" {
			return nil, &trace.SpecError{Flag: "-P", Spec: p, Pos: 1, Field: "path", Value: p, Expected: "a path (or a pattern with * or ?)"}
		}
		o.Paths = append(o.Paths, p)
	}
	if r.onlyOK || r.onlyFailed {
		o.TextOptions.Status = 0
		if r.onlyOK {
			o.TextOptions.Status, _ = trace.ParseStatus("successful")
		}
		if r.onlyFailed {
			st, _ := trace.ParseStatus("failed")
			o.TextOptions.Status |= st
		}
	}
	for _, c := range r.clocks {
		if err := trace.ParseClockOffset(c, &o.Clock); err != nil {
			return nil, err
		}
	}
	if len(o.Attach) > 0 && o.Clock != (trace.ClockOffsets{}) {
		return nil, &trace.SpecError{Flag: "--clock-offset", Spec: strings.Join(r.clocks, " "), Pos: 1, Field: "clock-offset",
			Value: strings.Join(r.clocks, " "), Expected: "a command to start (-- CMD): a running process (-p) cannot enter a time namespace"}
	}
	for _, c := range r.skews {
		if err := trace.ParseClockSkew(c, &o.Skew); err != nil {
			return nil, err
		}
	}
	for _, x := range r.exprs {
		if err := r.expr(o, x); err != nil {
			return nil, err
		}
	}
	for _, s := range r.injects {
		rule, err := trace.ParseInject(s)
		if err != nil {
			return nil, err
		}
		o.Rules = append(o.Rules, rule)
	}
	for _, s := range r.crashes {
		rule, err := trace.ParseCrash(s)
		if err != nil {
			return nil, err
		}
		o.Rules = append(o.Rules, rule)
	}
	for _, s := range r.parts {
		p, err := trace.ParsePartition(s)
		if err != nil {
			return nil, err
		}
		o.Partitions = append(o.Partitions, p)
	}
	for _, s := range r.links {
		l, err := trace.ParseLink(s)
		if err != nil {
			return nil, err
		}
		o.Links = append(o.Links, l)
	}
	if err := r.schedule(o); err != nil {
		return nil, err
	}
	for _, s := range r.labels {
		l, err := trace.ParseLabel(s)
		if err != nil {
			return nil, err
		}
		o.Labels = append(o.Labels, l)
	}
	if r.traceSet != "" {
		set, err := trace.ParseTrace(r.traceSet)
		if err != nil {
			return nil, err
		}
		o.Trace = set
	}
	return o, nil
}

// schedule reads the --schedule and --schedule-file steps as one schedule.
func (r *runFlagSet) schedule(o *runOptions) error {
	var texts []trace.ScheduleText
	for _, s := range r.schedules {
		texts = append(texts, trace.ScheduleText{Source: "--schedule", Text: s})
	}
	for _, f := range r.scheduleFiles {
		b, err := readSmallFile(f, maxScheduleFile)
		if err != nil {
			return &trace.SpecError{Flag: "--schedule-file", Spec: f, Pos: 1, Field: "file", Value: f,
				Expected: "a readable file of schedule steps, at most 1 MiB (" + err.Error() + ")"}
		}
		texts = append(texts, trace.ScheduleText{Source: "--schedule-file " + f, Text: string(b)})
	}
	if len(texts) == 0 {
		return nil
	}
	s, err := trace.ParseSchedule(texts...)
	if err != nil {
		return err
	}
	o.Schedule = s
	return nil
}

// maxScheduleFile bounds what --schedule-file reads.
const maxScheduleFile = 1 << 20

// readSmallFile reads the file at path, refusing one longer than limit bytes (or a device
// that never ends).
func readSmallFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err == nil && int64(len(b)) > limit {
		err = fmt.Errorf("longer than %d bytes", limit)
	}
	return b, err
}

// expr applies one -e EXPR: strace's qualifiers trace=, status= and signal= (signals=); an
// expression without a qualifier is a trace set, as in strace.
func (r *runFlagSet) expr(o *runOptions, x string) error {
	q, v, ok := strings.Cut(x, "=")
	if !ok {
		q, v = "trace", x
	}
	switch q {
	case "trace", "t":
		r.traceSet = v
	case "status":
		st, err := trace.ParseStatus(v)
		if err != nil {
			return err
		}
		o.TextOptions.Status = st
	case "signal", "signals", "s":
		set, err := trace.ParseSignals(v)
		if err != nil {
			return err
		}
		o.TextOptions.Signals = set
	default:
		return &trace.SpecError{Flag: "-e", Spec: x, Pos: 1, Field: "qualifier", Value: q,
			Expected: "trace=, status= or signal= (faults: --inject)"}
	}
	return nil
}

// parseRunArgs parses the arguments of 'faultbox run' (for tests and fuzzing; the command
// goes through cli.Env so that -h prints its help). It returns flag.ErrHelp for -h.
func parseRunArgs(args []string) (*runOptions, error) {
	var r runFlagSet
	fs := flag.NewFlagSet("faultbox run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	r.define(fs)
	err := fs.Parse(args)
	if err == flag.ErrHelp {
		return nil, err
	}
	return r.options(args, fs.Args(), err)
}
