"""syna_stream_rx (rtl/syna_stream_rx.v, the unit as toplevel): T frames of C x H x W values unpacked
into the input banks (syna_contract.protocol.pack_frames is the model), and the checks: early TLAST
(short), no TLAST on the last word then drained up to TLAST (long), no TLAST at all (long, drained until
idle_limit = 50 idle cycles), a sender that stops mid-frame or before its first word (short after 50
idle cycles), store = 0 (a STEPS mismatch: framing and ranges only), a lane with bits above the input
bits or a nonzero unused lane at a frame's end (input range; the packet is still received to its end). The sender is
driven by hand (a frame without TLAST is one of the cases), without and with idle cycles (verilog-axis'
cycle_pause, and random). Built at input bits 3 (4-bit lanes, 2 channels, 3x5, T = 2), 5 (8-bit
lanes, 1 channel, 4x4, T = 3) and 8 (8-bit lanes, 3 channels, 2x3, T = 2: a frame ending mid-word).
hold (maps-in-DDR cores) at random: nothing lost or repeated, wtake marks each word taken."""
from __future__ import annotations

import random

import cocotb
import numpy as np
import pytest
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

from syna_contract import protocol as proto
from unit_helpers import SEED, params, pause_generator, start_clock


async def rx_run(dut, words, tlast_at, store=1, idle=None):
    """Send words (TLAST on index tlast_at, None for none), pausing where the ``idle`` generator says;
    collect bank writes and the flags: (writes, err_short, err_long, words taken, err_range)."""
    writes = {}
    await FallingEdge(dut.clk)
    dut.store.value = store
    dut.start.value = 1
    await FallingEdge(dut.clk)
    dut.start.value = 0
    i, cycles = 0, 0
    while True:
        if i < len(words) and not (idle is not None and next(idle)):
            dut.s_axis_tvalid.value = 1
            dut.s_axis_tdata.value = int(words[i])
            dut.s_axis_tlast.value = int(i == tlast_at)
        else:
            dut.s_axis_tvalid.value = 0
            dut.s_axis_tlast.value = 0
        await ReadOnly()                                   # sample the handshake before the edge
        hs = int(dut.s_axis_tvalid.value) and int(dut.s_axis_tready.value)
        if int(dut.in_we.value):
            writes[(int(dut.in_chan.value), int(dut.in_addr.value))] = int(dut.in_val.value)
        await RisingEdge(dut.clk)
        await ReadOnly()
        cycles += 1
        i += hs
        if int(dut.done.value):
            break
        assert cycles < 5000, "the receiver never finished"
        await FallingEdge(dut.clk)
    await FallingEdge(dut.clk)
    dut.s_axis_tvalid.value = 0
    return writes, int(dut.err_short.value), int(dut.err_long.value), i, int(dut.err_range.value)


@cocotb.test()
@cocotb.parametrize(idle=[None, "cycle", "random"])
async def stream_rx_frames_and_faults(dut, idle):
    prm = params()
    T, C, H, W, bits = prm["T"], prm["CIN"], prm["H"], prm["W"], prm["IB"]
    for name in ("start", "store", "s_axis_tvalid", "s_axis_tlast"):
        getattr(dut, name).value = 0
    dut.idle_limit.value = 50
    await start_clock(dut.clk, dut.rst)
    rng = random.Random(SEED)
    gen = lambda: pause_generator(idle, rng)              # noqa: E731
    for _ in range(2):                                      # two good inferences back to back
        x = np.array([[[[rng.randint(0, (1 << bits) - 1) for _ in range(W)] for _ in range(H)] for _ in range(C)]
                      for _ in range(T)])
        words = proto.pack_frames(x, bits)
        assert len(words) == T * proto.words_per_frame(C, H, W, bits) == T * prm["WPF"]
        writes, short, long_, n, rng_err = await rx_run(dut, words, len(words) - 1, idle=gen())
        assert (short, long_, n, rng_err) == (0, 0, len(words), 0)
        got = np.zeros_like(x)
        for (c, a), v in writes.items():
            t, pos = divmod(a, H * W)
            got[t, c, pos // W, pos % W] = v
        assert np.array_equal(got, x) and len(writes) == x.size
    # early TLAST: short, stops there
    writes, short, long_, n, _ = await rx_run(dut, words[:3], 2, idle=gen())
    assert (short, long_, n) == (1, 0, 3)
    # no TLAST on the last word: long; drained up to the TLAST that follows
    writes, short, long_, n, _ = await rx_run(dut, list(words) + [1, 2, 3], len(words) + 2, idle=gen())
    assert (short, long_, n) == (0, 1, len(words) + 3)
    # no TLAST at all: long, drained until idle (idle_limit cycles)
    writes, short, long_, n, _ = await rx_run(dut, words, None, idle=gen())
    assert (short, long_, n) == (0, 1, len(words))
    # abandoned mid-frame (3 words, no TLAST) or before the first word: short after idle_limit idle cycles
    for k in (3, 0):
        writes, short, long_, n, rng_err = await rx_run(dut, words[:k], None, idle=gen())
        assert (short, long_, n, rng_err) == (1, 0, k, 0), k
    # store = 0 (steps mismatch): framing only
    writes, short, long_, n, rng_err = await rx_run(dut, words, len(words) - 1, store=0, idle=gen())
    assert (short, long_, n, len(writes), rng_err) == (0, 0, len(words), 0, 0)
    # a lane with a bit above the input bits, or a nonzero unused lane at a frame's end: input range,
    # the packet is still received to its end (with and without storing)
    for k, bad in range_faults(prm):
        w = np.array(words, dtype=np.uint32)
        w[k] |= np.uint32(bad)
        for store in (1, 0):
            writes, short, long_, n, rng_err = await rx_run(dut, w, len(w) - 1, store=store, idle=gen())
            assert (short, long_, n, rng_err) == (0, 0, len(w), 1), (k, hex(bad), store)


@cocotb.test()
async def stream_rx_hold(dut):
    """hold (a maps-in-DDR core's scratch writer not ready) stops the taking of words, never loses or repeats
    one: with hold high at random, every value lands as without it, and wtake pulses once per word taken
    (s_axis_tdata then is that word), in order; hold never set idle cycles while held."""
    prm = params()
    T, C, H, W, bits = prm["T"], prm["CIN"], prm["H"], prm["W"], prm["IB"]
    for name in ("start", "store", "s_axis_tvalid", "s_axis_tlast", "hold"):
        getattr(dut, name).value = 0
    dut.idle_limit.value = 20
    await start_clock(dut.clk, dut.rst)
    rng = random.Random(SEED + 7)
    x = np.array([[[[rng.randint(0, (1 << bits) - 1) for _ in range(W)] for _ in range(H)] for _ in range(C)]
                  for _ in range(T)])
    words = [int(w) for w in proto.pack_frames(x, bits)]
    taken = []

    async def hold_and_watch():
        while True:
            await FallingEdge(dut.clk)
            dut.hold.value = int(rng.random() < 0.6)
            await ReadOnly()
            if int(dut.wtake.value):
                assert int(dut.s_axis_tvalid.value) and int(dut.s_axis_tready.value)
                taken.append(int(dut.s_axis_tdata.value))

    watcher = cocotb.start_soon(hold_and_watch())
    writes, short, long_, n, rng_err = await rx_run(dut, words, len(words) - 1)
    watcher.cancel()
    dut.hold.value = 0
    assert (short, long_, n, rng_err) == (0, 0, len(words), 0)
    assert taken == words
    got = np.zeros_like(x)
    for (c, a), v in writes.items():
        t, pos = divmod(a, H * W)
        got[t, c, pos // W, pos % W] = v
    assert np.array_equal(got, x)


def range_faults(prm: dict) -> list[tuple[int, int]]:
    """(word index, bits to set) that make a lane out of range for the receiver's shape: bit IB of lane 1
    of word 1 (where IB < LANE), and the top lane of the first frame's last word (where it is unused)."""
    lane, ib = prm["LANE"], prm["IB"]
    per_word = 32 // lane
    unused = prm["WPF"] * per_word - prm["CIN"] * prm["H"] * prm["W"]
    faults = [(1, (1 << ib) << lane)] if ib < lane else []
    if unused > 0:
        faults.append((prm["WPF"] - 1, 1 << (lane * (per_word - 1))))
    return faults


def rx_parameters(IB: int, CIN: int, H: int, W: int, T: int) -> dict:
    """The receiver's parameters for an input shape, derived as syna_hw.rtl_core.generate does."""
    return dict(LANE=proto.lane_bits(IB), IB=IB, CIN=CIN, H=H, W=W, T=T, WPF=proto.words_per_frame(CIN, H, W, IB),
                IAW=max(1, (T * H * W - 1).bit_length()), CW=max(1, (CIN - 1).bit_length()))


PARAMS = [rx_parameters(3, 2, 3, 5, 2), rx_parameters(5, 1, 4, 4, 3), rx_parameters(8, 3, 2, 3, 2)]
assert all(range_faults(p) for p in PARAMS)


def shape_id(p: dict) -> str:
    return f"IB{p['IB']}-C{p['CIN']}-{p['H']}x{p['W']}-T{p['T']}"


@pytest.mark.parametrize("parameters", PARAMS, ids=shape_id)
def test_stream_rx(parameters, tmp_path):
    from cocotb_runner import run_unit
    run_unit("syna_stream_rx", "test_stream_rx", parameters, tmp_path, build_tag=shape_id(parameters))
