// Package progress shows how far a long command has got, on one line of a terminal: the
// steps done of the total, the rate and about how long is left, overwritten in place (a
// carriage return, no escape sequences) at most a few times a second and erased when the
// work ends. On anything but a terminal it prints nothing, so that logs, pipes and
// machine-readable output never carry it.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Interval is the least time between two prints.
const Interval = 250 * time.Millisecond

// IsTerminal reports whether w is a file on a character device (a terminal).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Meter is one progress line. A nil *Meter does nothing, so callers need not check.
// It is not safe for concurrent use.
type Meter struct {
	w     io.Writer
	label string
	unit  string
	total int
	now   func() time.Time
	start time.Time
	next  time.Time // no print before this
	width int       // length of the line on screen
}

// New returns a meter for total steps of unit ("steps", "ops") writing to w, or nil when w
// is not a terminal.
func New(w io.Writer, label, unit string, total int) *Meter {
	if !IsTerminal(w) {
		return nil
	}
	return newMeter(w, label, unit, total, time.Now)
}

func newMeter(w io.Writer, label, unit string, total int, now func() time.Time) *Meter {
	t := now()
	return &Meter{w: w, label: label, unit: unit, total: total, now: now, start: t, next: t.Add(Interval)}
}

// Update records that done steps are done; it prints when Interval has passed since the
// last print.
func (m *Meter) Update(done int) {
	if m == nil {
		return
	}
	t := m.now()
	if t.Before(m.next) {
		return
	}
	m.next = t.Add(Interval)
	m.print(Line(m.label, m.unit, done, m.total, t.Sub(m.start)))
}

func (m *Meter) print(line string) {
	pad := max(0, m.width-len(line))
	fmt.Fprintf(m.w, "\r%s%s", line, strings.Repeat(" ", pad))
	m.width = len(line)
}

// Done erases the line, leaving the cursor where it was before the first print.
func (m *Meter) Done() {
	if m == nil || m.width == 0 {
		return
	}
	fmt.Fprintf(m.w, "\r%s\r", strings.Repeat(" ", m.width))
	m.width = 0
}

// Line is the text of one progress line: "torture 1200/3000 40% 4.1k ops/s, about 0.4s left".
func Line(label, unit string, done, total int, elapsed time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %d/%d", label, done, total)
	if total > 0 {
		fmt.Fprintf(&b, " %d%%", done*100/total)
	}
	if done > 0 && elapsed > 0 {
		rate := float64(done) / elapsed.Seconds()
		fmt.Fprintf(&b, " %s %s/s", human(rate), unit)
		if left := total - done; left > 0 {
			fmt.Fprintf(&b, ", about %s left", round(time.Duration(float64(left)/rate*float64(time.Second))))
		}
	}
	return b.String()
}

// human writes a rate with at most three significant digits and a k or M suffix.
func human(x float64) string {
	switch {
	case x >= 1e6:
		return fmt.Sprintf("%.3gM", x/1e6)
	case x >= 1e3:
		return fmt.Sprintf("%.3gk", x/1e3)
	}
	return fmt.Sprintf("%.3g", x)
}

// round keeps a duration readable: tenths of a second below a minute, seconds above.
func round(d time.Duration) time.Duration {
	if d < time.Minute {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Second)
}
