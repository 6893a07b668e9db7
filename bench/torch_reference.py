#!/usr/bin/python3
"""The posprobe model in PyTorch, built from a posprobe checkpoint.

Used twice: by scripts/torch_parity.py (gradient parity fixtures for the C
tests) and by the speed benchmark (make bench). It mirrors trainer/model.c:
token embedding -> encoding -> L x [attention + MLP] -> final norm -> head.
"""
import math
import struct

import torch

MAGIC = b"POSPRBCK"


def read_checkpoint(path):
    """Returns (config dict, max_n, steps, [(name, shape, tensor)])."""
    data = open(path, "rb").read()
    if data[:8] != MAGIC:
        raise ValueError(f"{path}: not a posprobe checkpoint")
    at = 8
    version, rbytes, max_n, steps, cfg_len = struct.unpack_from("<5I", data, at)
    at += 20
    cfg = {}
    for line in data[at:at + cfg_len].decode().splitlines():
        k, _, v = line.partition("=")
        cfg[k] = v
    at += cfg_len
    (n_entries,) = struct.unpack_from("<I", data, at)
    at += 4
    entries = []
    for _ in range(n_entries):
        (ln,) = struct.unpack_from("<H", data, at)
        at += 2
        name = data[at:at + ln].decode()
        at += ln
        nd = data[at]
        at += 1
        shape = struct.unpack_from(f"<{nd}I", data, at)
        at += 4 * nd
        entries.append((name, tuple(shape)))
    (n_params,) = struct.unpack_from("<Q", data, at)
    at += 8
    fmt = "f" if rbytes == 4 else "d"
    values = torch.tensor(struct.unpack_from(f"<{n_params}{fmt}", data, at), dtype=torch.float64)
    params, off = [], 0
    for name, shape in entries:
        n = math.prod(shape)
        params.append((name, shape, values[off:off + n].reshape(shape).clone()))
        off += n
    return cfg, max_n, steps, params


def sinusoid(pos, C, base):
    p = torch.zeros(len(pos), C, dtype=torch.float64)
    k = torch.tensor(pos, dtype=torch.float64)[:, None]
    i = torch.arange(C // 2, dtype=torch.float64)
    w = base ** (-2.0 * i / C)
    p[:, 0:2 * (C // 2):2] = torch.sin(k * w)
    p[:, 1:2 * (C // 2):2] = torch.cos(k * w)
    return p


def normalize(b, visible, norm, n_train):
    """b (..., T, S) scores, visible (T, S) bool -> attention weights."""
    neg = torch.finfo(b.dtype).min
    n = visible.sum(-1, keepdim=True).to(b.dtype)  # (T, 1) visible keys per row
    if norm in ("softmax", "logscaled"):
        t = torch.log(n) / math.log(n_train) if norm == "logscaled" else 1.0
        return torch.softmax(torch.where(visible, b * t, torch.full_like(b, neg)), -1) * visible
    if norm == "l2":
        m = torch.where(visible, b, torch.full_like(b, neg)).amax(-1, keepdim=True)
        e = torch.exp(b - m) * visible
        return e / torch.sqrt((e * e).sum(-1, keepdim=True))
    if norm == "nodenom":
        return torch.exp(b) * visible
    if norm == "relu2n":
        return torch.relu(b) ** 2 / n * visible
    if norm == "swishl2":
        s = torch.nn.functional.silu(b) * visible
        r = torch.sqrt((s * s).sum(-1, keepdim=True))
        return torch.where(r > 0, s / r, torch.zeros_like(s))
    raise ValueError(norm)


class PosprobeTorch(torch.nn.Module):
    def __init__(self, cfg, params, dtype=torch.float64):
        super().__init__()
        self.cfg = cfg
        self.p = torch.nn.ParameterDict()
        self.names = []
        for name, _, value in params:
            self.p[name.replace(".", "__")] = torch.nn.Parameter(value.to(dtype))
            self.names.append(name)
        self.C, self.H, self.L = int(cfg["dim"]), int(cfg["heads"]), int(cfg["layers"])
        self.D = self.C // self.H
        self.rms = cfg["ln-kind"] == "rms"
        self.post = cfg["ln"] == "post"
        self.act = {"relu": torch.relu, "gelu": torch.nn.functional.gelu,
                    "swish": torch.nn.functional.silu}[cfg["act"]]

    def w(self, name):
        return self.p[name.replace(".", "__")]

    def has(self, name):
        return name.replace(".", "__") in self.p

    def norm(self, x, g, b):
        if self.rms:
            return x / torch.sqrt((x * x).mean(-1, keepdim=True) + 1e-5) * self.w(g)
        return torch.nn.functional.layer_norm(x, (self.C,), self.w(g), self.w(b), 1e-5)

    def attention(self, l, h, pos, n_train):
        B, T, C = h.shape
        pre = f"block{l}.attn."
        def heads(x):
            return x.reshape(B, T, self.H, self.D).transpose(1, 2)  # (B, H, T, D)
        q = heads(h @ self.w(pre + "wq") + self.w(pre + "bq"))
        k = heads(h @ self.w(pre + "wk") + self.w(pre + "bk"))
        v = heads(h @ self.w(pre + "wv") + self.w(pre + "bv"))
        s = q @ k.transpose(-1, -2) / math.sqrt(self.D)
        i = torch.arange(T)[:, None]
        j = torch.arange(T)[None, :]
        visible = (j <= i) if self.cfg["mask"] == "causal" else torch.ones(T, T, dtype=torch.bool)
        a = normalize(s, visible, self.cfg["norm"], n_train)
        o = (a @ v).transpose(1, 2).reshape(B, T, C)
        return o @ self.w(pre + "wo") + self.w(pre + "bo")

    def mlp(self, l, h):
        pre = f"block{l}.mlp."
        return self.act(h @ self.w(pre + "w1") + self.w(pre + "b1")) @ self.w(pre + "w2") + self.w(pre + "b2")

    def forward(self, tokens, pos, n_train):
        x = self.w("tok_emb")[tokens]  # (B, T, C)
        enc = self.cfg["encoding"]
        if enc == "learned":
            x = x + self.w("enc.pos")[torch.tensor(pos)]
        elif enc == "sinusoidal":
            x = x + sinusoid(pos, self.C, float(self.cfg["rope-base"])).to(x.dtype)
        elif enc != "none":
            raise ValueError(f"encoding {enc} is not mirrored in PyTorch")
        for l in range(self.L):
            n1, n2 = (f"block{l}.ln1.g", f"block{l}.ln1.b"), (f"block{l}.ln2.g", f"block{l}.ln2.b")
            if self.post:
                x = self.norm(x + self.attention(l, x, pos, n_train), *n1)
                x = self.norm(x + self.mlp(l, x), *n2)
            else:
                x = x + self.attention(l, self.norm(x, *n1), pos, n_train)
                x = x + self.mlp(l, self.norm(x, *n2))
        if not self.post:
            x = self.norm(x, "lnf.g", "lnf.b")
        return x @ self.w("head.w") + self.w("head.b")  # (B, T, K)


if __name__ == "__main__":
    import sys
    cfg, max_n, steps, params = read_checkpoint(sys.argv[1])
    print(f"{len(params)} tensors, {sum(p.numel() for _, _, p in params)} scalars, max_n {max_n}, steps {steps}")
