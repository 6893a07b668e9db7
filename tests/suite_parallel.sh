#!/usr/bin/env bash
# The GNU parallel path for real: --emit parallel writes a job list, GNU
# parallel runs it, summarize aggregates; and --emit slurm writes an array
# script over the same list. Usage: suite_parallel.sh POSPROBE
set -euo pipefail
bin=$1
command -v parallel >/dev/null || { echo "GNU parallel is not installed (apt-get install parallel)"; exit 1; }
dir=$(mktemp -d /tmp/posprobe-parallel-XXXXXX)
trap 'rm -rf "$dir"' EXIT
. "$(dirname "$0")/tiny_suite.sh"
tiny_suite "$dir/tiny.suite" 2 5 40 '[grid main]' 'task = probe' 'encoding = none learned' 'norm = softmax l2'
/usr/bin/python3 scripts/suite.py "$dir/tiny.suite" --posprobe "$bin" --results "$dir/res" --emit parallel > /dev/null
[ "$(wc -l < "$dir/res/jobs.txt")" = 8 ] || { echo "expected 8 jobs"; exit 1; }
parallel --will-cite --jobs 2 < "$dir/res/jobs.txt" 2>/dev/null
# a second pass redoes nothing
parallel --will-cite --jobs 2 < "$dir/res/jobs.txt" 2>"$dir/again"
grep -q "(1 already finished, 0 now" "$dir/again" || { echo "the second pass re-ran finished runs"; exit 1; }
"$bin" summarize "$dir/res" 2>/dev/null
[ "$(tail -n +2 "$dir/res/runs.csv" | grep -c ',finished,')" = 8 ] || { echo "not all 8 runs finished"; exit 1; }
[ "$(tail -n +2 "$dir/res/summary.csv" | wc -l)" = 4 ] || { echo "expected 4 groups"; exit 1; }
/usr/bin/python3 scripts/suite.py "$dir/tiny.suite" --posprobe "$bin" --results "$dir/res" --emit slurm > /dev/null
grep -q '^#SBATCH --array=1-8$' "$dir/res/slurm.sh" || { echo "slurm array script wrong"; exit 1; }
bash -n "$dir/res/slurm.sh"
# the array script runs task 3 like Slurm would
SLURM_ARRAY_TASK_ID=3 bash "$dir/res/slurm.sh" 2>"$dir/slurm_log"
grep -q "(1 already finished" "$dir/slurm_log" || { echo "slurm task did not resolve to a finished run"; exit 1; }
echo "parallel: 8 runs through GNU parallel, summarized into 4 groups; slurm script checked"
