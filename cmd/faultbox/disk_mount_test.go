package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faultbox/faultbox/internal/testutil"
)

func TestDiskMountUsageErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"disk", "mount"}, "want one DIR to mount on, got 0 arguments"},
		{[]string{"disk", "mount", filepath.Join(dir, "nope")}, "want an existing directory"},
		{[]string{"disk", "mount", "--config", "ssd", dir}, "--config"},
		{[]string{"disk", "mount", "--rules", "sync:error=EWHAT", dir}, "--rules"},
		{[]string{"disk", "ctl", "/tmp/x.sock"}, "want SOCK and a COMMAND"},
		{[]string{"disk", "ctl", "/tmp/x.sock", "reboot"}, `command "reboot": want one of crash, wipe, rules [SPEC], status, unmount`},
	} {
		var out, errb bytes.Buffer
		if code := dispatch(c.args, &out, &errb); code != 2 || !strings.Contains(errb.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, errb.String(), c.want)
		}
	}
	var out, errb bytes.Buffer
	if code := dispatch([]string{"disk", "ctl", filepath.Join(dir, "none.sock"), "status"}, &out, &errb); code != 1 ||
		!strings.Contains(errb.String(), "is 'faultbox disk mount --control") {
		t.Errorf("ctl to no mount: exit %d, stderr %q", code, errb.String())
	}
}

// The command serves a mount, crashes it on a control command, and reports at the unmount.
func TestDiskMountCommand(t *testing.T) {
	if _, err := os.Stat("/dev/fuse"); err != nil || os.Geteuid() != 0 {
		t.Skip("needs /dev/fuse and root")
	}
	dir, tmp := t.TempDir(), t.TempDir()
	sock, events := filepath.Join(tmp, "ctl.sock"), filepath.Join(tmp, "ev.jsonl")
	out, errb := &testutil.Buffer{}, &testutil.Buffer{}
	code := make(chan int, 1)
	go func() {
		code <- dispatch([]string{"disk", "mount", "--control", sock, "-o", events, dir}, out, errb)
	}()
	ctl := func(args ...string) string {
		t.Helper()
		var o, e bytes.Buffer
		if c := dispatch(append([]string{"disk", "ctl", sock}, args...), &o, &e); c != 0 {
			t.Fatalf("ctl %v: exit %d: %s", args, c, e.String())
		}
		return o.String()
	}
	for i := 0; ; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if i == 100 {
			t.Fatalf("no control socket after 10s; stderr %s", errb.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	f := filepath.Join(dir, "f")
	if err := os.WriteFile(f, []byte("unsynced"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := ctl("crash"); got != "ok crash 1: 0 torn writes\n" {
		t.Errorf("crash answered %q", got)
	}
	if _, err := os.Stat(f); !os.IsNotExist(err) {
		t.Errorf("an unsynced file after the crash: %v", err)
	}
	ctl("unmount")
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("exit %d; stderr %s", c, errb.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the mount did not stop after unmount")
	}
	for _, want := range []string{"crashes            1", "faults: disk/crash=1", "ok    unmounted cleanly", "verdict: pass",
		"replay: faultbox disk mount --seed 1 --config lazyfs " + dir} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	if b, err := os.ReadFile(events); err != nil || !strings.Contains(string(b), `"kind":"crash","process":"mount"`) {
		t.Errorf("events file: %q, %v", b, err)
	}
}
