#!/usr/bin/python3
"""Where the wall time of `make reproduce` went, from its own files.

usage: scripts/timing.py RESULTS [J]

Stage walls come from RESULTS/stages.csv (a line per finished stage, written
by `make reproduce`), or, for results made before it existed, from the times
the stages' outputs were last written. For each suite, the runs' summary.csv
give the seconds spent in training steps (train_s), in evaluation with greedy
decoding (eval_s) and in the whole process body (wall_s); what the stage took
beyond the sum of wall_s over J cores is process start, checks, checkpoint and
CSV writing, the Python runner and the summary. Writes RESULTS/timing.csv and
prints a table.
"""
import csv
import glob
import io
import os
import sys

from csvrows import fnum, read, usage, usage_error, write_text

STAGES = ["probe", "extrapolation", "normalizers", "curves", "diagnose", "extras", "plots", "report"]
OUTPUT = {"probe": "probe/summary.csv", "extrapolation": "extrapolation/summary.csv",
          "normalizers": "normalizers/summary.csv", "curves": "curves",
          "diagnose": "diagnose.csv", "extras": "attention", "plots": "figures", "report": "REPORT.md"}


def stage_walls(res):
    rows = read(os.path.join(res, "stages.csv"))
    if rows:
        t = [(r["stage"], fnum(r["unix_s"])) for r in rows]
        return {b[0]: b[1] - a[1] for a, b in zip(t, t[1:])}, "stages.csv"
    # older results: the first run's config.csv starts the clock, each stage ends when its output was written
    configs = glob.glob(os.path.join(res, "probe", "runs", "*", "config.csv"))
    if not configs:
        return {}, "nothing"
    last, out = min(os.path.getmtime(p) for p in configs), {}
    for s in STAGES:
        p = os.path.join(res, OUTPUT[s])
        if os.path.exists(p):
            m = max([os.path.getmtime(p)] + [os.path.getmtime(x) for x in glob.glob(os.path.join(p, "*"))])
            out[s], last = m - last, m
    return out, "file times"


def suite_sums(res, suite):
    runs = read(os.path.join(res, suite, "runs.csv"))
    sums = {}
    for r in runs:
        s = read(os.path.join(res, suite, "runs", r["run_id"], "summary.csv"))
        if not s:
            continue
        form = "decoder" if r["mask"] == "causal" and suite in ("extrapolation", "normalizers") else "other"
        acc = sums.setdefault(form, [0, 0.0, 0.0, 0.0])
        acc[0] += 1
        for i, col in enumerate(("train_s", "eval_s", "wall_s"), 1):
            v = fnum(s[0].get(col))
            acc[i] += 0 if v != v else v
    return sums


def main():
    if usage(__doc__, sys.argv[1:]) is not None:
        return 0
    if len(sys.argv) not in (2, 3):
        return usage_error(__doc__)
    res, jobs = sys.argv[1], int(sys.argv[2]) if len(sys.argv) == 3 else 2
    walls, source = stage_walls(res)
    rows = []
    for stage in STAGES:
        if stage not in walls:
            continue
        w = walls[stage]
        row = {"stage": stage, "wall_s": w, "runs": "", "train_s": "", "eval_s": "", "process_s": "", "other_s": "",
               "eval_share_decoder": ""}
        if stage in ("probe", "extrapolation", "normalizers"):
            sums = suite_sums(res, stage)
            n = sum(v[0] for v in sums.values())
            tr, ev, pw = (sum(v[i] for v in sums.values()) for i in (1, 2, 3))
            row.update(runs=n, train_s=tr, eval_s=ev, process_s=pw, other_s=w * jobs - pw)
            if "decoder" in sums and sums["decoder"][3] > 0:
                row["eval_share_decoder"] = sums["decoder"][2] / sums["decoder"][3]
        rows.append(row)
    out = io.StringIO(newline="")
    w = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else ["stage"])
    w.writeheader()
    w.writerows(rows)
    try:
        write_text(os.path.join(res, "timing.csv"), out.getvalue())   # a device or symlink there stays one
    except OSError as e:
        print(f"posprobe: error: {e}", file=sys.stderr)
        return 1
    total = sum(r["wall_s"] for r in rows)
    print(f"wall time by stage ({source}; core-seconds for the suites, J = {jobs}):")
    for r in rows:
        line = f"  {r['stage']:<14} {r['wall_s'] / 60:6.1f} min"
        if r["runs"] != "":
            line += (f"  {r['runs']} runs: training {r['train_s'] / 60:.1f}, evaluation {r['eval_s'] / 60:.1f}, "
                     f"rest of the process {(r['process_s'] - r['train_s'] - r['eval_s']) / 60:.1f}, outside "
                     f"the processes {r['other_s'] / 60:.1f} core-min")
            if r["eval_share_decoder"] != "":
                line += f"; decoder runs spend {100 * r['eval_share_decoder']:.0f}% of their time evaluating"
        print(line)
    print(f"  {'total':<14} {total / 60:6.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
