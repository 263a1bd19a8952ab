package sim

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/faultbox/faultbox/disk"
	"github.com/faultbox/faultbox/fault"
)

var (
	ip1 = netip.MustParseAddr("10.0.0.1")
	ip2 = netip.MustParseAddr("10.0.0.2")
	ip3 = netip.MustParseAddr("10.0.0.3")
)

// pinger sends "ping n" to its peer every 10ms; ponger answers each with "pong n".
type pinger struct {
	peer netip.Addr
	n    int
	got  *[]string
}

func (h *pinger) Start(p *Process) { p.SetTimer("tick", 10*time.Millisecond) }
func (h *pinger) Timer(p *Process, name string) {
	h.n++
	p.Send(h.peer, fmt.Appendf(nil, "ping %d", h.n))
	p.SetTimer("tick", 10*time.Millisecond)
}
func (h *pinger) Receive(p *Process, m Message) {
	*h.got = append(*h.got, fmt.Sprintf("%s %s", p.Now(), m.Payload))
}

type ponger struct{}

func (ponger) Start(*Process)         {}
func (ponger) Timer(*Process, string) {}
func (ponger) Receive(p *Process, m Message) {
	p.Send(m.From, bytes.Replace(m.Payload, []byte("ping"), []byte("pong"), 1))
}

func pingPong(seed fault.Seed, net Network) (*World, []string) {
	w := New(seed, Options{Network: net})
	var got []string
	w.SpawnHandler(ip1, func() Handler { return &pinger{peer: ip2, got: &got} })
	w.SpawnHandler(ip2, func() Handler { return ponger{} })
	w.At(55*time.Millisecond, func() { w.Reboot(ip2, Crash, 30*time.Millisecond) })
	if err := w.RunFor(200 * time.Millisecond); err != nil {
		panic(err)
	}
	return w, got
}

func TestPingPongReplays(t *testing.T) {
	t.Parallel()
	net := Network{LatencyMin: time.Millisecond, LatencyMax: 5 * time.Millisecond, DropProbability: 0.1, DuplicateProbability: 0.05}
	a, gotA := pingPong(7, net)
	b, gotB := pingPong(7, net)
	c, _ := pingPong(8, net)
	if a.TraceHash() != b.TraceHash() || strings.Join(gotA, "\n") != strings.Join(gotB, "\n") {
		t.Fatalf("same seed, different runs: %s %s", a.TraceHash(), b.TraceHash())
	}
	if a.TraceHash() == c.TraceHash() {
		t.Fatal("seeds 7 and 8 gave the same trace")
	}
	var la, lb bytes.Buffer
	fault.WriteJSONL(&la, a.Log().Events())
	fault.WriteJSONL(&lb, b.Log().Events())
	if !bytes.Equal(la.Bytes(), lb.Bytes()) || la.Len() == 0 {
		t.Fatalf("fault logs differ or are empty:\n%s\n---\n%s", la.String(), lb.String())
	}
	// The crash is in the log, and the ponger answered nothing while it was down.
	if a.Log().Count(fault.LayerProcess, "crash") != 1 {
		t.Fatalf("process crash events: %d", a.Log().Count(fault.LayerProcess, "crash"))
	}
	for _, g := range gotA {
		at, _ := time.ParseDuration(strings.Fields(g)[0])
		// Down from 55ms to 85ms; pongs sent before the crash may still be in flight for 5ms.
		if at > 60*time.Millisecond && at < 85*time.Millisecond {
			t.Errorf("a pong arrived at %s, while the ponger was down (55ms..85ms): %q", at, g)
		}
	}
	if len(gotA) < 10 {
		t.Fatalf("only %d pongs in 200ms: %v", len(gotA), gotA)
	}
}

func TestNoFaultsAtZeroProbability(t *testing.T) {
	t.Parallel()
	w, got := pingPong(1, Network{})
	for _, c := range w.Log().Counts() {
		if c.Layer == fault.LayerNet {
			t.Fatalf("network faults with every probability 0: %v", w.Log().Counts())
		}
	}
	// 19 pings by 190ms, one lost to the crash window at most 3: the rest answered.
	if len(got) < 15 {
		t.Fatalf("%d pongs", len(got))
	}
}

func TestTasksSleepSendRecv(t *testing.T) {
	t.Parallel()
	w := New(1, Options{})
	var log []string
	w.SpawnTask(ip1, func(tk *Task) {
		tk.Go("helper", func(h *Task) {
			h.Sleep(5 * time.Millisecond)
			log = append(log, fmt.Sprintf("%s helper woke", h.Now()))
		})
		for i := range 3 {
			tk.Send(ip2, []byte{byte(i)})
		}
		for range 3 {
			m := tk.Recv()
			log = append(log, fmt.Sprintf("%s main got %d", tk.Now(), m.Payload[0]))
		}
		_, ok := tk.RecvTimeout(50 * time.Millisecond)
		log = append(log, fmt.Sprintf("%s timeout %v", tk.Now(), !ok))
	})
	w.SpawnTask(ip2, func(tk *Task) {
		for {
			m := tk.Recv()
			tk.Sleep(time.Millisecond)
			tk.Send(m.From, m.Payload)
		}
	})
	if err := w.RunUntilIdle(); err != nil {
		t.Fatal(err)
	}
	// Each echo: 1ms there, 1ms of sleep, 1ms back; the echoer works through its inbox in
	// order. At 5ms the helper's wake (queued at 0) runs before the third echo (queued at 4ms).
	want := "3ms main got 0|4ms main got 1|5ms helper woke|5ms main got 2|55ms timeout true"
	if got := strings.Join(log, "|"); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

// The step-loop contract: a disk operation a task issues completes only when the world steps
// to its completion time; a world that is not stepped never completes it.
func TestIOCompletesOnlyWhenStepped(t *testing.T) {
	t.Parallel()
	cfg := disk.FastLocal()
	cfg.WriteLatency = disk.LatencyRange{Min: 3 * time.Millisecond, Max: 3 * time.Millisecond}
	w := New(1, Options{Storage: &cfg})
	done := false
	w.SpawnTask(ip1, func(tk *Task) {
		f, err := tk.FS().Create("f")
		if err != nil {
			panic(err)
		}
		if _, err := f.WriteAt([]byte("hello"), 0); err != nil {
			panic(err)
		}
		done = true
	})
	w.Step() // start the process
	w.Step() // the main task runs: create (instant at FastLocal's 1µs? no: latency) ...
	for w.Pending() > 0 && w.Now() < 2*time.Millisecond {
		w.Step()
	}
	if done {
		t.Fatal("the write completed before its 3ms latency had passed in the world")
	}
	if got := readFile(t, w.Storage().Mem(ip1.String()), "f"); got != "" {
		t.Fatalf("the write's bytes are on the disk before it completed: %q", got)
	}
	if w.Pending() == 0 {
		t.Fatal("no completion is pending")
	}
	if err := w.RunUntilIdle(); err != nil {
		t.Fatal(err)
	}
	if !done || readFile(t, w.Storage().Mem(ip1.String()), "f") != "hello" || w.Now() < 3*time.Millisecond {
		t.Fatalf("after stepping: done=%v now=%s", done, w.Now())
	}
}

func readFile(t *testing.T, fsys disk.FS, name string) string {
	t.Helper()
	f, err := fsys.Open(name)
	if err != nil {
		return ""
	}
	defer f.Close()
	fi, _ := f.Stat()
	b := make([]byte, fi.Size())
	if _, err := f.ReadAt(b, 0); err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	return string(b)
}

// writeDurableThenVolatile makes "log" hold "durable." synced (data and name) and then
// "volatile" after it, not synced.
func writeDurableThenVolatile(fsys disk.FS) {
	f, err := fsys.Create("log")
	if err != nil {
		panic(err)
	}
	f.WriteAt([]byte("durable."), 0)
	f.Sync()
	fsys.SyncDir(".")
	f.WriteAt([]byte("volatile"), 8)
}

// A crash keeps what was durable (synced data, synced directory entries) and a wipe keeps
// nothing; the restarted process sees only that.
func TestCrashKeepsDurableWipeKeepsNothing(t *testing.T) {
	t.Parallel()
	for _, kind := range []RebootKind{Crash, CrashAndWipe, Graceful} {
		w := New(3, Options{})
		var seen []string
		w.SpawnTask(ip1, func(tk *Task) {
			fsys := tk.FS()
			seen = append(seen, readFile(t, fsys, "log"))
			writeDurableThenVolatile(fsys)
			tk.Sleep(time.Hour) // crashed while sleeping
		})
		w.At(10*time.Millisecond, func() { w.Reboot(ip1, kind, time.Millisecond) })
		w.At(20*time.Millisecond, func() { w.Stop(ip1, Graceful) })
		if err := w.RunUntilIdle(); err != nil {
			t.Fatal(err)
		}
		want := map[RebootKind]string{Crash: "durable.", CrashAndWipe: "", Graceful: "durable.volatile"}[kind]
		if len(seen) != 2 || seen[0] != "" || seen[1] != want {
			t.Errorf("%s: the restarted process saw %q, want %q", kind, seen, want)
		}
	}
}

func TestPartitionDeliversNothingUntilHealed(t *testing.T) {
	t.Parallel()
	w := New(1, Options{Network: Network{LatencyMin: time.Millisecond, LatencyMax: 4 * time.Millisecond}})
	var got []byte
	w.SpawnTask(ip2, func(tk *Task) {
		for {
			got = append(got, tk.Recv().Payload...)
		}
	})
	w.SpawnTask(ip1, func(tk *Task) {
		for i := range 30 {
			tk.Send(ip2, []byte{byte(i)})
			tk.Sleep(time.Millisecond)
		}
	})
	w.At(10*time.Millisecond, func() { w.Partition(ip1, ip2) })
	w.At(20*time.Millisecond, func() { w.Heal() })
	if err := w.RunUntilIdle(); err != nil {
		t.Fatal(err)
	}
	dropped := w.Log().Count(fault.LayerNet, "partition")
	if dropped == 0 || len(got)+dropped != 30 {
		t.Fatalf("got %d, dropped at the partition %d; want them to add up to 30", len(got), dropped)
	}
	for _, e := range w.Log().Events() {
		if e.Kind == "partition" && bytes.IndexByte(got, byte(e.Offset-1)) >= 0 {
			t.Fatalf("message %d was dropped at the partition and delivered", e.Offset)
		}
	}
}

func TestDroppedMessagesAreNeverDelivered(t *testing.T) {
	t.Parallel()
	w := New(5, Options{Network: Network{DropProbability: 0.3}})
	delivered := map[uint64]bool{}
	w.SpawnTask(ip2, func(tk *Task) {
		for {
			delivered[tk.Recv().ID] = true
		}
	})
	w.SpawnTask(ip1, func(tk *Task) {
		for range 200 {
			tk.Send(ip2, []byte("x"))
		}
	})
	if err := w.RunUntilIdle(); err != nil {
		t.Fatal(err)
	}
	drops := 0
	for _, e := range w.Log().Events() {
		if e.Kind == "drop" {
			drops++
			if delivered[uint64(e.Offset)] {
				t.Fatalf("dropped message %d was delivered", e.Offset)
			}
		}
	}
	if drops < 30 || drops+len(delivered) != 200 {
		t.Fatalf("drops %d + delivered %d != 200", drops, len(delivered))
	}
}

// A task that blocks on a real channel is reported, by name, within the stall timeout.
func TestBlockedTaskIsReportedByName(t *testing.T) {
	t.Parallel()
	w := New(1, Options{StallTimeout: 100 * time.Millisecond})
	w.SpawnTask(ip1, func(tk *Task) {
		tk.Go("reader", func(r *Task) {
			<-make(chan int) // not the world's
		})
		tk.Sleep(time.Second)
	})
	start := time.Now()
	err := w.RunUntilIdle()
	if !errors.Is(err, ErrStalled) || !strings.Contains(err.Error(), `task "reader" on 10.0.0.1`) {
		t.Fatalf("err = %v", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("reported after %s", el)
	}
	if w.Step() {
		t.Fatal("the world steps on after a violation")
	}
}

func TestPanickingTaskIsReported(t *testing.T) {
	t.Parallel()
	w := New(1, Options{})
	w.SpawnTask(ip1, func(tk *Task) { panic("boom") })
	err := w.RunUntilIdle()
	if err == nil || !strings.Contains(err.Error(), `task "main" on 10.0.0.1 panicked`) || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("err = %v", err)
	}
}

// An observer sees every delivery, stop and start, in order, with the message's type byte.
func TestObserve(t *testing.T) {
	t.Parallel()
	var seen []string
	w := New(1, Options{Observe: func(h Happening) {
		line := fmt.Sprintf("%s %s %s", h.At, h.Kind, h.To)
		if h.Kind == "deliver" {
			line += fmt.Sprintf(" from %s type %c", h.From, h.Type)
		}
		seen = append(seen, line)
	}})
	w.SpawnHandler(ip2, func() Handler { return ponger{} })
	w.SpawnTask(ip1, func(tk *Task) {
		tk.Send(ip2, []byte("ping"))
		tk.Recv()
	})
	w.At(5*time.Millisecond, func() { w.Stop(ip2, Crash) })
	if err := w.RunUntilIdle(); err != nil {
		t.Fatal(err)
	}
	want := "0s start 10.0.0.2|0s start 10.0.0.1|1ms deliver 10.0.0.2 from 10.0.0.1 type p|" +
		"2ms deliver 10.0.0.1 from 10.0.0.2 type p|5ms stop 10.0.0.2"
	if got := strings.Join(seen, "|"); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

// failer asks to crash in its first incarnation's Start, twice; the process crashes once,
// after Start returns, and comes back after the down time.
type failer struct{ starts *[]time.Duration }

func (h failer) Start(p *Process) {
	*h.starts = append(*h.starts, p.Now())
	if len(*h.starts) == 1 {
		p.CrashRestart(5 * time.Millisecond)
		p.CrashRestart(5 * time.Millisecond)
		if !p.Up() {
			panic("CrashRestart stopped the process inside its handler call")
		}
	}
}
func (failer) Timer(*Process, string)    {}
func (failer) Receive(*Process, Message) {}

func TestCrashRestart(t *testing.T) {
	t.Parallel()
	w := New(1, Options{})
	var starts []time.Duration
	w.SpawnHandler(ip1, func() Handler { return failer{starts: &starts} })
	if err := w.RunUntilIdle(); err != nil {
		t.Fatal(err)
	}
	if len(starts) != 2 || starts[1] != 5*time.Millisecond || w.Log().Count(fault.LayerProcess, "crash") != 1 {
		t.Fatalf("starts at %v, %d crashes; want [0s 5ms] and 1", starts, w.Log().Count(fault.LayerProcess, "crash"))
	}
}

// A torn crash tears every file with unsynced data, whatever the disk's configuration (the
// world's default disk never tears); a plain crash on that disk never does.
func TestCrashTornTearsUnsyncedFiles(t *testing.T) {
	t.Parallel()
	for _, kind := range []RebootKind{Crash, CrashTorn} {
		for seed := fault.Seed(1); seed <= 5; seed++ {
			w := New(seed, Options{})
			w.SpawnTask(ip1, func(tk *Task) {
				writeDurableThenVolatile(tk.FS())
				tk.Sleep(time.Hour)
			})
			w.At(10*time.Millisecond, func() { w.Stop(ip1, kind) })
			if err := w.RunUntilIdle(); err != nil {
				t.Fatal(err)
			}
			torn := w.Log().Count(fault.LayerDisk, "torn-write")
			if want := map[RebootKind]int{Crash: 0, CrashTorn: 1}[kind]; torn != want {
				t.Errorf("%s, seed %d: %d torn-write events, want %d", kind, seed, torn, want)
			}
		}
	}
	if s, err := ParseSchedule("at 1s tear 10.0.0.2 for 5ms"); err != nil || s[0].Verb != "tear" || s.String() != "at 1s tear 10.0.0.2 for 5ms" {
		t.Errorf("ParseSchedule(tear) = %v, %v", s, err)
	}
}

// A garble turns the sector that holds synced bytes beside unsynced ones to garbage at every
// seed, losing the synced bytes; a tear draws that sector's fate (new, old or garbage) and
// keeps them at some seeds.
func TestGarbleDamagesSyncedBytesInTheSector(t *testing.T) {
	t.Parallel()
	kept := map[RebootKind]int{}
	for _, kind := range []RebootKind{CrashTorn, CrashGarbage} {
		for seed := fault.Seed(1); seed <= 8; seed++ {
			w := New(seed, Options{})
			var seen []string
			w.SpawnTask(ip1, func(tk *Task) {
				fsys := tk.FS()
				seen = append(seen, readFile(t, fsys, "log"))
				if len(seen) == 1 {
					writeDurableThenVolatile(fsys) // one sector: "durable." synced, "volatile" not
				}
				tk.Sleep(time.Hour)
			})
			w.At(10*time.Millisecond, func() { w.Reboot(ip1, kind, time.Millisecond) })
			w.At(20*time.Millisecond, func() { w.Stop(ip1, Graceful) })
			if err := w.RunUntilIdle(); err != nil {
				t.Fatal(err)
			}
			if len(seen) != 2 {
				t.Fatalf("%s, seed %d: %d starts, want 2", kind, seed, len(seen))
			}
			if strings.HasPrefix(seen[1], "durable.") {
				kept[kind]++
			}
		}
	}
	if kept[CrashGarbage] != 0 || kept[CrashTorn] == 0 {
		t.Errorf("synced bytes kept in 8 seeds: garble %d (want 0), tear %d (want some)", kept[CrashGarbage], kept[CrashTorn])
	}
	if s, err := ParseSchedule("at 1s garble 10.0.0.2 for 5ms"); err != nil || s[0].Verb != "garble" || s.String() != "at 1s garble 10.0.0.2 for 5ms" {
		t.Errorf("ParseSchedule(garble) = %v, %v", s, err)
	}
	if CrashGarbage.String() != "crash-garbage" {
		t.Errorf("CrashGarbage.String() = %q", CrashGarbage.String())
	}
}
