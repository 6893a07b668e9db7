#!/usr/bin/env bash
# catalogue.suite repeats extrapolation.suite's [grid decoder] for other
# encodings, and scripts/report.py pools the two suites' runs in one table:
# every catalogue run must have the options of a decoder-grid run but its
# encoding. And the check goes red on a catalogue suite that drifted.
# randomized-long.suite repeats [grid encoder-randomized] but for its cap, and
# probe-seeds.suite cells of the probe suite at more seeds, and normalizers.suite
# extrapolation.suite's two forms on copy.
# Usage: catalogue_suite.sh POSPROBE (unused: the check is pure Python)
set -euo pipefail
dir=$(mktemp -d /tmp/posprobe-catalogue-XXXXXX)
trap 'rm -rf "$dir"' EXIT
check() {   # CATALOGUE-SUITE
    /usr/bin/python3 - "$1" <<'PY'
import sys
sys.path.insert(0, "scripts")
import suite
def options(path, pick):
    return {tuple(sorted((k, v) for k, v in o.items() if k != "encoding")) for _, o in suite.expand(path)[1] if pick(o)}
decoder = options("scripts/suites/extrapolation.suite",
                  lambda o: o.get("mask") == "causal" and "norm" not in o and "rope-fraction" not in o)
cat = options(sys.argv[1], lambda o: True)
extra = cat - decoder
if extra:
    print("catalogue runs whose options no extrapolation decoder run has:", sorted(dict(e).items() for e in extra)[0])
    sys.exit(1)
PY
}
check scripts/suites/catalogue.suite || { echo "catalogue.suite does not repeat extrapolation.suite's decoder grid"; exit 1; }
# another cap, whatever it is: the first steps line ([defaults]; [quick] is not expanded here) with a digit
# appended; the check must name it
cap=$(sed -n 's/^steps = \([0-9]*\)$/\1/p' scripts/suites/catalogue.suite | head -1)
sed "0,/^steps = $cap\$/s//steps = ${cap}1/" scripts/suites/catalogue.suite > "$dir/drift.suite"
cmp -s scripts/suites/catalogue.suite "$dir/drift.suite" && { echo "the edit changed nothing"; exit 1; }
if check "$dir/drift.suite" > "$dir/out"; then echo "a drifted catalogue suite passed"; exit 1; fi
grep -q "('steps', '${cap}1')" "$dir/out" || { echo "the drift was not named: $(cat "$dir/out")"; exit 1; }
# randomized-long.suite is [grid encoder-randomized] with another cap: every option but steps the same
/usr/bin/python3 - <<'PY' || { echo "randomized-long.suite does not repeat extrapolation.suite's randomized grid"; exit 1; }
import sys
sys.path.insert(0, "scripts")
import suite
def options(path, pick):
    return {tuple(sorted((k, v) for k, v in o.items() if k != "steps")) for _, o in suite.expand(path)[1] if pick(o)}
randomized = options("scripts/suites/extrapolation.suite", lambda o: o.get("positions") == "randomized")
long = options("scripts/suites/randomized-long.suite", lambda o: True)
steps = {o.get("steps") for _, o in suite.expand("scripts/suites/randomized-long.suite")[1]}
extra = long - randomized
if extra or steps != {"40000"}:
    print("randomized-long runs whose options no randomized extrapolation run has:", dict(sorted(extra)[0]) if extra else "-", "caps", steps)
    sys.exit(1)
PY
# probe-seeds.suite is cells of probe.suite at more seeds: every option but the seed the same
/usr/bin/python3 - <<'PY' || { echo "probe-seeds.suite's runs are not probe.suite's at more seeds"; exit 1; }
import sys
sys.path.insert(0, "scripts")
import suite
def options(path):
    return {tuple(sorted((k, v) for k, v in o.items() if k != "seed")) for _, o in suite.expand(path)[1]}
extra = options("scripts/suites/probe-seeds.suite") - options("scripts/suites/probe.suite")
if extra:
    print("probe-seeds runs whose options no probe-suite run has:", dict(sorted(extra)[0]))
    sys.exit(1)
PY
# normalizers.suite runs copy in extrapolation.suite's two forms: every option but the normalizer, the
# encoding and the cap is one of an extrapolation run's
/usr/bin/python3 - <<'PY' || { echo "normalizers.suite does not repeat extrapolation.suite's forms"; exit 1; }
import sys
sys.path.insert(0, "scripts")
import suite
def options(path):
    return {tuple(sorted((k, v) for k, v in o.items() if k not in ("norm", "encoding", "steps")))
            for _, o in suite.expand(path)[1]}
extra = options("scripts/suites/normalizers.suite") - options("scripts/suites/extrapolation.suite")
if extra:
    print("normalizers runs whose options no extrapolation run has:", dict(sorted(extra)[0]))
    sys.exit(1)
PY
echo "catalogue suite: its decoder grid repeats extrapolation's; randomized-long repeats its randomized grid;" \
     "probe-seeds repeats probe cells; normalizers repeats its forms"
