# bash completion of posprobe: its commands, each command's options and their
# values. Nothing is listed here: the commands and options come from
# `posprobe help --complete [COMMAND]` (the program's own command and option
# tables) and the names of encodings, tasks and normalizers from
# `posprobe list encodings|tasks|norms --csv`, asked of the posprobe being
# completed at the moment of completion. `make install` puts this file in
# PREFIX/share/bash-completion/completions/posprobe; in a source tree,
# `source scripts/posprobe-completion.bash`.

# BIN WHAT: the names posprobe registers (the first column of its catalogue)
_posprobe_names() {
    "$1" list "$2" --csv 2>/dev/null | tail -n +2 | cut -d, -f1
}

# BIN KIND CUR: the values of an option or word of this kind that start with CUR
_posprobe_values() {
    local bin=$1 kind=$2 cur=$3
    case $kind in
        encodings|tasks|norms) compgen -W "$(_posprobe_names "$bin" "$kind")" -- "$cur" ;;
        commands) compgen -W "$("$bin" help --complete 2>/dev/null)" -- "$cur" ;;
        choice:*) compgen -W "$(tr '|' ' ' <<< "${kind#choice:}")" -- "$cur" ;;
        dir) compgen -d -- "$cur" ;;
        file) compgen -f -- "$cur" ;;
    esac
}

_posprobe() {
    local cword=$COMP_CWORD cur=${COMP_WORDS[COMP_CWORD]} prev=""
    local bin=${COMP_WORDS[0]}
    [ "${bin:0:1}" = "~" ] && bin=$HOME${bin:1}
    COMPREPLY=()
    if [ "$cword" -le 1 ]; then
        mapfile -t COMPREPLY < <(_posprobe_values "$bin" commands "$cur")
        return 0
    fi
    local spec
    spec=$("$bin" help --complete "${COMP_WORDS[1]}" 2>/dev/null) || return 0
    # the option whose value this is: the word before, or before '=' (bash splits --opt=value at '=')
    if [ "$cur" = "=" ]; then
        prev=${COMP_WORDS[cword - 1]}; cur=""
    elif [ "$cword" -ge 2 ] && [ "${COMP_WORDS[cword - 1]}" = "=" ]; then
        prev=${COMP_WORDS[cword - 2]}
    elif [ "$cword" -ge 2 ]; then
        prev=${COMP_WORDS[cword - 1]}
    fi
    local kind=""
    [[ $prev == --* ]] && kind=$(awk -v o="$prev" '$1 == o { print $2 }' <<< "$spec")
    if [ -n "$kind" ] && [ "$kind" != flag ] && [ "$kind" != value ]; then
        mapfile -t COMPREPLY < <(_posprobe_values "$bin" "$kind" "$cur")
    elif [ "$kind" = value ]; then
        return 0   # a number, a list, a name of one's own: nothing to offer
    elif [[ $cur == -* ]] || ! grep -q '^words ' <<< "$spec"; then
        mapfile -t COMPREPLY < <(compgen -W "$(awk '$1 ~ /^--/ { print $1 }' <<< "$spec")" -- "$cur")
    else
        mapfile -t COMPREPLY < <(_posprobe_values "$bin" "$(awk '$1 == "words" { print $2 }' <<< "$spec")" "$cur")
    fi
    return 0
}

complete -o filenames -F _posprobe posprobe
