"""The converted model: a float twin of the user's network on the layer graph, and the
hls4ml-style object around it (``write``, ``compile``, ``predict``, ``plan``, ``build``).

:class:`ConvertedNet` runs the user's own modules (copies) along the layer graph, so its
float output is the user's model's; ``conv_units()`` gives the quantiser
(:mod:`model_export.quant`) each layer as a ``ConvUnit`` with the conv bias and the neuron's
threshold folded into the BatchNorm (float64), so ``export.write_bundle`` exports it like any
model of the project.
"""
from __future__ import annotations

import copy
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
from spikingjelly.activation_based import functional

from syna_contract.boards import DEFAULT_BOARD
from syna_contract.graph import INPUT
from syna_hw.limits import DEFAULT_LANES
from ..model import ConvUnit, merge_spikes
from .lower import Lowered, Unit

REPO = Path(__file__).resolve().parents[2]
BACKENDS = ("reference", "hls", "rtl")


class BuildError(RuntimeError):
    """The vendor flow (Vitis HLS / Vivado) is missing or failed; nothing pretends to have run."""


@dataclass(frozen=True)
class ConvertedConfig:
    """What the bundle's ``model_config`` records for a converted model: its layer list is its config."""

    steps: int
    in_channels: int
    height: int
    width: int
    num_classes: int
    chain: tuple[dict, ...]
    source: str = ""                 # the user's model class

    arch = "converted"

    def to_dict(self) -> dict:
        return dict(arch=self.arch, source=self.source, steps=self.steps, in_channels=self.in_channels,
                    height=self.height, width=self.width, num_classes=self.num_classes,
                    chain=[copy.deepcopy(l) for l in self.chain])


class _FloatUnit(nn.Module):
    """The user's conv -> [BN] -> [attention] -> LIF, as they compute it."""

    def __init__(self, u: Unit):
        super().__init__()
        self.conv = copy.deepcopy(u.conv)
        self.bn = copy.deepcopy(u.bn)
        self.attn = copy.deepcopy(u.attn)
        self.lif = copy.deepcopy(u.lif)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        if self.bn is not None:
            x = self.bn(x)
        if self.attn is not None:
            x = self.attn(x)
        return self.lif(x)

    def quant_unit(self) -> ConvUnit:
        """This layer as the quantiser's ``ConvUnit`` (float64): BN(conv(x) + bias) / threshold folded
        into one BN, so ``quant.fold_bn`` gives ``W' = W a / th``, ``b' = (beta + (bias - mean) a) / th``."""
        conv, bn = self.conv, self.bn
        th = float(self.lif.v_threshold)
        attn = copy.deepcopy(self.attn).double() if self.attn is not None else None
        u = ConvUnit(conv.in_channels, conv.out_channels, conv.kernel_size[0], conv.stride[0], conv.padding[0],
                     attn).double()
        c = conv.out_channels
        d = dict(dtype=torch.float64)
        bias = conv.bias.detach().double() if conv.bias is not None else torch.zeros(c, **d)
        if bn is not None:
            gamma = bn.weight.detach().double() if bn.weight is not None else torch.ones(c, **d)
            beta = bn.bias.detach().double() if bn.bias is not None else torch.zeros(c, **d)
            mean, var, eps = bn.running_mean.double(), bn.running_var.double(), float(bn.eps)
        else:
            gamma, beta, mean, var, eps = torch.ones(c, **d), torch.zeros(c, **d), torch.zeros(c, **d), \
                torch.ones(c, **d), 0.0
        with torch.no_grad():
            u.conv.weight.copy_(conv.weight.detach().double())
            u.bn.weight.copy_(gamma / th)
            u.bn.bias.copy_(beta / th)
            u.bn.running_mean.copy_(mean - bias)
            u.bn.running_var.copy_(var)
        u.bn.eps = eps
        return u.eval()


class ConvertedNet(nn.Module):
    """The user's network on the layer graph (multi-step, time-major float input ``[T, N, C, H, W]``)."""

    def __init__(self, config: ConvertedConfig, lowered: Lowered):
        super().__init__()
        self.config = config
        self.layer_names = [l["name"] for l in config.chain]
        convs = [l["name"] for l in config.chain if l["kind"] == "conv_lif"]
        pools = [l["name"] for l in config.chain if l["kind"] == "maxpool_or"]
        self.units = nn.ModuleList(_FloatUnit(lowered.units[n]) for n in convs)
        self.pools = nn.ModuleList(copy.deepcopy(lowered.pools[n]) for n in pools)
        self._unit_index = {n: i for i, n in enumerate(convs)}
        self._pool_index = {n: i for i, n in enumerate(pools)}
        fc = lowered.fc
        self.fc = nn.Linear(fc.in_features, fc.out_features, dtype=fc.weight.dtype)
        with torch.no_grad():
            self.fc.weight.copy_(fc.weight)
            self.fc.bias.copy_(fc.bias if fc.bias is not None else torch.zeros(fc.out_features))
        self.eval()

    def export_refusal(self) -> str | None:
        return None                     # convert() refused whatever the integer contract cannot run

    def check_input(self, x: torch.Tensor) -> None:
        c = self.config
        expected = (c.steps, c.in_channels, c.height, c.width)
        if x.dim() != 5 or (x.shape[0], *x.shape[2:]) != expected:
            raise ValueError(f"input shape {tuple(x.shape)}; expected [T={c.steps}, N, C={c.in_channels}, "
                             f"H={c.height}, W={c.width}] (time-major)")

    def spikes(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every layer's float output (spike maps, [T, N, C, H, W]) and ``'scores'``."""
        self.check_input(x)
        functional.reset_net(self)
        values: dict[str, torch.Tensor] = {INPUT: x}
        for l in self.config.chain:
            name, kind = l["name"], l["kind"]
            inp = [values[i] for i in l["inputs"]]
            if kind == "conv_lif":
                values[name] = self.units[self._unit_index[name]](inp[0])
            elif kind == "maxpool_or":
                values[name] = self.pools[self._pool_index[name]](inp[0])
            elif kind == "merge":
                values[name] = merge_spikes(inp[0], inp[1], l["op"])
            else:
                values["scores"] = self.fc(inp[0].mean(dim=(3, 4))).mean(dim=0)
        del values[INPUT]
        return values

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.spikes(x)["scores"]

    def conv_units(self) -> dict[str, ConvUnit]:
        """The conv_lif layers for the quantiser (see :meth:`_FloatUnit.quant_unit`)."""
        return {n: self.units[i].quant_unit() for n, i in self._unit_index.items()}

    def lif_layers(self) -> dict:
        return {n: self.units[i].lif for n, i in self._unit_index.items()}


@dataclass
class Result:
    """One backend's answer: scores, every layer's spikes, spike counts, saturations (and modelled cycles)."""

    backend: str
    scores: np.ndarray                                          # [N, classes] int64
    spikes: dict[str, np.ndarray] = field(default_factory=dict)  # layer -> [N, T, C, H, W] uint8
    spike_counts: dict[str, np.ndarray] = field(default_factory=dict)
    saturations: dict[str, int] = field(default_factory=dict)
    cycles: np.ndarray | None = None                            # [N] (hls: modelled; rtl: simulated clock)

    def predictions(self) -> np.ndarray:
        return self.scores.argmax(axis=1)


class ConvertedModel:
    """A user's model converted to the layer graph, hls4ml-style:

    ``write(dir)`` the bundle; ``compile(backend)`` with ``'reference'`` (numpy integer reference),
    ``'hls'`` (the HLS core's C++ under g++) or ``'rtl'`` (the Verilog under Verilator);
    ``predict(x)`` integer scores, ``run(x)`` scores and every layer's spikes; ``predict_float(x)``
    the float model; ``compare(x, labels)`` float vs integer; ``plan(board)``; ``build(board)``
    the Vitis HLS (and Vivado) flow, which needs the AMD tools on ``PATH``."""

    def __init__(self, net: ConvertedNet, input_spec: dict, settings, sources: dict, samples: np.ndarray,
                 labels: np.ndarray | None, output_dir: str | Path | None, source_name: str):
        self.net = net
        self.input_spec = dict(input_spec)
        self.settings = settings
        self.sources = sources
        self.samples = samples
        self.labels = labels
        self.output_dir = Path(output_dir) if output_dir is not None else None
        self.source_name = source_name
        self.bundle_dir: Path | None = None
        self.backend: str | None = None
        self._core = None

    # ------------------------------------------------------------------ description
    @property
    def layers(self) -> list[dict]:
        return [copy.deepcopy(l) for l in self.net.config.chain]

    def summary(self) -> str:
        """One line per layer: name, kind, output shape, and the modules (or operations) it came from."""
        rows = [f"{'layer':<24} {'kind':<10} {'out':<14} from"]
        for l in self.net.config.chain:
            src = self.sources.get(l["name"], {})
            what = l.get("op", "")
            frm = ", ".join(f"{k}={v}" for k, v in src.items())
            rows.append(f"{l['name']:<24} {(l['kind'] + ' ' + what).strip():<10} {str(l['out_shape']):<14} {frm}")
        return "\n".join(rows)

    def __repr__(self) -> str:
        return f"<ConvertedModel of {self.source_name}: {len(self.net.config.chain)} layers, backend {self.backend}>"

    # ------------------------------------------------------------------ bundle
    def quantized(self):
        from ..quant import quantize_model
        return quantize_model(self.net, self.settings)

    def write(self, output_dir: str | Path | None = None, samples: np.ndarray | None = None,
              labels: np.ndarray | None = None) -> Path:
        """Quantise and write the bundle (ROMs, header, manifest, golden vectors of ``samples``, by
        default those given to :func:`convert` or its random ones) into ``output_dir``."""
        from syna_contract.bundle import load_bundle
        from ..export import write_bundle
        out = Path(output_dir) if output_dir is not None else self.output_dir
        if out is None:
            out = Path(tempfile.mkdtemp(prefix="syna-convert-")) / "bundle"
        x = self.samples if samples is None else np.asarray(samples)
        y = self.labels if samples is None else labels
        extra = dict(source=dict(converted=self.source_name, layers=self.sources,
                                 golden="given samples" if (samples is not None or self.labels is not None)
                                 else "random inputs (convert(..., samples=None))"))
        path = write_bundle(self.net, out, self.settings, self.input_spec, x, y, extra=extra)
        load_bundle(path)
        self.bundle_dir = path
        self._core = None
        return path

    def _bundle(self):
        from syna_contract.bundle import load_bundle
        if self.bundle_dir is None:
            self.write()
        return load_bundle(self.bundle_dir)

    # ------------------------------------------------------------------ backends
    def compile(self, backend: str = "reference", lanes: int = DEFAULT_LANES) -> "ConvertedModel":
        """Make ``predict``/``run`` use ``backend``: ``'reference'``, ``'hls'`` (g++ C-simulation of the HLS
        core, P = ``lanes``) or ``'rtl'`` (Verilator model of the RTL). Writes the bundle first if needed.
        What a backend cannot run is refused here (HlsUnsupported / RtlUnsupported, saying why)."""
        if backend not in BACKENDS:
            raise ValueError(f"backend {backend!r}; expected one of {BACKENDS}")
        b = self._bundle()
        if backend == "reference":
            from syna_contract.reference import Reference
            core = Reference(b)
        elif backend == "hls":
            from syna_hw.hls_core import HlsCore
            core = HlsCore(b, lanes).compile()
        else:
            from syna_hw.rtl_core import RtlCore
            core = RtlCore(b, lanes)
        self._core, self.backend = core, backend
        return self

    def run(self, x: np.ndarray, keep_spikes: bool = True) -> Result:
        """Integer input [N, T, C, H, W] through the compiled backend: scores, spikes, counts, saturations."""
        if self._core is None:
            raise RuntimeError("compile(backend) first (backend 'reference', 'hls' or 'rtl')")
        from syna_contract.reference import check_input
        x = check_input(x, self.input_spec)
        if self.backend == "rtl":
            return self._run_rtl(x, keep_spikes)
        r = self._core.run(x, keep_spikes=keep_spikes)
        return Result(self.backend, r.scores, r.spikes, r.spike_counts, r.saturations,
                      getattr(r, "cycles", None))

    def _run_rtl(self, x: np.ndarray, keep_spikes: bool) -> Result:
        from syna_contract import protocol as proto
        core, spec = self._core, self.input_spec
        scores, cycles = [], []
        spikes: dict[str, list] = {n: [] for n in core.layers}
        counts: dict[str, list] = {n: [] for n in core.layers}
        sats = 0
        for i, sample in enumerate(x):
            r = core.run(proto.pack_frames(sample, spec["bits"]), spec["steps"])
            if r.timed_out:
                raise RuntimeError(f"sample {i}: the RTL core did not finish within {core.max_cycles} cycles")
            o = proto.unpack_output(r.out, core.classes, core.layers)
            if o.errors:
                raise RuntimeError(f"sample {i}: the RTL core reports {o.errors}")
            scores.append(o.scores)
            cycles.append(r.cycles)
            sats += o.saturations
            maps = core.spike_maps(r.taps) if keep_spikes else {}
            for n in core.layers:
                counts[n].append(o.spike_counts[n])
                if keep_spikes:
                    spikes[n].append(maps[n])
        res = Result("rtl", np.array(scores, dtype=np.int64), cycles=np.array(cycles))
        for n in core.layers:
            res.spike_counts[n] = np.array(counts[n], dtype=np.int64)
            if keep_spikes:
                res.spikes[n] = np.stack(spikes[n]).astype(np.uint8)
        res.saturations = {"total": int(sats)}       # the core reports one saturation count per sample
        return res

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Integer class scores [N, classes] (int64) of integer input [N, T, C, H, W] on the compiled backend."""
        return self.run(x, keep_spikes=False).scores

    def predict_float(self, x: np.ndarray) -> np.ndarray:
        """The float model's scores on the same integer input (``x * input.scale``, time-major)."""
        from syna_contract.reference import check_input
        x = check_input(x, self.input_spec)
        dtype = self.net.fc.weight.dtype
        xf = torch.from_numpy(x * self.input_spec["scale"]).to(dtype).transpose(0, 1)
        with torch.no_grad():
            return self.net(xf).double().numpy()

    def compare(self, x: np.ndarray, labels: np.ndarray | None = None) -> dict:
        """Float model vs the compiled integer backend (reference if none): how often the predicted
        classes agree (``agreement``; ``classes`` says how many distinct classes the float model
        predicted, so a constant prediction is visible), the fraction of equal spikes per layer
        (``spike_match``), and both accuracies when ``labels`` are given."""
        if self._core is None:
            self.compile("reference")
        from syna_contract.reference import check_input
        x = check_input(x, self.input_spec)
        xf = torch.from_numpy(x * self.input_spec["scale"]).to(self.net.fc.weight.dtype).transpose(0, 1)
        with torch.no_grad():
            fs = self.net.spikes(xf)
        r = self.run(x)
        fp, ip = fs["scores"].argmax(dim=1).numpy(), r.predictions()
        match = {n: float((fs[n].transpose(0, 1).numpy().astype(np.uint8) == s).mean()) for n, s in r.spikes.items()}
        out = dict(samples=int(len(fp)), backend=self.backend, agreement=float((fp == ip).mean()),
                   classes=int(len(np.unique(fp))), spike_match=match)
        if labels is not None:
            labels = np.asarray(labels)
            out.update(float_accuracy=float((fp == labels).mean()), integer_accuracy=float((ip == labels).mean()))
        return out

    # ------------------------------------------------------------------ hardware
    def plan(self, board: str):
        """On-chip memory plan of the bundle against ``board`` (``syna_hw.plan``)."""
        from syna_hw.plan import plan_bundle
        return plan_bundle(self._bundle(), board)

    def build(self, board: str = DEFAULT_BOARD, lanes: int = DEFAULT_LANES, bitstream: bool = False) -> dict:
        """``make hls`` (Vitis HLS: C-sim, synthesis, IP export) and, with ``bitstream``, ``make bitstream``
        (Vivado) for this bundle. Raises :class:`BuildError` at once when the tool is not on ``PATH``."""
        from syna_contract.boards import get_board
        get_board(board)
        tools = ["vitis_hls"] + (["vivado"] if bitstream else [])
        missing = [t for t in tools if shutil.which(t) is None]
        if missing:
            raise BuildError(f"{' and '.join(missing)} not found on PATH: build() runs the AMD Vitis HLS "
                             "(and Vivado for a bitstream) flow, 2023.1 or later (source <install>/settings64.sh "
                             "first). Nothing was run. Without them: compile('hls') runs the same C++ under g++.")
        if not (REPO / "Makefile").is_file():
            raise BuildError(f"{REPO}: build() needs the syna-fpga source tree (Makefile, hls/), not just the "
                             "installed package")
        bundle = self._bundle().root.resolve()
        target = "bitstream" if bitstream else "hls"
        cmd = ["make", "-C", str(REPO), target, f"BUNDLE={bundle}", f"BOARD={board}", f"LANES={lanes}"]
        proc = subprocess.run(cmd)
        if proc.returncode != 0:
            raise BuildError(f"{' '.join(cmd)} failed with status {proc.returncode}")
        out = dict(board=board, lanes=lanes, target=target, command=" ".join(cmd))
        if bitstream:
            out["overlay"] = str(REPO / "build" / "overlays" / board)
        return out
