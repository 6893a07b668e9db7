#!/usr/bin/python3
"""Per-layer position probes and attention maps of a few chosen runs.

usage: scripts/extras.py RESULTS POSPROBE

Picks seed-1 runs of the probe suite (task probe, softmax, no markers,
bidirectional) and of the extrapolation suite (task copy, both forms) for a
handful of encodings, and writes RESULTS/layerprobe/<run>.csv (posprobe
layerprobe) and RESULTS/attention/<run>.csv (posprobe eval --dump-attention).
Runs that are missing or did not finish are skipped and said so.
"""
import os
import subprocess
import sys

from csvrows import read, usage, usage_error

CHOICES = {
    "probe": ({"task": "probe", "norm": "softmax", "mask": "bidir", "markers": "none", "positions": "sequential"},
              ["learned", "sinusoidal", "rope", "shaw", "urpe", "none", "conv"], "16"),
    "extrapolation": ({"task": "copy", "norm": "softmax", "markers": "none", "positions": "sequential"},
                      ["learned", "rope", "alibi", "none"], "6"),
}


def runs(results, suite):
    return read(os.path.join(results, suite, "runs.csv"))


def main():
    if usage(__doc__, sys.argv[1:]) is not None:
        return 0
    if len(sys.argv) != 3:
        return usage_error(__doc__)
    results, posprobe = sys.argv[1], sys.argv[2]
    for sub in ("layerprobe", "attention"):
        os.makedirs(os.path.join(results, sub), exist_ok=True)
    done = 0
    for suite, (fixed, encodings, length) in CHOICES.items():
        rows = runs(results, suite)
        for enc in encodings:
            match = [r for r in rows if r["encoding"] == enc and r["seed"] == "1" and r["status"] == "finished"
                     and all(r.get(k) == v for k, v in fixed.items())]
            for r in match:
                rid = r["run_id"]
                d = os.path.join(results, suite, "runs", rid)
                lp = os.path.join(results, "layerprobe", f"{rid}.csv")
                at = os.path.join(results, "attention", f"{rid}.csv")
                for out, cmd in ((lp, [posprobe, "layerprobe", "--checkpoint", d, "--lens", length, "--out", lp]),
                                 # eval's rows go to stdout (captured, dropped): never a device as --out
                                 (at, [posprobe, "eval", "--checkpoint", d, "--eval-lens", length,
                                       "--dump-attention", at])):
                    if os.path.exists(out):
                        continue
                    p = subprocess.run(cmd, capture_output=True, text=True)
                    if p.returncode != 0:
                        print(f"posprobe extras: {rid}: {p.stderr.strip()}", file=sys.stderr)
                done += 1
            if not match:
                print(f"posprobe extras: no finished seed-1 {suite} run of {enc} ({fixed}); skipped", file=sys.stderr)
    print(f"posprobe extras: layer probes and attention maps for {done} runs in {results}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
