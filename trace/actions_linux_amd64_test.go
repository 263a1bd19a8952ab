//go:build linux && amd64

package trace

import (
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/faultbox/faultbox/fault"
)

// A long hold on one process (at entry, paused, or at exit) must not hold the others: while a
// is held, b runs to its end; then the script kills a, so the test ends as soon as b is done.
func TestDelayDoesNotStopOtherProcesses(t *testing.T) {
	t.Parallel()
	for _, spec := range []string{"write:delay_enter=30s:proc=a", "write:pause=30s:proc=a", "write:delay_exit=30s:proc=a"} {
		t.Run(spec, func(t *testing.T) {
			t.Parallel()
			checkDelay(t, spec)
		})
	}
}

func checkDelay(t *testing.T, spec string) {
	const hold = 30 * time.Second
	// b starts only once a is held in its write (stopped, with write as its current call).
	script := `sh -c "echo A" & a=$!
i=0; until grep -q '^State:.*[tT]' /proc/$a/status && grep -q '^1 ' /proc/$a/syscall || [ $i = 20000 ]; do i=$((i+1)); done
sh -c "echo B1; echo B2"; kill -9 $a; wait $a; echo a $?`
	res, stdout, _ := runTraced(t, Config{
		Args:   []string{"sh", "-c", script},
		Labels: []Label{{Name: "a", Match: "sh -c echo A"}, {Name: "b", Match: "sh -c echo B1"}},
		Rules:  []*Rule{mustRule(t, spec)},
	})
	if res.ExitCode != 0 || !strings.Contains(stdout, "B2\n") || !strings.Contains(stdout, "a 137\n") {
		t.Fatalf("exit %d stdout %q: want b's lines and a killed while held", res.ExitCode, stdout)
	}
	var a *Event
	var bStart, bEnd int64
	for _, e := range res.Events {
		switch {
		case e.Label == "a" && e.Call == "write":
			a = e
		case e.Label == "b" && e.Call == "write":
			if bStart == 0 {
				bStart = e.TimeUs
			}
			bEnd = max(bEnd, e.TimeUs+e.DurUs)
		}
	}
	if a == nil || a.Fault == "" {
		t.Fatalf("a's write not held: %+v", a)
	}
	if bStart < a.TimeUs {
		t.Fatalf("b wrote at %dµs, before a's write was held at %dµs", bStart, a.TimeUs)
	}
	if bEnd == 0 || bEnd >= a.TimeUs+hold.Microseconds() {
		t.Errorf("b's writes ended at %dµs, not before a's %v hold from %dµs ended: the hold held the tracer", bEnd, hold, a.TimeUs)
	}
}

func TestShortAndCorrupt(t *testing.T) {
	t.Parallel()
	t.Run("short", func(t *testing.T) {
		t.Parallel()
		res, stdout, _ := runTraced(t, Config{Args: []string{"sh", "-c", "echo hello | cat"},
			Rules: []*Rule{mustRule(t, "write:short=2:fd=pipe:when=1")}})
		// The shell writes the rest after a short write, as it must.
		if stdout != "hello\n" {
			t.Errorf("stdout %q", stdout)
		}
		var writes []string
		for _, e := range res.Events {
			if e.Call == "write" && e.Endpoint != nil && e.Endpoint.Kind == "pipe" {
				writes = append(writes, fmt.Sprintf("%d/%d", e.Ret, e.Size))
			}
		}
		if fmt.Sprint(writes) != "[2/6 4/4]" {
			t.Errorf("pipe writes (returned/asked) %v, want [2/6 4/4]", writes)
		}
	})
	t.Run("corrupt", func(t *testing.T) {
		t.Parallel()
		res, stdout, _ := runTraced(t, Config{Args: []string{"sh", "-c", "echo hello | cat"}, Seed: 42,
			Rules: []*Rule{mustRule(t, "read:corrupt:fd=pipe:when=1")}})
		want := "hello\n"
		if len(stdout) != len(want) {
			t.Fatalf("stdout %q", stdout)
		}
		bits := 0
		for i := range want {
			for x := stdout[i] ^ want[i]; x != 0; x &= x - 1 {
				bits++
			}
		}
		if bits != 1 || len(res.Faults) != 1 {
			t.Errorf("stdout %q differs from %q in %d bits (faults %v), want 1", stdout, want, bits, res.Faults)
		}
	})
}

func TestRefuseAndReset(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { buf := make([]byte, 64); c.Read(buf); c.Close() }()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	script := fmt.Sprintf(`exec 3<>/dev/tcp/127.0.0.1/%d && echo hi >&3 && echo sent`, port)
	for _, c := range []struct{ spec, want string }{
		{"", "sent\n"},
		{fmt.Sprintf("connect:refuse:addr=127.0.0.1:%d", port), "Connection refused"},
		{"write:reset:fd=tcp", "Connection reset by peer"},
	} {
		cfg := Config{Args: []string{"bash", "-c", script}}
		if c.spec != "" {
			cfg.Rules = []*Rule{mustRule(t, c.spec)}
		}
		res, stdout, stderr := runTraced(t, cfg)
		if !strings.Contains(stdout+stderr, c.want) {
			t.Errorf("%q: exit %d stdout %q stderr %q, want %q", c.spec, res.ExitCode, stdout, stderr, c.want)
		}
	}
}

func TestProbabilityIsSeeded(t *testing.T) {
	t.Parallel()
	run := func(seed fault.Seed) string {
		res, _, _ := runTraced(t, Config{Args: []string{"sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo $i; done"},
			Seed: seed, Rules: []*Rule{mustRule(t, "write:error=EIO:p=0.5")}})
		var hit []string
		for _, e := range res.Events {
			if e.Call == "write" {
				hit = append(hit, fmt.Sprint(e.Fault != ""))
			}
		}
		return strings.Join(hit, ",")
	}
	a, b, c := run(7), run(7), run(8)
	if a != b {
		t.Errorf("same seed, different faults:\n%s\n%s", a, b)
	}
	if a == c {
		t.Errorf("seeds 7 and 8 chose the same 12 faults: %s", a)
	}
	if !strings.Contains(a, "true") || !strings.Contains(a, "false") {
		t.Errorf("p=0.5 over 12 writes chose %s", a)
	}
}

// path= selects open/openat (and the other path-taking calls) by the path they name, read from
// the tracee at entry; the path reaches the event, and a rule that never fired is reported.
func TestPathRuleOnOpen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	target, other := dir+"/target", dir+"/other"
	for _, f := range []string{target, other} {
		if err := os.WriteFile(f, []byte("x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res, stdout, stderr := runTraced(t, Config{Args: []string{"sh", "-c", "cat " + other + "; cat " + target},
		Rules: []*Rule{mustRule(t, "openat,open:error=ENOENT:path="+dir+"/tar*"),
			mustRule(t, "unlink,unlinkat:error=EIO:path=/nowhere")}})
	if res.ExitCode == 0 || stdout != "x\n" || !strings.Contains(stderr, "No such file") {
		t.Fatalf("exit %d, stdout %q, stderr %q: want the second cat to fail on its open", res.ExitCode, stdout, stderr)
	}
	var faulted, seen int
	for _, e := range res.Events {
		if e.Call != "openat" && e.Call != "open" {
			continue
		}
		if e.Path == other || e.Path == target {
			seen++
		}
		if e.Fault != "" {
			faulted++
			if e.Path != target || e.Errno != "ENOENT" {
				t.Errorf("%s: fault on path %q errno %q, want %s ENOENT", e.Addr, e.Path, e.Errno, target)
			}
		}
	}
	if faulted != 1 || seen < 2 {
		t.Errorf("%d opens faulted, %d opens of the two files seen with their paths; want 1 and 2", faulted, seen)
	}
	if len(res.Unfired) != 1 || res.Unfired[0] != "--inject unlink,unlinkat:error=EIO:path=/nowhere" {
		t.Errorf("unfired rules %q", res.Unfired)
	}
	if s := res.Summary(); !strings.Contains(s, "warning: --inject unlink,unlinkat:error=EIO:path=/nowhere never fired") {
		t.Errorf("summary lacks the warning:\n%s", s)
	}
}

// The enospc and eio actions fail the call with that errno; crash SIGKILLs the process as it
// enters the chosen call.
func TestErrnoAndCrashActions(t *testing.T) {
	t.Parallel()
	prog := buildGo(t, "gowrite")
	cases := []struct {
		spec, stdout, stderr, errno string
		code                        int
	}{
		{"write:enospc:when=2", "line 1\n", "line 2: write /dev/stdout: no space left on device", "ENOSPC", 3},
		{"write:eio:when=2", "line 1\n", "line 2: write /dev/stdout: input/output error", "EIO", 3},
		{"write:crash:when=2", "line 1\n", "", "", 128 + 9},
	}
	for _, c := range cases {
		t.Run(c.spec, func(t *testing.T) {
			t.Parallel()
			res, stdout, stderr := runTraced(t, Config{Args: []string{prog}, Rules: []*Rule{mustRule(t, c.spec)}})
			if res.ExitCode != c.code || stdout != c.stdout || !strings.Contains(stderr, c.stderr) {
				t.Fatalf("exit %d stdout %q stderr %q; want %d %q %q", res.ExitCode, stdout, stderr, c.code, c.stdout, c.stderr)
			}
			var faulted []*Event
			for _, e := range res.Events {
				if e.Fault != "" {
					faulted = append(faulted, e)
				}
			}
			if len(faulted) != 1 || faulted[0].Call != "write" || faulted[0].Errno != c.errno {
				t.Fatalf("faulted events %+v, want one write with errno %q", faulted, c.errno)
			}
			if c.code == 137 && res.Procs[0].Status != "killed by SIGKILL" {
				t.Errorf("status %q, want killed by SIGKILL", res.Procs[0].Status)
			}
		})
	}
}
