"""NIR -> our models (docs/nir.md): :func:`import_nir` reads a feed-forward chain of ``Conv2d`` /
``Linear`` / ``Affine`` / ``Flatten`` / ``LIF`` / ``CubaLIF`` nodes (as snnTorch, Norse, Sinabs, Rockpool
and SpikingJelly write them) into a :class:`ChainNet` that ``export.write_bundle`` quantises like any of our
models, where the neurons are equivalent to our tau-2 LIF; :func:`nir_to_bundle` = import + write_bundle."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import nir
import numpy as np
import torch
import torch.nn as nn
from spikingjelly.activation_based import functional

from syna_contract.graph import INPUT
from syna_contract.numerics import conv_out_size
from .model import LIF_TAU, LIF_V_RESET, ConvUnit
from .nir_common import DEFAULT_DT, REL_TOL, NIRError, _read


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
