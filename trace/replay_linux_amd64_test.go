//go:build linux && amd64

package trace

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/faultbox/faultbox/fault"
)

// streamFaults runs the shell script under the issue's two seeded rules and returns its
// faults without their event addresses' thread and count (which follow how the pipe split the
// bytes into calls), sorted: "p1.2: write:short:p=30%:fd=pipe (byte 8191 of send fd 1)".
func streamFaults(t *testing.T, script string) (faults []string, res *Result, stdout string) {
	t.Helper()
	res, stdout, _ = runTraced(t, Config{
		Args:      []string{"sh", "-c", script},
		Seed:      fault.Seed(7),
		Rules:     []*Rule{mustRule(t, "read:error=EINTR:p=30%:fd=pipe"), mustRule(t, "write:short:p=30%:fd=pipe")},
		MaxEvents: -1,
	})
	for _, f := range res.Faults {
		if !strings.Contains(f, " (byte ") {
			t.Fatalf("fault %q was not decided by a byte offset", f)
		}
		faults = append(faults, addrCount.ReplaceAllString(f, ":"))
	}
	// By stream, then by offset.
	slices.SortFunc(faults, func(a, b string) int {
		ka, oa := faultOffset(a)
		kb, ob := faultOffset(b)
		if c := strings.Compare(ka, kb); c != 0 {
			return c
		}
		return oa - ob
	})
	return faults, res, stdout
}

// faultOffset splits "LABEL: RULE (byte N of DIR fd F)" into its stream and N.
func faultOffset(f string) (string, int) {
	k, rest, _ := strings.Cut(f, " (byte ")
	n, dirfd, _ := strings.Cut(rest, " of ")
	off, _ := strconv.Atoi(n)
	return k + " " + dirfd, off
}

var addrCount = regexp.MustCompile(`/t\d+/\d+:`)

// A seeded p= fault on a pipe is decided by the byte offsets the call touches, not by the call
// count: however the kernel splits seq's output into reads and writes, the same seed gives the
// same faults, and (cat and seq retry EINTR and short writes) the same bytes come out.
func TestStreamFaultsReplay(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	script := "seq 200000 | cat | cat > " + out + "; md5sum < " + out
	want, err := exec.Command("sh", "-c", "seq 200000 | md5sum").Output()
	if err != nil {
		t.Fatal(err)
	}
	var first []string
	for run := range 4 {
		faults, res, stdout := streamFaults(t, script)
		if res.ExitCode != 0 || stdout != string(want) {
			t.Fatalf("run %d: exit %d, md5 %q, want 0 and %q", run, res.ExitCode, stdout, want)
		}
		if len(faults) < 100 {
			t.Fatalf("run %d: only %d faults", run, len(faults))
		}
		if run == 0 {
			first = faults
			continue
		}
		if !slices.Equal(faults, first) {
			t.Errorf("run %d: %d faults, run 0: %d; first difference: %s", run, len(faults), len(first), firstDiff(faults, first))
		}
	}
}

// The issue's own pipeline ends where md5sum, which does not retry EINTR, meets its first
// fault: that fault is the same in every run, and so is the outcome. How far seq and the cats
// got before SIGPIPE stopped them follows the scheduling, so each stream's faults in one run
// are the start of the same list in another, not the same list.
func TestStreamFaultsReplayIssuePipeline(t *testing.T) {
	t.Parallel()
	const script = "seq 200000 | cat | cat | md5sum"
	var runs [][]string
	md5sumFault := ""
	for run := range 3 {
		faults, res, _ := streamFaults(t, script)
		if res.ExitCode != 1 {
			t.Fatalf("run %d: exit %d, want md5sum's 1", run, res.ExitCode)
		}
		var mine []string
		for _, f := range faults {
			if strings.HasPrefix(f, "p1.4:") {
				mine = append(mine, f)
			}
		}
		if len(mine) != 1 || md5sumFault != "" && mine[0] != md5sumFault {
			t.Fatalf("run %d: md5sum's faults %q, want one, %q", run, mine, md5sumFault)
		}
		md5sumFault = mine[0]
		runs = append(runs, faults)
	}
	streams := func(faults []string) map[string][]string {
		m := map[string][]string{}
		for _, f := range faults {
			k, _ := faultOffset(f)
			m[k] = append(m[k], f)
		}
		return m
	}
	for i := 1; i < len(runs); i++ {
		a, b := streams(runs[0]), streams(runs[i])
		for k := range a {
			x, y := a[k], b[k]
			if len(x) > len(y) {
				x, y = y, x
			}
			if !slices.Equal(x, y[:len(x)]) {
				t.Errorf("%s: run 0 and run %d part at %s", k, i, firstDiff(x, y))
			}
		}
	}
}

func firstDiff(a, b []string) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return fmt.Sprintf("%q vs %q", a[i], b[i])
		}
	}
	return fmt.Sprintf("one list is %d longer", len(a)-len(b))
}

// Points are a function of the seed, the stream and the offset alone, and each fires once.
func TestNextStreamFaultIgnoresSplit(t *testing.T) {
	t.Parallel()
	k := streamKey{rule: 0, label: "p1", fd: 0}
	const total = 1 << 20
	fired := func(chunk uint64) []uint64 {
		var points []uint64
		next, off := uint64(0), uint64(0)
		for off < total {
			size := min(chunk, total-off)
			if p, ok := nextStreamFault(fault.Seed(7), k, 0.3, next, off, size); ok {
				points = append(points, p)
				next = p + 1
				continue // an EINTR: the call is made again at the same offset
			}
			off += size
		}
		return points
	}
	want := fired(1)
	if len(want) < 20 {
		t.Fatalf("only %d points in 1 MiB at p=0.3", len(want))
	}
	for _, chunk := range []uint64{7, 4096, 65536, 131072} {
		if got := fired(chunk); !slices.Equal(got, want) {
			t.Errorf("reads of %d bytes: %d points, byte by byte %d", chunk, len(got), len(want))
		}
	}
}
