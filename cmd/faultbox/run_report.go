//go:build linux

package main

import (
	"maps"
	"slices"

	"github.com/faultbox/faultbox/fault"
	"github.com/faultbox/faultbox/internal/shellquote"
	"github.com/faultbox/faultbox/trace"
)

// runReport is a traced run as a fault.Report: the figures of the summary, the injected
// faults counted by kind, one check (the command exited 0) and the replay command line.
// A command that did not start proved nothing: the verdict is empty.
func runReport(path string, args []string, o *runOptions, res *trace.Result) *fault.Report {
	r := fault.NewReport(path, o.Seed)
	r.Target = shellquote.Quote(o.Args...)
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
	r.SetFaults(fault.CountEvents(res.FaultEvents))
	for _, u := range res.Unfired {
		r.Note("%s never fired", u)
	}
	replay := args
	if !o.SeedGiven {
		replay = append([]string{"--seed", o.Seed.String()}, args...)
	}
	r.Replay = path + " " + shellquote.Quote(replay...)
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
