#!/usr/bin/env bash
# Throughput of suite runs: the same 12 trainings one at a time, then two at a
# time on two cores. Prints the wall time of each, the speed-up, and the mean
# time of one training inside each suite (from the runs' summary.csv), which
# separates contention (runs slow down when paired) from the runner's own
# overhead and the imbalance at the end. A benchmark, never a test.
set -euo pipefail
bin=$1
steps=${THROUGHPUT_STEPS:-1200}
dir=$(mktemp -d /tmp/posprobe-throughput-XXXXXX)
trap 'rm -rf "$dir"' EXIT
cat > "$dir/t.suite" <<SUITE
[suite]
name = throughput
seeds = 3
[defaults]
len = 16
eval-lens = 16
steps = $steps
[grid main]
task = probe
encoding = none learned rope t5
SUITE
t() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc; }
mean_run() { cat "$1"/runs/*/summary.csv | awk -F, '$1 != "run_id" { s += $NF; n++ } END { printf "%.2f", s / n }'; }
one=$(t /usr/bin/python3 scripts/suite.py "$dir/t.suite" --posprobe "$bin" --results "$dir/j1" -j 1 --no-summarize)
two=$(t /usr/bin/python3 scripts/suite.py "$dir/t.suite" --posprobe "$bin" --results "$dir/j2" -j 2 --no-summarize)
echo
echo "suite throughput (12 probe runs of $steps steps): -j 1 $(printf %.1f "$one") s, -j 2 $(printf %.1f "$two") s," \
     "speed-up $(echo "scale=2; $one / $two" | bc)x on $(nproc) cores;" \
     "one training takes $(mean_run "$dir/j1") s alone and $(mean_run "$dir/j2") s beside another"
