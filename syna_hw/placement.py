"""Placement: which tensors stay on chip and which go to DDR, and what the DDR costs (issue 16 item 3).

**Modelled; the cores' DDR path is not built yet (issue 16).** Today both cores keep every tensor on
chip; ``rtl/syna_axi_rd.v`` (an AXI4 read master) and the DDR weight image
(``syna_contract/ddr_image.py``) exist, but no core reads weights through them. This module says
what a core that does would need and how fast it would run, so that a user can tell before training
whether a network fits a board, runs from DDR, or cannot run.

Given a lowered :class:`~syna_hw.lowering.HwModel` (P lanes), a board and a clock:

1. **On chip** (:func:`syna_hw.plan.plan_model`, today's RTL memories mapped as Yosys does): if they
   fit the utilisation budget, the verdict is *fits on chip*.
2. **Weights in DDR**: the conv / fc layers' weights move to DDR, largest first, until the rest fits
   (and, where moving more of them frees room for a larger tile or a double buffer, further).
   Each layer's weights are read from the DDR image once per inference (layer-major schedule), so
   the DDR bytes are exactly those layers' weight sections of the image (``build_image``'s lane-group
   blocks). A layer is run in **output-channel tiles** of ``tile`` lane groups (``tile * P`` output
   channels): the on-chip weight buffer holds one tile of the largest DDR layer (two with a double
   buffer), and the accumulators and membranes one tile of the widest layer, so tiling shrinks both.
   A layer of ``G`` groups takes ``ceil(G / tile)`` tiles and **re-scans its input events for every
   tile after the first**: ``(tiles - 1) x`` its scan cycles (``CycleReport.scans``). Bias,
   threshold and attention parameters stay on chip. Among the placements that fit (how many layers in
   DDR, every tile size, one or two buffers) the one with the fewest modelled cycles is kept.
3. **Spills**: if even all weights in DDR at one lane group per tile do not fit, spike maps (the input
   frames count as one) move to DDR, largest first, then the membranes. A spilled map is written
   once and read once per reader tile; spilled membranes are read and written once per time step.
4. Otherwise: *cannot run*, with the reason. Also *cannot run*: DDR tensors larger than the share of
   the board's DDR the model may use (:data:`DDR_SHARE`: the rest is the operating system's).

**Timing** (at the board's PL clock or ``clock_mhz``): compute cycles are the HLS core's cycle model
(``syna_hw/cycles.py``, II = 1 trip counts), fed with random spike maps **at firing rate r**
(:data:`DEFAULT_RATE`; every map and the input's non-zero values at that rate, a fixed seed), or with
recorded spike maps (a bundle's golden samples: the mean over them, which is what the HLS C-sim
counts on those samples); plus the re-scan cycles of tiling. Memory cycles are a layer's DDR bytes
over the board's modelled bandwidth in bytes per core cycle (``Board.ddr_bytes_per_cycle``: HP port
width, port clock, assumed efficiency; ``syna_contract/boards.py``). With a **double buffer** the
next tile's load overlaps the current tile's compute (and a layer's first tile the previous layer's
last: an approximation), so a layer stalls ``max(0, memory - compute)``;
with a **single buffer** nothing overlaps and a layer stalls its whole memory time. Latency is
``(compute + stall) / clock``; inferences/s its inverse (one inference at a time).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from syna_contract.boards import Board, UTILISATION_BUDGET, get_board
from syna_contract.ddr_image import BLOCK_ALIGN, row_bytes
from syna_contract.graph import INPUT
from syna_contract.layers import as_layers

from .cycles import CycleReport, model_cycles
from .limits import DEFAULT_LANES, RTL
from .lowering import HwModel, lower_graph
from .plan import Memory, PlanReport, map_memories, memory_table, plan_model
from .rtl_config import RtlMemory, rtl_arch, rtl_memories

DEFAULT_RATE = 0.10          # firing rate of the modelled spike maps (issue 16's networks fire at 5-20 %)
DDR_SHARE = 0.5              # of the board's DDR, what the model may use (the OS and the PYNQ image keep the rest)
DDR_NOT_BUILT = ("modelled; both cores read weights from DDR in simulation (HLS C-sim and RTL twin, `--weights ddr`: "
                 "one buffer, loads not overlapped with compute); spilled maps/membranes are not built and nothing "
                 "has run on a board (issue 16)")

ON_CHIP, WITH_DDR, CANNOT = "fits on chip", "runs with weights in DDR (modelled)", "cannot run"
EXIT_CODES = {ON_CHIP: 0, WITH_DDR: 3, CANNOT: 4}


@dataclass(frozen=True)
class Choice:
    """One placement: what is in DDR and how layers are tiled."""
    ddr_weights: tuple[str, ...] = ()        # conv / fc layers whose weights are read from DDR
    tile: int = 0                            # lane groups per output-channel tile (0: untiled, all on chip)
    buffers: int = 1                         # weight tile buffers (2: loads overlap compute)
    spilled: tuple[str, ...] = ()            # spike maps in DDR ('input': the input frames)
    membranes_ddr: bool = False


@dataclass
class LayerCost:
    name: str
    tiles: int
    compute: int          # modelled cycles (cycle model), without re-scans
    rescan: int           # extra cycles of scanning the input once more per tile after the first
    ddr_bytes: int        # DDR read + write bytes of this layer per inference
    memory: float         # ddr_bytes at the modelled bandwidth, in core cycles
    stall: int            # cycles the core waits for DDR (see the module doc)


@dataclass
class Placement:
    chip: PlanReport                     # today's all-on-chip plan
    verdict: str
    reasons: list[str]
    choice: Choice
    memories: list[Memory]               # the chosen placement's on-chip memories (the chip plan's when on chip)
    clock_mhz: float
    rate: float | None                   # modelled firing rate (None: recorded spike maps were given)
    costs: list[LayerCost] = field(default_factory=list)
    io_cycles: int = 0
    ddr_stored_bytes: int = 0            # what lives in DDR (weights, spilled maps, membranes)
    samples: int = 0                     # recorded samples the cycles are the mean of (0: random maps at rate)

    @property
    def board(self) -> Board:
        return self.chip.board

    @property
    def lanes(self) -> int:
        return self.chip.lanes

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.verdict]

    @property
    def runs(self) -> bool:
        return self.verdict != CANNOT

    # ------------------------------------------------------------------ totals
    @property
    def bram36(self) -> float:
        return sum(m.bram36 for m in self.memories)

    @property
    def uram(self) -> int:
        return int(sum(m.uram for m in self.memories))

    @property
    def lutram_luts(self) -> int:
        return int(sum(m.lut for m in self.memories))

    @property
    def compute_cycles(self) -> int:
        return sum(c.compute + c.rescan for c in self.costs) + self.io_cycles

    @property
    def rescan_cycles(self) -> int:
        return sum(c.rescan for c in self.costs)

    @property
    def stall_cycles(self) -> int:
        return sum(c.stall for c in self.costs)

    @property
    def cycles(self) -> int:
        return self.compute_cycles + self.stall_cycles

    @property
    def stall_fraction(self) -> float:
        return self.stall_cycles / self.cycles if self.cycles else 0.0

    @property
    def ddr_bytes_per_inference(self) -> int:
        return sum(c.ddr_bytes for c in self.costs)

    @property
    def latency_s(self) -> float | None:
        return self.cycles / (self.clock_mhz * 1e6) if self.runs and self.cycles else None

    @property
    def inferences_per_s(self) -> float | None:
        lat = self.latency_s
        return 1.0 / lat if lat else None

    def to_dict(self) -> dict:
        return dict(verdict=self.verdict, exit_code=self.exit_code, runs=self.runs, reasons=list(self.reasons),
                    board=self.board.name, lanes=self.lanes, clock_mhz=self.clock_mhz, rate=self.rate,
                    recorded_samples=self.samples,
                    ddr_bandwidth_bytes_per_s=self.board.ddr_bytes_per_s(self.clock_mhz),
                    double_buffer=self.choice.buffers == 2, tile_groups=self.choice.tile,
                    ddr_weights=list(self.choice.ddr_weights), spilled_maps=list(self.choice.spilled),
                    membranes_ddr=self.choice.membranes_ddr, ddr_stored_bytes=self.ddr_stored_bytes,
                    bram36=self.bram36, uram=self.uram, lutram_luts=self.lutram_luts,
                    cycles=self.cycles if self.runs else None,
                    compute_cycles=self.compute_cycles if self.runs else None,
                    rescan_cycles=self.rescan_cycles if self.runs else None,
                    stall_cycles=self.stall_cycles if self.runs else None,
                    stall_fraction=self.stall_fraction if self.runs else None,
                    ddr_bytes_per_inference=self.ddr_bytes_per_inference if self.runs else None,
                    latency_s=self.latency_s, inferences_per_s=self.inferences_per_s,
                    ddr_note=DDR_NOT_BUILT if self.choice.tile else None,
                    layers=[dataclasses.asdict(c) for c in self.costs],
                    memories=[dict(dataclasses.asdict(m), bits=m.bits) for m in self.memories],
                    chip_plan=self.chip.to_dict())

    def table(self) -> str:
        """The on-chip plan, then the placement, per-layer timing and the verdict."""
        b = self.board
        chip = [("on chip alone: " + l[len("verdict: "):]) if l.startswith("verdict: ") else l
                for l in self.chip.table().splitlines()]
        lines = chip + [""]
        rate = (f"modelled at firing rate {self.rate:g} (random spike maps)" if self.rate is not None
                else f"the mean over {self.samples} recorded sample(s) (the bundle's golden spike maps)")
        bw = b.ddr_bytes_per_s(self.clock_mhz)
        if self.choice.tile:
            c = self.choice
            lines.append(f"Placement with DDR ({DDR_NOT_BUILT}):")
            lines.append(f"  weights in DDR: {len(c.ddr_weights)} layer(s), largest first: {', '.join(c.ddr_weights)}")
            lines.append(f"  output-channel tiles of {c.tile} lane group(s) = {c.tile * self.lanes} channels; "
                         f"{'double' if c.buffers == 2 else 'single'} weight buffer "
                         f"({'loads overlap compute: stall = max(0, memory - compute) per layer' if c.buffers == 2 else 'loads do not overlap compute: stall = memory time'})")
            if c.spilled:
                lines.append(f"  spike maps in DDR: {', '.join(c.spilled)}")
            if c.membranes_ddr:
                lines.append("  membranes in DDR (read and written once per time step)")
            lines.append(f"  DDR holds {self.ddr_stored_bytes / 2**20:,.2f} MiB of the model "
                         f"(the planner allows {100 * DDR_SHARE:.0f}% of {b.ddr_bytes / 2**20:,.0f} MiB)")
            lines += memory_table(self.memories)
            for res, used in (("bram36", self.bram36), ("uram", self.uram), ("lut", self.lutram_luts)):
                avail = getattr(b, res)
                if avail:
                    lines.append(f"{res:<7} used {used:>12,.1f} of {avail:>9,} ({100 * used / avail:6.1f}%), "
                                 f"budget {100 * UTILISATION_BUDGET[res]:.0f}% = {b.budget(res):,.1f}")
            lines.append("")
        if self.runs:
            lines.append(f"Speed at {self.clock_mhz:g} MHz, P = {self.lanes}, {rate}; cycles: the HLS core's cycle "
                         f"model (syna_hw/cycles.py)" + (f"; DDR {bw / 1e6:,.0f} MB/s modelled ({b.hp_bits}-bit HP "
                                                          f"port, efficiency {b.ddr_efficiency:g})"
                                                          if self.choice.tile else ""))
            if self.choice.tile:
                lines.append(f"{'layer':<12}{'tiles':>6}{'compute':>12}{'re-scan':>10}{'DDR bytes':>12}"
                             f"{'memory':>12}{'stall':>10}")
                for c in self.costs:
                    lines.append(f"{c.name:<12}{c.tiles:>6}{c.compute:>12,}{c.rescan:>10,}{c.ddr_bytes:>12,}"
                                 f"{c.memory:>12,.0f}{c.stall:>10,}")
            lines.append(f"cycles per inference {self.cycles:,} = compute {self.compute_cycles:,}"
                         + (f" (of which re-scans {self.rescan_cycles:,})" if self.rescan_cycles else "")
                         + f" + memory stall {self.stall_cycles:,} ({100 * self.stall_fraction:.1f}%)")
            lines.append(f"DDR bytes per inference {self.ddr_bytes_per_inference:,}; latency "
                         f"{1e3 * self.latency_s:,.3f} ms; {self.inferences_per_s:,.1f} inferences/s")
        lines.append(f"verdict: {self.verdict} (exit code {self.exit_code})")
        lines += [f"  - {r}" for r in self.reasons]
        return "\n".join(lines)


# ================================================================================ sizes
def weight_layers(hw: HwModel) -> list[tuple[str, int, int]]:
    """(name, rows, groups) of every conv and the fc: rows of P weights per lane group."""
    out = [(l.name, l.cin * l.k * l.k, l.g) for l in hw.convs]
    return out + [(hw.fc.name, hw.fc.c, hw.fc.g)]


def ddr_weight_bytes(hw: HwModel) -> dict[str, int]:
    """Bytes of each layer's weight section in the DDR image for P = ``hw.lanes`` (one
    ``BLOCK_ALIGN``-aligned block of rows per lane group; ``syna_contract.ddr_image``)."""
    rb = row_bytes(hw.lanes, hw.weight_bits)
    return {name: g * (-(-rows * rb // BLOCK_ALIGN) * BLOCK_ALIGN) for name, rows, g in weight_layers(hw)}


def map_bytes(hw: HwModel) -> dict[str, int]:
    """Bytes of each spike map over all T (bits packed), and of the input frames ('input')."""
    T, spec = hw.steps, hw.input_spec
    out = {INPUT: -(-T * spec["channels"] * spec["height"] * spec["width"] * spec["bits"] // 8)}
    for l in hw.layers:
        out[l.name] = -(-T * l.cout * l.hout * l.wout // 8)
    return out


def _spike_depth(hw: HwModel, spilled: set[str]) -> int:
    """Words of the RTL's spike memory when the ``spilled`` maps live in DDR: the same first fit as
    :func:`syna_hw.lowering.allocate_spike_maps`, over the maps that stay."""
    layers, T = hw.descriptors, hw.steps
    last_use: dict[str, int] = {}
    for i, l in enumerate(layers):
        for src in l.inputs:
            last_use[src] = i
    live: dict[str, tuple[int, int]] = {}
    depth = 0
    for i, l in enumerate(layers):
        if not l.spiking:
            continue
        for name in [n for n in live if last_use.get(n, -1) < i]:
            del live[name]
        if l.name in spilled:
            continue
        _, h, w = l.out_shape
        words, base = T * h * w, 0
        for b, n in sorted(live.values()):
            if base + words <= b:
                break
            base = max(base, b + n)
        depth = max(depth, base + words)
        live[l.name] = (base, words)
    return depth


def _memories(hw: HwModel, base: list[RtlMemory], c: Choice) -> list[RtlMemory]:
    """The RTL memories of ``base`` as placement ``c`` changes them (see the module doc)."""
    rows = {n: (r, g) for n, r, g in weight_layers(hw)}
    ddr = set(c.ddr_weights)
    out = []
    for m in base:
        if m.name == "weights":
            resident = sum(r * g for n, (r, g) in rows.items() if n not in ddr)
            if resident:
                out.append(dataclasses.replace(m, depth=resident))
            if ddr:
                depth = max(r * min(g, c.tile) for n, (r, g) in rows.items() if n in ddr)
                out.append(RtlMemory("weight buffer", m.width, depth, count=c.buffers))
        elif m.name in ("accumulators", "membranes"):
            if m.name == "membranes" and c.membranes_ddr:
                continue
            depth = max([l.hout * l.wout * min(l.g, c.tile) for l in hw.convs] + [min(hw.fc.g, c.tile), 1])
            out.append(dataclasses.replace(m, depth=depth))
        elif m.name == "spike maps":
            depth = _spike_depth(hw, set(c.spilled))
            if depth:
                out.append(dataclasses.replace(m, depth=depth))
        elif m.name == "input banks" and INPUT in c.spilled:
            continue
        else:
            out.append(m)
    return out


def _fits(mems: list[Memory], b: Board) -> bool:
    return (sum(m.bram36 for m in mems) <= b.budget("bram36") and sum(m.uram for m in mems) <= b.budget("uram")
            and sum(m.lut for m in mems) <= b.budget("lut"))


# ================================================================================ timing
def modelled_spikes(hw: HwModel, rate: float, seed: int = 0) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Random input [T, C, H, W] (non-zero values 1 at ``rate``) and spike maps at ``rate``."""
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"firing rate {rate}; expected 0..1")
    rng = np.random.default_rng(seed)
    T, s = hw.steps, hw.input_spec
    x = (rng.random((T, s["channels"], s["height"], s["width"]), dtype=np.float32) < rate).astype(np.int8)
    spikes = {l.name: rng.random((T, l.cout, l.hout, l.wout), dtype=np.float32) < rate for l in hw.layers}
    return x, spikes


def _costs(hw: HwModel, cyc: CycleReport, c: Choice, b: Board, clock_mhz: float) -> tuple[list[LayerCost], int]:
    """Per-layer cost of placement ``c`` and the DDR bytes it stores."""
    per_cycle = b.ddr_bytes_per_cycle(clock_mhz)
    wbytes = ddr_weight_bytes(hw)
    mbytes = map_bytes(hw)
    spilled = set(c.spilled)
    ddr = set(c.ddr_weights)
    out = []
    for l in hw.layers + [hw.fc]:
        g = l.g
        tiles = -(-g // c.tile) if c.tile and (l is hw.fc or l.kind == "conv_lif") else 1
        compute = cyc.layers[l.name]
        if l is hw.fc:
            scan = hw.steps * hw.fc.h * hw.fc.w * hw.fc.cw
        else:
            scan = cyc.scans.get(l.name, 0)
        rescan = (tiles - 1) * scan
        nbytes = wbytes[l.name] if l.name in ddr else 0
        if l is not hw.fc and l.name in spilled:
            nbytes += mbytes[l.name]                                   # write the output map once
        nbytes += sum(mbytes[src] * tiles for src in l.layer.inputs if src in spilled)
        if c.membranes_ddr and l is not hw.fc and l.kind == "conv_lif":
            nbytes += 2 * hw.steps * (-(-l.hout * l.wout * g * hw.lanes * hw.mem_bits // 8))
        memory = nbytes / per_cycle if nbytes else 0.0
        busy = compute + rescan
        stall = math.ceil(max(0.0, memory - busy)) if c.buffers == 2 else math.ceil(memory)
        out.append(LayerCost(l.name, tiles, compute, rescan, nbytes, memory, stall))
    stored = sum(wbytes[n] for n in ddr) + sum(mbytes[n] for n in spilled)
    if c.membranes_ddr:
        stored += max(-(-l.hout * l.wout * l.g * hw.lanes * hw.mem_bits // 8) for l in hw.convs)
    return out, stored


# ================================================================================ the search
def _tiles(hw: HwModel) -> list[int]:
    """Tile sizes (lane groups) worth trying, largest first: every layer's G and the powers of two below."""
    gmax = max(g for _, _, g in weight_layers(hw))
    cand = {g for _, _, g in weight_layers(hw)} | {1 << i for i in range(gmax.bit_length())}
    return sorted((t for t in cand if t <= gmax), reverse=True)


def _spill_order(hw: HwModel) -> list[str]:
    mb = map_bytes(hw)
    return sorted(mb, key=lambda n: (-mb[n], n))


def search(hw: HwModel, b: Board, cost=None) -> tuple[Choice | None, list[Memory], list[str]]:
    """The placement of the module doc: (choice, its memories, reasons). ``cost(choice)`` ranks the
    tilings that fit (lower is better); without it the largest tile (then a double buffer) wins."""
    base = rtl_memories(rtl_arch(hw))
    wb = ddr_weight_bytes(hw)
    order = sorted(wb, key=lambda n: (-wb[n], n))
    mapped = lambda c: map_memories(_memories(hw, base, c), b)
    spill_levels = [((), False)]
    spill = _spill_order(hw)
    for i in range(1, len(spill) + 1):
        spill_levels.append((tuple(spill[:i]), False))
    spill_levels.append((tuple(spill), True))
    for spilled, membranes in spill_levels:
        if not _fits(mapped(Choice(tuple(order), 1, 1, spilled, membranes)), b):
            continue
        kmin = next(k for k in range(1, len(order) + 1) if _fits(mapped(Choice(tuple(order[:k]), 1, 1, spilled,
                                                                                     membranes)), b))
        fitting = [Choice(tuple(order[:k]), t, n, spilled, membranes)
                   for k in range(kmin, len(order) + 1) for t in _tiles(hw) for n in (2, 1)]
        fitting = [c for c in fitting if _fits(mapped(c), b)]
        best = min(fitting, key=cost) if cost else fitting[0]
        return best, mapped(best), []
    worst = mapped(Choice(tuple(order), 1, 1, tuple(spill), True))
    used = ", ".join(f"{m.what} {m.bram36:,.1f} BRAM36" + (f" + {m.uram} URAM" if m.uram else "")
                     for m in worst if m.bram36 or m.uram)
    widest = max(hw.convs, key=lambda l: l.hout * l.wout, default=None)
    biggest = max(worst, key=lambda m: m.bram36 + 8 * m.uram)
    reasons = [f"even with every weight, spike map and membrane in DDR and output-channel tiles of one lane group "
               f"({hw.lanes} channels) the on-chip part needs {sum(m.bram36 for m in worst):,.1f} BRAM36"
               + (f" + {sum(m.uram for m in worst)} URAM" if b.uram else "")
               + f" (budget {b.budget('bram36'):,.1f}" + (f" + {b.budget('uram'):,.1f} URAM" if b.uram else "")
               + f"): {used}"]
    if biggest.what == "accumulators" and widest is not None:
        reasons.append(f"the largest part, the accumulators of one tile of {widest.name!r} ({widest.hout}x{widest.wout} "
                       f"positions x {hw.lanes} lanes x 32 bits), stays on chip (the event-driven scatter updates "
                       f"them at random); a smaller P or input size shrinks it")
    else:
        reasons.append(f"the largest part left on chip is the {biggest.what} ({biggest.width} x {biggest.depth}"
                       + (f" x{biggest.count}" if biggest.count > 1 else "") + " bits), which the placement does not move")
    return None, worst, reasons


def mean_cycles(reps: list[CycleReport]) -> CycleReport:
    """Per-layer mean (rounded) of several samples' cycle reports."""
    mean = lambda attr: {k: round(sum(getattr(r, attr)[k] for r in reps) / len(reps)) for k in getattr(reps[0], attr)}
    return CycleReport(mean("layers"), mean("sops"), mean("dense"), round(sum(r.invocations for r in reps) / len(reps)),
                       mean("scans"))


def golden_spikes(bundle) -> list[tuple[np.ndarray, dict[str, np.ndarray]]]:
    """Each golden sample of a bundle as ``(x, maps)`` (empty when the bundle has none)."""
    if not bundle.manifest.get("golden"):
        return []
    g = bundle.golden()
    names = [l.name for l in bundle.descriptors if l.spiking]
    return [(g["input"][i], {n: g[f"spikes/{n}"][i] for n in names}) for i in range(len(g["input"]))]


def place(hw: HwModel, board: str | Board, clock_mhz: float | None = None, rate: float = DEFAULT_RATE,
          spikes: list[tuple[np.ndarray, dict]] | None = None) -> Placement:
    """Place the tensors of ``hw`` (lowered for the RTL at P lanes) on ``board`` and model the speed at
    ``clock_mhz`` (default the board's PL clock); see the module doc. ``spikes``: ``(x, maps)`` of
    recorded samples (the cycles are their mean) instead of random maps at ``rate``."""
    b = board if isinstance(board, Board) else get_board(board)
    clock = b.clock_mhz if clock_mhz is None else float(clock_mhz)
    if clock <= 0:
        raise ValueError(f"clock {clock} MHz; expected a positive frequency")
    chip = plan_model(hw, b)
    if spikes:
        cyc = mean_cycles([model_cycles(hw, x, maps) for x, maps in spikes])
    else:
        cyc = model_cycles(hw, *modelled_spikes(hw, rate))
    shown_rate = None if spikes else rate
    if chip.fits:
        costs, _ = _costs(hw, cyc, Choice(), b, clock)
        return Placement(chip, ON_CHIP, [f"every tensor on chip: {r}" for r in chip.reasons], Choice(),
                         chip.memories, clock, shown_rate, costs, cyc.layers["io"], samples=len(spikes or []))
    total = lambda c: sum(x.compute + x.rescan + x.stall for x in _costs(hw, cyc, c, b, clock)[0])
    choice, mems, reasons = search(hw, b, cost=total)
    if choice is None:
        return Placement(chip, CANNOT, reasons, Choice(), mems, clock, shown_rate)
    costs, stored = _costs(hw, cyc, choice, b, clock)
    p = Placement(chip, WITH_DDR, [], choice, mems, clock, shown_rate, costs, cyc.layers["io"], stored,
                  len(spikes or []))
    if stored > DDR_SHARE * b.ddr_bytes:
        p.verdict = CANNOT
        p.reasons = [f"the tensors in DDR need {stored / 2**20:,.1f} MiB but the planner allows "
                     f"{100 * DDR_SHARE:.0f}% of {b.name}'s {b.ddr_bytes / 2**20:,.0f} MiB DDR "
                     f"({DDR_SHARE * b.ddr_bytes / 2**20:,.0f} MiB; the rest is the OS's)"]
        return p
    what = [f"{len(choice.ddr_weights)} of {len(weight_layers(hw))} layers' weights"]
    if choice.spilled:
        what.append(f"{len(choice.spilled)} spike map(s)")
    if choice.membranes_ddr:
        what.append("the membranes")
    p.reasons = [f"on chip alone it does not fit ({'; '.join(chip.reasons[:1])})",
                 f"with {', '.join(what)} in DDR it fits: {p.bram36:,.1f} BRAM36"
                 + (f", {p.uram} URAM" if b.uram else "") + f" (budget {b.budget('bram36'):,.1f}"
                 + (f" + {b.budget('uram'):,.1f} URAM" if b.uram else "") + ")",
                 DDR_NOT_BUILT]
    return p


def place_layers(layers, input_spec: dict, numerics: dict, board: str | Board, lanes: int = DEFAULT_LANES,
                 clock_mhz: float | None = None, rate: float = DEFAULT_RATE, spikes=None) -> Placement:
    """:func:`place` for a layer graph (manifest dicts or descriptors; a bare graph without weights works)."""
    b = board if isinstance(board, Board) else get_board(board)
    hw = lower_graph(as_layers(layers), input_spec, numerics, lanes, board=b.name, target=RTL)
    return place(hw, b, clock_mhz, rate, spikes)


def place_bundle(bundle, board: str | Board, lanes: int = DEFAULT_LANES, clock_mhz: float | None = None,
                 rate: float | None = None, check_attention: bool = True) -> Placement:
    """:func:`place_layers` for a loaded bundle, with the attention checks of ``plan_bundle``. The cycles
    are the mean over its golden samples when it has them and ``rate`` is None; random maps at ``rate``
    (default :data:`DEFAULT_RATE`) otherwise."""
    from syna_contract.checks import check_bundle
    spikes = golden_spikes(bundle) if rate is None else None
    p = place_layers(bundle.descriptors, bundle.input_spec, bundle.numerics, board, lanes, clock_mhz,
                     DEFAULT_RATE if rate is None else rate, spikes)
    if check_attention:
        p.chip.attention = check_bundle(bundle)
    return p
