"""Which FPGA primitives one of the RTL's memories becomes: block RAM, UltraRAM, LUT RAM or flip-flops.

The planner (``syna_hw/plan.py``) must say what synthesis builds, so this module models the rule the
project's synthesis estimate uses: Yosys' ``memory_libmap`` (the ``map_memory`` step of
``synth_xilinx``; ``passes/memory/memory_libmap.cc`` and ``techlibs/xilinx/*.txt`` of Yosys 0.23,
ISC licence; re-expressed here, not copied). It prices every way to build a memory from the family's
RAM primitives, and flip-flops at one unit per bit, and keeps the cheapest:

    cost = (C - S) * units + S * rows * width / unit_width + (mux + demux) / 2 + 2 * emulation

per primitive kind (``C`` its cost, ``S`` its width-scale), aspect ratio and depth cascade, where
``units`` is how many primitives the ``width`` x ``depth`` memory needs (words padded to the block
RAMs' 9-bit bytes), ``rows`` how many primitives deep it is, ``mux`` the read-data multiplexer bits
``(rows - 1) * width`` and ``demux`` the write-enable decoder (``rows`` when ``rows > 1``).

Only the memories of ``rtl/`` are modelled: every ``syna_mem`` instance is one synchronous write
port and one synchronous read port with a read enable, as a separate module (synth_xilinx does not
flatten), so a ROM is priced as a RAM. For such a memory the cheapest emulation score of every
candidate is 1 (one unshared read port), measured with ``debug memory_libmap`` on Yosys 0.23; the
test ``tests/test_plan_yosys.py`` checks this model against Yosys on single memories and on the whole
core.
"""
from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass

# ---------------------------------------------------------------------------- the primitives, per family
FACTOR_MUX = FACTOR_DEMUX = 0.5
FACTOR_EMU = 2
EMULATION = 1            # cheapest emulation score of every candidate for a syna_mem (see the module doc)


@dataclass(frozen=True)
class Primitive:
    """One ``ram`` option of a Yosys memory library: ``abits`` address bits at the narrowest width."""
    kind: str            # lutram | bram | uram
    name: str            # the library's cell and option, for the report
    cost: float
    widthscale: float
    abits: int
    widths: tuple[int, ...]
    byte: int            # write-enable granularity (0: the whole word)
    cells: dict          # Xilinx cells per unit: {cell: count}
    init: bool = True    # can be given initial contents (URAM: zero only)

    @property
    def yosys_cell(self) -> tuple[str, str, str]:
        """(cell type, parameter, value) memory_libmap leaves for one unit of this option."""
        lib, _, option = self.name.partition(" ")          # e.g. "LUTRAM_SDP ABITS5", "BLOCKRAM_TDP FULL"
        if self.kind == "lutram":
            return f"$__XILINX_{lib}_", "OPTION_ABITS", option.removeprefix("ABITS")
        return f"$__XILINX_{lib}_", "OPTION_MODE", option


def _lut(name, cost, ws, abits, width, cell, n=1):
    return Primitive("lutram", name, cost, ws, abits, (width,), 0, {cell: n})


def _bram(name, cost, abits, widths, cell, n=1):
    return Primitive("bram", name, cost, 0, abits, widths, 9, {cell: n})


# Series 7 (synth_xilinx -family xc7): lutrams_xc5v.txt; brams_xc4v.txt with HAS_SIZE_36, HAS_CASCADE.
_XC7 = (
    _lut("LUTRAM_DP ABITS5", 8, 8, 5, 4, "RAM32M"), _lut("LUTRAM_DP ABITS6", 8, 8, 6, 2, "RAM64X1D", 2),
    _lut("LUTRAM_DP ABITS7", 8, 8, 7, 1, "RAM128X1D"),
    _lut("LUTRAM_QP ABITS5", 7, 7, 5, 2, "RAM32M"), _lut("LUTRAM_QP ABITS6", 7, 7, 6, 1, "RAM64M"),
    _lut("LUTRAM_SDP ABITS5", 8, 7, 5, 6, "RAM32M"), _lut("LUTRAM_SDP ABITS6", 8, 7, 6, 3, "RAM64M"),
    _bram("BLOCKRAM_TDP CASCADE", 513, 16, (1, 2, 4, 9), "RAMB36E1", 2),
    _bram("BLOCKRAM_TDP FULL", 257, 15, (1, 2, 4, 9, 18, 36), "RAMB36E1"),
    _bram("BLOCKRAM_TDP HALF", 129, 14, (1, 2, 4, 9, 18), "RAMB18E1"),
    _bram("BLOCKRAM_SDP FULL", 257, 15, (1, 2, 4, 9, 18, 36, 72), "RAMB36E1"),
    _bram("BLOCKRAM_SDP HALF", 129, 14, (1, 2, 4, 9, 18, 36), "RAMB18E1"),
)
# UltraScale+ (-family xcup): lutrams_xcu.txt; brams_xc4v.txt with HAS_SIZE_36 (no cascade); urams.txt.
_XCUP = (
    _lut("LUTRAM_DP ABITS5", 16, 16, 5, 8, "RAM32M16"), _lut("LUTRAM_DP ABITS6", 16, 16, 6, 4, "RAM64M8"),
    _lut("LUTRAM_DP ABITS7", 16, 16, 7, 2, "RAM128X1D", 2), _lut("LUTRAM_DP ABITS8", 16, 16, 8, 1, "RAM256X1D"),
    _lut("LUTRAM_QP ABITS5", 16, 16, 5, 4, "RAM32M16"), _lut("LUTRAM_QP ABITS6", 16, 16, 6, 2, "RAM64M8"),
    _lut("LUTRAM_OP ABITS5", 16, 16, 5, 2, "RAM32M16"), _lut("LUTRAM_OP ABITS6", 16, 16, 6, 1, "RAM64M8"),
    _lut("LUTRAM_SDP ABITS5", 16, 16, 5, 14, "RAM32M16"), _lut("LUTRAM_SDP ABITS6", 16, 16, 6, 7, "RAM64M8"),
    _bram("BLOCKRAM_TDP FULL", 257, 15, (1, 2, 4, 9, 18, 36), "RAMB36E2"),
    _bram("BLOCKRAM_TDP HALF", 129, 14, (1, 2, 4, 9, 18), "RAMB18E2"),
    _bram("BLOCKRAM_SDP FULL", 257, 15, (1, 2, 4, 9, 18, 36, 72), "RAMB36E2"),
    _bram("BLOCKRAM_SDP HALF", 129, 14, (1, 2, 4, 9, 18, 36), "RAMB18E2"),
    Primitive("uram", "URAM", 1024, 0, 12, (72,), 8, {"URAM288": 1}, init=False),
)
FAMILIES = {"xc7": _XC7, "xcup": _XCUP}

# Xilinx cells -> (BRAM36, URAM, LUT) they stand for
CELL_COST = {"RAMB36E1": (1.0, 0, 0), "RAMB18E1": (0.5, 0, 0), "RAMB36E2": (1.0, 0, 0), "RAMB18E2": (0.5, 0, 0),
             "URAM288": (0.0, 1, 0), "RAM32M": (0, 0, 4), "RAM64M": (0, 0, 4), "RAM32M16": (0, 0, 8),
             "RAM64M8": (0, 0, 8), "RAM64X1D": (0, 0, 2), "RAM128X1D": (0, 0, 4), "RAM256X1D": (0, 0, 8)}


@dataclass
class Mapping:
    """How one ``width`` x ``depth`` memory is built."""
    kind: str            # bram | uram | lutram | ff
    how: str             # primitive and aspect ratio, e.g. "BLOCKRAM_SDP HALF 512x36 x 15"
    cost: float
    cells: dict
    bram36: float = 0.0
    uram: int = 0
    lut: int = 0
    ff: int = 0


def _price(p: Primitive, width: int, depth: int) -> tuple[float, int, int] | None:
    """(cost, units, unit width) of the cheapest aspect ratio of primitive ``p``; None if it cannot."""
    best = None
    for i, unit in enumerate(p.widths):
        byte = p.byte if 0 < p.byte <= unit else unit
        padded = math.ceil(width / byte) * byte                     # words padded to whole bytes
        addrs = 1 << (p.abits - i)
        rows = (depth - 1) // addrs + 1
        units = math.ceil(rows * padded / unit)
        mux = (rows - 1) * width
        demux = rows if rows != 1 else 0
        cost = ((p.cost - p.widthscale) * units + p.widthscale * rows * width / unit
                + FACTOR_MUX * mux + FACTOR_DEMUX * demux + FACTOR_EMU * EMULATION)
        if best is None or cost < int(best[0]):                    # Yosys keeps the best cost as an int
            best = (cost, units, unit, rows, addrs)
    return best


def map_memory(width: int, depth: int, family: str = "xc7", init: bool = False, sync_read: bool = True,
               uram: bool = True) -> Mapping:
    """The primitives Yosys builds one syna_mem of ``width`` x ``depth`` bits from (see the module doc);
    :func:`_map_memory` (cached: the placement search maps the same memories many times), copied."""
    return dataclasses.replace(_map_memory(int(width), int(depth), family, bool(init), bool(sync_read), bool(uram)))


@functools.lru_cache(maxsize=65536)
def _map_memory(width: int, depth: int, family: str, init: bool, sync_read: bool, uram: bool) -> Mapping:
    """The mapping of :func:`map_memory`.

    ``init``: the memory has initial contents ($readmemh ROMs); UltraRAM cannot take them.
    ``sync_read=False``: a small register array read combinationally (LUT RAM or flip-flops only: block
    RAM reads are registered). ``uram=False``: the part has no UltraRAM (Yosys' ``-no-auto-huge``)."""
    if family not in FAMILIES:
        raise ValueError(f"synthesis family {family!r}; expected one of {sorted(FAMILIES)}")
    logic = float(width * depth)                                    # flip-flops: 1 per bit (RAM)
    best_cost, choice = int(logic), None
    for p in FAMILIES[family]:
        if (init and not p.init) or (p.kind == "uram" and not uram) or (p.kind != "lutram" and not sync_read):
            continue
        got = _price(p, width, depth)
        if got is not None and got[0] < best_cost:
            best_cost, choice = int(got[0]), (p, got)
    if choice is None:
        return Mapping("ff", f"flip-flops {width}x{depth}", logic, {}, ff=width * depth)
    p, (cost, units, unit, rows, addrs) = choice
    cells = {c: n * units for c, n in p.cells.items()}
    m = Mapping(p.kind, f"{p.name} {addrs}x{unit} x {units}", cost, cells)
    for c, n in cells.items():
        b, u, l = CELL_COST.get(c, (0, 0, 0))
        m.bram36 += b * n
        m.uram += u * n
        m.lut += l * n
    return m
