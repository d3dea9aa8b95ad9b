"""Spike statistics of a model on an evaluation set: firing rates and natural pruning.

Every spiking layer of the bundle's layer graph (``graph.build_graph``) is
tapped in the float model with forward hooks, under the same name the bundle
uses (``stem``, ``f0``.., ``bK.main0``, ``bK.short``, ``bK.merge``, ``pool``):

- a ``conv_lif`` layer: the output of its unit's LIF;
- ``bK.merge``: the input of ``bK.post0`` (the merged map; 0..2 with ADD);
- ``pool``: the output of the stem's max-pool.

The fake-quant model (quantisation-aware phase) reports the same layers
itself (``FakeQuantNet.run``), so both phases give the same statistics.
Zoo archs without that graph (``spiking-resnet``, ``ms-resnet``) are tapped at
the output of every neuron module instead, under its module name: they get
firing rates and spikes per neuron, and MAC/AC/energy from hooks on their convs
(:class:`SynapticOps`, the same Eq. 11 rules as ``energy.py``), but no merges or
shortcuts.

**Firing rate** of a layer = spikes / (neurons x T x samples), neurons being
C*H*W of its output. **Natural pruning** (paper section V-B3): a shortcut whose
LIF (``bK.short``) emits no spike on any sample of the evaluation set. The
detector is exact for the samples it saw, nothing more: a shortcut silent on
the evaluation set may fire on other inputs (``export --prune-silent-shortcuts``
re-checks on the integer model). When the block's merge is silent too (its
backbone is also silent), the block passes nothing on: a dead block, not
pruning; ``silent_merges`` says so.
"""
from __future__ import annotations

import math
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from .distributed import Context, all_reduce_sum
from syna_contract.energy import eq11_mj
from syna_contract.graph import build_graph
from .model import SynAResNet
from .prune import shortcut_merges

SHORTCUT_SUFFIX = ".short"


def layer_graph(config) -> list[dict]:
    """The bundle's layer list for a model config (names, kinds, shapes)."""
    return build_graph(config)


def lif_layers(layers: list[dict]) -> list[str]:
    return [l["name"] for l in layers if l["kind"] == "conv_lif"]


def spike_taps(model: SynAResNet) -> dict[str, tuple[torch.nn.Module, str]]:
    """Graph layer name -> (module, ``"output"`` or ``"input"``) whose tensor is that layer's spike map."""
    from .quant import conv_units
    if not isinstance(model, SynAResNet):
        raise TypeError(f"spike statistics need a SynAResNet (its layer graph); got {type(model).__name__}")
    taps: dict[str, tuple[torch.nn.Module, str]] = {n: (u.lif, "output") for n, u in conv_units(model).items()}
    if model.pool is not None:
        taps["pool"] = (model.pool, "output")
    for i, blk in enumerate(model.blocks):
        taps[f"b{i}.merge"] = (blk.post0, "input")
    names = [l["name"] for l in layer_graph(model.config) if l["kind"] != "fc"]
    missing = sorted(set(names) ^ set(taps))
    if missing:
        raise RuntimeError(f"spike taps and the layer graph disagree on {missing}: model.py and graph.py differ")
    return {n: taps[n] for n in names}


def neuron_taps(model: torch.nn.Module) -> dict[str, torch.nn.Module]:
    """Every spiking neuron module of a model without the bundle's layer graph (the zoo's
    ``spiking-resnet`` and ``ms-resnet``), by module name (e.g. ``blocks.0.res.sn1``)."""
    from spikingjelly.activation_based import neuron
    return {name: m for name, m in model.named_modules() if isinstance(m, neuron.BaseNode)}


class SynapticOps:
    """Eq. 11's MAC and AC counts of any model, by forward hooks (for archs without the layer graph,
    whose convs ``energy.energy_report`` cannot see). The same counting rules as there:

    - a conv's dense FLOPs are ``Ho*Wo*Cout*Cin/groups*kh*kw`` per step and sample (from its output);
    - the first conv to run (the encoder) and every conv that ever reads a non-binary input (ADD of
      spikes, MS-ResNet's real-valued shortcut) do all of them as MACs;
    - every other conv does FLOPs x the nonzero fraction of its input as ACs;
    - the head ``fc`` (global average pool of spikes, every step) does ``Cin*classes`` FLOPs per step
      times the pooled map's firing rate as ACs.

    Totals are summed over everything seen; divide by the samples for per-sample figures."""

    def __init__(self, model: torch.nn.Module):
        self.convs = {n: m for n, m in model.named_modules() if isinstance(m, torch.nn.Conv2d)}
        self.fc = model.fc
        self.first: str | None = None
        self.flops = {n: 0.0 for n in self.convs}        # dense FLOPs seen
        self.acs = {n: 0.0 for n in self.convs}          # FLOPs x input nonzero fraction (binary inputs)
        self.nonbinary = {n: 0.0 for n in self.convs}    # > 0: some input was not 0/1
        self.fc_ac = 0.0

    def _conv(self, name: str, m: torch.nn.Conv2d, x: torch.Tensor, out: torch.Tensor) -> None:
        if self.first is None:
            self.first = name
        flops = out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        x = x.detach()
        self.flops[name] += flops
        if bool(((x == 0) | (x == 1)).all()):
            self.acs[name] += flops * float(torch.count_nonzero(x)) / max(1, x.numel())
        else:
            self.nonbinary[name] += 1.0

    @contextmanager
    def hooked(self):
        handles = [m.register_forward_hook(lambda m, args, out, name=n: self._conv(name, m, args[0], out))
                   for n, m in self.convs.items()]
        handles.append(self.fc.register_forward_pre_hook(
            lambda m, args: setattr(self, "fc_ac", self.fc_ac + m.out_features * float(args[0].detach().sum()))))
        try:
            yield self
        finally:
            for h in handles:
                h.remove()

    def vector(self) -> list[float]:
        """Everything counted, flat (for an all-reduce over ranks); :meth:`totals` reads it back."""
        return [v for n in self.convs for v in (self.flops[n], self.acs[n], self.nonbinary[n])] + [self.fc_ac]

    def totals(self, vector: list[float] | None = None) -> tuple[float, float]:
        """(MACs, ACs) summed over all samples seen."""
        v = self.vector() if vector is None else vector
        mac = ac = 0.0
        for i, n in enumerate(self.convs):
            flops, acs, nonbinary = v[3 * i:3 * i + 3]
            if n == self.first or nonbinary > 0:
                mac += flops
            else:
                ac += acs
        return mac, ac + v[-1]


class SpikeRecorder:
    """Per-sample spike totals (all T steps) of every tapped layer, float64 on the host."""

    def __init__(self, names: list[str]):
        self.names = list(names)
        self._parts: dict[str, list[np.ndarray]] = {n: [] for n in self.names}
        self.shapes: dict[str, list[int]] = {}          # layer -> neuron shape [C, H, W] (as seen)

    def add(self, name: str, spikes: torch.Tensor) -> None:
        """``spikes``: time-major [T, N, ...]."""
        dims = tuple(d for d in range(spikes.dim()) if d != 1)
        self._parts[name].append(spikes.detach().sum(dim=dims, dtype=torch.float64).cpu().numpy())
        self.shapes.setdefault(name, list(spikes.shape[2:]))

    def counts(self) -> dict[str, np.ndarray]:
        """layer -> [samples] spike totals."""
        return {n: (np.concatenate(p) if p else np.zeros(0)) for n, p in self._parts.items()}

    @contextmanager
    def hooked(self, model: SynAResNet):
        """Record the float model's spike maps while inside the ``with`` block (the layer graph's taps,
        or, for a model without one, the output of every neuron module: :func:`neuron_taps`)."""
        handles = []
        taps = (spike_taps(model) if getattr(model, "has_layer_graph", True)
                else {n: (m, "output") for n, m in neuron_taps(model).items()})
        for name, (module, where) in taps.items():
            if where == "output":
                handles.append(module.register_forward_hook(
                    lambda m, args, out, name=name: self.add(name, out)))
            else:
                handles.append(module.register_forward_pre_hook(
                    lambda m, args, name=name: self.add(name, args[0])))
        try:
            yield self
        finally:
            for h in handles:
                h.remove()


@dataclass
class EvalStats:
    """Accuracy, loss and spike statistics of one evaluation pass (all ranks summed)."""

    samples: int
    correct: int
    loss_sum: float
    steps: int
    layers: list[dict]                                   # the layer graph (kinds, shapes), or the neurons (graph False)
    spikes: dict[str, float] = field(default_factory=dict)   # layer -> total spikes over all samples and T
    per_sample: dict[str, np.ndarray] | None = None      # layer -> [samples] totals (one process only)
    graph: bool = True                                   # False: ``layers`` lists neuron modules, not the bundle's graph
    ops: tuple[float, float] | None = None               # graph False: (MACs, ACs) over all samples (SynapticOps)

    def energy_per_sample(self) -> tuple[float, float, float]:
        """graph False: (MACs, ACs, energy in mJ) per sample by Eq. 11 (graph models: energy.energy_report)."""
        if self.ops is None or not self.samples:
            return math.nan, math.nan, math.nan
        mac, ac = (v / self.samples for v in self.ops)
        return mac, ac, eq11_mj(mac, ac)

    @property
    def accuracy(self) -> float:
        return 100.0 * self.correct / max(1, self.samples)

    @property
    def loss(self) -> float:
        return self.loss_sum / max(1, self.samples)

    def neurons(self, name: str) -> int:
        l = next(l for l in self.layers if l["name"] == name)
        return math.prod(l["out_shape"])

    def firing_rates(self) -> dict[str, float]:
        """LIF layers (``conv_lif``) -> spikes per neuron per time step."""
        return {n: self.spikes[n] / (self.neurons(n) * self.steps * max(1, self.samples)) if self.neurons(n)
                else float("nan") for n in lif_layers(self.layers)}

    def spikes_per_sample(self) -> float:
        """LIF spikes per sample, all layers and all T steps (merges and pools are logic, not neurons)."""
        return sum(self.spikes[n] for n in lif_layers(self.layers)) / max(1, self.samples)

    def spikes_per_neuron(self) -> float:
        """nan when no neuron was seen (no samples)."""
        neurons = sum(self.neurons(n) for n in lif_layers(self.layers))
        return self.spikes_per_sample() / neurons if neurons else float("nan")

    def silent_shortcuts(self) -> list[str]:
        """Natural pruning: shortcut LIFs without a single spike on the whole evaluation set."""
        return [n for n in shortcut_merges(self.layers) if self.samples and self.spikes[n] == 0]

    def silent_merges(self) -> list[str]:
        """Merges whose output is silent on the whole evaluation set: backbone AND shortcut silent, the
        block passes nothing on. A silent shortcut there is a dead block, not natural pruning."""
        return [l["name"] for l in self.layers if l["kind"] == "merge" and self.samples and self.spikes[l["name"]] == 0]

    def dead_block_shortcuts(self) -> list[str]:
        """Silent shortcuts whose merge is silent too (dead blocks)."""
        merges = shortcut_merges(self.layers)
        silent = set(self.silent_merges())
        return [s for s in self.silent_shortcuts() if merges[s]["name"] in silent]

    def to_record(self) -> dict:
        return dict(test_acc=self.accuracy, test_loss=self.loss, eval_samples=self.samples,
                    spikes_per_sample=self.spikes_per_sample(), spikes_per_neuron=self.spikes_per_neuron(),
                    firing_rates=self.firing_rates(), silent_shortcuts=self.silent_shortcuts(),
                    silent_merges=self.silent_merges())


def loss_fn(out: torch.Tensor, y: torch.Tensor, kind: str, classes: int) -> torch.Tensor:
    """``mse``: the paper's MSE between the time-averaged output and the one-hot label; ``ce``: cross entropy."""
    if kind == "mse":
        return F.mse_loss(out.float(), F.one_hot(y, classes).float())
    if kind == "ce":
        return F.cross_entropy(out.float(), y)
    raise ValueError(f"loss {kind!r}; expected 'mse' or 'ce'")


def shard(n: int, ctx: Context) -> np.ndarray:
    """This rank's contiguous share of ``range(n)``."""
    return np.array_split(np.arange(n), ctx.world)[ctx.rank]


@torch.no_grad()
def evaluate_spikes(net, x: np.ndarray, y: np.ndarray, scale: float, loss: str, ctx: Context = Context(),
                    integer: bool = False, batch: int = 128, amp: bool = False, progress=None) -> EvalStats:
    """Accuracy, loss and every layer's spikes of ``net`` on ``x`` (integer [N, T, C, H, W]).

    ``net`` is a :class:`SynAResNet` (float; hooks) or, with ``integer``, a ``FakeQuantNet``
    (its own spike maps). Under ``torchrun`` every rank takes a share and the sums are reduced."""
    model = net.model if integer else net
    # Archs outside the bundle's layer graph (spiking-resnet, ms-resnet: not exportable) are tapped at every
    # neuron module instead (firing rates and spikes per neuron; MAC/AC by SynapticOps; no merges or shortcuts).
    graph = getattr(model, "has_layer_graph", True)
    layers = layer_graph(model.config) if graph else None      # neuron modules: filled in from their outputs
    names = [l["name"] for l in layers if l["kind"] != "fc"] if graph else list(neuron_taps(model))
    net.eval()
    rec = SpikeRecorder(names)
    ops = None if graph else SynapticOps(model)
    idx = shard(len(x), ctx)
    correct, loss_sum = 0, 0.0
    classes = model.config.num_classes
    starts = range(0, len(idx), batch)
    for i in (progress(starts) if progress else starts):
        sel = idx[i:i + batch]
        xb = torch.from_numpy(np.asarray(x[sel])).transpose(0, 1).to(ctx.device, torch.float32)
        yb = torch.from_numpy(np.asarray(y[sel])).to(ctx.device)
        if integer:
            r = net.run(xb)
            for name, s in r.spikes.items():
                rec.add(name, s)
            out = net(xb)
        else:
            with rec.hooked(net), (ops.hooked() if ops else nullcontext()), \
                    torch.autocast(ctx.device.type, enabled=amp):
                out = net(xb * scale)
        correct += int((out.argmax(1) == yb).sum())
        loss_sum += float(loss_fn(out, yb, loss, classes)) * len(sel)
    counts = rec.counts()
    if not graph:
        layers = [dict(name=n, kind="conv_lif", out_shape=rec.shapes.get(n, [0])) for n in names]
    nops = len(ops.vector()) if ops else 0
    flat = torch.tensor([len(idx), correct, loss_sum] + [float(counts[n].sum()) for n in names]
                        + (ops.vector() if ops else []),
                        dtype=torch.float64, device=ctx.device if ctx.device.type == "cuda" else "cpu")
    flat = all_reduce_sum(flat, ctx).cpu().tolist()
    spikes = dict(zip(names, flat[3:3 + len(names)]))
    totals = ops.totals(flat[3 + len(names):3 + len(names) + nops]) if ops else None
    return EvalStats(int(flat[0]), int(round(flat[1])), flat[2], model.config.steps, layers,
                     spikes, None if ctx.distributed else counts, graph, totals)
