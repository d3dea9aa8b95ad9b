"""Torch fake-quant model: the integer contract computed with torch tensors.

It takes its integers from :func:`model_export.quant.quantize_model` on the
live float model, so it can be used for quantisation-aware training (rounding
and flooring use straight-through estimators, spikes the ATan surrogate) and,
in float64, as an independent check of the numpy reference: every value it
produces is an integer held exactly in float64 (docs/numerics.md bounds them
below 2^53).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from spikingjelly.activation_based import surrogate

from syna_contract import numerics as nx
from .quant import QuantAttention, QuantConv, QuantModel, QuantSettings, fixed_multiplier, quantize_model
from .model import SynAResNet
from syna_contract.graph import INPUT, build_graph

_spike = surrogate.ATan(alpha=2.0)
_SIGMOID_TABLE = torch.from_numpy(nx.sigmoid_table()).double()


def floor_ste(x: torch.Tensor) -> torch.Tensor:
    return x + (torch.floor(x) - x).detach()


def _saturate(x: torch.Tensor, bits: int, counter: list[int]) -> torch.Tensor:
    lo, hi = nx.signed_range(bits)
    counter[0] += int(((x < lo) | (x > hi)).sum())
    return torch.clamp(x, lo, hi)


def _rescale(x: torch.Tensor, mult: tuple[int, int]) -> torch.Tensor:
    m, sh = mult
    return floor_ste(x * (m / 2.0 ** sh))


def lif(currents: torch.Tensor, threshold: torch.Tensor) -> torch.Tensor:
    """Integer LIF over time-major currents; ``threshold`` broadcasts over [N, C, H, W]."""
    v = torch.zeros_like(currents[0])
    out = []
    for t in range(currents.shape[0]):
        h = floor_ste((v + currents[t]) / 2)
        s = _spike((h - threshold) / threshold)
        v = h * (1.0 - s.detach())
        out.append(s)
    return torch.stack(out)


def _attention(i: torch.Tensor, q: QuantAttention, mem_bits: int, sat: list[int]) -> torch.Tensor:
    if q.dim == "T":
        n = i.shape[2] * i.shape[3] * i.shape[4]
        total, mx = i.sum(dim=(2, 3, 4)).t(), i.amax(dim=(2, 3, 4)).t()       # [N, T]
    else:
        n = i.shape[0] * i.shape[3] * i.shape[4]
        total, mx = i.sum(dim=(0, 3, 4)), i.amax(dim=(0, 3, 4))               # [N, C]
    avg = _rescale(total, fixed_multiplier(1.0 / n))
    z_avg = _saturate(avg @ q.w1.t(), nx.ACC_BITS, sat)
    z_max = _saturate(mx @ q.w1.t(), nx.ACC_BITS, sat)
    h = _saturate(F.relu(z_avg) + F.relu(z_max), nx.ACC_BITS, sat)
    o = _saturate(h @ q.w2.t(), nx.ACC_BITS, sat)                            # [N, dim]
    if q.kind == "MA":
        half = 1 << (nx.SIGMOID_INDEX_BITS - 1)
        idx = torch.clamp(_rescale(o, q.out_mult) + half, 0, 2 * half - 1)
        g_table = _SIGMOID_TABLE.to(i.device)[idx.detach().long()]
        m, sh = q.out_mult
        g_smooth = (1 << nx.GATE_FRAC_BITS) * torch.sigmoid(o * (m / 2.0 ** sh) / (1 << nx.SIGMOID_STEP_LOG2))
        g = g_smooth + (g_table - g_smooth).detach()
        g = g.t()[:, :, None, None, None] if q.dim == "T" else g[None, :, :, None, None]
        return F.relu(floor_ste(i * g / (1 << nx.GATE_FRAC_BITS)))
    ia_in = _saturate(_rescale(o, q.out_mult), mem_bits, sat)
    theta = torch.tensor(float(1 << nx.IA_UNIT_LOG2), dtype=i.dtype, device=i.device)
    if q.dim == "T":
        gate = lif(ia_in.t(), theta)[:, :, None, None, None]                 # [T, N, 1, 1, 1]
    else:
        seq = ia_in.unsqueeze(0).expand(i.shape[0], *ia_in.shape)
        gate = lif(seq, theta)[:, :, :, None, None]                           # [T, N, C, 1, 1]
    return F.relu(i) * gate


def conv_lif(x: torch.Tensor, q: QuantConv, mem_bits: int, sat: list[int]) -> torch.Tensor:
    """x: time-major [T, N, C, H, W] integer-valued; returns spikes of the same layout."""
    steps, n = x.shape[:2]
    cur = F.conv2d(x.flatten(0, 1), q.weight.to(x.dtype), stride=q.stride, padding=q.padding)
    cur = cur + q.bias.to(x.dtype)[None, :, None, None]
    cur = _saturate(cur.reshape(steps, n, *cur.shape[1:]), mem_bits, sat)
    if q.attention is not None:
        cur = _attention(cur, q.attention, mem_bits, sat)
    return lif(cur, q.threshold.to(x.dtype)[None, :, None, None])


def merge(backbone: torch.Tensor, shortcut: torch.Tensor, op: str) -> torch.Tensor:
    if op == "OR":
        return backbone + shortcut - backbone * shortcut
    if op == "AND":
        return backbone * shortcut
    return shortcut * (1.0 - backbone)


def max_pool_or(x: torch.Tensor, kernel: int = 3, stride: int = 2, padding: int = 1) -> torch.Tensor:
    """k x k max-pool of binary spikes (= OR; padding counts as no spike), 3x3 stride 2 pad 1 in the stem."""
    steps, n = x.shape[:2]
    y = F.max_pool2d(x.flatten(0, 1), kernel, stride, padding)
    return y.reshape(steps, n, *y.shape[1:])


@dataclass
class FakeQuantResult:
    scores: torch.Tensor                      # [N, classes] integer-valued
    spikes: dict[str, torch.Tensor]           # layer -> [T, N, C, H, W]
    saturations: dict[str, int] = field(default_factory=dict)


def run_quant(q: QuantModel, x: torch.Tensor) -> FakeQuantResult:
    """Run the integer network on time-major integer input ``x`` [T, N, C, H, W]."""
    values: dict[str, torch.Tensor] = {INPUT: x}
    sats: dict[str, int] = {}
    scores = None
    for layer in build_graph(q.config):
        name, kind = layer["name"], layer["kind"]
        inp = [values[i] for i in layer["inputs"]]
        if kind == "conv_lif":
            counter = [0]
            values[name] = conv_lif(inp[0], q.convs[name], q.settings.mem_bits, counter)
            sats[name] = counter[0]
        elif kind == "maxpool_or":
            values[name] = max_pool_or(inp[0], layer["kernel"], layer["stride"], layer["padding"])
        elif kind == "merge":
            values[name] = merge(inp[0], inp[1], layer["op"])
        else:  # fc
            s = inp[0]
            steps, _, _, h, w = s.shape
            per_step = s.sum(dim=(3, 4))                                   # [T, N, C]
            scores = (per_step @ q.fc.weight.to(s.dtype).t()).sum(dim=0) \
                + steps * h * w * q.fc.bias.to(s.dtype)
    del values[INPUT]
    return FakeQuantResult(scores, values, sats)


class FakeQuantNet(torch.nn.Module):
    """Wraps a float :class:`SynAResNet`; forward computes the integer contract.

    ``forward`` takes the integer input (what the hardware gets), time-major, and
    returns float scores (integer scores times the FC unit) so it can be trained
    like the float model."""

    def __init__(self, model: SynAResNet, settings: QuantSettings):
        super().__init__()
        self.model = model
        self.settings = settings

    def train(self, mode: bool = True) -> "FakeQuantNet":
        """BN stays in eval mode: the fake-quant folds the running statistics."""
        super().train(mode)
        self.model.eval()
        return self

    def quantized(self) -> QuantModel:
        return quantize_model(self.model, self.settings)

    def run(self, x: torch.Tensor) -> FakeQuantResult:
        return run_quant(self.quantized(), x.double())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.model.check_input(x)
        q = self.quantized()
        r = run_quant(q, x.double())
        fc = build_graph(q.config)[-1]
        _, h, w = fc["in_shape"]
        return (r.scores * (q.fc.scale / (x.shape[0] * h * w))).float()
