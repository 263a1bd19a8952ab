package chunkcache

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
)

// fuzzServer is a server small enough that the fuzzer reaches its limits: chunks of 4
// tokens, payloads of at most 64 bytes, bodies of at most 4 KiB.
func fuzzServer(f *testing.F) *Server {
	return newServerConfig(f, ServerConfig{ChunkSize: 4, MaxChunkBytes: 64, MaxRequestBytes: 4096},
		`{"type":"fault_inject","inner":{"type":"memory"},"gap_indices":[1]}`)
}

// serveFuzz sends body to path (with its Content-Length, or without one when chunked) and
// checks what any client may rely on whatever it sends: no panic, no 5xx, only 200, 400
// or 413, and every error a JSON object with a message.
func serveFuzz(t *testing.T, h http.Handler, path string, body []byte, chunked bool) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	if chunked {
		req.ContentLength = -1
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	switch rec.Code {
	case http.StatusOK:
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		var e map[string]string
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e["error"] == "" {
			t.Fatalf("POST %s %q: %d with body %q, want a JSON object with a non-empty \"error\"", path, body, rec.Code, rec.Body)
		}
	default:
		t.Fatalf("POST %s %q: %d %s, want 200, 400 or 413", path, body, rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("POST %s %q: Content-Type %q, want application/json", path, body, ct)
	}
	return rec
}

var fuzzRequestSeeds = []string{
	`{"tokens":[1,2,3,4,5,6,7,8],"payloads":["AA==","AQ=="]}`,
	`{"tokens":[1,2,3,4,5],"payloads":["AA==","AQ=="],"model":"m","kv_rank":1,"object_group":2,"cache_salt":"s"}`,
	`{"tokens":[1,2,3,4],"policy":"SEGMENTED_PREFIX","with_payload":true}`,
	`{"tokens":[1,2,3,4],"payloads":[null],"model":null,"kv_rank":null}`,
	`{"tokens":[1],"payloads":[[1,2,3]]}`,
	`{"tokens":[1],"payloads":["` + string(bytes.Repeat([]byte("A"), 100)) + `"]}`,
	`{"tokens":null,"payloads":null}`,
	`{"tokens":[4294967296]}`,
	`{"tokens":[-1, 1.5, 1e3]}`,
	`{"tokens":[1],"tokens":[2]}`,
	`{"Tokens":[1]}`,
	`{"tok\u0065ns":[1]}`,
	`{"tokens":[1]} {}`,
	`{"tokens":[1]`,
	`{"tokens":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]}`,
	`{"policy":"nope"}`,
	`{"with_payload":"yes"}`,
	`null`,
	``,
	`[]`,
	`"x"`,
	"\xef\xbb\xbf{}",
	`{"model":"\xff\xfe"}`,
}

// FuzzStoreHandler: POST /v1/store never panics and never answers 5xx, every error
// carries a message, and whatever the decoder accepts, encoding/json accepts too and reads
// the same way (the keys the server answers are the ones the standard decoding makes).
func FuzzStoreHandler(f *testing.F) {
	srv := fuzzServer(f)
	h := srv.Handler()
	lim := srv.requestLimits()
	for _, s := range fuzzRequestSeeds {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, body []byte, chunked bool) {
		rec := serveFuzz(t, h, "/v1/store", body, chunked)
		got, err := decodeStoreRequest(bytes.NewReader(body), lim)
		var want StoreRequest
		stdErr := json.Unmarshal(body, &want)
		if err == nil {
			if stdErr != nil {
				t.Fatalf("decoded %q, which encoding/json refuses: %v", body, stdErr)
			}
			if !slices.Equal(got.Tokens, want.Tokens) || got.KeyFields != want.KeyFields ||
				!slices.EqualFunc(got.Payloads, want.Payloads, bytes.Equal) {
				t.Fatalf("%q decoded as %+v, encoding/json as %+v", body, got, want)
			}
		}
		if rec.Code != http.StatusOK {
			return
		}
		if err != nil {
			t.Fatalf("the server stored %q, which the decoder refuses: %v", body, err)
		}
		var resp StoreResponse
		if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
			t.Fatalf("200 with body %q: %v", rec.Body, err)
		}
		keys := KeysFor(want.Tokens, srv.chunkSize, want.key())
		if resp.Chunks != len(keys) || len(resp.Keys) != len(keys) || len(want.Payloads) != len(keys) {
			t.Fatalf("stored %q as %+v; encoding/json reads %d tokens (%d chunks), %d payloads", body, resp, len(want.Tokens), len(keys), len(want.Payloads))
		}
	})
}

// FuzzRetrieveHandler: POST /v1/retrieve never panics and never answers 5xx, every error
// carries a message, whatever the decoder accepts encoding/json reads the same way, and a
// 200 accounts for every token.
func FuzzRetrieveHandler(f *testing.F) {
	srv := fuzzServer(f)
	h := srv.Handler()
	lim := srv.requestLimits()
	// Something to find: a stored sequence of 3 chunks.
	{
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/store",
			bytes.NewReader([]byte(`{"tokens":[1,2,3,4,5,6,7,8,9,10],"payloads":["AA==","AQ==","Ag=="]}`))))
		if rec.Code != http.StatusOK {
			f.Fatalf("store: %d %s", rec.Code, rec.Body)
		}
	}
	f.Add([]byte(`{"tokens":[1,2,3,4,5,6,7,8,9,10],"with_payload":true,"policy":"sparse"}`), false)
	for _, s := range fuzzRequestSeeds {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, body []byte, chunked bool) {
		rec := serveFuzz(t, h, "/v1/retrieve", body, chunked)
		got, err := decodeRetrieveRequest(bytes.NewReader(body), lim)
		var want RetrieveRequest
		stdErr := json.Unmarshal(body, &want)
		if err == nil {
			if stdErr != nil {
				t.Fatalf("decoded %q, which encoding/json refuses: %v", body, stdErr)
			}
			if !slices.Equal(got.Tokens, want.Tokens) || got.KeyFields != want.KeyFields ||
				got.Policy != want.Policy || got.WithPayload != want.WithPayload {
				t.Fatalf("%q decoded as %+v, encoding/json as %+v", body, got, want)
			}
		}
		if rec.Code != http.StatusOK {
			return
		}
		if err != nil {
			t.Fatalf("the server answered %q, which the decoder refuses: %v", body, err)
		}
		var res RetrieveResult
		if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
			t.Fatalf("200 with body %q: %v", rec.Body, err)
		}
		if res.TotalTokens != len(want.Tokens) || res.ReusedTokens+res.RecomputedTokens != len(want.Tokens) {
			t.Fatalf("retrieve %q: %+v does not account for the %d tokens", body, res, len(want.Tokens))
		}
	})
}
