"""Advance Spatial Attention (ASA, Yao et al., arXiv 2308.08227) as an attention option beside SynA.

ASA acts on a layer's input current ``X`` [T, N, C, H, W] before its LIF, like MA:

1. pool over H, W per (t, c): ``M = 0.5 (avg + max) + alpha avg + beta max``
   (``alpha``, ``beta`` learnable, initialised to 0.5);
2. an MLP along T (``T -> T/r -> T``, r = 4, ReLU, no bias) per channel: scores [T, N, C];
3. with lambda = 0.5, mark the top ``lambda C`` channels of every step and the top
   ``lambda T`` steps of every channel; the *important* part is where exactly one of the
   two marks is set (their XOR, as the released code computes it), the rest is *sub-important*;
4. each part gets its own spatial attention: ``[mean over (T, C) / share, max over (T, C)]``
   -> conv 3x3 (2 -> 1) -> sigmoid, multiplied with that part (share = lambda or 1 - lambda);
5. the output is the sum of the two attended parts.

As in the released code, steps 1-3 only choose the split (a top-k has no gradient),
so ``alpha``, ``beta`` and the T-MLP receive no gradient from the loss.

:class:`ASAResNet` is SynA-ResNet's layout with ASA at the MA positions of the
configured attention position (a-d) and no IA on the shortcuts.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from ..model import ConvUnit, InhibitoryAttention, MultiDimAttention, SynAResNet

ASA_REDUCTION = 4
ASA_LAMBDA = 0.5


def top_k_mask(scores: torch.Tensor, k: int, dim: int) -> torch.Tensor:
    """1 where an entry is among the ``k`` largest along ``dim`` (ties: torch.topk's order), else 0."""
    mask = torch.zeros_like(scores)
    if k > 0:
        mask.scatter_(dim, torch.topk(scores, k, dim=dim).indices, 1.0)
    return mask


class AdvanceSpatialAttention(nn.Module):
    kind = "ASA"

    def __init__(self, steps: int, reduction: int = ASA_REDUCTION, lam: float = ASA_LAMBDA, kernel: int = 3):
        super().__init__()
        if not 0.0 < lam < 1.0:
            raise ValueError(f"ASA lambda {lam}; expected 0 < lambda < 1")
        self.steps, self.lam = steps, lam
        self.alpha = nn.Parameter(torch.tensor([0.5]))
        self.beta = nn.Parameter(torch.tensor([0.5]))
        hidden = max(1, steps // reduction)
        self.time_mlp = nn.Sequential(nn.Linear(steps, hidden, bias=False), nn.ReLU(),
                                      nn.Linear(hidden, steps, bias=False))
        self.conv_important = nn.Conv2d(2, 1, kernel, padding=kernel // 2, bias=False)
        self.conv_rest = nn.Conv2d(2, 1, kernel, padding=kernel // 2, bias=False)

    def split(self, x: torch.Tensor) -> torch.Tensor:
        """The important-part indicator [T, N, C] (1: important) of the current ``x`` [T, N, C, H, W]."""
        steps, _, channels = x.shape[:3]
        if steps != self.steps:
            raise ValueError(f"ASA built for T={self.steps}; got a current with T={steps}")
        avg, mx = x.mean(dim=(3, 4)), x.amax(dim=(3, 4))                         # [T, N, C]
        m = 0.5 * (avg + mx) + self.alpha * avg + self.beta * mx
        scores = self.time_mlp(m.permute(1, 2, 0)).permute(2, 0, 1)             # MLP along T -> [T, N, C]
        top_channels = top_k_mask(scores, int(channels * self.lam), dim=2)
        top_steps = top_k_mask(scores, int(steps * self.lam), dim=0)
        return (top_channels != top_steps).to(x.dtype)

    @staticmethod
    def _spatial(part: torch.Tensor, share: float, conv: nn.Conv2d) -> torch.Tensor:
        avg = part.mean(dim=(0, 2)) / share                                      # [N, H, W] over (T, C)
        mx = part.amax(dim=(0, 2))
        gate = torch.sigmoid(conv(torch.stack([avg, mx], dim=1)))[:, 0]          # [N, H, W]
        return part * gate[None, :, None]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        important = self.split(x)[..., None, None]
        return (self._spatial(x * important, self.lam, self.conv_important)
                + self._spatial(x * (1.0 - important), 1.0 - self.lam, self.conv_rest))


class ASAResNet(SynAResNet):
    """SynA-ResNet's layout with every MA replaced by ASA and no IA (config.attention: dim S, position a-d)."""

    arch = "asa-resnet"

    def __init__(self, config):
        if config.attention is None or config.attention.dim != "S":
            raise ValueError("asa-resnet places ASA (spatial attention) at the MA positions of "
                             "config.attention; give attention=AttentionSpec('S', position)")
        super().__init__(config)
        for unit in self.modules():
            if isinstance(unit, ConvUnit) and isinstance(unit.attn, MultiDimAttention):
                unit.attn = AdvanceSpatialAttention(config.steps)
            elif isinstance(unit, ConvUnit) and isinstance(unit.attn, InhibitoryAttention):
                unit.attn = None
