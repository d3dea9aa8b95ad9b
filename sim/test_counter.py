"""syna_counter (rtl/syna_counter.v, the unit as toplevel): saturating accumulation of an IW-bit
increment into W bits, synchronous clear winning over the increment. Built at (W, IW) = (8, 4) (the
saturation counter's shape, saturating quickly) and (4, 1) (the cycle counter's 1-bit increment)."""
from __future__ import annotations

import random

import cocotb
import pytest
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

from unit_helpers import SEED, params


@cocotb.test()
async def counter_saturates_and_clears(dut):
    prm = params()
    W, IW = prm["W"], prm["IW"]
    top = (1 << W) - 1
    Clock(dut.clk, 10, unit="ns").start()
    dut.clr.value, dut.inc.value = 1, 0
    await RisingEdge(dut.clk)
    rng = random.Random(SEED)
    ref, saturated = 0, 0
    for it in range(300):
        inc = rng.randint(0, (1 << IW) - 1)
        clr = int(rng.random() < 0.05)
        await FallingEdge(dut.clk)
        dut.clr.value, dut.inc.value = clr, inc
        await RisingEdge(dut.clk)
        ref = 0 if clr else min(ref + inc, top)
        saturated += ref == top
        await ReadOnly()
        assert int(dut.q.value) == ref, it
    assert saturated > 0, "the counter never reached its maximum"
    await FallingEdge(dut.clk)
    dut.clr.value, dut.inc.value = 1, (1 << IW) - 1                 # clear wins over the increment
    await RisingEdge(dut.clk)
    await ReadOnly()
    assert int(dut.q.value) == 0


@pytest.mark.parametrize("parameters", [dict(W=8, IW=4), dict(W=4, IW=1)], ids=lambda p: f"W{p['W']}-IW{p['IW']}")
def test_counter(parameters, tmp_path):
    from cocotb_runner import run_unit
    run_unit("syna_counter", "test_counter", parameters, tmp_path)
