"""Plan a network from its config (a preset and knobs), without training, exporting or torch.

``syna plan --preset nmnist --width 0.25 --input-size 17 --weight-bits 4 --board pynq-z2`` lays
out the layer graph ``train`` would build (``topology.config_dict`` -> ``syna_contract.graph.build_graph``;
the input spec of the preset's dataset, ``data.input_spec``, or of a Table IX paper net,
``paper_nets.paper_input_spec``) and places it (``syna_hw.placement``). The layers need no
weights: sizes come from shapes and bit widths, speed from the cycle model at a firing rate.

:func:`suggest` re-plans a small grid of knobs (width, weight bits, input size, T, P) around a
setting and returns the nearest settings that fit on chip and that run with DDR, each with its
BRAM36 and modelled inferences/s. :func:`recipes` picks, per board and dataset, the largest
N-MNIST and DVS Gesture setting that fits on chip (``syna plan --recipes``; docs/datasets.md).
"""
from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass
from types import SimpleNamespace

from syna_contract import numerics as nx
from syna_contract.boards import get_board
from syna_contract.graph import build_graph
from syna_hw.limits import DEFAULT_LANES, RTL
from syna_hw.lowering import lower_graph
from syna_hw.placement import CANNOT, DEFAULT_RATE, ON_CHIP, SINGLE, WITH_DDR, Placement, place, search
from syna_hw.plan import plan_model

from .paper_nets import PAPER_NETS, paper_input_spec
from .recipe import DATASET_INPUT_SIZES, PRESET_DATASETS, model_preset
from .topology import PRESETS, config_dict

WIDTHS = (1.0, 0.75, 0.5, 0.375, 0.25, 0.125)
WEIGHT_BITS = (8, 6, 4)                 # numerics.WEIGHT_BITS_RANGE starts at 4
LANES = (4, 8, 16, 32)
RECIPE_DATASETS = {"nmnist": dict(preset="nmnist"),
                   "dvs_gesture": dict(net="dvs_gesture")}     # the paper net: T = 16, 4-bit counts


@dataclass(frozen=True)
class Setting:
    """A network as ``syna plan`` / ``train`` name it: a preset (or paper net) and its knobs."""
    preset: str
    dataset: str | None                 # whose input spec (None with a paper net)
    net: str | None                     # a Table IX paper net (paper_nets.PAPER_NETS)
    width: float
    input_size: int
    in_channels: int
    steps: int
    merge: str
    weight_bits: int
    mem_bits: int
    num_classes: int
    attention: str | None = None        # SynA dimension (T | C): MA on the backbone, IA on the shortcuts

    def config(self) -> dict:
        knobs = dict(width=self.width, input_size=self.input_size, in_channels=self.in_channels, steps=self.steps,
                     merge=self.merge, num_classes=self.num_classes)
        if self.net:
            knobs["input_pool"] = 0
        return config_dict(self.preset, **knobs)

    def input_spec(self) -> dict:
        ns = SimpleNamespace(**self.config())
        if self.net:
            return paper_input_spec(self.net, ns)
        from .data import input_spec
        return input_spec(self.dataset, ns)

    def graph(self) -> tuple[list[dict], dict, dict]:
        """(layers, input spec, numerics): a bare layer graph with the weight bits set. With attention the
        layer list is the exporter's (``export.bundle_layers``) for a randomly initialised model, which
        says where MA / IA go and how wide their MLPs are: that needs torch (only then)."""
        spec = self.input_spec()
        numerics = dict(mem_bits=self.mem_bits, acc_bits=nx.ACC_BITS, bias_bits=nx.BIAS_BITS,
                        weight_bits=self.weight_bits)
        if self.attention:
            return _attention_layers(self, spec), spec, numerics
        layers = build_graph(self.config())
        for l in layers:
            if l["kind"] in ("conv_lif", "fc"):
                l["weight_bits"] = self.weight_bits
        return layers, spec, numerics

    def args(self) -> str:
        """The ``syna plan`` options that name this setting."""
        head = f"--net {self.net}" if self.net else f"--preset {self.preset}" + (
            f" --dataset {self.dataset}" if self.dataset != PRESET_DATASETS.get(self.preset) else "")
        return f"{head} {self.knobs()}"

    def knobs(self) -> str:
        return (f"--width {self.width:g} --input-size {self.input_size} --steps {self.steps} "
                f"--weight-bits {self.weight_bits}" + (f" --merge {self.merge}" if self.merge != "OR" else "")
                + (f" --mem-bits {self.mem_bits}" if self.mem_bits != nx.DEFAULT_MEM_BITS else "")
                + (f" --attention {self.attention}" if self.attention else ""))


def _attention_layers(s: Setting, spec: dict) -> list[dict]:
    import torch

    from .export import bundle_layers
    from .model import AttentionSpec, SynAResNet, make_config
    from .quant import QuantSettings, quantize_model
    cfg = s.config()
    cfg["attention"] = AttentionSpec(s.attention, "b")
    torch.manual_seed(0)
    model = SynAResNet(make_config(**cfg)).eval()
    q = quantize_model(model, QuantSettings(weight_bits=s.weight_bits, mem_bits=s.mem_bits,
                                            input_scale=spec.get("scale", 1.0)))
    return bundle_layers(q, spec)[0]


def make_setting(preset: str | None = None, net: str | None = None, dataset: str | None = None,
                 width: float | None = None, input_size: int | None = None, in_channels: int | None = None,
                 steps: int | None = None, merge: str | None = None, weight_bits: int | None = None,
                 mem_bits: int | None = None, num_classes: int | None = None,
                 attention: str | None = None) -> Setting:
    """A :class:`Setting` as ``train`` would resolve it: the dataset follows the preset and the preset the
    dataset (``recipe``), the rest is the Table IX preset's unless given; ``net`` takes a paper net's
    input size, T and input encoding."""
    if net is not None:
        if net not in PAPER_NETS:
            raise ValueError(f"unknown paper net {net!r}; expected one of {sorted(PAPER_NETS)}")
        if preset is not None or dataset is not None:
            raise ValueError("--net names the topology and the input; leave out --preset and --dataset")
        pn = PAPER_NETS[net]
        preset, dataset = pn.preset, None
        input_size = pn.input_size if input_size is None else input_size
        steps = pn.steps if steps is None else steps
    else:
        from .recipe import DATASET_PRESETS
        if preset is None and dataset is None:
            raise ValueError("name the network: --preset (and knobs), --net, or a bundle directory")
        if dataset is not None and dataset not in DATASET_PRESETS:
            raise ValueError(f"unknown dataset {dataset!r}; expected one of {sorted(DATASET_PRESETS)}")
        preset = preset or DATASET_PRESETS[dataset]
        dataset = dataset or PRESET_DATASETS.get(preset)
        preset = model_preset(preset)
        if input_size is None:
            input_size = DATASET_INPUT_SIZES.get(dataset)
    cfg = config_dict(preset, width=width, input_size=input_size, in_channels=in_channels, steps=steps,
                      merge=merge, num_classes=num_classes)
    wb = nx.DEFAULT_WEIGHT_BITS if weight_bits is None else weight_bits
    mb = nx.DEFAULT_MEM_BITS if mem_bits is None else mem_bits
    if not nx.WEIGHT_BITS_RANGE[0] <= wb <= nx.WEIGHT_BITS_RANGE[1]:
        raise ValueError(f"--weight-bits {wb}; expected {nx.WEIGHT_BITS_RANGE[0]}..{nx.WEIGHT_BITS_RANGE[1]}")
    if not nx.MEM_BITS_RANGE[0] <= mb <= nx.MEM_BITS_RANGE[1]:
        raise ValueError(f"--mem-bits {mb}; expected {nx.MEM_BITS_RANGE[0]}..{nx.MEM_BITS_RANGE[1]}")
    if cfg["width"] <= 0 or cfg["input_size"] < 1 or cfg["steps"] < 1:
        raise ValueError(f"width {cfg['width']}, input size {cfg['input_size']}, T {cfg['steps']}; expected "
                         "positive values")
    if attention in ("none", ""):
        attention = None
    if attention not in (None, "T", "C"):
        raise ValueError(f"--attention {attention!r}; the integer contract exports T or C (or none)")
    s = Setting(preset, dataset, net, float(cfg["width"]), int(cfg["input_size"]), int(cfg["in_channels"]),
                int(cfg["steps"]), cfg["merge"], wb, mb, int(cfg["num_classes"]), attention)
    s.input_spec()                     # a shape the dataset cannot give is refused here, naming the fix
    return s


def lowered(s: Setting, lanes: int):
    layers, spec, numerics = s.graph()
    return lower_graph(layers, spec, numerics, lanes, target=RTL)


def plan_setting(s: Setting, board: str, lanes: int = DEFAULT_LANES, clock_mhz: float | None = None,
                 rate: float = DEFAULT_RATE, buffers: int = SINGLE) -> Placement:
    return place(lowered(s, lanes), board, clock_mhz, rate, buffers=buffers)


def setting_of_bundle(bundle) -> Setting | None:
    """The :class:`Setting` of an exported bundle (its manifest's model config, input spec and numerics), so
    a bundle's plan can suggest knobs too; None for a network that is not a Table IX preset."""
    cfg = bundle.manifest.get("model_config") or {}
    if cfg.get("preset") not in PRESETS or cfg.get("chain"):
        return None
    att = cfg.get("attention")
    wb = max(l.weight_bits or nx.DEFAULT_WEIGHT_BITS for l in bundle.descriptors if l.kind in ("conv_lif", "fc"))
    s = Setting(cfg["preset"], None, None, float(cfg["width"]), int(cfg["input_size"]), int(cfg["in_channels"]),
                int(cfg["steps"]), cfg.get("merge", "OR"), wb, int(bundle.numerics.get("mem_bits", nx.DEFAULT_MEM_BITS)),
                int(cfg["num_classes"]), att.get("dim") if isinstance(att, dict) else None)
    return _BundleSetting(**dataclasses.asdict(s), spec=dict(bundle.input_spec))


@dataclass(frozen=True)
class _BundleSetting(Setting):
    """A bundle's setting: its input spec as exported (bits, encoding), the shape following the knobs."""
    spec: dict | None = None

    def input_spec(self) -> dict:
        c = self.config()
        return dict(self.spec, steps=c["steps"], channels=c["in_channels"], height=c["input_size"],
                    width=c["input_size"])

    def args(self) -> str:
        return f"(the bundle's network as) --preset {self.preset} {self.knobs()}"


# ================================================================================ suggestions
def _sizes(s: Setting) -> list[int]:
    """Input sizes the setting's data can give, largest first (a paper net: its sensor's divisors)."""
    from .data import input_shape
    dataset = PAPER_NETS[s.net].dataset if s.net else s.dataset
    try:
        sizes = input_shape(dataset)[1]
    except ValueError:
        sizes = None
    if not sizes:
        sizes = [s.input_size // k for k in (1, 2, 4) if s.input_size // k >= 4]
    return sorted({v for v in sizes if v >= 4} | {s.input_size}, reverse=True)


def _axis(values, current, smaller_first=True) -> list:
    """``values`` with ``current`` in, ordered by distance from it (ties: the smaller first)."""
    vals = sorted(set(values) | {current}, reverse=True)
    i = vals.index(current)
    return sorted(vals, key=lambda v: (abs(vals.index(v) - i), v if smaller_first else -v))


@dataclass
class Suggestion:
    setting: Setting
    lanes: int
    distance: int                      # knob steps from the asked setting
    plan: Placement

    def row(self) -> str:
        p = self.plan
        speed = f"{p.inferences_per_s:,.1f} inferences/s" if p.inferences_per_s else "-"
        return (f"{self.setting.args()} --lanes {self.lanes}: {p.bram36:,.1f} BRAM36"
                + (f", {p.uram} URAM" if p.board.uram else "") + f", {speed}")


def _candidates(s: Setting, lanes: int, max_distance: int):
    """(distance, setting, lanes) around ``s``: never a larger network (width, bits, size, T), any P."""
    axes = dict(width=[v for v in _axis(WIDTHS, s.width) if v <= s.width],
                weight_bits=[v for v in _axis(WEIGHT_BITS, s.weight_bits) if v <= s.weight_bits],
                input_size=[v for v in _axis(_sizes(s), s.input_size) if v <= s.input_size],
                steps=[v for v in _axis({s.steps, max(1, s.steps // 2)}, s.steps) if v <= s.steps])
    lane_axis = _axis(LANES, lanes, smaller_first=False)
    out = []
    for combo in itertools.product(*(range(len(v)) for v in axes.values()), range(len(lane_axis))):
        d = sum(combo)
        if d == 0 or d > max_distance:
            continue
        knobs = {k: axes[k][i] for k, i in zip(axes, combo[:-1])}
        out.append((d, dataclasses.replace(s, **knobs), lane_axis[combo[-1]]))
    return sorted(out, key=lambda t: t[0])


def suggest(s: Setting, board: str, lanes: int = DEFAULT_LANES, clock_mhz: float | None = None,
            rate: float = DEFAULT_RATE, n: int = 3, max_distance: int = 10, ddr: bool = True
            ) -> dict[str, list[Suggestion]]:
    """The ``n`` nearest settings (knob steps; then the faster) that fit on chip, and (``ddr``) that run
    with DDR, each re-planned in full: computed, not guessed."""
    b = get_board(board)
    kinds = [ON_CHIP, WITH_DDR] if ddr else [ON_CHIP]
    found: dict[str, list[tuple[int, Setting, int]]] = {v: [] for v in kinds}
    stop = dict.fromkeys(kinds)
    for d, cand, p in _candidates(s, lanes, max_distance):
        if all(stop[v] is not None and d > stop[v] for v in stop):
            break
        try:
            hw = lowered(cand, p)
        except ValueError:
            continue
        if plan_model(hw, b).fits:
            verdict = ON_CHIP
        elif ddr and (stop[WITH_DDR] is None or d <= stop[WITH_DDR]):
            verdict = WITH_DDR if search(hw, b)[0] is not None else CANNOT
        else:
            continue
        if verdict == CANNOT or (stop[verdict] is not None and d > stop[verdict]):
            continue
        found[verdict].append((d, cand, p))
        if len(found[verdict]) >= n and stop[verdict] is None:
            stop[verdict] = d                    # keep the rest of this distance, to rank by speed
    out = {}
    for verdict, items in found.items():
        plans = [Suggestion(c, p, d, plan_setting(c, b.name, p, clock_mhz, rate)) for d, c, p in items]
        plans = [x for x in plans if x.plan.verdict == verdict]
        out[verdict] = sorted(plans, key=lambda x: (x.distance, -(x.plan.inferences_per_s or 0)))[:n]
    return out


def suggestions_text(sug: dict[str, list[Suggestion]], rate: float) -> str:
    lines = [f"Settings near this one (re-planned; speed modelled at firing rate {rate:g}):"]
    for verdict, label in ((ON_CHIP, "fit on chip"), (WITH_DDR, "run with weights in DDR (modelled)")):
        if verdict not in sug:
            continue
        rows = sug[verdict]
        lines.append(f"  that {label}:" + ("" if rows else " none within the searched grid"))
        lines += [f"    syna plan {x.row()}" for x in rows]
    return "\n".join(lines)


# ================================================================================ recipes
def recipe(dataset: str, board: str, input_size: int, rate: float = DEFAULT_RATE) -> Suggestion | None:
    """The widest setting of ``dataset`` (``RECIPE_DATASETS``) at ``input_size`` that fits ``board`` on chip:
    width first, then weight bits (T as the preset or paper net has it); among lane counts the fastest."""
    b = get_board(board)
    base = dataclasses.replace(make_setting(**RECIPE_DATASETS[dataset]), input_size=input_size)
    for width, bits in itertools.product(WIDTHS, WEIGHT_BITS):
        s = dataclasses.replace(base, width=width, weight_bits=bits)
        fits = []
        for p in LANES:
            try:
                if plan_model(lowered(s, p), b).fits:
                    fits.append(p)
            except ValueError:
                continue
        if fits:
            plans = [Suggestion(s, p, 0, plan_setting(s, b.name, p, rate=rate)) for p in fits]
            return max(plans, key=lambda x: x.plan.inferences_per_s or 0)
    return None


RECIPE_SIZES = {"nmnist": (34, 17), "dvs_gesture": (128, 64, 32)}


def recipes_markdown(boards: list[str], rate: float = DEFAULT_RATE) -> str:
    """docs/datasets.md's tables "Settings that fit each board": per board, dataset and input size the
    widest setting on chip; then the paper-size DVS Gesture ResNet21 per board (DDR placement)."""
    rows = [f"On chip (RTL twin, utilisation budget of syna_contract/boards.py; speed modelled at firing rate "
            f"{rate:g}, the HLS core's cycle model, at the board's PL clock):", "",
            "| board | dataset | input | widest setting that fits on chip (`syna plan ...`) | P | BRAM36 | URAM "
            "| inferences/s |", "|---|---|---|---|---|---|---|---|"]
    for board in boards:
        b = get_board(board)
        for dataset, sizes in RECIPE_SIZES.items():
            for size in sizes:
                r = recipe(dataset, board, size, rate)
                if r is None:
                    rows.append(f"| {b.title} | {dataset} | {size}x{size} | none down to width {WIDTHS[-1]:g}, "
                                f"{WEIGHT_BITS[-1]}-bit weights | | | | |")
                    continue
                p = r.plan
                rows.append(f"| {b.title} | {dataset} | {size}x{size} | `{r.setting.args()}` | {r.lanes} | "
                            f"{p.bram36:,.1f} of {b.bram36} | {p.uram if b.uram else '-'} | "
                            f"{p.inferences_per_s:,.0f} at {p.clock_mhz:g} MHz |")
    rows += ["", "The paper-size DVS Gesture ResNet21 (`syna plan --net dvs_gesture`, width 1, 128x128, T = 16, "
             "8-bit weights) with weights in DDR (both cores read them from DDR in simulation; the speed is "
             "modelled) and, where that does not fit, spike maps in DDR (`--maps ddr`, syna_hw/spill.py) or parts that "
             "are modelled but not built (tiles of a few lane groups for the accumulators, single spilled spike maps "
             "and membranes); the last column says what is not built:", "",
             "| board | P | verdict | BRAM36 | URAM | DDR MB / inference | stall | inferences/s | not built |",
             "|---|---|---|---|---|---|---|---|---|"]
    paper = make_setting(net="dvs_gesture")
    for board in boards:
        b = get_board(board)
        for p in (16, 32):
            x = plan_setting(paper, board, p, rate=rate)
            if x.runs:
                verdict = x.verdict + (f", spike maps too (acc_rows {x.choice.acc_rows:,})" if x.choice.maps_ddr else "")
                rows.append(f"| {b.title} | {p} | {verdict} | {x.bram36:,.1f} | {x.uram if b.uram else '-'} | "
                            f"{x.ddr_bytes_per_inference / 1e6:,.1f} | {100 * x.stall_fraction:.1f}% | "
                            f"{x.inferences_per_s:,.1f} at {x.clock_mhz:g} MHz | "
                            f"{x.not_built or '-'} |")
            else:
                rows.append(f"| {b.title} | {p} | {x.verdict} (`syna plan --net dvs_gesture --board {b.name} "
                            f"--lanes {p}` says why) | | | | | | |")
    return "\n".join(rows)
