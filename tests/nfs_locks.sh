#!/usr/bin/env bash
# The run locks under NFS's rule. Linux's NFS client emulates flock as a
# byte-range lock on the server, so an exclusive lock needs a descriptor open
# for writing (flock(2), "NFS details"); tests/shims/nfs_flock.c, preloaded,
# applies that rule here (no NFS needed). posprobe train and the suite runner
# must lock and train under it; and a file system whose locks fail outright
# (ENOLCK) must be an error naming the lock, never "busy elsewhere" with
# nothing trained. Skips (77) without a C compiler. Usage: nfs_locks.sh POSPROBE
set -euo pipefail
bin=$1
cc=${CC:-cc}
command -v "$cc" > /dev/null || { echo "SKIP: no C compiler ($cc) to build the flock shim"; exit 77; }
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d /tmp/posprobe-nfslock-XXXXXX)
trap 'rm -rf "$dir"' EXIT
"$cc" -shared -fPIC -o "$dir/nfs_flock.so" "$root/tests/shims/nfs_flock.c"
# an ASan posprobe accepts a library preloaded ahead of its runtime
nfs=(env LD_PRELOAD="$dir/nfs_flock.so" ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0")
# the shim is in force: a read-only descriptor cannot take an exclusive lock
: > "$dir/probe.lock"
if "${nfs[@]}" flock -x -n 3 3< "$dir/probe.lock" 2> /dev/null; then echo "the shim did not refuse a read-only exclusive lock"; exit 1; fi
"${nfs[@]}" flock -x -n 3 3<> "$dir/probe.lock" || { echo "the shim refused a writable descriptor"; exit 1; }

"${nfs[@]}" "$bin" train --quiet --steps 5 --len 5 --dim 8 --heads 2 --layers 1 --out "$dir/run" 2> "$dir/err" ||
    { cat "$dir/err"; echo "posprobe train cannot lock its run under NFS's rule"; exit 1; }
grep -q ',finished,' "$dir/run/summary.csv" || { echo "the run did not finish"; exit 1; }

. "$root/tests/tiny_suite.sh"
tiny_suite "$dir/tiny.suite" 2 5 20 '[grid main]' 'task = probe' 'encoding = none'
suite=(/usr/bin/python3 "$root/scripts/suite.py" "$dir/tiny.suite" --posprobe "$bin" --no-summarize -j 1)
"${nfs[@]}" "${suite[@]}" --results "$dir/res" 2> "$dir/err" || { cat "$dir/err"; echo "suite.py failed under NFS's rule"; exit 1; }
grep -q '(0 already finished, 2 now, 0 failed, 0 busy elsewhere)' "$dir/err" ||
    { cat "$dir/err"; echo "suite.py did not train both runs under NFS's rule"; exit 1; }

# locks that fail outright: one error line naming the lock, exit 2, nothing trained
enolck=$(/usr/bin/python3 -c 'import errno; print(errno.ENOLCK)')
set +e
NFS_FLOCK_ERRNO=$enolck "${nfs[@]}" "${suite[@]}" --results "$dir/res2" 2> "$dir/err"
rc=$?
set -e
[ "$rc" = 2 ] || { cat "$dir/err"; echo "suite.py with failing locks: exit $rc, expected 2"; exit 1; }
grep -Eq "^posprobe: error: run [^ ]+: $dir/res2/runs/[^ ]+\.lock: cannot lock: No locks available$" "$dir/err" ||
    { cat "$dir/err"; echo "no one-line error naming the lock"; exit 1; }
! grep -q ' [1-9][0-9]* busy elsewhere' "$dir/err" || { cat "$dir/err"; echo "a failing lock counted as busy"; exit 1; }
[ -z "$(ls "$dir/res2/runs" | grep -v '\.lock$')" ] || { ls "$dir/res2/runs"; echo "a run trained without its lock"; exit 1; }
set +e
NFS_FLOCK_ERRNO=$enolck "${nfs[@]}" "$bin" train --quiet --steps 5 --out "$dir/run2" 2> "$dir/err"
rc=$?
set -e
[ "$rc" = 1 ] && grep -qx "posprobe: error: $dir/run2.lock: cannot lock: No locks available" "$dir/err" ||
    { cat "$dir/err"; echo "posprobe train with failing locks: exit $rc"; exit 1; }
[ ! -e "$dir/run2" ] || { echo "posprobe train created its run without a lock"; exit 1; }
echo "nfs locks: train and the suite runner lock under NFS's flock rule; a failing lock is an error, not 'busy'"
