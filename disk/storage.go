package disk

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"

	"github.com/faultbox/faultbox/fault"
)

// Storage is the disks of a set of simulated processes, each identified by its address: one
// global Config, per-process overrides, one MemFS per process, and the two lifecycle
// operations Crash and Wipe. All faults of all processes go to one fault.Log.
type Storage struct {
	mu        sync.Mutex
	seed      fault.Seed
	global    Config
	overrides map[string]Config
	clock     Clock
	log       *fault.Log
	procs     map[string]*proc
	atlas     *Atlas
	replicaOf map[string]int
	rules     *rules // compiled once by SetRules, shared by every process's FaultFS
}

type proc struct {
	mem     *MemFS
	fs      *FaultFS
	life    *life
	crashes int
	wipes   int // crashes + wipes numbers the incarnation
}

// NewStorage returns storage whose random decisions all derive from seed and whose latency
// is spent on clock (nil: a new VirtualClock). It returns an error if cfg is invalid.
func NewStorage(seed fault.Seed, cfg Config, clock Clock) (*Storage, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if clock == nil {
		clock = NewVirtualClock()
	}
	return &Storage{seed: seed, global: cfg, overrides: map[string]Config{}, clock: clock,
		log: fault.NewLog(), procs: map[string]*proc{}}, nil
}

// SetConfig replaces the global configuration for every process without an override.
func (s *Storage) SetConfig(cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.global = cfg
	for addr, p := range s.procs {
		p.fs.store(s.configLocked(addr))
	}
	return nil
}

// SetProcessConfig gives one process its own configuration (a degraded disk, say).
func (s *Storage) SetProcessConfig(process string, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("process %s: %w", process, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.overrides[process] = cfg
	if p, ok := s.procs[process]; ok {
		p.fs.store(cfg)
	}
	return nil
}

// ClearProcessConfig returns a process to the global configuration.
func (s *Storage) ClearProcessConfig(process string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.overrides, process)
	if p, ok := s.procs[process]; ok {
		p.fs.store(s.global)
	}
}

// Config returns the configuration that applies to a process.
func (s *Storage) Config(process string) Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.configLocked(process)
}

func (s *Storage) configLocked(process string) Config {
	if c, ok := s.overrides[process]; ok {
		return c
	}
	return s.global
}

// SetAtlas spreads corruption by the atlas; replicaOf maps a process address to its replica
// index. Processes not in the map are not limited. It applies at once, to every process.
func (s *Storage) SetAtlas(a *Atlas, replicaOf map[string]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.atlas = a
	s.replicaOf = maps.Clone(replicaOf) // only read: nil is fine
	for addr, p := range s.procs {
		p.fs.setAtlas(s.atlasFor(addr))
	}
}

func (s *Storage) atlasFor(process string) (*Atlas, int) {
	if s.atlas == nil {
		return nil, 0
	}
	r, ok := s.replicaOf[process]
	if !ok {
		return nil, 0
	}
	return s.atlas, r
}

// FS returns the current incarnation of a process's disk, creating an empty one the first
// time. Every file opened through it belongs to that process. After Crash or Wipe, call FS
// again to see the new disk.
func (s *Storage) FS(process string) *FaultFS {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.procLocked(process).fs
}

func (s *Storage) procLocked(process string) *proc {
	p, ok := s.procs[process]
	if !ok {
		p = &proc{}
		s.procs[process] = p
		s.startLocked(process, p, NewMem())
	}
	return p
}

func (s *Storage) startLocked(process string, p *proc, mem *MemFS) {
	p.mem = mem
	p.life = &life{}
	atlas, replica := s.atlasFor(process)
	p.fs = newFaultFS(mem, FaultOptions{Seed: s.seed, Config: s.configLocked(process),
		Clock: s.clock, Process: process, Log: s.log, Atlas: atlas, Replica: replica},
		process+"/"+strconv.Itoa(p.crashes+p.wipes), process+"/"+strconv.Itoa(p.wipes), p.life)
	fsys := p.fs
	p.fs.crashFn = func() {
		// Only the incarnation the rule fired in crashes; a late call from an older one
		// (a handle that raced the crash) does nothing.
		s.mu.Lock()
		current := s.procs[process].fs == fsys
		s.mu.Unlock()
		if current {
			s.Crash(process, true)
		}
	}
	p.fs.rules.Store(s.rules)
}

// SetRules installs targeting rules (see Rule and ParseRules) on every process's disk, now
// and after every crash and wipe; nil removes them. A rule's Nth counts per process across
// incarnations, so "the third sync" stays the third after a crash.
func (s *Storage) SetRules(rs []Rule) error {
	if err := validateRules(rs); err != nil {
		return err
	}
	c := compileRules(slices.Clone(rs)) // compiled once: the predicates hold the Nth counts
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules = c
	for _, p := range s.procs {
		p.fs.rules.Store(c)
	}
	return nil
}

// Crash is power loss for one process: its disk is replaced by the post-crash disk (unsynced
// writes lost, kept or torn by the process's configuration and the seed). With closeFiles,
// every handle and FS of the old incarnation fails from now on with ErrCrashed; without it,
// they stay usable on the pre-crash image, and nothing they do reaches the new disk. It
// returns the torn-write events of this crash.
func (s *Storage) Crash(process string, closeFiles bool) []fault.Event {
	return s.crash(process, closeFiles, false, false)
}

// CrashTorn is Crash in which every file with unsynced data is torn (each changed sector
// new, old or garbage), whatever the process's configuration says of tearing and keeping:
// the crash a fault schedule aims at a write that was not yet synced.
func (s *Storage) CrashTorn(process string, closeFiles bool) []fault.Event {
	return s.crash(process, closeFiles, true, false)
}

// CrashGarbage is CrashTorn at its worst: every changed sector of every file with unsynced
// data becomes garbage, so a sector that held synced bytes beside unsynced ones loses them.
// CrashTorn draws each sector's fate from the crash's seed, which is the same for the first
// crash of a process whenever it comes; an explorer that aims crashes at many writes of one
// run uses this to be sure each aim tears what it aims at.
func (s *Storage) CrashGarbage(process string, closeFiles bool) []fault.Event {
	return s.crash(process, closeFiles, true, true)
}

func (s *Storage) crash(process string, closeFiles, torn, garbage bool) []fault.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.procLocked(process)
	cfg := s.configLocked(process)
	if torn {
		cfg.CrashFaultProbability, cfg.CrashKeepAllProbability = 1, 0
	}
	next, events := p.mem.Crash(CrashOptions{
		Seed:               s.seed.Derive("crash", process, strconv.Itoa(p.crashes)),
		TornProbability:    cfg.CrashFaultProbability,
		Garbage:            garbage,
		PowersafeOverwrite: cfg.CrashPowersafeOverwrite,
		KeepAllProbability: cfg.CrashKeepAllProbability,
		SectorSize:         int(cfg.sector()),
		Process:            process,
		Time:               int64(s.clock.Now()),
		Clock:              clockKind(s.clock),
	})
	s.log.Record(fault.Event{Layer: fault.LayerDisk, Kind: KindCrash, Process: process,
		Time: s.clock.Now(), Clock: clockKind(s.clock)})
	for i, e := range events {
		events[i] = s.log.Record(e)
	}
	if closeFiles {
		p.life.state.Store(crashed)
	}
	p.crashes++
	s.startLocked(process, p, next)
	return events
}

// Crashes counts the crashes of a process's disk so far: by Crash, CrashTorn and crash rules.
func (s *Storage) Crashes(process string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.procs[process]; ok {
		return p.crashes
	}
	return 0
}

// Wipe replaces a process's disk with an empty one: everything it stored is gone. Every
// handle and FS of the old incarnation fails from now on with ErrWiped.
func (s *Storage) Wipe(process string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.procLocked(process)
	p.life.state.Store(wiped)
	s.log.Record(fault.Event{Layer: fault.LayerDisk, Kind: KindWipe, Process: process,
		Time: s.clock.Now(), Clock: clockKind(s.clock)})
	p.wipes++
	s.startLocked(process, p, NewMem())
}

// Mem returns a process's current memory disk, for inspection in tests (reads through it
// see the true bytes, without faults or latency).
func (s *Storage) Mem(process string) *MemFS {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.procLocked(process).mem
}

// Processes lists the processes that have storage, sorted.
func (s *Storage) Processes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.procs))
}

// Events returns every fault injected so far, in order.
func (s *Storage) Events() []fault.Event { return s.log.Events() }

// Counters returns the fault counters so far.
func (s *Storage) Counters() Counters { return CountersOf(s.log) }

// Log returns the log every process's faults go to.
func (s *Storage) Log() *fault.Log { return s.log }

// Clock returns the storage's clock.
func (s *Storage) Clock() Clock { return s.clock }
