package disk

import (
	"fmt"
	"strings"

	"github.com/faultbox/faultbox/fault"
)

// Family names one of the seven storage fault families. It is the Kind of the fault.Event a
// disk records for it (Layer fault.LayerDisk).
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

// Kinds of the lifecycle events Storage records (Layer fault.LayerDisk).
const (
	KindCrash = "crash" // power loss of one process's disk
	KindWipe  = "wipe"  // a process's storage deleted
)

// Families lists the seven families in a fixed order.
var Families = []Family{ReadCorruption, WriteCorruption, TornWrite, MisdirectedWrite,
	MisdirectedRead, PhantomWrite, SyncFailure}

// Every injected fault is a fault.Event with Layer "disk", Kind the family, Process the
// owner, Where the file name as opened, Offset and Length the bytes it covers, Time the disk
// clock's and Detail what is family-specific (a target offset, a torn shape, a flipped bit).

// Counters counts injected faults per family, plus lifecycle operations.
type Counters struct {
	ReadCorruption, WriteCorruption, TornWrite, MisdirectedWrite, MisdirectedRead int
	PhantomWrite, SyncFailure                                                     int
	Crashes, Wipes                                                                int
	// Injected counts operations failed by a targeting rule; CrashPoints, crashes a rule
	// caused (each also counted in Crashes).
	Injected, CrashPoints int
	// Concurrent counts operations that overlapped another on the same disk.
	Concurrent int
}

// CountersOf reads the disk's counters from a log (events of other layers are ignored).
func CountersOf(log *fault.Log) Counters {
	var c Counters
	for _, f := range Families {
		*c.field(f) = log.Count(fault.LayerDisk, string(f))
	}
	c.Crashes = log.Count(fault.LayerDisk, KindCrash)
	c.Wipes = log.Count(fault.LayerDisk, KindWipe)
	c.Injected = log.Count(fault.LayerDisk, KindInjectedError)
	c.CrashPoints = log.Count(fault.LayerDisk, KindCrashPoint)
	c.Concurrent = log.Count(fault.LayerDisk, KindConcurrentUse)
	return c
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

// Total is the number of injected faults (crashes and wipes are not counted).
func (c Counters) Total() int {
	t := 0
	for _, f := range Families {
		t += c.Of(f)
	}
	return t
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
	if c.Injected > 0 || c.CrashPoints > 0 { // absent when no rule acted, as before rules
		parts = append(parts, fmt.Sprintf("injected=%d", c.Injected), fmt.Sprintf("crash-points=%d", c.CrashPoints))
	}
	if c.Concurrent > 0 {
		parts = append(parts, fmt.Sprintf("concurrent=%d", c.Concurrent))
	}
	return strings.Join(parts, " ")
}
