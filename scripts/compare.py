#!/usr/bin/python3
"""A scorecard of one encoding against the committed reference (make compare ENCODING=NAME).

usage: scripts/compare.py ENCODING [--reference DIR] [--out DIR] [--quick] [-j N]
                          [--baselines "a b" | "+a +b"] [--suites DIR] [--posprobe BIN]

Runs only ENCODING's runs of the probe, extrapolation and normalizers suites:
every grid that compares encodings (scripts/suite.py's rule: its encoding
factor lists two or more), with the suite's own configurations and the
reference's seeds, into OUT/probe, OUT/extrapolation and OUT/normalizers (a
suite the reference lacks is skipped), and its `posprobe diagnose` rows into
OUT/diagnose.csv. The other encodings are not run again: the reference's
summaries (DIR/probe, DIR/extrapolation, DIR/normalizers, DIR/diagnose.csv) are
the baseline.
Then OUT/merged/ (the reference's summaries with ENCODING's rows added),
OUT/baseline/ (the reference's alone), figures from the merged summaries in
OUT/figures/, and OUT/SCORECARD.md: the probe outcome per normalizer, mask and
markers beside every reference encoding, the diagnose verdicts against the
symmetry argument, the fit table, horizons and beyond-training scores per task
and form with intervals and its rank among the reference encodings, and every
claim of the report whose table or verdict its runs change.

--quick runs the suites' [compare-quick] subset of the same configurations,
seed 1, beside the reference's means over its seeds (about 2 minutes).
--baselines: which encodings are set beside it (default: every encoding of the
reference): "a b" only these, "+a +b" the reference's and these; a named
encoding the reference's suite does not hold is run now, with the same
configurations and seeds, and marked as such. Warns when the reference was
made by another posprobe version, precision, BLAS, kernel or training code.
Resumable: finished runs under OUT are never run again.
"""
import argparse
import csv
import datetime
import io
import math
import os
import re
import subprocess
import sys
import time

import report
import suite
from csvrows import CatalogueError, catalogue, default_posprobe, enc_label, error, read, read_length_suites, read_summary
from csvrows import write_output
from csvrows import fnum as f

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUITES = ["probe", "extrapolation", "normalizers"]
KEY = ["task", "norm", "mask", "markers", "positions", "head"]   # a cell: the setting but for its encoding
RAN_NOW = "†"   # marks a baseline run now, not read from the reference


class CompareError(Exception):
    pass


def shown(path):
    """a path as the scorecard names it: relative to here when below here, else absolute"""
    rel = os.path.relpath(path)
    return os.path.abspath(path) if rel.startswith("..") else rel


def cell_key(r):
    return tuple(r.get(k, "") for k in KEY)


def run_hash(rid):
    """a run id as (everything before the hash, the hash): 'copy-rope-causal-s1', '7bd957c0'"""
    head, _, h = rid.rpartition("-")
    return head, h


def same_runs(expected, ref_runs):
    """How many of the suite's runs (expanded now) the reference ran with the same options and seed: a run id
    ends in the SHA-1 of its options and seed, of which older ids kept 8 hex digits and newer ones 16."""
    have = {run_hash(r["run_id"]) for r in ref_runs}
    lens = {len(h) for _, h in have}
    return sum(any((run_hash(rid)[0], run_hash(rid)[1][:n]) in have for n in lens) for rid, _ in expected)


def posprobe_version(posprobe):
    p = subprocess.run([posprobe, "version"], capture_output=True, text=True, check=False)
    return p.stdout.strip()


def code_changes(commit):
    """The files of the training code (trainer/, probes/, encodings/ but registry.c) that differ between commit
    and this working tree, or None when git cannot tell (no checkout, an unknown commit)."""
    base = commit.removesuffix("-dirty")
    try:
        p = subprocess.run(["git", "-C", ROOT, "diff", "--name-only", base, "--", "trainer", "probes", "encodings"],
                           capture_output=True, text=True, check=False)
    except OSError:
        return None
    if p.returncode != 0:
        return None
    return [x for x in p.stdout.split() if x != "encodings/registry.c"]


def provenance_warnings(name, refdir, outdir):
    """Lines comparing what made the reference's runs of a suite with what made these (suite.provenance):
    (notes, warnings)."""
    ref = read(os.path.join(refdir, "provenance.csv"))
    new = suite.provenance(outdir)
    fields = suite.PROVENANCE

    def says(rows):
        return "; ".join(", ".join(f"{k} {r.get(k, '') or '?'}" for k in fields) + f" ({r.get('runs', '?')} runs)"
                         for r in rows) or "nothing"
    notes = [f"{name}: the reference's runs: {says(ref) if ref else 'not recorded'}; these: {says(new)}"]
    if not ref:
        return notes, [f"{shown(refdir)} records no provenance.csv (made before suite.py wrote it): the version, "
                       "precision, BLAS and kernel that made the reference are not known, so differences in the "
                       "last bits (another kernel) or more (another precision or code) cannot be ruled out"]
    warns = []
    for k in fields:
        a, b = sorted({r.get(k, "") for r in ref}), sorted({r.get(k, "") for r in new})
        if b and a != b:
            warns.append(f"{name}: the reference was made with {k} {', '.join(a)}, these runs with "
                         f"{', '.join(b)}" + (": results differ in the last bits between kernels"
                                               if k == "blas_kernel" else ""))
    commits = sorted({r.get("commit", "") for r in ref} - {""})
    now = suite.source_commit()
    for c in commits:
        if c == now:   # the same commit (uncommitted changes, -dirty, on either side cannot be told apart)
            notes.append(f"{name}: the reference was made at this tree's commit, {c}")
            continue
        changed = code_changes(c)
        if changed is None:
            warns.append(f"{name}: the reference was made at commit {c}, which git here cannot compare with "
                         f"this tree ({now or 'not a git checkout'})")
        elif changed:
            warns.append(f"{name}: the training code differs from the reference's commit {c} in "
                         f"{len(changed)} files ({', '.join(changed[:6])}{', ...' if len(changed) > 6 else ''})")
        else:
            notes.append(f"{name}: the training code (trainer/, probes/, encodings/ but registry.c and new "
                         f"files) is the reference's commit {c}'s")
    return notes, warns


def mean_run_seconds(reference, name):
    """The reference's core-seconds per run of a suite (timing.csv: process_s / runs), None if not recorded."""
    for r in read(os.path.join(reference, "timing.csv")):
        if r.get("stage") == name and f(r.get("runs")) > 0 and not math.isnan(f(r.get("process_s"))):
            return f(r["process_s"]) / f(r["runs"])
    return None


def runnable(posprobe, runs):
    """runs without the option sets posprobe refuses (e.g. a causal-only encoding under a bidirectional mask):
    (runs kept, [(run id, posprobe's message)])."""
    refused = []
    while runs:
        _, bad = suite.first_invalid(posprobe, runs)
        if not bad:
            break
        rid, msg = bad
        if rid is None:
            raise CompareError(msg)
        opts = next(o for r, o in runs if r == rid)
        same = {k: v for k, v in opts.items() if k != "seed"}
        refused.append((rid, msg))
        runs = [(r, o) for r, o in runs if {k: v for k, v in o.items() if k != "seed"} != same]
    return runs, refused


def run_suite(args, name, enc, change, out, quick):
    """Runs enc's (and the baselines to run now) runs of one suite; a dict of what was done, None if the
    reference has no such suite."""
    suite_file = os.path.join(args.suites, f"{name}.suite")
    refdir = os.path.join(args.reference, name)
    ref_runs = read(os.path.join(refdir, "runs.csv"))
    if not ref_runs:
        return None
    ref_encs = sorted({r["encoding"] for r in ref_runs if r.get("encoding")})
    if change is None:
        baselines = ref_encs
    else:
        mode, names = change
        baselines = names if mode == "replace" else ref_encs + [n for n in names if n not in ref_encs]
    extra = [b for b in baselines if b not in ref_encs and b != enc]   # named, not in the reference: run now
    seeds = report.max_seeds(ref_runs)
    seed_sets = {r["seed"] for r in ref_runs if r.get("task")}
    notes, warns = [], []
    if seed_sets != {str(s) for s in range(1, seeds + 1)}:
        warns.append(f"{name}: the reference's seeds are {', '.join(sorted(seed_sets, key=int))}, not 1..{seeds}")
    grids = suite.comparing_grids(suite_file)
    try:
        _, runs = suite.expand(suite_file, encodings=[enc] + extra, seeds=None if quick else str(seeds), subset=quick)
        _, expected = suite.expand(suite_file, seeds=None if quick else str(seeds), subset=quick, grids=grids)
    except suite.SuiteError as e:
        raise CompareError(str(e))
    expected = [(rid, o) for rid, o in expected if o.get("encoding") in ref_encs]
    n_same = same_runs(expected, ref_runs)
    if n_same < len(expected):
        warns.append(f"{name}: of the {len(expected)} runs of the reference encodings in these grids of "
                     f"{shown(suite_file)}, the reference ran {n_same} with the same options and seed: the "
                     "suite file has changed since the reference was made, so some cells are not like-for-like")
    runs, refused = runnable(args.posprobe, runs)
    outdir = os.path.join(out, name)
    todo = sum(not suite.is_done(os.path.join(outdir, "runs", rid)) for rid, _ in runs)
    per_run = mean_run_seconds(args.reference, name)
    guess = "" if per_run is None else (
        f"; at the reference's mean of {per_run:.1f} core-seconds a run (its timing.csv) about "
        f"{todo * per_run / 60:.1f} core-minutes, {todo * per_run / 60 / min(args.jobs, max(todo, 1)):.1f} minutes")
    print(f"posprobe compare: {enc}: {len(runs)} runs of the {name} suite into {outdir} ({todo} to run), "
          f"{args.jobs} at a time{guess}", file=sys.stderr)
    if runs:
        rc = suite.Runner(args.posprobe, outdir, runs, args.jobs).run_all()
        if rc:
            raise CompareError(f"{name}: the runs did not all finish (exit {rc}); run the same command again to "
                               "resume" if rc != 130 else f"{name}: interrupted; run the same command again to resume")
        rc = subprocess.call([args.posprobe, "summarize"] + suite.summarize_flags(suite_file) + [outdir])
        if rc:
            raise CompareError(f"posprobe summarize {outdir}: exit {rc}")
        suite.write_provenance(outdir)
        n, w = provenance_warnings(name, refdir, outdir)
        notes += n
        warns += w
    return {"name": name, "grids": grids, "runs": runs, "refused": refused, "extra": extra, "seeds": seeds,
            "baselines": baselines, "ref_encs": ref_encs, "notes": notes, "warns": warns, "same": n_same,
            "expected": len(expected), "dir": outdir, "per_run": per_run}


def run_diagnose(args, encs, out):
    """posprobe diagnose for each encoding of encs at every normalizer, mask and markers of the reference's
    diagnose.csv (its length and seeds) into OUT/diagnose.csv; the configurations posprobe refuses are left out."""
    ref = read(os.path.join(args.reference, "diagnose.csv"))
    if not ref:
        return [], []
    configs = list(dict.fromkeys((r["norm"], r["mask"], r["markers"]) for r in ref))
    header, rows, refused = None, [], []
    for e in encs:
        for norm, mask, markers in configs:
            p = subprocess.run([args.posprobe, "diagnose", "--encoding", e, "--norm", norm, "--mask", mask,
                                "--markers", markers, "--len", ref[0]["length"], "--seeds", ref[0]["seeds"],
                                "--quiet"], capture_output=True, text=True, check=False)
            if p.returncode == 2:   # e.g. a causal-only encoding under a bidirectional mask
                refused.append((e, norm, mask, markers, p.stderr.strip().removeprefix("posprobe: error: ")))
                continue
            if p.returncode != 0:
                raise CompareError(f"posprobe diagnose --encoding {e}: exit {p.returncode}: {p.stderr.strip()}")
            lines = p.stdout.splitlines()
            header = lines[0]
            rows += lines[1:]
    if header and write_output(os.path.join(out, "diagnose.csv"), "\n".join([header] + rows) + "\n"):
        raise CompareError(f"{out}/diagnose.csv: not written")
    return read(os.path.join(out, "diagnose.csv")) if header else [], refused


def csv_text(rows, header):
    out = io.StringIO()
    w = csv.DictWriter(out, header, lineterminator="\n", extrasaction="ignore")
    w.writeheader()
    w.writerows(rows)
    return out.getvalue()


def write_rows(path, rows, like):
    """rows as CSV with like's columns first (the reference's order), then any others."""
    header = list(like[0].keys()) if like else []
    for r in rows:
        header += [k for k in r if k not in header]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if write_output(path, csv_text(rows, header)):
        raise CompareError(f"{path}: not written")


def build_dirs(args, enc, done, diag_new, out):
    """OUT/baseline: the reference's rows of the baselines (enc's own left out), with the baselines run now;
    OUT/merged: the same with the rows enc ran now. Both are results
    directories report.py and plots.py read."""
    for name, d in done.items():
        for fname in ("summary.csv", "horizons.csv", "runs.csv"):
            ref = read_summary(os.path.join(args.reference, name, fname)) if fname == "summary.csv" else \
                read(os.path.join(args.reference, name, fname))
            new = read(os.path.join(d["dir"], fname))
            ran = {enc} | set(d["extra"])
            new = [r for r in new if r.get("encoding") in ran]
            # enc's own reference rows (when the reference holds it) are in neither: the baseline is the others
            # without it, and the merged summaries hold only what enc ran now (its reference rows of the cells it
            # did not run, under QUICK, would pass for new ones)
            keep = set(d["baselines"]) - {enc}
            base = [r for r in ref if r.get("encoding") in keep] + [r for r in new if r["encoding"] in d["extra"]]
            merged = base + [r for r in new if r["encoding"] == enc]
            write_rows(os.path.join(out, "baseline", name, fname), base, ref)
            write_rows(os.path.join(out, "merged", name, fname), merged, ref)
    ref = read(os.path.join(args.reference, "diagnose.csv"))
    if ref:
        base = ref + [r for r in diag_new if r["encoding"] != enc and r["encoding"] not in {x["encoding"] for x in ref}]
        merged = [r for r in base if r["encoding"] != enc] + [r for r in diag_new if r["encoding"] == enc]
        write_rows(os.path.join(out, "baseline", "diagnose.csv"), base, ref)
        write_rows(os.path.join(out, "merged", "diagnose.csv"), merged, ref)


class Marks:
    """How a table names an encoding: the compared one in bold, a baseline run now with a dagger."""

    def __init__(self, enc, extra):
        self.enc, self.extra = enc, set(extra)

    def base(self, label):
        return label.split(" ")[0].removesuffix("+rand")

    def __call__(self, label):
        if label.endswith(" (reference)"):   # the compared encoding's own reference row
            return label
        b = self.base(label)
        if b == self.enc:
            return f"**{label}**"
        return label + (f" {RAN_NOW}" if b in self.extra else "")


def fmt_ci(m, lo, hi, digits=2):
    if math.isnan(m):
        return "-"
    return f"{m:.{digits}f}" + (f" [{lo:.{digits}f}, {hi:.{digits}f}]" if not math.isnan(lo) else "")


def probe_section(enc, out, mark, reference):
    summ = read(os.path.join(out, "merged", "probe", "summary.csv"))
    mine = [r for r in summ if r["encoding"] == enc and r["length"] == r["train_len"]]
    if not mine:
        return []
    cells = {(r["task"], r["mask"], r["markers"], r["positions"], r["head"]) for r in mine}
    rows = [r for r in summ if (r["task"], r["mask"], r["markers"], r["positions"], r["head"]) in cells]
    ref_same = [r for r in read(os.path.join(reference, "probe", "summary.csv")) if r["encoding"] == enc and
                (r["task"], r["mask"], r["markers"], r["positions"], r["head"]) in cells]
    for r in ref_same:   # enc is a reference encoding too: its reference row beside the new one
        rows.append(dict(r, encoding=f"{enc} (reference)"))
    passed = [r for r in mine if f(r["token_acc_mean"]) >= report.PASS]
    chance = [r for r in mine if f(r["token_acc_mean"]) <= 1.0 / int(r["train_len"]) + 0.02]
    L = ["## Probe outcome", "",
         f"`{enc}` passes the probe (mean token accuracy >= {report.PASS}) in {len(passed)} of its {len(mine)} "
         f"settings and stays at most 0.02 above chance (1/n) in {len(chance)}. Every table is one task, mask and "
         "markers of the probe suite, with every reference encoding run there: final token accuracy at the "
         "training length, mean [95% t-interval] over seeds; `-`: not run.", "",
         "Figures: " + ", ".join(f"[{x}](figures/{x})" for x in sorted({f"probe_grid_markers-{r['markers']}.png"
                                                                         for r in mine if r["task"] == "probe"})), ""]
    return L + report.probe_outcomes(rows, mark)


def diagnose_section(enc, diag_new, refused, flags):
    mine = [r for r in diag_new if r["encoding"] == enc]
    if not mine and not refused:
        return []
    pred = [r for r in mine if r.get("expected")]
    agree = sum(r["verdict"] == r["expected"] for r in pred)
    cls = ", ".join(k for k in ("relative", "directional", "symmetric", "value_side", "reads_prior_rows")
                    if flags.get(k) == "1") or "none of relative, directional, symmetric, value-side"
    L = ["## diagnose: the symmetry argument on random models", "",
         f"`{enc}` acts at `{flags.get('where', '?')}` with the flags {cls} (`posprobe list encodings --csv`, from "
         "its `encoding_def`); from them the argument predicts a verdict for "
         f"{len(pred)} of its {len(mine)} configurations, and **{agree} of {len(pred)} agree**"
         + (" (every prediction holds)." if pred and agree == len(pred) else "." if pred else
            " (it predicts nothing for this class of encoding).") +
         f" Constant input [0]*{mine[0]['length'] if mine else '?'} through {mine[0]['seeds'] if mine else '?'} "
         "random models each (`posprobe diagnose`); a cell reads the verdict, then the expected one where it "
         "differs (!) or where none is predicted (no prediction).", ""]
    combos = list(dict.fromkeys((r["mask"], r["markers"]) for r in mine))
    norms = list(dict.fromkeys(r["norm"] for r in mine))
    by = {(r["norm"], r["mask"], r["markers"]): r for r in mine}

    def cell(r):
        if r is None:
            return "not run"
        if not r.get("expected"):
            return f"{r['verdict']} (no prediction)"
        return r["verdict"] if r["verdict"] == r["expected"] else f"{r['verdict']} ! (expected {r['expected']})"
    L += report.table([[n] + [cell(by.get((n, m, k))) for m, k in combos] for n in norms],
                      ["norm"] + [f"{m}, markers {k}" for m, k in combos]) + [""]
    if refused:
        L += [f"Not run ({len(refused)} configurations posprobe refuses): " +
              "; ".join(f"{n} {m} {k}: {msg}" for _, n, m, k, msg in refused[:4]) + ("; ..." if len(refused) > 4 else ""), ""]
    return L + ["Figure: [figures/diagnose_grid.png](figures/diagnose_grid.png) (every encoding; `!` where a "
                "verdict is not the expected one)", ""]


def form_of(h):
    return ("decoder" if h["mask"] == "causal" else "encoder") + (", randomized positions"
                                                                    if h["positions"] == "randomized" else "")


def extrapolation_section(enc, out, mark, extra):
    hz_m = read_length_suites(os.path.join(out, "merged"), "horizons.csv")   # extrapolation and normalizers
    hz_b = read_length_suites(os.path.join(out, "baseline"), "horizons.csv")
    runs_m = read_length_suites(os.path.join(out, "merged"), "runs.csv")
    mine = [h for h in hz_m if h["encoding"] == enc and h["eval_mode"] == report.PRIMARY[h["mask"]][0]]
    if not mine:
        return []
    fits = report.Fits(runs_m)
    rows, ranked, firsts = [], 0, 0
    mine.sort(key=lambda h: (h["mask"] != "causal", h["positions"], h["norm"] != "softmax", h["norm"], h["task"]))
    for h in mine:
        m, lo, hi = report.beyond(h)
        h90 = report.PRIMARY[h["mask"]][3]
        others = [(report.beyond(b)[0], enc_label(b)) for b in hz_b
                  if cell_key(b) == cell_key(h) and b["eval_mode"] == h["eval_mode"] and b["encoding"] != enc]
        others = [(v, lab) for v, lab in others if not math.isnan(v)]
        if math.isnan(m):
            rank = f"not ranked (none fitted; {len(others)} with a score)"
        else:
            pos = 1 + sum(v > m for v, _ in others)
            rank = f"{pos} of {len(others) + 1}"
            ranked += 1
            firsts += pos == 1
        best = max(others) if others else None
        k = (h["mask"], h["norm"], enc_label(h), h["task"])
        rows.append((form_of(h), h["norm"], h["task"], fits.cell(k), fmt_ci(m, lo, hi), h[h90] or "-",
                     h[h90.replace("90", "50")] or "-", h["train_len"], rank,
                     f"{best[0]:.2f} ({mark(best[1])})" if best else "-"))
    L = ["## Length generalization", "",
         f"`{enc}` in every form, normalizer and task it ran; runs that did not fit their training lengths are "
         "counted, never averaged in. *Beyond N*: the form's score (decoder: exact match with greedy decoding until "
         "[EOS]; encoder: token accuracy) over the lengths past the training length N, mean [95% t-interval] over "
         "the fitted seeds; horizons: the longest length up to which the mean stays >= 0.9 (>= 0.5); rank: among "
         f"the reference encodings with a score in the same cell (1 = best, ties share a rank); ranked in {ranked} cells, first in "
         f"{firsts}. Fitted: fitted/runs (mean exact match over 1..N of the runs that did not fit; x: cannot fit by "
         "construction).", ""]
    L += report.table(rows, ["form", "norm", "task", "fitted", "beyond N", "90% horizon", "50% horizon", "N",
                             "rank among the reference", "best reference encoding"]) + [""]
    L += ["### Beside the reference", "", "The report's tables with its rows added (softmax): every encoding, "
          "fitted/runs per task, then the score beyond N with intervals." +
          (f" {RAN_NOW}: a baseline run now ({', '.join(extra)}), not read from the reference." if extra else ""), ""]
    for mask in ("causal", "bidir"):
        if any(h["mask"] == mask for h in mine):
            L += report.fit_form_table(fits, mask, mark)
    for mask in ("causal", "bidir"):
        if any(h["mask"] == mask for h in mine):
            L += [x.replace("### ", "#### ", 1) for x in report.beyond_form_tables(hz_m, fits, mask, mark)]
    tasks = sorted({h["task"] for h in mine})
    L += ["Figures, accuracy by length with 95% bands: " +
          ", ".join(f"[{t}](figures/extrapolation_{t}.png)" for t in tasks), ""]
    return L


def mentions(lines, enc):
    return any(re.search(rf"(?<![\w-]){re.escape(enc)}(?![\w-])", x) for x in lines)


def claims_section(enc, out, figures):
    """Every claim judged on the merged summaries against the same claim on the baseline: (summary rows,
    lines of the claims enc's runs change or appear in)."""
    report_b, _, _ = report.judge(os.path.join(out, "baseline"), figures)
    report_m, _, _ = report.judge(os.path.join(out, "merged"), figures)
    before = {cid: (v, block) for cid, v, block in report_b.blocks}
    rows, L = [], []
    for cid, v, block in report_m.blocks:
        v0, block0 = before.get(cid, ("not judged", []))
        named, changed = mentions(block, enc), block != block0
        if not named and not changed:
            rows.append((cid, v0, v, "no"))
            continue
        rows.append((cid, v0, f"**{v}**" if v != v0 else v, "in its table" if named else "changes its numbers"))
        bold = re.compile(rf"^\| ({re.escape(enc)}(\+rand)?( \([^|]*\))?) \|")   # its rows in the claim's tables
        L += [block[0] + (f" (baseline: {v0})" if v != v0 else "")] + [bold.sub(r"| **\1** |", x) for x in block[1:]]
    return rows, L


def scorecard(args, enc, done, diag_new, diag_refused, flags, quick, started, version):
    out = args.out
    extra = sorted({e for d in done.values() for e in d["extra"]})
    mark = Marks(enc, extra)
    figures = os.path.join(out, "figures")
    claim_rows, claim_lines = claims_section(enc, out, figures)
    status, core = {}, {}
    for d in done.values():
        for r in read(os.path.join(d["dir"], "runs.csv")):
            status[r["status"]] = status.get(r["status"], 0) + 1
        core[d["name"]] = 0.0
        for rid, _ in d["runs"]:
            w = [f(x.get("wall_s")) for x in read(os.path.join(d["dir"], "runs", rid, "summary.csv"))]
            core[d["name"]] += w[0] if w and not math.isnan(w[0]) else 0.0
    warns = [w for d in done.values() for w in d["warns"]]
    notes = [n for d in done.values() for n in d["notes"]]
    H = [f"# Scorecard: `{enc}` against the reference", "",
         f"Generated by `scripts/compare.py` on {datetime.date.today().isoformat()} from the runs under "
         f"`{shown(out)}/` and the summaries under `{shown(args.reference)}/`. **The baselines "
         f"were not run again: the reference's summaries are the baseline**" +
         (f", except {', '.join(extra)} ({RAN_NOW}), which the reference does not hold and which ran now with "
          "the same configurations and seeds" if extra else "") + f". `{enc}` in bold.", ""]
    if quick:
        H += [f"**A quick comparison (QUICK=1): the suites' [compare-quick] subset of the reference's own "
              f"configurations, seed 1 only, beside the reference's means over its seeds. One seed is not "
              f"evidence; `make compare ENCODING={enc}` runs the full comparison.**", ""]
    if warns:
        H += ["**Warnings:**", ""] + [f"- {w}" for w in warns] + [""]
    H += ["## What ran", ""]
    H += report.table([(d["name"], ", ".join(d["grids"]), len(d["runs"]), 1 if quick else d["seeds"],
                        f"{d['same']} of {d['expected']}", len(d["refused"]), f"{core[d['name']] / 60:.1f}",
                        "-" if d["per_run"] is None else f"{len(d['runs']) * d['per_run'] / 60:.1f}")
                       for d in done.values()],
                      ["suite", "grids that compare encodings", "runs", "seeds", "reference runs with the same "
                       "options and seed as the suite now", "configurations posprobe refuses",
                       "core-minutes (its runs' wall_s)", "core-minutes at the reference's mean per run"]) + [""]
    for d in done.values():
        for rid, msg in d["refused"]:
            H.append(f"- not run ({d['name']}): {rid.rsplit('-s', 1)[0]}: {msg}")
    H += [f"- runs: {sum(status.values())} ({', '.join(f'{v} {k}' for k, v in sorted(status.items()))}); this "
          f"invocation took {(time.time() - started) / 60:.1f} minutes of wall time with -j {args.jobs} (runs "
          "finished by an earlier one are not run again; the machine's other load counts in)",
          f"- this posprobe: {version}"] + [f"- {n}" for n in notes] + [""]
    H += probe_section(enc, out, mark, args.reference)
    H += diagnose_section(enc, diag_new, diag_refused, flags)
    H += extrapolation_section(enc, out, mark, extra)
    H += ["## Claims of the report", "",
          f"Every claim the probe suite, the extrapolation suite and diagnose judge, by report.py's rules, on the "
          f"reference's summaries (baseline) and on the same with `{enc}`'s rows added. A verdict in bold changed. "
          f"Below the table, each claim whose table names `{enc}` or whose numbers its rows change, as judged with "
          "them.", ""]
    H += report.table(claim_rows, ["claim", "baseline", f"with {enc}", f"{enc}'s rows"]) + [""] + claim_lines
    return "\n".join(H) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 epilog="\n\n".join(__doc__.split("\n\n")[2:]),
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("encoding", metavar="ENCODING", help="the encoding to compare (posprobe list encodings)")
    ap.add_argument("--reference", default=os.path.join(ROOT, "results", "reference"), metavar="DIR")
    ap.add_argument("--out", metavar="DIR", help="default results/compare-ENCODING")
    ap.add_argument("--quick", action="store_true", help="the suites' [compare-quick] subset, seed 1")
    ap.add_argument("-j", "--jobs", type=suite.integer, default=os.cpu_count() or 1)
    ap.add_argument("--baselines", help="'a b': only these beside it; '+a +b': the reference's and these")
    ap.add_argument("--suites", default=os.path.join(ROOT, "scripts", "suites"), metavar="DIR",
                    help="where probe.suite, extrapolation.suite and normalizers.suite are")
    ap.add_argument("--posprobe", default=default_posprobe(), metavar="BIN")
    args = ap.parse_args()
    started = time.time()
    enc = args.encoding
    try:
        if not enc:
            raise CompareError("no encoding to compare: make compare ENCODING=NAME")
        if args.jobs < 1:
            raise CompareError("-j must be at least 1")
        try:
            encs = {r["name"]: r for r in catalogue(args.posprobe, "encodings")}
            report.load_classes(args.posprobe)
        except CatalogueError as e:
            raise CompareError(str(e))
        if enc not in encs:
            raise CompareError(f"'{enc}' is not an encoding of {args.posprobe} (posprobe list encodings): add "
                               "encodings/NAME.c and its line in encodings/registry.c, then make")
        change = suite.encoding_change(args.baselines.split()) if args.baselines is not None else None
        for b in (change[1] if change else []):
            if b not in encs:
                raise CompareError(f"--baselines: '{b}' is not an encoding of {args.posprobe}")
        if not os.path.isdir(args.reference):
            raise CompareError(f"{args.reference}: not a directory (the reference to compare against; an installed "
                               "posprobe has no committed reference: give --reference DIR, the RESULTS of a make "
                               "reproduce or a checkout's results/reference)")
        args.out = args.out or os.path.join(ROOT, "results", f"compare-{enc}")
        ref, out = os.path.realpath(args.reference), os.path.realpath(args.out)
        if out == ref or out.startswith(ref + os.sep) or ref.startswith(out + os.sep):
            raise CompareError(f"{args.out}: inside the reference or around it; the reference is never written")
        os.makedirs(args.out, exist_ok=True)
        version = posprobe_version(args.posprobe)
        for name in SUITES:   # every suite file first: not two suites run and then a stop on the third
            if read(os.path.join(args.reference, name, "runs.csv")) and \
                    not os.path.exists(os.path.join(args.suites, f"{name}.suite")):
                raise CompareError(f"{args.suites}: no {name}.suite for the reference's {name}/ runs")
        done = {}
        for name in SUITES:
            d = run_suite(args, name, enc, change, args.out, args.quick)
            if d is not None:
                done[name] = d
        if not done:
            raise CompareError(f"{args.reference}: no probe/, extrapolation/ or normalizers/runs.csv to compare against")
        ran = [enc] + sorted({e for d in done.values() for e in d["extra"]})
        diag_new, diag_refused = run_diagnose(args, ran, args.out)
        build_dirs(args, enc, done, diag_new, args.out)
        import plots   # matplotlib only now, once there is something to draw
        plots.NORMS[:] = report.NORMS
        plots.HIGHLIGHT.add(enc)
        made, figures = [], os.path.join(args.out, "figures")
        os.makedirs(figures, exist_ok=True)
        for draw in (plots.probe_grids, plots.extrapolation, plots.diagnose):
            draw(os.path.join(args.out, "merged"), figures, made)
        text = scorecard(args, enc, done, diag_new, diag_refused, encs[enc], args.quick, started, version)
        path = os.path.join(args.out, "SCORECARD.md")
        if write_output(path, text):
            return 1
        for d in done.values():
            for w in d["warns"]:
                print(f"posprobe compare: warning: {w}", file=sys.stderr)
        print(f"posprobe compare: {path} ({len(made)} figures, {(time.time() - started) / 60:.1f} min)",
              file=sys.stderr)
        return 0
    except (CompareError, suite.SuiteError) as e:
        return error(str(e))
    except OSError as e:
        return error(str(e), 1)


if __name__ == "__main__":
    sys.exit(main())
