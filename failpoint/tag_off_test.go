//go:build failpoint_off

package failpoint

import (
	"context"
	"errors"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// TestMain, under the tag, runs TestTagOff alone: every other test and example of the package
// is about fail points that work, so `go test -tags failpoint_off ./failpoint/` checks just
// that everything is off.
func TestMain(m *testing.M) {
	flag.Parse()
	if err := flag.Set("test.run", "^TestTagOff$"); err != nil {
		panic(err)
	}
	os.Exit(m.Run())
}

// TestTagOff runs only under -tags failpoint_off (TestBuildTagOff starts it, with FAILPOINTS
// set): every site is off and nothing can turn it on.
func TestTagOff(t *testing.T) {
	if !CompiledOut() {
		t.Fatal("CompiledOut() is false under the failpoint_off tag")
	}
	s := New("test/tagoff")
	if _, ok := s.Eval(); ok {
		t.Fatal("Eval fired under failpoint_off (FAILPOINTS must be ignored)")
	}
	if err := Enable(s.Name(), "return(x)"); !errors.Is(err, ErrCompiledOut) {
		t.Fatalf("Enable = %v, want ErrCompiledOut", err)
	}
	sc, ctx := TestScope(t)
	if err := sc.Enable(s.Name(), "return(x)"); !errors.Is(err, ErrCompiledOut) {
		t.Fatalf("Scope.Enable = %v, want ErrCompiledOut", err)
	}
	if _, ok := s.EvalContext(ctx); ok || s.Err() != nil || s.ErrContext(ctx) != nil {
		t.Fatal("a site evaluated to something other than off")
	}
	if _, ok := Eval("test/tagoff"); ok {
		t.Fatal("Eval(name) fired")
	}
	if err := Configure("test/tagoff=panic"); !errors.Is(err, ErrCompiledOut) {
		t.Fatalf("Configure = %v", err)
	}
	if err := WaitHits(context.Background(), s.Name(), 1); !errors.Is(err, ErrCompiledOut) {
		t.Fatalf("WaitHits = %v", err)
	}
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/test/tagoff", strings.NewReader("panic"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotImplemented {
		t.Fatalf("PUT under the tag: %s, want 501", resp.Status)
	}
}
