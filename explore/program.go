//go:build linux

package explore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/faultbox/faultbox/fault"
	"github.com/faultbox/faultbox/internal/shellquote"
	"github.com/faultbox/faultbox/trace"
)

// Program explores a real Linux program run under the tracer (package trace). A plan is a
// list of faults, one trace rule each (see ParseProgramFault): an --inject term such as
// "write:crash:when=2:proc=server:path=/tmp/kv/log", or "crash LABEL@CALLS#N", or
// "partition A/B[@FROM..TO]"; rules joined by " then " are one fault tried as a whole (a
// delay, then a crash a few calls later: see ParsePlanElement).
//
// With Check set, the check command judges each run (exit 0: acceptable); the program's own
// exit status is recorded in the detail but does not judge, since a program that reports an
// injected error and stops is doing its job. Without Check a non-zero exit fails the run.
// Runs share whatever state the program and its check keep (a fixed directory): run them one
// at a time (Options.Workers 1) unless they do not.
type Program struct {
	Args   []string // the program and its arguments
	Check  string   // a shell command run untraced (sh -c) after each run; "" judges by the exit status
	Labels []string // --label NAME=MATCH specs naming the program's processes
	// Kinds are the faults plans may use: crash, omit, delay, eio, reset; nil means
	// ProgramKinds.
	Kinds   []string
	Dir     string        // the working directory of the program and the check ("": the current one)
	Timeout time.Duration // per run, and again for its check; 0 means 30s
	// Helper is the binary that carries trace's helper mode ("": the running executable).
	Helper string

	mu   sync.Mutex
	base *programRun // the first fault-free run: what random plans are aimed at
}

// ProgramKinds are the faults a Program's plans use when Kinds is nil: crash a process at a
// call, omit a send, delay a call, fail a storage call with EIO and a network call with
// ECONNRESET.
var ProgramKinds = []string{"crash", "omit", "delay", "eio", "reset"}

// ErrProgramFault is wrapped by the errors of ParseProgramFault.
var ErrProgramFault = errors.New("bad program fault")

// ProgramFault is one parsed plan element.
type ProgramFault struct {
	Rule      *trace.Rule      // an --inject term or a --crash rule
	Partition *trace.Partition // or a partition
	Flag      string           // the faultbox run flag that says the same: --inject, --crash or --partition
	Spec      string           // its value
}

// ParseProgramFault parses one plan element: "inject SPEC" or a bare SPEC (strace's --inject
// grammar with faultbox's extensions), "crash LABEL@CALLS[#N]", or "partition A/B[@FROM..TO]"
// (the specs of faultbox run's --inject, --crash and --partition).
func ParseProgramFault(s string) (ProgramFault, error) {
	word, rest, _ := strings.Cut(strings.TrimSpace(s), " ")
	rest = strings.TrimSpace(rest)
	var f ProgramFault
	var err error
	switch word {
	case "crash":
		f.Flag, f.Spec = "--crash", rest
		f.Rule, err = trace.ParseCrash(rest)
	case "partition":
		f.Flag, f.Spec = "--partition", rest
		f.Partition, err = trace.ParsePartition(rest)
	case "inject":
		f.Flag, f.Spec = "--inject", rest
		f.Rule, err = trace.ParseInject(rest)
	default:
		if rest != "" {
			return f, fmt.Errorf("%w %q: want inject SPEC, crash LABEL@CALLS[#N], partition A/B[@FROM..TO] or a bare --inject SPEC",
				ErrProgramFault, s)
		}
		f.Flag, f.Spec = "--inject", word
		f.Rule, err = trace.ParseInject(word)
	}
	if err != nil {
		return f, fmt.Errorf("%w %q: %w", ErrProgramFault, s, err)
	}
	return f, nil
}

// ParsePlanElement parses one plan element: a fault (ParseProgramFault), or faults joined by
// " then " that are tried together as one ("write:delay_enter=50ms:when=1:proc=server:fd=unix
// then write:crash:when=2:proc=server:path=/x/log": delay a call, then crash a few calls
// later).
func ParsePlanElement(s string) ([]ProgramFault, error) {
	parts := strings.Split(s, " then ")
	if len(parts) > maxThen {
		return nil, fmt.Errorf("%w %q: %d faults joined by then: want at most %d", ErrProgramFault, s, len(parts), maxThen)
	}
	out := make([]ProgramFault, 0, len(parts))
	for _, part := range parts {
		f, err := ParseProgramFault(part)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// maxThen bounds the faults of one plan element.
const maxThen = 4

// programRun is what a run left that aims are made from.
type programRun struct {
	events []*trace.Event
	calls  map[string]int
}

// Name implements Target.
func (p *Program) Name() string {
	if len(p.Args) == 0 {
		return "program"
	}
	return p.Args[0]
}

func (p *Program) timeout() time.Duration {
	if p.Timeout > 0 {
		return p.Timeout
	}
	return 30 * time.Second
}

func (p *Program) kinds() []string {
	if len(p.Kinds) > 0 {
		return p.Kinds
	}
	return ProgramKinds
}

// Run implements Target: it runs the program traced under the plan's faults, then the check.
func (p *Program) Run(ctx context.Context, seed fault.Seed, plan []string) (*Outcome, error) {
	if len(p.Args) == 0 {
		return nil, trace.ErrNoCommand
	}
	cfg := trace.Config{Args: p.Args, Dir: p.Dir, Seed: seed, Helper: p.Helper}
	for _, s := range plan {
		fs, err := ParsePlanElement(s)
		if err != nil {
			return nil, err
		}
		for _, f := range fs {
			if f.Rule != nil {
				cfg.Rules = append(cfg.Rules, f.Rule)
			} else {
				cfg.Partitions = append(cfg.Partitions, f.Partition)
			}
		}
	}
	for _, s := range p.Labels {
		l, err := trace.ParseLabel(s)
		if err != nil {
			return nil, err
		}
		cfg.Labels = append(cfg.Labels, l)
	}
	out, err := os.CreateTemp("", outputPrefix)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", p.Name(), err)
	}
	defer os.Remove(out.Name())
	defer out.Close()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return nil, err
	}
	defer devnull.Close()
	cfg.Stdin, cfg.Stdout, cfg.Stderr = devnull, out, out
	rctx, cancel := context.WithTimeout(ctx, p.timeout())
	res, err := trace.Run(rctx, cfg)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", p.Name(), err)
	}
	if res.Interrupted && ctx.Err() != nil {
		return nil, fmt.Errorf("run %s: %w", p.Name(), ctx.Err())
	}
	if len(plan) == 0 {
		p.mu.Lock()
		if p.base == nil {
			p.base = &programRun{events: res.Events, calls: res.Calls}
		}
		p.mu.Unlock()
	}
	status := fmt.Sprintf("exit %d", res.ExitCode)
	if res.Interrupted {
		status = fmt.Sprintf("killed after the %s timeout", p.timeout())
	}
	o := &Outcome{Points: programPoints(res), run: &programRun{events: res.Events, calls: res.Calls}}
	if p.Check != "" {
		code, text, err := p.runCheck(ctx)
		if err != nil {
			return nil, err
		}
		if code != 0 {
			o.Failed, o.Check = true, "check command"
			o.Detail = fmt.Sprintf("%s: exit %d: %s (the program: %s)", p.Check, code, text, status)
		}
	} else if res.ExitCode != 0 || res.Interrupted {
		text, _ := os.ReadFile(out.Name())
		o.Failed, o.Check = true, "exit status"
		o.Detail = fmt.Sprintf("%s: %s", status, lastLines(text, 3))
	}
	o.Signature = programSignature(res, o.Check)
	return o, nil
}

// runCheck runs the check command untraced and returns its exit status and the last lines of
// its output.
func (p *Program) runCheck(ctx context.Context) (int, string, error) {
	cctx, cancel := context.WithTimeout(ctx, p.timeout())
	defer cancel()
	cmd := exec.CommandContext(cctx, "sh", "-c", p.Check)
	cmd.Dir = p.Dir
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, lastLines(buf.Bytes(), 3), nil
	case errors.As(err, &ee):
		code := ee.ExitCode()
		if code < 0 {
			code = 128 // killed (the timeout)
		}
		return code, lastLines(buf.Bytes(), 3), nil
	}
	return 0, "", fmt.Errorf("check %q: %w", p.Check, err)
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	s := strings.Join(lines, " | ")
	if s == "" {
		return "(no output)"
	}
	return s
}

// eventClass sorts a run's events: what faults are aimed at first.
type eventClass int

const (
	classNone    eventClass = iota // process life, the loader's reads, calls that would block
	classOther                     // socket setup, reads of files
	classComm                      // sends, receives, connects and accepts on sockets and pipes
	classStorage                   // writes and syncs of files
)

// lifeCalls are a process's life events (trace reports them as calls): no fault is aimed at
// them.
var lifeCalls = []string{"exec", "exit", "fork", "vfork", "clone", "clone3"}

// systemPaths are read by every program's loader and runtime: not the program's own storage.
var systemPaths = []string{"/proc/", "/sys/", "/usr/", "/lib", "/etc/", "/dev/"}

// outputPrefix names the file a run's stdout and stderr go to (a new one each run): writes to
// it are not the program's storage.
const outputPrefix = "faultbox-explore-out-"

func classify(e *trace.Event) eventClass {
	if e.Errno == "EAGAIN" || e.Errno == "EINPROGRESS" && e.Call != "connect" {
		return classNone
	}
	if slices.Contains(lifeCalls, e.Call) {
		return classNone
	}
	kind := ""
	if e.Endpoint != nil {
		kind = e.Endpoint.Kind
	}
	switch kind {
	case "tcp", "udp", "unix", "pipe":
		switch {
		case e.Dir != "", e.Call == "connect", strings.HasPrefix(e.Call, "accept"):
			return classComm
		}
		return classOther
	case "file":
		path := e.Endpoint.Path
		for _, s := range systemPaths {
			if strings.HasPrefix(path, s) {
				return classNone
			}
		}
		if strings.Contains(path, "/"+outputPrefix) {
			return classNone
		}
		if e.Dir == "send" || e.Call == "fsync" || e.Call == "fdatasync" {
			return classStorage
		}
		return classOther
	}
	return classNone
}

// baseLabel is the label a rule's proc= matches during a run: numbered duplicates
// ("server#2") wear the plain name while the run goes on.
func baseLabel(l string) string {
	if i := strings.IndexByte(l, '#'); i > 0 {
		return l[:i]
	}
	return l
}

// programPoints are the run's communication and storage events, and a "stop" where a fault
// crashed a process.
func programPoints(res *trace.Result) []Point {
	var out []Point
	for _, e := range res.Events {
		c := classify(e)
		if c < classComm && e.Fault == "" {
			continue
		}
		pt := Point{At: time.Duration(e.Seq), Kind: e.Call, Where: e.Label, Label: e.Addr}
		if e.Endpoint != nil {
			pt.Label += " " + e.Endpoint.Kind
			if e.Endpoint.Kind == "file" {
				pt.Label += " " + e.Endpoint.Path
			}
		}
		if e.Peer != "" {
			pt.From, _, _ = strings.Cut(e.Peer, "/")
		}
		if e.Fault != "" {
			pt.Label += " ✕ " + e.Fault
			if strings.Contains(e.Fault, "crash") {
				pt.Kind = "stop"
			}
		}
		out = append(out, pt)
	}
	return out
}

// programSignature abstracts a run: per process (by label), the order of its communication
// and storage steps (call kind, endpoint kind, the peer's label for a receive; repeats
// collapsed), which labels sent to which, the faults injected (kind, process, call), how each
// process ended and the verdict; no pids, times, byte counts or fds.
func programSignature(res *trace.Result, check string) string {
	steps := map[string][]string{}
	edges := map[string]bool{}
	for _, e := range res.Events {
		if classify(e) < classComm {
			continue
		}
		kind := e.Endpoint.Kind
		step := e.Call + " " + kind
		if e.Dir != "" {
			step = e.Dir + " " + kind
		}
		if e.Peer != "" {
			from, _, _ := strings.Cut(e.Peer, "/")
			step += "<" + from
			edges[from+">"+e.Label+" "+kind] = true
		}
		if s := steps[e.Label]; len(s) == 0 || s[len(s)-1] != step {
			steps[e.Label] = append(s, step)
		}
	}
	h := fnv.New64a()
	for _, l := range sortedKeys(steps) {
		fmt.Fprintf(h, "%s: %s\n", l, strings.Join(steps[l], ","))
	}
	fmt.Fprintf(h, "edges %s\n", strings.Join(sortedKeys(edges), ","))
	for _, f := range res.FaultEvents {
		call, _, _ := strings.Cut(f.Detail, " ")
		fmt.Fprintf(h, "fault %s %s %s\n", f.Kind, f.Process, call)
	}
	for _, pr := range res.Procs {
		fmt.Fprintf(h, "proc %s %s\n", pr.Label, pr.Status)
	}
	fmt.Fprintf(h, "verdict %s\n", check)
	return fmt.Sprintf("%012x", h.Sum64()>>16)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// aim is one event of a baseline a fault can be aimed at, with what a rule needs to select
// it again: its call, process and the filter and count that pick it out of its thread.
type aim struct {
	e      *trace.Event
	class  eventClass
	filter string // ":fd=unix" or ":path=/x/log"
	when   int    // the invocation among the thread's calls of e.Call that pass filter
	// then is the thread's second communication or storage event after this one: where a
	// crash goes after a delay of this call.
	then *aim
}

// aims lists the baseline's events faults can be aimed at, with their counts.
func aims(events []*trace.Event) []aim {
	counts := map[string]int{}
	var out []aim
	for _, e := range events {
		c := classify(e)
		filter := ""
		if e.Endpoint != nil {
			filter = ":fd=" + e.Endpoint.Kind
			if p := e.Endpoint.Path; e.Endpoint.Kind == "file" && p != "" && !strings.ContainsAny(p, "*?[]:\\") {
				filter = ":path=" + p
			}
		}
		// What when= counts: calls of this name by this thread that pass the filter, failed
		// ones (EAGAIN) included.
		key := fmt.Sprintf("%s/%d/%s%s", e.Label, e.Thread, e.Call, filter)
		counts[key]++
		if c < classOther {
			continue
		}
		out = append(out, aim{e: e, class: c, filter: filter, when: counts[key]})
	}
	byThread := map[string][]int{}
	for i, a := range out {
		if a.class >= classComm {
			k := fmt.Sprintf("%s/%d", a.e.Label, a.e.Thread)
			byThread[k] = append(byThread[k], i)
		}
	}
	for _, idx := range byThread {
		for j := 0; j+2 < len(idx); j++ {
			out[idx[j]].then = &out[idx[j+2]]
		}
	}
	return out
}

// rule writes the --inject term that applies action (crash, omit, eio, reset, or
// delay_enter=D) to a's call.
func (a aim) rule(action string) string {
	return fmt.Sprintf("%s:%s:when=%d:proc=%s%s", a.e.Call, action, a.when, baseLabel(a.e.Label), a.filter)
}

// sends are the calls an omit applies to.
var sends = []string{"write", "writev", "sendto", "sendmsg", "pwrite64", "pwritev", "pwritev2", "send"}

// faultsFor lists the single faults of the allowed kinds that fit a's event, in the order
// tried: crash, omit, eio first (they lose something), then reset and delay.
func (p *Program) faultsFor(a aim) (first, later []string) {
	kinds := p.kinds()
	comm := a.class == classComm
	for _, k := range kinds {
		switch k {
		case "crash":
			first = append(first, a.rule("crash"))
		case "omit":
			if comm && a.e.Dir == "send" && slices.Contains(sends, a.e.Call) {
				first = append(first, a.rule("omit"))
			}
		case "eio":
			if a.class == classStorage {
				first = append(first, a.rule("eio"))
			}
		case "reset":
			if comm && a.e.Dir != "" && a.e.Endpoint.Kind != "pipe" {
				later = append(later, a.rule("reset"))
			}
		case "delay":
			if comm {
				later = append(later, a.rule("delay_enter=50ms"))
				if a.then != nil && slices.Contains(kinds, "crash") {
					later = append(later, a.rule("delay_enter=50ms")+" then "+a.then.rule("crash"))
				}
			}
		}
	}
	return first, later
}

// runOf is the run an outcome came from; for an outcome made elsewhere, the first
// fault-free run.
func (p *Program) runOf(o *Outcome) *programRun {
	if r, ok := o.run.(*programRun); ok {
		return r
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.base
}

// exposedStorage are the storage events (file writes and syncs) of a process that, since it
// last received a message, had already sent one: it answered before it made durable what the
// answer may promise. A crash or an EIO there is where acknowledged-but-lost bugs show; a
// process that persists before it replies has none.
func exposedStorage(all []aim) []aim {
	spoke := map[string]bool{}
	var out []aim
	for _, a := range all {
		switch {
		case a.class == classComm && a.e.Dir == "recv":
			spoke[a.e.Label] = false
		case a.class == classComm && a.e.Dir == "send":
			spoke[a.e.Label] = true
		case a.class == classStorage && spoke[a.e.Label]:
			out = append(out, a)
		}
	}
	return out
}

// Aims implements Target: first the exposed storage events (exposedStorage); then for the
// baseline's communication and storage events (then the
// others), the first of each kind of event (process, call, endpoint) in the order they
// happened, then the second of each, and so on: crash the process at the call, omit the send,
// fail the write or sync with EIO; then the same rounds with a reset, a delay, and a delay
// followed by a crash of the same thread two communication or storage calls later.
func (p *Program) Aims(base *Outcome) []string {
	r := p.runOf(base)
	if r == nil {
		return nil
	}
	all := aims(r.events)
	var first, later []string
	seen := map[string]bool{}
	add := func(list *[]string, fs []string) {
		for _, f := range fs {
			if !seen[f] && len(first)+len(later) < maxAims {
				seen[f] = true
				*list = append(*list, f)
			}
		}
	}
	for _, a := range exposedStorage(all) {
		f, _ := p.faultsFor(a)
		add(&first, f)
	}
	for _, want := range []func(eventClass) bool{
		func(c eventClass) bool { return c >= classComm },
		func(c eventClass) bool { return c == classOther },
	} {
		classes := map[string][]aim{}
		var order []string
		for _, a := range all {
			if !want(a.class) {
				continue
			}
			k := a.e.Label + " " + a.e.Call + a.filter
			if _, ok := classes[k]; !ok {
				order = append(order, k)
			}
			classes[k] = append(classes[k], a)
		}
		for round := 0; ; round++ {
			any := false
			for _, k := range order {
				if round < len(classes[k]) {
					any = true
					f, l := p.faultsFor(classes[k][round])
					add(&first, f)
					add(&later, l)
				}
			}
			if !any {
				break
			}
		}
	}
	return append(first, later...)
}

// Cuts implements Target: the supports of a run's outcome are the messages another process
// received (omit each send a receive read from) and the writes and syncs of files (fail each
// with EIO): the exposed storage events first (exposedStorage), then all in the order they
// happened.
func (p *Program) Cuts(base *Outcome) []string {
	r := p.runOf(base)
	if r == nil {
		return nil
	}
	received := map[string]bool{}
	for _, e := range r.events {
		for _, h := range e.HB {
			if from, _, _ := strings.Cut(h, "/"); from != e.Label {
				received[h] = true
			}
		}
	}
	kinds := p.kinds()
	var out []string
	all := aims(r.events)
	if slices.Contains(kinds, "eio") {
		for _, a := range exposedStorage(all) {
			out = append(out, a.rule("eio"))
		}
	}
	for _, a := range all {
		switch {
		case a.class == classComm && received[a.e.Addr] && a.e.Dir == "send" && slices.Contains(sends, a.e.Call) &&
			slices.Contains(kinds, "omit"):
			out = append(out, a.rule("omit"))
		case a.class == classStorage && slices.Contains(kinds, "eio") && !slices.Contains(out, a.rule("eio")):
			out = append(out, a.rule("eio"))
		}
	}
	return out
}

// RandomPlan implements Target: one or two faults, each of a kind drawn from Kinds, at a call
// drawn from all the calls a fault-free run made on its processes' main threads (the loader's
// and the runtime's included), selected by process, call name and invocation only; an omit
// drawn for a call that is not a send on a socket becomes a crash.
func (p *Program) RandomPlan(r *rand.Rand) []string {
	p.mu.Lock()
	base := p.base
	p.mu.Unlock()
	if base == nil {
		if _, err := p.Run(context.Background(), 0, nil); err != nil {
			return nil
		}
		p.mu.Lock()
		base = p.base
		p.mu.Unlock()
	}
	kinds := p.kinds()
	type call struct {
		e          *trace.Event
		when, sock int // the invocation among the thread's calls of its name, and among those on sockets
	}
	counts := map[string]int{}
	var calls []call
	for _, e := range base.events {
		if slices.Contains(lifeCalls, e.Call) || e.Thread != 0 {
			continue
		}
		k := e.Label + " " + e.Call
		counts[k]++
		c := call{e: e, when: counts[k]}
		if e.Endpoint != nil && slices.Contains([]string{"tcp", "udp", "unix", "sock"}, e.Endpoint.Kind) {
			counts[k+" sock"]++
			c.sock = counts[k+" sock"]
		}
		calls = append(calls, c)
	}
	if len(calls) == 0 {
		return nil
	}
	n := 1 + r.IntN(2)
	plan := make([]string, 0, n)
	for range n {
		c := calls[r.IntN(len(calls))]
		action, when, filter := kinds[r.IntN(len(kinds))], c.when, ""
		switch action {
		case "delay":
			action = "delay_enter=50ms"
		case "omit":
			if c.sock > 0 && c.e.Dir == "send" && slices.Contains(sends, c.e.Call) {
				when, filter = c.sock, ":fd=sock"
			} else {
				action = "crash"
			}
		}
		plan = append(plan, fmt.Sprintf("%s:%s:when=%d:proc=%s%s", c.e.Call, action, when, baseLabel(c.e.Label), filter))
	}
	return plan
}

// Replay implements Target: the faultbox run command line, then the check.
func (p *Program) Replay(seed fault.Seed, plan []string) string {
	args := []string{"faultbox", "run", "--seed", seed.String()}
	for _, l := range p.Labels {
		args = append(args, "--label", l)
	}
	for _, s := range plan {
		fs, err := ParsePlanElement(s)
		if err != nil {
			args = append(args, "--inject", s) // faultbox run says what is wrong with it
			continue
		}
		for _, f := range fs {
			args = append(args, f.Flag, f.Spec)
		}
	}
	args = append(append(args, "--"), p.Args...)
	line := shellquote.Quote(args...)
	if p.Dir != "" {
		line = "cd " + shellquote.Quote(p.Dir) + " && " + line
	}
	if p.Check != "" {
		line += "; " + p.Check
	}
	return line
}
