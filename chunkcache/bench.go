package chunkcache

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
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

// BenchConfig is the parsed command line of `chunkcache bench`.
type BenchConfig struct {
	Server       string     // base URL of a chunkcache server
	Chunks       int        // chunks per request
	PayloadBytes int        // bytes per chunk payload
	Requests     int        // distinct token sequences
	Concurrency  int        // clients in parallel
	Seed         fault.Seed // derives tokens and payloads
	Model        string
	JSON         bool // print the report as JSON
}

// ParseBenchFlags parses the arguments of `chunkcache bench`.
func ParseBenchFlags(args []string) (BenchConfig, error) {
	c := BenchConfig{}
	fs := flag.NewFlagSet("chunkcache bench", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.Server, "server", "", "server base URL, e.g. http://127.0.0.1:7420")
	fs.IntVar(&c.Chunks, "chunks", 8, "chunks per token sequence")
	fs.IntVar(&c.PayloadBytes, "payload-bytes", 4096, "bytes per chunk payload")
	fs.IntVar(&c.Requests, "requests", 1, "distinct token sequences to store then retrieve")
	fs.IntVar(&c.Concurrency, "concurrency", 1, "clients in parallel")
	c.Seed = 1
	fs.Var(&c.Seed, "seed", "seed of the tokens and payloads, decimal or 0x hex (default 1)")
	fs.StringVar(&c.Model, "model", "bench", "model name in the keys")
	fs.BoolVar(&c.JSON, "json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		return BenchConfig{}, fmt.Errorf("chunkcache bench: %w", err)
	}
	if fs.NArg() > 0 {
		return BenchConfig{}, fmt.Errorf("chunkcache bench: unexpected argument %q; expected only flags", fs.Arg(0))
	}
	if err := c.validate(true); err != nil {
		return BenchConfig{}, fmt.Errorf("chunkcache bench: %w", err)
	}
	c.Server = strings.TrimSuffix(c.Server, "/")
	return c, nil
}

// validate checks every field RunBench relies on. Errors name the field as a flag
// (--requests) when flags is true, else as the BenchConfig field (Requests).
func (c BenchConfig) validate(flags bool) error {
	name := func(flag, field string) string {
		if flags {
			return "--" + flag
		}
		return field
	}
	u, err := url.Parse(c.Server)
	if c.Server == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s %q: expected an http:// URL such as http://%s", name("server", "Server"), c.Server, DefaultListen)
	}
	checks := []struct {
		flag, field string
		v, max      int
	}{
		{"chunks", "Chunks", c.Chunks, 1 << 16},
		{"payload-bytes", "PayloadBytes", c.PayloadBytes, 64 << 20},
		{"requests", "Requests", c.Requests, 1 << 20},
		{"concurrency", "Concurrency", c.Concurrency, 1024},
	}
	for _, ch := range checks {
		if ch.v < 1 || ch.v > ch.max {
			return fmt.Errorf("%s %d: expected an integer in [1, %d]", name(ch.flag, ch.field), ch.v, ch.max)
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
// Every count in cfg must be at least 1 (and within the bounds ParseBenchFlags enforces);
// otherwise RunBench returns an error naming the field, its value and what was expected.
func RunBench(ctx context.Context, cfg BenchConfig) (BenchReport, error) {
	if err := cfg.validate(false); err != nil {
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
