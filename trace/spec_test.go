//go:build linux

package trace

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseInjectStraceGrammar(t *testing.T) {
	t.Parallel()
	write, _ := sysNumber("write")
	read, _ := sysNumber("read")
	cases := []struct {
		spec  string
		check func(r *Rule) bool
	}{
		{"write:error=ENOSPC", func(r *Rule) bool {
			return r.Error == 28 && len(r.Syscalls) == 1 && r.Syscalls[0] == write && r.When == When{1, 0, 1}
		}},
		{"read,write:error=5:when=3", func(r *Rule) bool {
			return r.Error == 5 && len(r.Syscalls) == 2 && r.Syscalls[0] == read && r.When == When{3, 0, 0}
		}},
		{"write:retval=42:when=2..4", func(r *Rule) bool { return r.HasRetval && r.Retval == 42 && r.When == When{2, 4, 0} }},
		{"write:signal=SIGSEGV:when=2+", func(r *Rule) bool { return r.Signal == 11 && r.When == When{2, 0, 1} }},
		{"write:signal=9:when=2..10+3", func(r *Rule) bool { return r.Signal == 9 && r.When == When{2, 10, 3} }},
		{"write:delay_enter=1.5ms:delay_exit=20", func(r *Rule) bool {
			return r.DelayEnter == 1500*time.Microsecond && r.DelayExit == 20*time.Microsecond
		}},
		{"%network:error=ECONNRESET", func(r *Rule) bool { return len(r.Syscalls) > 10 }},
		{"/^(send|recv)msg$:error=EAGAIN", func(r *Rule) bool { return len(r.Syscalls) == 2 }},
		{"sendto:omit:when=3:p=50%:addr=127.0.0.1:8080:proc=client*", func(r *Rule) bool {
			return r.Action == ActOmit && r.Prob == 0.5 && r.Addr == "127.0.0.1:8080" && r.Proc == "client*" && r.When.First == 3
		}},
		{"write:short=3:fd=pipe", func(r *Rule) bool { return r.Action == ActShort && r.ShortBytes == 3 && r.FdKind == "pipe" }},
		{"connect:refuse:addr=[::1]:80", func(r *Rule) bool { return r.Action == ActRefuse && r.Addr == "[::1]:80" }},
		{"write:phantom:path=/tmp/*", func(r *Rule) bool { return r.Action == ActPhantom && r.Path == "/tmp/*" }},
		{"accept:pause=1.5s:proc=server", func(r *Rule) bool { return r.Action == ActPause && r.Pause == 1500*time.Millisecond }},
		{"sendto,sendmsg:mute:when=4", func(r *Rule) bool { return r.Action == ActMute && r.When.First == 4 }},
		{"write:crash:delay_enter=100ms:when=40:count=process", func(r *Rule) bool {
			return r.Action == ActCrash && r.DelayEnter == 100*time.Millisecond && r.CountProcess && !r.straceOnly()
		}},
		{"write:error=EIO:count=thread", func(r *Rule) bool { return !r.CountProcess && r.straceOnly() }},
		// strace 6.1 accepts these as well (checked with the strace binary).
		{"write:error=enospc", func(r *Rule) bool { return r.Error == 28 }},
		{"write:signal=term", func(r *Rule) bool { return r.Signal == 15 }},
		{"write:signal=sigkill", func(r *Rule) bool { return r.Signal == 9 }},
		{"write:error=EIO:", func(r *Rule) bool { return r.Error == 5 && len(r.Syscalls) == 1 && r.Syscalls[0] == write }},
		{"write::error=EIO", func(r *Rule) bool { return r.Error == 5 && len(r.Syscalls) == 1 && r.Syscalls[0] == write }},
		{"read,,write:error=EIO", func(r *Rule) bool { return len(r.Syscalls) == 2 && r.Syscalls[0] == read && r.Syscalls[1] == write }},
		{"%stat:error=EIO", func(r *Rule) bool { return sameNames(r.Syscalls, "stat") }},
		{"%lstat:error=EIO", func(r *Rule) bool { return sameNames(r.Syscalls, "lstat") }},
		{"%fstat:error=EIO", func(r *Rule) bool { return sameNames(r.Syscalls, "fstat newfstatat statx") }},
		{"%%stat:error=EIO", func(r *Rule) bool { return sameNames(r.Syscalls, "fstat lstat newfstatat stat statx") }},
		{"%statfs:error=EIO", func(r *Rule) bool { return sameNames(r.Syscalls, "statfs") }},
		{"%fstatfs:error=EIO", func(r *Rule) bool { return sameNames(r.Syscalls, "fstatfs") }},
		{"%%statfs:error=EIO", func(r *Rule) bool { return sameNames(r.Syscalls, "fstatfs statfs ustat") }},
		{"%clock:error=EPERM", func(r *Rule) bool { return hasNames(r.Syscalls, "clock_gettime gettimeofday time adjtimex") }},
		{"%creds:error=EPERM", func(r *Rule) bool { return hasNames(r.Syscalls, "getuid setuid capget prctl setgroups") }},
		{"%pure:error=EPERM", func(r *Rule) bool {
			return sameNames(r.Syscalls, "getegid geteuid getgid getpgrp getpid getppid gettid getuid")
		}},
		{"%ipc:error=EPERM", func(r *Rule) bool { return hasNames(r.Syscalls, "shmget semop msgsnd shmat") }},
		{"%memory:error=ENOMEM", func(r *Rule) bool { return hasNames(r.Syscalls, "mmap brk mremap pkey_mprotect mseal") }},
		{"%desc:error=EIO", func(r *Rule) bool { return hasNames(r.Syscalls, "read mmap openat epoll_wait statx pidfd_getfd") }},
		{"%file:error=EIO", func(r *Rule) bool {
			return hasNames(r.Syscalls, "open execve getcwd statfs mount") && !hasNames(r.Syscalls, "read")
		}},
		{"%process:error=EPERM", func(r *Rule) bool { return hasNames(r.Syscalls, "clone3 execveat kill wait4 pidfd_send_signal") }},
		{"%signal:error=EPERM", func(r *Rule) bool { return hasNames(r.Syscalls, "rt_sigaction kill signalfd4 io_uring_enter") }},
		{"%network:error=EPERM", func(r *Rule) bool { return hasNames(r.Syscalls, "socket accept4 sendfile sendmmsg") }},
	}
	for _, c := range cases {
		r, err := ParseInject(c.spec)
		if err != nil {
			t.Errorf("ParseInject(%q): %v", c.spec, err)
			continue
		}
		if !c.check(r) {
			t.Errorf("ParseInject(%q) = %+v", c.spec, r)
		}
	}
}

func TestParseInjectErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		spec, field string
		pos         int
	}{
		{"", "syscall set", 1},
		{"wrte:error=EIO", "syscall set", 1},
		{"write", "term", 6},
		{"write:error=EFOO", "error", 13},
		{"write:error=EIO:retval=1", "retval", 17},
		{"write:when=0", "when", 12},
		{"write:when=5..3", "when", 12},
		{"write:when=1+70000", "when", 12},
		{"write:bogus=1", "field", 7},
		{"write:error=EIO:omit", "action", 1},
		{"open:omit", "syscall set", 1},
		{"write:p=2", "p", 9},
		{"write:signal=SIGFOO", "signal", 14},
		{"write:syscall=getpid", "field", 7},
		{"write:error=EIO:when", "field", 17},
		{"write:pause", "pause", 13},
		{"write:pause=0", "pause", 13},
		{"read:mute", "syscall set", 1},
		{"write:error=EIO:count=proc", "count", 23},
	}
	for _, c := range cases {
		_, err := ParseInject(c.spec)
		var se *SpecError
		if !errors.As(err, &se) {
			t.Errorf("ParseInject(%q) = %v, want a SpecError", c.spec, err)
			continue
		}
		if se.Field != c.field || se.Pos != c.pos || se.Expected == "" {
			t.Errorf("ParseInject(%q): field %q pos %d, want field %q pos %d (%v)", c.spec, se.Field, se.Pos, c.field, c.pos, err)
		}
		if !strings.Contains(err.Error(), "expected") {
			t.Errorf("error %q does not say what was expected", err)
		}
	}
}

func TestWhenMatchesStrace(t *testing.T) {
	t.Parallel()
	// From strace(1): first; first..last; first+; first..last+; first+step; first..last+step.
	sel := func(spec string) string {
		w, ok := parseWhen(spec)
		if !ok {
			t.Fatalf("parseWhen(%q) failed", spec)
		}
		var b strings.Builder
		for n := uint64(1); n <= 12; n++ {
			if w.Match(n) {
				b.WriteString("x")
			} else {
				b.WriteString(".")
			}
		}
		return b.String()
	}
	for spec, want := range map[string]string{
		"3":        "..x.........",
		"3..5":     "..xxx.......",
		"3+":       "..xxxxxxxxxx",
		"3..5+":    "..xxx.......",
		"3+4":      "..x...x...x.",
		"2..8+3":   ".x..x..x....",
		"1":        "x...........",
		"12..12+5": "...........x",
	} {
		if got := sel(spec); got != want {
			t.Errorf("when=%s selects %s, want %s", spec, got, want)
		}
	}
}

func TestParsePartitionCrashLabel(t *testing.T) {
	t.Parallel()
	p, err := ParsePartition("client,c2/server@3..5")
	if err != nil || len(p.A) != 2 || p.B[0] != "server" || p.ByTime || p.FromMsg != 3 || p.ToMsg != 5 {
		t.Errorf("ParsePartition = %+v, %v", p, err)
	}
	p, err = ParsePartition("a/b@100ms..2s")
	if err != nil || !p.ByTime || p.FromTime != 100*time.Millisecond || p.ToTime != 2*time.Second {
		t.Errorf("ParsePartition time = %+v, %v", p, err)
	}
	for _, bad := range []string{"ab", "a/", "/b", "a/b@", "a/b@5..3", "a/b@x..y", "a/b@2s..1s"} {
		if _, err := ParsePartition(bad); err == nil {
			t.Errorf("ParsePartition(%q) accepted", bad)
		}
	}
	r, err := ParseCrash("server@accept,accept4#2")
	if err != nil || r.Action != ActCrash || !r.PerProcess || r.When.First != 2 || r.Proc != "server" {
		t.Errorf("ParseCrash = %+v, %v", r, err)
	}
	for _, bad := range []string{"server", "@accept", "s@nosuchcall", "s@accept#0", "s@accept#x"} {
		if _, err := ParseCrash(bad); err == nil {
			t.Errorf("ParseCrash(%q) accepted", bad)
		}
	}
	l, err := ParseLabel("server=*helper server*")
	if err != nil || !l.matches("/tmp/x/helper server 1 2") || l.matches("helper client") {
		t.Errorf("ParseLabel = %+v, %v", l, err)
	}
	for _, bad := range []string{"noeq", "=x", "a b=x", "n="} {
		if _, err := ParseLabel(bad); err == nil {
			t.Errorf("ParseLabel(%q) accepted", bad)
		}
	}
}

func TestGlobMatch(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		g, s string
		ok   bool
	}{{"*", "a/b", true}, {"a*c", "abbc", true}, {"a?c", "abc", true}, {"a?c", "ac", false},
		{"*x*", "aaa", false}, {"", "", true}, {"**", "", true}, {"a*b*c", "aXbYc", true}} {
		if globMatch(c.g, c.s) != c.ok {
			t.Errorf("globMatch(%q, %q) != %v", c.g, c.s, c.ok)
		}
	}
}

func FuzzParseInject(f *testing.F) {
	for _, s := range []string{"write:error=ENOSPC", "read:retval=0:when=2..5+2", "sendto:omit:addr=127.0.0.1:80:p=30%",
		"%network:signal=SIGKILL:delay_enter=1ms", "write:short=2:fd=pipe", "!read:error=1", "/x[:error=1", "write:crash:after=send@127.0.0.1:80:when=2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseInject(s)
		if err != nil {
			var se *SpecError
			if !errors.As(err, &se) || se.Pos < 1 || se.Pos > len(s)+1 || se.Expected == "" {
				t.Fatalf("ParseInject(%q): bad error %v", s, err)
			}
			return
		}
		if len(r.Syscalls) == 0 || r.When.First < 1 || r.Prob < 0 || r.Prob > 1 {
			t.Fatalf("ParseInject(%q) accepted a bad rule %+v", s, r)
		}
	})
}

func FuzzParsePartition(f *testing.F) {
	f.Add("a,b/c@1..3")
	f.Add("a/b@10ms..1s")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePartition(s)
		if err == nil && (len(p.A) == 0 || len(p.B) == 0) {
			t.Fatalf("ParsePartition(%q) = %+v", s, p)
		}
		_, _ = ParseCrash(s)
		_, _ = ParseLabel(s)
	})
}

func hasNames(nrs []int, names string) bool {
	have := map[string]bool{}
	for _, nr := range nrs {
		have[sysName(nr)] = true
	}
	for _, n := range strings.Fields(names) {
		if !have[n] {
			return false
		}
	}
	return true
}

func sameNames(nrs []int, names string) bool {
	return len(nrs) == len(strings.Fields(names)) && hasNames(nrs, names)
}

func TestParseInjectAfter(t *testing.T) {
	t.Parallel()
	for spec, addr := range map[string]string{"write:crash:after=send": "", "write:crash:after=send@127.0.0.1:80:when=2": "127.0.0.1:80",
		"fsync:eio:after=send@:6379": ":6379", "write:crash:after=send@[::1]:80": "[::1]:80"} {
		r, err := ParseInject(spec)
		if err != nil || !r.After || r.AfterAddr != addr || r.straceOnly() {
			t.Errorf("ParseInject(%q) = %+v, %v; want after=send@%q", spec, r, err, addr)
		}
	}
	for spec, val := range map[string]string{"write:crash:after=recv": "recv", "write:crash:after=send@h:99999": "send@h:99999", "write:crash:after=": ""} {
		_, err := ParseInject(spec)
		var se *SpecError
		if !errors.As(err, &se) || se.Field != "after" || se.Value != val || !strings.Contains(se.Expected, "send@ADDR") {
			t.Errorf("ParseInject(%q): %v", spec, err)
		}
	}
}
