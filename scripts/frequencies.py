#!/usr/bin/python3
"""Claim P4 (8265): how far trainable rotary frequencies move in training.

usage: scripts/frequencies.py SUITE_RESULTS [--posprobe BIN]

For every finished run of SUITE_RESULTS/runs.csv (scripts/suite.py) whose
config.csv says rope-trainable 1, runs `posprobe inspect --what frequencies
--checkpoint DIR` (each theta_i in the checkpoint against the value the run
started from) and writes SUITE_RESULTS/frequencies.csv:
run_id,task,encoding,seed,fitted,steps_done,pair,theta_initial,theta_final,relative_change.
make schedules runs it on RESULTS/schedules; scripts/report.py reads it.
"""
import csv
import io
import os
import subprocess
import sys

from csvrows import ArgumentParser, GatherError, default_posprobe, error, read, steps_done, suite_runs, write_gathered

COLUMNS = ["run_id", "task", "encoding", "seed", "fitted", "steps_done", "pair", "theta_initial", "theta_final",
           "relative_change"]


def main():
    ap = ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results")
    ap.add_argument("--posprobe", default=default_posprobe())
    a = ap.parse_args()
    try:
        runs = suite_runs(a.results, "results/schedules")
    except GatherError as e:
        return error(str(e))
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(COLUMNS)
    n = 0
    for r in runs:
        d = os.path.join(a.results, "runs", r["run_id"])
        cfg = {row["key"]: row["value"] for row in read(os.path.join(d, "config.csv"))}
        if r["status"] != "finished" or cfg.get("rope-trainable") != "1":
            continue
        try:
            p = subprocess.run([a.posprobe, "inspect", "--what", "frequencies", "--checkpoint", d],
                               capture_output=True, text=True, check=False)
        except OSError as e:
            return error(f"{a.posprobe}: cannot run ({e.strerror}); build it (make all) or name it with --posprobe")
        if p.returncode != 0:
            return error(f"{r['run_id']}: posprobe inspect exit {p.returncode}: {p.stderr.strip() or 'no message'}")
        rows = list(csv.DictReader(io.StringIO(p.stdout)))
        if not rows or any(k not in rows[0] for k in COLUMNS[6:]):
            return error(f"{r['run_id']}: {a.posprobe} inspect --what frequencies wrote no frequencies "
                        "(is it posprobe, and this version?)")
        steps = steps_done(d)
        for f in rows:
            w.writerow([r["run_id"], r["task"], r["encoding"], r["seed"], r["fitted"], steps] +
                       [f[k] for k in COLUMNS[6:]])
        n += 1
    return write_gathered(os.path.join(a.results, "frequencies.csv"), out.getvalue(), "frequencies",
                          f"{n} runs with trainable frequencies")

if __name__ == "__main__":
    sys.exit(main())
