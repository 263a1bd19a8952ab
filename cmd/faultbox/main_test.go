package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestDispatchUnknownCommand(t *testing.T) {
	var out, errb bytes.Buffer
	if code := dispatch([]string{"no-such-command"}, &out, &errb); code != 2 {
		t.Fatalf("exit code = %d, want 2", code)
	}
	if !strings.Contains(errb.String(), `unknown command "no-such-command"`) {
		t.Fatalf("stderr does not name the unknown command: %q", errb.String())
	}
}

func TestDispatchHelp(t *testing.T) {
	var out, errb bytes.Buffer
	if code := dispatch([]string{"--help"}, &out, &errb); code != 0 {
		t.Fatalf("exit code = %d, want 0", code)
	}
	if !strings.Contains(out.String(), "usage: faultbox <command>") {
		t.Fatalf("help text missing usage line: %q", out.String())
	}
}
