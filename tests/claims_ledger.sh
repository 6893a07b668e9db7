#!/usr/bin/env bash
# The claims ledger (CLAIMS.md) covers every claim id, names only tests,
# report sections, make targets and grids that exist, and agrees with the
# reference report's verdicts (tests/claims_ledger.py); and the check goes
# red on a ledger that lost a row, names a missing test or report section,
# has a row for an id not in the list, contradicts the report or its own
# tally.
# Usage: claims_ledger.sh POSPROBE (unused: the check is pure Python)
set -euo pipefail
dir=$(mktemp -d /tmp/posprobe-claims-XXXXXX)
trap 'rm -rf "$dir"' EXIT
py=/usr/bin/python3
fail() { echo "$*"; exit 1; }
$py tests/claims_ledger.py || fail "CLAIMS.md does not pass tests/claims_ledger.py"
report=results/reference/REPORT.md
# broken copies: each must fail with its own message
expect_fail() {   # NAME SED-SCRIPT MESSAGE
    sed "$2" CLAIMS.md > "$dir/$1.md"
    cmp -s CLAIMS.md "$dir/$1.md" && fail "$1: the edit changed nothing"
    st=0; $py tests/claims_ledger.py "$dir/$1.md" "$report" > "$dir/$1.out" || st=$?
    [ "$st" = 1 ] || fail "$1: exit $st, expected 1"
    grep -qF "$3" "$dir/$1.out" || fail "$1: no '$3' in: $(cat "$dir/$1.out")"
}
expect_fail missing-row '/^| T6 |/d' 'T6 has no ledger entry'
expect_fail missing-test 's/`test_t5_buckets`/`test_t5_bucketz`/' 'T5 names test_t5_bucketz, which tests/ does not define'
expect_fail missing-section 's/report § R7;/report § R77;/' 'R7 names report § R77'
expect_fail unknown-id 's/^| T6 |/| T7 |/' "ledger row 'T7' is not a claim"
expect_fail duplicate-row '/^| T6 |/p' 'T6 has more than one ledger row'
expect_fail bad-verdict 's/| inconclusive |$/| probably |/' "does not start with one of"
expect_fail no-reason 's/| not testable here: [^|]* |$/| not testable here |/' "without a reason"
expect_fail missing-grid 's/\[grid markers\]/[grid markerz]/' 'names [grid markerz]'
expect_fail missing-target 's/`make diagnose`/`make diagnosis`/' 'names make diagnosis'
# the report judged R7 inconclusive
expect_fail contradicts-report '/^| R7 |/s/| inconclusive |$/| held |/' "R7: the ledger says 'held', the report's summary 'inconclusive'"
# a claim id dropped from the list leaves its row without a claim
expect_fail id-list 's/^T1 T2 T3 T4 T5 T6$/T1 T2 T3 T4 T5/' "ledger row 'T6' is not a claim"
# a verdict changed without the tally
expect_fail stale-tally '/^| T6 |/s/| held ([^|]*) |$/| did not hold |/' 'the tally says'
echo "claims ledger: ok"
