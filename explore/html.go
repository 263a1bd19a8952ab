package explore

import (
	"fmt"
	"html"
	"slices"
	"strings"
)

// maxTableRuns bounds the verdict table of the HTML report.
const maxTableRuns = 500

// HTML is the self-contained report: the summary, the curve of distinct signatures against
// runs, each failure's minimal plan, space-time diagram and replay command, and the verdict
// table.
func (r *Result) HTML() string {
	var b strings.Builder
	esc := html.EscapeString
	fmt.Fprintf(&b, `<!doctype html><html><head><meta charset="utf-8"><title>faultbox explore: %s</title>
<style>body{font:14px system-ui,sans-serif;margin:24px;max-width:1100px}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:left;font-size:12px}code,pre{background:#f4f4f4}
.fail{color:#b00}.ok{color:#070}</style></head><body>
<h1>faultbox explore: %s</h1>
`, esc(r.Target), esc(r.Target))
	failed := r.FailedRuns()
	fmt.Fprintf(&b, "<p>strategy <b>%s</b>, seed %d, shard %d of %d: <b>%d</b> runs, <b>%d</b> distinct signatures, "+
		"<b class=%q>%d</b> failed runs, %d distinct failures", esc(string(r.Strategy)), r.Seed, r.Shard, r.Shards,
		len(r.Runs), r.Distinct(), map[bool]string{true: "fail", false: "ok"}[failed > 0], failed, len(r.Failures))
	if r.FirstFailure >= 0 {
		fmt.Fprintf(&b, "; the first failure at run %d", r.FirstFailure)
	}
	b.WriteString(".</p>\n<h2>Distinct traces against runs</h2>\n")
	b.WriteString(curveSVG(r.Curve))
	for i, f := range r.Failures {
		fmt.Fprintf(&b, "<h2 class=fail>Failure %d: %s</h2>\n<p>%s</p>\n", i+1, esc(f.Check), esc(f.Detail))
		fmt.Fprintf(&b, "<p>First found at run %d (seed %d) with a plan of %d faults; shrunk in %d runs to %d:</p><pre>%s</pre>\n",
			f.Run, f.Seed, len(f.Plan), f.ShrinkRuns, len(f.Minimal), esc(strings.Join(f.Minimal, "\n")))
		if len(f.Points) > 0 {
			b.WriteString(spaceTimeSVG(f.Points, f.Minimal))
		}
		fmt.Fprintf(&b, "<p>Replay:</p><pre>%s</pre>\n", esc(f.Replay))
	}
	b.WriteString("<h2>Runs</h2>\n<table><tr><th>run</th><th>seed</th><th>plan</th><th>verdict</th><th>signature</th></tr>\n")
	for i, run := range r.Runs {
		if i == maxTableRuns {
			fmt.Fprintf(&b, "<tr><td colspan=5>%d more runs in runs.jsonl</td></tr>\n", len(r.Runs)-maxTableRuns)
			break
		}
		verdict := `<span class=ok>pass</span>`
		switch {
		case run.Error != "":
			verdict = "error: " + esc(run.Error)
		case run.Failed:
			verdict = `<span class=fail>` + esc(run.Check) + `</span>`
		}
		sig := esc(run.Signature)
		if run.New {
			sig = "<b>" + sig + "</b>"
		}
		fmt.Fprintf(&b, "<tr><td>%d</td><td>%d</td><td><code>%s</code></td><td>%s</td><td>%s</td></tr>\n",
			run.Index, run.Seed, esc(strings.Join(run.Plan, "; ")), verdict, sig)
	}
	b.WriteString("</table>\n</body></html>\n")
	return b.String()
}

// curveSVG draws the number of distinct signatures after each run.
func curveSVG(curve []int) string {
	const w, h, pad = 640.0, 220.0, 36.0
	if len(curve) == 0 {
		return "<p>No runs.</p>\n"
	}
	top := slices.Max(curve)
	var pts []string
	for i, c := range curve {
		x := pad + (w-2*pad)*float64(i+1)/float64(len(curve))
		y := h - pad - (h-2*pad)*float64(c)/float64(max(top, 1))
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y))
	}
	return fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" role="img" aria-label="distinct signatures against runs">
<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#888"/><line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#888"/>
<polyline fill="none" stroke="#06c" stroke-width="2" points="%s"/>
<text x="%.0f" y="%.0f" font-size="12">runs: %d</text><text x="4" y="%.0f" font-size="12">distinct: %d</text></svg>
`, w, h, pad, h-pad, w-pad, h-pad, pad, pad, pad, h-pad, strings.Join(pts, " "), w-pad-60, h-8, len(curve), pad-8, top)
}

// maxDiagramPoints bounds a space-time diagram.
const maxDiagramPoints = 200

// spaceTimeSVG draws a run's points: one lane per process, time downwards, an arrow per
// delivered message, a red mark per stop; the plan is listed above.
func spaceTimeSVG(points []Point, plan []string) string {
	if len(points) > maxDiagramPoints {
		points = points[:maxDiagramPoints]
	}
	var lanes []string
	lane := map[string]int{}
	for _, p := range points {
		for _, name := range []string{p.From, p.Where} {
			if _, ok := lane[name]; name != "" && !ok {
				lane[name] = len(lanes)
				lanes = append(lanes, name)
			}
		}
	}
	const dx, dy, top = 160.0, 14.0, 40.0
	width := 40 + dx*float64(len(lanes))
	height := top + dy*float64(len(points)+2)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-size="11" role="img" aria-label="space-time diagram">
<defs><marker id="a" markerWidth="8" markerHeight="8" refX="8" refY="4" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#555"/></marker></defs>
`, width, height)
	x := func(name string) float64 { return 40 + dx*float64(lane[name]) + dx/2 }
	for _, name := range lanes {
		fmt.Fprintf(&b, `<text x="%.0f" y="20" text-anchor="middle">%s</text><line x1="%.0f" y1="28" x2="%.0f" y2="%.0f" stroke="#ccc"/>`+"\n",
			x(name), html.EscapeString(name), x(name), x(name), height-8)
	}
	for i, p := range points {
		y := top + dy*float64(i+1)
		switch {
		case p.From != "" && p.From != p.Where:
			fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#555" marker-end="url(#a)"><title>%s %s</title></line>`+"\n",
				x(p.From), y-dy/2, x(p.Where), y, html.EscapeString(p.Kind), html.EscapeString(p.Label))
		default:
			color := "#555"
			if p.Kind == "stop" {
				color = "#b00"
			}
			fmt.Fprintf(&b, `<circle cx="%.0f" cy="%.0f" r="4" fill="%s"><title>%s %s at %s</title></circle><text x="%.0f" y="%.0f" fill="%s">%s</text>`+"\n",
				x(p.Where), y, color, html.EscapeString(p.Kind), html.EscapeString(p.Label), p.At, x(p.Where)+8, y+4, color, html.EscapeString(p.Kind))
		}
	}
	b.WriteString("</svg>\n")
	return b.String()
}
