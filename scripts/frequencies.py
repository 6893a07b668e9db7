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

from csvrows import ArgumentParser, default_posprobe, error, read, write_output

COLUMNS = ["run_id", "task", "encoding", "seed", "fitted", "steps_done", "pair", "theta_initial", "theta_final",
           "relative_change"]


def main():
    ap = ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results")
    ap.add_argument("--posprobe", default=default_posprobe())
    a = ap.parse_args()
    runs_csv = os.path.join(a.results, "runs.csv")
    if not os.path.isdir(a.results):
        return error(f"{a.results}: not a directory")
    if not os.path.isfile(runs_csv):   # not a suite's results: nothing to read, nothing to write
        return error(f"{runs_csv}: no such file (SUITE_RESULTS is a directory scripts/suite.py wrote, e.g. results/schedules)")
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(COLUMNS)
    n = 0
    for r in read(runs_csv):
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
        summary = read(os.path.join(d, "summary.csv"))
        steps = summary[0]["steps_done"] if summary else ""
        for f in rows:
            w.writerow([r["run_id"], r["task"], r["encoding"], r["seed"], r["fitted"], steps] +
                       [f[k] for k in COLUMNS[6:]])
        n += 1
    path = os.path.join(a.results, "frequencies.csv")
    if write_output(path, out.getvalue()):
        return 1
    print(f"posprobe frequencies: {n} runs with trainable frequencies; {path}", file=sys.stderr)
    return 0

if __name__ == "__main__":
    sys.exit(main())
