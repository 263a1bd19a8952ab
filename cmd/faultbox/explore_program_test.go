//go:build linux && amd64

package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// goBuild builds a main package of the module into dir.
func goBuild(t *testing.T, dir, name, pkg string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	if b, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// faultbox explore -- PROG finds the example's lost acknowledged write, exits 1 with the
// replay command last, and that command (a faultbox run line, then the check) fails again.
func TestExploreProgram(t *testing.T) {
	// Not parallel: the parallel tests of 'faultbox run' ignore SIGCHLD process-wide while
	// they run (as faultbox run does), which reaps the children this test starts under it.
	bin := t.TempDir()
	ackkv := goBuild(t, bin, "ackkv", "../../examples/ackkv")
	goBuild(t, bin, "faultbox", ".")
	state := t.TempDir()
	check := ackkv + " check " + state
	var out, errb bytes.Buffer
	code := dispatch([]string{"explore", "--strategy", "aimed", "--runs", "20", "--label", "server=serve", "--label", "client=demo",
		"--check", check, "--out", filepath.Join(state, "out"), "--", ackkv, "demo", state}, &out, &errb)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	replay := lines[len(lines)-1]
	if code != 1 || !strings.HasPrefix(replay, "faultbox run --seed ") || !strings.HasSuffix(replay, "; "+check) ||
		!strings.Contains(out.String(), "failure: check command") || !strings.Contains(out.String(), "shrunk to 1") {
		t.Fatalf("exit %d, stderr %s\n%s", code, errb.String(), out.String())
	}
	if _, err := os.Stat(filepath.Join(state, "out", "report.html")); err != nil {
		t.Errorf("the report: %v", err)
	}
	sh := exec.Command("sh", "-c", replay)
	sh.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"))
	got, err := sh.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(got), "acknowledged puts lost") {
		t.Fatalf("replay %q: %v\n%s: want the check to fail again", replay, err, got)
	}
}

func TestExploreProgramUsageErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--strategy", "clever", "--", "true"}, `--strategy "clever": want random, aimed or lineage`},
		{[]string{"--faults", "crash,boom", "--", "true"}, `--faults: kind "boom": want crash, omit, delay, eio, reset`},
		{[]string{"--", "./no-such-program"}, `-- ./no-such-program: want a program to run`},
		{[]string{"--target", "dbctl", "--", "true"}, `--target "dbctl" and a program after --: give one`},
		{[]string{"--bug", "ack-before-sync", "--", "true"}, `--bug "ack-before-sync": only for --target`},
		{[]string{"--label", "server", "--", "true"}, `--label "server": column 1: label "server": expected NAME=MATCH`},
		{[]string{"--timeout", "0s", "--", "true"}, `--timeout 0s: want a duration > 0`},
		{[]string{"-j", "0", "--", "true"}, `-j 0: want 1..256`},
	} {
		var out, errb bytes.Buffer
		if code := dispatch(append([]string{"explore"}, c.args...), &out, &errb); code != 2 || !strings.Contains(errb.String(), c.want) {
			t.Errorf("%q: exit %d, stderr %q: want 2 and %q", c.args, code, errb.String(), c.want)
		}
	}
}

// A program that passes every run: exit 0.
func TestExploreProgramNoFailure(t *testing.T) {
	// Not parallel: the parallel tests of 'faultbox run' ignore SIGCHLD process-wide while
	// they run (as faultbox run does), which reaps the children this test starts under it.
	var out, errb bytes.Buffer
	code := dispatch([]string{"explore", "--strategy", "random", "--runs", "3", "--faults", "delay", "--", "true"}, &out, &errb)
	if code != 0 || !strings.Contains(out.String(), "verdict: no run failed") {
		t.Fatalf("exit %d, stderr %s\n%s", code, errb.String(), out.String())
	}
}
