package bench

// Side-by-side cost of evaluating a fail point in faultbox's failpoint, pingcap/failpoint's
// runtime (Eval/Enable, what failpoint-ctl's rewritten code calls) and gofail's generated code
// (gofailsites, generated with the gofail tool). Each library evaluates a site of the same
// shape: inline in a loop that keeps the int a `return(1)` term gives. Run:
//
//	cd bench && go test -run '^$' -bench 'BenchmarkFailpoint$' -benchmem -count 10 . | tee fp.txt
//	benchstat -col /impl -row /phase fp.txt

import (
	"strconv"
	"sync"
	"testing"

	"github.com/faultbox/faultbox/bench/gofailsites"
	"github.com/faultbox/faultbox/failpoint"
	pingcap "github.com/pingcap/failpoint"
	gofail "go.etcd.io/gofail/runtime"
)

var (
	fbSite  = failpoint.New("benchSite")
	fbOther = failpoint.New("benchOther")
)

// Each library's site sits inline in the benchmark loop, as it would in a user's function.

func faultboxLoop(n int) (v int) {
	for range n {
		if s, ok := fbSite.Eval(); ok {
			v, _ = strconv.Atoi(s)
		}
	}
	return v
}

func pingcapLoop(n int) (v int) {
	for range n {
		if val, err := pingcap.Eval("benchSite"); err == nil {
			v, _ = val.(int)
		}
	}
	return v
}

// baselineLoop is the same loop with no fail point: the floor of what a site can cost here.
func baselineLoop(n int) (v int) {
	for range n {
		v = sink
	}
	return v
}

type impl struct {
	name    string
	loop    func(n int) int
	enable  func(name, terms string) error
	disable func(name string) error
}

var impls = []impl{
	{"faultbox", faultboxLoop, failpoint.Enable, failpoint.Disable},
	{"pingcap", pingcapLoop, pingcap.Enable, pingcap.Disable},
	{"gofail", gofailsites.Loop, gofail.Enable, gofail.Disable},
}

// baseline runs beside them in BenchmarkFailpoint only; it has no fail point to enable, so
// it only measures (enable and disable stay nil and are never called).
var baseline = impl{name: "baseline", loop: baselineLoop}

var sink int

func BenchmarkFailpoint(b *testing.B) {
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	measure := func(phase string, want int) {
		for _, im := range append([]impl{baseline}, impls...) {
			b.Run("phase="+phase+"/impl="+im.name, func(b *testing.B) {
				b.ReportAllocs()
				sink = im.loop(b.N)
				if sink != want && im.name != "baseline" {
					b.Fatalf("site returned %d, want %d", sink, want)
				}
			})
		}
	}
	measure("nothing-configured", 0)

	for _, im := range impls {
		must(im.enable("benchOther", "return(1)"))
	}
	if fbOther.Err() == nil || gofailsites.Other() != 1 {
		b.Fatal("the other fail point is not active")
	}
	measure("other-active", 0)

	for _, im := range impls {
		must(im.enable("benchSite", "off"))
	}
	measure("active-off", 0)

	for _, im := range impls {
		must(im.enable("benchSite", "return(1)"))
	}
	measure("active-return", 1)

	for _, im := range impls {
		must(im.disable("benchSite"))
		must(im.disable("benchOther"))
	}
}

// BenchmarkFailpointParallelSleep: 8 goroutines each hit a `sleep(10)` site once per
// operation. Actions that run outside locks take about 10 ms per operation; a library that
// holds a lock while sleeping takes about 8 x 10 ms.
func BenchmarkFailpointParallelSleep(b *testing.B) {
	const goroutines = 8
	for _, im := range impls {
		b.Run("impl="+im.name, func(b *testing.B) {
			if err := im.enable("benchSite", "sleep(10)"); err != nil {
				b.Fatal(err)
			}
			defer im.disable("benchSite")
			for b.Loop() {
				var wg sync.WaitGroup
				for range goroutines {
					wg.Go(func() { im.loop(1) })
				}
				wg.Wait()
			}
		})
	}
}
