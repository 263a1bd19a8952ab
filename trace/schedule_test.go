//go:build linux

package trace

import (
	"errors"
	"testing"
	"time"
)

func TestParseSchedule(t *testing.T) {
	t.Parallel()
	s, err := ParseSchedule(ScheduleText{"--schedule", "at 3s heal a/b; at 1s partition b/a; at 5s partition a>b for 1s"},
		ScheduleText{"--schedule-file f", "# comment\nat 0s link a/b:delay=10ms for 2s\nat 4s link a/b:loss=5% # a comment\n at 6s unlink\nat 2s crash c*\nat 7s partition x/y\nat 7s heal\nat 1s pause a for 1.5s"})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Partitions) != 2 || len(s.Links) != 2 || len(s.Procs) != 2 {
		t.Fatalf("%d partitions, %d links, %d crashes: %+v", len(s.Partitions), len(s.Links), len(s.Procs), s)
	}
	p := s.Partitions[0]
	if !p.ByTime || p.FromTime != time.Second || p.ToTime != 3*time.Second || p.OneWay || p.Name != "schedule (at 1s partition b/a)" {
		t.Errorf("first window %+v", p)
	}
	if p := s.Partitions[1]; !p.OneWay || p.FromTime != 5*time.Second || p.ToTime != 6*time.Second {
		t.Errorf("second window %+v", p)
	}
	if l := s.Links[0]; l.From != 0 || l.To != 2*time.Second || l.Delay != 10*time.Millisecond {
		t.Errorf("first link %+v", l)
	}
	if l := s.Links[1]; l.From != 4*time.Second || l.To != 6*time.Second || l.Loss != 0.05 {
		t.Errorf("second link %+v", l)
	}
	if p := s.Procs[0]; p.Verb != "pause" || p.At != time.Second || p.Label != "a" || p.For != 1500*time.Millisecond {
		t.Errorf("pause %+v", p)
	}
	if c := s.Procs[1]; c.Verb != "crash" || c.At != 2*time.Second || c.Label != "c*" {
		t.Errorf("crash %+v", c)
	}
	for _, c := range []struct{ text, field, value string }{
		{"after 1s crash a", "word", "after"},
		{"at 1s", "step", "at 1s"},
		{"at soon crash a", "time", "soon"},
		{"at -1s crash a", "time", "-1s"},
		{"at 1s explode a", "action", "explode"},
		{"at 1s partition ab", "groups", "ab"},
		{"at 1s partition /b", "group A", ""},
		{"at 1s partition a/b for", "for", ""},
		{"at 1s partition a/b for 0s", "for", "0s"},
		{"at 1s partition a/b now", "trailing text", "now"},
		{"at 1s link a/b", "link", "a/b"},
		{"at 1s link a/b:loss=2", "loss", "2"},
		{"at 1s crash", "crash", ""},
		{"at 1s crash a for 1s", "for", "for 1s"},
		{"at 1s pause a", "for", ""},
		{"at 1s pause for 1s", "pause", ""},
		{"at 1s pause a for x", "for", "x"},
		{"at 1s heal a/b", "groups", "a/b"},
		{"at 1s partition a/b\nat 2s partition b/a", "partition", "a/b"},
		{"at 1s partition a/b for 1s\nat 2s heal a/b", "groups", "a/b"},
		{"at 1s unlink a>b", "groups", "a>b"},
	} {
		_, err := ParseSchedule(ScheduleText{"--schedule", c.text})
		var se *ScheduleError
		if !errors.As(err, &se) || se.Field != c.field || se.Value != c.value || se.Expected == "" {
			t.Errorf("%q: %v, want a %s %q error", c.text, err, c.field, c.value)
		}
	}
	_, err = ParseSchedule(ScheduleText{"--schedule-file plan", "at 1s partition a/b\n\nat 2x heal"})
	if err == nil || err.Error() != `--schedule-file plan: line 3 ("at 2x heal"): time "2x": expected a duration from the start of the run, >= 0, such as 1.5s or 300ms` {
		t.Errorf("error %v", err)
	}
}

// A window that closes as it opens cuts nothing and is dropped; a pair cut again after its
// heal gets a window of its own.
func TestScheduleWindowsOfOnePair(t *testing.T) {
	t.Parallel()
	s, err := ParseSchedule(ScheduleText{"--schedule", "at 1s partition a/b; at 1s heal; at 2s partition a/b for 1s; at 3s partition a/b; at 4s heal b/a"})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Partitions) != 2 || s.Partitions[0].FromTime != 2*time.Second || s.Partitions[1].ToTime != 4*time.Second {
		t.Errorf("%+v", s.Partitions)
	}
}

func FuzzParseSchedule(f *testing.F) {
	for _, s := range []string{"at 1s partition a/b for 2s; at 5s heal", "at 0s link a>b:delay=5ms\nat 1s unlink a>b",
		"# c\nat 2s crash x*", "at 1s pause x for 2s", "at 1s heal a/b", "at", "at 1s partition a/b\nat 1s partition a/b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		s, err := ParseSchedule(ScheduleText{"--schedule", text})
		var se *ScheduleError
		if err != nil {
			if !errors.As(err, &se) || se.Field == "" || se.Expected == "" || se.Line < 1 {
				t.Fatalf("%q: bad error %v", text, err)
			}
			return
		}
		for _, p := range s.Partitions {
			if !p.ByTime || p.FromTime < 0 || p.ToTime != 0 && p.ToTime <= p.FromTime || len(p.A) == 0 || len(p.B) == 0 {
				t.Fatalf("%q: window %+v", text, p)
			}
		}
		for _, l := range s.Links {
			if l.From < 0 || l.To != 0 && l.To <= l.From {
				t.Fatalf("%q: link %+v", text, l)
			}
		}
		for i, p := range s.Procs {
			if i > 0 && p.At < s.Procs[i-1].At || p.Verb == "pause" && p.For <= 0 {
				t.Fatalf("%q: steps %+v", text, s.Procs)
			}
		}
	})
}
