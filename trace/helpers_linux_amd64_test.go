//go:build linux && amd64

package trace

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	buildMu   sync.Mutex
	buildDir  string
	buildDone = map[string]string{}
)

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "trace-test-bin")
	if err != nil {
		panic(err)
	}
	buildDir = d
	code := m.Run()
	os.RemoveAll(d)
	os.Exit(code)
}

// buildC compiles testdata/c/NAME.c (once per test binary) and returns the binary's path.
func buildC(t *testing.T, name string, extra ...string) string {
	t.Helper()
	return build(t, "c:"+name+fmtArgs(extra), func(out string) *exec.Cmd {
		return exec.Command("gcc", append([]string{"-O1", "-o", out, filepath.Join("testdata", "c", name+".c")}, extra...)...)
	})
}

// buildGo builds testdata/NAME (a Go main package) once per test binary.
func buildGo(t *testing.T, name string) string {
	t.Helper()
	return build(t, "go:"+name, func(out string) *exec.Cmd {
		return exec.Command("go", "build", "-o", out, "./testdata/"+name)
	})
}

func fmtArgs(a []string) string {
	s := ""
	for _, x := range a {
		s += "_" + filepath.Base(x)
	}
	return s
}

func build(t *testing.T, key string, cmd func(out string) *exec.Cmd) string {
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := buildDone[key]; ok {
		return p
	}
	// Each binary keeps its own name (labels match command lines) in a folder of its own.
	sub := filepath.Join(buildDir, strings.NewReplacer(":", "_", "/", "_").Replace(key))
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	name := strings.SplitN(filepath.Base(key[strings.Index(key, ":")+1:]), "_", 2)[0]
	out := filepath.Join(sub, name)
	c := cmd(out)
	if b, err := c.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", key, err, b)
	}
	buildDone[key] = out
	return out
}

// runTraced runs args under the tracer with the given config, stdout and stderr captured.
func runTraced(t *testing.T, cfg Config) (res *Result, stdout, stderr string) {
	t.Helper()
	var read func() (string, string)
	cfg.Stdout, cfg.Stderr, read = outFiles(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("Run %v: %v", cfg.Args, err)
	}
	if res.Interrupted {
		t.Fatalf("Run %v: timed out", cfg.Args)
	}
	stdout, stderr = read()
	return res, stdout, stderr
}

// outFiles creates files for a command's stdout and stderr: files, not pipes, as under the
// tracer (cat and cp choose their copy calls by what their output is). read closes them and
// returns what was written.
func outFiles(t *testing.T) (stdout, stderr *os.File, read func() (string, string)) {
	t.Helper()
	dir := t.TempDir()
	of, _ := os.Create(filepath.Join(dir, "stdout"))
	ef, _ := os.Create(filepath.Join(dir, "stderr"))
	closeAll := func() {
		of.Close()
		ef.Close()
	}
	t.Cleanup(closeAll) // when the test stops before read
	return of, ef, func() (string, string) {
		closeAll()
		o, _ := os.ReadFile(of.Name())
		e, _ := os.ReadFile(ef.Name())
		return string(o), string(e)
	}
}

func mustRule(t *testing.T, spec string) *Rule {
	t.Helper()
	r, err := ParseInject(spec)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
