package chunkcache

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/faultbox/faultbox/fault"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"
)

// DefaultListen is the server's default address: loopback only.
const DefaultListen = "127.0.0.1:7420"

// DefaultChunkSize is the default number of tokens per chunk.
const DefaultChunkSize = 256

// faultLogSize is how many recent fault events GET /v1/faults keeps.
const faultLogSize = 256

// maxRetrieveBufferBytes bounds the buffers one retrieve may allocate (chunks × buffer size).
const maxRetrieveBufferBytes = 1 << 30

// ServerConfig is what a Server is built from (NewServer) and served on (Serve). The
// command line that fills it is cmd/chunkcache's.
type ServerConfig struct {
	Adapters        []Config // the L2 adapters, cascade order (Registry.ParseAll makes them from specs)
	AdapterSpecs    []string // the specs as given, when Adapters came from specs
	SegmentedPrefix bool     // keep loaded chunks after a gap (PolicySegmentedPrefix)
	ChunkSize       int      // tokens per chunk; 0 means DefaultChunkSize
	L1CapacityBytes int64    // capacity of the L1 tier in process memory; 0 means no L1
	MaxChunkBytes   int      // largest payload of one chunk; 0 means DefaultMaxChunkBytes
	MaxRequestBytes int64    // largest request body; 0 means DefaultMaxRequestBytes
	Listen          string   // host:port Serve listens on; "" means DefaultListen
}

// Policy returns the prefix-path trim policy the config selects.
func (c ServerConfig) Policy() Policy {
	if c.SegmentedPrefix {
		return PolicySegmentedPrefix
	}
	return PolicyPrefix
}

// Limits of a ServerConfig, as Validate enforces them.
const (
	maxChunkSize     = 1 << 20
	maxMaxChunkBytes = 1 << 30
)

// Validate checks every field NewServer and Serve rely on, without touching files or the
// network. A zero ChunkSize, MaxChunkBytes, MaxRequestBytes or Listen means its default. The
// error is a *FieldError naming the field, the value and what was expected.
func (c ServerConfig) Validate() error {
	switch {
	case len(c.Adapters) == 0:
		return &FieldError{"Adapters", len(c.Adapters), "at least one L2 adapter"}
	case c.ChunkSize < 0 || c.ChunkSize > maxChunkSize:
		return &FieldError{"ChunkSize", c.ChunkSize, fmt.Sprintf("an integer in [1, %d] (0 for %d)", maxChunkSize, DefaultChunkSize)}
	case c.L1CapacityBytes < 0:
		return &FieldError{"L1CapacityBytes", c.L1CapacityBytes, "an integer ≥ 0 (0 for no L1)"}
	case c.MaxChunkBytes < 0 || c.MaxChunkBytes > maxMaxChunkBytes:
		return &FieldError{"MaxChunkBytes", c.MaxChunkBytes, fmt.Sprintf("an integer in [1, %d] (0 for %d)", maxMaxChunkBytes, DefaultMaxChunkBytes)}
	case c.MaxRequestBytes != 0 && (c.MaxRequestBytes < minRequestBytes || c.MaxRequestBytes > maxMaxRequestBytes):
		return &FieldError{"MaxRequestBytes", c.MaxRequestBytes, fmt.Sprintf("an integer in [%d, %d] (0 for %d)", minRequestBytes, maxMaxRequestBytes, DefaultMaxRequestBytes)}
	}
	if c.Listen != "" {
		if _, port, err := net.SplitHostPort(c.Listen); err != nil || port == "" {
			return &FieldError{"Listen", c.Listen, "host:port, such as " + DefaultListen}
		}
	}
	return nil
}

// Server serves a Cache over a JSON HTTP API; see docs/chunkcache.md.
type Server struct {
	cache           *Cache
	chunkSize       int
	policy          Policy
	types           []string
	started         time.Time
	maxRequestBytes int64
	maxTokens       int // tokens in one request; maxRequestTokens but in tests
	registry        *prometheus.Registry
	log             *slog.Logger

	storeRequests, retrieveRequests, badRequests atomic.Uint64
	reusedTokens, recomputedTokens               atomic.Uint64

	faultMu    sync.Mutex
	faults     []fault.Event // ring of the last faultLogSize events
	faultNext  int
	faultTotal uint64
}

// recordFault keeps e in the ring, numbered in the server's order and stamped with the wall
// time since the server started.
func (s *Server) recordFault(e fault.Event) {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	e.Seq = int64(s.faultTotal + 1)
	e.Time, e.Clock = time.Since(s.started), fault.Wall
	if len(s.faults) < faultLogSize {
		s.faults = append(s.faults, e)
	} else {
		s.faults[s.faultNext] = e
	}
	s.faultNext = (s.faultNext + 1) % faultLogSize
	s.faultTotal++
}

// FaultsResponse is the answer to GET /v1/faults.
type FaultsResponse struct {
	Total  uint64        `json:"total"`  // faults injected since start
	Recent []fault.Event `json:"recent"` // the last ones, oldest first (at most 256)
}

// Faults returns the recent fault events, oldest first.
func (s *Server) Faults() FaultsResponse {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	out := FaultsResponse{Total: s.faultTotal, Recent: make([]fault.Event, 0, len(s.faults))}
	if len(s.faults) < faultLogSize {
		out.Recent = append(out.Recent, s.faults...)
	} else {
		out.Recent = append(out.Recent, s.faults[s.faultNext:]...)
		out.Recent = append(out.Recent, s.faults[:s.faultNext]...)
	}
	return out
}

// NewServer opens the adapters of cfg and builds the server. It logs to log (nil logs
// nothing): adapters' warnings at level WARN with their line as the message (fault_inject's
// start-up line, exactly as LMCache words it), and requests that failed on the server's
// side (5xx) at level ERROR.
func NewServer(ctx context.Context, cfg ServerConfig, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("chunkcache server: config: %w", err)
	}
	if cfg.ChunkSize == 0 {
		cfg.ChunkSize = DefaultChunkSize
	}
	s := &Server{
		chunkSize:       cfg.ChunkSize,
		policy:          cfg.Policy(),
		started:         time.Now(),
		maxRequestBytes: cfg.MaxRequestBytes,
		maxTokens:       maxRequestTokens,
		log:             log,
	}
	if s.maxRequestBytes == 0 {
		s.maxRequestBytes = DefaultMaxRequestBytes
	}
	warn := func(line string) { log.WarnContext(ctx, line) }
	adapters, err := OpenAll(ctx, cfg.Adapters, Env{Warn: warn, OnFault: s.recordFault})
	if err != nil {
		return nil, err
	}
	s.cache = NewCache(CacheConfig{L1CapacityBytes: cfg.L1CapacityBytes, L2: adapters, MaxChunkBytes: cfg.MaxChunkBytes})
	for _, c := range cfg.Adapters {
		s.types = append(s.types, c.Type())
	}
	s.registry = newRegistry(s)
	return s, nil
}

// Registry returns the server's Prometheus registry, which GET /metrics exposes: the
// server's metrics, the Go runtime collector and the process collector. It is the
// server's own, not prometheus.DefaultRegisterer; a caller may register more collectors.
func (s *Server) Registry() *prometheus.Registry { return s.registry }

// Cache returns the server's cache.
func (s *Server) Cache() *Cache { return s.cache }

// Close closes the adapters.
func (s *Server) Close() error { return s.cache.Close() }

// Handler returns the HTTP API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/store", s.handleStore)
	mux.HandleFunc("POST /v1/retrieve", s.handleRetrieve)
	mux.HandleFunc("GET /v1/status", s.handleStatus)
	mux.HandleFunc("GET /v1/faults", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, s.Faults()) })
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError,
		ErrorLog:      slog.NewLogLogger(s.log.Handler(), slog.LevelError),
	}))
	return mux
}

// StoreRequest is the body of POST /v1/store: a token sequence and one payload per chunk.
type StoreRequest struct {
	Tokens   []uint32 `json:"tokens"`
	Payloads [][]byte `json:"payloads"` // base64 in JSON; one per chunk of chunk_size tokens
	KeyFields
}

// KeyFields are the key fields besides the chunk hash; all optional.
type KeyFields struct {
	Model       string `json:"model,omitempty"`
	KVRank      uint32 `json:"kv_rank,omitempty"`
	ObjectGroup uint32 `json:"object_group,omitempty"`
	CacheSalt   string `json:"cache_salt,omitempty"`
}

func (f KeyFields) key() Key {
	return Key{Model: f.Model, KVRank: f.KVRank, ObjectGroup: f.ObjectGroup, CacheSalt: f.CacheSalt}
}

// StoreResponse is the answer to POST /v1/store.
type StoreResponse struct {
	Chunks int      `json:"chunks"`
	Keys   []string `json:"keys"` // chunk hashes, lowercase hex
}

// RetrieveRequest is the body of POST /v1/retrieve.
type RetrieveRequest struct {
	Tokens      []uint32 `json:"tokens"`
	Policy      string   `json:"policy,omitempty"`       // overrides the server's policy
	WithPayload bool     `json:"with_payload,omitempty"` // return the reused chunks' bytes
	KeyFields
}

// minRequestBytes and maxMaxRequestBytes bound --max-request-bytes.
const (
	minRequestBytes    = 1 << 10
	maxMaxRequestBytes = 1 << 36
)

func (s *Server) requestLimits() requestLimits {
	return requestLimits{
		maxChunkBytes: s.cache.maxChunk,
		maxTokens:     s.maxTokens,
		maxPayloads:   (s.maxTokens + s.chunkSize - 1) / s.chunkSize,
	}
}

// body returns the request body capped at --max-request-bytes, or, when the declared
// Content-Length already passes the cap, a *requestError without reading anything.
func (s *Server) body(w http.ResponseWriter, r *http.Request) (io.Reader, error) {
	if r.ContentLength > s.maxRequestBytes {
		return nil, tooLarge("Content-Length %d; expected at most --max-request-bytes %d", r.ContentLength, s.maxRequestBytes)
	}
	return http.MaxBytesReader(w, r.Body, s.maxRequestBytes), nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	_ = enc.Encode(v)
}

// fail answers the request with code and err as a JSON error. A failure of the server's
// own (5xx) is logged too; a client's (4xx) is the client's to read.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, code int, err error) {
	s.badRequests.Add(1)
	if code >= 500 {
		s.log.ErrorContext(r.Context(), "chunkcache: request failed", "method", r.Method, "path", r.URL.Path, "status", code, "err", err)
	}
	writeJSON(w, code, map[string]string{"error": err.Error()})
}

// failRequest answers a *requestError with its status; anything else is the server's
// fault.
func (s *Server) failRequest(w http.ResponseWriter, r *http.Request, err error) {
	var re *requestError
	if errors.As(err, &re) {
		s.fail(w, r, re.status, err)
		return
	}
	s.fail(w, r, http.StatusInternalServerError, err)
}

func (s *Server) handleStore(w http.ResponseWriter, r *http.Request) {
	s.storeRequests.Add(1)
	body, err := s.body(w, r)
	if err != nil {
		s.failRequest(w, r, err)
		return
	}
	req, err := decodeStoreRequest(body, s.requestLimits())
	if err != nil {
		s.failRequest(w, r, err)
		return
	}
	keys := KeysFor(req.Tokens, s.chunkSize, req.key())
	if len(req.Payloads) != len(keys) {
		s.fail(w, r, http.StatusBadRequest, fmt.Errorf("payloads: %d tokens make %d chunks of %d, but %d payloads were given", len(req.Tokens), len(keys), s.chunkSize, len(req.Payloads)))
		return
	}
	if err := s.cache.Store(r.Context(), keys, req.Payloads); err != nil {
		code := http.StatusInternalServerError
		if errors.Is(err, ErrChunkTooLarge) {
			code = http.StatusRequestEntityTooLarge
		}
		s.fail(w, r, code, err)
		return
	}
	resp := StoreResponse{Chunks: len(keys), Keys: make([]string, len(keys))}
	for i, k := range keys {
		resp.Keys[i] = hex.EncodeToString(k.ChunkHash)
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) handleRetrieve(w http.ResponseWriter, r *http.Request) {
	s.retrieveRequests.Add(1)
	body, err := s.body(w, r)
	if err != nil {
		s.failRequest(w, r, err)
		return
	}
	req, err := decodeRetrieveRequest(body, s.requestLimits())
	if err != nil {
		s.failRequest(w, r, err)
		return
	}
	policy := s.policy
	if req.Policy != "" {
		p, err := ParsePolicy(req.Policy)
		if err != nil {
			s.fail(w, r, http.StatusBadRequest, err)
			return
		}
		policy = p
	}
	chunks := (len(req.Tokens) + s.chunkSize - 1) / s.chunkSize
	if need := int64(chunks) * int64(s.cache.BufferBytes()); need > maxRetrieveBufferBytes {
		s.fail(w, r, http.StatusBadRequest, fmt.Errorf("tokens: %d chunks would need %d bytes of load buffers (%d per chunk); the limit is %d: retrieve fewer tokens or lower --max-chunk-bytes",
			chunks, need, s.cache.BufferBytes(), maxRetrieveBufferBytes))
		return
	}
	res, err := s.cache.Retrieve(r.Context(), req.Tokens, s.chunkSize, req.key(), policy, req.WithPayload)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	s.reusedTokens.Add(uint64(res.ReusedTokens))
	s.recomputedTokens.Add(uint64(res.RecomputedTokens))
	writeJSON(w, http.StatusOK, res)
}

// AdapterStatus is one L2 adapter in GET /v1/status.
type AdapterStatus struct {
	Position   int            `json:"position"`
	Type       string         `json:"type"`
	Name       string         `json:"name"`
	Status     map[string]any `json:"status"`
	Usage      Usage          `json:"usage"`
	LockedKeys int            `json:"locked_keys"`
}

// StatusResponse is the answer to GET /v1/status.
type StatusResponse struct {
	ChunkSize int             `json:"chunk_size"`
	Policy    string          `json:"policy"`
	L1        *Usage          `json:"l1"` // null when L1 is off
	L2        []AdapterStatus `json:"l2"`
}

// Status gathers every adapter's status.
func (s *Server) Status(ctx context.Context) StatusResponse {
	resp := StatusResponse{ChunkSize: s.chunkSize, Policy: s.policy.String(), L2: []AdapterStatus{}}
	if l1 := s.cache.L1(); l1 != nil {
		u, _ := l1.Usage(ctx)
		resp.L1 = &u
	}
	for i, a := range s.cache.Adapters() {
		st := AdapterStatus{Position: i + 1, Type: s.types[i], Name: a.Name(), Status: a.Status(ctx)}
		st.Usage, _ = a.Usage(ctx)
		if li, ok := a.(LockInspector); ok {
			st.LockedKeys = len(li.LockedKeys())
		}
		resp.L2 = append(resp.L2, st)
	}
	return resp
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Status(r.Context()))
}

// WriteMetrics writes what GET /metrics answers, in the Prometheus text format (ctx is
// unused: collectors take none). It returns the first error of gathering or writing.
func (s *Server) WriteMetrics(_ context.Context, w io.Writer) error {
	mfs, gatherErr := s.registry.Gather()
	enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return fmt.Errorf("write metrics: %w", err)
		}
	}
	if gatherErr != nil {
		return fmt.Errorf("gather metrics: %w", gatherErr)
	}
	return nil
}

// Serve runs the server of cfg until ctx is done. It announces the address it listens on
// to stdout as "chunkcache: listening on http://ADDR", and logs through log/slog as text
// records to stderr: the adapters' warnings (fault_inject's start-up line is the message of
// a WARN record), a warning for a non-loopback address, failed requests and net/http's own
// errors.
func Serve(ctx context.Context, cfg ServerConfig, stdout, stderr io.Writer) error {
	log := slog.New(slog.NewTextHandler(stderr, nil))
	srv, err := NewServer(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer srv.Close()
	addr := cfg.Listen
	if addr == "" {
		addr = DefaultListen
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && !tcp.IP.IsLoopback() {
		log.WarnContext(ctx, "chunkcache: listening on a non-loopback address: the API has no authentication", "addr", tcp.String())
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelError),
	}
	fmt.Fprintf(stdout, "chunkcache: listening on http://%s\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return hs.Shutdown(shutdown)
}

// formatThousands renders n with commas between groups of three digits (1,792).
func formatThousands(n int) string {
	neg := n < 0
	if neg {
		if n == math.MinInt {
			return strconv.Itoa(n)
		}
		n = -n
	}
	s := strconv.Itoa(n)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
