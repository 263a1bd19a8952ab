#!/usr/bin/env bash
# Long runs that do not belong in the suite: every fuzz target for longer.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-2m} scripts/fuzz.sh
