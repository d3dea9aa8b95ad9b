"""Bit-exact integer reference: runs an export bundle with numpy, nothing else.

It reads only the bundle (manifest + ROMs) and implements docs/numerics.md.
Layers are run layer-major over all T steps at once: a conv's currents for every
step and sample come from one matrix product (im2col), then the LIF runs over T.

Internally every tensor is time-major and channel-last, ``[T, N, H, W, C]``: the
im2col rows are then contiguous runs of C values and the matrix product's output
``[T*N*Ho*Wo, Cout]`` is already in that layout (no transposes). Results are
returned in the bundle's ``[N, T, C, H, W]`` layout.

Every value is an integer held exactly in a float: matrix products use float32
where the layer's proven accumulator bound is below 2^24 and float64 below 2^53;
the saturated current and the membrane (``mem_bits`` + 1 bits) use float32 when
that fits in 24 bits, float64 otherwise. ``(v + i) >> 1`` is ``floor((v + i) / 2)``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from . import numerics as nx
from .bundle import Bundle, load_bundle
from .graph import INPUT
from .layers import ConvLif, MaxPoolOr, Merge


class InputError(ValueError):
    """Input that does not match the bundle's input spec."""


def check_input(x: np.ndarray, spec: dict) -> np.ndarray:
    """Validate integer input against the bundle's input spec; return it as int64 [N, T, C, H, W].

    A single sample [T, C, H, W] is accepted and given a batch axis."""
    x = np.asarray(x)
    expected = (spec["steps"], spec["channels"], spec["height"], spec["width"])
    if x.ndim == 4:
        x = x[None]
    if x.ndim != 5 or tuple(x.shape[1:]) != expected:
        raise InputError(f"input shape {tuple(x.shape)}; expected [N, T={expected[0]}, C={expected[1]}, "
                         f"H={expected[2]}, W={expected[3]}] (or one sample without N)")
    if not (np.issubdtype(x.dtype, np.integer) or x.dtype == np.bool_):
        raise InputError(f"input dtype {x.dtype}; expected integers ({spec['encoding']} in "
                         f"0..{2 ** spec['bits'] - 1}); quantise on the host first (see docs/numerics.md)")
    hi = 2 ** spec["bits"] - 1
    if x.size and (x.min() < 0 or x.max() > hi):
        raise InputError(f"input values {x.min()}..{x.max()}; expected 0..{hi} "
                         f"({spec['bits']}-bit {spec['encoding']}); clip or rescale first")
    return x.astype(np.int64)


@dataclass
class ReferenceResult:
    scores: np.ndarray                                   # [N, classes] int64
    spikes: dict[str, np.ndarray] = field(default_factory=dict)       # layer -> [N, T, C, H, W] uint8
    spike_counts: dict[str, np.ndarray] = field(default_factory=dict)  # layer -> [N] total spikes
    saturations: dict[str, int] = field(default_factory=dict)
    # attention layers only: clamps inside attention (part of ``saturations``), IA gate spikes and slots
    attention_saturations: dict[str, int] = field(default_factory=dict)
    gate_spikes: dict[str, int] = field(default_factory=dict)
    gate_slots: dict[str, int] = field(default_factory=dict)

    def predictions(self) -> np.ndarray:
        return self.scores.argmax(axis=1)


def _matmul_dtype(bound: int):
    if bound < 2 ** 24:
        return np.float32
    if bound < 2 ** 53:
        return np.float64
    raise ValueError(f"accumulator bound {bound} exceeds exact float64 range")


def _useful_taps(size: int, k: int, s: int, p: int) -> tuple[int, int]:
    """Kernel rows (or columns) [first, last) that read at least one real (non-padding) input
    for some output position; the others only ever multiply padding zeros (small maps, e.g. 1x1)."""
    out = nx.conv_out_size(size, k, s, p)
    return max(0, p - (out - 1) * s), min(k, size + p)


def _im2col(x: np.ndarray, k: int, s: int, p: int, dt) -> tuple[np.ndarray, int, int]:
    """x: [B, H, W, C] -> columns [B*Ho*Wo, kh*kw*C] in (kh, kw, c) order, dtype ``dt``, over the
    useful taps only (see :func:`_useful_taps`).

    Channel-last input makes every copied run C values long (channel-first: K values)."""
    b, h, w, c = x.shape
    ho, wo = nx.conv_out_size(h, k, s, p), nx.conv_out_size(w, k, s, p)
    (y0, y1), (x0, x1) = _useful_taps(h, k, s, p), _useful_taps(w, k, s, p)
    if p:
        xb = np.zeros((b, h + 2 * p, w + 2 * p, c), dt)
        xb[:, p:p + h, p:p + w] = x
    else:
        xb = x
    win = sliding_window_view(xb[:, y0:, x0:], (y1 - y0, x1 - x0), axis=(1, 2))     # [B, H', W', C, kh, kw]
    win = win[:, :s * (ho - 1) + 1:s, :s * (wo - 1) + 1:s]                            # [B, Ho, Wo, C, kh, kw]
    cols = np.ascontiguousarray(win.transpose(0, 1, 2, 4, 5, 3), dtype=dt)  # the one copy (and cast)
    return cols.reshape(b * ho * wo, -1), ho, wo


class Reference:
    """``Reference(bundle).run(x)`` with x integer [N, T, C, H, W]."""

    def __init__(self, bundle: Bundle | str):
        self.bundle = load_bundle(bundle) if not isinstance(bundle, Bundle) else bundle
        self.mem_bits = self.bundle.numerics["mem_bits"]
        # v + i needs mem_bits + 1 bits; float32 holds integers up to 2^24 exactly.
        self.mem_dtype = np.float32 if self.mem_bits + 1 <= 24 else np.float64
        self.gate_table = nx.sigmoid_table()
        self._prepared = {}
        for l in self.bundle.descriptors:
            p = self.bundle.params.get(l.name, {})
            if isinstance(l, ConvLif):
                w = p["weights"]                                        # [Cin, K, K, Cout]
                cin, k, _, cout = w.shape
                xmax = 2 ** self.bundle.input_spec["bits"] - 1 if l.reads_input else 1
                bound = int(np.abs(w).reshape(-1, cout).sum(axis=0).max()) * xmax + int(np.abs(p["bias"]).max())
                dt = _matmul_dtype(bound)
                (y0, y1), (x0, x1) = (_useful_taps(n, k, l.stride, l.padding) for n in l.in_shape[1:])
                wmat = w.transpose(1, 2, 0, 3)[y0:y1, x0:x1].reshape(-1, cout).astype(dt)   # (kh, kw, cin) rows
                can_saturate = bound > nx.signed_range(self.mem_bits)[1]      # else the check below is skipped
                self._prepared[l.name] = (wmat, dt, p["bias"].astype(dt), p["threshold"].astype(self.mem_dtype),
                                             can_saturate)

    # ----------------------------------------------------------------------- layers
    def _conv_currents(self, l: ConvLif, x: np.ndarray) -> tuple[np.ndarray, int]:
        """x: [T, N, H, W, C] -> saturated currents [T, N, Ho, Wo, Cout] (integer-valued floats), saturations."""
        wmat, dt, bias, _, can_saturate = self._prepared[l.name]
        steps, n, h, w, c = x.shape
        cols, ho, wo = _im2col(x.reshape(steps * n, h, w, c), l.kernel, l.stride, l.padding, dt)
        cur = cols @ wmat                                                     # exact integers
        del cols
        cur += bias
        lo, hi = nx.signed_range(self.mem_bits)
        sat = 0
        if can_saturate and cur.size and (cur.min() < lo or cur.max() > hi):
            sat = int(np.count_nonzero((cur < lo) | (cur > hi)))
            np.clip(cur, lo, hi, out=cur)
        return cur.astype(self.mem_dtype, copy=False).reshape(steps, n, ho, wo, -1), sat

    def _attention(self, l: ConvLif, cur: np.ndarray, stats: dict | None = None) -> tuple[np.ndarray, int]:
        """cur: [T, N, C, H, W] int64. ``stats`` (if given) receives ``gate_spikes`` and ``gate_slots`` (IA).

        Each MLP value is the exact sum (int64), clamped once to 32 bits (docs/numerics.md section 6)."""
        a, p = l.attention, self.bundle.params[l.name]
        sat = 0
        if a.dim == "T":
            total, mx = cur.sum(axis=(2, 3, 4)).T, cur.max(axis=(2, 3, 4)).T     # [N, T]
        else:
            total, mx = cur.sum(axis=(0, 3, 4)), cur.max(axis=(0, 3, 4))         # [N, C]
        avg = nx.rescale(total, *a.avg_mult)

        def sat32(v):
            nonlocal sat
            v, k = nx.saturate(v, nx.ACC_BITS)
            sat += k
            return v

        w1, w2 = p["att_w1"], p["att_w2"]
        h = sat32(np.maximum(sat32(avg @ w1.T), 0) + np.maximum(sat32(mx @ w1.T), 0))
        o = sat32(h @ w2.T)                                                        # [N, dim]
        if a.kind == "MA":
            half = 1 << (nx.SIGMOID_INDEX_BITS - 1)
            g = self.gate_table[np.clip(nx.rescale(o, *a.out_mult) + half, 0, 2 * half - 1)]
            g = g.T[:, :, None, None, None] if a.dim == "T" else g[None, :, :, None, None]
            return np.maximum((cur * g) >> nx.GATE_FRAC_BITS, 0), sat
        ia_in, k = nx.saturate(nx.rescale(o, *a.out_mult), self.mem_bits)
        sat += k
        theta = 1 << nx.IA_UNIT_LOG2
        if a.dim == "T":
            gate = nx.lif_sequence(ia_in.T, theta)[:, :, None, None, None]        # [T, N, 1, 1, 1]
        else:
            seq = np.broadcast_to(ia_in, (cur.shape[0],) + ia_in.shape)
            gate = nx.lif_sequence(seq, theta)[:, :, :, None, None]               # [T, N, C, 1, 1]
        if stats is not None:
            stats["gate_spikes"], stats["gate_slots"] = int(gate.sum()), int(gate.size)
        return np.maximum(cur, 0) * gate, sat

    def _lif(self, cur: np.ndarray, threshold: np.ndarray) -> np.ndarray:
        """Integer LIF (numerics.lif_step) over T on integer-valued float currents [T, ..., C]; uint8 spikes."""
        v = np.zeros(cur.shape[1:], dtype=cur.dtype)
        out = np.empty(cur.shape, dtype=np.uint8)
        fired = out.view(np.bool_)
        for t in range(cur.shape[0]):
            np.add(v, cur[t], out=v)
            np.multiply(v, 0.5, out=v)
            np.floor(v, out=v)                                  # h = (v + i) >> 1
            np.greater_equal(v, threshold, out=fired[t])        # s = h >= theta
            np.multiply(v, ~fired[t], out=v)                    # v' = s ? 0 : h
        return out

    def _maxpool_or(self, l: MaxPoolOr, x: np.ndarray) -> np.ndarray:
        """k x k max (= OR) of binary spikes [T, N, H, W, C], zero padding."""
        k, s, p = l.kernel, l.stride, l.padding
        steps, n, h, w, c = x.shape
        ho, wo = nx.conv_out_size(h, k, s, p), nx.conv_out_size(w, k, s, p)
        xp = np.zeros((steps, n, h + 2 * p, w + 2 * p, c), x.dtype)
        xp[:, :, p:p + h, p:p + w] = x
        out = None
        for dy in range(k):
            for dx in range(k):
                v = xp[:, :, dy:dy + s * (ho - 1) + 1:s, dx:dx + s * (wo - 1) + 1:s]
                out = v.copy() if out is None else np.maximum(out, v, out=out)
        return out

    # ----------------------------------------------------------------------- network
    def run(self, x: np.ndarray, keep_spikes: bool = True, batch: int = 16) -> ReferenceResult:
        """Run integer input [N, T, C, H, W]; ``batch`` samples at a time bound the memory."""
        x = check_input(x, self.bundle.input_spec)
        parts = [self._run_batch(x[i:i + batch], keep_spikes) for i in range(0, len(x), batch)]
        res = ReferenceResult(np.concatenate([r.scores for r in parts]))
        for name in parts[0].spike_counts:
            res.spike_counts[name] = np.concatenate([r.spike_counts[name] for r in parts])
            res.saturations[name] = sum(r.saturations.get(name, 0) for r in parts)
            for key in ("attention_saturations", "gate_spikes", "gate_slots"):
                if name in getattr(parts[0], key):
                    getattr(res, key)[name] = sum(getattr(r, key)[name] for r in parts)
            if keep_spikes:
                res.spikes[name] = np.concatenate([r.spikes[name] for r in parts])
        return res

    def _run_batch(self, x: np.ndarray, keep_spikes: bool) -> ReferenceResult:
        values = {INPUT: x.transpose(1, 0, 3, 4, 2)}                  # [T, N, H, W, C]
        res = ReferenceResult(scores=None)
        for l in self.bundle.descriptors:
            name = l.name
            inp = [values[i] for i in l.inputs]
            if isinstance(l, ConvLif):
                cur, sat = self._conv_currents(l, inp[0])
                if l.attention:
                    stats: dict = {}
                    c64, sat_a = self._attention(l, cur.transpose(0, 1, 4, 2, 3).astype(np.int64), stats)
                    cur = c64.transpose(0, 1, 3, 4, 2).astype(self.mem_dtype)
                    sat += sat_a
                    res.attention_saturations[name] = sat_a
                    if stats:
                        res.gate_spikes[name], res.gate_slots[name] = stats["gate_spikes"], stats["gate_slots"]
                out = self._lif(cur, self._prepared[name][3])
                res.saturations[name] = sat
            elif isinstance(l, MaxPoolOr):
                out = self._maxpool_or(l, inp[0])
            elif isinstance(l, Merge):
                out = nx.merge(inp[0], inp[1], l.op)
            else:                                                       # Fc
                s = inp[0]
                steps, _, h, w, _ = s.shape
                p = self.bundle.params[name]
                per_channel = s.sum(axis=(0, 2, 3), dtype=np.int64)    # [N, C] spikes over T and space
                res.scores = per_channel @ p["weights"] + steps * h * w * p["bias"][None, :]
                continue
            values[name] = out
            res.spike_counts[name] = out.sum(axis=(0, 2, 3, 4), dtype=np.int64)
            if keep_spikes:
                res.spikes[name] = out.transpose(1, 0, 4, 2, 3)
        return res
