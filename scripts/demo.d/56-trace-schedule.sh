#!/usr/bin/env bash
# trace: a fault schedule from a file (a partition that heals and comes back, a lossy link
# for a while, then a crash), and a skewed wall clock. Run from the repo root by scripts/demo.sh.
set -euo pipefail
mkdir -p bin
go build -o bin/faultbox ./cmd/faultbox
gcc -O1 -o bin/ticks trace/testdata/c/ticks.c

dir=$(mktemp -d)
cat > "$dir/plan" <<'PLAN'
# ticks: the client (p1) sends tick I to its server (p1.1) at (I+1)*150ms
at 410ms partition p1/p1.1 for 300ms
at 1010ms partition p1/p1.1      # comes back
at 1310ms heal p1/p1.1
at 1610ms link p1>p1.1:loss=100%
at 1910ms unlink
at 2060ms crash p1.1
PLAN
echo "== faultbox run --schedule-file plan -- ticks 16 150"
sed 's/^/   plan: /' "$dir/plan"
bin/faultbox run --schedule-file "$dir/plan" -- bin/ticks 16 150 > "$dir/out" 2> "$dir/summary"
echo "   the server received: $(grep -o 'got [0-9]*' "$dir/out" | cut -d' ' -f2 | tr '\n' ' ')($(tail -1 "$dir/out"))"
echo "   (ticks 2-3 and 6-7 cut, 10-11 lost on the link, the server killed after tick 12)"
sed -n '/faults injected/,/processes/p' "$dir/summary" | grep -v processes | sed 's/^/   /'
rm -rf "$dir"

echo
echo "== --clock-skew realtime=24h: date reads the clock through the vDSO, which never traps..."
echo "   $(bin/faultbox run -q --clock-skew realtime=24h -- date -u +%F) (today)"
echo "   ...unless --no-vdso hides the vDSO, making each read a system call the skew reaches:"
echo "   $(bin/faultbox run -q --clock-skew realtime=24h --no-vdso -- date -u +%F) (tomorrow)"
