#!/usr/bin/env bash
# scripts/plots.py renders every figure from a small committed fixture
# (tests/fixtures/plots: cuts of results/reference and of a QUICK run, with the
# extrapolation summary gzipped as in the reference and one diagnose row made
# 'mixed' and not the expected verdict) and tests/plots_check.py checks each
# figure (colour bars, lines, legends, overlapping text, integer ticks, every
# attention head; a matplotlib warning, e.g. a layout it could not apply, fails)
# and each PNG; a results directory with nothing in it gives no
# figure and no error.
# Usage: plots_script.sh POSPROBE (the scripts ask it for the catalogue: list ... --csv)
set -euo pipefail
export POSPROBE_BIN=$1
dir=$(mktemp -d /tmp/posprobe-plots-XXXXXX)
trap 'rm -rf "$dir"' EXIT
py=/usr/bin/python3
fail() { echo "$*"; exit 1; }
cp -r tests/fixtures/plots "$dir/res"
MPLBACKEND=Agg $py -W error::UserWarning tests/plots_check.py "$dir/res" > "$dir/log" 2>&1 || fail "$(cat "$dir/log")"
grep -q '^plots_check: 15 figures, 0 problems$' "$dir/log" || fail "$(cat "$dir/log")"
mkdir "$dir/empty"
$py scripts/plots.py "$dir/empty" > "$dir/log" 2>&1 || fail "plots.py on an empty directory: $(cat "$dir/log")"
# (matplotlib may add a line of its own, e.g. when it first builds its font cache)
grep -q '^posprobe plots: 0 figures in ' "$dir/log" && ! grep -q 'Traceback\|Warning' "$dir/log" \
    || fail "plots.py on an empty directory: $(cat "$dir/log")"
[ -z "$(ls "$dir/empty/figures")" ] || fail "plots.py on an empty directory wrote $(ls "$dir/empty/figures")"
# a results directory that does not exist is refused, not created
st=0; $py scripts/plots.py "$dir/no-such-results" > "$dir/log" 2>&1 || st=$?
[ "$st" = 2 ] && [ ! -e "$dir/no-such-results" ] && grep -q '^posprobe: error: .*not a directory' "$dir/log" \
    || fail "plots.py on a missing directory: exit $st, $(cat "$dir/log")"
echo "plots.py: 15 figures from the fixture checked; an empty directory gives none"
