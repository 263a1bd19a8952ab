package explore

import (
	"context"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/faultbox/faultbox/fault"
)

// relay is a target whose outcome (a value reaches c) has redundant supports: a sends it to c
// directly; if that is lost, a relays it through b; if that is lost too, through d. A plan
// cuts links ("cut a>c"). No single cut breaks it, and the baseline shows only the direct
// path: lineage must learn the relays from the runs that survive its cuts.
type relay struct{}

var relayPaths = [][]string{{"cut a>c"}, {"cut a>b", "cut b>c"}, {"cut a>d", "cut d>c"}}

func (relay) Name() string { return "relay" }

func (relay) Run(_ context.Context, _ fault.Seed, plan []string) (*Outcome, error) {
	for _, path := range relayPaths {
		cut := false
		for _, hop := range path {
			cut = cut || slices.Contains(plan, hop)
		}
		if !cut {
			var pts []Point
			for _, hop := range path {
				pts = append(pts, Point{Kind: "deliver", Label: hop})
			}
			return &Outcome{Signature: strings.Join(path, ","), Points: pts}, nil
		}
	}
	return &Outcome{Failed: true, Check: "the value arrived", Signature: "lost"}, nil
}

func (relay) RandomPlan(*rand.Rand) []string { return nil }
func (relay) Aims(*Outcome) []string         { return nil }

// Cuts: the supports of a good run are the hops its value took.
func (relay) Cuts(o *Outcome) []string {
	var out []string
	for _, p := range o.Points {
		out = append(out, p.Label)
	}
	return out
}

func (relay) Replay(fault.Seed, []string) string { return "relay" }

// Lineage's refinement loop: each surviving run adds the path that carried the value to the
// model, and the next sets cut it too, until a set of three cuts (one per path) loses it.
func TestLineageLearnsTheRedundancy(t *testing.T) {
	t.Parallel()
	for _, workers := range []int{1, 3} {
		res := explore(t, relay{}, Options{Strategy: Lineage, Seed: 1, Runs: 10, Workers: workers})
		var plans [][]string
		for _, r := range res.Runs {
			plans = append(plans, r.Plan)
		}
		want := [][]string{{"cut a>c"}, {"cut a>c", "cut a>b"}, {"cut a>c", "cut b>c"},
			{"cut a>c", "cut a>b", "cut a>d"}, {"cut a>c", "cut a>b", "cut d>c"}, {"cut a>c", "cut b>c", "cut a>d"}, {"cut a>c", "cut b>c", "cut d>c"}}
		if !reflect.DeepEqual(plans, want) {
			t.Fatalf("-j %d: plans %v, want %v", workers, plans, want)
		}
		if res.FirstFailure != 3 || len(res.Runs[3].Plan) != 3 {
			t.Fatalf("-j %d: first failure at run %d, want 3 (three cuts)", workers, res.FirstFailure)
		}
		if m := res.Model; m == nil || m.Derivations != 3 || m.Supports != 5 {
			t.Fatalf("-j %d: model %+v, want the 3 paths and their 5 hops", workers, m)
		}
	}
	// Without refinement (the baseline's single cuts only) the value always arrives.
	out, _ := relay{}.Run(context.Background(), 0, []string{"cut a>c"})
	if out.Failed {
		t.Fatal("one cut broke the relay: the test shows nothing")
	}
}

// replicas is a target whose outcome rests on either of two writes, both in the baseline: a
// run that survives one cut reveals nothing the baseline did not show, and lineage must still
// pair the cut with the support that carried the outcome.
type replicas struct{ relay }

func (replicas) Run(_ context.Context, _ fault.Seed, plan []string) (*Outcome, error) {
	var pts []Point
	for _, w := range []string{"cut x", "cut y"} {
		if !slices.Contains(plan, w) {
			pts = append(pts, Point{Kind: "write", Label: w})
		}
	}
	if len(pts) == 0 {
		return &Outcome{Failed: true, Check: "a copy survived", Signature: "lost"}, nil
	}
	return &Outcome{Signature: "ok", Points: pts}, nil
}

func TestLineageRefinesWithoutNewSupports(t *testing.T) {
	t.Parallel()
	res := explore(t, replicas{}, Options{Strategy: Lineage, Seed: 1, Runs: 10})
	if res.FirstFailure < 0 || !reflect.DeepEqual(res.Runs[res.FirstFailure].Plan, []string{"cut x", "cut y"}) {
		t.Fatalf("first failure %d in %d runs: want the two cuts together", res.FirstFailure, len(res.Runs))
	}
}
