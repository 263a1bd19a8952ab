package mount_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/faultbox/faultbox/disk/mount"
)

// sqliteProgram is a workload of three sqlite3 transactions, each acknowledged on standard
// output once sqlite3 returned, at the given synchronous level (rollback journal, DELETE
// mode), and a check that every acknowledged row is in the database, which passes its
// integrity check.
func sqliteProgram(t *testing.T, synchronous string) mount.Program {
	t.Helper()
	if _, err := exec.LookPath("sqlite3"); err != nil {
		t.Skip("sqlite3 is not installed (scripts/deps.sh installs Debian's sqlite3)")
	}
	needFUSE(t)
	workload := `set -e
sqlite3 -bail t.db "PRAGMA synchronous=` + synchronous + `; CREATE TABLE t(x);"
echo created
for i in 1 2 3; do
  sqlite3 -bail t.db "PRAGMA synchronous=` + synchronous + `; INSERT INTO t VALUES($i);"
  echo "committed $i"
done`
	check := `acked=$(grep -c committed "$FAULTBOX_WORKLOAD_STDOUT" || true)
if ! grep -q created "$FAULTBOX_WORKLOAD_STDOUT"; then
  [ ! -e t.db ] || sqlite3 -bail t.db "PRAGMA integrity_check;" | grep -qx ok
  exit
fi
ic=$(sqlite3 -bail t.db "PRAGMA integrity_check;") || exit 1
[ "$ic" = ok ] || { echo "integrity_check: $ic"; exit 1; }
n=$(sqlite3 -bail t.db "SELECT count(*) FROM t WHERE x <= $acked;") || exit 1
[ "$n" = "$acked" ] || { echo "$acked transactions acknowledged, $n of their rows found"; exit 1; }`
	return mount.Program{Workload: []string{"sh", "-c", workload}, Check: []string{"sh", "-c", check}}
}

// ALICE's finding on SQLite, found again at every persistence point of sqlite3 itself: in
// DELETE mode a commit is the unlink of the journal, and synchronous=FULL does not sync the
// directory after it, so a crash just before a later fsync can bring the journal back, hot,
// and the next open rolls an acknowledged transaction back. synchronous=EXTRA syncs the
// directory and every state keeps every acknowledged row.
func TestEnumerateSqlite3(t *testing.T) {
	for _, c := range []struct {
		synchronous string
		wantFail    bool
	}{
		{"EXTRA", false},
		{"FULL", true},
	} {
		t.Run(c.synchronous, func(t *testing.T) {
			p := sqliteProgram(t, c.synchronous)
			res, err := mount.EnumerateProgram(context.Background(), p, mount.EnumerateOptions{
				Dir: t.TempDir(), Seed: 1, TornSeeds: 2, PowersafeOverwrite: true})
			if err != nil {
				if strings.Contains(err.Error(), "mount") {
					t.Skipf("FUSE mount refused here: %v", err)
				}
				t.Fatal(err)
			}
			t.Logf("synchronous=%s: %d points, %d states tried, %d distinct, %d failed", c.synchronous, res.Points, res.Tried, res.Distinct, len(res.Failures))
			for i, f := range res.Failures {
				if i < 3 {
					t.Logf("  %s: %v", f.State, f.Err)
				}
			}
			if (len(res.Failures) > 0) != c.wantFail {
				t.Fatalf("synchronous=%s: %d failing states, want failures: %v", c.synchronous, len(res.Failures), c.wantFail)
			}
			if !c.wantFail {
				return
			}
			// Replayable from the seed: sqlite3 is single-threaded and its I/O the same each
			// run, so a second enumeration, on three workers this time, finds the same states
			// failing the same way.
			again, err := mount.EnumerateProgram(context.Background(), p, mount.EnumerateOptions{
				Dir: t.TempDir(), Seed: 1, TornSeeds: 2, PowersafeOverwrite: true, Workers: 3})
			if err != nil {
				t.Fatal(err)
			}
			if a, b := fmt.Sprint(res), fmt.Sprint(again); a != b {
				t.Fatalf("two enumerations differ:\n%s\n%s", a, b)
			}
		})
	}
}

// The limit, shown: a program that does fewer fsyncs on a later run than on the crash-free
// one is refused with an error that says so, not enumerated wrongly.
func TestEnumerateProgramRefusesAChangingWorkload(t *testing.T) {
	needFUSE(t)
	mark := t.TempDir() + "/ran"
	workload := `touch a; if [ -e "$MARK" ]; then sync a; else touch "$MARK"; sync a; sync a; fi`
	p := mount.Program{Workload: []string{"sh", "-c", workload}, Check: []string{"true"}, Env: []string{"MARK=" + mark}}
	_, err := mount.EnumerateProgram(context.Background(), p, mount.EnumerateOptions{Dir: t.TempDir(), TornSeeds: -1})
	if err != nil && strings.Contains(err.Error(), "mount ") && strings.Contains(err.Error(), "FUSE") {
		t.Skipf("FUSE mount refused here: %v", err)
	}
	if err == nil || !strings.Contains(err.Error(), "did not reach its fsync 2 this time (2 in the crash-free run)") {
		t.Fatalf("err = %v, want the refusal of a workload whose fsyncs changed", err)
	}
}

// Each run is bounded: a workload that hangs is stopped at the timeout and reported; a
// check that leaves a child running in the background (holding its output open) neither
// waits for it nor leaves it behind.
func TestEnumerateProgramBoundsEachRun(t *testing.T) {
	needFUSE(t)
	start := time.Now()
	_, err := mount.EnumerateProgram(context.Background(), mount.Program{
		Workload: []string{"sleep", "30"}, Check: []string{"true"}, Timeout: 300 * time.Millisecond,
	}, mount.EnumerateOptions{Dir: t.TempDir(), TornSeeds: -1})
	if err == nil || !strings.Contains(err.Error(), "the workload fails on a healthy disk: crash-free run timed out after 300ms") {
		t.Fatalf("a hanging workload: %v", err)
	}
	res, err := mount.EnumerateProgram(context.Background(), mount.Program{
		Workload: []string{"sh", "-c", "echo x > f && sync f"}, Check: []string{"sh", "-c", "sleep 30 & exit 0"},
		Timeout: 5 * time.Second,
	}, mount.EnumerateOptions{Dir: t.TempDir(), TornSeeds: -1})
	if err != nil || res.Distinct == 0 || len(res.Failures) != 0 {
		t.Fatalf("a check that leaves a child behind: %+v, %v", res, err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("took %v: a run waited for a background child", d)
	}
}

// Cancelling the enumeration, between states or in the middle of a run, returns the
// context's error, not a complaint about the workload.
func TestEnumerateProgramCancelled(t *testing.T) {
	needFUSE(t)
	ctx, cancel := context.WithCancel(context.Background())
	runs := 0
	_, err := mount.EnumerateProgram(ctx, mount.Program{
		Workload: []string{"sh", "-c", "echo x > f && sync f && sync ."}, Check: []string{"true"},
	}, mount.EnumerateOptions{Dir: t.TempDir(), TornSeeds: 2, Progress: func(string, bool, error) {
		if runs++; runs == 2 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled between states: err = %v, want context.Canceled", err)
	}

	// The crash-free run takes 300 ms; the first crashed run sleeps 300 ms before the fsync
	// it is to be crashed at, and the cancel comes in that sleep.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(450*time.Millisecond, cancel)
	_, err = mount.EnumerateProgram(ctx, mount.Program{
		Workload: []string{"sh", "-c", "echo x > f; sleep 0.3; sync f"}, Check: []string{"true"},
	}, mount.EnumerateOptions{Dir: t.TempDir(), TornSeeds: 2})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled in a run: err = %v, want context.Canceled", err)
	}
}

// Save keeps a failing state as the crash left it, not as the check left it.
func TestEnumerateProgramSavesTheCrashState(t *testing.T) {
	needFUSE(t)
	save := t.TempDir()
	res, err := mount.EnumerateProgram(context.Background(), mount.Program{
		Workload: []string{"sh", "-c", "echo x > f && sync f && sync ."}, Check: []string{"sh", "-c", "rm -f f; echo junk > junk; exit 1"},
	}, mount.EnumerateOptions{Dir: t.TempDir(), TornSeeds: -1, Point: 3, Shape: "keep-all", Save: save})
	if err != nil || len(res.Failures) != 1 {
		t.Fatalf("%+v, %v: want one failing state", res, err)
	}
	got, err := os.ReadFile(save + "/point-3-keep-all/f")
	if err != nil || string(got) != "x\n" {
		t.Errorf("saved f: %q, %v; want the crash state's \"x\\n\"", got, err)
	}
	if _, err := os.Stat(save + "/point-3-keep-all/junk"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("saved junk the check wrote: %v", err)
	}
}
