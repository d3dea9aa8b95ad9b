"""On-chip memory plan: does an exported network fit a board's BRAM/URAM, and why not?

Everything is computed from the layer descriptors (shapes and bit widths), never
from ROM files, so it works on ``bundle_layers`` output for networks too large
to write, as well as on a loaded bundle.

Schedule assumed (the one the integer reference uses): **layer-major**. The core
runs one layer at a time over all T steps, then the next layer.
- Membranes: only the running layer's membranes are resident, one per output
  neuron (C*H*W words of ``mem_bits``); one buffer, reused by every layer, sized
  by the largest layer. Attention (MA/IA pools over T, so it is non-causal) runs
  two passes over the layer: pass 1 accumulates the avg/max pools, pass 2
  recomputes the currents and applies the gate; it needs only the pools
  (2 x size words of ``acc_bits``), not a T x C x H x W current buffer.
- Spike maps: every layer's output map is stored for all T steps: T*C*H*W bits,
  one ``C``-bit word per (t, y, x). A map stays live from the layer that writes
  it to its last reader, so a residual block's input is kept until its shortcut
  conv has read it. The spike storage is the set of maps live at the worst
  layer (largest sum of bits); other layers reuse those buffers (approximation:
  shape mismatches between reused buffers are ignored).
- Input: streamed from DDR one time step at a time; the encoder conv keeps a
  line buffer of K rows (K * W words of C * ``bits``).
- Parameters: every ROM on chip, as in the bundle: weights (one word of
  ``weight_bits`` per entry), per-channel bias and threshold packed into one
  word (``bias_bits + mem_bits``), attention MLP weights (w1 and w2 in one ROM).

Block RAM estimate: each memory (depth x width) is mapped to BRAM18 halves in the
best of the aspect ratios 16Kx1, 8Kx2, 4Kx4, 2Kx9, 1Kx18, 512x36 (blocks =
ceil(width / w) * ceil(depth / d), minimised over the ratios, as Vivado cascades
them); BRAM36 = halves / 2. Memories of at most ``LUTRAM_MAX_BITS`` go to
distributed RAM (64 bits per LUT) instead. On boards with UltraRAM (4K x 72,
entries narrower than 72 bits packed into one word), the largest memories move
to URAM, biggest first, while the URAM budget lasts.

Verdict: fits when BRAM36, URAM and the LUTs used as distributed RAM stay within
the board's utilisation budget (``boards.UTILISATION_BUDGET``). Logic (LUT, FF,
DSP of the datapath) depends on the core's parallelism and is not estimated here.
Sizes in the text are Kbit / Mbit of 2^10 / 2^20 bits (a BRAM36 holds 36 Kbit).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from syna_contract import numerics as nx
from syna_contract.boards import BRAM36_BITS, URAM_BITS, UTILISATION_BUDGET, Board, get_board
from syna_contract.graph import INPUT

LUTRAM_MAX_BITS = 2048           # smaller memories become distributed RAM
LUTRAM_BITS_PER_LUT = 64         # one LUT6 of a SLICEM as 64 x 1 RAM
URAM_MIN_BRAM36 = 4              # only memories of at least this many BRAM36 move to URAM
_BRAM18_SHAPES = [(1, 16384), (2, 8192), (4, 4096), (9, 2048), (18, 1024), (36, 512)]
_URAM_DEPTH, _URAM_WIDTH = 4096, 72


def bram36_for(depth: int, width: int) -> float:
    """BRAM36 blocks (in halves: BRAM18) for one memory of ``depth`` words x ``width`` bits."""
    halves = min(math.ceil(width / w) * math.ceil(depth / d) for w, d in _BRAM18_SHAPES)
    return halves / 2


def uram_for(depth: int, width: int) -> int:
    """URAM blocks for one memory; entries narrower than 72 bits are packed into a word."""
    if width <= _URAM_WIDTH:
        return math.ceil(depth / (_URAM_DEPTH * (_URAM_WIDTH // width)))
    return math.ceil(width / _URAM_WIDTH) * math.ceil(depth / _URAM_DEPTH)


@dataclass
class Memory:
    """One physical memory of the plan and where it is mapped."""
    layer: str
    what: str            # weights | bias+threshold | attention | spikes | membranes | att pools | line buffer
    depth: int
    width: int
    place: str = "bram"  # bram | uram | lutram
    bram36: float = 0.0
    uram: int = 0
    lut: int = 0

    @property
    def bits(self) -> int:
        return self.depth * self.width


@dataclass
class LayerPlan:
    name: str
    kind: str
    out_shape: list[int]
    param_bits: int      # weights + bias + threshold + attention weights
    map_bits: int        # the layer's output spike map over all T (0 for fc)
    membrane_bits: int   # neurons * mem_bits (0 for non-LIF layers)


@dataclass
class PlanReport:
    board: Board
    layers: list[LayerPlan]
    memories: list[Memory]
    peak_layer: str                      # the layer at which the live spike maps are largest
    fits: bool = False
    reasons: list[str] = field(default_factory=list)

    # ------------------------------------------------------------------ totals
    def _sum(self, attr: str, what: str | None = None) -> float:
        return sum(getattr(m, attr) for m in self.memories if what is None or m.what == what)

    @property
    def param_bits(self) -> int:
        return sum(l.param_bits for l in self.layers)

    @property
    def spike_bits(self) -> int:
        return int(self._sum("bits", "spikes"))

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
        """resource -> (used, available, budget)."""
        b = self.board
        return {"bram36": (self.bram36, b.bram36, b.budget("bram36")),
                "uram": (self.uram, b.uram, b.budget("uram")),
                "lut": (self.lutram_luts, b.lut, b.budget("lut"))}

    def by_category(self) -> dict[str, dict[str, float]]:
        """what -> {bits, bram36, uram} summed over the memories of that kind."""
        out: dict[str, dict[str, float]] = {}
        for m in self.memories:
            d = out.setdefault(m.what, dict(bits=0, bram36=0.0, uram=0, lut=0))
            d["bits"] += m.bits
            d["bram36"] += m.bram36
            d["uram"] += m.uram
            d["lut"] += m.lut
        return out

    def to_dict(self) -> dict:
        return dict(board=self.board.to_dict(), budget=dict(UTILISATION_BUDGET), fits=self.fits,
                    reasons=list(self.reasons), peak_layer=self.peak_layer,
                    totals=dict(param_bits=self.param_bits, spike_bits=self.spike_bits,
                                membrane_bits=self.membrane_bits, total_bits=self.total_bits,
                                bram36=self.bram36, uram=self.uram, lutram_luts=self.lutram_luts),
                    categories=self.by_category(),
                    layers=[asdict(l) for l in self.layers],
                    memories=[dict(asdict(m), bits=m.bits) for m in self.memories])

    def table(self) -> str:
        """Fixed-width text: per-layer storage, per-category mapping, totals and the verdict."""
        kb = lambda bits: f"{bits / 1024:,.1f}"
        rom_bram = {}
        for m in self.memories:
            if m.what in ("weights", "bias+threshold", "attention"):
                rom_bram[m.layer] = rom_bram.get(m.layer, 0.0) + m.bram36 + 8 * m.uram
        lines = [f"On-chip memory plan for {self.board.name} ({self.board.part}), layer-major schedule",
                 f"{'layer':<12}{'kind':<11}{'out shape':<15}{'params Kbit':>13}{'ROM BRAM36*':>13}"
                 f"{'map Kbit':>12}{'membr Kbit':>12}"]
        for l in self.layers:
            lines.append(f"{l.name:<12}{l.kind:<11}{'x'.join(map(str, l.out_shape)):<15}{kb(l.param_bits):>13}"
                         f"{rom_bram.get(l.name, 0.0):>13,.1f}{kb(l.map_bits):>12}{kb(l.membrane_bits):>12}")
        lines.append("(* BRAM36-equivalent: a URAM block counts as 8)")
        lines.append("")
        lines.append(f"{'storage':<16}{'Kbit':>14}{'BRAM36':>10}{'URAM':>7}{'LUTRAM LUT':>12}")
        for what, d in self.by_category().items():
            lines.append(f"{what:<16}{kb(d['bits']):>14}{d['bram36']:>10,.1f}{d['uram']:>7}{d['lut']:>12,}")
        lines.append(f"{'total':<16}{kb(self.total_bits):>14}{self.bram36:>10,.1f}{self.uram:>7}"
                     f"{self.lutram_luts:>12,}")
        lines.append(f"spike maps live at the peak layer {self.peak_layer!r}")
        lines.append("")
        for res, (used, avail, budget) in self.usage().items():
            if avail:
                lines.append(f"{res:<7} used {used:>12,.1f} of {avail:>9,} ({100 * used / avail:6.1f}%), "
                             f"budget {100 * UTILISATION_BUDGET[res]:.0f}% = {budget:,.1f}")
        lines.append("LUT counts distributed RAM only; datapath logic, FF and DSP are not estimated.")
        lines.append(f"verdict: {'FITS on chip' if self.fits else 'does NOT fit on chip'}")
        lines += [f"  - {r}" for r in self.reasons]
        return "\n".join(lines)


# ---------------------------------------------------------------------------- plan
def _neurons(shape: list[int]) -> int:
    return math.prod(shape)


def _layer_memories(l: dict, numerics: dict) -> list[Memory]:
    """The parameter ROMs of one layer, from its shapes and bit widths."""
    roms = l.get("roms", {})
    bits = lambda rom, default: roms.get(rom, {}).get("bits", default)
    name, kind = l["name"], l["kind"]
    bias_bits = bits("bias", numerics.get("bias_bits", nx.BIAS_BITS))
    if kind == "conv_lif":
        cin, cout, k = l["in_shape"][0], l["out_shape"][0], l["kernel"]
        thr_bits = bits("threshold", numerics.get("mem_bits", nx.DEFAULT_MEM_BITS))
        mems = [Memory(name, "weights", cin * k * k * cout, bits("weights", l["weight_bits"])),
                Memory(name, "bias+threshold", cout, bias_bits + thr_bits)]
        a = l.get("attention")
        if a:
            mems.append(Memory(name, "attention", 2 * a["size"] * a["hidden"], bits("att_w1", a["weight_bits"])))
        return mems
    if kind == "fc":
        cin, classes = l["in_shape"][0], l["out_shape"][0]
        return [Memory(name, "weights", cin * classes, bits("weights", l["weight_bits"])),
                Memory(name, "bias+threshold", classes, bias_bits)]
    return []


def _live_maps(layers: list[dict]) -> tuple[str, list[dict]]:
    """The layer at which the live spike maps (layer-major schedule) hold the most bits, and those maps."""
    last_use = {}
    for i, l in enumerate(layers):
        for src in l["inputs"]:
            last_use[src] = i
    best, best_bits, best_maps = layers[0]["name"], -1, []
    for i, l in enumerate(layers):
        live = [m for m in layers[:i] if last_use.get(m["name"], -1) >= i]      # maps still to be read
        if l["kind"] != "fc":
            live.append(l)                                                       # the map being written
        size = sum(_neurons(m["out_shape"]) for m in live)
        if size > best_bits:
            best, best_bits, best_maps = l["name"], size, live
    return best, best_maps


def _place(memories: list[Memory], board: Board) -> None:
    """Map each memory to LUTRAM, BRAM or (biggest first, within the budget) URAM."""
    for m in memories:
        if m.bits <= LUTRAM_MAX_BITS:
            m.place, m.lut = "lutram", math.ceil(m.bits / LUTRAM_BITS_PER_LUT)
        else:
            m.place, m.bram36 = "bram", bram36_for(m.depth, m.width)
    left = board.budget("uram")
    for m in sorted((m for m in memories if m.place == "bram"), key=lambda m: -m.bram36):
        u = uram_for(m.depth, m.width)
        if u <= left and m.bram36 >= URAM_MIN_BRAM36:
            m.place, m.uram, m.bram36 = "uram", u, 0.0
            left -= u


def plan_layers(layers: list[dict], input_spec: dict, numerics: dict, board: str) -> PlanReport:
    """Plan the on-chip storage of ``layers`` (manifest layer dicts) on ``board``; see the module doc."""
    b = get_board(board)
    steps = input_spec["steps"]
    mem_bits = numerics.get("mem_bits", nx.DEFAULT_MEM_BITS)
    memories: list[Memory] = []
    plans: list[LayerPlan] = []
    for l in layers:
        roms = _layer_memories(l, numerics)
        memories += roms
        lif = l["kind"] == "conv_lif"
        plans.append(LayerPlan(l["name"], l["kind"], list(l["out_shape"]), sum(m.bits for m in roms),
                               steps * _neurons(l["out_shape"]) if l["kind"] != "fc" else 0,
                               _neurons(l["out_shape"]) * mem_bits if lif else 0))
    convs = [l for l in layers if l["kind"] == "conv_lif"]
    biggest = max(convs, key=lambda l: _neurons(l["out_shape"]))
    memories.append(Memory(biggest["name"], "membranes", _neurons(biggest["out_shape"]), mem_bits))
    att = [l["attention"]["size"] for l in convs if l.get("attention")]
    if att:
        memories.append(Memory("-", "att pools", 2 * max(att), numerics.get("acc_bits", nx.ACC_BITS)))
    for l in convs:
        if INPUT in l["inputs"]:
            memories.append(Memory(l["name"], "line buffer", l["kernel"] * input_spec["width"],
                                   input_spec["channels"] * input_spec["bits"]))
    peak, live = _live_maps(layers)
    for m in live:
        c, h, w = m["out_shape"]
        memories.append(Memory(m["name"], "spikes", steps * h * w, c))
    _place(memories, b)
    report = PlanReport(b, plans, memories, peak)
    report.fits, report.reasons = _verdict(report)
    return report


def _verdict(r: PlanReport) -> tuple[bool, list[str]]:
    b, cats = r.board, r.by_category()
    mbit = lambda bits: f"{bits / 2**20:,.2f} Mbit"
    onchip = b.bram36 * BRAM36_BITS + b.uram * URAM_BITS
    reasons, fits = [], True
    for res, (used, avail, budget) in r.usage().items():
        if used > budget:
            fits = False
            parts = ", ".join(f"{w} {d[res]:,.1f}" for w, d in cats.items() if d[res])
            reasons.append(f"{res.upper()}: needs {used:,.1f} but {b.name} has {avail:,} and the "
                           f"{100 * UTILISATION_BUDGET[res]:.0f}% budget allows {budget:,.1f} ({parts})")
    if not fits:
        reasons.append(f"storage needed {mbit(r.total_bits)} (parameters {mbit(r.param_bits)}, spike maps "
                       f"{mbit(r.spike_bits)} at {r.peak_layer!r}, membranes {mbit(r.membrane_bits)}) vs "
                       f"{mbit(onchip)} of BRAM{'+URAM' if b.uram else ''} on {b.name}")
        if r.param_bits > onchip:
            reasons.append(f"the parameters alone ({mbit(r.param_bits)}) exceed all on-chip RAM; they fit the "
                           f"{b.ddr_bytes / 2**20:,.0f} MB DDR ({r.param_bits / 8 / 2**20:,.1f} MB) and would "
                           f"have to be streamed from it")
        if r.spike_bits > b.budget("bram36") * BRAM36_BITS + b.budget("uram") * URAM_BITS:
            reasons.append(f"the live spike maps alone ({mbit(r.spike_bits)} at {r.peak_layer!r}) exceed the "
                           f"on-chip RAM budget: a layer-major schedule needs a different (tiled or "
                           f"time-major) dataflow for this input size")
    else:
        for res, (used, avail, budget) in r.usage().items():
            if avail:
                reasons.append(f"{res.upper()}: {used:,.1f} of the {budget:,.1f} budget "
                               f"({100 * used / avail:.1f}% of {avail:,})")
    return fits, reasons


def plan_bundle(bundle, board: str) -> PlanReport:
    """:func:`plan_layers` for a loaded :class:`syna_contract.bundle.Bundle`."""
    return plan_layers(bundle.layers, bundle.input_spec, bundle.numerics, board)
