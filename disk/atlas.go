package disk

import (
	"fmt"

	"github.com/faultbox/faultbox/fault"
)

// Atlas spreads corruption over the replicas of a replicated system so that some good copy
// of every location survives: for each location (file name and sector) it allows at most
// quorum-1 of the replicas to be corrupted, chosen from the seed. A failing test then means a
// real bug, not an unrecoverable disk. Crashes stay outside the atlas.
type Atlas struct {
	seed     fault.Seed
	replicas int
	quorum   int
}

// NewAtlas returns the atlas for replicas copies with the given quorum (1 <= quorum <= replicas).
func NewAtlas(seed fault.Seed, replicas, quorum int) (*Atlas, error) {
	if replicas < 1 {
		return nil, fmt.Errorf("disk atlas: replicas = %d: want >= 1", replicas)
	}
	if quorum < 1 || quorum > replicas {
		return nil, fmt.Errorf("disk atlas: quorum = %d: want 1..%d (the number of replicas)", quorum, replicas)
	}
	return &Atlas{seed: seed.Derive("atlas"), replicas: replicas, quorum: quorum}, nil
}

// Faultable reports whether replica may be corrupted at this location. Replica indexes
// outside [0, replicas) are never faultable.
func (a *Atlas) Faultable(replica int, file string, sector int64) bool {
	if replica < 0 || replica >= a.replicas {
		return false
	}
	start := int(a.seed.Hash(fault.HashString(file), uint64(sector)) % uint64(a.replicas))
	return (replica-start+a.replicas)%a.replicas < a.quorum-1
}
