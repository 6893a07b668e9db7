#!/usr/bin/python3
"""Figures from posprobe's CSV (and nothing else).

usage: scripts/plots.py RESULTS [--posprobe BIN]

Reads RESULTS/{probe,extrapolation,normalizers,catalogue}/summary.csv (or .csv.gz), the
suites' runs.csv and the runs' train.csv, RESULTS/curves/*.csv,
RESULTS/diagnose.csv, RESULTS/attention/*.csv and RESULTS/layerprobe/*.csv
where they exist, and writes PNG figures to RESULTS/figures/. Missing inputs
skip their figures. The normalizers are ordered as posprobe lists them
(`posprobe list norms --csv`; BIN defaults to $POSPROBE_BIN, else the
repository's posprobe beside scripts/, else the installed one).
"""
import glob
import math
import os
import re
import sys
import textwrap
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.colors import BoundaryNorm, ListedColormap  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from csvrows import FORM_MODE, CatalogueError, catalogue, default_posprobe, error, fnum, read, read_length_suites  # noqa: E402
from csvrows import usage, usage_error  # noqa: E402
from csvrows import enc_label as label  # noqa: E402

FORM_NAME = {"bidir": "encoder (bidirectional)", "causal": "decoder (causal, greedy until [EOS])"}
# what each form is judged by: per-token accuracy (Delétang et al.), exact match (Kazemnejad et al.)
FORM_METRIC = {"bidir": ("token_acc", "token accuracy"), "causal": ("seq_acc", "exact match")}
NORMS = []   # in posprobe's order (list norms), set by main
HIGHLIGHT = set()   # encodings named in bold and drawn thicker (scripts/compare.py's new encoding)

# Ten colours; past ten names the colours come round again with another line
# style, so no two lines of a figure share both (see Styles).
COLOURS = list(plt.get_cmap("tab10").colors)
COLOURS20 = list(plt.get_cmap("tab20").colors)
LINESTYLES = ["-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (8, 2)), (0, (1, 3)), (0, (3, 3, 1, 3))]
MARKERS = ["o", "s", "^", "D"]   # past ten names, where line styles mean something else
LEGEND_FONT = 8
NOT_RUN = "#d9d9d9"   # a cell no run or row fills


def save(fig, out, name, made):
    path = os.path.join(out, name)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    made.append(name)


class Styles:
    """A colour and line style per name, the same in every panel of a figure:
    names that differ only by a dashed variant (randomized positions, '+rand')
    share a colour, solid against dashed; past ten base names the colours come
    round again with the next pair of line styles; a figure that spends its
    line styles on something else (layerprobe: the form) takes twenty colours,
    and past those tells names apart by the marker."""

    def __init__(self, names, variant=lambda n: (n.replace("+rand", ""), "+rand" in n), colours=COLOURS):
        self.variant = variant
        self.colours = colours
        bases = sorted({variant(n)[0] for n in names})
        self.index = {b: i for i, b in enumerate(bases)}

    def __call__(self, name):
        base, dashed = self.variant(name)
        i = self.index[base]
        ls = LINESTYLES[(2 * (i // len(self.colours)) + int(dashed)) % len(LINESTYLES)]
        return {"color": self.colours[i % len(self.colours)], "linestyle": ls}

    def marker(self, name):
        """past the palette's colours, the same colours come round with another marker"""
        return MARKERS[(self.index[self.variant(name)[0]] // len(self.colours)) % len(MARKERS)]


def grid_label(r):
    """A probe-grid row: label(), but conv's kernel and padding always spelled out with their defaults (the
    summary's variant names only the options in which a mask's settings differ: 'conv-kernel=17' under the
    causal mask, 'conv-kernel=17 conv-circular=0' under the bidirectional one), so one setting is one row."""
    if r["encoding"] != "conv":
        return label(r)
    opts = dict(kv.split("=", 1) for kv in r.get("variant", "").split() if "=" in kv)
    k = int(opts.get("conv-kernel", "3"))
    return f"conv (K={k:>2}, {'circular' if opts.get('conv-circular', '0') == '1' else 'zero'} padding)"


def highlighted(name):
    """whether a label (enc_label: 'rope+rand (1/4 rotated)') names an encoding of HIGHLIGHT"""
    return name.split(" ")[0].removesuffix("+rand") in HIGHLIGHT


def emphasize(ticklabels):
    """HIGHLIGHT's encodings in bold among an axis's tick labels"""
    for t in ticklabels:
        if highlighted(t.get_text()):
            t.set_fontweight("bold")


def outside_legend(ax, handles=None, title=None):
    """A legend right of the axes, never over the data, in two columns past 18 entries."""
    handles = handles if handles is not None else ax.get_legend_handles_labels()[0]
    ax.legend(handles=handles, fontsize=LEGEND_FONT, title=title, title_fontsize=LEGEND_FONT,
              loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0, ncol=1 if len(handles) <= 18 else 2)


def wrap(text, width=90):
    return "\n".join(textwrap.wrap(text, width))


def not_run_background(ax):
    """Cells no row fills (NaN) show this grey, hatched (not run, or masked), never a colour of the scale."""
    ax.set_facecolor(NOT_RUN)
    ax.patch.set_hatch("///")
    ax.patch.set_edgecolor("white")


def runs_by_id(res):
    """Every suite's runs.csv row, keyed by run id (labels for per-run figures)."""
    out = {}
    for path in sorted(glob.glob(os.path.join(res, "*", "runs.csv"))):
        for r in read(path):
            out[r["run_id"]] = r
    return out


def run_title(rid, runs):
    """A run as a reader names it (task, encoding, form, normalizer, seed), not its hashed id."""
    r = runs.get(rid)
    if not r:
        return re.sub(r"-[0-9a-f]{8,}$", "", rid)
    parts = [r["task"], label(r), FORM_NAME.get(r["mask"], r["mask"]).split(" (")[0]]
    if r.get("norm", "softmax") != "softmax":
        parts.append(r["norm"])
    if r.get("markers", "none") != "none":
        parts.append(f"markers {r['markers']}")
    return ", ".join(parts) + f", seed {r['seed']}"


def probe_grids(res, out, made):
    rows = [r for r in read(os.path.join(res, "probe", "summary.csv")) if r["task"] == "probe"
            and r["length"] == r["train_len"]]
    if not rows:
        return
    for markers in sorted({r["markers"] for r in rows}):
        sub = [r for r in rows if r["markers"] == markers]
        masks = sorted({r["mask"] for r in sub})
        encs = list(dict.fromkeys(grid_label(r) for r in rows if r["markers"] == markers))   # conv's kernels apart
        encs.sort()
        norms = [n for n in NORMS if any(r["norm"] == n for r in sub)]
        norms += sorted({r["norm"] for r in sub} - set(norms))
        fig, axes = plt.subplots(1, len(masks), figsize=(2.6 + 0.75 * len(norms) * len(masks), 0.3 * len(encs) + 2.2),
                                 squeeze=False, sharey=True, layout="constrained")
        for ax, mask in zip(axes[0], masks):
            grid = [[math.nan] * len(norms) for _ in encs]
            for r in sub:
                if r["mask"] == mask:
                    grid[encs.index(grid_label(r))][norms.index(r["norm"])] = fnum(r["token_acc_mean"])
            not_run_background(ax)
            im = ax.imshow(grid, vmin=0, vmax=1, cmap="viridis", aspect="auto")
            ax.set_xticks(range(len(norms)), norms, rotation=45, ha="right")
            ax.set_yticks(range(len(encs)), encs)
            emphasize(ax.get_yticklabels())
            ax.set_title(f"mask {mask}")
            for i in range(len(encs)):
                for j in range(len(norms)):
                    if not math.isnan(grid[i][j]):
                        ax.text(j, i, f"{grid[i][j]:.2f}", ha="center", va="center", fontsize=7,
                                color="white" if grid[i][j] < 0.6 else "black")
        fig.colorbar(im, ax=axes[0].tolist(), label="token accuracy (mean over seeds)")
        if any(math.isnan(v) for ax in axes[0] for row in ax.images[0].get_array().filled(math.nan) for v in row):
            fig.legend(handles=[Patch(facecolor=NOT_RUN, hatch="///", edgecolor="white", label="not run")],
                       loc="upper right", bbox_to_anchor=(1, 0), fontsize=LEGEND_FONT)
        fig.suptitle(f"Probe [0]*n -> [1..n], n = {sub[0]['train_len']}, markers {markers}")
        save(fig, out, f"probe_grid_markers-{markers}.png", made)


def probe_training_curves(res, out, made):
    runs = read(os.path.join(res, "probe", "runs.csv"))
    sel = [r for r in runs if r["task"] == "probe" and r["seed"] == "1" and r["norm"] == "softmax"
           and r["mask"] == "bidir" and r["markers"] == "none" and r["status"] == "finished"]
    curves = [(label(r), read(os.path.join(res, "probe", "runs", r["run_id"], "train.csv"))) for r in sel]
    curves = sorted((c for c in curves if c[1]), key=lambda c: c[0])
    if not curves:
        return
    style = Styles([n for n, _ in curves])
    fig, ax = plt.subplots(figsize=(7.5, 4.5), layout="constrained")
    for name, tr in curves:
        ax.plot([int(t["step"]) for t in tr], [fnum(t["loss"]) for t in tr], label=name, lw=1.3, **style(name))
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title("Probe training curves (softmax, bidirectional, no markers, seed 1)")
    outside_legend(ax)
    save(fig, out, "probe_training_curves.png", made)


def extrapolation(res, out, made):
    rows = [r for r in read_length_suites(res, "summary.csv") if r["norm"] == "softmax"]
    if not rows:
        return
    style = Styles({label(r) for r in rows})   # one colour per encoding in every figure
    for task in sorted({r["task"] for r in rows}):
        masks = [m for m in ("bidir", "causal") if any(r["task"] == task and r["mask"] == m for r in rows)]
        fig, axes = plt.subplots(1, len(masks), figsize=(5.2 * len(masks) + 2, 4.2), squeeze=False, sharey=True,
                                 layout="constrained")
        names = set()
        for ax, mask in zip(axes[0], masks):
            sub = [r for r in rows if r["task"] == task and r["mask"] == mask and r["eval_mode"] == FORM_MODE[mask]]
            groups = defaultdict(list)
            for r in sub:
                groups[label(r)].append(r)
            metric = FORM_METRIC[mask][0]
            same = defaultdict(list)   # curves drawn over each other: only the last would show
            for name, g in sorted(groups.items()):
                g.sort(key=lambda r: int(r["length"]))
                x = [int(r["length"]) for r in g]
                y = [fnum(r[f"{metric}_mean"]) for r in g]
                # one seed has no interval: the band collapses onto the mean
                lo = [v if math.isnan(fnum(r[f"{metric}_ci_lo"])) else fnum(r[f"{metric}_ci_lo"]) for v, r in zip(y, g)]
                hi = [v if math.isnan(fnum(r[f"{metric}_ci_hi"])) else fnum(r[f"{metric}_ci_hi"]) for v, r in zip(y, g)]
                st = style(name)
                ax.plot(x, y, label=name, lw=2.6 if highlighted(name) else 1.3, **st)
                ax.fill_between(x, lo, hi, color=st["color"], alpha=0.12, lw=0)
                names.add(name)
                same[tuple(zip(x, (round(v, 3) for v in y)))].append(name)
            coincide = [ns for ns in same.values() if len(ns) > 1]
            if sub:
                ax.axvspan(0.5, int(sub[0]["train_len"]) + 0.5, color="grey", alpha=0.12)
            ax.set_title(FORM_NAME[mask])
            # below the axis, never over the data: which names share one curve
            ax.set_xlabel("\n".join(["length n"] + [wrap(", ".join(ns) + ": one curve (drawn over each other)", 60)
                                                     for ns in coincide]))
            ax.set_ylabel(FORM_METRIC[mask][1])
            ax.yaxis.set_tick_params(labelleft=True)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_ylim(-0.02, 1.02)
        handles = [Line2D([], [], lw=2.6 if highlighted(n) else 1.3, label=n, **style(n)) for n in sorted(names)]
        handles.append(Patch(color="grey", alpha=0.25, label="training lengths"))
        outside_legend(axes[0][-1], handles)
        fig.suptitle(f"{task}: accuracy by length, fitted runs, mean over seeds (band: 95% CI)")
        save(fig, out, f"extrapolation_{task}.png", made)
    for mask in ("bidir", "causal"):
        tasks = sorted({r["task"] for r in rows if r["mask"] == mask})
        if not tasks:
            continue
        cols = 3
        nr = math.ceil(len(tasks) / cols)
        fig, axes = plt.subplots(nr, cols, figsize=(5.2 * cols, 3.3 * nr + 0.6), squeeze=False, layout="constrained")
        im = None
        for k, task in enumerate(tasks):
            ax = axes[k // cols][k % cols]
            sub = [r for r in rows if r["task"] == task and r["mask"] == mask and r["eval_mode"] == FORM_MODE[mask]]
            if not sub:   # no run of this task fitted
                ax.set_title(f"{task}: no fitted run", fontsize=9)
                ax.axis("off")
                continue
            names = sorted({label(r) for r in sub})
            lens = sorted({int(r["length"]) for r in sub})
            grid = [[math.nan] * len(lens) for _ in names]
            for r in sub:
                grid[names.index(label(r))][lens.index(int(r["length"]))] = fnum(r[f"{FORM_METRIC[mask][0]}_mean"])
            not_run_background(ax)
            im = ax.imshow(grid, vmin=0, vmax=1, aspect="auto", cmap="viridis",
                           extent=(lens[0] - 0.5, lens[-1] + 0.5, len(names) - 0.5, -0.5))
            ax.axvline(int(sub[0]["train_len"]) + 0.5, color="red", lw=1.2)
            ax.set_yticks(range(len(names)), names, fontsize=8)
            emphasize(ax.get_yticklabels())
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_title(task, fontsize=10)
            ax.set_xlabel("length n", fontsize=9)
        for k in range(len(tasks), nr * cols):
            axes[k // cols][k % cols].axis("off")
        if im is not None:
            fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.6,
                         label=f"{FORM_METRIC[mask][1]} (mean over seeds)")
        fig.suptitle(wrap(f"{FORM_METRIC[mask][1].capitalize()} by encoding and length, {FORM_NAME[mask]}, "
                          "fitted runs (red line: end of the training lengths)", 150))
        save(fig, out, f"extrapolation_heatmap_{mask}.png", made)


def curves(res, out, made):
    rope = read(os.path.join(res, "curves", "rope_decay.csv"))
    if rope:
        fig, ax = plt.subplots(figsize=(6, 3.5), layout="constrained")
        ax.plot([int(r["distance"]) for r in rope], [fnum(r["rope_decay_bound"]) for r in rope])
        ax.set_xlabel("relative distance")
        ax.set_ylabel("(1/(d/2)) sum |S_j|")
        ax.set_title("RoPE's long-range decay bound, d = 128 (kexue.fm 8265)")
        save(fig, out, "rope_decay.png", made)
    sin = read(os.path.join(res, "curves", "sinusoidal_inner.csv"))
    sin3 = read(os.path.join(res, "curves", "sinusoidal_inner_base1000.csv"))
    if sin:
        fig, ax = plt.subplots(figsize=(6, 3.5), layout="constrained")
        ax.plot([int(r["distance"]) for r in sin], [fnum(r["inner_product"]) for r in sin], label="sum, base 10000", lw=1)
        ax.plot([int(r["distance"]) for r in sin], [fnum(r["integral_approximation"]) for r in sin],
                label="(d/2) integral, base 10000", lw=1)
        if sin3:
            ax.plot([int(r["distance"]) for r in sin3], [fnum(r["integral_approximation"]) for r in sin3],
                    label="(d/2) integral, base 1000", lw=1)
        ax.set_xlabel("m - n")
        ax.set_ylabel("<p_m, p_n>")
        ax.set_title("Sinusoidal inner product, d = 128 (kexue.fm 8231)")
        ax.legend(fontsize=LEGEND_FONT)
        save(fig, out, "sinusoidal_inner.png", made)
    schedule_curves(res, out, made)
    bias = sorted(glob.glob(os.path.join(res, "curves", "*_bias.csv")))
    if bias:
        names = [os.path.basename(p)[:-9] for p in bias]
        style = Styles(names)
        fig, ax = plt.subplots(figsize=(6, 3.5), layout="constrained")
        for path, name in zip(bias, names):
            rows = read(path)
            ax.plot([int(r["distance"]) for r in rows], [fnum(r["mean_score"]) for r in rows], label=name, lw=1.2,
                    **style(name))
        ax.set_xlabel("distance i - j")
        ax.set_ylabel("head-mean score at init")
        ax.set_title("Biases vs distance (random init, constant input)")
        ax.legend(fontsize=LEGEND_FONT)
        save(fig, out, "bias_curves.png", made)


# make curves' --rope-schedule curves (claim S4, article 8231): file suffix, label
SCHEDULES = [("", "10000^-t (geometric)"), ("_base1000", "1000^-t"), ("_linear", "t"), ("_power2", "t^2"),
             ("_power4", "t^4"), ("_constant", "one common theta")]


def schedule_curves(res, out, made):
    """The sinusoidal inner product's integral approximation and RoPE's decay bound under every frequency
    schedule, each divided by its value at distance 0 so the schedules share one scale."""
    panels = [("sinusoidal_inner", "integral_approximation", "sinusoidal <p_m, p_n> (integral), d = 128"),
              ("rope_decay", "rope_decay_bound", "RoPE decay bound, d = 128")]
    found = [[(lab, read(os.path.join(res, "curves", f"{stem}{suf}.csv"))) for suf, lab in SCHEDULES]
             for stem, _, _ in panels]
    if sum(1 for _, rows in found[0] + found[1] if rows) < 3:   # one schedule alone is the plain curves' figure
        return
    style = Styles([lab for _, lab in SCHEDULES])
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8), layout="constrained")
    for ax, (stem, col, title), curves in zip(axes, panels, found):
        for lab, rows in curves:
            if not rows:
                continue
            y0 = fnum(rows[0][col]) or 1.0
            ax.plot([int(r["distance"]) for r in rows], [fnum(r[col]) / y0 for r in rows], lw=1.1, label=lab,
                    **style(lab))
        ax.axhline(0, color="grey", lw=0.6)
        ax.set_xlabel("relative distance m - n")
        ax.set_ylabel("value / value at 0")
        ax.set_title(title, fontsize=10)
    present = [lab for _, lab in SCHEDULES if any(rows for c in found for lb, rows in c if lb == lab)]
    outside_legend(axes[-1], [Line2D([], [], lw=1.1, label=lab, **style(lab)) for lab in present])
    fig.suptitle("Frequency schedules theta_t, t = 2i/d (kexue.fm 8231, claim S4)")
    save(fig, out, "frequency_schedules.png", made)


# diagnose's verdicts (trainer/cli/diagnose.c), each its own colour; a combination
# with no row is 'not run', grey and hatched
VERDICTS = [("indistinguishable", "#d62728"), ("mirror-tied", "#ff9f1c"), ("distinguishable", "#2ca02c"),
            ("mixed", "#7b3fa0"), ("non-finite", "#000000")]


def diagnose(res, out, made):
    rows = read(os.path.join(res, "diagnose.csv"))
    if not rows:
        return
    code = {v: i for i, (v, _) in enumerate(VERDICTS)}
    cmap = ListedColormap([c for _, c in VERDICTS])
    norm = BoundaryNorm([i - 0.5 for i in range(len(VERDICTS) + 1)], len(VERDICTS))
    masks = [m for m in ("bidir", "causal") if any(r["mask"] == m for r in rows)]
    markers = list(dict.fromkeys(r["markers"] for r in rows))
    encs = list(dict.fromkeys(r["encoding"] for r in rows))
    norms = [n for n in NORMS if any(r["norm"] == n for r in rows)]
    norms += sorted({r["norm"] for r in rows} - set(norms))
    panels = [(mask, mk) for mask in masks for mk in markers]
    fig, axes = plt.subplots(1, len(panels), figsize=(1.6 + 0.3 * len(norms) * len(panels), 0.24 * len(encs) + 2.4),
                             squeeze=False, sharey=True, layout="constrained")
    seen, disagree = set(), False
    for ax, (mask, mk) in zip(axes[0], panels):
        grid = [[math.nan] * len(norms) for _ in encs]
        for r in rows:
            if r["mask"] == mask and r["markers"] == mk:
                i, j = encs.index(r["encoding"]), norms.index(r["norm"])
                grid[i][j] = code.get(r["verdict"], math.nan)
                seen.add(r["verdict"])
                if r.get("agrees") == "no":   # the verdict is not the one the symmetry argument expects
                    ax.text(j, i, "!", ha="center", va="center", fontsize=8, fontweight="bold", color="white")
                    disagree = True
        not_run_background(ax)
        ax.imshow(grid, cmap=cmap, norm=norm, aspect="auto", interpolation="nearest")
        ax.set_xticks(range(len(norms)), norms, rotation=90, fontsize=8)
        ax.set_yticks(range(len(encs)), encs, fontsize=8)
        emphasize(ax.get_yticklabels())
        ax.set_title(f"{mask}\nmarkers {mk}", fontsize=9)
    handles = [Patch(facecolor=c, label=v) for v, c in VERDICTS if v in seen or v in ("mixed",)]
    handles.append(Patch(facecolor=NOT_RUN, hatch="///", edgecolor="white", label="not run"))
    if disagree:
        handles.append(Line2D([], [], ls="", marker="$!$", color="black", label="not the expected verdict"))
    outside_legend(axes[0][-1], handles, title="verdict")
    fig.suptitle("diagnose: can a model tell positions apart? Constant input through random models, "
                 f"{rows[0]['seeds']} seeds, n = {rows[0]['length']}")
    save(fig, out, "diagnose_grid.png", made)


def attention(res, out, made):
    runs = runs_by_id(res)
    for path in sorted(glob.glob(os.path.join(res, "attention", "*.csv"))):
        rows = read(path)
        if not rows:
            continue
        layers = sorted({int(r["layer"]) for r in rows})
        heads = sorted({int(r["head"]) for r in rows})
        T = max(int(r["query"]) for r in rows) + 1
        grids = {(l, h): [[math.nan] * T for _ in range(T)] for l in layers for h in heads}
        rid = os.path.basename(path)[:-4]
        causal = runs.get(rid, {}).get("mask") == "causal"
        for r in rows:
            q, k = int(r["query"]), int(r["key"])
            if not (causal and k > q):   # a key the mask hides is 'masked', not a weight of 0
                grids[(int(r["layer"]), int(r["head"]))][q][k] = fnum(r["weight"])
        vmax = max((v for g in grids.values() for row in g for v in row if not math.isnan(v)), default=1.0) or 1.0
        side = 2.1 if T <= 16 else 2.6
        fig, axes = plt.subplots(len(layers), len(heads), figsize=(side * len(heads) + 1.2, side * len(layers) + 0.8),
                                 squeeze=False, sharex=True, sharey=True, layout="constrained")
        for i, l in enumerate(layers):
            for j, h in enumerate(heads):
                ax = axes[i][j]
                not_run_background(ax)
                im = ax.imshow(grids[(l, h)], cmap="magma", vmin=0, vmax=vmax)
                ax.set_title(f"layer {l}, head {h}", fontsize=9)
                ax.xaxis.set_major_locator(MaxNLocator(integer=True))
                ax.yaxis.set_major_locator(MaxNLocator(integer=True))
                if i == len(layers) - 1:
                    ax.set_xlabel("key position")
                if j == 0:
                    ax.set_ylabel("query position")
        fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.8, label="attention weight")
        if causal:
            fig.legend(handles=[Patch(facecolor=NOT_RUN, hatch="///", edgecolor="white", label="masked (causal)")],
                       loc="upper right", bbox_to_anchor=(1, 0), fontsize=LEGEND_FONT)
        fig.suptitle(wrap(f"Attention, {run_title(rid, runs)}: every layer and head, one sequence of {T} tokens", 70))
        save(fig, out, f"attention_{rid}.png", made)


def layerprobe(res, out, made):
    paths = sorted(glob.glob(os.path.join(res, "layerprobe", "*.csv")))
    series = []
    runs = runs_by_id(res)
    for path in paths:
        rows = read(path)
        if rows:
            rid = os.path.basename(path)[:-4]
            r = runs.get(rid)
            task = r["task"] if r else rid.split("-")[0]
            name = label(r) if r else re.sub(r"-[0-9a-f]{8,}$", "", rid)
            mask = r["mask"] if r else ""
            series.append((task, name, mask, rows))
    if not series:
        return
    tasks = sorted({s[0] for s in series})
    names = sorted({s[1] for s in series})
    # its line styles tell the forms apart: past ten names, twenty colours (then markers)
    style = Styles(names, variant=lambda n: (n, False), colours=COLOURS if len(names) <= len(COLOURS) else COLOURS20)
    fig, axes = plt.subplots(1, len(tasks), figsize=(4.6 * len(tasks) + 2, 4), squeeze=False, sharey=True,
                             layout="constrained")
    for ax, task in zip(axes[0], tasks):
        sel = sorted((s for s in series if s[0] == task), key=lambda s: s[1:3])
        for k, (_, name, mask, rows) in enumerate(sel):
            st = style(name)
            # runs often reach the same accuracies: each later line is drawn smaller, so the earlier show round it
            ax.plot([int(r["layer"]) for r in rows], [fnum(r["probe_acc"]) for r in rows], marker=style.marker(name),
                    markersize=max(3.0, 10.0 - 7.0 * k / max(1, len(sel) - 1)), lw=2.2 - 1.2 * k / max(1, len(sel) - 1),
                    color=st["color"], linestyle="--" if mask == "causal" else "-")
        ax.set_title(f"task {task}")
        ax.set_xlabel("layer (0 = embedded input)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylim(-0.02, 1.05)
    axes[0][0].set_ylabel("accuracy of a linear probe\nof absolute position")
    handles = [Line2D([], [], marker=style.marker(n), lw=1.2, color=style(n)["color"], label=n) for n in names]
    forms = {s[2] for s in series}
    if "causal" in forms:
        handles += [Line2D([], [], color="grey", ls="-", label="encoder (bidirectional)"),
                    Line2D([], [], color="grey", ls="--", label="decoder (causal)")]
    outside_legend(axes[0][-1], handles)
    fig.suptitle("Where position lives (Haviv et al. 2022): seed-1 runs")
    save(fig, out, "layerprobe.png", made)


def main():
    args = sys.argv[1:]
    if usage(__doc__, args) is not None:
        return 0
    posprobe = default_posprobe()
    if "--posprobe" in args:   # before or after RESULTS
        i = args.index("--posprobe")
        if i + 1 >= len(args):
            return usage_error(__doc__)
        posprobe = args[i + 1]
        del args[i:i + 2]
    if len(args) != 1 or args[0].startswith("-"):
        return usage_error(__doc__)
    res = args[0]
    if not os.path.isdir(res):   # a typo is not a new results directory
        return error(f"{res}: not a directory")
    try:
        NORMS[:] = [r["name"] for r in catalogue(posprobe, "norms")]
    except CatalogueError as e:
        return error(str(e))
    out = os.path.join(res, "figures")
    os.makedirs(out, exist_ok=True)
    made = []
    for f in (probe_grids, probe_training_curves, extrapolation, curves, diagnose, attention, layerprobe):
        f(res, out, made)
    print(f"posprobe plots: {len(made)} figures in {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
