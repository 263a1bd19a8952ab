//go:build linux && amd64

package trace

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// runBPF interprets the few classic BPF instructions seccompFilter emits.
func runBPF(t *testing.T, p []unix.SockFilter, nr, arch uint32) uint32 {
	var a uint32
	for pc := 0; pc < len(p); pc++ {
		in := p[pc]
		switch in.Code {
		case unix.BPF_LD | unix.BPF_W | unix.BPF_ABS:
			if in.K == 0 {
				a = nr
			} else {
				a = arch
			}
		case unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K:
			if a == in.K {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
		case unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K:
			if a >= in.K {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
		case unix.BPF_RET | unix.BPF_K:
			return in.K
		default:
			t.Fatalf("unexpected instruction %#x", in.Code)
		}
	}
	t.Fatal("program fell off its end")
	return 0
}

func TestSeccompFilter(t *testing.T) {
	t.Parallel()
	for _, set := range [][]int{nil, {1}, {0, 1, 2}, DefaultTrace(), {3, 7, 41, 42, 43, 44, 45, 46, 47, 288, 299, 307, 435}} {
		p := seccompFilter(set)
		want := map[int]bool{}
		for _, nr := range set {
			want[nr] = true
		}
		for nr := 0; nr < 500; nr++ {
			got := runBPF(t, p, uint32(nr), unix.AUDIT_ARCH_X86_64)
			if (got == unix.SECCOMP_RET_TRACE) != want[nr] || (got != unix.SECCOMP_RET_TRACE && got != unix.SECCOMP_RET_ALLOW) {
				t.Fatalf("set %v: nr %d → %#x", set, nr, got)
			}
		}
		if got := runBPF(t, p, 1, unix.AUDIT_ARCH_I386); got != unix.SECCOMP_RET_ALLOW {
			t.Errorf("i386 call → %#x, want allow", got)
		}
	}
	all, _ := parseSyscallSet("all")
	p := seccompFilter(all)
	for _, nr := range all {
		if runBPF(t, p, uint32(nr), unix.AUDIT_ARCH_X86_64) != unix.SECCOMP_RET_TRACE {
			t.Fatalf("all: nr %d not traced", nr)
		}
	}
}

// A helper whose parent dies before seizing it (faultbox killed between starting it and
// PTRACE_SEIZE) is killed with its parent instead of staying stopped, orphaned, forever.
func TestHelperDiesWithUnseizingParent(t *testing.T) {
	t.Parallel()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The shell plays a tracer that starts the helper, waits until it has stopped itself,
	// and exits without seizing it.
	script := `FAULTBOX_TRACE_HELPER= FAULTBOX_TRACE_PARENT=$$ "$0" sleep 60 >/dev/null 2>&1 & echo $!
while ! grep -q '^State:.*T' /proc/$!/status 2>/dev/null; do :; done`
	out, err := exec.Command("sh", "-c", script, self).Output()
	if err != nil {
		t.Fatalf("sh: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("helper pid %q", out)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		st := procState(pid)
		if st == "" || strings.HasPrefix(st, "Z") || strings.HasPrefix(st, "X") {
			return
		}
		if time.Now().After(deadline) {
			unix.Kill(pid, unix.SIGKILL)
			t.Fatalf("helper %d still there (%s) after its parent exited", pid, st)
		}
		time.Sleep(10 * time.Millisecond) // polling /proc: there is nothing to wait on
	}
}
