//go:build linux

package trace

import (
	"strings"
	"time"
)

// Link is a --link: the messages between two groups of processes are delayed (latency and
// jitter) or lost with a probability (a flaky partition), both ways or one way.
type Link struct {
	Text   string
	A, B   []string // label globs
	OneWay bool     // A>B: only the messages from A to B
	Delay  time.Duration
	Jitter time.Duration // each message's delay is Delay plus a draw in [-Jitter, +Jitter]
	Loss   float64       // chance that a message is lost: the send is omitted (connects go through)
	// From and To bound the time (since the run started) when the link is in place; To 0:
	// to the end. A --link is in place for the whole run; a schedule's steps set them.
	From, To time.Duration
	Name     string // what the faults call it; empty: "--link TEXT"
}

// name is what the faults call the link.
func (l *Link) name() string {
	if l.Name != "" {
		return l.Name
	}
	return "--link " + l.Text
}

// active reports whether the link is in place el after the start of the run.
func (l *Link) active(el time.Duration) bool {
	return el >= l.From && (l.To == 0 || el < l.To)
}

// ParseLink parses a --link: A/B (both ways) or A>B (one way), then :delay=D, :jitter=D,
// :loss=P (0..1 or a percentage), at least one of delay and loss.
func ParseLink(spec string) (*Link, error) {
	bad := func(pos int, field, value, expected string) error {
		return &SpecError{Flag: "--link", Spec: spec, Pos: pos + 1, Field: field, Value: value, Expected: expected}
	}
	groups, rest, _ := strings.Cut(spec, ":")
	l := &Link{Text: spec}
	var pe *pairError
	if l.A, l.B, l.OneWay, pe = parsePair(groups); pe != nil {
		return nil, bad(pe.off, pe.field, pe.value, pe.expected("A/B (both ways) or A>B (one way), each a comma list of process labels"))
	}
	pos := len(groups) + 1
	acted := false
	for _, f := range strings.Split(rest, ":") {
		if rest == "" {
			break
		}
		key, val, _ := strings.Cut(f, "=")
		vpos := pos + len(key) + 1
		switch key {
		case "delay", "jitter":
			d, err := time.ParseDuration(val)
			if err != nil || d < 0 || d > time.Hour {
				return nil, bad(vpos, key, val, "a duration like 50ms or 1s, from 0 to 1h")
			}
			if key == "delay" {
				l.Delay, acted = d, true
			} else {
				l.Jitter = d
			}
		case "loss":
			p, ok := parseProb(val)
			if !ok {
				return nil, bad(vpos, key, val, "a probability in 0..1 or a percentage like 20%")
			}
			l.Loss, acted = p, true
		default:
			return nil, bad(pos, "field", f, "delay=D, jitter=D or loss=P")
		}
		pos += len(f) + 1
	}
	if !acted {
		return nil, bad(len(spec), "link", spec, "at least one of :delay=D and :loss=P")
	}
	return l, nil
}

// crosses reports whether a message from a process labelled from to one labelled to goes
// across the groups a, b (from a to b, or from b to a unless oneWay).
func crosses(from, to string, a, b []string, oneWay bool) bool {
	in := func(l string, g []string) bool {
		for _, pat := range g {
			if globMatch(pat, l) {
				return true
			}
		}
		return false
	}
	return in(from, a) && in(to, b) || !oneWay && in(from, b) && in(to, a)
}
