package disk

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/faultbox/faultbox/fault"
)

func TestDefaultsAreMoonpools(t *testing.T) {
	t.Parallel()
	c := DefaultConfig()
	if c.IOPS != 25000 || c.Bandwidth != 150e6 ||
		c.ReadLatency != (LatencyRange{50 * time.Microsecond, 200 * time.Microsecond}) ||
		c.WriteLatency != (LatencyRange{100 * time.Microsecond, 500 * time.Microsecond}) ||
		c.SyncLatency != (LatencyRange{time.Millisecond, 5 * time.Millisecond}) {
		t.Fatalf("defaults = %+v", c)
	}
	if c.FaultsOff() != c {
		t.Fatal("a default fault probability is not 0")
	}
	f := FastLocal()
	if f.IOPS != 1e6 || f.Bandwidth != 1e9 || f.SyncLatency.Max != time.Microsecond || f.FaultsOff() != f {
		t.Fatalf("FastLocal = %+v", f)
	}
}

func TestRandomForSeed(t *testing.T) {
	t.Parallel()
	if RandomForSeed(3) != RandomForSeed(3) {
		t.Fatal("RandomForSeed is not a function of the seed")
	}
	if RandomForSeed(3) == RandomForSeed(4) {
		t.Fatal("two seeds gave the same disk")
	}
	for seed := fault.Seed(0); seed < 200; seed++ {
		c := RandomForSeed(seed)
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
		if c.IOPS < 10000 || c.IOPS > 100000 || c.Bandwidth < 50e6 || c.Bandwidth > 500e6 {
			t.Fatalf("seed %d: performance out of range: %+v", seed, c)
		}
		for _, p := range []float64{c.ReadFaultProbability, c.WriteFaultProbability, c.CrashFaultProbability,
			c.MisdirectWriteProbability, c.MisdirectReadProbability, c.PhantomWriteProbability, c.SyncFailureProbability} {
			if p < 0.00001 || p > 0.001 {
				t.Fatalf("seed %d: fault probability %v outside 0.001%%-0.1%%", seed, p)
			}
		}
	}
}

func TestValidateNamesFieldAndValue(t *testing.T) {
	t.Parallel()
	cases := []struct {
		mut  func(*Config)
		want []string
	}{
		{func(c *Config) { c.ReadFaultProbability = 1.5 }, []string{"ReadFaultProbability", "1.5", "[0, 1]"}},
		{func(c *Config) { c.SyncFailureProbability = -0.1 }, []string{"SyncFailureProbability", "-0.1"}},
		{func(c *Config) { c.PhantomWriteProbability = math.NaN() }, []string{"PhantomWriteProbability", "NaN"}},
		{func(c *Config) { c.IOPS = -5 }, []string{"IOPS", "-5", ">= 0"}},
		{func(c *Config) { c.Bandwidth = math.Inf(1) }, []string{"Bandwidth", "+Inf"}},
		{func(c *Config) { c.WriteLatency = LatencyRange{time.Millisecond, time.Microsecond} }, []string{"WriteLatency", "1ms", "1µs", "inverted"}},
		{func(c *Config) { c.ReadLatency.Min = -1 }, []string{"ReadLatency.Min", "-1ns"}},
		{func(c *Config) { c.SectorSize = 1000 }, []string{"SectorSize", "1000", "power of two"}},
	}
	for _, tc := range cases {
		c := DefaultConfig()
		tc.mut(&c)
		err := c.Validate()
		if err == nil {
			t.Fatalf("accepted %+v", c)
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not mention %q", err, w)
			}
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestParseConfig(t *testing.T) {
	t.Parallel()
	c, err := ParseConfig([]byte(`{"IOPS": 5000, "SyncLatency": {"Min": "2ms", "Max": "3ms"}, "PhantomWriteProbability": 0.01}`))
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.IOPS = 5000
	want.SyncLatency = LatencyRange{2 * time.Millisecond, 3 * time.Millisecond}
	want.PhantomWriteProbability = 0.01
	if c != want {
		t.Fatalf("parsed %+v, want defaults with three fields changed", c)
	}
	for in, want := range map[string]string{
		`{"ReadFaultProbability": 2}`:                "ReadFaultProbability = 2",
		`{"IOPS": -1}`:                               "IOPS = -1",
		`{"ReadLatency": {"Min": "9ms"}}`:            "ReadLatency = [9ms, 200µs]",
		`{"Nope": 1}`:                                `unknown field "Nope"`,
		`{"IOPS": "fast"}`:                           `IOPS = "fast": want a number`,
		`{"SyncLatency": {"Min": "soon"}}`:           `SyncLatency.Min = "soon"`,
		`{"SyncLatency": {"Mean": "1ms"}}`:           `SyncLatency: unknown field "Mean"`,
		`{} {}`:                                      "trailing data",
		`{"WriteFaultProbability": 0.5, "IOPS": -3}`: "IOPS = -3",
	} {
		if _, err := ParseConfig([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseConfig(%s) = %v, want an error containing %q", in, err, want)
		}
	}
}

// Every JSON error names the full field path, the value and what was expected: each
// latency field (the range and its Min and Max) and each kind of top-level field.
func TestParseConfigErrorsNameThePath(t *testing.T) {
	t.Parallel()
	type tc struct {
		in   string
		want []string
	}
	var cases []tc
	for _, f := range []string{"ReadLatency", "WriteLatency", "SyncLatency"} {
		cases = append(cases,
			tc{`{"` + f + `": {"Min": "soon"}}`, []string{f + `.Min = "soon"`, "want a duration"}},
			tc{`{"` + f + `": {"Max": true}}`, []string{f + ".Max = true", "want a duration"}},
			tc{`{"` + f + `": {"min": [1]}}`, []string{f + ".Min = [1]", "want a duration"}},
			tc{`{"` + f + `": 5}`, []string{f + " = 5", "want a latency range"}},
			tc{`{"` + f + `": "1ms"}`, []string{f + ` = "1ms"`, "want a latency range"}},
			tc{`{"` + f + `": {"Mean": "1ms"}}`, []string{f + `: unknown field "Mean"`, "want Min or Max"}},
		)
	}
	cases = append(cases,
		tc{`{"IOPS": "fast"}`, []string{`IOPS = "fast"`, "want a number"}},
		tc{`{"Bandwidth": 1e400}`, []string{"Bandwidth = 1e400", "want a number"}},
		tc{`{"ReadFaultProbability": {}}`, []string{"ReadFaultProbability = {}", "want a number"}},
		tc{`{"SyncFailureDropsDirty": 1}`, []string{"SyncFailureDropsDirty = 1", "want true or false"}},
		tc{`{"SectorSize": 4096.5}`, []string{"SectorSize = 4096.5", "want an integer"}},
		tc{`{"sectorsize": "big"}`, []string{`SectorSize = "big"`, "want an integer"}},
		tc{`{"Nope": 1}`, []string{`unknown field "Nope"`, "IOPS", "SectorSize"}},
		tc{`[1]`, []string{"[1]", "want a JSON object"}},
	)
	for _, c := range cases {
		_, err := ParseConfig([]byte(c.in))
		if err == nil {
			t.Errorf("ParseConfig(%s) accepted it", c.in)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("ParseConfig(%s) = %q, want it to contain %q", c.in, err, w)
			}
		}
	}
	// A long bad value is cut short, not copied whole into the message.
	long := `{"IOPS": "` + strings.Repeat("x", 1000) + `"}`
	if _, err := ParseConfig([]byte(long)); err == nil || len(err.Error()) > 200 || !strings.Contains(err.Error(), "IOPS") {
		t.Errorf("long value: %v", err)
	}
	// What encoding/json accepts still works: case-folded names, null keeping the default,
	// a repeated latency field merging into the same range.
	c, err := ParseConfig([]byte(`{"iops": 7, "Bandwidth": null, "ReadLatency": {"Min": "1ms"}, "readlatency": {"max": 2000000}}`))
	want := DefaultConfig()
	want.IOPS = 7
	want.ReadLatency = LatencyRange{time.Millisecond, 2 * time.Millisecond}
	if err != nil || c != want {
		t.Fatalf("got %+v, %v; want %+v", c, err, want)
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"IOPS": 5000, "SyncLatency": {"Min": "2ms", "Max": "3ms"}}`))
	f.Add([]byte(`{"ReadFaultProbability": 1.5}`))
	f.Add([]byte(`{"ReadLatency": {"Min": 100, "Max": 50}}`))
	f.Add([]byte(`{"SectorSize": 4096, "SyncFailureDropsDirty": true}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"ReadLatency": 5, "iops": "x"}`))
	f.Add([]byte(`{"SyncLatency": {"min": null, "Max": "soon"}, "SyncLatency": {}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("ParseConfig accepted an invalid config: %v", err)
		}
		// What is accepted round-trips.
		out, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseConfig(out)
		if err != nil || back != c {
			t.Fatalf("round trip: %+v, %v; want %+v", back, err, c)
		}
	})
}
