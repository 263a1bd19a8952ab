package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/faultbox/faultbox/fault"
)

func TestDiskEnumerate(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		target string
		code   int
		want   string
	}{
		{"wal", fault.ExitPass, "verdict: pass"},
		{"rename", fault.ExitFail, "FAIL point 4 (before end), drop: config holds 0 bytes"},
		{"rename-synced", fault.ExitPass, "verdict: pass"},
	} {
		var out, errOut bytes.Buffer
		code := dispatch([]string{"disk", "enumerate", "--target", c.target, "--torn", "4"}, &out, &errOut)
		if code != c.code || !strings.Contains(out.String(), c.want) ||
			!strings.Contains(out.String(), "replay: faultbox disk enumerate --target "+c.target+" --seed 1 --torn 4") {
			t.Errorf("--target %s: exit %d, stdout:\n%s\nstderr: %s", c.target, code, out.String(), errOut.String())
		}
	}
}

// --powersafe-overwrite tears sectors new or old: disk/wal's recovery, which refuses a log
// whose synced tail a garbage sector damaged (ErrLost), then never has to, and the replay
// line carries the flag.
func TestDiskEnumeratePowersafeOverwrite(t *testing.T) {
	t.Parallel()
	run := func(extra ...string) string {
		var out, errOut bytes.Buffer
		args := append([]string{"disk", "enumerate", "--target", "wal", "--torn", "4"}, extra...)
		if code := dispatch(args, &out, &errOut); code != fault.ExitPass {
			t.Fatalf("%v: exit %d: %s %s", args, code, out.String(), errOut.String())
		}
		return out.String()
	}
	plain, safe := run(), run("--powersafe-overwrite")
	if !strings.Contains(plain, "recovery refused    2") || strings.Contains(plain, "power-safe") {
		t.Errorf("without the flag:\n%s", plain)
	}
	if strings.Contains(safe, "recovery refused") || !strings.Contains(safe, "4 torn shapes a point, power-safe overwrite") ||
		!strings.Contains(safe, "replay: faultbox disk enumerate --target wal --seed 1 --torn 4 --powersafe-overwrite") {
		t.Errorf("with --powersafe-overwrite:\n%s", safe)
	}
}

func TestDiskRules(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	if code := dispatch([]string{"disk", "rules", "sync:path=*.log:nth=3:error=EIO"}, &out, &errOut); code != fault.ExitPass ||
		!strings.Contains(out.String(), "fails it with EIO") || !strings.Contains(out.String(), "and(sync path=*.log nth=3)") {
		t.Fatalf("exit %d: %s %s", code, out.String(), errOut.String())
	}
	out.Reset()
	errOut.Reset()
	if code := dispatch([]string{"disk", "rules", "sync:nth=0:error=EIO"}, &out, &errOut); code != fault.ExitUsage ||
		!strings.Contains(errOut.String(), `column 10: nth "0": expected a count >= 1`) {
		t.Fatalf("exit %d: %s %s", code, out.String(), errOut.String())
	}
}

func TestDiskEnumerateProgramUsage(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--check", "true"}, `--check "true" without a PROGRAM`},
		{[]string{"--", "true"}, `a PROGRAM ("true") without --check`},
		{[]string{"--target", "wal", "--check", "true", "--", "true"}, `--target "wal" and a PROGRAM`},
		{[]string{"--point", "2"}, "--point, --shape, --save and -j go with --check CMD -- PROGRAM"},
		{[]string{"--check", "true", "-j", "0", "--", "true"}, "-j 0: want 1..64"},
		{[]string{"--check", "true", "--point", "-1", "--", "true"}, "--point -1: want a persistence point >= 1"},
	} {
		var out, errOut bytes.Buffer
		code := dispatch(append([]string{"disk", "enumerate"}, c.args...), &out, &errOut)
		if code != fault.ExitUsage || !strings.Contains(errOut.String(), c.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", c.args, code, errOut.String(), c.want)
		}
	}
}

// An unmodified program, coreutils here: the classic unsynced rename (write a temporary
// file, rename it over the real one, sync the directory but not the data) is found at the
// end's drop state; with the data synced first, every state passes. The replay line runs.
func TestDiskEnumerateProgram(t *testing.T) {
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skipf("FUSE is not available here (%v): the mount needs /dev/fuse and root or fusermount3", err)
	}
	check := `test ! -e config || grep -qx "version 2" config`
	for _, c := range []struct {
		script string
		code   int
		want   string
	}{
		{`echo "version 2" > config.tmp && mv config.tmp config && sync .`, fault.ExitFail, "FAIL point 2 (before end), drop: check: exit status 1"},
		{`echo "version 2" > config.tmp && sync config.tmp && mv config.tmp config && sync .`, fault.ExitPass, "verdict: pass"},
	} {
		var out, errOut bytes.Buffer
		code := dispatch([]string{"disk", "enumerate", "--torn", "2", "--check", check, "--", "sh", "-c", c.script}, &out, &errOut)
		if strings.Contains(errOut.String(), "FUSE") {
			t.Skipf("FUSE mount refused here: %s", errOut.String())
		}
		replay := "replay: faultbox disk enumerate --check '" + check + "' --seed 1 --torn 2 -- sh -c '" + c.script + "'"
		if code != c.code || !strings.Contains(out.String(), c.want) || !strings.Contains(out.String(), replay) {
			t.Errorf("%s: exit %d, stdout:\n%s\nstderr: %s", c.script, code, out.String(), errOut.String())
		}
	}

	// The first failure alone, its files kept: the replay line the report printed.
	save := t.TempDir()
	var out, errOut bytes.Buffer
	code := dispatch([]string{"disk", "enumerate", "--check", check, "--point", "2", "--shape", "drop", "--save", save,
		"--torn", "2", "--", "sh", "-c", `echo "version 2" > config.tmp && mv config.tmp config && sync .`}, &out, &errOut)
	got, err := os.ReadFile(save + "/point-2-drop/config")
	if code != fault.ExitFail || !strings.Contains(out.String(), "crash states tried  1\n") || err != nil || len(got) != 0 {
		t.Errorf("one state, saved: exit %d, saved config %q (%v), stdout:\n%s\nstderr: %s", code, got, err, out.String(), errOut.String())
	}
}
