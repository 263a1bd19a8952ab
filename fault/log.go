package fault

import (
	"cmp"
	"slices"
	"sync"
	"time"
)

// Recorder is where a layer reports the faults it injects. *Log is the implementation; a
// layer takes a Recorder so that a test can watch its events without a log.
type Recorder interface {
	// Record stamps e (sequence number, and the time when the recorder has a clock and e has
	// none) and keeps it; it returns e as stamped.
	Record(e Event) Event
}

// DefaultLimit is how many events a Log keeps unless told otherwise.
const DefaultLimit = 1 << 16

// Log collects the events of one run, from every layer, in the order they are recorded. It
// keeps at most Limit events (counting, not keeping, the rest) so a long run cannot exhaust
// memory; its counts by layer and kind cover every event. Safe for concurrent use.
type Log struct {
	mu      sync.Mutex
	seq     int64
	limit   int
	events  []Event
	dropped int
	counts  map[kindKey]int
	now     func() time.Duration
	clock   Clock
	sinks   []func(Event)
}

type kindKey struct{ layer, kind string }

// NewLog returns an empty log that keeps up to DefaultLimit events.
func NewLog() *Log { return &Log{limit: DefaultLimit, counts: map[kindKey]int{}} }

// SetLimit sets how many events the log keeps (0 or less: none are kept, all are counted).
func (l *Log) SetLimit(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.limit = n
}

// SetClock makes the log stamp events that arrive without a time: now is read on clock.
func (l *Log) SetClock(clock Clock, now func() time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.clock, l.now = clock, now
}

// Notify calls fn with every event recorded from now on, after it is stamped, in order. fn
// runs under the log's lock: it must not record into the same log.
func (l *Log) Notify(fn func(Event)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sinks = append(l.sinks, fn)
}

// Record implements Recorder.
func (l *Log) Record(e Event) Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	e.Seq = l.seq
	if e.Clock == NoClock && l.now != nil {
		e.Clock, e.Time = l.clock, l.now()
	}
	l.counts[kindKey{e.Layer, e.Kind}]++
	if len(l.events) < l.limit {
		l.events = append(l.events, e)
	} else {
		l.dropped++
	}
	for _, fn := range l.sinks {
		fn(e)
	}
	return e
}

// Events returns a copy of the kept events, in order.
func (l *Log) Events() []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.events)
}

// Len is how many events were recorded, kept or not.
func (l *Log) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return int(l.seq)
}

// Dropped is how many events were counted but not kept.
func (l *Log) Dropped() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dropped
}

// Count is how many faults of one kind a layer injected.
type Count struct {
	Layer string `json:"layer"`
	Kind  string `json:"kind"`
	N     int    `json:"n"`
}

// Count returns how many events of this layer and kind were recorded.
func (l *Log) Count(layer, kind string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.counts[kindKey{layer, kind}]
}

// Counts returns every non-zero count, sorted by layer, then kind.
func (l *Log) Counts() []Count {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Count, 0, len(l.counts))
	for k, n := range l.counts {
		out = append(out, Count{Layer: k.layer, Kind: k.kind, N: n})
	}
	SortCounts(out)
	return out
}

// SortCounts orders counts by layer, then kind: the order reports print them in.
func SortCounts(c []Count) {
	slices.SortFunc(c, func(a, b Count) int {
		return cmp.Or(cmp.Compare(a.Layer, b.Layer), cmp.Compare(a.Kind, b.Kind))
	})
}

// CountEvents counts events by layer and kind, sorted as SortCounts does.
func CountEvents(events []Event) []Count {
	m := map[kindKey]int{}
	for _, e := range events {
		m[kindKey{e.Layer, e.Kind}]++
	}
	out := make([]Count, 0, len(m))
	for k, n := range m {
		out = append(out, Count{Layer: k.layer, Kind: k.kind, N: n})
	}
	SortCounts(out)
	return out
}
