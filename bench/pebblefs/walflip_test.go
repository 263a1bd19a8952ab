package pebblefs_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble"
	"github.com/faultbox/faultbox/bench/pebblefs"
	"github.com/faultbox/faultbox/disk"
)

// walRecovery writes n keys with pebble.Sync into one WAL (no flush), cuts the power (every
// key was synced, so the crash drops nothing), installs spec's rules and reopens Pebble. It
// returns the storage, the reopened DB (nil if Open failed) and Open's error.
func walRecovery(t *testing.T, n int, spec string) (*disk.Storage, *pebble.DB, error) {
	t.Helper()
	st, err := disk.NewStorage(1, disk.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	const proc = "p"
	makeDir(t, st.FS(proc))
	db, err := pebble.Open("db", options(pebblefs.New(st.FS(proc))))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if err := db.Set(walKey(i), walValue(i), pebble.Sync); err != nil {
			t.Fatal(err)
		}
	}
	st.Crash(proc, false)
	_ = db.Close()
	rs, err := disk.ParseRules(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetRules(rs); err != nil {
		t.Fatal(err)
	}
	db, err = pebble.Open("db", options(pebblefs.New(st.FS(proc))))
	return st, db, err
}

func walKey(i int) []byte   { return []byte(fmt.Sprintf("k%04d", i)) }
func walValue(i int) []byte { return []byte(fmt.Sprintf("value-%04d-%080d", i, i)) }

// missing lists the keys below n that db does not hold, failing on any other read error.
func missing(t *testing.T, db *pebble.DB, n int) []int {
	t.Helper()
	var out []int
	for i := 0; i < n; i++ {
		v, c, err := db.Get(walKey(i))
		switch {
		case errors.Is(err, pebble.ErrNotFound):
			out = append(out, i)
		case err != nil:
			t.Fatalf("get %s: %v", walKey(i), err)
		default:
			if string(v) != string(walValue(i)) {
				t.Fatalf("get %s: %q, want %q", walKey(i), v, walValue(i))
			}
			c.Close()
		}
	}
	return out
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
	st, db, err := walRecovery(t, n, "read:path=*.log:nth=1:fault=read-corruption:p=0.05")
	if err != nil {
		t.Fatalf("Open reported the flipped bit (Pebble changed its recovery?): %v", err)
	}
	var flips []string
	for _, e := range st.Events() {
		if e.Kind == string(disk.ReadCorruption) {
			flips = append(flips, e.String())
		}
	}
	lost := missing(t, db, n)
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
	if again := missing(t, db, n); !slices.Equal(again, lost) {
		t.Fatalf("after a clean reopen %d keys missing, want the same %d", len(again), len(lost))
	}
	t.Logf("files after the recovery %v; a clean reopen still misses the same %d keys", names, len(lost))

	_, db2, err := walRecovery(t, n, "read:path=*.log:nth=1:error=EIO")
	if err == nil {
		db2.Close()
		t.Fatal("Open succeeded over an EIO on the WAL's read")
	}
	if !strings.Contains(err.Error(), "replaying WAL") || !strings.Contains(err.Error(), "EIO") {
		t.Fatalf("Open's error %q: want the WAL replay's EIO", err)
	}
	t.Logf("the same read failing with EIO: %v", err)
}
