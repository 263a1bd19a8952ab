//go:build linux

package trace

import (
	"fmt"
	"sort"
	"strings"

	"github.com/faultbox/faultbox/fault"
)

// Event is one traced call (or a process's start, exec or exit) as it appears in the JSON-lines
// log. Addr is its stable address: process label, thread index and the thread's event number.
type Event struct {
	Seq      int       `json:"seq"`
	Addr     string    `json:"addr"`
	TimeUs   int64     `json:"time_us"` // since the run started; not reproducible
	DurUs    int64     `json:"dur_us,omitempty"`
	Pid      int       `json:"pid"`
	Tid      int       `json:"tid"`
	Label    string    `json:"label"`
	Thread   int       `json:"thread"`
	N        int       `json:"n"`
	Call     string    `json:"call"`
	Fd       int       `json:"fd"`
	Size     int64     `json:"size,omitempty"`
	Dest     string    `json:"dest,omitempty"`
	Path     string    `json:"path,omitempty"` // the path argument of open, unlink, rename, stat…, or a unix socket's
	Ret      int64     `json:"ret"`
	Errno    string    `json:"errno,omitempty"`
	Endpoint *Endpoint `json:"endpoint,omitempty"`
	Dir      string    `json:"dir,omitempty"` // send or recv
	Offset   int64     `json:"offset,omitempty"`
	Bytes    int64     `json:"bytes,omitempty"`
	Fault    string    `json:"fault,omitempty"`
	HB       []string  `json:"hb,omitempty"`
	// Peer is the address of the event at the other end of a message (the accept of a connect,
	// the first send a receive read from).
	Peer string `json:"peer,omitempty"`

	proc     *process
	gen      int   // which of proc's names it was recorded under
	renamed  bool  // Label and Addr carry the final name
	hb       []int // indices into the event slice
	msgFrom  []int // sends this receive read bytes from
	dgram    uint64
	complete bool
}

// ProcInfo is one traced process in the summary.
type ProcInfo struct {
	Pid    int    `json:"pid"`
	Label  string `json:"label"`
	Comm   string `json:"comm"`
	Parent int    `json:"parent"`
	Status string `json:"status"` // "exit 0", "killed by SIGKILL", "running"
	Code   int    `json:"code"`   // exit code, or 128+signal
}

// Result is what a traced run produced.
type Result struct {
	ExitCode    int // the traced command's status (128+signal when killed by one)
	Interrupted bool
	// Detached is set when the processes were attached to (Config.Attach) and the tracer
	// detached from them, leaving them running, when the run was interrupted.
	Detached bool
	Events   []*Event
	Dropped  int // events not kept because of Config.MaxEvents
	Procs    []ProcInfo
	Faults   []string // one line per injected fault: address and rule
	// FaultEvents are the same faults as the core's events (layer "trace", kind the rule's
	// action, where the call's address, on the wall clock), ready for a fault.Log.
	FaultEvents []fault.Event
	Calls       map[string]int
	// CallStats are strace -c's figures per system call (calls, errors, time from entry to
	// exit) with the faults injected; the life events (exec, fork, clone, exit) are not in it.
	CallStats map[string]CallStat
	Unfired   []string // rules (as written) that never fired
	// UnfiredWhy says, for each rule of Unfired (same index), what the run did instead: for a
	// rule with an fd=, path= or addr= filter the calls made on what it filters for, else how
	// often its calls were made and which of when=, p= or proc= they never met ("" when
	// there is nothing to add).
	UnfiredWhy []string

	tableReads int // reads of /proc/PID/net tables (the slow way to name a socket)
	exitStops  int // syscall-exit stops the tracer saw
}

// Summary is the human-readable report printed on stderr after a run.
func (r *Result) Summary() string {
	var b strings.Builder
	if len(r.Procs) == 0 {
		fmt.Fprintf(&b, "faultbox run: the command did not start (exit %d)\n", r.ExitCode)
		return b.String()
	}
	names := make([]string, 0, len(r.Calls))
	for n := range r.Calls {
		names = append(names, n)
	}
	sort.Strings(names)
	b.WriteString("faultbox run: " + plural(len(r.Events), "event"))
	if r.Dropped > 0 && len(r.Events) == 0 {
		fmt.Fprintf(&b, " kept (%d seen; no output asked for them)", r.Dropped)
	} else if r.Dropped > 0 {
		fmt.Fprintf(&b, " (%d more not kept)", r.Dropped)
	}
	b.WriteString("\n  calls:")
	for _, n := range names {
		fmt.Fprintf(&b, " %s=%d", n, r.Calls[n])
	}
	fmt.Fprintf(&b, "\n  faults injected: %d\n", len(r.Faults))
	for _, f := range r.Faults {
		fmt.Fprintf(&b, "    %s\n", f)
	}
	for i, u := range r.Unfired {
		fmt.Fprintf(&b, "  warning: %s never fired", u)
		if i < len(r.UnfiredWhy) && r.UnfiredWhy[i] != "" {
			b.WriteString("; " + r.UnfiredWhy[i])
		}
		b.WriteString("\n")
	}
	b.WriteString("  processes:\n")
	for _, p := range r.Procs {
		fmt.Fprintf(&b, "    %-12s pid %-7d %-16s %s\n", p.Label, p.Pid, p.Comm, p.Status)
	}
	if r.Interrupted && r.Detached {
		b.WriteString("  interrupted: detached from the traced processes, which go on\n")
	} else if r.Interrupted {
		b.WriteString("  interrupted: the traced processes were killed\n")
	}
	return b.String()
}
