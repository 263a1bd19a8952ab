#!/usr/bin/env bash
# trace: a client and a server (TCP, UDP, a unix socket, a pipe) run under `faultbox run`,
# once clean and once with the client's 3rd TCP send omitted; the second run draws the diagram.
set -euo pipefail
go build -o bin/faultbox ./cmd/faultbox
gcc -O1 -o bin/netapp trace/testdata/c/netapp.c
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
labels=(--label 'server=netapp server' --label 'client=netapp client')

echo "faultbox run ${labels[*]} -- bin/netapp all DIR      (no fault)"
bin/faultbox run -q "${labels[@]}" -- bin/netapp all "$work" | sed 's/^/  server says: /'

echo
echo "faultbox run --inject 'sendto:omit:when=3:fd=tcp:proc=client' ... --html bin/trace-demo.html"
bin/faultbox run "${labels[@]}" --inject 'sendto:omit:when=3:fd=tcp:proc=client' \
  -o bin/trace-demo.jsonl --html bin/trace-demo.html --chrome bin/trace-demo.chrome.json \
  -- bin/netapp all "$work" 2>"$work/summary" | sed 's/^/  server says: /'
sed 's/^/  /' "$work/summary"
echo
echo "  injected: the client's 3rd send reported success but carried nothing;"
echo "  survived: the server read 64 of the 80 bytes and said so (tcp1 64); the rest went on."
omitted=$(grep '"fault"' bin/trace-demo.jsonl | head -1 | sed 's/.*"addr":"\([^"]*\)".*/\1/')
echo "  the omitted send is event $omitted; no receive in the server lists it among its predecessors:"
if grep '"label":"server"' bin/trace-demo.jsonl | grep -q "\"$omitted\""; then
  echo "  ... but one does (unexpected)"; exit 1
else
  echo "  checked: none does."
fi
echo "  events: bin/trace-demo.jsonl; diagram: bin/trace-demo.html; Perfetto: bin/trace-demo.chrome.json"

echo
echo "faultbox run --json ...: the same run's summary as a fault report on stderr (stdout is the program's)"
report=$(bin/faultbox run --json "${labels[@]}" --inject 'sendto:omit:when=3:fd=tcp:proc=client' \
  -- bin/netapp all "$work" 2>&1 >/dev/null)
grep -A4 '"faults"' <<<"$report" | sed 's/^/  /'
grep -e '"verdict"' -e '"replay"' <<<"$report" | sed 's/^/  /'
