#!/usr/bin/env bash
# make install / make uninstall: posprobe installed like a Unix tool.
#
# usage: scripts/install.sh install DESTDIR PREFIX POSPROBE
#        scripts/install.sh uninstall DESTDIR PREFIX
#
# install puts, under DESTDIR + PREFIX:
#   bin/posprobe                                 the program (POSPROBE: a built binary)
#   share/posprobe/scripts/*.py                  the suite runner, report and figure scripts; they find
#                                                bin/posprobe from here (scripts/csvrows.py)
#   share/posprobe/scripts/suites/*.suite        the experiment suites
#   share/man/man1/posprobe.1                    the manual page, made by `posprobe help --man` from the
#                                                program's command and option tables
#   share/bash-completion/completions/posprobe   bash completion (it asks posprobe at completion time)
#   share/posprobe/installed-files               what this install wrote: the files, and the directories
#                                                it created, one a line, as paths under PREFIX (no DESTDIR)
# installed-files is written first (after the directories), then every file,
# each to a temporary name beside it renamed into place.
# It never replaces a file it did not install (one that is not in
# installed-files), never writes through a symlink, and never into a directory
# that resolves outside DESTDIR + PREFIX; all of that is checked before
# anything is written. uninstall removes the files installed-files lists (a
# regular file only, under PREFIX), then the directories install created, when
# they are empty; files of one's own beside them stay.
set -euo pipefail
action=${1:-} destdir=${2:-} prefix=${3:-}
die() { echo "posprobe: error: $action: $*" >&2; exit 2; }
[ "$action" = install ] || [ "$action" = uninstall ] || { echo "usage: $0 install|uninstall DESTDIR PREFIX [POSPROBE]" >&2; exit 2; }
[[ $prefix == /* ]] || die "PREFIX must be an absolute path, not '$prefix'"
[[ /$prefix/ != */../* ]] || die "PREFIX must not contain '..': '$prefix'"
[ -z "$destdir" ] || [[ $destdir == /* ]] || die "DESTDIR must be an absolute path, not '$destdir'"
prefix=${prefix%/}
root=$destdir$prefix
list=$prefix/share/posprobe/installed-files   # as recorded, without DESTDIR

# the lines of installed-files of kind KIND (file or dir)
recorded() { [ -f "$destdir$list" ] && ! [ -L "$destdir$list" ] && sed -n "s|^$1 ||p" "$destdir$list" || true; }

if [ "$action" = uninstall ]; then
    if ! [ -f "$destdir$list" ] || [ -L "$destdir$list" ]; then
        echo "posprobe: uninstall: nothing installed under $root (no $destdir$list)" >&2
        exit 0
    fi
    n=0
    while IFS= read -r f; do
        case $f in "$prefix"/*) ;; *) continue ;; esac   # only what is under PREFIX
        [[ /$f/ == */../* ]] && continue
        p=$destdir$f
        if [ -f "$p" ] && ! [ -L "$p" ]; then rm -f -- "$p"; n=$((n + 1)); fi
    done < <(recorded file)
    mapfile -t dirs < <(recorded dir)
    rm -f -- "$destdir$list"
    for ((i = ${#dirs[@]} - 1; i >= 0; i--)); do   # deepest first; a directory holding anything stays
        d=${dirs[i]}
        [[ /$d/ == */../* ]] && continue
        [ -d "$destdir$d" ] && ! [ -L "$destdir$d" ] && rmdir -- "$destdir$d" 2>/dev/null || true
    done
    echo "posprobe: uninstalled $n files from $root" >&2
    exit 0
fi

bin=${4:-}
[ -x "$bin" ] && [ -f "$bin" ] || die "'$bin' is not a built posprobe (make all)"
"$bin" version >/dev/null 2>&1 || die "'$bin' does not run"
src=$(cd "$(dirname "$0")" && pwd)   # scripts/
# what goes where: SOURCE TARGET MODE (SOURCE "-man" is the generated manual page)
plan=("$bin $prefix/bin/posprobe 755")
for f in "$src"/*.py; do
    mode=644; [ -x "$f" ] && mode=755
    plan+=("$f $prefix/share/posprobe/scripts/$(basename "$f") $mode")
done
for f in "$src"/suites/*.suite; do plan+=("$f $prefix/share/posprobe/scripts/suites/$(basename "$f") 644"); done
plan+=("-man $prefix/share/man/man1/posprobe.1 644")
plan+=("$src/posprobe-completion.bash $prefix/share/bash-completion/completions/posprobe 644")

# ---- every check before anything is written
if [ -e "$destdir$list" ] || [ -L "$destdir$list" ]; then
    [ -f "$destdir$list" ] && ! [ -L "$destdir$list" ] || die "$destdir$list is not a regular file"
fi
mapfile -t mine < <(recorded file)
is_mine() { local m; for m in "${mine[@]}"; do [ "$m" = "$1" ] && return 0; done; return 1; }
real_root=""
# The existing part of DESTDIR + PREFIX resolves to real_root; a directory below it must resolve inside it.
probe=$root
while ! [ -e "$probe" ] && ! [ -L "$probe" ]; do probe=$(dirname "$probe"); done
[ -d "$probe" ] || die "$probe is not a directory"
real_root=$(realpath -e -- "$probe")$(printf '%s' "${root#"$probe"}")
inside() {   # DIR: DIR (existing) resolves inside DESTDIR + PREFIX
    local r
    r=$(realpath -e -- "$1") || return 1
    [ "$r" = "$real_root" ] || [[ $r == "$real_root"/* ]]
}
for entry in "${plan[@]}"; do
    read -r s t m <<< "$entry"
    p=$destdir$t
    if [ -e "$p" ] || [ -L "$p" ]; then
        [ -L "$p" ] && die "$p is a symlink; posprobe writes no file through one (remove it first)"
        [ -f "$p" ] || die "$p exists and is not a regular file"
        is_mine "$t" || die "$p exists and posprobe did not install it (it is not in $destdir$list); remove it or choose another PREFIX"
    fi
    d=$(dirname "$p")
    while ! [ -e "$d" ] && ! [ -L "$d" ]; do d=$(dirname "$d"); done   # the deepest directory that exists
    [ -d "$d" ] || die "$d is not a directory"
    if [[ $d == "$root" || $d == "$root"/* ]] && ! inside "$d"; then
        die "$d resolves outside $root (a symlink out of PREFIX)"
    fi
done

# ---- write: the directories (recording those it creates), the list of what it installs (so that an
# install cut short is still known as posprobe's), then each file under a temporary name renamed into place
mapfile -t created < <(recorded dir)
mkdirs() {   # DIR: creates DIR and its missing parents, recording each
    local d=$1 missing=()
    while ! [ -e "$d" ]; do missing=("$d" "${missing[@]}"); d=$(dirname "$d"); done
    for d in "${missing[@]}"; do
        mkdir -m 755 -- "$d"
        created+=("${d#"$destdir"}")
    done
    inside "$1" || die "$1 resolves outside $root"
}
tmps=()
trap 'rm -f -- "${tmps[@]}"' EXIT
put() {   # TARGET MODE: the temporary file $tmp, filled by the caller, renamed to TARGET
    chmod "$2" "$tmp"
    mv -fT -- "$tmp" "$1"
}
for entry in "${plan[@]}"; do
    read -r s t m <<< "$entry"
    mkdirs "$(dirname "$destdir$t")"
done
mkdirs "$(dirname "$destdir$list")"
tmp=$(mktemp "$(dirname "$destdir$list")/.posprobe-install.XXXXXX")
tmps+=("$tmp")
{
    for d in "${created[@]}"; do [ -n "$d" ] && echo "dir $d"; done | awk '!seen[$0]++'
    for entry in "${plan[@]}"; do read -r s t m <<< "$entry"; echo "file $t"; done
} > "$tmp"
put "$destdir$list" 644
for entry in "${plan[@]}"; do
    read -r s t m <<< "$entry"
    tmp=$(mktemp "$(dirname "$destdir$t")/.posprobe-install.XXXXXX")
    tmps+=("$tmp")
    if [ "$s" = -man ]; then "$bin" help --man > "$tmp"; else cat -- "$s" > "$tmp"; fi
    put "$destdir$t" "$m"
done
echo "posprobe: installed ${#plan[@]} files under $root: bin/posprobe, share/posprobe/scripts (and suites/)," \
     "share/man/man1/posprobe.1, share/bash-completion/completions/posprobe" >&2
