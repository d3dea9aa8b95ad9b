"""Typed layer descriptors: one dataclass per layer kind, with its fields declared.

The manifest (``docs/bundle-format.md``) stores each layer as a JSON object and
``graph.build_graph`` / the exporter build them as dicts; that format does not change.
When a bundle loads (after its manifest is validated) every layer dict becomes one of
these dataclasses, like hls4ml's layers with their ``_expected_attributes``: a missing
field is an error that names the layer, the field and what the kind expects, and the
consumers (reference, energy, host emulator, the hardware lowering) read attributes
instead of branching on ``kind`` strings and re-deriving facts.

Facts that follow from the fields are properties here, in one place: ``spiking`` (the
layer's output is a spike map), ``neurons``, ``groups(lanes)`` (output channels in lanes of
``P``), and ``encoder`` (the manifest stores it; a bare layer graph without it derives it
from reading the input).
"""
from __future__ import annotations

import math
from dataclasses import MISSING, dataclass, field, fields
from typing import ClassVar

from .graph import INPUT


class LayerError(ValueError):
    """A layer dict that does not have the fields its kind declares."""


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


@dataclass(frozen=True, kw_only=True)
class Attention:
    """MA / IA attention of a conv_lif layer (docs/numerics.md section 6)."""
    kind: str                        # MA | IA
    dim: str                         # T | C
    size: int                        # T (dim T) or Cout (dim C)
    hidden: int                      # MLP hidden units
    weight_bits: int                 # of the MLP weights
    avg_mult: tuple[int, int]        # (m, shift): the average pool's fixed-point 1/n
    out_mult: tuple[int, int]        # (m, shift): MLP output to gate logits


@dataclass(frozen=True, kw_only=True, eq=False)
class Layer:
    """Fields every layer has. ``source`` is the manifest dict it was built from (``to_dict``)."""
    KIND: ClassVar[str] = ""
    name: str
    inputs: tuple[str, ...]
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    roms: dict = field(default_factory=dict, repr=False)     # rom name -> {file, shape, bits, sha256}
    source: dict = field(default_factory=dict, repr=False)

    @property
    def kind(self) -> str:
        return self.KIND

    @property
    def spiking(self) -> bool:
        """The output is a binary spike map (every layer but ``fc``)."""
        return True

    @property
    def reads_input(self) -> bool:
        """One of its inputs is the network input (not a spike map)."""
        return INPUT in self.inputs

    @property
    def channels(self) -> int:
        """Output channels (fc: classes)."""
        return self.out_shape[0]

    @property
    def neurons(self) -> int:
        """Output values of one step: C*H*W (fc: 0, it has no spiking neurons)."""
        return math.prod(self.out_shape) if self.spiking else 0

    def groups(self, lanes: int) -> int:
        """Output channels in groups of ``lanes`` (the cores' P output-channel lanes)."""
        return _ceil(self.channels, lanes)

    def to_dict(self) -> dict:
        """The manifest dict (unchanged)."""
        return self.source


@dataclass(frozen=True, kw_only=True, eq=False)
class ConvLif(Layer):
    """conv + bias, saturate, [attention], integer LIF -> binary spikes."""
    KIND: ClassVar[str] = "conv_lif"
    kernel: int
    stride: int
    padding: int
    weight_bits: int | None = None   # None in a bare layer graph (before quantisation)
    encoder: bool = False            # reads multi-bit values: dense MACs (the manifest stores it)
    scale: str | None = None         # per_channel | per_tensor
    attention: Attention | None = None


@dataclass(frozen=True, kw_only=True, eq=False)
class MaxPoolOr(Layer):
    """k x k max-pool of binary spikes (= OR), zero padding."""
    KIND: ClassVar[str] = "maxpool_or"
    kernel: int
    stride: int
    padding: int


@dataclass(frozen=True, kw_only=True, eq=False)
class Merge(Layer):
    """Bitwise merge of two spike maps (inputs: backbone, shortcut)."""
    KIND: ClassVar[str] = "merge"
    op: str


@dataclass(frozen=True, kw_only=True, eq=False)
class Fc(Layer):
    """Global sum-pool + FC over T: integer class scores."""
    KIND: ClassVar[str] = "fc"
    weight_bits: int | None = None
    score_scale: float = 1.0

    @property
    def spiking(self) -> bool:
        return False


KINDS: dict[str, type[Layer]] = {c.KIND: c for c in (ConvLif, MaxPoolOr, Merge, Fc)}
_TUPLES = ("inputs", "in_shape", "out_shape", "avg_mult", "out_mult")


def _expected(cls) -> tuple[list[str], list[str]]:
    """(required, optional) declared fields of ``cls`` (``source`` is not a manifest field)."""
    req, opt = [], []
    for f in fields(cls):
        if f.name == "source":
            continue
        (req if f.default is MISSING and f.default_factory is MISSING else opt).append(f.name)
    return req, opt


def _build(cls, d: dict, where: str) -> dict:
    if not isinstance(d, dict):
        raise LayerError(f"{where}: a JSON object, got {type(d).__name__}")
    req, opt = _expected(cls)
    missing = [k for k in req if k not in d]
    if missing:
        raise LayerError(f"{where}: missing {', '.join(map(repr, missing))}; a {cls.KIND or 'attention'} "
                         f"has {', '.join(req)} (and optionally {', '.join(opt)})")
    kw = {}
    for k in req + opt:
        if k in d:
            v = d[k]
            kw[k] = tuple(v) if k in _TUPLES and isinstance(v, (list, tuple)) else v
    return kw


def from_dict(d: dict) -> Layer:
    """One manifest / layer-graph dict -> its typed descriptor (``LayerError`` naming what is missing)."""
    kind = d.get("kind") if isinstance(d, dict) else None
    name = d.get("name", "?") if isinstance(d, dict) else "?"
    if kind not in KINDS:
        raise LayerError(f"layer {name!r} has kind {kind!r}; expected one of {tuple(KINDS)}")
    cls = KINDS[kind]
    kw = _build(cls, d, f"layer {name!r} ({kind})")
    if cls is ConvLif:
        kw.setdefault("encoder", INPUT in kw["inputs"])     # stored by the exporter; derived for a bare graph
        if d.get("attention"):
            kw["attention"] = Attention(**_build(Attention, d["attention"], f"layer {name!r} attention"))
        else:
            kw["attention"] = None
    return cls(source=d, **kw)


def as_layers(layers) -> list[Layer]:
    """Typed descriptors from a list of layer dicts (manifest, ``build_graph``) or descriptors."""
    return [l if isinstance(l, Layer) else from_dict(l) for l in layers]
