package chunkcache

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
)

// DefaultMaxRequestBytes bounds one HTTP request body when ServerConfig.MaxRequestBytes is 0
// (--max-request-bytes).
const DefaultMaxRequestBytes = 256 << 20

// maxRequestTokens bounds the tokens of one request: 16 Mi tokens, 64 MiB as uint32s. Each
// token costs at least 2 bytes of JSON but 4 in memory, so without it a body of nothing but
// tokens would decode to twice its size.
const maxRequestTokens = 1 << 24

// valueSlackBytes is added to the longest JSON value the decoder may hold, so that strings
// (a model name, a few escapes in a payload) fit when the chunk limit is tiny.
const valueSlackBytes = 64 << 10

// requestError is a request refused before it reached the cache: the status to answer (400
// or 413) and why.
type requestError struct {
	status int
	msg    string
}

func (e *requestError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &requestError{status: http.StatusBadRequest, msg: "request body: " + fmt.Sprintf(format, args...)}
}

func tooLarge(format string, args ...any) error {
	return &requestError{status: http.StatusRequestEntityTooLarge, msg: "request body: " + fmt.Sprintf(format, args...)}
}

// requestLimits bounds what decoding one request may hold in memory.
type requestLimits struct {
	// The whole body (--max-request-bytes) is bounded by the caller's reader
	// (http.MaxBytesReader), whose error names the limit.
	maxChunkBytes int // one decoded payload (--max-chunk-bytes)
	maxTokens     int // tokens of one request
	maxPayloads   int // payloads of one store: at most one per chunk of maxTokens
}

// maxValueBytes is the longest JSON value (or run of whitespace) the decoder may buffer
// at once: one payload's base64, twice over so that an encoder that escapes '/' as "\/"
// still fits, plus slack.
func (l requestLimits) maxValueBytes() int64 {
	return 2*int64(base64.StdEncoding.EncodedLen(l.maxChunkBytes)) + valueSlackBytes
}

// errValueTooLong is returned by valueBoundReader; the decoder passes it through unchanged.
var errValueTooLong = errors.New("JSON value too long")

// valueBoundReader feeds a json.Decoder and refuses to read on while the decoder already
// holds more than max bytes of input it has not consumed. The decoder consumes input one
// value at a time (Token and Decode), and it reads more only to finish the value it is
// scanning, so what it holds unconsumed is that value's prefix: this bounds the decoder's
// buffer by the longest single value rather than by the body.
type valueBoundReader struct {
	r    io.Reader
	dec  *json.Decoder
	read int64
	max  int64
}

func (v *valueBoundReader) Read(p []byte) (int, error) {
	held := v.read - v.dec.InputOffset()
	if held > v.max {
		return 0, errValueTooLong
	}
	if room := v.max + 1 - held; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := v.r.Read(p)
	v.read += int64(n)
	return n, err
}

// bodyDecoder decodes a request object from a stream one value at a time, so that memory
// holds the decoded fields and at most one undecoded value, never the whole body.
type bodyDecoder struct {
	dec *json.Decoder
	lim requestLimits
}

func newBodyDecoder(r io.Reader, lim requestLimits) *bodyDecoder {
	in := &valueBoundReader{r: r, max: lim.maxValueBytes()}
	dec := json.NewDecoder(in)
	dec.UseNumber()
	in.dec = dec
	return &bodyDecoder{dec: dec, lim: lim}
}

// decodeStoreRequest decodes the body of POST /v1/store. Errors are *requestError.
func decodeStoreRequest(r io.Reader, lim requestLimits) (StoreRequest, error) {
	var req StoreRequest
	d := newBodyDecoder(r, lim)
	err := d.object([]string{"tokens", "payloads", "model", "kv_rank", "object_group", "cache_salt"}, func(name string) error {
		switch name {
		case "tokens":
			return d.tokens(&req.Tokens)
		case "payloads":
			return d.payloads(&req.Payloads)
		}
		return d.keyField(name, &req.KeyFields)
	})
	return req, err
}

// decodeRetrieveRequest decodes the body of POST /v1/retrieve. Errors are *requestError.
func decodeRetrieveRequest(r io.Reader, lim requestLimits) (RetrieveRequest, error) {
	var req RetrieveRequest
	d := newBodyDecoder(r, lim)
	err := d.object([]string{"tokens", "policy", "with_payload", "model", "kv_rank", "object_group", "cache_salt"}, func(name string) error {
		switch name {
		case "tokens":
			return d.tokens(&req.Tokens)
		case "policy":
			return d.str(name, &req.Policy)
		case "with_payload":
			return d.boolean(name, &req.WithPayload)
		}
		return d.keyField(name, &req.KeyFields)
	})
	return req, err
}

// object decodes one JSON object whose field names are exactly those of fields (each at
// most once), calling field for each with the decoder positioned at its value, and then
// requires the end of the body.
func (d *bodyDecoder) object(fields []string, field func(name string) error) error {
	tok, err := d.dec.Token()
	if err == io.EOF {
		return badRequest("expected a JSON object, got an empty body")
	}
	if err != nil {
		return d.readError("", err)
	}
	if tok != json.Delim('{') {
		return badRequest("expected a JSON object, got %s", describe(tok))
	}
	seen := make(map[string]bool, len(fields))
	for d.dec.More() {
		tok, err := d.dec.Token()
		if err != nil {
			return d.readError("", err)
		}
		name, _ := tok.(string) // Token returns a string or an error in key position
		known := false
		for _, f := range fields {
			known = known || f == name
		}
		if !known {
			return badRequest("unknown field %q; expected one of %s", name, strings.Join(fields, ", "))
		}
		if seen[name] {
			return badRequest("field %q given twice; expected each field at most once", name)
		}
		seen[name] = true
		if err := field(name); err != nil {
			return err
		}
	}
	if _, err := d.dec.Token(); err != nil { // the closing brace
		return d.readError("", err)
	}
	if _, err := d.dec.Token(); err != io.EOF {
		var re *requestError
		if errors.As(d.readError("", err), &re) && re.status == http.StatusRequestEntityTooLarge {
			return re
		}
		return badRequest("expected a single JSON object, got trailing data")
	}
	return nil
}

// tokens decodes null or an array of uint32 into dst.
func (d *bodyDecoder) tokens(dst *[]uint32) error {
	const want = "an array of integers in [0, 4294967295]"
	tok, err := d.dec.Token()
	if err != nil {
		return d.readError("tokens", err)
	}
	if tok == nil {
		*dst = nil
		return nil
	}
	if tok != json.Delim('[') {
		return badRequest("tokens: expected %s, got %s", want, describe(tok))
	}
	out := []uint32{}
	// Each element is decoded as raw JSON into one reused buffer and parsed here: cheaper
	// than Token (which boxes every number), and it sees null, which decoding into a
	// uint32 would skip silently.
	var raw json.RawMessage
	for i := 0; d.dec.More(); i++ {
		if i == d.lim.maxTokens {
			return tooLarge("tokens: more than %d; expected at most %d tokens in one request", d.lim.maxTokens, d.lim.maxTokens)
		}
		if err := d.dec.Decode(&raw); err != nil {
			return d.readError(fmt.Sprintf("tokens[%d]", i), err)
		}
		v, ok := parseUint32(raw)
		if !ok {
			return badRequest("tokens[%d]: expected an integer in [0, 4294967295], got %s", i, describeRaw(raw))
		}
		out = append(out, v)
	}
	if _, err := d.dec.Token(); err != nil { // the closing bracket
		return d.readError("tokens", err)
	}
	*dst = out
	return nil
}

// payloads decodes null or an array of base64 strings (each null or at most maxChunkBytes
// once decoded) into dst, one element at a time.
func (d *bodyDecoder) payloads(dst *[][]byte) error {
	tok, err := d.dec.Token()
	if err != nil {
		return d.readError("payloads", err)
	}
	if tok == nil {
		*dst = nil
		return nil
	}
	if tok != json.Delim('[') {
		return badRequest("payloads: expected an array of base64 strings, got %s", describe(tok))
	}
	out := [][]byte{}
	for i := 0; d.dec.More(); i++ {
		if i == d.lim.maxPayloads {
			return tooLarge("payloads: more than %d; expected one per chunk, at most %d in one request", d.lim.maxPayloads, d.lim.maxPayloads)
		}
		path := fmt.Sprintf("payloads[%d]", i)
		var p []byte
		if err := d.dec.Decode(&p); err != nil {
			var typeErr *json.UnmarshalTypeError
			var b64Err base64.CorruptInputError
			switch {
			case errors.As(err, &typeErr):
				return badRequest("%s: expected a base64 string, got a JSON %s", path, typeErr.Value)
			case errors.As(err, &b64Err):
				return badRequest("%s: expected standard base64 (RFC 4648, with padding): %v", path, b64Err)
			}
			return d.readError(path, err)
		}
		if len(p) > d.lim.maxChunkBytes {
			return tooLarge("%s: payload of %d bytes; expected at most %d (--max-chunk-bytes)", path, len(p), d.lim.maxChunkBytes)
		}
		out = append(out, p)
	}
	if _, err := d.dec.Token(); err != nil { // the closing bracket
		return d.readError("payloads", err)
	}
	*dst = out
	return nil
}

// keyField decodes one of the KeyFields.
func (d *bodyDecoder) keyField(name string, k *KeyFields) error {
	switch name {
	case "model":
		return d.str(name, &k.Model)
	case "cache_salt":
		return d.str(name, &k.CacheSalt)
	case "kv_rank":
		return d.uint32(name, &k.KVRank)
	case "object_group":
		return d.uint32(name, &k.ObjectGroup)
	}
	return badRequest("unknown field %q", name) // unreachable: object checks the names
}

// str decodes a string into dst; null leaves dst as it is (as encoding/json does).
func (d *bodyDecoder) str(name string, dst *string) error {
	return scalar(d, name, dst, "a string", func(tok json.Token) (string, bool) {
		v, ok := tok.(string)
		return v, ok
	})
}

// uint32 decodes an integer in [0, 4294967295] into dst; null leaves dst as it is.
func (d *bodyDecoder) uint32(name string, dst *uint32) error {
	return scalar(d, name, dst, "an integer in [0, 4294967295]", func(tok json.Token) (uint32, bool) {
		n, ok := tok.(json.Number)
		if !ok {
			return 0, false
		}
		return parseUint32([]byte(n))
	})
}

// boolean decodes true or false into dst; null leaves dst as it is.
func (d *bodyDecoder) boolean(name string, dst *bool) error {
	return scalar(d, name, dst, "true or false", func(tok json.Token) (bool, bool) {
		v, ok := tok.(bool)
		return v, ok
	})
}

// scalar decodes one scalar token into dst with conv, which reports whether the token is
// of the wanted kind (described by want for the error); null leaves dst as it is.
func scalar[T any](d *bodyDecoder, name string, dst *T, want string, conv func(json.Token) (T, bool)) error {
	tok, err := d.dec.Token()
	if err != nil {
		return d.readError(name, err)
	}
	if tok == nil {
		return nil
	}
	v, ok := conv(tok)
	if !ok {
		return badRequest("%s: expected %s, got %s", name, want, describe(tok))
	}
	*dst = v
	return nil
}

// parseUint32 parses a JSON value that is a plain decimal integer in [0, 4294967295]: no
// sign, fraction or exponent (the decoder has checked that it is valid JSON).
func parseUint32(raw []byte) (uint32, bool) {
	if len(raw) == 0 || len(raw) > len("4294967295") {
		return 0, false
	}
	var v uint64
	for _, c := range raw {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return uint32(v), v <= math.MaxUint32
}

// describeRaw renders a raw JSON value for an error message.
func describeRaw(raw []byte) string {
	switch {
	case len(raw) > 0 && raw[0] == '[':
		return "an array"
	case len(raw) > 0 && raw[0] == '{':
		return "an object"
	case len(raw) > 40:
		return string(raw[:40]) + "…"
	}
	return string(raw)
}

// readError turns an error of the decoder (a read or syntax error) into a *requestError;
// path names the field being read, if any.
func (d *bodyDecoder) readError(path string, err error) error {
	at := ""
	if path != "" {
		at = path + ": "
	}
	var maxBytes *http.MaxBytesError
	var syntax *json.SyntaxError
	switch {
	case errors.As(err, &maxBytes):
		return tooLarge("longer than %d bytes; expected at most --max-request-bytes %d", maxBytes.Limit, maxBytes.Limit)
	case errors.Is(err, errValueTooLong):
		return tooLarge("%sa JSON value longer than %d bytes; expected at most that (the base64 of a --max-chunk-bytes %d payload, with room for escapes)",
			at, d.lim.maxValueBytes(), d.lim.maxChunkBytes)
	case err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("%sunexpected end of JSON input", at)
	case errors.As(err, &syntax):
		return badRequest("%sinvalid JSON at byte %d: %v", at, syntax.Offset, err)
	}
	return badRequest("%sreading: %v", at, err)
}

// describe renders a JSON token for an error message.
func describe(tok json.Token) string {
	switch v := tok.(type) {
	case nil:
		return "null"
	case json.Delim:
		switch v {
		case '[':
			return "an array"
		case '{':
			return "an object"
		}
		return fmt.Sprintf("%q", string(v))
	case string:
		const maxRunes = 40
		if r := []rune(v); len(r) > maxRunes {
			return strconv.Quote(string(r[:maxRunes])) + "…"
		}
		return strconv.Quote(v)
	case json.Number:
		if len(v) > 40 {
			return string(v[:40]) + "…"
		}
		return string(v)
	}
	return fmt.Sprint(tok)
}
