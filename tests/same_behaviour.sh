#!/usr/bin/env bash
# Two posprobe binaries behave the same: the check for a restructuring that
# must change no behaviour (`make same-behaviour BASE=<commit>`).
#
# usage: tests/same_behaviour.sh OLD_POSPROBE NEW_POSPROBE [WORKDIR]
#
# Trains a short run of every encoding under both masks, every normalizer,
# every activation, norm kind and placement, markers, randomized and shifted
# positions, the decoder form with and without [EOS], the 2-D probe and the
# regression head, with each binary, then compares byte for byte:
# checkpoint.bin, config.csv, eval.csv, train.csv and summary.csv without
# their timing columns (elapsed_s, tokens_per_s; train_s, eval_s, wall_s;
# train.csv's lr as a number),
# the rows of `posprobe eval` on the checkpoint, and the error message when
# a configuration is refused (it must be refused by both, in the same words).
# The encodings and options are the new binary's: against a base older than
# one of them, its configurations differ (the base refuses them), as they
# should. Both binaries must come from the same compiler, flags and BLAS: results
# differ in the last bits between BLAS libraries. Prints one line per
# configuration and a summary; exits 1 if any differs.
set -uo pipefail
old=$1 new=$2
work=${3:-$(mktemp -d)}
mkdir -p "$work"

common=(--steps 30 --eval-every 10 --dim 16 --heads 2 --layers 2 --batch 4 --eval-size 4 --len-min 1 --len-max 4
        --eval-lens 1-6 --vocab 5 --max-pos 64 --seed 3 --quiet)
configs=()
for enc in $("$new" list encodings | awk '{print $1}'); do
    configs+=("--task copy --mask bidir --encoding $enc")
    configs+=("--task copy --mask causal --encoding $enc")
done
configs+=("--task probe --mask bidir --encoding rope2d")
configs+=("--task probe2d --mask bidir --encoding rope2d --grid-w 2")
for norm in softmax l2 nodenom relu2n swishl2 logscaled; do
    configs+=("--task probe --encoding rope --norm $norm")
    configs+=("--task copy --mask causal --encoding alibi --norm $norm")
done
configs+=("--task sort --encoding learned --act relu --ln post --ln-kind rms")
configs+=("--task reverse --encoding t5 --act swish --markers cls-sep")
configs+=("--task probe --encoding none --markers bos --head regression")
configs+=("--task copy --encoding rope --positions randomized")
configs+=("--task copy --encoding sinusoidal --positions shifted")
configs+=("--task repeat --mask causal --encoding rope --eos 0")
configs+=("--task recall --mask causal --encoding rope --rope-fraction 0.5 --rope-trainable 1")
configs+=("--task parity --encoding t5 --t5-buckets 8 --t5-max-distance 16")
configs+=("--task even_pairs --encoding alibi --alibi-asym 1")
configs+=("--task copy --mask bidir --encoding conv --conv-kernel 5 --conv-circular 1")
configs+=("--task copy --mask causal --encoding rope --rope-schedule power2")
configs+=("--task probe --encoding sinusoidal --rope-schedule linear")

strip_cols() {   # file cols... -> the CSV without the named columns; lr compared as a number (its text is
                 # the shortest that reads back as the same double since 0.003 stopped printing as 0.0030000000000000001)
    /usr/bin/python3 - "$@" <<'EOF'
import csv, sys
path, drop = sys.argv[1], set(sys.argv[2:])
with open(path, newline="") as f:
    rows = list(csv.reader(f))
keep = [i for i, h in enumerate(rows[0]) if h not in drop]
lr = rows[0].index("lr") if "lr" in rows[0] else -1
w = csv.writer(sys.stdout, lineterminator="\n")
for k, r in enumerate(rows):
    if k and lr >= 0:
        r[lr] = repr(float(r[lr]))
    w.writerow([r[i] for i in keep])
EOF
}

run_one() {   # bin side args...: trains in WORK/side/run$i (the same relative path for both binaries, so
              # config.csv's out and run-id agree), then evaluates the checkpoint
    local bin side=$2 dir
    bin=$(realpath "$1")
    dir=$work/$side/run$i
    shift 2
    rm -rf "$dir"
    mkdir -p "$work/$side"
    (cd "$work/$side" && "$bin" train "$@" "${common[@]}" --out "run$i" 2>"run$i.err"; echo "exit $?" >>"run$i.err")
    if [ -f "$dir/checkpoint.bin" ]; then
        (cd "$work/$side" && "$bin" eval --checkpoint "run$i" --eval-lens 1-6 --out "run$i.eval.csv" 2>>"run$i.err")
    fi
}

same=0 differ=0 i=0
for cfg in "${configs[@]}"; do
    i=$((i + 1))
    # shellcheck disable=SC2086  # cfg is a list of words
    run_one "$old" old $cfg
    # shellcheck disable=SC2086
    run_one "$new" new $cfg
    bad=""
    cmp -s "$work/old/run$i.err" "$work/new/run$i.err" || bad+=" messages"
    for f in checkpoint.bin config.csv eval.csv; do
        [ -e "$work/old/run$i/$f" ] || [ -e "$work/new/run$i/$f" ] || continue
        cmp -s "$work/old/run$i/$f" "$work/new/run$i/$f" || bad+=" $f"
    done
    if [ -e "$work/old/run$i/train.csv" ] || [ -e "$work/new/run$i/train.csv" ]; then
        cmp -s <(strip_cols "$work/old/run$i/train.csv" elapsed_s tokens_per_s) \
               <(strip_cols "$work/new/run$i/train.csv" elapsed_s tokens_per_s) || bad+=" train.csv"
        cmp -s <(strip_cols "$work/old/run$i/summary.csv" train_s eval_s wall_s) \
               <(strip_cols "$work/new/run$i/summary.csv" train_s eval_s wall_s) || bad+=" summary.csv"
    fi
    if [ -e "$work/old/run$i.eval.csv" ] || [ -e "$work/new/run$i.eval.csv" ]; then
        cmp -s "$work/old/run$i.eval.csv" "$work/new/run$i.eval.csv" || bad+=" eval-command"
    fi
    if [ -z "$bad" ]; then
        same=$((same + 1))
        echo "same    $cfg"
    else
        differ=$((differ + 1))
        echo "DIFFERS $cfg:$bad  ($work/old/run$i vs $work/new/run$i)"
    fi
done
echo "same-behaviour: $same configurations identical, $differ differ ($work)"
[ "$differ" -eq 0 ]
