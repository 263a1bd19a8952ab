//go:build linux

package main

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/faultbox/faultbox/cmd/internal/cli"
	"github.com/faultbox/faultbox/fault"
	"github.com/faultbox/faultbox/trace"
)

// runReport is a traced run as a fault.Report: the figures of the summary, the injected
// faults counted by kind, one check (the command exited 0) and the replay command line.
// A command that did not start proved nothing: the verdict is empty.
func runReport(path string, args []string, o *runOptions, res *trace.Result) *fault.Report {
	r := fault.NewReport(path, fault.Seed(o.Seed))
	r.Target = cli.Quote(o.Args...)
	r.Add("events", len(res.Events))
	if res.Dropped > 0 {
		r.Add("events not kept", res.Dropped)
	}
	calls := 0
	for _, n := range res.Calls {
		calls += n
	}
	r.Add("calls", calls)
	for _, name := range slices.Sorted(maps.Keys(res.Calls)) {
		r.Add("calls: "+name, res.Calls[name])
	}
	r.Add("processes", len(res.Procs))
	r.Add("exit", res.ExitCode)
	r.SetFaults(traceFaultCounts(o.Rules, res.Faults))
	for _, u := range res.Unfired {
		r.Note("%s never fired", u)
	}
	replay := args
	if !o.SeedGiven {
		replay = append([]string{"--seed", strconv.FormatUint(o.Seed, 10)}, args...)
	}
	r.Replay = path + " " + cli.Quote(replay...)
	if len(res.Procs) == 0 {
		r.Note("the command did not start (exit %d)", res.ExitCode)
		r.Verdict = fault.Empty
		return r
	}
	status := res.Procs[0].Status
	r.Check("the command exited 0", res.ExitCode == 0, "%s", status)
	if res.Interrupted {
		r.Check("the run ran to its end", false, "interrupted: the traced processes were killed")
	}
	r.Judge()
	return r
}

// traceFaultCounts counts the injected faults (one line each, "ADDR: WHAT") by kind, in
// the trace layer: the kind of a rule's fault is its action (error=EIO, omit, crash, …).
func traceFaultCounts(rules []*trace.Rule, faults []string) []fault.Count {
	n := map[string]int{}
	for _, line := range faults {
		n[traceFaultKind(rules, line)]++
	}
	out := make([]fault.Count, 0, len(n))
	for kind, c := range n {
		out = append(out, fault.Count{Layer: fault.LayerTrace, Kind: kind, N: c})
	}
	fault.SortCounts(out)
	return out
}

func traceFaultKind(rules []*trace.Rule, line string) string {
	for _, rule := range rules {
		if strings.HasSuffix(line, ": "+rule.Text) {
			return ruleKind(rule)
		}
	}
	switch {
	case strings.Contains(line, ": --partition ") && strings.HasSuffix(line, "(refused)"):
		return "partition-refused"
	case strings.Contains(line, ": --partition "):
		return "partition-omit"
	case strings.Contains(line, ": mute"):
		return "mute"
	}
	return "other"
}

// ruleKind names what a rule does: its action, or its error, return value, signal and
// delay joined by "+".
func ruleKind(r *trace.Rule) string {
	if a := r.Action.String(); a != "" {
		return a
	}
	var parts []string
	if r.Error != 0 {
		name := unix.ErrnoName(syscall.Errno(r.Error))
		if name == "" {
			name = strconv.Itoa(r.Error)
		}
		parts = append(parts, "error="+name)
	}
	if r.HasRetval {
		parts = append(parts, fmt.Sprintf("retval=%d", r.Retval))
	}
	if r.Signal != 0 {
		name := unix.SignalName(syscall.Signal(r.Signal))
		if name == "" {
			name = strconv.Itoa(r.Signal)
		}
		parts = append(parts, "signal="+name)
	}
	if r.DelayEnter != 0 || r.DelayExit != 0 {
		parts = append(parts, "delay")
	}
	if len(parts) == 0 {
		return "inject"
	}
	return strings.Join(parts, "+")
}
