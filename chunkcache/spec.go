package chunkcache

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/faultbox/faultbox/fault"
)

// SpecError is a bad adapter spec. Its message names the adapter's position in the cascade
// (#1 is the first --l2-adapter), its type when known, the field, and what was expected.
type SpecError struct {
	Position int    // 1-based position of the adapter spec
	Type     string // adapter type, "" when the type itself is the problem
	Field    string // dotted path of the field ("inner.base_path"), "" for the whole spec
	Msg      string
}

func (e *SpecError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "l2 adapter #%d", e.Position)
	if e.Type != "" {
		fmt.Fprintf(&b, " (%s)", e.Type)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, ": field %q", e.Field)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// FieldDoc documents one field of an adapter type's JSON spec.
type FieldDoc struct {
	Name    string
	Type    string
	Default string // "" when required
	Doc     string
}

// AdapterType is a registered adapter type: its name in specs, its documentation, and a
// parser from a JSON spec to a Config. Parse must not touch the outside world (files,
// network): that happens in Config.Open, so specs can be validated and fuzzed freely.
type AdapterType struct {
	Name   string
	Doc    string
	Fields []FieldDoc
	Parse  func(s *Spec) (Config, error)
}

// Config is a parsed, validated adapter spec, ready to open.
type Config interface {
	// Type returns the adapter type name of the spec.
	Type() string
	// Open creates the adapter.
	Open(ctx context.Context, env Env) (Adapter, error)
}

// Env is what Config.Open may use from its surroundings.
type Env struct {
	// Warn receives warnings meant for the operator, one line each (no trailing newline).
	// Nil discards them.
	Warn func(line string)
	// OnFault receives every fault a fault_inject adapter injects (see KindLoadDrop); it is
	// called synchronously from Load and must be safe for concurrent use. Nil ignores them.
	OnFault func(fault.Event)
}

func (e Env) warn(line string) {
	if e.Warn != nil {
		e.Warn(line)
	}
}

// Registry maps adapter type names to their parsers. It is safe for concurrent use.
type Registry struct {
	mu    sync.RWMutex
	types map[string]AdapterType
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{types: make(map[string]AdapterType)} }

// DefaultRegistry returns a new registry holding the built-in types: memory, fs, fs_native,
// resp and fault_inject.
func DefaultRegistry() *Registry {
	r := NewRegistry()
	for _, t := range []AdapterType{memoryType, fsType, fsNativeType, respType, faultInjectType} {
		if err := r.Register(t); err != nil {
			panic(err) // the built-in set is fixed; a duplicate is a programming error
		}
	}
	return r
}

// Register adds an adapter type; registering a name twice is an error.
func (r *Registry) Register(t AdapterType) error {
	if t.Name == "" || t.Parse == nil {
		return errors.New("chunkcache: Register: adapter type needs a name and a Parse function")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.types[t.Name]; dup {
		return fmt.Errorf("chunkcache: Register: adapter type %q registered twice", t.Name)
	}
	r.types[t.Name] = t
	return nil
}

// Types returns the registered types sorted by name.
func (r *Registry) Types() []AdapterType {
	r.mu.RLock()
	out := make([]AdapterType, 0, len(r.types))
	for _, t := range r.types {
		out = append(out, t)
	}
	r.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (r *Registry) names() string {
	ts := r.Types()
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.Name
	}
	return strings.Join(names, ", ")
}

func (r *Registry) lookup(name string) (AdapterType, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	t, ok := r.types[name]
	return t, ok
}

// Parse parses the JSON spec of the adapter at 1-based position (its place in the cascade).
func (r *Registry) Parse(position int, spec []byte) (Config, error) {
	dec := json.NewDecoder(bytes.NewReader(spec))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, &SpecError{Position: position, Msg: "expected a JSON object, got invalid JSON: " + err.Error()}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &SpecError{Position: position, Msg: "expected a single JSON object, got trailing data after it"}
	}
	return r.parseValue(position, "", "", v)
}

// ParseAll parses specs in cascade order; specs[0] is adapter #1.
func (r *Registry) ParseAll(specs []string) ([]Config, error) {
	out := make([]Config, 0, len(specs))
	for i, s := range specs {
		c, err := r.Parse(i+1, []byte(s))
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// OpenAll opens configs in order; if one fails, the ones already open are closed.
func OpenAll(ctx context.Context, configs []Config, env Env) ([]Adapter, error) {
	out := make([]Adapter, 0, len(configs))
	for i, c := range configs {
		a, err := c.Open(ctx, env)
		if err != nil {
			for _, o := range out {
				_ = o.Close()
			}
			return nil, fmt.Errorf("l2 adapter #%d (%s): open: %w", i+1, c.Type(), err)
		}
		out = append(out, a)
	}
	return out, nil
}

// parseValue parses an adapter spec that has already been decoded. outerType and prefix are
// set for a nested spec (fault_inject's inner): errors then name the outer adapter's type
// and the dotted field path.
func (r *Registry) parseValue(position int, outerType, prefix string, v any) (Config, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, &SpecError{Position: position, Type: outerType, Field: strings.TrimSuffix(prefix, "."),
			Msg: "expected a JSON object, got " + render(v)}
	}
	tv, present := m["type"]
	name, isString := tv.(string)
	if !present || !isString {
		msg := "adapter spec must include a string 'type'"
		if prefix != "" {
			msg = "inner adapter spec must include a string 'type'"
		}
		if present {
			msg += ", got " + render(tv)
		}
		return nil, &SpecError{Position: position, Type: outerType, Field: prefix + "type", Msg: msg}
	}
	t, ok := r.lookup(name)
	if !ok {
		return nil, &SpecError{Position: position, Type: outerType, Field: prefix + "type",
			Msg: fmt.Sprintf("unknown adapter type %q; expected one of %s", name, r.names())}
	}
	typ := name
	if outerType != "" {
		typ = outerType
	}
	s := &Spec{position: position, typ: typ, prefix: prefix, fields: m, used: map[string]bool{"type": true}, reg: r}
	c, err := t.Parse(s)
	if err != nil {
		var se *SpecError
		if errors.As(err, &se) {
			return nil, err
		}
		return nil, &SpecError{Position: position, Type: typ, Field: strings.TrimSuffix(prefix, "."), Msg: err.Error()}
	}
	if err := s.finish(t); err != nil {
		return nil, err
	}
	return c, nil
}

// Spec is one adapter's JSON object during parsing. Its getters record which fields were
// read, so that any other field is reported as unknown.
type Spec struct {
	position int
	typ      string
	prefix   string
	fields   map[string]any
	used     map[string]bool
	reg      *Registry
}

// Position returns the adapter's 1-based position in the cascade.
func (s *Spec) Position() int { return s.position }

// Errorf returns a SpecError about field.
func (s *Spec) Errorf(field, format string, args ...any) error {
	return &SpecError{Position: s.position, Type: s.typ, Field: s.prefix + field, Msg: fmt.Sprintf(format, args...)}
}

func (s *Spec) get(field string) (any, bool) {
	s.used[field] = true
	v, ok := s.fields[field]
	return v, ok
}

func (s *Spec) finish(t AdapterType) error {
	var unknown []string
	for k := range s.fields {
		if !s.used[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	known := []string{"type"}
	for _, f := range t.Fields {
		known = append(known, f.Name)
	}
	sort.Strings(known)
	return s.Errorf(unknown[0], "unknown field; expected one of %s", strings.Join(known, ", "))
}

// String reads a string field. A required field that is missing is an error.
func (s *Spec) String(field string, def string, required bool) (string, error) {
	v, ok := s.get(field)
	if !ok {
		if required {
			return "", s.Errorf(field, "required; expected a non-empty string")
		}
		return def, nil
	}
	str, isStr := v.(string)
	if !isStr || (required && str == "") {
		return "", s.Errorf(field, "expected a non-empty string, got %s", render(v))
	}
	return str, nil
}

// Bool reads a boolean field.
func (s *Spec) Bool(field string, def bool) (bool, error) {
	v, ok := s.get(field)
	if !ok {
		return def, nil
	}
	b, isBool := v.(bool)
	if !isBool {
		return false, s.Errorf(field, "expected true or false, got %s", render(v))
	}
	return b, nil
}

// Int reads an integer field that must lie in [lo, hi].
func (s *Spec) Int(field string, def, lo, hi int64) (int64, error) {
	v, ok := s.get(field)
	if !ok {
		return def, nil
	}
	n, isInt := asInt(v)
	if !isInt || n < lo || n > hi {
		return 0, s.Errorf(field, "expected an integer in [%d, %d], got %s", lo, hi, render(v))
	}
	return n, nil
}

// Raw returns a field's decoded JSON value (numbers as json.Number) and whether it is there.
func (s *Spec) Raw(field string) (any, bool) { return s.get(field) }

// Adapter parses field as a nested adapter spec of any registered type.
func (s *Spec) Adapter(field string) (Config, error) {
	v, ok := s.get(field)
	if !ok {
		return nil, s.Errorf(field, "required; expected an adapter spec object with a string 'type'")
	}
	return s.reg.parseValue(s.position, s.typ, s.prefix+field+".", v)
}

func asInt(v any) (int64, bool) {
	num, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(string(num), 10, 64)
	return n, err == nil
}

func asFloat(v any) (float64, bool) {
	num, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(num), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// render shows a decoded JSON value in an error message, shortened when long.
func render(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	s := string(b)
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}
