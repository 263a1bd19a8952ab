//go:build linux

package trace

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/faultbox/faultbox/fault"
)

// Options is a parsed `faultbox run` command line.
type Options struct {
	Config
	EventsPath string // -o
	HTMLPath   string // --html
	ChromePath string // --chrome
	Quiet      bool   // -q: no summary
}

type multi []string

func (m *multi) String() string     { return strings.Join(*m, " ") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

// ErrHelp is returned by ParseArgs for -h.
var ErrHelp = flag.ErrHelp

// ParseArgs parses the arguments of `faultbox run`. Every spec is checked here, so that a bad
// one is rejected before anything starts.
func ParseArgs(args []string, usage io.Writer) (*Options, error) {
	fs := flag.NewFlagSet("faultbox run", flag.ContinueOnError)
	fs.SetOutput(usage)
	var injects, parts, crashes, labels multi
	fs.Var(&injects, "inject", "inject faults as `SPEC` says: strace's --inject syntax plus extensions (repeatable)")
	fs.Var(&parts, "partition", "cut the processes labelled A from those labelled B, for the window `A/B[@FROM..TO]` (repeatable)")
	fs.Var(&crashes, "crash", "SIGKILL a process at its N-th such call: `LABEL@SYSCALLS[#N]` (repeatable)")
	fs.Var(&labels, "label", "label processes whose command line matches: `NAME=MATCH` (repeatable)")
	seed := fs.String("seed", "1", "seed `N` (uint64) of every probabilistic decision")
	traceSet := fs.String("trace", "", "trace the calls in `SET` (strace -e trace= syntax); default: communication and storage calls")
	o := &Options{}
	fs.StringVar(&o.EventsPath, "o", "", "write the events as JSON lines to `FILE`")
	fs.StringVar(&o.HTMLPath, "html", "", "write the space-time diagram (self-contained HTML) to `FILE`")
	fs.StringVar(&o.ChromePath, "chrome", "", "write a Chrome trace-event JSON (Perfetto opens it) to `FILE`")
	fs.BoolVar(&o.Quiet, "q", false, "no summary on stderr")
	fs.Usage = func() {
		fmt.Fprintln(usage, "usage: faultbox run [flags] -- CMD [ARGS...]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return nil, err
		}
		// The flag package says what is wrong ("flag provided but not defined: -x", "flag
		// needs an argument: -o"); the value named is the argument it choked on.
		what, arg, _ := strings.Cut(err.Error(), ": ")
		if arg == "" {
			arg = what
		}
		return nil, &SpecError{Flag: "faultbox run", Spec: strings.Join(args, " "), Pos: 1, Field: "flag", Value: arg,
			Expected: "a flag of faultbox run with its value (" + what + "; see -h)"}
	}
	o.Args = fs.Args()
	if o.EventsPath == "" && o.HTMLPath == "" && o.ChromePath == "" {
		o.MaxEvents = -1 // nothing will read them: do not keep them
	}
	if len(o.Args) == 0 {
		return nil, &SpecError{Flag: "faultbox run", Spec: strings.Join(args, " "), Pos: 1, Field: "command",
			Value: "", Expected: "-- CMD [ARGS...]: a command to run"}
	}
	for _, s := range injects {
		r, err := ParseInject(s)
		if err != nil {
			return nil, err
		}
		o.Rules = append(o.Rules, r)
	}
	for _, s := range crashes {
		r, err := ParseCrash(s)
		if err != nil {
			return nil, err
		}
		o.Rules = append(o.Rules, r)
	}
	for _, s := range parts {
		p, err := ParsePartition(s)
		if err != nil {
			return nil, err
		}
		o.Partitions = append(o.Partitions, p)
	}
	for _, s := range labels {
		l, err := ParseLabel(s)
		if err != nil {
			return nil, err
		}
		o.Labels = append(o.Labels, l)
	}
	n, err := fault.ParseSeed(*seed)
	if err != nil {
		return nil, &SpecError{Flag: "--seed", Spec: *seed, Pos: 1, Field: "seed", Value: *seed, Expected: "a decimal or 0x-hex unsigned 64-bit integer"}
	}
	o.Seed = n
	if *traceSet != "" {
		if o.Trace, err = ParseTrace(*traceSet); err != nil {
			return nil, err
		}
	}
	return o, nil
}
