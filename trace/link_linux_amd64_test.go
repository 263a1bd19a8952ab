//go:build linux && amd64

package trace

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A round trip across a delayed link takes at least the delay each way: ackwal's client (p1.1)
// connects (delayed too), sends 3 requests and waits for each ack from the server (p1).
func TestLinkDelay(t *testing.T) {
	t.Parallel()
	bin := buildC(t, "ackwal")
	for _, c := range []struct {
		link   string
		faults int
		min    time.Duration
	}{
		{"p1.1/p1:delay=100ms", 7, 600 * time.Millisecond},             // both ways: 3 requests, 3 acks
		{"p1.1>p1:delay=100ms:jitter=20ms", 4, 240 * time.Millisecond}, // one way: the requests only
	} {
		t.Run(c.link, func(t *testing.T) {
			t.Parallel()
			l, err := ParseLink(c.link)
			must(t, err)
			start := time.Now()
			res, stdout, _ := runTraced(t, Config{Args: []string{bin, t.TempDir(), "3"}, Links: []*Link{l}, MaxEvents: -1})
			took := time.Since(start)
			if !strings.Contains(stdout, "acked 3") || len(res.Faults) != c.faults {
				t.Errorf("stdout %q, faults %q; want 3 acks and %d delayed calls (the connect and the messages)", stdout, res.Faults, c.faults)
			}
			if took < c.min {
				t.Errorf("run took %v, want at least %v", took, c.min)
			}
		})
	}
}

// A lossy link loses the messages its draws pick, the same ones on every run of a program
// that sends them in the same order: goconn's 30 four-byte pings.
func TestLinkLoss(t *testing.T) {
	t.Parallel()
	bin := buildGo(t, "goconn")
	l, err := ParseLink("p1/p1:loss=40%")
	must(t, err)
	const n = 30
	var first []string
	for run := 0; run < 2; run++ {
		res, stdout, _ := runTraced(t, Config{Args: []string{bin, strconv.Itoa(n)}, Links: []*Link{l}, Seed: 7, MaxEvents: -1})
		got, err := strconv.Atoi(strings.TrimSpace(stdout))
		if err != nil {
			t.Fatalf("stdout %q", stdout)
		}
		lost := len(res.Faults)
		if lost == 0 || lost == n || got != 4*(n-lost) {
			t.Errorf("run %d: %d lost, %d bytes received; want some lost of %d and 4 bytes for each other", run, lost, got, n)
		}
		// Which messages: the address (thread, event number) follows Go's scheduling, the
		// message's number on the link does not.
		var which []string
		for _, f := range res.Faults {
			_, m, _ := strings.Cut(f, " (")
			which = append(which, m)
		}
		if run == 0 {
			first = which
		} else if strings.Join(first, "\n") != strings.Join(which, "\n") {
			t.Errorf("lost messages differ between runs:\n%q\n%q", first, res.Faults)
		}
	}
}

func TestParseLink(t *testing.T) {
	t.Parallel()
	l, err := ParseLink("client,cli*>server:delay=50ms:jitter=5ms:loss=10%")
	if err != nil || !l.OneWay || len(l.A) != 2 || l.Delay != 50*time.Millisecond || l.Jitter != 5*time.Millisecond || l.Loss != 0.1 {
		t.Errorf("ParseLink = %+v, %v", l, err)
	}
	for spec, field := range map[string]string{"ab:delay=1s": "groups", "a/b": "link", "a/b:delay=-1s": "delay",
		"a/b:loss=2": "loss", "a/b:speed=1": "field", "/b:delay=1s": "group A"} {
		_, err := ParseLink(spec)
		var se *SpecError
		if !errors.As(err, &se) || se.Field != field {
			t.Errorf("ParseLink(%q): %v, want a %s error", spec, err, field)
		}
	}
	p, err := ParsePartition("a>b@1..3")
	if err != nil || !p.OneWay || p.ToMsg != 3 {
		t.Errorf("one-way partition: %+v, %v", p, err)
	}
}

func FuzzParseLink(f *testing.F) {
	for _, s := range []string{"a/b:delay=50ms", "a>b:loss=20%:jitter=1ms", "x", "a/b:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseLink(s)
		var se *SpecError
		if err != nil && (!errors.As(err, &se) || se.Field == "" || se.Expected == "") {
			t.Fatalf("%q: bad error %v", s, err)
		}
		if err == nil && (len(l.A) == 0 || len(l.B) == 0 || l.Loss < 0 || l.Loss > 1 || l.Delay < 0) {
			t.Fatalf("%q accepted as %+v", s, l)
		}
	})
}
