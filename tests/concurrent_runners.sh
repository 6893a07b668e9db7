#!/usr/bin/env bash
# Two runners on one results directory at once: no run trains twice, no file
# is written by both. Usage: concurrent_runners.sh POSPROBE
set -euo pipefail
bin=$1
dir=$(mktemp -d /tmp/posprobe-concurrent-XXXXXX)
trap 'rm -rf "$dir"' EXIT
. "$(dirname "$0")/tiny_suite.sh"
tiny_suite "$dir/tiny.suite" 3 6 150 '[grid main]' 'task = probe' 'encoding = none learned rope shaw'
total=12
for k in 1 2; do
    /usr/bin/python3 scripts/suite.py "$dir/tiny.suite" --posprobe "$bin" --results "$dir/res" -j 2 --no-summarize \
        2>"$dir/log$k" &
    pids[$k]=$!
done
wait "${pids[1]}" "${pids[2]}"
now() { grep -o '[0-9]* now' "$1" | tail -1 | cut -d' ' -f1; }
sum=$(( $(now "$dir/log1") + $(now "$dir/log2") ))
[ "$sum" = "$total" ] || { cat "$dir/log1" "$dir/log2"; echo "runs trained $sum times for $total runs"; exit 1; }
for d in "$dir"/res/runs/*/; do
    [ "$(tail -n +2 "$d/train.csv" | wc -l)" = 150 ] || { echo "$d/train.csv was written twice or cut"; exit 1; }
    grep -q ',finished,' "$d/summary.csv" || { echo "$d not finished"; exit 1; }
done
echo "concurrent: two runners, $total runs, each trained once"
