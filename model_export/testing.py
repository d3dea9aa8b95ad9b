"""Helpers for tests and benchmarks: random models that actually spike."""
from __future__ import annotations

import torch

from .model import SynAResNet


@torch.no_grad()
def randomize(model: SynAResNet, x: torch.Tensor, seed: int = 0) -> SynAResNet:
    """Random weights with BN calibrated on ``x`` (float, time-major) so every layer fires.

    BN statistics are set to the real statistics of each conv's output on ``x``
    (train-mode pass with cumulative averaging), gamma and beta are random, so the
    normalised currents are O(1) around the threshold and spikes reach the last layer."""
    g = torch.Generator().manual_seed(seed)
    for p in model.parameters():
        p.copy_(torch.randn(p.shape, generator=g) * (1.0 / max(1, p[0].numel()) ** 0.5) * 1.5)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None
            m.weight.copy_(torch.rand(m.num_features, generator=g) * 1.5 + 1.0)
            m.bias.copy_(torch.rand(m.num_features, generator=g) * 1.0 + 0.3)
    model.train()
    model(x)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = 0.1
    return model.eval()
