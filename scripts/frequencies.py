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
import argparse
import csv
import io
import os
import subprocess
import sys

from csvrows import default_posprobe, read, write_text

COLUMNS = ["run_id", "task", "encoding", "seed", "fitted", "steps_done", "pair", "theta_initial", "theta_final",
           "relative_change"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results")
    ap.add_argument("--posprobe", default=default_posprobe())
    a = ap.parse_args()
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(COLUMNS)
    n = 0
    for r in read(os.path.join(a.results, "runs.csv")):
        d = os.path.join(a.results, "runs", r["run_id"])
        cfg = {row["key"]: row["value"] for row in read(os.path.join(d, "config.csv"))}
        if r["status"] != "finished" or cfg.get("rope-trainable") != "1":
            continue
        p = subprocess.run([a.posprobe, "inspect", "--what", "frequencies", "--checkpoint", d],
                           capture_output=True, text=True, check=False)
        if p.returncode != 0:
            print(f"posprobe frequencies: {r['run_id']}: {p.stderr.strip()}", file=sys.stderr)
            return 1
        summary = read(os.path.join(d, "summary.csv"))
        steps = summary[0]["steps_done"] if summary else ""
        for f in csv.DictReader(io.StringIO(p.stdout)):
            w.writerow([r["run_id"], r["task"], r["encoding"], r["seed"], r["fitted"], steps] +
                       [f[k] for k in COLUMNS[6:]])
        n += 1
    write_text(os.path.join(a.results, "frequencies.csv"), out.getvalue())
    print(f"posprobe frequencies: {n} runs with trainable frequencies; {a.results}/frequencies.csv", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
