"""``python -m model_export table RUN...``: a Table III-style comparison of trained runs.

For each checkpoint, on its dataset's held-out split (all of it, or the first
``samples``), measured now:

- float model (as the paper's Table III): top-1, spikes per sample (LIF layers,
  all T steps), spikes per neuron, MAC, AC and energy by Eq. 11
  (``energy.energy_report``), silent shortcuts (``analysis``);
- integer model (the bundle the checkpoint exports to, at its fine-tuned weight
  bits or 8, run by the integer reference): top-1 and silent shortcuts. ADD
  merges are not in the integer contract: no integer columns.

Counting rule for ADD (SEW-ResNet): the merge output is 0..2, so the conv
reading it multiplies. It is counted like the encoder, dense MACs; that is how
the paper's Table III counts SEW-ResNet (3 x 1208.0M MACs at DVS Gesture size,
the 3622.05M MACs its text quotes).
"""
from __future__ import annotations

import math
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from syna_contract.boards import BOARDS

COLUMNS = ("run", "arch", "merge", "attention", "spike-driven", "T", "samples", "top-1 float", "top-1 int", "spikes (K)", "spikes/neuron",
           "MAC (M)", "AC (M)", "energy (mJ)", "silent shortcuts float", "silent shortcuts int",
           "fits " + " / ".join(b.title for b in BOARDS.values()))


@dataclass
class RunRow:
    run: str
    path: str
    dataset: str
    merge: str
    attention: str
    steps: int
    samples: int
    float_acc: float
    int_acc: float | None              # None: not exportable (ADD)
    weight_bits: int | None
    spikes: float                      # LIF spikes per sample
    spikes_per_neuron: float
    mac: float
    ac: float
    energy_mj: float
    silent_float: list[str] = field(default_factory=list)
    silent_int: list[str] | None = None
    epochs: str = ""
    dead_float: list[str] = field(default_factory=list)   # silent shortcuts whose merge is silent too
    arch: str = "syna-resnet"
    spike_driven: bool = True
    fits: dict | None = None                              # board -> planner verdict (exportable runs only)
    float_acc_before_qat: float | None = None             # end of float training, when a QAT phase followed


    def cells(self, energy_size: float = 1.0) -> list[str]:
        def short(names, dead=()):
            if names is None:
                return "-"
            return ", ".join(n.split(".")[0] + ("*" if n in dead else "") for n in names) or "none"
        yes = {True: "yes", False: "no"}
        return [self.run, self.arch, self.merge, self.attention, yes[self.spike_driven], str(self.steps),
                str(self.samples), f"{self.float_acc:.2f}" if self.float_acc_before_qat is None else
                f"{self.float_acc_before_qat:.2f} ({self.float_acc:.2f} after QAT)",
                "n/a (not exportable)" if self.int_acc is None else f"{self.int_acc:.2f} ({self.weight_bits}b)",
                f"{self.spikes / 1e3:.3f}", f"{self.spikes_per_neuron:.3f}", f"{self.mac / 1e6:.4g}",
                f"{self.ac / 1e6:.4g}", f"{self.energy_mj / energy_size:.4g}", short(self.silent_float, self.dead_float),
                short(self.silent_int),
                "-" if self.fits is None else " / ".join(yes[self.fits[b]] for b in BOARDS)]


@dataclass
class Table:
    rows: list[RunRow]

    def _columns(self) -> tuple[list[str], float]:
        """The header with the energy column in the unit that reads best for these rows, and that unit."""
        from syna_contract.energy import energy_unit
        unit, size = energy_unit([r.energy_mj for r in self.rows])
        return [f"energy ({unit})" if c == "energy (mJ)" else c for c in COLUMNS], size

    def text(self) -> str:
        cols, size = self._columns()
        cells = [cols] + [r.cells(size) for r in self.rows]
        widths = [max(len(c[i]) for c in cells) for i in range(len(COLUMNS))]
        lines = ["  ".join(c.ljust(w) if i < 5 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
                 for row in cells]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines + [_NOTE])

    def markdown(self) -> str:
        cols, size = self._columns()
        lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
        lines += ["| " + " | ".join(r.cells(size)) + " |" for r in self.rows]
        return "\n".join(lines + ["", _NOTE])

    def to_dict(self) -> dict:
        return dict(columns=list(COLUMNS), rows=[asdict(r) for r in self.rows])


_NOTE = ("Per sample on the held-out split. 'top-1 float': the float model at the end of float training; "
         "'(x after QAT)': the same run's weights after quantisation-aware tuning, run in float. Spikes, MAC, AC, energy (Eq. 11: 4.6 pJ/MAC, 0.9 pJ/AC) and "
         "'silent shortcuts float' from the float model; 'top-1 int' and 'silent shortcuts int' from the exported "
         "integer model (numpy reference). Silent shortcut bK: bK.short emits no spike on any of those samples; "
         "bK*: its merge is silent too (dead block, not pruning). Spike-driven, 'not exportable' and the "
         "board fit (planner, docs/model-zoo.md) come from model_export.zoo.describe and syna_hw.plan; "
         "archs without the bundle's layer graph (spiking-resnet, ms-resnet): spikes of every neuron module, "
         "MAC and AC counted on their convs by the same rules (analysis.SynapticOps).")


def resolve_run(run: str | Path) -> Path:
    run = Path(run)
    if run.is_dir():
        found = sorted(p for p in run.glob("*.pt"))
        if len(found) != 1:
            raise FileNotFoundError(f"{run}: expected one checkpoint (*.pt), found {[p.name for p in found] or 'none'}"
                                    "; name the checkpoint instead")
        return found[0]
    return run


def energy_layers(layers: list[dict]) -> list[dict]:
    """The layer graph for ``energy_report``: a conv reading an ADD merge (values 0..2) multiplies,
    so it is counted like the encoder (dense MACs)."""
    add = {l["name"] for l in layers if l["kind"] == "merge" and l["op"] == "ADD"}
    return [dict(l, encoder=True) if l["kind"] == "conv_lif" and l["inputs"][0] in add else l for l in layers]


def measure_run(run: str | Path, samples: int | None = None, weight_bits: int | None = None) -> RunRow:
    """One row: float statistics and the integer model's accuracy on the held-out split."""
    from .analysis import evaluate_spikes
    from .checkpoint import load_checkpoint
    from .data import load_split
    from syna_contract.energy import energy_report
    from .recipe import dataset_kwargs

    from . import zoo

    path = resolve_run(run)
    ck = load_checkpoint(path)
    cfg, spec = ck.model.config, ck.input_spec
    args = ck.meta.get("train_args", {})
    arch = args.get("arch") or zoo.arch_of(ck.model)        # as trained (sew-resnet and or-resnet share a class)
    info = zoo.describe(arch, cfg)
    x, y = load_split(ck.dataset, "test", cfg, limit=samples, **dataset_kwargs(args)[1])
    st = evaluate_spikes(ck.model, x, y, spec["scale"], args.get("loss") or "mse")
    if st.graph:
        rep = energy_report(energy_layers(st.layers), spec, st.per_sample, st.samples)
        totals = (rep.total_spikes, rep.spikes_per_neuron, rep.total_mac, rep.total_ac, rep.total_mj)
    else:                           # no layer graph (has_layer_graph): every neuron module, ops by conv hooks
        totals = (st.spikes_per_sample(), st.spikes_per_neuron(), *st.energy_per_sample())
    int_acc = silent_int = bits = fits = None
    if info.exportable:
        int_acc, silent_int, bits, fits = _integer(ck, x, y, weight_bits)
    kind = "ASA" if arch == "asa-resnet" else f"SynA-{cfg.attention.dim}" if cfg.attention else ""
    att = "none" if cfg.attention is None else f"{kind} ({cfg.attention.position}{_attention_options(cfg.attention)})"
    epochs = f"{args.get('epochs', '?')}" + (f"+{args['qat_epochs']} qat" if args.get("qat_epochs") else "")
    return RunRow(path.stem, str(path), ck.dataset, cfg.merge, att, cfg.steps, st.samples, st.accuracy, int_acc,
                  bits, *totals, st.silent_shortcuts(), silent_int, epochs, st.dead_block_shortcuts(),
                  arch=arch, spike_driven=info.spike_driven, fits=fits,
                  float_acc_before_qat=ck.meta.get("float_test_acc") if args.get("qat_epochs") and samples is None else None)


def _attention_options(spec) -> str:
    """``, init default, relu_xw`` for the AttentionSpec options that differ from the defaults."""
    from .model import AttentionSpec
    d = AttentionSpec(spec.dim, spec.position)
    parts = [f"init {spec.init}" if spec.init != d.init else "", spec.ia_form if spec.ia_form != d.ia_form else "",
             f"hidden >= {spec.min_hidden}" if spec.min_hidden != d.min_hidden else ""]
    return "".join(f", {p}" for p in parts if p)


def _integer(ck, x, y, weight_bits: int | None):
    from syna_contract.bundle import load_bundle
    from .export import write_bundle
    from syna_hw.plan import plan_bundle
    from .prune import silent_shortcuts
    from syna_contract.reference import Reference
    settings = ck.quant_settings(weight_bits)
    bits = settings.weight_bits
    with tempfile.TemporaryDirectory(prefix="table-") as tmp:
        b = load_bundle(write_bundle(ck.model, Path(tmp) / "bundle", settings, ck.input_spec))
        r = Reference(b).run(x, keep_spikes=False)
        fits = {board: plan_bundle(b, board).fits for board in BOARDS}
    acc = 100.0 * float((r.predictions() == y).mean()) if len(y) else math.nan
    return acc, silent_shortcuts(b.layers, r.spike_counts), bits, fits


def compare_runs(runs: list[str | Path], samples: int | None = None, weight_bits: int | None = None,
                 threads: int | None = None) -> Table:
    import torch
    from .progress import progress
    if threads:
        torch.set_num_threads(threads)
    rows = [measure_run(r, samples, weight_bits) for r in progress(runs, desc="runs", unit="run", leave=False)]
    names = [r.run for r in rows]
    for r in rows:
        if names.count(r.run) > 1:                     # same file name in two directories: show the paths
            r.run = r.path
    return Table(rows)
