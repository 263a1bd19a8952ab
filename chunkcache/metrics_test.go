package chunkcache

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape GETs url/metrics and parses the exposition as Prometheus does.
func scrape(t testing.TB, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("GET /metrics: not Prometheus text: %v", err)
	}
	return mfs
}

// sample returns the value of family name's sample whose labels are exactly labels (name,
// value, name, value…), failing the test when there is none.
func sample(t testing.TB, mfs map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
	mf := mfs[name]
	if mf == nil {
		t.Fatalf("no metric %s", name)
	}
	for _, m := range mf.GetMetric() {
		var got []string
		for _, l := range m.GetLabel() {
			got = append(got, l.GetName(), l.GetValue())
		}
		if !slices.Equal(got, labels) {
			continue
		}
		switch mf.GetType() {
		case dto.MetricType_COUNTER:
			return m.GetCounter().GetValue()
		case dto.MetricType_GAUGE:
			return m.GetGauge().GetValue()
		case dto.MetricType_UNTYPED:
			return m.GetUntyped().GetValue()
		}
		t.Fatalf("%s is a %s, not a counter or gauge", name, mf.GetType())
	}
	t.Fatalf("no sample %s%v", name, labels)
	return 0
}

// The metrics count what the server did: one store of 4 chunks, two retrieves through a
// fault_inject adapter that drops load position 1 (under PREFIX and SEGMENTED_PREFIX), one
// bad request; and the Go runtime and process collectors are on the same registry.
func TestServerMetrics(t *testing.T) {
	t.Parallel()
	srv, hs := newTestServer(t, `{"type":"fault_inject","inner":{"type":"memory"},"gap_indices":[1]}`)
	tokens, payloads := benchSequence(1, 0, 4, 64, 100)
	if code := mustPost(t, hs.URL+"/v1/store", StoreRequest{Tokens: tokens, Payloads: payloads}, &StoreResponse{}); code != 200 {
		t.Fatalf("store: %d", code)
	}
	for _, policy := range []string{"PREFIX", "SEGMENTED_PREFIX"} {
		if code := mustPost(t, hs.URL+"/v1/retrieve", RetrieveRequest{Tokens: tokens, Policy: policy}, &RetrieveResult{}); code != 200 {
			t.Fatalf("retrieve %s: %d", policy, code)
		}
	}
	if code := mustPost(t, hs.URL+"/v1/store", nil, nil); code != http.StatusBadRequest {
		t.Fatalf("store null: %d, want 400", code)
	}
	mfs := scrape(t, hs.URL)
	// PREFIX loads 1 0 1 1 and keeps 1 0 0 0; SEGMENTED_PREFIX keeps 1 0 1 1.
	want := []struct {
		name   string
		labels []string
		typ    dto.MetricType
		value  float64
	}{
		{"chunkcache_store_requests_total", nil, dto.MetricType_COUNTER, 2},
		{"chunkcache_retrieve_requests_total", nil, dto.MetricType_COUNTER, 2},
		{"chunkcache_bad_requests_total", nil, dto.MetricType_COUNTER, 1},
		{"chunkcache_stored_chunks_total", nil, dto.MetricType_COUNTER, 4},
		{"chunkcache_store_errors_total", nil, dto.MetricType_COUNTER, 0},
		{"chunkcache_reused_tokens_total", nil, dto.MetricType_COUNTER, 64 + 3*64},
		{"chunkcache_recomputed_tokens_total", nil, dto.MetricType_COUNTER, 3*64 + 64},
		{"chunkcache_load_failures_total", nil, dto.MetricType_COUNTER, 2},
		{"chunkcache_trimmed_chunks_total", nil, dto.MetricType_COUNTER, 2},
		{"chunkcache_chunks_total", []string{"source", "l1"}, dto.MetricType_COUNTER, 0},
		{"chunkcache_chunks_total", []string{"source", "l2"}, dto.MetricType_COUNTER, 1 + 3},
		{"chunkcache_chunks_total", []string{"source", "recompute"}, dto.MetricType_COUNTER, 3 + 1},
		{"chunkcache_adapter_used_bytes", []string{"position", "1", "type", "fault_inject"}, dto.MetricType_GAUGE, 400},
		{"chunkcache_adapter_locked_keys", []string{"position", "1", "type", "fault_inject"}, dto.MetricType_GAUGE, 0},
		{"chunkcache_fault_inject_dropped_total", []string{"position", "1", "rule", "gap_tail_ratios"}, dto.MetricType_COUNTER, 0},
		{"chunkcache_fault_inject_dropped_total", []string{"position", "1", "rule", "gap_indices"}, dto.MetricType_COUNTER, 2},
		{"chunkcache_fault_inject_dropped_total", []string{"position", "1", "rule", "rate"}, dto.MetricType_COUNTER, 0},
	}
	for _, w := range want {
		if got := sample(t, mfs, w.name, w.labels...); got != w.value {
			t.Errorf("%s%v = %v, want %v", w.name, w.labels, got, w.value)
		}
		if typ := mfs[w.name].GetType(); typ != w.typ {
			t.Errorf("%s is a %s, want a %s", w.name, typ, w.typ)
		}
		if mfs[w.name].GetHelp() == "" {
			t.Errorf("%s has no help text", w.name)
		}
	}
	for _, name := range []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "process_resident_memory_bytes", "process_start_time_seconds"} {
		if v := sample(t, mfs, name); v <= 0 {
			t.Errorf("%s = %v, want > 0", name, v)
		}
	}
	// WriteMetrics writes the same exposition.
	var b bytes.Buffer
	if err := srv.WriteMetrics(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	written, err := p.TextToMetricFamilies(&b)
	if err != nil {
		t.Fatalf("WriteMetrics: not Prometheus text: %v", err)
	}
	if got := sample(t, written, "chunkcache_store_requests_total"); got != 2 {
		t.Errorf("WriteMetrics: chunkcache_store_requests_total = %v, want 2", got)
	}
}

// Each server has a registry of its own: two servers in one process (which would collide
// on the global registry) count apart, and each exposes the runtime collectors.
func TestServerMetricsPerServer(t *testing.T) {
	t.Parallel()
	_, a := newTestServer(t, `{"type":"memory"}`)
	srvB, b := newTestServer(t, `{"type":"memory"}`)
	if code := mustPost(t, a.URL+"/v1/store", StoreRequest{Tokens: []uint32{1}, Payloads: [][]byte{{1}}}, &StoreResponse{}); code != 200 {
		t.Fatalf("store: %d", code)
	}
	if got := sample(t, scrape(t, a.URL), "chunkcache_store_requests_total"); got != 1 {
		t.Errorf("server A: chunkcache_store_requests_total = %v, want 1", got)
	}
	mfsB := scrape(t, b.URL)
	if got := sample(t, mfsB, "chunkcache_store_requests_total"); got != 0 {
		t.Errorf("server B: chunkcache_store_requests_total = %v, want 0 (A's store counted on B)", got)
	}
	if sample(t, mfsB, "go_goroutines") <= 0 {
		t.Error("server B: go_goroutines missing")
	}
	if srvB.Registry() == nil {
		t.Error("Registry() is nil")
	}
}
