"""syna_popcount (rtl/syna_popcount.v, the unit as toplevel): the number of set bits. Built at W = 37
(a spike word) and at the lane counts P in {1, 3, 16} (the core counts each LIF group's saturations
with a W = P popcount)."""
from __future__ import annotations

import random

import cocotb
import pytest
from cocotb.triggers import Timer

from unit_helpers import SEED, params


@cocotb.test()
async def popcount_counts_bits(dut):
    W = params()["W"]
    rng = random.Random(SEED)
    for d in [0, (1 << W) - 1] + [rng.getrandbits(W) for _ in range(200)]:
        dut.d.value = d
        await Timer(1, unit="ns")
        assert int(dut.n.value) == bin(d).count("1"), d


@pytest.mark.parametrize("parameters", [dict(W=37, OW=6), dict(W=1, OW=1), dict(W=3, OW=2), dict(W=16, OW=5)],
                         ids=lambda p: f"W{p['W']}")
def test_popcount(parameters, tmp_path):
    from cocotb_runner import run_unit
    run_unit("syna_popcount", "test_popcount", parameters, tmp_path)
