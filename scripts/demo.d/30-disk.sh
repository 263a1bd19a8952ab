#!/usr/bin/env bash
# disk: a write-ahead log on a disk that lies (all seven storage fault families, crashes),
# next to a naive log on the same kind of disk. Run from the repo root by scripts/demo.sh.
set -euo pipefail
mkdir -p bin
go build -o bin/faultbox ./cmd/faultbox

echo "== faultbox disk torture --seed 7 --ops 3000 --config stress"
echo "   (a checksummed WAL under read/write corruption, torn writes, misdirected I/O,"
echo "    phantom writes and sync failures, with ~7% of steps a crash)"
./bin/faultbox disk torture --seed 7 --ops 3000 --config stress

echo
echo "== one seed reproduces the whole run: two runs, same events byte for byte"
a=$(./bin/faultbox disk torture --seed 7 --ops 1500 --events 100000 --naive=false | sha256sum)
b=$(./bin/faultbox disk torture --seed 7 --ops 1500 --events 100000 --naive=false | sha256sum)
echo "   run 1: ${a%% *}"
echo "   run 2: ${b%% *}"
[ "$a" = "$b" ] && echo "   identical"

echo
echo "== a bad configuration is refused, naming the field and the value"
./bin/faultbox disk torture --config '{"ReadFaultProbability": 1.5}' || true

echo
echo "== a run that acknowledges nothing proves nothing: every sync fails, the verdict is empty (exit 3)"
set +e
./bin/faultbox disk torture --ops 300 --naive=false --config '{"SyncFailureProbability": 1}' | grep -E '^  acknowledged|^verdict|^note'
echo "   exit ${PIPESTATUS[0]}"
set -e

echo
echo "== the same report as JSON (--json: nothing else on stdout), for tools"
json=$(./bin/faultbox disk torture --seed 7 --ops 300 --naive=false --json)
head -12 <<<"$json"
echo "   ..."
