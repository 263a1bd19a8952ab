package chunkcache

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/faultbox/faultbox/fault"
)

// BenchConfig is what RunBench runs. The command line that fills it is cmd/chunkcache's.
type BenchConfig struct {
	Server       string     // base URL of a chunkcache server
	Chunks       int        // chunks per request
	PayloadBytes int        // bytes per chunk payload
	Requests     int        // distinct token sequences
	Concurrency  int        // clients in parallel
	Seed         fault.Seed // derives tokens and payloads
	Model        string     // model name in the keys
}

// Limits of a BenchConfig, as Validate enforces them.
const (
	maxBenchChunks       = 1 << 16
	maxBenchPayloadBytes = 64 << 20
	maxBenchRequests     = 1 << 20
	maxBenchConcurrency  = 1024
)

// Validate checks every field RunBench relies on. The error is a *FieldError naming the
// field, the value and what was expected.
func (c BenchConfig) Validate() error {
	u, err := url.Parse(c.Server)
	if c.Server == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &FieldError{"Server", c.Server, "an http:// URL such as http://" + DefaultListen}
	}
	checks := []struct {
		field  string
		v, max int
	}{
		{"Chunks", c.Chunks, maxBenchChunks},
		{"PayloadBytes", c.PayloadBytes, maxBenchPayloadBytes},
		{"Requests", c.Requests, maxBenchRequests},
		{"Concurrency", c.Concurrency, maxBenchConcurrency},
	}
	for _, ch := range checks {
		if ch.v < 1 || ch.v > ch.max {
			return &FieldError{ch.field, ch.v, fmt.Sprintf("an integer in [1, %d]", ch.max)}
		}
	}
	return nil
}

// BenchReport is what `chunkcache bench` measured.
type BenchReport struct {
	Server           string   `json:"server"`
	Policy           string   `json:"policy"`
	ChunkSize        int      `json:"chunk_size"`
	Requests         int      `json:"requests"`
	TotalTokens      int      `json:"total_tokens"`
	ReusedTokens     int      `json:"reused_tokens"`
	PrefixTokens     int      `json:"prefix_tokens"`
	SegmentedTokens  int      `json:"segmented_tokens"`
	RecomputedTokens int      `json:"recomputed_tokens"`
	RecomputedRanges [][2]int `json:"recomputed_ranges_first_request"`
	ChunkMap         string   `json:"chunk_map_first_request"` // see chunkMap
	VerifiedChunks   int      `json:"verified_chunks"`
	Elapsed          string   `json:"elapsed"`
	elapsed          time.Duration
}

// benchSequence derives request r's tokens and payloads from the seed.
func benchSequence(seed fault.Seed, r, chunks, chunkSize, payloadBytes int) ([]uint32, [][]byte) {
	s := seed.Stream("chunkcache", "bench", strconv.Itoa(r))
	tokens := make([]uint32, chunks*chunkSize)
	for i := range tokens {
		tokens[i] = uint32(s.IntN(50000))
	}
	payloads := make([][]byte, chunks)
	for i := range payloads {
		p := make([]byte, payloadBytes+7)
		for j := 0; j < len(p)-7; j += 8 {
			binary.LittleEndian.PutUint64(p[j:], s.Uint64())
		}
		payloads[i] = p[:payloadBytes]
	}
	return tokens, payloads
}

type benchClient struct {
	base string
	http *http.Client
}

func (c benchClient) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(data)))
	}
	return json.Unmarshal(data, out)
}

// RunBench stores then retrieves cfg.Requests token sequences and reports how many tokens
// were reused and recomputed. Reused payloads are checked byte for byte.
//
// cfg must pass Validate; otherwise RunBench returns its error (naming the field, its value
// and what was expected) without contacting the server.
func RunBench(ctx context.Context, cfg BenchConfig) (BenchReport, error) {
	if err := cfg.Validate(); err != nil {
		return BenchReport{}, fmt.Errorf("bench: config: %w", err)
	}
	cfg.Server = strings.TrimSuffix(cfg.Server, "/")
	c := benchClient{base: cfg.Server, http: &http.Client{Timeout: 60 * time.Second}}
	var st StatusResponse
	if err := c.do(ctx, http.MethodGet, "/v1/status", nil, &st); err != nil {
		return BenchReport{}, fmt.Errorf("bench: status: %w", err)
	}
	if st.ChunkSize < 1 {
		return BenchReport{}, fmt.Errorf("bench: status: chunk_size %d: expected a positive integer", st.ChunkSize)
	}
	rep := BenchReport{Server: cfg.Server, Policy: st.Policy, ChunkSize: st.ChunkSize, Requests: cfg.Requests}
	start := time.Now()
	results := make([]RetrieveResult, cfg.Requests)
	verified := make([]int, cfg.Requests)
	errs := make([]error, cfg.Requests)
	var wg sync.WaitGroup
	next := make(chan int)
	for range cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range next {
				results[r], verified[r], errs[r] = benchOne(ctx, c, cfg, st.ChunkSize, r)
			}
		}()
	}
	for r := range cfg.Requests {
		next <- r
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return BenchReport{}, err
	}
	for r, res := range results {
		rep.TotalTokens += res.TotalTokens
		rep.ReusedTokens += res.ReusedTokens
		rep.PrefixTokens += res.PrefixTokens
		rep.SegmentedTokens += res.SegmentedTokens
		rep.RecomputedTokens += res.RecomputedTokens
		rep.VerifiedChunks += verified[r]
	}
	rep.RecomputedRanges = results[0].RecomputedRanges
	rep.ChunkMap = chunkMap(results[0])
	rep.elapsed = time.Since(start)
	rep.Elapsed = rep.elapsed.Round(time.Millisecond).String()
	return rep, nil
}

func benchOne(ctx context.Context, c benchClient, cfg BenchConfig, chunkSize, r int) (RetrieveResult, int, error) {
	tokens, payloads := benchSequence(cfg.Seed, r, cfg.Chunks, chunkSize, cfg.PayloadBytes)
	var sr StoreResponse
	if err := c.do(ctx, http.MethodPost, "/v1/store", StoreRequest{Tokens: tokens, Payloads: payloads, KeyFields: KeyFields{Model: cfg.Model}}, &sr); err != nil {
		return RetrieveResult{}, 0, fmt.Errorf("bench: request %d: store: %w", r, err)
	}
	var res RetrieveResult
	if err := c.do(ctx, http.MethodPost, "/v1/retrieve", RetrieveRequest{Tokens: tokens, WithPayload: true, KeyFields: KeyFields{Model: cfg.Model}}, &res); err != nil {
		return RetrieveResult{}, 0, fmt.Errorf("bench: request %d: retrieve: %w", r, err)
	}
	verified := 0
	for _, ch := range res.Chunks {
		if ch.Source == SourceNameRecompute {
			continue
		}
		if ch.Index < 0 || ch.Index >= len(payloads) || !bytes.Equal(ch.Payload, payloads[ch.Index]) {
			return RetrieveResult{}, 0, fmt.Errorf("bench: request %d: chunk %d: reused payload differs from the stored one", r, ch.Index)
		}
		verified++
	}
	return res, verified, nil
}

// chunkMap draws one character per chunk: '#' reused, '!' found but its load failed,
// '-' loaded but trimmed by the policy, '.' missing.
func chunkMap(r RetrieveResult) string {
	var b strings.Builder
	for _, ch := range r.Chunks {
		switch {
		case ch.Source != SourceNameRecompute:
			b.WriteByte('#')
		case ch.Reason == "load_failed":
			b.WriteByte('!')
		case ch.Reason == "trimmed":
			b.WriteByte('-')
		default:
			b.WriteByte('.')
		}
	}
	return b.String()
}

// WriteText prints the report for a human.
func (r BenchReport) WriteText(w io.Writer) {
	ranges := make([]string, len(r.RecomputedRanges))
	for i, rg := range r.RecomputedRanges {
		ranges[i] = fmt.Sprintf("[%d,%d)", rg[0], rg[1])
	}
	fmt.Fprintf(w, "chunkcache bench: %s, policy %s, %d request(s), chunk size %d\n", r.Server, r.Policy, r.Requests, r.ChunkSize)
	fmt.Fprintf(w, "reused tokens: %s of %s (prefix %s, segmented %s)\n", formatThousands(r.ReusedTokens), formatThousands(r.TotalTokens), formatThousands(r.PrefixTokens), formatThousands(r.SegmentedTokens))
	fmt.Fprintf(w, "recomputed tokens: %s (first request's ranges: %s)\n", formatThousands(r.RecomputedTokens), strings.Join(ranges, " "))
	fmt.Fprintf(w, "chunks of the first request: %s   (# reused, ! load failed, - trimmed, . missing)\n", r.ChunkMap)
	fmt.Fprintf(w, "payloads verified: %d chunk(s) byte for byte; elapsed %s\n", r.VerifiedChunks, r.Elapsed)
}

// Report is the bench's run in the shape every faultbox command shares: the figures
// (tokens reused and recomputed, chunks verified, elapsed), the faults (none known to the
// client: the server's injected faults are at GET /v1/faults), the check that every reused
// payload came back byte for byte, and the verdict (empty when nothing was reused, so
// nothing was checked). command is the command as typed; seed is BenchConfig.Seed.
func (r BenchReport) Report(command string, seed fault.Seed) *fault.Report {
	rep := fault.NewReport(command, seed)
	rep.Target = fmt.Sprintf("%s (policy %s, chunk size %d)", r.Server, r.Policy, r.ChunkSize)
	rep.Add("requests", r.Requests)
	rep.Add("total tokens", formatThousands(r.TotalTokens))
	rep.Add("reused tokens", formatThousands(r.ReusedTokens))
	rep.Add("prefix tokens", formatThousands(r.PrefixTokens))
	rep.Add("segmented tokens", formatThousands(r.SegmentedTokens))
	rep.Add("recomputed tokens", formatThousands(r.RecomputedTokens))
	rep.Add("chunk map of the first request", r.ChunkMap)
	rep.Add("verified chunks", r.VerifiedChunks)
	rep.Add("elapsed", r.Elapsed)
	// RunBench fails on the first payload that differs, so a report's check holds; it is
	// empty when no chunk was reused.
	if r.VerifiedChunks > 0 {
		rep.Check("payloads verified", true, "%d reused chunk(s) equal the stored payloads byte for byte", r.VerifiedChunks)
	}
	rep.Note("faults: none known to the client; the server lists what it injected at GET /v1/faults")
	rep.Judge()
	return rep
}
