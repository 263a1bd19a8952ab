package wal

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
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
	// Logger, when set, receives the run as it happens: each workload step, restart,
	// recovery and detected loss at Debug, each problem at Warn. nil logs nothing.
	Logger *slog.Logger
	// OnStep, when set, is called after each workload step with the steps done and Ops:
	// for a progress display. It must not call back into the run.
	OnStep func(done, total int)

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
//
// Crashes are counted twice, on purpose, under two names: CrashSteps are the workload's
// steps that cut the power; the disk's count (Counters.Crashes, "disk crashes") is every
// power cut the disk took: the crash steps, the Restarts, the RecoveryCrashes and the final
// crash before the last recovery. Torture checks that the two add up.
type TortureReport struct {
	Seed     fault.Seed
	Ops      int
	Appended int // records appended
	Acked    int // acknowledgements given (records made durable by a successful Sync)
	// CrashSteps: workload steps that cut the power (the final crash is not a step).
	CrashSteps int
	// Restarts after a failed sync or write (the log poisons itself; the process restarts
	// from its durable state, which is a crash of its disk).
	Restarts int
	// RecoveryCrashes: crashes while recovering, to retry an open that failed on a sync
	// failure or a failed read-back.
	RecoveryCrashes int
	// ReadSideDetected: recovery or a read reported a checksum or position error that went
	// away with read faults off: the stored bytes were fine.
	ReadSideDetected int
	// StuckRecoveries: recoveries whose every attempt failed to sync or read back under
	// faults, finished with faults off (not a detection: nothing was damaged).
	StuckRecoveries int
	// DetectedLoss: recovery reported that acknowledged records are damaged (a write-side
	// fault destroyed them); the run wipes the disk and starts a new log.
	DetectedLoss int
	// Held is how many records the log vouched for before the final crash: those it
	// acknowledged, and those an earlier recovery returned.
	Held int
	// Survived is how many of the Held records the final recovery returned intact.
	Survived int
	// Resurrected counts recoveries that returned, past the acknowledged records, a record
	// an earlier recovery had discarded (its erasure was lost to a fault). Not a loss; a
	// note, with the details in Notes.
	Resurrected int
	Notes       []string
	// Silent are the silent losses: an acknowledged record missing, altered or misread
	// without an error, or a record returned that was never written.
	Silent []string
	// Unexplained are detections that no injected fault explains, and unexpected errors.
	Unexplained []string
	// Problems are Silent and Unexplained together, in the order they happened: each one
	// is a bug.
	Problems []string
	// Counters count every injected fault, past the recorder's cap on kept events; Faults
	// are the same log's counts by layer and kind (crashes and wipes included).
	Counters disk.Counters
	Faults   []fault.Count
	// Events are the injected faults kept by the log: the first EventLimit
	// of them; EventsDropped more were counted but not kept.
	Events        []fault.Event
	EventsDropped int
}

// OK reports whether no acknowledged record was silently lost or altered and every
// detected loss was explained.
func (r *TortureReport) OK() bool { return len(r.Problems) == 0 }

// Verdict is Fail with a problem, Empty when nothing was acknowledged (the run checked
// nothing: no check can hold against a record that was never made durable), else Pass.
func (r *TortureReport) Verdict() fault.Verdict {
	switch {
	case !r.OK():
		return fault.Fail
	case r.Acked == 0:
		return fault.Empty
	}
	return fault.Pass
}

// Report is the run as a fault.Report for command (the command as typed): the figures,
// the faults by layer and kind, the two checks (no silent loss, losses explained) and the
// verdict. The caller adds what only it knows (the replay command line).
func (r *TortureReport) Report(command string) *fault.Report {
	rep := fault.NewReport(command, r.Seed)
	rep.Add("ops", r.Ops)
	rep.Add("appended", r.Appended)
	rep.Add("acknowledged", r.Acked)
	rep.Add("crash steps", r.CrashSteps)
	rep.Add("restarts", r.Restarts)
	rep.Add("recovery crashes", r.RecoveryCrashes)
	rep.Add("disk crashes", r.Counters.Crashes)
	rep.Add("disk wipes", r.Counters.Wipes)
	rep.Add("read-side detections", r.ReadSideDetected)
	rep.Add("recoveries finished with faults off", r.StuckRecoveries)
	rep.Add("detected losses", r.DetectedLoss)
	rep.Add("held before the final crash", r.Held)
	rep.Add("survived", r.Survived)
	if r.Resurrected > 0 {
		rep.Add("resurrected", r.Resurrected)
	}
	rep.SetFaults(r.Faults)
	if len(r.Silent) == 0 {
		rep.Check("no silent loss", true, "every recovery returned each acknowledged record intact or reported its loss")
	} else {
		rep.Check("no silent loss", false, "%d silent loss(es); first: %s", len(r.Silent), r.Silent[0])
	}
	switch {
	case len(r.Unexplained) == 0 && r.DetectedLoss == 0:
		rep.Check("losses explained", true, "no loss was detected")
	case len(r.Unexplained) == 0:
		rep.Check("losses explained", true, "%d detected loss(es), each after an injected write-side fault", r.DetectedLoss)
	default:
		rep.Check("losses explained", false, "%d unexplained; first: %s", len(r.Unexplained), r.Unexplained[0])
	}
	rep.Judge()
	rep.Verdict = r.Verdict()
	if rep.Verdict == fault.Empty {
		rep.Note("nothing was acknowledged (no sync succeeded): no check could hold against a durable record")
	}
	if r.Resurrected > 0 {
		rep.Note("a discarded unacknowledged record came back (%d time(s)); first: %s", r.Resurrected, r.Notes[0])
	}
	return rep
}

// String is the text form of Report("wal torture").
func (r *TortureReport) String() string {
	var b strings.Builder
	r.Report("wal torture").WriteText(&b)
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
	logger  *slog.Logger
	seenDmg int // damaging faults (by the counters) already used to explain a detection
	intact  int // acknowledged records the latest check found intact
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
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	t := &torture{opts: opts, st: st, proc: opts.Process,
		rep:    &TortureReport{Seed: opts.Seed, Ops: opts.Ops},
		r:      opts.Seed.Stream("wal-workload"),
		logger: logger}
	t.recover(false)
	for i := 0; i < opts.Ops; i++ {
		t.step(i)
		if opts.OnStep != nil {
			opts.OnStep(i+1, opts.Ops)
		}
	}
	// Final check: crash, then recover with faults off, and count what survived.
	t.rep.Held = t.acked
	t.crash()
	if opts.beforeFinal != nil {
		opts.beforeFinal(st)
	}
	if err := t.st.SetProcessConfig(t.proc, opts.Config.FaultsOff()); err != nil {
		return nil, err
	}
	t.intact = 0
	t.recover(true)
	t.rep.Survived = t.intact
	t.rep.Counters = st.Counters()
	t.rep.Faults = st.Log().Counts()
	t.rep.Events = st.Events()
	t.rep.EventsDropped = st.Log().Dropped()
	r := t.rep
	if want := r.CrashSteps + r.Restarts + r.RecoveryCrashes + 1; r.Counters.Crashes != want {
		return nil, fmt.Errorf("wal torture: the disk counted %d crashes, the harness %d (%d crash steps, %d restarts, %d recovery crashes, 1 final): a crash went uncounted",
			r.Counters.Crashes, want, r.CrashSteps, r.Restarts, r.RecoveryCrashes)
	}
	return r, nil
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
		t.logger.Debug("append", "op", i, "record", len(t.truth)-1, "bytes", len(payload))
	case x < 85:
		n, err := t.log.Sync()
		if err != nil {
			t.restart()
			return
		}
		t.rep.Acked += n - t.acked
		t.acked = n
		t.logger.Debug("sync", "op", i, "acknowledged", n)
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
			t.unexplained("op %d: read of acknowledged record %d failed oddly: %v", i, k, err)
		case !bytes.Equal(got, t.truth[k]):
			t.silent("op %d: read of acknowledged record %d returned wrong bytes without an error", i, k)
		}
	default:
		t.logger.Debug("crash step", "op", i, "events", t.st.Log().Len())
		t.rep.CrashSteps++
		t.crash()
		t.recover(false)
	}
}

// silent records a silent loss: an acknowledged record gone or altered without an error.
func (t *torture) silent(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	t.logger.Warn("silent loss", "problem", msg)
	t.rep.Silent = append(t.rep.Silent, msg)
	t.rep.Problems = append(t.rep.Problems, msg)
}

// unexplained records a detection no injected fault explains, or an unexpected error.
func (t *torture) unexplained(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	t.logger.Warn("unexplained", "problem", msg)
	t.rep.Unexplained = append(t.rep.Unexplained, msg)
	t.rep.Problems = append(t.rep.Problems, msg)
}

func (t *torture) crash() {
	t.st.Crash(t.proc, t.r.IntN(2) == 0)
	t.log = nil
}

// restart: the log poisoned itself after a failed write or sync; the process restarts from
// its durable state.
func (t *torture) restart() {
	t.rep.Restarts++
	t.logger.Debug("restart", "events", t.st.Log().Len())
	t.crash() // a disk crash, not a crash step: the process restarted itself
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
		t.rep.RecoveryCrashes++
		t.logger.Debug("recovery crash", "attempt", attempt+1, "err", err)
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
			// (and a retry under faults would see the same read fault again); a recovery
			// that failed on every attempt to sync or read back is finished the same way.
			stuck := errors.Is(err, disk.ErrSyncFailed) || errors.Is(err, ErrVerify)
			_ = t.st.SetProcessConfig(t.proc, cfg.FaultsOff())
			l, err = t.open()
			t.st.ClearProcessConfig(t.proc)
			switch {
			case err == nil && stuck:
				t.rep.StuckRecoveries++
			case err == nil:
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
	t.logger.Debug("recovered", "records", len(l.Records()), "final", final)
}

func (t *torture) detectedLoss(err error) {
	dmg := damageCount(t.st.Counters())
	explained := dmg > t.seenDmg
	t.seenDmg = dmg
	if !errors.Is(err, ErrLost) && !errors.Is(err, ErrChecksum) && !errors.Is(err, ErrMisplaced) {
		t.unexplained("recovery failed with an unexpected error: %v", err)
	} else if !explained {
		t.unexplained("recovery reported damage that no injected write-side fault explains: %v", err)
	}
	t.rep.DetectedLoss++
	t.logger.Debug("detected loss", "err", err, "explained", explained)
	// The data is gone and the log said so: replace the disk and start a new log.
	t.st.Wipe(t.proc)
	t.truth, t.acked = nil, 0
	l, err := t.open()
	if err != nil {
		t.unexplained("opening a fresh log after a wipe failed: %v", err)
		return
	}
	t.log = l
}

// check compares the recovered records with the truth: every acknowledged record must be
// there and intact, and nothing may be there that was never written.
func (t *torture) check() {
	recs := t.log.Records()
	if len(recs) < t.acked {
		t.silent("recovery returned %d records without an error, but %d were acknowledged", len(recs), t.acked)
	}
	t.intact = 0
	for i, r := range recs {
		if i >= len(t.truth) {
			t.silent("recovery returned record %d that was never written", i)
			break
		}
		if !bytes.Equal(r.Payload, t.truth[i]) {
			if i < t.acked {
				t.silent("recovery returned acknowledged record %d at %d (%d bytes) altered (%d bytes were written)", i, r.Pos, len(r.Payload), len(t.truth[i]))
			} else {
				// Not a loss: no acknowledgement is broken. But the log had discarded this
				// record in an earlier recovery, and the write that erased it was lost.
				t.rep.Resurrected++
				t.rep.Notes = append(t.rep.Notes, fmt.Sprintf("unacknowledged record %d at %d came back from before an earlier recovery (%d bytes; the latest write there had %d)", i, r.Pos, len(r.Payload), len(t.truth[i])))
			}
			break
		}
		if i < t.acked {
			t.intact++
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
		if opts.OnStep != nil {
			opts.OnStep(i+1, opts.Ops)
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
