package disk

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// Family names one of the seven storage fault families.
type Family string

// The seven families of the spec.
const (
	ReadCorruption   Family = "read-corruption"
	WriteCorruption  Family = "write-corruption"
	TornWrite        Family = "torn-write"
	MisdirectedWrite Family = "misdirected-write"
	MisdirectedRead  Family = "misdirected-read"
	PhantomWrite     Family = "phantom-write"
	SyncFailure      Family = "sync-failure"
)

// Families lists the seven families in a fixed order.
var Families = []Family{ReadCorruption, WriteCorruption, TornWrite, MisdirectedWrite,
	MisdirectedRead, PhantomWrite, SyncFailure}

// Event is one injected fault.
type Event struct {
	Seq     int           // position in the recorder, from 1
	Process string        // owner of the file ("" outside a Storage)
	Family  Family        // which family
	File    string        // file name as opened
	Offset  int64         // where the fault hit
	Length  int64         // how many bytes it covers
	Time    time.Duration // the disk clock when it happened
	Detail  string        // family-specific: target offset, torn shape, ...
}

// String is a stable one-line form: two runs with the same seed and workload print the
// same lines byte for byte (on a virtual clock).
func (e Event) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "#%d t=%s", e.Seq, e.Time)
	if e.Process != "" {
		fmt.Fprintf(&b, " proc=%s", e.Process)
	}
	fmt.Fprintf(&b, " %s %s off=%d len=%d", e.Family, e.File, e.Offset, e.Length)
	if e.Detail != "" {
		b.WriteString(" " + e.Detail)
	}
	return b.String()
}

func durationOf(ns int64) time.Duration { return time.Duration(ns) }

// Counters counts injected faults per family, plus lifecycle operations.
type Counters struct {
	ReadCorruption, WriteCorruption, TornWrite, MisdirectedWrite, MisdirectedRead int
	PhantomWrite, SyncFailure                                                     int
	Crashes, Wipes                                                                int
}

// Of returns the count for one family.
func (c Counters) Of(f Family) int {
	if p := c.field(f); p != nil {
		return *p
	}
	return 0
}

// field is the counter of one family, nil for an unknown family.
func (c *Counters) field(f Family) *int {
	switch f {
	case ReadCorruption:
		return &c.ReadCorruption
	case WriteCorruption:
		return &c.WriteCorruption
	case TornWrite:
		return &c.TornWrite
	case MisdirectedWrite:
		return &c.MisdirectedWrite
	case MisdirectedRead:
		return &c.MisdirectedRead
	case PhantomWrite:
		return &c.PhantomWrite
	case SyncFailure:
		return &c.SyncFailure
	}
	return nil
}

// Total is the number of injected faults.
func (c Counters) Total() int {
	t := 0
	for _, f := range Families {
		t += c.Of(f)
	}
	return t
}

func (c *Counters) add(f Family) {
	if p := c.field(f); p != nil {
		*p++
	}
}

// String lists the non-zero counters in a fixed order.
func (c Counters) String() string {
	var parts []string
	for _, f := range Families {
		if n := c.Of(f); n > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", f, n))
		}
	}
	parts = append(parts, fmt.Sprintf("crashes=%d", c.Crashes), fmt.Sprintf("wipes=%d", c.Wipes))
	return strings.Join(parts, " ")
}

// Recorder collects events and counters; safe for concurrent use. The events kept are
// capped (Limit, default 1<<16; set it before use) so a long run cannot exhaust memory;
// counters keep counting.
type Recorder struct {
	mu      sync.Mutex
	events  []Event
	count   Counters
	seq     int
	Limit   int
	dropped int
}

// NewRecorder returns an empty recorder.
func NewRecorder() *Recorder { return &Recorder{} }

func (r *Recorder) record(e Event) Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	e.Seq = r.seq
	r.count.add(e.Family)
	limit := r.Limit
	if limit == 0 {
		limit = 1 << 16
	}
	if len(r.events) >= limit {
		r.dropped++
		return e
	}
	r.events = append(r.events, e)
	return e
}

func (r *Recorder) lifecycle(crash bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if crash {
		r.count.Crashes++
	} else {
		r.count.Wipes++
	}
}

// Events returns a copy of the events so far, in order.
func (r *Recorder) Events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

// Counters returns the counters so far.
func (r *Recorder) Counters() Counters {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.count
}

// Dropped is how many events were counted but not kept because of Limit.
func (r *Recorder) Dropped() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dropped
}
