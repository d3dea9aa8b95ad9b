"""Bit-exact integer reference: runs an export bundle with numpy, nothing else.

It reads only the bundle (manifest + ROMs) and implements docs/numerics.md.
Layers are run layer-major over all T steps at once: a conv's currents for every
step come from one matrix product (im2col), then the LIF runs over T.
Matrix products use float32 where the layer's proven accumulator bound is below
2^24 and float64 below 2^53, so every sum is an exact integer.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from . import numerics as nx
from .bundle import Bundle, load_bundle
from .graph import INPUT


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

    def predictions(self) -> np.ndarray:
        return self.scores.argmax(axis=1)


def _matmul_dtype(bound: int):
    if bound < 2 ** 24:
        return np.float32
    if bound < 2 ** 53:
        return np.float64
    raise ValueError(f"accumulator bound {bound} exceeds exact float64 range")


class Reference:
    """``Reference(bundle).run(x)`` with x integer [N, T, C, H, W]."""

    def __init__(self, bundle: Bundle | str):
        self.bundle = load_bundle(bundle) if not isinstance(bundle, Bundle) else bundle
        self.mem_bits = self.bundle.numerics["mem_bits"]
        self.gate_table = nx.sigmoid_table()
        self._prepared = {}
        for l in self.bundle.layers:
            p = self.bundle.params.get(l["name"], {})
            if l["kind"] == "conv_lif":
                w = p["weights"]                                        # [Cin, K, K, Cout]
                cin, k, _, cout = w.shape
                xmax = 2 ** self.bundle.input_spec["bits"] - 1 if INPUT in l["inputs"] else 1
                bound = int(np.abs(w).reshape(-1, cout).sum(axis=0).max()) * xmax + int(np.abs(p["bias"]).max())
                dt = _matmul_dtype(bound)
                self._prepared[l["name"]] = (w.reshape(cin * k * k, cout).astype(dt), dt)

    # ----------------------------------------------------------------------- layers
    def _conv_currents(self, l: dict, x: np.ndarray) -> tuple[np.ndarray, int]:
        """x: [T, N, C, H, W] -> saturated currents [T, N, Cout, Ho, Wo] int64 and saturation count."""
        wmat, dt = self._prepared[l["name"]]
        k, s, p = l["kernel"], l["stride"], l["padding"]
        steps, n, c, h, w = x.shape
        xb = x.reshape(steps * n, c, h, w).astype(dt)
        if p:
            xb = np.pad(xb, ((0, 0), (0, 0), (p, p), (p, p)))
        win = sliding_window_view(xb, (k, k), axis=(2, 3))[:, :, ::s, ::s]     # [B, C, Ho, Wo, K, K]
        ho, wo = win.shape[2], win.shape[3]
        cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(-1, c * k * k)
        cur = (cols @ wmat).astype(np.int64)                                   # exact integers
        cur = cur.reshape(steps, n, ho, wo, -1).transpose(0, 1, 4, 2, 3)
        cur = cur + self.bundle.params[l["name"]]["bias"][None, None, :, None, None]
        return nx.saturate(cur, self.mem_bits)

    def _attention(self, l: dict, cur: np.ndarray) -> tuple[np.ndarray, int]:
        a, p = l["attention"], self.bundle.params[l["name"]]
        sat = 0
        if a["dim"] == "T":
            total, mx = cur.sum(axis=(2, 3, 4)).T, cur.max(axis=(2, 3, 4)).T     # [N, T]
        else:
            total, mx = cur.sum(axis=(0, 3, 4)), cur.max(axis=(0, 3, 4))         # [N, C]
        avg = nx.rescale(total, *a["avg_mult"])

        def sat32(v):
            nonlocal sat
            v, k = nx.saturate(v, nx.ACC_BITS)
            sat += k
            return v

        w1, w2 = p["att_w1"], p["att_w2"]
        h = sat32(np.maximum(sat32(avg @ w1.T), 0) + np.maximum(sat32(mx @ w1.T), 0))
        o = sat32(h @ w2.T)                                                        # [N, dim]
        if a["kind"] == "MA":
            half = 1 << (nx.SIGMOID_INDEX_BITS - 1)
            g = self.gate_table[np.clip(nx.rescale(o, *a["out_mult"]) + half, 0, 2 * half - 1)]
            g = g.T[:, :, None, None, None] if a["dim"] == "T" else g[None, :, :, None, None]
            return np.maximum((cur * g) >> nx.GATE_FRAC_BITS, 0), sat
        ia_in, k = nx.saturate(nx.rescale(o, *a["out_mult"]), self.mem_bits)
        sat += k
        theta = 1 << nx.IA_UNIT_LOG2
        if a["dim"] == "T":
            gate = nx.lif_sequence(ia_in.T, theta)[:, :, None, None, None]        # [T, N, 1, 1, 1]
        else:
            seq = np.broadcast_to(ia_in, (cur.shape[0],) + ia_in.shape)
            gate = nx.lif_sequence(seq, theta)[:, :, :, None, None]               # [T, N, C, 1, 1]
        return np.maximum(cur, 0) * gate, sat

    def _maxpool_or(self, l: dict, x: np.ndarray) -> np.ndarray:
        k, s, p = l["kernel"], l["stride"], l["padding"]
        xp = np.pad(x, ((0, 0), (0, 0), (0, 0), (p, p), (p, p)))
        win = sliding_window_view(xp, (k, k), axis=(3, 4))[:, :, :, ::s, ::s]
        return win.max(axis=(5, 6))

    # ----------------------------------------------------------------------- network
    def run(self, x: np.ndarray, keep_spikes: bool = True, batch: int = 16) -> ReferenceResult:
        """Run integer input [N, T, C, H, W]; ``batch`` samples at a time bound the memory."""
        x = check_input(x, self.bundle.input_spec)
        parts = [self._run_batch(x[i:i + batch], keep_spikes) for i in range(0, len(x), batch)]
        res = ReferenceResult(np.concatenate([r.scores for r in parts]))
        for name in parts[0].spike_counts:
            res.spike_counts[name] = np.concatenate([r.spike_counts[name] for r in parts])
            res.saturations[name] = sum(r.saturations.get(name, 0) for r in parts)
            if keep_spikes:
                res.spikes[name] = np.concatenate([r.spikes[name] for r in parts])
        return res

    def _run_batch(self, x: np.ndarray, keep_spikes: bool) -> ReferenceResult:
        values = {INPUT: x.transpose(1, 0, 2, 3, 4)}                  # time-major
        res = ReferenceResult(scores=None)
        for l in self.bundle.layers:
            name, kind = l["name"], l["kind"]
            inp = [values[i] for i in l["inputs"]]
            if kind == "conv_lif":
                cur, sat = self._conv_currents(l, inp[0])
                if l.get("attention"):
                    cur, sat_a = self._attention(l, cur)
                    sat += sat_a
                th = self.bundle.params[name]["threshold"][None, :, None, None]
                out = nx.lif_sequence(cur, th)
                res.saturations[name] = sat
            elif kind == "maxpool_or":
                out = self._maxpool_or(l, inp[0])
            elif kind == "merge":
                out = nx.merge(inp[0], inp[1], l["op"])
            else:
                s = inp[0]
                steps, _, _, h, w = s.shape
                p = self.bundle.params[name]
                per_channel = s.sum(axis=(0, 3, 4), dtype=np.int64)    # [N, C] spikes over T and space
                res.scores = per_channel @ p["weights"] + steps * h * w * p["bias"][None, :]
                continue
            values[name] = out
            res.spike_counts[name] = out.sum(axis=(0, 2, 3, 4), dtype=np.int64)
            if keep_spikes:
                res.spikes[name] = out.transpose(1, 0, 2, 3, 4)
        return res
