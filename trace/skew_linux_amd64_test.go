//go:build linux && amd64

package trace

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// A clock skew reaches the clock reads that are system calls, and only them: skew.c reads
// every clock through the C library (the vDSO) and by syscall(2). With NoVDSO the C library
// finds no vDSO and makes system calls too, so both reads are skewed.
func TestClockSkew(t *testing.T) {
	t.Parallel()
	bin := buildC(t, "skew")
	skew := ClockSkew{Realtime: 24 * time.Hour, Monotonic: 1000 * time.Hour, Boottime: -30 * time.Second}
	want := map[string]time.Duration{"realtime": skew.Realtime, "monotonic": skew.Monotonic, "boottime": skew.Boottime,
		"gettimeofday": skew.Realtime, "time": skew.Realtime}
	for _, noVDSO := range []bool{false, true} {
		t.Run(fmt.Sprint("NoVDSO=", noVDSO), func(t *testing.T) {
			t.Parallel()
			res, stdout, stderr := runTraced(t, Config{Args: []string{bin}, Skew: skew, NoVDSO: noVDSO, MaxEvents: -1})
			if res.ExitCode != 0 {
				t.Fatalf("exit %d: %s", res.ExitCode, stderr)
			}
			lines := strings.Split(strings.TrimSpace(stdout), "\n")
			if len(lines) != 5 {
				t.Fatalf("output %q", stdout)
			}
			for _, line := range lines {
				var name string
				var lib, sys int64
				if _, err := fmt.Sscan(line, &name, &lib, &sys); err != nil {
					t.Fatalf("line %q: %v", line, err)
				}
				libWant := time.Duration(0)
				if noVDSO {
					libWant = want[name]
				}
				// The two reads are microseconds apart: a second either way is a clock tick.
				if d := time.Duration(sys-lib)*time.Second - (want[name] - libWant); d < -time.Second || d > time.Second {
					t.Errorf("%s: library %d, system call %d: want the call %v ahead of the library", name, lib, sys, want[name]-libWant)
				}
				if name == "realtime" {
					if d := time.Since(time.Unix(lib, 0)) + libWant; d < -2*time.Second || d > time.Minute {
						t.Errorf("realtime through the library %d is %v from now, want %v", lib, -d+libWant, libWant)
					}
				}
				if name == "time" && !strings.HasSuffix(line, fmt.Sprint(sys)) {
					t.Errorf("time(2) returned another time than it stored: %q", line)
				}
			}
			calls := 5 // the system calls; with NoVDSO the library's reads are calls too
			if noVDSO {
				calls = 10
			}
			if len(res.Faults) < calls || !strings.Contains(res.Faults[0], "--clock-skew realtime=24h0m0s monotonic=1000h0m0s boottime=-30s") {
				t.Errorf("faults %q, want at least %d skewed calls", res.Faults, calls)
			}
		})
	}
}

func TestParseClockSkew(t *testing.T) {
	t.Parallel()
	var s ClockSkew
	for _, in := range []string{"all=1h", "realtime=+24h", "boottime=-90s"} {
		if err := ParseClockSkew(in, &s); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
	}
	if s != (ClockSkew{Realtime: 24 * time.Hour, Monotonic: time.Hour, Boottime: -90 * time.Second}) || s.String() != "realtime=24h0m0s monotonic=1h0m0s boottime=-1m30s" {
		t.Errorf("%+v %q", s, s)
	}
	for in, field := range map[string]string{"tai=1h": "clock", "realtime": "clock", "monotonic=soon": "duration", "all=100000h": "duration"} {
		err := ParseClockSkew(in, &s)
		var se *SpecError
		if !errors.As(err, &se) || se.Field != field {
			t.Errorf("%s: %v, want a %s error", in, err, field)
		}
	}
}

func FuzzParseClockSkew(f *testing.F) {
	for _, s := range []string{"realtime=1h", "all=-3s", "x=1", "boottime="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var o ClockSkew
		err := ParseClockSkew(s, &o)
		var se *SpecError
		if err != nil && (!errors.As(err, &se) || se.Field == "" || se.Expected == "") {
			t.Fatalf("%q: bad error %v", s, err)
		}
		_ = o.String()
	})
}

// Go's runtime reads the wall clock through the vDSO, which no skew reaches; with the vDSO
// hidden it falls back to the system call, which is skewed.
func TestClockSkewGoNoVDSO(t *testing.T) {
	t.Parallel()
	bin := buildGo(t, "gonow")
	for _, noVDSO := range []bool{false, true} {
		res, stdout, stderr := runTraced(t, Config{Args: []string{bin}, Skew: ClockSkew{Realtime: 24 * time.Hour}, NoVDSO: noVDSO, MaxEvents: -1})
		var sec int64
		if _, err := fmt.Sscan(stdout, &sec); err != nil || res.ExitCode != 0 {
			t.Fatalf("NoVDSO=%v: exit %d, stdout %q, stderr %q", noVDSO, res.ExitCode, stdout, stderr)
		}
		want := time.Duration(0)
		if noVDSO {
			want = 24 * time.Hour
		}
		if d := time.Unix(sec, 0).Sub(time.Now().Add(want)); d < -time.Minute || d > 2*time.Second {
			t.Errorf("NoVDSO=%v: the program's time is %v from the tracer's, want %v", noVDSO, d+want, want)
		}
	}
}
