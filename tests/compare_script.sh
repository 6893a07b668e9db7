#!/usr/bin/env bash
# make compare (scripts/compare.py) end to end on tiny suites: a reference is
# made from them first (two encodings, two seeds, with a grid of one encoding
# about its own option), then a new encoding is compared with it. Only the new
# encoding's runs of the grids that compare encodings run, with the
# reference's seeds; the reference is not written; SCORECARD.md names the new
# encoding in every table, says the baselines were not run again, and warns
# when the reference was made with another precision or records nothing; a
# changed suite is caught; --quick runs the [compare-quick] subset with seed 1;
# --baselines "+x" runs x too and marks it. suite.py --encodings adds ("+a")
# or replaces ("a b") in the grids that compare encodings only.
# Usage: compare_script.sh POSPROBE
set -euo pipefail
export POSPROBE_BIN=$1
posprobe=$1
dir=$(mktemp -d /tmp/posprobe-compare-XXXXXX)
trap 'rm -rf "$dir"' EXIT
py=/usr/bin/python3
fail() { echo "$*"; exit 1; }
mkdir "$dir/suites"
common='[defaults]
steps = 40
dim = 8
heads = 2
layers = 1'
cat > "$dir/suites/probe.suite" <<S
[suite]
name = probe
seeds = 2
$common
len = 4
eval-lens = 4
[compare-quick]
seeds = 1
norm = softmax
[grid main]
task = probe
encoding = none learned
norm = softmax l2
mask = bidir causal
[grid conv]
task = probe
encoding = conv
conv-kernel = 3 5
S
# fit-acc 0: every run fits at its first evaluation, so every cell has a score and a rank
cat > "$dir/suites/extrapolation.suite" <<S
[suite]
name = extrapolation
seeds = 2
fitted-only = 1
$common
len-min = 1
len-max = 3
vocab = 4
stop-at-fit = 1
eval-every = 20
fit-acc = 0
[compare-quick]
seeds = 1
mask = causal
[grid decoder]
mask = causal
eval-lens = 1-5
task = copy reverse
encoding = none learned
[grid encoder]
mask = bidir
eval-lens = 1-5
task = copy
encoding = none learned
S
ref=$dir/ref
for s in probe extrapolation; do
    $py scripts/suite.py "$dir/suites/$s.suite" --results "$ref/$s" -j 2 --posprobe "$posprobe" > "$dir/log" 2>&1 \
        || fail "making the reference's $s suite: $(cat "$dir/log")"
    [ -s "$ref/$s/provenance.csv" ] || fail "suite.py wrote no $s/provenance.csv"
done
grep -q "^[^,]*,$("$posprobe" version | sed 's/.*(\([a-z]*\),.*/\1/'),.*,20," "$ref/probe/provenance.csv" \
    || fail "provenance.csv: $(cat "$ref/probe/provenance.csv")"
"$posprobe" diagnose --all --len 4 --seeds 1 --quiet --out "$ref/diagnose.csv"
sums() { (cd "$ref" && find . -type f | sort | xargs md5sum); }
sums > "$dir/ref.md5"

# the comparison: alibi against none and learned
cmp=$dir/cmp
$py scripts/compare.py alibi --reference "$ref" --out "$cmp" --suites "$dir/suites" -j 2 --posprobe "$posprobe" \
    > "$dir/log" 2>&1 || fail "compare.py: $(cat "$dir/log")"
card=$cmp/SCORECARD.md
[ -s "$card" ] || fail "no SCORECARD.md"
sums | cmp -s - "$dir/ref.md5" || fail "compare.py wrote into the reference"
# only alibi's runs, of the grid that compares encodings (not conv's), with the reference's 2 seeds
n=$(ls "$cmp/probe/runs" | grep -vc '\.lock$' || true)
[ "$n" = 8 ] && [ -z "$(ls "$cmp/probe/runs" | grep -v '^probe-alibi-')" ] || fail "probe runs: $(ls "$cmp/probe/runs")"
n=$(ls "$cmp/extrapolation/runs" | grep -vc '\.lock$' || true)
[ "$n" = 6 ] || fail "extrapolation runs: $(ls "$cmp/extrapolation/runs")"
grep -q 'The baselines were not run again: the reference.s summaries are the baseline' "$card" \
    || fail "the scorecard does not say the reference is the baseline"
grep -q '^\*\*Warnings' "$card" && fail "warnings for a reference made by the same posprobe: $(grep -A3 Warnings "$card")"
grep -q '| probe | main | 8 | 2 | 16 of 16 | 0 |' "$card" || fail "what ran: $(grep '^| probe |' "$card")"
# every table that lists encodings (before the claims) has alibi's row, in bold
awk '/^## Claims/ { exit }
     /^\|/ && !t { t = 1; enc = ($0 ~ /^\| encoding/); has = 0; head = $0; tables++ }
     /^\|/ && /\*\*alibi/ { has = 1 }
     !/^\|/ && t { t = 0; if (enc && !has) { print "no alibi row under: " head; bad = 1 } if (enc) listed++ }
     END { if (listed < 7) { print listed " tables of encodings"; bad = 1 } exit bad }' "$card" > "$dir/tables" \
    || fail "$(cat "$dir/tables")"
for s in '## Probe outcome' '## diagnose' '## Length generalization' '## Claims of the report' \
         '| decoder | softmax | copy | 2/2 |' 'rank among the reference' '| R1 | '; do
    grep -qF "$s" "$card" || fail "the scorecard has no '$s'"
done
grep -q '^| \*\*alibi\*\* | bidir | ' "$card" || fail "alibi's rows are not bold in the claims' tables"
# alibi is in the reference's diagnose.csv too: the same verdicts again, so the claim does not move
grep -q '^| diagnose | .* | no |$' "$card" || fail "diagnose: $(grep '^| diagnose' "$card")"
for fig in probe_grid_markers-none.png diagnose_grid.png extrapolation_heatmap_causal.png extrapolation_copy.png; do
    [ -s "$cmp/figures/$fig" ] || fail "no figure $fig"
    grep -q "figures/$fig" "$card" || fail "the scorecard does not link $fig"
done
# the merged summaries hold the reference's rows and alibi's
[ "$(grep -c ',alibi,' "$cmp/merged/probe/summary.csv")" = 4 ] && [ "$(grep -c ',learned,' "$cmp/merged/probe/summary.csv")" = 4 ] \
    || fail "merged/probe/summary.csv: $(cut -d, -f1-4 "$cmp/merged/probe/summary.csv")"

# provenance: another precision in the reference warns; none recorded warns
cp -r "$ref" "$dir/ref2"
sed -i '2s/,float,/,elsewhere,/; 2s/,double,/,elsewhere,/' "$dir/ref2/probe/provenance.csv"
rm "$dir/ref2/extrapolation/provenance.csv"
(cd scripts && $py -c "
import compare
for s in ('probe', 'extrapolation'):
    print(*compare.provenance_warnings(s, '$dir/ref2/' + s, '$cmp/' + s)[1], sep='\n')") > "$dir/warns"
grep -q '^probe: the reference was made with precision elsewhere, these runs with \(float\|double\)' "$dir/warns" \
    || fail "no warning for another precision: $(cat "$dir/warns")"
grep -q 'ref2/extrapolation records no provenance.csv' "$dir/warns" || fail "no warning for a reference without provenance: $(cat "$dir/warns")"
[ "$(wc -l < "$dir/warns")" = 2 ] || fail "warnings: $(cat "$dir/warns")"
# a reference made at a commit whose training code differs from this tree's (where git can tell)
first=$(git rev-list --max-parents=0 HEAD 2>/dev/null | tail -1 || true)
if [ -n "$first" ] && ! git diff --quiet "$first" -- trainer 2>/dev/null; then
    sed -i "2s/,[^,]*\$/,$first/" "$dir/ref2/probe/provenance.csv"
    (cd scripts && $py -c "
import compare
print(*compare.provenance_warnings('probe', '$dir/ref2/probe', '$cmp/probe')[1], sep='\n')") > "$dir/warns"
    grep -q "^probe: the training code differs from the reference's commit $first in [0-9]* files (" "$dir/warns" \
        || fail "no warning for another commit's code: $(cat "$dir/warns")"
fi
# a suite changed since the reference was made: the cells are not like-for-like, and the scorecard says so
cp -r "$dir/suites" "$dir/suites2"
sed -i 's/^steps = 40$/steps = 41/' "$dir/suites2/probe.suite"
$py scripts/compare.py alibi --reference "$ref" --out "$dir/cmp2" --suites "$dir/suites2" -j 2 --quick \
    --baselines "+rope" --posprobe "$posprobe" > "$dir/log" 2>&1 || fail "compare.py --quick: $(cat "$dir/log")"
grep -q 'of the 4 runs of the reference encodings in these grids .*, the reference ran 0 with the same options' \
    "$dir/cmp2/SCORECARD.md" || fail "a changed suite is not caught: $(grep -A4 Warnings "$dir/cmp2/SCORECARD.md")"
grep -q 'warning: probe: of the 4 runs' "$dir/log" || fail "the warning is not on stderr: $(cat "$dir/log")"
# --quick: the [compare-quick] subset, seed 1; "+rope": rope ran too (the reference has none) and is marked
grep -q 'A quick comparison (QUICK=1)' "$dir/cmp2/SCORECARD.md" || fail "no QUICK banner"
ls "$dir/cmp2/probe/runs" | grep -v '\.lock$' | sort > "$dir/quick-runs"
[ "$(grep -c -- '-softmax-.*-s1-' "$dir/quick-runs")" = 4 ] && [ "$(wc -l < "$dir/quick-runs")" = 4 ] \
    || fail "quick probe runs: $(cat "$dir/quick-runs")"
[ "$(ls "$dir/cmp2/extrapolation/runs" | grep -v '\.lock$' | grep -c -- '-causal-s1-')" = 4 ] \
    || fail "quick extrapolation runs: $(ls "$dir/cmp2/extrapolation/runs")"
grep -q '^| rope † | ' "$dir/cmp2/SCORECARD.md" || fail "rope is not marked as run now"
grep -q 'except rope (†), which the reference does not hold' "$dir/cmp2/SCORECARD.md" || fail "rope ran now, unsaid"

# errors: one line, exit 2, nothing written
for bad in "no-such-encoding" ""; do
    st=0; $py scripts/compare.py "$bad" --reference "$ref" --out "$dir/bad" --suites "$dir/suites" \
        --posprobe "$posprobe" 2> "$dir/err" || st=$?
    [ "$st" = 2 ] && [ "$(wc -l < "$dir/err")" = 1 ] && grep -q '^posprobe: error: ' "$dir/err" && [ ! -e "$dir/bad" ] \
        || fail "compare.py '$bad': exit $st: $(cat "$dir/err")"
done
st=0; $py scripts/compare.py alibi --reference "$ref" --out "$ref/cmp" --posprobe "$posprobe" 2> "$dir/err" || st=$?
[ "$st" = 2 ] && grep -q 'inside the reference' "$dir/err" || fail "--out inside the reference: exit $st: $(cat "$dir/err")"
sums | cmp -s - "$dir/ref.md5" || fail "compare.py wrote into the reference"

# suite.py --encodings: "+a" adds to the grids that compare encodings, "a b" replaces there and drops a grid of
# one encoding unless it is named; a mix is refused
count() { $py scripts/suite.py "$dir/suites/probe.suite" --list --posprobe "$posprobe" "$@" | wc -l; }
[ "$(count)" = 20 ] || fail "the tiny probe suite has $(count) runs"
[ "$(count --encodings +alibi)" = 28 ] || fail "--encodings +alibi: $(count --encodings +alibi) runs"
[ "$(count --encodings alibi)" = 8 ] || fail "--encodings alibi: $(count --encodings alibi) runs"
[ "$(count --encodings 'conv none')" = 20 ] || fail "--encodings 'conv none': $(count --encodings 'conv none') runs"
st=0; count --encodings '+alibi none' 2> "$dir/err" > /dev/null || st=$?
grep -q "either every name with '+'" "$dir/err" || fail "a mixed --encodings: $(cat "$dir/err")"
echo "compare.py: alibi's runs beside a tiny reference, in every table; warnings, --quick, --baselines, errors"
