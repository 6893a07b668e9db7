#!/usr/bin/env bash
# make install and make uninstall (scripts/install.sh), into a temporary
# DESTDIR: the files land where they should with their modes; the installed
# posprobe runs; an installed script finds the installed posprobe (not the
# repository's) and runs a suite with it, into ./results/NAME; the manual page
# renders (man -l, groff warnings as errors) and lists every train option;
# bash completion offers commands, a command's options and registered names;
# a second install replaces what the first wrote; a file posprobe did not
# install, a symlink out of PREFIX and a symlinked target are refused before
# anything is written; uninstall leaves nothing (a file of one's own stays);
# and `make help` names every target of the Makefile.
# Usage: tests/install.sh POSPROBE
set -euo pipefail
bin=$(realpath "$1")
repo=$(pwd)
dir=$(mktemp -d /tmp/posprobe-install-XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail() { echo "install: $*"; exit 1; }
py=/usr/bin/python3
inst() { make -s --no-print-directory -C "$repo" install INSTALL_BIN="$bin" PREFIX=/usr/local "$@"; }
uninst() { make -s --no-print-directory -C "$repo" uninstall PREFIX=/usr/local "$@"; }

d=$dir/stage
inst DESTDIR="$d" 2> "$dir/log" || fail "make install failed: $(cat "$dir/log")"
p=$d/usr/local
S=$p/share/posprobe/scripts
for f in bin/posprobe share/posprobe/scripts/suite.py share/posprobe/scripts/report.py share/posprobe/scripts/plots.py \
         share/posprobe/scripts/csvrows.py share/posprobe/scripts/suites/probe.suite share/man/man1/posprobe.1 \
         share/bash-completion/completions/posprobe share/posprobe/installed-files; do
    [ -f "$p/$f" ] && ! [ -L "$p/$f" ] || fail "no file $f"
done
for f in "$repo"/scripts/*.py "$repo"/scripts/suites/*.suite; do
    rel=${f#"$repo"/scripts/}
    cmp -s "$f" "$S/$rel" || fail "share/posprobe/scripts/$rel differs from scripts/$rel"
done
[ -e "$S/install.sh" ] || [ -e "$S/install-deps" ] && fail "the install script or install-deps was installed"
[ "$(stat -c %a "$p/bin/posprobe")" = 755 ] && [ "$(stat -c %a "$p/share/man/man1/posprobe.1")" = 644 ] \
    && [ "$(stat -c %a "$S/suite.py")" = 755 ] || fail "modes: $(stat -c '%a %n' "$p/bin/posprobe" "$p/share/man/man1/posprobe.1" "$S/suite.py")"
[ -z "$(find "$d" -name '.posprobe-install.*')" ] || fail "temporary files left: $(find "$d" -name '.posprobe-install.*')"

# the installed program, and an installed script that finds it (no POSPROBE_BIN, run from elsewhere)
"$p/bin/posprobe" version | grep -q '^posprobe ' || fail "the installed posprobe does not run"
found=$(cd / && env -u POSPROBE_BIN $py -c "import sys; sys.path.insert(0, '$S'); import csvrows; print(csvrows.default_posprobe())")
[ "$found" = "$p/bin/posprobe" ] || fail "installed scripts find '$found', not $p/bin/posprobe"
mkdir "$dir/work"
printf '[suite]\nname = tiny\n[grid a]\ntask = probe\nencoding = learned rope\nlen = 4\nsteps = 3\ndim = 8\n' > "$dir/work/tiny.suite"
(cd "$dir/work" && env -u POSPROBE_BIN $py "$S/suite.py" tiny.suite -j 1 > "$dir/suite.log" 2>&1) \
    || fail "installed suite.py failed: $(tail -5 "$dir/suite.log")"
[ "$(grep -c ',finished,' "$dir/work/results/tiny/runs.csv")" = 2 ] \
    || fail "installed suite.py did not run 2 runs into ./results/tiny: $(cat "$dir/suite.log")"
[ "$(find "$dir/work/results/tiny" -name config.csv | wc -l)" = 2 ] || fail "no config.csv from the installed runs"
(cd "$dir/work" && env -u POSPROBE_BIN $py "$S/suite.py" "$S/suites/probe.suite" --list | head -1 | grep -q '^probe-') \
    || fail "the installed probe.suite does not expand"
st=0; env -u POSPROBE_BIN $py "$S/report.py" --bogus 2> "$dir/err" || st=$?
[ "$st" = 2 ] && [ "$(wc -l < "$dir/err")" = 1 ] && grep -q '^posprobe: error: report.py: ' "$dir/err" \
    || fail "report.py's usage error: exit $st, $(cat "$dir/err")"

# the manual page: renders without a warning, with every train option and every command
man=$p/share/man/man1/posprobe.1
head -3 "$man" | grep -q '^\.TH POSPROBE 1 ' || fail "the manual page has no .TH line"
if command -v groff > /dev/null; then
    groff -man -Tutf8 -ww -z "$man" 2> "$dir/groff" && ! [ -s "$dir/groff" ] || fail "groff warns: $(cat "$dir/groff")"
fi
if command -v man > /dev/null; then
    MANWIDTH=100 man -l "$man" > "$dir/man.txt" 2> /dev/null || fail "man -l failed"
else
    sed 's/\\-/-/g; s/\\f[BIR]//g' "$man" > "$dir/man.txt"
fi
for s in NAME SYNOPSIS COMMANDS "TRAIN OPTIONS" "EXIT STATUS" FILES; do
    grep -q "^$s" "$dir/man.txt" || fail "the manual page has no $s section"
done
n=0
while read -r opt kind; do
    [[ $opt == --* ]] || continue
    [ "$opt" = --help ] || [ "$opt" = --config ] || [ "$opt" = --check ] || [ "$opt" = --check-stdin ] && continue
    grep -q -- "^ *$opt " "$dir/man.txt" || fail "the manual page lacks train's $opt"
    n=$((n + 1))
done < <("$bin" help --complete train)
[ "$n" -ge 60 ] || fail "only $n train options checked in the manual page"
for c in $("$bin" help --complete); do
    grep -q "^   $c\$" "$dir/man.txt" || fail "the manual page has no section for $c"
done

# bash completion, with the installed posprobe first on PATH
comp() {   # WORDS... (the last is the one completed): the completions, sorted, on one line
    PATH=$p/bin:$PATH bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _posprobe
        printf "%s\n" "${COMPREPLY[@]}"' _ "$p/share/bash-completion/completions/posprobe" "$@" | sort | xargs
}
[ "$(comp posprobe tr)" = train ] || fail "completing 'tr': $(comp posprobe tr)"
[ "$(comp posprobe train --encoding r)" = "recursive rope rope-v rope2d" ] \
    || fail "completing --encoding r: $(comp posprobe train --encoding r)"
[ "$(comp posprobe train --encoding = ro)" = "rope rope-v rope2d" ] || fail "completing --encoding=ro"
[ "$(comp posprobe train --norm '')" = "$("$bin" list norms --csv | tail -n +2 | cut -d, -f1 | sort | xargs)" ] \
    || fail "completing --norm: $(comp posprobe train --norm '')"
[ "$(comp posprobe train --task re)" = "recall repeat repeat2 reverse" ] || fail "completing --task re: $(comp posprobe train --task re)"
[ "$(comp posprobe eval --dec)" = "--decode" ] || fail "completing eval --dec: $(comp posprobe eval --dec)"
[ "$(comp posprobe eval --decode '')" = "cached recompute" ] || fail "completing eval --decode"
[ "$(comp posprobe list '')" = "encodings norms tasks" ] || fail "completing list: $(comp posprobe list '')"
[ "$(comp posprobe summarize --fi)" = "--fitted-only" ] || fail "completing summarize --fi"
[ "$(comp posprobe layerprobe --rope)" = "" ] || fail "layerprobe offers train options: $(comp posprobe layerprobe --rope)"
[ "$(comp posprobe train --lr '')" = "" ] || fail "completing a number offers: $(comp posprobe train --lr '')"

# a second install replaces the first; a file not posprobe's, a symlink out of PREFIX or a symlinked target is refused
echo changed >> "$S/report.py"
inst DESTDIR="$d" 2> /dev/null || fail "a second make install failed"
cmp -s "$repo/scripts/report.py" "$S/report.py" || fail "a second install did not replace report.py"
snapshot() { { find "$@" 2>/dev/null || true; } | sort | xargs -r stat -c '%n %s %Y'; }
refused() {   # NAME DESTDIR MESSAGE: make install into DESTDIR fails with MESSAGE, writing nothing
    local before st=0
    before=$(snapshot "$2" "$dir/outside")
    inst DESTDIR="$2" 2> "$dir/err" || st=$?
    [ "$st" = 2 ] || fail "$1: exit $st, expected 2 ($(cat "$dir/err"))"
    # one error line (make adds its own "Error 2" line after it)
    [ "$(grep -c '^posprobe' "$dir/err")" = 1 ] && grep -q "^posprobe: error: install: .*$3" "$dir/err" || fail "$1: $(cat "$dir/err")"
    [ "$before" = "$(snapshot "$2" "$dir/outside")" ] \
        || fail "$1: something was written"
}
mkdir -p "$dir/foreign/usr/local/bin" && echo mine > "$dir/foreign/usr/local/bin/posprobe"
refused foreign "$dir/foreign" "posprobe did not install it"
grep -qx mine "$dir/foreign/usr/local/bin/posprobe" || fail "the foreign posprobe changed"
mkdir -p "$dir/outside" "$dir/escape/usr/local" && ln -s "$dir/outside" "$dir/escape/usr/local/share"
refused escape "$dir/escape" "resolves outside"
[ -z "$(ls -A "$dir/outside")" ] || fail "install wrote through a symlink out of PREFIX"
mkdir -p "$dir/link/usr/local/bin" && ln -s "$dir/outside/x" "$dir/link/usr/local/bin/posprobe"
refused symlink "$dir/link" "is a symlink"
st=0; make -s -C "$repo" install INSTALL_BIN="$bin" PREFIX=usr/local DESTDIR="$dir/rel" 2> "$dir/err" || st=$?
[ "$st" = 2 ] && grep -q "PREFIX must be an absolute path" "$dir/err" && ! [ -e "$dir/rel" ] || fail "a relative PREFIX: $st $(cat "$dir/err")"

# uninstall: every file and directory install made, nothing else
echo keep > "$S/suites/mine.suite"
uninst DESTDIR="$d" 2> /dev/null || fail "make uninstall failed"
[ "$(find "$d" -type f)" = "$S/suites/mine.suite" ] || fail "uninstall left or removed: $(find "$d" -type f)"
d2=$dir/clean
inst DESTDIR="$d2" 2> /dev/null && uninst DESTDIR="$d2" 2> /dev/null || fail "install then uninstall into $d2 failed"
[ -z "$(find "$d2" -mindepth 1)" ] || fail "uninstall left: $(find "$d2" -mindepth 1)"
uninst DESTDIR="$d2" 2> "$dir/err" || fail "uninstall with nothing installed failed"
grep -q "nothing installed" "$dir/err" || fail "uninstall with nothing installed: $(cat "$dir/err")"

# make help names every target
targets=$(sed -n '/^\.PHONY:/,/[^\\]$/p' "$repo/Makefile" | tr -d '\\' | sed 's/^\.PHONY://' | tr ' ' '\n' | grep -v '^$' | grep -vx FORCE)
make -s -C "$repo" help > "$dir/help"
for t in $targets; do
    grep -q "^  make $t\( \|\$\)" "$dir/help" || fail "make help does not list '$t'"
done
[ "$(wc -w <<< "$targets")" -ge 25 ] || fail "only $(wc -w <<< "$targets") targets in .PHONY"
echo "install: ok"
