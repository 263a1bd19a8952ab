package sim_test

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"

	"github.com/faultbox/faultbox/sim"
)

var (
	alice = netip.MustParseAddr("10.0.0.1")
	bob   = netip.MustParseAddr("10.0.0.2")
)

// pinger pings bob every 10ms and prints each pong; bob answers every ping.
type pinger struct{ n int }

func (h *pinger) Start(p *sim.Process) { p.SetTimer("tick", 10*time.Millisecond) }
func (h *pinger) Timer(p *sim.Process, _ string) {
	h.n++
	p.Send(bob, fmt.Appendf(nil, "ping %d", h.n))
	p.SetTimer("tick", 10*time.Millisecond)
}
func (h *pinger) Receive(p *sim.Process, m sim.Message) {
	fmt.Printf("%s %s\n", p.Now(), m.Payload)
}

type echo struct{}

func (echo) Start(*sim.Process)         {}
func (echo) Timer(*sim.Process, string) {}
func (echo) Receive(p *sim.Process, m sim.Message) {
	p.Send(m.From, append([]byte("pong of "), m.Payload...))
}

// Two processes play ping-pong as handlers; bob crashes at 25ms and is back 20ms later, so
// pings 3 and 4 go unanswered. The same seed prints the same lines and the same trace hash.
func Example_pingPong() {
	w := sim.New(42, sim.Options{})
	w.SpawnHandler(alice, func() sim.Handler { return &pinger{} })
	w.SpawnHandler(bob, func() sim.Handler { return echo{} })
	sched, _ := sim.ParseSchedule("at 25ms crash 10.0.0.2 for 20ms")
	w.Apply(sched)
	w.RunFor(65 * time.Millisecond)
	for _, e := range w.Log().Events() {
		fmt.Println(e)
	}
	// Output:
	// 12ms pong of ping 1
	// 22ms pong of ping 2
	// 52ms pong of ping 5
	// 62ms pong of ping 6
	// #1 t=25ms process crash proc=10.0.0.2 incarnation 1
	// #2 t=25ms disk crash proc=10.0.0.2
}

// A task writes a file through the world's disk: each operation waits its latency in virtual
// time, so the write completes only as the world steps, and a crash keeps what was synced.
func Example_task() {
	w := sim.New(1, sim.Options{})
	w.SpawnTask(alice, func(t *sim.Task) {
		fsys := t.FS()
		if data, err := readAll(fsys, "greeting"); err == nil {
			fmt.Printf("%s after the crash: %q\n", t.Now(), data)
			return
		}
		f, _ := fsys.Create("greeting")
		fsys.SyncDir(".")
		f.WriteAt([]byte("hello"), 0)
		f.Sync()
		f.WriteAt([]byte(", world"), 5) // never synced
		fmt.Printf("%s wrote and synced %q, then wrote %q\n", t.Now(), "hello", ", world")
		t.Sleep(time.Second)
	})
	w.At(10*time.Millisecond, func() { w.Reboot(alice, sim.Crash, time.Millisecond) })
	w.RunUntilIdle()
	// Output:
	// 12.012µs wrote and synced "hello", then wrote ", world"
	// 11.004005ms after the crash: "hello"
}

// counter keeps a running sum of the numbers it is sent and answers each with the sum. It
// decodes what it needs from a payload and keeps none of it, so it is a Borrower: the world
// reuses each payload's memory for a later message.
type counter struct{ sum uint64 }

func (*counter) Start(*sim.Process)         {}
func (*counter) Timer(*sim.Process, string) {}
func (*counter) BorrowsPayloads()           {}
func (h *counter) Receive(p *sim.Process, m sim.Message) {
	h.sum += binary.LittleEndian.Uint64(m.Payload)
	p.Send(m.From, binary.LittleEndian.AppendUint64(nil, h.sum))
}

// A Borrower's payloads are recycled once Receive returns; what it computes is the same.
func Example_borrower() {
	w := sim.New(7, sim.Options{})
	w.SpawnHandler(bob, func() sim.Handler { return &counter{} })
	var sums []uint64
	w.SpawnTask(alice, func(t *sim.Task) {
		for i := range 4 {
			t.Send(bob, binary.LittleEndian.AppendUint64(nil, uint64(i+1)))
			m := t.Recv()
			sums = append(sums, binary.LittleEndian.Uint64(m.Payload))
		}
	})
	w.RunUntilIdle()
	fmt.Println(sums)
	// Output:
	// [1 3 6 10]
}

// A garble is a crash at its worst: every sector holding unsynced bytes becomes garbage,
// the synced bytes that shared a sector with them included. A log without checksums would
// read that garbage back as data.
func Example_garble() {
	w := sim.New(3, sim.Options{})
	w.SpawnTask(alice, func(t *sim.Task) {
		fsys := t.FS()
		if data, err := readAll(fsys, "log"); err == nil {
			fmt.Printf("after the garble: %d bytes, the synced 8 intact: %v\n", len(data), string(data[:8]) == "durable.")
			return
		}
		f, _ := fsys.Create("log")
		fsys.SyncDir(".")
		f.WriteAt([]byte("durable."), 0)
		f.Sync()
		f.WriteAt([]byte("volatile"), 8) // the same 512-byte sector, never synced
		t.Sleep(time.Second)
	})
	sched, _ := sim.ParseSchedule("at 10ms garble 10.0.0.1 for 1ms")
	w.Apply(sched)
	w.RunUntilIdle()
	// Output:
	// after the garble: 16 bytes, the synced 8 intact: false
}
