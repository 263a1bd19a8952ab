//go:build linux

package trace

import (
	"strconv"
	"strings"
)

// tally counts calls by name and remembers the order in which the names first came. Its size
// is bounded by the number of system call names.
type tally struct {
	names []string
	n     map[string]int
}

func (c *tally) add(name string) {
	if c.n == nil {
		c.n = map[string]int{}
	}
	if c.n[name] == 0 {
		c.names = append(c.names, name)
	}
	c.n[name]++
}

// String is "openat=1 read=2 close=1", in the order the calls were first seen.
func (c *tally) String() string {
	parts := make([]string, len(c.names))
	for i, n := range c.names {
		parts[i] = n + "=" + strconv.Itoa(c.n[n])
	}
	return strings.Join(parts, " ")
}

// ruleMiss is what a run did that bears on one rule, so that a rule that never fired can say
// why: the invocations the rule counted (those that passed its filters), and for a rule with
// an fd=, path= or addr= filter the calls seen on what it filters for.
type ruleMiss struct {
	counted map[int]uint64 // system call number (-1: the whole set, counted per process) → invocations
	most    map[int]uint64 // the same key → the highest count one thread (or process) reached
	on      tally          // calls on the rule's file, descriptor kind or address
	armed   bool           // after=send: a matching send was seen
}

// count notes that one thread (or process) made its n-th invocation of call nr (-1 for a rule
// counted per process) that passed the rule's filters.
func (m *ruleMiss) count(nr int, n uint64) {
	if m.counted == nil {
		m.counted, m.most = map[int]uint64{}, map[int]uint64{}
	}
	m.counted[nr]++
	m.most[nr] = max(m.most[nr], n)
}

// hasObjectFilter reports whether the rule selects calls by what they act on: a descriptor
// kind, a path or an address.
func (r *Rule) hasObjectFilter() bool { return r.FdKind != "" || r.Path != "" || r.Addr != "" }

// objectText names what the rule's fd=, path= and addr= filters select, as written.
func (r *Rule) objectText() string {
	var parts []string
	if r.Path != "" {
		parts = append(parts, r.Path)
	}
	if r.FdKind != "" {
		parts = append(parts, "fd="+r.FdKind)
	}
	if r.Addr != "" {
		parts = append(parts, "addr="+r.Addr)
	}
	return strings.Join(parts, " ")
}

// setText is the rule's system call set as written ("read,copy_file_range", "%network").
func (r *Rule) setText() string {
	if r.PerProcess {
		// --crash LABEL@SET#N
		_, ev, _ := strings.Cut(r.Text, "@")
		set, _, _ := strings.Cut(ev, "#")
		return set
	}
	set, _, _ := strings.Cut(r.Text, ":")
	return set
}

// explain says why rule r never fired: live holds the calls r applied to (strace's grammar lets
// a later term replace an earlier one for the calls both name) and labels every process label
// worn during the run. It returns "" when it has nothing to add.
func (m *ruleMiss) explain(r *Rule, live map[int]bool, labels []string) string {
	var replaced []string
	for _, nr := range r.Syscalls {
		if !live[nr] {
			replaced = append(replaced, sysName(nr))
		}
	}
	if len(live) == 0 {
		return "a later --inject term for " + strings.Join(replaced, ",") + " replaces it (strace keeps the last term for each call)"
	}
	if r.After && !m.armed {
		what := "no send on a socket"
		if r.AfterAddr != "" {
			what = "no send on a socket at " + r.AfterAddr
		}
		return what + " completed, so after=" + "send" + map[bool]string{true: "@" + r.AfterAddr}[r.AfterAddr != ""] + " never armed it"
	}
	by := ""
	if r.Proc != "" {
		labelled := false
		for _, l := range labels {
			if globMatch(r.Proc, l) {
				labelled = true
				break
			}
		}
		if !labelled {
			return "no process was labelled " + r.Proc
		}
		by = " by " + r.Proc
	}
	var parts []string
	var total uint64
	for _, n := range m.counted {
		total += n
	}
	if r.hasObjectFilter() {
		if len(m.on.names) == 0 {
			parts = append(parts, "no call on "+r.objectText()+by)
		} else {
			parts = append(parts, "calls on "+r.objectText()+by+": "+m.on.String())
		}
		if total > 0 {
			parts = append(parts, m.reach(r, total))
		}
	} else {
		parts = append(parts, m.calls(r, total, by))
		if total > 0 {
			parts = append(parts, m.reach(r, total))
		}
	}
	if len(replaced) > 0 {
		parts = append(parts, "a later --inject term replaces it for "+strings.Join(replaced, ","))
	}
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "; ")
}

// calls says how often the rule's calls were made (counting those that passed its filters).
func (m *ruleMiss) calls(r *Rule, total uint64, by string) string {
	set := r.setText()
	if total == 0 {
		if len(r.Syscalls) == 1 || r.PerProcess && !strings.ContainsAny(set, ",%/!") {
			return set + " was never called" + by
		}
		return "no call of " + set + " was made" + by
	}
	if r.PerProcess {
		if !strings.ContainsAny(set, ",%/!") {
			return set + " was called " + plural(int(total), "time") + by
		}
		return "calls of " + set + by + ": " + strconv.FormatUint(total, 10)
	}
	var parts []string
	for _, nr := range r.Syscalls {
		if n := m.counted[nr]; n > 0 {
			if len(parts) == 0 {
				parts = append(parts, sysName(nr)+" was called "+plural(int(n), "time")+by)
			} else {
				parts = append(parts, sysName(nr)+" "+plural(int(n), "time"))
			}
		}
	}
	return strings.Join(parts, ", ")
}

// reach says which of the rule's conditions the counted invocations never met.
func (m *ruleMiss) reach(r *Rule, total uint64) string {
	var most uint64
	for _, n := range m.most {
		most = max(most, n)
	}
	if most < uint64(r.When.First) {
		s := "when=" + whenText(r.When) + " never reached"
		per := "per thread"
		switch {
		case r.PerProcess:
			s, per = "#"+strconv.FormatUint(uint64(r.When.First), 10)+" never reached", "per process"
		case r.CountProcess && len(m.counted) > 1:
			per = "per process and per call"
		case r.CountProcess:
			per = "per process"
		case len(m.counted) > 1:
			per = "per thread and per call"
		}
		if most < total {
			s += " (counted " + per + ": at most " + strconv.FormatUint(most, 10) + ")"
		}
		return s
	}
	if r.Prob < 1 {
		return "p=" + strconv.FormatFloat(r.Prob, 'g', -1, 64) + " drew no fault (the draws depend on --seed)"
	}
	return ""
}

// whenText writes When back in strace's syntax: FIRST[..LAST][+[STEP]].
func whenText(w When) string {
	s := strconv.FormatUint(uint64(w.First), 10)
	if w.Last != 0 {
		s += ".." + strconv.FormatUint(uint64(w.Last), 10)
	}
	switch {
	case w.Step == 1 && w.Last == 0:
		s += "+"
	case w.Step > 1 || w.Step == 1 && w.Last != 0:
		s += "+" + strconv.FormatUint(uint64(w.Step), 10)
	}
	return s
}
