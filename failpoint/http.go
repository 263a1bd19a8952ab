package failpoint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Environment variables of ServeFromEnv.
const (
	// EnvHTTP is the address ServeFromEnv listens on, such as 127.0.0.1:6060.
	EnvHTTP = "FAILPOINTS_HTTP"
	// EnvHTTPAllowRemote, set to 1, lets ServeFromEnv listen on a non-loopback address.
	EnvHTTPAllowRemote = "FAILPOINTS_HTTP_ALLOW_REMOTE"
)

const maxBodyBytes = maxTermsBytes

// controller is what the handler drives: the process-wide registry or a scope.
type controller interface {
	Enable(name, terms string) error
	Disable(name string) error
	DisableAll()
	List() []Status
	Get(name string) (Status, error)
}

type global struct{}

func (global) Enable(name, terms string) error { return Enable(name, terms) }
func (global) Disable(name string) error       { return Disable(name) }
func (global) DisableAll()                     { DisableAll() }
func (global) List() []Status                  { return List() }
func (global) Get(name string) (Status, error) { return Get(name) }

// Handler returns the HTTP control of the process-wide registry. Mount it anywhere, under a
// prefix with http.StripPrefix. Paths are relative to the mount point:
//
//	GET    /         the status of every fail point, as a JSON array
//	GET    /NAME     the status of one, as a JSON object
//	PUT    /NAME     enable NAME with the terms in the request body (POST works too)
//	DELETE /NAME     disable NAME
//	DELETE /         disable every fail point
//
// Anyone who can reach it can make the process panic, pause or fail: never expose it beyond
// the machine (see ServeFromEnv). Requests that a browser marks as coming from a web page
// (Origin or Sec-Fetch-Site headers) are refused with 403, and so are requests whose Host
// header names neither a loopback address (127.0.0.0/8, ::1, localhost) nor the address the
// connection reached (which defeats DNS rebinding).
func Handler() http.Handler { return handler{c: global{}} }

// Handler returns the HTTP control of the scope; see the package-level Handler.
func (sc *Scope) Handler() http.Handler { return handler{c: sc} }

type handler struct {
	c controller
	// listen is the host:port that Serve listens on, as it was given (with the port it got),
	// which a client may name in Host; "" when the caller mounts the handler.
	listen string
}

func (h handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// DNS rebinding: a page from a name the attacker controls, which then resolves to this
	// machine, talks to the endpoint as to its own origin, so its requests may carry no Origin
	// (a GET) but they carry the attacker's name in Host.
	if err := h.checkHost(r); err != nil {
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	// A web page the operator visits could otherwise reach a loopback endpoint from the
	// browser (a form POST needs no preflight). Browsers mark such requests with Origin or
	// Sec-Fetch-Site; command-line clients send neither.
	if r.Header.Get("Origin") != "" || r.Header.Get("Sec-Fetch-Site") != "" {
		http.Error(w, "failpoint: requests from web pages are refused", http.StatusForbidden)
		return
	}
	name := strings.TrimPrefix(r.URL.Path, "/")
	switch {
	case name == "" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, h.c.List())
	case name == "" && r.Method == http.MethodDelete:
		h.c.DisableAll()
		w.WriteHeader(http.StatusNoContent)
	case name == "":
		w.Header().Set("Allow", "GET, DELETE")
		http.Error(w, "failpoint: method "+r.Method+" not allowed on the list", http.StatusMethodNotAllowed)
	case r.Method == http.MethodGet:
		st, err := h.c.Get(name)
		if err != nil {
			httpError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, st)
	case r.Method == http.MethodPut || r.Method == http.MethodPost:
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
		if err != nil {
			http.Error(w, "failpoint: read body: "+err.Error(), http.StatusBadRequest)
			return
		}
		if len(body) > maxBodyBytes {
			http.Error(w, fmt.Sprintf("failpoint: body over %d bytes", maxBodyBytes), http.StatusRequestEntityTooLarge)
			return
		}
		if err := h.c.Enable(name, string(body)); err != nil {
			httpError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodDelete:
		if err := h.c.Disable(name); err != nil {
			httpError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Allow", "GET, PUT, POST, DELETE")
		http.Error(w, "failpoint: method "+r.Method+" not allowed", http.StatusMethodNotAllowed)
	}
}

// checkHost accepts a Host header that is a loopback IP (127.0.0.0/8, ::1), localhost, the
// address the connection reached, or the address Serve was given; each with or without a
// port.
func (h handler) checkHost(r *http.Request) error {
	name, port, ok := splitHost(r.Host)
	if ok {
		if strings.EqualFold(name, "localhost") {
			return nil
		}
		ip := net.ParseIP(name)
		if ip != nil && ip.IsLoopback() {
			return nil
		}
		if local, _ := r.Context().Value(http.LocalAddrContextKey).(*net.TCPAddr); local != nil && ip != nil &&
			ip.Equal(local.IP) && samePort(port, strconv.Itoa(local.Port)) {
			return nil
		}
		if lname, lport, err := net.SplitHostPort(h.listen); err == nil && lname != "" && samePort(port, lport) &&
			(strings.EqualFold(name, lname) || ip != nil && ip.Equal(net.ParseIP(lname))) {
			return nil
		}
	}
	expected := "a loopback address (127.0.0.0/8, [::1]) or localhost, with or without a port"
	var reached []string
	if local, _ := r.Context().Value(http.LocalAddrContextKey).(*net.TCPAddr); local != nil {
		reached = append(reached, local.String())
	}
	if h.listen != "" && !slices.Contains(reached, h.listen) {
		reached = append(reached, h.listen)
	}
	if len(reached) > 0 {
		expected += ", or the address the server listens on (" + strings.Join(reached, ", ") + ")"
	}
	return fmt.Errorf("failpoint: Host %q refused: expected %s (a web page can reach a loopback port under another name by DNS rebinding)",
		clip(r.Host), expected)
}

// splitHost cuts a Host header into name and port ("" when absent); ok is false when the
// port is not a number.
func splitHost(host string) (name, port string, ok bool) {
	name = host
	if n, p, err := net.SplitHostPort(host); err == nil {
		name, port = n, p
	} else if len(host) > 1 && host[0] == '[' && host[len(host)-1] == ']' {
		name = host[1 : len(host)-1]
	}
	if len(port) > 5 || strings.Trim(port, "0123456789") != "" {
		return "", "", false
	}
	return name, port, name != ""
}

// samePort reports whether a Host's port (perhaps "", meaning 80) is want.
func samePort(port, want string) bool {
	if port == "" {
		port = "80"
	}
	return strings.TrimLeft(port, "0") == strings.TrimLeft(want, "0")
}

func httpError(w http.ResponseWriter, err error) {
	code := http.StatusBadRequest
	switch {
	case errors.Is(err, ErrNotRegistered):
		code = http.StatusNotFound
	case errors.Is(err, ErrCompiledOut):
		code = http.StatusNotImplemented
	case errors.Is(err, ErrScopeClosed):
		code = http.StatusGone
	}
	http.Error(w, err.Error(), code)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// CheckListenAddr refuses an address that is not loopback (127.0.0.0/8, ::1 or localhost)
// unless allowRemote: an empty host or 0.0.0.0 listens on every interface.
func CheckListenAddr(addr string, allowRemote bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("failpoint: %s=%q: expected host:port: %w", EnvHTTP, addr, err)
	}
	if allowRemote {
		return nil
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("failpoint: %s=%q: expected a loopback address (127.0.0.1, ::1, localhost); the endpoint can crash the process, set %s=1 to allow %q",
		EnvHTTP, addr, EnvHTTPAllowRemote, host)
}

// ServeFromEnv serves Handler at "/" on the address in FAILPOINTS_HTTP, refusing a
// non-loopback address unless FAILPOINTS_HTTP_ALLOW_REMOTE=1. It returns the listener (close
// it to stop) or nil when the variable is unset. Call it from main; the package never listens
// on its own.
func ServeFromEnv() (net.Listener, error) {
	addr := os.Getenv(EnvHTTP)
	if addr == "" {
		return nil, nil
	}
	return Serve(addr, os.Getenv(EnvHTTPAllowRemote) == "1")
}

// Serve listens on addr (see CheckListenAddr) and serves Handler at "/" in a goroutine until
// the returned listener is closed.
func Serve(addr string, allowRemote bool) (net.Listener, error) {
	if err := CheckListenAddr(addr, allowRemote); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("failpoint: listen %s: %w", addr, err)
	}
	h := handler{c: global{}}
	if host, _, err := net.SplitHostPort(addr); err == nil && host != "" {
		if tcp, ok := ln.Addr().(*net.TCPAddr); ok {
			h.listen = net.JoinHostPort(host, strconv.Itoa(tcp.Port))
		}
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return ln, nil
}

// Client talks to a Handler over HTTP; it is the logic of `faultbox failpoints`.
type Client struct {
	// Addr is host:port or a URL with the handler's mount point, such as
	// http://127.0.0.1:6060/failpoints.
	Addr string
	// HTTP is the client to use; nil means one with a 10 s timeout.
	HTTP *http.Client
}

func (c *Client) url(name string) (string, error) {
	base := c.Addr
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("failpoint: address %q: expected host:port or http://host:port/prefix", c.Addr)
	}
	return strings.TrimSuffix(u.String(), "/") + "/" + url.PathEscape(name), nil
}

func (c *Client) do(ctx context.Context, method, name, body string) ([]byte, error) {
	u, err := c.url(name)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, method, u, strings.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("failpoint: %s %s: %w", method, u, err)
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("failpoint: %s %s: %w", method, u, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("failpoint: %s %s: read response: %w", method, u, err)
	}
	if resp.StatusCode/100 != 2 {
		msg := strings.TrimSpace(string(data))
		err := fmt.Errorf("failpoint: %s %s: %s: %s", method, u, resp.Status, msg)
		if resp.StatusCode == http.StatusNotFound {
			err = fmt.Errorf("%w (%w)", err, ErrNotRegistered)
		}
		return nil, err
	}
	return data, nil
}

// List returns the status of every fail point of the remote registry.
func (c *Client) List(ctx context.Context) ([]Status, error) {
	data, err := c.do(ctx, http.MethodGet, "", "")
	if err != nil {
		return nil, err
	}
	var out []Status
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("failpoint: list from %s: decode: %w", c.Addr, err)
	}
	return out, nil
}

// Set enables name with terms in the remote registry. The terms are checked here first, so a
// typo is reported with its position without a round trip.
func (c *Client) Set(ctx context.Context, name, terms string) error {
	if err := checkName(name); err != nil {
		return fmt.Errorf("failpoint: set: %w", err)
	}
	if _, err := Parse(terms); err != nil {
		return err
	}
	_, err := c.do(ctx, http.MethodPut, name, terms)
	return err
}

// Clear disables name in the remote registry, or every fail point when name is "".
func (c *Client) Clear(ctx context.Context, name string) error {
	_, err := c.do(ctx, http.MethodDelete, name, "")
	return err
}

// WriteList writes statuses as an aligned table, one fail point a line.
func WriteList(w io.Writer, list []Status) error {
	width := len("NAME")
	for _, s := range list {
		width = max(width, len(s.Name))
	}
	var b strings.Builder
	line := func(format string, args ...any) {
		b.WriteString(strings.TrimRight(fmt.Sprintf(format, args...), " "))
		b.WriteByte('\n')
	}
	line("%-*s  %-10s  %8s  %8s  %s", width, "NAME", "STATE", "HITS", "FIRED", "TERMS")
	for _, s := range list {
		state := "off"
		switch {
		case !s.Registered:
			state = "pending"
		case s.Terms != "":
			state = "on"
		}
		line("%-*s  %-10s  %8d  %8d  %s", width, s.Name, state, s.Hits, s.Fired, s.Terms)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
