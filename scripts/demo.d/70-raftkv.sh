#!/usr/bin/env bash
# raftkv: etcd's raft library driving a key-value store in the simulation world, its history
# checked by porcupine; then planted bugs found, with their replay commands, and porcupine's
# visualisation of a history that is not linearizable.
set -euo pipefail
mkdir -p bin
go build -o bin/faultbox ./cmd/faultbox

echo "== faultbox sim run --target raftkv --seed 3 --faults all --check-determinism"
./bin/faultbox sim run --target raftkv --seed 3 --faults all --check-determinism

echo
echo "== the same, with a planted bug: raft's entries applied before they commit"
./bin/faultbox sim run --target raftkv --seed 1 --faults all --bug apply-uncommitted \
  || echo "   exit $? (a check failed, as it must: the report names it and prints the replay command)"

echo
echo "== a planted stale read: gets answered from local state, without ReadIndex"
rm -f bin/raftkv-events.porcupine.html
./bin/faultbox sim run --target raftkv --seed 1 --duration 2s --bug stale-read -o bin/raftkv-events.jsonl \
  || echo "   exit $? (porcupine found no linearization; its visualisation is beside the events)"
ls -l bin/raftkv-events.porcupine.html
