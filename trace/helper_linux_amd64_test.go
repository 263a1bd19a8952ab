//go:build linux && amd64

package trace

import (
	"testing"

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
