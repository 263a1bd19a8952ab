package main

import (
	"bytes"
	"testing"

	"github.com/faultbox/faultbox/fault"
)

// Two layers, one log: the fail point's and the disk's events interleave in one order, and
// the same seed gives the same JSON lines byte for byte.
func TestOneLogTwoLayers(t *testing.T) {
	jsonl := func(seed fault.Seed) []byte {
		rep, log, err := run(seed, 200)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Verdict != fault.Pass {
			rep.WriteText(t.Output())
			t.Fatalf("seed %d: verdict %s", seed, rep.Verdict)
		}
		layers := map[string]bool{}
		for _, e := range log.Events() {
			layers[e.Layer] = true
			if e.Clock != fault.Virtual {
				t.Fatalf("event %v is not on the virtual clock", e)
			}
		}
		if !layers[fault.LayerFailpoint] || !layers[fault.LayerDisk] {
			t.Fatalf("seed %d: layers %v, want failpoint and disk in one log", seed, layers)
		}
		var b bytes.Buffer
		fault.WriteJSONL(&b, log.Events())
		return b.Bytes()
	}
	a, b, c := jsonl(7), jsonl(7), jsonl(8)
	if !bytes.Equal(a, b) {
		t.Fatal("same seed, different logs")
	}
	if bytes.Equal(a, c) {
		t.Fatal("seeds 7 and 8 gave the same log")
	}
	back, err := fault.ReadJSONL(bytes.NewReader(a))
	if err != nil || len(back) == 0 {
		t.Fatalf("the log does not read back: %v", err)
	}
}
