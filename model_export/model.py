"""SynA-ResNet / OR-Spiking ResNet on SpikingJelly 2.0 (activation_based, multi-step).

Input and every internal tensor are time-major: ``[T, N, C, H, W]``.
The topology follows the paper's Table IX and the released code (see
``shared/reference/PAPER-DIGEST.md``):

    stem:      [AdaptiveAvgPool] - conv - BN - LIF - [MaxPool k3 s2 p1]
    features:  4 x (conv3x3 - BN - LIF)                       (width c)
    blocks:    3 x OR-SEW(2c, 4c, 8c):
                 backbone  conv3x3 s2 - BN - [MA] - LIF - conv3x3 - BN - [MA] - LIF
                 shortcut  conv1x1 s2 - BN - [IA] - LIF
                 merge     OR | AND | IAND | ADD  (each branch computed once)
                 post      2 x (conv3x3 - BN - [MA] - LIF)
    head:      global average pool - FC, output averaged over T

Every conv is followed by BN, optional attention and a LIF: that unit is a
:class:`ConvUnit`, the thing the exporter turns into one ``conv_lif`` layer.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F
from spikingjelly.activation_based import functional, layer, neuron, surrogate

from .topology import PRESETS  # Table IX presets, one table (numpy-only callers such as the planner read it too)

MERGES = ("ADD", "AND", "IAND", "OR")
ATTENTION_DIMS = ("T", "C", "S")
ATTENTION_POSITIONS = ("a", "b", "c", "d")
# How IA applies its binary gate q to the current x (docs/results.md, "Why SynA did not learn"):
#   "relu_x_w"  relu(x) * q   (default): the same values as the paper's form for q in {0, 1}, so the same
#               forward pass and integer contract, but a closed gate (q = 0) still gets the gradient relu(x)
#   "relu_xw"   relu(x * q)   (the paper's / released code's form): relu passes no gradient at 0, so a gate
#               that never fires gets an exactly zero gradient and can never open
IA_FORMS = ("relu_x_w", "relu_xw")
# Initialisation of the attention MLPs (MA and IA):
#   "open"      (default) PyTorch's default weights, then made non-negative (|w|): on the non-negative
#               max-pooled current the logits start positive and large, so MA's sigmoid starts near 1
#               and IA's LIF gate fires at every step (attention starts as a pass-through and learns
#               what to suppress)
#   "default"   PyTorch's default (kaiming-uniform) as in the paper's released code: MA gates start at
#               about 0.5 (every MA layer's current halved) and most IA gates start closed
#   "open-ia"   IA as "open", MA as "default"
ATTENTION_INITS = ("open", "default", "open-ia")

# Table I of the paper.
LIF_TAU = 2.0
LIF_V_THRESHOLD = 1.0
LIF_V_RESET = 0.0


def make_lif() -> neuron.LIFNode:
    """The paper's LIF (Table I): tau 2, threshold 1, hard reset to 0, ATan, detach_reset."""
    return neuron.LIFNode(
        tau=LIF_TAU,
        decay_input=True,
        v_threshold=LIF_V_THRESHOLD,
        v_reset=LIF_V_RESET,
        surrogate_function=surrogate.ATan(alpha=2.0),
        detach_reset=True,
        step_mode="m",
    )


def merge_spikes(backbone: torch.Tensor, shortcut: torch.Tensor, op: str) -> torch.Tensor:
    """Residual merge g(backbone, shortcut) of Table II.

    IAND follows SpikingJelly's SEW BasicBlock, ``identity * (1 - out)``:
    the shortcut passes where the backbone is silent.
    """
    if op == "OR":
        return backbone + shortcut - backbone * shortcut
    if op == "AND":
        return backbone * shortcut
    if op == "IAND":
        return shortcut * (1.0 - backbone)
    if op == "ADD":
        return backbone + shortcut
    raise ValueError(f"unknown merge {op!r}; expected one of {MERGES}")


# --------------------------------------------------------------------------- attention
class _PooledMLP(nn.Module):
    """Shared bottleneck MLP ``dim -> hidden -> dim`` (ReLU, no bias) applied to
    the average- and max-pooled current; returns ``mlp(avg) + mlp(max)``."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden, bias=False)
        self.fc2 = nn.Linear(hidden, dim, bias=False)

    def open_init(self) -> None:
        """Non-negative weights (|default init|): positive logits on the (non-negative) max-pooled current."""
        with torch.no_grad():
            self.fc1.weight.abs_()
            self.fc2.weight.abs_()

    def forward(self, avg: torch.Tensor, mx: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.relu(self.fc1(avg))) + self.fc2(F.relu(self.fc1(mx)))


class _SpatialConv(nn.Module):
    """Spatial attention logit: conv k x k over [mean, max] maps (2 -> 1 channel)."""

    def __init__(self, kernel: int):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel, padding=kernel // 2, bias=False)

    def open_init(self) -> None:
        with torch.no_grad():
            self.conv.weight.abs_()

    def forward(self, avg: torch.Tensor, mx: torch.Tensor) -> torch.Tensor:
        return self.conv(torch.stack([avg, mx], dim=1))[:, 0]


def attention_logits(x: torch.Tensor, dim: str, body: nn.Module) -> torch.Tensor:
    """Pool the current ``x`` [T,N,C,H,W] over the dims other than ``dim`` and
    run the attention body. Returns logits shaped [N,T] (T), [N,C] (C) or [N,H,W] (S)."""
    if dim == "T":
        avg, mx = x.mean(dim=(2, 3, 4)).t(), x.amax(dim=(2, 3, 4)).t()
    elif dim == "C":
        avg, mx = x.mean(dim=(0, 3, 4)), x.amax(dim=(0, 3, 4))
    elif dim == "S":
        avg, mx = x.mean(dim=(0, 2)), x.amax(dim=(0, 2))
    else:
        raise ValueError(f"attention dimension {dim!r}; expected one of {ATTENTION_DIMS}")
    return body(avg, mx)


def broadcast_weights(w: torch.Tensor, dim: str, steps: int) -> torch.Tensor:
    """Attention weights to a shape that broadcasts against [T,N,C,H,W].

    ``w`` is [N,T] / [N,C] / [N,H,W] (one weight per sample, constant over time)
    when ``steps`` is 0, or time-major [T,N,C] / [T,N,H,W] otherwise."""
    if dim == "T":
        return w.t()[:, :, None, None, None]
    if dim == "C":
        return w[None, :, :, None, None] if steps == 0 else w[:, :, :, None, None]
    return w[None, :, None] if steps == 0 else w[:, :, None]


def mlp_hidden(dim_size: int, reduction: int, min_hidden: int = 1) -> int:
    """Hidden width of the attention MLP: ``dim // reduction``, at least ``min_hidden`` and at most ``dim``."""
    return min(dim_size, max(1, min_hidden, dim_size // reduction))


def _make_body(dim: str, channels: int, steps: int, reduction: int, kernel: int, min_hidden: int = 1) -> nn.Module:
    if dim == "T":
        return _PooledMLP(steps, mlp_hidden(steps, reduction, min_hidden))
    if dim == "C":
        return _PooledMLP(channels, mlp_hidden(channels, reduction, min_hidden))
    return _SpatialConv(kernel)


def _check_choice(value: str, choices: tuple[str, ...], what: str) -> None:
    if value not in choices:
        raise ValueError(f"{what} {value!r}; expected one of {choices}")


class MultiDimAttention(nn.Module):
    """MA (Yao et al.): ``relu(sigmoid(mlp(avg) + mlp(max)) * x)`` along one dimension."""

    kind = "MA"

    def __init__(self, dim: str, channels: int, steps: int, reduction: int | None = None, kernel: int = 3,
                 init: str = "default", min_hidden: int = 1):
        super().__init__()
        _check_choice(init, ("open", "default"), "attention init")
        self.dim = dim
        self.reduction = reduction or (4 if dim == "T" else 8)
        self.body = _make_body(dim, channels, steps, self.reduction, kernel, min_hidden)
        if init == "open":
            self.body.open_init()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = torch.sigmoid(attention_logits(x, self.dim, self.body))
        return F.relu(x * broadcast_weights(w, self.dim, steps=0))


class InhibitoryAttention(nn.Module):
    """IA (SynA): the sigmoid of MA replaced by a LIF neuron, so the weights are
    binary spikes and the current is gated (an AND). The LIF integrates over
    time, per sample: for T the logits are the time sequence, for C and S the
    per-sample logits are presented at every time step."""

    kind = "IA"

    def __init__(self, dim: str, channels: int, steps: int, reduction: int | None = None, kernel: int = 3,
                 init: str = "default", min_hidden: int = 1, form: str = "relu_xw"):
        super().__init__()
        _check_choice(init, ("open", "default"), "attention init")
        _check_choice(form, IA_FORMS, "IA form")
        self.dim = dim
        self.form = form
        self.reduction = reduction or (4 if dim == "T" else 8)
        self.body = _make_body(dim, channels, steps, self.reduction, kernel, min_hidden)
        if init == "open":
            self.body.open_init()
        self.lif = make_lif()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = attention_logits(x, self.dim, self.body)
        if self.dim == "T":
            gate = self.lif(logits.t().contiguous())           # [T, N]
            w = gate[:, :, None, None, None]
        else:
            seq = logits.unsqueeze(0).expand(x.shape[0], *logits.shape).contiguous()
            gate = self.lif(seq)                                # [T, N, C] or [T, N, H, W]
            w = broadcast_weights(gate, self.dim, steps=x.shape[0])
        if self.form == "relu_x_w":
            return F.relu(x) * w          # same values (w is 0 or 1); a closed gate still gets relu(x)
        return F.relu(x * w)


# --------------------------------------------------------------------------- units
class ConvUnit(nn.Module):
    """conv - BN - [attention] - LIF: one spiking layer (one ``conv_lif`` in the bundle)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, padding: int,
                 attention: nn.Module | None = None):
        super().__init__()
        self.conv = layer.Conv2d(cin, cout, kernel, stride=stride, padding=padding, bias=False, step_mode="m")
        self.bn = layer.BatchNorm2d(cout, step_mode="m")
        self.attn = attention
        self.lif = make_lif()

    def current(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn(self.conv(x))
        return self.attn(x) if self.attn is not None else x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lif(self.current(x))


@dataclass(frozen=True)
class AttentionSpec:
    """SynA placement: MA on the backbone, IA on every shortcut (Table V), and how it is trained.

    ``ia_form``, ``init`` and ``min_hidden`` default to what trains here (docs/results.md); the paper's
    released code is ``AttentionSpec(dim, position, **PAPER_ATTENTION)``. A stored spec without these
    keys (checkpoints and bundles written before they existed) loads as the paper's form:
    :meth:`from_dict`. None of them changes the exported integer model's format or arithmetic:
    ``ia_form`` and ``init`` only change training, ``min_hidden`` the size of the MLP ROMs."""

    dim: str = "C"
    position: str = "b"
    ia_form: str = "relu_x_w"        # IA_FORMS
    init: str = "open"               # ATTENTION_INITS
    min_hidden: int = 1              # floor of the attention MLP's hidden width (paper: 1)

    def __post_init__(self):
        if self.dim not in ATTENTION_DIMS:
            raise ValueError(f"attention dim {self.dim!r}; expected one of {ATTENTION_DIMS}")
        if self.position not in ATTENTION_POSITIONS:
            raise ValueError(f"attention position {self.position!r}; expected one of {ATTENTION_POSITIONS}")
        _check_choice(self.ia_form, IA_FORMS, "IA form")
        _check_choice(self.init, ATTENTION_INITS, "attention init")
        if not isinstance(self.min_hidden, int) or self.min_hidden < 1:
            raise ValueError(f"attention min_hidden {self.min_hidden!r}; expected an integer >= 1")

    @classmethod
    def from_dict(cls, d: dict) -> "AttentionSpec":
        """A stored spec; keys it lacks (written before they existed) take the paper's values."""
        return cls(**{**PAPER_ATTENTION, **d})

    def ma(self, channels: int, steps: int) -> "MultiDimAttention":
        init = "default" if self.init == "open-ia" else self.init
        return MultiDimAttention(self.dim, channels, steps, init=init, min_hidden=self.min_hidden)

    def ia(self, channels: int, steps: int) -> "InhibitoryAttention":
        init = "open" if self.init == "open-ia" else self.init
        return InhibitoryAttention(self.dim, channels, steps, init=init, min_hidden=self.min_hidden,
                                   form=self.ia_form)

    def ma_slot(self) -> int:
        """Which conv of a backbone pair carries MA: 0 (after BN1: a, c) or 1 (after BN2: b, d)."""
        return 0 if self.position in ("a", "c") else 1

    def ma_after_block(self) -> bool:
        """Positions a and b also put MA into the two convs after the residual block."""
        return self.position in ("a", "b")


# The paper's released code: relu(x * q) gates, PyTorch's default init, hidden width dim // r (at least 1).
PAPER_ATTENTION = dict(ia_form="relu_xw", init="default", min_hidden=1)


class ORSEWBlock(nn.Module):
    """Down-sampling residual block with a spike merge (OR by default)."""

    unit_class = ConvUnit        # conv - BN - [attention] - neuron; the model zoo swaps it (MLF neurons)

    def __init__(self, cin: int, cout: int, merge: str, steps: int, attention: AttentionSpec | None):
        super().__init__()
        if merge not in MERGES:
            raise ValueError(f"unknown merge {merge!r}; expected one of {MERGES}")
        self.merge = merge

        def ma(slot: int, after: bool = False):
            if attention is None or attention.ma_slot() != slot or (after and not attention.ma_after_block()):
                return None
            return attention.ma(cout, steps)

        self.main0 = self.unit_class(cin, cout, 3, 2, 1, ma(0))
        self.main1 = self.unit_class(cout, cout, 3, 1, 1, ma(1))
        ia = attention.ia(cout, steps) if attention is not None else None
        self.short = self.unit_class(cin, cout, 1, 2, 0, ia)
        self.post0 = self.unit_class(cout, cout, 3, 1, 1, ma(0, after=True))
        self.post1 = self.unit_class(cout, cout, 3, 1, 1, ma(1, after=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = merge_spikes(self.main1(self.main0(x)), self.short(x), self.merge)
        return self.post1(self.post0(out))


# --------------------------------------------------------------------------- network
@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a model; stored in checkpoints and bundles."""

    preset: str = "mnist"
    in_channels: int = 1
    input_size: int = 28
    num_classes: int = 10
    steps: int = 16                  # T
    width: float = 1.0               # multiplier on 64-128-256-512
    stem_kernel: int = 3
    stem_stride: int = 1
    stem_maxpool: bool = False
    input_pool: int = 0              # AdaptiveAvgPool2d size before the stem (0: none)
    merge: str = "OR"
    attention: AttentionSpec | None = None

    def channels(self) -> list[int]:
        return [max(1, int(round(c * self.width))) for c in (64, 128, 256, 512)]

    def to_dict(self) -> dict:
        """As stored in checkpoints and in a bundle's ``model_config`` (so in its model hash). The attention
        options that have the paper's values are left out: a paper-form SynA model stores and hashes as it
        did before the options existed, and :meth:`from_dict` reads them back as the paper's."""
        d = dataclasses.asdict(self)
        if d["attention"] is not None:
            d["attention"] = {k: v for k, v in d["attention"].items() if k not in PAPER_ATTENTION or PAPER_ATTENTION[k] != v}
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        d = dict(d)
        if d.get("attention") is not None:
            d["attention"] = AttentionSpec.from_dict(d["attention"])
        return cls(**d)


# Table IX. Knobs (width, input size, classes, T, channels, merge, attention) override these.
def make_config(preset: str, **knobs) -> ModelConfig:
    """A preset of Table IX with knobs applied (``None`` values keep the preset's)."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; expected one of {sorted(PRESETS)}")
    values = dict(PRESETS[preset], preset=preset)
    values.update({k: v for k, v in knobs.items() if v is not None})
    return ModelConfig(**values)


class SynAResNet(nn.Module):
    """OR-Spiking ResNet (``attention=None``) or SynA-ResNet (``attention=AttentionSpec``)."""

    # Its blocks are the bundle's layer graph (graph.build_graph): per-layer spike taps exist.
    # Zoo variants whose blocks are not (vanilla, MS) set it False.
    has_layer_graph = True

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        c = config.channels()
        att = config.attention
        self.input_pool = layer.AdaptiveAvgPool2d(config.input_pool, step_mode="m") if config.input_pool else None
        k, s = config.stem_kernel, config.stem_stride
        self.stem = self.make_unit(config.in_channels, c[0], k, s, k // 2, stem=True)
        self.pool = layer.MaxPool2d(3, 2, 1, step_mode="m") if config.stem_maxpool else None

        def feature_ma(i: int):
            # The feature-extraction convs 2-5 take MA at the same slot as the backbone (paper V-B1).
            if att is None or i % 2 != att.ma_slot():
                return None
            return att.ma(c[0], config.steps)

        self.features = nn.Sequential(*[self.make_unit(c[0], c[0], 3, 1, 1, feature_ma(i)) for i in range(4)])
        self.blocks = nn.Sequential(*[self.make_block(cin, cout) for cin, cout in zip(c[:3], c[1:])])
        self.fc = nn.Linear(c[3], config.num_classes)

    # Hooks for the model zoo (model_export/zoo): the same stem, stages and head with other units and blocks.
    def make_unit(self, cin: int, cout: int, kernel: int, stride: int, padding: int,
                  attention: nn.Module | None = None, stem: bool = False) -> nn.Module:
        """One unit of the stem (``stem=True``) or of the feature stage."""
        return ConvUnit(cin, cout, kernel, stride, padding, attention)

    def make_block(self, cin: int, cout: int) -> nn.Module:
        """One down-sampling residual block with its two post units."""
        return ORSEWBlock(cin, cout, self.config.merge, self.config.steps, self.config.attention)

    def check_input(self, x: torch.Tensor) -> None:
        cfg = self.config
        expected = (cfg.steps, cfg.in_channels, cfg.input_size, cfg.input_size)
        if x.dim() != 5 or (x.shape[0], *x.shape[2:]) != expected:
            raise ValueError(
                f"input shape {tuple(x.shape)}; expected [T={cfg.steps}, N, C={cfg.in_channels}, "
                f"H={cfg.input_size}, W={cfg.input_size}] (time-major)")

    def spiking_features(self, x: torch.Tensor) -> torch.Tensor:
        """Spikes of the last LIF layer, [T, N, C, H, W]."""
        self.check_input(x)
        functional.reset_net(self)
        if self.input_pool is not None:
            x = self.input_pool(x)
        x = self.stem(x)
        if self.pool is not None:
            x = self.pool(x)
        return self.blocks(self.features(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class scores [N, classes]: FC of the globally pooled spikes, averaged over T."""
        s = self.spiking_features(x)
        return self.fc(s.mean(dim=(3, 4))).mean(dim=0)

    def lif_layers(self) -> dict[str, neuron.LIFNode]:
        """Every LIF whose spikes the network propagates (IA gates excluded), by unit name."""
        return {name: m.lif for name, m in self.named_modules() if isinstance(m, ConvUnit)}
