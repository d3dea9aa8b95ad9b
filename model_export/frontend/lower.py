"""From a recorded forward pass (:mod:`.trace`) to the bundle's layer graph, or a refusal.

What becomes a layer (docs/bring-your-own-model.md has the full rules):

- ``conv_lif``: ``Conv2d -> [BatchNorm2d] -> [MA/IA attention] -> LIFNode`` with nothing else
  on the current; the LIF must be the integer contract's (tau 2, ``decay_input``, hard reset
  to 0; a threshold other than 1 is folded into the current's scale);
- ``maxpool_or``: a ``MaxPool2d`` on a spike map;
- ``merge``: torch operations that combine two spike maps, recognised by *what they compute*
  on binary inputs (their truth table, by replaying them), so ``a + b - a * b``,
  ``torch.logical_or(a, b).float()`` and ``torch.maximum(a, b)`` are all OR;
- ``fc``: the readout after the last spike map, checked by value to be global average
  pooling + ``Linear``, averaged over T (``fc(s.mean((3, 4))).mean(0)``), however written.

Operations that give back their input unchanged (``.clone()``, ``.float()``) are passed
through. Anything else on the path from the input to the output is refused with
:class:`ConversionError`, naming the module (or operation) and why.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F
from spikingjelly.activation_based import neuron
from spikingjelly.activation_based.base import StepModule

from syna_contract.graph import INPUT
from syna_contract.numerics import conv_out_size
from ..model import LIF_TAU, LIF_V_RESET, LIF_V_THRESHOLD, InhibitoryAttention, MultiDimAttention
from ..quant import UnsupportedError
from ..zoo import S_ATTENTION_REFUSAL
from .trace import Key, Node, Trace, replay

ATTENTION = (MultiDimAttention, InhibitoryAttention)
TRANSPARENT = (nn.Identity, nn.Dropout)           # identity in eval mode
HEAD_MODULES = (nn.Linear, nn.Flatten, nn.AdaptiveAvgPool2d, nn.AvgPool2d) + TRANSPARENT

# Why modules that are not layers of the integer contract are refused.
_NEURON_REASONS = {
    neuron.IFNode: "IF neurons do not leak; the integer LIF halves its membrane every step (tau = 2)",
    neuron.ParametricLIFNode: "PLIF learns its tau; the integer LIF has tau = 2 fixed (train with "
                              "neuron.LIFNode(tau=2.0))",
}
_OTHER_REASONS = {
    nn.AvgPool2d: "average pooling of spikes gives fractions, not spikes; the integer contract pools by OR "
                  "(max): use MaxPool2d or a strided convolution",
    nn.AdaptiveAvgPool2d: "average pooling of spikes gives fractions, not spikes; only the readout may pool "
                          "(global average pooling before the last Linear)",
    nn.Linear: "a Linear layer before the last spike map (a spiking fully-connected layer) is not a layer of the "
               "graph; only the readout (global average pooling + Linear, averaged over T) is. Write a hidden "
               "fully-connected layer as a Conv2d whose kernel covers the map",
}


class ConversionError(UnsupportedError):
    """A model (or a part of it) that the integer contract or the converter cannot express;
    the message names the module path (or the operation) and why."""


def is_leaf(m: nn.Module) -> bool:
    """What the tracer records as one call: neurons, the project's attention modules and every
    module without children (convolutions, BN, pools, activations...)."""
    return isinstance(m, (neuron.BaseNode,) + ATTENTION) or not any(True for _ in m.children())


@dataclass
class Unit:
    """A conv_lif layer's modules (the user's own) and their paths."""
    conv: nn.Conv2d
    bn: nn.BatchNorm2d | None
    attn: nn.Module | None
    lif: neuron.LIFNode
    paths: dict[str, str]


@dataclass
class Lowered:
    layers: list[dict]                               # the layer graph (graph.py format), execution order
    units: dict[str, Unit]                           # conv_lif name -> modules
    pools: dict[str, nn.Module]                      # maxpool_or name -> module
    fc: nn.Linear
    sources: dict[str, dict[str, str]] = field(default_factory=dict)   # layer -> {role: module path or ops}


# =============================================================================== checks of one module
def _pair(v, what: str, path: str) -> int:
    vals = tuple(v) if isinstance(v, (tuple, list)) else (v, v)
    if isinstance(v, str) or len(set(vals)) != 1 or not all(isinstance(i, int) for i in vals):
        raise ConversionError(f"{path}: {what} {v!r}; the core's layers are square with integer {what} "
                              "(one value for both axes)")
    return int(vals[0])


def _check_step_mode(m: nn.Module, path: str) -> None:
    if isinstance(m, StepModule) and getattr(m, "step_mode", "m") != "m":
        raise ConversionError(f"{path} ({type(m).__name__}): step_mode {m.step_mode!r}; convert runs the model once "
                              "on time-major [T, N, C, H, W] input, so every SpikingJelly module must be multi-step "
                              "(functional.set_step_mode(model, 'm'))")


def lif_threshold(m: nn.Module, path: str) -> float:
    """The LIF's threshold if ``m`` is the integer contract's LIF up to the threshold; else refuse, saying why."""
    _check_step_mode(m, path)
    if type(m) is not neuron.LIFNode:
        for cls, why in _NEURON_REASONS.items():
            if isinstance(m, cls):
                raise ConversionError(f"{path} ({type(m).__name__}): {why}")
        raise ConversionError(f"{path} ({type(m).__name__}): only spikingjelly neuron.LIFNode (tau 2, hard reset "
                              "to 0) is the integer LIF of docs/numerics.md section 3; subclasses and other neuron "
                              "models change the dynamics")
    if m.v_reset is None:
        raise ConversionError(f"{path}: soft reset (v_reset=None subtracts the threshold); the integer LIF resets "
                              f"to {LIF_V_RESET:g} (hard reset): use v_reset=0.0")
    if float(m.v_reset) != LIF_V_RESET:
        raise ConversionError(f"{path}: v_reset {m.v_reset:g}; the integer LIF resets to {LIF_V_RESET:g}")
    if not math.isclose(float(m.tau), LIF_TAU, rel_tol=1e-9):
        raise ConversionError(f"{path}: tau {float(m.tau):g}; the integer LIF is h = (v + i) >> 1, i.e. "
                              f"tau = {LIF_TAU:g} (docs/numerics.md section 3)")
    if not m.decay_input:
        raise ConversionError(f"{path}: decay_input=False (h = v + i - v/tau); the integer LIF decays its input too "
                              "(h = (v + i) / 2): use decay_input=True")
    th = float(m.v_threshold)
    if not (th > 0 and math.isfinite(th)):
        raise ConversionError(f"{path}: v_threshold {th:g}; expected a positive threshold (the membrane starts at 0)")
    return th


def _check_conv(m: nn.Module, path: str) -> tuple[int, int, int]:
    _check_step_mode(m, path)
    if not isinstance(m, nn.Conv2d):
        raise ConversionError(f"{path} ({type(m).__name__}): expected a Conv2d before the neuron")
    k = _pair(m.kernel_size, "kernel", path)
    s = _pair(m.stride, "stride", path)
    p = _pair(m.padding, "padding", path)
    if _pair(m.dilation, "dilation", path) != 1:
        raise ConversionError(f"{path}: dilation {m.dilation}; the core's convolutions are not dilated")
    if m.groups != 1:
        raise ConversionError(f"{path}: groups {m.groups}; the core's convolutions are dense (groups=1)")
    if m.padding_mode != "zeros":
        raise ConversionError(f"{path}: padding_mode {m.padding_mode!r}; the integer contract pads with zeros")
    return k, s, p


def _check_bn(m: nn.Module, path: str) -> None:
    _check_step_mode(m, path)
    if not isinstance(m, nn.BatchNorm2d):
        raise ConversionError(f"{path} ({type(m).__name__}): between the Conv2d and the neuron only BatchNorm2d "
                              "and the project's MA/IA attention are allowed")
    if not m.track_running_stats or m.running_mean is None:
        raise ConversionError(f"{path}: BatchNorm2d without running statistics normalises with each batch's "
                              "statistics; the exporter folds fixed statistics into the weights")


def _check_attention(m: nn.Module, path: str) -> None:
    if m.dim == "S":
        raise ConversionError(f"{path}: {S_ATTENTION_REFUSAL}")
    if isinstance(m, InhibitoryAttention):
        th = lif_threshold(m.lif, f"{path}.lif")
        if th != LIF_V_THRESHOLD:
            raise ConversionError(f"{path}.lif: the IA gate's threshold {th:g}; the integer IA fires at "
                                  f"{LIF_V_THRESHOLD:g} (docs/numerics.md section 6)")


def _check_pool(m: nn.Module, path: str) -> tuple[int, int, int]:
    _check_step_mode(m, path)
    k = _pair(m.kernel_size, "kernel", path)
    s = _pair(m.stride if m.stride is not None else m.kernel_size, "stride", path)
    p = _pair(m.padding, "padding", path)
    if _pair(m.dilation, "dilation", path) != 1 or m.ceil_mode or m.return_indices:
        raise ConversionError(f"{path}: MaxPool2d with dilation, ceil_mode or return_indices; the core's OR-pool "
                              "is a plain k x k window with zero padding")
    return k, s, p


def _refuse_module(m: nn.Module, path: str, role: str) -> ConversionError:
    for cls, why in {**_NEURON_REASONS, **_OTHER_REASONS}.items():
        if isinstance(m, cls):
            return ConversionError(f"{path} ({type(m).__name__}): {why}")
    if isinstance(m, neuron.BaseNode):
        try:
            lif_threshold(m, path)
        except ConversionError as e:
            return e
    return ConversionError(f"{path} ({type(m).__name__}) {role}; between layers only spike maps pass (outputs of "
                           "LIFNode, MaxPool2d or a merge), so this module type is not supported there")


def _ops(nodes: list[Node]) -> str:
    names = []
    for n in sorted(nodes, key=lambda n: n.index):
        if n.name not in names:
            names.append(n.name)
    return ", ".join(names[:8]) + (" ..." if len(names) > 8 else "")


def _where(nodes: list[Node]) -> str:
    scopes = sorted({n.path for n in nodes})
    return "in " + ", ".join(s or "<model>.forward" for s in scopes)


# =============================================================================== lowering
# Truth tables (f(0,0), f(0,1), f(1,0), f(1,1)) of the merges, for inputs (a, b).
_MERGES = {(0, 1, 1, 1): ("OR", False), (0, 0, 0, 1): ("AND", False),
           (0, 1, 0, 0): ("IAND", False),       # b & ~a: a is the backbone
           (0, 0, 1, 0): ("IAND", True)}        # a & ~b: b is the backbone


def _sanitize(path: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_.]", "_", path) or "layer"
    return name if re.match(r"[A-Za-z_]", name) else f"l{name}"


class _Lowering:
    def __init__(self, trace: Trace, steps: int, input_spec: dict):
        self.t = trace
        self.steps = steps
        self.spec = input_spec
        self.memo: dict[Key, str] = {}
        self.layers: dict[str, dict] = {}
        self.order: dict[str, int] = {}
        self.units: dict[str, Unit] = {}
        self.pools: dict[str, nn.Module] = {}
        self.sources: dict[str, dict[str, str]] = {}
        self.live = self._live()

    def _live(self) -> set[int]:
        """Indices of the nodes the model's output depends on."""
        seen: set[int] = set()
        stack = [r.key for r in self._output_refs()]
        while stack:
            n = self.t.producer.get(stack.pop())
            if n is not None and n.index not in seen:
                seen.add(n.index)
                stack.extend(n.in_keys)
        return seen

    def _output_refs(self):
        from .trace import Ref
        from torch.utils._pytree import tree_flatten
        leaves, _ = tree_flatten(self.t.output, is_leaf=lambda v: isinstance(v, Ref))
        return [v for v in leaves if isinstance(v, Ref)]

    def _live_consumers(self, k: Key) -> list[Node]:
        return [n for n in self.t.consumers.get(k, []) if n.index in self.live]

    def _shape(self, k: Key) -> list[int]:
        return list(self.t.value(k).shape)

    def _map_shape(self, k: Key, what: str) -> list[int]:
        shape = self._shape(k)
        if len(shape) != 5 or shape[0] != self.steps:
            raise ConversionError(f"{what}: tensor of shape {shape}; expected a time-major spike map "
                                  f"[T={self.steps}, N, C, H, W]")
        return shape[2:]

    def _add(self, name: str, layer: dict, index: int, sources: dict[str, str]) -> str:
        base, i = name, 2
        while name in self.layers or name == INPUT:
            name, i = f"{base}_{i}", i + 1
        layer["name"] = name
        self.layers[name] = layer
        self.order[name] = index
        self.sources[name] = sources
        return name

    # ---------------------------------------------------------------- regions of torch operations
    def _region(self, k: Key) -> tuple[list[Node], list[Key]]:
        """The torch operations (not modules) that computed ``k``, back to tensors written by modules
        or the input (the boundary); parameters and constants are part of the operations."""
        ops: dict[int, Node] = {}
        boundary: list[Key] = []
        stack = [k]
        while stack:
            cur = stack.pop()
            n = self.t.producer.get(cur)
            if cur == self.t.input_key or (n is not None and n.kind == "module") or \
                    (cur != k and n is not None and self._materialised(cur)):
                if cur not in boundary:
                    boundary.append(cur)
            elif n is not None and n.index not in ops:
                ops[n.index] = n
                stack.extend(n.in_keys)
        return list(ops.values()), boundary

    def _materialised(self, k: Key) -> bool:
        """A spike map computed by torch operations that a module also reads (e.g. a SEW block's merge
        output, which is the next block's input and its identity): a layer of its own."""
        v = self.t.value(k)
        return v.dim() == 5 and v.shape[0] == self.steps and bool(((v == 0) | (v == 1)).all()) and \
            any(c.kind == "module" for c in self._live_consumers(k))

    def _replay(self, ops: list[Node], env: dict[Key, torch.Tensor], out: Key) -> torch.Tensor:
        """``out`` recomputed from ``env`` (copies: in-place operations must not change the caller's tensors)."""
        return replay(ops, {k: v.clone() for k, v in env.items()})[out]

    def _is_identity(self, ops: list[Node], src: Key, out: Key) -> bool:
        g = torch.Generator().manual_seed(1)
        for _ in range(2):
            v = self.t.value(src)
            hi = 2 ** self.spec["bits"] if src == self.t.input_key else 2       # the input's range, or spikes
            x = torch.randint(0, hi, v.shape, generator=g).to(v.dtype)
            if src == self.t.input_key:
                x = x * self.spec["scale"]
            y = self._replay(ops, {src: x}, out)
            if not (isinstance(y, torch.Tensor) and y.shape == x.shape and torch.equal(y.to(x.dtype), x)):
                return False
        return True

    def _truth_table(self, ops: list[Node], a: Key, b: Key, out: Key) -> tuple | None:
        va = self.t.value(a)
        g = torch.Generator().manual_seed(2)
        table = None
        for _ in range(3):
            xa = torch.randint(0, 2, va.shape, generator=g).to(va.dtype)
            xb = torch.randint(0, 2, va.shape, generator=g).to(va.dtype)
            fa, fb = xa.view(-1), xb.view(-1)
            if fa.numel() >= 4:
                fa[:4] = torch.tensor([0, 0, 1, 1], dtype=va.dtype)
                fb[:4] = torch.tensor([0, 1, 0, 1], dtype=va.dtype)
            y = self._replay(ops, {a: xa, b: xb}, out)
            if not isinstance(y, torch.Tensor) or y.shape != va.shape:
                return None
            y = y.double()
            tab = []
            for ia, ib in ((0, 0), (0, 1), (1, 0), (1, 1)):
                sel = y[(xa == ia) & (xb == ib)]
                if sel.numel() == 0 or not torch.all(sel == sel[0]):
                    return None                        # not an element-wise function of (a, b)
                tab.append(float(sel[0]))
            tab = tuple(int(v) if float(v).is_integer() else v for v in tab)
            if table is not None and tab != table:
                return None
            table = tab
        return table

    # ---------------------------------------------------------------- spike maps
    def source(self, k: Key, consumer: str) -> str:
        """The layer (or INPUT) whose output is the tensor ``k`` read by ``consumer``."""
        if k == self.t.input_key:
            return INPUT
        if k in self.memo:
            return self.memo[k]
        n = self.t.producer.get(k)
        if n is None:
            raise ConversionError(f"{consumer} reads a tensor that is not computed from the model's input "
                                  "(a parameter or a constant); only spike maps pass between layers")
        if n.kind == "module":
            m, path = n.target, n.path
            if isinstance(m, neuron.BaseNode):
                name = self.unit(n)
            elif isinstance(m, nn.MaxPool2d):
                name = self.pool(n)
            elif isinstance(m, TRANSPARENT):
                name = self.source(n.in_keys[0], f"{path} ({type(m).__name__})")
            else:
                raise _refuse_module(m, path, f"produces the input of {consumer}")
        else:
            name = self.region(k, consumer)
        self.memo[k] = name
        return name

    def region(self, k: Key, consumer: str) -> str:
        ops, boundary = self._region(k)
        where = f"torch operations ({_ops(ops)}) {_where(ops)}"
        if len(boundary) == 0:
            raise ConversionError(f"{consumer} reads {where} that use no spike map")
        if len(boundary) == 1:
            if self._is_identity(ops, boundary[0], k):
                return self.source(boundary[0], consumer)
            src = boundary[0]
            what = "the model's input" if src == self.t.input_key else self.t.producer[src].name
            raise ConversionError(f"{consumer} reads {where} applied to {what}; they change its values, and only "
                                  "spike maps pass between layers (resize, scale or encode the input on the host; "
                                  "pool spikes with MaxPool2d)")
        if len(boundary) > 2:
            raise ConversionError(f"{consumer} reads {where} combining {len(boundary)} tensors; a merge combines two "
                                  "spike maps")
        a, b = sorted(boundary, key=lambda q: self.t.producer[q].index if q in self.t.producer else -1)
        for q in (a, b):
            if q == self.t.input_key:
                raise ConversionError(f"{consumer} reads {where} that combine the model's input with a spike map; "
                                      "a merge combines two spike maps")
        if self._shape(a) != self._shape(b):
            raise ConversionError(f"{consumer} reads {where} combining tensors of shapes {self._shape(a)} and "
                                  f"{self._shape(b)}; a merge combines two spike maps of the same shape")
        table = self._truth_table(ops, a, b, k)
        if table is None:
            raise ConversionError(f"{consumer} reads {where}: on two spike maps they are not an element-wise "
                                  "bitwise function of the two maps; a merge is OR, AND or IAND (docs/numerics.md "
                                  "section 4)")
        if table == (0, 1, 1, 2):
            raise ConversionError(f"{consumer} reads {where}: an ADD merge (1 + 1 = 2): non-binary spikes, so the "
                                  "conv after it would multiply instead of accumulate; use OR, AND or IAND "
                                  "(docs/numerics.md section 4)")
        if table not in _MERGES:
            raise ConversionError(f"{consumer} reads {where}: on spikes (a, b) = (0,0), (0,1), (1,0), (1,1) they "
                                  f"give {table}, which is not OR (0,1,1,1), AND (0,0,0,1) or IAND (0,1,0,0)")
        op, swap = _MERGES[table]
        m, r = (b, a) if swap else (a, b)
        ins = [self.source(m, f"merge {where}"), self.source(r, f"merge {where}")]
        shape = self._map_shape(k, f"merge {where}")
        last = max(ops, key=lambda n: n.index)
        scope = last.path
        layer = dict(kind="merge", op=op, inputs=ins, in_shape=shape, out_shape=shape)
        return self._add(_sanitize(f"{scope}.merge" if scope else "merge"), layer, last.index,
                         dict(ops=f"{_ops(ops)} {_where(ops)}"))

    def pool(self, n: Node) -> str:
        m, path = n.target, n.path
        k, s, p = _check_pool(m, path)
        src = self.source(n.in_keys[0], f"{path} (MaxPool2d)")
        if src == INPUT:
            raise ConversionError(f"{path}: max-pooling the model's input; the core's first layer is a convolution "
                                  "of the input (pool the input on the host)")
        in_shape = self._map_shape(n.in_keys[0], path)
        out_shape = self._map_shape(n.out_keys[0], path)
        c, h, w = in_shape
        if out_shape != [c, conv_out_size(h, k, s, p), conv_out_size(w, k, s, p)]:
            raise ConversionError(f"{path}: output {out_shape} from {in_shape} is not a k={k} s={s} p={p} max-pool")
        name = self._add(_sanitize(path), dict(kind="maxpool_or", inputs=[src], in_shape=in_shape,
                                               out_shape=out_shape, kernel=k, stride=s, padding=p),
                         n.index, dict(pool=path))
        self.pools[name] = m
        return name

    def unit(self, lif_node: Node) -> str:
        lif, lpath = lif_node.target, lif_node.path
        lif_threshold(lif, lpath)
        if self.t.calls.get(id(lif), 0) > 1:
            raise ConversionError(f"{lpath}: this neuron module is called {self.t.calls[id(lif)]} times in one "
                                  "forward pass; its membrane carries over from one call to the next, so give every "
                                  "layer its own neuron")
        chain: list[Node] = []
        k = lif_node.in_keys[0]
        while True:
            n = self.t.producer.get(k)
            if n is None or k == self.t.input_key:
                raise ConversionError(f"{lpath}: its input is the model's input; a spiking layer is Conv2d -> "
                                      "[BatchNorm2d] -> [attention] -> LIFNode")
            if n.kind == "op":
                ops, _ = self._region(k)
                raise ConversionError(f"{lpath}: its input current comes from torch operations ({_ops(ops)}) "
                                      f"{_where(ops)}; a spiking layer is Conv2d -> [BatchNorm2d] -> [MA/IA attention] "
                                      "-> LIFNode with nothing else on the current (adding the currents of two "
                                      "convolutions before one neuron, as vanilla Spiking ResNet does, is not in the "
                                      "integer contract: each conv_lif has one synaptic input)")
            users = self._live_consumers(k)
            if len(users) > 1:
                raise ConversionError(f"{n.path}: its output current feeds {len(users)} consumers "
                                      f"({', '.join(u.name for u in users)}); in a spiking layer the current goes "
                                      "only to its neuron")
            chain.insert(0, n)
            if isinstance(n.target, nn.Conv2d) or not isinstance(n.target, (nn.BatchNorm2d,) + ATTENTION):
                break
            k = n.in_keys[0]
        conv_n = chain[0]
        attn_n = next((c for c in chain if isinstance(c.target, ATTENTION)), None)
        bn_n = next((c for c in chain if isinstance(c.target, nn.BatchNorm2d)), None)
        bad = next((c for c in chain if not isinstance(c.target, (nn.Conv2d, nn.BatchNorm2d) + ATTENTION)), None)
        if bad is not None:
            raise _refuse_module(bad.target, bad.path, f"feeds the neuron {lpath} (a spiking layer is Conv2d -> "
                                                       "[BatchNorm2d] -> [MA/IA attention] -> LIFNode)")
        roles = [c.target for c in chain]
        expected = [conv_n.target] + ([bn_n.target] if bn_n else []) + ([attn_n.target] if attn_n else [])
        if not isinstance(conv_n.target, nn.Conv2d) or roles != expected:
            raise ConversionError(f"{lpath}: its current passes {' -> '.join(c.name for c in chain)}; a spiking "
                                  "layer is Conv2d -> [BatchNorm2d] -> [MA/IA attention] -> LIFNode")
        kk, s, p = _check_conv(conv_n.target, conv_n.path)
        if bn_n is not None:
            _check_bn(bn_n.target, bn_n.path)
        if attn_n is not None:
            _check_attention(attn_n.target, attn_n.path)
            if float(lif.v_threshold) != LIF_V_THRESHOLD:
                raise ConversionError(f"{lpath}: v_threshold {float(lif.v_threshold):g} after attention "
                                      f"{attn_n.path}; the threshold is folded into the current's scale, which the "
                                      "attention's pooled MLP would see: use v_threshold=1.0 with attention")
        cname = f"{conv_n.path} ({type(conv_n.target).__name__})"
        src = self.source(conv_n.in_keys[0], cname)
        in_shape = self._map_shape(conv_n.in_keys[0], cname)
        out_shape = self._map_shape(lif_node.out_keys[0], lpath)
        c, h, w = in_shape
        if out_shape != [conv_n.target.out_channels, conv_out_size(h, kk, s, p), conv_out_size(w, kk, s, p)]:
            raise ConversionError(f"{lpath}: output {out_shape} is not what {conv_n.path} makes of {in_shape}")
        paths = {"conv": conv_n.path, "lif": lpath}
        if bn_n is not None:
            paths["bn"] = bn_n.path
        if attn_n is not None:
            paths["attention"] = attn_n.path
        layer = dict(kind="conv_lif", inputs=[src], in_shape=in_shape, out_shape=out_shape, kernel=kk, stride=s,
                     padding=p)
        name = self._add(f"\0{lif_node.index}", layer, lif_node.index, paths)
        self.units[name] = Unit(conv_n.target, bn_n.target if bn_n else None,
                                attn_n.target if attn_n else None, lif, paths)
        return name

    # ---------------------------------------------------------------- readout
    def head(self) -> tuple[str, nn.Linear, dict]:
        outs = self._output_refs()
        if len(outs) != 1:
            raise ConversionError(f"the model returns {len(outs)} tensors; expected one [N, classes] score tensor")
        out = outs[0].key
        shape = self._shape(out)
        per_step = len(shape) == 3 and shape[0] == self.steps      # SpikingJelly's own models: [T, N, classes]
        if len(shape) != 2 and not per_step:
            raise ConversionError(f"the model returns a tensor of shape {shape}; expected scores [N, classes] "
                                  f"(the readout averaged over T) or per-step scores [T={self.steps}, N, classes]")
        nodes: dict[int, Node] = {}
        stops: list[Key] = []
        stack = [out]
        while stack:
            k = stack.pop()
            if k == self.t.input_key:
                raise ConversionError("the scores depend on the model's input directly; the readout must read the "
                                      "last spike map only")
            n = self.t.producer.get(k)
            if n is None:
                continue
            v = self.t.value(k)
            pooled = n.kind == "module" and isinstance(n.target, HEAD_MODULES)    # e.g. average pool of a 1x1 map
            if k != out and not pooled and v.dim() == 5 and v.shape[0] == self.steps and \
                    bool(((v == 0) | (v == 1)).all()):
                if k not in stops:
                    stops.append(k)
                continue
            if n.kind == "module" and isinstance(n.target, neuron.BaseNode):
                raise ConversionError(f"{n.name}: a neuron in the readout (after the last spike map: a spiking "
                                      "fully-connected layer, Linear -> neuron); the fc layer is global average "
                                      "pooling + Linear, averaged over T, without a neuron. Write a hidden "
                                      "fully-connected layer as a Conv2d whose kernel covers the map")
            if n.kind == "module" and not isinstance(n.target, HEAD_MODULES):
                raise _refuse_module(n.target, n.path, "is part of the readout (after the last spike map); the "
                                     "readout is global average pooling + Linear, averaged over T")
            if n.index not in nodes:
                nodes[n.index] = n
                stack.extend(n.in_keys)
        if len(stops) != 1:
            raise ConversionError(f"the readout reads {len(stops)} spike maps; it must read exactly one (the last "
                                  "spike map) through global average pooling + Linear")
        s = stops[0]
        linears = [n for n in nodes.values() if n.kind == "module" and isinstance(n.target, nn.Linear)]
        if len(linears) != 1:
            raise ConversionError(f"the readout has {len(linears)} Linear layers "
                                  f"({', '.join(n.path for n in linears) or 'none'}); expected one: "
                                  "global average pooling + Linear, averaged over T")
        lin = linears[0].target
        _check_step_mode(lin, linears[0].path)
        v = self.t.value(s)
        g = torch.Generator().manual_seed(3)
        for _ in range(3):
            x = torch.randint(0, 2, v.shape, generator=g).to(v.dtype)
            got = self._replay(list(nodes.values()), {s: x}, out)
            if x.shape[2] != lin.in_features:
                ok = False
            else:
                want = F.linear(x.mean(dim=(3, 4)), lin.weight.detach(), None if lin.bias is None else lin.bias.detach())
                want = want if per_step else want.mean(dim=0)
                ok = got.shape == want.shape and torch.allclose(got.double(), want.double(), rtol=1e-4,
                                                                atol=1e-5 * (1 + float(want.abs().max())))
            if not ok:
                raise ConversionError(
                    f"the readout ({_ops(list(nodes.values()))}) is not global average pooling + Linear averaged "
                    f"over T: on spike maps s [T, N, C, H, W] it must compute {linears[0].path}(s.mean((3, 4)))"
                    f"{'' if per_step else '.mean(0)'} (the fc layer of docs/numerics.md section 5; e.g. "
                    "AdaptiveAvgPool2d(1) + Flatten(2) + Linear" + ("" if per_step else " + mean over T") + ")")
        src = self.source(s, f"{linears[0].path} (readout)")
        if src == INPUT:
            raise ConversionError("the readout reads the model's input; it must read the last spike map")
        return _sanitize(linears[0].path), lin, dict(fc=linears[0].path, ops=_ops(list(nodes.values()))), src


def lower(trace: Trace, steps: int, input_spec: dict) -> Lowered:
    """The layer graph of a recorded forward pass (see the module doc); :class:`ConversionError` otherwise."""
    lw = _Lowering(trace, steps, input_spec)
    fc_name, fc, fc_sources, fc_src = lw.head()
    names = sorted(lw.layers, key=lambda n: lw.order[n])
    readers = [n for n in names if INPUT in lw.layers[n]["inputs"]]
    if len(readers) != 1 or lw.layers[readers[0]]["kind"] != "conv_lif" or readers[0] != names[0]:
        raise ConversionError(
            f"the model's input is read by {len(readers)} layers "
            f"({', '.join(lw.sources[n].get('conv', n) for n in readers)}); the core streams the input once into "
            "exactly one convolution (the encoder), the first layer")
    if fc_src != names[-1]:      # every layer is an ancestor of the readout's map, so this cannot happen
        raise AssertionError(f"readout reads {fc_src}, but {names[-1]} is computed last")
    return _finish(lw, names, fc_name, fc, fc_sources)


def _finish(lw: _Lowering, names: list[str], fc_name: str, fc: nn.Linear, fc_sources: dict) -> Lowered:
    """Name the conv_lif layers after their modules and put the layer list together.

    A conv_lif is named after the module that holds its conv, BN, attention and neuron and no
    other layer's (e.g. ``stem`` for ``stem.conv`` / ``stem.bn`` / ``stem.lif``), else after its conv."""
    prefixes: dict[str, str] = {}
    for n in names:
        if n.startswith("\0"):
            parts = [p.split(".") for p in lw.units[n].paths.values()]
            common = []
            for seg in zip(*parts):
                if len(set(seg)) != 1:
                    break
                common.append(seg[0])
            prefixes[n] = ".".join(common)
    taken = {n for n in names if not n.startswith("\0")} | {INPUT}
    final: dict[str, str] = {n: n for n in names if not n.startswith("\0")}
    for n in names:
        if n in final:
            continue
        pre = prefixes[n]
        unique = pre and sum(1 for p in prefixes.values() if p == pre) == 1
        base = _sanitize(pre if unique else lw.units[n].paths["conv"])
        new, i = base, 2
        while new in taken:
            new, i = f"{base}_{i}", i + 1
        taken.add(new)
        final[n] = new
    layers = []
    for n in names:
        l = dict(lw.layers[n])
        l["name"] = final[n]
        l["inputs"] = [final.get(i, i) for i in l["inputs"]]
        layers.append(l)
    name, i = fc_name, 2
    while name in taken:
        name, i = f"{fc_name}_{i}", i + 1
    layers.append(dict(name=name, kind="fc", inputs=[layers[-1]["name"]], in_shape=list(layers[-1]["out_shape"]),
                       out_shape=[fc.out_features]))
    return Lowered(layers, {final[n]: u for n, u in lw.units.items()}, {final[n]: p for n, p in lw.pools.items()},
                   fc, {**{final[n]: s for n, s in lw.sources.items()}, name: fc_sources})
