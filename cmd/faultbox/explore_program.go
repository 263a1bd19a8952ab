//go:build linux

package main

import (
	"flag"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"sync"
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

// programFlagsOf holds each invocation's program flags, keyed by its exploreArgs: runExplore
// (explore.go) registers them with programFlags and programTarget reads them back. A map
// under a lock rather than a field, so that explore.go stays as it is, and safe for the
// concurrent invocations tests make.
var programFlagsOf = struct {
	sync.Mutex
	m map[*exploreArgs]*programArgs
}{m: map[*exploreArgs]*programArgs{}}

// programFlags registers --check, --label and --timeout on fs for the invocation a.
func programFlags(fs *flag.FlagSet, a *exploreArgs) {
	p := &programArgs{}
	fs.StringVar(&p.check, "check", "", "with -- PROG: a shell `COMMAND` run untraced after each run; exit 0 means the outcome is acceptable")
	fs.Var(&p.labels, "label", "with -- PROG: label processes whose command line matches: `NAME=MATCH` (repeatable)")
	fs.DurationVar(&p.timeout, "timeout", 30*time.Second, "with -- PROG: kill a run (and again its check) after this long")
	programFlagsOf.Lock()
	programFlagsOf.m[a] = p
	programFlagsOf.Unlock()
}

// programTarget makes the exploration target for a real program given after --.
func programTarget(a *exploreArgs, argv []string) (explore.Target, error) {
	programFlagsOf.Lock()
	p := programFlagsOf.m[a]
	delete(programFlagsOf.m, a)
	programFlagsOf.Unlock()
	if p == nil {
		p = &programArgs{timeout: 30 * time.Second}
	}
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
	if a.faults != "" {
		for _, k := range strings.Split(a.faults, ",") {
			if !slices.Contains(explore.ProgramKinds, k) {
				return nil, fmt.Errorf("--faults: kind %q: want %s for a program", k, strings.Join(explore.ProgramKinds, ", "))
			}
			tg.Kinds = append(tg.Kinds, k)
		}
	}
	return tg, nil
}
