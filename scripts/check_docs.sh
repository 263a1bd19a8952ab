#!/usr/bin/env bash
# Checks what a reader of the docs meets first:
#  1. every relative link in README.md, CHANGELOG.md, BENCHMARKS.md and docs/*.md, and every
#     backticked path under notes/ or shared/, names a file in the repository;
#  2. the README's chunkcache block, pasted into a shell, leaves no server running.
set -euo pipefail
cd "$(dirname "$0")/.."
fail=0
for doc in README.md CHANGELOG.md BENCHMARKS.md docs/*.md; do
  dir=$(dirname "$doc")
  # [text](target): relative targets only, anchors dropped.
  while IFS= read -r target; do
    target=${target%%#*}
    [ -z "$target" ] && continue
    if [ ! -e "$dir/$target" ]; then
      echo "$doc: link to $target: no such file in the repository"; fail=1
    fi
  done < <(grep -oE '\]\([^)]+\)' "$doc" | sed -E 's/^\]\(//; s/\)$//' | grep -vE '^(https?:|mailto:|#)' || true)
  # `notes/...` or `shared/...`: paths outside the repository that a reader cannot open.
  if grep -nE '`(\.\./)*(notes|shared)/[^`]*`' "$doc"; then
    echo "$doc: names a file outside the repository (above)"; fail=1
  fi
done

# The README's chunkcache block: run it as pasted, then nothing may listen on its port.
block=$(awk '/^### chunkcache/{s=1} s && /^```sh$/{b=1; next} b && /^```$/{exit} b' README.md)
if [ -z "$block" ]; then
  echo "README.md: no chunkcache sh block found"; fail=1
else
  tmp=$(mktemp -d)
  # The block as pasted, on a port nobody else uses (another checkout may run this check).
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  block=${block//7420/$port}
  if ! timeout 120 bash -c "$block" >"$tmp/out" 2>&1; then
    echo "README.md: the chunkcache block failed:"; cat "$tmp/out"; fail=1
  fi
  if curl -sf "http://127.0.0.1:$port/v1/status" >/dev/null 2>&1; then
    echo "README.md: the chunkcache block left a server listening on 127.0.0.1:$port"; fail=1
    pkill -f "chunkcache server --listen 127.0.0.1:$port" || true
  fi
  rm -rf "$tmp"
fi
[ "$fail" = 0 ] && echo "docs: links resolve; the README chunkcache block cleans up after itself"
exit "$fail"
