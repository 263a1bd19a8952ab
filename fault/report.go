package fault

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Verdict is what a run's checks concluded.
type Verdict string

const (
	// Pass: every check held.
	Pass Verdict = "pass"
	// Fail: at least one check did not hold.
	Fail Verdict = "fail"
	// Empty: there was nothing to judge (no check ran, or the workload produced nothing a
	// check could hold against); a run that proves nothing does not pass.
	Empty Verdict = "empty"
)

// Exit codes every faultbox command uses.
const (
	ExitPass  = 0 // the run passed (or the command did its job)
	ExitFail  = 1 // a check failed, or the command could not do its job
	ExitUsage = 2 // the command line was wrong
	ExitEmpty = 3 // the run proved nothing: the verdict is empty
)

// ExitCode is the process exit status for the verdict.
func (v Verdict) ExitCode() int {
	switch v {
	case Pass:
		return ExitPass
	case Empty:
		return ExitEmpty
	}
	return ExitFail
}

// Check is one property a run was judged by.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// Figure is one named measurement of a run (ops done, records recovered, bytes reused), kept
// in the order the command added them.
type Figure struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Report is what one run of a command produced, in the shape every command shares.
type Report struct {
	Command string   `json:"command"`          // what ran: "faultbox disk torture"
	Target  string   `json:"target,omitempty"` // what it ran against, when not implied
	Seed    *Seed    `json:"seed,omitempty"`   // the seed, when the run has one
	Figures []Figure `json:"figures,omitempty"`
	Faults  []Count  `json:"faults"` // injected faults by layer and kind, sorted
	Checks  []Check  `json:"checks,omitempty"`
	Verdict Verdict  `json:"verdict"`
	Notes   []string `json:"notes,omitempty"`  // what a reader should know (limits, warnings)
	Replay  string   `json:"replay,omitempty"` // the command line that reproduces the run
}

// NewReport starts a report for command, run with seed.
func NewReport(command string, seed Seed) *Report {
	return &Report{Command: command, Seed: &seed, Faults: []Count{}}
}

// Add appends a figure; value is formatted with fmt's %v.
func (r *Report) Add(name string, value any) {
	r.Figures = append(r.Figures, Figure{Name: name, Value: fmt.Sprint(value)})
}

// Check appends a check and returns ok, so a command can go on from its result.
func (r *Report) Check(name string, ok bool, detailFormat string, args ...any) bool {
	r.Checks = append(r.Checks, Check{Name: name, OK: ok, Detail: fmt.Sprintf(detailFormat, args...)})
	return ok
}

// Note appends a line a reader should see.
func (r *Report) Note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// SetFaults replaces the fault counts (sorted as SortCounts does).
func (r *Report) SetFaults(c []Count) {
	r.Faults = append([]Count{}, c...)
	SortCounts(r.Faults)
}

// Judge sets the verdict from the checks: Empty with none, Fail when one failed, else Pass.
// It returns the verdict. A command that knows its run proved nothing sets Empty itself.
func (r *Report) Judge() Verdict {
	r.Verdict = Pass
	if len(r.Checks) == 0 {
		r.Verdict = Empty
	}
	for _, c := range r.Checks {
		if !c.OK {
			r.Verdict = Fail
			break
		}
	}
	return r.Verdict
}

// FaultTotal is the number of faults injected, all layers and kinds.
func (r *Report) FaultTotal() int {
	n := 0
	for _, c := range r.Faults {
		n += c.N
	}
	return n
}

// WriteJSON writes the report as one indented JSON object and a newline.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the report for a reader: the command and seed, figures, faults, checks,
// notes, the verdict and the replay command. Its layout is stable.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	b.WriteString(r.Command)
	if r.Target != "" {
		b.WriteString("  target " + r.Target)
	}
	if r.Seed != nil {
		b.WriteString("  seed " + r.Seed.String())
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, f := range r.Figures {
		fmt.Fprintf(tw, "  %s\t%s\n", f.Name, f.Value)
	}
	tw.Flush()
	fmt.Fprintf(&b, "faults: %s\n", faultLine(r.Faults))
	if len(r.Checks) > 0 {
		b.WriteString("checks:\n")
		for _, c := range r.Checks {
			mark := "ok  "
			if !c.OK {
				mark = "FAIL"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", mark, c.Name, c.Detail)
		}
		tw.Flush()
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	fmt.Fprintf(&b, "verdict: %s", r.Verdict)
	if r.Verdict == Empty {
		b.WriteString(" (nothing was checked)")
	}
	b.WriteString("\n")
	if r.Replay != "" {
		fmt.Fprintf(&b, "replay: %s\n", r.Replay)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// faultLine lists counts as layer/kind=N in report order, with the total.
func faultLine(c []Count) string {
	if len(c) == 0 {
		return "none"
	}
	parts := make([]string, 0, len(c))
	total := 0
	for _, x := range c {
		parts = append(parts, fmt.Sprintf("%s/%s=%d", x.Layer, x.Kind, x.N))
		total += x.N
	}
	return fmt.Sprintf("%s (%d in all)", strings.Join(parts, " "), total)
}
