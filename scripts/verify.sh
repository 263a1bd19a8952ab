#!/usr/bin/env bash
# Builds, vets and runs the cluster and dbctl tests, then checks both frozen hashes through the
# real binary. Its last line is "=== OK ===" on success.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bin
echo "verify: build";  go build -o bin/dbctl ./cmd/dbctl
echo "verify: vet";    go vet ./cluster/... ./cmd/dbctl/...
echo "verify: test";   go test -count=1 ./cluster/... ./cmd/dbctl/...
check() {
  local want=$1; shift
  local got
  got=$(bin/dbctl hash workload "$@")
  if [ "$got" != "$want" ]; then
    echo "verify: dbctl hash workload $*: got $got, want frozen $want" >&2
    exit 1
  fi
  echo "verify: $* -> $got (frozen)"
}
check 5976b45b9f40f440e8249da27fe4fe752e005f606efc3596bdb25ca4e4f99296 --seed 42 --ops 200 --keys 16 --scenario normal
check d67c36725af65242e985a308db5152af2a3e2525fab33d11ed6e826a252ff792 --seed 7 --ops 2000 --keys 128 --scenario fault
echo "=== OK ==="
