"""The one table of FPGA board data (resources, clock, DDR) and the utilisation budget.

Every other module takes board numbers from here; none repeats them. Sources:
the AMD/Xilinx product tables for the parts, the boards' user guides for the
clock and DDR, and FINN's timing-closure budget for the utilisation ceilings
(ANCHORS.md, "Physical limits").
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

BRAM36_BITS = 36 * 1024          # one BRAM36 (two BRAM18 halves of 18 Kbit)
URAM_BITS = 288 * 1024           # one UltraRAM block: 4096 words x 72 bits

# FINN-style ceilings: a design above these fractions rarely closes timing.
UTILISATION_BUDGET = {"lut": 0.70, "ff": 0.50, "bram36": 0.80, "uram": 0.80, "dsp": 0.80}


@dataclass(frozen=True)
class Board:
    name: str
    part: str
    lut: int
    ff: int
    bram36: int
    uram: int
    dsp: int
    clock_mhz: float
    ddr_bytes: int

    def budget(self, resource: str) -> float:
        """How many units of ``resource`` a design may use (available x budget fraction)."""
        return getattr(self, resource) * UTILISATION_BUDGET[resource]

    def to_dict(self) -> dict:
        return asdict(self)


BOARDS: dict[str, Board] = {
    "pynq-z2": Board("pynq-z2", part="xc7z020clg400-1", lut=53_200, ff=106_400, bram36=140, uram=0,
                     dsp=220, clock_mhz=100.0, ddr_bytes=512 * 2**20),
    "zcu104": Board("zcu104", part="xczu7ev-ffvc1156-2-e", lut=230_400, ff=460_800, bram36=312, uram=96,
                    dsp=1_728, clock_mhz=200.0, ddr_bytes=2 * 2**30),
}


def get_board(name: str) -> Board:
    """The board called ``name``; ValueError naming the valid boards otherwise."""
    try:
        return BOARDS[name]
    except KeyError:
        raise ValueError(f"unknown board {name!r}; expected one of {sorted(BOARDS)}") from None
