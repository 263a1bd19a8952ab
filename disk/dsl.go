package disk

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// RuleError is a rule the DSL could not read: where, which field, its value and what was
// expected, in the style of trace's fault grammar.
type RuleError struct {
	Spec     string
	Pos      int // 1-based byte column in Spec
	Field    string
	Value    string
	Expected string
}

func (e *RuleError) Error() string {
	return fmt.Sprintf("disk rule %q: column %d: %s %q: expected %s", e.Spec, e.Pos, e.Field, e.Value, e.Expected)
}

const fieldList = "path=GLOB, path!=GLOB, proc=NAME, proc!=NAME, nth=N, after=DURATION, before=DURATION, " +
	"bytes=FIRST-LAST, error=ERRNO, fault=FAMILY, p=PROBABILITY, or crash"

// ParseRules reads targeting rules, one term per rule, terms separated by ';':
//
//	OPS[:FIELD]...
//
// OPS is * (every operation) or a comma list of open, create, rename, remove, mkdir,
// list, stat, sync, syncdir, read, write, truncate. The fields select (all must hold):
// path=GLOB[,GLOB] and path!=GLOB (path.Match; a glob without '/' also matches the base
// name), proc=NAME[,NAME] and proc!=NAME, after=DURATION and before=DURATION (on the
// disk's clock), bytes=FIRST-LAST and bytes=FIRST- (reads and writes that touch a byte of
// that inclusive range of their file, as in an HTTP Range: a faulty area; OPS must then be
// read, write or *), and nth=N: the N-th operation, per process, that the other fields
// selected (it is always evaluated last, whatever its place). Exactly one action:
// error=ERRNO (EIO, ENOSPC, EACCES, EPERM, EROFS, ENOENT, EEXIST, ENOTEMPTY, EBUSY, EINTR),
// crash (power loss for the process just before the operation), or fault=FAMILY with an
// optional p=PROBABILITY (the family applies only where a rule naming it selects; p
// replaces the configured probability there). Examples:
//
//	sync:path=*.log:nth=3:error=EIO
//	write:path=*.sst:error=ENOSPC
//	*:nth=120:crash
//	write:path=wal/*:fault=phantom-write:p=1:nth=2
//	read:path=*.sst:bytes=4096-8191:error=EIO        (a faulty area: every read of it fails)
//	read:path=*.sst:bytes=4096-8191:nth=1:error=EIO  (a transient fault: a retry succeeds)
func ParseRules(spec string) ([]Rule, error) {
	var out []Rule
	start := 0
	for i := 0; i <= len(spec); i++ {
		if i < len(spec) && spec[i] != ';' {
			continue
		}
		term := spec[start:i]
		if strings.TrimSpace(term) != "" {
			r, err := parseTerm(spec, term, start)
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		}
		start = i + 1
	}
	if len(out) == 0 {
		return nil, &RuleError{Spec: spec, Pos: 1, Field: "rule", Value: spec,
			Expected: "at least one rule like sync:path=*.log:nth=3:error=EIO"}
	}
	return out, nil
}

func parseTerm(spec, term string, base int) (Rule, error) {
	lead := len(term) - len(strings.TrimLeft(term, " "))
	term = strings.TrimSpace(term)
	base += lead
	bad := func(pos int, field, value, expected string) error {
		return &RuleError{Spec: spec, Pos: base + pos + 1, Field: field, Value: value, Expected: expected}
	}
	var segs []string
	var offs []int
	at := 0
	for _, s := range strings.Split(term, ":") {
		segs, offs = append(segs, s), append(offs, at)
		at += len(s) + 1
	}
	var preds []Predicate
	var ops []Op
	if segs[0] != "*" {
		for _, name := range strings.Split(segs[0], ",") {
			if !slices.Contains(Ops, Op(name)) {
				return Rule{}, bad(0, "operation", name, "* or a comma list of "+opNames())
			}
			ops = append(ops, Op(name))
		}
		preds = append(preds, OnOp(ops...))
	}
	r := Rule{Text: term}
	var nth Predicate
	seen := map[string]bool{}
	hasP := false
	for k := 1; k < len(segs); k++ {
		sg, pos := segs[k], offs[k]
		key, val, hasVal := strings.Cut(sg, "=")
		neg := strings.HasSuffix(key, "!")
		if neg {
			key = strings.TrimSuffix(key, "!")
		}
		vpos := pos + len(key) + 1
		if neg {
			vpos++
		}
		if sg == "crash" {
			if r.Crash {
				return Rule{}, bad(pos, "action", sg, "one crash per rule")
			}
			r.Crash = true
			continue
		}
		if !hasVal || key == "" {
			return Rule{}, bad(pos, "field", sg, "KEY=VALUE ("+fieldList+")")
		}
		if neg && key != "path" && key != "proc" {
			return Rule{}, bad(pos, key+"!", val, "!= only on path or proc")
		}
		dup := key
		if neg {
			dup += "!"
		}
		if seen[dup] {
			return Rule{}, bad(pos, key, val, "each field once per rule")
		}
		seen[dup] = true
		switch key {
		case "path":
			globs := strings.Split(val, ",")
			for _, g := range globs {
				if _, err := path.Match(g, ""); err != nil || g == "" {
					return Rule{}, bad(vpos, key, g, "a glob like *.log or wal/* (path.Match syntax)")
				}
			}
			if neg {
				preds = append(preds, Not(OnPath(globs...)))
			} else {
				preds = append(preds, OnPath(globs...))
			}
		case "proc":
			names := strings.Split(val, ",")
			if slices.Contains(names, "") {
				return Rule{}, bad(vpos, key, val, "a comma list of process names")
			}
			if neg {
				preds = append(preds, Not(OnProcess(names...)))
			} else {
				preds = append(preds, OnProcess(names...))
			}
		case "nth":
			n, err := strconv.Atoi(val)
			if err != nil || n < 1 {
				return Rule{}, bad(vpos, key, val, "a count >= 1")
			}
			nth = Nth(n)
		case "after", "before":
			d, err := time.ParseDuration(val)
			if err != nil || d < 0 {
				return Rule{}, bad(vpos, key, val, "a duration >= 0 like 150ms or 2s")
			}
			if key == "after" {
				preds = append(preds, After(d))
			} else {
				preds = append(preds, Before(d))
			}
		case "bytes":
			first, last, ok := parseByteRange(val)
			if !ok {
				return Rule{}, bad(vpos, key, val, "FIRST-LAST or FIRST- in bytes, 0 <= FIRST <= LAST, like 4096-8191")
			}
			for _, o := range ops {
				if o != OpRead && o != OpWrite {
					return Rule{}, bad(0, "operation", string(o), "read, write or * with bytes= (it selects the bytes a read or write touches)")
				}
			}
			preds = append(preds, OnBytes(first, last))
		case "error":
			found := false
			for _, e := range errnoNames {
				if strings.EqualFold(e.name, val) {
					r.Err, found = e.errno, true
				}
			}
			if !found {
				return Rule{}, bad(vpos, key, val, "an errno name: "+errnoList())
			}
		case "fault":
			f := Family(val)
			if new(Counters).field(f) == nil || f == TornWrite {
				return Rule{}, bad(vpos, key, val, "a family decided at an operation: "+opFamilies())
			}
			r.Family = f
		case "p":
			p, err := strconv.ParseFloat(val, 64)
			if err != nil || !(p > 0 && p <= 1) {
				return Rule{}, bad(vpos, key, val, "a probability in (0, 1]")
			}
			r.Probability, hasP = p, true
		default:
			return Rule{}, bad(pos, "field", key, "one of "+fieldList)
		}
	}
	acts := 0
	for _, on := range []bool{r.Err != 0, r.Crash, r.Family != ""} {
		if on {
			acts++
		}
	}
	if acts != 1 {
		return Rule{}, bad(0, "rule", term, "exactly one action: error=ERRNO, crash or fault=FAMILY")
	}
	if seen["bytes"] && r.Family == SyncFailure {
		return Rule{}, bad(0, "fault", string(r.Family), "a read or write family with bytes= (a sync touches no bytes)")
	}
	if hasP && r.Family == "" {
		return Rule{}, bad(0, "p", strconv.FormatFloat(r.Probability, 'g', -1, 64), "p= only with fault=FAMILY")
	}
	if nth != nil {
		preds = append(preds, nth)
	}
	switch len(preds) {
	case 0:
		r.When = Always()
	case 1:
		r.When = preds[0]
	default:
		r.When = And(preds...)
	}
	return r, nil
}

// parseByteRange reads FIRST-LAST or FIRST- (last -1), decimal byte offsets.
func parseByteRange(s string) (first, last int64, ok bool) {
	f, l, found := strings.Cut(s, "-")
	first, err := strconv.ParseInt(f, 10, 64)
	if !found || err != nil || first < 0 || f[0] == '+' {
		return 0, 0, false
	}
	if l == "" {
		return first, -1, true
	}
	last, err = strconv.ParseInt(l, 10, 64)
	if err != nil || last < first || l[0] == '+' {
		return 0, 0, false
	}
	return first, last, true
}

func opNames() string {
	s := make([]string, len(Ops))
	for i, o := range Ops {
		s[i] = string(o)
	}
	return strings.Join(s, ", ")
}

func errnoList() string {
	s := make([]string, len(errnoNames))
	for i, e := range errnoNames {
		s[i] = e.name
	}
	return strings.Join(s, ", ")
}

func opFamilies() string {
	var s []string
	for _, f := range Families {
		if f != TornWrite {
			s = append(s, string(f))
		}
	}
	return strings.Join(s, ", ")
}
