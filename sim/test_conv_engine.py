"""syna_conv_engine (rtl/syna_conv_engine.v; bench sim/tb_conv_engine.v with the engine's memories):
the event-driven accumulation equals the zero-padded correlation (numpy) for 9 kernel / stride /
padding / channel-group / encoder cases, in dense mode too (one event per input channel and position);
an all-zero map costs only the scan and cycles follow the events; FC mode adds every spike's weight row
to the class scores. Weights over the whole WB-bit range. Built at P in {1, 3, 4, 16} and weight bits in
{4, 8, 16} (one axis at a time around P = 4, WB = 8)."""
from __future__ import annotations

import cocotb
import numpy as np
import pytest
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge, Timer

from syna_contract import numerics as nx
from unit_helpers import SEED, pack, params, start_clock, unpack

IB = 5                                            # encoder input bits (tb_conv_engine.v)


async def setup(dut):
    for name in ("ce_start", "ce_map_we", "ce_w_we", "ce_acc_we", "ce_dense", "ce_enc", "ce_fc"):
        getattr(dut, name).value = 0
    await start_clock(dut.clk, dut.rst)


async def load_mem(dut, we, addr, data, words: dict[int, int]):
    for a, v in words.items():
        await FallingEdge(dut.clk)
        we.value, addr.value, data.value = 1, a, v
    await FallingEdge(dut.clk)
    we.value = 0


async def run_engine(dut, *, x, w, k, s, pad, enc=False, fc=False, dense=False, wbase=7, scan_base=3):
    """Load input map x [C, H, W] and weights w [Cin, K, K, Cout]; run; return (acc [Cout, Ho, Wo],
    events, ops, cycles)."""
    prm = params()
    P, WB = prm["P"], prm["WB"]
    cin, h, wd = x.shape
    cout = w.shape[3]
    g = -(-cout // P)
    if fc:
        ho = wo = 1
    else:
        ho, wo = nx.conv_out_size(h, k, s, pad), nx.conv_out_size(wd, k, s, pad)
    # map: one word per position (spikes: channel bits; encoder: CIN values of IB bits)
    words = {}
    for pos in range(h * wd):
        y, xx = divmod(pos, wd)
        words[scan_base + pos] = pack(x[:, y, xx], IB) if enc else pack(x[:, y, xx], 1)
    await load_mem(dut, dut.ce_map_we, dut.ce_map_addr, dut.ce_map_data, words)
    wrows = np.zeros((cin * k * k, g * P), dtype=np.int64)
    wrows[:, :cout] = w.reshape(cin * k * k, cout)
    wrows = wrows.reshape(-1, P)
    await load_mem(dut, dut.ce_w_we, dut.ce_w_addr, dut.ce_w_data,
                   {wbase + i: pack(r, WB) for i, r in enumerate(wrows)})
    await load_mem(dut, dut.ce_acc_we, dut.ce_acc_addr, dut.ce_acc_data, {a: 0 for a in range(ho * wo * g)})
    fields = dict(ce_enc=int(enc), ce_fc=int(fc), ce_dense=int(dense), ce_scan_base=scan_base,
                  ce_scan_len=h * wd, ce_cin=cin, ce_w=wd, ce_ho=ho, ce_wo=wo, ce_k=k,
                  ce_slog2=s.bit_length() - 1, ce_pad=pad, ce_g=g, ce_wbase=wbase, ce_kkg=k * k * g, ce_kg=k * g,
                  ce_sg=s * g, ce_skg=s * k * g, ce_wog=wo * g)
    for name, v in fields.items():
        getattr(dut, name).value = v
    dut.ce_start.value = 1
    await FallingEdge(dut.clk)
    dut.ce_start.value = 0
    cycles = 0
    while True:
        await RisingEdge(dut.clk)
        cycles += 1
        await ReadOnly()
        if int(dut.ce_done.value):
            break
        assert cycles < 200000, "engine did not finish"
    await FallingEdge(dut.clk)
    acc = np.zeros((cout, ho, wo), dtype=np.int64)
    for oy in range(ho):
        for ox in range(wo):
            for cg in range(g):
                dut.ce_acc_addr.value = (oy * wo + ox) * g + cg
                await Timer(1, unit="ns")
                lanes = unpack(dut.ce_acc_q.value, 32, P)
                for l in range(P):
                    if cg * P + l < cout:
                        acc[cg * P + l, oy, ox] = lanes[l]
    return acc, int(dut.ce_events.value), int(dut.ce_ops.value), cycles


def conv_ref(x, w, k, s, pad, fc=False):
    if fc:
        return np.einsum("chw,co->o", x, w[:, 0, 0, :])[:, None, None]
    cin, h, wd = x.shape
    ho, wo = nx.conv_out_size(h, k, s, pad), nx.conv_out_size(wd, k, s, pad)
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((w.shape[3], ho, wo), dtype=np.int64)
    for oy in range(ho):
        for ox in range(wo):
            win = xp[:, oy * s:oy * s + k, ox * s:ox * s + k]
            out[:, oy, ox] = np.einsum("cyx,cyxo->o", win, w)
    return out


def weights(rng, shape):
    """Weights over the whole signed WB-bit range, both ends included."""
    lo, hi = nx.signed_range(params()["WB"])
    w = rng.integers(lo, hi + 1, shape)
    w.flat[0], w.flat[-1] = lo, hi
    return w


@cocotb.test()
async def conv_engine_matches_correlation(dut):
    """Event-driven accumulation = the zero-padded correlation, for kernels, strides, paddings, groups."""
    await setup(dut)
    rng = np.random.default_rng(SEED)
    cases = [  # cin, h, w, cout, k, s, pad, enc
        (3, 5, 6, 4, 3, 1, 1, False), (5, 6, 6, 9, 3, 2, 1, False), (4, 6, 5, 6, 1, 2, 0, False),
        (2, 7, 7, 5, 7, 2, 3, False), (6, 4, 4, 12, 3, 1, 0, False), (2, 6, 6, 7, 3, 1, 1, True),
        (1, 5, 5, 3, 5, 2, 2, True), (16, 3, 3, 4, 3, 1, 1, False), (3, 4, 5, 2, 2, 2, 0, False),
    ]
    for ci, (cin, h, wd, cout, k, s, pad, enc) in enumerate(cases):
        x = (rng.integers(0, 1 << IB, (cin, h, wd)) * (rng.random((cin, h, wd)) < 0.6) if enc
             else (rng.random((cin, h, wd)) < 0.3).astype(np.int64))
        w = weights(rng, (cin, k, k, cout))
        acc, events, ops, cycles = await run_engine(dut, x=x, w=w, k=k, s=s, pad=pad, enc=enc)
        ref = conv_ref(x, w, k, s, pad)
        assert np.array_equal(acc, ref), f"case {ci}: {np.argwhere(acc != ref)[:3]}"
        assert events <= int((x != 0).sum())
        dut._log.info(f"case {ci}: {events} events, {ops} ops, {cycles} cycles")
    # dense mode: same sums, one event per input channel and position
    x = (rng.random((3, 5, 5)) < 0.2).astype(np.int64)
    w = weights(rng, (3, 3, 3, 4))
    acc, events, _, _ = await run_engine(dut, x=x, w=w, k=3, s=1, pad=1, dense=True)
    assert np.array_equal(acc, conv_ref(x, w, 3, 1, 1)) and events == 3 * 25
    dut.ce_dense.value = 0


@cocotb.test()
async def conv_engine_skips_zeros(dut):
    """Cycles follow the events: an all-zero map costs only the scan."""
    await setup(dut)
    rng = np.random.default_rng(SEED + 1)
    w = weights(rng, (8, 3, 3, 4))
    x0 = np.zeros((8, 6, 6), dtype=np.int64)
    acc, events, ops, c0 = await run_engine(dut, x=x0, w=w, k=3, s=1, pad=1)
    assert events == 0 and ops == 0 and not acc.any() and c0 <= 36 + 10
    x1 = (rng.random((8, 6, 6)) < 0.25).astype(np.int64)
    acc, events, ops, c1 = await run_engine(dut, x=x1, w=w, k=3, s=1, pad=1)
    assert np.array_equal(acc, conv_ref(x1, w, 3, 1, 1))
    assert ops <= c1 <= ops + 36 + 12, (ops, c1)


@cocotb.test()
async def fc_accumulator(dut):
    """FC mode: every spike of every position adds its channel's weights to the class scores."""
    await setup(dut)
    rng = np.random.default_rng(SEED + 2)
    x = (rng.random((10, 3, 3)) < 0.4).astype(np.int64)
    w = weights(rng, (10, 1, 1, 7))
    acc, events, ops, _ = await run_engine(dut, x=x, w=w, k=1, s=1, pad=0, fc=True)
    assert np.array_equal(acc, conv_ref(x, w, 1, 1, 0, fc=True)) and events == int(x.sum())
    dut.ce_fc.value = 0


# ----------------------------------------------------------------------------- pytest: build and run
PARAMS = [dict(P=4, WB=8), dict(P=1, WB=8), dict(P=3, WB=8), dict(P=16, WB=8), dict(P=4, WB=4), dict(P=4, WB=16)]


@pytest.mark.parametrize("parameters", PARAMS, ids=lambda p: f"P{p['P']}-WB{p['WB']}")
def test_conv_engine(parameters, tmp_path):
    from cocotb_runner import SIM, run_unit
    run_unit("tb_conv_engine", "test_conv_engine", parameters, tmp_path, extra_sources=[SIM / "tb_conv_engine.v"])
