"""syna_merge (rtl/syna_merge.v, the unit as toplevel) against numerics.merge: OR, AND, IAND on
random spike words and the docs/numerics.md example. Built at word widths W in {16, 1}."""
from __future__ import annotations

import random

import cocotb
import numpy as np
import pytest
from cocotb.triggers import Timer

from syna_contract import numerics as nx
from unit_helpers import SEED, bits_of, params


@cocotb.test()
async def merge_or_and_iand(dut):
    W = params()["W"]
    rng = random.Random(SEED)
    for op, name in enumerate(nx.MERGE_OPS):
        for _ in range(100):
            m, r = rng.getrandbits(W), rng.getrandbits(W)
            dut.op.value, dut.m.value, dut.r.value = op, m, r
            await Timer(1, unit="ns")
            ref = nx.merge(np.array(bits_of(m, W)), np.array(bits_of(r, W)), name)
            assert int(dut.y.value) == sum(int(b) << i for i, b in enumerate(ref)), (name, m, r)
    if W >= 4:                                                   # numerics.md: AND of 0110 and 0011 is 0010
        dut.op.value, dut.m.value, dut.r.value = 1, 0b0110, 0b0011
        await Timer(1, unit="ns")
        assert int(dut.y.value) == 0b0010


@pytest.mark.parametrize("parameters", [dict(W=16), dict(W=1)], ids=lambda p: f"W{p['W']}")
def test_merge(parameters, tmp_path):
    from cocotb_runner import run_unit
    run_unit("syna_merge", "test_merge", parameters, tmp_path)
