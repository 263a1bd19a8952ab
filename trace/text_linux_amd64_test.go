//go:build linux && amd64

package trace

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The text trace agrees with strace's line for line: the same programs traced for the same
// calls by `strace -ff` (a file per process, so no line is split into unfinished and resumed)
// and by the tracer give, process by process, the same calls with the same decoded arguments
// (paths, flags, buffers, stat structs) and the same results. Pointers, which ASLR moves, are
// the only thing left out.
func TestTextMatchesStrace(t *testing.T) {
	if _, err := exec.LookPath("strace"); err != nil {
		t.Skip("strace not installed (scripts/deps.sh installs it)")
	}
	t.Parallel()
	const set = "openat,read,write,close,pipe2,dup2,fstat,newfstatat,lseek,pread64,fsync,unlink"
	cases := []struct {
		name string
		args []string
	}{
		{"cat", []string{"sh", "-c", "cat src"}},
		{"sh-pipeline", []string{"sh", "-c", "cat src | cat | wc -c; echo done"}},
		{"c-fsync", []string{buildC(t, "fsync"), "data"}},
	}
	if _, err := exec.LookPath("sqlite3"); err == nil {
		cases = append(cases, struct {
			name string
			args []string
		}{"sqlite3", []string{"sqlite3", "-batch", "db", "create table t(x); insert into t values('a'),('b'); select count(*) from t;"}})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want := straceText(t, set, tc.args)
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "src"), []byte("hello\nworld\n"), 0o644)
			var text bytes.Buffer
			trace, err := ParseTrace(set)
			if err != nil {
				t.Fatal(err)
			}
			// As exec.Cmd does for strace: the shell stats $PWD.
			env := []string{"PWD=" + dir}
			for _, kv := range os.Environ() {
				if !strings.HasPrefix(kv, "PWD=") {
					env = append(env, kv)
				}
			}
			_, _, _ = runTraced(t, Config{Args: tc.args, Dir: dir, Env: env, Trace: trace, Text: &text, MaxEvents: -1})
			byPid := map[string][]string{}
			for _, l := range strings.Split(text.String(), "\n") {
				m := pidLine.FindStringSubmatch(l)
				if m != nil && !strings.HasPrefix(m[2], "+++") && !strings.HasPrefix(m[2], "---") {
					byPid[m[1]] = append(byPid[m[1]], normLine(strings.ReplaceAll(m[2], dir, "DIR")))
				}
			}
			var got [][]string
			for _, ls := range byPid {
				got = append(got, hideRandom(ls))
			}
			sortProcs(got)
			if len(got) != len(want) {
				t.Fatalf("%d processes in the text trace, strace saw %d:\n%s", len(got), len(want), text.String())
			}
			lines := 0
			for i := range want {
				if !slices.Equal(got[i], want[i]) {
					t.Errorf("process %d: faultbox\n\t%s\nstrace\n\t%s", i, strings.Join(got[i], "\n\t"), strings.Join(want[i], "\n\t"))
				}
				lines += len(want[i])
			}
			if lines < 10 {
				t.Errorf("only %d lines compared", lines)
			}
		})
	}
}

var (
	pidLine = regexp.MustCompile(`^\[pid +(\d+)\] (.*)$`)
	pointer = regexp.MustCompile(`0x[0-9a-f]{8,}`)
	padding = regexp.MustCompile(` +=`)
	sigPid  = regexp.MustCompile(`si_pid=\d+`)
	sigTime = regexp.MustCompile(`si_(u|s)time=\d+( /\* [0-9.]+ s \*/)?`)
)

func normLine(l string) string {
	l = sigPid.ReplaceAllString(l, "si_pid=PID")
	l = sigTime.ReplaceAllString(l, "si_${1}time=T")
	return padding.ReplaceAllString(pointer.ReplaceAllString(l, "PTR"), " =")
}

var (
	openRandom = regexp.MustCompile(`^openat\(AT_FDCWD, "/dev/u?random", .*\) = (\d+)$`)
	readBuf    = regexp.MustCompile(`^read\((\d+), ".*"(\.\.\.)?, `)
)

// hideRandom replaces what a process read from /dev/urandom (sqlite3 seeds itself) by RANDOM.
func hideRandom(ls []string) []string {
	random := map[string]bool{}
	for i, l := range ls {
		if m := openRandom.FindStringSubmatch(l); m != nil {
			random[m[1]] = true
		} else if m := readBuf.FindStringSubmatch(l); m != nil && random[m[1]] {
			ls[i] = "read(" + m[1] + ", RANDOM, " + l[len(m[0]):]
		}
	}
	return ls
}

// sortProcs orders each process's lines as a unit, so that processes compare whatever their
// pids.
func sortProcs(p [][]string) {
	slices.SortFunc(p, func(a, b []string) int { return slices.Compare(a, b) })
}

// straceText runs args under strace -ff -e trace=set in a fresh directory with the same src
// file and returns each process's lines (pointers normalised, exits left out).
func straceText(t *testing.T, set string, args []string) [][]string {
	t.Helper()
	return straceLines(t, []string{"-e", "trace=" + set}, args, false)
}

// straceLines runs args under strace -ff with the options opts in a fresh directory with the
// same src file and returns each process's lines (pointers normalised, exits left out, and
// signals unless signals is set).
func straceLines(t *testing.T, opts, args []string, signals bool) [][]string {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "src"), []byte("hello\nworld\n"), 0o644)
	out := filepath.Join(t.TempDir(), "st")
	cmd := exec.Command("strace", append(append([]string{"-qq", "-ff", "-o", out}, opts...), args...)...)
	cmd.Dir = dir
	// Files, not pipes, as runTraced gives the tracer's programs.
	stdout, stderr, _ := outFiles(t)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.Run()
	files, _ := filepath.Glob(out + ".*")
	var procs [][]string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var ls []string
		for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
			if l != "" && !strings.HasPrefix(l, "+++") && (signals || !strings.HasPrefix(l, "---")) {
				ls = append(ls, normLine(strings.ReplaceAll(l, dir, "DIR")))
			}
		}
		if len(ls) > 0 { // a process that made none of the calls has no lines in the tracer's either
			procs = append(procs, hideRandom(ls))
		}
	}
	sortProcs(procs)
	return procs
}

// Injected faults are marked as strace marks them (INJECTED, DELAYED; faultbox's actions by
// name), a call the process died in ends in "= ?", and the -c figures count the calls, the
// errors and the faults.
func TestTextMarksFaultsAndCounts(t *testing.T) {
	t.Parallel()
	var text bytes.Buffer
	res, _, _ := runTraced(t, Config{
		Args: []string{"sh", "-c", "echo one; echo two; echo three; echo four"},
		// Each later term counts only the writes no earlier one took (docs/trace.md).
		Rules: []*Rule{mustRule(t, "write:error=EIO:when=2"), mustRule(t, "write:omit:path=*/stdout:when=1"),
			mustRule(t, "write:crash:path=*/stdout:when=2")},
		Text: &text, TextOptions: TextOptions{FdPaths: true, StrSize: 3}, MaxEvents: -1,
	})
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^\[pid \d+\] write\(1</[^>]*/stdout>, "one"\.\.\., 4\) += 4 \(INJECTED: omit\)$`),
		regexp.MustCompile(`(?m)^\[pid \d+\] write\(1</[^>]*/stdout>, "two"\.\.\., 4\) += -1 EIO \(Input/output error\) \(INJECTED\)$`),
		regexp.MustCompile(`(?m)^\[pid \d+\] write\(1</[^>]*/stdout>, "thr"\.\.\., 6\) += 6$`),
		regexp.MustCompile(`(?m)^\[pid \d+\] write\(1</[^>]*/stdout>, "fou"\.\.\., 5\) += \? \(INJECTED: crash\)$`),
		regexp.MustCompile(`(?m)^\[pid \d+\] \+\+\+ killed by SIGKILL \+\+\+$`),
	} {
		if !want.MatchString(text.String()) {
			t.Errorf("no line matches %s in\n%s", want, text.String())
		}
	}
	// The shell reports the failed echo on stderr: more writes than four.
	if got := res.CallStats["write"]; got.Calls < 5 || got.Errors != 1 || got.Faults != 3 || got.Time <= 0 {
		t.Errorf("write's figures %+v, want 5 calls or more, 1 error, 3 faults and some time", got)
	}
	var table bytes.Buffer
	WriteStatsTable(&table, res)
	if !regexp.MustCompile(`(?m)^100\.00 +[0-9.]+ +\d+ +\d+ +1 +3 total$`).MatchString(table.String()) {
		t.Errorf("table's total row wrong:\n%s", table.String())
	}
}
