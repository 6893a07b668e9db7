#!/usr/bin/env bash
# The layers of the C sources depend one way (docs/architecture.md):
#   engine      trainer/engine   tensors, tape, ops, arena, BLAS
#   util        trainer/util     errors, CSV files, progress lines
#   encodings   encodings/       position encodings (plug-ins)
#   probes      probes/          tasks (plug-ins)
#   model       trainer/model    configuration, layout, model, checkpoint, decoding
#   train       trainer/train    training loop, evaluation, run directories
#   cli         trainer/cli      the commands
# A file may include headers of its own layer and of the layers it may use:
# engine and util use nothing else; encodings use the engine; probes use
# nothing else; model uses engine, util, encodings, probes; train uses those
# and model; cli uses all. Prints every include that goes the wrong way.
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A layer_of allowed
allowed[engine]="engine"
allowed[util]="util"
allowed[encodings]="encodings engine"
allowed[probes]="probes"
allowed[model]="model engine util encodings probes"
allowed[train]="train model engine util encodings probes"
allowed[cli]="cli train model engine util encodings probes"

dir_layer() {
    case $1 in
        trainer/engine) echo engine ;; trainer/util) echo util ;; trainer/model) echo model ;;
        trainer/train) echo train ;; trainer/cli) echo cli ;; encodings) echo encodings ;; probes) echo probes ;;
        *) echo "layers.sh: no layer for directory $1" >&2; exit 2 ;;
    esac
}

files=$(ls trainer/*/*.[ch] encodings/*.[ch] probes/*.[ch])
stray=$(ls trainer/*.[ch] 2>/dev/null || true)
[ -z "$stray" ] || { echo "layers.sh: files outside a layer: $stray"; exit 1; }
for f in $(ls trainer/*/*.h encodings/*.h probes/*.h); do
    h=$(basename "$f")
    [ -z "${layer_of[$h]:-}" ] || { echo "layers.sh: two files named $h"; exit 1; }
    layer_of[$h]=$(dir_layer "$(dirname "$f")")
done

bad=0 n=0
for f in $files; do
    mine=$(dir_layer "$(dirname "$f")")
    while read -r inc; do
        n=$((n + 1))
        theirs=${layer_of[$inc]:-}
        if [ -z "$theirs" ]; then
            echo "$f includes \"$inc\", which is in no layer"; bad=$((bad + 1)); continue
        fi
        case " ${allowed[$mine]} " in
            *" $theirs "*) ;;
            *) echo "$f ($mine) includes $inc ($theirs): $mine may use only ${allowed[$mine]}"; bad=$((bad + 1)) ;;
        esac
    done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
done
echo "layers: $n includes checked, $bad against the direction of the layers"
[ "$bad" -eq 0 ]
