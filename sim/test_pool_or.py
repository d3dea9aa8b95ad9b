"""syna_pool_or (rtl/syna_pool_or.v, the unit as toplevel): the OR of a window's spike words, one a
cycle, words outside the map (valid = 0) counting as no spike; windows back to back. Built at word
widths W in {16, 1}."""
from __future__ import annotations

import random

import cocotb
import pytest
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, Timer

from unit_helpers import SEED, params


@cocotb.test()
async def pool_or_windows(dut):
    W = params()["W"]
    Clock(dut.clk, 10, unit="ns").start()
    dut.first.value, dut.valid.value, dut.d.value = 0, 0, 0
    rng = random.Random(SEED)
    for _ in range(80):
        n = rng.randint(1, 9)
        words = [rng.getrandbits(W) if rng.random() < 0.4 else 0 for _ in range(n)]
        valid = [rng.random() < 0.8 for _ in range(n)]
        ref = 0
        for i, (w, v) in enumerate(zip(words, valid)):
            await FallingEdge(dut.clk)
            dut.first.value = int(i == 0)
            dut.valid.value = int(v)
            dut.d.value = w
            ref |= w if v else 0
            await Timer(1, unit="ns")
            assert int(dut.y.value) == ref, (i, words, valid)
    dut.valid.value = 0


@pytest.mark.parametrize("parameters", [dict(W=16), dict(W=1)], ids=lambda p: f"W{p['W']}")
def test_pool_or(parameters, tmp_path):
    from cocotb_runner import run_unit
    run_unit("syna_pool_or", "test_pool_or", parameters, tmp_path)
