#!/usr/bin/python3
"""Writes a gradient-parity fixture: PyTorch's loss and every parameter
gradient for the posprobe checkpoint in DIR, on the fixed probe batch that
tests/test_parity.c rebuilds (B = 2 sequences of length --len, sequential
positions, the run's markers). Needs python3-torch; the fixture is committed so
CI needs no torch.

usage: scripts/torch_parity.py DIR   -> DIR/expected.csv (name,index,value)
"""
import csv
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
from torch_reference import PosprobeTorch, read_checkpoint  # noqa: E402


def probe_batch(cfg, n, B=2):
    """The probe in encoder form: the same layout as probes/layout.c."""
    V = 1  # the probe's alphabet: one token, 0
    bos, sep = V + 0, V + 1
    toks, tgts = [0] * n, list(range(1, n + 1))
    if cfg["markers"] == "bos":
        toks, tgts = [bos] + toks, [-1] + tgts
    elif cfg["markers"] == "cls-sep":
        toks, tgts = [bos] + toks + [sep], [-1] + tgts + [-1]
    return torch.tensor([toks] * B), torch.tensor([tgts] * B)


def main():
    d = sys.argv[1]
    cfg, max_n, _, params = read_checkpoint(os.path.join(d, "checkpoint.bin"))
    n = int(cfg["len-max"])
    torch.set_num_threads(1)
    model = PosprobeTorch(cfg, params)
    tokens, targets = probe_batch(cfg, n)
    T = tokens.shape[1]
    n_train = T
    logits = model(tokens, list(range(T)), n_train)
    if cfg["head"] == "regression":
        pred = logits[..., 0]
        w = (targets >= 0).to(pred.dtype)
        loss = (w * (pred - targets.clamp(min=0).to(pred.dtype)) ** 2).sum() / w.sum()
    else:
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1),
                                                 ignore_index=-1)
    loss.backward()
    with open(os.path.join(d, "expected.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["name", "index", "value"])
        w.writerow(["loss", 0, repr(loss.item())])
        for name in model.names:
            g = model.w(name).grad.reshape(-1)
            for i, v in enumerate(g.tolist()):
                w.writerow([name, i, repr(v)])
    print(f"{d}: loss {loss.item():.12g}, {sum(p.numel() for p in model.parameters())} gradients")


if __name__ == "__main__":
    main()
