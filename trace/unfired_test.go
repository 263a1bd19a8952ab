//go:build linux

package trace

import (
	"strings"
	"testing"
)

// explain, driven with made-up runs: every reason a rule can give for never firing.
func TestExplainUnfired(t *testing.T) {
	t.Parallel()
	nr := func(name string) int {
		n, ok := sysNumber(name)
		if !ok {
			t.Fatalf("no system call %s", name)
		}
		return n
	}
	type count struct {
		call string // "" for a rule counted per process
		n    uint64 // the invocation number one thread (or process) reached
	}
	cases := []struct {
		spec   string   // --inject term, or "--crash X"
		live   []string // the calls the rule still applies to; nil: all of its set
		labels []string
		counts []count
		on     []string // calls seen on the rule's file
		want   string
	}{
		{spec: "read:error=EIO:when=2", counts: []count{{"read", 1}},
			want: "read was called 1 time; when=2 never reached"},
		{spec: "read:error=EIO:when=3", counts: []count{{"read", 1}, {"read", 2}, {"read", 1}},
			want: "read was called 3 times; when=3 never reached (counted per thread: at most 2)"},
		{spec: "read,write:error=EIO:when=3", counts: []count{{"read", 1}, {"write", 1}, {"write", 2}},
			want: "read was called 1 time, write 2 times; when=3 never reached (counted per thread and per call: at most 2)"},
		{spec: "read,write:error=EIO:when=3..5+2", want: "no call of read,write was made"},
		{spec: "read:error=EIO:p=0.25", counts: []count{{"read", 1}, {"read", 2}},
			want: "read was called 2 times; p=0.25 drew no fault (the draws depend on --seed)"},
		{spec: "read:error=EIO:proc=cli*", labels: []string{"p1", "server"}, want: "no process was labelled cli*"},
		{spec: "read:error=EIO:proc=cli*", labels: []string{"p1", "client"}, want: "read was never called by cli*"},
		{spec: "read:error=EIO:when=2:path=/etc/hostname", on: []string{"openat", "copy_file_range", "copy_file_range", "close"},
			want: "calls on /etc/hostname: openat=1 copy_file_range=2 close=1"},
		{spec: "read:error=EIO:when=2:path=/etc/hostname", on: []string{"openat", "read", "close"}, counts: []count{{"read", 1}},
			want: "calls on /etc/hostname: openat=1 read=1 close=1; when=2 never reached"},
		{spec: "sendto:omit:fd=tcp:addr=:6379:proc=client", labels: []string{"client"},
			want: "no call on fd=tcp addr=:6379 by client"},
		{spec: "write:error=EIO", live: []string{}, want: "a later --inject term for write replaces it (strace keeps the last term for each call)"},
		{spec: "read,write:error=EIO:when=2", live: []string{"read"}, counts: []count{{"read", 1}},
			want: "read was called 1 time; when=2 never reached; a later --inject term replaces it for write"},
		{spec: "--crash server@accept#2", labels: []string{"server"}, counts: []count{{"", 1}},
			want: "accept was called 1 time by server; #2 never reached"},
		{spec: "--crash server@accept,accept4#3", labels: []string{"server"}, counts: []count{{"", 1}, {"", 2}, {"", 1}},
			want: "calls of accept,accept4 by server: 3; #3 never reached (counted per process: at most 2)"},
		{spec: "--crash server@accept#2", labels: []string{"server"}, want: "accept was never called by server"},
	}
	for _, c := range cases {
		var r *Rule
		var err error
		if spec, ok := strings.CutPrefix(c.spec, "--crash "); ok {
			r, err = ParseCrash(spec)
		} else {
			r, err = ParseInject(c.spec)
		}
		if err != nil {
			t.Fatal(err)
		}
		live := map[int]bool{}
		if c.live == nil {
			for _, n := range r.Syscalls {
				live[n] = true
			}
		}
		for _, n := range c.live {
			live[nr(n)] = true
		}
		var m ruleMiss
		for _, k := range c.counts {
			key := -1
			if k.call != "" {
				key = nr(k.call)
			}
			m.count(key, k.n)
		}
		for _, call := range c.on {
			m.on.add(call)
		}
		if got := m.explain(r, live, c.labels); got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.spec, got, c.want)
		}
	}
}

// whenText writes a When back as ParseInject reads it.
func TestWhenTextRoundTrip(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"1", "3", "3..5", "3+", "3+2", "2..8+3", "65535", "1..65534+65535"} {
		w, ok := parseWhen(s)
		if !ok {
			t.Fatalf("parseWhen(%q) failed", s)
		}
		back, ok := parseWhen(whenText(w))
		if !ok || back != w {
			t.Errorf("when=%s: written back as %q, read again as %+v, want %+v", s, whenText(w), back, w)
		}
	}
}
