//go:build linux

package main

import (
	"flag"
	"fmt"
	"os/exec"
	"time"

	"github.com/faultbox/faultbox/explore"
	"github.com/faultbox/faultbox/trace"
)

// programArgs are the flags only a real program (-- PROG ARGS) uses.
type programArgs struct {
	check   string
	labels  multi
	timeout time.Duration
}

// programFlags registers --check, --label and --timeout on fs, into a.program.
func programFlags(fs *flag.FlagSet, a *exploreArgs) {
	p := &a.program
	fs.StringVar(&p.check, "check", "", "with -- PROG: a shell `COMMAND` run untraced after each run; exit 0 means the outcome is acceptable")
	fs.Var(&p.labels, "label", "with -- PROG: label processes whose command line matches: `NAME=MATCH` (repeatable)")
	fs.DurationVar(&p.timeout, "timeout", 30*time.Second, "with -- PROG: kill a run (and again its check) after this long")
}

// programTarget makes the exploration target for a real program given after --.
func programTarget(a *exploreArgs, argv []string) (explore.Target, error) {
	p := &a.program
	if err := checkCommonArgs(a); err != nil {
		return nil, err
	}
	if a.target != "" {
		return nil, fmt.Errorf("--target %q and a program after --: give one", a.target)
	}
	if a.bug != "" {
		return nil, fmt.Errorf("--bug %q: only for --target (a real program's bugs are its own)", a.bug)
	}
	if _, err := exec.LookPath(argv[0]); err != nil {
		return nil, fmt.Errorf("-- %s: want a program to run: %v", argv[0], err)
	}
	if p.timeout <= 0 {
		return nil, fmt.Errorf("--timeout %s: want a duration > 0", p.timeout)
	}
	tg := &explore.Program{Args: argv, Check: p.check, Timeout: p.timeout}
	for _, l := range p.labels {
		if _, err := trace.ParseLabel(l); err != nil {
			return nil, err
		}
		tg.Labels = append(tg.Labels, l)
	}
	kinds, err := parseKinds(a.faults, explore.ProgramKinds, " for a program")
	if err != nil {
		return nil, err
	}
	tg.Kinds = kinds
	return tg, nil
}
