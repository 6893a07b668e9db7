#!/usr/bin/env bash
# kill -9 at random moments of a training run, many times: afterwards every
# file of the run directory is either absent or complete (a *.tmp file is the
# only partial state), a summary.csv means every other file is complete, and
# running again finishes the run (or, when it had finished, is refused). Usage: kill_runs.sh POSPROBE [TIMES]
set -euo pipefail
bin=$1
times=${2:-12}
dir=$(mktemp -d /tmp/posprobe-kill-XXXXXX)
trap 'rm -rf "$dir"' EXIT
args=(train --quiet --task copy --len 6 --eval-lens 2-8 --eval-every 40 --steps 400 --dim 16 --batch 8 --eval-size 8)
check_complete() { # every non-tmp CSV parses with a full last line, the checkpoint loads
    local d=$1
    for f in "$d"/*.csv; do
        [ -e "$f" ] || continue
        [ -z "$(tail -c 1 "$f")" ] || { echo "$f ends mid-line"; return 1; }
    done
    if [ -e "$d/checkpoint.bin" ]; then "$bin" eval --checkpoint "$d" --eval-lens 2 >/dev/null || { echo "$d/checkpoint.bin unreadable"; return 1; }; fi
    if [ -e "$d/summary.csv" ]; then
        for f in config.csv train.csv eval.csv checkpoint.bin; do [ -e "$d/$f" ] || { echo "summary without $f"; return 1; }; done
    fi
}
killed=0
for i in $(seq 1 "$times"); do
    d="$dir/run$i"
    "$bin" "${args[@]}" --seed "$i" --out "$d" &
    pid=$!
    sleep "0.$(( RANDOM % 5 ))$(( RANDOM % 10 ))"
    if kill -9 "$pid" 2>/dev/null; then killed=$((killed + 1)); fi
    wait "$pid" 2>/dev/null || true
    check_complete "$d"
    # resume: run again into the same directory, it must finish and be complete;
    # a run that finished before the kill is refused instead (exit 2) and kept
    if grep -q ',finished,' "$d/summary.csv" 2>/dev/null; then
        before=$(stat -c '%Y %i' "$d/summary.csv")
        set +e; "$bin" "${args[@]}" --seed "$i" --out "$d" 2>/dev/null; rc=$?; set -e
        [ "$rc" = 2 ] && [ "$(stat -c '%Y %i' "$d/summary.csv")" = "$before" ] || { echo "run $i: finished, then trained again (exit $rc)"; exit 1; }
    else
        "$bin" "${args[@]}" --seed "$i" --out "$d"
    fi
    check_complete "$d"
    grep -q ',finished,' "$d/summary.csv" || { echo "run $i did not finish after the restart"; exit 1; }
    ! ls "$d"/*.tmp >/dev/null 2>&1 || { echo "run $i left temporary files after finishing"; exit 1; }
done
echo "kill: $times runs, $killed killed mid-run; every directory complete or resumable"
