#!/usr/bin/python3
"""Claims P5 and P6 (8265): linear attention's denominators and weights over training.

usage: scripts/linear_stats.py SUITE_RESULTS

For every finished or diverged run of SUITE_RESULTS/runs.csv (scripts/suite.py)
that wrote a linear_attention.csv (the linear-attention normalizers: one row per
logged step and layer, results/README.md), writes one row per run to
SUITE_RESULTS/linear_attention.csv: the run's setting, its status, fit and
steps, how many steps were logged, and over all of them and every layer the
smallest rotated-over-un-rotated denominator ratio (with the step and layer
where it was), the logged steps at which some row's ratio was at most 0.1
(near zero) and at most 0 (negative), the largest share of such rows at one
step, the ratio at the last logged step, and the extremes of the weights and
row sums. make linear runs it on RESULTS/linear; scripts/report.py reads it.
"""
import argparse
import csv
import io
import math
import os
import sys

from csvrows import GatherError, error, read, steps_done, suite_runs, write_gathered

COLUMNS = ["run_id", "task", "encoding", "norm", "mask", "seed", "status", "fitted", "fit_step", "steps_done",
           "logged_steps", "ratio_min", "ratio_min_step", "ratio_min_layer", "steps_ratio_low", "steps_ratio_neg",
           "ratio_low_share_max", "ratio_neg_share_max", "last_ratio_min", "den_min", "weight_min", "weight_max",
           "abs_weight_max", "row_sum_min", "row_sum_max"]


def num(x):
    """A CSV cell as a float; nan for an empty one (nothing measured)."""
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def fmin(vals):
    vals = [v for v in vals if not math.isnan(v)]
    return min(vals) if vals else math.nan


def fmax(vals):
    vals = [v for v in vals if not math.isnan(v)]
    return max(vals) if vals else math.nan


def cell(v):
    return "" if isinstance(v, float) and math.isnan(v) else (f"{v:.17g}" if isinstance(v, float) else str(v))


def summarize_run(r, rows, steps_done):
    """One output row from a run's runs.csv row and its linear_attention.csv rows."""
    by_step = {}
    for x in rows:
        by_step.setdefault(int(x["step"]), []).append(x)
    ratios = [(num(x["ratio_min"]), int(x["step"]), int(x["layer"])) for x in rows]
    ratios = [t for t in ratios if not math.isnan(t[0])]
    lo = min(ratios) if ratios else (math.nan, "", "")
    last = by_step[max(by_step)] if by_step else []
    low = [s for s, xs in by_step.items() if any(num(x["ratio_low"]) > 0 for x in xs)]
    neg = [s for s, xs in by_step.items() if any(num(x["ratio_neg"]) > 0 for x in xs)]
    return [r["run_id"], r["task"], r["encoding"], r["norm"], r["mask"], r["seed"], r["status"], r.get("fitted", ""),
            r.get("fit_step", ""), steps_done, len(by_step), cell(lo[0]), lo[1], lo[2], len(low), len(neg),
            cell(fmax(num(x["ratio_low"]) for x in rows)), cell(fmax(num(x["ratio_neg"]) for x in rows)),
            cell(fmin(num(x["ratio_min"]) for x in last)), cell(fmin(num(x["den_min"]) for x in rows)),
            cell(fmin(num(x["weight_min"]) for x in rows)), cell(fmax(num(x["weight_max"]) for x in rows)),
            cell(fmax(num(x["abs_weight_max"]) for x in rows)), cell(fmin(num(x["row_sum_min"]) for x in rows)),
            cell(fmax(num(x["row_sum_max"]) for x in rows))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results")
    a = ap.parse_args()
    try:
        runs = suite_runs(a.results, "results/linear")
    except GatherError as e:
        return error(str(e))
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(COLUMNS)
    n = 0
    for r in runs:
        d = os.path.join(a.results, "runs", r["run_id"])
        path = os.path.join(d, "linear_attention.csv")
        if r["status"] not in ("finished", "diverged") or not os.path.isfile(path):
            continue
        rows = read(path)
        if rows and "ratio_min" not in rows[0]:
            return error(f"{path}: not posprobe's linear_attention.csv (no ratio_min column)")
        w.writerow(summarize_run(r, rows, steps_done(d)))
        n += 1
    return write_gathered(os.path.join(a.results, "linear_attention.csv"), out.getvalue(), "linear_stats",
                          f"{n} runs with linear attention")


if __name__ == "__main__":
    sys.exit(main())
