#!/usr/bin/env bash
# Prints two examples of every task, in both forms, at a small length, with
# seed 1: the golden output of the generators (tests/fixtures/tasks_golden.txt).
set -euo pipefail
bin=$1
for task in $("$bin" list tasks | awk '{print $1}'); do
    n=4
    [ "$task" = probe2d ] && n=2
    for mask in bidir causal; do
        "$bin" examples --task "$task" --len "$n" --mask "$mask" --grid-w 3 --vocab 5 --count 2 --seed 1
    done
done
"$bin" examples --task probe --len 4 --markers bos --count 1 --seed 1
"$bin" examples --task reverse --len 4 --markers cls-sep --count 1 --seed 1
"$bin" examples --task repeat --len 3 --mask causal --eos 0 --count 1 --seed 1
