#!/usr/bin/env bash
# Long runs that do not belong in the suite: every fuzz target for longer (FUZZTIME, default
# 2m), then a long torture run of the write-ahead log (the naive log, quadratic in its
# recoveries, is left out), then the correct-mode sweeps of the simulated targets: raftkv and
# dbctl over SOAK_SEEDS seeds (default 200) under every fault profile, each run required to
# pass. SOAK_STAGES picks stages (default "1 2 3"), SOAK_TARGETS the targets of stage 3
# (default "raftkv dbctl"): SOAK_STAGES=3 SOAK_TARGETS=raftkv scripts/soak.sh. Each stage prints a progress line "[2/3] soak ..., elapsed 31m4s"; scripts/fuzz.sh
# prints one before each target.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-2m}
SOAK_OPS=${SOAK_OPS:-200000}
start=$SECONDS
. scripts/lib.sh # dur
SOAK_STAGES=${SOAK_STAGES:-1 2 3}
SOAK_TARGETS=${SOAK_TARGETS:-raftkv dbctl}
stage() { [[ " $SOAK_STAGES " == *" $1 "* ]]; }
mkdir -p bin
go build -o bin/faultbox ./cmd/faultbox
if stage 1; then
  echo "[1/3] soak: every fuzz target for $FUZZTIME, elapsed $(dur 0)"
  FUZZTIME=$FUZZTIME scripts/fuzz.sh
fi
if stage 2; then
  echo "[2/3] soak: faultbox disk torture --ops $SOAK_OPS --config stress --naive=false, elapsed $(dur $((SECONDS - start)))"
  bin/faultbox disk torture --seed "${SOAK_SEED:-1}" --ops "$SOAK_OPS" --config stress --naive=false
fi
stage 3 || exit 0
SOAK_SEEDS=${SOAK_SEEDS:-200}
echo "[3/3] soak: faultbox sim run, $SOAK_TARGETS, seeds 1..$SOAK_SEEDS x none/net/crash/storage/all, elapsed $(dur $((SECONDS - start)))"
failed=0
for target in $SOAK_TARGETS; do
  for faults in none net crash storage all; do
    for seed in $(seq 1 "$SOAK_SEEDS"); do
      if ! out=$(bin/faultbox sim run --target "$target" --seed "$seed" --faults "$faults" 2>&1); then
        failed=$((failed + 1))
        echo "soak: FAIL: $target seed $seed faults $faults"
        echo "$out" | sed 's/^/    /'
      fi
    done
    echo "   $target $faults: $SOAK_SEEDS seeds, $failed failure(s) so far, elapsed $(dur $((SECONDS - start)))"
  done
done
echo "soak: done in $(dur $((SECONDS - start))), $failed failing run(s)"
[ "$failed" = 0 ]
