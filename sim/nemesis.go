package sim

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"time"

	"github.com/faultbox/faultbox/disk"
	"github.com/faultbox/faultbox/fault"
)

// Profile grades what a nemesis may do.
type Profile string

// The profiles, from gentlest to harshest.
const (
	FaultsNone    Profile = "none"    // nothing
	FaultsNet     Profile = "net"     // partitions (two-way, one-way, isolation), clogs, lossy spells
	FaultsCrash   Profile = "crash"   // crashes and graceful reboots (wipes only with AllowWipe)
	FaultsStorage Profile = "storage" // degraded disks: the fault families at RandomForSeed-like rates
	FaultsAll     Profile = "all"     // every one of the above
)

// Profiles lists the profiles in order.
var Profiles = []Profile{FaultsNone, FaultsNet, FaultsCrash, FaultsStorage, FaultsAll}

// ParseProfile reads a profile name.
func ParseProfile(s string) (Profile, error) {
	if slices.Contains(Profiles, Profile(s)) {
		return Profile(s), nil
	}
	return "", fmt.Errorf("faults %q: want none, net, crash, storage or all", s)
}

// Nemesis injects faults drawn from the world's seed while the world runs.
type Nemesis struct {
	Profile Profile
	// Targets are the processes it may hurt; empty means every process at Start.
	Targets []netip.Addr
	// Every is the mean time between two faults (drawn exponentially); 0 means 200ms.
	Every time.Duration
	// Span is the longest a fault lasts (a process down, a partition, a degraded disk); each
	// lasts a draw in [Span/10, Span]; 0 means 1s.
	Span time.Duration
	// AllowWipe lets crashes wipe the storage too (a wipe can lose data a system never
	// replicated: allow it only where the system claims to survive it).
	AllowWipe bool
	// MaxDown bounds how many targets are down at once; 0 means a minority: (len-1)/2.
	MaxDown int

	w       *World
	r       *rand.Rand
	until   time.Duration
	down    map[netip.Addr]bool
	degrade map[netip.Addr]disk.Config // the disk model each degraded target had before
	base    Network                    // the network model before any lossy spell
	lossy   bool
	stopped bool
}

// StartNemesis lets n loose from now until the world's time until, after which it heals
// everything it did (see Nemesis.Quiesce). It returns n for Quiesce.
func (w *World) StartNemesis(n Nemesis, until time.Duration) (*Nemesis, error) {
	if _, err := ParseProfile(string(n.Profile)); err != nil {
		return nil, err
	}
	if n.Every <= 0 {
		n.Every = 200 * time.Millisecond
	}
	if n.Span <= 0 {
		n.Span = time.Second
	}
	if len(n.Targets) == 0 {
		for _, p := range w.order {
			n.Targets = append(n.Targets, p.addr)
		}
	}
	if n.MaxDown <= 0 {
		n.MaxDown = max((len(n.Targets)-1)/2, 1)
	}
	nm := &n
	nm.w, nm.r, nm.until = w, w.seed.Stream("sim", "nemesis"), until
	nm.down, nm.degrade, nm.base = map[netip.Addr]bool{}, map[netip.Addr]disk.Config{}, w.net.cfg
	if n.Profile != FaultsNone {
		nm.next()
	}
	w.schedule(&event{at: until, kind: kindNemesis, fn: nm.Quiesce})
	return nm, nil
}

func (n *Nemesis) next() {
	d := time.Duration(n.r.ExpFloat64() * float64(n.Every))
	at := n.w.now + d
	if at >= n.until {
		return
	}
	n.w.schedule(&event{at: at, kind: kindNemesis, a: 1, fn: func() {
		if !n.stopped {
			n.strike()
			n.next()
		}
	}})
}

func (n *Nemesis) span() time.Duration {
	lo := n.Span / 10
	return lo + time.Duration(n.r.Int64N(int64(n.Span-lo)+1))
}

func (n *Nemesis) pick() netip.Addr { return n.Targets[n.r.IntN(len(n.Targets))] }

// strike does one fault the profile allows.
func (n *Nemesis) strike() {
	var kinds []string
	switch n.Profile {
	case FaultsNet:
		kinds = []string{"partition", "oneway", "isolate", "clog", "lossy"}
	case FaultsCrash:
		kinds = []string{"crash", "crash", "reboot"}
	case FaultsStorage:
		kinds = []string{"degrade"}
	case FaultsAll:
		kinds = []string{"partition", "oneway", "isolate", "clog", "lossy", "crash", "crash", "reboot", "degrade"}
	}
	w := n.w
	d := n.span()
	switch kind := kinds[n.r.IntN(len(kinds))]; kind {
	case "partition", "oneway":
		a, b := n.pick(), n.pick()
		if a == b {
			return
		}
		if kind == "partition" {
			w.Partition(a, b)
		} else {
			w.PartitionOneWay(a, b)
		}
		n.undo(d, 2, func() { w.HealLink(a, b) })
	case "isolate":
		a := n.pick()
		w.Isolate(a)
		n.undo(d, 3, func() {
			for _, p := range w.order {
				if p.addr != a {
					w.HealLink(a, p.addr)
				}
			}
		})
	case "clog":
		a, b := n.pick(), n.pick()
		if a != b {
			w.Clog(a, b, d)
		}
	case "lossy":
		if n.lossy {
			return
		}
		n.lossy = true
		old := n.base
		lossy := old
		lossy.DropProbability = 0.05 + 0.25*n.r.Float64()
		lossy.DuplicateProbability = 0.05 * n.r.Float64()
		lossy.LatencyMax = max(old.LatencyMax*4, old.LatencyMin)
		w.net.cfg = lossy
		w.record(fault.Event{Layer: fault.LayerNet, Kind: "lossy-start",
			Detail: fmt.Sprintf("drop=%.3f dup=%.3f for %s", lossy.DropProbability, lossy.DuplicateProbability, d)})
		n.undo(d, 4, n.endLossy)
	case "crash", "reboot":
		a := n.pick()
		if n.down[a] || len(n.down) >= n.MaxDown || !w.procs[a].up {
			return
		}
		rk := Graceful
		if kind == "crash" {
			rk = Crash
			if n.AllowWipe && n.r.IntN(4) == 0 {
				rk = CrashAndWipe
			}
		}
		n.down[a] = true
		w.Stop(a, rk)
		n.undo(d, 5, func() {
			delete(n.down, a)
			w.Start(a)
		})
	case "degrade":
		a := n.pick()
		if _, done := n.degrade[a]; done {
			return
		}
		cfg := w.storage.Config(a.String())
		n.degrade[a] = cfg
		bad := disk.RandomForSeed(w.seed.Derive("sim", "nemesis", "disk", a.String(), fmt.Sprint(w.now)))
		cfg.ReadFaultProbability, cfg.WriteFaultProbability = bad.ReadFaultProbability, bad.WriteFaultProbability
		cfg.MisdirectReadProbability, cfg.MisdirectWriteProbability = bad.MisdirectReadProbability, bad.MisdirectWriteProbability
		cfg.PhantomWriteProbability, cfg.SyncFailureProbability = bad.PhantomWriteProbability, bad.SyncFailureProbability
		cfg.CrashFaultProbability = bad.CrashFaultProbability
		w.SetProcessStorageConfig(a, cfg)
		w.record(fault.Event{Layer: fault.LayerDisk, Kind: "degrade-start", Process: a.String(), Detail: "for " + d.String()})
		n.undo(d, 6, func() { n.restoreDisk(a) })
	}
}

// undo runs fn after d, unless the nemesis has quiesced (which undid everything already).
func (n *Nemesis) undo(d time.Duration, tag uint64, fn func()) {
	n.w.schedule(&event{at: n.w.now + d, kind: kindNemesis, a: tag, fn: func() {
		if !n.stopped {
			fn()
		}
	}})
}

func (n *Nemesis) endLossy() {
	if n.lossy {
		n.lossy = false
		n.w.net.cfg = n.base
		n.w.record(fault.Event{Layer: fault.LayerNet, Kind: "lossy-end"})
	}
}

func (n *Nemesis) restoreDisk(a netip.Addr) {
	prev, ok := n.degrade[a]
	if !ok {
		return
	}
	delete(n.degrade, a)
	n.w.storage.SetProcessConfig(a.String(), prev)
	n.w.record(fault.Event{Layer: fault.LayerDisk, Kind: "degrade-end", Process: a.String()})
}

// Quiesce stops the nemesis and undoes what still stands: links heal, the network model is
// restored, stopped targets start, degraded disks get the global model back. A system should
// converge after it.
func (n *Nemesis) Quiesce() {
	if n.stopped {
		return
	}
	n.stopped = true
	w := n.w
	w.Heal()
	clear(w.net.clogged)
	n.endLossy()
	for _, a := range n.Targets {
		if n.down[a] {
			delete(n.down, a)
			w.Start(a)
		}
		n.restoreDisk(a)
	}
}
