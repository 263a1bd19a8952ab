//go:build linux

package trace

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Schedule is a fault schedule for a traced run: timed steps, written as the simulator's
// scripted schedules are (sim.ParseSchedule), one "at TIME ACTION" per line or between ';':
//
//	at 250ms partition client/server for 200ms
//	at 1s partition client>server      # one way
//	at 1.5s heal client>server
//	at 2s link client/server:delay=100ms:jitter=20ms
//	at 3s unlink client/server
//	at 3.5s pause server for 500ms
//	at 4s crash server
//
// TIME is a Go duration from the start of the command (the helper's exec of it; for attached
// processes, the attach). Actions:
//
//	partition A/B [for D]   cut A from B (A>B: one way) from TIME, until a heal or for D
//	heal [A/B]              end the cut of A/B (of every group, without one)
//	link A/B:FIELDS [for D] a --link (delay=, jitter=, loss=) from TIME, until an unlink or for D
//	unlink [A/B]            end the link of A/B (every link, without one)
//	pause LABEL for D       SIGSTOP every live process whose label matches LABEL (a glob), SIGCONT after D
//	crash LABEL             SIGKILL every live process whose label matches LABEL
//
// A and B are comma lists of label globs, as for --partition. Steps at one time apply in the
// order written; a line whose first non-blank character is # is a comment, and so is the
// rest of a line after " #". A pair of groups can be cut (or linked) several times, one
// window after another.
//
// ParseSchedule turns the steps into windows: a Partition or a Link per window (by time), and
// the steps on processes (crash, pause), sorted by time.
type Schedule struct {
	Partitions []*Partition
	Links      []*Link
	Procs      []ProcStep
}

// ProcStep is a schedule's "at TIME crash LABEL" or "at TIME pause LABEL for D".
type ProcStep struct {
	At    time.Duration
	Verb  string // crash or pause
	Label string // a glob
	For   time.Duration
	Name  string // the step, as the faults name it
}

// ScheduleError says where a schedule is wrong: its line, the field, the value and what was
// expected.
type ScheduleError struct {
	Source   string // --schedule, or --schedule-file FILE
	Line     int    // from 1
	Item     string // the step as written
	Field    string
	Value    string
	Expected string
}

func (e *ScheduleError) Error() string {
	return fmt.Sprintf("%s: line %d (%q): %s %q: expected %s", e.Source, e.Line, e.Item, e.Field, e.Value, e.Expected)
}

// maxScheduleSteps bounds a schedule, so a hostile input cannot exhaust memory.
const maxScheduleSteps = 10000

type schedStep struct {
	at     time.Duration
	verb   string
	a, b   []string // the groups; nil for a bare heal or unlink
	oneWay bool
	link   *Link
	label  string
	dur    time.Duration // for D
	source string
	line   int
	item   string
}

// key names a pair of groups: A/B and B/A are one pair, A>B another.
func (s *schedStep) key() string {
	a, b := strings.Join(s.a, ","), strings.Join(s.b, ",")
	if s.oneWay {
		return a + ">" + b
	}
	if b < a {
		a, b = b, a
	}
	return a + "/" + b
}

// ScheduleText is a schedule's text (a --schedule) and where it comes from, for errors:
// "--schedule", "--schedule-file plan.txt".
type ScheduleText struct{ Source, Text string }

// ParseSchedule reads the texts as one schedule. Every step is checked, and so is the order
// of the cuts: a heal or an unlink must end a window that is open at its time, and a pair
// cannot be cut twice at once.
func ParseSchedule(texts ...ScheduleText) (*Schedule, error) {
	var steps []*schedStep
	for _, st := range texts {
		var err error
		if steps, err = parseSteps(steps, st.Source, st.Text); err != nil {
			return nil, err
		}
	}
	sort.SliceStable(steps, func(i, j int) bool { return steps[i].at < steps[j].at })
	return compileSchedule(steps)
}

func parseSteps(steps []*schedStep, source, text string) ([]*schedStep, error) {
	for li, line := range strings.Split(text, "\n") {
		if t := strings.TrimSpace(line); strings.HasPrefix(t, "#") {
			continue
		}
		if i := strings.Index(line, " #"); i >= 0 {
			line = line[:i]
		}
		for _, item := range strings.Split(line, ";") {
			f := strings.Fields(item)
			if len(f) == 0 {
				continue
			}
			item = strings.TrimSpace(item)
			bad := func(field, value, expected string) error {
				return &ScheduleError{Source: source, Line: li + 1, Item: item, Field: field, Value: value, Expected: expected}
			}
			if len(steps) == maxScheduleSteps {
				return nil, bad("steps", "more", fmt.Sprintf("at most %d steps", maxScheduleSteps))
			}
			s, err := parseStep(f, bad)
			if err != nil {
				return nil, err
			}
			s.source, s.line, s.item = source, li+1, item
			steps = append(steps, s)
		}
	}
	return steps, nil
}

func parseStep(f []string, bad func(field, value, expected string) error) (*schedStep, error) {
	if f[0] != "at" {
		return nil, bad("word", f[0], `"at TIME ACTION"`)
	}
	if len(f) < 3 {
		return nil, bad("step", strings.Join(f, " "), `"at TIME ACTION": a time and an action (partition, heal, link, unlink, pause, crash)`)
	}
	at, err := time.ParseDuration(f[1])
	if err != nil || at < 0 || at > 100000*time.Hour {
		return nil, bad("time", f[1], "a duration from the start of the run, >= 0, such as 1.5s or 300ms")
	}
	s := &schedStep{at: at, verb: f[2]}
	rest := f[3:]
	groups := func(what string, optional bool) error {
		if len(rest) == 0 {
			if optional {
				return nil
			}
			return bad(s.verb, "", what)
		}
		g := rest[0]
		rest = rest[1:]
		var pe *pairError
		if s.a, s.b, s.oneWay, pe = parsePair(g); pe != nil {
			return bad(pe.field, pe.value, pe.expected(what))
		}
		return nil
	}
	forD := func() error {
		if len(rest) == 0 || rest[0] != "for" {
			return nil
		}
		if len(rest) < 2 {
			return bad("for", "", "a duration after for, such as 200ms")
		}
		d, err := time.ParseDuration(rest[1])
		if err != nil || d <= 0 || d > 100000*time.Hour {
			return bad("for", rest[1], "a duration > 0 such as 200ms")
		}
		s.dur, rest = d, rest[2:]
		return nil
	}
	const pair = "A/B (both ways) or A>B (one way), each a comma list of process labels"
	switch s.verb {
	case "partition":
		if err := groups(pair, false); err != nil {
			return nil, err
		}
		if err := forD(); err != nil {
			return nil, err
		}
	case "heal", "unlink":
		if err := groups(pair+", or nothing (every one)", true); err != nil {
			return nil, err
		}
	case "link":
		if len(rest) == 0 {
			return nil, bad("link", "", "A/B:delay=D[:jitter=D][:loss=P] (A>B: one way)")
		}
		l, err := ParseLink(rest[0])
		if err != nil {
			var se *SpecError
			if errors.As(err, &se) {
				return nil, bad(se.Field, se.Value, se.Expected)
			}
			return nil, bad("link", rest[0], err.Error())
		}
		s.link, s.a, s.b, s.oneWay = l, l.A, l.B, l.OneWay
		rest = rest[1:]
		if err := forD(); err != nil {
			return nil, err
		}
	case "crash":
		if len(rest) == 0 || rest[0] == "" {
			return nil, bad("crash", "", "a process label (a glob) to kill")
		}
		s.label, rest = rest[0], rest[1:]
		if len(rest) > 0 && rest[0] == "for" {
			return nil, bad("for", strings.Join(rest, " "), "nothing: a traced process is not restarted")
		}
	case "pause":
		if len(rest) == 0 || rest[0] == "" || rest[0] == "for" {
			return nil, bad("pause", "", "a process label (a glob) to stop, then for D")
		}
		s.label, rest = rest[0], rest[1:]
		if err := forD(); err != nil {
			return nil, err
		}
		if s.dur == 0 {
			return nil, bad("for", strings.Join(rest, " "), "for D: how long the processes stay stopped, such as 500ms")
		}
	default:
		return nil, bad("action", s.verb, "partition, heal, link, unlink, pause or crash")
	}
	if len(rest) > 0 {
		return nil, bad("trailing text", strings.Join(rest, " "), "nothing more")
	}
	return s, nil
}

// window is an open partition or link of a compiled schedule.
type window struct {
	key  string
	from time.Duration
	to   *time.Duration // the Partition's ToTime or the Link's To; 0: open; -1: closed as it opened
	line int
}

// openAt reports whether w is open at time at.
func (w *window) openAt(at time.Duration) bool { return *w.to == 0 || *w.to > at }

func compileSchedule(steps []*schedStep) (*Schedule, error) {
	out := &Schedule{}
	var parts, links []*window // parallel to out.Partitions and out.Links
	open := func(ws []*window, key string, at time.Duration) *window {
		for _, w := range ws {
			if w.key == key && w.openAt(at) {
				return w
			}
		}
		return nil
	}
	for _, s := range steps {
		bad := func(field, value, expected string) error {
			return &ScheduleError{Source: s.source, Line: s.line, Item: s.item, Field: field, Value: value, Expected: expected}
		}
		name := "schedule (" + s.item + ")"
		var to time.Duration
		if s.dur > 0 {
			to = s.at + s.dur
		}
		// A partition's steps (partition, heal) or a link's (link, unlink).
		kind, ws := "partition", &parts
		if s.verb == "link" || s.verb == "unlink" {
			kind, ws = "link", &links
		}
		switch s.verb {
		case "partition", "link":
			key := s.key()
			if w := open(*ws, key, s.at); w != nil {
				return nil, bad(kind, key, fmt.Sprintf("no %s of %s open at %v (line %d's is): end it first", kind, key, s.at, w.line))
			}
			w := &window{key: key, from: s.at, line: s.line}
			if s.verb == "partition" {
				p := &Partition{Text: key, Name: name, A: s.a, B: s.b, OneWay: s.oneWay, ByTime: true, FromTime: s.at, ToTime: to}
				w.to = &p.ToTime
				out.Partitions = append(out.Partitions, p)
			} else {
				l := s.link
				l.Name, l.From, l.To = name, s.at, to
				w.to = &l.To
				out.Links = append(out.Links, l)
			}
			*ws = append(*ws, w)
		case "heal", "unlink":
			var closing []*window
			if s.a != nil {
				key := s.key()
				w := open(*ws, key, s.at)
				if w == nil {
					return nil, bad("groups", key, fmt.Sprintf("a %s of %s open at %v", kind, key, s.at))
				}
				closing = append(closing, w)
			} else {
				for _, w := range *ws {
					if w.openAt(s.at) {
						closing = append(closing, w)
					}
				}
			}
			for _, w := range closing {
				if s.at <= w.from {
					*w.to = -1 // closed as it opened: nothing is cut, and never open again
				} else {
					*w.to = s.at
				}
			}
		case "crash", "pause":
			out.Procs = append(out.Procs, ProcStep{At: s.at, Verb: s.verb, Label: s.label, For: s.dur, Name: name})
		}
	}
	out.Partitions = slices.DeleteFunc(out.Partitions, func(p *Partition) bool { return p.ToTime < 0 })
	out.Links = slices.DeleteFunc(out.Links, func(l *Link) bool { return l.To < 0 })
	return out, nil
}
