//go:build linux && amd64

package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/faultbox/faultbox/fault"
	"github.com/faultbox/faultbox/internal/shellquote"
)

func TestRunRejectsBadSpecBeforeStarting(t *testing.T) {
	t.Parallel()
	marker := filepath.Join(t.TempDir(), "ran")
	var out, errb bytes.Buffer
	code := dispatch([]string{"run", "--inject", "write:error=ENOSPC:when=0", "--", "touch", marker}, &out, &errb)
	if code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	if msg := errb.String(); !strings.Contains(msg, "column 25") || !strings.Contains(msg, `when "0"`) || !strings.Contains(msg, "expected FIRST") {
		t.Errorf("error does not give position, field and expectation: %q", msg)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("the command ran despite the bad spec")
	}
}

func TestRunExitsWithTracedStatus(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	events := filepath.Join(dir, "ev.jsonl")
	var out, errb bytes.Buffer
	code := dispatch([]string{"run", "-o", events, "--inject", "write:error=EIO:when=1", "--", "sh", "-c", "echo hi; exit 3"}, &out, &errb)
	if code != 3 {
		t.Errorf("exit %d, want 3", code)
	}
	if !strings.Contains(errb.String(), "faults injected: 1") || !strings.Contains(errb.String(), "exit 3") {
		t.Errorf("summary: %q", errb.String())
	}
	b, err := os.ReadFile(events)
	if err != nil || !strings.Contains(string(b), `"fault":"write:error=EIO:when=1"`) {
		t.Errorf("events file: %v %q", err, b)
	}
}

// An output path that cannot be created fails the run before the command starts, with the
// usage status 2, whichever output it is.
func TestRunRejectsBadOutputPathBeforeStarting(t *testing.T) {
	t.Parallel()
	for _, flag := range []string{"-o", "--html", "--chrome"} {
		t.Run(flag, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			marker := filepath.Join(dir, "ran")
			bad := filepath.Join(dir, "no", "such", "dir", "x.out")
			var out, errb bytes.Buffer
			code := dispatch([]string{"run", flag, bad, "--", "touch", marker}, &out, &errb)
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if !strings.Contains(errb.String(), bad) {
				t.Errorf("error does not name the path: %q", errb.String())
			}
			if _, err := os.Stat(marker); err == nil {
				t.Errorf("the command ran despite the bad output path")
			}
		})
	}
}

// A write that fails after the run (here /dev/full: every write is ENOSPC) makes the exit
// non-zero even though the command succeeded.
func TestRunFailedOutputWriteIsNotSuccess(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	var out, errb bytes.Buffer
	code := dispatch([]string{"run", "-o", "/dev/full", "--", "true"}, &out, &errb)
	if code == 0 {
		t.Errorf("exit 0 although the event log could not be written; stderr %q", errb.String())
	}
	if !strings.Contains(errb.String(), "write /dev/full") {
		t.Errorf("stderr does not name the failed write: %q", errb.String())
	}
}

// --json writes the summary as one fault.Report on stderr (stdout stays the program's):
// the faults counted by kind in the trace layer, the check on the exit status, the replay
// line with the seed; the exit code is still the program's.
func TestRunJSONReport(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	args := []string{"--json", "--inject", "write:error=EIO:when=1", "--", "sh", "-c", "echo hi 2>/dev/null; exit 3"}
	code := dispatch(append([]string{"run"}, args...), &out, &errb)
	if code != 3 {
		t.Fatalf("exit %d, want the program's 3; stderr %q", code, errb.String())
	}
	if out.Len() != 0 {
		t.Errorf("faultbox wrote on stdout, which is the program's: %q", out.String())
	}
	dec := json.NewDecoder(&errb)
	dec.DisallowUnknownFields()
	var r fault.Report
	if err := dec.Decode(&r); err != nil || dec.More() {
		t.Fatalf("stderr is not one report: %v", err)
	}
	want := []fault.Count{{Layer: fault.LayerTrace, Kind: "error=EIO", N: 1}}
	if r.Command != "faultbox run" || *r.Seed != 1 || !reflect.DeepEqual(r.Faults, want) || r.Verdict != fault.Fail ||
		len(r.Checks) != 1 || r.Checks[0].OK || !strings.HasPrefix(r.Target, "sh -c ") ||
		r.Replay != "faultbox run --seed 1 "+shellquote.Quote(args...) {
		t.Fatalf("report: %+v", r)
	}
}

// --text writes strace's lines to a file (or stderr with -), -y names descriptors, -s cuts
// buffers, -c adds strace -c's table on stderr; -o keeps its JSON lines beside them.
func TestRunTextTraceAndTable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	text, events := filepath.Join(dir, "trace.txt"), filepath.Join(dir, "ev.jsonl")
	var out, errb bytes.Buffer
	code := dispatch([]string{"run", "--text", text, "-o", events, "-y", "-s", "4", "-c", "--trace", "openat,read",
		"--inject", "read:error=EIO:path=*/hostname", "--", "sh", "-c", "exec cat /etc/hostname 2>/dev/null | cat"}, &out, &errb)
	if code != 0 {
		t.Errorf("exit %d, stderr %s", code, errb.String())
	}
	b, err := os.ReadFile(text)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`openat(AT_FDCWD, "/etc/hostname", O_RDONLY) = 3</etc/hostname>`,
		`read(3</etc/hostname>, 0x`, `= -1 EIO (Input/output error) (INJECTED)`,
		`"\177ELF"..., 832)`, "+++ exited with 0 +++",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the text trace has no %q:\n%s", want, b)
		}
	}
	if !strings.Contains(errb.String(), "% time     seconds  usecs/call     calls    errors    faults syscall") ||
		!strings.Contains(errb.String(), "faults injected: 1") {
		t.Errorf("stderr has no -c table or no summary:\n%s", errb.String())
	}
	if ev, err := os.ReadFile(events); err != nil || !strings.Contains(string(ev), `"call":"read"`) {
		t.Errorf("events file: %v %q", err, ev)
	}
}

// faultbox run -p PID attaches to a running shell, fails its write to a file, and ends with
// the shell's own status when it exits.
func TestRunAttach(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	goFile, out, text := filepath.Join(dir, "go"), filepath.Join(dir, "out"), filepath.Join(dir, "text")
	sh := exec.Command("sh", "-c", "while [ ! -e "+goFile+" ]; do sleep 0.01; done; echo done > "+out+"; exit 3")
	if err := sh.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { sh.Process.Kill(); sh.Wait() }()
	type ran struct {
		code      int
		out, errb string
	}
	done := make(chan ran, 1)
	go func() {
		var o, e bytes.Buffer
		code := dispatch([]string{"run", "-p", strconv.Itoa(sh.Process.Pid), "--text", text, "-e", "trace=write,newfstatat",
			"--inject", "write:error=ENOSPC:path=" + out}, &o, &e)
		done <- ran{code, o.String(), e.String()}
	}()
	// Once the tracer has seen a call the shell is attached: let it go on.
	deadline := time.Now().Add(10 * time.Second)
	for b, _ := os.ReadFile(text); !bytes.Contains(b, []byte("newfstatat(")); b, _ = os.ReadFile(text) {
		if time.Now().After(deadline) {
			t.Fatalf("no traced call in 10 s: %q", b)
		}
		time.Sleep(5 * time.Millisecond)
	}
	os.WriteFile(goFile, nil, 0o644)
	var r ran
	select {
	case r = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("faultbox run -p did not end 10 s after the shell's exit")
	}
	if r.code != 3 || !strings.Contains(r.errb, "faults injected: 1") || !strings.Contains(r.errb, "exit 3") {
		t.Errorf("exit %d, summary %q; want 3 and one fault", r.code, r.errb)
	}
	if b, _ := os.ReadFile(out); len(b) != 0 {
		t.Errorf("the failed write reached the file: %q", b)
	}
}
