//go:build linux && amd64

package trace

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Clock offsets put the command in a time namespace: its CLOCK_MONOTONIC and CLOCK_BOOTTIME,
// read through the vDSO, and /proc/uptime are ahead of (or behind) the tracer's by the offset,
// and so are its children's.
func TestClockOffsets(t *testing.T) {
	t.Parallel()
	bin := buildC(t, "clocks")
	now := func(clock int32) int64 {
		var ts unix.Timespec
		unix.ClockGettime(clock, &ts)
		return ts.Sec
	}
	const mono, boot = 1000 * time.Hour, -30 * time.Second
	before := [2]int64{now(unix.CLOCK_MONOTONIC), now(unix.CLOCK_BOOTTIME)}
	res, stdout, stderr := runTraced(t, Config{Args: []string{"sh", "-c", bin + "; cat /proc/uptime"}, Clock: ClockOffsets{Monotonic: mono, Boottime: boot}})
	after := [2]int64{now(unix.CLOCK_MONOTONIC), now(unix.CLOCK_BOOTTIME)}
	if res.ExitCode != 0 {
		if strings.Contains(stderr, "CLONE_NEWTIME") {
			t.Skipf("no time namespaces here: %s", stderr)
		}
		t.Fatalf("exit %d: %s", res.ExitCode, stderr)
	}
	var m, b int64
	var up float64
	if _, err := fmt.Sscanf(stdout, "monotonic %d\nboottime %d\n%f", &m, &b, &up); err != nil {
		t.Fatalf("output %q: %v", stdout, err)
	}
	if lo, hi := before[0]+int64(mono/time.Second), after[0]+int64(mono/time.Second); m < lo || m > hi {
		t.Errorf("monotonic %d, want %d..%d (the tracer's + %v)", m, lo, hi, mono)
	}
	if lo, hi := before[1]+int64(boot/time.Second), after[1]+int64(boot/time.Second); b < lo || b > hi {
		t.Errorf("boottime %d, want %d..%d (the tracer's %v)", b, lo, hi, boot)
	}
	if lo := float64(before[1] + int64(boot/time.Second) - 1); up < lo || up > float64(after[1]) {
		t.Errorf("/proc/uptime %.2f, want about %d", up, before[1]+int64(boot/time.Second))
	}
}

func TestParseClockOffset(t *testing.T) {
	t.Parallel()
	var o ClockOffsets
	for _, s := range []string{"monotonic=1h", "boottime=-90s", "both=2h30m"} {
		if err := ParseClockOffset(s, &o); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if o.Monotonic != 150*time.Minute || o.Boottime != 150*time.Minute {
		t.Errorf("%+v", o)
	}
	if got := (ClockOffsets{Monotonic: -1500 * time.Millisecond}).timensOffsets(); got != "monotonic -2 500000000\nboottime 0 0\n" {
		t.Errorf("timensOffsets = %q", got)
	}
	for s, field := range map[string]string{"realtime=1h": "clock", "monotonic": "clock", "boottime=soon": "duration", "both=100000h": "duration"} {
		err := ParseClockOffset(s, &o)
		var se *SpecError
		if !errors.As(err, &se) || se.Field != field {
			t.Errorf("%s: %v, want a %s error", s, err, field)
		}
	}
}

func FuzzParseClockOffset(f *testing.F) {
	for _, s := range []string{"monotonic=1h", "both=-3s", "x=1", "boottime="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var o ClockOffsets
		err := ParseClockOffset(s, &o)
		var se *SpecError
		if err != nil && (!errors.As(err, &se) || se.Field == "" || se.Expected == "") {
			t.Fatalf("%q: bad error %v", s, err)
		}
		_ = o.timensOffsets()
	})
}
