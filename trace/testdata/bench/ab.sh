#!/usr/bin/env bash
# Alternating A/B: each round runs ./fb-main then ./fb (the write workload); prints medians.
set -u
DD="dd if=/dev/zero of=/dev/null bs=1 count=200000"
R=${R:-10}
A=(); B=()
for r in $(seq 1 $R); do
  s=$(date +%s.%N); ./fb-main run -q --trace=write -- $DD >/dev/null 2>&1; e=$(date +%s.%N); A+=($(echo "$e - $s" | bc))
  s=$(date +%s.%N); ./fb run -q --trace=write -- $DD >/dev/null 2>&1; e=$(date +%s.%N); B+=($(echo "$e - $s" | bc))
done
med() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
echo "before (GETREGS): median $(med "${A[@]}") s  [${A[*]}]"
echo "after  (GET_SYSCALL_INFO): median $(med "${B[@]}") s  [${B[*]}]"
