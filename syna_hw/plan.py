"""On-chip memory plan: does an exported network fit a board's BRAM/URAM, and why not?

The plan is read off the same :class:`~syna_hw.lowering.HwModel` the generators serialise: the
network is lowered for the RTL twin at ``P`` lanes (``lanes``, default the one lane default), and
every memory ``rtl/syna_core.v`` builds for it (``syna_hw.rtl_config.rtl_memories``: input banks,
the one spike memory sized by the liveness allocation, the lane-padded weight and bias/threshold
ROMs, the ``P x 32``-bit accumulators and ``P x mem_bits`` membranes of the largest layer, the
schedule, and the attention memories when there is attention) is mapped to block RAM, UltraRAM,
LUT RAM or flip-flops by the rule Yosys' ``memory_libmap`` applies for the board's family
(``syna_hw/memmap.py``). So the plan says what the project's Yosys estimate
(``python -m syna_hw.rtl_core synth``) counts, without running Yosys: ``tests/test_lowering.py``
checks it within 5 % on the demo, SynA-C and N-MNIST bundles.

Everything is computed from the layer descriptors (shapes and bit widths), never from ROM files, so
it works on ``bundle_layers`` output for networks too large to write, as well as on a loaded bundle.

Schedule (the one both cores and the reference use): **layer-major**. The core runs one layer at a
time over all T steps; every layer's output map is stored for all T steps (``T*Ho*Wo`` words of the
largest channel count) from the layer that writes it to its last reader; only the running layer's
currents and membranes are resident; every ROM is on chip.

Verdict: fits when BRAM36, URAM and the LUTs used as distributed RAM stay within the board's
utilisation budget (``boards.UTILISATION_BUDGET``). Logic (LUT, FF, DSP of the datapath) is not
estimated here (Yosys' full synthesis does that). Sizes in the text are Kbit / Mbit of 2^10 / 2^20
bits (a BRAM36 holds 36 Kbit).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from syna_contract import numerics as nx
from syna_contract.checks import Finding, check_bundle
from syna_contract.boards import BRAM36_BITS, URAM_BITS, UTILISATION_BUDGET, Board, get_board
from syna_contract.layers import ConvLif, Fc, as_layers

from .limits import DEFAULT_LANES, RTL
from .lowering import HwModel, lower_graph
from .lutmodel import logic_luts
from .memmap import map_memory
from .rtl_config import rtl_arch, rtl_memories


@dataclass
class Memory:
    """One physical memory of the RTL (``count`` identical instances) and what it maps to."""
    what: str            # input banks | spike maps | weights | bias+threshold | accumulators | membranes | ...
    depth: int
    width: int
    count: int = 1
    place: str = "bram"  # bram | uram | lutram | ff
    how: str = ""        # the primitive and aspect ratio Yosys would pick
    bram36: float = 0.0
    uram: int = 0
    lut: int = 0

    @property
    def bits(self) -> int:
        return self.depth * self.width * self.count


@dataclass
class LayerPlan:
    name: str
    kind: str
    out_shape: list[int]
    param_bits: int      # weights + bias + threshold + attention weights, as in the bundle
    rom_bits: int        # the same in the RTL's ROMs: Cout padded to G*P lanes
    map_bits: int        # the layer's output spike map over all T (0 for fc)
    membrane_bits: int   # neurons * mem_bits (0 for non-LIF layers)


def memory_table(memories: list[Memory], mapped_as: bool = False) -> list[str]:
    """The memory rows of a plan (Kbit of 2^10 bits) and their total; ``mapped_as``: how each is mapped."""
    how = "  mapped as" if mapped_as else ""
    lines = [f"{'memory':<22}{'width x depth':>18}{'Kbit':>12}{'BRAM36':>8}{'URAM':>6}{'LUT':>8}{how}"]
    for m in memories:
        shape = f"{m.width} x {m.depth}" + (f" x{m.count}" if m.count > 1 else "")
        lines.append(f"{m.what:<22}{shape:>18}{m.bits / 1024:>12,.1f}{m.bram36:>8,.1f}{m.uram:>6}{m.lut:>8,}"
                     + (f"  {m.how}" if mapped_as else ""))
    lines.append(f"{'total':<40}{sum(m.bits for m in memories) / 1024:>12,.1f}{sum(m.bram36 for m in memories):>8,.1f}"
                 f"{int(sum(m.uram for m in memories)):>6}{int(sum(m.lut for m in memories)):>8,}")
    return lines


@dataclass
class PlanReport:
    board: Board
    lanes: int
    layers: list[LayerPlan]
    memories: list[Memory]
    peak_layer: str                      # the layer at which the live spike maps are largest
    fits: bool = False
    reasons: list[str] = field(default_factory=list)
    # syna_contract.checks: attention settings that cannot work (errors) or may not (warnings)
    attention: list[Finding] = field(default_factory=list)
    # the core's logic outside its memories (syna_hw/lutmodel.py, fitted to Yosys runs); None: not modelled
    logic_luts: int | None = None

    @property
    def attention_ok(self) -> bool:
        return not any(f.level == "error" for f in self.attention)

    # ------------------------------------------------------------------ totals
    def _sum(self, attr: str, what: str | None = None) -> float:
        return sum(getattr(m, attr) for m in self.memories if what is None or m.what == what)

    @property
    def param_bits(self) -> int:
        return sum(l.param_bits for l in self.layers)

    @property
    def spike_bits(self) -> int:
        return int(self._sum("bits", "spike maps"))

    @property
    def membrane_bits(self) -> int:
        return int(self._sum("bits", "membranes"))

    @property
    def total_bits(self) -> int:
        return int(self._sum("bits"))

    @property
    def bram36(self) -> float:
        return self._sum("bram36")

    @property
    def uram(self) -> int:
        return int(self._sum("uram"))

    @property
    def lutram_luts(self) -> int:
        return int(self._sum("lut"))

    def usage(self) -> dict[str, tuple[float, int, float]]:
        """resource -> (used, available, budget); LUT: distributed RAM plus the modelled logic."""
        b = self.board
        return {"bram36": (self.bram36, b.bram36, b.budget("bram36")),
                "uram": (self.uram, b.uram, b.budget("uram")),
                "lut": (self.lutram_luts + (self.logic_luts or 0), b.lut, b.budget("lut"))}

    def by_category(self) -> dict[str, dict[str, float]]:
        """what -> {bits, bram36, uram, lut} summed over the memories of that kind."""
        out: dict[str, dict[str, float]] = {}
        for m in self.memories:
            d = out.setdefault(m.what, dict(bits=0, bram36=0.0, uram=0, lut=0))
            d["bits"] += m.bits
            d["bram36"] += m.bram36
            d["uram"] += m.uram
            d["lut"] += m.lut
        return out

    def to_dict(self) -> dict:
        return dict(board=self.board.to_dict(), lanes=self.lanes, budget=dict(UTILISATION_BUDGET), fits=self.fits,
                    reasons=list(self.reasons), peak_layer=self.peak_layer,
                    attention_ok=self.attention_ok, attention=[f.to_dict() for f in self.attention],
                    totals=dict(param_bits=self.param_bits, spike_bits=self.spike_bits,
                                membrane_bits=self.membrane_bits, total_bits=self.total_bits,
                                bram36=self.bram36, uram=self.uram, lutram_luts=self.lutram_luts,
                                logic_luts=self.logic_luts),
                    categories=self.by_category(),
                    layers=[asdict(l) for l in self.layers],
                    memories=[dict(asdict(m), bits=m.bits) for m in self.memories])

    def table(self) -> str:
        """Fixed-width text: per-layer storage, the RTL's memories and their mapping, totals and the verdict."""
        kb = lambda bits: f"{bits / 1024:,.1f}"
        lines = [f"On-chip memory plan for {self.board.name} ({self.board.part}), RTL twin at P = {self.lanes} "
                 f"lanes, layer-major schedule",
                 f"{'layer':<12}{'kind':<11}{'out shape':<15}{'params Kbit':>13}{'ROM Kbit':>12}"
                 f"{'map Kbit':>12}{'membr Kbit':>12}"]
        for l in self.layers:
            lines.append(f"{l.name:<12}{l.kind:<11}{'x'.join(map(str, l.out_shape)):<15}{kb(l.param_bits):>13}"
                         f"{kb(l.rom_bits):>12}{kb(l.map_bits):>12}{kb(l.membrane_bits):>12}")
        lines.append("(ROM: the parameters with Cout padded to whole groups of P lanes, as the RTL stores them)")
        lines.append("")
        lines += memory_table(self.memories, mapped_as=True)
        lines.append(f"spike maps live at the peak layer {self.peak_layer!r}")
        lines.append("")
        for res, (used, avail, budget) in self.usage().items():
            if avail:
                lines.append(f"{res:<7} used {used:>12,.1f} of {avail:>9,} ({100 * used / avail:6.1f}%), "
                             f"budget {100 * UTILISATION_BUDGET[res]:.0f}% = {budget:,.1f}")
        logic = (f"{self.logic_luts:,} logic (syna_hw/lutmodel.py: fitted to Yosys runs of the whole core)"
                 if self.logic_luts is not None else "logic not estimated (attention: no Yosys-fitted model)")
        lines.append(f"lut = {self.lutram_luts:,} distributed RAM + {logic}")
        lines.append("Mapping as Yosys synth_xilinx -family " + self.board.synth_family + " does (syna_hw/memmap.py); "
                     "FF, DSP and the read multiplexers of memories built from several BRAM/URAM are not estimated.")
        lines.append(f"verdict: {'FITS on chip' if self.fits else 'does NOT fit on chip'}")
        lines += [f"  - {r}" for r in self.reasons]
        if self.attention:
            lines.append("attention: " + ("settings work" if self.attention_ok else
                                          "CANNOT WORK as configured (docs/numerics.md section 6)"))
            lines += [f"  - {f}" for f in self.attention]
        return "\n".join(lines)


# ---------------------------------------------------------------------------- plan
def _layer_plans(hw: HwModel) -> list[LayerPlan]:
    mem_bits, P, T = hw.mem_bits, hw.lanes, hw.steps
    bias_bits = hw.numerics.get("bias_bits", nx.BIAS_BITS)
    plans = []
    for l in hw.descriptors:
        g = l.groups(P)
        param = rom = 0
        if isinstance(l, ConvLif):
            cin, cout, k = l.in_shape[0], l.channels, l.kernel
            param = cin * k * k * cout * (l.weight_bits or hw.weight_bits) + cout * (bias_bits + mem_bits)
            rom = cin * k * k * g * P * hw.weight_bits + g * P * (32 + mem_bits)
            if l.attention:
                a = l.attention
                param += 2 * a.size * a.hidden * a.weight_bits
                rom += 2 * a.size * a.hidden * hw.att_weight_bits
        elif isinstance(l, Fc):
            cin, classes = l.in_shape[0], l.channels
            param = cin * classes * (l.weight_bits or hw.weight_bits) + classes * bias_bits
            rom = cin * g * P * hw.weight_bits + g * P * (32 + mem_bits)
        plans.append(LayerPlan(l.name, l.kind, list(l.out_shape), param, rom,
                               T * l.neurons if l.spiking else 0,
                               l.neurons * mem_bits if isinstance(l, ConvLif) else 0))
    return plans


def map_memories(mems, board: Board) -> list[Memory]:
    """Each :class:`~syna_hw.rtl_config.RtlMemory` mapped to the board family's primitives as Yosys does."""
    out = []
    for m in mems:
        mp = map_memory(m.width, m.depth, board.synth_family, init=m.init, sync_read=m.sync_read,
                        uram=board.uram > 0 and m.uram)
        out.append(Memory(m.name, m.depth, m.width, m.count, mp.kind,
                          mp.how + (f" (each of {m.count})" if m.count > 1 else ""),
                          mp.bram36 * m.count, mp.uram * m.count, mp.lut * m.count))
    return out


def plan_model(hw: HwModel, board: str | Board) -> PlanReport:
    """The plan of a lowered model (``target`` RTL) on ``board``: every RTL memory, mapped as Yosys does."""
    b = board if isinstance(board, Board) else get_board(board)
    arch = rtl_arch(hw)
    report = PlanReport(b, hw.lanes, _layer_plans(hw), map_memories(rtl_memories(arch), b), hw.maps.peak_layer,
                        logic_luts=logic_luts(arch, b.synth_family))
    report.fits, report.reasons = _verdict(report)
    return report


def plan_layers(layers, input_spec: dict, numerics: dict, board: str, lanes: int = DEFAULT_LANES) -> PlanReport:
    """Plan the on-chip storage of ``layers`` (manifest layer dicts or descriptors) on ``board`` with
    the RTL twin at ``lanes`` output-channel lanes; see the module doc."""
    b = get_board(board)
    hw = lower_graph(as_layers(layers), input_spec, numerics, lanes, board=b.name, target=RTL)
    return plan_model(hw, b)


def _verdict(r: PlanReport) -> tuple[bool, list[str]]:
    b, cats = r.board, r.by_category()
    mbit = lambda bits: f"{bits / 2**20:,.2f} Mbit"
    onchip = b.bram36 * BRAM36_BITS + b.uram * URAM_BITS
    reasons, fits = [], True
    for res, (used, avail, budget) in r.usage().items():
        if used > budget:
            fits = False
            parts = ", ".join([f"{w} {d[res]:,.1f}" for w, d in cats.items() if d[res]]
                              + ([f"logic {r.logic_luts:,}"] if res == "lut" and r.logic_luts else []))
            reasons.append(f"{res.upper()}: needs {used:,.1f} but {b.name} has {avail:,} and the "
                           f"{100 * UTILISATION_BUDGET[res]:.0f}% budget allows {budget:,.1f} ({parts})")
    if not fits:
        reasons.append(f"storage needed {mbit(r.total_bits)} (parameters {mbit(r.param_bits)}, spike maps "
                       f"{mbit(r.spike_bits)} up to {r.peak_layer!r}, membranes {mbit(r.membrane_bits)}) vs "
                       f"{mbit(onchip)} of BRAM{'+URAM' if b.uram else ''} on {b.name}")
        if r.param_bits > onchip:
            reasons.append(f"the parameters alone ({mbit(r.param_bits)}) exceed all on-chip RAM; they fit the "
                           f"{b.ddr_bytes / 2**20:,.0f} MB DDR ({r.param_bits / 8 / 2**20:,.1f} MB) and would "
                           f"have to be streamed from it")
        if r.spike_bits > b.budget("bram36") * BRAM36_BITS + b.budget("uram") * URAM_BITS:
            reasons.append(f"the spike memory alone ({mbit(r.spike_bits)}, live maps up to {r.peak_layer!r}) "
                           f"exceeds the on-chip RAM budget: a layer-major schedule needs a different (tiled or "
                           f"time-major) dataflow for this input size")
    else:
        for res, (used, avail, budget) in r.usage().items():
            if avail:
                reasons.append(f"{res.upper()}: {used:,.1f} of the {budget:,.1f} budget "
                               f"({100 * used / avail:.1f}% of {avail:,})")
    return fits, reasons


def plan_bundle(bundle, board: str, lanes: int = DEFAULT_LANES, check_attention: bool = True) -> PlanReport:
    """:func:`plan_layers` for a loaded :class:`syna_contract.bundle.Bundle`, plus the attention checks
    (``syna_contract.checks.check_bundle``: from the manifest and ROMs, and measured by the integer
    reference on the golden inputs when the bundle has them)."""
    report = plan_layers(bundle.descriptors, bundle.input_spec, bundle.numerics, board, lanes)
    if check_attention:
        report.attention = check_bundle(bundle)
    return report
