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
	at   string // where on its stream a byte-offset decision put it: " (byte 8191 of recv fd 0)"
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
			Clock: fault.Wall, Detail: f.e.Call + " " + f.what + f.at})
	}
	return out
}

// draw is the seeded chance for one rule at one invocation of one thread: it depends only on
// the seed and the invocation's stable address, never on the order the tracer saw events in.
// rule -1 keys draws that are not a rule's (which bit a corrupt read flips).
func draw(seed fault.Seed, rule int, label string, thread int, n uint64) float64 {
	return fault.Unit(seed.Derive("trace").Hash(uint64(int64(rule)), fault.HashString(label), uint64(thread), n))
}

// streamUnitBytes is the stretch of a stream that holds at most one fault point: p= on a
// stream is the chance that a 4 KiB stretch (a page, a pipe buffer's unit) holds one.
const streamUnitBytes = 4096

// streamPoint is where in the u-th stretch of a stream the fault point of a rule lies, and
// whether the stretch has one: a draw on the seed and the stream's stable name (the label of
// the process that reads or writes it and its descriptor) and the stretch's index, so that it
// depends on the bytes, never on how they were split into calls.
func streamPoint(seed fault.Seed, rule int, label string, fd int, u uint64, p float64) (uint64, bool) {
	s := seed.Derive("trace", "stream")
	h := s.Hash(uint64(int64(rule)), fault.HashString(label), uint64(int64(fd)), u)
	if fault.Unit(h) >= p {
		return 0, false
	}
	return u*streamUnitBytes + s.Hash(h)%streamUnitBytes, true
}

// streamKey names one rule's points on one stream of one process.
type streamKey struct {
	rule  int
	label string
	fd    int
}

// maxStreamSpanBytes bounds the stretches one call's decision looks at.
const maxStreamSpanBytes = 64 << 20

// nextStreamFault decides a call that moves the bytes [off, off+size) of a stream: it fires
// when that range holds a fault point at or after next (the first offset whose point has not
// fired yet), and returns the point. Each point fires once, at the first call whose range
// holds it: a call that fails or moves fewer bytes is followed by one whose range starts at
// the same or a later offset, so every point up to where the stream ended fires exactly once,
// however the bytes were split into calls.
func nextStreamFault(seed fault.Seed, k streamKey, p float64, next, off, size uint64) (uint64, bool) {
	if size == 0 {
		return 0, false
	}
	size = min(size, maxStreamSpanBytes)
	from := max(off, next)
	end := off + size
	for u := from / streamUnitBytes; u*streamUnitBytes < end; u++ {
		at, ok := streamPoint(seed, k.rule, k.label, k.fd, u, p)
		if ok && at >= from && at < end {
			return at, true
		}
	}
	return 0, false
}
