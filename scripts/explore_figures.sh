#!/usr/bin/env bash
# Runs-to-first-failure per strategy and planted bug: for each (bug, strategy), EXPLORATIONS
# explorations with seeds 1..EXPLORATIONS, each of at most RUNS runs; prints the median index
# of the first failing run (a miss counts as RUNS, and is marked), and how many found it.
# Long: not part of make test. Usage: scripts/explore_figures.sh [raftkv|dbctl]
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=${1:-raftkv}
RUNS=${RUNS:-100}
EXPLORATIONS=${EXPLORATIONS:-5}
bin=$(mktemp -d)/faultbox
go build -o "$bin" ./cmd/faultbox
if [ "$TARGET" = raftkv ]; then
  bugs=$("$bin" sim run --target raftkv --bug list)
else
  bugs=$("$bin" sim run --target dbctl --bug list)
fi
printf '%-22s %-8s %s\n' bug strategy "median runs to the first failure (found in)"
for bug in $bugs; do
  for strategy in random aimed lineage; do
    firsts=()
    for seed in $(seq 1 "$EXPLORATIONS"); do
      f=$("$bin" explore --target "$TARGET" --bug "$bug" --strategy "$strategy" --runs "$RUNS" --seed "$seed" \
        --no-shrink --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["first_failure"])' || true)
      firsts+=("$f")
    done
    python3 - "$RUNS" "$bug" "$strategy" "${firsts[@]}" <<'PY'
import sys, statistics
runs = int(sys.argv[1]); bug, strategy = sys.argv[2], sys.argv[3]
firsts = [int(x) for x in sys.argv[4:]]
found = [f for f in firsts if f >= 0]
# a miss counts as the whole budget; the first run is run 1 here
vals = [f + 1 if f >= 0 else runs for f in firsts]
med = statistics.median(vals)
mark = "" if len(found) * 2 > len(firsts) else f" (>= {runs}: most missed)"
print(f"{bug:22} {strategy:8} {med:g}{mark} ({len(found)} of {len(firsts)})")
PY
  done
done
