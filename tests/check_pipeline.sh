#!/usr/bin/env bash
# Checks what `make reproduce QUICK=1` left in RESULTS: every stage's output
# exists, is complete and says what it should. Usage: check_pipeline.sh RESULTS
set -euo pipefail
r=$1
fail() { echo "pipeline check: $*"; exit 1; }
for f in probe/summary.csv probe/horizons.csv probe/runs.csv extrapolation/summary.csv extrapolation/runs.csv normalizers/runs.csv \
         diagnose.csv curves/rope_decay.csv REPORT.md; do
    [ -s "$r/$f" ] || fail "$r/$f is missing or empty"
done
! grep -q ',unfinished,\|,unreadable,' "$r/probe/runs.csv" "$r/extrapolation/runs.csv" || fail "unfinished runs"
[ "$(tail -n +2 "$r/probe/runs.csv" | wc -l)" -ge 50 ] || fail "too few probe runs"
n_fig=$(ls "$r/figures"/*.png | wc -l)
[ "$n_fig" -ge 10 ] || fail "only $n_fig figures"
for fig in probe_grid_markers-none.png rope_decay.png sinusoidal_inner.png diagnose_grid.png layerprobe.png; do
    [ -s "$r/figures/$fig" ] || fail "figure $fig missing"
done
grep -q '^## Summary' "$r/REPORT.md" || fail "REPORT.md has no summary"
grep -q 'claims held' "$r/REPORT.md" || fail "REPORT.md has no verdict count"
# the claims that hold at any training budget must hold even in the quick run
for c in R1 R2 S3; do
    grep -q "^| $c[^|]* | held |" "$r/REPORT.md" || fail "claim $c did not hold in the quick run"
done
echo "pipeline check: $r complete ($n_fig figures)"
