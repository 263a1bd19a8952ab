//go:build linux

package trace

import (
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/faultbox/faultbox/fault"
	"golang.org/x/sys/unix"
)

// injected is one fault the tracer injected: the call's event, what did it (the rule as
// written) and its kind for the fault.Event.
type injected struct {
	e    *Event
	what string
	kind string
}

// ruleKind names what a rule does to a call, as the Kind of its fault.Event: the extension's
// action ("omit", "crash"), else its error, return value, signal and delay joined by "+"
// ("error=EIO", "retval=0+signal=SIGUSR1", "delay").
func ruleKind(r *Rule) string {
	if a := r.Action.String(); a != "" {
		return a
	}
	var parts []string
	if r.Error != 0 {
		parts = append(parts, "error="+errnoName(r.Error))
	}
	if r.HasRetval {
		parts = append(parts, "retval="+strconv.FormatInt(r.Retval, 10))
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
