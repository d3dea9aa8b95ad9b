"""Vanilla Spiking ResNet (Eq. 4) and MS-ResNet (Eq. 5) on the paper's depth-21 layout.

Both keep :class:`~model_export.model.SynAResNet`'s stem, feature stage, three
down-sampling stages and head; only the residual block (and, for MS-ResNet, the
order neuron -> conv inside every unit) changes. The residual parts are
SpikingJelly's own blocks:

- Vanilla: ``spikingjelly...model.spiking_resnet.BasicBlock`` with a conv1x1-BN
  down-sampling shortcut: ``out = SN(BN(W2 * SN(BN(W1 * x))) + BN(Ws * x))`` — the
  ADD happens on currents, before the block's second neuron (tdBN's layout; our
  BN is SpikingJelly's BatchNorm2d over T*N, not tdBN's threshold scaling).
- MS-ResNet: ``spikingjelly...model.ms_resnet._MSBlock``, pre-activation
  ``out = BN(W2 * SN(BN(W1 * SN(x)))) + BN(Ws * x)``: the shortcut carries the
  real-valued membrane input, as in the released MS-ResNet (its down-sampling
  conv1x1 reads that real-valued input). The network ends with a neuron before
  the pooled head, as MS-ResNet does.

Every neuron is the paper's LIF (:func:`model_export.model.make_lif`), so the
comparison with OR/SynA-ResNet is about the residual structure alone.
"""
from __future__ import annotations

import torch
import torch.nn as nn
from spikingjelly.activation_based import functional, layer, neuron
from spikingjelly.activation_based.model import spiking_resnet
from spikingjelly.activation_based.model.ms_resnet import _MSBlock

from ..model import ConvUnit, SynAResNet, make_lif


def _paper_lif(**_ignored) -> neuron.LIFNode:
    """SpikingJelly blocks build their neurons through a factory; ours is the paper's LIF."""
    return make_lif()


def _conv_bn(cin: int, cout: int, kernel: int, stride: int, padding: int) -> nn.Sequential:
    return nn.Sequential(layer.Conv2d(cin, cout, kernel, stride=stride, padding=padding, bias=False, step_mode="m"),
                         layer.BatchNorm2d(cout, step_mode="m"))


def _neurons(model: nn.Module) -> dict[str, neuron.BaseNode]:
    return {name: m for name, m in model.named_modules() if isinstance(m, neuron.BaseNode)}


class _NoAttention:
    """The baselines have no attention slot: refuse a config that asks for one. Their blocks are not
    the bundle's layer graph (no bK.main0/short/merge): analysis taps every neuron module instead."""

    has_layer_graph = False

    def make_unit(self, cin, cout, kernel, stride, padding, attention=None, stem=False):
        if attention is not None:
            raise ValueError(f"{type(self).__name__} has no attention; build it with attention=None")
        return self.plain_unit(cin, cout, kernel, stride, padding, stem)


# --------------------------------------------------------------------------- vanilla (Eq. 4)
class VanillaBlock(nn.Module):
    """SpikingJelly's spiking ResNet BasicBlock (stride 2, conv1x1-BN shortcut) + two post units."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.res = spiking_resnet.BasicBlock(cin, cout, stride=2, downsample=_conv_bn(cin, cout, 1, 2, 0),
                                             spiking_neuron=_paper_lif)
        functional.set_step_mode(self.res, "m")
        self.post0 = ConvUnit(cout, cout, 3, 1, 1)
        self.post1 = ConvUnit(cout, cout, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.post1(self.post0(self.res(x)))


class VanillaSpikingResNet(_NoAttention, SynAResNet):
    arch = "spiking-resnet"

    def plain_unit(self, cin, cout, kernel, stride, padding, stem):
        return ConvUnit(cin, cout, kernel, stride, padding)

    def make_block(self, cin: int, cout: int) -> nn.Module:
        return VanillaBlock(cin, cout)

    def lif_layers(self) -> dict[str, neuron.BaseNode]:
        return _neurons(self)


# --------------------------------------------------------------------------- MS-ResNet (Eq. 5)
class MSUnit(nn.Module):
    """Pre-activation unit ``[LIF] - conv - BN`` (the stem has no neuron: it reads the input)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, padding: int, fire_first: bool = True):
        super().__init__()
        self.lif = make_lif() if fire_first else None
        self.conv = layer.Conv2d(cin, cout, kernel, stride=stride, padding=padding, bias=False, step_mode="m")
        self.bn = layer.BatchNorm2d(cout, step_mode="m")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(self.lif(x) if self.lif is not None else x))


class MSBlock(nn.Module):
    """SpikingJelly's MS-ResNet block (stride 2, conv1x1-BN shortcut on the membrane input) + two post units."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.res = _MSBlock(cin, cout, 2, _conv_bn(cin, cout, 1, 2, 0), spiking_neuron=_paper_lif)
        self.post0 = MSUnit(cout, cout, 3, 1, 1)
        self.post1 = MSUnit(cout, cout, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.post1(self.post0(self.res(x)))


class MSResNet(_NoAttention, SynAResNet):
    arch = "ms-resnet"

    def __init__(self, config):
        super().__init__(config)
        self.head_lif = make_lif()          # MS-ResNet fires once more before the pooled head

    def plain_unit(self, cin, cout, kernel, stride, padding, stem):
        return MSUnit(cin, cout, kernel, stride, padding, fire_first=not stem)

    def make_block(self, cin: int, cout: int) -> nn.Module:
        return MSBlock(cin, cout)

    def spiking_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.head_lif(super().spiking_features(x))

    def lif_layers(self) -> dict[str, neuron.BaseNode]:
        return _neurons(self)
