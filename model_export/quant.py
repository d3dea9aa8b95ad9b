"""Quantisation of a float SynA-ResNet into the integer contract (docs/numerics.md).

One implementation serves the exporter (which writes the integers into ROMs)
and the fake-quant model (which computes with them in torch, for checking and
for quantisation-aware training): both call :func:`quantize_model`.

All arithmetic here is float64 so the integers it produces do not depend on
float32 rounding. ``round`` is round-half-to-even (torch's and numpy's).
Rounding of weights uses a straight-through estimator, so gradients reach the
float weights during quantisation-aware training.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from syna_contract import numerics as nx
from syna_contract.graph import INPUT, build_graph
from .model import ConvUnit, InhibitoryAttention, ModelConfig, MultiDimAttention, SynAResNet
from .zoo import S_ATTENTION_REFUSAL, export_refusal


class UnsupportedError(ValueError):
    """The model uses something the integer contract cannot express."""


def round_ste(x: torch.Tensor) -> torch.Tensor:
    return x + (torch.round(x) - x).detach()


def fixed_multiplier(ratio: float) -> tuple[int, int]:
    """``(m, shift)`` with ``m / 2^shift ~= ratio`` and ``m`` in [2^14, 2^15] (fits int32 comfortably)."""
    if not ratio > 0 or not math.isfinite(ratio):
        raise UnsupportedError(f"fixed-point multiplier needs a positive finite ratio, got {ratio}")
    shift = 14 - math.floor(math.log2(ratio))
    if shift < 0 or shift > 62:
        raise UnsupportedError(f"ratio {ratio:g} is outside what a 62-bit shift can express")
    return int(round(ratio * 2 ** shift)), int(shift)


def fold_bn(unit: ConvUnit) -> tuple[torch.Tensor, torch.Tensor]:
    """Fold eval-mode BN into the conv: ``W' = W * a``, ``b' = beta - mean * a``, ``a = gamma / sqrt(var + eps)``."""
    bn = unit.bn
    a = bn.weight.double() / torch.sqrt(bn.running_var.double() + bn.eps)
    w = unit.conv.weight.double() * a[:, None, None, None]
    b = bn.bias.double() - bn.running_mean.double() * a
    return w, b


@dataclass
class QuantAttention:
    """Integer parameters of an MA or IA module (dims T and C).

    The average-pool multiplier is not stored here: it is ``fixed_multiplier(1 / n)``
    with ``n`` the number of pooled values, a function of the layer's shape."""

    kind: str                  # "MA" or "IA"
    dim: str                   # "T" or "C"
    w1: torch.Tensor           # [hidden, dim] int-valued
    w2: torch.Tensor           # [dim, hidden] int-valued
    out_mult: tuple[int, int]  # (m, shift): MLP output -> sigmoid index (MA) or IA units (IA)
    weight_bits: int


@dataclass
class QuantConv:
    """Integer parameters of one conv_lif layer."""

    weight: torch.Tensor       # [Cout, Cin, k, k] int-valued (STE-rounded)
    bias: torch.Tensor         # [Cout] int-valued
    threshold: torch.Tensor    # [Cout] int-valued, >= 1
    unit: torch.Tensor         # [Cout] float value of one current unit
    stride: int
    padding: int
    weight_bits: int
    per_channel: bool
    attention: QuantAttention | None = None


@dataclass
class QuantFC:
    weight: torch.Tensor       # [classes, C] int-valued
    bias: torch.Tensor         # [classes] int-valued, in weight units
    scale: float               # float value of one weight unit
    weight_bits: int


@dataclass
class QuantSettings:
    weight_bits: int = nx.DEFAULT_WEIGHT_BITS
    mem_bits: int = nx.DEFAULT_MEM_BITS
    input_scale: float = 1.0   # float value of one input integer unit (the encoder's input)

    def __post_init__(self):
        lo, hi = nx.WEIGHT_BITS_RANGE
        if not lo <= self.weight_bits <= hi:
            raise ValueError(f"weight bits {self.weight_bits}; expected {lo}..{hi}")
        lo, hi = nx.MEM_BITS_RANGE
        if not lo <= self.mem_bits <= hi:
            raise ValueError(f"membrane bits {self.mem_bits}; expected {lo}..{hi}")
        if not self.input_scale > 0:
            raise ValueError(f"input scale {self.input_scale}; expected > 0")


def quantize_conv(unit: ConvUnit, settings: QuantSettings, in_scale: float) -> QuantConv:
    """Per-output-channel symmetric quantisation; per-tensor where attention pools across channels."""
    w, b = fold_bn(unit)
    qmax = 2 ** (settings.weight_bits - 1) - 1
    theta_max = nx.max_threshold(settings.mem_bits)
    per_channel = unit.attn is None
    wmax = w.detach().abs().amax(dim=(1, 2, 3)) if per_channel else w.detach().abs().max().expand(w.shape[0])
    unit_value = wmax / qmax * in_scale
    # The threshold 1/u must be reachable in the membrane: a channel with tiny weights gets a coarser grid.
    unit_value = torch.clamp(unit_value, min=1.0 / theta_max)
    scale = (unit_value / in_scale)[:, None, None, None]
    weight = torch.clamp(round_ste(w / scale), -qmax, qmax)
    bias = round_ste(b / unit_value)
    threshold = torch.clamp(torch.round(1.0 / unit_value), 1, theta_max).detach()
    q = QuantConv(weight, bias, threshold, unit_value.detach(), unit.conv.stride[0], unit.conv.padding[0],
                  settings.weight_bits, per_channel)
    if unit.attn is not None:
        q.attention = quantize_attention(unit.attn, float(unit_value[0]), unit, settings)
    return q


def _quantize_matrix(w: torch.Tensor, bits: int) -> tuple[torch.Tensor, float]:
    qmax = 2 ** (bits - 1) - 1
    s = float(w.detach().double().abs().max()) / qmax
    if s == 0:
        s = 1.0 / qmax
    return torch.clamp(round_ste(w.double() / s), -qmax, qmax), s


def quantize_attention(attn, unit_value: float, conv_unit: ConvUnit, settings: QuantSettings) -> QuantAttention:
    if attn.dim == "S":
        raise UnsupportedError(S_ATTENTION_REFUSAL)
    if not isinstance(attn, (MultiDimAttention, InhibitoryAttention)):
        raise UnsupportedError(f"unknown attention module {type(attn).__name__}")
    w1, s1 = _quantize_matrix(attn.body.fc1.weight, settings.weight_bits)
    w2, s2 = _quantize_matrix(attn.body.fc2.weight, settings.weight_bits)
    out_unit = unit_value * s1 * s2    # float value of one unit of the MLP output
    if attn.kind == "MA":
        out_mult = fixed_multiplier(out_unit * 2 ** nx.SIGMOID_STEP_LOG2)
    else:
        out_mult = fixed_multiplier(out_unit * 2 ** nx.IA_UNIT_LOG2)
    return QuantAttention(attn.kind, attn.dim, w1, w2, out_mult, settings.weight_bits)


def quantize_fc(fc: torch.nn.Linear, settings: QuantSettings) -> QuantFC:
    """Per-tensor scale: every class score must be in the same unit so argmax is meaningful."""
    w, s = _quantize_matrix(fc.weight, settings.weight_bits)
    bias = round_ste(fc.bias.double() / s)
    return QuantFC(w, bias, s, settings.weight_bits)


@dataclass
class QuantModel:
    """Integer parameters of a whole network, keyed by layer name (see :func:`conv_units`)."""

    config: ModelConfig
    settings: QuantSettings
    convs: dict[str, QuantConv] = field(default_factory=dict)
    fc: QuantFC | None = None


def conv_units(model: SynAResNet) -> dict[str, ConvUnit]:
    """The conv_lif units in execution order with their bundle names."""
    if hasattr(model, "conv_units"):        # a model that names its own units (nir_io.ChainNet)
        return model.conv_units()
    units = {"stem": model.stem}
    for i, u in enumerate(model.features):
        units[f"f{i}"] = u
    for i, blk in enumerate(model.blocks):
        for part in ("main0", "main1", "short", "post0", "post1"):
            units[f"b{i}.{part}"] = getattr(blk, part)
    return units


def check_supported(model: SynAResNet) -> None:
    """Refuse, with the reason, what the integer contract cannot express (the zoo knows every architecture)."""
    reason = export_refusal(model)
    if reason is not None:
        raise UnsupportedError(reason)


def quantize_model(model: SynAResNet, settings: QuantSettings) -> QuantModel:
    check_supported(model)
    q = QuantModel(model.config, settings)
    encoders = {l["name"] for l in build_graph(model.config) if INPUT in l["inputs"]}   # read the input itself
    for name, unit in conv_units(model).items():
        in_scale = settings.input_scale if name in encoders else 1.0
        q.convs[name] = quantize_conv(unit, settings, in_scale)
    q.fc = quantize_fc(model.fc, settings)
    return q
