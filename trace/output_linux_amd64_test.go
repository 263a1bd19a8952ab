//go:build linux && amd64

package trace

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestOutputs(t *testing.T) {
	t.Parallel()
	res, _ := runNetapp(t, []*Rule{mustRule(t, "sendto:omit:when=3:fd=tcp:proc=client")}, nil)
	pairs := 0
	for _, e := range res.Events {
		pairs += len(e.msgFrom)
	}

	t.Run("jsonl", func(t *testing.T) {
		var b bytes.Buffer
		if err := WriteJSONL(&b, res); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(&b)
		n, faults := 0, 0
		for sc.Scan() {
			var e map[string]any
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				t.Fatalf("line %d: %v", n+1, err)
			}
			for _, k := range []string{"addr", "time_us", "pid", "tid", "label", "call", "ret"} {
				if _, ok := e[k]; !ok {
					t.Fatalf("line %d lacks %q: %s", n+1, k, sc.Text())
				}
			}
			if e["fault"] != nil {
				faults++
			}
			n++
		}
		if n != len(res.Events) || faults != 1 {
			t.Errorf("%d lines with %d faults, want %d and 1", n, faults, len(res.Events))
		}
	})

	t.Run("chrome", func(t *testing.T) {
		var b bytes.Buffer
		if err := WriteChrome(&b, res); err != nil {
			t.Fatal(err)
		}
		var doc struct {
			TraceEvents []chromeEvent `json:"traceEvents"`
		}
		if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		ph := map[string]int{}
		for _, e := range doc.TraceEvents {
			ph[e.Ph]++
		}
		if ph["X"] != len(res.Events) || ph["s"] != pairs || ph["f"] != pairs || ph["M"] != len(res.Procs) || ph["i"] != 1 {
			t.Errorf("phases %v: want %d slices, %d flows, %d processes, 1 fault", ph, len(res.Events), pairs, len(res.Procs))
		}
	})

	t.Run("html", func(t *testing.T) {
		var b bytes.Buffer
		if err := WriteHTML(&b, res); err != nil {
			t.Fatal(err)
		}
		page := b.String()
		arrows := strings.Count(page, `<line class="msg"`) + strings.Count(page, `<line class="conn"`)
		if arrows != pairs {
			t.Errorf("%d arrows drawn, %d messages paired", arrows, pairs)
		}
		if !strings.Contains(page, "✕ sendto (omit)") || strings.Contains(page, "<script") || strings.Contains(page, "http://") && !strings.Contains(page, "http://www.w3.org/2000/svg") {
			t.Errorf("page lacks the fault mark or is not self-contained")
		}
		drawing := parseDiagram(t, page)
		for _, p := range drawing.overlaps(nil) {
			t.Error(p)
		}
		chromium, err := exec.LookPath("chromium")
		if err != nil {
			t.Skip("chromium not installed (scripts/deps.sh installs it)")
		}
		dir := t.TempDir()
		file := filepath.Join(dir, "d.html")
		if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		dom, err := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
			"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
			"--user-data-dir="+filepath.Join(dir, "profile"), "--dump-dom", "file://"+file).Output()
		if err != nil {
			t.Fatalf("chromium: %v", err)
		}
		// The browser parsed the SVG into elements: every lane and the fault are in its DOM.
		if got := strings.Count(string(dom), `class="lane"`); got != len(res.Procs) {
			t.Errorf("chromium's DOM has %d lanes, want %d", got, len(res.Procs))
		}
		if !strings.Contains(string(dom), "sendto (omit)") {
			t.Errorf("chromium's DOM lacks the fault")
		}

		// The labels as the browser laid them out, in its fonts: none under an arrowhead.
		measure := strings.Replace(page, "</body>", `<script>
const boxes = [];
for (const t of document.querySelectorAll("svg text")) {
  const b = t.getBBox();
  boxes.push([t.textContent, b.x, b.y, b.x + b.width, b.y + b.height]);
}
const pre = document.createElement("pre");
pre.id = "boxes";
pre.textContent = JSON.stringify(boxes);
document.body.appendChild(pre);
</script></body>`, 1)
		if err := os.WriteFile(file, []byte(measure), 0o644); err != nil {
			t.Fatal(err)
		}
		dom, err = exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
			"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
			"--user-data-dir="+filepath.Join(dir, "profile"), "--dump-dom", "file://"+file).Output()
		if err != nil {
			t.Fatalf("chromium: %v", err)
		}
		m := regexp.MustCompile(`<pre id="boxes">([^<]*)</pre>`).FindSubmatch(dom)
		if m == nil {
			t.Fatalf("chromium measured no labels")
		}
		var raw [][]any
		if err := json.Unmarshal([]byte(html.UnescapeString(string(m[1]))), &raw); err != nil {
			t.Fatal(err)
		}
		var real []textBox
		for _, r := range raw {
			real = append(real, textBox{r[0].(string), r[1].(float64), r[2].(float64), r[3].(float64), r[4].(float64)})
		}
		if len(real) != len(drawing.labels) {
			t.Fatalf("chromium measured %d labels, the SVG has %d", len(real), len(drawing.labels))
		}
		for _, p := range drawing.overlaps(real) {
			t.Error("in chromium: " + p)
		}
	})
}
