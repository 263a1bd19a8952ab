#!/usr/bin/env bash
# explore a real program: examples/ackkv acknowledges a put before it writes it to its log.
# faultbox explore runs it under the tracer, aims one fault at each distinct event of a
# fault-free run, finds the crash that loses an acknowledged write, shrinks the plan and
# prints the faultbox run line that replays it; the replay is then run and fails the same way.
# Run from the repo root by scripts/demo.sh.
set -euo pipefail
mkdir -p bin
go build -o bin/faultbox ./cmd/faultbox
go build -o bin/ackkv ./examples/ackkv
state=$(mktemp -d)
trap 'rm -rf "$state"' EXIT

echo "== bin/ackkv demo DIR, no faults: three puts, each acknowledged one recorded; the check agrees"
bin/ackkv demo "$state" && bin/ackkv check "$state" | sed 's/^/   /'

echo
echo "== faultbox explore --strategy aimed --runs 100 --check 'bin/ackkv check DIR' -- bin/ackkv demo DIR"
set +e
bin/faultbox explore --strategy aimed --runs 100 --label server=serve --label client=demo \
  --check "bin/ackkv check $state" --out bin/explore-program -- bin/ackkv demo "$state" | tee "$state/out" | sed 's/^/   /'
code=${PIPESTATUS[0]}
set -e
echo "   exit $code (1: a failure was found; its replay command is the last line)"
[ "$code" = 1 ] || { echo "   expected exit 1"; exit 1; }

echo
replay=$(tail -1 "$state/out")
echo "== the replay, run as printed (faultbox on PATH):"
echo "   $replay"
set +e
PATH="$PWD/bin:$PATH" sh -c "$replay" 2>&1 | grep -e 'faults injected' -e 'server/t0' -e 'ackkv check' | sed 's/^/   /'
set -e
echo "   report: bin/explore-program/report.html (the curve of distinct traces, the minimal plan, the diagram)"

echo
echo "== the correct order (-fixed: log, sync, then reply) under the same aims: nothing lost"
bin/faultbox explore --strategy aimed --runs 100 --label server=serve --label client=demo \
  --check "bin/ackkv check $state" -- bin/ackkv demo -fixed "$state" | sed 's/^/   /'
