package sim

import (
	"bytes"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/faultbox/faultbox/fault"
)

// logger answers every message and appends it to a file it syncs: traffic for the network
// faults, I/O for the disk faults, state for the crashes.
type logger struct {
	peers []netip.Addr
	off   int64
}

func (h *logger) Start(p *Process) { p.SetTimer("tick", 7*time.Millisecond) }
func (h *logger) Timer(p *Process, _ string) {
	for _, q := range h.peers {
		if q != p.Addr() {
			p.Send(q, fmt.Appendf(nil, "%s@%s", p.Addr(), p.Now()))
		}
	}
	p.SetTimer("tick", 7*time.Millisecond)
}
func (h *logger) Receive(p *Process, m Message) {
	f, err := p.FS().Create("log")
	if err != nil {
		return
	}
	defer f.Close()
	f.WriteAt(m.Payload, h.off)
	h.off += int64(len(m.Payload))
	f.Sync()
}

func nemesisRun(t *testing.T, seed fault.Seed, prof Profile) (*World, *Nemesis) {
	t.Helper()
	w := New(seed, Options{Network: Network{LatencyMin: time.Millisecond, LatencyMax: 4 * time.Millisecond}})
	peers := []netip.Addr{ip1, ip2, ip3}
	for _, a := range peers {
		w.SpawnHandler(a, func() Handler { return &logger{peers: peers} })
	}
	n, err := w.StartNemesis(Nemesis{Profile: prof, Every: 50 * time.Millisecond, Span: 200 * time.Millisecond, AllowWipe: true}, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.RunFor(4 * time.Second); err != nil {
		t.Fatal(err)
	}
	return w, n
}

// Every profile replays from its seed, byte for byte, and another seed gives another run.
func TestNemesisReplaysEveryProfile(t *testing.T) {
	t.Parallel()
	for _, prof := range Profiles {
		a, _ := nemesisRun(t, 11, prof)
		b, _ := nemesisRun(t, 11, prof)
		c, _ := nemesisRun(t, 12, prof)
		var la, lb bytes.Buffer
		fault.WriteJSONL(&la, a.Log().Events())
		fault.WriteJSONL(&lb, b.Log().Events())
		if a.TraceHash() != b.TraceHash() || !bytes.Equal(la.Bytes(), lb.Bytes()) {
			t.Errorf("%s: same seed, different runs (%s, %s)", prof, a.TraceHash(), b.TraceHash())
		}
		if prof != FaultsNone && a.TraceHash() == c.TraceHash() {
			t.Errorf("%s: seeds 11 and 12 gave the same run", prof)
		}
		counts := map[string]int{}
		for _, c := range a.Log().Counts() {
			counts[c.Layer] += c.N
		}
		switch prof {
		case FaultsNone:
			if a.Log().Len() != 0 {
				t.Errorf("none: %d faults", a.Log().Len())
			}
		case FaultsNet:
			if counts[fault.LayerNet] == 0 || counts[fault.LayerProcess] != 0 || counts[fault.LayerDisk] != 0 {
				t.Errorf("net: faults by layer %v", counts)
			}
		case FaultsCrash:
			if counts[fault.LayerProcess] == 0 || counts[fault.LayerNet] != 0 {
				t.Errorf("crash: faults by layer %v", counts)
			}
		case FaultsStorage:
			if a.Log().Count(fault.LayerDisk, "degrade-start") == 0 || counts[fault.LayerProcess] != 0 {
				t.Errorf("storage: faults by layer %v", counts)
			}
		case FaultsAll:
			if counts[fault.LayerNet] == 0 || counts[fault.LayerProcess] == 0 || counts[fault.LayerDisk] == 0 {
				t.Errorf("all: faults by layer %v", counts)
			}
		}
	}
}

// After the nemesis quiesces, every process is up, every link delivers and the disks have their
// own model back.
func TestNemesisQuiescesEverything(t *testing.T) {
	t.Parallel()
	w, n := nemesisRun(t, 5, FaultsAll)
	if !n.stopped {
		t.Fatal("the nemesis did not stop at its deadline")
	}
	for _, p := range w.Processes() {
		if !p.Up() {
			t.Errorf("%s is down after quiescence", p.Addr())
		}
		if w.Storage().Config(p.Addr().String()).SyncFailureProbability != 0 {
			t.Errorf("%s keeps a degraded disk", p.Addr())
		}
	}
	if len(w.net.blocked) != 0 || w.net.cfg.DropProbability != 0 {
		t.Errorf("links still cut %v or lossy %v", w.net.blocked, w.net.cfg)
	}
}
