//go:build linux

package trace

import (
	"bufio"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"os"
	"sort"
	"strings"
)

// WriteJSONL writes one JSON object per event, in the order the tracer saw them.
func WriteJSONL(w io.Writer, r *Result) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for _, e := range r.Events {
		if err := enc.Encode(e); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// WriteOutputs writes the event log, the HTML picture and the Chrome trace to the paths that
// are not empty.
func WriteOutputs(r *Result, events, html, chrome string) error {
	o, err := OpenOutputs(events, html, chrome)
	if err != nil {
		return err
	}
	return o.Write(r)
}

// Outputs are the output files of a run, created before the run starts so that a path that
// cannot be written fails before anything runs.
type Outputs struct {
	files []outFile
}

type outFile struct {
	path string
	f    *os.File
	fn   func(io.Writer, *Result) error
}

// OpenOutputs creates (truncating) each output file whose path is not empty.
func OpenOutputs(events, html, chrome string) (*Outputs, error) {
	o := &Outputs{}
	for _, x := range []outFile{{path: events, fn: WriteJSONL}, {path: html, fn: WriteHTML}, {path: chrome, fn: WriteChrome}} {
		if x.path == "" {
			continue
		}
		f, err := os.Create(x.path)
		if err != nil {
			o.Close()
			return nil, fmt.Errorf("faultbox run: output file: %w", err)
		}
		x.f = f
		o.files = append(o.files, x)
	}
	return o, nil
}

// Write writes r to every file and closes them; it returns the first error.
func (o *Outputs) Write(r *Result) error {
	var first error
	for _, x := range o.files {
		err := x.fn(x.f, r)
		if cerr := x.f.Close(); err == nil {
			err = cerr
		}
		if err != nil && first == nil {
			first = fmt.Errorf("faultbox run: write %s: %w", x.path, err)
		}
	}
	o.files = nil
	return first
}

// Close closes the files without writing to them.
func (o *Outputs) Close() {
	for _, x := range o.files {
		x.f.Close()
	}
	o.files = nil
}

// shown reports whether an event belongs in the picture: communication, faults and the
// life of processes, not the loader reading libraries.
func shown(e *Event) bool {
	if e.Fault != "" || e.Call == "exec" || e.Call == "exit" || e.Call == "fork" || len(e.msgFrom) > 0 {
		return true
	}
	if e.Endpoint == nil {
		return false
	}
	switch e.Endpoint.Kind {
	case "tcp", "udp", "unix", "pipe":
		return true
	}
	return false
}

// lamport gives each event one more than the largest of its happens-before predecessors, so
// that every arrow of the picture points down.
func lamport(events []*Event) []int {
	l := make([]int, len(events))
	state := make([]byte, len(events)) // 0 new, 1 on the stack, 2 done
	var visit func(i int) int
	visit = func(i int) int {
		if state[i] == 2 {
			return l[i]
		}
		if state[i] == 1 {
			return 0 // a cycle would be a tracker bug; do not loop on it
		}
		state[i] = 1
		m := 0
		for _, h := range events[i].hb {
			if v := visit(h); v > m {
				m = v
			}
		}
		l[i], state[i] = m+1, 2
		return l[i]
	}
	for i := range events {
		visit(i)
	}
	return l
}

const maxDrawn = 3000

// WriteHTML writes a self-contained space-time diagram: one vertical line per process, time
// (happens-before order) going down, an arrow for every message and connection, faults in red.
func WriteHTML(w io.Writer, r *Result) error {
	ev := r.Events
	lam := lamport(ev)
	var idx []int
	for i, e := range ev {
		if shown(e) {
			idx = append(idx, i)
		}
	}
	truncated := 0
	sort.SliceStable(idx, func(a, b int) bool { return lam[idx[a]] < lam[idx[b]] })
	if len(idx) > maxDrawn {
		truncated = len(idx) - maxDrawn
		idx = idx[:maxDrawn]
	}
	lane := map[int]int{}
	for i, p := range r.Procs {
		lane[p.Pid] = i
	}
	const laneW, rowH, top, left = 190, 26, 90, 110
	row := map[int]int{}
	rowOf := map[int]int{}
	rows := 0
	for _, i := range idx {
		if _, ok := rowOf[lam[i]]; !ok {
			rowOf[lam[i]] = rows
			rows++
		}
		row[i] = rowOf[lam[i]]
	}
	x := func(i int) int { return left + lane[ev[i].Pid]*laneW }
	y := func(i int) int { return top + row[i]*rowH }
	width := left + len(r.Procs)*laneW
	height := top + rows*rowH + 40
	var b strings.Builder
	fmt.Fprintf(&b, `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>faultbox run: space-time diagram</title>
<style>body{font:13px sans-serif;margin:16px;color:#222}h1{font-size:16px}
.lane{stroke:#999;stroke-width:2}.ev{fill:#3a6ea5}.fault{fill:#c0392b}.msg{stroke:#3a6ea5;stroke-width:1.4;fill:none;marker-end:url(#arr)}
.conn{stroke:#27864a;stroke-width:1.4;stroke-dasharray:5 3;fill:none;marker-end:url(#arrg)}.spawn{stroke:#888;stroke-dasharray:2 3;fill:none}
.lost{stroke:#c0392b;stroke-width:1.4;stroke-dasharray:4 3}text{font-size:11px}.ft{fill:#c0392b;font-weight:bold}.hd{font-size:12px;font-weight:bold}
</style></head><body>
<h1>faultbox run: %s, %s, exit %d</h1>
<p>One line per process, happens-before order going down. Blue arrows: bytes or datagrams from a send to the receive that read them; green dashed: connect to accept; red: injected faults (hover a dot for its event).</p>
`, plural(len(ev), "event"), plural(len(r.Faults), "fault"), r.ExitCode)
	if truncated == 1 {
		b.WriteString("<p>1 more event is not drawn.</p>\n")
	} else if truncated > 1 {
		fmt.Fprintf(&b, "<p>%d more events are not drawn.</p>\n", truncated)
	}
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d">
<defs><marker id="arr" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0L10,5L0,10z" fill="#3a6ea5"/></marker>
<marker id="arrg" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0L10,5L0,10z" fill="#27864a"/></marker></defs>
`, width, height)
	for i, p := range r.Procs {
		lx := left + i*laneW
		fmt.Fprintf(&b, `<text class="hd" x="%d" y="30" text-anchor="middle">%s</text><text x="%d" y="46" text-anchor="middle">%s pid %d</text><text x="%d" y="62" text-anchor="middle">%s</text>
<line class="lane" x1="%d" y1="72" x2="%d" y2="%d"/>
`, lx, esc(p.Label), lx, esc(p.Comm), p.Pid, lx, esc(p.Status), lx, lx, height-20)
	}
	drawn := map[int]bool{}
	for _, i := range idx {
		drawn[i] = true
	}
	for _, i := range idx {
		e := ev[i]
		for _, s := range e.msgFrom {
			if !drawn[s] {
				continue
			}
			cls := "msg"
			if e.Call == "accept" || e.Call == "accept4" {
				cls = "conn"
			}
			fmt.Fprintf(&b, `<line class="%s" x1="%d" y1="%d" x2="%d" y2="%d"/>
`, cls, x(s), y(s), x(i), y(i))
		}
		if e.Call == "fork" && e.Ret > 0 {
			if l, ok := lane[int(e.Ret)]; ok {
				fmt.Fprintf(&b, `<line class="spawn" x1="%d" y1="%d" x2="%d" y2="%d"/>
`, x(i), y(i), left+l*laneW, y(i)+rowH/2)
			}
		}
	}
	for _, i := range idx {
		e := ev[i]
		cls, rad := "ev", 4
		if e.Fault != "" {
			cls, rad = "fault", 6
		}
		tip := fmt.Sprintf("%s %s fd=%d ret=%d", e.Addr, e.Call, e.Fd, e.Ret)
		if e.Errno != "" {
			tip += " " + e.Errno
		}
		if e.Endpoint != nil {
			tip += " " + e.Endpoint.Kind + " " + e.Endpoint.Local + " " + e.Endpoint.Remote + e.Endpoint.Path
		}
		if e.Fault != "" {
			tip += "\nfault: " + e.Fault
		}
		fmt.Fprintf(&b, `<circle class="%s" cx="%d" cy="%d" r="%d"><title>%s</title></circle>`, cls, x(i), y(i), rad, esc(tip))
		label := e.Call
		if e.Bytes > 0 {
			label += fmt.Sprintf(" %dB", e.Bytes)
		} else if e.Errno != "" {
			label += " " + e.Errno
		}
		tcls := ""
		if e.Fault != "" {
			tcls = ` class="ft"`
			label = "✕ " + label + " (" + faultWord(e.Fault) + ")"
			if e.Dir == "send" {
				fmt.Fprintf(&b, `<line class="lost" x1="%d" y1="%d" x2="%d" y2="%d"/>`, x(i), y(i), x(i)+45, y(i)+rowH-6)
			}
		}
		fmt.Fprintf(&b, `<text%s x="%d" y="%d">%s</text>
`, tcls, x(i)+9, y(i)-5, esc(label))
	}
	b.WriteString("</svg>\n<h2 style=\"font-size:14px\">Faults injected</h2><ul>\n")
	for _, f := range r.Faults {
		fmt.Fprintf(&b, "<li>%s</li>\n", esc(f))
	}
	b.WriteString("</ul></body></html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// plural is "1 fault", "2 faults", "0 faults".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func faultWord(f string) string {
	for _, a := range []string{"omit", "phantom", "short", "corrupt", "crash", "refuse", "reset", "enospc", "eio", "partition"} {
		if strings.Contains(f, a) {
			return a
		}
	}
	if i := strings.Index(f, "error="); i >= 0 {
		rest := f[i+6:]
		if j := strings.IndexByte(rest, ':'); j >= 0 {
			rest = rest[:j]
		}
		return rest
	}
	return "injected"
}

func esc(s string) string { return html.EscapeString(s) }

type chromeEvent struct {
	Name string         `json:"name"`
	Cat  string         `json:"cat,omitempty"`
	Ph   string         `json:"ph"`
	Ts   int64          `json:"ts"`
	Dur  int64          `json:"dur,omitempty"`
	Pid  int            `json:"pid"`
	Tid  int            `json:"tid"`
	ID   int            `json:"id,omitempty"`
	BP   string         `json:"bp,omitempty"`
	S    string         `json:"s,omitempty"`
	Args map[string]any `json:"args,omitempty"`
}

// WriteChrome writes the Chrome trace-event format (Perfetto and chrome://tracing open it):
// a slice per call, a flow arrow per message, an instant marker per fault.
func WriteChrome(w io.Writer, r *Result) error {
	var out []chromeEvent
	for _, p := range r.Procs {
		out = append(out, chromeEvent{Name: "process_name", Ph: "M", Pid: p.Pid, Args: map[string]any{"name": p.Label + " (" + p.Comm + ")"}})
	}
	flow := 0
	for _, e := range r.Events {
		dur := e.DurUs
		if dur < 1 {
			dur = 1
		}
		args := map[string]any{"addr": e.Addr, "ret": e.Ret}
		if e.Endpoint != nil {
			args["endpoint"] = e.Endpoint
		}
		if e.Bytes > 0 {
			args["bytes"] = e.Bytes
		}
		if e.Fault != "" {
			args["fault"] = e.Fault
		}
		out = append(out, chromeEvent{Name: e.Call, Cat: "call", Ph: "X", Ts: e.TimeUs, Dur: dur, Pid: e.Pid, Tid: e.Tid, Args: args})
		if e.Fault != "" {
			out = append(out, chromeEvent{Name: "fault: " + e.Fault, Cat: "fault", Ph: "i", S: "t", Ts: e.TimeUs, Pid: e.Pid, Tid: e.Tid})
		}
		for _, s := range e.msgFrom {
			flow++
			se := r.Events[s]
			out = append(out,
				chromeEvent{Name: "message", Cat: "message", Ph: "s", ID: flow, Ts: se.TimeUs, Pid: se.Pid, Tid: se.Tid},
				chromeEvent{Name: "message", Cat: "message", Ph: "f", BP: "e", ID: flow, Ts: e.TimeUs, Pid: e.Pid, Tid: e.Tid})
		}
	}
	return json.NewEncoder(w).Encode(map[string]any{"traceEvents": out, "displayTimeUnit": "ms"})
}
