package pebblefs_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/faultbox/faultbox/bench/pebblefs"
	"github.com/faultbox/faultbox/disk"
	"github.com/faultbox/faultbox/fault"
)

// fatalRecorder is a Pebble logger whose Fatalf records the message and parks the goroutine
// that called it (Pebble calls Fatalf from background goroutines too, where a panic would end
// the test binary): the instance is abandoned, as a process that exited would be.
type fatalRecorder struct {
	mu     sync.Mutex
	msg    string
	dead   chan struct{} // closed at the first Fatalf
	atExit func()        // the power cut, at the first Fatalf: a process exits there
}

func (*fatalRecorder) Infof(string, ...interface{}) {}
func (f *fatalRecorder) Fatalf(format string, args ...interface{}) {
	f.die(fmt.Sprintf(format, args...))
	select {} // parked for good: this instance is dead
}

// die records the first way the process died (a Fatalf, or a panic Pebble raises, as its
// rotateWAL does when the old WAL cannot be synced) and cuts the power.
func (f *fatalRecorder) die(msg string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.msg == "" {
		f.msg = msg
		f.atExit()
		close(f.dead)
	}
}

func (f *fatalRecorder) fatal() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.msg
}

// Sync failures: the N-th fsync of Pebble's WAL fails with EIO (a rule, so the failure lands
// on the write-ahead log, where it matters). Pebble must stop there (it does: "fatal commit
// error", never an error it goes on after, never a hang), and the power is cut at that
// moment, as the process would exit. Then Pebble reopens on a healthy disk and every
// acknowledged key should hold its value.
//
// What it found, and why: with crashes that tear unsynced sectors (CrashFaultProbability
// 0.5: each changed sector new, old or garbage), some seeds lose acknowledged keys silently
// (6 of 30 in one run; "pebble: not found", no error), and every such run is one whose crash
// garbled a sector: the WAL's last sector held acknowledged records and the unsynced record
// after them, the crash turned the whole sector to garbage, and Pebble's recovery took the
// bad checksum for the torn end of the log. Pebble relies on power-safe overwrite (a sector
// being rewritten lands old or new, never garbage), as SQLite says it does with
// SQLITE_IOCAP_POWERSAFE_OVERWRITE; the model's garbage shape is a drive without it. The test
// fails if a key is ever lost by a crash that garbled no sector; with unsynced data only
// dropped (CrashFaultProbability 0), no seed lost anything in three runs of 30. The same
// 30 seeds run again on a disk with power-safe overwrite (Config.CrashPowersafeOverwrite:
// torn sectors new or old, never garbage), where no acknowledged key may be lost at all.
func TestPebbleUnderWALSyncFailure(t *testing.T) {
	t.Parallel()
	seeds := 30
	if testing.Short() {
		seeds = 5
	}
	for _, powersafe := range []bool{false, true} {
		outcomes := map[string]int{}
		for seed := uint64(1); seed <= uint64(seeds); seed++ {
			o := syncFailureRun(t, seed, powersafe)
			outcomes[o]++
			if !strings.HasPrefix(o, "fatal") {
				t.Errorf("seed %d: %s; want Pebble to stop with a fatal error at the failed WAL sync", seed, o)
			}
			if strings.Contains(o, "lost") && (powersafe || !strings.Contains(o, "garbled")) {
				t.Errorf("seed %d (power-safe overwrite %v): %s: an acknowledged key lost by a crash that garbled no sector", seed, powersafe, o)
			}
		}
		drive := "any tear"
		if powersafe {
			drive = "power-safe overwrite"
		}
		t.Logf("%s, %d seeds: %v", drive, seeds, outcomes)
	}
}

// syncFailureRun is one seed of TestPebbleUnderWALSyncFailure; powersafe sets the disk's
// CrashPowersafeOverwrite.
func syncFailureRun(t *testing.T, seed uint64, powersafe bool) string {
	r := rand.New(rand.NewPCG(seed, 11))
	st, err := disk.NewStorage(fault.Seed(seed), disk.Config{CrashFaultProbability: 0.5, CrashPowersafeOverwrite: powersafe}, nil)
	if err != nil {
		t.Fatal(err)
	}
	nth := 5 + r.IntN(150)
	rules, err := disk.ParseRules(fmt.Sprintf("sync:path=*.log:nth=%d:error=EIO", nth))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetRules(rules); err != nil {
		t.Fatal(err)
	}
	const proc = "p"
	makeDir(t, st.FS(proc))
	// At a Fatalf the process would exit: the power is cut right there (closing every handle
	// of this incarnation), so that nothing Pebble's other goroutines do afterwards, which a
	// dead process would never do, reaches the disk.
	var preCrash map[string][]byte
	log := &fatalRecorder{dead: make(chan struct{}), atExit: func() { preCrash = snapshot(st.Mem(proc)); st.Crash(proc, true) }}
	o := options(pebblefs.New(st.FS(proc)))
	o.Logger = log
	for i := range o.Levels {
		o.Levels[i].Compression = pebble.NoCompression // values stay findable in tables
	}
	db, err := pebble.Open("db", o)
	if err != nil {
		t.Fatalf("seed %d: open: %v", seed, err)
	}
	// A write counts as acknowledged only when Set returned nil before any Fatalf: a process
	// that dies in Fatalf never answers its client, whatever its other goroutines do after.
	var mu sync.Mutex
	acked := map[string]string{}
	var inflightKey, inflightValue string // the Set not yet answered: it may or may not persist
	outcome := "no failure reached"
	done := make(chan struct{})
	go func() { // Set may park in a Fatalf: run the writes where that cannot hang the test
		defer close(done)
		defer func() {
			if p := recover(); p != nil {
				log.die(fmt.Sprint("panic: ", p))
			}
		}()
		for i := 0; i < 400; i++ {
			k := fmt.Sprintf("k%04d", r.IntN(300))
			v := fmt.Sprintf("v%d-%d", seed, i)
			mu.Lock()
			inflightKey, inflightValue = k, v
			mu.Unlock()
			err := db.Set([]byte(k), []byte(v), pebble.Sync)
			mu.Lock()
			if log.fatal() != "" {
				mu.Unlock()
				return
			}
			if err != nil {
				outcome = "Set returned an error"
				mu.Unlock()
				return
			}
			acked[k] = v
			mu.Unlock()
			if i%31 == 30 {
				_ = db.Flush()
			}
		}
	}()
	select {
	case <-done:
	case <-log.dead:
	case <-time.After(10 * time.Second):
		outcome = "hung"
	}
	mu.Lock()
	defer mu.Unlock()
	if m := log.fatal(); m != "" {
		outcome = "fatal"
		if !strings.Contains(m, "injected EIO") {
			t.Errorf("seed %d: a fatal error that is not the injected one: %s", seed, m)
		}
		if seed == 1 {
			t.Logf("seed 1: %s", m)
		}
	}
	if log.fatal() == "" {
		st.Crash(proc, false)
	}
	if err := st.SetRules(nil); err != nil {
		t.Fatal(err)
	}
	for _, e := range st.Events() {
		if e.Kind == string(disk.TornWrite) && strings.Contains(e.Detail, "shape=") &&
			strings.Contains(strings.Fields(e.Detail[strings.Index(e.Detail, "shape="):])[0], "g") {
			outcome += ", the crash garbled a sector"
			break
		}
	}
	before := snapshot(st.Mem(proc))
	db2, err := pebble.Open("db", options(pebblefs.New(st.FS(proc))))
	if err != nil {
		return outcome + ", reported at reopen"
	}
	defer db2.Close()
	for k, want := range acked {
		v, c, err := db2.Get([]byte(k))
		if err == nil && k == inflightKey && string(v) == inflightValue {
			c.Close() // the write Pebble died answering reached the media: allowed
			continue
		}
		if err != nil || string(v) != want {
			names, _ := st.FS(proc).List("db")
			t.Logf("seed %d (sync %d of the WAL fails, %s): acknowledged key %s lost after the crash: got %q, %v; "+
				"%d keys acknowledged; files after the crash and reopen %v; disk events %v",
				seed, nth, outcome, k, v, err, len(acked), names, st.Counters())
			t.Logf("seed %d: the lost value %q after the crash, before the reopen: %s; before the crash: %s", seed, want, where(before, want), where(preCrash, want))
			return outcome + ", acknowledged key lost"
		}
		c.Close()
	}
	return outcome
}

// snapshot reads every file of db/ on a disk, for the diagnosis of a loss.
func snapshot(m *disk.MemFS) map[string][]byte {
	out := map[string][]byte{}
	names, _ := m.List("db")
	for _, n := range names {
		f, err := m.Open("db/" + n)
		if err != nil {
			continue
		}
		fi, _ := f.Stat()
		b := make([]byte, fi.Size())
		f.ReadAt(b, 0)
		f.Close()
		out[n] = b
	}
	return out
}

// where says which files of a snapshot hold value, and at which offsets.
func where(files map[string][]byte, value string) string {
	var found []string
	for n, b := range files {
		for off := 0; ; {
			i := strings.Index(string(b[off:]), value)
			if i < 0 {
				break
			}
			found = append(found, fmt.Sprintf("%s@%d(size %d)", n, off+i, len(b)))
			off += i + 1
		}
	}
	if len(found) == 0 {
		return "in no file"
	}
	return strings.Join(found, " ")
}
