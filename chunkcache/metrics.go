package chunkcache

import (
	"context"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// The server's metrics. Each is read at scrape time from the counters the server and its
// cache keep, so the registry holds no second copy of them.
var (
	descStoreRequests    = prometheus.NewDesc("chunkcache_store_requests_total", "HTTP store requests.", nil, nil)
	descRetrieveRequests = prometheus.NewDesc("chunkcache_retrieve_requests_total", "HTTP retrieve requests.", nil, nil)
	descBadRequests      = prometheus.NewDesc("chunkcache_bad_requests_total", "HTTP requests answered with an error.", nil, nil)
	descStoredChunks     = prometheus.NewDesc("chunkcache_stored_chunks_total", "Chunks stored in every tier.", nil, nil)
	descStoreErrors      = prometheus.NewDesc("chunkcache_store_errors_total", "Store batches that failed on some L2 adapter.", nil, nil)
	descReusedTokens     = prometheus.NewDesc("chunkcache_reused_tokens_total", "Tokens served from a cache tier.", nil, nil)
	descRecomputedTokens = prometheus.NewDesc("chunkcache_recomputed_tokens_total", "Tokens the caller must recompute.", nil, nil)
	descLoadFailures     = prometheus.NewDesc("chunkcache_load_failures_total", "Chunks found at lookup whose load failed.", nil, nil)
	descTrimmedChunks    = prometheus.NewDesc("chunkcache_trimmed_chunks_total", "Loaded chunks dropped by the trim policy.", nil, nil)
	descChunks           = prometheus.NewDesc("chunkcache_chunks_total", "Retrieved chunks by source.", []string{"source"}, nil)
	descAdapterUsed      = prometheus.NewDesc("chunkcache_adapter_used_bytes", "Bytes held by each L2 adapter.", []string{"position", "type"}, nil)
	descAdapterLocked    = prometheus.NewDesc("chunkcache_adapter_locked_keys", "Keys locked right now in each L2 adapter.", []string{"position", "type"}, nil)
	descFaultDropped     = prometheus.NewDesc("chunkcache_fault_inject_dropped_total", "Loads failed on purpose by each fault_inject adapter, by rule.", []string{"position", "rule"}, nil)
)

// newRegistry returns a registry of its own for s (never the global default one, so that
// servers in one process count apart): the server's metrics, the Go runtime's and the
// process's.
func newRegistry(s *Server) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		serverCollector{s},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// serverCollector is a prometheus.Collector over a Server's counters.
type serverCollector struct{ s *Server }

// Describe implements prometheus.Collector.
func (c serverCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descStoreRequests, descRetrieveRequests, descBadRequests, descStoredChunks,
		descStoreErrors, descReusedTokens, descRecomputedTokens, descLoadFailures, descTrimmedChunks, descChunks,
		descAdapterUsed, descAdapterLocked, descFaultDropped} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c serverCollector) Collect(ch chan<- prometheus.Metric) {
	s, m := c.s, &c.s.cache.m
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), labels...)
	}
	counter(descStoreRequests, s.storeRequests.Load())
	counter(descRetrieveRequests, s.retrieveRequests.Load())
	counter(descBadRequests, s.badRequests.Load())
	counter(descStoredChunks, m.storedChunks.Load())
	counter(descStoreErrors, m.storeErrors.Load())
	counter(descReusedTokens, s.reusedTokens.Load())
	counter(descRecomputedTokens, s.recomputedTokens.Load())
	counter(descLoadFailures, m.loadFailures.Load())
	counter(descTrimmedChunks, m.trimmed.Load())
	counter(descChunks, m.fromL1.Load(), "l1")
	counter(descChunks, m.fromL2.Load(), "l2")
	counter(descChunks, m.recomputed.Load(), "recompute")
	// Collect has no context; Usage of every built-in adapter reads local counters.
	ctx := context.Background()
	for i, a := range s.cache.Adapters() {
		pos := strconv.Itoa(i + 1)
		u, _ := a.Usage(ctx)
		gauge(descAdapterUsed, u.UsedBytes, pos, s.types[i])
		locked := 0
		if li, ok := a.(LockInspector); ok {
			locked = len(li.LockedKeys())
		}
		gauge(descAdapterLocked, int64(locked), pos, s.types[i])
		if f, ok := a.(*FaultInject); ok {
			for _, r := range []DropRule{RuleTailRatio, RuleGapIndex, RuleRate} {
				counter(descFaultDropped, f.DroppedBy(r), pos, r.String())
			}
		}
	}
}
