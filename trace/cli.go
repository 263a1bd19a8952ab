//go:build linux

package trace

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
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
	fs.Var(&injects, "inject", "`SPEC` strace --inject term, plus extensions (repeatable)")
	fs.Var(&parts, "partition", "`A/B[@FROM..TO]` cut two groups of process labels for a window (repeatable)")
	fs.Var(&crashes, "crash", "`LABEL@SYSCALLS[#N]` SIGKILL a process at its N-th such call (repeatable)")
	fs.Var(&labels, "label", "`NAME=MATCH` name processes whose command line matches (repeatable)")
	seed := fs.String("seed", "1", "`N` seed of every probabilistic decision (uint64)")
	traceSet := fs.String("trace", "", "`SET` calls to trace (strace -e trace= syntax); default: communication and storage calls")
	o := &Options{}
	fs.StringVar(&o.EventsPath, "o", "", "`FILE` write the events as JSON lines")
	fs.StringVar(&o.HTMLPath, "html", "", "`FILE` write the space-time diagram (self-contained HTML)")
	fs.StringVar(&o.ChromePath, "chrome", "", "`FILE` write a Chrome trace-event JSON (Perfetto opens it)")
	fs.BoolVar(&o.Quiet, "q", false, "no summary on stderr")
	fs.Usage = func() {
		fmt.Fprintln(usage, "usage: faultbox run [flags] -- CMD [ARGS...]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	o.Args = fs.Args()
	if o.EventsPath == "" && o.HTMLPath == "" && o.ChromePath == "" {
		o.MaxEvents = -1 // nothing will read them: do not keep them
	}
	if len(o.Args) == 0 {
		return nil, errors.New("faultbox run: no command: expected -- CMD [ARGS...]")
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
	n, err := strconv.ParseUint(*seed, 0, 64)
	if err != nil {
		return nil, &SpecError{Flag: "--seed", Spec: *seed, Pos: 1, Field: "seed", Value: *seed, Expected: "an unsigned 64-bit integer"}
	}
	o.Seed = n
	if *traceSet != "" {
		if o.Trace, err = ParseTrace(*traceSet); err != nil {
			return nil, err
		}
	}
	return o, nil
}
