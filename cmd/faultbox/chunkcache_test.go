package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestChunkcacheSubcommand(t *testing.T) {
	var out, errb bytes.Buffer
	if code := dispatch([]string{"chunkcache", "adapters"}, &out, &errb); code != 0 {
		t.Fatalf("exit code = %d, stderr %q", code, errb.String())
	}
	for _, typ := range []string{"memory:", "fs:", "fs_native:", "resp:", "fault_inject:"} {
		if !strings.Contains(out.String(), typ) {
			t.Errorf("adapter list lacks %s:\n%s", typ, out.String())
		}
	}
	errb.Reset()
	if code := dispatch([]string{"chunkcache", "server", "--l2-adapter", `{"type":"nope"}`}, &out, &errb); code != 2 ||
		!strings.Contains(errb.String(), `l2 adapter #1: field "type": unknown adapter type "nope"`) {
		t.Fatalf("bad spec: exit %d, stderr %q", code, errb.String())
	}
}
