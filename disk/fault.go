package disk

import (
	"bytes"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/faultbox/faultbox/fault"
)

// FaultOptions configure a FaultFS.
type FaultOptions struct {
	// Seed roots every random stream of the wrapper.
	Seed fault.Seed
	// Config is the performance and fault model; see Config.
	Config Config
	// Clock is where latency is spent; nil means a new VirtualClock.
	Clock Clock
	// Process names the owner in events and in stream names.
	Process string
	// Log receives events; nil means a new one.
	Log *fault.Log
	// Atlas, when set, limits corruption of each location to the replicas it allows;
	// Replica is this disk's index in it.
	Atlas   *Atlas
	Replica int
}

// FaultFS wraps an FS with the seven fault families and the latency model. Read-side faults
// (read corruption, misdirected reads) are an overlay decided by a hash of the seed, the
// file, the location and the true bytes there: the stored bytes stay correct and a retry
// sees the same fault. Write-side faults draw from one stream per family, created when the
// family first draws, so a family that is off draws nothing and turning one on does not
// change another's decisions. Phantom writes and the Linux mode of sync failures need an
// inner FS that models durability (MemFS); on other FSes they are not applied.
type FaultFS struct {
	inner    FS
	cfg      atomic.Pointer[active]
	clock    Clock
	log      *fault.Log
	process  string
	seed     fault.Seed
	streamID string
	// readSalt keys the read-side overlay: the seed and the physical disk (process and how
	// many times it was wiped), so replicas do not share bad sectors and a crash keeps them.
	readSalt fault.Seed
	life     *life
	atlas    atomic.Pointer[atlasRef]

	mu      sync.Mutex // guards streams
	streams [numStreams]*rand.Rand

	busy    atomic.Int32 // operations in progress (outside their latency sleep)
	rules   atomic.Pointer[rules]
	crashFn func() // power loss for this process, when a Storage made this FS
}

type streamKind int

const (
	streamLatency streamKind = iota
	streamWrite
	streamMisdirectWrite
	streamPhantom
	streamSync
	numStreams
)

var streamNames = [numStreams]string{"latency", "write-corruption", "misdirected-write", "phantom-write", "sync-failure"}

// Hash tags of the read-side overlays.
const (
	tagReadCorruption = 0x7265616463 // "readc"
	tagMisdirectRead  = 0x6d69737264 // "misrd"
)

// NewFaultFS wraps inner. It returns an error if opts.Config is invalid.
func NewFaultFS(inner FS, opts FaultOptions) (*FaultFS, error) {
	if err := opts.Config.Validate(); err != nil {
		return nil, err
	}
	return newFaultFS(inner, opts, opts.Process, opts.Process, nil), nil
}

func newFaultFS(inner FS, opts FaultOptions, streamID, diskID string, l *life) *FaultFS {
	f := &FaultFS{inner: inner, clock: opts.Clock, log: opts.Log, process: opts.Process,
		seed: opts.Seed, streamID: streamID, life: l, readSalt: opts.Seed.Derive("read/" + diskID)}
	f.setAtlas(opts.Atlas, opts.Replica)
	if f.clock == nil {
		f.clock = NewVirtualClock()
	}
	if f.log == nil {
		f.log = fault.NewLog()
	}
	f.store(opts.Config)
	return f
}

// SetConfig replaces the model from now on (for example FaultsOff for a recovery phase).
func (f *FaultFS) SetConfig(c Config) error {
	if err := c.Validate(); err != nil {
		return err
	}
	f.store(c)
	return nil
}

// active is the configuration in force, with what the hot path asks of it precomputed.
type active struct {
	Config
	timed bool // some latency to spend
}

func (f *FaultFS) store(c Config) {
	f.cfg.Store(&active{Config: c, timed: c.ReadLatency.Max > 0 || c.WriteLatency.Max > 0 ||
		c.SyncLatency.Max > 0 || c.IOPS > 0 || c.Bandwidth > 0})
}

// Config returns the current model.
func (f *FaultFS) Config() Config { return f.cfg.Load().Config }

// Log returns where this FS reports events.
func (f *FaultFS) Log() *fault.Log { return f.log }

// Counters counts the faults in the FS's log.
func (f *FaultFS) Counters() Counters { return CountersOf(f.log) }

// Clock returns the clock latency is spent on.
func (f *FaultFS) Clock() Clock { return f.clock }

// Inner returns the wrapped FS.
func (f *FaultFS) Inner() FS { return f.inner }

func (f *FaultFS) stream(k streamKind) *rand.Rand {
	if f.streams[k] == nil {
		f.streams[k] = f.seed.Stream("disk", f.streamID, streamNames[k])
	}
	return f.streams[k]
}

// draw reports whether an event of probability p happens, drawing from k's stream only
// when p > 0.
func (f *FaultFS) draw(k streamKind, p float64) bool {
	if p <= 0 {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stream(k).Float64() < p
}

func (f *FaultFS) intn(k streamKind, n int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stream(k).IntN(n)
}

// spend charges one operation's latency to the clock.
func (f *FaultFS) spend(c *active, lr LatencyRange, size int) {
	if !c.timed {
		return
	}
	var d time.Duration
	if lr.Max > lr.Min {
		f.mu.Lock()
		d = c.Config.latency(f.stream(streamLatency), lr, size)
		f.mu.Unlock()
	} else {
		d = c.Config.latency(nil, lr, size)
	}
	// Waiting is not using the disk: under the sim world, another task runs during the
	// sleep, and its operations must not count as concurrent with this one. A clock whose
	// sleep lets nothing else run (a sim handler's) needs no such bookkeeping.
	if y, ok := f.clock.(YieldingClock); ok && !y.SleepYields() {
		f.clock.Sleep(d)
		return
	}
	f.busy.Add(-1)
	f.clock.Sleep(d)
	f.busy.Add(1)
}

// enter marks an operation of this disk in progress and reports one that overlaps
// another: outside a world that serialises them, two goroutines' operations draw from the
// streams in whatever order the Go scheduler chose, so the seed no longer decides the run.
func (f *FaultFS) enter(op Op, name string) {
	if f.busy.Add(1) > 1 {
		f.log.Record(fault.Event{Layer: fault.LayerDisk, Kind: KindConcurrentUse, Process: f.process, Where: clean(name),
			Time: f.clock.Now(), Clock: clockKind(f.clock),
			Detail: "op=" + string(op) + ": another operation on this disk was in progress; the run is not reproducible from its seed"})
	}
}

func (f *FaultFS) exit() { f.busy.Add(-1) }

func (f *FaultFS) record(fam Family, file string, off, length int64, detail string) {
	f.log.Record(fault.Event{Layer: fault.LayerDisk, Kind: string(fam), Process: f.process, Where: file,
		Offset: off, Length: length, Time: f.clock.Now(), Clock: clockKind(f.clock), Detail: detail})
}

// atlasRef is the atlas and this disk's replica index in it.
type atlasRef struct {
	atlas   *Atlas
	replica int
}

func (f *FaultFS) setAtlas(a *Atlas, replica int) {
	if a == nil {
		f.atlas.Store(nil)
		return
	}
	f.atlas.Store(&atlasRef{atlas: a, replica: replica})
}

func (f *FaultFS) allows(file string, sector int64) bool {
	ref := f.atlas.Load()
	return ref == nil || ref.atlas.Faultable(ref.replica, file, sector)
}

func (f *FaultFS) alive(op, name string) error {
	if f.life == nil {
		return nil
	}
	if err := f.life.err(); err != nil {
		return &fs.PathError{Op: op, Path: name, Err: err}
	}
	return nil
}

// Create implements FS.
func (f *FaultFS) Create(name string) (File, error) {
	if err := f.alive("create", name); err != nil {
		return nil, err
	}
	f.enter(OpCreate, name)
	defer f.exit()
	if err := f.act(OpCreate, name, 0, 0); err != nil {
		return nil, err
	}
	c := f.cfg.Load()
	f.spend(c, c.WriteLatency, 0)
	in, err := f.inner.Create(name)
	if err != nil {
		return nil, err
	}
	return newFaultFile(f, in, clean(name)), nil
}

// Open implements FS.
func (f *FaultFS) Open(name string) (File, error) {
	if err := f.alive("open", name); err != nil {
		return nil, err
	}
	f.enter(OpOpen, name)
	defer f.exit()
	if err := f.act(OpOpen, name, 0, 0); err != nil {
		return nil, err
	}
	c := f.cfg.Load()
	f.spend(c, c.ReadLatency, 0)
	in, err := f.inner.Open(name)
	if err != nil {
		return nil, err
	}
	return newFaultFile(f, in, clean(name)), nil
}

// Remove implements FS.
func (f *FaultFS) Remove(name string) error {
	if err := f.alive("remove", name); err != nil {
		return err
	}
	f.enter(OpRemove, name)
	defer f.exit()
	if err := f.act(OpRemove, name, 0, 0); err != nil {
		return err
	}
	c := f.cfg.Load()
	f.spend(c, c.WriteLatency, 0)
	return f.inner.Remove(name)
}

// Rename implements FS.
func (f *FaultFS) Rename(oldname, newname string) error {
	if err := f.alive("rename", oldname); err != nil {
		return err
	}
	f.enter(OpRename, oldname)
	defer f.exit()
	if err := f.act(OpRename, oldname, 0, 0); err != nil {
		return err
	}
	c := f.cfg.Load()
	f.spend(c, c.WriteLatency, 0)
	return f.inner.Rename(oldname, newname)
}

// Mkdir implements FS.
func (f *FaultFS) Mkdir(name string) error {
	if err := f.alive("mkdir", name); err != nil {
		return err
	}
	f.enter(OpMkdir, name)
	defer f.exit()
	if err := f.act(OpMkdir, name, 0, 0); err != nil {
		return err
	}
	c := f.cfg.Load()
	f.spend(c, c.WriteLatency, 0)
	return f.inner.Mkdir(name)
}

// List implements FS.
func (f *FaultFS) List(dir string) ([]string, error) {
	if err := f.alive("list", dir); err != nil {
		return nil, err
	}
	f.enter(OpList, dir)
	defer f.exit()
	if err := f.act(OpList, dir, 0, 0); err != nil {
		return nil, err
	}
	c := f.cfg.Load()
	f.spend(c, c.ReadLatency, 0)
	return f.inner.List(dir)
}

// Stat implements FS.
func (f *FaultFS) Stat(name string) (fs.FileInfo, error) {
	if err := f.alive("stat", name); err != nil {
		return nil, err
	}
	f.enter(OpStat, name)
	defer f.exit()
	if err := f.act(OpStat, name, 0, 0); err != nil {
		return nil, err
	}
	c := f.cfg.Load()
	f.spend(c, c.ReadLatency, 0)
	return f.inner.Stat(name)
}

// SyncDir implements FS; it is subject to sync failures (without the Linux drop, which is
// about file data).
func (f *FaultFS) SyncDir(dir string) error {
	if err := f.alive("syncdir", dir); err != nil {
		return err
	}
	f.enter(OpSyncDir, dir)
	defer f.exit()
	if err := f.act(OpSyncDir, dir, 0, 0); err != nil {
		return err
	}
	c := f.cfg.Load()
	f.spend(c, c.SyncLatency, 0)
	if f.draw(streamSync, f.scoped(SyncFailure, c.SyncFailureProbability, OpSyncDir, dir, 0, 0)) {
		f.record(SyncFailure, clean(dir), 0, 0, "dir")
		return &fs.PathError{Op: "syncdir", Path: dir, Err: ErrSyncFailed}
	}
	return f.inner.SyncDir(dir)
}

// Optional abilities of an inner file that models durability (memFile).
type phantomWriter interface {
	writePhantom(p []byte, off int64) (int, error)
}
type dirtyDropper interface{ dropDirty() }

type faultFile struct {
	fs       *FaultFS
	f        File
	name     string
	nameHash uint64 // fault.HashString(name), salting the read-side overlay
}

func newFaultFile(f *FaultFS, in File, name string) *faultFile {
	return &faultFile{fs: f, f: in, name: name, nameHash: fault.HashString(name)}
}

func (ff *faultFile) Name() string { return ff.name }

func (ff *faultFile) ReadAt(p []byte, off int64) (int, error) {
	f := ff.fs
	if err := f.alive("read", ff.name); err != nil {
		return 0, err
	}
	f.enter(OpRead, ff.name)
	defer f.exit()
	span := int64(len(p))
	if err := f.act(OpRead, ff.name, off, span); err != nil {
		return 0, err
	}
	c := f.cfg.Load()
	area := [2]int64{0, -1} // the bytes read corruption may hit: all
	if rs := f.rules.Load(); rs != nil && len(rs.scoped) > 0 {
		cc := *c
		var by *Rule
		cc.ReadFaultProbability, by = f.scopedBy(ReadCorruption, c.ReadFaultProbability, OpRead, ff.name, off, span)
		if by != nil {
			if first, last, ok := byteRange(by.When); ok {
				area = [2]int64{first, last}
			}
		}
		cc.MisdirectReadProbability = f.scoped(MisdirectedRead, c.MisdirectReadProbability, OpRead, ff.name, off, span)
		c = &cc
	}
	f.spend(c, c.ReadLatency, len(p))
	n, err := ff.f.ReadAt(p, off)
	if n > 0 && (c.MisdirectReadProbability > 0 || c.ReadFaultProbability > 0) {
		ff.readFaults(c, p[:n], off, area)
	}
	return n, err
}

// readFaults applies the read-side overlay to p, which holds the true bytes at off. Read
// corruption draws only for the sectors that overlap area ([first, last], last < 0: to
// the end): a rule's bytes= range, a faulty area.
func (ff *faultFile) readFaults(c *active, p []byte, off int64, area [2]int64) {
	f := ff.fs
	sector := c.sector()
	if c.MisdirectReadProbability > 0 {
		h := f.readSalt.Hash(tagMisdirectRead, ff.nameHash, uint64(off), uint64(len(p)), fault.HashBytes(p))
		if fault.Unit(h) < c.MisdirectReadProbability && f.allows(ff.name, off/sector) {
			// Any other offset a whole number of sectors away that holds len(p) bytes.
			if fi, err := ff.f.Stat(); err == nil {
				lo := -(off / sector)
				hi := (fi.Size() - int64(len(p)) - off) / sector
				if fi.Size()-int64(len(p))-off < 0 {
					hi = -1
				}
				if n := hi - lo; n > 0 { // hi-lo+1 shifts, one of them 0
					k := lo + int64(fault.Seed(h).Hash(1)%uint64(n))
					if k >= 0 {
						k++ // skip 0
					}
					t := off + k*sector
					tmp := make([]byte, len(p))
					if m, _ := ff.f.ReadAt(tmp, t); m == len(p) {
						copy(p, tmp)
						f.record(MisdirectedRead, ff.name, off, int64(len(p)), "from="+strconv.FormatInt(t, 10))
					}
				}
			}
		}
	}
	if c.ReadFaultProbability > 0 {
		buf := make([]byte, sector)
		end := off + int64(len(p))
		for s0 := (off / sector) * sector; s0 < end; s0 += sector {
			if s0+sector-1 < area[0] || area[1] >= 0 && s0 > area[1] {
				continue // outside the faulty area
			}
			m, _ := ff.f.ReadAt(buf, s0)
			if m == 0 {
				break
			}
			h := f.readSalt.Hash(tagReadCorruption, ff.nameHash, uint64(s0), fault.HashBytes(buf[:m]))
			if fault.Unit(h) >= c.ReadFaultProbability || !f.allows(ff.name, s0/sector) {
				continue
			}
			pos := s0 + int64(fault.Seed(h).Hash(1)%uint64(m))
			if pos < off || pos >= end {
				continue // the bad byte is outside this read
			}
			bit := byte(1) << (fault.Seed(h).Hash(2) % 8)
			p[pos-off] ^= bit
			f.record(ReadCorruption, ff.name, pos, 1, fmt.Sprintf("bit=%#02x", bit))
		}
	}
}

func (ff *faultFile) WriteAt(p []byte, off int64) (int, error) {
	f := ff.fs
	if err := f.alive("write", ff.name); err != nil {
		return 0, err
	}
	// The same range rule as the memory disk, whatever the inner FS: checked before any
	// draw, so a rejected write injects nothing and a misdirected target cannot overflow.
	if err := checkRange("write", ff.name, off, len(p)); err != nil {
		return 0, err
	}
	f.enter(OpWrite, ff.name)
	defer f.exit()
	span := int64(len(p))
	if err := f.act(OpWrite, ff.name, off, span); err != nil {
		return 0, err
	}
	c := f.cfg.Load()
	if rs := f.rules.Load(); rs != nil && len(rs.scoped) > 0 {
		cc := *c
		cc.WriteFaultProbability = f.scoped(WriteCorruption, c.WriteFaultProbability, OpWrite, ff.name, off, span)
		cc.MisdirectWriteProbability = f.scoped(MisdirectedWrite, c.MisdirectWriteProbability, OpWrite, ff.name, off, span)
		cc.PhantomWriteProbability = f.scoped(PhantomWrite, c.PhantomWriteProbability, OpWrite, ff.name, off, span)
		c = &cc
	}
	f.spend(c, c.WriteLatency, len(p))
	if len(p) == 0 ||
		(c.MisdirectWriteProbability <= 0 && c.WriteFaultProbability <= 0 && c.PhantomWriteProbability <= 0) {
		return ff.f.WriteAt(p, off) // no write-side family on: nothing to draw
	}
	sector := c.sector()
	target, buf := off, p
	if f.draw(streamMisdirectWrite, c.MisdirectWriteProbability) {
		k := int64(1 + f.intn(streamMisdirectWrite, 8))
		down := f.intn(streamMisdirectWrite, 2) == 0
		t := off + k*sector
		if (down || t > MaxFileSize-int64(len(p))) && off-k*sector >= 0 {
			t = off - k*sector
		}
		if t <= MaxFileSize-int64(len(p)) && f.allows(ff.name, t/sector) {
			target = t
			f.record(MisdirectedWrite, ff.name, off, int64(len(p)), "to="+strconv.FormatInt(t, 10))
		}
	}
	if f.draw(streamWrite, c.WriteFaultProbability) {
		i := f.intn(streamWrite, len(p))
		bit := byte(1) << f.intn(streamWrite, 8)
		if f.allows(ff.name, (target+int64(i))/sector) {
			buf = bytes.Clone(p)
			buf[i] ^= bit
			f.record(WriteCorruption, ff.name, target+int64(i), 1, fmt.Sprintf("bit=%#02x", bit))
		}
	}
	if f.draw(streamPhantom, c.PhantomWriteProbability) {
		if pw, ok := ff.f.(phantomWriter); ok {
			f.record(PhantomWrite, ff.name, target, int64(len(p)), "")
			if _, err := pw.writePhantom(buf, target); err != nil {
				return 0, err
			}
			return len(p), nil
		}
	}
	if _, err := ff.f.WriteAt(buf, target); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (ff *faultFile) Sync() error {
	f := ff.fs
	if err := f.alive("sync", ff.name); err != nil {
		return err
	}
	f.enter(OpSync, ff.name)
	defer f.exit()
	if err := f.act(OpSync, ff.name, 0, 0); err != nil {
		return err
	}
	c := f.cfg.Load()
	f.spend(c, c.SyncLatency, 0)
	if f.draw(streamSync, f.scoped(SyncFailure, c.SyncFailureProbability, OpSync, ff.name, 0, 0)) { // p == 0 draws nothing
		detail := ""
		if c.SyncFailureDropsDirty {
			if d, ok := ff.f.(dirtyDropper); ok {
				d.dropDirty()
				detail = "dirty-dropped"
			}
		}
		f.record(SyncFailure, ff.name, 0, 0, detail)
		return &fs.PathError{Op: "sync", Path: ff.name, Err: ErrSyncFailed}
	}
	return ff.f.Sync()
}

func (ff *faultFile) Truncate(size int64) error {
	f := ff.fs
	if err := f.alive("truncate", ff.name); err != nil {
		return err
	}
	if err := checkRange("truncate", ff.name, size, 0); err != nil {
		return err
	}
	f.enter(OpTruncate, ff.name)
	defer f.exit()
	if err := f.act(OpTruncate, ff.name, 0, 0); err != nil {
		return err
	}
	c := f.cfg.Load()
	f.spend(c, c.WriteLatency, 0)
	return ff.f.Truncate(size)
}

func (ff *faultFile) Stat() (fs.FileInfo, error) {
	if err := ff.fs.alive("stat", ff.name); err != nil {
		return nil, err
	}
	return ff.f.Stat()
}

func (ff *faultFile) Close() error {
	if err := ff.fs.alive("close", ff.name); err != nil {
		return err
	}
	return ff.f.Close()
}

// SetRules replaces the targeting rules (see Rule and ParseRules); nil removes them. With no
// rules, nothing about the FS changes: no predicate is asked and no stream draws. A crash
// rule needs a FaultFS made by a Storage.
func (f *FaultFS) SetRules(rs []Rule) error {
	if err := validateRules(rs); err != nil {
		return err
	}
	for i, r := range rs {
		if r.Crash && f.crashFn == nil {
			return fmt.Errorf("disk rule %d %q: a crash rule needs a disk.Storage (the crash is the process's)", i+1, r)
		}
	}
	f.rules.Store(compileRules(rs))
	return nil
}

// validateRules checks every rule, naming the first bad one by its place.
func validateRules(rs []Rule) error {
	for i, r := range rs {
		if err := r.validate(); err != nil {
			return fmt.Errorf("disk rule %d: %w", i+1, err)
		}
	}
	return nil
}

func (r Rule) validate() error {
	acts := 0
	if r.Err != 0 {
		acts++
	}
	if r.Crash {
		acts++
	}
	if r.Family != "" {
		acts++
		if new(Counters).field(r.Family) == nil {
			return fmt.Errorf("family %q: want one of %v", r.Family, Families)
		}
		if r.Family == TornWrite {
			return fmt.Errorf("family %q: torn writes happen at a crash, not at an operation: scope them with the crash's options", r.Family)
		}
	}
	if acts != 1 {
		return fmt.Errorf("%d actions: want exactly one of an error, a crash or a fault family", acts)
	}
	if r.When == nil {
		return fmt.Errorf("no predicate: want one (Always() for every operation)")
	}
	if r.Probability < 0 || r.Probability > 1 {
		return fmt.Errorf("probability %v: want 0..1", r.Probability)
	}
	return nil
}

// act applies the error and crash rules to one operation: the first rule that selects it
// acts, and the operation fails; later rules do not see it.
func (f *FaultFS) act(op Op, name string, off, n int64) error {
	rs := f.rules.Load()
	if rs == nil || len(rs.acts) == 0 {
		return nil
	}
	name = clean(name)
	a := Access{Op: op, Path: name, Process: f.process, Time: f.clock.Now(), Off: off, Len: n}
	for _, r := range rs.acts {
		if !r.When.Match(a) {
			continue
		}
		if r.Crash {
			f.log.Record(fault.Event{Layer: fault.LayerDisk, Kind: KindCrashPoint, Process: f.process, Where: name,
				Time: a.Time, Clock: clockKind(f.clock), Detail: "op=" + string(op) + " rule=" + r.String()})
			f.crashFn()
			return &fs.PathError{Op: string(op), Path: name, Err: ErrCrashed}
		}
		f.log.Record(fault.Event{Layer: fault.LayerDisk, Kind: KindInjectedError, Process: f.process, Where: name,
			Time: a.Time, Clock: clockKind(f.clock), Detail: "op=" + string(op) + " error=" + errnoName(r.Err) + " rule=" + r.String()})
		return &fs.PathError{Op: string(op), Path: name, Err: &InjectedError{Errno: r.Err, Rule: r.String()}}
	}
	return nil
}

// scoped is a family's probability for one operation: p when no rule scopes the family;
// else the first scoping rule that selects the operation gives it (its own, or p), and
// an operation no rule selects gets 0 (and so draws nothing).
func (f *FaultFS) scoped(fam Family, p float64, op Op, name string, off, n int64) float64 {
	q, _ := f.scopedBy(fam, p, op, name, off, n)
	return q
}

// scopedBy is scoped that also returns the rule that gave the probability (nil when no
// rule scopes the family).
func (f *FaultFS) scopedBy(fam Family, p float64, op Op, name string, off, n int64) (float64, *Rule) {
	rs := f.rules.Load()
	if rs == nil {
		return p, nil
	}
	scope, ok := rs.scoped[fam]
	if !ok {
		return p, nil
	}
	a := Access{Op: op, Path: clean(name), Process: f.process, Time: f.clock.Now(), Off: off, Len: n}
	for i, r := range scope {
		if r.When.Match(a) {
			if r.Probability > 0 {
				return r.Probability, &scope[i]
			}
			return p, &scope[i]
		}
	}
	return 0, nil
}

// life is a process incarnation: handles check it on every call.
type life struct{ state atomic.Int32 }

const (
	alive int32 = iota
	crashed
	wiped
)

func (l *life) err() error {
	switch l.state.Load() {
	case crashed:
		return ErrCrashed
	case wiped:
		return ErrWiped
	}
	return nil
}

var _ FS = (*FaultFS)(nil)
