package chunkcache

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
)

// lazyBody is a request body of size bytes, head then unit repeated then tail, generated
// as it is read: the test never holds the body, so what the server allocates is the
// server's.
type lazyBody struct {
	head, unit, tail []byte
	size             int64 // total bytes it would produce
	read             int64 // bytes handed out so far
}

func newLazyBody(head, unit, tail string, size int64) *lazyBody {
	return &lazyBody{head: []byte(head), unit: []byte(unit), tail: []byte(tail), size: size}
}

func (b *lazyBody) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) && b.read < b.size {
		var src []byte
		switch bodyEnd := b.size - int64(len(b.tail)); {
		case b.read < int64(len(b.head)):
			src = b.head[b.read:]
		case b.read >= bodyEnd:
			src = b.tail[b.read-bodyEnd:]
		default:
			off := (b.read - int64(len(b.head))) % int64(len(b.unit))
			src = b.unit[off:]
			if rest := bodyEnd - b.read; int64(len(src)) > rest {
				src = src[:rest]
			}
		}
		c := copy(p[n:], src)
		n += c
		b.read += int64(c)
	}
	if n == 0 && b.read >= b.size {
		return 0, io.EOF
	}
	return n, nil
}

// allocatedBy returns the bytes the process allocated while fn ran. The caller must not
// run in parallel with other tests.
func allocatedBy(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// A refused request costs memory in proportion to the limits, not to the body: the body is
// decoded as a stream, one JSON value at a time, and no value longer than one payload's
// base64 (with room for escapes) is held. Before, the whole body was buffered (and grown by
// doubling) before anything was decoded: a refused 300 MB body cost ~800 MB of RSS.
//
// Not parallel: it measures the process's allocations.
func TestServerRequestMemoryBounded(t *testing.T) {
	const (
		chunkBytes   = 1 << 20  // --max-chunk-bytes
		requestBytes = 32 << 20 // --max-request-bytes
		maxTokens    = 1 << 16
		bodyBytes    = 1 << 30 // what each lazy body would send if it were read to the end
		MiB          = 1 << 20
	)
	srv := newServerConfig(t, ServerConfig{MaxChunkBytes: chunkBytes, MaxRequestBytes: requestBytes},
		`{"type":"memory","capacity_bytes":1073741824}`)
	srv.maxTokens = maxTokens // the real limit (16 Mi tokens) would make this test slow
	h := srv.Handler()
	payload := `"` + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xa5}, chunkBytes)) + `",`
	valueBytes := srv.requestLimits().maxValueBytes()
	cases := []struct {
		name       string
		path       string
		body       *lazyBody
		known      bool   // send a Content-Length
		want       string // error message prefix
		readMax    int64  // the most of the body the server may read
		allocMax   uint64
		allocWhere string
	}{
		{"one endless payload", "/v1/store", newLazyBody(`{"tokens":[1],"payloads":["`, "AAAA", `"]}`, bodyBytes), false,
			"request body: payloads[0]: a JSON value longer than", valueBytes + 64<<10, 4 * uint64(valueBytes), "the decoder's buffer, grown to one value"},
		{"payloads up to the body limit", "/v1/store", newLazyBody(`{"tokens":[1],"payloads":[`, payload, `""]}`, bodyBytes), false,
			"request body: longer than 33554432 bytes", requestBytes + 1, requestBytes + 4*uint64(valueBytes), "the payloads decoded before the limit, plus the buffer"},
		{"Content-Length over the limit", "/v1/store", newLazyBody(`{"tokens":[1],"payloads":[`, payload, `""]}`, 300_000_000), true,
			"request body: Content-Length 300000000; expected at most --max-request-bytes 33554432", 0, 64 << 10, "nothing: refused unread"},
		{"endless tokens", "/v1/retrieve", newLazyBody(`{"tokens":[`, "7,", `7]}`, bodyBytes), false,
			"request body: tokens: more than 65536", 1 * MiB, maxTokens * 128, "65,536 tokens, at most 128 bytes each (garbage, but counted)"},
		{"endless empty payloads", "/v1/store", newLazyBody(`{"payloads":[`, `"",`, `""]}`, bodyBytes), false,
			"request body: payloads: more than 1024", 1 * MiB, 4 * MiB, "1,024 empty payloads"},
		{"endless whitespace", "/v1/retrieve", newLazyBody(`{"tokens":`, "    ", `[]}`, bodyBytes), false,
			"request body: tokens: a JSON value longer than", valueBytes + 64<<10, 4 * uint64(valueBytes), "the decoder's buffer"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, tc.path, tc.body)
			req.ContentLength = -1
			if tc.known {
				req.ContentLength = tc.body.size
			}
			rec := httptest.NewRecorder()
			alloc := allocatedBy(func() { h.ServeHTTP(rec, req) })
			var e map[string]string
			_ = json.Unmarshal(rec.Body.Bytes(), &e)
			if rec.Code != http.StatusRequestEntityTooLarge || !strings.HasPrefix(e["error"], tc.want) {
				t.Fatalf("%d %q, want 413 %q…", rec.Code, e["error"], tc.want)
			}
			if tc.body.read > tc.readMax {
				t.Errorf("the server read %d bytes of the body, want at most %d", tc.body.read, tc.readMax)
			}
			if alloc > tc.allocMax {
				t.Errorf("refusing a %d-byte body allocated %d bytes, want at most %d (%s)", tc.body.size, alloc, tc.allocMax, tc.allocWhere)
			}
			t.Logf("read %d of %d bytes, allocated %d bytes: %s", tc.body.read, tc.body.size, alloc, e["error"])
		})
	}
}

// A store that fits is decoded without a copy of the body: it allocates the decoded
// payloads, the memory adapter's copy of them and little else. Before, it also allocated
// the whole body (twice over, as the buffer grew).
//
// Not parallel: it measures the process's allocations.
func TestServerStoreMemory(t *testing.T) {
	const chunks, chunkBytes = 16, 1 << 20
	srv := newServerConfig(t, ServerConfig{MaxChunkBytes: chunkBytes}, `{"type":"memory","capacity_bytes":1073741824}`)
	h := srv.Handler()
	tokens := strings.TrimSuffix(strings.Repeat("1,", chunks*64), ",")
	payload := `"` + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x5a}, chunkBytes)) + `"`
	body := newLazyBody(`{"tokens":[`+tokens+`],"payloads":[`, payload+",", payload+`]}`,
		int64(len(`{"tokens":[`+tokens+`],"payloads":[`)+chunks*(len(payload)+1)+1))
	req := httptest.NewRequest(http.MethodPost, "/v1/store", body)
	req.ContentLength = body.size
	rec := httptest.NewRecorder()
	alloc := allocatedBy(func() { h.ServeHTTP(rec, req) })
	if rec.Code != http.StatusOK {
		t.Fatalf("store: %d %s", rec.Code, rec.Body)
	}
	// Decoded payloads + the adapter's copy, plus the decoder's buffer (at most a few
	// payloads' base64) and small change.
	const payloadBytes = chunks * chunkBytes
	if limit := uint64(2*payloadBytes + 8<<20); alloc > limit {
		t.Fatalf("a store of %d payload bytes (%d-byte body) allocated %d bytes, want at most %d", payloadBytes, body.size, alloc, limit)
	}
	t.Logf("store of %d payload bytes in a %d-byte body allocated %d bytes", payloadBytes, body.size, alloc)
}
