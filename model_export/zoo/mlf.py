"""Multi-level firing (MLF) neurons and the spiking DS-ResNet (Feng et al., arXiv 2210.06386).

An MLF neuron has K = 3 compartments that share the input ``x`` and differ only
in their threshold; each is a hard-reset leaky neuron

    u_k[t] = tau * u_k[t-1] * (1 - s_k[t-1]) + x[t],   s_k[t] = (u_k[t] >= V_k),   o[t] = s_1 + s_2 + s_3

with tau = 0.25 and V = 0.6 / 1.6 / 2.6, and a rectangular surrogate of width 1
around each threshold. A compartment is exactly SpikingJelly's ``LIFNode`` with
``decay_input=False``, ``v_reset=0`` and ``1 - 1/tau_sj = 0.25`` (``tau_sj = 4/3``):
``H = V - V/tau_sj + X = 0.25 V + X``. The output ``o`` is a multi-level spike in {0..3}.

The DS block is our SEW block with ADD and MLF units:
``out = MLF(BN(W2 * MLF(BN(W1 * x)))) + MLF(BN(Ws * x))`` (values 0..6), followed,
like every block of the depth-21 layout, by two plain conv-BN-MLF units. BN is
SpikingJelly's BatchNorm2d, not the paper's tdBN (threshold-scaled) variant.
"""
from __future__ import annotations

import torch
import torch.nn as nn
from spikingjelly.activation_based import neuron, surrogate

from ..model import ConvUnit, ORSEWBlock, SynAResNet

MLF_DECAY = 0.25
MLF_THRESHOLDS = (0.6, 1.6, 2.6)
MLF_SURROGATE_WIDTH = 1.0


class MLFNode(nn.Module):
    """K compartments (one SpikingJelly LIFNode each), output = the sum of their spikes."""

    def __init__(self, thresholds: tuple[float, ...] = MLF_THRESHOLDS, decay: float = MLF_DECAY,
                 surrogate_width: float = MLF_SURROGATE_WIDTH):
        super().__init__()
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"MLF decay {decay}; expected 0 <= decay < 1")
        self.thresholds = tuple(float(t) for t in thresholds)
        self.decay = float(decay)
        self.compartments = nn.ModuleList(
            neuron.LIFNode(tau=1.0 / (1.0 - decay), decay_input=False, v_threshold=th, v_reset=0.0,
                           surrogate_function=surrogate.Rect(alpha=1.0 / surrogate_width),
                           detach_reset=False, step_mode="m")
            for th in self.thresholds)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.compartments[0](x)
        for c in self.compartments[1:]:
            out = out + c(x)
        return out


class MLFUnit(ConvUnit):
    """conv - BN - MLF."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, padding: int, attention=None):
        if attention is not None:
            raise ValueError("the MLF DS-ResNet has no attention; build it with attention=None")
        super().__init__(cin, cout, kernel, stride, padding)
        self.lif = MLFNode()


class DSBlock(ORSEWBlock):
    """The SEW block with MLF units; the merge is ADD (checked by the zoo registry)."""

    unit_class = MLFUnit


class MLFDSResNet(SynAResNet):
    arch = "mlf-ds-resnet"

    def make_unit(self, cin, cout, kernel, stride, padding, attention=None, stem=False):
        return MLFUnit(cin, cout, kernel, stride, padding, attention)

    def make_block(self, cin: int, cout: int) -> nn.Module:
        return DSBlock(cin, cout, self.config.merge, self.config.steps, self.config.attention)
