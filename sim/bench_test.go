package sim

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// relay forwards every message to the next process in a ring.
type relay struct{ next netip.Addr }

func (relay) Start(*Process)         {}
func (relay) Timer(*Process, string) {}
func (h relay) Receive(p *Process, m Message) {
	p.Send(h.next, m.Payload)
}

func ringAddr(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}) }

// BenchmarkHandlerEvents: messages around a ring of handler processes; one op is one event
// (a delivery that sends the next message).
func BenchmarkHandlerEvents(b *testing.B) {
	for _, procs := range []int{3, 10, 100} {
		for _, inflight := range []int{1, 100} {
			b.Run(fmt.Sprintf("procs=%d/inflight=%d", procs, inflight), func(b *testing.B) {
				w := New(1, Options{Network: Network{LatencyMin: time.Millisecond, LatencyMax: 3 * time.Millisecond}})
				for i := range procs {
					w.SpawnHandler(ringAddr(i), func() Handler { return relay{next: ringAddr((i + 1) % procs)} })
				}
				w.RunUntilIdle()
				for i := range inflight {
					w.Process(ringAddr(i%procs)).Send(ringAddr((i+1)%procs), []byte("hello, world"))
				}
				stepN(b, w, "events/s")
				b.ReportMetric(float64(w.Now())/float64(b.Elapsed()), "x-realtime")
			})
		}
	}
}

// BenchmarkTaskSwitches: a task that sleeps in a loop; one op is one switch to the task and
// back.
func BenchmarkTaskSwitches(b *testing.B) {
	w := New(1, Options{})
	w.SpawnTask(ip1, func(t *Task) {
		for {
			t.Sleep(time.Microsecond)
		}
	})
	w.Step()
	stepN(b, w, "switches/s")
}

// stepN times b.N steps of w and reports their rate as unit.
func stepN(b *testing.B, w *World, unit string) {
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		w.Step()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), unit)
}
