#!/usr/bin/env bash
# Long runs that do not belong in the suite: every fuzz target for longer (FUZZTIME, default
# 2m), then a long torture run of the write-ahead log (the naive log, quadratic in its
# recoveries, is left out). Each stage prints a progress line
# "[2/2] soak ..., elapsed 31m4s"; scripts/fuzz.sh prints one before each target.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-2m}
SOAK_OPS=${SOAK_OPS:-200000}
start=$SECONDS
dur() {
  local s=$1
  if [ "$s" -ge 3600 ]; then printf '%dh%dm' $((s / 3600)) $((s % 3600 / 60))
  elif [ "$s" -ge 60 ]; then printf '%dm%ds' $((s / 60)) $((s % 60))
  else printf '%ds' "$s"; fi
}
echo "[1/2] soak: every fuzz target for $FUZZTIME, elapsed $(dur 0)"
FUZZTIME=$FUZZTIME scripts/fuzz.sh
echo "[2/2] soak: faultbox disk torture --ops $SOAK_OPS --config stress --naive=false, elapsed $(dur $((SECONDS - start)))"
mkdir -p bin
go build -o bin/faultbox ./cmd/faultbox
bin/faultbox disk torture --seed "${SOAK_SEED:-1}" --ops "$SOAK_OPS" --config stress --naive=false
echo "soak: done in $(dur $((SECONDS - start)))"
