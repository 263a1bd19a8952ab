package mount_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faultbox/faultbox/disk/mount"
)

func TestParseCommand(t *testing.T) {
	for _, c := range []struct {
		line, verb string
		rules      int
		err        string
	}{
		{line: "crash", verb: "crash"},
		{line: "  wipe \n", verb: "wipe"},
		{line: "status", verb: "status"},
		{line: "unmount", verb: "unmount"},
		{line: "rules", verb: "rules"},
		{line: "rules sync:path=*.db:error=EIO", verb: "rules", rules: 1},
		{line: "rules sync:error=EIO;write:nth=2:error=ENOSPC", verb: "rules", rules: 2},
		{line: "", err: "empty line"},
		{line: "reboot", err: `command "reboot": want one of crash, wipe, rules [SPEC], status, unmount`},
		{line: "crash now", err: `command "crash" takes no argument, got "now"`},
		{line: "rules sync:error=EWHAT", err: "EWHAT"},
	} {
		cmd, err := mount.ParseCommand(c.line)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseCommand(%q) = %v, want an error with %q", c.line, err, c.err)
			}
			continue
		}
		if err != nil || cmd.Verb != c.verb || len(cmd.Rules) != c.rules {
			t.Errorf("ParseCommand(%q) = %+v, %v; want verb %s with %d rules", c.line, cmd, err, c.verb, c.rules)
		}
	}
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"crash", "rules sync:path=*.log:nth=3:error=EIO", "status x", "rules ;;", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		cmd, err := mount.ParseCommand(line)
		if err == nil && cmd.Verb == "" {
			t.Fatalf("ParseCommand(%q): no error and no verb", line)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "control: ") {
			t.Fatalf("ParseCommand(%q): error %q does not say where it comes from", line, err)
		}
	})
}

// The control socket crashes the mount and answers only once the crash is done.
func TestControlSocket(t *testing.T) {
	m := mountOrSkip(t, keepNothing())
	sock := filepath.Join(t.TempDir(), "ctl.sock")
	ctl, err := m.ServeControl(sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ctl.Close()
	for _, c := range []struct{ line, want string }{
		{"status", "ok ops "},
		{"rules sync:error=EIO", "ok rules 1 installed"},
		{"rules", "ok rules cleared"},
		{"crash", "ok crash 1: 0 torn writes"},
		{"wipe", "ok wipe"},
	} {
		got, err := mount.Send(sock, c.line)
		if err != nil || !strings.HasPrefix(got, c.want) {
			t.Errorf("%s: %q, %v; want %q...", c.line, got, err, c.want)
		}
	}
	if m.Crashes() != 1 {
		t.Errorf("Crashes() = %d after one crash command", m.Crashes())
	}
	if got, err := mount.Send(sock, "reboot"); err == nil || !strings.HasPrefix(got, "error control: command \"reboot\"") {
		t.Errorf("a bad command: %q, %v", got, err)
	}
	if _, err := mount.Send(sock, "unmount"); err != nil {
		t.Fatal(err)
	}
	// The answer goes out first (so that the mount's shutdown cannot cut it off), and the
	// channel closes right after it: wait for it rather than look once (a look at once
	// failed under -race).
	select {
	case <-ctl.Unmount():
	case <-time.After(10 * time.Second):
		t.Error("unmount answered, and the channel did not close within 10s")
	}
}
