"""NIR interchange (docs/nir.md): our models out to NIR, feed-forward NIR graphs in to a bundle.

- :func:`export_nir` writes a float model whose layer graph is ``graph.build_graph``'s
  (SynAResNet with OR/AND/IAND/ADD merges, no attention; or an imported
  :class:`ChainNet`) as a ``nir.NIRGraph``: BN folded into ``nir.Conv2d`` biases, the
  paper's LIF as ``nir.LIF``, the bitwise merges and the OR max-pool as sums followed by
  ``nir.Threshold``. What NIR cannot carry is refused with :class:`NIRError`.
- :func:`import_nir` reads a feed-forward chain of ``Conv2d`` / ``Linear`` / ``Affine`` /
  ``Flatten`` / ``LIF`` / ``CubaLIF`` nodes (as snnTorch, Norse, Sinabs, Rockpool and
  SpikingJelly write them) into a :class:`ChainNet` that ``export.write_bundle`` quantises
  like any of our models, where the neurons are equivalent to our tau-2 LIF.
- :func:`run_nir` simulates a NIR graph in float (nirtorch wiring, the NIR equations
  discretised with forward Euler at ``dt``, as SpikingJelly and snnTorch do), the
  independent check of both directions.
- :func:`nir_to_bundle` = import + write_bundle; ``python -m model_export.nir_io`` has
  ``import`` and ``export`` commands.
"""
from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path

import nir
import nirtorch
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from spikingjelly.activation_based import functional

from syna_contract.graph import INPUT, build_graph
from .model import LIF_TAU, LIF_V_RESET, LIF_V_THRESHOLD, ConvUnit
from syna_contract.numerics import conv_out_size

DEFAULT_DT = 1e-4          # what SpikingJelly and snnTorch assume when they write NIR
REL_TOL = 1e-6


class NIRError(ValueError):
    """A NIR graph (or model) that cannot cross between NIR and our layer graph; says what and why."""


# =============================================================================== imported model
@dataclass(frozen=True)
class ChainConfig:
    """A plain feed-forward chain: ``conv_lif`` layers and one ``fc``. Its layer list is its config."""

    steps: int
    in_channels: int
    height: int
    width: int
    num_classes: int
    chain: tuple[dict, ...]
    spiking_output: bool = False     # the graph ended with a neuron: scores are output spike counts

    def to_dict(self) -> dict:
        return dict(arch=ChainNet.arch, steps=self.steps, in_channels=self.in_channels, height=self.height,
                    width=self.width, num_classes=self.num_classes, chain=[dict(l) for l in self.chain],
                    spiking_output=self.spiking_output)

    @classmethod
    def from_dict(cls, d: dict) -> "ChainConfig":
        d = {k: v for k, v in d.items() if k != "arch"}
        d["chain"] = tuple(d["chain"])
        return cls(**d)


class ChainNet(nn.Module):
    """conv - BN - LIF units in a chain, then global average pool + FC (our head), multi-step.

    A unit's BN holds the imported per-channel scale and bias, not statistics:
    ``y = gamma * conv(x) + beta`` (eps 0, running mean 0, variance 1), and stays in
    eval mode (``train()`` does not change it), so the quantiser folds it exactly."""

    arch = "nir-chain"

    def __init__(self, config: ChainConfig):
        super().__init__()
        self.config = config
        convs = [l for l in config.chain if l["kind"] == "conv_lif"]
        self.units = nn.ModuleDict()
        for l in convs:
            unit = ConvUnit(l["in_shape"][0], l["out_shape"][0], l["kernel"], l["stride"], l["padding"])
            unit.bn.eps = 0.0
            self.units[l["name"]] = unit
        self.fc = nn.Linear(convs[-1]["out_shape"][0], config.num_classes)
        self.eval()

    def train(self, mode: bool = True) -> "ChainNet":
        super().train(mode)
        for u in self.units.values():
            u.bn.eval()
        return self

    def conv_units(self) -> dict[str, ConvUnit]:
        return dict(self.units.items())

    def export_refusal(self) -> str | None:
        return None                      # import_nir refused whatever the integer contract cannot run

    def check_input(self, x: torch.Tensor) -> None:
        c = self.config
        expected = (c.steps, c.in_channels, c.height, c.width)
        if x.dim() != 5 or (x.shape[0], *x.shape[2:]) != expected:
            raise ValueError(f"input shape {tuple(x.shape)}; expected [T={c.steps}, N, C={c.in_channels}, "
                             f"H={c.height}, W={c.width}] (time-major)")

    def spiking_features(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        functional.reset_net(self)
        for unit in self.units.values():
            x = unit(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.spiking_features(x).mean(dim=(3, 4))).mean(dim=0)

    def lif_layers(self) -> dict:
        return {name: u.lif for name, u in self.units.items()}


# =============================================================================== import
def _read(graph) -> nir.NIRGraph:
    if isinstance(graph, (str, Path)):
        path = Path(graph)
        if not path.is_file():
            raise NIRError(f"{path}: NIR file not found")
        try:
            return nir.read(path)
        except Exception as e:               # h5py / nir raise many types for a bad file
            raise NIRError(f"{path}: not a readable NIR file ({type(e).__name__}: {e})") from None
    if not isinstance(graph, nir.NIRGraph):
        raise NIRError(f"expected a nir.NIRGraph or a path to a .nir file; got {type(graph).__name__}")
    return graph


def _chain(graph: nir.NIRGraph) -> list[tuple[str, nir.NIRNode]]:
    """The nodes from Input to Output, refusing anything but a single feed-forward path."""
    succ: dict[str, list[str]] = {n: [] for n in graph.nodes}
    pred: dict[str, list[str]] = {n: [] for n in graph.nodes}
    for a, b in graph.edges:
        if a not in graph.nodes or b not in graph.nodes:
            raise NIRError(f"edge {a!r} -> {b!r} names a node the graph does not have")
        succ[a].append(b)
        pred[b].append(a)
    inputs = [n for n, v in graph.nodes.items() if isinstance(v, nir.Input)]
    outputs = [n for n, v in graph.nodes.items() if isinstance(v, nir.Output)]
    if len(inputs) != 1 or len(outputs) != 1:
        raise NIRError(f"the graph has inputs {inputs} and outputs {outputs}; expected exactly one of each")
    for name, node in graph.nodes.items():
        if isinstance(node, nir.NIRGraph):
            raise NIRError(f"node {name!r} is a nested subgraph; import a flat graph (nested graphs, e.g. "
                           "recurrent blocks, are not feed-forward chains)")
        if name != inputs[0] and len(pred[name]) != 1:
            raise NIRError(f"node {name!r} has {len(pred[name])} inputs {pred[name]}; only feed-forward chains "
                           "(one input and one output per node) are imported: residual, merging or recurrent "
                           "graphs are not")
        if name != outputs[0] and len(succ[name]) != 1:
            raise NIRError(f"node {name!r} feeds {len(succ[name])} nodes {succ[name]}; only feed-forward chains "
                           "(one input and one output per node) are imported")
    order, name, seen = [], inputs[0], set()
    while True:
        if name in seen:
            raise NIRError(f"the graph has a cycle through {name!r}; recurrent graphs are not imported")
        seen.add(name)
        order.append((name, graph.nodes[name]))
        if name == outputs[0]:
            break
        name = succ[name][0]
    unused = sorted(set(graph.nodes) - seen)
    if unused:
        raise NIRError(f"nodes {unused} are not on the path from {inputs[0]!r} to {outputs[0]!r}")
    return order


def _pair(value, what: str, node: str) -> int:
    """A square 2-d parameter (kernel, stride, padding) as one int."""
    arr = np.atleast_1d(np.asarray(value)).astype(np.int64)
    if arr.size not in (1, 2) or arr.min() != arr.max():
        raise NIRError(f"node {node!r}: {what} {arr.tolist()}; our layers are square (one {what} for both axes)")
    return int(arr[0])


def _per_channel(value, out_shape: list[int], what: str, node: str) -> np.ndarray:
    """A neuron parameter as one value per output channel (it may not vary over H x W)."""
    c, h, w = out_shape
    arr = np.asarray(value, dtype=np.float64)
    if arr.size == c * h * w:
        arr = arr.reshape(c, h, w)
    elif arr.size == c:
        arr = arr.reshape(c, 1, 1)
    elif arr.size == 1:
        arr = arr.reshape(1, 1, 1)
    else:
        raise NIRError(f"node {node!r}: {what} has {arr.size} values; expected 1, {c} (channels) or "
                       f"{c * h * w} (= {c}x{h}x{w} neurons)")
    arr = np.broadcast_to(arr, (c, h, w))
    if not np.all(np.isfinite(arr)):
        raise NIRError(f"node {node!r}: {what} has non-finite values")
    spread = arr.max(axis=(1, 2)) - arr.min(axis=(1, 2))
    if np.any(spread > REL_TOL * np.maximum(1.0, np.abs(arr).max(axis=(1, 2)))):
        ch = int(np.argmax(spread))
        raise NIRError(f"node {node!r}: {what} varies over the {h}x{w} positions of channel {ch}; our layer has "
                       "one value per output channel")
    return arr[:, 0, 0].copy()


def _span(a: np.ndarray) -> str:
    lo, hi = float(np.min(a)), float(np.max(a))
    return f"{lo:g}" if lo == hi else f"{lo:g}..{hi:g}"


def _close(a: np.ndarray, b: float) -> bool:
    return bool(np.all(np.abs(a - b) <= REL_TOL * max(1.0, abs(b))))


def _neuron_scale(name: str, node, out_shape: list[int], dt: float) -> tuple[np.ndarray, np.ndarray]:
    """(gain, offset) per channel such that our LIF on ``gain * I + offset`` (threshold 1, tau 2, hard
    reset to 0) is the NIR neuron on its input current ``I``; refuses non-equivalent neurons."""
    if isinstance(node, nir.CubaLIF):
        tau_syn = _per_channel(node.tau_syn, out_shape, "tau_syn", name) / dt
        if not _close(tau_syn, 1.0):
            raise NIRError(f"node {name!r}: CubaLIF with tau_syn/dt = {_span(tau_syn)} filters "
                           "its input current over time; our LIF has no synaptic state, so it is equivalent only "
                           "when tau_syn = dt (the current is the input of the same step)")
        tau = _per_channel(node.tau_mem, out_shape, "tau_mem", name)
        r = _per_channel(node.r, out_shape, "r", name) * _per_channel(node.w_in, out_shape, "w_in", name)
    elif isinstance(node, nir.LIF):
        tau = _per_channel(node.tau, out_shape, "tau", name)
        r = _per_channel(node.r, out_shape, "r", name)
    else:
        raise AssertionError(type(node))
    ratio = tau / dt
    if not _close(ratio, LIF_TAU):
        raise NIRError(
            f"node {name!r}: tau/dt = {_span(ratio)} (tau {_span(tau)} s, dt {dt:g} s); our "
            f"integer LIF is h = (v + i) / 2, i.e. tau = {LIF_TAU:g} dt. Pass the dt the graph was written with "
            f"(dt=...), or train with tau = 2 dt (snnTorch beta = 0.5, SpikingJelly tau = 2, Norse "
            f"tau_mem_inv = 1 / (2 dt))")
    v_reset = _per_channel(node.v_reset, out_shape, "v_reset", name)
    if not _close(v_reset, LIF_V_RESET):
        raise NIRError(f"node {name!r}: v_reset {_span(v_reset)}; our LIF resets to "
                       f"{LIF_V_RESET:g} (hard reset to zero)")
    theta = _per_channel(node.v_threshold, out_shape, "v_threshold", name)
    if np.any(theta <= 0):
        raise NIRError(f"node {name!r}: v_threshold {_span(theta)}; expected > 0 (the membrane starts at 0)")
    v_leak = _per_channel(node.v_leak, out_shape, "v_leak", name)
    # v <- v + (dt/tau)(v_leak - v + r I) = (v + r I + v_leak) / 2; divided by theta: threshold 1.
    return r / theta, v_leak / theta


_REFUSED_NODES = {
    nir.IF: "IF neurons do not leak; our LIF halves the membrane every step (tau = 2 dt)",
    nir.LI: "a leaky integrator (no spikes) as readout: our head sums the readout over T without leak; "
            "use an Affine readout",
    nir.CubaLI: "a current-based leaky integrator (no spikes) as readout; use an Affine readout",
    nir.I: "an integrator (no spikes) as readout; use an Affine readout",
    nir.SumPool2d: "sum-pooling of spikes gives counts 0..k*k, not spikes; the integer contract pools by OR "
                   "(max); retrain with max-pooling or strided convolutions",
    nir.AvgPool2d: "average pooling of spikes gives fractions, not spikes; the integer contract pools by OR "
                   "(max); retrain with max-pooling or strided convolutions",
    nir.Threshold: "a memoryless threshold is not our LIF (which keeps its membrane between steps)",
    nir.Scale: "a stand-alone Scale node; fold it into the preceding weights before export",
    nir.Delay: "synaptic delays are not in the integer contract",
    nir.Conv1d: "1-d convolutions; the core runs 2-d convolutions",
}


def import_nir(graph, steps: int, dt: float = DEFAULT_DT, dtype: torch.dtype = torch.float32) -> ChainNet:
    """A feed-forward NIR graph as a :class:`ChainNet` (float, eval mode) for ``steps`` time steps.

    Accepted: ``Input -> (Conv2d | [Flatten] Linear | [Flatten] Affine) -> (LIF | CubaLIF) -> ... ->
    [Linear | Affine] -> Output``; the last synapse without a neuron is the readout (our FC head),
    and a graph ending on a neuron is read out by its spike counts. Refused with :class:`NIRError`
    (saying why): anything else, neurons not equivalent to our tau-2 LIF (docs/nir.md). The neuron
    parameters are folded into the units (gain ``r / v_threshold`` and offset ``v_leak / v_threshold``,
    computed in float64), then stored in ``dtype``."""
    if not (isinstance(steps, int) and steps >= 1):
        raise NIRError(f"steps {steps!r}; expected a positive number of time steps")
    if not (dt > 0 and math.isfinite(dt)):
        raise NIRError(f"dt {dt!r}; expected a positive time step in seconds")
    order = _chain(_read(graph))
    in_name, in_node = order[0]
    shape = [int(s) for s in np.asarray(in_node.input_type["input"]).ravel()]
    if len(shape) == 1:
        shape = [shape[0], 1, 1]
    if len(shape) != 3 or min(shape) < 1:
        raise NIRError(f"input node {in_name!r} has shape {shape}; expected [C, H, W] or [features]")
    in_c, in_h, in_w = shape
    layers: list[dict] = []
    params: dict[str, dict] = {}
    pending = None                     # the synapse waiting for its neuron: dict(weight, bias, k, s, p, node)
    flat = False
    src = INPUT

    def synapse_after_flatten(name, weight, bias):
        c, h, w = shape
        if weight.shape[1] != c * h * w:
            raise NIRError(f"node {name!r}: weight takes {weight.shape[1]} inputs; the previous layer gives "
                           f"{c}x{h}x{w} = {c * h * w}")
        if h != w:
            raise NIRError(f"node {name!r}: a linear layer over a {h}x{w} map becomes a {h}x{w} convolution; "
                           "our layers have square kernels")
        return dict(weight=weight.reshape(weight.shape[0], c, h, w), bias=bias, k=h, s=1, p=0, node=name)

    for name, node in order[1:]:
        kind = type(node)
        if kind in _REFUSED_NODES:
            raise NIRError(f"node {name!r} ({kind.__name__}): {_REFUSED_NODES[kind]}")
        if isinstance(node, nir.Output):
            break
        if isinstance(node, (nir.Conv2d, nir.Linear, nir.Affine)) and pending is not None:
            raise NIRError(f"node {name!r} follows synapse {pending['node']!r} without a neuron between them; "
                           "compose the two linear maps first")
        if isinstance(node, nir.Conv2d):
            if flat:
                raise NIRError(f"node {name!r}: a convolution after Flatten")
            w = np.asarray(node.weight, dtype=np.float64)
            if w.ndim != 4 or w.shape[1] != shape[0]:
                raise NIRError(f"node {name!r}: weight shape {list(w.shape)}; expected [Cout, {shape[0]}, k, k]")
            if _pair(node.groups, "groups", name) != 1 or _pair(node.dilation, "dilation", name) != 1:
                raise NIRError(f"node {name!r}: grouped or dilated convolution; the core runs plain ones")
            k = _pair(w.shape[2:], "kernel", name)
            s = _pair(node.stride, "stride", name)
            if isinstance(node.padding, str):
                if node.padding == "valid":
                    p = 0
                elif node.padding == "same" and s == 1 and k % 2 == 1:
                    p = k // 2
                else:
                    raise NIRError(f"node {name!r}: padding {node.padding!r} with kernel {k}, stride {s}")
            else:
                p = _pair(node.padding, "padding", name)
            bias = np.zeros(w.shape[0]) if node.bias is None else np.asarray(node.bias, np.float64).ravel()
            pending = dict(weight=w, bias=bias, k=k, s=s, p=p, node=name)
        elif isinstance(node, (nir.Linear, nir.Affine)):
            w = np.asarray(node.weight, dtype=np.float64)
            if w.ndim != 2:
                raise NIRError(f"node {name!r}: weight shape {list(w.shape)}; expected [out, in]")
            bias = np.zeros(w.shape[0]) if isinstance(node, nir.Linear) else np.asarray(node.bias, np.float64).ravel()
            if not flat and shape[1:] != [1, 1]:
                raise NIRError(f"node {name!r}: a linear layer on a {shape[1]}x{shape[2]} map without Flatten")
            pending = synapse_after_flatten(name, w, bias)
        elif isinstance(node, nir.Flatten):
            ndim = 3
            start = node.start_dim % ndim if node.start_dim < 0 else node.start_dim
            end = node.end_dim % ndim if node.end_dim < 0 else node.end_dim
            if pending is not None or (start, end) != (0, ndim - 1):
                raise NIRError(f"node {name!r}: Flatten of dims {node.start_dim}..{node.end_dim} "
                               f"{'after a synapse' if pending is not None else ''}; only a full flatten of a "
                               "neuron layer's [C, H, W] output is imported")
            flat = True
        elif isinstance(node, (nir.LIF, nir.CubaLIF)):
            if pending is None:
                raise NIRError(f"node {name!r}: a neuron must follow a Conv2d, Linear or Affine (our layers are "
                               "synapse + LIF)")
            cout = pending["weight"].shape[0]
            out = [cout, conv_out_size(shape[1], pending["k"], pending["s"], pending["p"]),
                   conv_out_size(shape[2], pending["k"], pending["s"], pending["p"])]
            if min(out) < 1:
                raise NIRError(f"node {pending['node']!r}: output size {out} from input {shape}")
            gain, offset = _neuron_scale(name, node, out, dt)
            lname = "stem" if not layers else f"c{len(layers)}"
            layers.append(dict(name=lname, kind="conv_lif", inputs=[src], in_shape=list(shape), out_shape=out,
                               kernel=pending["k"], stride=pending["s"], padding=pending["p"]))
            params[lname] = dict(weight=pending["weight"], gamma=gain, beta=gain * pending["bias"] + offset,
                                 nir_nodes=[pending["node"], name])
            src, shape, pending, flat = lname, out, None, False
        else:
            raise NIRError(f"node {name!r}: NIR node type {kind.__name__} is not imported (accepted: Conv2d, "
                           "Linear, Affine, Flatten, LIF, CubaLIF)")
    if not layers:
        raise NIRError("the graph has no synapse + neuron layer; nothing to run on the core")
    c, h, w = shape
    if pending is not None:                                  # a readout synapse without a neuron: our FC
        if pending["weight"].shape[1:] != (c, 1, 1):
            raise NIRError(f"node {pending['node']!r}: a readout over a {h}x{w} map; our head pools globally, so "
                           "the readout must read a 1x1 map (or a vector): end the chain with a neuron layer "
                           "or a linear layer with a neuron first")
        fc_w, fc_b, classes, spiking = pending["weight"][:, :, 0, 0], pending["bias"], pending["weight"].shape[0], False
    else:                                                    # ends with a neuron: spike counts
        fc_w, fc_b, classes, spiking = np.eye(c), np.zeros(c), c, True
    layers.append(dict(name="fc", kind="fc", inputs=[src], in_shape=list(shape), out_shape=[classes]))
    config = ChainConfig(steps, in_c, in_h, in_w, classes, tuple(layers), spiking)
    model = ChainNet(config).to(dtype)
    with torch.no_grad():
        for lname, p in params.items():
            unit = model.units[lname]
            unit.conv.weight.copy_(torch.from_numpy(p["weight"]))
            unit.bn.weight.copy_(torch.from_numpy(p["gamma"]))
            unit.bn.bias.copy_(torch.from_numpy(p["beta"]))
            unit.bn.running_mean.zero_()
            unit.bn.running_var.fill_(1.0)
        model.fc.weight.copy_(torch.from_numpy(fc_w))
        model.fc.bias.copy_(torch.from_numpy(fc_b))
    model.nir_nodes = {lname: p["nir_nodes"] for lname, p in params.items()}
    return model.eval()


# =============================================================================== export
def _fold(unit: ConvUnit) -> tuple[np.ndarray, np.ndarray]:
    from .quant import fold_bn
    w, b = fold_bn(unit)
    return w.detach().numpy(), b.detach().numpy()


def _export_refusal(model: nn.Module) -> str | None:
    from .model import SynAResNet
    from .zoo import arch_of
    if isinstance(model, ChainNet):
        return None
    if not isinstance(model, SynAResNet) or arch_of(model) != "syna-resnet":
        return (f"NIR export walks the bundle's layer graph (graph.py), which only SynAResNet (OR/SEW merges) "
                f"and imported chains have; {arch_of(model) if isinstance(model, SynAResNet) else type(model).__name__} "
                "is not exported (not implemented)")
    cfg = model.config
    if cfg.attention is not None:
        return ("SynA attention (MA/IA) pools a layer's currents over all T steps before any spike of that layer "
                "(non-causal) and gates them through an MLP; a NIR node's dynamics are causal, step by step, and "
                "NIR has no pooling over time: export an OR/SEW model without attention")
    if cfg.input_pool:
        return (f"adaptive average pooling of the input to {cfg.input_pool}x{cfg.input_pool} has no fixed kernel; "
                "resize the input on the host")
    return None


def export_nir(model: nn.Module, path: str | Path | None = None, dt: float = DEFAULT_DT,
               dtype=np.float32) -> nir.NIRGraph:
    """The float model as a NIR graph (written to ``path`` if given). Input: the float input
    (integer input times the bundle's ``input.scale``), one step at a time; output: the FC
    scores of that step (our model averages them over T)."""
    reason = _export_refusal(model)
    if reason is not None:
        raise NIRError(reason)
    from .quant import conv_units
    model = model.eval()
    layers = build_graph(model.config)
    units = conv_units(model)
    steps_shape = layers[0]["in_shape"]
    nodes: dict[str, nir.NIRNode] = {"input": nir.Input(input_type=np.array(steps_shape))}
    edges: list[tuple[str, str]] = []
    exits: dict[str, list[str]] = {INPUT: ["input"]}

    def arr(x):
        return np.asarray(x, dtype=dtype)

    def connect(sources: list[str], target: str):
        edges.extend((e, target) for src in sources for e in exits[src])

    for l in layers:
        name, kind, out = l["name"], l["kind"], l["out_shape"]
        if kind == "conv_lif":
            w, b = _fold(units[name])
            k, s, p = l["kernel"], l["stride"], l["padding"]
            nodes[f"{name}.conv"] = nir.Conv2d(input_shape=tuple(l["in_shape"][1:]), weight=arr(w), stride=(s, s),
                                               padding=(p, p), dilation=(1, 1), groups=1, bias=arr(b))
            nodes[f"{name}.lif"] = nir.LIF(tau=arr(np.full(out, LIF_TAU * dt)), r=arr(np.ones(out)),
                                           v_leak=arr(np.zeros(out)), v_threshold=arr(np.full(out, LIF_V_THRESHOLD)),
                                           v_reset=arr(np.full(out, LIF_V_RESET)))
            connect(l["inputs"], f"{name}.conv")
            edges.append((f"{name}.conv", f"{name}.lif"))
            exits[name] = [f"{name}.lif"]
        elif kind == "maxpool_or":              # OR over the window = (sum of the window's spikes) > 0.5
            k, s, p = l["kernel"], l["stride"], l["padding"]
            nodes[f"{name}.sum"] = nir.SumPool2d(kernel_size=np.array([k, k]), stride=np.array([s, s]),
                                                 padding=np.array([p, p]))
            nodes[f"{name}.or"] = nir.Threshold(threshold=arr(np.full(out, 0.5)))
            connect(l["inputs"], f"{name}.sum")
            edges.append((f"{name}.sum", f"{name}.or"))
            exits[name] = [f"{name}.or"]
        elif kind == "merge":
            backbone, shortcut = l["inputs"]
            op = l["op"]
            if op == "ADD":                         # NIR sums a node's inputs: the consumers add both maps
                exits[name] = exits[backbone] + exits[shortcut]
                continue
            node = f"{name}.{op.lower()}"
            # OR: m + r > 0.5; AND: m + r > 1.5; IAND: r - m > 0.5 (the backbone negated by a Scale node)
            nodes[node] = nir.Threshold(threshold=arr(np.full(out, 1.5 if op == "AND" else 0.5)))
            if op == "IAND":
                nodes[f"{name}.not"] = nir.Scale(scale=arr(np.full(out, -1.0)))
                connect([backbone], f"{name}.not")
                edges.append((f"{name}.not", node))
            else:
                connect([backbone], node)
            connect([shortcut], node)
            exits[name] = [node]
        else:                                       # fc: global average pool, flatten, affine
            c, h, w = l["in_shape"]
            nodes["head.pool"] = nir.AvgPool2d(kernel_size=np.array([h, w]), stride=np.array([h, w]),
                                               padding=np.array([0, 0]))
            nodes["head.flatten"] = nir.Flatten(input_type={"input": np.array([c, 1, 1])}, start_dim=0, end_dim=-1)
            nodes["head.fc"] = nir.Affine(weight=arr(model.fc.weight.detach().double().numpy()),
                                          bias=arr(model.fc.bias.detach().double().numpy()))
            connect(l["inputs"], "head.pool")
            edges += [("head.pool", "head.flatten"), ("head.flatten", "head.fc"), ("head.fc", "output")]
            nodes["output"] = nir.Output(output_type=np.array([l["out_shape"][0]]))
    graph = nir.NIRGraph(nodes=nodes, edges=edges)
    if path is not None:
        nir.write(path, graph)
    return graph


# =============================================================================== float simulation
class _StatefulLIF(nn.Module):
    """NIR LIF / CubaLIF, forward Euler at ``dt``: I <- I + dt/tau_syn (w_in x - I) (CubaLIF only),
    v <- v + dt/tau (v_leak - v + r I), z = v > v_threshold, v <- v_reset where z."""

    def __init__(self, node, dt: float):
        super().__init__()
        t = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float64))
        self.cuba = isinstance(node, nir.CubaLIF)
        self.register_buffer("k_mem", dt / t(node.tau_mem if self.cuba else node.tau))
        self.register_buffer("r", t(node.r))
        self.register_buffer("v_leak", t(node.v_leak))
        self.register_buffer("v_th", t(node.v_threshold))
        self.register_buffer("v_reset", t(node.v_reset))
        if self.cuba:
            self.register_buffer("k_syn", dt / t(node.tau_syn))
            self.register_buffer("w_in", t(node.w_in))

    def forward(self, x: torch.Tensor, state=None):
        v, i = (torch.zeros_like(x), torch.zeros_like(x)) if state is None else state
        if self.cuba:
            i = i + self.k_syn * (self.w_in * x - i)
            current = i
        else:
            current = x
        v = v + self.k_mem * (self.v_leak - v + self.r * current)
        z = (v > self.v_th).to(x.dtype)
        v = torch.where(z > 0, self.v_reset.expand_as(v), v)
        return z, (v, i)


class _Fn(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def _simulation_map(dt: float) -> dict:
    t = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float64))

    def conv(n):
        stride, pad = tuple(int(v) for v in np.broadcast_to(n.stride, 2)), n.padding
        pad = pad if isinstance(pad, str) else tuple(int(v) for v in np.broadcast_to(pad, 2))
        w, b = t(n.weight), t(n.bias)
        return _Fn(lambda x: F.conv2d(x, w.to(x.dtype), b.to(x.dtype), stride, pad))

    def affine(n):
        w = t(n.weight)
        b = t(n.bias) if isinstance(n, nir.Affine) else torch.zeros(w.shape[0], dtype=torch.float64)
        return _Fn(lambda x: F.linear(x, w.to(x.dtype), b.to(x.dtype)))

    def pool(n, scale_sum: bool):
        k = tuple(int(v) for v in np.broadcast_to(n.kernel_size, 2))
        s = tuple(int(v) for v in np.broadcast_to(n.stride, 2))
        p = tuple(int(v) for v in np.broadcast_to(n.padding, 2))
        return _Fn(lambda x: F.avg_pool2d(x, k, s, p, count_include_pad=True, divisor_override=1 if scale_sum else None))

    return {
        nir.Conv2d: conv, nir.Affine: affine, nir.Linear: affine,
        nir.Flatten: lambda n: _Fn(lambda x: x.flatten(1 + (n.start_dim % x[0].dim()),
                                                      1 + (n.end_dim % x[0].dim()))),
        nir.SumPool2d: lambda n: pool(n, True), nir.AvgPool2d: lambda n: pool(n, False),
        nir.Threshold: lambda n: _Fn(lambda x, th=t(n.threshold): (x > th.to(x.dtype)).to(x.dtype)),
        nir.Scale: lambda n: _Fn(lambda x, s=t(n.scale): x * s.to(x.dtype)),
        nir.LIF: lambda n: _StatefulLIF(n, dt), nir.CubaLIF: lambda n: _StatefulLIF(n, dt),
    }


def run_nir(graph, x: torch.Tensor, dt: float = DEFAULT_DT) -> torch.Tensor:
    """Simulate a NIR graph on time-major float input ``x`` [T, N, ...] in float64; returns the
    graph's output at every step [T, N, ...]. The check for both directions of this module."""
    module = nirtorch.nir_to_torch(_read(graph), _simulation_map(dt), dtype=torch.float64)
    state, outs = None, []
    with torch.no_grad():
        for step in x.double():
            out, state = module(step, state)
            outs.append(out)
    return torch.stack(outs)


# =============================================================================== bundle
def nir_to_bundle(graph, out: str | Path, input_spec: dict, samples: np.ndarray | None = None,
                  weight_bits: int | None = None, mem_bits: int | None = None, dt: float = DEFAULT_DT) -> Path:
    """Import a NIR graph and write it as an export bundle (``input_spec``: docs/bundle-format.md)."""
    from syna_contract import numerics as nx
    from .export import write_bundle
    from .quant import QuantSettings
    model = import_nir(graph, steps=int(input_spec["steps"]), dt=dt)
    c = model.config
    got = [input_spec.get(k) for k in ("channels", "height", "width")]
    if got != [c.in_channels, c.height, c.width]:
        raise NIRError(f"input spec has [C, H, W] = {got}; the graph's input is "
                       f"{[c.in_channels, c.height, c.width]}")
    settings = QuantSettings(weight_bits=weight_bits or nx.DEFAULT_WEIGHT_BITS, mem_bits=mem_bits or nx.DEFAULT_MEM_BITS,
                             input_scale=float(input_spec["scale"]))
    source = graph if isinstance(graph, (str, Path)) else "<nir.NIRGraph>"
    return write_bundle(model, Path(out), settings, input_spec, samples,
                        extra=dict(source=dict(nir=str(source), dt=dt, nir_nodes=model.nir_nodes)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m model_export.nir_io", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    imp = sub.add_parser("import", help="a feed-forward NIR graph -> export bundle")
    imp.add_argument("graph")
    imp.add_argument("--out", required=True)
    imp.add_argument("--steps", type=int, required=True, help="time steps T per sample")
    imp.add_argument("--input-bits", type=int, required=True, help="unsigned input width")
    imp.add_argument("--input-scale", type=float, required=True, help="float value of one input unit")
    imp.add_argument("--encoding", default="pixels", choices=("pixels", "counts"))
    imp.add_argument("--dt", type=float, default=DEFAULT_DT)
    imp.add_argument("--weight-bits", type=int)
    exp = sub.add_parser("export", help="a checkpoint -> NIR file")
    exp.add_argument("checkpoint")
    exp.add_argument("--out", required=True)
    exp.add_argument("--dt", type=float, default=DEFAULT_DT)
    args = ap.parse_args(argv)
    if args.cmd == "import":
        model = import_nir(args.graph, args.steps, args.dt)
        c = model.config
        spec = dict(steps=args.steps, channels=c.in_channels, height=c.height, width=c.width,
                    encoding=args.encoding, bits=args.input_bits, scale=args.input_scale, static=False)
        print(nir_to_bundle(args.graph, args.out, spec, weight_bits=args.weight_bits, dt=args.dt))
    else:
        from .checkpoint import load_checkpoint
        export_nir(load_checkpoint(args.checkpoint).model, args.out, dt=args.dt)
        print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
