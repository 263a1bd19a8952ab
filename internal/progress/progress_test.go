package progress

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

func TestLine(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		done, total int
		elapsed     time.Duration
		want        string
	}{
		{0, 3000, 0, "torture 0/3000 0%"},
		{1200, 3000, 300 * time.Millisecond, "torture 1200/3000 40% 4k ops/s, about 500ms left"},
		{3000, 3000, time.Second, "torture 3000/3000 100% 3k ops/s"},
		{10, 1000, 10 * time.Second, "torture 10/1000 1% 1 ops/s, about 16m30s left"},
		{5, 0, time.Second, "torture 5/0 5 ops/s"},
	} {
		if got := Line("torture", "ops", tc.done, tc.total, tc.elapsed); got != tc.want {
			t.Errorf("Line(%d, %d, %s) = %q, want %q", tc.done, tc.total, tc.elapsed, got, tc.want)
		}
	}
}

// The meter prints at most once per Interval, overwrites its line in place (shorter lines
// padded), and Done erases it.
func TestMeterThrottlesOverwritesAndClears(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	now := time.Unix(0, 0)
	m := newMeter(&out, "run", "ops", 100000, func() time.Time { return now })
	for done := 1; done <= 100000; done++ {
		now = now.Add(10 * time.Microsecond) // 1 s in all: at most 4 prints
		m.Update(done)
	}
	prints := strings.Count(out.String(), "\r")
	if prints < 3 || prints > int(time.Second/Interval) {
		t.Fatalf("%d prints in one second, want 3..%d: %q", prints, time.Second/Interval, out.String())
	}
	if strings.Contains(out.String(), "\n") {
		t.Fatalf("the meter wrote a newline: %q", out.String())
	}
	last := strings.TrimRight(out.String()[strings.LastIndex(out.String(), "\r")+1:], " ")
	m.Done()
	if !strings.HasSuffix(out.String(), "\r"+strings.Repeat(" ", len(last))+"\r") {
		t.Fatalf("Done did not erase the line %q: %q", last, out.String())
	}
	m.Done() // twice is harmless
	var nilMeter *Meter
	nilMeter.Update(1)
	nilMeter.Done()
}

func TestNotATerminalPrintsNothing(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if m := New(&buf, "x", "ops", 10); m != nil {
		t.Fatal("a buffer is not a terminal")
	}
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if IsTerminal(f) || New(f, "x", "ops", 10) != nil {
		t.Fatal("a regular file is not a terminal")
	}
	if null, err := os.Open(os.DevNull); err == nil {
		defer null.Close()
		if !IsTerminal(null) { // a character device, as a terminal is
			t.Fatal("/dev/null is a character device")
		}
	}
}
