package sim

import (
	"strings"
	"testing"
	"time"
)

func TestParseSchedule(t *testing.T) {
	t.Parallel()
	s, err := ParseSchedule("at 2s crash 10.0.0.2 for 500ms; at 3s partition 10.0.0.1 10.0.0.3\nat 4s heal;at 5s clog 10.0.0.1 10.0.0.2 50ms; at 6s wipe 10.0.0.3; at 7s isolate 10.0.0.1 for 1s")
	if err != nil {
		t.Fatal(err)
	}
	want := "at 2s crash 10.0.0.2 for 500ms; at 3s partition 10.0.0.1 10.0.0.3; at 4s heal; at 5s clog 10.0.0.1 10.0.0.2 50ms; at 6s wipe 10.0.0.3; at 7s isolate 10.0.0.1 for 1s"
	if s.String() != want {
		t.Fatalf("got  %s\nwant %s", s, want)
	}
	for in, msg := range map[string]string{
		"crash 10.0.0.1":                `item 1 ("crash 10.0.0.1"): word "crash": want "at TIME ACTION"`,
		"at soon crash 10.0.0.1":        `time "soon": want a duration`,
		"at 1s explode 10.0.0.1":        `action "explode": want crash, tear, garble, wipe`,
		"at 1s crash 10.0.0.300":        `address "10.0.0.300": want an IP address`,
		"at 1s heal; at 2s partition 1": `item 2 ("at 2s partition 1"): address "1"`,
		"at 1s partition 10.0.0.1":      `action "partition": want 2 address(es)`,
		"at 1s crash 10.0.0.1 for":      `for "": want a duration after for`,
		"at 1s heal now":                `trailing text "now": want nothing more`,
		"at 1s clog 10.0.0.1 10.0.0.2":  `action "clog": want a duration after the addresses`,
		"at -1s heal":                   `time "-1s"`,
	} {
		if _, err := ParseSchedule(in); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParseSchedule(%q) = %v, want an error containing %q", in, err, msg)
		}
	}
}

// A scripted schedule runs at its times, and an action on an unknown address is refused.
func TestApplySchedule(t *testing.T) {
	t.Parallel()
	w := New(1, Options{})
	w.SpawnHandler(ip1, func() Handler { return ponger{} })
	w.SpawnHandler(ip2, func() Handler { return ponger{} })
	s, _ := ParseSchedule("at 10ms crash 10.0.0.2 for 5ms; at 20ms isolate 10.0.0.1; at 30ms heal; at 40ms partition 10.0.0.1 10.0.0.2 for 5ms")
	if err := w.Apply(s); err != nil {
		t.Fatal(err)
	}
	var up []bool
	w.At(12*time.Millisecond, func() { up = append(up, w.Process(ip2).Up()) })
	w.At(16*time.Millisecond, func() { up = append(up, w.Process(ip2).Up()) })
	if err := w.RunUntilIdle(); err != nil {
		t.Fatal(err)
	}
	if len(up) != 2 || up[0] || !up[1] {
		t.Fatalf("ip2 up at 12ms, 16ms: %v, want false, true", up)
	}
	var kinds []string
	for _, e := range w.Log().Events() {
		kinds = append(kinds, e.Kind)
	}
	if got := strings.Join(kinds, " "); got != "crash crash partition-start partition-start heal partition-start partition-start heal" {
		t.Fatalf("events: %s", got) // process crash, disk crash, the isolation's two links, heal
	}
	bad, _ := ParseSchedule("at 1s crash 10.0.0.9")
	if err := w.Apply(bad); err == nil || !strings.Contains(err.Error(), "no process at 10.0.0.9") {
		t.Fatalf("Apply on an unknown address: %v", err)
	}
}

func FuzzParseSchedule(f *testing.F) {
	f.Add("at 2s crash 10.0.0.2 for 500ms; at 3s heal")
	f.Add("at 1s clog ::1 10.0.0.2 1ms\nat 0s isolate 10.0.0.1")
	f.Add("at 1s wipe 10.0.0.1 for")
	f.Add("at 1.5s garble 10.0.0.3 for 20ms; at 2s tear 10.0.0.1")
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ParseSchedule(in)
		if err != nil {
			if !strings.Contains(err.Error(), "want") && !strings.Contains(err.Error(), "more than") {
				t.Fatalf("error without an expectation: %v", err)
			}
			return
		}
		again, err := ParseSchedule(s.String())
		if err != nil || again.String() != s.String() {
			t.Fatalf("round trip: %q -> %q -> %v %q", in, s, err, again)
		}
	})
}
