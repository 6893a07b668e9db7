#!/usr/bin/python3
"""posprobe's model in PyTorch: every encoding, normalizer, mask and option,
written from the papers' formulas in vectorised PyTorch, and a loader for
posprobe checkpoints.

    import sys; sys.path.insert(0, "scripts")
    from torch_model import load_checkpoint
    model = load_checkpoint("runs/rope_s1/checkpoint.bin")        # float64
    logits = model(torch.tensor([[3, 1, 4, 1, 5]]))                 # (B, T, K)
    loss = model.loss(logits, torch.tensor([[1, 1, 4, -1, 5]]))     # -1: not scored

The model (trainer/model/model.c): token embedding -> encoding -> L x [attention +
MLP] with residuals, pre- or post-norm, layer or RMS norm (eps 1e-5) -> final
norm (pre-norm only) -> linear head (classes, or one number with --head
regression). Attention: q, k, v = h W + b, split into H heads of D = C/H,
scores q.k / sqrt(D) plus the encoding's term, a causal or bidirectional mask,
one of six normalizers, then A v (or the encoding's value rule), merged heads,
W_o; or linear attention (8265, normalizers linear, linear-num, cos1: no
scores, feature maps around the rotation; linear_weights). Weights are stored (in, out): y = x W + b. Dropout (--dropout) on the
attention and MLP outputs before the residual add, in training mode only
(load_checkpoint returns the model in eval mode; model.train() turns it on).

Each encoding is a class below whose docstring cites the paper and equation it
implements and every place where posprobe's reading involves a choice. The
encodings are the C program's hooks (encodings/encoding.h): `embed` (input),
`rotate` (q, k, v before the dot product), `scores` (a term added to the
scaled logits), `values` (replaces A v). Positions are explicit ids (a batch
may use shifted or randomized ids), and 2-D tasks add a (row, column) per token.

Also used by scripts/torch_parity.py (the committed gradient-parity fixtures
that tests/test_parity.c checks) and by the speed benchmarks (make bench:
`--bench`, the training step; `--decode-bench`, greedy decoding with a
key/value cache, CachedDecoder).
"""
import math
import os
import struct

import torch

F = torch.nn.functional
MAGIC = b"POSPRBCK"


# --------------------------------------------------------------- checkpoints

def read_checkpoint(path):
    """checkpoint.bin (format: trainer/model/checkpoint.h) -> (config dict of
    strings, max_n, steps, [(name, shape, float64 tensor)] in declaration
    order). Checks the magic, the version and the checksum (trainer/util/hash.h);
    a run directory stands for its checkpoint.bin. A file that is not a whole
    checkpoint raises ValueError."""
    if os.path.isdir(path):
        path = os.path.join(path, "checkpoint.bin")
    data = open(path, "rb").read()
    try:
        return _parse_checkpoint(path, data)
    except struct.error:
        raise ValueError(f"{path}: truncated or damaged checkpoint") from None


def _parse_checkpoint(path, data):
    if data[:8] != MAGIC:
        raise ValueError(f"{path}: not a posprobe checkpoint")
    at = 8
    version, rbytes, max_n, steps, cfg_len = struct.unpack_from("<5I", data, at)
    if version != 1 or rbytes not in (4, 8):
        raise ValueError(f"{path}: unsupported checkpoint version {version} / {rbytes}-byte reals")
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
    at += n_params * rbytes
    h = 1469598103934665603    # trainer/util/hash.h's offset basis (standard FNV-1a's is 14695981039346656037)
    for byte in data[:at]:
        h = ((h ^ byte) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    if struct.unpack_from("<Q", data, at)[0] != h:
        raise ValueError(f"{path}: checksum mismatch (damaged checkpoint)")
    params, off = [], 0
    for name, shape in entries:
        n = math.prod(shape)
        params.append((name, shape, values[off:off + n].reshape(shape).clone()))
        off += n
    return cfg, max_n, steps, params


def load_checkpoint(path, dtype=torch.float64):
    """A posprobe checkpoint as a PosprobeModel with its weights and config
    (model.cfg, model.max_n, model.steps)."""
    cfg, max_n, steps, params = read_checkpoint(path)
    m = PosprobeModel(cfg, params, dtype)
    m.max_n, m.steps = max_n, steps
    return m.eval()


# ------------------------------------------------------------------ layout

# task -> (input tokens, answer tokens) for task length n; None: aligned
_TASK_LENS = {
    "probe": None, "offset": None, "probe2d": None,
    "repeat": (lambda n: n, lambda n: n), "repeat2": (lambda n: n, lambda n: n),
    "copy": (lambda n: n, lambda n: n), "reverse": (lambda n: n, lambda n: n),
    "sort": (lambda n: n, lambda n: n), "duplicate": (lambda n: n, lambda n: 2 * n),
    "parity": (lambda n: n, lambda n: 1), "even_pairs": (lambda n: n, lambda n: 1),
    "missing_duplicate": (lambda n: 2 * n, lambda n: 1), "recall": (lambda n: 2 * n + 1, lambda n: 1),
    "flipflop": (lambda n: 2 * n + 1, lambda n: 1),
}


def seq_len(cfg, n):
    """Model rows for task length n (trainer/model/layout.c: layout_seq_len)."""
    markers = {"none": 0, "bos": 1, "cls-sep": 2}[cfg["markers"]]
    lens = _TASK_LENS[cfg["task"]]
    if lens is None:
        return (n * int(cfg["grid-w"]) if cfg["task"] == "probe2d" else n) + markers
    k, m = lens[0](n), lens[1](n)
    if cfg["mask"] == "causal":  # decoder form: [BOS] in [SEP] out[0..m-2] (+ out[m-1] with [EOS])
        return k + m + 1 + int(cfg.get("eos", "0"))
    return k + markers + m


class Positions:
    """Position ids of one batch (the same for every sequence): p (T) 1-D
    ids; on 2-D tasks x (row) and y (column) per token, else None."""

    def __init__(self, p, x=None, y=None):
        self.p = torch.as_tensor(p, dtype=torch.long)
        self.x = None if x is None else torch.as_tensor(x, dtype=torch.long)
        self.y = None if y is None else torch.as_tensor(y, dtype=torch.long)
        self.off = self.p[:, None] - self.p[None, :]          # (T, T): p_i - p_j, > 0: key left of the query


# ------------------------------------------------------------- shared parts

def schedule_theta(t, schedule, base):
    """The frequency of the pair at t = 2i/d in [0, 1) under --rope-schedule
    (article 8231): geometric base^-t (Vaswani et al., RoFormer), t, t^2, t^4,
    or one common base^-1/2 (8231's comment reply)."""
    t = torch.as_tensor(t, dtype=torch.float64)
    if schedule == "geometric":
        return base ** (-t)
    if schedule == "linear":
        return t
    if schedule == "power2":
        return t ** 2
    if schedule == "power4":
        return t ** 4
    if schedule == "constant":
        return torch.full_like(t, base ** -0.5)
    raise ValueError(f"unknown --rope-schedule {schedule!r}")


def rope_schedule(cfg):
    """A config's --rope-schedule (checkpoints from before it: geometric)."""
    return cfg.get("rope-schedule", "geometric")


def sinusoid(k, C, base, schedule="geometric"):
    """Vaswani et al. 2017, section 3.5: PE(k, 2i) = sin(k / base^(2i/C)),
    PE(k, 2i+1) = cos(k / base^(2i/C)), for positions k of any shape (...)
    -> (..., C). An odd C ends with one more sine. Other schedules put
    schedule_theta(2i/C) in place of base^(-2i/C)."""
    c = torch.arange(C, dtype=torch.float64)
    w = schedule_theta(2.0 * torch.div(c, 2, rounding_mode="floor") / C, schedule, base)
    a = torch.as_tensor(k, dtype=torch.float64)[..., None] * w
    return torch.where(c.long() % 2 == 0, torch.sin(a), torch.cos(a))


def rope_ladder(n, base, schedule="geometric"):
    """RoFormer (Su et al. 2021, section 3.2.2): theta_i = base^(-2i/d), i < d/2, over n pairs (d = 2n);
    other schedules: schedule_theta(2i/d)."""
    return schedule_theta(2.0 * torch.arange(n, dtype=torch.float64) / (2 * n), schedule, base)


def rotate_pairs(x, angle, scale=None):
    """RoFormer section 3.4.2 (the efficient form of R_m x; 8265): the interleaved pairs
    (x_2i, x_2i+1) of x (..., T, D) turned by angle (T, K), K <= D/2 pairs;
    pairs from K on are left as they are (partial rotation). xPos: each pair
    also multiplied by scale (T, K)."""
    K = angle.shape[-1]
    cos = torch.cos(angle).repeat_interleave(2, -1).to(x.dtype)   # (T, 2K): cos th_0, cos th_0, cos th_1, ...
    sin = torch.sin(angle).repeat_interleave(2, -1).to(x.dtype)
    xr = x[..., :2 * K]
    turned = torch.stack((-xr[..., 1::2], xr[..., 0::2]), -1).flatten(-2)   # [-x1, x0, -x3, x2, ...]
    y = xr * cos + turned * sin
    if scale is not None:
        y = y * scale.repeat_interleave(2, -1).to(x.dtype)
    return torch.cat((y, x[..., 2 * K:]), -1)


def alibi_slopes(n):
    """Press et al. 2022, section 3 and their reference code: for n heads a
    power of two, the geometric sequence starting at 2^(-8/n) with that ratio;
    otherwise the slopes of the closest power of two p below n, then every
    other slope of 2p."""
    def geometric(k):
        return [2.0 ** (-8.0 * (i + 1) / k) for i in range(k)]
    p = 2 ** int(math.floor(math.log2(n)))
    return geometric(p) if p == n else geometric(p) + alibi_slopes(2 * p)[0::2][:n - p]


def t5_bucket(rel, num_buckets, max_distance, bidirectional):
    """T5 (Raffel et al. 2020, section 2.1) as in its reference code
    (`_relative_position_bucket`), rel = j - i (tensor): half the buckets
    exact offsets, the rest logarithmically wider up to max_distance, then
    the last bucket; bidirectional: half the buckets per sign (keys right of
    the query, rel > 0, in the upper half); unidirectional: only keys at or
    left of the query get distinct buckets (rel > 0 -> bucket 0)."""
    nb = num_buckets // 2 if bidirectional else num_buckets
    bucket = (rel > 0).long() * nb if bidirectional else torch.zeros_like(rel)
    r = rel.abs() if bidirectional else (-rel).clamp(min=0)
    max_exact = nb // 2
    far = max_exact + (torch.log(r.double().clamp(min=1) / max_exact) / math.log(max_distance / max_exact)
                       * (nb - max_exact)).long()
    return bucket + torch.where(r < max_exact, r, far.clamp(max=nb - 1))


def clip_index(off, lo, hi):
    """Shaw et al. 2018, section 3.2: clip(x, k) = max(-k, min(k, x)) of the offset, here with
    separate bounds, shifted to a table index (lo..hi -> 0..hi-lo)."""
    return off.clamp(lo, hi) - lo


def heads(x, H):
    """(..., N, H*D) -> (..., H, N, D): head h owns dimensions [h D, (h+1) D)."""
    return x.reshape(*x.shape[:-1], H, x.shape[-1] // H).transpose(-2, -3)


# -------------------------------------------------------------- encodings

class Encoding:
    """No hook: what every encoding does by default. Hooks (all optional):
    embed(m, x (B,T,C), tokens, P) -> x; rotate(m, l, q, k, v, P) -> q, k, v
    (B,H,T,D); scores(m, l, q, k, P) -> a term broadcast over (B,H,T,T),
    added to q.k/sqrt(D); values(m, l, A, v, P) -> (B,H,T,D) instead of A v."""
    embed = rotate = scores = values = None

    def __init__(self, m):
        self.cfg = m.cfg


class NoPE(Encoding):
    """none: no position information (NoPE; Kazemnejad et al. 2023). Order
    enters only through the causal mask, if any."""


class Learned(Encoding):
    """learned: trained absolute positions added to the input (Gehring et al.
    2017; BERT, GPT): x_k + p_k, p a (max-pos, C) table "enc.pos"
    (8130 (a))."""

    def embed(self, m, x, tokens, P):
        return x + m.w("enc.pos")[P.p]


class Sinusoidal(Encoding):
    """sinusoidal: Vaswani et al. 2017, section 3.5, added to the input:
    x_k + s PE(k) with base --rope-base (10000). Choice: the paper scales the
    token embeddings by sqrt(d); posprobe instead scales the table by s =
    --sin-scale, by default init-scale * sqrt 2 (the embeddings' own scale)."""

    def embed(self, m, x, tokens, P):
        s = float(self.cfg.get("sin-scale", "1"))    # checkpoints from before --sin-scale: unscaled
        s = s if s > 0 else float(self.cfg["init-scale"]) * math.sqrt(2)
        return x + s * sinusoid(P.p, m.C, float(self.cfg["rope-base"]), rope_schedule(self.cfg)).to(x.dtype)


class Multiplicative(Encoding):
    """multiplicative: absolute positions multiplied into the input,
    x_k (.) p_k (8130 (d), after the Zhihu experiment cited by Su).
    --mult-pos learned: p a trained (max-pos, C) table "enc.pos_mult" (starts
    at 1 + noise); sinusoidal: p = PE(k) of Vaswani et al., unscaled."""

    def embed(self, m, x, tokens, P):
        if self.cfg.get("mult-pos", "learned") == "sinusoidal":
            return x * sinusoid(P.p, m.C, float(self.cfg["rope-base"]), rope_schedule(self.cfg)).to(x.dtype)
        return x * m.w("enc.pos_mult")[P.p]


class Recursive(Encoding):
    """recursive: FLOATER (Liu et al. 2020: positions as the solution of
    the ODE dp/dt = h(p, t)) as a discrete recurrence (8130 (c)):
    p_{k+1} = p_k + f(p_k), f(p) = tanh(p W1 + b1) W2 + b2, p_0 learned, added
    to the input times s = --rec-scale, by default init-scale ("enc.p0", "enc.f.w1/w2", "enc.f.b" rows b1, b2). Choices:
    one Euler step per position instead of an ODE solver, f without a time
    input, one recurrence at the input only (FLOATER injects at every layer)."""

    def embed(self, m, x, tokens, P):
        b = m.w("enc.f.b")
        states = [m.w("enc.p0")]
        for _ in range(int(P.p.max())):               # the recurrence is sequential by definition
            p = states[-1]
            states.append(p + torch.tanh(p @ m.w("enc.f.w1") + b[0]) @ m.w("enc.f.w2") + b[1])
        s = float(self.cfg.get("rec-scale", "1"))    # checkpoints from before --rec-scale: unscaled
        s = s if s > 0 else float(self.cfg["init-scale"])
        return x + s * torch.stack(states)[P.p]


class ComplexOrder(Encoding):
    """complex: Wang et al. 2020 ("Encoding word order in complex
    embeddings"), its general embedding: word j at position k is r_j e^{i(w_j k + th_j)}, per
    complex dimension l. Choice: posprobe's model is real, so each complex
    dimension l becomes two real coordinates (r cos a, r sin a) at 2l, 2l+1, in
    the otherwise real Transformer; it replaces the token embedding (tok_emb
    is declared but unused). Amplitude, frequency and phase are per token
    ("enc.amplitude", "enc.frequency", "enc.phase", (V, C/2))."""

    def embed(self, m, x, tokens, P):
        a = m.w("enc.frequency")[tokens] * P.p[:, None].to(x.dtype) + m.w("enc.phase")[tokens]   # (B, T, C/2)
        r = m.w("enc.amplitude")[tokens]
        return torch.stack((r * torch.cos(a), r * torch.sin(a)), -1).flatten(-2)


class ConvPE(Encoding):
    """conv: a convolutional position encoding, the position encoding
    generator (PEG) of Chu et al. 2021 ("Conditional Positional Encodings for
    Vision Transformers", section 3.2) in 1-D, at the input: x + DWConv(x),
    DWConv a depthwise convolution of K = --conv-kernel rows (default 3) with
    its bias, "enc.conv.w" (K, C) and "enc.conv.b" (C): out_t = x_t + b +
    sum_k w_k * x_{t+k-left}. Position enters only through the padding (Su,
    8130, on CNNs; Islam et al. 2020): rows outside [0, T) are zeros, or with
    --conv-circular 1 the rows mod T. posprobe's choices: one convolution at
    the input (CPE places its PEG after the first encoder block); the kernel is
    centred under --mask bidir (left = (K - 1) / 2, K odd) and causal under
    --mask causal (left = K - 1, so no later token reaches a row); circular
    padding only bidirectionally; no position id is read."""

    def embed(self, m, x, tokens, P):
        w, T = m.w("enc.conv.w"), x.shape[1]
        K = w.shape[0]
        left = K - 1 if m.causal else (K - 1) // 2
        src = torch.arange(T)[:, None] + torch.arange(K)[None, :] - left          # (T, K): the row each tap reads
        if self.cfg.get("conv-circular", "0") == "1":
            src, inside = src % T, torch.ones(T, K, dtype=torch.bool)
        else:
            inside = (src >= 0) & (src < T)
        taps = x[:, src.clamp(0, T - 1)] * inside[None, :, :, None].to(x.dtype)   # (B, T, K, C), zeros outside
        return x + (taps * w).sum(2) + m.w("enc.conv.b")


class Shaw(Encoding):
    """shaw: Shaw et al. 2018, section 3 (also NEZHA): relative keys and values,
        e_ij = q_i . (k_j + a^K_ij) / sqrt(D),   o_i = sum_j a_ij (v_j + a^V_ij),
        a_ij = w[clip(i - j, clip-min, clip-max)].
    Choices: the table is indexed by i - j (the paper writes j - i: a
    relabelling of a learned table), counting position ids; the clip may be
    asymmetric (--clip-min, --clip-max); the tables (1, R, D)
    "enc.blockL.rel_k/rel_v" are per layer and shared by the heads (as in the
    paper)."""

    def index(self, P):
        return clip_index(P.off, int(self.cfg["clip-min"]), int(self.cfg["clip-max"]))

    def scores(self, m, l, q, k, P):
        table = m.w(f"enc.block{l}.rel_k")[0][self.index(P)]                 # (T, S, D)
        return torch.einsum("bhid,ijd->bhij", q, table) / math.sqrt(m.D)

    def values(self, m, l, A, v, P):
        table = m.w(f"enc.block{l}.rel_v")[0][self.index(P)]
        return A @ v + torch.einsum("bhij,ijd->bhid", A, table)


class ShawK(Shaw):
    """shaw-k: Shaw et al. 2018 with relative keys a^K_ij alone, no value
    term (a^V = 0), so position enters the logits only (9105)."""
    values = None


class TransformerXL(Encoding):
    """xl: Transformer-XL (Dai et al. 2019), section 3.3, the four terms
        A_ij = q_i.k_j + q_i.(W_KR R_{i-j}) + u.k_j + v.(W_KR R_{i-j})
    with R the (untruncated) sinusoid of the offset (dimension C, base
    --rope-base), W_KR "enc.blockL.w_kr" (C, C) per layer, u, v per head and
    layer ("enc.blockL.u", and v stored as "enc.blockL.v_minus_u" = v - u).
    Choices: all four terms scaled by 1/sqrt(D) like the content term; u is
    added to q by the rotate hook, so the model computes
    (q_i + u).k_j + (q_i + u + (v - u)).W_KR R_{i-j}, the same sum."""

    def rotate(self, m, l, q, k, v, P):
        return q + m.w(f"enc.block{l}.u"), k, v

    def scores(self, m, l, q, k, P):
        R = sinusoid(P.off, m.C, float(self.cfg["rope-base"]), rope_schedule(self.cfg)).to(q.dtype)
        R = R @ m.w(f"enc.block{l}.w_kr")                                                        # (T, S, C)
        qv = q + m.w(f"enc.block{l}.v_minus_u")                                                         # q + v
        return torch.einsum("bhid,ijhd->bhij", qv, R.unflatten(-1, (m.H, m.D))) / math.sqrt(m.D)


class T5(Encoding):
    """t5: Raffel et al. 2020, section 2.1: a learned scalar per head and
    bucket of the offset j - i, added to the logits, one table "enc.t5_bias"
    (H, buckets) shared by all layers. Choice: bidirectional bucketing under
    --mask bidir, unidirectional (only keys at or left of the query
    distinguished) under --mask causal, as T5's decoder; --t5-buckets,
    --t5-max-distance."""

    def scores(self, m, l, q, k, P):
        idx = t5_bucket(-P.off, int(self.cfg["t5-buckets"]), int(self.cfg["t5-max-distance"]),
                        self.cfg["mask"] == "bidir")
        return m.w("enc.t5_bias")[:, idx]                                 # (H, T, S)


class DeBERTa(Encoding):
    """deberta: He et al. 2021, section 3.1 (disentangled attention):
        A_ij = Q^c_i.K^c_j + Q^c_i.K^r_{d(i,j)} + K^c_j.Q^r_{d(j,i)},
        d(i, j) = clip(i - j), K^r = P W_{k,r}, Q^r = P W_{q,r},
    P "enc.rel_table" (R, C) shared by the layers, W "enc.blockL.w_kr/w_qr"
    per layer. Choices: each term scaled by 1/sqrt(D), not the paper's
    1/sqrt(3d); the clip range is --clip-min..--clip-max rather than the
    paper's (-k, k) with bucket 2k; no EMD (absolute positions in the last
    layers): logits only."""

    def scores(self, m, l, q, k, P):
        idx = clip_index(P.off, int(self.cfg["clip-min"]), int(self.cfg["clip-max"]))   # d(i, j)
        kr = heads(m.w("enc.rel_table") @ m.w(f"enc.block{l}.w_kr"), m.H)              # (H, R, D)
        qr = heads(m.w("enc.rel_table") @ m.w(f"enc.block{l}.w_qr"), m.H)
        c2p = torch.einsum("bhid,hijd->bhij", q, kr[:, idx])
        p2c = torch.einsum("bhjd,hjid->bhij", k, qr[:, idx])                           # [j, i]: d(j, i)
        return (c2p + p2c) / math.sqrt(m.D)


class TUPE(Encoding):
    """tupe: Ke et al. 2021 (TUPE), section 3, the untied positional term alone:
    (p_i U^Q)(p_j U^K)^T / sqrt(D) per head, p "enc.pos" (max-pos, C) shared
    by the layers, U^Q, U^K "enc.blockL.u_q/u_k" per layer. Choices: scaled by
    1/sqrt(D) (the paper: 1/sqrt(2d) for both terms); no [CLS] untying; no
    positions at the input."""

    def scores(self, m, l, q, k, P):
        p = m.w("enc.pos")[P.p]
        pq, pk = heads(p @ m.w(f"enc.block{l}.u_q"), m.H), heads(p @ m.w(f"enc.block{l}.u_k"), m.H)   # (H, T, D)
        return pq @ pk.transpose(-1, -2) / math.sqrt(m.D)


class ALiBi(Encoding):
    """alibi: Press et al. 2022, section 3: softmax(q_i K^T + m_h [-(i-1),
    ..., -1, 0]), i.e. a bias -m_h |i - j| with the paper's slopes. Choices:
    the paper is causal; bidirectionally posprobe uses -m_h |i - j| on both
    sides, or with --alibi-asym 1 the 2H-head slope sequence split between the
    two sides (even-indexed slopes for keys at or left of the query, odd for
    keys right of it), so each head tells left from right."""

    def scores(self, m, l, q, k, P):
        slopes = alibi_slopes(m.H)
        left = right = torch.tensor(slopes, dtype=torch.float64)
        if self.cfg.get("alibi-asym", "0") != "0":
            both = torch.tensor(alibi_slopes(2 * m.H), dtype=torch.float64)
            left, right = both[0::2], both[1::2]
        off = P.off.double()
        slope = torch.where(off >= 0, left[:, None, None], right[:, None, None])   # (H, T, S)
        return (-slope * off.abs()).to(q.dtype)


class KerpleLog(Encoding):
    """kerple-log: KERPLE (Chi et al. 2022), section 4, the logarithmic variant:
    -r1 log(1 + r2 |i - j|), r1, r2 > 0 per head and layer. Choice: r1 =
    softplus(a), r2 = softplus(b) from raw "enc.blockL.kerple" (H, 2) (the paper
    clamps instead), starting at r1 = r2 = 1."""

    def kernel(self, r, d):
        return -F.softplus(r[:, 0, None, None]) * torch.log1p(F.softplus(r[:, 1, None, None]) * d)

    def scores(self, m, l, q, k, P):
        return self.kernel(m.w(f"enc.block{l}.kerple"), P.off.abs().to(q.dtype))


class KerplePower(KerpleLog):
    """kerple-power: KERPLE (Chi et al. 2022), section 4, the power variant:
    -r1 |i - j|^r2, r1 > 0, 0 < r2 <= 2. Choice: r1 = softplus(a), r2 =
    2 sigmoid(b) (so r2 < 2), starting at r1 = r2 = 1; 0 at distance 0."""

    def kernel(self, r, d):
        pw = torch.where(d > 0, d.clamp(min=1) ** (2 * torch.sigmoid(r[:, 1, None, None])), torch.zeros_like(d))
        return -F.softplus(r[:, 0, None, None]) * pw


class Sandwich(Encoding):
    """sandwich: Chi et al. 2023 ("Dissecting Transformer Length Extrapolation
    via the Lens of Receptive Field Analysis"), its Sandwich: the inner product of
    sinusoidal embeddings p_m . p_n = sum_k cos((m - n) / base^(2k/d')) as a
    fixed bias, d' = 128. Choices (the paper leaves them open): the offset is
    compressed per head by r_h = 8 (h+1) / H, echoing ALiBi's slopes; the bias
    is shifted by -d'/2 so it is 0 at distance 0; base --rope-base."""

    def scores(self, m, l, q, k, P):
        if rope_schedule(self.cfg) != "geometric":
            raise ValueError("sandwich uses the geometric frequency schedule only (as posprobe refuses others)")
        dbar = 128
        r = 8.0 * torch.arange(1, m.H + 1, dtype=torch.float64) / m.H                        # (H)
        w = float(self.cfg["rope-base"]) ** (2.0 * torch.arange(dbar // 2, dtype=torch.float64) / dbar)
        a = P.off.double()[None, :, :, None] / (r[:, None, None, None] * w)                   # (H, T, S, d'/2)
        return (torch.cos(a).sum(-1) - dbar / 2).to(q.dtype)


class FIRE(Encoding):
    """fire: Li et al. 2024 (FIRE), section 3, with its log transform and the
    learned threshold L of progressive interpolation:
        b_h(i, j) = f_h( psi(i - j) / psi(max(L, i)) ),  psi(x) = log(c x + 1),
    f an MLP 1 -> 32 -> H with ReLU per layer ("enc.blockL.fire_w1/b1/w2/b2"),
    c = softplus, L = softplus of the raw "enc.blockL.fire_cl" (start: c = 0.1,
    L = --len-max). Choices: the query's position i is counted from 1 (i + 1
    for 0-based ids) in the normaliser; causal: i - j (clamped at 0 for the
    masked future); bidirectional (not in the paper): |i - j|."""

    def scores(self, m, l, q, k, P):
        cl = m.w(f"enc.block{l}.fire_cl")
        c, L = F.softplus(cl[0]), F.softplus(cl[1])
        d = P.off.clamp(min=0) if self.cfg["mask"] == "causal" else P.off.abs()
        i1 = (P.p + 1).to(q.dtype)[:, None]                                      # (T, 1)
        norm = torch.log1p(c * torch.where(L > i1, L, i1))                          # max(L, i): the gradient goes to L only above
        feat = (torch.log1p(c * d.to(q.dtype)) / norm)[..., None]                   # (T, S, 1)
        h = torch.relu(feat @ m.w(f"enc.block{l}.fire_w1") + m.w(f"enc.block{l}.fire_b1"))
        return (h @ m.w(f"enc.block{l}.fire_w2") + m.w(f"enc.block{l}.fire_b2")).permute(2, 0, 1)   # (H, T, S)


class CoPE(Encoding):
    """cope: Golovneva et al. 2024 (Contextual Position Encoding), section 3:
        g_ij = sigmoid(q_i . k_j),  p_ij = sum_{t=j..i} g_it,
        e[p] = (p - floor p) e[ceil p] + (1 - p + floor p) e[floor p],
        a_ij = softmax(q_i . k_j + q_i . e[p_ij]).
    Causal only. Choices: the gates use the raw q.k of the equation (no
    1/sqrt(D)), the position term is scaled by 1/sqrt(D) like the content
    term. The authors' reference code (the paper's appendix) does the
    opposite, sigmoid of the scaled logits and an unscaled q.e; the e scale
    is only a reparametrisation of the learned table, the gate scale is not
    (sigmoid(q.k) saturates sooner). Positions are
    clipped at --max-pos - 1 (p_max); e "enc.blockL.cope_pos" (max-pos, D) per
    layer, shared by the heads; gates count over position order (row index),
    not over position ids."""

    def scores(self, m, l, q, k, P):
        E = m.w(f"enc.block{l}.cope_pos")
        N, T = E.shape[0], q.shape[-2]
        causal = torch.ones(T, T, dtype=torch.bool).tril()
        g = torch.sigmoid(q @ k.transpose(-1, -2)) * causal
        p = g.flip(-1).cumsum(-1).flip(-1).clamp(max=N - 1)                    # sum_{t >= j} g_it (t <= i by the mask)
        lo = p.detach().floor().long()
        hi = (lo + 1).clamp(max=N - 1)
        w = p - lo
        qe = q @ E.T                                                           # (B, H, T, N): q_i . e[n]
        term = (1 - w) * qe.gather(-1, lo) + w * qe.gather(-1, hi)
        return torch.where(causal, term, torch.zeros_like(term)) / math.sqrt(m.D)


class RoPE(Encoding):
    """rope: RoFormer (Su et al. 2021, section 3.2.2; 8265): q_m -> R_m q_m,
    k_n -> R_n k_n, interleaved pairs, theta_i = base^(-2i/d). Choices:
    --rope-fraction rotates the first K = floor(fraction D/2) pairs of each
    head with the ladder over them (d = 2K), the rest unrotated (partial
    rotary, as GPT-NeoX); --rope-trainable makes theta a parameter "enc.theta"
    (starting at the ladder)."""
    rotate_v = False

    def pairs(self, m):
        return int(float(self.cfg["rope-fraction"]) * m.D / 2)

    def theta(self, m):
        if m.has("enc.theta"):
            return m.w("enc.theta")
        return rope_ladder(self.pairs(m), float(self.cfg["rope-base"]), rope_schedule(self.cfg))

    def angles(self, m, P):
        th = self.theta(m)
        return P.p[:, None].to(th.dtype) * th                                   # (T, K)

    def rotate(self, m, l, q, k, v, P):
        a = self.angles(m, P)
        return rotate_pairs(q, a), rotate_pairs(k, a), rotate_pairs(v, a) if self.rotate_v else v


class RoPEV(RoPE):
    """rope-v: RoPE applied to the values too, o_i = sum_j a_ij R_j v_j (Su,
    8130 "fusion" remark, entry (k): "if explicit absolute information is also
    wanted, apply it to v too"). Choice: the output is not rotated back, so it
    carries absolute position."""
    rotate_v = True


class RoPE2D(RoPE):
    """rope2d: 2-D RoPE (Su, 8397): R_{x,y} = blockdiag(R(x theta),
    R(y theta)): the first half of each head's pairs turned by the row x, the
    second half by the column y. Choices: each half has its own ladder
    theta_k = base^(-2k/(D/2)) (the article uses one theta); on 1-D tasks x = 0
    and y = the position id; --rope-trainable as rope."""

    def pairs(self, m):
        return m.D // 2

    def theta(self, m):
        if m.has("enc.theta"):
            return m.w("enc.theta")
        K, base, sched = m.D // 2, float(self.cfg["rope-base"]), rope_schedule(self.cfg)
        return torch.cat((rope_ladder(K // 2, base, sched), rope_ladder(K - K // 2, base, sched)))

    def angles(self, m, P):
        th, K = self.theta(m), m.D // 2
        x = P.x if P.x is not None else torch.zeros_like(P.p)
        y = P.y if P.y is not None else P.p
        coord = torch.cat((x[:, None].expand(-1, K // 2), y[:, None].expand(-1, K - K // 2)), 1)   # (T, K)
        return coord.to(th.dtype) * th


class XPos(RoPE):
    """xpos: xPos (Sun et al. 2023, "A Length-Extrapolatable Transformer"),
    section 3: RoPE with q_m scaled by zeta^(m/gamma) and k_n by zeta^(-n/gamma)
    per pair, zeta_i = (2i/D + z) / (1 + z), so q.k decays with m - n;
    z = --xpos-zeta (0.4), gamma = --xpos-gamma (512). Choices: all D/2 pairs
    rotated; positions are ids (not centred); --rope-trainable as rope."""

    def pairs(self, m):
        return m.D // 2

    def rotate(self, m, l, q, k, v, P):
        K, z, gamma = m.D // 2, float(self.cfg["xpos-zeta"]), float(self.cfg["xpos-gamma"])
        zeta = (2.0 * torch.arange(K, dtype=torch.float64) / m.D + z) / (1 + z)
        e = P.p[:, None].double() / gamma * torch.log(zeta)                   # (T, K): log of zeta^(n/gamma)
        a = self.angles(m, P)
        return rotate_pairs(q, a, torch.exp(e)), rotate_pairs(k, a, torch.exp(-e)), v


class URPE(Encoding):
    """urpe: Luo et al. 2022 (URPE, "Your Transformer May Not be as Powerful
    as You Expect"), its URPE attention, and 9105 remedy A:
    O = (A (.) C) V with a learned Toeplitz C, c_ij = g_h(clip(i - j)) per head
    and layer "enc.blockL.toeplitz" (H, R). Choices: clipped offsets
    (--clip-min..--clip-max) so C has finitely many parameters; g starts at
    1 + noise; any normalizer (the paper: softmax)."""

    def values(self, m, l, A, v, P):
        idx = clip_index(P.off, int(self.cfg["clip-min"]), int(self.cfg["clip-max"]))
        return (A * m.w(f"enc.block{l}.toeplitz")[:, idx]) @ v


ENCODINGS = {
    "none": NoPE, "learned": Learned, "sinusoidal": Sinusoidal, "multiplicative": Multiplicative,
    "recursive": Recursive, "complex": ComplexOrder, "conv": ConvPE, "shaw": Shaw, "shaw-k": ShawK, "xl": TransformerXL,
    "t5": T5, "deberta": DeBERTa, "tupe": TUPE, "alibi": ALiBi, "kerple-log": KerpleLog,
    "kerple-power": KerplePower, "sandwich": Sandwich, "fire": FIRE, "cope": CoPE, "rope": RoPE,
    "rope-v": RoPEV, "rope2d": RoPE2D, "xpos": XPos, "urpe": URPE,
}


# ------------------------------------------------------------- normalizers

def normalize(b, visible, norm, n_train):
    """Scores b (..., T, S) and visible (T, S) -> attention weights, 0 where
    masked (trainer/engine/attention.c; article 9105, remedies B and C):
      softmax    e^b / sum_j e^b
      l2         e^b / sqrt(sum_j e^2b)             (9105 countermeasure C)
      nodenom    e^b                                (9105 countermeasure B)
      relu2n     relu(b)^2 / n, n the visible keys  (GAU, Hua et al. 2022)
      swishl2    swish(b) / ||swish(b)||_2          (9105's extension; 0 for a zero row)
      logscaled  softmax(b log n / log n_train)     (entropy-invariant, Su 8823)
    """
    zero = torch.zeros((), dtype=b.dtype)
    n = visible.sum(-1, keepdim=True).to(b.dtype)
    if norm in ("softmax", "logscaled"):
        t = torch.log(n) / math.log(n_train) if norm == "logscaled" else 1.0
        return torch.where(visible, torch.softmax(torch.where(visible, b * t, torch.finfo(b.dtype).min), -1), zero)
    if norm == "l2":
        s = torch.where(visible, b, torch.finfo(b.dtype).min)
        e = torch.where(visible, torch.exp(s - s.amax(-1, keepdim=True)), zero)   # e^(b-m) / ||e^(b-m)||: the same ratio
        return e / torch.sqrt((e * e).sum(-1, keepdim=True))
    if norm == "nodenom":
        return torch.where(visible, torch.exp(torch.where(visible, b, zero)), zero)
    if norm == "relu2n":
        return torch.where(visible, torch.relu(b) ** 2 / n, zero)
    if norm == "swishl2":
        s = torch.where(visible, F.silu(b), zero)
        r = torch.sqrt((s * s).sum(-1, keepdim=True))
        return torch.where(r > 0, s / torch.where(r > 0, r, torch.ones_like(r)), zero)
    raise ValueError(f"unknown normalizer {norm}")


LINEAR_NORMS = ("linear", "linear-num", "cos1")


def linear_weights(q, k, qd, kd, visible, c):
    """Linear attention's weights (Su, 8265, "RoPE for linear attention"),
    written in the quadratic form: a_ij = (c + q_i.k_j) / sum_j (c + qd_i.kd_j)
    over the visible keys, 0 where masked and in a row whose denominator is 0.
    The caller gives the features: phi(q) = elu(q) + 1 before RoPE for
    linear (q, k rotated in both) and linear-num (qd, kd un-rotated), unit
    vectors of the rotated q, k with c = 1 for cos1 (1 + cos(q, k))."""
    zero = torch.zeros((), dtype=q.dtype)
    w = torch.where(visible, c + q @ k.transpose(-1, -2), zero)
    wd = torch.where(visible, c + qd @ kd.transpose(-1, -2), zero).sum(-1, keepdim=True)
    return torch.where(wd != 0, w / torch.where(wd != 0, wd, torch.ones_like(wd)), zero)


# ------------------------------------------------------------------ model

class PosprobeModel(torch.nn.Module):
    """posprobe's model from its config (checkpoint strings) and parameters
    [(name, shape, tensor)]. Parameters keep posprobe's names (model.w(name),
    model.names in declaration order); dtype float64 by default."""

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
        self.causal = cfg["mask"] == "causal"
        self.regression = cfg.get("head", "auto") == "regression"
        self.act = {"relu": torch.relu, "gelu": F.gelu, "swish": F.silu}[cfg["act"]]
        self.dropout = float(cfg.get("dropout", "0"))
        self.attn_weights = None
        self.n_train = seq_len(cfg, int(cfg["len-max"]))
        if cfg["encoding"] not in ENCODINGS:
            raise ValueError(f"encoding {cfg['encoding']} is not mirrored in PyTorch")
        self.enc = ENCODINGS[cfg["encoding"]](self)
        if cfg["norm"] in LINEAR_NORMS and (self.enc.scores or self.enc.values):
            raise ValueError(f"--norm {cfg['norm']} is linear attention: no scores for {cfg['encoding']}")

    def w(self, name):
        return self.p[name.replace(".", "__")]

    def has(self, name):
        return name.replace(".", "__") in self.p

    def norm(self, x, g, b):
        if self.rms:
            return x / torch.sqrt((x * x).mean(-1, keepdim=True) + 1e-5) * self.w(g)
        return F.layer_norm(x, (self.C,), self.w(g), self.w(b), 1e-5)

    def attention(self, l, h, P):
        pre = f"block{l}.attn."
        q, k, v = (heads(h @ self.w(pre + "w" + c) + self.w(pre + "b" + c), self.H) for c in "qkv")   # (B, H, T, D)
        e = self.enc
        norm = self.cfg["norm"]
        if norm in LINEAR_NORMS:
            return self.linear_attention(l, h, q, k, v, P)
        if e.rotate:
            q, k, v = e.rotate(self, l, q, k, v, P)
        s = q @ k.transpose(-1, -2) / math.sqrt(self.D)
        if e.scores:
            s = s + e.scores(self, l, q, k, P)
        T = s.shape[-1]
        visible = torch.ones(T, T, dtype=torch.bool)
        if self.causal:
            visible = visible.tril()
        A = normalize(s, visible, self.cfg["norm"], self.n_train)
        if self.attn_weights is not None:    # a list: collect every layer's weights (B, H, T, S)
            self.attn_weights.append(A.detach())
        o = e.values(self, l, A, v, P) if e.values else A @ v
        o = o.transpose(1, 2).reshape(h.shape)
        return o @ self.w(pre + "wo") + self.w(pre + "bo")

    def linear_attention(self, l, h, q, k, v, P):
        """8265: linear: phi = elu + 1 on q, k, then RoPE (the encoding's rotation), the same rotated features
        above and below; linear-num: the denominator from phi(q), phi(k) before the rotation; cos1: 1 + cos of
        the rotated q, k, divided by its row sum."""
        norm, e = self.cfg["norm"], self.enc
        if norm != "cos1":
            q, k = F.elu(q) + 1, F.elu(k) + 1
        qd, kd = q, k
        if e.rotate:
            q, k, v = e.rotate(self, l, q, k, v, P)
        c = 0.0
        if norm == "cos1":
            unit = lambda x: x / torch.linalg.vector_norm(x, dim=-1, keepdim=True)   # noqa: E731
            q, k, c = unit(q), unit(k), 1.0
        if norm != "linear-num":
            qd, kd = q, k
        T = q.shape[-2]
        visible = torch.ones(T, T, dtype=torch.bool)
        if self.causal:
            visible = visible.tril()
        A = linear_weights(q, k, qd, kd, visible, c)
        if self.attn_weights is not None:
            self.attn_weights.append(A.detach())
        o = (A @ v).transpose(1, 2).reshape(h.shape)
        return o @ self.w(f"block{l}.attn.wo") + self.w(f"block{l}.attn.bo")

    def mlp(self, l, h):
        pre = f"block{l}.mlp."
        return self.act(h @ self.w(pre + "w1") + self.w(pre + "b1")) @ self.w(pre + "w2") + self.w(pre + "b2")

    def forward(self, tokens, pos=None):
        """tokens (B, T) -> logits (B, T, K) (K = 1 for regression). pos: a
        Positions, a list of ids, or None for 0..T-1 (on probe2d, None gives
        the grid's rows and columns)."""
        tokens = torch.as_tensor(tokens)
        T = tokens.shape[1]
        if pos is None:
            pos = self.default_positions(T)
        elif not isinstance(pos, Positions):
            pos = Positions(pos)
        x = self.w("tok_emb")[tokens]
        if self.enc.embed:
            x = self.enc.embed(self, x, tokens, pos)
        return self.blocks(x, lambda l, h: self.attention(l, h, pos))

    def blocks(self, x, attend):
        """Embedded x (B, T, C) -> logits: the L blocks, attend(l, h) being
        block l's attention, with residuals and pre- or post-norm; the head."""
        def drop(y):
            return F.dropout(y, self.dropout, self.training) if self.dropout > 0 else y
        for l in range(self.L):
            n1, n2 = (f"block{l}.ln1.g", f"block{l}.ln1.b"), (f"block{l}.ln2.g", f"block{l}.ln2.b")
            if self.post:
                x = self.norm(x + drop(attend(l, x)), *n1)
                x = self.norm(x + drop(self.mlp(l, x)), *n2)
            else:
                x = x + drop(attend(l, self.norm(x, *n1)))
                x = x + drop(self.mlp(l, self.norm(x, *n2)))
        if not self.post:
            x = self.norm(x, "lnf.g", "lnf.b")
        return x @ self.w("head.w") + self.w("head.b")

    def default_positions(self, T):
        p = list(range(T))
        if self.cfg["task"] != "probe2d":
            return Positions(p)
        gw, mk = int(self.cfg["grid-w"]), {"none": 0, "bos": 1, "cls-sep": 2}[self.cfg["markers"]]
        at, n = (1 if mk else 0), T - mk
        x = [(t - at) // gw if 0 <= t - at < n else 0 for t in p]
        y = [(t - at) % gw if 0 <= t - at < n else 0 for t in p]
        return Positions(p, x, y)

    def loss(self, logits, targets):
        """Mean cross-entropy over scored rows (targets >= 0); regression:
        sum w (y - t)^2 / sum w with w = 1 where targets >= 0."""
        targets = torch.as_tensor(targets)
        if self.regression:
            w = (targets >= 0).to(logits.dtype)
            return (w * (logits[..., 0] - targets.clamp(min=0).to(logits.dtype)) ** 2).sum() / w.sum()
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-1)




# ------------------------------------------------------------- benchmarks

class CachedDecoder:
    """Greedy decoding with a key/value cache, as a careful PyTorch user would
    write it: keys and values (after RoPE) preallocated for every row, the
    prompt run once, then one row per token; position-dependent tables (RoPE
    angles, T5 buckets, ALiBi distances) computed once for all rows, sliced
    per step. Evaluation only (inference_mode). Causal models only."""

    def __init__(self, model, B, max_T, pos):
        m = self.m = model
        cfg = m.cfg
        if not m.causal:
            raise ValueError("cached decoding needs a causal model")
        self.enc, self.norm_kind = cfg["encoding"], cfg["norm"]
        if self.enc not in ("none", "learned", "rope", "t5", "alibi") or self.norm_kind != "softmax":
            raise ValueError(f"cached decoding mirrors none/learned/rope/t5/alibi with softmax, not {self.enc}/{self.norm_kind}")
        dt = m.w("tok_emb").dtype
        self.k = [torch.zeros(B, m.H, max_T, m.D, dtype=dt) for _ in range(m.L)]
        self.v = [torch.zeros(B, m.H, max_T, m.D, dtype=dt) for _ in range(m.L)]
        self.P = Positions(pos)
        if self.enc == "rope":
            self.angles = m.enc.angles(m, self.P)
        elif self.enc in ("t5", "alibi"):
            self.bias = m.enc.scores(m, 0, torch.zeros((), dtype=dt), None, self.P).detach()   # (H, T, T)
        self.scale = 1 / math.sqrt(m.D)

    def attention(self, l, h, t0):
        m = self.m
        B, Tn, C = h.shape
        t1 = t0 + Tn
        pre = f"block{l}.attn."
        q, k, v = (heads(h @ m.w(pre + "w" + c) + m.w(pre + "b" + c), m.H) for c in "qkv")
        if self.enc == "rope":
            q, k = rotate_pairs(q, self.angles[t0:t1]), rotate_pairs(k, self.angles[t0:t1])
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
            x = x + m.w("enc.pos")[self.P.p[t0:t0 + tokens.shape[1]]]
        return m.blocks(x, lambda l, h: self.attention(l, h, t0))

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
    model = load_checkpoint(args.checkpoint, torch.float32 if args.dtype == "float" else torch.float64)
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
    model = load_checkpoint(args.checkpoint, torch.float32 if args.dtype == "float" else torch.float64).train()
    V, K = model.w("tok_emb").shape[0], model.w("head.w").shape[1]
    g = torch.Generator().manual_seed(1)
    tokens = torch.randint(0, V, (args.batch, args.len), generator=g)
    targets = torch.randint(0, K, (args.batch, args.len), generator=g)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    pos = Positions(list(range(args.len)))
    times = []
    for step in range(args.warmup + args.steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        logits = model(tokens, pos)
        loss = F.cross_entropy(logits.reshape(-1, K), targets.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step >= args.warmup:
            times.append(time.perf_counter() - t0)
    q = statistics.quantiles(times, n=10)
    print(json.dumps({"median_ms": 1e3 * statistics.median(times), "p10_ms": 1e3 * q[0], "p90_ms": 1e3 * q[-1],
                      "torch": torch.__version__, "threads": torch.get_num_threads()}))


def selftest():
    """The mirror's pieces against numbers from the papers themselves, with no
    posprobe code involved (make parity-fixtures runs it first)."""
    def close(a, b, tol=1e-12):
        return torch.allclose(torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64),
                              atol=tol, rtol=0)
    checks = []
    # ALiBi's reference code: 8 heads 2^-1 .. 2^-8; 6 heads: the 4-head slopes, then 2^-1 and 2^-3
    checks.append(("alibi slopes, 8 heads", close(alibi_slopes(8), [2.0 ** -k for k in range(1, 9)])))
    checks.append(("alibi slopes, 6 heads", close(alibi_slopes(6), [2.0 ** -2, 2.0 ** -4, 2.0 ** -6, 2.0 ** -8,
                                                                   2.0 ** -1, 2.0 ** -3])))
    # T5's bidirectional buckets at 32/128 (8130 (g), the article's table): magnitudes 0..7 exact,
    # 8..11 -> 8, 12..15 -> 9, 16..22 -> 10, 23..31 -> 11, 32.. -> 12, the last bucket (15) from 91
    r = torch.arange(0, 200)
    want = torch.tensor([d if d < 8 else 8 if d < 12 else 9 if d < 16 else 10 if d < 23 else 11 if d < 32 else -1
                         for d in range(200)])
    got = t5_bucket(-r, 32, 128, True)                 # keys left of the query: lower half
    checks.append(("t5 buckets, bidirectional", bool((got[want >= 0] == want[want >= 0]).all()) and
                   int(got[32]) == 12 and int(got[90]) == 14 and int(got[91]) == 15 and int(got[199]) == 15))
    checks.append(("t5 buckets, right of the query", bool((t5_bucket(r[1:], 32, 128, True) >= 16).all())))
    checks.append(("t5 buckets, causal", bool((t5_bucket(r[1:], 32, 128, False) == 0).all()) and
                   int(t5_bucket(torch.tensor(-15), 32, 128, False)) == 15 and
                   int(t5_bucket(torch.tensor(-16), 32, 128, False)) == 16))
    # Vaswani et al.: PE(k, 2i) = sin(k / 10000^(2i/d)), PE(k, 2i+1) = cos(...)
    pe = sinusoid(torch.tensor([3.0]), 8, 10000.0)[0]
    checks.append(("sinusoid", close(pe, [math.sin(3), math.cos(3), math.sin(0.3), math.cos(0.3), math.sin(0.03),
                                          math.cos(0.03), math.sin(0.003), math.cos(0.003)])))
    # RoFormer: the elementwise form is the block-diagonal R_m, and (R_m q).(R_n k) depends on m - n only
    g = torch.Generator().manual_seed(0)
    q, k = torch.randn(8, dtype=torch.float64, generator=g), torch.randn(8, dtype=torch.float64, generator=g)
    th = rope_ladder(4, 10000.0)
    checks.append(("rope frequencies", close(th, [1, 0.1, 0.01, 0.001], 1e-15)))   # 10000^(-2i/8)
    R = torch.zeros(8, 8, dtype=torch.float64)
    for i in range(4):
        c, s_ = math.cos(5 * th[i]), math.sin(5 * th[i])
        R[2 * i:2 * i + 2, 2 * i:2 * i + 2] = torch.tensor([[c, -s_], [s_, c]], dtype=torch.float64)
    checks.append(("rope = block-diagonal R_m", close(rotate_pairs(q[None], 5 * th[None]), (R @ q)[None])))
    dots = [(rotate_pairs(q[None], m * th[None]) * rotate_pairs(k[None], (m - 3) * th[None])).sum() for m in (3, 7, 40)]
    checks.append(("rope relative", close(dots[0], dots[1], 1e-12) and close(dots[0], dots[2], 1e-12)))
    # xPos: with the scales, q_m . k_n = zeta^((m-n)/gamma) times the rotated product, per pair
    zeta = torch.tensor([0.5, 0.75, 0.9, 0.95], dtype=torch.float64)
    sq = lambda m: torch.exp(m / 16 * torch.log(zeta))[None]    # noqa: E731
    pair = (rotate_pairs(q[None], 9 * th[None], sq(9)) * rotate_pairs(k[None], 4 * th[None], 1 / sq(4)))
    plain = (rotate_pairs(q[None], 9 * th[None]) * rotate_pairs(k[None], 4 * th[None]))
    checks.append(("xpos decay", close(pair.reshape(4, 2).sum(1), plain.reshape(4, 2).sum(1) * zeta ** (5 / 16))))
    # 8265, RoPE for linear attention: 1 + cos of rotated vectors lies in [0, 2], and row-normalised the weights
    # are probabilities (positive, rows summing to 1) under a causal mask
    u = rotate_pairs(torch.randn(6, 8, dtype=torch.float64, generator=g), torch.arange(6.0)[:, None] * th[None])
    u = u / torch.linalg.vector_norm(u, dim=-1, keepdim=True)
    vis = torch.ones(6, 6, dtype=torch.bool).tril()
    w = linear_weights(u, u.flip(0), u, u.flip(0), vis, 1.0)
    cosw = 1 + u @ u.flip(0).T
    checks.append(("linear attention, 1 + cos", bool((cosw >= -1e-12).all() and (cosw <= 2 + 1e-12).all()) and
                   bool((w >= 0).all()) and close(w.sum(-1), torch.ones(6))))
    failed = [name for name, ok in checks if not ok]
    for name, ok in checks:
        print(f"{'ok' if ok else 'FAILED'}  {name}")
    return not failed


if __name__ == "__main__":
    import argparse
    import sys
    if sys.argv[1:] == ["--selftest"]:
        sys.exit(0 if selftest() else 1)
    ap = argparse.ArgumentParser(description="posprobe's model in PyTorch: describe a checkpoint, or time it "
                                             "(--selftest: the mirror against the papers' numbers)")
    ap.add_argument("checkpoint")
    ap.add_argument("--bench", action="store_true", help="time training steps (make bench)")
    ap.add_argument("--decode-bench", action="store_true", help="time cached greedy decoding (make bench)")
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
        mdl = load_checkpoint(a.checkpoint)
        print(f"{mdl.cfg['encoding']}: {len(mdl.names)} tensors, {sum(p.numel() for p in mdl.parameters())} scalars, "
              f"max_n {mdl.max_n}, steps {mdl.steps}")
