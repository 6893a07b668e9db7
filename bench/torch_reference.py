#!/usr/bin/python3
"""The posprobe model in PyTorch, built from a posprobe checkpoint.

Used by scripts/torch_parity.py (gradient parity fixtures for the C tests)
and by the speed benchmarks (make bench: the training step, and greedy
decoding with a key/value cache). It mirrors trainer/model.c: token embedding
-> encoding -> L x [attention + MLP] -> final norm -> head.
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


def t5_bucket(rel, num_buckets, max_distance, bidirectional):
    nb, bucket = num_buckets, 0
    if bidirectional:
        nb //= 2
        bucket = nb if rel > 0 else 0
        r = abs(rel)
    else:
        r = -rel if rel < 0 else 0
    max_exact = nb // 2
    if r < max_exact:
        return bucket + r
    big = max_exact + int(math.log(r / max_exact) / math.log(max_distance / max_exact) * (nb - max_exact))
    return bucket + min(big, nb - 1)


def rope_rotate(x, pos, base, pairs=None):
    """Interleaved-pair rotation of x (B, H, T, D) by positions pos (T)."""
    D = x.shape[-1]
    K = D // 2 if pairs is None else pairs
    theta = base ** (-2.0 * torch.arange(K, dtype=torch.float64) / (2 * K))
    ang = torch.tensor(pos, dtype=torch.float64)[:, None] * theta  # (T, K)
    cos, sin = torch.cos(ang).to(x.dtype), torch.sin(ang).to(x.dtype)
    x0, x1 = x[..., 0:2 * K:2], x[..., 1:2 * K:2]
    y0, y1 = x0 * cos - x1 * sin, x0 * sin + x1 * cos
    y = torch.stack((y0, y1), dim=-1).flatten(-2)
    return torch.cat((y, x[..., 2 * K:]), dim=-1)


def alibi_slopes(n):
    """ALiBi's slopes for n heads (encodings/alibi.c)."""
    def pow2(k):
        start = 2.0 ** (-(2.0 ** -(math.log2(k) - 3)))
        return [start * start ** i for i in range(k)]
    p = 1
    while p * 2 <= n:
        p *= 2
    return pow2(p) + alibi_slopes(2 * p)[0::2][:n - p] if p != n else pow2(p)


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
        enc = self.cfg["encoding"]
        if enc == "rope":
            pairs = int(float(self.cfg["rope-fraction"]) * self.D / 2)
            q = rope_rotate(q, pos, float(self.cfg["rope-base"]), pairs)
            k = rope_rotate(k, pos, float(self.cfg["rope-base"]), pairs)
        s = q @ k.transpose(-1, -2) / math.sqrt(self.D)
        if enc == "t5":
            s = s + self.t5_bias(pos)
        elif enc == "alibi":
            s = s + self.alibi_bias(pos, pos).to(s.dtype)
        i = torch.arange(T)[:, None]
        j = torch.arange(T)[None, :]
        visible = (j <= i) if self.cfg["mask"] == "causal" else torch.ones(T, T, dtype=torch.bool)
        a = normalize(s, visible, self.cfg["norm"], n_train)
        o = (a @ v).transpose(1, 2).reshape(B, T, C)
        return o @ self.w(pre + "wo") + self.w(pre + "bo")

    def t5_bias(self, pos):
        key = tuple(pos)
        if getattr(self, "_t5_key", None) != key:  # bucket indices depend only on the positions
            bidir = self.cfg["mask"] == "bidir"
            nb, md = int(self.cfg["t5-buckets"]), int(self.cfg["t5-max-distance"])
            self._t5_idx = torch.tensor([[t5_bucket(pj - pi, nb, md, bidir) for pj in pos] for pi in pos])
            self._t5_key = key
        return self.w("enc.t5_bias")[:, self._t5_idx]  # (H, T, T)

    def alibi_bias(self, pos_q, pos_k):
        """-m_h |p_i - p_j| (H, Tq, S); symmetric slopes (--alibi-asym 0)."""
        if self.cfg.get("alibi-asym", "0") != "0":
            raise ValueError("alibi-asym is not mirrored in PyTorch")
        m = torch.tensor(alibi_slopes(self.H), dtype=torch.float64)[:, None, None]
        d = (torch.tensor(pos_q, dtype=torch.float64)[:, None] - torch.tensor(pos_k, dtype=torch.float64)[None, :]).abs()
        return -m * d

    def mlp(self, l, h):
        pre = f"block{l}.mlp."
        return self.act(h @ self.w(pre + "w1") + self.w(pre + "b1")) @ self.w(pre + "w2") + self.w(pre + "b2")

    def forward(self, tokens, pos, n_train):
        x = self.w("tok_emb")[tokens]  # (B, T, C)
        enc = self.cfg["encoding"]
        if enc == "learned":
            x = x + self.w("enc.pos")[torch.tensor(pos)]
        elif enc == "sinusoidal":
            scale = float(self.cfg.get("sin-scale", "1"))   # checkpoints from before --sin-scale: unscaled
            scale = scale if scale > 0 else float(self.cfg["init-scale"]) * math.sqrt(2)
            x = x + scale * sinusoid(pos, self.C, float(self.cfg["rope-base"])).to(x.dtype)
        elif enc not in ("none", "rope", "t5", "alibi"):
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


class CachedDecoder:
    """Greedy decoding with a key/value cache, as a careful PyTorch user would
    write it: keys and values (after RoPE) preallocated for every row, the
    prompt run once, then one row per token; position-dependent tables (RoPE
    angles, T5 buckets, ALiBi distances) computed once for all rows, sliced
    per step. Evaluation only (inference_mode). Causal models only."""

    def __init__(self, model, B, max_T, pos):
        m = self.m = model
        cfg = m.cfg
        if cfg["mask"] != "causal":
            raise ValueError("cached decoding needs a causal model")
        self.enc, self.norm_kind = cfg["encoding"], cfg["norm"]
        if self.enc not in ("none", "learned", "rope", "t5", "alibi") or self.norm_kind != "softmax":
            raise ValueError(f"cached decoding mirrors none/learned/rope/t5/alibi with softmax, not {self.enc}/{self.norm_kind}")
        dt = m.w("tok_emb").dtype
        self.k = [torch.zeros(B, m.H, max_T, m.D, dtype=dt) for _ in range(m.L)]
        self.v = [torch.zeros(B, m.H, max_T, m.D, dtype=dt) for _ in range(m.L)]
        self.pos = pos
        if self.enc == "rope":
            K = int(float(cfg["rope-fraction"]) * m.D / 2)
            theta = float(cfg["rope-base"]) ** (-2.0 * torch.arange(K, dtype=torch.float64) / (2 * K))
            ang = torch.tensor(pos, dtype=torch.float64)[:, None] * theta
            self.cos, self.sin, self.K = torch.cos(ang).to(dt), torch.sin(ang).to(dt), K
        elif self.enc == "t5":
            nb, md = int(cfg["t5-buckets"]), int(cfg["t5-max-distance"])
            idx = torch.tensor([[t5_bucket(pj - pi, nb, md, False) for pj in pos] for pi in pos])
            self.bias = m.w("enc.t5_bias")[:, idx].detach()              # (H, T, T)
        elif self.enc == "alibi":
            self.bias = m.alibi_bias(pos, pos).to(dt)                      # (H, T, T)
        self.scale = 1 / math.sqrt(m.D)

    def rotate(self, x, t0, t1):
        K = self.K
        cos, sin = self.cos[t0:t1], self.sin[t0:t1]
        x0, x1 = x[..., 0:2 * K:2], x[..., 1:2 * K:2]
        y = torch.stack((x0 * cos - x1 * sin, x0 * sin + x1 * cos), dim=-1).flatten(-2)
        return torch.cat((y, x[..., 2 * K:]), dim=-1) if 2 * K < x.shape[-1] else y

    def attention(self, l, h, t0):
        m = self.m
        B, Tn, C = h.shape
        t1 = t0 + Tn
        pre = f"block{l}.attn."
        qkv = [(h @ m.w(pre + w) + m.w(pre + b)).reshape(B, Tn, m.H, m.D).transpose(1, 2)
               for w, b in (("wq", "bq"), ("wk", "bk"), ("wv", "bv"))]
        q, k, v = qkv
        if self.enc == "rope":
            q, k = self.rotate(q, t0, t1), self.rotate(k, t0, t1)
        self.k[l][:, :, t0:t1] = k
        self.v[l][:, :, t0:t1] = v
        K, V = self.k[l][:, :, :t1], self.v[l][:, :, :t1]
        s = (q @ K.transpose(-1, -2)) * self.scale                         # (B, H, Tn, t1)
        if self.enc in ("t5", "alibi"):
            s = s + self.bias[:, t0:t1, :t1]
        if Tn > 1:                                                         # the prompt: causal mask
            s = s.masked_fill(torch.ones(Tn, t1, dtype=torch.bool).triu(t0 + 1), float("-inf"))
        o = (torch.softmax(s, -1) @ V).transpose(1, 2).reshape(B, Tn, C)
        return o @ m.w(pre + "wo") + m.w(pre + "bo")

    def forward(self, tokens, t0):
        """tokens (B, Tn) of rows [t0, t0 + Tn) -> logits (B, Tn, K)."""
        m = self.m
        x = m.w("tok_emb")[tokens]
        if self.enc == "learned":
            x = x + m.w("enc.pos")[torch.tensor(self.pos[t0:t0 + tokens.shape[1]])]
        for l in range(m.L):
            n1, n2 = (f"block{l}.ln1.g", f"block{l}.ln1.b"), (f"block{l}.ln2.g", f"block{l}.ln2.b")
            if m.post:
                x = m.norm(x + self.attention(l, x, t0), *n1)
                x = m.norm(x + m.mlp(l, x), *n2)
            else:
                x = x + self.attention(l, m.norm(x, *n1), t0)
                x = x + m.mlp(l, m.norm(x, *n2))
        if not m.post:
            x = m.norm(x, "lnf.g", "lnf.b")
        return x @ m.w("head.w") + m.w("head.b")

    def greedy(self, prompt, n_tokens):
        """prompt (B, P) -> (B, n_tokens) generated tokens."""
        P = prompt.shape[1]
        out = torch.empty(prompt.shape[0], n_tokens, dtype=torch.long)
        nxt = self.forward(prompt, 0)[:, -1].argmax(-1)
        out[:, 0] = nxt
        for j in range(1, n_tokens):
            nxt = self.forward(nxt[:, None], P + j - 1)[:, -1].argmax(-1)
            out[:, j] = nxt
        return out


def decode_bench(args):
    """Times cached greedy decoding of the prompts in args.prompts (lines
    "m t1 t2 ...": one prompt per line, answer length m, all prompts of an m
    together) for args.reps runs per answer length; prints one JSON line with
    the median time per run and a hash of the generated tokens (the C side
    computes the same hash to check that both decoders agree)."""
    import json
    import statistics
    import time
    torch.set_num_threads(args.threads)
    dtype = torch.float32 if args.dtype == "float" else torch.float64
    cfg, _, _, params = read_checkpoint(args.checkpoint)
    model = PosprobeTorch(cfg, params, dtype)
    prompts = {}
    for line in open(args.prompts):
        f = [int(x) for x in line.split()]
        prompts.setdefault(f[0], []).append(f[1:])
    res = {"lens": [], "median_ms": [], "gen_hash": [], "torch": torch.__version__}
    with torch.inference_mode():
        for m_len, rows in prompts.items():
            prompt = torch.tensor(rows)
            B, P = prompt.shape
            max_T = P + m_len - 1
            times = []
            for r in range(args.warmup + args.reps):
                t0 = time.perf_counter()
                dec = CachedDecoder(model, B, max_T, list(range(max_T)))
                gen = dec.greedy(prompt, m_len)
                if r >= args.warmup:
                    times.append(time.perf_counter() - t0)
            h = sum(int(gen[s, j]) * (j + 1) * (s + 1) for s in range(B) for j in range(m_len))
            res["lens"].append(m_len)
            res["median_ms"].append(1e3 * statistics.median(times))
            res["gen_hash"].append(h)
    print(json.dumps(res))


def bench(args):
    """Times training steps (forward, cross-entropy, backward, AdamW) of the
    checkpoint's model on random tokens; prints one JSON line."""
    import json
    import statistics
    import time
    torch.set_num_threads(args.threads)
    dtype = torch.float32 if args.dtype == "float" else torch.float64
    cfg, _, _, params = read_checkpoint(args.checkpoint)
    model = PosprobeTorch(cfg, params, dtype)
    V, K = params[0][1][0], dict((n, s) for n, s, _ in params)["head.w"][1]
    g = torch.Generator().manual_seed(1)
    tokens = torch.randint(0, V, (args.batch, args.len), generator=g)
    targets = torch.randint(0, K, (args.batch, args.len), generator=g)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    pos = list(range(args.len))
    times = []
    for step in range(args.warmup + args.steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        logits = model(tokens, pos, args.len)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, K), targets.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step >= args.warmup:
            times.append(time.perf_counter() - t0)
    q = statistics.quantiles(times, n=10)
    print(json.dumps({"median_ms": 1e3 * statistics.median(times), "p10_ms": 1e3 * q[0], "p90_ms": 1e3 * q[-1],
                      "torch": torch.__version__, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint")
    ap.add_argument("--bench", action="store_true")
    ap.add_argument("--decode-bench", action="store_true")
    ap.add_argument("--prompts", help="decode bench: the prompts file")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--len", type=int, default=64)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--dtype", choices=["float", "double"], default="float")
    a = ap.parse_args()
    if a.bench:
        bench(a)
    elif a.decode_bench:
        decode_bench(a)
    else:
        cfg, max_n, steps, params = read_checkpoint(a.checkpoint)
        print(f"{len(params)} tensors, {sum(p.numel() for _, _, p in params)} scalars, max_n {max_n}, steps {steps}")
