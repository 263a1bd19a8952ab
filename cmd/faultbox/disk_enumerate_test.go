package main

import (
	"bytes"
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
