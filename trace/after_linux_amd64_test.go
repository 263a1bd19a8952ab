//go:build linux && amd64

package trace

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// after=send: "crash at the log write that follows the reply" is one term. The server of
// ackwal writes a wal header, then for each request sends the ack and appends the request: a
// crash at the first wal write after a send loses a write the client saw acknowledged, and
// the header (written before any send) is not taken for it.
func TestAfterSend(t *testing.T) {
	t.Parallel()
	bin := buildC(t, "ackwal")
	cases := []struct {
		name, rule string
		acked      []string // acknowledgements the client must have printed
		notAcked   string
		wal        string
	}{
		// Without after=, the first wal write is the header's: nothing was acknowledged yet.
		{"no-after", "write:crash:path=*/wal", nil, "acked 1", ""},
		{"after-send", "write:crash:path=*/wal:after=send", []string{"acked 1"}, "acked 2", "wal v1\n"},
		{"after-send-when-2", "write:crash:path=*/wal:after=send:when=2", []string{"acked 1", "acked 2"}, "acked 3", "wal v1\nput 1\n"},
		// The server's replies leave from its port; the address is read from its output.
		{"after-send-port", "write:crash:path=*/wal:after=send@:PORT", []string{"acked 1"}, "acked 2", "wal v1\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			rule, args := tc.rule, []string{bin, dir, "3"}
			if strings.Contains(rule, "PORT") {
				// The server's replies leave from its port (and the client's requests go to
				// it, arming the term in the client too, which writes no wal).
				port := freePort(t)
				rule = strings.ReplaceAll(rule, "PORT", port)
				args = append(args, port)
			}
			res, stdout, _ := runTraced(t, Config{Args: args, Rules: []*Rule{mustRule(t, rule)}})
			if len(res.Faults) != 1 {
				t.Fatalf("faults %q, want one", res.Faults)
			}
			for _, a := range tc.acked {
				if !strings.Contains(stdout, a+"\n") {
					t.Errorf("stdout %q lacks %q", stdout, a)
				}
			}
			if strings.Contains(stdout, tc.notAcked+"\n") {
				t.Errorf("stdout %q has %q: the crash came too late", stdout, tc.notAcked)
			}
			b, _ := os.ReadFile(filepath.Join(dir, "wal"))
			if string(b) != tc.wal {
				t.Errorf("wal %q, want %q", b, tc.wal)
			}
		})
	}
}

// freePort is a loopback TCP port nothing listens on now.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// A term whose send never comes never fires, and says so.
func TestAfterSendNeverArmed(t *testing.T) {
	t.Parallel()
	bin := buildC(t, "ackwal")
	dir := t.TempDir()
	res, stdout, _ := runTraced(t, Config{Args: []string{bin, dir, "2"}, Rules: []*Rule{mustRule(t, "write:crash:path=*/wal:after=send@:9")}})
	if len(res.Faults) != 0 || !strings.Contains(stdout, "acked 2") {
		t.Errorf("faults %q, stdout %q: want none and both acks", res.Faults, stdout)
	}
	if len(res.UnfiredWhy) != 1 || !regexp.MustCompile(`no send on a socket at :9 completed`).MatchString(res.UnfiredWhy[0]) {
		t.Errorf("why unfired %q", res.UnfiredWhy)
	}
}
