package fault

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Layers, as they name themselves in events. A layer outside faultbox may use its own name.
const (
	LayerFailpoint  = "failpoint"
	LayerDisk       = "disk"
	LayerChunkcache = "chunkcache"
	LayerTrace      = "trace"
	LayerNet        = "net"
	LayerProcess    = "process"
)

// Clock says which clock an event's time was read on.
type Clock string

const (
	// NoClock: the layer has no clock; the event's order in the log is its only time.
	NoClock Clock = ""
	// Virtual: a simulated clock; the time is reproducible.
	Virtual Clock = "virtual"
	// Wall: the real clock, measured from the start of the run; not reproducible.
	Wall Clock = "wall"
)

// Event is one injected fault, from any layer.
type Event struct {
	Seq     int64         `json:"seq"`               // position in its log, from 1
	Layer   string        `json:"layer"`             // who injected it: "disk", "failpoint", …
	Kind    string        `json:"kind"`              // what: "sync-failure", "return", "error=EIO", …
	Process string        `json:"process,omitempty"` // whom it hit, when a run has several
	Where   string        `json:"where,omitempty"`   // the place: a file, a fail point, a key, a call's address
	Offset  int64         `json:"offset,omitempty"`  // a byte offset or a position inside Where
	Length  int64         `json:"length,omitempty"`  // how many bytes or items it covers
	Time    time.Duration `json:"time_ns,omitempty"` // on Clock
	Clock   Clock         `json:"clock,omitempty"`
	Detail  string        `json:"detail,omitempty"` // layer-specific: a torn shape, a rule, a value
}

// String is the stable one-line text form:
//
//	#3 t=1.5ms disk sync-failure proc=10.0.0.2:7000 wal/log off=4096 len=512 dropped-dirty
//
// A wall-clock time is written wall=…; an event with no clock has no time field. Offset and
// length appear when either is set.
func (e Event) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "#%d", e.Seq)
	switch e.Clock {
	case Virtual:
		fmt.Fprintf(&b, " t=%s", e.Time)
	case Wall:
		fmt.Fprintf(&b, " wall=%s", e.Time)
	}
	fmt.Fprintf(&b, " %s %s", e.Layer, e.Kind)
	if e.Process != "" {
		b.WriteString(" proc=" + e.Process)
	}
	if e.Where != "" {
		b.WriteString(" " + e.Where)
	}
	if e.Offset != 0 || e.Length != 0 {
		fmt.Fprintf(&b, " off=%d len=%d", e.Offset, e.Length)
	}
	if e.Detail != "" {
		b.WriteString(" " + e.Detail)
	}
	return b.String()
}

// Validate reports the first field that makes e unusable: a layer and a kind are required,
// a sequence number and a length cannot be negative, and the clock must be one of the three.
func (e Event) Validate() error {
	switch {
	case e.Layer == "":
		return fmt.Errorf("fault event: layer is empty: want a layer name such as %q", LayerDisk)
	case e.Kind == "":
		return fmt.Errorf("fault event: kind is empty: want what the fault was, such as %q", "sync-failure")
	case e.Seq < 0:
		return fmt.Errorf("fault event: seq = %d: want 0 or more", e.Seq)
	case e.Length < 0:
		return fmt.Errorf("fault event: length = %d: want 0 or more", e.Length)
	case e.Clock != NoClock && e.Clock != Virtual && e.Clock != Wall:
		return fmt.Errorf("fault event: clock = %q: want %q, %q or none", e.Clock, Virtual, Wall)
	}
	return nil
}

// WriteJSONL writes events as JSON lines, one event a line, fields in a fixed order.
func WriteJSONL(w io.Writer, events []Event) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false) // "10.0.0.1->10.0.0.2" stays readable
	for _, e := range events {
		if err := enc.Encode(e); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// maxLineBytes bounds one JSON line read back, so a corrupt file cannot exhaust memory.
const maxLineBytes = 1 << 20

// ReadJSONL reads events written by WriteJSONL. Blank lines are skipped; a bad line is an
// error naming its line number, and unknown fields are refused so that a typo is not lost.
func ReadJSONL(r io.Reader) ([]Event, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLineBytes)
	var out []Event
	for line := 1; sc.Scan(); line++ {
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(text))
		dec.DisallowUnknownFields()
		var e Event
		if err := dec.Decode(&e); err != nil {
			return out, fmt.Errorf("fault events line %d: %w", line, err)
		}
		if dec.More() {
			return out, fmt.Errorf("fault events line %d: more than one JSON value: want one event a line", line)
		}
		if err := e.Validate(); err != nil {
			return out, fmt.Errorf("line %d: %w", line, err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("fault events: %w (a line is limited to %s bytes)", err, strconv.Itoa(maxLineBytes))
	}
	return out, nil
}
