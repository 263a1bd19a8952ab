package disk

import (
	"fmt"
	"path"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Op names a file system operation, for targeting.
type Op string

// The operations a rule can select.
const (
	OpOpen     Op = "open"
	OpCreate   Op = "create"
	OpRename   Op = "rename"
	OpRemove   Op = "remove"
	OpMkdir    Op = "mkdir"
	OpList     Op = "list"
	OpStat     Op = "stat"
	OpSync     Op = "sync" // File.Sync
	OpSyncDir  Op = "syncdir"
	OpRead     Op = "read"
	OpWrite    Op = "write"
	OpTruncate Op = "truncate"
)

// Ops lists every operation in a fixed order.
var Ops = []Op{OpOpen, OpCreate, OpRename, OpRemove, OpMkdir, OpList, OpStat, OpSync, OpSyncDir,
	OpRead, OpWrite, OpTruncate}

// Access is one operation as a predicate sees it.
type Access struct {
	Op      Op
	Path    string // cleaned; for a rename, the old name
	Process string
	Time    time.Duration // on the disk's clock
	// Off and Len are the bytes a read or a write touches: Len bytes from Off. Len is 0 for
	// every other operation (and for an empty read or write).
	Off, Len int64
}

// Predicate selects operations. Predicates compose with And, Or and Not; Nth counts, so a
// predicate holding one is stateful: And evaluates left to right and stops at the first
// false, so the Nth of And(OnOp(OpSync), OnPath("*.log"), Nth(3)) counts only syncs of
// *.log files. Counts are per process, so under a world that runs each process's
// operations in a stable order the decision is deterministic.
type Predicate interface {
	Match(a Access) bool
	String() string
}

type opPred []Op

// OnOp selects the listed operations.
func OnOp(ops ...Op) Predicate { return opPred(ops) }

func (p opPred) Match(a Access) bool {
	for _, o := range p {
		if o == a.Op {
			return true
		}
	}
	return false
}

func (p opPred) String() string {
	s := make([]string, len(p))
	for i, o := range p {
		s[i] = string(o)
	}
	return strings.Join(s, ",")
}

type globPred struct{ globs []string }

// OnPath selects operations on a path matching any of the globs (path.Match syntax). A glob
// without a slash is matched against the base name too, so "*.log" selects "d/x.log".
func OnPath(globs ...string) Predicate { return globPred{globs} }

func (p globPred) Match(a Access) bool {
	for _, g := range p.globs {
		if ok, _ := path.Match(g, a.Path); ok {
			return true
		}
		if !strings.Contains(g, "/") {
			if ok, _ := path.Match(g, path.Base(a.Path)); ok {
				return true
			}
		}
	}
	return false
}

func (p globPred) String() string { return "path=" + strings.Join(p.globs, ",") }

type procPred []string

// OnProcess selects the operations of the listed processes.
func OnProcess(names ...string) Predicate { return procPred(names) }

func (p procPred) Match(a Access) bool {
	for _, n := range p {
		if n == a.Process {
			return true
		}
	}
	return false
}

func (p procPred) String() string { return "proc=" + strings.Join(p, ",") }

type timePred struct {
	t     time.Duration
	after bool
}

// After selects operations at or after t on the disk's clock; Before, those before t.
func After(t time.Duration) Predicate  { return timePred{t, true} }
func Before(t time.Duration) Predicate { return timePred{t, false} }

func (p timePred) Match(a Access) bool { return (a.Time >= p.t) == p.after }
func (p timePred) String() string {
	if p.after {
		return "after=" + p.t.String()
	}
	return "before=" + p.t.String()
}

type bytesPred struct{ first, last int64 }

// byteRange finds the byte range a predicate requires: that of OnBytes itself, or of the
// first OnBytes an And (at any depth) holds. A range under Or or Not restricts nothing.
func byteRange(p Predicate) (first, last int64, ok bool) {
	switch q := p.(type) {
	case bytesPred:
		return q.first, q.last, true
	case andPred:
		for _, r := range q {
			if first, last, ok := byteRange(r); ok {
				return first, last, true
			}
		}
	}
	return 0, 0, false
}

// OnBytes selects the reads and writes that touch a byte of [first, last] of their file
// (inclusive, as in an HTTP Range; last < 0: to the end of the file): a faulty area. Every
// other operation, and an empty read or write, is not selected.
func OnBytes(first, last int64) Predicate { return bytesPred{first, last} }

func (p bytesPred) Match(a Access) bool {
	// a.Off+a.Len-1 >= first, written so that it cannot overflow near the top of int64.
	touchesFirst := a.Off >= p.first || p.first-a.Off < a.Len
	return a.Len > 0 && a.Off >= 0 && touchesFirst && (p.last < 0 || a.Off <= p.last)
}

func (p bytesPred) String() string {
	if p.last < 0 {
		return "bytes=" + strconv.FormatInt(p.first, 10) + "-"
	}
	return "bytes=" + strconv.FormatInt(p.first, 10) + "-" + strconv.FormatInt(p.last, 10)
}

// nthPred is true on the n-th time it is evaluated for a process.
type nthPred struct {
	n    int
	mu   sync.Mutex
	seen map[string]int
}

// Nth is true the n-th time (from 1) it is asked about an operation of a process, and only
// then: Nth(3) in And(OnOp(OpSync), Nth(3)) selects each process's third sync.
func Nth(n int) Predicate { return &nthPred{n: n, seen: map[string]int{}} }

func (p *nthPred) Match(a Access) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seen[a.Process]++
	return p.seen[a.Process] == p.n
}

func (p *nthPred) String() string { return "nth=" + strconv.Itoa(p.n) }

type andPred []Predicate

// And is true when every predicate is, evaluated left to right up to the first false.
func And(ps ...Predicate) Predicate { return andPred(ps) }

func (p andPred) Match(a Access) bool {
	for _, q := range p {
		if !q.Match(a) {
			return false
		}
	}
	return true
}

func (p andPred) String() string { return joinPreds("and", p) }

type orPred []Predicate

// Or is true when some predicate is, evaluated left to right up to the first true.
func Or(ps ...Predicate) Predicate { return orPred(ps) }

func (p orPred) Match(a Access) bool {
	for _, q := range p {
		if q.Match(a) {
			return true
		}
	}
	return false
}

func (p orPred) String() string { return joinPreds("or", p) }

type notPred struct{ p Predicate }

// Not inverts a predicate.
func Not(p Predicate) Predicate { return notPred{p} }

func (p notPred) Match(a Access) bool { return !p.p.Match(a) }
func (p notPred) String() string      { return "not(" + p.p.String() + ")" }

type anyPred struct{}

// Always selects every operation.
func Always() Predicate { return anyPred{} }

func (anyPred) Match(Access) bool { return true }
func (anyPred) String() string    { return "*" }

func joinPreds(op string, ps []Predicate) string {
	s := make([]string, len(ps))
	for i, q := range ps {
		s[i] = q.String()
	}
	return op + "(" + strings.Join(s, " ") + ")"
}

// Rule is one targeting rule: when its predicate selects an operation, the rule acts.
// Exactly one action: Err fails the operation with that error (it does nothing else);
// Crash is power loss for the process just before the operation (it fails with
// ErrCrashed; it needs a Storage); Family scopes a fault family to the selected operations,
// at Probability (0: the configuration's).
type Rule struct {
	When        Predicate
	Err         syscall.Errno
	Crash       bool
	Family      Family
	Probability float64
	// Text is the rule as written in the DSL, for events and messages ("" for a rule
	// built in Go: String() is used).
	Text string
}

func (r Rule) String() string {
	if r.Text != "" {
		return r.Text
	}
	s := r.When.String()
	switch {
	case r.Crash:
		s += ":crash"
	case r.Family != "":
		s += ":fault=" + string(r.Family)
		if r.Probability > 0 {
			s += ":p=" + strconv.FormatFloat(r.Probability, 'g', -1, 64)
		}
	default:
		s += ":error=" + errnoName(r.Err)
	}
	return s
}

// InjectedError is the error of an operation a rule failed. It unwraps to its errno, so
// errors.Is(err, syscall.ENOSPC) holds for an injected ENOSPC.
type InjectedError struct {
	Errno syscall.Errno
	Rule  string
}

func (e *InjectedError) Error() string {
	return fmt.Sprintf("injected %s (%s) by rule %q", errnoName(e.Errno), e.Errno.Error(), e.Rule)
}

func (e *InjectedError) Unwrap() error { return e.Errno }

// KindInjectedError is the Kind of the event a failed operation records, and KindCrashPoint
// that of a crash a rule caused (the crash itself records KindCrash too).
const (
	KindInjectedError = "injected-error"
	KindCrashPoint    = "crash-point"
	// KindConcurrentUse: an operation began while another on the same process's disk was
	// in progress (see FaultFS and docs/disk.md, "Concurrency").
	KindConcurrentUse = "concurrent-use"
)

var errnoNames = []struct {
	name  string
	errno syscall.Errno
}{
	{"EIO", syscall.EIO}, {"ENOSPC", syscall.ENOSPC}, {"EACCES", syscall.EACCES},
	{"EPERM", syscall.EPERM}, {"EROFS", syscall.EROFS}, {"ENOENT", syscall.ENOENT},
	{"EEXIST", syscall.EEXIST}, {"ENOTEMPTY", syscall.ENOTEMPTY}, {"EBUSY", syscall.EBUSY},
	{"EINTR", syscall.EINTR},
}

// ErrnoName is the symbolic name of an errno the rules know ("ENOSPC"), else its number.
func ErrnoName(e syscall.Errno) string { return errnoName(e) }

func errnoName(e syscall.Errno) string {
	for _, n := range errnoNames {
		if n.errno == e {
			return n.name
		}
	}
	return strconv.Itoa(int(e))
}

// rules is the compiled rule set of a FaultFS: error and crash rules in order, and the
// scope of each family that has one.
type rules struct {
	acts   []Rule // error and crash rules, tried in order
	scoped map[Family][]Rule
}

func compileRules(rs []Rule) *rules {
	if len(rs) == 0 {
		return nil
	}
	c := &rules{scoped: map[Family][]Rule{}}
	for _, r := range rs {
		if r.Family != "" {
			c.scoped[r.Family] = append(c.scoped[r.Family], r)
		} else {
			c.acts = append(c.acts, r)
		}
	}
	return c
}
