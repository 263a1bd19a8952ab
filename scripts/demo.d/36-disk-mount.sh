#!/usr/bin/env bash
# Any program on the lying disk: sqlite3 on a FUSE mount backed by the disk model, crashed
# from the control socket. Run from the repo root by scripts/demo.sh.
set -euo pipefail
mkdir -p bin
go build -o bin/faultbox ./cmd/faultbox
fb=./bin/faultbox

if [ ! -e /dev/fuse ] || { [ "$(id -u)" -ne 0 ] && ! command -v fusermount3 >/dev/null; }; then
  echo "== skipped: FUSE needs /dev/fuse and root or fusermount3 (Debian's fuse3)"
  exit 0
fi

tmp=$(mktemp -d)
mnt=$tmp/mnt
sock=$tmp/ctl.sock
mkdir "$mnt"
cleanup() {
  if [ -S "$sock" ]; then $fb disk ctl "$sock" unmount >/dev/null 2>&1 || true; fi
  sleep 0.3
  umount "$mnt" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

echo "== faultbox disk mount --control $sock $mnt   (in the background)"
$fb disk mount --control "$sock" -o "$tmp/events.jsonl" "$mnt" >"$tmp/report.txt" 2>"$tmp/mount.err" &
pid=$!
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
[ -S "$sock" ] || { cat "$tmp/mount.err"; exit 1; }

db=$mnt/t.db
q() { sqlite3 "$db" "$@"; }
echo
echo "== sqlite3: two transactions committed with synchronous=EXTRA, one with FULL, one with OFF"
q 'PRAGMA synchronous=EXTRA; CREATE TABLE t(x); INSERT INTO t VALUES(1);'
q 'PRAGMA synchronous=EXTRA; INSERT INTO t VALUES(2);'
q 'PRAGMA synchronous=FULL; INSERT INTO t VALUES(3);'
q 'PRAGMA synchronous=OFF; INSERT INTO t VALUES(4);'
echo "   rows before the crash: $(q 'SELECT group_concat(x) FROM t;')"
echo
echo "== faultbox disk ctl $sock crash   (power loss: what was not synced is gone)"
$fb disk ctl "$sock" crash
echo "   journal left behind by the crash: $(ls "$mnt" | grep -c journal || true)"
echo "   rows after the crash:  $(q 'SELECT group_concat(x) FROM t;')   (the FULL commit rolled back by its hot journal, the OFF one lost)"
echo "   integrity_check:       $(q 'PRAGMA integrity_check;')"
echo
echo "== faultbox disk ctl $sock rules 'sync:error=EIO'   (every fsync fails from now on)"
$fb disk ctl "$sock" rules 'sync:error=EIO'
set +e
q 'PRAGMA synchronous=EXTRA; INSERT INTO t VALUES(5);' 2>&1 | sed 's/^/   sqlite3: /'
set -e
$fb disk ctl "$sock" rules
$fb disk ctl "$sock" crash
echo "   rows after another crash: $(q 'SELECT group_concat(x) FROM t;')"
echo
echo "== a faulty area: faultbox disk ctl $sock rules 'read:path=blob:bytes=4096-8191:error=EIO'"
head -c 16384 /dev/zero | tr '\0' a >"$mnt/blob"
read_blocks() {
  for blk in 0 1 2 3 1; do
    if dd if="$mnt/blob" of=/dev/null bs=4096 skip=$blk count=1 status=none 2>"$tmp/dd.err"; then
      echo "   dd block $blk: read"
    else
      echo "   dd block $blk: $(sed 's/^dd: //' "$tmp/dd.err")"
    fi
  done
}
$fb disk ctl "$sock" rules 'read:path=blob:bytes=4096-8191:error=EIO'
read_blocks
echo "== a transient read fault: the same area with nth=1 (the first read fails, the retry succeeds)"
$fb disk ctl "$sock" rules 'read:path=blob:bytes=4096-8191:nth=1:error=EIO'
read_blocks
$fb disk ctl "$sock" rules
echo
echo "== faultbox disk ctl $sock unmount   (the mount's report)"
$fb disk ctl "$sock" unmount
wait "$pid"
cat "$tmp/report.txt"
echo "   events: $(wc -l <"$tmp/events.jsonl") lines in $tmp/events.jsonl"

# ALICE on unmodified programs: each run crashed at one fsync, each distinct state checked.
alice=$(mktemp -d)
trap 'cleanup; rm -rf "$alice"' EXIT
cat >"$alice/workload.sh" <<'SH'
set -e
sqlite3 -bail t.db "PRAGMA synchronous=$SYNC; CREATE TABLE t(x);"; echo created
for i in 1 2 3; do sqlite3 -bail t.db "PRAGMA synchronous=$SYNC; INSERT INTO t VALUES($i);"; echo "committed $i"; done
SH
cat >"$alice/check.sh" <<'SH'
grep -q created "$FAULTBOX_WORKLOAD_STDOUT" || exit 0
acked=$(grep -c committed "$FAULTBOX_WORKLOAD_STDOUT" || true)
[ "$(sqlite3 -bail t.db "PRAGMA integrity_check;")" = ok ] || exit 1
n=$(sqlite3 -bail t.db "SELECT count(*) FROM t WHERE x <= $acked;") || exit 1
[ "$n" = "$acked" ] || { echo "$acked rows acknowledged, $n found"; exit 1; }
SH
echo
echo "== ALICE on sqlite3 itself: the workload ($alice/workload.sh) and the check:"
sed 's/^/     /' "$alice/workload.sh"
echo "   the check wants every acknowledged row and a database that passes integrity_check"
for sync in EXTRA FULL; do
  echo
  echo "== SYNC=$sync faultbox disk enumerate --torn 2 --powersafe-overwrite --check 'sh check.sh' -- sh workload.sh"
  set +e
  SYNC=$sync $fb disk enumerate --torn 2 --powersafe-overwrite --check "sh $alice/check.sh" -- sh "$alice/workload.sh" |
    grep -v '^replay' | head -8
  set -e
done
