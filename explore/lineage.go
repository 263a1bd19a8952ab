package explore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/faultbox/faultbox/fault"
)

// Model is what lineage has learned of how a good outcome is reached (Molly's lineage-driven
// fault injection): a derivation is the supports one good run rested on, each named by the
// fault that cuts it (Target.Cuts of that run). The baseline gives the first; a run whose
// faults cut supports of every derivation known and still succeeds reached the outcome another
// way, and the supports it rested on that no derivation had yet (the redundancy it revealed:
// a message sent again, another replica's write) join the model.
type Model struct {
	Derivations int `json:"derivations"` // distinct ways the outcome was seen to be reached
	Supports    int `json:"supports"`    // distinct supports among them (counted up to maxModelSupports)
	// Refinements counts the fault sets the surviving runs suggested (a surviving set plus
	// one support its run rested on that the baseline did not).
	Refinements int `json:"refinements"`

	// Both sets hold 64-bit hashes, not the supports' names: a long exploration of a big
	// target learns millions of supports. known stops growing at maxModelSupports (Supports
	// then says "at least").
	known map[uint64]bool // supports
	seen  map[uint64]bool // derivations, by their sorted supports
}

// maxModelSupports bounds the supports a model counts.
const maxModelSupports = 1 << 22

// add records one good run's supports.
func (m *Model) add(supports []string) {
	if m.known == nil {
		m.known, m.seen = map[uint64]bool{}, map[uint64]bool{}
	}
	hash := fault.HashString
	if key := hash(setKey(supports)); !m.seen[key] {
		m.seen[key] = true
		m.Derivations++
	}
	for _, s := range supports {
		if len(m.known) < maxModelSupports {
			m.known[hash(s)] = true
		}
	}
	m.Supports = len(m.known)
}

const (
	// lineageBatch is how many fault sets lineage chooses at once; the model is refined
	// between batches. Fixed (not the number of workers) so that the runs do not depend on -j.
	lineageBatch = 8
	// maxCutSet is the most faults a lineage set holds.
	maxCutSet = 4
	// maxAlternatives bounds the refinements one surviving run suggests: its set plus each of
	// the first supports it rested on that the baseline did not.
	maxAlternatives = 8
)

// maxPairs bounds the pairs of the baseline's cuts lineage falls back on.
const maxPairs = 1 << 16

// setKey names a fault set whatever the order of its faults.
func setKey(set []string) string {
	k := slices.Clone(set)
	slices.Sort(k)
	return strings.Join(k, "\n")
}

// lineage runs the lineage strategy: the baseline's supports are cut one at a time; each
// surviving run adds the supports it rested on to the model, and its set plus each of those
// the baseline did not rest on (the redundancy it revealed; when there is none, plus each of
// its supports) is tried next, before the remaining single cuts: the model's growth points
// at where the outcome's redundancy ends. When the model suggests nothing more, pairs of the
// baseline's cuts. A set is tried once, whatever its order. Runs are chosen lineageBatch at a time,
// so the runs are a pure function of the options whatever o.Workers is.
func lineage(ctx context.Context, t Target, o Options, start time.Time) ([]RunResult, *Model, error) {
	n := o.Runs
	if n <= 0 {
		n = 1 << 20
	}
	base := o.Seed.Derive("explore", "baseline")
	b, err := t.Run(ctx, base, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("explore: the baseline run: %w", err)
	}
	m := &Model{}
	var queue [][]string
	first := t.Cuts(b)
	inFirst := map[string]bool{}
	if !b.Failed { // a failing baseline supports nothing: its single cuts are still tried
		m.add(first)
	}
	for _, c := range first {
		queue = append(queue, []string{c})
		inFirst[c] = true
	}
	tried := map[string]bool{}
	paired := false
	var out []RunResult
	for len(out) < n {
		var batch []planned
		if len(queue) == 0 && !paired {
			// The model suggests nothing more: pairs of the baseline's cuts, in order.
			paired = true
			for _, set := range aimedSets(first, maxPairs) {
				if len(set) == 2 {
					queue = append(queue, set)
				}
			}
		}
		for len(queue) > 0 && len(batch) < lineageBatch && len(out)+len(batch) < n {
			set := queue[0]
			queue = queue[1:]
			if k := setKey(set); !tried[k] {
				tried[k] = true
				batch = append(batch, planned{index: len(out) + len(batch), seed: base, plan: set})
			}
		}
		if len(batch) == 0 {
			if !paired && len(queue) == 0 {
				continue // every set left had been tried: the pairs are next
			}
			break
		}
		rs, outs := runAll(ctx, t, batch, o, start, len(out), n, true)
		out = append(out, rs...)
		var next [][]string
		for i, oc := range outs {
			if oc == nil || oc.Failed {
				continue
			}
			d := t.Cuts(oc)
			m.add(d)
			if len(batch[i].plan) >= maxCutSet {
				continue
			}
			// The run reached the outcome by d, which its set did not cut: the set plus one
			// support of d that the baseline did not rest on (the redundancy) is next; when d
			// rests on nothing new, the set plus one of d's supports.
			alts := 0
			for _, fresh := range []bool{true, false} {
				for _, a := range d {
					if alts < maxAlternatives && inFirst[a] != fresh && !slices.Contains(batch[i].plan, a) {
						next = append(next, append(slices.Clone(batch[i].plan), a))
						alts++
						m.Refinements++
					}
				}
				if alts > 0 {
					break
				}
			}
		}
		queue = append(next, queue...)
		if len(rs) < len(batch) { // the budget ran out, or the context ended
			break
		}
	}
	return out, m, nil
}
