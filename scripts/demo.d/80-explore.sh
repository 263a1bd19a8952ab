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

echo
echo "== raftkv (etcd's raft in the world) with a planted bug: a node sends its vote or acknowledgement"
echo "   before what it promises is durable. Lineage cuts the writes the nodes spoke of (a crash just"
echo "   after the write, before its sync); a run that survives teaches it the redundancy it found."
set +e
./bin/faultbox explore --target raftkv --bug send-before-persist --strategy lineage --runs 20 \
  --out bin/explore-raftkv > bin/explore-raftkv.out
code=$?
set -e
sed 's/^/   /' bin/explore-raftkv.out
echo "   exit $code; the model lineage learned: $(python3 -c 'import json; print(json.load(open("bin/explore-raftkv/result.json"))["model"])')"
replay=$(tail -1 bin/explore-raftkv.out)
echo "== its replay: $replay"
eval "./bin/${replay}" | grep -E 'FAIL|verdict' | sed 's/^/   /' || true

echo
echo "== raftkv with a log that trusts its records without checksums (--bug no-checksum). Aimed"
echo "   garbles a node's disk just after the first write into a sector where a synced record ends:"
echo "   the record's head survives, its tail is garbage, and the node takes it for data."
set +e
./bin/faultbox explore --target raftkv --bug no-checksum --strategy aimed --runs 20 --seed 3 \
  > bin/explore-raftkv-garble.out
code=$?
set -e
grep -E 'runs|fail|minimal|garble' bin/explore-raftkv-garble.out | head -8 | sed 's/^/   /'
replay=$(tail -1 bin/explore-raftkv-garble.out)
echo "   exit $code; its replay: $replay"
eval "./bin/${replay}" | grep -E 'FAIL|verdict' | sed 's/^/   /' || true
