package mount_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

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
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skipf("FUSE is not available here (%v): the mount needs /dev/fuse and root or fusermount3", err)
	}
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
		})
	}
}

// The limit, shown: a program that does fewer fsyncs on a later run than on the crash-free
// one is refused with an error that says so, not enumerated wrongly.
func TestEnumerateProgramRefusesAChangingWorkload(t *testing.T) {
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skipf("FUSE is not available here (%v)", err)
	}
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
