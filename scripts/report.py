#!/usr/bin/python3
"""REPORT.md from posprobe's CSV: which claims of CLAIMS.md held.

usage: scripts/report.py RESULTS [--posprobe BIN]

Reads RESULTS/probe/{summary,horizons,runs}.csv, RESULTS/extrapolation/..., RESULTS/normalizers/... and
RESULTS/catalogue/... (pooled: catalogue.suite repeats the decoder grid),
RESULTS/schedules/..., RESULTS/linear/... (with linear_attention.csv),
RESULTS/diagnose.csv and RESULTS/curves/*.csv, and RESULTS/probe-seeds/summary.csv
(R2's and R7's cells with more seeds, which replace the probe suite's in those claims), and writes
RESULTS/REPORT.md.
Which encodings are absolute, relative, directional or symmetric, and which
tasks are controls, it asks posprobe (`posprobe list encodings|tasks --csv`).
Every number in the report comes from those files; nothing is hand-written.
Verdicts follow fixed rules stated next to each claim.
"""
import argparse
import datetime
import math
import os
import statistics
import sys
from collections import defaultdict

from csvrows import FORM_MODE, ArgumentParser, CatalogueError, catalogue, default_posprobe, error
from csvrows import fnum as f
from csvrows import enc_label, read, read_length_suites, write_output

# The classes of encodings and tasks the claims are about, read from posprobe's
# own catalogue (`posprobe list encodings|tasks --csv`, set by load_classes):
ENCODINGS = []        # every encoding, in the catalogue's order
NORMS = []            # every normalizer, in the catalogue's order
LOGITS_ONLY = []      # positions only in the logits or a rotation of q and k (not the input, not the values)
ABSOLUTE_INPUT = []   # absolute positions at the input
DIRECTIONAL = []      # the position term tells i - j from j - i
SYMMETRIC = []        # the position term depends on |i - j| only
RELATIVE = []         # attention depends on positions only through i - j
LINEAR_NORMS = []     # the linear-attention normalizers (8265: linear, linear-num, cos1), from `list norms`
PASS, FAIL = 0.95, 0.5
FACTORS = ["task", "encoding", "norm", "mask", "markers", "positions", "head"]


def setting(r):
    """A runs.csv row's setting: its config_id (the factors alone in files written before it existed)."""
    return tuple(r.get(k, "") for k in FACTORS + ["config_id"])


def max_seeds(runs):
    """The largest number of distinct seeds of any setting, counting every run whatever its status."""
    seeds = defaultdict(set)
    for r in runs:
        if r.get("task"):   # an unreadable config.csv names no setting
            seeds[setting(r)].add(r["seed"])
    return max((len(v) for v in seeds.values()), default=0)


def run_config(res, xruns):
    """config.csv ({key: value}) of the first extrapolation run whose directory is present; {} if none is."""
    for r in xruns:
        rows = read(os.path.join(res, "extrapolation", "runs", r["run_id"], "config.csv"))
        if rows and "key" in rows[0]:
            return {c["key"]: c["value"] for c in rows}
    return {}


class Probe:
    """Final token accuracy on the probe at the training length: the probe suite's cells, each taken from
    `make probe-seeds` instead where it ran the same configuration (config_id) with more seeds, so a verdict
    rests on the most seeds there are (such rows carry MORE_SEEDS)."""

    def __init__(self, res):
        self.rows = self.read(res, "probe")
        self.n = int(self.rows[0]["train_len"]) if self.rows else 0
        self.more, self.more_skipped = {}, set()   # config_id -> its probe-seeds row; those without a mean or seeds
        for r in self.read(res, "probe-seeds"):
            if math.isnan(f(r.get("n_seeds"))) or math.isnan(f(r.get("token_acc_mean"))):
                self.more_skipped.add(r.get("config_id"))
            else:
                self.more[r.get("config_id")] = dict(r, **{MORE_SEEDS: True})

    @staticmethod
    def read(res, suite):
        return [r for r in read(os.path.join(res, suite, "summary.csv"))
                if r.get("task") == "probe" and r.get("length") == r.get("train_len")]

    def get(self, enc, norm="softmax", mask="bidir", markers="none"):
        for r in self.rows:
            if (r["encoding"], r["norm"], r["mask"], r["markers"], r["positions"]) == (enc, norm, mask, markers,
                                                                                       "sequential"):
                more = self.more.get(r["config_id"])
                return more if more and f(more["n_seeds"]) > f(r.get("n_seeds")) else r
        return None

    def note(self, rows):
        """A line under a claim's table naming its cells that come from `make probe-seeds`, if any."""
        more = [r for r in rows if r and r.get(MORE_SEEDS)]
        skipped = len(self.more_skipped & {r.get("config_id") for r in rows if r})
        if not more and not skipped:
            return []
        parts = ([f"{', '.join(cell_label(r) for r in more)}: from `make probe-seeds`, the same configuration run "
                  "with more seeds than the probe suite's"] if more else []) + \
                ([f"{skipped} probe-seeds rows without a mean or a seed count left out"] if skipped else [])
        return ["", "; ".join(parts) + "."]


MORE_SEEDS = "_from_probe_seeds"   # a Probe row's mark: it is make probe-seeds' cell, not the probe suite's


def fmt(r):
    if r is None:
        return "not run"
    lo, hi = f(r.get("token_acc_ci_lo")), f(r.get("token_acc_ci_hi"))   # no interval for one seed
    diverged = r.get("n_diverged") or "0"
    return (f"{f(r.get('token_acc_mean')):.3f}" + (f" [{max(0, lo):.3f}, {min(1, hi):.3f}]" if not math.isnan(lo) else "")
            + f" (n={r.get('n_seeds')}" + (f", {diverged} diverged" if diverged != "0" else "") + ")")


def rule_pass(means):
    """held: every mean >= 0.95; did not hold: any mean <= 0.5; else inconclusive."""
    if all(m >= PASS for m in means):
        return "held"
    if any(m <= FAIL for m in means):
        return "did not hold"
    return "inconclusive"


def rule_fail(chance):
    """held: every mean at most 0.02 above chance 1/n (identical outputs give 1/n, or 0 if the one class they
    predict is no position); did not hold: any >= 0.5."""
    def rule(means):
        if all(m <= chance + 0.02 for m in means):
            return "held"
        if any(m >= FAIL for m in means):
            return "did not hold"
        return "inconclusive"
    return rule, (chance + 0.02, FAIL)


def rule_restores(chance):
    """held: some encoding passes (>= 0.95) and every one is clearly above chance (>= 3/n);
    did not hold: every one stays at most 0.02 above chance; else inconclusive."""
    def rule(means):
        if max(means) >= PASS and min(means) >= 3 * chance:
            return "held"
        if all(m <= chance + 0.02 for m in means):
            return "did not hold"
        return "inconclusive"
    return rule, (PASS, 3 * chance, chance + 0.02)


RULE_PASS = (rule_pass, (PASS, FAIL))


def cell_label(r):
    """A probe cell named by what sets it apart: encoding, then the normalizer, mask, markers and variant."""
    parts = [r["encoding"]] + [r[k] for k, plain in (("norm", "softmax"), ("mask", None), ("markers", "none"))
                               if r[k] != plain] + ([r["variant"]] if r.get("variant") else [])
    return " ".join(parts)


class Basis:
    """How firmly a threshold verdict rests on its seeds: seeds per cell, the margin (the smallest move of
    one cell's mean across one of the rule's thresholds that changes the verdict) and leave-one-seed-out
    (the verdict with each cell's lowest or highest seed dropped, one cell at a time: the rules are
    monotone in each mean, so these two are the extremes of dropping any one seed)."""

    def __init__(self, rows, means, rule, thresholds, verdict):
        # a cell's seed count and extremes as numbers; NaN where missing or not a number (never a traceback)
        ns = [f(r.get("n_seeds")) for r in rows]
        ns = [int(n) if not math.isnan(n) and n == int(n) and n >= 0 else 0 for n in ns]
        self.seeds = f"{min(ns)}" if min(ns) == max(ns) else f"{min(ns)}-{max(ns)}"
        self.n_cells = len(rows)
        # no mean decides it (R10 without a mirror-tied diagnose): every cell at 0 or every cell at 1 gives it too
        self.decided_elsewhere = all(rule([x] * len(means)) == verdict for x in (0.0, 1.0))
        self.margin = None   # (distance, cell, its mean, its interval half-width, threshold, verdict it would give)
        for i, r in enumerate(rows):
            if math.isnan(means[i]):
                continue   # a cell with no mean (every seed diverged) has no distance to move
            for t in thresholds:
                for x in (t - 1e-9, t, t + 1e-9):
                    moved = rule(means[:i] + [x] + means[i + 1:])
                    if moved != verdict:
                        d = abs(t - means[i])
                        if self.margin is None or d < self.margin[0]:
                            lo, hi = f(r.get("token_acc_ci_lo")), f(r.get("token_acc_ci_hi"))
                            self.margin = (d, cell_label(r), means[i], (hi - lo) / 2, t, moved)
                        break
        self.flips = []   # (cell, the dropped seed's accuracy, the verdict without it)
        self.unchecked = []   # cells with fewer than 2 seeds or without a mean and seed extremes
        for i, (r, n) in enumerate(zip(rows, ns)):
            ext = (f(r.get("token_acc_min")), f(r.get("token_acc_max")))
            if n < 2 or math.isnan(means[i]) or any(math.isnan(x) for x in ext):
                self.unchecked.append(cell_label(r))
                continue
            for dropped in ext:
                moved = rule(means[:i] + [(n * means[i] - dropped) / (n - 1)] + means[i + 1:])
                if moved != verdict:
                    self.flips.append((cell_label(r), dropped, moved))

    def margin_text(self):
        if self.margin is None:
            return ("no move of the cells' means changes it (decided by the rule's other condition)"
                    if self.decided_elsewhere else "more than one cell's mean would have to move")
        d, cell, m, half, t, moved = self.margin
        return (f"{d:.3f} ({cell}: {m:.3f} against {t:.3f}" + (f", interval ±{half:.3f}" if not math.isnan(half) else "")
                + f"; beyond it: {moved})")

    def dropped_text(self):
        if len(self.unchecked) == self.n_cells:
            return "not checked (one seed)" if self.seeds == "1" else "not checked (no cell with two seeds)"
        skipped = (f" ({len(self.unchecked)} of {self.n_cells} cells not checked: fewer than 2 seeds or no seed "
                   f"extremes)") if self.unchecked else ""
        if not self.flips:
            return "unchanged" + skipped
        cell, acc, moved = self.flips[0]
        more = f" (and {len(self.flips) - 1} more)" if len(self.flips) > 1 else ""
        return f"**changes**: {moved} without {cell}'s seed at {acc:.3f}{more}{skipped}"

    def lines(self):
        return [f"- Rests on: {self.seeds} seed{'' if self.seeds == '1' else 's'} in each of {self.n_cells} cells; margin from flipping: "
                f"{self.margin_text()}; with any one seed of any cell dropped: {self.dropped_text()}"]


def threshold_verdict(rows, rule, thresholds):
    """A rule on the cells' mean token accuracies (rows: probe summary rows, None where not run):
    (verdict, Basis or None)."""
    rows = [r for r in rows if r]
    if not rows:
        return "inconclusive (not run)", None
    means = [f(r["token_acc_mean"]) for r in rows]
    verdict = rule(means)
    return verdict, Basis(rows, means, rule, thresholds, verdict)


def conv_claim(res, P, chance, claim):
    """T6 (8130): the conv encoding's probe rows ([grid conv], [grid conv-circular]) by mask, kernel and
    padding (read from the summary's variant, the conv options in which settings differ; defaults K = 3,
    zero padding), with the layer probe of the embedded input (layer 0) where extras.py ran it."""
    conv = []
    for r in P.rows:
        if (r["encoding"], r["norm"], r["markers"], r["positions"]) != ("conv", "softmax", "none", "sequential"):
            continue
        opts = dict(kv.split("=", 1) for kv in r.get("variant", "").split() if "=" in kv)
        conv.append((r["mask"], int(opts.get("conv-kernel", "3")), opts.get("conv-circular", "0") == "1", r))
    if not conv:
        return
    layer0 = {}   # config_id -> layer-0 probe accuracy of its seed-1 run
    for run in read(os.path.join(res, "probe", "runs.csv")):
        lp = read(os.path.join(res, "layerprobe", f"{run['run_id']}.csv")) if run.get("encoding") == "conv" else []
        for x in lp:
            if x["layer"] == "0":
                layer0[run["config_id"]] = f(x["probe_acc"])
    conv.sort(key=lambda x: (x[2], x[0], x[1]))
    reach = [r for m, k, circ, r in conv if not circ and k >= P.n + 1]   # the kernel reaches every row from an end
    circular = [r for m, k, circ, r in conv if circ]
    def rule(means):   # the zero-padding cells first, then the circular ones
        means_z, means_c = means[:len(reach)], means[len(reach):]
        if all(m >= PASS for m in means_z) and all(m <= chance + 0.02 for m in means_c):
            return "held"
        if any(m <= FAIL for m in means_z) or any(m >= FAIL for m in means_c):
            return "did not hold"
        return "inconclusive"
    verdict = (threshold_verdict(reach + circular, rule, (PASS, FAIL, chance + 0.02)) if reach and circular
               else "inconclusive (not run)")
    rows = [(m, k, "circular" if circ else "zero", fmt(r),
             f"{layer0[r['config_id']]:.3f}" if r["config_id"] in layer0 else "-") for m, k, circ, r in conv]
    claim("T6", "8130 (on CNNs; Chu et al. 2021's conditional position encodings)",
          "a convolution gets absolute position from zero padding, and none with circular padding",
          "zero padding passes the probe when the kernel reaches every row (K >= n + 1); circular padding stays at 1/n; "
          "a narrow kernel (K = 3) tells apart only the rows it reaches bidirectionally (at most 3/n), while causal "
          "attention can count from the padded start",
          table(rows, ["mask", "kernel K", "padding", "token accuracy", "layer-0 probe (seed 1)"]),
          verdict, "every zero-padding mean with K >= n + 1 >= 0.95 and every circular mean at most 1/n + 0.02")


def table(rows, header):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return out

def outcome(r):
    """a probe summary row's mean token accuracy [95% interval] (and its diverged runs); - when not run"""
    if r is None:
        return "-"
    m, lo, hi = f(r["token_acc_mean"]), f(r["token_acc_ci_lo"]), f(r["token_acc_ci_hi"])
    c = "-" if math.isnan(m) else f"{m:.3f}" + (f" [{lo:.3f}, {hi:.3f}]" if not math.isnan(lo) else "")
    return c + (f" ({r['n_diverged']} diverged)" if r.get("n_diverged", "0") not in ("0", "") else "")


def probe_outcomes(summary, mark=str):
    """Every setting of the probe suite at its training length, one table per task, mask, markers, positions
    and head: encoding (enc_label, in the catalogue's order) x normalizer (outcome); mark(label) names a row."""
    rows = [r for r in summary if r["length"] == r["train_len"]]
    group = lambda r: (r["task"], r["mask"], r["markers"], r["positions"], r["head"])  # noqa: E731
    order = lambda e: ENCODINGS.index(e) if e in ENCODINGS else len(ENCODINGS)  # noqa: E731
    L = []
    for g in sorted({group(r) for r in rows}, key=lambda g: (g[0] != "probe", g)):
        sub = [r for r in rows if group(r) == g]
        norms = [n for n in NORMS if any(r["norm"] == n for r in sub)]
        norms += sorted({r["norm"] for r in sub} - set(norms))
        labels = sorted({(order(r["encoding"]), enc_label(r)) for r in sub})
        by = {(enc_label(r), r["norm"]): r for r in sub}
        task, mask, markers, positions, head = g
        L += [f"**{task}**, n = {sub[0]['train_len']}, mask {mask}, markers {markers}" +
              (f", positions {positions}" if positions != "sequential" else "") +
              (f", head {head}" if head != "auto" else "") +
              f" (seeds per cell: {', '.join(sorted({r['n_seeds'] for r in sub}))}):", ""]
        L += table([[mark(lab)] + [outcome(by.get((lab, n))) for n in norms] for _, lab in labels],
                   ["encoding"] + norms) + [""]
    return L


COPY_FAMILY = ["repeat", "repeat2", "copy", "reverse", "duplicate"]
# Tasks whose answer needs no position information in that form: every answer
# slot of repeat/repeat2 holds the same token, and a parity is a function of
# the multiset of the input. They are controls, kept out of position claims.
CONTROLS = {"bidir": set(), "causal": set()}   # per mask (encoder, decoder form); set by load_classes


def load_classes(posprobe):
    """The encoding classes and the controls from posprobe's catalogue, the one place they are declared
    (the flags of encodings/encoding.h and probes/task.h)."""
    encs, tasks = catalogue(posprobe, "encodings"), catalogue(posprobe, "tasks")
    names = lambda rows, keep: [r["name"] for r in rows if keep(r)]  # noqa: E731
    ENCODINGS[:] = names(encs, lambda e: True)
    NORMS[:] = names(catalogue(posprobe, "norms"), lambda n: True)
    LOGITS_ONLY[:] = names(encs, lambda e: e["where"] in ("logits", "rotation") and e["value_side"] == "0")
    # conv reads neighbouring rows and no position id: its position comes from the padding (T6), not from an
    # absolute position added to the input (R2)
    ABSOLUTE_INPUT[:] = names(encs, lambda e: e["where"] == "input" and e["reads_prior_rows"] == "0")
    DIRECTIONAL[:] = names(encs, lambda e: e["directional"] == "1")
    SYMMETRIC[:] = names(encs, lambda e: e["symmetric"] == "1")
    RELATIVE[:] = names(encs, lambda e: e["relative"] == "1")
    CONTROLS["bidir"] = set(names(tasks, lambda t: t["control_encoder"] == "1"))
    CONTROLS["causal"] = set(names(tasks, lambda t: t["control_decoder"] == "1"))
    LINEAR_NORMS[:] = names(catalogue(posprobe, "norms"), lambda n: n["linear"] == "1")


def cannot_fit(mask, encoding, markers, task):
    """NoPE under a bidirectional mask without markers is permutation-equivariant: its answer slots are identical
    tokens and get identical outputs, so it can fit only tasks whose answer needs no positions (the controls)."""
    return mask == "bidir" and encoding == "none" and markers == "none" and task not in CONTROLS["bidir"]


PRIMARY = {"causal": (FORM_MODE["causal"], "seq_acc_beyond_train", "seq_acc_beyond_ci", "seq_horizon_90", "exact match"),
           "bidir": (FORM_MODE["bidir"], "acc_beyond_train", "acc_beyond_ci", "horizon_90", "token accuracy")}


class Fits:
    """Who fitted, from a suite's runs.csv: fit[(mask, norm, label, task)] = [fitted, finished, runs]. Each
    setting and seed counts once (a repeat, or a rerun left unfinished, is no second run); diverged and
    not-fitted runs stay in the denominator as not fitted. missed: the same key -> fit_seq_acc of the finished
    runs that did not fit; structural: the keys that cannot fit by construction (cannot_fit)."""

    def __init__(self, xruns):
        self.fit = defaultdict(lambda: [0, 0, 0])
        self.missed = defaultdict(list)
        self.structural = set()
        seen = set()
        for r in xruns:
            if r["status"] not in ("finished", "diverged") or (setting(r), r["seed"]) in seen:
                continue
            seen.add((setting(r), r["seed"]))
            k = (r["mask"], r["norm"], enc_label(r), r["task"])
            self.fit[k][2] += 1
            if cannot_fit(r["mask"], r["encoding"], r["markers"], r["task"]):
                self.structural.add(k)
            if r["status"] == "finished":
                self.fit[k][1] += 1
                self.fit[k][0] += r.get("fitted", "1") != "0"
                if r.get("fitted", "1") == "0" and not math.isnan(f(r.get("fit_seq_acc", ""))):
                    self.missed[k].append(f(r["fit_seq_acc"]))

    def count(self, k):
        """fitted/runs of a key ('-' when it has no run)"""
        return f"{self.fit[k][0]}/{self.fit[k][2]}" if k in self.fit else "-"

    def cell(self, k):
        """fitted/runs, the mean exact match over 1..N of the runs that did not fit, x if it cannot fit"""
        if k not in self.fit:
            return "-"
        c = self.count(k)
        if self.missed[k]:
            c += f" ({sum(self.missed[k]) / len(self.missed[k]):.2f})"
        return c + (" x" if k in self.structural else "")

    def keys(self, mask, norm="softmax"):
        return [k for k in self.fit if k[0] == mask and k[1] == norm]


def rows_of(hz, mask, norm="softmax", positions=None):
    """horizons.csv's rows of a form (mask) and normalizer in its primary evaluation mode"""
    mode = PRIMARY[mask][0]
    return [h for h in hz if h["mask"] == mask and h["norm"] == norm and h["eval_mode"] == mode
            and (positions is None or h["positions"] == positions)]


def beyond(h):
    """a horizons.csv row's primary score beyond N (exact match in the decoder form, token accuracy in the
    encoder form) and its 95% interval over seeds: (mean, lo, hi), NaN where empty"""
    _, col, ci, _, _ = PRIMARY[h["mask"]]
    return f(h[col]), f(h[ci + "_lo"]), f(h[ci + "_hi"])


def beyond_cell(h, fits):
    """beyond [interval] (fitted/runs), or - (fitted/runs fitted) where no run fitted"""
    n = fits.count((h["mask"], h["norm"], enc_label(h), h["task"]))
    m, lo, hi = beyond(h)
    if math.isnan(m):
        return f"- ({n} fitted)"
    return f"{m:.2f}" + (f" [{lo:.2f}, {hi:.2f}]" if not math.isnan(lo) else "") + f" ({n})"


def form_name(mask):
    return "Decoder" if mask == "causal" else "Encoder"


def fit_form_table(fits, mask, mark=str):
    """The fit table of a form (softmax): encoding x task, fits.cell in each; mark(label) writes a row's name."""
    keys = fits.keys(mask)
    if not keys:
        return []
    tasks = sorted({k[3] for k in keys})
    labels = sorted({k[2] for k in keys})
    return [f"{form_name(mask)} form (softmax):", ""] + \
        table([[mark(lab)] + [fits.cell((mask, "softmax", lab, t)) for t in tasks] for lab in labels],
              ["encoding"] + tasks) + [""]


def beyond_form_tables(hz, fits, mask, mark=str, figures=None):
    """A form's (softmax) score beyond N, encoding x task with intervals and fitted/runs; in the decoder form
    also the share of right answer lengths on the copy family; then its heatmap."""
    keys = fits.keys(mask)
    if not keys:
        return []
    tasks = sorted({k[3] for k in keys})
    labels = sorted({k[2] for k in keys})
    by = {(enc_label(h), h["task"]): h for h in rows_of(hz, mask)}

    def cell_or_fit(lab, t):
        if (lab, t) in by:
            return beyond_cell(by[(lab, t)], fits)
        k = (mask, "softmax", lab, t)
        return f"- ({fits.count(k)})" if k in fits.fit else "not run"
    L = [f"### {form_name(mask)} form: {PRIMARY[mask][4]} beyond N", ""]
    L += table([[mark(lab)] + [cell_or_fit(lab, t) for t in tasks] for lab in labels], ["encoding"] + tasks)
    if mask == "causal":
        L += ["", "Share of answers with the right length beyond N (greedy decoding stopped by [EOS] right after "
              "the answer), the copy family:", ""]
        fam = [t for t in COPY_FAMILY if t in tasks]
        L += table([[mark(lab)] + [f"{f(by[(lab, t)]['length_acc_beyond_train']):.2f}" if (lab, t) in by else "-"
                                   for t in fam] for lab in labels], ["encoding"] + fam)
    fig = f"extrapolation_heatmap_{mask}.png"
    if figures is not None and not os.path.exists(os.path.join(figures, fig)):
        return L + [""]   # plots.py drew none (no run of this form fitted, or plots not run)
    return L + ["", f"Figure: [figures/{fig}](figures/{fig})", ""]


def extrapolation_section(res, hz, xruns, claim):
    """Fit table, decoder and encoder tables, and claims E1-E3, T2, R11."""
    fits = Fits(xruns)
    fit, missed, structural = fits.fit, fits.missed, fits.structural

    def mean_over(mask, label, tasks, positions=None):
        vals = [beyond(h)[0] for h in rows_of(hz, mask, positions=positions) if enc_label(h) == label
                and h["task"] in tasks]
        vals = [v for v in vals if not math.isnan(v)]
        return (sum(vals) / len(vals), len(vals)) if vals else (math.nan, 0)

    n_train = next((h["train_len"] for h in hz if h.get("train_len")), "") or "N (no run fitted)"
    cfg = run_config(res, xruns)
    lens = f"{cfg['len-min']}..N" if cfg.get("len-min") else "up to N"
    fit_acc = f"`--fit-acc` = {f(cfg['fit-acc']):g}" if cfg.get("fit-acc") else "the run's `--fit-acc`"
    L = ["## Length generalization", "",
         f"Trained on lengths {lens} = {n_train}; only runs that fit their own training lengths (mean exact "
         f"match over the evaluated training lengths at least {fit_acc}) are averaged; the others are counted in the "
         "fit table and never averaged in. Decoder form (Kazemnejad et al. 2023): `[BOS] input [SEP] answer [EOS]`, greedy decoding "
         "until [EOS] (cap 2m + 4), scored by exact match: the answer and its length must both be right. Encoder "
         "form (Delétang et al. 2023, Ruoss et al. 2023): answer slots, per-token accuracy. *Beyond* is the mean over "
         "the lengths > N, with a 95% t-interval over seeds; cells read `beyond [interval] (fitted/runs)`; `-` where "
         "no run fitted. Controls (tasks whose answer needs no position information): "
         f"encoder {', '.join(sorted(CONTROLS['bidir']))}; decoder {', '.join(sorted(CONTROLS['causal']))}.", ""]
    # fit table
    L += ["### Fit table: runs that fit their training lengths / runs", ""]
    grids = defaultdict(lambda: [0, 0, 0, 0, []])   # fitted, runs, fitted and runs that can fit, missed fit accs
    short = defaultdict(list)   # grid -> its cells that can fit where some run did not
    for k, (fd, _, n) in sorted(fit.items()):
        mask, norm, label, task = k
        g = ("normalizers " if norm != "softmax" else "") + ("decoder" if mask == "causal" else "encoder") + \
            (" randomized" if "+rand" in label else "")
        if fd < n and k not in structural:
            accs = missed[k]
            short[g].append(f"{label}{'' if norm == 'softmax' else ' ' + norm} {task} {fd}/{n}" +
                            (f" ({sum(accs) / len(accs):.2f})" if accs else ""))
        grids[g][0] += fd
        grids[g][1] += n
        if k not in structural:
            grids[g][2] += fd
            grids[g][3] += n
        grids[g][4] += missed[k]

    def pct(a, b):
        return f"{a}/{b} ({math.floor(100.0 * a / b + 1e-9)}%)" if b else "-"   # floored: 94.8% is not 95%

    def missed_acc(accs):
        return f"{sum(accs) / len(accs):.2f} (n={len(accs)})" if accs else "-"
    L += table([(g, pct(a, b), pct(c, d), missed_acc(m)) for g, (a, b, c, d, m) in sorted(grids.items()) if b],
               ["grid", "fitted / runs", "fitted / runs that can fit", "exact match over 1..N of the runs that "
                "did not fit"]) + [""]
    under = [(g, v) for g, v in sorted(grids.items()) if v[3] and v[2] < 0.95 * v[3]]
    if under:
        L += ["Grids where fewer than 95% of the runs that can fit did (the suites' target), and the cells that "
              "missed, as fitted/runs (mean exact match over 1..N of the runs that did not fit, at their last "
              "evaluation):", ""]
        L += [f"- {g}, {pct(c, d)}: {'; '.join(short[g])}" for g, (a, b, c, d, m) in under] + [""]
    if structural:
        L += ["Runs that cannot fit by construction are counted in the first column only: NoPE under a "
              "bidirectional mask is permutation-equivariant, so its answer slots (identical tokens) get identical "
              "outputs and it can fit only the controls. Cells read fitted/runs, then in brackets the mean exact "
              "match over 1..N at the last evaluation of the runs that did not fit, and `x` marks cells that "
              "cannot fit by construction.", ""]
    else:
        L += ["Cells read fitted/runs, then in brackets the mean exact match over 1..N at the last evaluation of "
              "the runs that did not fit.", ""]

    for mask in ("causal", "bidir"):
        L += fit_form_table(fits, mask)
    for mask in ("causal", "bidir"):
        L += beyond_form_tables(hz, fits, mask, figures=os.path.join(res, "figures"))

    def fitted_tasks(mask, label, tasks, positions):
        """the tasks of the list on which this encoding has fitted runs (a value beyond N)"""
        return {h["task"] for h in rows_of(hz, mask, positions=positions) if enc_label(h) == label and h["task"] in tasks
                and not math.isnan(beyond(h)[0])}

    # Encodings are compared on the tasks where every compared one has fitted runs: a mean over the tasks an
    # encoding happened to fit would set its easy tasks against the others' hard ones.
    # E1
    dec_labels = sorted({enc_label(h) for h in rows_of(hz, "causal", positions="sequential")})
    ahead, behind = ["none", "t5"], ["rope", "learned", "sinusoidal"]
    if dec_labels:
        compared = [x for x in ahead + behind if x in dec_labels]
        common = set(COPY_FAMILY)
        for x in compared:
            common &= fitted_tasks("causal", x, COPY_FAMILY, "sequential")
        common = sorted(common, key=COPY_FAMILY.index)
        means = {lab: mean_over("causal", lab, common, "sequential") for lab in dec_labels}
        fitted = {lab: len(fitted_tasks("causal", lab, COPY_FAMILY, "sequential")) for lab in dec_labels}
        if len(compared) < len(ahead + behind):
            verdict = "inconclusive (not run)"
        elif len(common) < 3:
            verdict = (f"inconclusive (every compared encoding fitted only {len(common)} of the {len(COPY_FAMILY)} "
                       f"copy-family tasks: {', '.join(common) or 'none'})")
        else:
            gaps = [means[a][0] - means[b][0] for a in ahead for b in behind]
            verdict = "held" if min(gaps) >= 0.05 else "did not hold" if min(gaps) <= -0.05 else "inconclusive"
        claim("E1", "Kazemnejad et al. 2023 (The Impact of Positional Encoding on Length Generalization in Transformers)",
              "on the decoder copy family with [EOS], NoPE and T5 extrapolate further than RoPE and absolute encodings",
              "exact match beyond N: none and t5 above rope, learned and sinusoidal",
              table([(lab, f"{means[lab][0]:.3f}" if means[lab][1] else "-", f"{fitted[lab]} of {len(COPY_FAMILY)}")
                     for lab in dec_labels],
                    ["encoding", f"exact match beyond N, mean over {', '.join(common) or 'no task'}",
                     "copy-family tasks with fitted runs"]),
              verdict, "on the copy-family tasks where all five compared encodings fitted (at least 3): held: none "
              "and t5 each at least 0.05 above each of rope, learned, sinusoidal; did not hold: one of them at least "
              "0.05 below one of those; else inconclusive", "extrapolation_heatmap_causal.png")
    # E2
    enc_seq = {enc_label(h) for h in rows_of(hz, "bidir", positions="sequential")}
    pairs = sorted(e for e in enc_seq if e + "+rand" in {enc_label(h) for h in rows_of(hz, "bidir", positions="randomized")})
    if pairs:
        tasks = sorted({h["task"] for h in rows_of(hz, "bidir")} - CONTROLS["bidir"])
        rows, diffs, n_pairs = [], [], 0
        for e in pairs:
            common = sorted(fitted_tasks("bidir", e, tasks, "sequential") &
                            fitted_tasks("bidir", e + "+rand", tasks, "randomized"))
            a, na = mean_over("bidir", e, common, "sequential")
            b, nb = mean_over("bidir", e + "+rand", common, "randomized")
            if common:
                diffs.append(b - a)
                n_pairs += len(common)
            rows.append((e, ", ".join(common) or "-", f"{a:.3f}" if na else "-", f"{b:.3f}" if nb else "-",
                         f"{b - a:+.3f}" if common else "-"))
        up = sum(d >= 0.05 for d in diffs)
        down = sum(d <= 0 for d in diffs)
        if n_pairs < 3:
            verdict = (f"inconclusive (sequential and randomized models both fitted only {n_pairs} encoding-task "
                       "pairs outside the controls)")
        else:
            verdict = ("held" if up * 2 > len(diffs) and not down else
                       "did not hold" if down * 2 > len(diffs) else "inconclusive")
        claim("E2", "Ruoss et al. 2023 (Randomized Positional Encodings Boost Length Generalization of Transformers)",
              "randomized positions raise the beyond-training accuracy of encoder models, averaged over tasks",
              "higher token accuracy beyond N with randomized positions, for the encodings that accept them",
              table(rows, ["encoding", "tasks where both fitted (controls aside)", "sequential", "randomized",
                           "difference"]), verdict,
              "over the tasks where both variants fitted, controls aside (at least 3 encoding-task pairs): held: "
              "higher for every encoding and by at least 0.05 for most; did not hold: not higher for most; else "
              "inconclusive", "extrapolation_heatmap_bidir.png")
    # E3
    enc_rows = rows_of(hz, "bidir", positions="sequential")
    if enc_rows:
        chance = {"parity": 0.5, "even_pairs": 0.5}
        fail_tasks, gen_tasks = ["parity", "reverse", "duplicate"], ["even_pairs", "sort"]
        rows, worst_gap, best = [], -1.0, {}
        for t in fail_tasks + gen_tasks:
            vals = [(enc_label(h), beyond(h)[0]) for h in enc_rows if h["task"] == t]
            vals = [(e, v) for e, v in vals if not math.isnan(v)]
            if not vals:
                continue
            ch = chance.get(t, 1.0 / 8)
            top = max(vals, key=lambda x: x[1])
            rows.append((t, f"{ch:.3f}", f"{top[1]:.3f} ({top[0]})", f"{min(v for _, v in vals):.3f}"))
            if t in fail_tasks:
                worst_gap = max(worst_gap, top[1] - ch)
            else:
                best[t] = top[1]
        a_ok, a_bad = worst_gap <= 0.1, worst_gap > 0.25
        b_ok = len(best) == 2 and min(best.values()) >= 0.9
        b_bad = any(v < 0.75 for v in best.values())
        verdict = "held" if a_ok and b_ok else "did not hold" if a_bad or b_bad else "inconclusive"
        claim("E3", "Delétang et al. 2023 (Neural Networks and the Chomsky Hierarchy)",
              "encoder transformers stay near chance beyond the training lengths on parity, reverse and duplicate "
              "whatever the encoding, while even_pairs and sort generalise",
              "parity/reverse/duplicate: every encoding near chance; even_pairs/sort: some encoding near 1",
              table(rows, ["task", "chance (token)", "best encoding beyond N", "worst encoding"]), verdict,
              "held: no encoding more than 0.1 above chance on parity/reverse/duplicate and the best at least 0.9 on "
              "both even_pairs and sort; did not hold: some encoding more than 0.25 above chance, or the best below "
              "0.75 on even_pairs or sort; else inconclusive", "extrapolation_heatmap_bidir.png")
    # T2
    learned = [h for mask in ("bidir", "causal") for h in rows_of(hz, mask, positions="sequential")
               if h["encoding"] == "learned" and h["task"] not in CONTROLS[mask] and h["variant"] in ("", "rope-fraction=1")]
    if learned:
        hcol = {"bidir": "horizon_90", "causal": "seq_horizon_90"}
        over = [h for h in learned if int(h[hcol[h["mask"]]]) > int(h["train_len"])]
        claim("T2", "8130", "a trained absolute encoding does not extrapolate beyond its training lengths",
              "the 90% horizon (decoder: exact match; encoder: token accuracy) never passes the training length, on "
              "tasks that need positions (controls excluded)",
              table([(h["task"], h["mask"], h[hcol[h["mask"]]], h["train_len"], f"{beyond(h)[0]:.3f}")
                     for h in learned], ["task", "mask", "90% horizon", "training length", "beyond N"]),
              "held" if not over else "did not hold", "no task's 90% horizon exceeds the training length",
              "extrapolation_heatmap_bidir.png")
    # T1, T3, T4 (8130): the catalogue suite's decoder runs against the extrapolation suite's, on the tasks of the
    # copy family where both compared encodings have fitted runs
    def versus(label, others):
        """rows (encoding, tasks, beyond N, fitted tasks) and the differences label - other per other encoding"""
        rows, diffs = [], {}
        for o in others:
            common = sorted(fitted_tasks("causal", label, COPY_FAMILY, "sequential") &
                            fitted_tasks("causal", o, COPY_FAMILY, "sequential"), key=COPY_FAMILY.index)
            a, _ = mean_over("causal", label, common, "sequential")
            b, _ = mean_over("causal", o, common, "sequential")
            rows.append((f"{label} vs {o}", ", ".join(common) or "-", f"{a:.3f}" if common else "-",
                         f"{b:.3f}" if common else "-", f"{a - b:+.3f}" if common else "-"))
            if len(common) >= 3:
                diffs[o] = a - b
        return rows, diffs
    versus_header = ["comparison", "copy-family tasks where both fitted", "first", "second", "difference"]
    def fit_of(lab, t):
        return fit.get(("causal", "softmax", lab, t), [0, 0, 0])
    fits = {lab: (sum(fit_of(lab, t)[0] for t in COPY_FAMILY), sum(fit_of(lab, t)[2] for t in COPY_FAMILY))
            for lab in dec_labels}

    def fit_line(labels):
        return ["", "Fitted runs on the copy family: " + "; ".join(f"{lab} {fits[lab][0]}/{fits[lab][1]}"
                                                                    for lab in labels if lab in fits) + "."]
    if "shaw" in dec_labels:
        shaw = [h for h in rows_of(hz, "causal", positions="sequential") if enc_label(h) == "shaw"]
        full = all(int(h["n_lengths_beyond"] or 0) >= int(h["train_len"]) for h in shaw)
        rows, diffs = versus("shaw", [x for x in ("t5", "none", "rope", "learned") if x in dec_labels])
        claim("T1", "8130", "Shaw et al.'s clipped relative encoding handles any length with a fixed number of "
              "parameters (and how it extrapolates)",
              "the same parameters at every length, every fitted run evaluated up to 2N; beyond N, like the other "
              "relative encodings",
              table(rows, versus_header) + fit_line(["shaw", "t5", "none", "rope", "learned"]) +
              ["", "The parameter count at 16 and at 65536 positions is checked by `test_parameters_fixed_at_any_length` "
               "(shaw's clip keeps one row per offset in [--clip-min, --clip-max])."],
              ("held" if shaw and full else "did not hold"),
              "held: shaw's fitted runs were evaluated at every length to 2N (the parameter count is the test's); the "
              "comparison rows describe how it extrapolates and decide nothing", "extrapolation_heatmap_causal.png")
    if "recursive" in dec_labels and "learned" in dec_labels:
        rows, diffs = versus("recursive", ["learned"])
        d = diffs.get("learned")
        verdict = ("inconclusive (fewer than 3 copy-family tasks where both fitted)" if d is None else
                   "held" if d >= 0.05 else "did not hold" if d <= 0 else "inconclusive")
        claim("T3", "8130", "recursive encodings (FLOATER-like) extrapolate well in theory but are slow, being "
              "sequential",
              "beyond N, recursive above learned (an absolute table); its step slower",
              table(rows, versus_header) + fit_line(["recursive", "learned"]) +
              ["", "Step time is a benchmark (`make bench`, bench_step's \"recursive against learned\"): on one CPU "
               "thread the recurrence adds little to a step of this size (CLAIMS.md gives the measured ratios); the "
               "article's 'slow' is about parallel hardware, where a sequential loop cannot be spread."],
              verdict, "the extrapolation half: held: recursive's exact match beyond N at least 0.05 above learned's, "
              "over at least 3 copy-family tasks where both fitted; did not hold: not above; else inconclusive",
              "extrapolation_heatmap_causal.png")
    if "multiplicative" in dec_labels and "learned" in dec_labels:
        rows, diffs = versus("multiplicative", ["learned"])
        d = diffs.get("learned")
        both = [t for t in COPY_FAMILY + ["sort"] if ("causal", "softmax", "multiplicative", t) in fit]
        fit_rows = [(t, f"{fit_of('multiplicative', t)[0]}/{fit_of('multiplicative', t)[2]}",
                     f"{fit_of('learned', t)[0]}/{fit_of('learned', t)[2]}") for t in both]
        verdict = ("inconclusive (fewer than 3 copy-family tasks where both fitted)" if d is None else
                   "held" if d >= 0.05 else "did not hold" if d <= -0.05 else "inconclusive")
        claim("T4", "8130 (second-hand)", "multiplying the input by the position vector may work better than adding it",
              "multiplicative (x (.) p) above learned (x + p): fits as often, higher exact match beyond N",
              table(rows, versus_header) + [""] + table(fit_rows, ["task", "multiplicative fitted", "learned fitted"]) +
              ["", "On the probe both reach 1.000 (report section R2), a ceiling that cannot tell them apart."],
              verdict, "held: multiplicative's exact match beyond N at least 0.05 above learned's over at least 3 "
              "copy-family tasks where both fitted; did not hold: at least 0.05 below; else inconclusive",
              "extrapolation_heatmap_causal.png")
    # S7, its extrapolation half: sinusoidal against learned in both forms, on the tasks (controls aside) where both
    # have fitted runs
    labels_any = {enc_label(h) for mask in ("causal", "bidir") for h in rows_of(hz, mask, positions="sequential")}
    if {"sinusoidal", "learned"} <= labels_any:
        rows, diffs = [], []
        for mask in ("causal", "bidir"):
            tasks = sorted({h["task"] for h in rows_of(hz, mask)} - CONTROLS[mask])
            common = sorted(fitted_tasks(mask, "sinusoidal", tasks, "sequential") &
                            fitted_tasks(mask, "learned", tasks, "sequential"))
            for t in common:
                a, b = mean_over(mask, "sinusoidal", [t], "sequential")[0], mean_over(mask, "learned", [t], "sequential")[0]
                rows.append(("decoder" if mask == "causal" else "encoder", t, f"{a:.3f}", f"{b:.3f}", f"{a - b:+.3f}"))
                diffs.append(a - b)
        mean_d = sum(diffs) / len(diffs) if diffs else math.nan
        ahead, behind = sum(d > 0.02 for d in diffs), sum(d < -0.02 for d in diffs)
        verdict = ("inconclusive (fewer than 3 tasks where both fitted)" if len(diffs) < 3 else
                   "held" if mean_d >= 0.05 and not behind else "did not hold" if mean_d <= 0 else "inconclusive")
        claim("S7", "8130", "sinusoidal positions extrapolate 'somewhat' (p_{a+b} is a fixed rotation of p_a; the "
              "identity half is test_sinusoid_shift_is_rotation)",
              "beyond N, sinusoidal above learned (a trained table, which T2 finds does not extrapolate)",
              table(rows, ["form", "task", "sinusoidal beyond N", "learned beyond N", "difference"]) +
              ["", f"Mean difference over {len(diffs)} task-form pairs: {mean_d:+.3f}; sinusoidal more than 0.02 "
                   f"ahead on {ahead}, behind on {behind}, within 0.02 on {len(diffs) - ahead - behind} (decoder: exact "
                   "match; encoder: token accuracy; controls aside; fitted runs only)."],
              verdict, "over the task-form pairs where both fitted (at least 3): held: sinusoidal at least 0.05 above "
              "learned on average and more than 0.02 behind on none; did not hold: not above on average; else "
              "inconclusive", "extrapolation_heatmap_causal.png")
    # R11
    rows, wins, total = [], 0, 0
    for mask in ("bidir", "causal"):
        base = {(h["task"], h["encoding"]): beyond(h)[0] for h in rows_of(hz, mask, positions="sequential")}
        for h in hz:
            if h["mask"] != mask or h["norm"] not in ("nodenom", "relu2n", "l2", "logscaled") or \
                    h["eval_mode"] != PRIMARY[mask][0]:
                continue
            b = base.get((h["task"], h["encoding"]), math.nan)
            v = beyond(h)[0]
            rows.append((h["task"], h["encoding"], mask, h["norm"], f"{b:.3f}", f"{v:.3f}"))
            if h["norm"] in ("nodenom", "relu2n") and not math.isnan(b) and not math.isnan(v):
                total += 1
                wins += b > v
    if rows:
        claim("R11", "9019, via 9105", "unnormalised (no denominator) and relu^2/n attention extrapolate worse than softmax",
              "softmax's accuracy beyond the training lengths is higher",
              table(rows, ["task", "encoding", "mask", "norm", "softmax beyond N", "norm beyond N"]) +
              ["", f"softmax is ahead in {wins} of {total} comparisons with nodenom and relu2n (decoder: exact match; "
               "encoder: token accuracy; fitted runs only)."],
              "held" if total and wins >= 0.75 * total else ("did not hold" if total and wins <= 0.25 * total
                                                              else "inconclusive"),
              "softmax ahead in at least 3/4 of the comparisons; did not hold at most 1/4")
    return L


# The frequency schedules of `make curves` (--rope-schedule) for claim S4 (8231): file suffix, label
SCHEDULE_CURVES = [("", "10000^-t"), ("_base1000", "1000^-t"), ("_linear", "t"), ("_power2", "t^2"),
                   ("_power4", "t^4"), ("_constant", "one common theta 10000^-1/2")]


def decay_stats(vals):
    """A curve r = 0..512 relative to its value at 0: long-range envelope, minimum and three means
    (tests/test_identities.c's decay_of, on the same curves)."""
    v = [x / vals[0] for x in vals]
    return {"envelope": max(abs(x) for x in v[256:513]), "min": min(v[:513]), "short": sum(v[1:33]) / 32,
            "long": sum(v[256:513]) / 257, "mean": sum(v[1:513]) / 512}


def schedule_curves(res):
    """Claim S4 from RESULTS/curves/sinusoidal_inner*.csv: (table rows, verdict, lines judging each part), or None."""
    st = {}
    for suffix, label in SCHEDULE_CURVES:
        rows = read(os.path.join(res, "curves", f"sinusoidal_inner{suffix}.csv"))
        if len(rows) < 513:
            return None
        st[label] = {"sum": decay_stats([f(r["inner_product"]) for r in rows]),
                     "integral": decay_stats([f(r["integral_approximation"]) for r in rows])}
    rows = [(lab, kind, *(f"{st[lab][kind][k]:.3f}" for k in ("envelope", "min", "short", "long", "mean")))
            for lab, _ in [(x[1], 0) for x in SCHEDULE_CURVES] for kind in ("sum", "integral")]
    geo, geo3, lin, p2, p4, one = (x[1] for x in SCHEDULE_CURVES)
    monotone = [geo, geo3, p2, p4]

    def both(test):
        """held on both curves, failed on both, or split"""
        r = [test(k) for k in ("sum", "integral")]
        return "held" if all(r) else "did not hold" if not any(r) else "inconclusive"

    parts = [
        ("the monotone schedules " + ", ".join(monotone) + " decay",
         both(lambda k: all(st[s][k]["envelope"] <= 0.5 for s in monotone))),
        ("theta_t = t crosses zero and the other monotone schedules do not",
         both(lambda k: st[lin][k]["min"] < 0 and all(st[s][k]["min"] > 0 for s in monotone))),
        ("power laws decay faster than exponentials at short range (both power laws against both bases)",
         both(lambda k: all(st[p][k]["short"] < st[e][k]["short"] for p in (p2, p4) for e in (geo, geo3)))),
        ("exponentials decay faster than power laws at long range (both bases against both power laws)",
         both(lambda k: all(st[e][k]["long"] < st[p][k]["long"] for p in (p2, p4) for e in (geo, geo3)))),
        ("the closer theta_t stays to 0 the slower the decay: t^4 > t^2 > t and 10000^-t > 1000^-t (mean 1..512)",
         both(lambda k: st[p4][k]["mean"] > st[p2][k]["mean"] > st[lin][k]["mean"] and
              st[geo][k]["mean"] > st[geo3][k]["mean"])),
    ]
    verdict = ("held" if all(v == "held" for _, v in parts) else
               "did not hold" if any(v == "did not hold" for _, v in parts) else "inconclusive")
    lines = [f"- {text}: **{v}**" for text, v in parts]
    lines.append(f"- for comparison, {one}: envelope {st[one]['sum']['envelope']:.3f}, "
                 f"minimum {st[one]['sum']['min']:.3f}: cos(r theta), no decay (claim S6)")
    return rows, verdict, lines



def variant_of(r):
    """A row's variant ("rope-base=4 rope-schedule=constant") as a dict."""
    return dict(w.split("=", 1) for w in r.get("variant", "").split() if "=" in w)


def theta_label(v):
    """geometric, or one common theta with its value (base^-1/2)."""
    if v.get("rope-schedule", "geometric") == "geometric":
        return "geometric"
    return f"one theta = {float(v.get('rope-base', '10000')) ** -0.5:g}"


def schedules_section(res, claim):
    """Claims S6 and P4 from RESULTS/schedules (make schedules); lines for after the claims (none)."""
    summ = read(os.path.join(res, "schedules", "summary.csv"))
    hz = read(os.path.join(res, "schedules", "horizons.csv"))
    runs = read(os.path.join(res, "schedules", "runs.csv"))
    if summ and runs:
        def constant_or_geometric(v):
            return v.get("rope-trainable", "0") != "1" and v.get("rope-schedule") in ("geometric", "constant")
        rows, worse, better, n = [], 0, 0, 0

        def compare(what, enc, task, base_v, const_v, fmt_v):
            nonlocal worse, better, n
            d = const_v - base_v
            n += 1
            worse += d <= -0.05
            better += d >= 0.05
            return (what, task, enc, fmt_v(base_v), fmt_v(const_v), f"{d:+.3f}")
        probe = {}
        for r in summ:
            v = variant_of(r)
            if r["task"] == "probe" and constant_or_geometric(v):
                probe[(r["encoding"], theta_label(v))] = f(r["token_acc_mean"])
        for (enc, lab), acc in sorted(probe.items()):
            if lab != "geometric" and (enc, "geometric") in probe:
                rows.append(compare(f"probe token accuracy ({lab})", enc, "probe", probe[(enc, "geometric")], acc,
                                    lambda x: f"{x:.3f}"))
        fit, beyond = {}, {}
        for r in runs:
            v = variant_of(r)
            if r["task"] != "probe" and constant_or_geometric(v) and r["status"] == "finished":
                fit.setdefault((r["task"], r["encoding"], theta_label(v)), []).append(r["fitted"] == "1")
        for r in hz:
            v = variant_of(r)
            if r["task"] != "probe" and r["eval_mode"] == "greedy" and constant_or_geometric(v):
                beyond[(r["task"], r["encoding"], theta_label(v))] = f(r["seq_acc_beyond_train"])
        for (task, enc, lab) in sorted(fit):
            g = (task, enc, "geometric")
            if lab == "geometric" or g not in fit:
                continue
            share = lambda xs: sum(xs) / len(xs)
            rows.append(compare(f"share of seeds fitted ({lab})", enc, task, share(fit[g]), share(fit[(task, enc, lab)]),
                                lambda x: f"{x:.2f}"))
            if g in beyond and (task, enc, lab) in beyond:
                rows.append(compare(f"exact match beyond N ({lab})", enc, task, beyond[g], beyond[(task, enc, lab)],
                                    lambda x: f"{x:.3f}"))
        seeds = sorted({r["seed"] for r in runs})
        verdict = ("inconclusive (not run)" if not n else "held" if worse * 2 > n and not better else
                   "did not hold" if not worse else "inconclusive")
        claim("S6", "8231 (a comment reply)", "one common theta for every pair works poorly compared with the "
              "geometric schedule",
              "worse on the probe and in the decoder's fitting and extrapolation",
              [f"`make schedules` ([grid probe], [grid probe-constant-fast], [grid decoder], "
               f"[grid decoder-constant-fast]), {len(seeds)} seeds per setting; one common theta = base^-1/2 "
               f"(0.01 with base 10000, 0.5 with base 4); decoder: train 1..6, exact match on 7..12 over every seed, "
               f"fitted or not; worse/better: {worse}/{better} of {n} comparisons", ""] +
              table(rows, ["measure", "task", "encoding", "geometric", "one theta", "difference"]),
              verdict, "a comparison counts as worse when one common theta is at least 0.05 below the geometric "
              "ladder, better when at least 0.05 above; held if more than half are worse and none better, did not "
              "hold if none is worse, else inconclusive")
    freq = read(os.path.join(res, "schedules", "frequencies.csv"))
    if freq:
        pairs = sorted({int(r["pair"]) for r in freq})
        nruns = len({r["run_id"] for r in freq})
        rows, meds = [], []
        for p in pairs:
            rs = [r for r in freq if int(r["pair"]) == p]
            rel = sorted(f(r["relative_change"]) for r in rs)
            ab = sorted(abs(f(r["theta_final"]) - f(r["theta_initial"])) for r in rs)
            med = statistics.median(abs(x) for x in rel)
            meds.append(med)
            rows.append((p, f"{f(rs[0]['theta_initial']):.3g}", f"{med:.3f}", f"{rel[0]:+.3f}", f"{rel[-1]:+.3f}",
                         f"{statistics.median(ab):.4f}"))
        steps = sorted(int(r["steps_done"]) for r in freq)
        verdict = "held" if max(meds) <= 0.1 else "did not hold" if max(meds) > 0.5 else "inconclusive"
        claim("P4", "8265", "trainable frequencies initialised at 10000^(-2i/d) barely change during training",
              "every theta_i within a few percent of its start",
              [f"`make schedules` [grid trainable]: rope, --rope-trainable 1, decoder copy and reverse, {nruns} runs "
               f"(stopped at fit after {steps[0]}..{steps[-1]} steps, AdamW lr 0.001, no weight decay on theta); "
               f"theta_i read from each checkpoint (`posprobe inspect --what frequencies`)", ""] +
              table(rows, ["pair i", "theta_i at start", "median size of the relative change", "smallest",
                           "largest", "median size of the absolute change"]),
              verdict, "held if every pair's median |relative change| over runs is at most 0.1, did not hold if "
              "some pair's exceeds 0.5, else inconclusive")
    return []


def linear_probe_rows(res):
    """The probe with the linear-attention normalizers: make probe's [grid linear] rows, else make linear's
    [grid probe]; (summary rows, where from)."""
    for sub in ("probe", "linear"):
        rows = [r for r in read(os.path.join(res, sub, "summary.csv"))
                if r["task"] == "probe" and r["norm"] in LINEAR_NORMS and r["length"] == r["train_len"]
                and r["markers"] == "none" and r["positions"] == "sequential"]
        if rows:
            return rows, sub
    return [], None


def linear_section(res, claim):
    """Claims P5 and P6 (8265, linear attention with RoPE) from RESULTS/linear (make linear): the
    per-run denominators and weights over training (scripts/linear_stats.py), fits and extrapolation, and
    the probe."""
    lin = read(os.path.join(res, "linear", "linear_attention.csv"))
    runs = read(os.path.join(res, "linear", "runs.csv"))
    hz = read(os.path.join(res, "linear", "horizons.csv"))
    if not lin or not runs:
        return
    form = lambda r: ("decoder " if r["mask"] == "causal" else "encoder ") + r["task"]  # noqa: E731
    seen, fit = set(), defaultdict(lambda: [0, 0, []])   # (form, encoding, norm) -> fitted, runs, fit steps
    for r in runs:
        if r["task"] == "probe" or r["status"] not in ("finished", "diverged") or (setting(r), r["seed"]) in seen:
            continue
        seen.add((setting(r), r["seed"]))
        k = (form(r), r["encoding"], r["norm"])
        fit[k][1] += 1
        if r["status"] == "finished" and r.get("fitted") == "1":
            fit[k][0] += 1
            if r.get("fit_step", "-1") not in ("", "-1"):
                fit[k][2].append(int(r["fit_step"]))
    beyond = {}
    for h in hz:
        mode, col = PRIMARY[h["mask"]][0], PRIMARY[h["mask"]][1]
        if h["task"] != "probe" and h["eval_mode"] == mode:
            beyond[(form(h), h["encoding"], h["norm"])] = f(h[col])
    per = defaultdict(list)   # (form, encoding, norm) -> linear_attention.csv rows
    for x in lin:
        if x["task"] != "probe":
            per[(form(x), x["encoding"], x["norm"])].append(x)

    def nmin(xs, col):
        v = [f(x[col]) for x in xs if x[col] != ""]
        return min(v) if v else math.nan

    def nmax(xs, col):
        v = [f(x[col]) for x in xs if x[col] != ""]
        return max(v) if v else math.nan
    rows = []
    order = ["softmax"] + LINEAR_NORMS
    for k in sorted(fit, key=lambda k: (k[0], k[1], order.index(k[2]) if k[2] in order else len(order), k[2])):
        fd, n, steps = fit[k]
        xs = per.get(k, [])
        med = f"{statistics.median(steps):.0f}" if steps else "-"
        b = beyond.get(k, math.nan)
        rmin = nmin(xs, "ratio_min")
        rows.append((k[0], k[1], k[2], f"{fd}/{n}", med, "-" if math.isnan(b) else f"{b:.3f}",
                     "-" if not xs else f"{nmin(xs, 'den_min'):.3g}",
                     "-" if not xs else f"{rmin:.3f}",
                     "-" if not xs else f"{sum(int(x['steps_ratio_low']) > 0 for x in xs)}/{len(xs)}",
                     "-" if not xs else f"{sum(int(x['steps_ratio_neg']) > 0 for x in xs)}/{len(xs)}",
                     "-" if not xs else f"{nmax(xs, 'ratio_low_share_max'):.3f}",
                     "-" if not xs else f"{nmax(xs, 'abs_weight_max'):.3g}"))
    header = ["form and task", "encoding", "norm", "fitted / runs", "median fit step", "beyond N",
              "smallest denominator used, per key", "smallest denominator ratio in training", "runs with a ratio <= 0.1", "runs with a ratio <= 0",
              "largest share of rows <= 0.1 at a step", "largest normalised weight, absolute"]
    probe, where = linear_probe_rows(res)
    prows = sorted(((r["encoding"], r["norm"], r["mask"], fmt(r)) for r in probe), key=lambda x: (x[0], x[1], x[2]))
    chance = 1.0 / int(probe[0]["train_len"]) if probe else math.nan
    # P5
    both = [x for x in lin if x["encoding"] == "rope" and x["norm"] == "linear" and x["task"] != "probe"]
    near = sum(int(x["steps_ratio_low"]) > 0 for x in both)
    if not both:
        part_a = "inconclusive (not run)"
    elif near:
        part_a = "held"
    elif all(f(x["ratio_min"]) > 0.5 for x in both if x["ratio_min"] != ""):
        part_a = "did not hold"
    else:
        part_a = "inconclusive"
    fits = {nm: [sum(v[0] for k, v in fit.items() if k[1] == "rope" and k[2] == nm),
                 sum(v[1] for k, v in fit.items() if k[1] == "rope" and k[2] == nm)] for nm in ["softmax"] + LINEAR_NORMS}
    num, bth = fits["linear-num"], fits["linear"]
    if not num[1] or not bth[1]:
        part_b = "inconclusive (not run)"
    elif num[0] >= bth[0] and num[0] * 3 >= 2 * num[1]:
        part_b = "held"
    elif num[0] < bth[0]:
        part_b = "did not hold"
    else:
        part_b = "inconclusive"
    verdict = ("held" if part_a == part_b == "held" else
               "did not hold" if "did not hold" in (part_a, part_b) else "inconclusive")
    ratio_all = min((f(x["ratio_min"]) for x in both if x["ratio_min"] != ""), default=math.nan)
    num_runs = [x for x in lin if x["encoding"] == "rope" and x["norm"] == "linear-num" and x["task"] != "probe"]
    num_ratio = min((f(x["ratio_min"]) for x in num_runs if x["ratio_min"] != ""), default=math.nan)
    num_den = min((f(x["den_min"]) for x in num_runs if x["den_min"] != ""), default=math.nan)
    lines = [f"`make linear` (scripts/suites/linear.suite), {max_seeds(runs)} seeds per setting; the denominator "
             "ratio is, per query row, the denominator of the rotated features over that of the same features "
             "un-rotated (1 without a rotation; linear and cos1 divide by the first, linear-num by the second, so "
             "for linear-num the ratio is what RoPE in both would have given its features); the denominator used "
             "is the one the normalizer divides by, over the row's visible keys (its mean weight); all measured "
             "on the training batch at every logged step and layer (linear_attention.csv of each run, gathered by "
             "scripts/linear_stats.py); beyond N: decoder exact match on 7..12, encoder token accuracy on 7..24, "
             "mean over every run, fitted or not", ""] + table(rows, header) + [
        "", f"- RoPE in numerator and denominator (linear, rope): {near} of {len(both)} runs had a row whose "
        f"denominator fell to 0.1 of its un-rotated value or below during training (smallest ratio "
        f"{ratio_all:.3f}): **{part_a}**",
        f"- RoPE in the numerator only trains well (rope): linear-num fitted {num[0]}/{num[1]}, linear "
        f"{bth[0]}/{bth[1]}, softmax {fits['softmax'][0]}/{fits['softmax'][1]}, cos1 {fits['cos1'][0]}/"
        f"{fits['cos1'][1]}: **{part_b}**",
        f"- the features linear-num learned would have cancelled too: their rotated denominator fell to "
        f"{num_ratio:.3f} of the un-rotated one, while the un-rotated denominator it divides by stayed at "
        f"{num_den:.3g} per key or more; so it is the un-rotated denominator, not features that avoid "
        f"cancellation, that keeps it trainable",
        "- `test_linear_rope_denominators` shows that it can happen: identical positive features phi = (1, 1, "
        "e^-20, ...) rotated by RoPE give a negative causal denominator at row 4 (about 2 (1 + cos 1 + ... + "
        "cos 4) = -1.04), while the un-rotated denominator is 2 (i + 1)"]
    if prows:
        lines += ["", f"The probe (n = {probe[0]['train_len']}, from `make {where}`): rows that sum to 1 (linear, cos1) "
                  "are blocked by 9105's argument, linear-num's are not:", ""]
        lines += table([(e, nm, m, r) for e, nm, m, r in prows], ["encoding", "norm", "mask", "token accuracy"])
    claim("P5", "8265 (RoPE for linear attention)",
          "linear attention with RoPE in numerator and denominator can get negative or near-zero denominators; RoPE in "
          "the numerator only trains well", "some rotated denominator near 0 or below in training; linear-num fits",
          lines, verdict,
          "(a) held if in some rope run with RoPE in both a row's denominator fell to at most 0.1 of its un-rotated "
          "value at a logged step, did not hold if every run's smallest ratio stayed above 0.5; (b) held if rope "
          "linear-num fitted at least as many runs as rope linear and at least 2/3 of its runs, did not hold if it "
          "fitted fewer than linear; held if both held, did not hold if either did not")
    # P6
    cos = [x for x in lin if x["norm"] == "cos1"]
    if cos:
        wmin, wmax = nmin(cos, "weight_min"), nmax(cos, "weight_max")
        smin, smax = nmin(cos, "row_sum_min"), nmax(cos, "row_sum_max")
        ok = wmin >= -1e-5 and wmax <= 2 + 1e-5 and abs(smin - 1) <= 1e-5 and abs(smax - 1) <= 1e-5
        crow = [(x["task"], x["encoding"], x["mask"]) for x in cos]
        steps = sum(int(x["logged_steps"]) for x in cos)
        p6 = [f"{len(cos)} cos1 runs of `make linear` ({', '.join(sorted({f'{t} {e} {m}' for t, e, m in crow}))}), "
              f"{steps} logged training steps, every layer, head and row of the training batch:", "",
              f"- unnormalised weights 1 + cos(q, k) from {wmin:.6f} to {wmax:.6f}",
              f"- row sums of the row-normalised weights from {smin:.9f} to {smax:.9f}",
              f"- smallest row denominator per visible key (the row's mean weight) {nmin(cos, 'den_min'):.4f}",
              "- `test_cos1_weights_are_probabilities`: the same on random rotated q, k (0 exactly for k = -q, 2 for "
              "k = q), and a row whose every visible key points opposite its query has no probabilities (0/0: "
              "posprobe gives it a zero row)"]
        if prows:
            cp = [r for r in probe if r["norm"] == "cos1"]
            accs = ", ".join(f"{r['encoding']} {r['mask']} {f(r['token_acc_mean']):.3f}" for r in cp)
            p6.append(f"- the consequence on the probe: cos1 rows sum to 1, so 9105's argument blocks them as it "
                      f"blocks softmax (predicted by the catalogue): token accuracy {accs} (chance {chance:.4f})")
        claim("P6", "8265 (RoPE for linear attention)",
              "with the similarity 1 + cos(q, k) of rotated q and k the weights lie in [0, 2] and, row-normalised, "
              "give probabilities", "weights in [0, 2]; rows summing to 1", p6,
              "held" if ok else "did not hold",
              "every logged weight of every cos1 run in [0, 2] and every row sum within 1e-5 of 1")


class Report:
    """The claims section as it is built: each claim's lines, and (claim, verdict) for the summary."""

    def __init__(self, res, figures=None):
        self.res = res
        self.figures = figures or os.path.join(res, "figures")   # where the figures a claim names are looked for
        self.lines = []
        self.claims = []
        self.basis = {}    # claim -> Basis, for the claims judged by a threshold rule on probe cells
        self.blocks = []   # (claim, verdict, its lines), in order

    def claim(self, cid, source, statement, expected, rows_text, verdict, rule, fig=None):
        verdict, basis = verdict if isinstance(verdict, tuple) else (verdict, None)   # a threshold rule's Basis
        self.claims.append((cid, verdict))
        if basis:
            self.basis[cid] = basis
        block = [f"### {cid}: {statement}", "", f"- Source: {source}", f"- Expected: {expected}",
                 f"- Verdict: **{verdict}** (rule: {rule})"] + (basis.lines() if basis else [])
        if fig and os.path.exists(os.path.join(self.figures, fig)):
            block.append(f"- Figure: [figures/{fig}](figures/{fig})")
        block += [""] + rows_text + [""]
        self.blocks.append((cid, verdict, block))
        self.lines.extend(block)


def header_lines(res, runs, P, chance):
    """The title, the QUICK banner, where the numbers come from, and the probe's chance level."""
    status = defaultdict(int)
    for r in runs:
        status[r["status"]] += 1
    header = ["# posprobe report", ""]
    # from runs.csv: horizons.csv's n_seeds counts only fitted seeds under --fitted-only
    if runs and max_seeds(runs) <= 1:
        header += ["**A one-seed smoke run (QUICK): its verdicts are not evidence.** Run `make reproduce` for the "
                   "full suites.", ""]
    header += [f"Generated by `scripts/report.py` from the CSV files under `{os.path.basename(os.path.abspath(res))}/` "
               f"on {datetime.date.today().isoformat()}. Every number below is read from those files.", "",
               f"Runs: {len(runs)}" + (f" ({', '.join(f'{v} {k}' for k, v in sorted(status.items()))})" if runs else "") + ". "
               "Accuracies are final per-token accuracies on the held-out set at the training length, as mean "
               "[95% t-interval] over seeds; diverged or unfinished runs are counted, never averaged in.", ""]
    if P.n:
        header += [f"Probe: `[0]*n -> [1..n]` with n = {P.n}; chance (one class for all positions) is 1/n = "
                   f"{chance:.4f}.", ""]
    if not P.n and os.path.exists(os.path.join(res, "probe-seeds", "summary.csv")):
        header += ["`probe-seeds/` is here, but its cells only stand in for the probe suite's (in R2 and R7) and "
                   "need `probe/`.", ""]
    def present(path):   # R11's runs are in extrapolation/ in results made before normalizers.suite
        return os.path.exists(os.path.join(res, path)) or (path.startswith("normalizers/") and any(
            h.get("norm", "softmax") != "softmax" for name in ("horizons.csv", "runs.csv")
            for h in read(os.path.join(res, "extrapolation", name))))
    missing = [(what, claims) for what, path, claims in INPUTS if not present(path)]
    if missing:
        header += ["**Not judged here, for want of their input:** " + "; ".join(
            f"{claims} (no `{what}`)" for what, claims in missing) + ". The make target of each is in "
            "docs/suites.md.", ""]
    return header


# What each claim is judged from, for the report's list of what it could not judge: (input, path under RESULTS,
# the claims it judges). T3 and T4 also read extrapolation's learned runs.
INPUTS = [("probe/", "probe/summary.csv", "R1-R8, R10, T6"), ("diagnose.csv", "diagnose.csv", "the symmetry argument"),
          ("extrapolation/", "extrapolation/horizons.csv", "E1-E3, T2, S7, R11's softmax side, and T3, T4's baseline"),
          ("normalizers/", "normalizers/horizons.csv", "R11"),
          ("catalogue/", "catalogue/horizons.csv", "T1, T3, T4"), ("curves/", "curves/rope_decay.csv", "S3, P3, S4"),
          ("schedules/", "schedules/summary.csv", "S6, P4"), ("linear/", "linear/runs.csv", "P5, P6")]


def probe_claims(rep, P, diag, chance):
    """R1-R8 and R10, from the probe suite (and diagnose's verdicts for R10)."""
    claim = rep.claim
    if not P.rows:
        return
    # R1 / P8
    rows = [(e, m, P.get(e, mask=m)) for e in LOGITS_ONLY for m in ("bidir", "causal")]
    rows = [x for x in rows if x[2]]
    claim("R1", "9105 (and P8: RoPE, 8265)",
          "with softmax and a position encoding only in the logits, the probe cannot be fitted",
          "token accuracy 1/n: every position gets the same output", table([(e, m, fmt(r)) for e, m, r in rows],
                                                                               ["encoding", "mask", "token accuracy"]),
          threshold_verdict([r for _, _, r in rows], *rule_fail(chance)), "every mean at most 1/n + 0.02", "probe_grid_markers-none.png")
    rows = [(e, m, P.get(e, mask=m)) for e in ABSOLUTE_INPUT for m in ("bidir", "causal")]
    claim("R2", "9105", "absolute position encodings added to the input pass the probe easily", "accuracy 1",
          table([(e, m, fmt(r)) for e, m, r in rows], ["encoding", "mask", "token accuracy"]) +
          P.note([r for *_, r in rows]),
          threshold_verdict([r for _, _, r in rows], *RULE_PASS), "every mean >= 0.95")
    rows = [(m, P.get("shaw", mask=m)) for m in ("bidir", "causal")]
    claim("R3", "9105, 8130", "Shaw et al.'s relative encoding with the value term is not blocked", "passes",
          table([(m, fmt(r)) for m, r in rows], ["mask", "token accuracy (shaw, softmax)"]),
          threshold_verdict([r for _, r in rows], *RULE_PASS), "every mean >= 0.95")
    for cid, norm, name in (("R4", "nodenom", "removing the softmax denominator"),
                            ("R5", "l2", "l2-normalised attention")):
        rows = [(e, P.get(e, norm=norm)) for e in DIRECTIONAL]
        claim(cid, "9105", f"{name} lets a relative-encoding model pass the probe",
              "direction-aware relative encodings leave chance, and can reach 1",
              table([(e, fmt(r)) for e, r in rows], ["encoding (bidirectional)", f"token accuracy ({norm})"]),
              threshold_verdict([r for _, r in rows], *rule_restores(chance)),
              "some mean >= 0.95 and every mean >= 3/n", "probe_grid_markers-none.png")
    rows = [(e, mk, m, P.get(e, mask=m, markers=mk)) for e in LOGITS_ONLY if e in RELATIVE
            for mk in ("bos", "cls-sep") for m in ("bidir", "causal")]
    rows = [x for x in rows if x[3]]
    claim("R6", "9105", "marker tokens ([CLS] 0...0 [SEP]) let an unchanged softmax relative-encoding model pass",
          "passes", table([(e, mk, m, fmt(r)) for e, mk, m, r in rows], ["encoding", "markers", "mask", "token accuracy"]),
          threshold_verdict([r for *_, r in rows], *rule_restores(chance)), "some mean >= 0.95 and every mean >= 3/n",
          "probe_grid_markers-cls-sep.png")
    rows = [(m, P.get("urpe", mask=m)) for m in ("bidir", "causal")]
    claim("R7", "9105, citing Luo et al. 2022", "O = (A (.) C) V with a learned Toeplitz C passes the probe", "passes",
          table([(m, fmt(r)) for m, r in rows], ["mask", "token accuracy (urpe, softmax)"]) +
          P.note([r for _, r in rows]),
          threshold_verdict([r for _, r in rows], *RULE_PASS), "every mean >= 0.95")
    # every encoding run with swishl2 whose positions are not added at the input (those pass the probe anyway)
    rows = [(e, m, P.get(e, norm="swishl2", mask=m)) for e in ENCODINGS if e not in ABSOLUTE_INPUT
            for m in ("bidir", "causal")]
    rows = [x for x in rows if x[2]]
    claim("R8", "9105", "swish(b) + l2 normalisation 'has some feasibility'",
          "leaves chance with relative encodings (a weak claim)",
          table([(e, m, fmt(r)) for e, m, r in rows], ["encoding", "mask", "token accuracy (swishl2)"]),
          threshold_verdict([r for *_, r in rows], lambda means: "held" if max(means) >= FAIL else "did not hold",
                            (FAIL,)), "some mean >= 0.5")
    rows = [(e, n, P.get(e, norm=n)) for e in SYMMETRIC for n in ("l2", "nodenom")]
    drows = {(d["encoding"], d["norm"]): d["verdict"] for d in diag if d["mask"] == "bidir" and d["markers"] == "none"}
    tied = all(drows.get((e, n)) == "mirror-tied" for e, n, _ in rows)
    r10 = (lambda means: "held" if tied and all(m <= 0.5 + chance + 0.02 for m in means) else "did not hold")
    claim("R10", "derived from 9105 (docs/articles.md, the symmetry argument)",
          "with a symmetric relative encoding and identical inputs, mirror positions i and n+1-i tie under any normalizer",
          "diagnose says mirror-tied; trained accuracy at most 1/2 (+1/n)",
          table([(e, n, fmt(r), drows.get((e, n), "-")) for e, n, r in rows],
                ["encoding (bidirectional)", "norm", "token accuracy", "diagnose verdict"]),
          threshold_verdict([r for *_, r in rows], r10, (0.5 + chance + 0.02,))
          if rows and all(r for *_, r in rows) else "inconclusive (not run)",
          "every mean <= 1/2 + 1/n + 0.02 and every diagnose verdict mirror-tied", "diagnose_grid.png")
    conv_claim(rep.res, P, chance, claim)


def diagnose_section(rep, diag):
    """The symmetry argument's predictions against diagnose --all's verdicts."""
    L = rep.lines
    if not diag:
        return
    pred = [d for d in diag if d.get("expected")]
    agree = sum(d["verdict"] == d["expected"] for d in pred)
    verdict = "held" if pred and agree == len(pred) else "did not hold"
    rep.claims.append(("diagnose", verdict))
    block = ["### The symmetry argument on random models (`posprobe diagnose --all`)", "",
             f"{len(diag)} configurations (encoding x normalizer x mask x markers, {diag[0]['seeds']} random seeds "
             f"each); the argument predicts a verdict for {len(pred)} of them and **{agree} of {len(pred)} agree**. "
             f"Tolerance for 'identical': relative spread below {diag[0]['tolerance']}.", ""]
    for v in ("indistinguishable", "mirror-tied", "distinguishable"):
        sub = [f(d["spread_max"]) for d in diag if d["verdict"] == v]
        if sub:
            block.append(f"- {v}: {len(sub)} configurations, largest spread {max(sub):.2e}, smallest {min(sub):.2e}")
    block += ["", "Figure: [figures/diagnose_grid.png](figures/diagnose_grid.png)", ""]
    rep.blocks.append(("diagnose", verdict, block))
    L += block


def curve_claims(rep, res):
    """S3 and P3: the sinusoidal inner product and RoPE's bound against the articles' numbers."""
    claim = rep.claim
    rope = read(os.path.join(res, "curves", "rope_decay.csv"))
    sin = read(os.path.join(res, "curves", "sinusoidal_inner.csv"))
    if rope and sin:
        ref_r = {0: 32.5, 1: 31.54, 2: 28.96, 4: 22.60, 8: 19.82, 16: 15.78, 32: 13.38, 64: 10.09, 96: 9.75, 128: 9.27,
                 160: 9.80, 192: 7.33, 224: 7.38, 256: 6.54}
        ref_s = {0: 64, 1: 62.09, 2: 57.38, 4: 48.59, 8: 45.72, 16: 39.70, 32: 35.68, 64: 30.52, 128: 21.30, 256: 20.53,
                 512: 14.04}
        rv = {int(r["distance"]): f(r["rope_decay_bound"]) for r in rope}
        sv = {int(r["distance"]): f(r["inner_product"]) for r in sin}
        rows = [("RoPE bound", d, ref_r[d], f"{rv[d]:.4f}") for d in ref_r if d in rv] + \
               [("sinusoidal <p_m,p_n>", d, ref_s[d], f"{sv[d]:.4f}") for d in ref_s if d in sv]
        ok = all(abs(float(x[3]) - x[2]) < 0.006 for x in rows) and rv[256] < rv[0] / 4 and sv[512] < sv[0] / 4
        claim("S3, P3", "8231, 8265", "the sinusoidal inner product and RoPE's bound decay (with oscillation) with distance",
              "the reference numbers of docs/articles.md (d = 128), a decaying trend",
              table(rows, ["curve", "distance", "reference value", "computed"]),
              "held" if ok else "did not hold", "every value within 0.006 of the printed one, and the tail below 1/4 of the start",
              "rope_decay.png")


def schedule_claim(rep, res):
    """S4: which frequency schedules make the inner product decay, from make curves' schedule curves."""
    s4 = schedule_curves(res)
    if not s4:
        return
    rows, verdict, parts = s4
    rep.claim("S4", "8231",
              "almost any smooth monotone frequency schedule makes the inner product decay; theta_t = t is the "
              "exception (it crosses zero); power laws decay faster at short range and exponentials at long range; "
              "the closer theta_t stays to 0 the slower the decay",
              "each part below holds", table(rows, ["schedule", "curve", "long-range envelope", "min", "mean 1..32",
                                                    "mean 256..512", "mean 1..512"]) + [""] + parts,
              verdict, "sum_i cos(r theta_i) with d = 128 and its integral approximation (d/2) Re int_0^1 "
              "e^{i r theta_t} dt, r = 0..512, divided by their value at 0; a curve decays if its long-range "
              "envelope (max |value| over r = 256..512) is at most 0.5 and crosses zero if its minimum is below 0; "
              "'faster at short range' compares means over r = 1..32, 'at long range' means over 256..512, "
              "'slower' means over 1..512; each part is judged on both curves; held if every part holds, "
              "did not hold if any part fails on both curves, else inconclusive", "frequency_schedules.png")


def tested_claims_lines():
    """The claims the test suite checks, named with their tests."""
    return ["### Claims checked by the test suite", "",
          "These are exact identities or tables; `make test` checks them in both precisions (cmocka):", "",
          "- S1 permutation equivariance without positions: `test_none_permutation_equivariant`",
          "- S2 <p_m, p_n> depends only on m - n: `test_sinusoid_relative_inner_product`",
          "- P1, P2 RoPE relativity, orthogonality, elementwise form = block matrix: `test_rope_properties`",
          "- Q1, Q2 2-D RoPE relativity and invertibility; R((x+y) theta) is not invertible: `test_rope2d_properties`",
          "- T5 the bucket table of 8130: `test_t5_buckets`; ALiBi slopes: `test_alibi_slopes`",
          "- the row sums of docs/articles.md (softmax 1, l2 1.984 ... 2.422, no denominator 2.495 ... 3.530): "
          "`test_constant_values_row_sums`", ""]


def judge(res, figures=None):
    """The claims the probe and extrapolation suites and diagnose judge, from their CSV under res (in the
    report's order): (Report, Probe, the length-generalization tables). figures: where the figures are
    looked for (default res/figures)."""
    P = Probe(res)
    chance = 1.0 / P.n if P.n else math.nan
    diag = read(os.path.join(res, "diagnose.csv"))
    rep = Report(res, figures)
    probe_claims(rep, P, diag, chance)
    diagnose_section(rep, diag)
    hz = read_length_suites(res, "horizons.csv")
    xruns = read_length_suites(res, "runs.csv")
    return rep, P, extrapolation_section(res, hz, xruns, rep.claim) if hz else []


def main():
    ap = ArgumentParser(description=__doc__.split("\n\n", 1)[0],
                        epilog=__doc__.split("\n\n", 2)[2], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", metavar="RESULTS", help="the results directory (make reproduce's RESULTS)")
    ap.add_argument("--posprobe", default=default_posprobe(), metavar="BIN",
                    help="the posprobe binary whose catalogue names the encoding classes and controls "
                         "(default: $POSPROBE_BIN, else the repository's posprobe beside scripts/, else the installed one)")
    args = ap.parse_args()
    res = args.results
    if not os.path.isdir(res):
        return error(f"{res}: not a directory")
    try:
        load_classes(args.posprobe)
    except CatalogueError as e:
        return error(str(e))
    runs = read(os.path.join(res, "probe", "runs.csv")) + read_length_suites(res, "runs.csv")
    # The document is built in its order: header, then the summary (known only once every claim is judged),
    # then the claims, then the length-generalization tables.
    rep, P, ext_lines = judge(res)
    header = header_lines(res, runs, P, 1.0 / P.n if P.n else math.nan)
    curve_claims(rep, res)
    schedule_claim(rep, res)
    sched_lines = schedules_section(res, rep.claim)
    linear_section(res, rep.claim)
    rep.lines += tested_claims_lines()
    claims = rep.claims
    held = sum(v == "held" for _, v in claims)
    summary = ["## Summary", "", f"{held} of {len(claims)} claims held.", ""]
    B = rep.basis
    summary += table([(c, v) + ((B[c].seeds, B[c].margin_text(), B[c].dropped_text()) if c in B else ("-",) * 3)
                      for c, v in claims], ["claim", "verdict", "seeds per cell", "margin from flipping",
                                            "one seed dropped"]) + [""]
    summary += ["For the claims judged by a threshold rule on probe cells: the seeds each cell's mean rests on; the "
                "margin, the smallest move of one cell's mean across one of the rule's thresholds that would change "
                "the verdict (with that cell's 95% interval half-width); and the verdict with any one seed of any cell "
                "left out (each cell's lowest or highest seed, one cell at a time). `-`: judged from tables that give "
                "their own seeds and intervals, in the claim.", ""]
    summary += ["Not testable here: R9, S8 and P7 (their claims are about pre-training at scale, which a CPU harness "
                "of tiny models cannot reach).", ""]
    probe_lines = []
    if P.rows:
        probe_lines = ["## Probe outcomes", "", "Every setting of the probe suite: final token accuracy at the training "
                       "length, mean [95% t-interval] over seeds (none for one seed); `-`: not run. The claims above "
                       "read these cells.", ""] + probe_outcomes(read(os.path.join(res, "probe", "summary.csv")))
    doc = header + summary + ["## Claims", ""] + rep.lines + probe_lines + ext_lines + sched_lines
    if write_output(os.path.join(res, "REPORT.md"), "\n".join(doc) + "\n"):   # a symlink or device stays what it is
        return 1
    print(f"posprobe report: {held} of {len(claims)} claims held; {os.path.join(res, 'REPORT.md')}", file=sys.stderr)
    return 0

if __name__ == "__main__":
    sys.exit(main())
