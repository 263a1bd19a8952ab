//go:build linux

package trace

import (
	"bytes"
	"strings"
	"testing"
)

// Counts in the picture's title and the summary agree with their number.
func TestCountsArePlural(t *testing.T) {
	t.Parallel()
	cases := []struct {
		events, faults, undrawn int
		title, summary, note    string
	}{
		{0, 0, 0, "0 events, 0 faults", "faultbox run: 0 events\n", ""},
		{1, 1, 0, "1 event, 1 fault", "faultbox run: 1 event\n", ""},
		{2, 2, 0, "2 events, 2 faults", "faultbox run: 2 events\n", ""},
		{maxDrawn + 1, 0, 1, "3001 events, 0 faults", "", "<p>1 more event is not drawn.</p>"},
		{maxDrawn + 2, 0, 2, "3002 events, 0 faults", "", "<p>2 more events are not drawn.</p>"},
	}
	for _, c := range cases {
		r := &Result{Procs: []ProcInfo{{Pid: 1, Label: "p1", Comm: "x", Status: "exit 0"}}, Calls: map[string]int{}}
		for i := range c.events {
			e := &Event{Seq: i, Pid: 1, Call: "exec", Fd: -1}
			if i < c.faults {
				e.Call, e.Fault = "write", "write:error=EIO"
			}
			r.Events = append(r.Events, e)
			if e.Fault != "" {
				r.Faults = append(r.Faults, "p1/t0/1: "+e.Fault)
			}
		}
		var b bytes.Buffer
		if err := WriteHTML(&b, r); err != nil {
			t.Fatal(err)
		}
		if want := "<h1>faultbox run: " + c.title + ", exit 0</h1>"; !strings.Contains(b.String(), want) {
			t.Errorf("%d events, %d faults: title is not %q", c.events, c.faults, want)
		}
		if c.note != "" && !strings.Contains(b.String(), c.note) {
			t.Errorf("%d events: page lacks %q", c.events, c.note)
		}
		if c.summary != "" && !strings.HasPrefix(r.Summary(), c.summary) {
			t.Errorf("summary %q, want it to start %q", r.Summary(), c.summary)
		}
	}
}
