package mount_test

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/faultbox/faultbox/disk"
	"github.com/faultbox/faultbox/disk/mount"
)

// keepNothing is a healthy fast disk whose crashes lose every unsynced byte: what survives a
// crash is exactly what was synced, so the tests can say what they expect.
func keepNothing() disk.Config {
	c := disk.FastLocal()
	c.CrashKeepAllProbability = 0
	return c
}

// needFUSE skips the test, saying why, where FUSE cannot run.
func needFUSE(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skipf("FUSE is not available here (%v): the mount needs /dev/fuse and root or fusermount3", err)
	}
}

// mountOrSkip mounts a new storage's disk in a temporary directory, or skips the test, saying
// why, where FUSE cannot run.
func mountOrSkip(t *testing.T, cfg disk.Config) *mount.Mount {
	t.Helper()
	needFUSE(t)
	st, err := disk.NewStorage(1, cfg, disk.RealClock())
	if err != nil {
		t.Fatal(err)
	}
	m, err := mount.New(t.TempDir(), st, mount.Options{})
	if err != nil {
		t.Skipf("FUSE mount refused here: %v", err)
	}
	t.Cleanup(func() {
		if err := m.Unmount(); err != nil {
			t.Errorf("unmount: %v", err)
		}
	})
	return m
}

func syncPath(t *testing.T, p string) {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		t.Fatalf("fsync %s: %v", p, err)
	}
}

// What was synced (data by fsync of the file, names by fsync of the directory) survives a
// crash of the mount; what was not is gone; a file open across the crash fails with EIO.
func TestCrashKeepsOnlyWhatWasSynced(t *testing.T) {
	m := mountOrSkip(t, keepNothing())
	dir := m.Dir()
	if err := os.Mkdir(filepath.Join(dir, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(dir, "d", "f")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("durable"); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	syncPath(t, filepath.Join(dir, "d"))
	syncPath(t, dir)
	if _, err := f.WriteString(" and lost"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "unsynced"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(name); string(b) != "durable and lost" {
		t.Fatalf("before the crash the file reads %q", b)
	}

	m.Crash()

	if _, err := f.WriteString("!"); !errors.Is(err, syscall.EIO) {
		t.Errorf("a write through a handle opened before the crash: %v, want EIO", err)
	}
	f.Close()
	b, err := os.ReadFile(name)
	if err != nil || string(b) != "durable" {
		t.Errorf("after the crash: %q, %v; want the synced %q", b, err, "durable")
	}
	if _, err := os.Stat(filepath.Join(dir, "unsynced")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a file whose directory entry was never synced: stat %v, want not found", err)
	}
	if m.Crashes() != 1 || m.Ops() == 0 {
		t.Errorf("Crashes %d, Ops %d: want 1 and > 0", m.Crashes(), m.Ops())
	}
}

// A rule fails the third fsync of *.log with EIO, and the program sees exactly that.
func TestRulesReachThePrograms(t *testing.T) {
	m := mountOrSkip(t, keepNothing())
	rules, err := disk.ParseRules("sync:path=*.log:nth=3:error=EIO")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Storage().SetRules(rules); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(m.Dir(), "a.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var errs []error
	for range 4 {
		f.WriteString("record\n")
		errs = append(errs, f.Sync())
	}
	if errs[0] != nil || errs[1] != nil || !errors.Is(errs[2], syscall.EIO) || errs[3] != nil {
		t.Errorf("the four fsyncs returned %v; want only the third to fail with EIO", errs)
	}
	var injected int
	for _, e := range m.Storage().Events() {
		if e.Kind == disk.KindInjectedError {
			injected++
		}
	}
	if injected != 1 {
		t.Errorf("%d injected-error events, want 1", injected)
	}
}

// A faulty area reaches a program through the mount: a read of the second 4 KiB of the file
// fails with EIO every time, reads around it succeed; with nth=1 the retry succeeds.
func TestFaultyAreaThroughTheMount(t *testing.T) {
	m := mountOrSkip(t, keepNothing())
	name := filepath.Join(m.Dir(), "blob")
	if err := os.WriteFile(name, make([]byte, 16384), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for _, c := range []struct {
		spec string
		want []bool // EIO for blocks 0, 1, 2, 3, then 1 again
	}{
		{"read:path=blob:bytes=4096-8191:error=EIO", []bool{false, true, false, false, true}},
		{"read:path=blob:bytes=4096-8191:nth=1:error=EIO", []bool{false, true, false, false, false}},
	} {
		rules, err := disk.ParseRules(c.spec)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Storage().SetRules(rules); err != nil {
			t.Fatal(err)
		}
		for i, blk := range []int64{0, 1, 2, 3, 1} {
			_, err := f.ReadAt(buf, blk*4096)
			if got := errors.Is(err, syscall.EIO); got != c.want[i] || !got && err != nil {
				t.Errorf("%s: read of block %d: %v, want EIO %v", c.spec, blk, err, c.want[i])
			}
		}
	}
}

func TestListRenameRemoveTruncate(t *testing.T) {
	m := mountOrSkip(t, keepNothing())
	dir := m.Dir()
	for _, n := range []string{"b", "a", "c"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("0123456789"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Rename(filepath.Join(dir, "c"), filepath.Join(dir, "z")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "b")); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(filepath.Join(dir, "a"), 4); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != "a,z" {
		t.Errorf("listing %v, want [a z]", names)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a")); string(b) != "0123" {
		t.Errorf("truncated file reads %q", b)
	}
	if err := os.Remove(filepath.Join(dir, "nope")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("remove of a missing file: %v", err)
	}
	if _, err := os.OpenFile(filepath.Join(dir, "a"), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644); !errors.Is(err, os.ErrExist) {
		t.Errorf("O_EXCL create of an existing file: %v", err)
	}
}

// sqlite3, a database nobody here wrote, on the lying disk (rollback journal, the default
// DELETE mode):
//   - a transaction committed with synchronous=EXTRA survives a crash of the mount;
//   - one committed with synchronous=FULL is rolled back by the crash: its journal's unlink,
//     the commit point in DELETE mode, was never made durable (only EXTRA syncs the directory
//     after it, as SQLite's documentation of the pragma says), so the journal is hot again
//     after the crash and the next open rolls the transaction back;
//   - one committed with synchronous=OFF (no fsync at all) is lost;
//   - a failed fsync is reported by sqlite as a disk I/O error and the transaction does not
//     land;
//
// and after every crash the database passes its integrity check.
func TestSqlite3OnTheMount(t *testing.T) {
	bin, err := exec.LookPath("sqlite3")
	if err != nil {
		t.Skip("sqlite3 is not installed (scripts/deps.sh installs Debian's sqlite3)")
	}
	m := mountOrSkip(t, keepNothing())
	db := filepath.Join(m.Dir(), "t.db")
	sql := func(stmts string) (string, error) {
		out, err := exec.Command(bin, "-bail", db, stmts).CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	must := func(stmts string) string {
		t.Helper()
		out, err := sql(stmts)
		if err != nil {
			t.Fatalf("sqlite3 %q: %v: %s", stmts, err, out)
		}
		return out
	}
	// journal: +1 a journal must be left behind by the crash, -1 none may be, 0 either.
	crashAndCheck := func(what, want string, journal int) {
		t.Helper()
		m.Crash()
		if _, err := os.Stat(db + "-journal"); journal != 0 && (err == nil) != (journal > 0) {
			t.Errorf("%s, then a crash: the journal's stat says %v; want a journal left behind: %v", what, err, journal > 0)
		}
		if got := must("SELECT group_concat(x) FROM t;"); got != want {
			t.Errorf("%s, then a crash: rows %q, want %q", what, got, want)
		}
		if got := must("PRAGMA integrity_check;"); got != "ok" {
			t.Errorf("%s, then a crash: integrity_check %q", what, got)
		}
	}
	must("PRAGMA synchronous=EXTRA; CREATE TABLE t(x); INSERT INTO t VALUES(1);")
	must("PRAGMA synchronous=EXTRA; INSERT INTO t VALUES(2);")
	crashAndCheck("two transactions committed with synchronous=EXTRA", "1,2", -1)

	must("PRAGMA synchronous=FULL; INSERT INTO t VALUES(3);")
	if got := must("SELECT group_concat(x) FROM t;"); got != "1,2,3" {
		t.Fatalf("before the crash: %q", got)
	}
	crashAndCheck("a transaction committed with synchronous=FULL", "1,2", +1)

	must("PRAGMA synchronous=OFF; INSERT INTO t VALUES(4);")
	crashAndCheck("a transaction committed with synchronous=OFF", "1,2", 0)

	rules, err := disk.ParseRules("sync:error=EIO")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Storage().SetRules(rules); err != nil {
		t.Fatal(err)
	}
	out, err := sql("PRAGMA synchronous=EXTRA; INSERT INTO t VALUES(5);")
	if err == nil || !strings.Contains(out, "disk I/O error") {
		t.Errorf("a commit whose fsync fails: err %v, output %q; want sqlite's disk I/O error", err, out)
	}
	if err := m.Storage().SetRules(nil); err != nil {
		t.Fatal(err)
	}
	crashAndCheck("a commit whose fsync failed", "1,2", 0)
}

// A crash a rule causes counts as one of the mount's crashes, as Mount.Crash does.
func TestCrashRuleCounts(t *testing.T) {
	m := mountOrSkip(t, keepNothing())
	rules, err := disk.ParseRules("write:nth=2:crash")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Storage().SetRules(rules); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(m.Dir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.WriteString("one")
	if _, err := f.WriteString("two"); !errors.Is(err, syscall.EIO) {
		t.Errorf("the write the rule crashes at: %v, want EIO", err)
	}
	if m.Crashes() != 1 {
		t.Errorf("Crashes() = %d after a crash rule fired, want 1", m.Crashes())
	}
}

// With StopAtCrash, nothing reaches the disk after a crash (a program on the mount is as
// good as dead); a new mount of the same storage serves the post-crash disk. Syncs counts
// the fsyncs served.
func TestStopAtCrash(t *testing.T) {
	needFUSE(t)
	st, err := disk.NewStorage(1, keepNothing(), nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	m, err := mount.New(dir, st, mount.Options{StopAtCrash: true})
	if err != nil {
		t.Skipf("FUSE mount refused here: %v", err)
	}
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, []byte("synced"), 0o644); err != nil {
		t.Fatal(err)
	}
	syncPath(t, p)
	syncPath(t, dir)
	if got := m.Syncs(); got != 2 {
		t.Errorf("Syncs = %d after an fsync of a file and of its directory, want 2", got)
	}
	m.Crash()
	if err := os.WriteFile(filepath.Join(dir, "after"), []byte("x"), 0o644); !errors.Is(err, syscall.EIO) {
		t.Errorf("create after the crash: %v, want EIO", err)
	}
	if _, err := os.ReadFile(p); !errors.Is(err, syscall.EIO) {
		t.Errorf("read after the crash: %v, want EIO", err)
	}
	if err := m.Unmount(); err != nil {
		t.Fatal(err)
	}
	m2, err := mount.New(dir, st, mount.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Unmount()
	if got, err := os.ReadFile(p); err != nil || string(got) != "synced" {
		t.Errorf("the post-crash disk through a new mount: %q, %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "after")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a file created after the crash: %v, want none", err)
	}
}
