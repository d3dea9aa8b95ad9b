"""Our models -> NIR (docs/nir.md): :func:`export_nir` writes a float model whose layer graph is
``graph.build_graph``'s (SynAResNet with OR/AND/IAND/ADD merges, no attention; or an imported
:class:`~model_export.nir_import.ChainNet`) as a ``nir.NIRGraph``: BN folded into ``nir.Conv2d`` biases, the
paper's LIF as ``nir.LIF``, the bitwise merges and the OR max-pool as sums followed by ``nir.Threshold``.
What NIR cannot carry is refused with :class:`~model_export.nir_common.NIRError`."""
from __future__ import annotations

from pathlib import Path

import nir
import numpy as np
import torch.nn as nn

from syna_contract.graph import INPUT, build_graph
from .model import LIF_TAU, LIF_V_RESET, LIF_V_THRESHOLD, ConvUnit
from .nir_common import DEFAULT_DT, NIRError
from .nir_import import ChainNet


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
