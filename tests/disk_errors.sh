#!/usr/bin/env bash
# A full disk (a 96 KiB tmpfs) and a read-only one: a clear error naming the
# path, a non-zero exit, and nothing half-written left behind. Needs root (to
# mount); prints SKIP otherwise. Usage: disk_errors.sh POSPROBE
set -euo pipefail
bin=$1
if [ "$(id -u)" != 0 ]; then echo "SKIP: mounting a tmpfs needs root"; exit 77; fi
dir=$(mktemp -d /tmp/posprobe-disk-XXXXXX)
cleanup() { umount "$dir/full" 2>/dev/null || true; umount "$dir/ro" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
mkdir -p "$dir/full" "$dir/ro"
mount -t tmpfs -o size=96k tmpfs "$dir/full" || { echo "SKIP: cannot mount a tmpfs here"; exit 77; }
mount -t tmpfs -o ro,size=64k tmpfs "$dir/ro"
# full: the checkpoint of a 64-wide model does not fit
set +e
"$bin" train --quiet --steps 5 --dim 64 --len 8 --out "$dir/full/run" 2>"$dir/err1"; rc=$?
set -e
[ "$rc" = 1 ] || { echo "full disk: exit $rc, expected 1"; cat "$dir/err1"; exit 1; }
grep -q "posprobe: error: $dir/full/run/.*No space left on device" "$dir/err1" || { cat "$dir/err1"; echo "no clear ENOSPC error"; exit 1; }
[ "$(wc -l < "$dir/err1")" = 1 ] || { cat "$dir/err1"; echo "more than one line"; exit 1; }
! ls "$dir"/full/run/*.tmp >/dev/null 2>&1 || { ls -la "$dir/full/run"; echo "temporary files left behind"; exit 1; }
[ ! -e "$dir/full/run/summary.csv" ] || { echo "a summary claims a run that could not be saved"; exit 1; }
# the same for summarize and diagnose output
set +e
"$bin" diagnose --all --out "$dir/full/diagnose.csv" 2>"$dir/err2"; rc=$?
set -e
[ "$rc" != 0 ] && grep -q "posprobe: error: $dir/full/diagnose.csv.*No space left on device" "$dir/err2" || { cat "$dir/err2"; echo "diagnose on a full disk"; exit 1; }
[ ! -e "$dir/full/diagnose.csv" ] && [ ! -e "$dir/full/diagnose.csv.tmp" ] || { echo "diagnose left a file"; exit 1; }
# read-only
set +e
"$bin" train --quiet --steps 5 --out "$dir/ro/run" 2>"$dir/err3"; rc=$?
set -e
[ "$rc" != 0 ] && grep -q "posprobe: error: $dir/ro/run.*Read-only file system" "$dir/err3" || { cat "$dir/err3"; echo "no clear read-only error"; exit 1; }
echo "disk: ENOSPC and EROFS reported with their paths, nothing half-written"
