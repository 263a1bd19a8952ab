#!/usr/bin/env bash
# explore: many runs of a simulated system, faults aimed at the events that matter, the
# smallest failing run handed back with its replay command. Run from the repo root by
# scripts/demo.sh.
set -euo pipefail
mkdir -p bin
go build -o bin/faultbox ./cmd/faultbox

echo "== the dbctl cluster with a planted bug (followers acknowledge before they sync), aimed faults"
./bin/faultbox explore --target dbctl --bug ack-before-sync --strategy aimed --runs 100 --out bin/explore-dbctl \
  || echo "   exit $? (a failure was found; the last line is the command that replays it)"
echo "   the report: bin/explore-dbctl/report.html"

echo
echo "== the replay command, run: the same check fails the same way"
replay=$(./bin/faultbox explore --target dbctl --bug ack-before-sync --strategy aimed --runs 100 | tail -1 || true)
echo "   \$ ${replay/faultbox/bin\/faultbox}"
eval "./bin/${replay}" | grep -E 'FAIL|verdict' | sed 's/^/   /' || true

echo
echo "== the correct code under 300 random plans, in 4 shards merged: no failure"
for i in 0 1 2 3; do
  JOB_COMPLETION_INDEX=$i ./bin/faultbox explore --target dbctl --strategy random --runs 300 --shards 4 \
    --out "bin/explore-shard-$i" > /dev/null
done
./bin/faultbox explore merge --out bin/explore-merged bin/explore-shard-0 bin/explore-shard-1 bin/explore-shard-2 bin/explore-shard-3
