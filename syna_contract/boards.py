"""The one table of FPGA boards (device, resources, clock, DDR, PS) and the utilisation budget.

Every other module, Makefile target, Tcl script and help text takes board facts from here
(``python -m syna_contract.boards`` prints the table; ``--names`` the names only); none repeats
them. Names are case-insensitive (``get_board("PYNQ-Z2")``), and ``k26`` names the KV260.

Sources, per column:
- part and its resources (LUT, FF, BRAM36, URAM, DSP): AMD's device tables: Zynq 7000 SoC Data
  Sheet: Overview (DS190), Table 1 (XC7Z020); Zynq UltraScale+ MPSoC Data Sheet: Overview (DS891),
  device tables (XCZU3EG, XCZU7EV, XCZU9EG); Kria K26 SOM Data Sheet (DS987) for the XCK26.
- DDR: the boards' user guides: Digilent Pynq-Z1 Reference Manual (512 MB DDR3), TUL PYNQ-Z2
  user manual (512 MB DDR3), DS987 (K26: 4 GB 64-bit DDR4), Avnet Ultra96-V2 Hardware User
  Guide (2 GB LPDDR4), UG1182 ZCU102 (4 GB DDR4 on the PS), UG1267 ZCU104 (2 GB DDR4 on the PS).
  Only the PS's DDR counts: the DMA reaches it through the HP port.
- HP port: the PS's AXI high-performance slave the DMA masters write through: S_AXI_HP0 of
  processing_system7 (Zynq 7000, up to 64 bits, UG585 ch. 5), S_AXI_HP0_FPD of zynq_ultra_ps_e
  (UltraScale+, up to 128 bits, UG1085 ch. 35).
- HP port protocol and longest burst (``hp_protocol``, ``hp_max_burst``, beats): what the PL side of the
  port takes. Zynq 7000: S_AXI_HP0 is an **AXI3** slave (UG585 ch. 5, "High-Performance AXI Ports": the
  AXI_HP signals are AXI3's, ARLEN 4 bits) in front of a DDR controller that takes "burst length 1 to 16
  data beats" (UG585 ch. 10, "DDR Controller System Interface"): **16**. Zynq UltraScale+: the PL side of
  S_AXI_HP*_FPD is **AXI4** (UG1085 ch. 35, "PL-PS Interface Specifics" and "AXI FIFO Interface": the AFI
  converts to AXI3 inside the PS, restricting the PS-side transaction to 16 beats), so a PL master may
  issue AXI4's **256**. A longer burst into an AXI3 port only works through an interconnect that splits
  it (PG247 SmartConnect, "AXI4-to-AXI3 Conversion"; PG059 AXI Interconnect, "AXI4-to-AXI3 Converter",
  which while splitting accepts one transaction at a time per direction), so the cores' DDR read masters
  issue at most ``hp_max_burst`` beats (syna_hw: the RTL's AXI_MAX_BURST, the HLS pragma's
  max_read_burst_length; docs/rtl.md "Weights in DDR").
- PL clock: the clock the overlay is built for (hls/scripts): 100 MHz, the FCLK0 / pl_clk0 of the
  boards' PYNQ images; 200 MHz on ZCU102/ZCU104 (-2 speed grade). Not a timing-closure result.
- synth_family: Yosys ``synth_xilinx -family`` of the part (xc7: 7 series; xcup: UltraScale+).
- DDR bandwidth model (the planner's, ``syna_hw/placement.py``): the core's AXI master reads the
  DDR through the HP port, ``hp_bits`` wide, clocked by the same PL clock as the core (the block
  design ``hls/scripts/syna_bd.tcl`` drives S_AXI_HP0_ACLK / saxihp0_fpd_aclk from FCLK0 /
  pl_clk0), so one port moves at most ``hp_bits / 8`` bytes per core cycle, and no more than at the
  port's own ceiling ``hp_max_mhz``: 150 MHz on Zynq 7000 (UG585 ch. 5, the HP ports' 1,200 MB/s
  per direction at 64 bits), 333 MHz on Zynq UltraScale+ (DS925, PS-PL AXI interfaces).
  ``ddr_efficiency`` is the fraction of that peak a long stream of INCR bursts is assumed to get:
  **an assumption, not a board measurement**: 0.70 on Zynq 7000 (AXI3 ports: bursts of at most 16
  beats, the DDR3 shared with the PS, refresh and page misses), 0.80 on Zynq UltraScale+ (AXI4
  bursts up to 256 beats into a 64-bit DDR4 controller whose own peak is far above one HP port's).
  The DDR controller's own peak (PYNQ-Z2: 32-bit DDR3-1050, about 4.2 GB/s) is above one port's in
  both families, so the port is the bound.
- the utilisation budget: FINN's timing-closure ceilings (ANCHORS.md, "Physical limits").
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import asdict, dataclass

BRAM36_BITS = 36 * 1024          # one BRAM36 (two BRAM18 halves of 18 Kbit)
URAM_BITS = 288 * 1024           # one UltraRAM block: 4096 words x 72 bits

# FINN-style ceilings: a design above these fractions rarely closes timing.
UTILISATION_BUDGET = {"lut": 0.70, "ff": 0.50, "bram36": 0.80, "uram": 0.80, "dsp": 0.80}

ZYNQ7_PS, ZYNQMP_PS = "processing_system7", "zynq_ultra_ps_e"


@dataclass(frozen=True)
class Board:
    name: str              # the key: lower case
    title: str             # how the vendor writes it
    part: str
    lut: int
    ff: int
    bram36: int
    uram: int
    dsp: int
    clock_mhz: float
    ddr_bytes: int
    hp_bits: int           # data width of the PS high-performance port the DMA uses
    ps_ip: str             # Vivado IP of the processing system
    synth_family: str      # Yosys synth_xilinx -family
    hp_max_mhz: float      # the HP port's highest clock (UG585 / DS925); it runs on the core's clock up to this
    ddr_efficiency: float  # assumed fraction of the port's peak a long burst stream gets (module doc)
    hp_protocol: str       # AXI protocol of the HP port's PL side: AXI3 (Zynq 7000) or AXI4 (UltraScale+)
    hp_max_burst: int      # the longest burst (beats) the HP port's PL side takes: 16 (AXI3) or 256 (AXI4)

    def ddr_bytes_per_s(self, clock_mhz: float | None = None) -> float:
        """Modelled DDR read (or write) bandwidth of one HP port, bytes/s, with the core (and the port)
        at ``clock_mhz`` (default the board's PL clock), capped at the port's ``hp_max_mhz``."""
        mhz = min(self.clock_mhz if clock_mhz is None else clock_mhz, self.hp_max_mhz)
        return self.hp_bits / 8 * mhz * 1e6 * self.ddr_efficiency

    def ddr_bytes_per_cycle(self, clock_mhz: float | None = None) -> float:
        """:meth:`ddr_bytes_per_s` in bytes per cycle of the core's clock."""
        mhz = self.clock_mhz if clock_mhz is None else clock_mhz
        return self.ddr_bytes_per_s(mhz) / (mhz * 1e6)

    def budget(self, resource: str) -> float:
        """How many units of ``resource`` a design may use (available x budget fraction)."""
        return getattr(self, resource) * UTILISATION_BUDGET[resource]

    def to_dict(self) -> dict:
        return asdict(self)


_Z7020 = dict(part="xc7z020clg400-1", lut=53_200, ff=106_400, bram36=140, uram=0, dsp=220,    # DS190 Table 1
              clock_mhz=100.0, hp_bits=64, ps_ip=ZYNQ7_PS, synth_family="xc7",
              hp_max_mhz=150.0, ddr_efficiency=0.70, hp_protocol="AXI3", hp_max_burst=16)    # UG585 ch. 5, 10
_ZYNQMP_DDR = dict(hp_max_mhz=333.0, ddr_efficiency=0.80, hp_protocol="AXI4", hp_max_burst=256)  # UG1085 ch. 35; DS925
BOARDS: dict[str, Board] = {b.name: b for b in (
    Board("pynq-z1", "Pynq-Z1", ddr_bytes=512 * 2**20, **_Z7020),               # Digilent reference manual
    Board("pynq-z2", "PYNQ-Z2", ddr_bytes=512 * 2**20, **_Z7020),               # TUL PYNQ-Z2 user manual
    Board("kv260", "KV260 (K26 SOM)", part="xck26-sfvc784-2LV-c", lut=117_120, ff=234_240, bram36=144,
          uram=64, dsp=1_248, clock_mhz=100.0, ddr_bytes=4 * 2**30, hp_bits=128,   # DS987
          ps_ip=ZYNQMP_PS, synth_family="xcup", **_ZYNQMP_DDR),
    Board("ultra96-v2", "Ultra96-V2", part="xczu3eg-sbva484-1-i", lut=70_560, ff=141_120, bram36=216,
          uram=0, dsp=360, clock_mhz=100.0, ddr_bytes=2 * 2**30, hp_bits=128,     # DS891; Avnet HW user guide
          ps_ip=ZYNQMP_PS, synth_family="xcup", **_ZYNQMP_DDR),
    Board("zcu102", "ZCU102", part="xczu9eg-ffvb1156-2-e", lut=274_080, ff=548_160, bram36=912,
          uram=0, dsp=2_520, clock_mhz=200.0, ddr_bytes=4 * 2**30, hp_bits=128,   # DS891; UG1182
          ps_ip=ZYNQMP_PS, synth_family="xcup", **_ZYNQMP_DDR),
    Board("zcu104", "ZCU104", part="xczu7ev-ffvc1156-2-e", lut=230_400, ff=460_800, bram36=312,
          uram=96, dsp=1_728, clock_mhz=200.0, ddr_bytes=2 * 2**30, hp_bits=128,  # DS891; UG1267
          ps_ip=ZYNQMP_PS, synth_family="xcup", **_ZYNQMP_DDR),
)}
ALIASES = {"k26": "kv260"}
DEFAULT_BOARD = "pynq-z2"        # the board every command targets when none is named


def board_names() -> list[str]:
    """Every board's name, in table order."""
    return list(BOARDS)


def boards_help() -> str:
    """One line for --board help texts: the names (case-insensitive)."""
    return " | ".join(BOARDS) + " (case-insensitive)"


def get_board(name: str) -> Board:
    """The board called ``name`` (any case); ValueError naming the valid boards otherwise."""
    key = str(name).strip().lower()
    key = ALIASES.get(key, key)
    try:
        return BOARDS[key]
    except KeyError:
        raise ValueError(f"unknown board {name!r}; expected one of {list(BOARDS)}") from None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m syna_contract.boards", description="The board table.")
    p.add_argument("--names", action="store_true", help="print the board names only, one per line")
    p.add_argument("--default", action="store_true", help="print the default board's name")
    a = p.parse_args(argv)
    if a.default:
        print(DEFAULT_BOARD)
        return 0
    if a.names:
        print("\n".join(BOARDS))
        return 0
    print(f"{'board':<12}{'part':<24}{'LUT':>9}{'FF':>9}{'BRAM36':>8}{'URAM':>6}{'DSP':>7}{'MHz':>6}"
          f"{'DDR MB':>8}{'HP':>5}{'HP MB/s':>9}{'burst':>10}  PS IP")
    for b in BOARDS.values():
        print(f"{b.name:<12}{b.part:<24}{b.lut:>9,}{b.ff:>9,}{b.bram36:>8}{b.uram:>6}{b.dsp:>7,}{b.clock_mhz:>6g}"
              f"{b.ddr_bytes // 2**20:>8,}{b.hp_bits:>5}{b.ddr_bytes_per_s() / 1e6:>9,.0f}"
              f"{b.hp_protocol + ' ' + str(b.hp_max_burst):>10}  {b.ps_ip}")
    print("HP MB/s: the modelled DDR bandwidth of one HP port at the board's clock (hp_bits / 8 x min(clock, "
          "hp_max_mhz) x ddr_efficiency, an assumption: see the module doc); burst: the HP port's protocol and "
          "longest burst in beats (the cores' DDR reads stay within it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
