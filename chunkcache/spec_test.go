package chunkcache

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseBadSpecs(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, spec string
		pos        int
		want       string
	}{
		{"not JSON", `{type: memory}`, 1,
			`l2 adapter #1: expected a JSON object, got invalid JSON: invalid character 't' looking for beginning of object key string`},
		{"not an object", `["memory"]`, 2, `l2 adapter #2: expected a JSON object, got ["memory"]`},
		{"trailing data", `{"type":"memory"} {}`, 1, `l2 adapter #1: expected a single JSON object, got trailing data after it`},
		{"no type", `{"base_path":"/tmp/x"}`, 1, `l2 adapter #1: field "type": adapter spec must include a string 'type'`},
		{"type not a string", `{"type":3}`, 3, `l2 adapter #3: field "type": adapter spec must include a string 'type', got 3`},
		{"unknown type", `{"type":"s3"}`, 2,
			`l2 adapter #2: field "type": unknown adapter type "s3"; expected one of fault_inject, fs, fs_native, memory, resp`},
		{"no inner", `{"type":"fault_inject"}`, 1,
			`l2 adapter #1 (fault_inject): field "inner": required; expected an adapter spec object with a string 'type'`},
		{"inner not an object", `{"type":"fault_inject","inner":"fs"}`, 1,
			`l2 adapter #1 (fault_inject): field "inner": expected a JSON object, got "fs"`},
		{"inner without type", `{"type":"fault_inject","inner":{"base_path":"/x"}}`, 2,
			`l2 adapter #2 (fault_inject): field "inner.type": inner adapter spec must include a string 'type'`},
		{"inner unknown type", `{"type":"fault_inject","inner":{"type":"nope"}}`, 1,
			`l2 adapter #1 (fault_inject): field "inner.type": unknown adapter type "nope"; expected one of fault_inject, fs, fs_native, memory, resp`},
		{"inner bad field", `{"type":"fault_inject","inner":{"type":"fs_native","base_path":"/x","num_workers":0}}`, 1,
			`l2 adapter #1 (fault_inject): field "inner.num_workers": expected an integer in [1, 1024], got 0`},
		{"inner unknown field", `{"type":"fault_inject","inner":{"type":"fs","base_path":"/x","bogus":1}}`, 1,
			`l2 adapter #1 (fault_inject): field "inner.bogus": unknown field; expected one of base_path, checksum, type`},
		{"rate 1.5", `{"type":"fault_inject","inner":{"type":"memory"},"rate":1.5}`, 1,
			`l2 adapter #1 (fault_inject): field "rate": rate must be a number in [0, 1], got 1.5`},
		{"rate a string", `{"type":"fault_inject","inner":{"type":"memory"},"rate":"0.1"}`, 1,
			`l2 adapter #1 (fault_inject): field "rate": rate must be a number in [0, 1], got "0.1"`},
		{"seed a float", `{"type":"fault_inject","inner":{"type":"memory"},"seed":1.5}`, 1,
			`l2 adapter #1 (fault_inject): field "seed": seed must be an integer (64-bit), got 1.5`},
		{"negative index", `{"type":"fault_inject","inner":{"type":"memory"},"gap_indices":[2,-1]}`, 2,
			`l2 adapter #2 (fault_inject): field "gap_indices": gap_indices must be a list of non-negative integers, got -1`},
		{"indices not a list", `{"type":"fault_inject","inner":{"type":"memory"},"gap_indices":4}`, 1,
			`l2 adapter #1 (fault_inject): field "gap_indices": gap_indices must be a list of non-negative integers, got 4`},
		{"ratio above 1", `{"type":"fault_inject","inner":{"type":"memory"},"gap_tail_ratios":[0.5,1.01]}`, 1,
			`l2 adapter #1 (fault_inject): field "gap_tail_ratios": gap_tail_ratios must be a list of floats in [0, 1], got 1.01`},
		{"ratio a bool", `{"type":"fault_inject","inner":{"type":"memory"},"gap_tail_ratios":[true]}`, 1,
			`l2 adapter #1 (fault_inject): field "gap_tail_ratios": gap_tail_ratios must be a list of floats in [0, 1], got true`},
		{"unknown field", `{"type":"fault_inject","inner":{"type":"memory"},"gap_index":[1]}`, 1,
			`l2 adapter #1 (fault_inject): field "gap_index": unknown field; expected one of gap_indices, gap_tail_ratios, inner, rate, seed, type`},
		{"memory unknown field", `{"type":"memory","capacity":10}`, 2,
			`l2 adapter #2 (memory): field "capacity": unknown field; expected one of capacity_bytes, type`},
		{"memory capacity zero", `{"type":"memory","capacity_bytes":0}`, 1,
			`l2 adapter #1 (memory): field "capacity_bytes": expected an integer in [1, 9223372036854775807], got 0`},
		{"fs no base_path", `{"type":"fs"}`, 1, `l2 adapter #1 (fs): field "base_path": required; expected a non-empty string`},
		{"fs bad checksum", `{"type":"fs","base_path":"/x","checksum":"md5"}`, 1,
			`l2 adapter #1 (fs): field "checksum": expected "crc32" or "none", got "md5"`},
		{"fs_native odirect not bool", `{"type":"fs_native","base_path":"/x","use_odirect":"yes"}`, 1,
			`l2 adapter #1 (fs_native): field "use_odirect": expected true or false, got "yes"`},
		{"resp no url", `{"type":"resp"}`, 1, `l2 adapter #1 (resp): field "url": required; expected a non-empty string`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := DefaultRegistry().Parse(tc.pos, []byte(tc.spec))
			if err == nil {
				t.Fatalf("Parse(%s) succeeded; want %s", tc.spec, tc.want)
			}
			if err.Error() != tc.want {
				t.Fatalf("Parse(%s)\n got: %s\nwant: %s", tc.spec, err, tc.want)
			}
			var se *SpecError
			if !errors.As(err, &se) || se.Position != tc.pos {
				t.Fatalf("error %v is not a *SpecError at position %d", err, tc.pos)
			}
		})
	}
}

func TestParseGoodSpecs(t *testing.T) {
	t.Parallel()
	cases := []struct {
		spec string
		want Config
	}{
		{`{"type":"memory"}`, MemoryConfig{CapacityBytes: DefaultMemoryCapacityBytes}},
		{`{"type":"fs","base_path":"/d","checksum":"crc32"}`, FSConfig{BasePath: "/d", Checksum: true}},
		{`{"type":"fs_native","base_path":"/d"}`, FSNativeConfig{BasePath: "/d", NumWorkers: 4}},
		{`{"type":"fs_native","base_path":"/d","num_workers":8,"use_odirect":true}`, FSNativeConfig{BasePath: "/d", NumWorkers: 8, UseODirect: true}},
		{`{"type":"resp","url":"redis://127.0.0.1:6379/0"}`, RESPConfig{URL: "redis://127.0.0.1:6379/0", KeyPrefix: DefaultRESPKeyPrefix}},
		{`{"type":"fault_inject","inner":{"type":"fs_native","base_path":"/dev/shm/cb_l2"}}`,
			FaultInjectConfig{Inner: FSNativeConfig{BasePath: "/dev/shm/cb_l2", NumWorkers: 4}}},
		{`{"type":"fault_inject","inner":{"type":"memory"},"rate":1,"seed":-7,"gap_indices":[12],"gap_tail_ratios":[0,1]}`,
			FaultInjectConfig{Inner: MemoryConfig{CapacityBytes: DefaultMemoryCapacityBytes}, Rate: 1, Seed: -7, GapIndices: []int64{12}, GapTailRatios: []float64{0, 1}}},
		{`{"type":"fault_inject","inner":{"type":"fault_inject","inner":{"type":"memory"}}}`,
			FaultInjectConfig{Inner: FaultInjectConfig{Inner: MemoryConfig{CapacityBytes: DefaultMemoryCapacityBytes}}}},
	}
	for _, tc := range cases {
		got, err := DefaultRegistry().Parse(1, []byte(tc.spec))
		if err != nil {
			t.Fatalf("Parse(%s): %v", tc.spec, err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Fatalf("Parse(%s) = %#v, want %#v", tc.spec, got, tc.want)
		}
	}
}

func TestRegistryRegister(t *testing.T) {
	t.Parallel()
	r := DefaultRegistry()
	if err := r.Register(memoryType); err == nil || !strings.Contains(err.Error(), "registered twice") {
		t.Fatalf("registering memory twice: %v", err)
	}
	if err := r.Register(AdapterType{Name: "x"}); err == nil {
		t.Fatal("a type without Parse was accepted")
	}
	for _, typ := range r.Types() {
		if typ.Doc == "" || len(typ.Fields) == 0 {
			t.Errorf("type %s has no documentation of its fields", typ.Name)
		}
	}
}

// FuzzParseSpec: any input gives a config or a *SpecError naming position 1, never a panic;
// parsing touches no file or network.
func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{
		`{"type":"memory"}`, `{"type":"fs","base_path":"/x","checksum":"crc32"}`,
		`{"type":"fault_inject","inner":{"type":"fs_native","base_path":"/dev/shm/x"},"gap_tail_ratios":[0.5],"rate":0.1,"seed":7,"gap_indices":[12]}`,
		`{"type":"resp","url":"redis://127.0.0.1:1/0"}`, `{"type":"fault_inject","inner":{"type":"fault_inject","inner":{}}}`,
		`[]`, `null`, `{"type":"fs_native","base_path":"/x","num_workers":1e3}`, `{"type":"fault_inject","inner":{"type":"memory"},"rate":-0}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := DefaultRegistry().Parse(1, []byte(s))
		if err != nil {
			var se *SpecError
			if !errors.As(err, &se) || se.Position != 1 || !strings.HasPrefix(err.Error(), "l2 adapter #1") {
				t.Fatalf("error %q is not a SpecError for position 1", err)
			}
			return
		}
		if c == nil || c.Type() == "" {
			t.Fatalf("Parse(%q) returned no config and no error", s)
		}
		if fi, ok := c.(FaultInjectConfig); ok {
			if fi.Rate < 0 || fi.Rate > 1 || fi.Inner == nil {
				t.Fatalf("accepted a bad fault_inject config %#v", fi)
			}
			for _, r := range fi.GapTailRatios {
				if r < 0 || r > 1 {
					t.Fatalf("accepted ratio %v", r)
				}
			}
			for _, i := range fi.GapIndices {
				if i < 0 {
					t.Fatalf("accepted index %d", i)
				}
			}
		}
	})
}

// ServerConfig.Validate names the field, the value and what was expected; the zero values
// that mean a default pass.
func TestServerConfigValidate(t *testing.T) {
	t.Parallel()
	good := serverConfig(t, ServerConfig{}, `{"type":"memory"}`)
	if err := good.Validate(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	if err := (ServerConfig{Adapters: good.Adapters}).Validate(); err != nil {
		t.Fatalf("zero values mean the defaults: %v", err)
	}
	cases := []struct {
		edit func(*ServerConfig)
		want string
	}{
		{func(c *ServerConfig) { c.Adapters = nil }, "Adapters 0: expected at least one L2 adapter"},
		{func(c *ServerConfig) { c.ChunkSize = -1 }, "ChunkSize -1: expected an integer in [1, 1048576] (0 for 256)"},
		{func(c *ServerConfig) { c.ChunkSize = 1<<20 + 1 }, "ChunkSize 1048577: expected an integer in [1, 1048576] (0 for 256)"},
		{func(c *ServerConfig) { c.L1CapacityBytes = -5 }, "L1CapacityBytes -5: expected an integer ≥ 0 (0 for no L1)"},
		{func(c *ServerConfig) { c.MaxChunkBytes = -1 }, "MaxChunkBytes -1: expected an integer in [1, 1073741824] (0 for 4194304)"},
		{func(c *ServerConfig) { c.MaxRequestBytes = 1023 }, "MaxRequestBytes 1023: expected an integer in [1024, 68719476736] (0 for 268435456)"},
		{func(c *ServerConfig) { c.Listen = "localhost" }, `Listen "localhost": expected host:port, such as 127.0.0.1:7420`},
	}
	for _, tc := range cases {
		cfg := good
		tc.edit(&cfg)
		err := cfg.Validate()
		var fe *FieldError
		if err == nil || err.Error() != tc.want || !errors.As(err, &fe) {
			t.Errorf("Validate(%+v)\n got: %v\nwant: %s (a *FieldError)", cfg, err, tc.want)
		}
		if _, err := NewServer(context.Background(), cfg, nil); err == nil || !strings.HasSuffix(err.Error(), tc.want) {
			t.Errorf("NewServer(%+v): %v, want the Validate error", cfg, err)
		}
	}
}
