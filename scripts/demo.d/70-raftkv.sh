#!/usr/bin/env bash
# raftkv: etcd's raft library driving a key-value store in the simulation world, its history
# checked by porcupine; then a planted bug found, with its replay command.
set -euo pipefail
mkdir -p bin
go build -o bin/faultbox ./cmd/faultbox

echo "== faultbox sim run --target raftkv --seed 3 --faults all --check-determinism"
./bin/faultbox sim run --target raftkv --seed 3 --faults all --check-determinism

echo
echo "== the same, with a planted bug: raft's entries applied before they commit"
./bin/faultbox sim run --target raftkv --seed 1 --faults all --bug apply-uncommitted \
  --html bin/raftkv-porcupine.html \
  || echo "   exit $? (a check failed, as it must: the report names it and prints the replay command)"
