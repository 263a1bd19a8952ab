package disk

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"time"

	"github.com/faultbox/faultbox/fault"
)

// LatencyRange is a uniform distribution of latencies, [Min, Max].
type LatencyRange struct {
	Min time.Duration
	Max time.Duration
}

// Config is one disk's performance and fault model. The zero value is a disk with no
// latency and no faults; DefaultConfig has moonpool's figures.
type Config struct {
	// IOPS caps operations per second: each operation costs 1/IOPS more. 0: no cap.
	IOPS float64
	// Bandwidth in bytes per second: an operation of n bytes costs n/Bandwidth more. 0: no cap.
	Bandwidth float64
	// ReadLatency, WriteLatency and SyncLatency are sampled per operation.
	ReadLatency  LatencyRange
	WriteLatency LatencyRange
	SyncLatency  LatencyRange

	// ReadFaultProbability: per sector read, the chance it reads back with a flipped bit.
	// Decided by the seed, the disk, the file, the sector and its contents, so a retry sees
	// the same.
	ReadFaultProbability float64
	// WriteFaultProbability: per write, the chance a bit flips on its way to the media.
	WriteFaultProbability float64
	// CrashFaultProbability: per file with unsynced data at a crash, the chance it is torn
	// (each changed sector new, old or garbage) rather than simply losing its unsynced data.
	CrashFaultProbability float64
	// MisdirectWriteProbability: per write, the chance it lands a whole number of sectors
	// away from where it was aimed, in the same file.
	MisdirectWriteProbability float64
	// MisdirectReadProbability: per read, the chance it returns the bytes a whole number of
	// sectors away. Decided like read corruption, so a retry sees the same.
	MisdirectReadProbability float64
	// PhantomWriteProbability: per write, the chance the write (and any sync after it)
	// reports success while the bytes never reach the media: they are gone after a crash.
	PhantomWriteProbability float64
	// SyncFailureProbability: per sync, the chance it fails with ErrSyncFailed.
	SyncFailureProbability float64
	// SyncFailureDropsDirty is the Linux mode of sync failures: the failed sync marks the
	// dirty data clean without writing it, so a later sync succeeds without it.
	SyncFailureDropsDirty bool
	// CrashKeepAllProbability is the share of crashes that keep everything (the cache was
	// flushed just in time). Not a fault; 0 draws nothing.
	CrashKeepAllProbability float64
	// CrashPowersafeOverwrite: a torn sector lands new or stays old, never garbage, so the
	// synced bytes a sector shares with unsynced ones survive every crash (the drive with
	// power-safe overwrite that SQLite and Pebble assume). False: as before, garbage too.
	CrashPowersafeOverwrite bool
	// SectorSize is the unit of tearing and of misdirection; a power of two, 0 means 512.
	SectorSize int
}

// DefaultConfig returns moonpool's defaults: 25,000 IOPS, 150 MB/s, reads 50-200 µs,
// writes 100-500 µs, syncs 1-5 ms, every fault off, 512-byte sectors, 5% of crashes
// keeping everything.
func DefaultConfig() Config {
	return Config{
		IOPS:                    25000,
		Bandwidth:               150e6,
		ReadLatency:             LatencyRange{50 * time.Microsecond, 200 * time.Microsecond},
		WriteLatency:            LatencyRange{100 * time.Microsecond, 500 * time.Microsecond},
		SyncLatency:             LatencyRange{1 * time.Millisecond, 5 * time.Millisecond},
		CrashKeepAllProbability: 0.05,
		SectorSize:              512,
	}
}

// FastLocal is a fast healthy disk for unit tests: 1M IOPS, 1 GB/s, 1 µs latencies, no faults.
func FastLocal() Config {
	c := DefaultConfig()
	c.IOPS = 1e6
	c.Bandwidth = 1e9
	c.ReadLatency = LatencyRange{time.Microsecond, time.Microsecond}
	c.WriteLatency = c.ReadLatency
	c.SyncLatency = c.ReadLatency
	return c
}

// RandomForSeed draws a disk from the seed: 10K-100K IOPS, 50-500 MB/s, latencies around
// the defaults, and every fault probability between 0.001% and 0.1% (a steady trickle).
func RandomForSeed(seed fault.Seed) Config {
	r := seed.Stream("disk-config")
	between := func(lo, hi float64) float64 { return lo + r.Float64()*(hi-lo) }
	span := func(lo, hi time.Duration) LatencyRange {
		a := time.Duration(between(float64(lo), float64(hi)))
		return LatencyRange{a, a + time.Duration(between(float64(a), 4*float64(a)))}
	}
	prob := func() float64 { return between(0.00001, 0.001) }
	c := DefaultConfig()
	c.IOPS = math.Round(between(10000, 100000))
	c.Bandwidth = math.Round(between(50e6, 500e6))
	c.ReadLatency = span(20*time.Microsecond, 100*time.Microsecond)
	c.WriteLatency = span(50*time.Microsecond, 250*time.Microsecond)
	c.SyncLatency = span(500*time.Microsecond, 2500*time.Microsecond)
	c.ReadFaultProbability = prob()
	c.WriteFaultProbability = prob()
	c.CrashFaultProbability = prob()
	c.MisdirectWriteProbability = prob()
	c.MisdirectReadProbability = prob()
	c.PhantomWriteProbability = prob()
	c.SyncFailureProbability = prob()
	c.SyncFailureDropsDirty = r.IntN(2) == 0
	return c
}

// FaultsOff returns c with every fault probability 0 (performance kept), for a recovery
// phase that must see the true bytes.
func (c Config) FaultsOff() Config {
	c.ReadFaultProbability, c.WriteFaultProbability, c.CrashFaultProbability = 0, 0, 0
	c.MisdirectWriteProbability, c.MisdirectReadProbability = 0, 0
	c.PhantomWriteProbability, c.SyncFailureProbability = 0, 0
	return c
}

func (c Config) sector() int64 {
	if c.SectorSize <= 0 {
		return 512
	}
	return int64(c.SectorSize)
}

// Validate reports every field that is out of range, naming the field, its value and what
// was expected.
func (c Config) Validate() error {
	var errs []error
	rate := func(name string, v float64) {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			errs = append(errs, fmt.Errorf("disk config: %s = %v: want a finite number >= 0 (0 means no limit)", name, v))
		}
	}
	lat := func(name string, r LatencyRange) {
		if r.Min < 0 {
			errs = append(errs, fmt.Errorf("disk config: %s.Min = %s: want a duration >= 0", name, r.Min))
		}
		if r.Max < r.Min {
			errs = append(errs, fmt.Errorf("disk config: %s = [%s, %s]: inverted range, want Min <= Max", name, r.Min, r.Max))
		}
	}
	prob := func(name string, v float64) {
		if math.IsNaN(v) || v < 0 || v > 1 {
			errs = append(errs, fmt.Errorf("disk config: %s = %v: want a probability in [0, 1]", name, v))
		}
	}
	rate("IOPS", c.IOPS)
	rate("Bandwidth", c.Bandwidth)
	lat("ReadLatency", c.ReadLatency)
	lat("WriteLatency", c.WriteLatency)
	lat("SyncLatency", c.SyncLatency)
	prob("ReadFaultProbability", c.ReadFaultProbability)
	prob("WriteFaultProbability", c.WriteFaultProbability)
	prob("CrashFaultProbability", c.CrashFaultProbability)
	prob("MisdirectWriteProbability", c.MisdirectWriteProbability)
	prob("MisdirectReadProbability", c.MisdirectReadProbability)
	prob("PhantomWriteProbability", c.PhantomWriteProbability)
	prob("SyncFailureProbability", c.SyncFailureProbability)
	prob("CrashKeepAllProbability", c.CrashKeepAllProbability)
	if s := c.SectorSize; s < 0 || s > 1<<20 || (s > 0 && s&(s-1) != 0) {
		errs = append(errs, fmt.Errorf("disk config: SectorSize = %d: want 0 (512) or a power of two up to 1048576", s))
	}
	return errors.Join(errs...)
}

// MarshalJSON writes durations in Go's notation ("50µs").
func (r LatencyRange) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{"Min": r.Min.String(), "Max": r.Max.String()})
}

// UnmarshalJSON reads {"Min": "50us", "Max": "200us"}; a bare number is nanoseconds.
func (r *LatencyRange) UnmarshalJSON(b []byte) error {
	return r.parse("LatencyRange", b)
}

// parse reads a latency range at path (a field name like "SyncLatency"), naming path.Min or
// path.Max, the value and what was expected in every error.
func (r *LatencyRange) parse(path string, b []byte) error {
	const want = `a latency range like {"Min": "50us", "Max": "200us"}`
	return eachField(path, b, want, func(key string, v json.RawMessage) error {
		var d *time.Duration
		var name string
		switch {
		case strings.EqualFold(key, "Min"):
			d, name = &r.Min, path+".Min"
		case strings.EqualFold(key, "Max"):
			d, name = &r.Max, path+".Max"
		default:
			return fmt.Errorf("%s: unknown field %q: want Min or Max", path, key)
		}
		if isNull(v) {
			return nil
		}
		var err error
		*d, err = parseDuration(name, v)
		return err
	})
}

func parseDuration(path string, b json.RawMessage) (time.Duration, error) {
	const want = `want a duration like "150us" or a number of nanoseconds`
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("%s = %s: %s", path, shown(b), want)
		}
		return d, nil
	}
	var n float64
	if err := json.Unmarshal(b, &n); err != nil || math.IsNaN(n) || math.Abs(n) > math.MaxInt64/2 {
		return 0, fmt.Errorf("%s = %s: %s", path, shown(b), want)
	}
	return time.Duration(n), nil
}

// shown is a JSON value as an error quotes it: compact, and cut short if long.
func shown(b []byte) string {
	var buf bytes.Buffer
	if json.Compact(&buf, b) == nil {
		b = buf.Bytes()
	}
	const maxShown = 40
	if len(b) > maxShown {
		return string(b[:maxShown]) + "..."
	}
	return string(b)
}

func isNull(b json.RawMessage) bool { return string(bytes.TrimSpace(b)) == "null" }

// eachField calls fn for every key of the JSON object in data, in document order (a
// repeated key: the last one wins, as in encoding/json). path names the object in errors
// ("" for the top level), want says what it should be.
func eachField(path string, data []byte, want string, fn func(key string, v json.RawMessage) error) error {
	where := path
	if where == "" {
		where = "the configuration"
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("%s: invalid JSON: %v", where, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("%s = %s: want %s", where, shown(data), want)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("%s: invalid JSON: %v", where, err)
		}
		key, _ := tok.(string) // inside an object the decoder only yields string keys
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return fmt.Errorf("%s: invalid JSON after %q: %v", where, key, err)
		}
		if err := fn(key, v); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return fmt.Errorf("%s: invalid JSON: %v", where, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("trailing data after the JSON object")
	}
	return nil
}

// ParseConfig reads a JSON object of Config fields over DefaultConfig (absent fields keep
// their defaults) and validates the result. Field names match as in encoding/json (case
// folded); unknown fields are errors. Every error names the field path (SyncLatency.Min),
// the value and what was expected.
func ParseConfig(data []byte) (Config, error) {
	c := DefaultConfig()
	cv := reflect.ValueOf(&c).Elem()
	err := eachField("", data, "a JSON object of disk.Config fields", func(key string, v json.RawMessage) error {
		sf, ok := configField(key)
		if !ok {
			return fmt.Errorf("unknown field %q: want one of %s", key, strings.Join(configFieldNames(), ", "))
		}
		if isNull(v) {
			return nil // as encoding/json: null leaves the default
		}
		fv := cv.FieldByIndex(sf.Index)
		if r, ok := fv.Interface().(LatencyRange); ok {
			if err := r.parse(sf.Name, v); err != nil {
				return err
			}
			fv.Set(reflect.ValueOf(r))
			return nil
		}
		var want string
		switch fv.Kind() {
		case reflect.Float64:
			want = "a number"
		case reflect.Bool:
			want = "true or false"
		case reflect.Int:
			want = "an integer"
		default:
			return fmt.Errorf("%s: unsupported field kind %s", sf.Name, fv.Kind()) // a new Config field needs a case
		}
		if err := json.Unmarshal(v, fv.Addr().Interface()); err != nil {
			return fmt.Errorf("%s = %s: want %s", sf.Name, shown(v), want)
		}
		return nil
	})
	if err != nil {
		return Config{}, fmt.Errorf("disk config: %w", err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// configFieldNames lists the Config fields in declaration order.
func configFieldNames() []string {
	t := reflect.TypeFor[Config]()
	var names []string
	for i := 0; i < t.NumField(); i++ {
		if t.Field(i).IsExported() {
			names = append(names, t.Field(i).Name)
		}
	}
	return names
}

// configField finds the exported Config field a JSON key names: the exact name first, then
// a case-folded match (encoding/json's rule).
func configField(key string) (reflect.StructField, bool) {
	t := reflect.TypeFor[Config]()
	if sf, ok := t.FieldByName(key); ok && sf.IsExported() {
		return sf, true
	}
	for i := 0; i < t.NumField(); i++ {
		if sf := t.Field(i); sf.IsExported() && strings.EqualFold(sf.Name, key) {
			return sf, true
		}
	}
	return reflect.StructField{}, false
}

// latency samples one operation's duration: its range, plus 1/IOPS, plus size/Bandwidth.
// Nothing is drawn when the range is a single point.
func (c *Config) latency(r *rand.Rand, lr LatencyRange, size int) time.Duration {
	d := lr.Min
	if lr.Max > lr.Min {
		d += time.Duration(r.Int64N(int64(lr.Max-lr.Min) + 1))
	}
	if c.IOPS > 0 {
		d += time.Duration(float64(time.Second) / c.IOPS)
	}
	if c.Bandwidth > 0 && size > 0 {
		d += time.Duration(float64(size) * float64(time.Second) / c.Bandwidth)
	}
	return d
}
