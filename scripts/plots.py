#!/usr/bin/python3
"""Figures from posprobe's CSV (and nothing else).

usage: scripts/plots.py RESULTS

Reads RESULTS/{probe,extrapolation}/summary.csv, the runs' train.csv,
RESULTS/curves/*.csv, RESULTS/diagnose.csv, RESULTS/attention/*.csv and
RESULTS/layerprobe/*.csv where they exist, and writes PNG figures to
RESULTS/figures/. Missing inputs skip their figures.
"""
import glob
import math
import os
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from csvrows import fnum, read  # noqa: E402

FORM_MODE = {"bidir": "parallel", "causal": "greedy"}
FORM_NAME = {"bidir": "encoder (bidirectional)", "causal": "decoder (causal, greedy until [EOS])"}
# what each form is judged by: per-token accuracy (Delétang et al.), exact match (Kazemnejad et al.)
FORM_METRIC = {"bidir": ("token_acc", "token accuracy"), "causal": ("seq_acc", "exact match")}


def save(fig, out, name, made):
    path = os.path.join(out, name)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    made.append(name)


def label(r):
    v = " ".join(x for x in r.get("variant", "").split() if x != "rope-fraction=1")
    v = v.replace("rope-fraction=0.25", "1/4 rotated")
    return r["encoding"] + ("+rand" if r.get("positions") == "randomized" else "") + (f" ({v})" if v else "")


def probe_grids(res, out, made):
    rows = [r for r in read(os.path.join(res, "probe", "summary.csv")) if r["task"] == "probe"
            and r["length"] == r["train_len"]]
    if not rows:
        return
    for markers in sorted({r["markers"] for r in rows}):
        sub = [r for r in rows if r["markers"] == markers]
        masks = sorted({r["mask"] for r in sub})
        encs = sorted({r["encoding"] for r in sub}, key=lambda e: [r["encoding"] for r in rows].index(e))
        norms = [n for n in ["softmax", "l2", "nodenom", "relu2n", "swishl2", "logscaled"] if any(r["norm"] == n for r in sub)]
        fig, axes = plt.subplots(1, len(masks), figsize=(2.2 + 1.1 * len(norms) * len(masks), 0.32 * len(encs) + 1.5),
                                 squeeze=False)
        for ax, mask in zip(axes[0], masks):
            grid = [[math.nan] * len(norms) for _ in encs]
            for r in sub:
                if r["mask"] == mask:
                    grid[encs.index(r["encoding"])][norms.index(r["norm"])] = fnum(r["token_acc_mean"])
            im = ax.imshow(grid, vmin=0, vmax=1, cmap="viridis", aspect="auto")
            ax.set_xticks(range(len(norms)), norms, rotation=45, ha="right")
            ax.set_yticks(range(len(encs)), encs)
            ax.set_title(f"mask {mask}")
            for i in range(len(encs)):
                for j in range(len(norms)):
                    if not math.isnan(grid[i][j]):
                        ax.text(j, i, f"{grid[i][j]:.2f}", ha="center", va="center", fontsize=7,
                                color="white" if grid[i][j] < 0.6 else "black")
        fig.colorbar(im, ax=axes[0].tolist(), label="token accuracy (mean over seeds)")
        fig.suptitle(f"Probe [0]*n -> [1..n], n = {sub[0]['train_len']}, markers {markers}")
        save(fig, out, f"probe_grid_markers-{markers}.png", made)


def probe_training_curves(res, out, made):
    runs = read(os.path.join(res, "probe", "runs.csv"))
    sel = [r for r in runs if r["task"] == "probe" and r["seed"] == "1" and r["norm"] == "softmax"
           and r["mask"] == "bidir" and r["markers"] == "none" and r["status"] == "finished"]
    if not sel:
        return
    fig, ax = plt.subplots(figsize=(7, 4))
    for r in sel:
        tr = read(os.path.join(res, "probe", "runs", r["run_id"], "train.csv"))
        if tr:
            ax.plot([int(t["step"]) for t in tr], [fnum(t["loss"]) for t in tr], label=r["encoding"], lw=1)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    ax.set_title("Probe training curves (softmax, bidirectional, seed 1)")
    ax.legend(fontsize=6, ncol=3)
    save(fig, out, "probe_training_curves.png", made)


def extrapolation(res, out, made):
    rows = [r for r in read(os.path.join(res, "extrapolation", "summary.csv")) if r["norm"] == "softmax"]
    if not rows:
        return
    for task in sorted({r["task"] for r in rows}):
        masks = [m for m in ("bidir", "causal") if any(r["task"] == task and r["mask"] == m for r in rows)]
        fig, axes = plt.subplots(1, len(masks), figsize=(6.5 * len(masks), 4), squeeze=False, sharey=True)
        for ax, mask in zip(axes[0], masks):
            sub = [r for r in rows if r["task"] == task and r["mask"] == mask and r["eval_mode"] == FORM_MODE[mask]]
            groups = defaultdict(list)
            for r in sub:
                groups[label(r)].append(r)
            for name, g in sorted(groups.items()):
                g.sort(key=lambda r: int(r["length"]))
                x = [int(r["length"]) for r in g]
                metric = FORM_METRIC[mask][0]
                y = [fnum(r[f"{metric}_mean"]) for r in g]
                # one seed has no interval: the band collapses onto the mean
                lo = [v if math.isnan(fnum(r[f"{metric}_ci_lo"])) else fnum(r[f"{metric}_ci_lo"]) for v, r in zip(y, g)]
                hi = [v if math.isnan(fnum(r[f"{metric}_ci_hi"])) else fnum(r[f"{metric}_ci_hi"]) for v, r in zip(y, g)]
                line, = ax.plot(x, y, label=name, lw=1.2)
                ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.15)
            if sub:
                ax.axvspan(0.5, int(sub[0]["train_len"]) + 0.5, color="grey", alpha=0.12, label="training lengths")
            ax.set_title(f"{task}: {FORM_NAME[mask]}")
            ax.set_xlabel("length n")
            ax.set_ylim(-0.02, 1.02)
        axes[0][0].set_ylabel("token accuracy (encoder) / exact match (decoder), mean and 95% CI over seeds")
        axes[0][-1].legend(fontsize=7, loc="upper right")
        save(fig, out, f"extrapolation_{task}.png", made)
    for mask in ("bidir", "causal"):
        tasks = sorted({r["task"] for r in rows if r["mask"] == mask})
        if not tasks:
            continue
        cols = 3
        nr = math.ceil(len(tasks) / cols)
        fig, axes = plt.subplots(nr, cols, figsize=(5 * cols, 3.2 * nr), squeeze=False)
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
            ax.imshow(grid, vmin=0, vmax=1, aspect="auto", cmap="viridis",
                      extent=(lens[0] - 0.5, lens[-1] + 0.5, len(names) - 0.5, -0.5))
            ax.axvline(int(sub[0]["train_len"]) + 0.5, color="red", lw=1)
            ax.set_yticks(range(len(names)), names, fontsize=7)
            ax.set_title(task, fontsize=9)
            ax.set_xlabel("length n", fontsize=8)
        for k in range(len(tasks), nr * cols):
            axes[k // cols][k % cols].axis("off")
        fig.suptitle(f"{FORM_METRIC[mask][1].capitalize()} by encoding and length, {FORM_NAME[mask]}, fitted runs "
                     "(red: end of training range)")
        fig.tight_layout()
        save(fig, out, f"extrapolation_heatmap_{mask}.png", made)


def curves(res, out, made):
    rope = read(os.path.join(res, "curves", "rope_decay.csv"))
    if rope:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.plot([int(r["distance"]) for r in rope], [fnum(r["rope_decay_bound"]) for r in rope])
        ax.set_xlabel("relative distance")
        ax.set_ylabel("(1/(d/2)) sum |S_j|")
        ax.set_title("RoPE's long-range decay bound, d = 128 (8265)")
        save(fig, out, "rope_decay.png", made)
    sin = read(os.path.join(res, "curves", "sinusoidal_inner.csv"))
    sin3 = read(os.path.join(res, "curves", "sinusoidal_inner_base1000.csv"))
    if sin:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.plot([int(r["distance"]) for r in sin], [fnum(r["inner_product"]) for r in sin], label="sum, base 10000", lw=1)
        ax.plot([int(r["distance"]) for r in sin], [fnum(r["integral_approximation"]) for r in sin],
                label="(d/2) integral, base 10000", lw=1)
        if sin3:
            ax.plot([int(r["distance"]) for r in sin3], [fnum(r["integral_approximation"]) for r in sin3],
                    label="(d/2) integral, base 1000", lw=1)
        ax.set_xlabel("m - n")
        ax.set_ylabel("<p_m, p_n>")
        ax.set_title("Sinusoidal inner product, d = 128 (8231)")
        ax.legend(fontsize=8)
        save(fig, out, "sinusoidal_inner.png", made)
    bias = sorted(glob.glob(os.path.join(res, "curves", "*_bias.csv")))
    if bias:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        for path in bias:
            rows = read(path)
            ax.plot([int(r["distance"]) for r in rows], [fnum(r["mean_score"]) for r in rows],
                    label=os.path.basename(path)[:-9], lw=1)
        ax.set_xlabel("distance i - j")
        ax.set_ylabel("head-mean score at init")
        ax.set_title("Biases vs distance (random init, constant input)")
        ax.legend(fontsize=8)
        save(fig, out, "bias_curves.png", made)


def diagnose(res, out, made):
    rows = [r for r in read(os.path.join(res, "diagnose.csv")) if r["markers"] == "none"]
    if not rows:
        return
    code = {"indistinguishable": 0, "mirror-tied": 1, "distinguishable": 2}
    masks = ["bidir", "causal"]
    encs = list(dict.fromkeys(r["encoding"] for r in rows))
    norms = list(dict.fromkeys(r["norm"] for r in rows))
    fig, axes = plt.subplots(1, 2, figsize=(10, 0.3 * len(encs) + 1.5))
    for ax, mask in zip(axes, masks):
        grid = [[math.nan] * len(norms) for _ in encs]
        for r in rows:
            if r["mask"] == mask:
                grid[encs.index(r["encoding"])][norms.index(r["norm"])] = code.get(r["verdict"], math.nan)
        ax.imshow(grid, vmin=0, vmax=2, cmap="RdYlGn", aspect="auto")
        ax.set_xticks(range(len(norms)), norms, rotation=45, ha="right")
        ax.set_yticks(range(len(encs)), encs, fontsize=7)
        ax.set_title(f"mask {mask}")
    fig.suptitle("diagnose: constant input through random models\nred indistinguishable, yellow mirror-tied, green distinguishable")
    save(fig, out, "diagnose_grid.png", made)


def attention(res, out, made):
    for path in sorted(glob.glob(os.path.join(res, "attention", "*.csv"))):
        rows = read(path)
        if not rows:
            continue
        layers = sorted({int(r["layer"]) for r in rows})
        T = max(int(r["query"]) for r in rows) + 1
        fig, axes = plt.subplots(1, len(layers), figsize=(3.2 * len(layers), 3), squeeze=False)
        for ax, l in zip(axes[0], layers):
            grid = [[0.0] * T for _ in range(T)]
            for r in rows:
                if int(r["layer"]) == l and r["head"] == "0":
                    grid[int(r["query"])][int(r["key"])] = fnum(r["weight"])
            ax.imshow(grid, cmap="magma")
            ax.set_title(f"layer {l}, head 0", fontsize=9)
            ax.set_xlabel("key")
            ax.set_ylabel("query")
        rid = os.path.basename(path)[:-4]
        fig.suptitle(rid, fontsize=8)
        save(fig, out, f"attention_{rid}.png", made)


def layerprobe(res, out, made):
    paths = sorted(glob.glob(os.path.join(res, "layerprobe", "*.csv")))
    if not paths:
        return
    fig, ax = plt.subplots(figsize=(7, 4))
    for path in paths:
        rows = read(path)
        if rows:
            ax.plot([int(r["layer"]) for r in rows], [fnum(r["probe_acc"]) for r in rows], marker="o", lw=1,
                    label=os.path.basename(path)[:-4][:40])
    ax.set_xlabel("layer (0 = embedded input)")
    ax.set_ylabel("accuracy of a linear probe of absolute position")
    ax.set_title("Where position lives (Haviv et al. 2022)")
    ax.legend(fontsize=5)
    save(fig, out, "layerprobe.png", made)


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    res = sys.argv[1]
    out = os.path.join(res, "figures")
    os.makedirs(out, exist_ok=True)
    made = []
    for f in (probe_grids, probe_training_curves, extrapolation, curves, diagnose, attention, layerprobe):
        f(res, out, made)
    print(f"posprobe plots: {len(made)} figures in {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
