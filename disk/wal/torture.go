package wal

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"

	"github.com/faultbox/faultbox/disk"
	"github.com/faultbox/faultbox/fault"
)

// TortureOptions shape a torture run.
type TortureOptions struct {
	Seed   fault.Seed
	Ops    int
	Config disk.Config
	// Process is the address the log's disk belongs to; "" means "wal-1".
	Process string
	// Trace, when set, receives one line per workload step.
	Trace io.Writer

	// EventLimit is how many injected events the run keeps for the report (the disk
	// recorder's Limit; 0 means its default, 65,536). Counters and the verdict do not
	// depend on it: they count every fault.
	EventLimit int
	// AckBeforeSync makes the workload a deliberately broken client, the negative control
	// of the checker: it counts a record as acknowledged when it is appended, before any
	// sync, so a crash loses acknowledged records and the run must fail.
	AckBeforeSync bool

	beforeFinal func(*disk.Storage) // test hook
}

// TortureReport is what a torture run injected and what the log survived.
type TortureReport struct {
	Seed     fault.Seed
	Ops      int
	Appended int // records appended
	Acked    int // acknowledgements given (records made durable by a successful Sync)
	Crashes  int
	// Restarts after a failed sync or write (the log poisons itself; the process restarts).
	Restarts int
	// ReadSideDetected: recovery or a read reported a checksum or position error that went
	// away with read faults off: the stored bytes were fine.
	ReadSideDetected int
	// DetectedLoss: recovery reported that acknowledged records are damaged (a write-side
	// fault destroyed them); the run wipes the disk and starts a new log.
	DetectedLoss int
	// Survived is how many acknowledged records the final recovery returned intact.
	Survived int
	// Resurrected counts recoveries that returned, past the acknowledged records, a record
	// an earlier recovery had discarded (its erasure was lost to a fault). Not a loss; a
	// note, with the details in Notes.
	Resurrected int
	Notes       []string
	// Problems are silent losses or unexplained detections: each one is a bug.
	Problems []string
	// Counters count every injected fault, past the recorder's cap on kept events.
	Counters disk.Counters
	// Events are the injected faults kept by the log: the first EventLimit
	// of them; EventsDropped more were counted but not kept.
	Events        []fault.Event
	EventsDropped int
}

// OK reports whether no acknowledged record was silently lost or altered.
func (r *TortureReport) OK() bool { return len(r.Problems) == 0 }

// String is the human summary (without the event list).
func (r *TortureReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed=%d ops=%d appended=%d acked=%d crashes=%d restarts=%d\n",
		r.Seed, r.Ops, r.Appended, r.Acked, r.Crashes, r.Restarts)
	fmt.Fprintf(&b, "injected: %s\n", r.Counters)
	fmt.Fprintf(&b, "detected: read-side=%d damaged-acked=%d (each explained by an injected write-side fault)\n",
		r.ReadSideDetected, r.DetectedLoss)
	fmt.Fprintf(&b, "survived: %d acknowledged records intact after the final recovery\n", r.Survived)
	if r.Resurrected > 0 {
		fmt.Fprintf(&b, "note: a discarded unacknowledged record came back (%d time(s)); first: %s\n", r.Resurrected, r.Notes[0])
	}
	if r.OK() {
		b.WriteString("verdict: OK, no acknowledged record silently lost\n")
	} else {
		fmt.Fprintf(&b, "verdict: FAIL, %d problem(s):\n", len(r.Problems))
		for _, p := range r.Problems {
			b.WriteString("  " + p + "\n")
		}
	}
	return b.String()
}

// damaging are the families that can destroy acknowledged bytes on the media.
var damaging = map[disk.Family]bool{disk.WriteCorruption: true, disk.MisdirectedWrite: true,
	disk.PhantomWrite: true, disk.SyncFailure: true}

type torture struct {
	opts    TortureOptions
	st      *disk.Storage
	proc    string
	log     *Log
	truth   [][]byte // payloads in log order, as the workload knows them
	acked   int      // truth[:acked] are acknowledged
	rep     *TortureReport
	r       *rand.Rand
	seenDmg int // damaging faults (by the counters) already used to explain a detection
}

// damageCount is how many damaging faults the counters hold: counters, not the event list,
// because the recorder stops keeping events at its Limit while the counters keep counting.
func damageCount(c disk.Counters) int {
	n := 0
	for _, f := range disk.Families {
		if damaging[f] {
			n += c.Of(f)
		}
	}
	return n
}

// Torture runs a random workload (appends, syncs, reads, crashes) on a Log over a faulty
// memory disk and checks after every recovery that every acknowledged record is there,
// intact, or that the loss was detected and explained by an injected fault.
func Torture(opts TortureOptions) (*TortureReport, error) {
	if opts.Process == "" {
		opts.Process = "wal-1"
	}
	if opts.Ops < 0 {
		return nil, fmt.Errorf("wal torture: ops = %d: want >= 0", opts.Ops)
	}
	st, err := disk.NewStorage(opts.Seed, opts.Config, disk.NewVirtualClock())
	if err != nil {
		return nil, err
	}
	if opts.EventLimit > 0 {
		st.Log().SetLimit(opts.EventLimit)
	}
	t := &torture{opts: opts, st: st, proc: opts.Process,
		rep: &TortureReport{Seed: opts.Seed, Ops: opts.Ops},
		r:   opts.Seed.Stream("wal-workload")}
	t.recover(false)
	for i := 0; i < opts.Ops; i++ {
		t.step(i)
	}
	// Final check: crash, then recover with faults off, and count what survived.
	t.crash()
	t.rep.Crashes++
	if opts.beforeFinal != nil {
		opts.beforeFinal(st)
	}
	if err := t.st.SetProcessConfig(t.proc, opts.Config.FaultsOff()); err != nil {
		return nil, err
	}
	t.recover(true)
	t.rep.Survived = t.acked
	t.rep.Counters = st.Counters()
	t.rep.Events = st.Events()
	t.rep.EventsDropped = st.Log().Dropped()
	return t.rep, nil
}

func (t *torture) trace(format string, args ...any) {
	if t.opts.Trace != nil {
		fmt.Fprintf(t.opts.Trace, "[ev %d] "+format+"\n", append([]any{t.st.Counters().Total()}, args...)...)
	}
}

func (t *torture) step(i int) {
	switch x := t.r.IntN(100); {
	case x < 55:
		payload := make([]byte, 1+t.r.IntN(300))
		for j := range payload {
			payload[j] = byte(t.r.Uint32())
		}
		copy(payload, fmt.Sprintf("op%d", i))
		if _, err := t.log.Append(payload); err != nil {
			t.restart()
			return
		}
		t.rep.Appended++
		t.truth = append(t.truth, payload)
		if t.opts.AckBeforeSync {
			t.acked = len(t.truth)
		}
		t.trace("op %d: append #%d (%d bytes)", i, len(t.truth)-1, len(payload))
	case x < 85:
		n, err := t.log.Sync()
		if err != nil {
			t.restart()
			return
		}
		t.rep.Acked += n - t.acked
		t.acked = n
		t.trace("op %d: sync: %d acknowledged", i, n)
	case x < 93:
		if t.acked == 0 {
			return
		}
		k := t.r.IntN(t.acked)
		rec := t.log.Records()[k]
		got, err := t.log.Read(rec.Pos)
		switch {
		case err != nil && (errors.Is(err, ErrChecksum) || errors.Is(err, ErrMisplaced)):
			t.rep.ReadSideDetected++
		case err != nil:
			t.problem("op %d: read of acknowledged record %d failed oddly: %v", i, k, err)
		case !bytes.Equal(got, t.truth[k]):
			t.problem("op %d: read of acknowledged record %d returned wrong bytes without an error", i, k)
		}
	default:
		t.trace("op %d: crash", i)
		t.crash()
		t.rep.Crashes++
		t.recover(false)
	}
}

func (t *torture) problem(format string, args ...any) {
	t.trace("PROBLEM: "+format, args...)
	t.rep.Problems = append(t.rep.Problems, fmt.Sprintf(format, args...))
}

func (t *torture) crash() {
	t.st.Crash(t.proc, t.r.IntN(2) == 0)
	t.log = nil
}

// restart: the log poisoned itself after a failed write or sync; the process restarts from
// its durable state.
func (t *torture) restart() {
	t.rep.Restarts++
	t.crash() // not counted in Crashes: the process restarted itself
	t.recover(false)
}

func (t *torture) open() (*Log, error) {
	var err error
	for attempt := 0; attempt < 8; attempt++ {
		var l *Log
		l, err = Open(t.st.FS(t.proc), "wal", Options{Align: int64(t.st.Config(t.proc).SectorSize)})
		if err == nil {
			return l, nil
		}
		if !errors.Is(err, disk.ErrSyncFailed) && !errors.Is(err, ErrVerify) {
			return nil, err
		}
		// A sync failure or a failed read-back during recovery: restart and try again.
		t.st.Crash(t.proc, true)
	}
	return nil, err
}

// recover opens the log after a crash and checks it against the truth.
func (t *torture) recover(final bool) {
	l, err := t.open()
	if err != nil {
		cfg := t.st.Config(t.proc)
		if !final {
			// Try again with faults off: a read-side fault leaves the stored bytes intact
			// (and a retry under faults would see the same read fault again).
			_ = t.st.SetProcessConfig(t.proc, cfg.FaultsOff())
			l, err = t.open()
			t.st.ClearProcessConfig(t.proc)
			if err == nil {
				t.rep.ReadSideDetected++
			}
		}
		if err != nil {
			t.detectedLoss(err)
			return
		}
	}
	t.log = l
	t.check()
	t.trace("recovered %d records, %d acknowledged", len(l.Records()), t.acked)
}

func (t *torture) detectedLoss(err error) {
	dmg := damageCount(t.st.Counters())
	explained := dmg > t.seenDmg
	t.seenDmg = dmg
	if !errors.Is(err, ErrLost) && !errors.Is(err, ErrChecksum) && !errors.Is(err, ErrMisplaced) {
		t.problem("recovery failed with an unexpected error: %v", err)
	} else if !explained {
		t.problem("recovery reported damage that no injected write-side fault explains: %v", err)
	}
	t.rep.DetectedLoss++
	// The data is gone and the log said so: replace the disk and start a new log.
	t.st.Wipe(t.proc)
	t.truth, t.acked = nil, 0
	l, err := t.open()
	if err != nil {
		t.problem("opening a fresh log after a wipe failed: %v", err)
		return
	}
	t.log = l
}

// check compares the recovered records with the truth: every acknowledged record must be
// there and intact, and nothing may be there that was never written.
func (t *torture) check() {
	recs := t.log.Records()
	if len(recs) < t.acked {
		t.problem("recovery returned %d records without an error, but %d were acknowledged", len(recs), t.acked)
	}
	for i, r := range recs {
		if i >= len(t.truth) {
			t.problem("recovery returned record %d that was never written", i)
			break
		}
		if !bytes.Equal(r.Payload, t.truth[i]) {
			if i < t.acked {
				t.problem("recovery returned acknowledged record %d at %d (%d bytes) altered (%d bytes were written)", i, r.Pos, len(r.Payload), len(t.truth[i]))
			} else {
				// Not a loss: no acknowledgement is broken. But the log had discarded this
				// record in an earlier recovery, and the write that erased it was lost.
				t.rep.Resurrected++
				t.rep.Notes = append(t.rep.Notes, fmt.Sprintf("unacknowledged record %d at %d came back from before an earlier recovery (%d bytes; the latest write there had %d)", i, r.Pos, len(r.Payload), len(t.truth[i])))
			}
			break
		}
	}
	// From here on the log's records are the truth (a problem was reported if they differ).
	t.truth = t.truth[:0]
	for _, r := range recs {
		t.truth = append(t.truth, r.Payload)
	}
	t.acked = len(t.truth)
}

// Stress is a heavier disk than RandomForSeed for demonstrations: every family on at
// 0.2% per operation (read faults per sector), half the crashes tearing unsynced data,
// and the Linux mode of sync failures. A single-copy log can lose acknowledged records to
// a combination of faults at this rate (a phantom meta write with damaged data, say);
// such losses are reported, as they should be.
func Stress() disk.Config {
	c := disk.DefaultConfig()
	c.ReadFaultProbability = 0.002
	c.WriteFaultProbability = 0.002
	c.CrashFaultProbability = 0.5
	c.MisdirectWriteProbability = 0.002
	c.MisdirectReadProbability = 0.002
	c.PhantomWriteProbability = 0.002
	c.SyncFailureProbability = 0.002
	c.SyncFailureDropsDirty = true
	return c
}

// NaiveReport is what the naive log suffered under the same workload and disk.
type NaiveReport struct {
	Acked int // acknowledgements (successful syncs' records)
	// SilentLosses counts recoveries after which an acknowledged record was missing or
	// altered while the naive log reported nothing.
	SilentLosses int
	Recoveries   int
	Counters     disk.Counters
}

// NaiveTorture drives the naive log with the same kind of workload on the same kind of disk
// and counts the recoveries that silently lost or altered acknowledged records.
func NaiveTorture(opts TortureOptions) (*NaiveReport, error) {
	if opts.Process == "" {
		opts.Process = "naive-1"
	}
	st, err := disk.NewStorage(opts.Seed, opts.Config, disk.NewVirtualClock())
	if err != nil {
		return nil, err
	}
	r := opts.Seed.Stream("wal-workload")
	rep := &NaiveReport{}
	var truth [][]byte
	acked := 0
	var nv *Naive
	recoverNaive := func() {
		for attempt := 0; ; attempt++ {
			nv, err = OpenNaive(st.FS(opts.Process), "naive")
			if err == nil || attempt == 8 {
				break
			}
			st.Crash(opts.Process, true)
		}
		if err != nil {
			nv = nil
			return
		}
		rep.Recoveries++
		recs := nv.Records()
		lost := len(recs) < acked
		for i := 0; i < min(acked, len(recs)); i++ {
			if !bytes.Equal(recs[i], truth[i]) {
				lost = true
			}
		}
		if lost {
			rep.SilentLosses++
		}
		truth = append(truth[:0], recs...)
		acked = len(truth)
	}
	recoverNaive()
	for i := 0; i < opts.Ops && nv != nil; i++ {
		switch x := r.IntN(100); {
		case x < 55:
			payload := make([]byte, 1+r.IntN(300))
			for j := range payload {
				payload[j] = byte(r.Uint32())
			}
			if nv.Append(payload) == nil {
				truth = append(truth, payload)
			}
		case x < 85:
			if nv.Sync() == nil {
				rep.Acked += len(truth) - acked
				acked = len(truth)
			}
		case x < 93:
		default:
			st.Crash(opts.Process, r.IntN(2) == 0)
			recoverNaive()
		}
	}
	st.Crash(opts.Process, true)
	if err := st.SetProcessConfig(opts.Process, opts.Config.FaultsOff()); err != nil {
		return nil, err
	}
	recoverNaive()
	rep.Counters = st.Counters()
	return rep, nil
}

// Presets are the named configurations ConfigFor accepts.
var Presets = []string{"default", "fast-local", "random", "stress"}

// ConfigFor turns a --config value into a disk configuration: a preset name (default,
// fast-local, random = RandomForSeed(seed), stress) or a JSON object of disk.Config fields.
func ConfigFor(spec string, seed fault.Seed) (disk.Config, error) {
	switch strings.TrimSpace(spec) {
	case "", "default":
		return disk.DefaultConfig(), nil
	case "fast-local":
		return disk.FastLocal(), nil
	case "random":
		return disk.RandomForSeed(seed), nil
	case "stress":
		return Stress(), nil
	}
	if strings.HasPrefix(strings.TrimSpace(spec), "{") {
		return disk.ParseConfig([]byte(spec))
	}
	return disk.Config{}, fmt.Errorf("--config %q: want a preset (%s) or a JSON object of disk.Config fields",
		spec, strings.Join(Presets, ", "))
}
