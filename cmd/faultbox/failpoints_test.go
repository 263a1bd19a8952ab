package main

import (
	"bytes"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/faultbox/faultbox/failpoint"
)

var cliSite = failpoint.New("test/cli/site")

func TestFailpointsCommand(t *testing.T) {
	if failpoint.CompiledOut() {
		t.Skip("built with failpoint_off: nothing can be set")
	}
	srv := httptest.NewServer(failpoint.Handler())
	defer srv.Close()
	defer failpoint.Disable(cliSite.Name())
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := dispatch(append([]string{"failpoints"}, args...), &out, &errb)
		return code, out.String(), errb.String()
	}

	// The site is global, so its hit count carries over between runs (go test -count=N).
	before, err := failpoint.Get(cliSite.Name())
	if err != nil {
		t.Fatal(err)
	}
	if code, out, errb := run("set", cliSite.Name(), "2*return(cli)", "--addr", srv.URL); code != 0 || out != cliSite.Name()+"=2*return(cli)\n" {
		t.Fatalf("set: %d %q %q", code, out, errb)
	}
	if v, ok := cliSite.Eval(); !ok || v != "cli" {
		t.Fatalf("after set: Eval = %q, %v", v, ok)
	}
	code, out, errb := run("--addr", srv.URL, "list")
	if code != 0 || !strings.Contains(out, cliSite.Name()) || !strings.Contains(out, "2*return(cli)") {
		t.Fatalf("list: %d %q %q", code, out, errb)
	}
	for _, line := range strings.Split(out, "\n") {
		if want := fmt.Sprintf(" %d ", before.Hits+1); strings.HasPrefix(line, cliSite.Name()+" ") && !strings.Contains(line, want) {
			t.Fatalf("list line lacks the hit count %d: %q", before.Hits+1, line)
		}
	}
	// Bad terms or a bad name on the command line are usage errors (2), checked before
	// anything is sent; a refusal by the program is a run-time failure (1).
	for _, terms := range []string{"retrun", "3*retrun"} {
		if code, _, errb := run("set", "--addr", srv.URL, cliSite.Name(), terms); code != 2 || !strings.Contains(errb, "expected an action") {
			t.Fatalf("set bad terms %q: %d %q", terms, code, errb)
		}
	}
	if code, _, errb := run("set", "--addr", "127.0.0.1:1", cliSite.Name(), "3*retrun"); code != 2 || strings.Contains(errb, "connect") {
		t.Fatalf("bad terms must be refused before anything is sent: %d %q", code, errb)
	}
	for _, name := range []string{"a b", "x=y", "a;b", ""} {
		if code, _, errb := run("set", "--addr", srv.URL, name, "off"); code != 2 || !strings.Contains(errb, "fail point name") {
			t.Errorf("set bad name %q: %d %q", name, code, errb)
		}
	}
	if code, _, errb := run("set", "--addr", srv.URL, "test/cli/none", "off"); code != 1 || !strings.Contains(errb, "no site registered") {
		t.Fatalf("set unknown: %d %q", code, errb)
	}
	if code, out, _ := run("clear", cliSite.Name(), "--addr="+srv.URL); code != 0 || !strings.Contains(out, "off") {
		t.Fatalf("clear: %d %q", code, out)
	}
	if _, ok := cliSite.Eval(); ok {
		t.Fatal("fail point still on after clear")
	}
	if code, out, _ := run("clear", "--all", "--addr", srv.URL); code != 0 || !strings.Contains(out, "all fail points off") {
		t.Fatalf("clear --all: %d %q", code, out)
	}
	t.Setenv(failpoint.EnvHTTP, "")
	for _, args := range [][]string{{}, {"list"}, {"frob", "--addr", srv.URL}, {"set", "x", "--addr", srv.URL}, {"clear", "--addr", srv.URL}, {"--bogus"}} {
		if code, _, _ := run(args...); code != 2 {
			t.Errorf("failpoints %q: exit %d, want 2", args, code)
		}
	}
	if code, _, errb := run("list", "--addr", "127.0.0.1:1"); code != 1 || !strings.Contains(errb, "127.0.0.1:1") {
		t.Fatalf("unreachable: %d %q", code, errb)
	}
}

// FuzzFailpointsArgs: no argument list makes the command panic; it answers 0, 1 or 2.
func FuzzFailpointsArgs(f *testing.F) {
	srv := httptest.NewServer(failpoint.Handler())
	defer srv.Close()
	f.Add("set\x00test/cli/site\x002*return(x)")
	f.Add("clear\x00--all")
	f.Add("list\x00--timeout\x00-1s")
	f.Add("set\x00a b\x00return('x')")
	f.Fuzz(func(t *testing.T, joined string) {
		args := append(strings.Split(joined, "\x00"), "--addr", srv.URL)
		var out, errb bytes.Buffer
		if code := dispatch(append([]string{"failpoints"}, args...), &out, &errb); code < 0 || code > 2 {
			t.Fatalf("faultbox failpoints %q = %d", args, code)
		}
		_ = failpoint.Disable(cliSite.Name())
	})
}
