#!/usr/bin/python3
"""Renders every figure of scripts/plots.py from a results directory and checks
each one before it is saved, then the files.

usage: tests/plots_check.py RESULTS    (a copy of tests/fixtures/plots)

Each figure: every heatmap and attention map has a colour bar (the diagnose
grid, a categorical one, a legend naming every verdict, 'mixed' and 'not run');
no two lines of a figure share colour and line style; every labelled line is in
a legend, at a readable size and with no hashed run id; no text (titles, axis
labels, tick labels) overlaps another or runs into another panel; layers,
lengths, positions and steps have integer ticks; an attention figure has one
panel per layer and head of its CSV. Then: the files are the expected ones,
each a PNG that decodes to a picture with something drawn. Prints one line per
problem and exits 1 if there is any.
"""
import csv
import os
import re
import struct
import sys
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.image as mpimg  # noqa: E402
from matplotlib.colors import BoundaryNorm, to_hex  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

import plots  # noqa: E402

EXPECTED = sorted([
    "attention_copy-alibi-causal-s1-96fbda9bde70aaf7.png", "attention_probe-rope-softmax-bidir-s1-f272d9f00cc13c4c.png",
    "bias_curves.png", "diagnose_grid.png", "extrapolation_copy.png", "extrapolation_sort.png",
    "extrapolation_heatmap_bidir.png", "extrapolation_heatmap_causal.png", "frequency_schedules.png", "layerprobe.png",
    "probe_grid_markers-bos.png", "probe_grid_markers-none.png", "probe_training_curves.png", "rope_decay.png",
    "sinusoidal_inner.png"])
HASHED = re.compile(r"[0-9a-f]{8,}")
INTEGER_AXES = re.compile(r"(layer|length|step|key position|query position)\b")
problems = []


def problem(name, what):
    problems.append(f"{name}: {what}")


def legends(fig):
    out = list(fig.legends)
    for ax in fig.axes:
        if ax.get_legend() is not None:
            out.append(ax.get_legend())
    return out


def shown_ticks(axis):
    """The tick labels drawn: visible, and at a location within the view (matplotlib keeps one either side)."""
    lo, hi = sorted(axis.get_view_interval())
    eps = (hi - lo) * 1e-9
    return [t.label1 for t in axis.get_major_ticks()
            if t.label1.get_visible() and t.label1.get_text() and lo - eps <= t.get_loc() <= hi + eps]


def text_boxes(fig, renderer):
    """(owner, kind, text, bbox) of every visible non-empty text: the suptitle, and each axes' titles, labels and tick labels."""
    out = []
    if fig._suptitle is not None and fig._suptitle.get_text():
        out.append((None, "suptitle", fig._suptitle.get_text(), fig._suptitle.get_window_extent(renderer)))
    for ax in fig.axes:
        if not ax.get_visible() or not ax.axison:
            continue
        texts = [("title", t) for t in (ax.title, ax._left_title, ax._right_title)]
        texts += [("xlabel", ax.xaxis.label), ("ylabel", ax.yaxis.label)]
        texts += [("xtick", t) for t in shown_ticks(ax.xaxis)] + [("ytick", t) for t in shown_ticks(ax.yaxis)]
        for kind, t in texts:
            if t.get_visible() and t.get_text().strip():
                out.append((ax, kind, t.get_text(), t.get_window_extent(renderer)))
    return out


def overlaps(a, b, slack=1.0):
    return a.x0 + slack < b.x1 and b.x0 + slack < a.x1 and a.y0 + slack < b.y1 and b.y0 + slack < a.y1


def check_texts(fig, name):
    renderer = fig.canvas.get_renderer()
    boxes = text_boxes(fig, renderer)
    panels = [ax for ax in fig.axes if ax.get_visible() and ax.axison]
    reported = set()
    for i, (oa, ka, ta, ba) in enumerate(boxes):
        for ob, kb, tb, bb in boxes[i + 1:]:
            same_axis_ticks = oa is ob and ka == kb and ka in ("xtick", "ytick")
            if (oa is ob and not same_axis_ticks) or not overlaps(ba, bb):
                continue
            key = (ka, kb)
            if key not in reported:
                reported.add(key)
                problem(name, f"{ka} '{ta}' overlaps {kb} '{tb}'")
        for ax in panels:
            # a label of one panel running into the plotting area of another (a neighbour's tick labels over it)
            if ax is not oa and oa is not None and overlaps(ba, ax.get_window_extent(renderer), slack=2.0) \
                    and ("into", ka) not in reported:
                reported.add(("into", ka))
                problem(name, f"{ka} '{ta}' runs into another panel")


def check_images(fig, name):
    images = [im for ax in fig.axes for im in ax.images]
    bars = [im for im in images if im.colorbar is not None]
    texts = [t.get_text() for lg in legends(fig) for t in lg.get_texts()]
    for im in images:
        if isinstance(im.norm, BoundaryNorm):   # categorical: its legend names every category
            for want in ("mixed", "not run"):
                if want not in texts:
                    problem(name, f"categorical map without '{want}' in its legend")
            continue
        if not any(b.cmap.name == im.cmap.name and b.norm.vmin == im.norm.vmin and b.norm.vmax == im.norm.vmax
                   for b in bars):
            problem(name, f"an image ({im.cmap.name}, {im.norm.vmin}..{im.norm.vmax}) has no colour bar")
            return


def check_lines(fig, name):
    texts = {t.get_text() for lg in legends(fig) for t in lg.get_texts()}
    for lg in legends(fig):
        for t in lg.get_texts():
            if HASHED.search(t.get_text()):
                problem(name, f"legend entry '{t.get_text()}' is a hashed run id")
            if t.get_fontsize() < 7:
                problem(name, f"legend entry '{t.get_text()}' at {t.get_fontsize()} pt")
        seen = {}
        for h, t in zip(lg.legend_handles if hasattr(lg, "legend_handles") else lg.legendHandles, lg.get_texts()):
            if isinstance(h, Line2D) and h.get_linestyle() not in ("None", ""):
                key = (to_hex(h.get_color()), str(h.get_linestyle()), str(h.get_dashes() if hasattr(h, "get_dashes") else ""))
                if key in seen and seen[key] != t.get_text():
                    problem(name, f"legend entries '{seen[key]}' and '{t.get_text()}' share colour and line style")
                seen[key] = t.get_text()
    seen = {}
    for ax in fig.axes:
        for ln in ax.get_lines():
            lab = ln.get_label()
            if lab.startswith("_"):
                continue
            if lab not in texts:
                problem(name, f"line '{lab}' is in no legend")
            key = (to_hex(ln.get_color()), str(ln.get_linestyle()))
            if key in seen and seen[key] != lab:
                problem(name, f"lines '{seen[key]}' and '{lab}' share colour and line style")
            seen[key] = lab


def check_integer_ticks(fig, name):
    for ax in fig.axes:
        for axis, lab in ((ax.xaxis, ax.get_xlabel()), (ax.yaxis, ax.get_ylabel())):
            if not INTEGER_AXES.match(lab):
                continue
            for t in shown_ticks(axis):
                s = t.get_text().replace("\u2212", "-")
                if not re.fullmatch(r"-?\d+", s):
                    problem(name, f"'{lab}' has a tick at {s}")
                    break


def check_attention(fig, name, res):
    rid = name[len("attention_"):-4]
    with open(os.path.join(res, "attention", rid + ".csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    want = len({(r["layer"], r["head"]) for r in rows})
    got = sum(1 for ax in fig.axes if ax.images)
    if got != want:
        problem(name, f"{got} attention panels for {want} layer-head pairs")


def inspect(fig, name, res):
    check_images(fig, name)
    check_lines(fig, name)
    check_texts(fig, name)
    check_integer_ticks(fig, name)
    if name.startswith("attention_"):
        check_attention(fig, name, res)
    if name == "diagnose_grid.png":
        texts = [t.get_text() for lg in legends(fig) for t in lg.get_texts()]
        if not any("expected" in t for t in texts):
            problem(name, "a verdict that is not the expected one is not marked")


def check_png(path, name):
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        problem(name, "not a PNG")
        return
    w, h = struct.unpack(">II", data[16:24])
    if zlib.crc32(data[12:29]) != struct.unpack(">I", data[29:33])[0]:
        problem(name, "IHDR CRC mismatch")
    if w < 300 or h < 250 or len(data) < 10000:
        problem(name, f"{w}x{h}, {len(data)} bytes: too small to be a figure")
    px = mpimg.imread(path)
    colours = {tuple(p) for p in px[:: max(1, px.shape[0] // 60), :: max(1, px.shape[1] // 60)].reshape(-1, px.shape[2])}
    if len(colours) < 8:
        problem(name, f"only {len(colours)} colours: nothing drawn")


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    res = sys.argv[1]
    save = plots.save

    def checked_save(fig, out, name, made):
        save(fig, out, name, made)   # draws the figure (and closes it): its artists are still there to inspect
        inspect(fig, name, res)

    plots.save = checked_save
    sys.argv = ["plots.py", res]
    if plots.main() != 0:
        problem("plots.py", "exit status not 0")
    out = os.path.join(res, "figures")
    made = sorted(os.listdir(out)) if os.path.isdir(out) else []
    if made != EXPECTED:
        problem("figures", f"missing {sorted(set(EXPECTED) - set(made))}, unexpected {sorted(set(made) - set(EXPECTED))}")
    for name in made:
        check_png(os.path.join(out, name), name)
    for p in problems:
        print(p)
    print(f"plots_check: {len(made)} figures, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
