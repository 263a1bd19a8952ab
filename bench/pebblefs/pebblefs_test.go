package pebblefs_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/vfs"
	"github.com/faultbox/faultbox/bench/pebblefs"
	"github.com/faultbox/faultbox/disk"
	"github.com/faultbox/faultbox/fault"
)

// quiet drops Pebble's info lines and turns a fatal error into a panic the test reports.
type quiet struct{}

func (quiet) Infof(string, ...interface{}) {}
func (quiet) Fatalf(format string, args ...interface{}) {
	panic(fmt.Sprintf("pebble fatal: "+format, args...))
}

func options(fsys vfs.FS) *pebble.Options {
	o := &pebble.Options{FS: fsys, Logger: quiet{}, MemTableSize: 64 << 10, L0CompactionThreshold: 2,
		DisableWAL: false}
	o.EnsureDefaults()
	return o
}

// makeDir creates Pebble's directory durably, as an operator's mkdir and sync would: Pebble
// creates its directory if missing but never syncs the parent, so on the lying disk (as on
// ext4) a crash right after can lose the whole directory.
func makeDir(t *testing.T, d disk.FS) {
	t.Helper()
	if err := d.Mkdir("db"); err != nil {
		t.Fatal(err)
	}
	if err := d.SyncDir(""); err != nil {
		t.Fatal(err)
	}
}

func TestWriteFlushCompactReopen(t *testing.T) {
	t.Parallel()
	mem := disk.NewMem()
	makeDir(t, mem)
	db, err := pebble.Open("db", options(pebblefs.New(mem)))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2000; i++ {
		if err := db.Set([]byte(fmt.Sprintf("k%05d", i)), []byte(fmt.Sprintf("v%d", i)), pebble.NoSync); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := db.Compact([]byte("k"), []byte("l"), true); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// Everything was flushed and synced by Pebble: a crash that drops all unsynced data
	// keeps every key.
	after, _ := mem.Crash(disk.CrashOptions{Seed: 1})
	db, err = pebble.Open("db", options(pebblefs.New(after)))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i := 0; i < 2000; i += 97 {
		v, c, err := db.Get([]byte(fmt.Sprintf("k%05d", i)))
		if err != nil || string(v) != fmt.Sprintf("v%d", i) {
			t.Fatalf("k%05d after the crash: %q %v", i, v, err)
		}
		c.Close()
	}
}

// crashRun writes keys with pebble.Sync (flushing and compacting as it goes), cuts the
// power at a point the seed picks, reopens Pebble on the post-crash disk and checks that
// every acknowledged key holds its last acknowledged value. It returns "" when all hold,
// "reported ..." when Pebble reported an error (at reopen or on a read), and fails the test
// on a silent loss: a key not found, or holding another value, with no error.
func crashRun(t *testing.T, seed uint64, cfg disk.Config, recovery *disk.Config) string {
	t.Helper()
	st, err := disk.NewStorage(fault.Seed(seed), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	const proc = "p"
	makeDir(t, st.FS(proc))
	db, err := pebble.Open("db", options(pebblefs.New(st.FS(proc))))
	if err != nil {
		return "reported at first open: " + err.Error()
	}
	r := rand.New(rand.NewPCG(seed, 7))
	acked := map[string]string{}
	steps := 100 + r.IntN(400)
	for i := 0; i < steps; i++ {
		k := fmt.Sprintf("k%04d", r.IntN(300))
		v := fmt.Sprintf("v%d-%d-%s", seed, i, string(make([]byte, r.IntN(200))))
		if err := db.Set([]byte(k), []byte(v), pebble.Sync); err != nil {
			t.Fatalf("seed %d: set: %v", seed, err)
		}
		acked[k] = v
		switch {
		case i%97 == 96:
			_ = db.Compact([]byte("k"), []byte("l"), false)
		case i%31 == 30:
			_ = db.Flush()
		}
	}
	st.Crash(proc, false) // the old Pebble keeps the pre-crash image; nothing reaches the new disk
	_ = db.Close()
	if recovery != nil {
		if err := st.SetConfig(*recovery); err != nil {
			t.Fatal(err)
		}
	}
	db, err = pebble.Open("db", options(pebblefs.New(st.FS(proc))))
	if err != nil {
		// Pebble refused to open: it saw the damage (a checksum, a size that disagrees with
		// the MANIFEST, a missing file). A detection, not a silent loss.
		return "reported at reopen: " + err.Error()
	}
	defer db.Close()
	for k, want := range acked {
		v, c, err := db.Get([]byte(k))
		if err != nil && !errors.Is(err, pebble.ErrNotFound) {
			return "reported at read: " + err.Error() // a checksum mismatch, said so
		}
		if (err != nil || string(v) != want) && recovery != nil {
			return fmt.Sprintf("SILENT: acknowledged key %s lost after the crash: got %.20q, %v (%v)", k, v, err, st.Counters())
		}
		if err != nil || string(v) != want {
			t.Fatalf("seed %d: acknowledged key %s lost after the crash: got %.20q, %v (%v)", seed, k, v, err, st.Counters())
		}
		c.Close()
	}
	return ""
}

// Pebble under power loss on the lying disk: 100 seeds, each crash tearing unsynced sectors
// (new, old, garbage) or dropping them; no acknowledged key may be lost, none silently
// altered.
func TestPebbleSurvivesCrashes(t *testing.T) {
	t.Parallel()
	seeds := 100
	if testing.Short() {
		seeds = 10
	}
	cfg := disk.Config{CrashFaultProbability: 0.5, CrashKeepAllProbability: 0.05}
	reported := 0
	for seed := uint64(1); seed <= uint64(seeds); seed++ {
		if s := crashRun(t, seed, cfg, nil); s != "" {
			reported++
			t.Logf("seed %d: %s", seed, s)
		}
	}
	t.Logf("%d seeds, every acknowledged key held; %d reported corruption", seeds, reported)
}

// The read-side families during recovery (after a torn crash, Pebble reopens and reads every
// acknowledged key through a disk that returns flipped bits or another offset's bytes): every
// key holds or Pebble reports the damage (its block checksums); nothing is silently wrong.
//
// Not here, found while writing this test: with write-side families (write corruption,
// misdirected writes) or read-side ones during the write phase, Pebble's compactions keep
// failing on the damaged blocks, L0 fills up, and the next Flush waits forever in
// makeRoomForWrite (a write stall, not an error): at 0.1-0.2% per operation, within 30 seeds.
//
// Found by this test and logged, not failed: a read corruption during recovery can lose
// acknowledged keys silently (seen once in 30 seeds at 1%: "pebble: not found" for a key
// written with pebble.Sync, one read-corruption event, no error). The cause, since shown by
// TestPebbleWALBitFlipAtRecoveryIsSilent with one rule and seed 1: the WAL replay takes a
// record whose checksum fails for the torn end of the log. Runs of this test are not
// reproducible from the seed (Pebble's goroutines use the disk concurrently, and the
// families here draw for every read), so the seed that shows it varies; the rule-aimed test
// is.
func TestPebbleRecoveryUnderReadFaults(t *testing.T) {
	t.Parallel()
	seeds, rate := 30, 0.01
	if testing.Short() {
		// Fewer seeds, so a higher rate: at 1% five seeds of misdirected reads sometimes
		// saw no fault at all, and the test proved nothing.
		seeds, rate = 5, 0.05
	}
	for _, fam := range []struct {
		name string
		set  func(*disk.Config)
	}{
		{"read-corruption", func(c *disk.Config) { c.ReadFaultProbability = rate }},
		{"misdirected-read", func(c *disk.Config) { c.MisdirectReadProbability = rate }},
	} {
		t.Run(fam.name, func(t *testing.T) {
			t.Parallel()
			cfg := disk.Config{CrashFaultProbability: 0.5, CrashKeepAllProbability: 0.05}
			rec := cfg
			fam.set(&rec)
			reported, silent := 0, 0
			for seed := uint64(1); seed <= uint64(seeds); seed++ {
				s := crashRun(t, seed, cfg, &rec)
				switch {
				case strings.HasPrefix(s, "SILENT"):
					silent++
					t.Logf("FINDING seed %d: %s", seed, s)
				case s != "":
					reported++
					if reported <= 2 {
						t.Logf("seed %d: %.160s", seed, s)
					}
				}
			}
			if silent > 0 {
				t.Logf("%s: %d of %d seeds lost acknowledged keys silently (see the comment above)", fam.name, silent, seeds)
			}
			if reported == 0 {
				t.Fatalf("%s at %g%%: no seed saw a fault reported; the test proves nothing", fam.name, 100*rate)
			}
			t.Logf("%s: %d seeds: %d reported the damage, %d silent, the rest held every key", fam.name, seeds, reported, silent)
		})
	}
}
