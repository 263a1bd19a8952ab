#!/usr/bin/env bash
# chunkcache: a chunk cache whose L2 tier drops chosen loads (fault_inject around fs_native
# on /dev/shm), and what the prefix path recovers with and without segmented prefix.
set -euo pipefail
go build -o bin/chunkcache ./cmd/chunkcache

shm=/dev/shm
[ -d "$shm" ] && [ -w "$shm" ] || shm=${TMPDIR:-/tmp}
work=$(mktemp -d "$shm/faultbox-chunkcache.XXXXXX")
pid=
stop() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=; fi; }
trap 'stop; rm -rf "$work"' EXIT

# serve NAME ARGS...: start a server on a free loopback port; sets $url.
serve() {
  local name=$1; shift
  bin/chunkcache server --listen 127.0.0.1:0 "$@" >"$work/$name.out" 2>"$work/$name.err" &
  pid=$!
  for _ in $(seq 100); do grep -q 'listening on' "$work/$name.out" 2>/dev/null && break; sleep 0.1; done
  url=$(sed -n 's/.*listening on //p' "$work/$name.out")
  [ -n "$url" ] || { echo "server $name did not start:"; cat "$work/$name.err"; exit 1; }
  echo "  server log: $(cat "$work/$name.err")"
}

echo "== 1. the middle chunk of every load is dropped: gap_tail_ratios [0.5], 8 chunks x 256 tokens"
for mode in prefix segmented; do
  flags=()
  [ "$mode" = segmented ] && flags=(--enable-segmented-prefix)
  echo
  echo "-- ${mode}: chunkcache server --l2-adapter '{\"type\":\"fault_inject\",\"inner\":{\"type\":\"fs_native\",\"base_path\":\"$work/l2-$mode\"},\"gap_tail_ratios\":[0.5]}' ${flags[*]:-}"
  serve "$mode" --l2-adapter "{\"type\":\"fault_inject\",\"inner\":{\"type\":\"fs_native\",\"base_path\":\"$work/l2-$mode\"},\"gap_tail_ratios\":[0.5]}" "${flags[@]}"
  bin/chunkcache bench --server "$url" --chunks 8 --payload-bytes 65536 | sed 's/^/  /'
  stop
done

echo
echo "== 2. a 10% seeded rate (seed 7) plus the exact gap index 12, 32 chunks, segmented prefix"
spec="{\"type\":\"fault_inject\",\"inner\":{\"type\":\"fs_native\",\"base_path\":\"$work/l2-rate\",\"num_workers\":4},\"rate\":0.1,\"seed\":7,\"gap_indices\":[12]}"
echo "-- chunkcache server --l2-adapter '$spec' --enable-segmented-prefix"
serve rate --l2-adapter "$spec" --enable-segmented-prefix
bin/chunkcache bench --server "$url" --chunks 32 --payload-bytes 16384 --seed 7 | sed 's/^/  /'
echo "  the same seed again drops the same chunks (a new server, same files):"
stop
serve rate2 --l2-adapter "$spec" --enable-segmented-prefix
bin/chunkcache bench --server "$url" --chunks 32 --payload-bytes 16384 --seed 7 | grep 'chunks of the first' | sed 's/^/  /'
echo "  status of adapter #1 (fault_inject object):"
curl -s "$url/v1/status" | python3 -c 'import json,sys; s=json.load(sys.stdin)["l2"][0]; print("   ", json.dumps(s["status"]["fault_inject"]), "locked_keys:", s["locked_keys"])' 2>/dev/null \
  || curl -s "$url/v1/status"
echo "  the injected faults (GET /v1/faults):"
curl -s "$url/v1/faults" | python3 -c 'import json,sys
f = json.load(sys.stdin)
print("    total", f["total"])
for e in f["recent"]:
    print("    seq %d: position %d of a %d-key load dropped by %s" % (e["seq"], e["position"], e["batch_len"], e["rule"]))' 2>/dev/null \
  || curl -s "$url/v1/faults"
echo "  metrics:"
curl -s "$url/metrics" | grep -E '^chunkcache_(chunks_total|fault_inject_dropped_total|adapter_locked_keys)' | sed 's/^/    /'
stop
