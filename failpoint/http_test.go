package failpoint

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// TestHandlerAndClient drives a scope's handler, mounted under a prefix on a mux, through the
// client, the way `faultbox failpoints` does.
func TestHandlerAndClient(t *testing.T) {
	t.Parallel()
	sc, ctx := TestScope(t)
	s := fresh(t)
	mux := http.NewServeMux()
	mux.Handle("/debug/failpoints/", http.StripPrefix("/debug/failpoints", sc.Handler()))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := &Client{Addr: srv.URL + "/debug/failpoints"}

	if err := c.Set(ctx, s.Name(), "1*return(EIO)->off"); err != nil {
		t.Fatal(err)
	}
	if v, ok := s.EvalContext(ctx); !ok || v != "EIO" {
		t.Fatalf("after Set: Eval = %q, %v", v, ok)
	}
	list, err := c.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0] != (Status{Name: s.Name(), Terms: "1*return(EIO)->off", Registered: true, Hits: 1, Fired: 1}) {
		t.Fatalf("List = %+v", list)
	}
	var table bytes.Buffer
	if err := WriteList(&table, list); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), s.Name()) || !strings.Contains(table.String(), " on ") {
		t.Fatalf("WriteList:\n%s", table.String())
	}

	// Errors: bad terms are caught by the client before the round trip, unknown names come
	// back as ErrNotRegistered.
	if err := c.Set(ctx, s.Name(), "return(x"); err == nil || !strings.Contains(err.Error(), "offset") {
		t.Fatalf("Set with bad terms = %v", err)
	}
	if err := c.Set(ctx, "test/http/none", "off"); !errors.Is(err, ErrNotRegistered) {
		t.Fatalf("Set unknown = %v, want ErrNotRegistered", err)
	}
	if err := c.Clear(ctx, s.Name()); err != nil {
		t.Fatal(err)
	}
	if st, _ := sc.Get(s.Name()); st.Terms != "" {
		t.Fatalf("after Clear: %+v", st)
	}
	if err := sc.Enable(s.Name(), "off"); err != nil {
		t.Fatal(err)
	}
	if err := c.Clear(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if st, _ := sc.Get(s.Name()); st.Terms != "" {
		t.Fatalf("after Clear all: %+v", st)
	}
}

func TestHandlerRaw(t *testing.T) {
	t.Parallel()
	sc, _ := TestScope(t)
	s := fresh(t)
	h := sc.Handler()
	do := func(method, path, body string) (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, "http://127.0.0.1"+path, strings.NewReader(body)))
		data, _ := io.ReadAll(rec.Result().Body)
		return rec.Code, string(data)
	}
	cases := []struct {
		method, path, body string
		code               int
		contains           string
	}{
		{"PUT", "/" + s.Name(), "2*return(1)", http.StatusNoContent, ""},
		{"GET", "/" + s.Name(), "", http.StatusOK, `"terms":"2*return(1)"`},
		{"GET", "/", "", http.StatusOK, `"name":"` + s.Name() + `"`},
		{"POST", "/" + s.Name(), "explode", http.StatusBadRequest, "expected an action"},
		{"PUT", "/test/http/none", "off", http.StatusNotFound, "no site registered"},
		{"GET", "/test/http/none", "", http.StatusNotFound, "no site registered"},
		{"PATCH", "/" + s.Name(), "", http.StatusMethodNotAllowed, "not allowed"},
		{"PUT", "/", "off", http.StatusMethodNotAllowed, "not allowed"},
		{"PUT", "/" + s.Name(), strings.Repeat("x", maxBodyBytes+1), http.StatusRequestEntityTooLarge, "body over"},
		{"DELETE", "/" + s.Name(), "", http.StatusNoContent, ""},
		{"DELETE", "/", "", http.StatusNoContent, ""},
	}
	for _, c := range cases {
		code, body := do(c.method, c.path, c.body)
		if code != c.code || !strings.Contains(body, c.contains) {
			t.Errorf("%s %s: %d %q; want %d containing %q", c.method, c.path, code, body, c.code, c.contains)
		}
	}
	for _, hdr := range [][2]string{{"Origin", "http://evil.example"}, {"Sec-Fetch-Site", "cross-site"}} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("POST", "http://127.0.0.1/"+s.Name(), strings.NewReader("panic"))
		req.Header.Set(hdr[0], hdr[1])
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "web pages") {
			t.Errorf("POST with %s: %d %q, want 403 refusing web pages", hdr[0], rec.Code, rec.Body.String())
		}
	}
	if st, _ := sc.Get(s.Name()); st.Terms != "" {
		t.Errorf("a browser request configured the fail point: %+v", st)
	}
	sc.Close()
	if code, _ := do("PUT", "/"+s.Name(), "off"); code != http.StatusGone {
		t.Errorf("PUT on a closed scope: %d, want 410", code)
	}
}

// TestHandlerHost: the Host header must name a loopback address, localhost, the address the
// connection reached or the one Serve was given, so that a web page cannot reach the endpoint
// under its own name after DNS rebinding.
func TestHandlerHost(t *testing.T) {
	t.Parallel()
	sc, _ := TestScope(t)
	s := fresh(t)
	reached := &net.TCPAddr{IP: net.ParseIP("10.0.0.5"), Port: 6060}
	cases := []struct {
		host   string
		local  *net.TCPAddr // the connection's local address, when known
		listen string       // the address Serve was given
		ok     bool
	}{
		{host: "127.0.0.1", ok: true},
		{host: "127.0.0.1:6060", ok: true},
		{host: "127.9.8.7:1", ok: true},
		{host: "[::1]", ok: true},
		{host: "[::1]:6060", ok: true},
		{host: "::1", ok: true},
		{host: "localhost", ok: true},
		{host: "localhost:6060", ok: true},
		{host: "LocalHost:6060", ok: true},
		{host: "10.0.0.5:6060", local: reached, ok: true},
		{host: "myhost:6060", listen: "myhost:6060", ok: true},
		{host: "MyHost:6060", listen: "myhost:6060", ok: true},
		{host: "10.0.0.5:6060", listen: "10.0.0.5:6060", ok: true},
		{host: "10.0.0.5", local: &net.TCPAddr{IP: net.ParseIP("10.0.0.5"), Port: 80}, ok: true},

		{host: "evil.example"},
		{host: "evil.example:6060"},
		{host: "evil.example:6060", local: reached, listen: "myhost:6060"},
		{host: "localhost.evil.example"},
		{host: "localhost."},
		{host: "127.0.0.1.nip.io:6060"},
		{host: "10.0.0.5:6060"},
		{host: "10.0.0.5:6061", local: reached},
		{host: "10.0.0.5", local: reached},
		{host: "myhost:6061", listen: "myhost:6060"},
		{host: "0.0.0.0:6060"},
		{host: "[::]:6060"},
		{host: "localhost:http"},
		{host: "[::1"},
		{host: ""},
	}
	for _, c := range cases {
		h := handler{c: sc, listen: c.listen}
		for _, method := range []string{"GET", "PUT"} {
			req := httptest.NewRequest(method, "http://127.0.0.1/"+s.Name(), strings.NewReader("return(x)"))
			req.Host = c.host
			if c.local != nil {
				req = req.WithContext(context.WithValue(req.Context(), http.LocalAddrContextKey, c.local))
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			body := rec.Body.String()
			if c.ok {
				if rec.Code/100 != 2 {
					t.Errorf("%s with Host %q (local %v, listen %q): %d %q, want it accepted", method, c.host, c.local, c.listen, rec.Code, body)
				}
				continue
			}
			if rec.Code != http.StatusForbidden || !strings.Contains(body, fmt.Sprintf("Host %q refused: expected", c.host)) ||
				!strings.Contains(body, "loopback") {
				t.Errorf("%s with Host %q (local %v, listen %q): %d %q, want 403 naming the Host and what was expected", method, c.host, c.local, c.listen, rec.Code, body)
			}
			if c.local != nil && !strings.Contains(body, c.local.String()) || c.listen != "" && !strings.Contains(body, c.listen) {
				t.Errorf("Host %q: message %q does not name the address the server listens on", c.host, body)
			}
		}
		if st, _ := sc.Get(s.Name()); !c.ok && st.Terms != "" {
			t.Fatalf("a PUT with Host %q configured the fail point: %+v", c.host, st)
		}
		if err := sc.Disable(s.Name()); err != nil {
			t.Fatal(err)
		}
	}
}

// TestServeChecksHost: the server Serve starts refuses a foreign Host on a real connection and
// accepts the address it listens on.
func TestServeChecksHost(t *testing.T) {
	t.Parallel()
	ln, err := Serve("127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for host, want := range map[string]int{"evil.example:80": http.StatusForbidden, "": http.StatusOK, "localhost": http.StatusOK} {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+ln.Addr().String()+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		if host != "" {
			req.Host = host // else the URL's: the listen address
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET with Host %q: %d %q, want %d", host, resp.StatusCode, msg, want)
		}
	}
}

// TestHandlerBodyWithLineEnds: terms sent from a file (`curl --data-binary @file`) arrive
// with their line end; the handler accepts them and the status shows the terms without it.
func TestHandlerBodyWithLineEnds(t *testing.T) {
	t.Parallel()
	sc, ctx := TestScope(t)
	s := fresh(t)
	srv := httptest.NewServer(sc.Handler())
	defer srv.Close()
	for _, body := range []string{"1*return(file)\n", "1*return(file)\r\n", "\n1*return(file)\n\n"} {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/"+s.Name(), strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded") // what curl --data-binary sends
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("POST %q: %d %q, want 204", body, resp.StatusCode, msg)
		}
		st, err := sc.Get(s.Name())
		if err != nil || st.Terms != "1*return(file)" {
			t.Fatalf("POST %q: status %+v, %v; want terms %q", body, st, err, "1*return(file)")
		}
		if v, ok := s.EvalContext(ctx); !ok || v != "file" {
			t.Fatalf("POST %q: Eval = %q, %v; want file, true", body, v, ok)
		}
	}
}

func TestCheckListenAddr(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		addr   string
		remote bool
		ok     bool
	}{
		{"127.0.0.1:6060", false, true},
		{"127.1.2.3:0", false, true},
		{"[::1]:6060", false, true},
		{"localhost:6060", false, true},
		{":6060", false, false},
		{"0.0.0.0:6060", false, false},
		{"10.0.0.1:6060", false, false},
		{"example.com:80", false, false},
		{":6060", true, true},
		{"0.0.0.0:6060", true, true},
		{"nope", true, false},
	} {
		err := CheckListenAddr(c.addr, c.remote)
		if (err == nil) != c.ok {
			t.Errorf("CheckListenAddr(%q, %v) = %v, want ok=%v", c.addr, c.remote, err, c.ok)
		}
		if err != nil && !strings.Contains(err.Error(), c.addr) {
			t.Errorf("error %q does not name the address", err)
		}
	}
}

func TestServeFromEnv(t *testing.T) {
	// Not parallel: sets environment variables.
	t.Setenv(EnvHTTP, "")
	if ln, err := ServeFromEnv(); ln != nil || err != nil {
		t.Fatalf("unset: %v, %v", ln, err)
	}
	t.Setenv(EnvHTTP, "0.0.0.0:0")
	if _, err := ServeFromEnv(); err == nil || !strings.Contains(err.Error(), EnvHTTPAllowRemote) {
		t.Fatalf("non-loopback accepted: %v", err)
	}
	t.Setenv(EnvHTTP, "127.0.0.1:0")
	ln, err := ServeFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s := fresh(t)
	c := &Client{Addr: ln.Addr().String()}
	ctx := context.Background()
	if err := c.Set(ctx, s.Name(), "return(http)"); err != nil {
		t.Fatal(err)
	}
	defer Disable(s.Name())
	if v, ok := s.Eval(); !ok || v != "http" {
		t.Fatalf("Eval after remote set = %q, %v", v, ok)
	}
	st, err := Get(s.Name())
	if err != nil || st.Hits != 1 {
		t.Fatalf("Get = %+v, %v", st, err)
	}
	if err := (&Client{Addr: "http://[::1"}).Clear(ctx, "x"); err == nil || !strings.Contains(err.Error(), "expected host:port") {
		t.Fatalf("bad address: %v", err)
	}
}

// namesLoopback is the test's own reading of which Host headers name this machine:
// localhost or a loopback IP, perhaps in brackets, perhaps with a port.
func namesLoopback(host string) bool {
	cands := []string{host}
	if i := strings.LastIndexByte(host, ':'); i >= 0 && len(host)-i-1 <= 5 && strings.Trim(host[i+1:], "0123456789") == "" {
		cands = append(cands, host[:i])
	}
	for _, c := range cands {
		if len(c) >= 2 && c[0] == '[' && c[len(c)-1] == ']' {
			c = c[1 : len(c)-1]
		}
		if ip := net.ParseIP(c); strings.EqualFold(c, "localhost") || ip != nil && ip.IsLoopback() {
			return true
		}
	}
	return false
}

// FuzzHandler drives a scope's handler with a fuzzed method, path, Host, body and browser
// header. No request panics; none gets a 5xx, since whatever is wrong with a request is the
// client's mistake; every 4xx says why; nothing succeeds under a Host that does not name the
// loopback, or from a web page; a successful PUT stores terms that parse.
func FuzzHandler(f *testing.F) {
	sc := NewScope()
	f.Cleanup(sc.Close)
	s := New("test/FuzzHandler")
	name := "/" + s.Name()
	for _, seed := range []struct {
		method, path, host, body string
		browser                  uint8
	}{
		{"GET", "/", "127.0.0.1:6060", "", 0},
		{"GET", name, "localhost", "", 0},
		{"PUT", name, "[::1]:6060", "1*return(EIO)->off\n", 0},
		{"POST", name, "127.0.0.1", "return(:-))", 0},
		{"PUT", name, "127.0.0.1", "explode", 0},
		{"PUT", name, "evil.example:6060", "panic", 0},
		{"PUT", name, "localhost", "panic", 1},
		{"DELETE", name, "LOCALHOST:1", "", 2},
		{"DELETE", "/", "127.0.0.1", "", 0},
		{"PATCH", name, "127.0.0.1", "", 0},
		{"PUT", "/", "127.0.0.1", "off", 0},
		{"GET", "/test/none", "127.0.0.1", "", 0},
		{"", "", "", "", 0},
		{"GET", "//../%00", "127.0.0.1:http", "", 0},
	} {
		f.Add(seed.method, seed.path, seed.host, seed.body, seed.browser)
	}
	f.Fuzz(func(t *testing.T, method, path, host, body string, browser uint8) {
		req := &http.Request{
			Method: method, URL: &url.URL{Path: path}, Host: host,
			Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{}, Body: io.NopCloser(strings.NewReader(body)), RemoteAddr: "127.0.0.1:1234",
		}
		switch browser % 3 {
		case 1:
			req.Header.Set("Origin", "http://evil.example")
		case 2:
			req.Header.Set("Sec-Fetch-Site", "cross-site")
		}
		rec := httptest.NewRecorder()
		sc.Handler().ServeHTTP(rec, req)
		code, msg := rec.Code, rec.Body.String()
		switch {
		case code >= 500 && !(compiledOut && code == http.StatusNotImplemented):
			t.Fatalf("%s %q Host %q body %q: %d %q; a client's mistake is a 4xx", method, path, host, body, code, msg)
		case code >= 400 && (!strings.HasPrefix(msg, "failpoint") || len(strings.TrimSpace(msg)) < len("failpoint: x")):
			t.Fatalf("%s %q Host %q: %d with message %q; want one that says why", method, path, host, code, msg)
		case code < 300:
			if !namesLoopback(host) {
				t.Fatalf("%s %q with Host %q succeeded (%d); only loopback names may", method, path, host, code)
			}
			if browser%3 != 0 {
				t.Fatalf("%s %q from a web page succeeded (%d)", method, path, code)
			}
			if method == http.MethodPut || method == http.MethodPost {
				if _, err := Parse(body); err != nil {
					t.Fatalf("%s %q body %q succeeded (%d) though the terms do not parse: %v", method, path, body, code, err)
				}
			}
			if method == http.MethodGet && !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("GET %q: %d with a body that is not JSON: %q", path, code, msg)
			}
		}
	})
}
