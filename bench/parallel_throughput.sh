#!/usr/bin/env bash
# Throughput of suite runs: the same 8 trainings one at a time, then two at a
# time on two cores. Prints runs/minute and the speed-up. A benchmark.
set -euo pipefail
bin=$1
dir=$(mktemp -d /tmp/posprobe-throughput-XXXXXX)
trap 'rm -rf "$dir"' EXIT
cat > "$dir/t.suite" <<'SUITE'
[suite]
name = throughput
seeds = 2
[defaults]
len = 16
eval-lens = 16
steps = 300
[grid main]
task = probe
encoding = none learned rope t5
SUITE
t() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc; }
one=$(t /usr/bin/python3 scripts/suite.py "$dir/t.suite" --posprobe "$bin" --results "$dir/j1" -j 1 --no-summarize)
two=$(t /usr/bin/python3 scripts/suite.py "$dir/t.suite" --posprobe "$bin" --results "$dir/j2" -j 2 --no-summarize)
echo
echo "suite throughput (8 probe runs of 300 steps): -j 1 $(printf %.1f "$one") s, -j 2 $(printf %.1f "$two") s, speed-up $(echo "scale=2; $one / $two" | bc)x on $(nproc) cores"
