# Sourced by the runner tests. tiny_suite FILE SEEDS LEN STEPS [LINE...]
# writes a probe suite of width-8, one-layer models (seconds per run); the
# LINEs follow the [defaults] block: more defaults, then the [grid ...] blocks.
tiny_suite() {
    local file=$1 seeds=$2 len=$3 steps=$4
    shift 4
    {
        printf '[suite]\nname = tiny\nseeds = %s\n[defaults]\n' "$seeds"
        printf 'len = %s\neval-lens = %s\nsteps = %s\ndim = 8\nheads = 2\nlayers = 1\n' "$len" "$len" "$steps"
        printf '%s\n' "$@"
    } > "$file"
}
