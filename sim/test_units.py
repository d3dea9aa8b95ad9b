"""cocotb unit tests of the rtl/ units (toplevel sim/tb_units.v), each against a Python model.

Run by tests/test_rtl_cocotb.py through cocotb's Python runner; SYNA_SEED sets the
random seed. Python models: syna_contract.numerics (LIF, merge), numpy
correlations (conv engine), syna_contract.protocol (stream packing).
"""
from __future__ import annotations

import os
import random

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly, RisingEdge, Timer
from cocotbext.axi import AxiLiteBus, AxiLiteMaster

from syna_contract import protocol as proto
from syna_contract import numerics as nx

SEED = int(os.environ.get("SYNA_SEED", "1"))


def pack(vals, bits):
    out = 0
    for i, v in enumerate(vals):
        out |= (int(v) & ((1 << bits) - 1)) << (i * bits)
    return out


def unpack(word, bits, n, signed=True):
    vals = [(int(word) >> (i * bits)) & ((1 << bits) - 1) for i in range(n)]
    if signed:
        vals = [v - (1 << bits) if v >> (bits - 1) else v for v in vals]
    return vals


async def setup(dut):
    for name in ("ce_start", "ce_map_we", "ce_w_we", "ce_acc_we", "rx_start", "rx_tvalid", "tx_start",
                 "axil_awvalid", "axil_wvalid", "axil_arvalid", "rg_accept", "rg_core_done", "ct_clr",
                 "po_first", "po_valid", "ce_dense", "ce_enc", "ce_fc", "glif_gmode", "glif_gate", "glif_gq"):
        getattr(dut, name).value = 0
    dut.axil_bready.value = 1
    dut.axil_rready.value = 1
    dut.tx_tready.value = 1
    dut.ct_inc.value = 0
    Clock(dut.clk, 10, unit="ns").start()
    dut.rst.value = 1
    await ClockCycles(dut.clk, 3)
    dut.rst.value = 0
    await RisingEdge(dut.clk)


# ----------------------------------------------------------------------------- LIF
def drive_lif(dut, rng, it: int, big_every: int, mb: int):
    """Random inputs for the shared syna_lif ports (every ``big_every``-th current far out of range),
    driven onto the DUT; returns (saturated current, membrane in, lane enable mask, saturation mask,
    thresholds) as numerics computes them."""
    lo, hi = nx.signed_range(mb)
    acc = rng.integers(-6000, 6000, 4)
    if it % big_every == 0:
        acc = rng.integers(-2 ** 30, 2 ** 30, 4)
    bias = rng.integers(-3000, 3000, 4)
    thr = rng.integers(1, hi + 1, 4)
    v = rng.integers(lo, hi + 1, 4)
    first = int(rng.integers(0, 2))
    en = int(rng.integers(0, 16))
    dut.lif_acc.value = pack(acc, 32)
    dut.lif_bias.value = pack(bias, 32)
    dut.lif_thr.value = pack(thr, mb)
    dut.lif_v.value = pack(v, mb)
    dut.lif_first.value = first
    dut.lif_lane_en.value = en
    cur, _ = nx.saturate(acc + bias, mb)
    vin = np.zeros(4, dtype=np.int64) if first else v
    enm = np.array([(en >> i) & 1 for i in range(4)], dtype=bool)
    sat = ((acc + bias < lo) | (acc + bias > hi)) & enm
    return cur, vin, enm, sat, thr


@cocotb.test()
async def lif_matches_numerics(dut):
    """syna_lif: saturation, floor shift, fire, hard reset, first step, lane enable (MB = 12)."""
    await setup(dut)
    rng = np.random.default_rng(SEED)
    mb = 12
    for it in range(400):
        cur, vin, enm, sat, thr = drive_lif(dut, rng, it, 5, mb)
        await Timer(1, unit="ns")
        vref, sref = nx.lif_step(vin, cur, thr)
        sref = sref & enm
        got_v = unpack(dut.lif_v_next.value, mb, 4)
        got_s = [(int(dut.lif_spike.value) >> i) & 1 for i in range(4)]
        got_sat = [(int(dut.lif_sat.value) >> i) & 1 for i in range(4)]
        assert got_s == [int(x) for x in sref], (it, cur, thr, vin)
        assert got_sat == [int(x) for x in sat], it
        for i in range(4):
            if enm[i]:
                assert got_v[i] == vref[i], (it, i, got_v, vref)


@cocotb.test()
async def gated_lif_matches_numerics(dut):
    """syna_lif ATT = 1: MA gate max(0, (i * g) >> 8) and IA gate q * max(0, i) before the LIF (MB = 12),
    as syna_contract.reference applies them (numerics.md section 6); gmode 0 is the plain LIF."""
    await setup(dut)
    rng = np.random.default_rng(SEED + 7)
    mb = 12
    table = nx.sigmoid_table()
    for it in range(400):
        cur, vin, enm, sat, thr = drive_lif(dut, rng, it, 7, mb)
        mode = it % 3
        g = table[rng.integers(0, 256, 4)]
        g[rng.random(4) < 0.1] = 256
        q = rng.integers(0, 2, 4)
        dut.glif_gmode.value = mode
        dut.glif_gate.value = pack(g, 9)
        dut.glif_gq.value = pack(q, 1)
        await Timer(1, unit="ns")
        gated = cur if mode == 0 else (np.maximum((cur * g) >> nx.GATE_FRAC_BITS, 0) if mode == 1
                                       else np.maximum(cur, 0) * q)
        vref, sref = nx.lif_step(vin, gated, thr)
        assert unpack(dut.glif_cur.value, mb, 4) == [int(c) for c in cur], it
        assert [(int(dut.glif_spike.value) >> i) & 1 for i in range(4)] == [int(x) for x in sref & enm], (it, mode)
        assert [(int(dut.glif_sat.value) >> i) & 1 for i in range(4)] == [int(x) for x in sat], it
        got_v = unpack(dut.glif_v_next.value, mb, 4)
        for i in range(4):
            if enm[i]:
                assert got_v[i] == vref[i], (it, mode, i, got_v, vref)


@cocotb.test()
async def lif_worked_example(dut):
    """docs/numerics.md section 8: theta 100, currents 120, 90, -30, 250, -5 -> spikes 0 0 0 1 0."""
    await setup(dut)
    v, spikes = 0, []
    for t, i in enumerate((120, 90, -30, 250, -5)):
        dut.lif_acc.value = pack([i, 0, 0, 0], 32)
        dut.lif_bias.value = 0
        dut.lif_thr.value = pack([100] * 4, 12)
        dut.lif_v.value = pack([v, 0, 0, 0], 12)
        dut.lif_first.value = int(t == 0)
        dut.lif_lane_en.value = 1
        await Timer(1, unit="ns")
        v = unpack(dut.lif_v_next.value, 12, 4)[0]
        spikes.append(int(dut.lif_spike.value) & 1)
    assert spikes == [0, 0, 0, 1, 0] and v == -3


# ----------------------------------------------------------------------------- merge, pool, counters
@cocotb.test()
async def merge_or_and_iand(dut):
    await setup(dut)
    rng = random.Random(SEED)
    for op, name in enumerate(nx.MERGE_OPS):
        for _ in range(100):
            m, r = rng.getrandbits(16), rng.getrandbits(16)
            dut.mg_op.value, dut.mg_m.value, dut.mg_r.value = op, m, r
            await Timer(1, unit="ns")
            bm = np.array([(m >> i) & 1 for i in range(16)])
            br = np.array([(r >> i) & 1 for i in range(16)])
            ref = sum(int(b) << i for i, b in enumerate(nx.merge(bm, br, name)))
            assert int(dut.mg_y.value) == ref, (name, m, r)
    dut.mg_op.value, dut.mg_m.value, dut.mg_r.value = 1, 0b0110, 0b0011          # numerics.md example
    await Timer(1, unit="ns")
    assert int(dut.mg_y.value) == 0b0010


@cocotb.test()
async def pool_or_windows(dut):
    """syna_pool_or: OR over a window; words outside the map (valid = 0) count as no spike."""
    await setup(dut)
    rng = random.Random(SEED)
    for _ in range(50):
        n = rng.randint(1, 9)
        words = [rng.getrandbits(16) if rng.random() < 0.4 else 0 for _ in range(n)]
        valid = [rng.random() < 0.8 for _ in range(n)]
        ref = 0
        for i, (w, v) in enumerate(zip(words, valid)):
            await FallingEdge(dut.clk)
            dut.po_first.value = int(i == 0)
            dut.po_valid.value = int(v)
            dut.po_d.value = w
            ref |= w if v else 0
            await Timer(1, unit="ns")
            if i == n - 1:
                assert int(dut.po_y.value) == ref
    dut.po_valid.value = 0


@cocotb.test()
async def counter_saturates_and_popcount(dut):
    await setup(dut)
    rng = random.Random(SEED)
    ref = 0
    for _ in range(200):
        inc = rng.randint(0, 15)
        await FallingEdge(dut.clk)
        dut.ct_inc.value = inc
        await RisingEdge(dut.clk)
        ref = min(ref + inc, 255)
        await ReadOnly()
        assert int(dut.ct_q.value) == ref
    await FallingEdge(dut.clk)
    dut.ct_clr.value = 1
    await RisingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.ct_clr.value = 0
    dut.ct_inc.value = 0
    assert int(dut.ct_q.value) == 0
    for _ in range(100):
        d = rng.getrandbits(37)
        dut.pc_d.value = d
        await Timer(1, unit="ns")
        assert int(dut.pc_n.value) == bin(d).count("1")


# ----------------------------------------------------------------------------- conv engine
async def load_mem(dut, we, addr, data, words: dict[int, int]):
    for a, v in words.items():
        await FallingEdge(dut.clk)
        we.value, addr.value, data.value = 1, a, v
    await FallingEdge(dut.clk)
    we.value = 0


async def run_engine(dut, *, x, w, k, s, pad, enc=False, fc=False, dense=False, wbase=7, scan_base=3):
    """Load input map x [C, H, W] and weights w [Cin, K, K, Cout]; run; return acc [Cout, Ho, Wo]."""
    P, WB, IB = 4, 6, 5
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
    params = dict(ce_enc=int(enc), ce_fc=int(fc), ce_dense=int(dense), ce_scan_base=scan_base,
                  ce_scan_len=h * wd, ce_cin=cin, ce_w=wd, ce_ho=ho, ce_wo=wo, ce_k=k,
                  ce_slog2=s.bit_length() - 1, ce_pad=pad, ce_g=g, ce_wbase=wbase, ce_kkg=k * k * g, ce_kg=k * g,
                  ce_sg=s * g, ce_skg=s * k * g, ce_wog=wo * g)
    for name, v in params.items():
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
        assert cycles < 100000, "engine did not finish"
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
        x = (rng.integers(0, 32, (cin, h, wd)) * (rng.random((cin, h, wd)) < 0.6) if enc
             else (rng.random((cin, h, wd)) < 0.3).astype(np.int64))
        w = rng.integers(-31, 32, (cin, k, k, cout))
        acc, events, ops, cycles = await run_engine(dut, x=x, w=w, k=k, s=s, pad=pad, enc=enc)
        ref = conv_ref(x, w, k, s, pad)
        assert np.array_equal(acc, ref), f"case {ci}: {np.argwhere(acc != ref)[:3]}"
        assert events <= int((x != 0).sum())
        dut._log.info(f"case {ci}: {events} events, {ops} ops, {cycles} cycles")
    # dense mode: same sums, one event per input channel and position
    x = (rng.random((3, 5, 5)) < 0.2).astype(np.int64)
    w = rng.integers(-31, 32, (3, 3, 3, 4))
    acc, events, _, _ = await run_engine(dut, x=x, w=w, k=3, s=1, pad=1, dense=True)
    assert np.array_equal(acc, conv_ref(x, w, 3, 1, 1)) and events == 3 * 25
    dut.ce_dense.value = 0


@cocotb.test()
async def conv_engine_skips_zeros(dut):
    """Cycles follow the events: an all-zero map costs only the scan."""
    await setup(dut)
    rng = np.random.default_rng(SEED + 1)
    w = rng.integers(-31, 32, (8, 3, 3, 4))
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
    w = rng.integers(-31, 32, (10, 1, 1, 7))
    acc, events, ops, _ = await run_engine(dut, x=x, w=w, k=1, s=1, pad=0, fc=True)
    assert np.array_equal(acc, conv_ref(x, w, 1, 1, 0, fc=True)) and events == int(x.sum())
    dut.ce_fc.value = 0


# ----------------------------------------------------------------------------- stream receiver / sender
async def rx_run(dut, words, tlast_at, store=1, gaps=0.0, rng=None):
    """Send words (TLAST on index tlast_at, None for none); collect bank writes and the flags."""
    writes = {}
    await FallingEdge(dut.clk)
    dut.rx_store.value = store
    dut.rx_start.value = 1
    await FallingEdge(dut.clk)
    dut.rx_start.value = 0
    i, cycles = 0, 0
    while True:
        if i < len(words) and not (rng and rng.random() < gaps):
            dut.rx_tvalid.value = 1
            dut.rx_tdata.value = int(words[i])
            dut.rx_tlast.value = int(i == tlast_at)
        else:
            dut.rx_tvalid.value = 0
            dut.rx_tlast.value = 0
        await ReadOnly()                                   # sample the handshake before the edge
        hs = int(dut.rx_tvalid.value) and int(dut.rx_tready.value)
        if int(dut.rx_we.value):
            writes[(int(dut.rx_chan.value), int(dut.rx_addr.value))] = int(dut.rx_val.value)
        await RisingEdge(dut.clk)
        await ReadOnly()
        cycles += 1
        i += hs
        if int(dut.rx_done.value):
            break
        assert cycles < 5000
        await FallingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.rx_tvalid.value = 0
    rx_run.err_range = int(dut.rx_err_range.value)
    return writes, int(dut.rx_err_short.value), int(dut.rx_err_long.value), i


@cocotb.test()
async def stream_rx_frames_and_faults(dut):
    await setup(dut)
    rng = random.Random(SEED)
    T, C, H, W, bits = 2, 2, 3, 5, 3
    x = np.array([[[[rng.randint(0, 7) for _ in range(W)] for _ in range(H)] for _ in range(C)] for _ in range(T)])
    words = proto.pack_frames(x, bits)
    assert len(words) == 8
    writes, short, long_, n = await rx_run(dut, words, len(words) - 1, gaps=0.3, rng=rng)
    assert (short, long_, n) == (0, 0, len(words))
    got = np.zeros_like(x)
    for (c, a), v in writes.items():
        t, pos = divmod(a, H * W)
        got[t, c, pos // W, pos % W] = v
    assert np.array_equal(got, x) and len(writes) == x.size
    # early TLAST: short, stops there
    writes, short, long_, n = await rx_run(dut, words[:3], 2)
    assert (short, long_, n) == (1, 0, 3)
    # no TLAST on the last word: long; drained up to the TLAST that follows
    writes, short, long_, n = await rx_run(dut, list(words) + [1, 2, 3], len(words) + 2)
    assert (short, long_, n) == (0, 1, len(words) + 3)
    # no TLAST at all: long, drained until idle (idle_limit = 50 cycles)
    writes, short, long_, n = await rx_run(dut, words, None)
    assert (short, long_, n) == (0, 1, len(words))
    # abandoned mid-frame (3 words, no TLAST) or before the first word: short after 50 idle cycles
    for k in (3, 0):
        writes, short, long_, n = await rx_run(dut, words[:k], None)
        assert (short, long_, n, rx_run.err_range) == (1, 0, k, 0)
    # store = 0 (steps mismatch): framing only
    writes, short, long_, n = await rx_run(dut, words, len(words) - 1, store=0)
    assert (short, long_, n, len(writes), rx_run.err_range) == (0, 0, len(words), 0, 0)
    # a lane above 3 bits (lane 4 bits), or a nonzero unused lane at a frame's end (15 values: 4 words,
    # the last word's top lane unused): input range, the packet is still received to its end
    for k, bad in ((1, 0x8 << 4), (3, 0x1 << 28)):
        w = np.array(words, dtype=np.uint32)
        w[k] |= bad
        for store in (1, 0):
            writes, short, long_, n = await rx_run(dut, w, len(w) - 1, store=store)
            assert (short, long_, n, rx_run.err_range) == (0, 0, len(w), 1), (k, store)


@cocotb.test()
async def stream_tx_packet_with_backpressure(dut):
    await setup(dut)
    rng = random.Random(SEED)
    await FallingEdge(dut.clk)
    dut.tx_start.value = 1
    await FallingEdge(dut.clk)
    dut.tx_start.value = 0
    got, lasts = [], []
    for _ in range(200):
        dut.tx_tready.value = int(rng.random() < 0.5)
        await ReadOnly()                                   # sample the handshake before the edge
        if int(dut.tx_tvalid.value) and int(dut.tx_tready.value):
            got.append(int(dut.tx_tdata.value))
            lasts.append(int(dut.tx_tlast.value))
        await RisingEdge(dut.clk)
        await ReadOnly()
        if int(dut.tx_done.value):
            break
        await FallingEdge(dut.clk)
    assert got == [0x1000 + i for i in range(5)] and lasts == [0, 0, 0, 0, 1]
    await FallingEdge(dut.clk)
    dut.tx_tready.value = 1


# ----------------------------------------------------------------------------- AXI4-Lite registers
@cocotb.test()
async def axil_register_map(dut):
    """syna_contract/protocol.py's map: ap_ctrl_hs start/done/idle/ready, GIE/IER/ISR interrupt, RO registers."""
    await setup(dut)
    axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "axil"), dut.clk, dut.rst)
    dut.rg_core_idle.value = 1
    dut.rg_status.value, dut.rg_cycles.value, dut.rg_sats.value, dut.rg_hash.value = 0x9, 1234, 7, 0xDEADBEEF

    async def rd(off):
        return int.from_bytes((await axil.read(off, 4)).data, "little")

    async def wr(off, v):
        await axil.write(off, int(v).to_bytes(4, "little"))

    assert await rd(proto.REG_VERSION) == proto.INTERFACE_VERSION
    assert await rd(proto.REG_MODEL_HASH) == 0xDEADBEEF
    assert (await rd(proto.REG_STATUS), await rd(proto.REG_CYCLES), await rd(proto.REG_SATURATIONS)) == (9, 1234, 7)
    assert await rd(proto.REG_CTRL) == proto.CTRL_IDLE | proto.CTRL_READY
    await wr(proto.REG_STEPS, 16)
    assert await rd(proto.REG_STEPS) == 16 and int(dut.rg_steps.value) == 16
    assert await rd(proto.REG_IDLE_TIMEOUT) == 0                                   # reset value: the default
    await wr(proto.REG_IDLE_TIMEOUT, 12345)
    assert await rd(proto.REG_IDLE_TIMEOUT) == 12345 and int(dut.rg_idle.value) == 12345
    await wr(proto.REG_GIE, 1)
    await wr(proto.REG_IER, 1)
    await wr(proto.REG_CTRL, proto.CTRL_START)
    assert int(dut.rg_ap_start.value) == 1
    assert await rd(proto.REG_CTRL) & proto.CTRL_START
    # the core accepts: ap_start clears, not idle
    await FallingEdge(dut.clk)
    dut.rg_accept.value = 1
    dut.rg_core_idle.value = 0
    await FallingEdge(dut.clk)
    dut.rg_accept.value = 0
    assert await rd(proto.REG_CTRL) == 0
    # done: ap_done set (clear on read), interrupt while GIE & ISR
    await FallingEdge(dut.clk)
    dut.rg_core_done.value = 1
    dut.rg_core_idle.value = 1
    await FallingEdge(dut.clk)
    dut.rg_core_done.value = 0
    await FallingEdge(dut.clk)
    assert (await rd(proto.REG_GIE), await rd(proto.REG_IER), await rd(proto.REG_ISR)) == (1, 1, 1)
    assert int(dut.rg_interrupt.value) == 1
    assert await rd(proto.REG_CTRL) == proto.CTRL_DONE | proto.CTRL_IDLE | proto.CTRL_READY
    assert await rd(proto.REG_CTRL) == proto.CTRL_IDLE | proto.CTRL_READY          # ap_done cleared by the read
    assert await rd(proto.REG_ISR) == 1
    await wr(proto.REG_ISR, 1)                                                      # toggle on write 1
    assert await rd(proto.REG_ISR) == 0 and int(dut.rg_interrupt.value) == 0
