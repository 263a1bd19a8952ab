//go:build linux

package trace

import (
	"bufio"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
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

// The geometry of the picture, in pixels. An arrowhead is a triangle headLenPx long and
// 2*headHalfPx wide whose tip stops headGapPx short of the dot it points at; a label keeps
// labelGapPx from its dot, or from the arrowhead at its dot when one comes from the label's
// side, and stays labelMarginPx short of the middle of the gap to the next lane, so that no
// label ever lies under an arrowhead or under another lane's label.
const (
	rowPx                 = 26
	topPx                 = 90
	fontPx                = 11
	dotPx, faultDotPx     = 4, 6 // radii
	headLenPx, headHalfPx = 8, 4
	headGapPx             = 1
	labelGapPx            = 5
	labelMarginPx         = 3
	laneMinPx, laneMaxPx  = 190, 320
	labelAscentPx         = 11 // above the baseline, for a fontPx font (and a margin)
	labelDescentPx        = 3
	lostDxPx, lostDyPx    = 24, 8 // the stub drawn from a send whose message was lost
)

// maxLabelRunes bounds a label's length before it is fitted to its lane.
const maxLabelRunes = 80

// The sides arrowheads come to a dot from.
const (
	headFromLeft = 1 << iota
	headFromRight
)

// arrow is a line from (X1, Y1) to (X2, Y2); its class says whether an arrowhead ends it
// (msg, conn) or not (spawn, lost).
type arrow struct {
	X1, Y1, X2, Y2 float64
	Class          string
}

// label is a text whose baseline starts (Anchor "start") or ends ("end") at (X, Y).
type label struct {
	X, Y   float64
	Anchor string
	Text   string
	Full   string // the text before it was shortened to fit, or ""
	Bold   bool
}

// box is the rectangle a label's text covers, estimated from labelWidthPx.
func (l label) box() (x0, y0, x1, y1 float64) {
	w := labelWidthPx(l.Text, l.Bold)
	x0 = l.X
	if l.Anchor == "end" {
		x0 -= w
	}
	return x0, l.Y - labelAscentPx, x0 + w, l.Y + labelDescentPx
}

// advanceEm is the width of printable ASCII characters in DejaVu Sans (the usual sans-serif on
// Linux, and among the widest), in ems, from ' ' to '~'.
var advanceEm = [...]float64{
	.318, .401, .460, .838, .636, .950, .780, .275, .390, .390, .500, .838, .318, .361, .318, .337, // space to /
	.636, .636, .636, .636, .636, .636, .636, .636, .636, .636, .337, .337, .838, .838, .838, .531, // 0 to ?
	1.000, .684, .686, .698, .770, .632, .575, .775, .752, .295, .295, .656, .557, .863, .748, .787, // @ to O
	.603, .787, .695, .635, .611, .732, .684, .989, .685, .611, .685, .390, .337, .390, .838, .500, // P to _
	.500, .613, .635, .550, .635, .615, .352, .635, .634, .278, .278, .579, .278, .974, .634, .612, // ` to o
	.635, .635, .411, .521, .392, .634, .592, .818, .592, .592, .525, .636, .337, .636, .838, // p to ~
}

// labelWidthPx estimates the width of s drawn in a fontPx sans-serif font, generously: bold
// text is taken 20% wider, and any character beyond ASCII one em wide.
func labelWidthPx(s string, bold bool) float64 {
	em := 0.0
	for _, r := range s {
		if r >= ' ' && r <= '~' {
			em += advanceEm[r-' ']
		} else {
			em++
		}
	}
	if bold {
		em *= 1.2
	}
	return em * fontPx * 1.02
}

// fitLabel shortens s with an ellipsis until it is at most widthPx wide.
func fitLabel(s string, bold bool, widthPx float64) string {
	r := []rune(s)
	if len(r) > maxLabelRunes {
		r = append(r[:maxLabelRunes-1], '…')
	}
	for len(r) > 1 && labelWidthPx(string(r), bold) > widthPx {
		r = append(r[:len(r)-2], '…')
	}
	return string(r)
}

// plural is "1 fault", "2 faults", "0 faults".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// diagram is the laid-out picture: where every lane, dot, arrow and label goes.
type diagram struct {
	laneWidthPx, leftPx, widthPx, heightPx int
	idx                                    []int // events drawn, in drawing order
	x, y                                   map[int]float64
	arrows                                 []arrow
	labels                                 map[int]label
	truncated                              int
}

// layout places the events of r: one lane per process, one row per happens-before rank.
func layout(r *Result) *diagram {
	ev := r.Events
	lam := lamport(ev)
	d := &diagram{x: map[int]float64{}, y: map[int]float64{}, labels: map[int]label{}}
	for i, e := range ev {
		if shown(e) {
			d.idx = append(d.idx, i)
		}
	}
	sort.SliceStable(d.idx, func(a, b int) bool { return lam[d.idx[a]] < lam[d.idx[b]] })
	if len(d.idx) > maxDrawn {
		d.truncated = len(d.idx) - maxDrawn
		d.idx = d.idx[:maxDrawn]
	}
	drawn := map[int]bool{}
	for _, i := range d.idx {
		drawn[i] = true
	}
	lane := map[int]int{}
	for i, p := range r.Procs {
		lane[p.Pid] = i
	}
	radius := func(i int) float64 {
		if ev[i].Fault != "" {
			return faultDotPx
		}
		return dotPx
	}
	// Labels go on the side no arrowhead comes from (arrows come down from above, so their
	// lines are on that side too); with arrowheads from both sides, on the right beyond the
	// arrowheads' reach. Lanes are then as wide as two of the widest labels with their offsets.
	need := 0.0
	for _, i := range d.idx {
		heads := 0
		for _, s := range ev[i].msgFrom {
			switch ls, li := lane[ev[s].Pid], lane[ev[i].Pid]; {
			case !drawn[s]:
			case ls < li:
				heads |= headFromLeft
			case ls > li:
				heads |= headFromRight
			}
		}
		off := radius(i) + labelGapPx
		l := label{X: off, Anchor: "start", Text: labelText(ev[i]), Bold: ev[i].Fault != ""}
		switch heads {
		case headFromRight:
			l.X, l.Anchor = -off, "end"
		case headFromLeft | headFromRight:
			l.X = radius(i) + headGapPx + headLenPx + labelGapPx
		}
		d.labels[i] = l // X is relative to the dot until the lanes are placed
		need = max(need, math.Abs(l.X)+labelWidthPx(l.Text, l.Bold)+labelMarginPx)
	}
	d.laneWidthPx = min(max(int(math.Ceil(2*need)), laneMinPx), laneMaxPx)
	d.laneWidthPx += d.laneWidthPx % 2
	d.leftPx = d.laneWidthPx / 2
	d.widthPx = d.leftPx + len(r.Procs)*d.laneWidthPx
	rowOf := map[int]int{}
	rows := 0
	for _, i := range d.idx {
		if _, ok := rowOf[lam[i]]; !ok {
			rowOf[lam[i]] = rows
			rows++
		}
		d.x[i] = float64(d.leftPx + lane[ev[i].Pid]*d.laneWidthPx)
		d.y[i] = float64(topPx + rowOf[lam[i]]*rowPx)
		l := d.labels[i]
		full := l.Text
		l.Text = fitLabel(full, l.Bold, float64(d.laneWidthPx)/2-labelMarginPx-math.Abs(l.X))
		if l.Text != full {
			l.Full = full
		}
		l.X += d.x[i]
		l.Y = d.y[i] - 5
		d.labels[i] = l
	}
	d.heightPx = topPx + rows*rowPx + 40
	for _, i := range d.idx {
		e := ev[i]
		for _, s := range e.msgFrom {
			if !drawn[s] {
				continue
			}
			cls := "msg"
			if e.Call == "accept" || e.Call == "accept4" {
				cls = "conn"
			}
			// The tip stops short of the dot: the dot stays visible, and the arrowhead's
			// reach from the dot's centre is bounded for the labels' sake.
			x1, y1, x2, y2 := d.x[s], d.y[s], d.x[i], d.y[i]
			dx, dy := x1-x2, y1-y2
			n := math.Hypot(dx, dy)
			if n == 0 {
				continue
			}
			stop := radius(i) + headGapPx
			d.arrows = append(d.arrows, arrow{x1, y1, x2 + dx/n*stop, y2 + dy/n*stop, cls})
		}
		if e.Call == "fork" && e.Ret > 0 {
			if l, ok := lane[int(e.Ret)]; ok {
				d.arrows = append(d.arrows, arrow{d.x[i], d.y[i], float64(d.leftPx + l*d.laneWidthPx), d.y[i] + rowPx/2, "spawn"})
			}
		}
		if e.Fault != "" && e.Dir == "send" {
			// A short stub going nowhere, kept above the next row's labels.
			d.arrows = append(d.arrows, arrow{d.x[i] + faultDotPx, d.y[i] + 2, d.x[i] + lostDxPx, d.y[i] + lostDyPx, "lost"})
		}
	}
	return d
}

// labelText is what the picture writes next to an event's dot.
func labelText(e *Event) string {
	s := e.Call
	if e.Bytes > 0 {
		s += fmt.Sprintf(" %dB", e.Bytes)
	} else if e.Errno != "" {
		s += " " + e.Errno
	}
	if e.Fault != "" {
		s = "✕ " + s + " (" + faultWord(e.Fault) + ")"
	}
	return s
}

// WriteHTML writes a self-contained space-time diagram: one vertical line per process, time
// (happens-before order) going down, an arrow for every message and connection, faults in red.
func WriteHTML(w io.Writer, r *Result) error {
	ev := r.Events
	d := layout(r)
	var b strings.Builder
	fmt.Fprintf(&b, `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>faultbox run: space-time diagram</title>
<style>body{font:13px sans-serif;margin:16px;color:#222}h1{font-size:16px}
.lane{stroke:#999;stroke-width:2}.ev{fill:#3a6ea5}.fault{fill:#c0392b}.msg{stroke:#3a6ea5;stroke-width:1.4;fill:none;marker-end:url(#arr)}
.conn{stroke:#27864a;stroke-width:1.4;stroke-dasharray:5 3;fill:none;marker-end:url(#arrg)}.spawn{stroke:#888;stroke-dasharray:2 3;fill:none}
.lost{stroke:#c0392b;stroke-width:1.4;stroke-dasharray:4 3}text{font-size:%dpx;font-family:sans-serif}.ft{fill:#c0392b;font-weight:bold}.hd{font-size:12px;font-weight:bold}
</style></head><body>
<h1>faultbox run: %s, %s, exit %d</h1>
<p>One line per process, happens-before order going down. Blue arrows: bytes or datagrams from a send to the receive that read them; green dashed: connect to accept; red: injected faults (hover a dot for its event).</p>
`, fontPx, plural(len(ev), "event"), plural(len(r.Faults), "fault"), r.ExitCode)
	if d.truncated == 1 {
		b.WriteString("<p>1 more event is not drawn.</p>\n")
	} else if d.truncated > 1 {
		fmt.Fprintf(&b, "<p>%d more events are not drawn.</p>\n", d.truncated)
	}
	// Arrowheads in user units, their tip at the end of the line: headLenPx long, 2*headHalfPx wide.
	marker := func(id, color string) string {
		return fmt.Sprintf(`<marker id="%s" viewBox="0 0 10 10" refX="10" refY="5" markerUnits="userSpaceOnUse" markerWidth="%d" markerHeight="%d" orient="auto"><path d="M0,0L10,5L0,10z" fill="%s"/></marker>`,
			id, headLenPx, 2*headHalfPx, color)
	}
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d">
<defs>%s
%s</defs>
`, d.widthPx, d.heightPx, marker("arr", "#3a6ea5"), marker("arrg", "#27864a"))
	for i, p := range r.Procs {
		lx := d.leftPx + i*d.laneWidthPx
		fmt.Fprintf(&b, `<text class="hd" x="%d" y="30" text-anchor="middle">%s</text><text x="%d" y="46" text-anchor="middle">%s pid %d</text><text x="%d" y="62" text-anchor="middle">%s</text>
<line class="lane" x1="%d" y1="72" x2="%d" y2="%d"/>
`, lx, esc(p.Label), lx, esc(p.Comm), p.Pid, lx, esc(p.Status), lx, lx, d.heightPx-20)
	}
	for _, a := range d.arrows {
		fmt.Fprintf(&b, `<line class="%s" x1="%s" y1="%s" x2="%s" y2="%s"/>
`, a.Class, px(a.X1), px(a.Y1), px(a.X2), px(a.Y2))
	}
	for _, i := range d.idx {
		e := ev[i]
		cls, rad := "ev", dotPx
		if e.Fault != "" {
			cls, rad = "fault", faultDotPx
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
		fmt.Fprintf(&b, `<circle class="%s" cx="%s" cy="%s" r="%d"><title>%s</title></circle>`, cls, px(d.x[i]), px(d.y[i]), rad, esc(tip))
		l := d.labels[i]
		attrs := ""
		if l.Bold {
			attrs = ` class="ft"`
		}
		if l.Anchor != "start" {
			attrs += ` text-anchor="` + l.Anchor + `"`
		}
		full := ""
		if l.Full != "" {
			full = "<title>" + esc(l.Full) + "</title>"
		}
		fmt.Fprintf(&b, `<text%s x="%s" y="%s">%s%s</text>
`, attrs, px(l.X), px(l.Y), full, esc(l.Text))
	}
	b.WriteString("</svg>\n<h2 style=\"font-size:14px\">Faults injected</h2><ul>\n")
	for _, f := range r.Faults {
		fmt.Fprintf(&b, "<li>%s</li>\n", esc(f))
	}
	b.WriteString("</ul></body></html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// px writes a coordinate with at most one decimal.
func px(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }

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
