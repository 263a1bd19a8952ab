//go:build linux

package trace

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Action is what an injection rule does to a matching call beyond strace's error, retval,
// signal and delays.
type Action int

// The actions of the extensions. ActNone means the rule is a plain strace term.
const (
	ActNone    Action = iota
	ActOmit           // a send reports success, nothing is delivered
	ActPhantom        // a write reports success, nothing is written
	ActShort          // the call moves fewer bytes than asked (ShortBytes, or half)
	ActCorrupt        // a read returns its bytes with one bit flipped
	ActCrash          // the process is killed (SIGKILL) as it enters the call
	ActRefuse         // a connect fails with ECONNREFUSED
	ActReset          // the call fails with ECONNRESET
	ActENOSPC         // the call fails with ENOSPC
	ActEIO            // the call fails with EIO
	ActPause          // the whole process stops (SIGSTOP) for Pause, then goes on (SIGCONT)
	ActMute           // crash-stop in communication: this send and every later one is omitted
)

var actionNames = map[string]Action{
	"omit": ActOmit, "phantom": ActPhantom, "short": ActShort, "corrupt": ActCorrupt,
	"crash": ActCrash, "refuse": ActRefuse, "reset": ActReset, "enospc": ActENOSPC, "eio": ActEIO,
	"pause": ActPause, "mute": ActMute,
}

func (a Action) String() string {
	for n, v := range actionNames {
		if v == a {
			return n
		}
	}
	return ""
}

// When is strace's when=FIRST[..LAST][+[STEP]]: which invocations, counted from 1, are tampered.
type When struct {
	First, Last, Step uint32 // Last 0 means no upper bound; Step 0 means only First (and up to Last)
}

// Match reports whether invocation n (1-based) is selected.
func (w When) Match(n uint64) bool {
	if n < uint64(w.First) {
		return false
	}
	if w.Last != 0 && n > uint64(w.Last) {
		return false
	}
	if w.Step == 0 {
		return w.Last != 0 || n == uint64(w.First)
	}
	return (n-uint64(w.First))%uint64(w.Step) == 0
}

// Rule is one parsed injection term: strace's --inject fields plus the extensions.
type Rule struct {
	Text       string
	Syscalls   []int // sorted system call numbers the rule applies to
	Error      int   // errno to return; 0 when none
	HasRetval  bool
	Retval     int64
	Signal     int
	DelayEnter time.Duration
	DelayExit  time.Duration
	When       When

	// Extensions.
	Prob       float64 // chance of tampering a selected call; 1 when not given
	FdKind     string  // tcp, udp, unix, pipe, file, or "" for any
	Path       string  // glob on the file or unix socket path
	Addr       string  // host:port of the peer (host may be empty or *)
	Proc       string  // glob on the process label
	Action     Action
	ShortBytes int64
	Pause      time.Duration
	// PerProcess counts invocations per process over the whole set instead of per call and
	// per thread (used by --crash).
	PerProcess bool
	// CountProcess (count=process) counts each call's invocations per process instead of per
	// thread: in a program whose work moves between OS threads (Go) "the 40th write" then
	// names the same write on every run.
	CountProcess bool
	// After (after=send, after=send@ADDR) makes the term wait for a send: it considers only
	// the first call of its set (that passes its filters) a process makes after each send on a
	// socket (one whose address matches AfterAddr, when given) completes. "Crash at the log
	// write that follows the reply" is write:crash:path=*/wal:after=send.
	After     bool
	AfterAddr string
}

// SpecError says where a user-written spec is wrong: the field, the value and what was expected.
type SpecError struct {
	Flag     string // --inject, --partition, --crash, --label, --seed
	Spec     string
	Pos      int // 1-based byte column in Spec
	Field    string
	Value    string
	Expected string
}

func (e *SpecError) Error() string {
	return fmt.Sprintf("%s %q: column %d: %s %q: expected %s", e.Flag, e.Spec, e.Pos, e.Field, e.Value, e.Expected)
}

type segment struct {
	text string
	pos  int // 0-based byte offset in the spec
}

// splitColons splits a spec on ':' except inside [...] (IPv6 addresses), and joins a bare port
// back onto the addr= segment before it so that addr=127.0.0.1:80 stays one field.
func splitColons(s string) []segment {
	var out []segment
	depth, start := 0, 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) {
			switch s[i] {
			case '[':
				depth++
				continue
			case ']':
				if depth > 0 {
					depth--
				}
				continue
			case ':':
				if depth > 0 {
					continue
				}
			default:
				continue
			}
		}
		seg := segment{s[start:i], start}
		if n := len(out); n > 0 && isDigits(seg.text) && (strings.HasPrefix(out[n-1].text, "addr=") &&
			addrWantsPort(strings.TrimPrefix(out[n-1].text, "addr=")) || strings.HasPrefix(out[n-1].text, "after=send@") &&
			addrWantsPort(strings.TrimPrefix(out[n-1].text, "after=send@"))) {
			out[n-1].text += ":" + seg.text
		} else {
			out = append(out, seg)
		}
		start = i + 1
	}
	return out
}

func addrWantsPort(v string) bool {
	if strings.HasPrefix(v, "[") {
		return strings.HasSuffix(v, "]")
	}
	return !strings.Contains(v, ":")
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ParseInject parses one --inject term: strace's syntax as-is plus the extensions described in
// docs/trace.md.
func ParseInject(spec string) (*Rule, error) {
	bad := func(pos int, field, value, expected string) error {
		return &SpecError{Flag: "--inject", Spec: spec, Pos: pos + 1, Field: field, Value: value, Expected: expected}
	}
	segs := splitColons(spec)
	if len(segs) == 0 || segs[0].text == "" {
		return nil, bad(0, "syscall set", "", "a system call set such as write or %network, then :error=ERRNO or another field")
	}
	sys, err := parseSyscallSet(segs[0].text)
	if err != nil {
		return nil, bad(0, "syscall set", segs[0].text, err.Error())
	}
	r := &Rule{Text: spec, Syscalls: sys, When: When{First: 1, Step: 1}, Prob: 1}
	var seenErr, seenRet, seenSig bool
	acted := false
	for _, sg := range segs[1:] {
		if sg.text == "" {
			continue // strace ignores empty fields: "write::error=EIO", "write:error=EIO:"
		}
		key, val, hasVal := strings.Cut(sg.text, "=")
		vpos := sg.pos + len(key) + 1
		if a, ok := actionNames[key]; ok {
			if r.Action != ActNone {
				return nil, bad(sg.pos, "action", key, "one action per term")
			}
			r.Action = a
			acted = true
			if a == ActPause {
				d, ok := parseDelay(val)
				if !hasVal || !ok || d <= 0 {
					return nil, bad(vpos, key, val, "pause=DURATION like 500ms or 2s")
				}
				r.Pause = d
				continue
			}
			if hasVal {
				if a != ActShort {
					return nil, bad(vpos, key, val, "no value")
				}
				n, err := strconv.ParseInt(val, 10, 64)
				if err != nil || n < 0 {
					return nil, bad(vpos, "short", val, "a byte count >= 0")
				}
				r.ShortBytes = n
			} else if a == ActShort {
				r.ShortBytes = -1
			}
			continue
		}
		if !hasVal {
			return nil, bad(sg.pos, "field", sg.text, "KEY=VALUE (error, retval, signal, delay_enter, delay_exit, when, count, p, fd, path, addr, proc, after) or an action (omit, phantom, short, corrupt, crash, refuse, reset, enospc, eio, pause=DURATION, mute)")
		}
		switch key {
		case "error":
			if seenErr || seenRet {
				return nil, bad(sg.pos, key, val, "only one error= or retval= per term")
			}
			n, ok := parseErrno(val)
			if !ok {
				return nil, bad(vpos, key, val, "an errno name like ENOENT or a number in 1..4095")
			}
			r.Error, seenErr, acted = n, true, true
		case "retval":
			if seenErr || seenRet {
				return nil, bad(sg.pos, key, val, "only one error= or retval= per term")
			}
			n, err := strconv.ParseInt(val, 0, 64)
			if err != nil {
				return nil, bad(vpos, key, val, "an integer")
			}
			r.HasRetval, r.Retval, seenRet, acted = true, n, true, true
		case "signal":
			if seenSig {
				return nil, bad(sg.pos, key, val, "only one signal= per term")
			}
			n, ok := parseSignal(val)
			if !ok {
				return nil, bad(vpos, key, val, "a signal name like SIGSEGV or a number in 1..64")
			}
			r.Signal, seenSig, acted = n, true, true
		case "delay_enter", "delay_exit":
			d, ok := parseDelay(val)
			if !ok {
				return nil, bad(vpos, key, val, "a delay like 1500, 1.5ms, 2s (bare numbers are microseconds)")
			}
			if key == "delay_enter" {
				r.DelayEnter = d
			} else {
				r.DelayExit = d
			}
			acted = true
		case "when":
			w, ok := parseWhen(val)
			if !ok {
				return nil, bad(vpos, key, val, "FIRST[..LAST][+[STEP]] with FIRST, STEP in 1..65535 and LAST in FIRST..65534")
			}
			r.When = w
		case "p", "prob":
			p, ok := parseProb(val)
			if !ok {
				return nil, bad(vpos, key, val, "a probability in 0..1 or a percentage like 30%")
			}
			r.Prob = p
		case "count":
			switch val {
			case "thread":
				r.CountProcess = false
			case "process":
				r.CountProcess = true
			default:
				return nil, bad(vpos, key, val, "thread (strace's count, the default) or process")
			}
		case "fd":
			switch val {
			case "tcp", "udp", "unix", "pipe", "file", "sock":
				r.FdKind = val
			default:
				return nil, bad(vpos, key, val, "one of tcp, udp, unix, pipe, file, sock")
			}
		case "path", "proc":
			if val == "" {
				return nil, bad(vpos, key, val, "a non-empty glob")
			}
			if key == "path" {
				r.Path = val
			} else {
				r.Proc = val
			}
		case "addr":
			if !validAddrPattern(val) {
				return nil, bad(vpos, key, val, "HOST:PORT, :PORT or [IPv6]:PORT with PORT in 0..65535")
			}
			r.Addr = val
		case "after":
			what, addr, hasAddr := strings.Cut(val, "@")
			if what != "send" || hasAddr && !validAddrPattern(addr) {
				return nil, bad(vpos, key, val, "send or send@ADDR (ADDR as in addr=: HOST:PORT, :PORT or [IPv6]:PORT)")
			}
			r.After, r.AfterAddr = true, addr
		case "syscall", "poke_enter", "poke_exit":
			return nil, bad(sg.pos, "field", key, "a field faultbox supports (strace's "+key+"= is not supported)")
		default:
			return nil, bad(sg.pos, "field", key, "error, retval, signal, delay_enter, delay_exit, when, count, p, fd, path, addr, proc, after or an action")
		}
	}
	if !acted {
		return nil, bad(len(spec), "term", spec, "at least one of error, retval, signal, delay_enter, delay_exit or an action")
	}
	if r.Action != ActNone && (seenErr || seenRet) {
		return nil, bad(0, "action", r.Action.String(), "an action or error=/retval=, not both")
	}
	if err := checkActionCalls(r); err != nil {
		return nil, bad(0, "syscall set", segs[0].text, err.Error())
	}
	return r, nil
}

// straceOnly reports whether the rule uses only strace's own --inject fields (error, retval,
// signal, delays, when), to which strace's one-rule-per-call semantics apply.
func (r *Rule) straceOnly() bool {
	return r.Action == ActNone && r.Proc == "" && r.FdKind == "" && r.Path == "" && r.Addr == "" &&
		r.Prob >= 1 && !r.PerProcess && !r.CountProcess && !r.After
}

// Calls an action can apply to, and (sendCalls, recvCalls) the calls the tracer counts as a
// send or a receive.
var (
	sendCalls  = []string{"write", "writev", "sendto", "sendmsg", "pwrite64", "pwritev", "pwritev2"}
	recvCalls  = []string{"read", "readv", "recvfrom", "recvmsg", "pread64", "preadv", "preadv2"}
	countCalls = []string{"write", "sendto", "pwrite64", "read", "recvfrom", "pread64"}
)

func checkActionCalls(r *Rule) error {
	var allowed []string
	switch r.Action {
	case ActOmit, ActPhantom, ActMute:
		allowed = sendCalls
	case ActShort:
		allowed = countCalls
	case ActCorrupt:
		allowed = []string{"read", "recvfrom", "pread64"}
	case ActRefuse:
		allowed = []string{"connect"}
	default:
		return nil
	}
	ok := map[int]bool{}
	for _, n := range allowed {
		if nr, found := sysNumber(n); found {
			ok[nr] = true
		}
	}
	for _, nr := range r.Syscalls {
		if !ok[nr] {
			return fmt.Errorf("only %s for action %s (not %s)", strings.Join(allowed, ", "), r.Action, sysName(nr))
		}
	}
	return nil
}

func validAddrPattern(s string) bool {
	host, port, ok := splitHostPort(s)
	if !ok {
		return false
	}
	_ = host
	if port == "*" || port == "" {
		return true
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 0 && n <= 65535
}

func splitHostPort(s string) (host, port string, ok bool) {
	if strings.HasPrefix(s, "[") {
		end := strings.Index(s, "]")
		if end < 0 {
			return "", "", false
		}
		host, rest := s[1:end], s[end+1:]
		if rest == "" {
			return host, "", true
		}
		if !strings.HasPrefix(rest, ":") {
			return "", "", false
		}
		return host, rest[1:], true
	}
	i := strings.LastIndex(s, ":")
	if i < 0 {
		return s, "", s != ""
	}
	return s[:i], s[i+1:], true
}

func parseWhen(s string) (When, bool) {
	num := func(t string, max uint64) (uint32, bool) {
		n, err := strconv.ParseUint(t, 10, 32)
		if err != nil || n < 1 || n > max {
			return 0, false
		}
		return uint32(n), true
	}
	var w When
	main, step, hasStep := strings.Cut(s, "+")
	first, last, hasLast := strings.Cut(main, "..")
	var ok bool
	if w.First, ok = num(first, 65535); !ok {
		return w, false
	}
	if hasLast {
		if w.Last, ok = num(last, 65534); !ok || w.Last < w.First {
			return w, false
		}
	}
	if hasStep {
		if step == "" {
			w.Step = 1
		} else if w.Step, ok = num(step, 65535); !ok {
			return w, false
		}
	}
	return w, true
}

func parseDelay(s string) (time.Duration, bool) {
	unit := time.Microsecond
	for _, u := range []struct {
		suf string
		d   time.Duration
	}{{"ns", time.Nanosecond}, {"us", time.Microsecond}, {"ms", time.Millisecond}, {"s", time.Second}} {
		if strings.HasSuffix(s, u.suf) {
			s, unit = strings.TrimSuffix(s, u.suf), u.d
			break
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || math.IsNaN(f) || f*float64(unit) > float64(time.Hour) {
		return 0, false
	}
	return time.Duration(f * float64(unit)), true
}

func parseProb(s string) (float64, bool) {
	scale := 1.0
	if strings.HasSuffix(s, "%") {
		s, scale = strings.TrimSuffix(s, "%"), 100
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) {
		return 0, false
	}
	f /= scale
	return f, f >= 0 && f <= 1
}

func parseErrno(s string) (int, bool) {
	if n, err := strconv.Atoi(s); err == nil {
		return n, n >= 1 && n <= 4095
	}
	n, ok := errnoNames[strings.ToUpper(s)] // strace accepts enospc as ENOSPC
	return n, ok
}

func parseSignal(s string) (int, bool) {
	if n, err := strconv.Atoi(s); err == nil {
		return n, n >= 1 && n <= 64
	}
	s = strings.ToUpper(s) // strace accepts term, sigterm, SIGTERM
	if !strings.HasPrefix(s, "SIG") {
		s = "SIG" + s
	}
	n := signalNum(s)
	return n, n != 0
}

// classNames resolves an -e trace=%CLASS class (its name without the first %) to call names:
// strace's classes (see classes.go), and %net as another name for %network.
func classNames(class string) ([]string, bool) {
	if class == "net" {
		class = "network"
	}
	names, ok := straceClasses[class]
	return strings.Fields(names), ok
}

// sysByName is sysNames inverted. It is built when the package is initialised so that
// concurrent parsers only ever read it.
var sysByName = func() map[string]int {
	m := make(map[string]int, len(sysNames))
	for nr, n := range sysNames {
		m[n] = nr
	}
	return m
}()

func sysNumber(name string) (int, bool) {
	nr, ok := sysByName[name]
	return nr, ok
}

// sysNr is the number of a call, -1 where the architecture has no such call (arm64 has no
// dup2, time, open…): -1 matches no call the tracer sees.
func sysNr(name string) int {
	if nr, ok := sysByName[name]; ok {
		return nr
	}
	return -1
}

func sysName(nr int) string {
	if n, ok := sysNames[nr]; ok {
		return n
	}
	return "syscall_" + strconv.Itoa(nr)
}

// parseSyscallSet parses strace's syscall set: [!]ITEM[,ITEM]... where ITEM is a name, all,
// none, %CLASS or /REGEX, optionally prefixed by ? (no error when nothing matches).
func parseSyscallSet(s string) ([]int, error) {
	negate := strings.HasPrefix(s, "!")
	s = strings.TrimPrefix(s, "!")
	set := map[int]bool{}
	add := func(name string) bool {
		nr, ok := sysNumber(name)
		if ok {
			set[nr] = true
		}
		return ok
	}
	for _, item := range strings.Split(s, ",") {
		quiet := strings.HasPrefix(item, "?")
		item = strings.TrimPrefix(item, "?")
		found := false
		switch {
		case item == "all":
			for nr := range sysNames {
				set[nr] = true
			}
			found = true
		case item == "none":
			found = true
		case strings.HasPrefix(item, "%"):
			names, ok := classNames(item[1:])
			if !ok {
				return nil, fmt.Errorf("a known class (%%network, %%net, %%desc, %%file, %%process, %%signal, %%ipc, %%memory, %%creds, %%clock, %%pure, %%stat, %%lstat, %%fstat, %%%%stat, %%statfs, %%fstatfs, %%%%statfs), not %s", item)
			}
			for _, n := range names {
				if add(n) {
					found = true
				}
			}
		case strings.HasPrefix(item, "/"):
			re, err := regexp.Compile(item[1:])
			if err != nil {
				return nil, fmt.Errorf("a valid regular expression after / (%v)", err)
			}
			for nr, n := range sysNames {
				if re.MatchString(n) {
					set[nr] = true
					found = true
				}
			}
		case item == "":
			// strace skips empty items ("read,,write"); a set with nothing in it is refused below.
			continue
		default:
			found = add(item)
		}
		if !found && !quiet {
			return nil, fmt.Errorf("a known system call name, not %q", item)
		}
	}
	var out []int
	if negate {
		for nr := range sysNames {
			if !set[nr] {
				out = append(out, nr)
			}
		}
	} else {
		for nr := range set {
			out = append(out, nr)
		}
	}
	sort.Ints(out)
	if len(out) == 0 {
		return nil, fmt.Errorf("a set that names at least one system call")
	}
	return out, nil
}

// Partition cuts the processes whose labels match A from those matching B for a window.
type Partition struct {
	Text   string
	A, B   []string // label globs
	OneWay bool     // A>B: only what A sends to B is cut (B's messages to A pass)
	// The window: by time since the run started (FromTime/ToTime) or by the count of
	// communication attempts across the cut (FromMsg/ToMsg, 1-based). Zero ToX means never heals.
	ByTime           bool
	FromTime, ToTime time.Duration
	FromMsg, ToMsg   uint64
	Name             string // what the faults call it; empty: "--partition TEXT" (a schedule's step names its own)
}

// name is what the faults call the partition.
func (p *Partition) name() string {
	if p.Name != "" {
		return p.Name
	}
	return "--partition " + p.Text
}

// ParsePartition parses GROUP_A/GROUP_B[@FROM..TO]: groups are comma lists of label globs; FROM
// and TO are durations (150ms, 2s) from the start of the run or counts of the messages that try
// to cross the cut (3..5); TO may be left out (never heals).
func ParsePartition(spec string) (*Partition, error) {
	bad := func(pos int, field, value, expected string) error {
		return &SpecError{Flag: "--partition", Spec: spec, Pos: pos + 1, Field: field, Value: value, Expected: expected}
	}
	groups, window, hasWin := strings.Cut(spec, "@")
	p := &Partition{Text: spec}
	var pe *pairError
	if p.A, p.B, p.OneWay, pe = parsePair(groups); pe != nil {
		return nil, bad(pe.off, pe.field, pe.value,
			pe.expected("GROUP_A/GROUP_B (both ways) or GROUP_A>GROUP_B (one way), each a comma list of process labels"))
	}
	if !hasWin {
		p.FromMsg = 1
		return p, nil
	}
	wpos := len(groups) + 1
	from, to, ok := strings.Cut(window, "..")
	if !ok || from == "" {
		return nil, bad(wpos, "window", window, "FROM..TO or FROM.. with durations (100ms) or message counts (3)")
	}
	if isDigits(from) && (to == "" || isDigits(to)) {
		f, err1 := strconv.ParseUint(from, 10, 64)
		var t uint64
		var err2 error
		if to != "" {
			t, err2 = strconv.ParseUint(to, 10, 64)
		}
		if err1 != nil || err2 != nil || f < 1 || (to != "" && t < f) {
			return nil, bad(wpos, "window", window, "message counts FROM..TO with 1 <= FROM <= TO")
		}
		p.FromMsg, p.ToMsg = f, t
		return p, nil
	}
	f, err1 := time.ParseDuration(from)
	var t time.Duration
	var err2 error
	if to != "" {
		t, err2 = time.ParseDuration(to)
	}
	if err1 != nil || err2 != nil || f < 0 || (to != "" && t <= f) {
		return nil, bad(wpos, "window", window, "durations FROM..TO like 100ms..2s with FROM < TO (or counts like 3..5)")
	}
	p.ByTime, p.FromTime, p.ToTime = true, f, t
	return p, nil
}

func parseGroup(s string) ([]string, error) {
	if s == "" {
		return nil, fmt.Errorf("at least one process label")
	}
	out := strings.Split(s, ",")
	for _, g := range out {
		if g == "" {
			return nil, fmt.Errorf("labels between commas")
		}
	}
	return out, nil
}

// pairError says which part of an A/B (or A>B) pair of groups is wrong: the field, its
// value, its offset in the pair, and why (nil: the pair has no / or >).
type pairError struct {
	field, value string
	off          int
	err          error
}

// expected says what was expected: why the group failed, or what (the caller's wording of
// a whole pair) when there was no / or >.
func (e *pairError) expected(what string) string {
	if e.err == nil {
		return what
	}
	return e.err.Error()
}

// parsePair parses groups A/B (both ways) or A>B (one way), each a comma list of labels.
func parsePair(s string) (a, b []string, oneWay bool, pe *pairError) {
	sep := strings.IndexAny(s, "/>")
	if sep < 0 {
		return nil, nil, false, &pairError{field: "groups", value: s}
	}
	var err error
	if a, err = parseGroup(s[:sep]); err != nil {
		return nil, nil, false, &pairError{"group A", s[:sep], 0, err}
	}
	if b, err = parseGroup(s[sep+1:]); err != nil {
		return nil, nil, false, &pairError{"group B", s[sep+1:], sep + 1, err}
	}
	return a, b, s[sep] == '>', nil
}

// ParseCrash parses LABEL@SET[#N]: kill the process labelled LABEL (a glob) with SIGKILL as it
// enters its N-th call (default 1st) of the system call set SET, counted per process.
func ParseCrash(spec string) (*Rule, error) {
	bad := func(pos int, field, value, expected string) error {
		return &SpecError{Flag: "--crash", Spec: spec, Pos: pos + 1, Field: field, Value: value, Expected: expected}
	}
	label, ev, ok := strings.Cut(spec, "@")
	if !ok || label == "" {
		return nil, bad(0, "label", label, "LABEL@SYSCALLS[#N]")
	}
	set, nth, hasN := strings.Cut(ev, "#")
	sys, err := parseSyscallSet(set)
	if err != nil {
		return nil, bad(len(label)+1, "syscall set", set, err.Error())
	}
	n := uint64(1)
	if hasN {
		if n, err = strconv.ParseUint(nth, 10, 32); err != nil || n < 1 || n > 65535 {
			return nil, bad(len(label)+1+len(set)+1, "count", nth, "a number in 1..65535")
		}
	}
	return &Rule{Text: "--crash " + spec, Syscalls: sys, Proc: label, Action: ActCrash, Prob: 1,
		When: When{First: uint32(n)}, PerProcess: true}, nil
}

// globMatch matches s against a glob where * stands for any run of characters (slashes
// included) and ? for one character; everything else is literal.
func globMatch(glob, s string) bool {
	gi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case gi < len(glob) && (glob[gi] == '?' || glob[gi] == s[si]) && glob[gi] != '*':
			gi++
			si++
		case gi < len(glob) && glob[gi] == '*':
			star, mark = gi, si
			gi++
		case star >= 0:
			gi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for gi < len(glob) && glob[gi] == '*' {
		gi++
	}
	return gi == len(glob)
}

// Label names the processes whose command line matches Match.
type Label struct {
	Name  string
	Match string // a glob when it has * or ?, else a substring of the command line
}

// ParseLabel parses NAME=MATCH.
func ParseLabel(spec string) (Label, error) {
	bad := func(pos int, field, value, expected string) error {
		return &SpecError{Flag: "--label", Spec: spec, Pos: pos + 1, Field: field, Value: value, Expected: expected}
	}
	name, match, ok := strings.Cut(spec, "=")
	if !ok {
		return Label{}, bad(0, "label", spec, "NAME=MATCH")
	}
	if name == "" || strings.IndexFunc(name, func(r rune) bool {
		return !(r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) >= 0 {
		return Label{}, bad(0, "name", name, "letters, digits, - _ .")
	}
	if match == "" {
		return Label{}, bad(len(name)+1, "match", match, "a non-empty substring or glob of the command line")
	}
	return Label{Name: name, Match: match}, nil
}

func (l Label) matches(cmdline string) bool {
	if strings.ContainsAny(l.Match, "*?") {
		return globMatch(l.Match, cmdline)
	}
	return strings.Contains(cmdline, l.Match)
}
