package chunkcache

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faultbox/faultbox/fault"
)

func newTestServer(t *testing.T, specs ...string) (*Server, *httptest.Server) {
	t.Helper()
	return newTestServerConfig(t, ServerConfig{}, specs...)
}

// newTestServerConfig is newTestServer from cfg (see newServerConfig).
func newTestServerConfig(t testing.TB, cfg ServerConfig, specs ...string) (*Server, *httptest.Server) {
	t.Helper()
	srv := newServerConfig(t, cfg, specs...)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return srv, hs
}

// serverConfig is cfg with one L2 adapter per spec (parsed by the default registry) and,
// when cfg has none, a chunk size of 64.
func serverConfig(t testing.TB, cfg ServerConfig, specs ...string) ServerConfig {
	t.Helper()
	if cfg.ChunkSize == 0 {
		cfg.ChunkSize = 64
	}
	adapters, err := DefaultRegistry().ParseAll(specs)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Adapters, cfg.AdapterSpecs = adapters, specs
	return cfg
}

// newServerConfig builds a Server (with no HTTP listener) from serverConfig(cfg, specs).
func newServerConfig(t testing.TB, cfg ServerConfig, specs ...string) *Server {
	t.Helper()
	cfg = serverConfig(t, cfg, specs...)
	srv, err := NewServer(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

// post sends in as JSON to url and decodes the reply into out (when out is not nil). It
// returns an error instead of failing the test, so client goroutines can use it.
func post(url string, in, out any) (int, error) {
	b, err := json.Marshal(in)
	if err != nil {
		return 0, fmt.Errorf("POST %s: %w", url, err)
	}
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, fmt.Errorf("POST %s: reading the body: %w", url, err)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("POST %s: %s: %w", url, data, err)
		}
	}
	return resp.StatusCode, nil
}

// mustPost is post for the test goroutine: an error fails the test.
func mustPost(t testing.TB, url string, in, out any) int {
	t.Helper()
	code, err := post(url, in, out)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// Concurrent clients under -race: every reused payload is the stored one, and the drops
// are exactly the ones fault_inject's rule predicts for each request.
func TestServerConcurrentClients(t *testing.T) {
	t.Parallel()
	srv, hs := newTestServer(t,
		`{"type":"fault_inject","inner":{"type":"memory"},"rate":0.2,"seed":3,"gap_tail_ratios":[0.5]}`,
		fmt.Sprintf(`{"type":"fs_native","base_path":%q}`, t.TempDir()))
	f := srv.Cache().Adapters()[0].(*FaultInject)
	const clients, rounds, chunks = 6, 4, 10
	var wg sync.WaitGroup
	errs := make(chan error, clients*rounds)
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				tokens, payloads := benchSequence(fault.Seed(c), r, chunks, 64, 300)
				var sr StoreResponse
				if code, err := post(hs.URL+"/v1/store", StoreRequest{Tokens: tokens, Payloads: payloads}, &sr); err != nil || code != 200 || sr.Chunks != chunks {
					errs <- fmt.Errorf("client %d: store %d %+v: %v", c, code, sr, err)
					return
				}
				policy := []string{"PREFIX", "SEGMENTED_PREFIX", "SPARSE"}[(c+r)%3]
				var res RetrieveResult
				if code, err := post(hs.URL+"/v1/retrieve", RetrieveRequest{Tokens: tokens, WithPayload: true, Policy: policy}, &res); err != nil || code != 200 {
					errs <- fmt.Errorf("client %d: retrieve %d: %v", c, code, err)
					return
				}
				// Adapter #1 drops per its rule; its failures fall through to nothing
				// (the plan never retries on adapter #2), so they are recomputed.
				drop := f.DropBitmap(KeysFor(tokens, 64, Key{}))
				for i, ch := range res.Chunks {
					reused := ch.Source != SourceNameRecompute
					wantReused := !drop.Test(i)
					if policy == "PREFIX" {
						wantReused = i < drop.Positions0()
					}
					if reused != wantReused || (reused && (ch.Adapter != 1 || !bytes.Equal(ch.Payload, payloads[i]))) {
						errs <- fmt.Errorf("client %d round %d %s chunk %d: reused=%v (adapter %d), want %v; drops %s",
							c, r, policy, i, reused, ch.Adapter, wantReused, drop)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var st StatusResponse
	resp, err := http.Get(hs.URL + "/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if len(st.L2) != 2 || st.L2[0].Type != "fault_inject" || st.L2[0].Status["fault_inject"] == nil {
		t.Fatalf("status %+v", st)
	}
	for _, a := range st.L2 {
		if a.LockedKeys != 0 {
			t.Fatalf("adapter #%d holds %d locks after all clients finished", a.Position, a.LockedKeys)
		}
	}
	metrics := scrape(t, hs.URL)
	if got := sample(t, metrics, "chunkcache_retrieve_requests_total"); got != clients*rounds {
		t.Fatalf("chunkcache_retrieve_requests_total = %v, want %d", got, clients*rounds)
	}
	// Every drop was recorded as an event, and the metrics count them by rule.
	resp, err = http.Get(hs.URL + "/v1/faults")
	if err != nil {
		t.Fatal(err)
	}
	var faults FaultsResponse
	_ = json.NewDecoder(resp.Body).Decode(&faults)
	resp.Body.Close()
	if faults.Total != f.Dropped() || faults.Total == 0 || len(faults.Recent) != int(min(faults.Total, faultLogSize)) {
		t.Fatalf("faults: total %d recent %d, adapter dropped %d", faults.Total, len(faults.Recent), f.Dropped())
	}
	// The recent events are the core's, numbered in the server's order, oldest first.
	last := faults.Recent[len(faults.Recent)-1]
	for i, e := range faults.Recent {
		if e.Layer != fault.LayerChunkcache || e.Kind != KindLoadDrop || e.Clock != fault.Wall || e.Validate() != nil ||
			e.Seq != last.Seq-int64(len(faults.Recent)-1-i) {
			t.Fatalf("recent fault %d = %+v (last seq %d)", i, e, last.Seq)
		}
	}
	if last.Seq != int64(faults.Total) {
		t.Fatalf("the last event's seq %d != total %d", last.Seq, faults.Total)
	}
	for _, r := range []DropRule{RuleTailRatio, RuleRate} {
		got := sample(t, metrics, "chunkcache_fault_inject_dropped_total", "position", "1", "rule", r.String())
		if f.DroppedBy(r) == 0 || got != float64(f.DroppedBy(r)) {
			t.Fatalf("chunkcache_fault_inject_dropped_total{rule=%q} = %v, want %d (and the rule to have fired)", r, got, f.DroppedBy(r))
		}
	}
}

// Positions0 returns the first set position (Len when none is set), i.e. where PREFIX
// stops: the first dropped position.
func (b Bitmap) Positions0() int {
	for i := range b.Len() {
		if b.Test(i) {
			return i
		}
	}
	return b.Len()
}

func TestServerBadRequests(t *testing.T) {
	t.Parallel()
	_, hs := newTestServer(t, `{"type":"memory"}`)
	// A server with small limits: 16-byte payloads, 2 KiB bodies.
	_, small := newTestServerConfig(t, ServerConfig{MaxChunkBytes: 16, MaxRequestBytes: 2048}, `{"type":"memory"}`)
	const storeFields = "tokens, payloads, model, kv_rank, object_group, cache_salt"
	manyTokens := fmt.Sprintf(`{"tokens":[%s0]}`, strings.Repeat("0,", 1500)) // 3,014 bytes
	cases := []struct {
		url     string
		path    string
		body    string
		chunked bool // send without a Content-Length
		code    int
		want    string
	}{
		{hs.URL, "/v1/store", `{"tokens":[1,2,3],"payloads":[]}`, false, 400, "payloads: 3 tokens make 1 chunks of 64, but 0 payloads were given"},
		{hs.URL, "/v1/store", `{"tokens":[1],"payload":["AA=="]}`, false, 400, `request body: unknown field "payload"; expected one of ` + storeFields},
		{hs.URL, "/v1/store", `{"tokens":[1],"Tokens":[1]}`, false, 400, `request body: unknown field "Tokens"; expected one of ` + storeFields},
		{hs.URL, "/v1/store", `{"tokens":[1],"tokens":[1]}`, false, 400, `request body: field "tokens" given twice; expected each field at most once`},
		{hs.URL, "/v1/store", `{"tokens":[1],"payloads":[7]}`, false, 400, `request body: payloads[0]: expected a base64 string, got a JSON number`},
		{hs.URL, "/v1/store", `{"tokens":[1],"payloads":["A"]}`, false, 400, `request body: payloads[0]: expected standard base64 (RFC 4648, with padding): illegal base64 data at input byte 0`},
		{hs.URL, "/v1/store", `{"tokens":[1],"payloads":"AA=="}`, false, 400, `request body: payloads: expected an array of base64 strings, got "AA=="`},
		{hs.URL, "/v1/store", `{"tokens":[1],"kv_rank":"1"}`, false, 400, `request body: kv_rank: expected an integer in [0, 4294967295], got "1"`},
		{hs.URL, "/v1/store", `{"tokens":[1],"model":{}}`, false, 400, `request body: model: expected a string, got an object`},
		{hs.URL, "/v1/store", `{"tokens":[1],`, false, 400, `request body: unexpected end of JSON input`},
		{hs.URL, "/v1/store", `{"tokens":[1}`, false, 400, `request body: tokens: invalid JSON at byte 12: invalid character '}' after array element`},
		// A JSON null (or no body, or not an object) is not a request: it used to store nothing and answer 200.
		{hs.URL, "/v1/store", `null`, false, 400, "request body: expected a JSON object, got null"},
		{hs.URL, "/v1/store", ``, false, 400, "request body: expected a JSON object, got an empty body"},
		{hs.URL, "/v1/store", `[{"tokens":[]}]`, false, 400, "request body: expected a JSON object, got an array"},
		{hs.URL, "/v1/retrieve", `null`, false, 400, "request body: expected a JSON object, got null"},
		{hs.URL, "/v1/retrieve", ` "x" `, false, 400, `request body: expected a JSON object, got "x"`},
		{hs.URL, "/v1/retrieve", `{"tokens":[1],"policy":"SUFFIX"}`, false, 400, `policy "SUFFIX": expected PREFIX, SEGMENTED_PREFIX or SPARSE`},
		{hs.URL, "/v1/retrieve", `{"tokens":[1],"with_payload":1}`, false, 400, `request body: with_payload: expected true or false, got 1`},
		{hs.URL, "/v1/retrieve", `{"tokens":[-1]}`, false, 400, "request body: tokens[0]: expected an integer in [0, 4294967295], got -1"},
		{hs.URL, "/v1/retrieve", `{"tokens":[1, 4294967296]}`, false, 400, "request body: tokens[1]: expected an integer in [0, 4294967295], got 4294967296"},
		{hs.URL, "/v1/retrieve", `{"tokens":[1.0]}`, false, 400, "request body: tokens[0]: expected an integer in [0, 4294967295], got 1.0"},
		{hs.URL, "/v1/retrieve", `{"tokens":[null]}`, false, 400, "request body: tokens[0]: expected an integer in [0, 4294967295], got null"},
		{hs.URL, "/v1/retrieve", `{"tokens":[1]} x`, false, 400, "request body: expected a single JSON object, got trailing data"},
		{hs.URL, "/v1/retrieve", `{"tokens":[1]} {}`, false, 400, "request body: expected a single JSON object, got trailing data"},
		// Nothing stored yet, so each chunk needs a --max-chunk-bytes (4 MiB) buffer: 257
		// chunks of 64 tokens pass 1 GiB.
		{hs.URL, "/v1/retrieve", fmt.Sprintf(`{"tokens":[%s0]}`, strings.Repeat("0,", 257*64-1)), false, 400,
			"tokens: 257 chunks would need 1077936128 bytes of load buffers (4194304 per chunk); the limit is 1073741824: retrieve fewer tokens or lower --max-chunk-bytes"},
		// A payload over --max-chunk-bytes is refused with 413 (it used to reach the cache
		// and answer 500).
		{small.URL, "/v1/store", `{"tokens":[1],"payloads":["AAAAAAAAAAAAAAAAAAAAAAA="]}`, false, 413,
			"request body: payloads[0]: payload of 17 bytes; expected at most 16 (--max-chunk-bytes)"},
		// A body over --max-request-bytes is refused with 413 (it used to answer 400): at
		// once when its Content-Length says so, else when the reader passes the limit.
		{small.URL, "/v1/store", manyTokens, false, 413, "request body: Content-Length 3014; expected at most --max-request-bytes 2048"},
		{small.URL, "/v1/retrieve", manyTokens, true, 413, "request body: longer than 2048 bytes; expected at most --max-request-bytes 2048"},
	}
	for _, c := range cases {
		var body io.Reader = strings.NewReader(c.body)
		if c.chunked {
			body = io.MultiReader(body) // hides the length: sent chunked
		}
		resp, err := http.Post(c.url+c.path, "application/json", body)
		if err != nil {
			t.Fatal(err)
		}
		var e map[string]string
		_ = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != c.code || e["error"] != c.want {
			t.Errorf("POST %s %.80s: %d %q, want %d %q", c.path, c.body, resp.StatusCode, e["error"], c.code, c.want)
		}
	}
	resp, err := http.Get(hs.URL + "/v1/store")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /v1/store: %d, want 405", resp.StatusCode)
	}
}

// With --l1-capacity-bytes, reused L2 chunks are promoted: the second retrieve serves them
// from L1, and only the chunk that failed goes to L2, where (as position 0 of a one-key
// load) it is dropped again.
func TestServerL1Promotion(t *testing.T) {
	t.Parallel()
	cfg := serverConfig(t, ServerConfig{ChunkSize: 256, SegmentedPrefix: true, L1CapacityBytes: 1048576},
		`{"type":"fault_inject","inner":{"type":"memory"},"gap_tail_ratios":[0.5]}`)
	srv, err := NewServer(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	tokens, payloads := benchSequence(1, 0, 8, 256, 1000)
	// Store goes to L1 as well; drop L1 so the first retrieve comes from L2.
	if code := mustPost(t, hs.URL+"/v1/store", StoreRequest{Tokens: tokens, Payloads: payloads}, &StoreResponse{}); code != 200 {
		t.Fatalf("store: %d", code)
	}
	_ = srv.Cache().L1().Delete(context.Background(), KeysFor(tokens, 256, Key{}))
	sources := func() string {
		var res RetrieveResult
		if code := mustPost(t, hs.URL+"/v1/retrieve", RetrieveRequest{Tokens: tokens}, &res); code != 200 {
			t.Fatalf("retrieve: %d", code)
		}
		var b strings.Builder
		for _, ch := range res.Chunks {
			b.WriteString(map[string]string{SourceNameL1: "1", SourceNameL2: "2", SourceNameRecompute: "r"}[ch.Source])
		}
		return b.String()
	}
	if got := sources(); got != "2222r222" {
		t.Fatalf("first retrieve sources %s, want 2222r222", got)
	}
	if got := sources(); got != "1111r111" {
		t.Fatalf("second retrieve sources %s, want 1111r111", got)
	}
	st := srv.Status(context.Background())
	if st.L1 == nil || st.L1.UsedBytes != 7*1000 {
		t.Fatalf("L1 usage %+v, want the 7 promoted chunks", st.L1)
	}
}

func TestBenchConcurrentRequests(t *testing.T) {
	t.Parallel()
	_, hs := newTestServer(t, `{"type":"fault_inject","inner":{"type":"memory"},"gap_tail_ratios":[0.5]}`)
	rep, err := RunBench(context.Background(), BenchConfig{Server: hs.URL, Chunks: 8, PayloadBytes: 512, Requests: 6, Concurrency: 3, Seed: 9, Model: "b"})
	if err != nil {
		t.Fatal(err)
	}
	// Chunk size 64 here: each request of 8 chunks loses chunk 4 and, under PREFIX, 5-7.
	if rep.ReusedTokens != 6*4*64 || rep.RecomputedTokens != 6*4*64 || rep.VerifiedChunks != 6*4 || rep.ChunkMap != "####!---" {
		t.Fatalf("report %+v", rep)
	}
}

// RunBench as a library validates its config before contacting the server: a zero count
// used to panic (Requests) or deadlock (Concurrency).
func TestRunBenchBadConfig(t *testing.T) {
	t.Parallel()
	good := BenchConfig{Server: "http://127.0.0.1:1", Chunks: 8, PayloadBytes: 64, Requests: 1, Concurrency: 1}
	cases := []struct {
		edit func(*BenchConfig)
		want string
	}{
		{func(c *BenchConfig) { c.Requests = 0 }, "bench: config: Requests 0: expected an integer in [1, 1048576]"},
		{func(c *BenchConfig) { c.Concurrency = 0 }, "bench: config: Concurrency 0: expected an integer in [1, 1024]"},
		{func(c *BenchConfig) { c.Concurrency = -3 }, "bench: config: Concurrency -3: expected an integer in [1, 1024]"},
		{func(c *BenchConfig) { c.Chunks = 0 }, "bench: config: Chunks 0: expected an integer in [1, 65536]"},
		{func(c *BenchConfig) { c.PayloadBytes = 0 }, "bench: config: PayloadBytes 0: expected an integer in [1, 67108864]"},
		{func(c *BenchConfig) { c.Server = "" }, `bench: config: Server "": expected an http:// URL such as http://127.0.0.1:7420`},
		{func(c *BenchConfig) { c.Server = "127.0.0.1:7420" }, `bench: config: Server "127.0.0.1:7420": expected an http:// URL such as http://127.0.0.1:7420`},
	}
	for _, tc := range cases {
		cfg := good
		tc.edit(&cfg)
		done := make(chan error, 1)
		go func() {
			_, err := RunBench(context.Background(), cfg)
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil || err.Error() != tc.want {
				t.Errorf("RunBench(%+v)\n got: %v\nwant: %s", cfg, err, tc.want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("RunBench(%+v) did not return within 10s (deadlock?)", cfg)
		}
	}
}
