//go:build linux

package trace

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math"
	"regexp"
	"strconv"
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

// A picture that puts arrowheads everywhere a label could go: a receive with arrowheads from
// both sides, a message a process sends itself, arrows across a lane, a lost send and labels too
// long for their lane. No label may lie under an arrowhead or another label.
func TestLabelsClearArrowheads(t *testing.T) {
	t.Parallel()
	tcp, pipe := &Endpoint{Kind: "tcp"}, &Endpoint{Kind: "pipe"}
	ev := []*Event{
		{Pid: 1, Call: "exec"},
		{Pid: 2, Call: "exec"},
		{Pid: 3, Call: "exec"},
		{Pid: 1, Call: "sendto", Dir: "send", Bytes: 5, Endpoint: tcp, hb: []int{0}},
		{Pid: 3, Call: "sendto", Dir: "send", Bytes: 7, Endpoint: tcp, hb: []int{2}},
		{Pid: 2, Call: "recvfrom", Dir: "recv", Bytes: 12, Endpoint: tcp, hb: []int{1, 3, 4}, msgFrom: []int{3, 4}},
		{Pid: 2, Call: "write", Dir: "send", Bytes: 3, Endpoint: pipe, hb: []int{5}},
		{Pid: 2, Call: "read", Dir: "recv", Bytes: 3, Endpoint: pipe, hb: []int{6}, msgFrom: []int{6}},
		{Pid: 1, Call: "sendto", Dir: "send", Bytes: 9, Endpoint: tcp, Fault: "sendto:omit", hb: []int{3}},
		{Pid: 3, Call: "recvfrom", Dir: "recv", Bytes: 123456789, Endpoint: tcp, Fault: "recvfrom:corrupt", hb: []int{4}},
		{Pid: 1, Call: "recvfrom", Dir: "recv", Bytes: 7, Endpoint: tcp, hb: []int{8, 4}, msgFrom: []int{4}},
		{Pid: 2, Call: "accept", Endpoint: tcp, hb: []int{7, 4}, msgFrom: []int{4}},
		{Pid: 3, Call: "recvmsg_with_a_very_long_name_indeed", Dir: "recv", Bytes: 1, Endpoint: tcp, hb: []int{9, 7}, msgFrom: []int{7}},
	}
	r := &Result{Events: ev, Faults: []string{"a", "b"}, Procs: []ProcInfo{
		{Pid: 1, Label: "client", Comm: "c"}, {Pid: 2, Label: "server", Comm: "s"}, {Pid: 3, Label: "peer", Comm: "p"}}}
	var b bytes.Buffer
	if err := WriteHTML(&b, r); err != nil {
		t.Fatal(err)
	}
	d := parseDiagram(t, b.String())
	if len(d.heads) != 6 {
		t.Errorf("%d arrowheads drawn, want 6", len(d.heads))
	}
	for _, p := range d.overlaps(nil) {
		t.Error(p)
	}
	if !strings.Contains(b.String(), "…</text>") || !strings.Contains(b.String(), "<title>✕ recvfrom 123456789B (corrupt)</title>") {
		t.Errorf("the long labels are not shortened, or lost their full text:\n%s", b.String())
	}
}

// drawing is what a test reads back from a picture's SVG: arrowheads as triangles, labels as
// boxes, dots as circles.
type drawing struct {
	heads  [][3][2]float64
	labels []textBox
	dots   [][3]float64 // cx, cy, r
}

type textBox struct {
	text           string
	x0, y0, x1, y1 float64
}

type svgNode struct {
	XMLName  xml.Name
	Attrs    []xml.Attr `xml:",any,attr"`
	Children []svgNode  `xml:",any"`
	Text     string     `xml:",chardata"`
}

func (n *svgNode) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func (n *svgNode) num(t *testing.T, name string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(n.attr(name), 64)
	if err != nil {
		t.Fatalf("<%s %s=%q>: %v", n.XMLName.Local, name, n.attr(name), err)
	}
	return v
}

func (n *svgNode) walk(f func(*svgNode)) {
	f(n)
	for i := range n.Children {
		n.Children[i].walk(f)
	}
}

// parseDiagram reads the SVG of a page written by WriteHTML. Arrowheads are rebuilt from the
// lines that end in a marker and from the marker's own geometry, which must be in user units
// with its tip at the end of the line.
func parseDiagram(t *testing.T, page string) *drawing {
	t.Helper()
	start, end := strings.Index(page, "<svg"), strings.Index(page, "</svg>")
	if start < 0 || end < 0 {
		t.Fatal("no <svg> in the page")
	}
	var root svgNode
	if err := xml.Unmarshal([]byte(page[start:end+len("</svg>")]), &root); err != nil {
		t.Fatalf("the SVG does not parse: %v", err)
	}
	// Every marker is the triangle M0,0 L10,5 L0,10 in a 10x10 viewBox, placed with (refX,
	// refY) on the line's end: its tip lies (10-refX) units beyond the end, and a unit is
	// markerWidth/10 pixels, times the line's stroke width unless the marker is in user units.
	var unitPx, beyondPx float64
	markers := 0
	root.walk(func(n *svgNode) {
		if n.XMLName.Local != "marker" {
			return
		}
		markers++
		if n.attr("viewBox") != "0 0 10 10" || n.attr("refY") != "5" || n.num(t, "markerWidth") != n.num(t, "markerHeight") ||
			len(n.Children) != 1 || n.Children[0].attr("d") != "M0,0L10,5L0,10z" {
			t.Fatalf("marker %s: not the expected triangle: %+v", n.attr("id"), n.Attrs)
		}
		u := n.num(t, "markerWidth") / 10
		if n.attr("markerUnits") != "userSpaceOnUse" {
			m := regexp.MustCompile(`\.msg\{[^}]*stroke-width:([0-9.]+)`).FindStringSubmatch(page)
			if m == nil {
				t.Fatal("markers in stroke widths, and no stroke width for .msg")
			}
			w, _ := strconv.ParseFloat(m[1], 64)
			u *= w
		}
		b := (10 - n.num(t, "refX")) * u
		if markers > 1 && (u != unitPx || b != beyondPx) {
			t.Fatalf("markers of different sizes")
		}
		unitPx, beyondPx = u, b
	})
	headLen, headHalf := 10*unitPx, 5*unitPx
	d := &drawing{}
	root.walk(func(n *svgNode) {
		switch n.XMLName.Local {
		case "line":
			if c := n.attr("class"); c != "msg" && c != "conn" {
				return
			}
			x1, y1, x2, y2 := n.num(t, "x1"), n.num(t, "y1"), n.num(t, "x2"), n.num(t, "y2")
			l := math.Hypot(x1-x2, y1-y2)
			ux, uy := (x1-x2)/l, (y1-y2)/l // from the end back along the line
			tx, ty := x2-ux*beyondPx, y2-uy*beyondPx
			bx, by := tx+ux*headLen, ty+uy*headLen
			d.heads = append(d.heads, [3][2]float64{{tx, ty}, {bx - uy*headHalf, by + ux*headHalf}, {bx + uy*headHalf, by - ux*headHalf}})
		case "circle":
			d.dots = append(d.dots, [3]float64{n.num(t, "cx"), n.num(t, "cy"), n.num(t, "r")})
		case "text":
			l := label{X: n.num(t, "x"), Y: n.num(t, "y"), Anchor: n.attr("text-anchor"), Text: n.Text,
				Bold: strings.Contains(n.attr("class"), "ft") || strings.Contains(n.attr("class"), "hd")}
			if l.Anchor == "" {
				l.Anchor = "start"
			}
			x0, y0, x1, y1 := l.box()
			if l.Anchor == "middle" {
				w := x1 - x0
				x0, x1 = l.X-w/2, l.X+w/2
			}
			d.labels = append(d.labels, textBox{l.Text, x0, y0, x1, y1})
		}
	})
	return d
}

// overlaps lists every label under an arrowhead, every pair of overlapping labels and every
// arrowhead whose tip is inside a dot. real, when not nil, holds the labels' boxes as a
// browser laid them out, in document order, in place of the estimates.
func (d *drawing) overlaps(real []textBox) []string {
	const marginPx = 1
	labels := d.labels
	if real != nil {
		labels = real
	}
	var out []string
	for _, l := range labels {
		rect := [][2]float64{{l.x0 - marginPx, l.y0 - marginPx}, {l.x1 + marginPx, l.y0 - marginPx},
			{l.x1 + marginPx, l.y1 + marginPx}, {l.x0 - marginPx, l.y1 + marginPx}}
		for _, h := range d.heads {
			if convexOverlap(rect, h[:]) {
				out = append(out, fmt.Sprintf("label %q at (%.1f,%.1f)-(%.1f,%.1f) lies under the arrowhead %v", l.text, l.x0, l.y0, l.x1, l.y1, h))
			}
		}
	}
	for i, a := range labels {
		for _, b := range labels[i+1:] {
			if a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1 {
				out = append(out, fmt.Sprintf("labels %q and %q overlap", a.text, b.text))
			}
		}
	}
	for _, h := range d.heads {
		for _, c := range d.dots {
			if math.Hypot(h[0][0]-c[0], h[0][1]-c[1]) < c[2] {
				out = append(out, fmt.Sprintf("the arrowhead %v ends inside the dot at (%v,%v)", h, c[0], c[1]))
			}
		}
	}
	return out
}

// convexOverlap reports whether two convex polygons overlap, by the separating axis theorem.
func convexOverlap(a, b [][2]float64) bool {
	for _, poly := range [][][2]float64{a, b} {
		for i := range poly {
			p, q := poly[i], poly[(i+1)%len(poly)]
			nx, ny := q[1]-p[1], p[0]-q[0]
			amin, amax := project(a, nx, ny)
			bmin, bmax := project(b, nx, ny)
			if amax <= bmin || bmax <= amin {
				return false
			}
		}
	}
	return true
}

func project(poly [][2]float64, nx, ny float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, p := range poly {
		v := p[0]*nx + p[1]*ny
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi
}

// The checker itself: it finds a label under an arrowhead, overlapping labels and a tip
// inside a dot.
func TestOverlapsFindsCollisions(t *testing.T) {
	t.Parallel()
	head := [3][2]float64{{100, 100}, {92, 96}, {92, 104}}
	d := &drawing{heads: [][3][2]float64{head}, dots: [][3]float64{{103, 100, 4}},
		labels: []textBox{{"under", 95, 90, 140, 103}, {"clear", 110, 80, 150, 93}, {"clear too", 0, 0, 50, 13}}}
	got := d.overlaps(nil)
	if len(got) != 3 || !strings.Contains(got[0], `"under"`) || !strings.Contains(got[1], `"under" and "clear"`) ||
		!strings.Contains(got[2], "inside the dot") {
		t.Errorf("overlaps found %q", got)
	}
}
