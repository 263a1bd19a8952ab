#!/usr/bin/env bash
# Runs-to-first-failure per strategy and planted bug: for each (bug, strategy), EXPLORATIONS
# explorations with seeds 1..EXPLORATIONS, each of at most RUNS runs; prints the median run of
# the first failure (the first run is run 1; a miss counts as RUNS, and is marked), how many
# explorations found it, and the share of all their runs that failed (for random: how dense
# the bug is under that profile; a bug most random runs expose is not a time-of-fault bug).
# Strategies: random (the default kinds: crash, tear, reboot, partition, isolate), random-crash
# (random drawing crashes only: the fault kind the durability bugs need), random-garble (the
# default kinds and garble, the worst tear, which aimed uses), aimed, lineage.
# Long: not part of make test. Usage: scripts/explore_figures.sh [raftkv|dbctl] [BUG...]
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=${1:-raftkv}
shift || true
RUNS=${RUNS:-100}
EXPLORATIONS=${EXPLORATIONS:-10}
STRATEGIES=${STRATEGIES:-random random-crash aimed lineage}
JOBS=${JOBS:-2}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bin=$tmp/faultbox
go build -o "$bin" ./cmd/faultbox
if [ $# -gt 0 ]; then
  bugs="$*"
else
  bugs=$("$bin" sim run --target "$TARGET" --bug list)
fi
printf '%-22s %-13s %s\n' bug strategy "median runs to the first failure (found in) [failed runs]"
for bug in $bugs; do
  for strategy in $STRATEGIES; do
    args=(--strategy "$strategy")
    if [ "$strategy" = random-crash ]; then
      args=(--strategy random --faults crash)
    fi
    if [ "$strategy" = random-garble ]; then
      args=(--strategy random --faults crash,tear,garble,reboot,partition,isolate)
    fi
    stats=()
    for seed in $(seq 1 "$EXPLORATIONS"); do
      out=$tmp/$bug-$strategy-$seed
      "$bin" explore --target "$TARGET" --bug "$bug" "${args[@]}" --runs "$RUNS" --seed "$seed" -j "$JOBS" \
        --no-shrink --json --out "$out" >/dev/null || true
      stats+=("$(python3 -c 'import json,sys
r=json.load(open(sys.argv[1]+"/result.json"))
runs=[json.loads(l) for l in open(sys.argv[1]+"/runs.jsonl")]
print("%d:%d:%d" % (r["first_failure"], sum(x["failed"] for x in runs), len(runs)))' "$out")")
      rm -rf "$out"
    done
    python3 - "$RUNS" "$bug" "$strategy" "${stats[@]}" <<'PY'
import sys, statistics
runs = int(sys.argv[1]); bug, strategy = sys.argv[2], sys.argv[3]
stats = [tuple(int(v) for v in x.split(":")) for x in sys.argv[4:]]
firsts = [s[0] for s in stats]
found = [f for f in firsts if f >= 0]
vals = [f + 1 if f >= 0 else runs for f in firsts]
med = statistics.median(vals)
mark = "" if len(found) * 2 > len(firsts) else f" (>= {runs}: most missed)"
failed, total = sum(s[1] for s in stats), sum(s[2] for s in stats)
each = " ".join(str(v) if f >= 0 else "-" for v, f in zip(vals, firsts))
print(f"{bug:22} {strategy:13} {med:g}{mark} ({len(found)} of {len(firsts)}) [{failed}/{total} = {100*failed/max(total,1):.1f}%]  runs: {each}")
PY
  done
done
