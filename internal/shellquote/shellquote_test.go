package shellquote

import (
	"os/exec"
	"reflect"
	"strings"
	"testing"
)

// Quote's output, given to sh, gives back the arguments.
func TestQuote(t *testing.T) {
	t.Parallel()
	args := []string{"--config", `{"SyncFailureProbability": 0.05}`, "it's", "", "plain-1.0/x:y=z@%+,", "a b", "$HOME", "\\"}
	line := Quote(args...)
	if !strings.HasPrefix(line, `--config '{"SyncFailureProbability": 0.05}' 'it'\''s' '' plain-1.0/x:y=z@%+, 'a b'`) {
		t.Errorf("Quote = %s", line)
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	out, err := exec.Command(sh, "-c", `eval "set -- $0"; for a in "$@"; do printf '%s\0' "$a"; done`, line).Output()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	if !reflect.DeepEqual(got, args) {
		t.Errorf("sh read back %q, want %q", got, args)
	}
}
