package failpoint

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestEnvAtStartup re-runs this test binary with FAILPOINTS and FAILPOINTS_SEED set, so the
// package's init reads them for real (TestEnvHelper checks what it did).
func TestEnvAtStartup(t *testing.T) {
	t.Parallel()
	cases := []struct {
		env, seed string
		mode      string // what TestEnvHelper checks
		stderr    string // what init must have written
	}{
		{"test/envinit=1*return(boot)->off;test/envinit/typo=off", "0x2a", "good", ""},
		{"test/envinit=1*return(boot);test/envinit/typo=explode", "", "bad", `entry 2 "test/envinit/typo=explode"`},
		{"", "minus-one", "badseed", "FAILPOINTS_SEED"},
	}
	for _, c := range cases {
		cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestEnvHelper$", "-test.v")
		cmd.Env = append(os.Environ(), EnvTerms+"="+c.env, EnvSeed+"="+c.seed, "FAILPOINT_ENV_HELPER="+c.mode)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil || !strings.Contains(string(out), "--- PASS: TestEnvHelper") {
			t.Errorf("%s: %v\n%s\n%s", c.mode, err, out, stderr.String())
			continue
		}
		if c.stderr != "" && strings.Count(stderr.String(), c.stderr) != 1 {
			t.Errorf("%s: stderr %q, want %q once", c.mode, stderr.String(), c.stderr)
		}
		if c.stderr == "" && stderr.Len() != 0 {
			t.Errorf("%s: unexpected stderr %q", c.mode, stderr.String())
		}
	}
}

func TestEnvHelper(t *testing.T) {
	mode := os.Getenv("FAILPOINT_ENV_HELPER")
	if mode == "" {
		t.Skip("run by TestEnvAtStartup")
	}
	s := New("test/envinit")
	v, ok := s.Eval()
	switch mode {
	case "good":
		if EnvErr() != nil || Seed() != 42 {
			t.Fatalf("EnvErr %v, seed %d", EnvErr(), Seed())
		}
		if !ok || v != "boot" {
			t.Fatalf("site registered after init: Eval = %q, %v; want the FAILPOINTS terms", v, ok)
		}
		if _, ok := s.Eval(); ok {
			t.Fatal("1*return fired twice")
		}
		if p := Pending(); len(p) != 1 || p[0] != "test/envinit/typo" {
			t.Fatalf("Pending = %q", p)
		}
	case "bad":
		if EnvErr() == nil || ok || len(Pending()) != 0 {
			t.Fatalf("a bad FAILPOINTS was applied: EnvErr %v, Eval %q %v, Pending %q", EnvErr(), v, ok, Pending())
		}
	case "badseed":
		if EnvErr() == nil || !strings.Contains(EnvErr().Error(), "minus-one") {
			t.Fatalf("EnvErr = %v", EnvErr())
		}
	}
}
