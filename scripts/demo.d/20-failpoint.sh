#!/usr/bin/env bash
# failpoint: fail points in Go code, set from FAILPOINTS, reproduced by FAILPOINTS_SEED,
# changed live over HTTP with `faultbox failpoints`.
set -euo pipefail
go build -o bin/failpoint-demo ./examples/failpoint
go build -o bin/faultbox ./cmd/faultbox
demo=bin/failpoint-demo

echo "== a toy WAL syncs 20 records; '.' synced, 'X' the fail point returned EIO"
echo "-- no FAILPOINTS: nothing injected"
$demo
echo "-- FAILPOINTS='demo/wal/sync=25%return(EIO)' FAILPOINTS_SEED=42, run twice"
a=$(FAILPOINTS='demo/wal/sync=25%return(EIO)' FAILPOINTS_SEED=42 $demo)
b=$(FAILPOINTS='demo/wal/sync=25%return(EIO)' FAILPOINTS_SEED=42 $demo)
echo "   $a"
echo "   $b"
[ "$a" = "$b" ] && echo "   same seed, same failures: the run is reproduced"
echo "-- same terms, FAILPOINTS_SEED=7"
echo "   $(FAILPOINTS='demo/wal/sync=25%return(EIO)' FAILPOINTS_SEED=7 $demo)"
echo "-- a chain: FAILPOINTS='demo/wal/sync=2*return(EIO)->5*off->return(EIO)'"
echo "   $(FAILPOINTS='demo/wal/sync=2*return(EIO)->5*off->return(EIO)' $demo)"
echo "-- a typo in the name is reported, not silently ignored"
FAILPOINTS='demo/wal/synk=return(EIO)' $demo | sed 's/^/   /'
echo "-- a typo in the terms names the term, the offset and what was expected"
FAILPOINTS='demo/wal/sync=25%retrun(EIO)' $demo 2>&1 | sed 's/^/   /' || true

echo "-- live: the program serves its fail points on 127.0.0.1; faultbox failpoints changes them"
out=$(mktemp)
FAILPOINTS_HTTP=127.0.0.1:0 $demo -serve -n 30 -every 100ms >"$out" &
pid=$!
addr=""
for _ in $(seq 100); do
  addr=$(sed -n 's/^control on //p' "$out")
  [ -n "$addr" ] && break
  sleep 0.05
done
[ -n "$addr" ] || { echo "demo program did not start"; kill "$pid"; exit 1; }
echo "   \$ faultbox failpoints set --addr $addr demo/wal/sync '3*return(EIO)'"
bin/faultbox failpoints set --addr "$addr" demo/wal/sync '3*return(EIO)' | sed 's/^/   /'
echo "   \$ faultbox failpoints list --addr $addr"
bin/faultbox failpoints list --addr "$addr" | sed 's/^/   /'
echo "   \$ faultbox failpoints set --addr $addr demo/wal/sync '3*retrun(EIO)'   # a typo: refused before sending"
refused=$(bin/faultbox failpoints set --addr "$addr" demo/wal/sync '3*retrun(EIO)' 2>&1) && code=0 || code=$?
head -1 <<<"$refused" | sed 's/^/   /'
echo "   exit $code (a usage error; a program that refuses would be 1)"
wait "$pid"
sed 's/^/   /' "$out"
rm -f "$out"
echo "   (exactly 3 syncs failed, whenever the set arrived)"
