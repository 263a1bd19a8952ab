#!/usr/bin/env bash
# disk for storage engines: rules that say where a fault lands, and crash states enumerated
# at every persistence point. Run from the repo root by scripts/demo.sh.
set -euo pipefail
mkdir -p bin
go build -o bin/faultbox ./cmd/faultbox

# pebble_tests RUN LINES: run bench/pebblefs's tests matching RUN, showing the log lines that
# match the regular expression LINES (and the verdict), without the file:line prefix.
pebble_tests() {
  (cd bench && go test -count=1 -run "$1" -v ./pebblefs/ 2>&1 |
    grep -E "$2|^(ok|FAIL)" | sed 's/^ *[a-z_]*\.go:[0-9]*: /   /')
}

echo "== faultbox disk rules: 'the third sync of a .log fails with EIO', 'crash at the 120th I/O'"
./bin/faultbox disk rules 'sync:path=*.log:nth=3:error=EIO; *:nth=120:crash'

echo
echo "== a bad rule names the column, the field, the value and what was expected (exit 2)"
./bin/faultbox disk rules 'sync:path=*.log:nth=zero:error=EIO' 2>&1 | head -1 || true

echo
echo "== faultbox disk enumerate --target rename: a file replaced by rename, its data never synced"
echo "   (every crash state at every sync and directory sync; the classic bug must be found)"
set +e
./bin/faultbox disk enumerate --target rename
echo "   exit $?"
set -e

echo
echo "== the same with the data synced before the rename: every state holds a whole version"
./bin/faultbox disk enumerate --target rename-synced

echo
echo "== the checksummed log of disk/wal: every acknowledged record survives every crash state"
./bin/faultbox disk enumerate --target wal --torn 16

echo
echo "== Pebble (CockroachDB's storage engine) on the lying disk, through bench/pebblefs:"
echo "   100 power cuts, half of them tearing unsynced sectors; then the N-th WAL fsync failing"
pebble_tests 'TestPebbleSurvivesCrashes|TestPebbleUnderWALSyncFailure' 'seeds|^---'

echo
echo "== ALICE on Pebble: every crash state at each of its persistence points (WAL, sstable and"
echo "   MANIFEST syncs, directory syncs) reopened by a second Pebble; then the same on a drive"
echo "   without power-safe overwrite, which Pebble assumes"
pebble_tests 'TestEnumeratePebble' 'points|^---'

echo
echo "== one flipped bit in one read of Pebble's WAL during recovery (a transient fault, one rule):"
echo "   Open succeeds, synced keys are gone, and a clean reopen has lost them for good;"
echo "   the same read failing with EIO is reported (cockroachdb/pebble#453: by design)"
pebble_tests 'TestPebbleWALBitFlipAtRecoveryIsSilent' 'event|files after|EIO|^---'

echo
echo "== each write-side family aimed by one rule at one write Pebble depends on: which files"
echo "   protect what they hold (reported) and which do not (silent: pebble#4560, pebble#453)"
pebble_tests 'TestPebbleWriteFamiliesAimedByRule' 'reported:|silent:' | sort
