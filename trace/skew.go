//go:build linux

package trace

import (
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// ClockSkew is added to the times that clock_gettime, gettimeofday and time return when the
// call reaches the kernel: the tracer rewrites the result at the call's exit. Calls answered
// by the vDSO never reach the kernel and are not skewed (see Config.NoVDSO). Unlike a time
// namespace (ClockOffsets), it can move CLOCK_REALTIME, and it works on attached processes.
type ClockSkew struct {
	Realtime  time.Duration // CLOCK_REALTIME, _COARSE, _ALARM, CLOCK_TAI, gettimeofday, time
	Monotonic time.Duration // CLOCK_MONOTONIC, _RAW, _COARSE
	Boottime  time.Duration // CLOCK_BOOTTIME, _ALARM
}

// ParseClockSkew parses a --clock-skew: CLOCK=DURATION with CLOCK realtime, monotonic,
// boottime or all, and DURATION as Go writes it (+5s, -90s, 24h), at most 10 years either way.
func ParseClockSkew(s string, into *ClockSkew) error {
	clock, d, err := parseClockSpec("--clock-skew", s, "realtime, monotonic, boottime or all", "24h, -90s or +1h30m")
	if err != nil {
		return err
	}
	switch clock {
	case "realtime":
		into.Realtime = d
	case "monotonic":
		into.Monotonic = d
	case "boottime":
		into.Boottime = d
	case "all":
		into.Realtime, into.Monotonic, into.Boottime = d, d, d
	default:
		return clockSpecError("--clock-skew", s, "clock", clock, "realtime, monotonic, boottime or all")
	}
	return nil
}

// String writes the skew as --clock-skew flags would ("realtime=5s monotonic=-1m0s").
func (s ClockSkew) String() string {
	var parts []string
	for _, c := range []struct {
		name string
		d    time.Duration
	}{{"realtime", s.Realtime}, {"monotonic", s.Monotonic}, {"boottime", s.Boottime}} {
		if c.d != 0 {
			parts = append(parts, c.name+"="+c.d.String())
		}
	}
	return strings.Join(parts, " ")
}

var (
	sysClockGettime = sysNr("clock_gettime")
	sysGettimeofday = sysNr("gettimeofday")
	sysTime         = sysNr("time") // not on arm64
)

// skewCalls are the calls a skew rewrites.
func skewCalls() []int {
	out := []int{sysClockGettime, sysGettimeofday}
	if sysTime >= 0 {
		out = append(out, sysTime)
	}
	return out
}

// of is the skew of the clock a call reads (0 for a call that reads none, or a CPU clock).
func (s ClockSkew) of(nr int, args [6]uint64) time.Duration {
	switch {
	case nr == sysClockGettime:
		switch int32(args[0]) {
		case unix.CLOCK_REALTIME, unix.CLOCK_REALTIME_COARSE, unix.CLOCK_REALTIME_ALARM, unix.CLOCK_TAI:
			return s.Realtime
		case unix.CLOCK_MONOTONIC, unix.CLOCK_MONOTONIC_RAW, unix.CLOCK_MONOTONIC_COARSE:
			return s.Monotonic
		case unix.CLOCK_BOOTTIME, unix.CLOCK_BOOTTIME_ALARM:
			return s.Boottime
		}
	case nr == sysGettimeofday || nr == sysTime:
		return s.Realtime
	}
	return 0
}
