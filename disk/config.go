package disk

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
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
func RandomForSeed(seed uint64) Config {
	r := newStream(seed, "disk-config")
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
	var raw struct {
		Min json.RawMessage
		Max json.RawMessage
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return fmt.Errorf("latency range %s: want {\"Min\": \"50us\", \"Max\": \"200us\"}: %w", b, err)
	}
	var err error
	if raw.Min != nil {
		if r.Min, err = parseDuration(raw.Min); err != nil {
			return fmt.Errorf("Min: %w", err)
		}
	}
	if raw.Max != nil {
		if r.Max, err = parseDuration(raw.Max); err != nil {
			return fmt.Errorf("Max: %w", err)
		}
	}
	return nil
}

func parseDuration(b json.RawMessage) (time.Duration, error) {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("%q: want a duration like \"150us\": %w", s, err)
		}
		return d, nil
	}
	var n float64
	if err := json.Unmarshal(b, &n); err != nil || math.IsNaN(n) || math.Abs(n) > math.MaxInt64/2 {
		return 0, fmt.Errorf("%s: want a duration string or a number of nanoseconds", b)
	}
	return time.Duration(n), nil
}

// ParseConfig reads a JSON object of Config fields over DefaultConfig (absent fields keep
// their defaults) and validates the result. Unknown fields are errors.
func ParseConfig(data []byte) (Config, error) {
	c := DefaultConfig()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("disk config: %w", err)
	}
	if dec.More() {
		return Config{}, fmt.Errorf("disk config: trailing data after the JSON object")
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
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
