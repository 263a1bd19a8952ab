package cluster

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Scenario selects the fault schedule of a workload.
type Scenario uint8

const (
	// Normal keeps every node up for the whole run.
	Normal Scenario = iota
	// Fault takes follower 1 down for the third quarter of the operations, then brings it
	// back and catches it up.
	Fault
)

// Scenarios lists the scenario names in a stable order, for messages and flags.
var Scenarios = []string{"normal", "fault"}

func (s Scenario) String() string {
	if int(s) < len(Scenarios) {
		return Scenarios[s]
	}
	return fmt.Sprintf("Scenario(%d)", uint8(s))
}

// ParseScenario maps a name to its Scenario; an unknown name is an error that lists the allowed
// ones.
func ParseScenario(name string) (Scenario, error) {
	for i, n := range Scenarios {
		if n == name {
			return Scenario(i), nil
		}
	}
	return 0, fmt.Errorf("unknown scenario %q: expected one of %s", name, strings.Join(Scenarios, ", "))
}

// The frozen acceptance hashes: SHA-256 of the snapshot, produced by independent Rust, Go and
// C++ implementations of the lab.
const (
	// NormalHash is the hash of Params{Seed: 42, Ops: 200, Keys: 16, Scenario: Normal}.
	NormalHash = "5976b45b9f40f440e8249da27fe4fe752e005f606efc3596bdb25ca4e4f99296"
	// FaultHash is the hash of Params{Seed: 7, Ops: 2000, Keys: 128, Scenario: Fault}.
	FaultHash = "d67c36725af65242e985a308db5152af2a3e2525fab33d11ed6e826a252ff792"
)

// FrozenHash returns the frozen hash of p when p is one of the two frozen workloads, else "".
func FrozenHash(p Params) string {
	switch p {
	case Params{Seed: 42, Ops: 200, Keys: 16, Scenario: Normal}:
		return NormalHash
	case Params{Seed: 7, Ops: 2000, Keys: 128, Scenario: Fault}:
		return FaultHash
	}
	return ""
}

// MaxOps bounds a workload: each operation costs three log entries in memory (about 120 bytes),
// so ten million operations already need over a gigabyte.
const MaxOps = 10_000_000

// Params names one workload.
type Params struct {
	Seed     uint64
	Ops      uint64
	Keys     uint64 // at least 1
	Scenario Scenario
}

// Validate reports a parameter outside the model's domain.
func (p Params) Validate() error {
	if p.Keys < 1 {
		return fmt.Errorf("keys = %d: expected at least 1", p.Keys)
	}
	if p.Ops > MaxOps {
		return fmt.Errorf("ops = %d: expected at most %d", p.Ops, MaxOps)
	}
	if p.Scenario != Normal && p.Scenario != Fault {
		return fmt.Errorf("scenario = %d: expected one of %s", p.Scenario, strings.Join(Scenarios, ", "))
	}
	return nil
}

// Summary is what happened in a run, for people: the fault window and how follower 1 fared.
type Summary struct {
	Params Params
	// DownStart and DownEnd are the operation indexes at which follower 1 went down and came
	// back (Fault only; DownEnd == Ops means it came back after the loop).
	DownStart, DownEnd uint64
	// Missed is how many entries were submitted while follower 1 was down; CaughtUp is how many
	// entries catch-up appended to it.
	Missed, CaughtUp uint64
	// Unacked is how many submissions failed to reach two acknowledgements.
	Unacked uint64
}

// Run plays a whole workload: ops operations drawn from seed over keys keys, with follower 1
// down for [ops/2, ops*3/4) in the Fault scenario. It returns the final cluster and a summary.
func Run(p Params) (*Cluster, Summary, error) {
	if err := p.Validate(); err != nil {
		return nil, Summary{}, err
	}
	c, s := run(p, p.Ops/2, p.Ops*3/4)
	return c, s, nil
}

// run plays the workload with follower 1 down for [downStart, downEnd) in the Fault scenario.
// Run's window always ends inside the loop (ops*3/4 < ops for ops >= 1); tests pass a window
// that reaches the end to exercise the catch-up after the loop.
func run(p Params, downStart, downEnd uint64) (*Cluster, Summary) {
	c := New()
	for i := range c.Nodes {
		// Every run ends with ops entries on every node: size the logs once.
		c.Nodes[i].Log = make([]Entry, 0, p.Ops)
	}
	rng := NewRand(p.Seed)
	s := Summary{Params: p}
	withFault := p.Scenario == Fault
	if withFault {
		s.DownStart, s.DownEnd = downStart, downEnd
	}
	for i := uint64(0); i < p.Ops; i++ {
		if withFault && i == downStart {
			c.SetFollowerUp(1, false)
		}
		if withFault && i == downEnd {
			c.SetFollowerUp(1, true)
			s.CaughtUp += uint64(c.CatchUp(1))
		}
		if !c.Nodes[1].Up {
			s.Missed++
		}
		if c.Submit(StepOp(rng, p.Keys)) < 2 {
			s.Unacked++
		}
	}
	if withFault && !c.Nodes[1].Up {
		c.SetFollowerUp(1, true)
		s.CaughtUp += uint64(c.CatchUp(1))
		s.DownEnd = p.Ops
	}
	return c, s
}

// HashSnapshot returns the lowercase hex SHA-256 of a snapshot.
func HashSnapshot(snapshot []byte) string {
	sum := sha256.Sum256(snapshot)
	return hex.EncodeToString(sum[:])
}
