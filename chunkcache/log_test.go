package chunkcache

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// brokenConfig opens a memory adapter whose every store fails: a failure of the server's
// side, not the client's.
type brokenConfig struct{}

func (brokenConfig) Type() string { return "broken" }
func (brokenConfig) Open(context.Context, Env) (Adapter, error) {
	return brokenStore{NewMemory(1 << 20)}, nil
}

type brokenStore struct{ *Memory }

func (brokenStore) Store(context.Context, []Key, [][]byte) error { return errors.New("disk on fire") }

// logRecords parses JSON slog output into one map per record.
func logRecords(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if l == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("log line %q is not a JSON record: %v", l, err)
		}
		out = append(out, rec)
	}
	return out
}

// The server logs through the *slog.Logger it is given: the fault_inject start-up line is
// the message of a WARN record, word for word; a request that fails on the server's side
// is an ERROR record naming it; a client's bad request logs nothing.
func TestServerLogs(t *testing.T) {
	t.Parallel()
	var logBuf bytes.Buffer // written only while NewServer runs and from the handler below, in this goroutine
	log := slog.New(slog.NewJSONHandler(&logBuf, nil))
	cfg := serverConfig(t, ServerConfig{ChunkSize: 4}, `{"type":"fault_inject","inner":{"type":"memory"},"gap_indices":[2,0]}`)
	cfg.Adapters = append(cfg.Adapters, brokenConfig{})
	srv, err := NewServer(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	recs := logRecords(t, logBuf.Bytes())
	const line = "FaultInjectL2Adapter ACTIVE (rate=0.000 seed=0 gap_indices=[0, 2] gap_tail_ratios=[]) wrapping MemoryL2Adapter -- test/diagnostic use only."
	if len(recs) != 1 || recs[0]["level"] != "WARN" || recs[0]["msg"] != line {
		t.Fatalf("start-up log %v, want one WARN record with message %q", recs, line)
	}
	logBuf.Reset()

	h := srv.Handler()
	post := func(body string) int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/store", strings.NewReader(body)))
		return rec.Code
	}
	if code := post(`null`); code != http.StatusBadRequest {
		t.Fatalf("store null: %d, want 400", code)
	}
	if logBuf.Len() != 0 {
		t.Fatalf("a client's bad request was logged: %s", logBuf.String())
	}
	if code := post(`{"tokens":[1],"payloads":["AA=="]}`); code != http.StatusInternalServerError {
		t.Fatalf("store on a broken adapter: %d, want 500", code)
	}
	recs = logRecords(t, logBuf.Bytes())
	if len(recs) != 1 {
		t.Fatalf("a failed store logged %d records, want 1: %s", len(recs), logBuf.String())
	}
	r := recs[0]
	if r["level"] != "ERROR" || r["msg"] != "chunkcache: request failed" || r["method"] != "POST" || r["path"] != "/v1/store" ||
		r["status"] != float64(500) || !strings.Contains(r["err"].(string), "l2 adapter #2 (MemoryL2Adapter): disk on fire") {
		t.Fatalf("failed store logged %v", r)
	}
}

// NewServer with a nil logger logs nothing and works.
func TestServerNilLogger(t *testing.T) {
	t.Parallel()
	srv := newServerConfig(t, ServerConfig{}, `{"type":"fault_inject","inner":{"type":"memory"},"rate":0.5}`)
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/store", strings.NewReader(`{"tokens":[1],"payloads":["AA=="]}`)))
	if rec.Code != http.StatusOK {
		t.Fatalf("store: %d %s", rec.Code, rec.Body)
	}
}
