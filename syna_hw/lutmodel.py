"""Logic LUTs of the RTL twin (outside its memories), modelled from Yosys ``synth_xilinx`` runs.

The planner (``syna_hw/plan.py``) maps every memory as Yosys does; the rest of the core -- the lanes'
datapath, the spike-word logic (popcount, OR-pool, merge, conv FIFO) as wide as the widest layer, the
controller, and in a weights-in-DDR build the AXI read port and the tile loader -- is this model:

    logic LUT = base + per_lane * P + per_channel * CMAX + ddr * [weights in DDR] + maps_ddr * [maps in DDR]
                (+ xc7_base + xc7_per_channel * CMAX on 7-series)

fitted by least squares to the measured runs in :data:`FIT` (``syna_hw.yosys.SynthReport.logic_lut``: the
LUTs outside the ``rtl/syna_mem.v`` instances) and checked against the held-out runs in :data:`HELD_OUT`
(``tests/test_lutmodel.py``; docs/rtl.md "Resources"). Not modelled: attention (``syna_attention.v``, about
9,700 LUT for the SynA-C digits bundle; the model returns None), and the LUTs inside the memories (LUT RAM,
which the planner counts, and the read multiplexers of memories built from many BRAM/URAM, which it does not).
Yosys' mapping, not Vivado's.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np


FAMILIES = ("xc7", "xcup")          # the Yosys synth_xilinx families the runs cover


@dataclass(frozen=True)
class Run:
    """One measured Yosys synth_xilinx run: the configuration and its logic LUTs."""
    what: str
    family: str          # xc7 | xcup
    ddr: bool            # weights in DDR (top syna_core_top_ddr, wbuf="double") or in on-chip ROMs
    lanes: int           # P
    cmax: int            # the widest layer's channels (syna_cfg.vh SYNA_CMAX)
    logic_lut: int
    maps: bool = False   # spike maps in DDR too (maps="ddr": the map DMA, the write master, the bands)


# Measured at the RTL of main 4e22b39, Yosys 0.23 (bench/bench_yosys_paper.py and docs/rtl.md "Resources";
# the DVS Gesture nets are model_export.paper_bundles' 2x128x128, T = 16, 8-bit weights).
FIT = (
    Run("paper DVS Gesture ResNet21", "xcup", True, 16, 512, 20_802),
    Run("paper DVS Gesture ResNet21", "xcup", True, 64, 512, 31_514),
    Run("DVS Gesture ResNet21, width 0.25", "xcup", True, 16, 128, 12_082),
    Run("DVS Gesture ResNet21, width 0.25", "xcup", True, 64, 128, 23_061),
    Run("paper DVS Gesture ResNet21", "xc7", True, 16, 512, 18_564),
    Run("DVS Gesture ResNet21, width 0.25", "xcup", False, 16, 128, 10_214),
    Run("DVS Gesture ResNet21, width 0.25", "xc7", True, 16, 128, 11_593),
    # maps in DDR (docs/rtl.md "Spike maps in DDR", acc_rows 2048, RTL of branch rspill 705f4ec, on the banked spike
    # memory): one run, so ``maps_ddr`` is its difference from the rest of the model (which reads 3.8-7.3 % low on
    # the banked RTL: part of that is in the term); 7-series only, the same term assumed on UltraScale+
    Run("paper DVS Gesture ResNet21, maps in DDR", "xc7", True, 16, 512, 27_213, maps=True),
)
HELD_OUT = (
    Run("paper DVS Gesture ResNet21", "xcup", True, 32, 512, 25_134),
    Run("DVS Gesture ResNet21, width 0.5", "xcup", True, 32, 256, 18_531),
    Run("demo (digits 8x8, T = 4, 4-bit weights, width 0.25)", "xc7", False, 16, 128, 9_779),
)


def _design(runs) -> np.ndarray:
    return np.array([[1.0, r.lanes, r.cmax] for r in runs])


@lru_cache(maxsize=None)
def coefficients() -> dict[str, float]:
    """From :data:`FIT`: ``base``, ``per_lane``, ``per_channel`` (xcup, weights in ROM), ``ddr`` (the DDR build's
    AXI read port and tile loader) and the xc7 corrections ``xc7_base``, ``xc7_per_channel`` (Yosys maps the
    same logic to fewer 7-series LUTs, the more so the wider the spike word)."""
    core = [r for r in FIT if r.family == "xcup" and r.ddr and not r.maps]
    (base, per_lane, per_channel), *_ = np.linalg.lstsq(_design(core), [r.logic_lut for r in core], rcond=None)
    c = dict(base=float(base), per_lane=float(per_lane), per_channel=float(per_channel), ddr=0.0,
             xc7_base=0.0, xc7_per_channel=0.0, maps_ddr=0.0)
    rom = [r for r in FIT if r.family == "xcup" and not r.ddr]
    c["ddr"] = float(np.mean([_core(c, r.lanes, r.cmax) - r.logic_lut for r in rom]))
    c["base"] -= c["ddr"]
    xc7 = [r for r in FIT if r.family == "xc7" and not r.maps]
    (c["xc7_base"], c["xc7_per_channel"]), *_ = np.linalg.lstsq(
        np.array([[1.0, r.cmax] for r in xc7]), [r.logic_lut - _core(c, r.lanes, r.cmax, r.ddr) for r in xc7],
        rcond=None)
    maps = [r for r in FIT if r.maps]
    c["maps_ddr"] = float(np.mean([r.logic_lut - _core(c, r.lanes, r.cmax, r.ddr, r.family) for r in maps]))
    return {k: float(v) for k, v in c.items()}


def _core(c: dict, lanes: int, cmax: int, ddr: bool = True, family: str = "xcup", maps: bool = False) -> float:
    xc7 = c["xc7_base"] + c["xc7_per_channel"] * cmax if family == "xc7" else 0.0
    return (c["base"] + c["per_lane"] * lanes + c["per_channel"] * cmax + (c["ddr"] if ddr else 0.0) + xc7
            + (c["maps_ddr"] if maps else 0.0))


def logic_luts(arch: dict, family: str) -> int | None:
    """Modelled logic LUTs of the RTL twin built with ``arch`` (``rtl_config.rtl_arch``, plus ``ddr_arch`` for a
    weights-in-DDR build) for a Xilinx ``family``; None where the model has no measurement (attention)."""
    if arch.get("NATT") or family not in FAMILIES:
        return None
    return int(round(_core(coefficients(), arch["P"], arch["CMAX"], bool(arch.get("WDDR")), family,
                           bool(arch.get("MAPS_DDR")))))
