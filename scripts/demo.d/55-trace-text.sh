#!/usr/bin/env bash
# trace for strace's users: the readable trace, the -c table, a delay then a crash on one
# call, and counting per process. Run from the repo root by scripts/demo.sh.
set -euo pipefail
mkdir -p bin
go build -o bin/faultbox ./cmd/faultbox

echo "== faultbox run --text - -y -c: strace's line per call (fd paths with -y), then the -c table"
echo "   (the second write fails with ENOSPC: marked in the trace, counted in the faults column)"
bin/faultbox run -q --text - -y -c --inject 'write:error=ENOSPC:when=2' -- sh -c 'echo one; echo two' 2>&1 |
  grep -E '^\[pid .*\] write|calls|^ *[0-9.]+ .* (write|total)$' | sed 's/^/   /' || true

echo
echo "== a delay, then a crash, on the same call: the 2nd write is held 300ms, then the process dies in it"
start=$(date +%s%N)
set +e
bin/faultbox run -q --inject 'write:crash:delay_enter=300ms:when=2:count=process' -- sh -c 'echo a; echo b'
code=$?
set -e
echo "   exit $code (137: killed by SIGKILL) after $(( ($(date +%s%N) - start) / 1000000 )) ms; 'b' was never written"

echo
echo "== -p PID: attach to a running shell loop, fail its log writes, detach on SIGINT: it goes on"
dir=$(mktemp -d)
sh -c "while :; do echo tick >> $dir/log; sleep 0.1; done" 2>/dev/null &
loop=$!
sleep 0.3
bin/faultbox run -q -p "$loop" --text "$dir/trace" -y -e trace=write -e signal=none \
  --inject "write:error=ENOSPC:path=$dir/log" 2>/dev/null &
fb=$!
sleep 0.5
kill -INT "$fb"
wait "$fb" || true
head -2 "$dir/trace" | sed 's/^/   /'
before=$(wc -l < "$dir/log")
sleep 0.5
after=$(wc -l < "$dir/log")
echo "   after the detach the loop still writes: $before lines, then $after"
kill "$loop"
rm -rf "$dir"
