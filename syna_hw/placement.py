"""Placement: which tensors stay on chip and which go to DDR, and what the DDR costs (issue 16 item 3).

The planner models **the cores as built** (HLS core "Weights in DDR", docs/hls-core.md; RTL twin
``weights="ddr"``, docs/rtl.md) where they are built, and says "modelled, not built" where it goes
further. Given a lowered :class:`~syna_hw.lowering.HwModel` (P lanes), a board and a clock:

1. **On chip** (:func:`syna_hw.plan.plan_model`, today's RTL memories mapped as Yosys does): if they
   fit the utilisation budget, the verdict is *fits on chip*.
2. **Weights in DDR, as both cores build it**: every conv / fc layer's weights come from the DDR
   image through one on-chip weight buffer of ``wbuf_rows`` rows, tiled over output-channel groups as
   :func:`syna_hw.lowering.ddr_weights` tiles them (the tiles the HLS core and the RTL load, so the DDR
   bytes per inference are the cores' ``ddr_bytes_read`` exactly, the attention pass-2 reloads
   included). The on-chip memories are the RTL's for that build (``rtl_config.ddr_arch``: the weight
   ROM becomes the buffer; every other memory as on chip). Among the buffer sizes that fit, the one
   with the fewest modelled cycles (then the smallest) is kept.
3. **Spike maps in DDR, as built** (``maps="ddr"``, :mod:`syna_hw.spill`; built by :data:`SPILL_BUILT_BY`):
   if no buffer fits with the maps on chip, the input and every spike map go to the scratch buffer and
   each layer runs in weight tiles x output-row bands of at most ``acc_rows`` accumulator words
   (``spill.spill_plan``). For each buffer size the largest ``acc_rows`` (a power of two, or the whole
   layer) that fits is tried; among those the fewest modelled cycles win. The scratch traffic is the
   cores' (``cycles.scratch_traffic``: every word of the positions a band scans read, every word it
   writes), one cycle per word in the cycle model, plus what the board's bandwidth adds.
4. **Modelled, not built**: if still nothing fits, every layer is tiled in at most ``t`` lane groups
   (:func:`capped_plan`; the encoder too, re-reading its input per tile) so that the accumulators and
   membranes hold one tile (the cores keep a whole layer's today); ``t`` is searched like the buffer.
   Then spike maps (the input frames count as one) move to DDR, largest first, then the membranes. A
   spilled map is written once and read once per reader tile; spilled membranes are read and written
   once per time step.
5. Otherwise: *cannot run*, with the reason. Also *cannot run*: DDR tensors larger than the share of
   the board's DDR the model may use (:data:`DDR_SHARE`: the rest is the operating system's).

**Timing** (at the board's PL clock or ``clock_mhz``): the HLS core's cycle model
(``syna_hw/cycles.py``, II = 1 trip counts, with the DDR tiling: per-tile re-scans, one image row
loaded per cycle, pass-2 re-initialisation; equal to the HLS C-sim's count, ``tests/test_hls_ddr.py``;
the RTL twin within a few per cent of it, ``tests/test_placement.py``) fed with random spike maps **at
firing rate r** (:data:`DEFAULT_RATE`; every map and the input's non-zero values at that rate, a fixed
seed), or with recorded spike maps (a bundle's golden samples: the mean over them). A layer's
**compute** is its modelled cycles without the loads; its **memory** time is each load at the slower of
one image row per cycle (the core's read port) and the board's modelled bandwidth
(``Board.ddr_bytes_per_cycle``: HP port width, port clock, assumed efficiency;
``syna_contract/boards.py``). The weight-buffer scheme is the parameter ``buffers``:

- ``buffers=1`` (:data:`SINGLE`, what both cores build today): load a tile, then compute on it;
  nothing overlaps, a layer stalls its whole memory time. With a bandwidth of one row per cycle or
  more the planner's cycles are the HLS C-sim's count exactly.
- ``buffers=2`` (:data:`DOUBLE`, modelled): the buffer is doubled and each load after a layer's first
  overlaps the previous tile's compute (the layer's compute spread evenly over its tile passes); the
  first load of every layer is not overlapped. A layer stalls ``first + sum(max(0, load - compute
  per tile))``.

Spill traffic (not built) stalls its whole memory time. Latency is ``(compute + stall) / clock``;
inferences/s its inverse (one inference at a time). The RTL twin receives the input one value per
cycle before its encoder runs: :attr:`Placement.rtl_cycles` adds that (:func:`rtl_receive_cycles`);
``tests/test_plan_vs_rtl.py`` bounds the RTL's measured cycles against it.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from syna_contract import protocol as proto
from syna_contract.boards import Board, UTILISATION_BUDGET, get_board
from syna_contract.ddr_image import BLOCK_ALIGN, row_bytes
from syna_contract.graph import INPUT
from syna_contract.layers import as_layers

from .cycles import CycleReport, model_cycles
from .lutmodel import logic_luts
from .limits import DEFAULT_LANES, RTL
from .lowering import WBUF_RAM_DEFAULT, WBUF_RAMS, DdrWeights, HwModel, allocate_spike_maps, ddr_weights, lower_graph
from .plan import Memory, PlanReport, map_memories, memory_table, plan_model
from .rtl_config import RtlMemory, ddr_arch, rtl_arch, rtl_memories, spill_build_arch
from .spill import SpillPlan, spill_plan

DEFAULT_RATE = 0.10          # firing rate of the modelled spike maps (issue 16's networks fire at 5-20 %)
DDR_SHARE = 0.5              # of the board's DDR, what the model may use (the OS and the PYNQ image keep the rest)
SPILL_BUILT_BY = "both cores"   # maps="ddr" (syna_hw/spill.py): the HLS core and the RTL twin, one weight buffer
DDR_NOT_BUILT = ("modelled; both cores read weights from DDR in simulation (HLS C-sim and RTL twin, `--weights ddr`: "
                 "one buffer; the RTL twin also builds two, `--wbuf double`); spike maps in DDR (`--maps ddr`) are "
                 "built by " + SPILL_BUILT_BY + "; spilling single maps or the membranes is not built; nothing has run "
                 "on a board (issue 16)")
SINGLE, DOUBLE = 1, 2        # weight-tile buffers: 1 = load then compute (both cores), 2 = loads overlap compute (RTL)
BUFFER_SCHEMES = {SINGLE: "single weight buffer (as both cores build it: a tile is loaded, then computed on; "
                          "stall = the whole load time)",
                  DOUBLE: "double weight buffer (as the RTL twin builds it with wbuf='double', the HLS core does "
                          "not: a layer's later loads overlap the previous tile's compute; modelled stall = first "
                          "load + max(0, load - compute per tile), an upper bound on the RTL's, docs/rtl.md)"}
TILED_NOT_BUILT = ("accumulators and membranes of one output-channel tile (modelled, not built: the cores keep a "
                   "whole layer's)")

ON_CHIP, WITH_DDR, CANNOT = "fits on chip", "runs with weights in DDR (modelled)", "cannot run"
EXIT_CODES = {ON_CHIP: 0, WITH_DDR: 3, CANNOT: 4}


@dataclass(frozen=True)
class Choice:
    """One placement: the weight buffer (0: every weight on chip) and what else is in DDR."""
    wbuf_rows: int = 0                       # weights in DDR through a buffer of this many rows (lowering.ddr_weights)
    buffers: int = SINGLE                    # weight tile buffers (DOUBLE: loads overlap compute, modelled)
    acc_tile: int = 0                        # lane groups per tile the accumulators / membranes hold (modelled,
    #                                          not built; 0: a whole layer's, as both cores build them)
    spilled: tuple[str, ...] = ()            # spike maps in DDR ('input': the input frames)
    membranes_ddr: bool = False
    wbuf_ram: str = WBUF_RAM_DEFAULT         # the weight buffer's RAM (lowering.WBUF_RAMS): "block" keeps it out
    #                                          of UltraRAM (the RTL twin's --wbuf-ram block)
    acc_rows: int = 0                        # > 0: spike maps and input in DDR as built (maps="ddr", syna_hw.spill),
    #                                          accumulators / membranes of this many words of P lanes

    @property
    def maps_ddr(self) -> bool:
        return self.acc_rows > 0

    @property
    def built(self) -> bool:
        """Whether the cores build this placement today (on chip, or weights in DDR through one buffer, or
        through two: the RTL twin's wbuf='double', which the HLS core does not build)."""
        return not (self.acc_tile or self.spilled or self.membranes_ddr)


@dataclass
class LayerCost:
    name: str
    tiles: int
    compute: int          # modelled cycles (cycle model), without re-scans and weight loads
    rescan: int           # extra cycles of scanning the input once more per tile after the first (all passes)
    ddr_bytes: int        # DDR read + write bytes of this layer per inference
    memory: float         # the loads (and spill traffic) in core cycles: rows per cycle or bandwidth, the slower
    stall: int            # cycles the core waits for DDR (see the module doc)
    tile_groups: int = 0  # lane groups per weight tile (0: weights on chip)
    loads: int = 0        # weight tiles loaded per inference (attention pass 2 reloads)


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
    ddr: DdrWeights | None = None        # the weight tiling (lowering.ddr_weights) when weights are in DDR
    rtl_receive: int = 0                 # the RTL twin's extra cycles: its receive phase (rtl_receive_cycles)
    logic_luts: int | None = None        # the core's modelled logic LUTs (syna_hw/lutmodel.py; None: not modelled)
    spill: SpillPlan | None = None       # maps in DDR: the scratch layout and the tiles x bands (syna_hw.spill)

    @property
    def board(self) -> Board:
        return self.chip.board

    @property
    def built_by(self) -> str:
        """Which cores build this placement: "both cores" (on chip; weights in DDR through one buffer; maps in
        DDR too: :data:`SPILL_BUILT_BY`), "the RTL twin" (two weight buffers), or "" (parts no core builds)."""
        c = self.choice
        if not c.built:
            return ""
        if c.maps_ddr:
            return SPILL_BUILT_BY
        return "the RTL twin" if c.wbuf_rows and c.buffers == DOUBLE else "both cores"

    @property
    def not_built(self) -> str:
        """What of this placement no core builds, in words ("" when it is built)."""
        if self.built_by:
            return ""
        return next((r.removeprefix("modelled, not built: ") for r in self.reasons
                     if r.startswith("modelled, not built: ")), "parts not built")

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
    def luts(self) -> int:
        """LUTs: those used as distributed RAM plus the modelled logic (0 where it is not modelled)."""
        return self.lutram_luts + (self.logic_luts or 0)

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
    def rtl_cycles(self) -> int:
        """The same inference on the RTL twin: :attr:`cycles` plus its receive phase (one input value per
        cycle, before the encoder; the HLS core's encoder reads packed words as it goes)."""
        return self.cycles + self.rtl_receive

    @property
    def stall_fraction(self) -> float:
        return self.stall_cycles / self.cycles if self.cycles else 0.0

    @property
    def ddr_bytes_per_inference(self) -> int:
        """Every layer's DDR traffic, plus the cores' weights check (the image's first bytes, read at every
        inference's start: ``DdrWeights.check_bytes``, docs/core-interface.md) when weights are in DDR."""
        return sum(c.ddr_bytes for c in self.costs) + (self.ddr.check_bytes if self.ddr else 0)

    @property
    def latency_s(self) -> float | None:
        return self.cycles / (self.clock_mhz * 1e6) if self.runs and self.cycles else None

    @property
    def inferences_per_s(self) -> float | None:
        lat = self.latency_s
        return 1.0 / lat if lat else None

    def rtl_build_command(self) -> str | None:
        """The ``make bitstream`` line that builds this placement's RTL twin (None unless weights are in DDR
        and the cores build the placement: hls/hls.mk passes LANES / WBUF_ROWS / WBUF / WBUF_RAM to
        ``syna_hw.rtl_core generate``)."""
        c = self.choice
        if not (c.wbuf_rows and c.built):
            return None
        return (f"make bitstream BOARD={self.board.name} IMPL=rtl WEIGHTS=ddr BUNDLE=<bundle> LANES={self.lanes} "
                f"WBUF_ROWS={c.wbuf_rows}" + (" WBUF=double" if c.buffers == DOUBLE else "")
                + (f" WBUF_RAM={c.wbuf_ram}" if c.wbuf_ram != WBUF_RAM_DEFAULT else "")
                + (f" MAPS=ddr ACC_ROWS={c.acc_rows}" if c.maps_ddr else ""))

    def to_dict(self) -> dict:
        return dict(verdict=self.verdict, exit_code=self.exit_code, runs=self.runs, reasons=list(self.reasons),
                    board=self.board.name, lanes=self.lanes, clock_mhz=self.clock_mhz, rate=self.rate,
                    recorded_samples=self.samples,
                    ddr_bandwidth_bytes_per_s=self.board.ddr_bytes_per_s(self.clock_mhz),
                    double_buffer=self.choice.buffers == DOUBLE, weight_buffers=self.choice.buffers,
                    wbuf_rows=self.choice.wbuf_rows or None, built=self.choice.built,
                    wbuf_ram=self.choice.wbuf_ram if self.choice.wbuf_rows else None,
                    rtl_build=self.rtl_build_command(),
                    tile_groups=max((c.tile_groups for c in self.costs), default=0),
                    acc_tile_groups=self.choice.acc_tile or None,
                    ddr_weights=[l.name for l in self.ddr.layers] if self.ddr else [],
                    spilled_maps=list(self.choice.spilled),
                    membranes_ddr=self.choice.membranes_ddr, ddr_stored_bytes=self.ddr_stored_bytes,
                    maps_ddr=self.choice.maps_ddr, acc_rows=self.choice.acc_rows or None,
                    scratch_bytes=self.spill.scratch_bytes if self.spill else None,
                    built_by=self.built_by, not_built=self.not_built,
                    bram36=self.bram36, uram=self.uram, lutram_luts=self.lutram_luts, logic_luts=self.logic_luts,
                    luts=self.luts,
                    cycles=self.cycles if self.runs else None,
                    rtl_cycles=self.rtl_cycles if self.runs else None,
                    compute_cycles=self.compute_cycles if self.runs else None,
                    rescan_cycles=self.rescan_cycles if self.runs else None,
                    stall_cycles=self.stall_cycles if self.runs else None,
                    stall_fraction=self.stall_fraction if self.runs else None,
                    ddr_bytes_per_inference=self.ddr_bytes_per_inference if self.runs else None,
                    latency_s=self.latency_s, inferences_per_s=self.inferences_per_s,
                    ddr_note=DDR_NOT_BUILT if self.choice.wbuf_rows else None,
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
        if self.choice.wbuf_rows:
            c = self.choice
            lines.append(f"Placement with DDR ({DDR_NOT_BUILT}):")
            lines.append(f"  weights in DDR: all {len(self.ddr.layers)} conv / fc layers (as both cores build it), "
                         f"through a buffer of {c.wbuf_rows:,} rows of {self.lanes} weights; output-channel tiles "
                         f"as syna_hw.lowering.ddr_weights cuts them (per layer below)")
            lines.append(f"  {BUFFER_SCHEMES[c.buffers]}")
            if c.wbuf_ram != WBUF_RAM_DEFAULT:
                lines.append(f"  weight buffer in block RAM only (the RTL twin's `--wbuf-ram {c.wbuf_ram}`, Verilog "
                             "ram_style): the UltraRAM is left to the spike maps, accumulators and membranes")
            if c.maps_ddr:
                sp = self.spill
                lines.append(f"  spike maps and the input in DDR (maps='ddr', built by {SPILL_BUILT_BY}): a scratch "
                             f"buffer of {sp.scratch_bytes / 2**20:,.2f} MiB; accumulators and membranes of "
                             f"{c.acc_rows:,} words of P lanes, each layer in weight tiles x output-row bands "
                             f"(syna_hw.spill.spill_plan: {sp.bands} bands in all)")
            if c.acc_tile:
                lines.append(f"  {TILED_NOT_BUILT}: tiles of at most {c.acc_tile} lane group(s) in every layer"
                             + (" (the encoder too, re-reading its input per tile)" if encoder_tiled(self.ddr) else ""))
            if c.spilled:
                lines.append(f"  spike maps in DDR: {', '.join(c.spilled)}")
            if c.membranes_ddr:
                lines.append("  membranes in DDR (read and written once per time step)")
            lines.append(f"  DDR holds {self.ddr_stored_bytes / 2**20:,.2f} MiB of the model "
                         f"(the planner allows {100 * DDR_SHARE:.0f}% of {b.ddr_bytes / 2**20:,.0f} MiB)")
            lines += memory_table(self.memories)
            for res, used in (("bram36", self.bram36), ("uram", self.uram), ("lut", self.luts)):
                avail = getattr(b, res)
                if avail:
                    lines.append(f"{res:<7} used {used:>12,.1f} of {avail:>9,} ({100 * used / avail:6.1f}%), "
                                 f"budget {100 * UTILISATION_BUDGET[res]:.0f}% = {b.budget(res):,.1f}")
            lines.append(f"lut = {self.lutram_luts:,} distributed RAM + "
                         + (f"{self.logic_luts:,} logic (syna_hw/lutmodel.py: fitted to Yosys runs of the whole core)"
                            if self.logic_luts is not None else "logic not estimated (attention: no fitted model)"))
            lines.append("")
        if self.runs:
            lines.append(f"Speed at {self.clock_mhz:g} MHz, P = {self.lanes}, {rate}; cycles: the HLS core's cycle "
                         f"model (syna_hw/cycles.py)" + (f"; DDR {bw / 1e6:,.0f} MB/s modelled ({b.hp_bits}-bit HP "
                                                          f"port, efficiency {b.ddr_efficiency:g})"
                                                          if self.choice.wbuf_rows else ""))
            if self.choice.wbuf_rows:
                lines.append(f"{'layer':<12}{'tiles':>6}{'compute':>12}{'re-scan':>10}{'DDR bytes':>12}"
                             f"{'memory':>12}{'stall':>10}")
                for c in self.costs:
                    lines.append(f"{c.name:<12}{c.tiles:>6}{c.compute:>12,}{c.rescan:>10,}{c.ddr_bytes:>12,}"
                                 f"{c.memory:>12,.0f}{c.stall:>10,}")
            lines.append(f"cycles per inference {self.cycles:,} = compute {self.compute_cycles:,}"
                         + (f" (of which re-scans {self.rescan_cycles:,})" if self.rescan_cycles else "")
                         + f" + memory stall {self.stall_cycles:,} ({100 * self.stall_fraction:.1f}%)")
            lines.append(f"  on the RTL twin {self.rtl_cycles:,} cycles (+ its receive phase, one input value per "
                         f"cycle: {self.rtl_receive:+,})" + ("; with the maps in DDR its map DMA's waits are not in "
                                                            "this model (docs/hls-core.md: the RTL measured 1.14x)"
                                                            if self.choice.maps_ddr else ""))
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
    """Words of each bank of the RTL's spike memory when the ``spilled`` maps live in DDR: the one
    allocation, :func:`syna_hw.lowering.allocate_spike_maps`, over the maps that stay."""
    return allocate_spike_maps(hw.descriptors, hw.steps, skip=frozenset(spilled)).depth


def _memories(hw: HwModel, arch: dict, c: Choice, ddr: DdrWeights | None) -> list[RtlMemory]:
    """The RTL memories of placement ``c`` (see the module doc): ``rtl_memories`` of the on-chip build
    (``arch``) or of the DDR build with ``ddr``'s buffer (``rtl_config.ddr_arch``), then what the
    modelled-not-built steps change (one tile's accumulators / membranes, spilled maps / membranes)."""
    if c.maps_ddr:                 # every parameter of the RTL's maps-in-DDR build (its staging, one frame of input)
        arch = spill_build_arch(hw, spill_of(hw, c), wbuf_ram=c.wbuf_ram)
    elif ddr is not None:
        arch = dict(arch, **ddr_arch(ddr, wbuf_ram=c.wbuf_ram))
    tiles = {l.name: l.tile_groups for l in ddr.layers} if ddr else {}
    out = []
    for m in rtl_memories(arch):
        if m.name == "weights" and ddr is not None:
            out.append(dataclasses.replace(m, name="weight buffer", count=c.buffers))
        elif m.name in ("accumulators", "membranes") and (c.acc_tile or c.membranes_ddr):
            if m.name == "membranes" and c.membranes_ddr:
                continue
            depth = max([l.hout * l.wout * tiles.get(l.name, l.g) for l in hw.convs]
                        + [tiles.get(hw.fc.name, hw.fc.g), 1])
            out.append(dataclasses.replace(m, depth=min(depth, m.depth)))
        elif m.name == "spike maps" and c.spilled:
            depth = _spike_depth(hw, set(c.spilled))
            if depth:
                out.append(dataclasses.replace(m, depth=depth))
        elif m.name == "input banks" and INPUT in c.spilled:
            continue
        else:
            out.append(m)
    return out


def memories_of(hw: HwModel, c: Choice, b: Board) -> list[Memory]:
    """The on-chip memories of placement ``c`` of ``hw`` on ``b`` as the RTL builds them, mapped as Yosys does
    (what :func:`search` checks against the budget; e.g. for a build a benchmark measured)."""
    plans = {c.wbuf_rows: ddr_weights(hw, c.wbuf_rows)} if c.wbuf_rows and not (c.maps_ddr or c.acc_tile) else {}
    ddr = plan_of(hw, c, plans) if c.wbuf_rows else None
    return map_memories(_memories(hw, rtl_arch(hw), c, ddr), b)


def _fits(mems: list[Memory], b: Board, logic: int = 0) -> bool:
    return (sum(m.bram36 for m in mems) <= b.budget("bram36") and sum(m.uram for m in mems) <= b.budget("uram")
            and sum(m.lut for m in mems) + logic <= b.budget("lut"))


def ddr_logic_luts(hw: HwModel, b: Board, maps_ddr: bool = False) -> int | None:
    """The modelled logic LUTs of ``hw``'s weights-in-DDR RTL build on ``b`` (``maps_ddr``: with the spike maps
    in DDR too; syna_hw/lutmodel.py; None: not modelled). The model depends on P, the widest map, the DDR port
    and the maps' place, not on the buffer, the tiles or the bands."""
    return logic_luts(dict(rtl_arch(hw), WDDR=1, MAPS_DDR=int(maps_ddr)), b.synth_family)


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


def _costs(hw: HwModel, cyc: CycleReport, c: Choice, b: Board, clock_mhz: float,
           ddr: DdrWeights | None = None, spill: SpillPlan | None = None) -> tuple[list[LayerCost], int]:
    """Per-layer cost of placement ``c`` (cycles ``cyc``: the cycle model of the core with ``ddr``'s tiling,
    or ``spill``'s with the maps in DDR) and the DDR bytes it stores; see the module doc."""
    per_cycle = b.ddr_bytes_per_cycle(clock_mhz)
    mbytes = map_bytes(hw)
    spilled = set(c.spilled)
    tiles = {l.name: l for l in ddr.layers} if ddr else {}
    out = []
    for l in hw.layers + [hw.fc]:
        d = tiles.get(l.name)
        k = d.tiles if d else 1
        total = cyc.layers[l.name]
        if l is hw.fc:
            scan = hw.steps * hw.fc.h * hw.fc.w * hw.fc.cw
        else:
            scan = cyc.scans.get(l.name, 0)
        rescan = (k - 1) * scan
        rows = d.loads * d.groups * d.w_block_bytes // ddr.row_bytes if d else 0    # one image row per cycle
        compute = total - rows - rescan
        wbytes = d.bytes_per_inference if d else 0
        load = max(rows, wbytes / per_cycle)                       # the read port or the board, the slower
        if not d:
            wstall = 0
        elif c.buffers == SINGLE:
            wstall = math.ceil(load)
        else:                                                       # DOUBLE: later loads hide behind compute
            n = d.loads * k
            per_load, per_tile = load / n, (compute + rescan) / n
            wstall = math.ceil(per_load + (n - 1) * max(0.0, per_load - per_tile))
        sbytes = 0                                                  # spill traffic (modelled, not built)
        if l is not hw.fc and l.name in spilled:
            sbytes += mbytes[l.name]                                # write the output map once
        sbytes += sum(mbytes[src] * k for src in l.layer.inputs if src in spilled)
        if c.membranes_ddr and l is not hw.fc and l.kind == "conv_lif":
            sbytes += 2 * hw.steps * (-(-l.hout * l.wout * l.g * hw.lanes * hw.mem_bits // 8))
        smem = sbytes / per_cycle
        sstall = math.ceil(smem)
        if spill is not None:                                       # maps in DDR, as built: the scratch traffic
            sb = cyc.scratch_read.get(l.name, 0) + cyc.scratch_written.get(l.name, 0)
            sbytes += sb
            smem += sb / per_cycle
            sstall += math.ceil(max(0.0, sb / per_cycle - sb / 4))  # the model has one word (4 bytes) per cycle
            rescan = 0                                              # bands and tiles: their scans are in `total`
            compute = total - rows
        out.append(LayerCost(l.name, k, compute, rescan, wbytes + sbytes, load * bool(d) + smem,
                             wstall + sstall, d.tile_groups if d else 0, d.loads * k if d else 0))
    stored = sum(l.groups * l.w_block_bytes for l in ddr.layers) if ddr else 0
    stored += sum(mbytes[n] for n in spilled) + (spill.scratch_bytes if spill is not None else 0)
    if c.membranes_ddr:
        stored += max(-(-l.hout * l.wout * l.g * hw.lanes * hw.mem_bits // 8) for l in hw.convs)
    return out, stored


# ================================================================================ the search
def ddr_plans(hw: HwModel) -> dict[int, DdrWeights]:
    """The weight tilings of the cores as built worth trying, by buffer rows (largest first): for every
    layer a buffer of 1, 2, 4, ... or all of its lane groups, from the smallest the cores accept (one lane
    group of the largest layer, the whole encoder: they read the input stream once) to the largest layer."""
    d = ddr_weights(hw)
    enc = next(l for l in hw.convs if l.encoder)
    lo = max([l.rows for l in d.layers] + [l.rows * l.groups for l in d.layers if l.name == enc.name])
    whole = max(l.rows * l.groups for l in d.layers)
    sizes = {lo, whole, d.wbuf_rows}
    for l in d.layers:
        sizes |= {l.rows * t for t in {l.groups} | {1 << i for i in range(l.groups.bit_length())}}
    return {n: d if n == d.wbuf_rows else ddr_weights(hw, n)
            for n in sorted((n for n in sizes if lo <= n <= whole), reverse=True)}


def capped_plan(hw: HwModel, acc_tile: int) -> DdrWeights:
    """Modelled, not built: every layer tiled in at most ``acc_tile`` lane groups (so the accumulators and
    membranes hold one such tile), the encoder too; the buffer holds the largest such tile."""
    d = ddr_weights(hw, max(l.rows * l.groups for l in ddr_weights(hw).layers))
    n = max(l.rows * min(l.groups, acc_tile) for l in d.layers)
    return dataclasses.replace(d, wbuf_rows=n, layers=[dataclasses.replace(l, tile_groups=min(l.groups, acc_tile))
                                                       for l in d.layers])


def encoder_tiled(ddr: DdrWeights | None) -> bool:
    """Whether ``ddr`` tiles the encoder (its first layer; modelled, not built: it would re-read its input
    per tile)."""
    return bool(ddr) and ddr.layers[0].tiles > 1


def _spill_order(hw: HwModel) -> list[str]:
    mb = map_bytes(hw)
    return sorted(mb, key=lambda n: (-mb[n], n))


def spill_of(hw: HwModel, c: Choice) -> SpillPlan | None:
    """The maps-in-DDR plan of placement ``c`` (None: maps on chip)."""
    return spill_plan(hw, c.wbuf_rows, c.acc_rows) if c.maps_ddr else None


def plan_of(hw: HwModel, c: Choice, plans: dict[int, DdrWeights]) -> DdrWeights:
    """The weight tiling of placement ``c``: the cores' (``plans[c.wbuf_rows]``), with the maps in DDR the
    spill plan's (:func:`spill_of`), or with ``c.acc_tile`` the capped one (:func:`capped_plan`)."""
    if c.maps_ddr:
        return spill_of(hw, c).ddr
    return capped_plan(hw, c.acc_tile) if c.acc_tile else plans[c.wbuf_rows]


def acc_candidates(hw: HwModel, wbuf_rows: int) -> list[int]:
    """The accumulator depths worth trying with the maps in DDR and a buffer of ``wbuf_rows`` rows, largest
    first: the whole-layer tiles' (no bands), then the powers of two down to one output row of the widest
    layer (the least the cores accept)."""
    need = max(l.wout for l in hw.convs)
    full = spill_plan(hw, wbuf_rows).acc_rows
    return sorted({full, need} | {1 << i for i in range(full.bit_length()) if need < 1 << i < full}, reverse=True)


def spill_buffers(hw: HwModel, plans: dict[int, DdrWeights]) -> list[int]:
    """The weight-buffer sizes worth trying with the maps in DDR: those of ``plans`` and one lane group of the
    largest layer (the encoder may then tile too: it re-reads the input from the scratch buffer)."""
    one = max(l.rows for l in next(iter(plans.values())).layers)
    return sorted(set(plans) | {one}, reverse=True)


def search(hw: HwModel, b: Board, cost=None, buffers: int = SINGLE,
           plans: dict[int, DdrWeights] | None = None) -> tuple[Choice | None, list[Memory], list[str]]:
    """The placement of the module doc: (choice, its memories, reasons). ``cost(choice)`` ranks the
    placements that fit at the first level that has any (lower is better; ties: the smaller buffer);
    without it the largest buffer wins. ``plans``: :func:`ddr_plans` of ``hw`` (computed when not given);
    :func:`plan_of` gives a choice's tiling."""
    if buffers not in BUFFER_SCHEMES:
        raise ValueError(f"weight buffers {buffers!r}; expected {SINGLE} (single, as built) or {DOUBLE} (double)")
    plans = ddr_plans(hw) if plans is None else plans
    arch = rtl_arch(hw)
    mapped = lambda c: map_memories(_memories(hw, arch, c, plan_of(hw, c, plans)), b)
    gmax = max(l.groups for l in next(iter(plans.values())).layers)
    caps = sorted({1 << i for i in range(gmax.bit_length())} | {gmax}, reverse=True)
    spill = _spill_order(hw)
    # as built: weights in DDR; then maps in DDR too; then (not built) tiles of any cap, then spills
    levels = [(0, (), False, False), (0, (), False, True), (gmax, (), False, False)]
    levels += [(gmax, tuple(spill[:i]), False, False) for i in range(1, len(spill) + 1)]
    levels += [(gmax, tuple(spill), True, False)]
    rams = WBUF_RAMS if b.uram else (WBUF_RAM_DEFAULT,)   # block RAM only: a choice where UltraRAM exists
    logic = ddr_logic_luts(hw, b) or 0
    # maps in DDR: not built with attention (spill_plan), nor with two weight buffers (neither core builds that)
    spillable = not any(l.att >= 0 for l in hw.convs) and buffers == SINGLE
    for cap, spilled, membranes, maps_ddr in levels:
        if maps_ddr:   # as built: for each buffer and RAM the largest accumulator depth that fits
            if not spillable:
                continue
            fitting, maps_logic = [], ddr_logic_luts(hw, b, True) or 0
            for n in spill_buffers(hw, plans):
                for r in rams:
                    c = next((c for a in acc_candidates(hw, n) for c in [Choice(n, buffers, wbuf_ram=r, acc_rows=a)]
                              if _fits(mapped(c), b, maps_logic)), None)
                    if c is not None:
                        fitting.append(c)
            if not fitting:
                continue
            best = min(fitting, key=lambda c: (cost(c), c.wbuf_rows)) if cost else fitting[0]
            return best, mapped(best), []
        if cap:        # not built: tiles of at most cap groups; the buffer follows (plan_of)
            cand = [Choice(capped_plan(hw, t).wbuf_rows, buffers, t, spilled, membranes, r)
                    for t in caps if t <= cap for r in rams]
        else:
            cand = [Choice(n, buffers, wbuf_ram=r) for n in plans for r in rams]
        if not any(_fits(mapped(c), b, logic) for c in cand[-len(rams):]):   # the smallest buffer / tile, each RAM
            continue
        fitting = [c for c in cand if _fits(mapped(c), b, logic)]   # equal cost: the first, "auto" before "block"
        best = min(fitting, key=lambda c: (cost(c), c.wbuf_rows)) if cost else fitting[0]
        return best, mapped(best), []
    worst_choice = Choice(capped_plan(hw, 1).wbuf_rows, buffers, 1, tuple(spill), True)
    worst = mapped(worst_choice)
    used = ", ".join(f"{m.what} {m.bram36:,.1f} BRAM36" + (f" + {m.uram} URAM" if m.uram else "")
                     for m in worst if m.bram36 or m.uram)
    widest = max(hw.convs, key=lambda l: l.hout * l.wout, default=None)
    biggest = max(worst, key=lambda m: m.bram36 + 8 * m.uram)
    reasons = [f"even with every weight, spike map and membrane in DDR and output-channel tiles of one lane group "
               f"({hw.lanes} channels; modelled, not built) the on-chip part needs "
               f"{sum(m.bram36 for m in worst):,.1f} BRAM36"
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


def rtl_receive_cycles(hw: HwModel) -> int:
    """The RTL twin's cycles beyond the HLS core's cycle model: it receives the input one value per cycle
    (``T*C*H*W``, docs/rtl.md) before the encoder runs, where the HLS core's encoder scans packed words
    (``T * words_per_frame``, counted in the model)."""
    s = hw.input_spec
    T, C, H, W = hw.steps, s["channels"], s["height"], s["width"]
    return T * C * H * W - T * proto.words_per_frame(C, H, W, s["bits"])


def mean_cycles(reps: list[CycleReport]) -> CycleReport:
    """Per-layer mean (rounded) of several samples' cycle reports."""
    mean = lambda attr: {k: round(sum(getattr(r, attr)[k] for r in reps) / len(reps)) for k in getattr(reps[0], attr)}
    return CycleReport(mean("layers"), mean("sops"), mean("dense"), round(sum(r.invocations for r in reps) / len(reps)),
                       mean("scans"), mean("scratch_read"), mean("scratch_written"))


def golden_spikes(bundle) -> list[tuple[np.ndarray, dict[str, np.ndarray]]]:
    """Each golden sample of a bundle as ``(x, maps)`` (empty when the bundle has none)."""
    if not bundle.manifest.get("golden"):
        return []
    g = bundle.golden()
    names = [l.name for l in bundle.descriptors if l.spiking]
    return [(g["input"][i], {n: g[f"spikes/{n}"][i] for n in names}) for i in range(len(g["input"]))]


def place(hw: HwModel, board: str | Board, clock_mhz: float | None = None, rate: float = DEFAULT_RATE,
          spikes: list[tuple[np.ndarray, dict]] | None = None, buffers: int = SINGLE,
          wbuf_rows: int | None = None) -> Placement:
    """Place the tensors of ``hw`` (lowered for the RTL at P lanes) on ``board`` and model the speed at
    ``clock_mhz`` (default the board's PL clock); see the module doc. ``spikes``: ``(x, maps)`` of
    recorded samples (the cycles are their mean) instead of random maps at ``rate``. ``buffers``: the
    weight-buffer scheme, :data:`SINGLE` (as both cores build it) or :data:`DOUBLE` (modelled).
    ``wbuf_rows``: plan the DDR build with this weight buffer (``RtlCore(weights="ddr", wbuf_rows=...)``),
    also when the model would fit on chip; None: on chip if it fits, else the best buffer."""
    b = board if isinstance(board, Board) else get_board(board)
    clock = b.clock_mhz if clock_mhz is None else float(clock_mhz)
    if clock <= 0:
        raise ValueError(f"clock {clock} MHz; expected a positive frequency")
    if buffers not in BUFFER_SCHEMES:
        raise ValueError(f"weight buffers {buffers!r}; expected {SINGLE} (single, as built) or {DOUBLE} (double)")
    chip = plan_model(hw, b)
    samples = spikes or [modelled_spikes(hw, rate)]
    shown_rate = None if spikes else rate
    nrec = len(spikes or [])
    cache: dict = {}

    def cycles(ddr: DdrWeights | None, spill: SpillPlan | None = None) -> CycleReport:
        key = (ddr.wbuf_rows, tuple(l.tile_groups for l in ddr.layers)) if ddr else 0
        if spill is not None:
            key = (key, tuple(l.band_rows for l in spill.layers.values()))
        if key not in cache:
            cache[key] = mean_cycles([model_cycles(hw, x, maps, ddr, spill=spill) for x, maps in samples])
        return cache[key]

    def costs_of(c: Choice):
        ddr, sp = plan_of(hw, c, plans), spill_of(hw, c)
        return _costs(hw, cycles(ddr, sp), c, b, clock, ddr, sp)

    if chip.fits and wbuf_rows is None:
        costs, _ = _costs(hw, cycles(None), Choice(), b, clock)
        return Placement(chip, ON_CHIP, [f"every tensor on chip: {r}" for r in chip.reasons], Choice(),
                         chip.memories, clock, shown_rate, costs, cycles(None).layers["io"], samples=nrec,
                         rtl_receive=rtl_receive_cycles(hw), logic_luts=chip.logic_luts)
    plans = ddr_plans(hw) if wbuf_rows is None else {wbuf_rows: ddr_weights(hw, wbuf_rows)}
    total = lambda c: sum(x.compute + x.rescan + x.stall for x in costs_of(c)[0])
    choice, mems, reasons = search(hw, b, cost=total, buffers=buffers, plans=plans)
    if choice is None:
        return Placement(chip, CANNOT, reasons, Choice(), mems, clock, shown_rate, logic_luts=ddr_logic_luts(hw, b))
    ddr, sp = plan_of(hw, choice, plans), spill_of(hw, choice)
    cyc = cycles(ddr, sp)
    costs, stored = costs_of(choice)
    p = Placement(chip, WITH_DDR, [], choice, mems, clock, shown_rate, costs, cyc.layers["io"], stored, nrec, ddr,
                  rtl_receive_cycles(hw), ddr_logic_luts(hw, b, choice.maps_ddr), sp)
    if stored > DDR_SHARE * b.ddr_bytes:
        p.verdict = CANNOT
        p.reasons = [f"the tensors in DDR need {stored / 2**20:,.1f} MiB but the planner allows "
                     f"{100 * DDR_SHARE:.0f}% of {b.name}'s {b.ddr_bytes / 2**20:,.0f} MiB DDR "
                     f"({DDR_SHARE * b.ddr_bytes / 2**20:,.0f} MiB; the rest is the OS's)"]
        return p
    what = [f"all {len(ddr.layers)} conv / fc layers' weights (a {choice.wbuf_rows:,}-row buffer)"]
    if choice.maps_ddr:
        what.append(f"the input and every spike map (a {sp.scratch_bytes / 2**20:,.2f} MiB scratch buffer; "
                    f"accumulators of {choice.acc_rows:,} words)")
    if choice.spilled:
        what.append(f"{len(choice.spilled)} spike map(s)")
    if choice.membranes_ddr:
        what.append("the membranes")
    p.reasons = [f"on chip alone it does not fit ({'; '.join(chip.reasons[:1])})" if not chip.fits else
                 f"it fits on chip; planned with weights in DDR as asked (a {choice.wbuf_rows:,}-row buffer)",
                 f"with {', '.join(what)} in DDR it fits: {p.bram36:,.1f} BRAM36"
                 + (f", {p.uram} URAM" if b.uram else "") + f" (budget {b.budget('bram36'):,.1f}"
                 + (f" + {b.budget('uram'):,.1f} URAM" if b.uram else "") + ")"]
    if choice.maps_ddr:
        p.reasons.append(f"the maps in DDR are built by {SPILL_BUILT_BY} (`--weights ddr --maps ddr --acc-rows "
                         f"{choice.acc_rows}`, syna_hw.spill's tiles x bands); the speed is modelled")
        if p.rtl_build_command():
            p.reasons.append(f"the RTL twin of this placement: {p.rtl_build_command()}")
    elif choice.built:
        p.reasons.append("this placement is what both cores build (`--weights ddr`, lowering.ddr_weights' tiles)"
                         if choice.buffers == SINGLE else "this placement is what the RTL twin builds (`--weights ddr "
                         "--wbuf double`, lowering.ddr_weights' tiles); the HLS core has one buffer")
        if choice.wbuf_ram != WBUF_RAM_DEFAULT:
            p.reasons[-1] += (f"; the buffer in block RAM is the RTL twin's `--wbuf-ram {choice.wbuf_ram}` (Vitis HLS "
                              "chooses the HLS core's RAM)")
        p.reasons[-1] += "; the speed is modelled"
        p.reasons.append(f"the RTL twin of this placement: {p.rtl_build_command()}")
    else:
        not_built = [x for x, on in ((TILED_NOT_BUILT.split(" (")[0], bool(choice.acc_tile)),
                                     (f"the encoder over {ddr.layers[0].tiles} tiles (re-reading its input "
                                      f"per tile)", encoder_tiled(ddr)),
                                     ("spilled spike maps", bool(choice.spilled)),
                                     ("membranes in DDR", choice.membranes_ddr)) if on]
        p.reasons.append(f"modelled, not built: {', '.join(not_built)}")
    p.reasons.append(DDR_NOT_BUILT)
    return p


def place_layers(layers, input_spec: dict, numerics: dict, board: str | Board, lanes: int = DEFAULT_LANES,
                 clock_mhz: float | None = None, rate: float = DEFAULT_RATE, spikes=None,
                 buffers: int = SINGLE, wbuf_rows: int | None = None) -> Placement:
    """:func:`place` for a layer graph (manifest dicts or descriptors; a bare graph without weights works)."""
    b = board if isinstance(board, Board) else get_board(board)
    hw = lower_graph(as_layers(layers), input_spec, numerics, lanes, board=b.name, target=RTL)
    return place(hw, b, clock_mhz, rate, spikes, buffers, wbuf_rows)


def place_bundle(bundle, board: str | Board, lanes: int = DEFAULT_LANES, clock_mhz: float | None = None,
                 rate: float | None = None, check_attention: bool = True, buffers: int = SINGLE,
                 wbuf_rows: int | None = None) -> Placement:
    """:func:`place_layers` for a loaded bundle, with the attention checks of ``plan_bundle``. The cycles
    are the mean over its golden samples when it has them and ``rate`` is None; random maps at ``rate``
    (default :data:`DEFAULT_RATE`) otherwise."""
    from syna_contract.checks import check_bundle
    spikes = golden_spikes(bundle) if rate is None else None
    p = place_layers(bundle.descriptors, bundle.input_spec, bundle.numerics, board, lanes, clock_mhz,
                     DEFAULT_RATE if rate is None else rate, spikes, buffers, wbuf_rows)
    if check_attention:
        p.chip.attention = check_bundle(bundle)
    return p
