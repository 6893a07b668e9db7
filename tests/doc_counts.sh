#!/usr/bin/env bash
# The numbers the documentation states about the program and its tests hold
# (tests/doc_counts.py: encodings, tasks, parity fixtures, the rows of the
# input tests, diagnose's configurations, the task example table), and the
# check goes red on documentation that drifted: each broken copy below must
# fail with its message.
# Usage: tests/doc_counts.sh POSPROBE
set -euo pipefail
bin=$1
py=/usr/bin/python3
dir=$(mktemp -d /tmp/posprobe-doccounts-XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail() { echo "$*"; exit 1; }
$py tests/doc_counts.py "$bin" || fail "tests/doc_counts.py failed"
# a copy of what the check reads, with FILE edited by SED: it must exit 1 naming MESSAGE
expect_fail() {   # NAME FILE SED MESSAGE
    rm -rf "$dir/repo" && mkdir -p "$dir/repo/tests"
    cp -r README.md Makefile docs "$dir/repo/" && cp tests/*.c tests/claims_ledger.sh "$dir/repo/tests/"
    ln -s "$PWD/tests/fixtures" "$dir/repo/tests/fixtures"
    sed -i "$3" "$dir/repo/$2"
    cmp -s "$2" "$dir/repo/$2" && fail "$1: the edit changed nothing"
    st=0; $py tests/doc_counts.py "$bin" "$dir/repo" > "$dir/out" || st=$?
    [ "$st" = 1 ] || fail "$1: exit $st, expected 1: $(cat "$dir/out")"
    grep -qF "$4" "$dir/out" || fail "$1: no '$4' in: $(cat "$dir/out")"
}
expect_fail encodings README.md 's/one file each, 24 of them/one file each, 25 of them/' 'README.md: says 25'
expect_fail fixtures docs/tests.md 's/trains the \([0-9]*\) committed/trains the 7 committed/' 'there are'
expect_fail cli-errors docs/tests.md 's/[0-9]* bad invocations/40 bad invocations/' '(test_cli_errors rows)'
expect_fail a-test-row tests/test_inputs.c '/--t5-buckets 4", 0, NULL},/d' '(test_encoding_option_ranges rows)'
expect_fail grid-width docs/tasks.md 's/| aligned, bidir | `0 0 0 0 0 0 0 0` |/| aligned, bidir | `0 0 0 0 0 0` |/' 'docs/tasks.md: probe2d'
expect_fail layout docs/tasks.md 's/| encoder | `2 0 3 4 _ _ _ _` | `. . . . 2 0 3 4` |/| encoder | `2 0 3 4 _ _ _` | `. . . . 2 0 3 4` |/' 'docs/tasks.md: copy'
expect_fail ledger tests/claims_ledger.sh '0,/^expect_fail /{/^expect_fail /d}' 'broken copies of the ledger'
echo "doc_counts: ok"
