"""Attention settings that cannot work as configured: checks on a bundle, numpy only.

The exporter (``model_export/export.py``) and the planner (``syna_hw/plan.py``) call
:func:`check_attention`; docs/numerics.md section 6 ("Settings that break attention") says why.

- **Dead IA gates** (error, exact): IA's LIF gets ``a = sat_M(...)``, at most ``2^(M-1) - 1``, and
  fires when ``h = (v + a) >> 1 >= 256``. With the largest input at every step ``h`` rises towards
  ``a``; if it stays below 256 for all T steps (``mem_bits <= 9``, or ``mem_bits = 10`` with T = 1),
  no input can ever open the gate: every gated shortcut is silent whatever the weights.
- **Attention MLP sums that can saturate** (warning, from the ROMs): the first MLP layer's exact sum
  ``w1 . x`` over pooled currents ``|x| <= 2^(M-1)`` is bounded by ``max_j sum_i |w1[j,i]| * 2^(M-1)``;
  when that exceeds ``2^31 - 1`` the ``sat32`` can clamp (wide weights with wide membranes).
- **Measured saturations and silent gates** (warning; error when heavy): the integer reference on
  the given samples (the golden vectors, or held-out data) counts each attention layer's clamps of
  its MLP intermediates and IA input, and its IA gate spikes. Heavy: at least
  :data:`HEAVY_FRACTION` of the layer's clamp points clamp, over the samples.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from . import numerics as nx

HEAVY_FRACTION = 0.01      # share of an attention layer's clamp points that clamp: refused above this


@dataclass
class Finding:
    level: str             # "error": attention cannot work as configured; "warning": it may not
    layer: str
    kind: str              # dead_ia_gate | mlp_bound | saturations | silent_gate
    message: str
    counts: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.level}: {self.layer}: {self.message}"


def ia_gate_can_fire(mem_bits: int, steps: int) -> bool:
    """True if some IA input sequence fires the gate LIF (theta = 2^IA_UNIT_LOG2) within ``steps``
    steps. Without a spike, ``h`` is monotone in every input, so the largest input at every step
    decides (exact)."""
    a_max = nx.signed_range(mem_bits)[1]
    seq = np.full((steps, 1), a_max, dtype=np.int64)
    return bool(nx.lif_sequence(seq, np.int64(1 << nx.IA_UNIT_LOG2)).any())


def min_mem_bits_for_ia(steps: int) -> int:
    """The smallest membrane width at which an IA gate can fire within ``steps`` steps."""
    lo, hi = nx.MEM_BITS_RANGE
    return next((m for m in range(lo, hi + 1) if ia_gate_can_fire(m, steps)), hi + 1)


def attention_adder_bits(mem_bits: int, weight_bits: int, size: int, hidden: int, pooled: int) -> dict:
    """Adder widths (signed bits) that hold the contract's exact attention sums before their one clamp:
    the pooled sum over ``pooled`` values, ``w1 . x`` over ``size`` terms, ``relu + relu`` and ``w2 . h``
    over ``hidden`` terms (docs/numerics.md section 6)."""
    clog = lambda n: max(0, int(n - 1).bit_length())          # ceil(log2 n)
    w = weight_bits - 1                                         # |w| <= 2^(W-1) - 1
    return dict(pool_sum=mem_bits + clog(pooled), mlp1=mem_bits + w + clog(size),
                hidden_sum=nx.ACC_BITS + 1, mlp2=nx.ACC_BITS + w + clog(hidden))


def clamp_points(layer: dict, steps: int) -> int:
    """Per sample, how many values an attention layer clamps (sat32 on w1.avg, w1.max, their sum,
    w2.h; sat_M on the IA input for every element of the attention dimension)."""
    a = layer["attention"]
    return 3 * a["hidden"] + a["size"] + (a["size"] if a["kind"] == "IA" else 0)


def check_attention(manifest: dict, params: dict | None = None, stats: dict | None = None) -> list[Finding]:
    """Findings for every attention layer of a bundle.

    ``manifest``: the bundle's manifest (``layers``, ``numerics``, ``input``); ``params``: its ROMs
    (layer -> rom -> array; for the bound on ``w1 . x``); ``stats``: :func:`attention_stats` of the
    integer reference on some samples (for measured saturations and gate spikes)."""
    numerics, steps = manifest["numerics"], manifest["input"]["steps"]
    mem_bits = numerics["mem_bits"]
    out: list[Finding] = []
    att_layers = [l for l in manifest["layers"] if l.get("attention")]
    lim = nx.signed_range(nx.ACC_BITS)[1]
    for l in att_layers:
        a, name = l["attention"], l["name"]
        if a["kind"] == "IA" and not ia_gate_can_fire(mem_bits, steps):
            need = min_mem_bits_for_ia(steps)
            out.append(Finding(
                "error", name, "dead_ia_gate",
                f"the IA gate can never fire: its input is at most 2^(M-1)-1 = {nx.signed_range(mem_bits)[1]} "
                f"at mem_bits M = {mem_bits}, so h = (v + a) >> 1 stays below the gate threshold "
                f"{1 << nx.IA_UNIT_LOG2} for all {steps} steps and the shortcut is always silent; use "
                f"mem_bits >= {need}", dict(mem_bits=mem_bits, min_mem_bits=need, steps=steps)))
        if params is not None and name in params and "att_w1" in params[name]:
            w1 = np.abs(np.asarray(params[name]["att_w1"], dtype=np.int64))
            bound = int(w1.sum(axis=1).max()) << (mem_bits - 1)
            if bound > lim:
                out.append(Finding(
                    "warning", name, "mlp_bound",
                    f"the attention MLP's first sum w1 . x can reach {bound:.3e} > 2^31 - 1 at mem_bits "
                    f"{mem_bits} and {a['weight_bits']}-bit weights, and is then clamped (sat32); fewer weight "
                    f"or membrane bits keep it exact", dict(bound=bound, limit=lim)))
        if stats and name in stats:
            s = stats[name]
            n, sat = s["samples"], s["saturations"]
            points = clamp_points(l, steps) * n
            if sat:
                heavy = sat >= HEAVY_FRACTION * points
                out.append(Finding(
                    "error" if heavy else "warning", name, "saturations",
                    f"{sat:,} of {points:,} attention values clamped on {n} samples "
                    f"({100 * sat / max(1, points):.2f}%"
                    + (f", at least {100 * HEAVY_FRACTION:g}%: the gates follow the clamp, not the data)"
                       if heavy else ")")
                    + f" at mem_bits {mem_bits}, {a['weight_bits']}-bit attention weights",
                    dict(saturations=sat, clamp_points=points, samples=n)))
            if a["kind"] == "IA" and s.get("gate_slots") and s["gate_spikes"] == 0:
                out.append(Finding(
                    "warning", name, "silent_gate",
                    f"the IA gate fired 0 of {s['gate_slots']:,} times on {n} samples: the shortcut is "
                    f"silent there (natural pruning if the float model's is too)",
                    dict(gate_spikes=0, gate_slots=s["gate_slots"], samples=n)))
    return out


def attention_stats(bundle, x: np.ndarray, batch: int = 16) -> dict:
    """Per attention layer, from the integer reference on ``x``: ``saturations`` (attention clamps only),
    ``gate_spikes`` and ``gate_slots`` (IA), ``samples``."""
    from .reference import Reference
    res = Reference(bundle).run(x, keep_spikes=False, batch=batch)
    out = {}
    for l in bundle.layers:
        if l.get("attention"):
            name = l["name"]
            out[name] = dict(samples=int(len(x)), saturations=int(res.attention_saturations.get(name, 0)),
                             gate_spikes=int(res.gate_spikes.get(name, 0)),
                             gate_slots=int(res.gate_slots.get(name, 0)))
    return out


def check_bundle(bundle, x: np.ndarray | None = None) -> list[Finding]:
    """:func:`check_attention` of a loaded bundle, measured on ``x`` (default: its golden inputs, if any)."""
    stats = None
    if any(l.get("attention") for l in bundle.layers):
        if x is None and bundle.manifest.get("golden"):
            x = bundle.golden()["input"]
        if x is not None and len(x):
            stats = attention_stats(bundle, np.asarray(x))
    return check_attention(bundle.manifest, bundle.params, stats)


def raise_on_errors(findings: list[Finding], what: str) -> None:
    errors = [f for f in findings if f.level == "error"]
    if errors:
        raise AttentionSettingsError(f"{what}: attention cannot work as configured:\n  "
                                     + "\n  ".join(str(f) for f in errors))


class AttentionSettingsError(ValueError):
    """Integer settings under which attention cannot work (dead IA gates, heavy saturation)."""
