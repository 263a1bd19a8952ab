#!/usr/bin/env bash
# Alternating runs: each round runs every command once, in order; prints each run's wall
# time, then each command's median and all its times.
set -u
# Run from a directory holding ./fb (this build of faultbox) and ./fb-main (main's).
DD="dd if=/dev/zero of=/dev/null bs=1 count=200000"
R=${R:-5}
cmds=(
  "strace -f -e trace=write -o /dev/null $DD"
  "./fb run -q --trace=write -- $DD"
  "strace -f --seccomp-bpf -e trace=write -o /dev/null $DD"
  "./fb run -q --trace=write --text /dev/null -- $DD"
  "./fb-main run -q --trace=write -- $DD"
)
declare -A times
for r in $(seq 1 $R); do
  for i in "${!cmds[@]}"; do
    s=$(date +%s.%N); ${cmds[$i]} >/dev/null 2>&1; e=$(date +%s.%N)
    t=$(echo "$e - $s" | bc)
    times[$i]="${times[$i]:-} $t"
    echo "round $r cmd $i: $t s"
  done
done
for i in "${!cmds[@]}"; do
  med=$(echo ${times[$i]} | tr ' ' '\n' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  echo "median cmd $i: $med s  [${times[$i]} ]  ${cmds[$i]}"
done
