"""syna_stream_tx (rtl/syna_stream_tx.v; bench sim/tb_stream_tx.v): the output packet, word i =
0x1000 + i, TLAST on the last word only, `done` once after the last handshake, packets back to back,
received by cocotbext-axi's AxiStreamSink without and with back-pressure (verilog-axis' cycle_pause,
and random). Built at N = 5 and N = 1 words."""
from __future__ import annotations

import random

import cocotb
import numpy as np
import pytest
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge, with_timeout
from cocotbext.axi import AxiStreamBus, AxiStreamSink

from unit_helpers import SEED, params, pause_generator, start_clock


async def count_done(dut, box):
    while True:
        await RisingEdge(dut.clk)
        await ReadOnly()
        if int(dut.done.value):
            box.append(len(box))


@cocotb.test()
@cocotb.parametrize(backpressure=[None, "cycle", "random"])
async def stream_tx_packets(dut, backpressure):
    N = params()["N"]
    dut.start.value = 0
    await start_clock(dut.clk, dut.rst)
    sink = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst)
    gen = pause_generator(backpressure, random.Random(SEED))
    if gen is not None:
        sink.set_pause_generator(gen)
    dones: list[int] = []
    cocotb.start_soon(count_done(dut, dones))
    for k in range(3):                                      # back to back
        await FallingEdge(dut.clk)
        dut.start.value = 1
        await FallingEdge(dut.clk)
        dut.start.value = 0
        frame = await with_timeout(sink.recv(), 20 * N + 100, "ns")
        words = np.frombuffer(bytes(frame.tdata), dtype="<u4").tolist()
        assert words == [0x1000 + i for i in range(N)], (k, words)
        for _ in range(3):
            await RisingEdge(dut.clk)
        assert len(dones) == k + 1, f"packet {k}: done pulsed {len(dones)} times in all"
        assert sink.empty()


@pytest.mark.parametrize("parameters", [dict(N=5, IW=3), dict(N=1, IW=1)], ids=lambda p: f"N{p['N']}")
def test_stream_tx(parameters, tmp_path):
    from cocotb_runner import SIM, run_unit
    run_unit("tb_stream_tx", "test_stream_tx", parameters, tmp_path, extra_sources=[SIM / "tb_stream_tx.v"])
