#!/usr/bin/env bash
# Runs every fuzz target of the main module for a short, bounded time (FUZZTIME, default 10s),
# one after the other, with a progress line before each: "[3/12] fuzz PKG Target, elapsed
# 1m10s, about 2m left" (the estimate is the mean time of the targets done so far, or
# FUZZTIME before the first).
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-10s}

. scripts/lib.sh # dur
# FUZZTIME in seconds when it is a duration (10s, 2m, 1h); empty for a count (100x).
per_target=""
case $FUZZTIME in
  *[0-9]s) per_target=${FUZZTIME%s} ;;
  *[0-9]m) per_target=$((${FUZZTIME%m} * 60)) ;;
  *[0-9]h) per_target=$((${FUZZTIME%h} * 3600)) ;;
esac
[[ $per_target =~ ^[0-9]+$ ]] || per_target=""

targets=()
for pkg in $(go list ./...); do
  for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    targets+=("$pkg $target")
  done
done
total=${#targets[@]}
start=$SECONDS
flakes=
i=0
for t in "${targets[@]}"; do
  read -r pkg target <<<"$t"
  elapsed=$((SECONDS - start))
  left=$((total - i))
  if [ "$i" -gt 0 ]; then
    eta="about $(dur $((elapsed * left / i))) left"
  elif [ -n "$per_target" ]; then
    eta="about $(dur $((per_target * left))) left"
  else
    eta="time left unknown"
  fi
  i=$((i + 1))
  echo "[$i/$total] fuzz ${pkg#github.com/faultbox/faultbox/} $target ($FUZZTIME), elapsed $(dur "$elapsed"), $eta"
  out=$(mktemp)
  if go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg" >"$out" 2>&1; then
    cat "$out"
  elif grep -q 'context deadline exceeded' "$out" && ! grep -q 'Failing input written' "$out" &&
    go test -count=1 -run "^${target}\$" "$pkg" >/dev/null 2>&1; then
    # Go's fuzzing coordinator can stop a target with a bare "context deadline exceeded" when
    # -fuzztime ends while a worker is mid-input (golang/go#51484): nothing was found, no
    # input was written, and the target's corpus replays clean. Say so and go on.
    tail -n 3 "$out"
    echo "fuzz: $target stopped with \"context deadline exceeded\" at the end of -fuzztime and wrote no failing input; its corpus replays clean: not a finding (golang/go#51484)"
    flakes=$((flakes + 1))
  else
    cat "$out"
    rm -f "$out"
    exit 1
  fi
  rm -f "$out"
done
echo "fuzz: $total targets in $(dur $((SECONDS - start)))${flakes:+, $flakes stopped at the deadline without a finding}"
