#!/usr/bin/env bash
# scripts/report.py and scripts/suite.py as commands: --help and a missing
# directory end without a traceback; the QUICK banner counts every run's seed
# (runs.csv), not the fitted ones; the fit table counts each setting and seed
# once (no duplicates, no unfinished reruns); --fit-acc is the runs' own; the
# document is in order (title, banner, header, Summary, Claims, then each
# claim whole) with or without the probe suite; a threshold verdict's seeds,
# margin and one-seed-dropped check.
# Usage: report_script.sh POSPROBE (the scripts ask it for the catalogue: list ... --csv)
set -euo pipefail
export POSPROBE_BIN=$1
dir=$(mktemp -d /tmp/posprobe-report-XXXXXX)
trap 'rm -rf "$dir"' EXIT
py=/usr/bin/python3
fail() { echo "$*"; exit 1; }
# REPORT.md's sections in order: the title, the QUICK banner when $2 is 1,
# "## Summary", "## Claims", and only then the first claim ("### "), whose
# heading is followed by a blank line and its "- Source:" line
in_order() {
    awk -v banner="$2" '
        NR == 1 && $0 != "# posprobe report" { print "line 1: " $0; bad = 1 }
        /one-seed smoke run/ { b = NR }
        /^## Summary$/ { s = NR }
        /^## Claims$/ { c = NR }
        /^### / && !h { h = NR; want = NR + 2 }
        NR == want && !/^- Source: / { print "the first claim is cut: line " NR ": " $0; bad = 1 }
        END {
            if (banner == 1 && b != 3) { print "the QUICK banner is on line " b ", not 3"; bad = 1 }
            if (!(s && c && h && s < c && c < h)) { print "Summary on line " s ", Claims on " c ", first claim on " h; bad = 1 }
            exit bad
        }' "$1" || fail "REPORT.md out of order (banner $2)"
}
$py scripts/report.py --help > "$dir/help" 2>&1 || fail "report.py --help failed"
grep -q '^usage: report.py' "$dir/help" || fail "report.py --help prints no usage"
$py scripts/suite.py --help > "$dir/help" 2>&1 || fail "suite.py --help failed"
tr '\n' ' ' < "$dir/help" | grep -q 'shows overall progress, and summarizes\.' || fail "suite.py --help is cut short"
# suite.py reads posprobe's exit statuses by name: the numbers main.c maps kinds to
for name in EXIT_USAGE EXIT_DIVERGED EXIT_INTERRUPTED; do
    c=$(grep -o "$name = [0-9]*" trainer/cli/main.c | head -1 | awk '{print $3}')
    py_v=$($py -c "import sys; sys.path.insert(0, 'scripts'); import suite; print(suite.$name)")
    [ -n "$c" ] && [ "$c" = "$py_v" ] || fail "suite.py's $name is $py_v, main.c's is '$c'"
done
mkdir "$dir/empty"
# a --posprobe that prints something else than posprobe's catalogue: refused, REPORT.md not written
printf '#!/bin/sh\necho garbage\n' > "$dir/garbage" && chmod +x "$dir/garbage"
st=0; $py scripts/report.py "$dir/empty" --posprobe "$dir/garbage" 2> "$dir/err" || st=$?
[ "$st" = 2 ] && [ "$(wc -l < "$dir/err")" = 1 ] && grep -q "not posprobe's catalogue" "$dir/err" && [ ! -e "$dir/empty/REPORT.md" ] \
    || fail "report.py with a --posprobe that is not posprobe: exit $st: $(cat "$dir/err")"
st=0; $py scripts/report.py "$dir/empty" --posprobe "$dir/no-such-posprobe" 2> "$dir/err" || st=$?
[ "$st" = 2 ] && [ "$(wc -l < "$dir/err")" = 1 ] && grep -q '^posprobe: error: .*no-such-posprobe: cannot run' "$dir/err" \
    || fail "report.py without a posprobe to ask: exit $st: $(cat "$dir/err")"
st=0; $py scripts/report.py "$dir/nonexistent" 2> "$dir/err" || st=$?
[ "$st" = 2 ] || fail "report.py on a missing directory: exit $st"
[ "$(wc -l < "$dir/err")" = 1 ] && grep -q '^posprobe: error: ' "$dir/err" || fail "report.py: $(cat "$dir/err")"
# one setting (fitted-only): seed 1 fitted, 2 not fitted, 1 again (a
# duplicate), 3 left unfinished, 4 diverged: 1 of 3 fitted, two seeds run
res=$dir/res
mkdir -p "$res/extrapolation/runs/r1"
f="copy,rope,softmax,causal,none,sequential,auto,00000000000000aa,"
cat > "$res/extrapolation/runs.csv" <<CSV
run_id,task,encoding,norm,mask,markers,positions,head,config_id,variant,seed,status,fitted,fit_step,fit_seq_acc,reason,path
r1,${f},1,finished,1,100,1,,x
r2,${f},2,finished,0,,0.5,,x
r1b,${f},1,duplicate,1,100,1,the same setting and seed as r1,x
r3,${f},3,unfinished,,,,no summary.csv,x
r4,${f},4,diverged,,,,,x
n1,copy,none,softmax,bidir,none,sequential,auto,00000000000000bb,,1,finished,0,,0.25,,x
n2,parity,none,softmax,bidir,none,sequential,auto,00000000000000cc,,1,finished,1,300,1,,x
CSV
cat > "$res/extrapolation/horizons.csv" <<CSV
task,encoding,norm,mask,markers,positions,head,config_id,variant,eval_mode,train_len,n_seeds,horizon_90,horizon_50,horizon_90_ratio,horizon_50_ratio,acc_beyond_train,n_lengths_beyond,seq_horizon_90,seq_horizon_50,seq_acc_beyond_train,length_acc_beyond_train,acc_beyond_ci_lo,acc_beyond_ci_hi,seq_acc_beyond_ci_lo,seq_acc_beyond_ci_hi,n_diverged,n_unfinished,n_not_fitted
copy,rope,softmax,causal,none,sequential,auto,00000000000000aa,,greedy,6,1,6,6,1,1,0.5,2,6,6,0.25,0.5,,,,,1,1,1
CSV
printf 'key,value\ntask,copy\nlen-min,2\nlen-max,6\nfit-acc,0.95\nseed,1\n' > "$res/extrapolation/runs/r1/config.csv"
$py scripts/report.py "$res" 2>/dev/null
rep=$res/REPORT.md
in_order "$rep" 0   # no probe suite: the summary still comes before the first claim
grep -q 'one-seed smoke run' "$rep" && fail "QUICK banner on a suite with two seeds per setting"
grep -q '| decoder | 1/3 (33%) | 1/3 (33%) | 0.50 (n=1) |' "$rep" || fail "fit table: $(grep '| decoder |' "$rep")"
# NoPE, bidirectional, copy cannot fit by construction: out of the second column, marked x in its cell
grep -q '| encoder | 1/2 (50%) | 1/1 (100%) | 0.25 (n=1) |' "$rep" || fail "fit table: $(grep '| encoder |' "$rep")"
grep -q '| none | 0/1 (0.25) x | 1/1 |' "$rep" || fail "fit cells: $(grep '| none |' "$rep")"
grep -q '`--fit-acc` = 0.95' "$rep" && grep -q 'lengths 2..N = 6' "$rep" || fail "fit-acc/lengths not the runs': $(grep 'Trained on' "$rep")"
rm -r "$res/extrapolation/runs"
$py scripts/report.py "$res" 2>/dev/null
grep -q "the run's \`--fit-acc\`" "$rep" || fail "no run directory: $(grep 'Trained on' "$rep")"
# one seed per setting: the banner is there
sed -i '/^r[234],/d;/^n[12],/d' "$res/extrapolation/runs.csv"
$py scripts/report.py "$res" 2>/dev/null
grep -q 'one-seed smoke run' "$rep" || fail "no QUICK banner on a one-seed suite"
in_order "$rep" 1
# how a threshold verdict rests on its seeds: the margin is the nearest cell's distance to the threshold
# that changes the verdict, and dropping one seed is checked at each cell's lowest and highest seed
$py - <<'PY' || fail "report.py's seed basis of threshold verdicts"
import sys
sys.path.insert(0, "scripts")
import report as R
import statistics as st
def cell(enc, accs):
    m = st.mean(accs)
    h = 0.1 if len(accs) > 1 else float("nan")
    return {"encoding": enc, "norm": "softmax", "mask": "bidir", "markers": "none", "variant": "",
            "n_seeds": str(len(accs)), "token_acc_mean": repr(m), "token_acc_ci_lo": repr(m - h),
            "token_acc_ci_hi": repr(m + h), "token_acc_min": repr(min(accs)), "token_acc_max": repr(max(accs))}
v, b = R.threshold_verdict([cell("a", [1, 1, 1]), cell("b", [1, 1, 0.88])], *R.RULE_PASS)
assert v == "held" and b.seeds == "3" and b.n_cells == 2, (v, b.seeds)
assert abs(b.margin[0] - 0.01) < 1e-9 and b.margin[1] == "b bidir" and b.margin[5] == "inconclusive", b.margin
assert b.flips == [("b bidir", 1.0, "inconclusive")], b.flips   # without a seed at 1: (1 + 0.88) / 2 = 0.94
v, b = R.threshold_verdict([cell("a", [1, 1, 1]), None], *R.RULE_PASS)
assert v == "held" and b.flips == [] and b.dropped_text() == "unchanged" and abs(b.margin[0] - 0.05) < 1e-9
v, b = R.threshold_verdict([cell("a", [0.0625, 0.0625]), cell("b", [0.0625, 0.07])], *R.rule_fail(1 / 16))
assert v == "held" and abs(b.margin[0] - (0.0825 - 0.06625)) < 1e-9 and b.margin[1] == "b bidir", b.margin
v, b = R.threshold_verdict([cell("a", [1.0])], *R.RULE_PASS)
assert b.flips == [] and b.dropped_text() == "not checked (one seed)"
v, b = R.threshold_verdict([cell("a", [0.2]), cell("b", [0.3])], *R.RULE_PASS)   # two cells below 0.5
assert v == "did not hold" and b.margin is None, b.margin
assert R.threshold_verdict([None], *R.RULE_PASS) == ("inconclusive (not run)", None)
# cells without seed extremes, with one seed, or without a mean (every seed diverged) are left out of the
# one-seed-dropped check one at a time, and said so; the others are still checked
bad = dict(cell("b", [1, 1, 0.88]), token_acc_min="", token_acc_max="x")
v, b = R.threshold_verdict([cell("a", [1, 1, 0.88]), bad, cell("c", [1.0])], *R.RULE_PASS)
assert v == "held" and b.flips == [("a bidir", 1.0, "inconclusive")] and len(b.unchecked) == 2, (b.flips, b.unchecked)
assert "2 of 3 cells not checked" in b.dropped_text(), b.dropped_text()
dead = dict(cell("d", [0.5]), n_seeds="0", token_acc_mean="", token_acc_min="", token_acc_max="")
v, b = R.threshold_verdict([dead, cell("a", [1, 1, 1])], *R.RULE_PASS)
assert b.margin is not None and b.margin[1] == "a bidir" and b.seeds == "0-3", (b.margin, b.seeds)
# a verdict no mean decides (R10 with a diagnose verdict that is not mirror-tied) says so
v, b = R.threshold_verdict([cell("a", [0.3, 0.3])], lambda means: "did not hold", (0.5,))
assert b.margin is None and "other condition" in b.margin_text(), b.margin_text()
PY
# make probe-seeds' cells (the same config_id with more seeds) replace the probe suite's in the claims
# that read them (R2, R7), which say so
mkdir -p "$dir/seeds/probe" "$dir/seeds/probe-seeds"
cp results/reference/probe/summary.csv "$dir/seeds/probe/"
$py scripts/report.py "$dir/seeds" 2>/dev/null
! grep -q 'from `make probe-seeds`' "$dir/seeds/REPORT.md" || fail "a probe-seeds note without make probe-seeds' runs"
grep -q '^| R7 | inconclusive | 10 |.*| \*\*changes\*\*' "$dir/seeds/REPORT.md" || fail "R7 at 10 seeds: $(grep '^| R7 ' "$dir/seeds/REPORT.md")"
cp results/reference/probe-seeds/summary.csv "$dir/seeds/probe-seeds/"
$py scripts/report.py "$dir/seeds" 2>/dev/null
[ "$(grep -c 'from `make probe-seeds`' "$dir/seeds/REPORT.md")" = 2 ] && grep -q '^| bidir | 0.915 \[.*(n=30) |' "$dir/seeds/REPORT.md" \
    && grep -q '^| R7 | inconclusive | 30 |.*| unchanged |' "$dir/seeds/REPORT.md" \
    && grep -q '^| R2 | inconclusive | 10-30 |' "$dir/seeds/REPORT.md" \
    || fail "R2 and R7 on probe-seeds' cells: $(grep '^| R[27] \|probe-seeds' "$dir/seeds/REPORT.md")"
# ... but not when it ran fewer seeds than the probe suite (QUICK or SEEDS=), and rows without a mean are counted
/usr/bin/python3 - "$dir/seeds/probe-seeds/summary.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
for r in rows:
    if r["encoding"] == "urpe":
        r["n_seeds"] = "5"
    elif r["mask"] == "causal":
        r["token_acc_mean"] = ""
w = csv.DictWriter(open(sys.argv[1], "w", newline=""), fieldnames=list(rows[0]))
w.writeheader()
w.writerows(rows)
PY
$py scripts/report.py "$dir/seeds" 2>/dev/null
! grep -q '(n=5)' "$dir/seeds/REPORT.md" || fail "a probe-seeds cell with fewer seeds than the probe suite's"
grep -q '^recursive bidir: from `make probe-seeds`.*; 1 probe-seeds rows without a mean or a seed count left out\.$' \
    "$dir/seeds/REPORT.md" || fail "a probe-seeds row without a mean: $(grep 'probe-seeds' "$dir/seeds/REPORT.md")"
rm "$dir/seeds/probe/summary.csv"
$py scripts/report.py "$dir/seeds" 2>/dev/null
grep -q '^`probe-seeds/` is here, but its cells only stand in' "$dir/seeds/REPORT.md" || fail "probe-seeds without the probe suite is not said"
# results made before normalizers.suite hold R11's runs in extrapolation/ too: with normalizers/ there they
# are left out (one warning), so no normalizer setting is counted twice
mkdir -p "$dir/old"
cp -r results/reference/extrapolation results/reference/normalizers "$dir/old/"
tail -n +2 results/reference/normalizers/runs.csv >> "$dir/old/extrapolation/runs.csv"
$py scripts/report.py "$dir/old" 2> "$dir/old/err" > /dev/null
[ "$(grep -c 'normalizer runs from before normalizers.suite are left out' "$dir/old/err")" = 1 ] \
    || fail "old-layout normalizer runs: $(cat "$dir/old/err")"
grep -q '^| normalizers decoder | 24/24 (100%) |' "$dir/old/REPORT.md" \
    || fail "normalizer runs counted twice: $(grep '^| normalizers' "$dir/old/REPORT.md")"
rm -r "$dir/old/normalizers"   # without normalizers/ they are R11's runs, judged and not called missing
$py scripts/report.py "$dir/old" 2> "$dir/old/err" > /dev/null
grep -q '^| normalizers decoder | 24/24 (100%) |' "$dir/old/REPORT.md" && ! grep -q 'no `normalizers/`' "$dir/old/REPORT.md" \
    && ! grep -q warning "$dir/old/err" || fail "old layout without normalizers/: $(grep -c 'no `normalizers/`' "$dir/old/REPORT.md") $(cat "$dir/old/err")"
echo "report.py and suite.py: help, errors, QUICK banner, fit table, fit-acc, section order, seed basis, probe-seeds cells and old-layout normalizer runs checked"
