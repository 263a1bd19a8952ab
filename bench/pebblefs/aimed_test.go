package pebblefs_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/faultbox/faultbox/bench/pebblefs"
	"github.com/faultbox/faultbox/disk"
)

// aimedRun writes n keys with pebble.Sync, flushing after every flushEvery-th (0: never),
// cuts the power (every key was synced, so the crash drops nothing) and reopens Pebble. The
// rules of during are installed before the writes, those of recovery (replacing them)
// before the reopen. It returns the storage, the reopened DB (nil if Open failed) and
// Open's error; Pebble must get there within a minute (a write stall fails the test).
func aimedRun(t *testing.T, n, flushEvery int, during, recovery string) (*disk.Storage, *pebble.DB, error) {
	t.Helper()
	st, err := disk.NewStorage(1, disk.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	parse := func(spec string) []disk.Rule {
		if spec == "" {
			return nil
		}
		rs, err := disk.ParseRules(spec)
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}
	duringRules, recoveryRules := parse(during), parse(recovery)
	const proc = "p"
	makeDir(t, st.FS(proc))
	if err := st.SetRules(duringRules); err != nil {
		t.Fatal(err)
	}
	type result struct {
		db     *pebble.DB
		err    error
		before bool // err came before the crash
	}
	done := make(chan result, 1)
	go func() {
		db, err := pebble.Open("db", options(pebblefs.New(st.FS(proc))))
		if err != nil {
			done <- result{nil, fmt.Errorf("first open: %w", err), true}
			return
		}
		for i := 0; i < n; i++ {
			if err := db.Set(walKey(i), walValue(i), pebble.Sync); err != nil {
				done <- result{nil, fmt.Errorf("set %s: %w", walKey(i), err), true}
				return
			}
			if flushEvery > 0 && i%flushEvery == flushEvery-1 {
				if err := db.Flush(); err != nil {
					done <- result{nil, fmt.Errorf("flush: %w", err), true}
					return
				}
			}
		}
		st.Crash(proc, false)
		_ = db.Close()
		if err := st.SetRules(recoveryRules); err != nil {
			done <- result{nil, fmt.Errorf("rules: %w", err), true}
			return
		}
		db, err = pebble.Open("db", options(pebblefs.New(st.FS(proc))))
		done <- result{db, err, false}
	}()
	select {
	case r := <-done:
		if r.before {
			t.Fatalf("during=%q: before the crash: %v", during, r.err)
		}
		return st, r.db, r.err
	case <-time.After(time.Minute):
		t.Fatalf("during=%q recovery=%q: Pebble did not get through the run in a minute (a write stall?)", during, recovery)
		return nil, nil, nil
	}
}

func walKey(i int) []byte   { return []byte(fmt.Sprintf("k%04d", i)) }
func walValue(i int) []byte { return []byte(fmt.Sprintf("value-%04d-%080d", i, i)) }

// missing lists the keys below n that db does not hold or holds with another value, up to
// the first read that fails, whose error it returns (Pebble reporting the damage).
func missing(db *pebble.DB, n int) ([]int, error) {
	var out []int
	for i := 0; i < n; i++ {
		v, c, err := db.Get(walKey(i))
		switch {
		case errors.Is(err, pebble.ErrNotFound):
			out = append(out, i)
		case err != nil:
			return out, fmt.Errorf("get %s: %w", walKey(i), err)
		default:
			if string(v) != string(walValue(i)) {
				out = append(out, i)
			}
			c.Close()
		}
	}
	return out, nil
}

// One bit flipped in one read of the write-ahead log during recovery (the bytes on the disk
// are intact: a transient fault, one rule, nth=1) and Pebble opens without an error, with
// every synced write after the flipped record gone; it then writes the shortened state to an
// sstable and deletes the intact log, so a second, clean reopen has lost them for good. The
// same read failing with EIO instead is reported by Open.
//
// This is Pebble's documented choice, not a defect we claim: its WAL replay takes a record
// whose checksum fails for the torn end of the log (point-in-time recovery, as RocksDB's
// kPointInTimeRecovery; cockroachdb/pebble#453 "WAL corruptions are silently ignored", closed
// as intended). What the lying disk adds is the replayable case, from seed 1 and one rule,
// and its consequence: a fault that is gone on the next read costs the data permanently.
// Pebble v1.1.5, as pinned in bench/go.mod; a version that reports the corruption fails this
// test, and the docs must then say so.
func TestPebbleWALBitFlipAtRecoveryIsSilent(t *testing.T) {
	t.Parallel()
	const n = 200
	st, db, err := aimedRun(t, n, 0, "", "read:path=*.log:nth=1:fault=read-corruption:p=0.05")
	if err != nil {
		t.Fatalf("Open reported the flipped bit (Pebble changed its recovery?): %v", err)
	}
	var flips []string
	for _, e := range st.Events() {
		if e.Kind == string(disk.ReadCorruption) {
			flips = append(flips, e.String())
		}
	}
	lost, err := missing(db, n)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d read-corruption event(s) %v; %d of %d synced keys missing after an error-free Open", len(flips), flips, len(lost), n)
	if len(flips) != 1 {
		t.Fatalf("read-corruption events = %v, want exactly one (seed 1, p=0.05 per sector of the first WAL read)", flips)
	}
	if len(lost) == 0 || lost[len(lost)-1] != n-1 || len(lost) != n-lost[0] {
		t.Fatalf("missing keys %v: want a suffix of the log (every key from the flipped record on)", lost)
	}

	if err := st.SetRules(nil); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	names, _ := st.FS("p").List("db")
	if slices.Contains(names, "000002.log") {
		t.Fatalf("files after the recovery %v: the recovered WAL 000002.log is still there", names)
	}
	db, err = pebble.Open("db", options(pebblefs.New(st.FS("p"))))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if again, err := missing(db, n); err != nil || !slices.Equal(again, lost) {
		t.Fatalf("after a clean reopen %d keys missing (%v), want the same %d", len(again), err, len(lost))
	}
	t.Logf("files after the recovery %v; a clean reopen still misses the same %d keys", names, len(lost))

	_, db2, err := aimedRun(t, n, 0, "", "read:path=*.log:nth=1:error=EIO")
	if err == nil {
		db2.Close()
		t.Fatal("Open succeeded over an EIO on the WAL's read")
	}
	if !strings.Contains(err.Error(), "replaying WAL") || !strings.Contains(err.Error(), "EIO") {
		t.Fatalf("Open's error %q: want the WAL replay's EIO", err)
	}
	t.Logf("the same read failing with EIO: %v", err)
}

// The write-side families, each aimed by one rule at one write that matters (500 keys with
// pebble.Sync, a flush after every 200th; a power cut that drops nothing; a clean reopen).
// At random rates these families stall Pebble (see TestPebbleRecoveryUnderReadFaults); aimed
// at one write, each run ends, the same way every time, and says which of Pebble's files
// protect what they hold:
//   - an sstable's first write, or the MANIFEST's first (its initial snapshot): reported,
//     by a block checksum, a size that disagrees with the MANIFEST, or a malformed MANIFEST;
//   - the MANIFEST's second write (a 13-byte edit Pebble writes at Open, before any key):
//     Open succeeds, every edit recorded after it is dropped with it, and the 200 keys of
//     the first flush, in an sstable the shortened MANIFEST no longer names, are gone.
//     Pebble v1.1.5 takes a MANIFEST record that fails its checksum (or reads as zeros)
//     for the torn end of the file; cockroachdb/pebble#4560 ("manifest corruption
//     undetected", open);
//   - the 450th write of a WAL (in the log still live at the crash): Open succeeds and the
//     keys from that record on are gone (point-in-time recovery, pebble#453, by design).
//
// Each silent case is a known property of Pebble, pinned here so that a Pebble that
// reports it fails the test, and the docs must then change.
func TestPebbleWriteFamiliesAimedByRule(t *testing.T) {
	t.Parallel()
	const n = 500
	cases := []struct {
		aim        string
		silentFrom int // -1: Pebble must report the damage; else the first key lost (to n-1)
		silentTo   int
	}{
		{"*.sst:nth=1", -1, 0},
		{"MANIFEST-*:nth=1", -1, 0},
		{"MANIFEST-*:nth=2", 0, 199},
		{"*.log:nth=450", 447, n - 1},
	}
	for _, fam := range []disk.Family{disk.WriteCorruption, disk.MisdirectedWrite, disk.PhantomWrite} {
		for _, c := range cases {
			spec := "write:path=" + c.aim + ":fault=" + string(fam) + ":p=1"
			t.Run(spec, func(t *testing.T) {
				t.Parallel()
				st, db, err := aimedRun(t, n, 200, spec, "")
				hits := 0
				for _, e := range st.Events() {
					if e.Kind == string(fam) {
						hits++
					}
				}
				if hits != 1 {
					t.Fatalf("%d %s events, want 1: %v", hits, fam, st.Events())
				}
				var lost []int
				if err == nil {
					lost, err = missing(db, n)
					db.Close()
				}
				if c.silentFrom < 0 {
					if err == nil {
						t.Fatalf("nothing reported; %d of %d synced keys missing", len(lost), n)
					}
					if len(lost) > 0 {
						t.Fatalf("keys %v missing before Pebble reported %v", lost, err)
					}
					t.Logf("%-55s reported: %.100s", spec, err)
					return
				}
				if err != nil {
					t.Fatalf("Pebble reported the damage (a change from v1.1.5? update the docs): %v", err)
				}
				if len(lost) != c.silentTo-c.silentFrom+1 || lost[0] != c.silentFrom || lost[len(lost)-1] != c.silentTo {
					t.Fatalf("missing keys %v, want k%04d..k%04d", lost, c.silentFrom, c.silentTo)
				}
				t.Logf("%-55s silent: Open succeeded, synced keys k%04d..k%04d gone", spec, c.silentFrom, c.silentTo)
			})
		}
	}
}
