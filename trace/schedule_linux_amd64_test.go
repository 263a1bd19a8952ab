//go:build linux && amd64

package trace

import (
	"strings"
	"testing"
	"time"
)

// A schedule cuts the client of ticks from its server twice (a partition that heals and comes
// back), loses its messages for a while over a link, then kills the server. ticks sends tick I
// (I+1)*150ms after it starts; every step is 110ms after a tick, so each window takes exactly
// two ticks, and two runs cut the same ones: the same faults, at the same addresses.
func TestScheduleWindows(t *testing.T) {
	t.Parallel()
	bin := buildC(t, "ticks")
	s, err := ParseSchedule(ScheduleText{"--schedule-file plan", `# ticks at 150ms, 300ms...
at 410ms partition p1/p1.1 for 300ms
at 1010ms partition p1.1/p1   # comes back
at 1310ms heal p1/p1.1
at 1610ms link p1>p1.1:loss=100%
at 1910ms unlink
at 2060ms crash p1.1`})
	must(t, err)
	const want = "got 0\ngot 1\ngot 4\ngot 5\ngot 8\ngot 9\ngot 12\nserver killed\n"
	var first []string
	for run := 0; run < 2; run++ {
		res, stdout, stderr := runTraced(t, Config{Args: []string{bin, "16", "150"}, Schedule: s, MaxEvents: -1})
		if stdout != want {
			t.Errorf("run %d: stdout %q, want %q (stderr %q)", run, stdout, want, stderr)
		}
		if len(res.Faults) != 7 || len(res.Unfired) != 0 {
			t.Errorf("run %d: faults %q, unfired %q; want 6 sends cut and a crash", run, res.Faults, res.Unfired)
		}
		if run == 0 {
			first = res.Faults
		} else if strings.Join(first, "\n") != strings.Join(res.Faults, "\n") {
			t.Errorf("faults differ between runs:\n%q\n%q", first, res.Faults)
		}
	}
	for i, w := range []string{"(at 410ms partition p1/p1.1 for 300ms) (omitted)", "(at 1010ms partition p1.1/p1) (omitted)",
		"(at 1610ms link p1>p1.1:loss=100%) (message 1 lost: omitted)", "p1.1: schedule (at 2060ms crash p1.1)"} {
		if i*2 >= len(first) || !strings.HasSuffix(first[min(i*2, len(first)-1)], w) {
			t.Errorf("fault %d: %q, want one ending in %q", i*2, first, w)
		}
	}
}

// A crash step that finds no process is reported as never fired, saying why.
func TestScheduleCrashUnfired(t *testing.T) {
	t.Parallel()
	s, err := ParseSchedule(ScheduleText{"--schedule", "at 1ms crash nobody; at 1h crash p1"})
	must(t, err)
	res, _, _ := runTraced(t, Config{Args: []string{"sleep", "0.1"}, Schedule: s, MaxEvents: -1})
	if res.ExitCode != 0 || len(res.Unfired) != 2 ||
		res.UnfiredWhy[0] != "no live process was labelled nobody at 1ms" || res.UnfiredWhy[1] != "the run ended before 1h0m0s" {
		t.Errorf("exit %d, unfired %q, why %q", res.ExitCode, res.Unfired, res.UnfiredWhy)
	}
}

// A scheduled pause stops a process wherever it is, in a call the tracer does not see
// included (sleep's nanosleep), and continues it after the pause: sleep 0.5 paused at 100ms
// for 1s ends after 1.1s (the time stopped counts towards the sleep).
func TestSchedulePause(t *testing.T) {
	t.Parallel()
	s, err := ParseSchedule(ScheduleText{"--schedule", "at 100ms pause p1 for 1s"})
	must(t, err)
	start := time.Now()
	res, _, stderr := runTraced(t, Config{Args: []string{"sleep", "0.5"}, Schedule: s, MaxEvents: -1})
	took := time.Since(start)
	if res.ExitCode != 0 || len(res.Faults) != 1 || res.Faults[0] != "p1: schedule (at 100ms pause p1 for 1s)" {
		t.Fatalf("exit %d, faults %q, stderr %q", res.ExitCode, res.Faults, stderr)
	}
	if took < 1100*time.Millisecond {
		t.Errorf("run took %v, want at least 1.1s (paused for 1s from 100ms)", took)
	}
}
