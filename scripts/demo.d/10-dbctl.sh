#!/usr/bin/env bash
# dbctl: the replicated KV model, run on both frozen scenarios; each hash beside its frozen value.
set -euo pipefail
go build -o bin/dbctl ./cmd/dbctl
scenario() {
  local frozen=$1; shift
  local summary got
  summary=$(bin/dbctl show workload "$@")       # one run: the summary carries the hash
  got=$(awk '$1 == "sha256" { print $2 }' <<<"$summary")
  echo "dbctl show workload $*"
  echo "  hash    $got"
  echo "  frozen  $frozen  $( [ "$got" = "$frozen" ] && echo MATCH || echo MISMATCH )"
  sed 's/^/  /' <<<"$summary"
  [ "$got" = "$frozen" ]
}
scenario 5976b45b9f40f440e8249da27fe4fe752e005f606efc3596bdb25ca4e4f99296 --seed 42 --ops 200 --keys 16 --scenario normal
echo
scenario d67c36725af65242e985a308db5152af2a3e2525fab33d11ed6e826a252ff792 --seed 7 --ops 2000 --keys 128 --scenario fault
