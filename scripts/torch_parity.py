#!/usr/bin/python3
"""Writes a gradient-parity fixture for the posprobe checkpoint in DIR: a
batch of varied tokens (DIR/batch.csv) and PyTorch's loss, logits and every
parameter gradient on it in float64 (DIR/expected.csv), from the mirror in
scripts/torch_model.py. tests/test_parity.c runs posprobe's forward and
backward on the same batch and compares. Needs python3-torch; the fixtures are
committed so the tests need no torch (make parity-fixtures regenerates them).

The batch: B sequences of the model length at --len-max, tokens drawn
uniformly from the whole input vocabulary (task alphabet and markers),
targets uniform over the output classes with about a quarter of the rows not
scored (-1); regression targets are the integers 0..T-1 in random order.
Tokens differ from row to row, so no attention row averages identical values
and every position-dependent term reaches the loss. Positions: --positions
sequential (0..T-1), shifted (a random offset below max-pos - T) or
randomized (a sorted random subset of [0, max-pos)). On probe2d, the grid's
(row, column) of every cell.

With --eval POSPROBE, nothing is written: the checkpoint's round trip is
checked instead. `POSPROBE eval --dump-attention` writes the attention
weights of every layer and head on the run's first held-out sequence; the
PyTorch model loaded from the same checkpoint must give the same weights on
that sequence (at --tol, 1e-9 for a double build). Exit status 1 if not.

usage: scripts/torch_parity.py DIR [--positions KIND] [--batch B]
       scripts/torch_parity.py DIR... --eval POSPROBE [--tol TOL]
"""
import argparse
import csv
import os
import subprocess
import sys
import tempfile
import zlib

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_model import Positions, load_checkpoint, seq_len  # noqa: E402


def make_batch(model, B, positions, g):
    cfg = model.cfg
    T = seq_len(cfg, int(cfg["len-max"]))
    V, K = model.w("tok_emb").shape[0], model.w("head.w").shape[1]
    tokens = torch.randint(0, V, (B, T), generator=g)
    if model.regression:
        targets = torch.stack([torch.randperm(T, generator=g) for _ in range(B)])
    else:
        targets = torch.randint(0, K, (B, T), generator=g)
    targets[torch.rand(B, T, generator=g) < 0.25] = -1
    targets[:, -1] = torch.randint(0, K, (B,), generator=g) if not model.regression else T - 1   # at least one scored row
    max_pos = int(cfg["max-pos"])
    if positions == "sequential":
        p = torch.arange(T)
    elif positions == "shifted":
        p = torch.arange(T) + int(torch.randint(1, max_pos - T + 1, (1,), generator=g))
    elif positions == "randomized":
        p = torch.randperm(max_pos, generator=g)[:T].sort().values
    else:
        raise SystemExit(f"unknown --positions {positions}")
    P = model.default_positions(T)
    return tokens, targets, Positions(p, P.x, P.y)


def eval_roundtrip(d, posprobe, tol):
    """posprobe eval's attention dump against the PyTorch model's; returns the largest difference."""
    with tempfile.TemporaryDirectory() as tmp:
        dump = os.path.join(tmp, "attention.csv")
        subprocess.run([posprobe, "eval", "--checkpoint", d, "--out", os.path.join(tmp, "eval.csv"),
                        "--dump-attention", dump], check=True)
        with open(dump, newline="") as f:
            rows = list(csv.DictReader(f))
    model = load_checkpoint(os.path.join(d, "checkpoint.bin"))
    T = 1 + max(int(r["query"]) for r in rows)
    tokens = [0] * T
    for r in rows:
        tokens[int(r["key"])] = int(r["key_token"])
    model.attn_weights = []
    with torch.no_grad():
        model(torch.tensor([tokens]))
    worst = 0.0
    for r in rows:
        got = model.attn_weights[int(r["layer"])][0, int(r["head"]), int(r["query"]), int(r["key"])].item()
        worst = max(worst, abs(got - float(r["weight"])))
    status = "ok" if worst <= tol else "MISMATCH"
    print(f"{d}: {len(rows)} attention weights, largest difference {worst:.3g} ({status})")
    return worst


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir", nargs="+")
    ap.add_argument("--positions", default="sequential", choices=["sequential", "shifted", "randomized"])
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--eval", metavar="POSPROBE", help="check posprobe eval's attention dump against PyTorch")
    ap.add_argument("--tol", type=float, default=1e-9)
    a = ap.parse_args()
    torch.set_num_threads(1)
    if a.eval:
        sys.exit(1 if any(eval_roundtrip(d, a.eval, a.tol) > a.tol for d in a.dir) else 0)
    if len(a.dir) != 1:
        ap.error("one fixture directory at a time")
    a.dir = a.dir[0]
    model = load_checkpoint(os.path.join(a.dir, "checkpoint.bin"))
    g = torch.Generator().manual_seed(zlib.crc32(os.path.basename(os.path.normpath(a.dir)).encode()))
    tokens, targets, P = make_batch(model, a.batch, a.positions, g)
    B, T = tokens.shape
    with open(os.path.join(a.dir, "batch.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["name", "index", "value"])
        w.writerow(["B", 0, B])
        w.writerow(["T", 0, T])
        for name, t in (("tokens", tokens), ("targets", targets), ("pos", P.p),
                        ("pos_x", P.x if P.x is not None else torch.zeros(T, dtype=torch.long)),
                        ("pos_y", P.y if P.y is not None else torch.zeros(T, dtype=torch.long))):
            for i, v in enumerate(t.reshape(-1).tolist()):
                w.writerow([name, i, v])
    logits = model(tokens, P)
    loss = model.loss(logits, targets)
    loss.backward()
    with open(os.path.join(a.dir, "expected.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["name", "index", "value"])
        w.writerow(["loss", 0, repr(loss.item())])
        for i, v in enumerate(logits.detach().reshape(-1).tolist()):
            w.writerow(["logits", i, repr(v)])
        for name in model.names:
            p = model.w(name)
            grad = p.grad if p.grad is not None else torch.zeros_like(p)   # unused (complex's tok_emb): 0
            for i, v in enumerate(grad.reshape(-1).tolist()):
                w.writerow([name, i, repr(v)])
    print(f"{a.dir}: loss {loss.item():.12g}, {sum(p.numel() for p in model.parameters())} gradients")


if __name__ == "__main__":
    main()
