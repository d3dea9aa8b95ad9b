"""The model zoo: the seeds' other systems on the paper's depth-21 layout, selectable by name.

Every architecture keeps :class:`~model_export.model.SynAResNet`'s stem, four
feature convs, three down-sampling stages (block + two post units) and pooled FC
head, at any ``width``; only the residual block, the neuron or the attention
changes. ``docs/model-zoo.md`` has the equations and the table.

==================  =======================================================  ===========
arch                what                                                      merges
==================  =======================================================  ===========
``syna-resnet``     SynAResNet as configured (OR/SEW merges, SynA optional)   any
``or-resnet``       OR-Spiking ResNet (Eq. 6 with OR), no attention           OR
``sew-resnet``      SEW-ResNet (Eq. 6), no attention                          ADD AND IAND
``spiking-resnet``  vanilla Spiking ResNet (Eq. 4): ADD of currents           ADD
``ms-resnet``       MS-ResNet (Eq. 5): membrane shortcut                      ADD
``asa-resnet``      ASA attention (Yao et al.) at the MA positions, no IA     any
``mlf-ds-resnet``   spiking DS-ResNet with MLF neurons (K = 3, Feng et al.)   ADD
==================  =======================================================  ===========

``or-resnet``, ``sew-resnet`` and ``syna-resnet`` are one class, SynAResNet: the
SEW family differs only in ``config.merge`` (and SynA in ``config.attention``).

What the table and the exporter use:

- :func:`build_model` ``(arch, config)`` -> the float model;
- :func:`make_config` ``(arch, preset, **knobs)`` -> a ``ModelConfig`` with the arch's defaults
  (merge, attention) filled in and checked;
- :func:`describe` ``(arch, config=None)`` -> :class:`ArchInfo`: spike-driven yes/no and why,
  exportable yes/no and why not;
- :func:`export_refusal` ``(model)`` -> why the integer contract cannot run ``model``, or None
  (``quant.check_supported`` raises it, so ``write_bundle`` refuses with this reason).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable

import torch.nn as nn

from syna_contract import numerics as nx
from ..model import MERGES, AttentionSpec, ModelConfig, SynAResNet
from ..model import make_config as _make_preset_config

S_ATTENTION_REFUSAL = (
    "spatial (S) attention is not in the integer contract yet (its k x k conv over pooled maps "
    "would need a second multiply datapath); use attention dim T or C for hardware export")


def _sew_refusal(config: ModelConfig) -> str | None:
    """What the integer contract (docs/numerics.md) cannot express in a SynAResNet config."""
    if config.merge not in nx.MERGE_OPS:
        return (f"merge {config.merge} makes non-binary values (0, 1, 2), so the conv after it is no longer "
                f"accumulate-only on binary spikes; the integer contract has {nx.MERGE_OPS}")
    if config.input_pool:
        return (f"adaptive average pooling of the input to {config.input_pool}x{config.input_pool} is not in the "
                f"integer contract; resize the event frames on the host (e.g. OR-pooling) and train at that size")
    if config.attention is not None and config.attention.dim == "S":
        return S_ATTENTION_REFUSAL
    return None


def _sew_spike_driven(config: ModelConfig) -> tuple[bool, str]:
    if config.merge == "ADD":
        return False, ("the ADD merge makes values 0..2, so the conv after each merge multiplies "
                       "(paper Table II)")
    note = "every conv and the FC read binary spikes; the merges are bitwise"
    if config.attention is not None:
        note += "; the attention MLP works on pooled currents (counted as MACs, like the paper)"
    return True, note


def _sew_title(config: ModelConfig) -> str:
    if config.attention is not None:
        return f"SynA-{config.attention.dim}-ResNet ({config.merge})"
    return "OR-Spiking ResNet" if config.merge == "OR" else f"SEW-ResNet ({config.merge})"


def _asa_spike_driven(config: ModelConfig) -> tuple[bool, str]:
    driven, note = _sew_spike_driven(dataclasses.replace(config, attention=None))
    return driven, note + "; ASA's pooling, T-MLP and 3x3 conv work on currents (MACs)"


def _asa_refusal(config: ModelConfig) -> str | None:
    return _sew_refusal(dataclasses.replace(config, attention=None)) or (
        "ASA attention (top-k selection over T and C, a 3x3 conv over pooled current maps, per-pixel sigmoid "
        "gates) is not in the integer contract, whose attention (docs/numerics.md section 6) is MA/IA in dims "
        "T and C")


def _vanilla():
    from .variants import VanillaSpikingResNet
    return VanillaSpikingResNet


def _ms():
    from .variants import MSResNet
    return MSResNet


def _asa():
    from .asa import ASAResNet
    return ASAResNet


def _mlf():
    from .mlf import MLFDSResNet
    return MLFDSResNet


@dataclass(frozen=True)
class ArchSpec:
    name: str
    model_class: Callable[[], type]             # lazily, so importing the registry stays cheap
    equation: str
    merges: tuple[str, ...]                     # allowed merges, the first is the default
    attention: str                              # "none", "optional" or "S" (required, spatial)
    title: Callable[[ModelConfig], str]
    spike_driven: Callable[[ModelConfig], tuple[bool, str]]
    refusal: Callable[[ModelConfig], str | None]


def _fixed(value):
    return lambda config: value


ARCHS: dict[str, ArchSpec] = {s.name: s for s in [
    ArchSpec("syna-resnet", lambda: SynAResNet, "out = g(SN(W2 SN(W1 x)), SN(Ws x)), g in OR/AND/IAND/ADD; "
             "SynA: MA on the backbone, IA on the shortcut", MERGES[::-1], "optional",
             _sew_title, _sew_spike_driven, _sew_refusal),
    ArchSpec("or-resnet", lambda: SynAResNet, "out = SN(W2 SN(W1 x)) | SN(Ws x)", ("OR",), "none",
             _sew_title, _sew_spike_driven, _sew_refusal),
    ArchSpec("sew-resnet", lambda: SynAResNet, "out = g(SN(W2 SN(W1 x)), SN(Ws x)), g in ADD/AND/IAND (Eq. 6)",
             ("ADD", "AND", "IAND"), "none", _sew_title, _sew_spike_driven, _sew_refusal),
    ArchSpec("spiking-resnet", _vanilla, "out = SN(W2 SN(W1 x) + Ws x) (Eq. 4)", ("ADD",), "none",
             _fixed("Spiking ResNet (vanilla, ADD before the neuron)"),
             _fixed((False, "the residual ADD adds the shortcut's current to the backbone's current before the "
                            "neuron (Eq. 4): an element-wise op on real values, not a bitwise one on spikes")),
             _fixed("the vanilla block adds the shortcut's conv1x1-BN current to the backbone's second conv "
                    "current before one neuron (Eq. 4); a conv_lif has exactly one synaptic input and one "
                    "current unit (docs/numerics.md section 3), so two convolutions of different spike maps "
                    "feeding one LIF are not in the integer contract")),
    ArchSpec("ms-resnet", _ms, "out = W2 SN(W1 SN(x)) + Ws x (Eq. 5, membrane shortcut)", ("ADD",), "none",
             _fixed("MS-ResNet (membrane shortcut)"),
             _fixed((False, "membrane shortcut (Eq. 5): blocks add real-valued currents and pass them on, and the "
                            "down-sampling shortcut conv reads that real-valued sum (multiplies)")),
             _fixed("MS-ResNet passes real-valued membrane currents between blocks (Eq. 5) and its shortcut "
                    "conv multiplies them; the integer contract passes only 1-bit spike maps between layers")),
    ArchSpec("asa-resnet", _asa, "SynA-ResNet's layout with ASA at the MA positions, no IA",
             ("OR", "AND", "IAND", "ADD"), "S",
             lambda c: f"ASA-ResNet ({c.merge})", _asa_spike_driven, _asa_refusal),
    ArchSpec("mlf-ds-resnet", _mlf, "out = MLF(W2 MLF(W1 x)) + MLF(Ws x), MLF: K = 3 compartments", ("ADD",),
             "none", _fixed("spiking DS-ResNet with MLF neurons"),
             _fixed((False, "MLF neurons emit multi-level spikes 0..3 and the DS block adds two of them (0..6), "
                            "so every conv multiplies by a multi-level input")),
             _fixed("MLF neurons emit multi-level spikes (0..3 from K = 3 compartments) and the DS block adds "
                    "them (0..6); the integer contract's spikes are 1 bit (a 2-bit spike is not planned), and "
                    "its LIF is tau 2, not MLF's decay 0.25 with three thresholds")),
]}

from ..recipe import ARCH_NAMES  # noqa: E402  (the torch-free list of names, for the CLI)

if tuple(ARCHS) != ARCH_NAMES:
    raise ImportError(f"model_export.recipe.ARCH_NAMES {ARCH_NAMES} must list the zoo's archs {tuple(ARCHS)}")


def _spec(arch: str) -> ArchSpec:
    if arch not in ARCHS:
        raise ValueError(f"unknown arch {arch!r}; expected one of {list(ARCHS)}")
    return ARCHS[arch]


def default_merge(arch: str) -> str:
    return _spec(arch).merges[0]


def check_config(arch: str, config: ModelConfig) -> None:
    """Raise ValueError naming what ``config`` asks that ``arch`` does not have."""
    spec = _spec(arch)
    if config.merge not in spec.merges:
        raise ValueError(f"arch {arch!r} merges with {'/'.join(spec.merges)} ({spec.equation}); "
                         f"got merge {config.merge!r}")
    if spec.attention == "none" and config.attention is not None:
        raise ValueError(f"arch {arch!r} has no attention; got attention {config.attention}. "
                         f"Use syna-resnet (SynA) or asa-resnet (ASA) for attention")
    if spec.attention == "S" and (config.attention is None or config.attention.dim != "S"):
        raise ValueError(f"arch {arch!r} places ASA (spatial attention) at the MA positions: give attention "
                         f"dim 'S' and a position a-d; got {config.attention}")


def make_config(arch: str, preset: str, **knobs) -> ModelConfig:
    """A preset of Table IX with knobs applied and ``arch``'s defaults for the knobs left None:
    ``merge`` (the arch's first merge) and, for asa-resnet, ``attention`` (dim S, position b)."""
    spec = _spec(arch)
    if knobs.get("merge") is None:
        knobs["merge"] = spec.merges[0]
    if spec.attention == "S" and knobs.get("attention") is None:
        knobs["attention"] = AttentionSpec("S", "b")
    config = _make_preset_config(preset, **knobs)
    check_config(arch, config)
    return config


def build_model(arch: str, config: ModelConfig) -> nn.Module:
    """The float model of ``arch`` for ``config`` (multi-step SpikingJelly, time-major input)."""
    check_config(arch, config)
    return _spec(arch).model_class()(config)


def arch_of(model: nn.Module) -> str:
    """The registry name of a model's class (SynAResNet: ``syna-resnet``, whatever its merge)."""
    return getattr(type(model), "arch", "syna-resnet")


@dataclass(frozen=True)
class ArchInfo:
    arch: str
    title: str
    equation: str
    spike_driven: bool
    spike_driven_note: str
    exportable: bool
    refusal: str | None          # why the integer contract cannot run it (None when exportable)

    def row(self) -> dict:
        return dataclasses.asdict(self)


def describe(arch: str, config: ModelConfig | None = None) -> ArchInfo:
    """What ``arch`` (as configured; default: the mnist preset with the arch's defaults) is and can do."""
    spec = _spec(arch)
    config = config if config is not None else make_config(arch, "mnist")
    driven, note = spec.spike_driven(config)
    refusal = spec.refusal(config)
    return ArchInfo(arch, spec.title(config), spec.equation, driven, note, refusal is None, refusal)


def export_refusal(model: nn.Module) -> str | None:
    """Why the integer contract cannot run ``model`` (None: it can). Models outside the registry
    (``nir_io.ChainNet``) answer through their own ``export_refusal()``."""
    own = getattr(model, "export_refusal", None)
    if callable(own):
        return own()
    return _spec(arch_of(model)).refusal(model.config)
