"""NeuroBench's metrics of a trained model, measured by the ``neurobench`` package, next to the
project's own integer counts (``python -m model_export neurobench CHECKPOINT``).

NeuroBench (PyPI ``neurobench``, extra ``[neurobench]``) runs the **float** model: the network is
wrapped in its ``TorchModel`` with SpikingJelly's neuron base class (``neuron.BaseNode``)
registered as an activation module, fed batch-first float input (``x * input.scale``), and its
``Benchmark`` reports

- static: ``Footprint`` (bytes of float parameters and buffers), ``ConnectionSparsity`` (zero
  weights in Conv/Linear layers), ``ParameterCount``;
- workload: ``ClassificationAccuracy``, ``ActivationSparsity`` (zeros over all outputs of the
  neuron layers, all T steps), ``SynapticOperations`` per sample: ``Dense`` (every weight x every
  in-image input, zero padding excluded), ``Effective_MACs`` (non-zero weight x non-zero input of
  layers whose input is not binary: the encoder, and the FC, which reads *averaged* spikes),
  ``Effective_ACs`` (the same for layers whose input is binary spikes).

The project's own columns come from the **integer** model (the bundle the checkpoint exports to,
run by the integer reference): accuracy, LIF activation sparsity, Eq. 11 MAC/AC and energy
(``syna_contract/energy.py``), the bundle's parameter bits (``syna_hw.plan``) and zero integer
weights. The execution rate is **modelled**: the HLS core's cycle count per inference (its C++,
compiled with g++, counts loop trip counts at II = 1) at the board's PL clock; nothing ran on a
board. Where they differ and why: docs/neurobench.md.
"""
from __future__ import annotations

import contextlib
import io
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from syna_contract.boards import DEFAULT_BOARD
from syna_hw.limits import DEFAULT_LANES

NEUROBENCH_EXTRA = "pip install 'syna-fpga[neurobench]' (neurobench==2.3.0, which brings snntorch)"


class NeuroBenchMissing(ImportError):
    pass


def _neurobench():
    try:
        import neurobench
        from neurobench.benchmarks import Benchmark
        from neurobench.metrics.static import ConnectionSparsity, Footprint, ParameterCount
        from neurobench.metrics.workload import ActivationSparsity, ClassificationAccuracy, SynapticOperations
        from neurobench.models import TorchModel
    except ImportError as e:
        raise NeuroBenchMissing(f"the neurobench package is not installed ({e}); {NEUROBENCH_EXTRA}") from None
    return dict(version=getattr(neurobench, "__version__", "?"), Benchmark=Benchmark, TorchModel=TorchModel,
                static=[Footprint, ConnectionSparsity, ParameterCount],
                workload=[ClassificationAccuracy, ActivationSparsity, SynapticOperations])


class BatchFirst(nn.Module):
    """NeuroBench feeds ``[N, T, ...]``; our models take time-major ``[T, N, ...]`` and return scores."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.transpose(0, 1).contiguous())


def run_neurobench(model: nn.Module, x_float: np.ndarray, labels: np.ndarray, batch_size: int = 64) -> dict:
    """NeuroBench's static and workload metrics of ``model`` on float input ``x_float`` [N, T, C, H, W]."""
    from spikingjelly.activation_based import neuron
    from torch.utils.data import DataLoader, TensorDataset
    nb = _neurobench()
    wrapped = nb["TorchModel"](BatchFirst(model).eval())
    wrapped.add_activation_module(neuron.BaseNode)
    data = TensorDataset(torch.from_numpy(np.asarray(x_float)).float(), torch.from_numpy(np.asarray(labels)))
    loader = DataLoader(data, batch_size=batch_size, shuffle=False)
    bench = nb["Benchmark"](wrapped, loader, [], [lambda preds: preds.argmax(dim=-1)], [nb["static"], nb["workload"]])
    log = io.StringIO()
    with torch.no_grad(), contextlib.redirect_stdout(log), contextlib.redirect_stderr(io.StringIO()):
        results = bench.run(quiet=False)
    errors = [ln for ln in log.getvalue().splitlines() if ln.startswith("Error running")]
    if errors:        # neurobench prints a failing metric's exception and reports it as 0.0: do not
        raise RuntimeError("neurobench: " + "; ".join(errors))        # pass such a 0 off as a measurement
    results["neurobench_version"] = nb["version"]
    return results


@dataclass
class NeuroBenchReport:
    checkpoint: str
    dataset: str
    samples: int
    board: str
    neurobench: dict                     # NeuroBench's own result keys, float model
    ours: dict                           # the integer model's counts
    rate: dict                           # modelled execution rate
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def table(self) -> str:
        nb, o = self.neurobench, self.ours
        ops = nb["SynapticOperations"]
        rows = [
            ("metric", f"NeuroBench {nb['neurobench_version']} (float model)", "syna-fpga (integer model)"),
            ("classification accuracy", f"{100 * nb['ClassificationAccuracy']:.2f} %",
             f"{100 * o['accuracy']:.2f} %"),
            ("footprint", f"{nb['Footprint']:,} B (float32 parameters + buffers)",
             f"{o['param_bits'] / 8:,.0f} B (bundle ROMs: {o['weight_bits']}-bit weights, 32-bit bias, "
             f"{o['mem_bits']}-bit thresholds)"),
            ("parameters", f"{nb['ParameterCount']:,}", f"{o['rom_words']:,} ROM words"),
            ("connection sparsity", f"{nb['ConnectionSparsity']:.4f} (zero float weights)",
             f"{o['connection_sparsity']:.4f} (zero integer weights)"),
            ("activation sparsity", f"{nb['ActivationSparsity']:.4f} (all neuron outputs)",
             f"{o['activation_sparsity']:.4f} (LIF layers)"),
            ("synaptic ops, dense", f"{ops['Dense']:,.0f}", f"{o['dense_flops']:,.0f} (Eq. 11 FLOPs)"),
            ("synaptic ops, MAC", f"{ops['Effective_MACs']:,.0f} (effective)", f"{o['mac']:,.0f} (Eq. 11)"),
            ("synaptic ops, AC", f"{ops['Effective_ACs']:,.0f} (effective)", f"{o['ac']:,.0f} (Eq. 11)"),
            ("energy (Eq. 11, 45 nm)", "-", f"{o['energy_nj']:,.1f} nJ"),
            ("execution rate", "-", f"{self.rate['inferences_per_s']:,.0f} inferences/s, "
                                    f"{self.rate['latency_us']:,.1f} us (modelled: {self.rate['cycles']:,.0f} "
                                    f"cycles at {self.rate['clock_mhz']:g} MHz, {self.board})"),
        ]
        w0, w1 = max(len(r[0]) for r in rows), max(len(r[1]) for r in rows)
        lines = [f"{self.checkpoint}: {self.samples} held-out {self.dataset} samples (per-sample figures)"]
        lines += [f"{a:<{w0}}  {b:<{w1}}  {c}" for a, b, c in rows]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def _ours(bundle, ref, labels: np.ndarray, board: str) -> dict:
    from syna_contract.energy import energy_for_bundle
    from syna_hw.plan import plan_bundle
    rep = energy_for_bundle(bundle, ref)
    steps = bundle.input_spec["steps"]
    lif = [l for l in bundle.layers if l["kind"] == "conv_lif"]
    neurons = sum(int(np.prod(l["out_shape"])) for l in lif) * steps
    spikes = sum(float(ref.spike_counts[l["name"]].mean()) for l in lif)
    weights = [bundle.params[l["name"]]["weights"] for l in bundle.layers if l["kind"] in ("conv_lif", "fc")]
    zeros = sum(int((w == 0).sum()) for w in weights)
    total = sum(w.size for w in weights)
    plan = plan_bundle(bundle, board)
    return dict(accuracy=float((ref.predictions() == labels).mean()), activation_sparsity=1 - spikes / neurons,
                mac=float(rep.total_mac), ac=float(rep.total_ac), dense_flops=float(sum(l.flops for l in rep.layers)),
                energy_nj=float(rep.total_mj) * 1e6, connection_sparsity=zeros / total,
                param_bits=int(plan.param_bits), rom_words=int(sum(v.size for p in bundle.params.values()
                                                                   for v in p.values())),
                weight_bits=bundle.numerics["weight_bits"], mem_bits=bundle.numerics["mem_bits"])


def _rate(bundle, x: np.ndarray, board: str, lanes: int) -> dict:
    from syna_contract.boards import get_board
    from syna_hw.hls_core import HlsCore
    res = HlsCore(bundle, lanes).compile().run(x, keep_spikes=False)
    cycles = float(res.cycles.mean())
    clock = get_board(board).clock_mhz
    return dict(cycles=cycles, clock_mhz=clock, latency_us=cycles / clock, inferences_per_s=clock * 1e6 / cycles,
                lanes=lanes, samples=int(len(x)),
                source=f"modelled: HLS core (P = {lanes}) C++ cycle count (loop trip counts at II = 1) under g++, mean "
                       f"of the first {len(x)} samples, at the board's PL clock; not measured on a board")


def neurobench_report(checkpoint: str | Path, samples: int | None = 256, board: str = DEFAULT_BOARD,
                      lanes: int = DEFAULT_LANES, batch_size: int = 64) -> NeuroBenchReport:
    """NeuroBench's metrics (float model) next to ours (integer model) on the first ``samples``
    held-out samples of the checkpoint's dataset, and the modelled execution rate on ``board``."""
    from syna_contract.boards import get_board
    from syna_contract.bundle import load_bundle
    from syna_contract.reference import Reference
    from .checkpoint import load_checkpoint
    from .data import load_split
    from .export import write_bundle
    from .recipe import dataset_kwargs
    get_board(board)
    _neurobench()                                       # fail before any work when it is missing
    ck = load_checkpoint(checkpoint)
    if not getattr(ck.model, "has_layer_graph", True):
        raise ValueError(f"{checkpoint}: arch {ck.meta.get('arch')} has no integer model to compare with")
    _, split_opts = dataset_kwargs(ck.meta.get("train_args", {}))
    x, y = load_split(ck.dataset, "test", ck.model.config, limit=samples, **split_opts)
    nb = run_neurobench(ck.model, x * ck.input_spec["scale"], y, batch_size)
    with tempfile.TemporaryDirectory(prefix="syna-neurobench-") as tmp:
        bundle = load_bundle(write_bundle(ck.model, Path(tmp) / "bundle", ck.quant_settings(), ck.input_spec))
        ref = Reference(bundle).run(x, keep_spikes=False)
        ours = _ours(bundle, ref, y, board)
        rate = _rate(bundle, x[: min(len(x), 16)], board, lanes)
    notes = [
        "NeuroBench counts Conv2d/Linear synapses only: merges (OR/AND/IAND), max-pooling, the global average pool, "
        "bias adds, LIF updates and SynA attention's pooling and gating are not counted (attention's MLP Linear "
        "layers are, as MACs); Eq. 11 counts the attention work (syna_contract/energy.py) but not merges or pools.",
        "NeuroBench's Effective ops count non-zero weight x non-zero input pairs of the float model; Eq. 11 "
        "estimates dense FLOPs x the input map's firing rate on the integer model; the FC reads averaged spikes "
        "(not binary), so NeuroBench counts it as MACs, while the core accumulates FC weights per spike (ACs).",
        "Execution rate: " + rate["source"] + ".",
    ]
    return NeuroBenchReport(str(checkpoint), ck.dataset, int(len(x)), board, nb, ours, rate, notes)
