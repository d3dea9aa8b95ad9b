"""rtl/syna_axi_rd.v, the AXI4 read master for weights (and spike maps) in DDR (issue 16), through tests/axi_unit.py:
cocotb + Verilator against cocotbext-axi's AxiRamRead over a sweep of data width and burst length
(sim/test_syna_axi_rd.py), Verilator lint (-Wall, no waivers), Icarus and Yosys parse, and the
refusal of parameters out of range. A missing tool fails with its name, it never skips."""
from __future__ import annotations

import pytest

from axi_unit import SWEEP, SWEEP_IDS, icarus_and_yosys_parse, lint_clean, refuses, run_cocotb

TOP = "syna_axi_rd"


def _params(dw: int, mb: int) -> dict:
    return dict(DATA_WIDTH=dw, MAX_BURST=mb, FIFO_DEPTH=2 * mb, MAX_OUTSTANDING=4)


@pytest.mark.parametrize("dw,mb", SWEEP, ids=SWEEP_IDS)
def test_axi_read_master_cocotb(dw, mb, tmp_path):
    params = _params(dw, mb)
    env = {"AXI_MAX_BURST": str(mb), "AXI_FIFO_DEPTH": str(params["FIFO_DEPTH"]), "AXI_MAX_OUTSTANDING": str(params["MAX_OUTSTANDING"])}
    run_cocotb(TOP, params, env, f"cocotb-axi-rd-{dw}-{mb}", tmp_path, tests=4)


def test_verilator_lint_clean_over_the_parameter_sweep():
    lint_clean(TOP, _params)


def test_icarus_and_yosys_parse():
    icarus_and_yosys_parse(TOP, _params)


@pytest.mark.parametrize("bad", [dict(DATA_WIDTH=48), dict(MAX_BURST=512), dict(MAX_BURST=16, FIFO_DEPTH=8),
                                 dict(FIFO_DEPTH=300), dict(MAX_OUTSTANDING=0)])
def test_parameters_out_of_range_stop_elaboration(bad):
    refuses(TOP, bad)
