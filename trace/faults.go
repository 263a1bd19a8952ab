//go:build linux

package trace

import (
	"strconv"
	"time"

	"github.com/faultbox/faultbox/fault"
)

// injected is one fault the tracer injected: the call's event, what did it (the rule as
// written) and its kind for the fault.Event.
type injected struct {
	e    *Event
	what string
	kind string
}

// ruleKind names what a rule does to a call, as the Kind of its fault.Event: the extension's
// action ("omit", "crash"), "error=ENAME", "retval=N", "signal=N" or "delay".
func ruleKind(r *Rule) string {
	switch {
	case r.Action != ActNone:
		return r.Action.String()
	case r.Error != 0:
		return "error=" + errnoName(r.Error)
	case r.HasRetval:
		return "retval=" + strconv.FormatInt(r.Retval, 10)
	case r.Signal != 0:
		return "signal=" + strconv.Itoa(r.Signal)
	}
	return "delay"
}

// faultEvents turns the injected faults into the core's events, in the order they were
// injected, with the calls' final addresses (so they are built when the run ends).
func faultEvents(faults []injected) []fault.Event {
	out := make([]fault.Event, 0, len(faults))
	for i, f := range faults {
		out = append(out, fault.Event{Seq: int64(i + 1), Layer: fault.LayerTrace, Kind: f.kind,
			Process: f.e.Label, Where: f.e.Addr, Time: time.Duration(f.e.TimeUs) * time.Microsecond,
			Clock: fault.Wall, Detail: f.e.Call + " " + f.what})
	}
	return out
}

// draw is the seeded chance for one rule at one invocation of one thread: it depends only on
// the seed and the invocation's stable address, never on the order the tracer saw events in.
// rule -1 keys draws that are not a rule's (which bit a corrupt read flips).
func draw(seed fault.Seed, rule int, label string, thread int, n uint64) float64 {
	return fault.Unit(seed.Derive("trace").Hash(uint64(int64(rule)), fault.HashString(label), uint64(thread), n))
}
