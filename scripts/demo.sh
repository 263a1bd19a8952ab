#!/usr/bin/env bash
# The main job: one part per layer, each a script under scripts/demo.d, run in name order.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bin
for part in scripts/demo.d/*.sh; do
  echo
  echo "################ $(basename "$part" .sh) ################"
  bash "$part"
done
echo
echo "=== demo done ==="
