#!/usr/bin/env bash
# Kills a suite midway (the runner and its trainings, as a crash or reboot
# would) and restarts it: every run must finish, none may run twice, and the
# runs finished before the kill must be untouched. Also Ctrl-C (SIGINT):
# interrupted runs are redone on resume. Usage: suite_resume.sh POSPROBE
set -euo pipefail
bin=$1
dir=$(mktemp -d /tmp/posprobe-resume-XXXXXX)
trap 'rm -rf "$dir"' EXIT
. "$(dirname "$0")/tiny_suite.sh"
tiny_suite "$dir/tiny.suite" 3 6 400 'batch = 8' 'eval-size = 8' '[grid main]' 'task = probe' 'encoding = none learned rope shaw'
total=$(/usr/bin/python3 scripts/suite.py "$dir/tiny.suite" --posprobe "$bin" --list | wc -l)
[ "$total" = 12 ] || { echo "expected 12 runs, got $total"; exit 1; }
# (grep finds nothing -> status 1: keep set -e and pipefail from ending the script)
finished() { { grep -l '^[^,]*,finished' "$dir"/res/runs/*/summary.csv 2>/dev/null || true; } | wc -l; }

# 1. kill -9 the whole process group once at least 3 runs have finished
setsid /usr/bin/python3 scripts/suite.py "$dir/tiny.suite" --posprobe "$bin" --results "$dir/res" -j 2 \
    --no-summarize 2>"$dir/log1" &
pid=$!
for _ in $(seq 1 600); do [ "$(finished)" -ge 3 ] && break; sleep 0.05; done
kill -9 -- -"$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
before=$(finished)
[ "$before" -ge 3 ] && [ "$before" -lt "$total" ] || { echo "kill came too late or too early: $before of $total"; exit 1; }
stat -c '%n %Y %i' "$dir"/res/runs/*/summary.csv | sort > "$dir/stamps_before"
/usr/bin/python3 scripts/suite.py "$dir/tiny.suite" --posprobe "$bin" --results "$dir/res" -j 2 2>"$dir/log2"
grep -q "($before already finished, $((total - before)) now, 0 failed" "$dir/log2" || { cat "$dir/log2"; echo "resume did not redo exactly the unfinished runs"; exit 1; }
[ "$(finished)" = "$total" ] || { echo "not every run finished"; exit 1; }
# the runs finished before the kill were not rewritten
while read -r f t i; do
    [ "$(stat -c '%Y %i' "$f")" = "$t $i" ] || { echo "$f was rewritten"; exit 1; }
done < "$dir/stamps_before"
[ "$(tail -n +2 "$dir/res/runs.csv" | grep -c ',finished,')" = "$total" ] || { echo "summarize does not see every run"; exit 1; }

# 2. Ctrl-C: SIGINT to the runner; interrupted runs are marked and redone
rm -rf "$dir/res"
/usr/bin/python3 scripts/suite.py "$dir/tiny.suite" --posprobe "$bin" --results "$dir/res" -j 2 --no-summarize \
    2>"$dir/log3" &
pid=$!
for _ in $(seq 1 600); do [ "$(finished)" -ge 2 ] && break; sleep 0.05; done
kill -INT "$pid" || { echo "the runner ended before it could be interrupted"; exit 1; }
set +e; wait "$pid"; rc=$?; set -e
[ "$rc" = 130 ] || { echo "an interrupted suite should exit 130, got $rc"; exit 1; }
interrupted=$({ grep -l '^[^,]*,interrupted' "$dir"/res/runs/*/summary.csv 2>/dev/null || true; } | wc -l)
before=$(finished)
/usr/bin/python3 scripts/suite.py "$dir/tiny.suite" --posprobe "$bin" --results "$dir/res" -j 2 --no-summarize 2>"$dir/log4"
grep -q "($before already finished, $((total - before)) now, 0 failed" "$dir/log4" || { cat "$dir/log4"; exit 1; }
[ "$(finished)" = "$total" ] || { echo "not every run finished after Ctrl-C and resume"; exit 1; }
echo "resume: killed at $((before)) / $total, $interrupted interrupted by SIGINT; all $total finished once"
