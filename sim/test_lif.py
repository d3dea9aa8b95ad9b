"""syna_lif (rtl/syna_lif.v) against syna_contract.numerics: saturation, floor shift, fire, hard reset,
first step, lane enable, the attention gate (MA, IA) and the docs/numerics.md worked example.

Bench: sim/tb_lif.v (the plain and the gated LIF on the same inputs). Built at P in {1, 3, 4, 16} and
membrane bits in {8, 12, 32} (one axis at a time around P = 4, MB = 12) by the pytest function at the
bottom (cocotb's runner, Verilator).
"""
from __future__ import annotations

import cocotb
import numpy as np
import pytest
from cocotb.triggers import Timer

from syna_contract import numerics as nx
from unit_helpers import SEED, bits_of, pack, params, unpack


def drive(dut, rng, it: int, big_every: int, P: int, mb: int):
    """Random inputs for the LIF ports (every ``big_every``-th accumulator anywhere in int32, else within
    1.5x the membrane range, so both the saturating and the plain path are common), driven onto the DUT;
    returns (saturated current, membrane in, lane enable mask, saturation mask, thresholds) as numerics
    computes them."""
    lo, hi = nx.signed_range(mb)
    i32lo, i32hi = nx.signed_range(32)
    if it % big_every == 0:
        acc = rng.integers(i32lo, i32hi + 1, P)
    else:
        acc = rng.integers(-hi, hi + 1, P)
    bias = rng.integers(-(hi // 2) - 1, hi // 2 + 1, P)
    thr = rng.integers(1, hi + 1, P)
    v = rng.integers(lo, hi + 1, P)
    first = int(rng.integers(0, 2))
    en = int(rng.integers(0, 1 << P))
    dut.lif_acc.value = pack(acc, 32)
    dut.lif_bias.value = pack(bias, 32)
    dut.lif_thr.value = pack(thr, mb)
    dut.lif_v.value = pack(v, mb)
    dut.lif_first.value = first
    dut.lif_lane_en.value = en
    cur, _ = nx.saturate(acc + bias, mb)
    vin = np.zeros(P, dtype=np.int64) if first else v
    enm = np.array(bits_of(en, P), dtype=bool)
    sat = ((acc + bias < lo) | (acc + bias > hi)) & enm
    return cur, vin, enm, sat, thr


@cocotb.test()
async def lif_matches_numerics(dut):
    """The plain LIF: i = sat(acc + bias), h = (v + i) >> 1, s = h >= theta, v' = s ? 0 : h, per lane."""
    prm = params()
    P, mb = prm["P"], prm["MB"]
    rng = np.random.default_rng(SEED)
    saturated = 0
    for it in range(400):
        cur, vin, enm, sat, thr = drive(dut, rng, it, 5, P, mb)
        await Timer(1, unit="ns")
        vref, sref = nx.lif_step(vin, cur, thr)
        assert unpack(dut.lif_cur.value, mb, P) == [int(c) for c in cur], it
        assert bits_of(dut.lif_spike.value, P) == [int(x) for x in sref & enm], (it, cur, thr, vin)
        assert bits_of(dut.lif_sat.value, P) == [int(x) for x in sat], it
        got_v = unpack(dut.lif_v_next.value, mb, P)
        for i in range(P):
            if enm[i]:
                assert got_v[i] == vref[i], (it, i, got_v, vref)
        saturated += int(sat.sum())
    assert saturated > 0, "the inputs never saturated: the bench does not test saturation"


@cocotb.test()
async def gated_lif_matches_numerics(dut):
    """ATT = 1: MA gate max(0, (i * g) >> 8) and IA gate q * max(0, i) before the LIF, as
    syna_contract.reference applies them (numerics.md section 6); gmode 0 is the plain LIF."""
    prm = params()
    P, mb = prm["P"], prm["MB"]
    rng = np.random.default_rng(SEED + 7)
    table = nx.sigmoid_table()
    for it in range(400):
        cur, vin, enm, sat, thr = drive(dut, rng, it, 7, P, mb)
        mode = it % 3
        g = table[rng.integers(0, 256, P)]
        g[rng.random(P) < 0.1] = 1 << nx.GATE_FRAC_BITS
        q = rng.integers(0, 2, P)
        dut.glif_gmode.value = mode
        dut.glif_gate.value = pack(g, 9)
        dut.glif_gq.value = pack(q, 1)
        await Timer(1, unit="ns")
        gated = cur if mode == 0 else (np.maximum((cur * g) >> nx.GATE_FRAC_BITS, 0) if mode == 1
                                       else np.maximum(cur, 0) * q)
        vref, sref = nx.lif_step(vin, gated, thr)
        assert unpack(dut.glif_cur.value, mb, P) == [int(c) for c in cur], it
        assert bits_of(dut.glif_spike.value, P) == [int(x) for x in sref & enm], (it, mode)
        assert bits_of(dut.glif_sat.value, P) == [int(x) for x in sat], it
        got_v = unpack(dut.glif_v_next.value, mb, P)
        for i in range(P):
            if enm[i]:
                assert got_v[i] == vref[i], (it, mode, i, got_v, vref)


@cocotb.test()
async def lif_worked_example(dut):
    """docs/numerics.md section 8: theta 100, currents 120, 90, -30, 250, -5 -> spikes 0 0 0 1 0, v -3
    (lane 0; with 8-bit membranes 250 saturates to 127 and the lane follows numerics instead)."""
    prm = params()
    P, mb = prm["P"], prm["MB"]
    currents = (120, 90, -30, 250, -5)
    v, spikes = 0, []
    for t, i in enumerate(currents):
        dut.lif_acc.value = pack([i] + [0] * (P - 1), 32)
        dut.lif_bias.value = 0
        dut.lif_thr.value = pack([100] * P, mb)
        dut.lif_v.value = pack([v] + [0] * (P - 1), mb)
        dut.lif_first.value = int(t == 0)
        dut.lif_lane_en.value = 1
        await Timer(1, unit="ns")
        v = unpack(dut.lif_v_next.value, mb, P)[0]
        spikes.append(int(dut.lif_spike.value) & 1)
    cur, _ = nx.saturate(np.array(currents)[:, None], mb)
    assert spikes == nx.lif_sequence(cur, np.array([100]))[:, 0].tolist()
    if mb > 8:
        assert spikes == [0, 0, 0, 1, 0] and v == -3


# ----------------------------------------------------------------------------- pytest: build and run
PARAMS = [dict(P=4, MB=12), dict(P=1, MB=12), dict(P=3, MB=12), dict(P=16, MB=12), dict(P=4, MB=8), dict(P=4, MB=32)]


@pytest.mark.parametrize("parameters", PARAMS, ids=lambda p: f"P{p['P']}-MB{p['MB']}")
def test_lif(parameters, tmp_path):
    from cocotb_runner import SIM, run_unit
    run_unit("tb_lif", "test_lif", parameters, tmp_path, extra_sources=[SIM / "tb_lif.v"])
