"""syna_mapdma (rtl/syna_mapdma.v; bench sim/tb_mapdma.v with the AXI masters it drives in the core and a
staging memory): the spike-map DMA of a maps-in-DDR core, against cocotbext-axi's AxiRam.

- M_IN: npos positions of pw 32-bit words at a 4-byte-aligned address (often mid-beat) land in the
  staging at base + i, word w of a position in bits 32w .. 32w+31 (bits >= W dropped);
- M_OUT: the staging's positions written back, pw words each, to another address: the bytes written are
  the positions' words (bits >= W: zero), nothing around them changes (WSTRB);
- M_RAW: npos words handed in order to the word stream, x_last on the last;
- an SLVERR on a read or a write: done with err.
Random jobs, with and without idle / back-pressure on every AXI channel and on the stream's ready; built
with a 64-bit port and 16-beat bursts (the PYNQ-Z2's HP port), a 32-bit and a 128-bit port."""
from __future__ import annotations

import random

import cocotb
import pytest
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge
from cocotbext.axi import AxiBus, AxiRam, AxiResp

from unit_helpers import SEED, params

RAM = 1 << 16


class Bench:
    def __init__(self, dut, pauses: bool):
        self.dut = dut
        p = params()
        self.W, self.SAW = p["W"], p["SAW"]
        self.ram = AxiRam(AxiBus.from_prefix(dut, "m_axi"), dut.clk, dut.rst, size=RAM)
        self.rng = random.Random(SEED)
        self.pauses = pauses
        r = random.Random(SEED + 1)
        if pauses:
            for ch, q in ((self.ram.read_if.r_channel, 0.4), (self.ram.read_if.ar_channel, 0.5),
                          (self.ram.write_if.aw_channel, 0.5), (self.ram.write_if.w_channel, 0.4),
                          (self.ram.write_if.b_channel, 0.4)):
                ch.set_pause_generator(iter(lambda q=q: r.random() < q, None))
        self.words: list[int] = []

    async def start(self):
        d = self.dut
        for n in ("start", "mode", "addr", "npos", "pw", "base", "x_ready", "bd_we", "bd_addr", "bd_wdata"):
            getattr(d, n).value = 0
        Clock(d.clk, 10, unit="ns").start()
        d.rst.value = 1
        await ClockCycles(d.clk, 4)
        d.rst.value = 0
        cocotb.start_soon(self._stream())
        await RisingEdge(d.clk)

    async def _stream(self):
        d = self.dut
        rng = random.Random(SEED + 2)
        while True:
            await FallingEdge(d.clk)
            d.x_ready.value = int(not self.pauses or rng.random() >= 0.5)
            await RisingEdge(d.clk)
            if int(d.x_valid.value) and int(d.x_ready.value):
                self.words.append((int(d.x_data.value), int(d.x_last.value)))

    async def job(self, mode: int, addr: int, npos: int, pw: int, base: int = 0) -> int:
        d = self.dut
        self.words = []
        await FallingEdge(d.clk)
        d.mode.value, d.addr.value, d.npos.value, d.pw.value, d.base.value = mode, addr, npos, pw, base
        d.start.value = 1
        await FallingEdge(d.clk)
        d.start.value = 0
        for _ in range(400_000):
            await RisingEdge(d.clk)
            if int(d.done.value):
                return int(d.err.value)
        raise AssertionError(f"job {mode} at {addr:#x}: no done")

    async def stage_read(self, a: int) -> int:
        d = self.dut
        await FallingEdge(d.clk)
        d.bd_addr.value = a
        await FallingEdge(d.clk)
        await FallingEdge(d.clk)
        return int(d.bd_rdata.value)

    def pos_words(self, addr: int, npos: int, pw: int) -> list[int]:
        raw = self.ram.read(addr, 4 * npos * pw)
        w = [int.from_bytes(raw[4 * i:4 * i + 4], "little") for i in range(npos * pw)]
        mask = (1 << self.W) - 1
        return [sum(w[i * pw + j] << (32 * j) for j in range(pw)) & mask for i in range(npos)]


def _jobs(b: Bench):
    rng = random.Random(SEED + 3)
    pwmax = -(-b.W // 32)
    cap = 1 << b.SAW
    out = [(1, 1, 0), (cap, pwmax, 0), (7, 1, 3), (5, pwmax, cap - 5)]
    for _ in range(6):
        n = rng.randrange(1, cap // 2)
        out.append((n, rng.randrange(1, pwmax + 1), rng.randrange(0, cap - n)))
    return out


async def _roundtrips(dut, pauses: bool):
    b = Bench(dut, pauses)
    await b.start()
    rng = random.Random(SEED + 4)
    b.ram.write(0, bytes(rng.getrandbits(8) for _ in range(RAM)))
    for npos, pw, base in _jobs(b):
        src = rng.randrange(0, RAM // 2 - 4 * npos * pw) // 4 * 4
        dst = rng.randrange(RAM // 2, RAM - 4 * npos * pw) // 4 * 4
        want = b.pos_words(src, npos, pw)
        assert await b.job(0, src, npos, pw, base) == 0
        for i in rng.sample(range(npos), min(npos, 6)):          # the staging holds the positions
            assert await b.stage_read(base + i) == want[i], (npos, pw, base, i)
        before = b.ram.read(0, RAM)
        assert await b.job(1, dst, npos, pw, base) == 0
        after = b.ram.read(0, RAM)
        n = 4 * npos * pw
        assert after[:dst] == before[:dst] and after[dst + n:] == before[dst + n:], "bytes outside the write changed"
        assert b.pos_words(dst, npos, pw) == want, (npos, pw, base, src, dst)
        raw = after[dst:dst + n]                               # bits >= W of a position are written 0
        for i in range(npos):
            pos = int.from_bytes(raw[4 * pw * i:4 * pw * (i + 1)], "little")
            assert pos >> b.W == 0
        nw = rng.randrange(1, 300)                             # M_RAW: words to the stream
        assert await b.job(2, src, nw, 1) == 0
        raw = b.ram.read(src, 4 * nw)
        assert [w for w, _ in b.words] == [int.from_bytes(raw[4 * i:4 * i + 4], "little") for i in range(nw)]
        assert [l for _, l in b.words] == [0] * (nw - 1) + [1]


@cocotb.test()
async def test_roundtrips(dut):
    await _roundtrips(dut, pauses=False)


@cocotb.test()
async def test_roundtrips_with_idle_and_backpressure(dut):
    await _roundtrips(dut, pauses=True)


@cocotb.test()
async def test_error_responses(dut):
    """A read and a write answered SLVERR: done with err; the next job is clean."""
    b = Bench(dut, False)
    await b.start()
    send_r = b.ram.read_if.r_channel.send
    send_b = b.ram.write_if.b_channel.send
    fault = {"r": False, "b": False}

    async def bad_r(r):
        if fault["r"]:
            r.rresp = AxiResp.SLVERR
        await send_r(r)

    async def bad_b(x):
        if fault["b"]:
            x.bresp = AxiResp.SLVERR
        await send_b(x)

    b.ram.read_if.r_channel.send = bad_r
    b.ram.write_if.b_channel.send = bad_b
    fault["r"] = True
    assert await b.job(0, 0x104, 9, 1) == 1
    fault["r"] = False
    assert await b.job(0, 0x104, 9, 1) == 0
    fault["b"] = True
    assert await b.job(1, 0x804, 9, 1) == 1
    fault["b"] = False
    assert await b.job(1, 0x804, 9, 1) == 0


PARAMS = [dict(W=128, DW=64, SAW=6, MAX_BURST=16), dict(W=48, DW=32, SAW=5, MAX_BURST=256),
          dict(W=256, DW=128, SAW=5, MAX_BURST=256)]


@pytest.mark.parametrize("parameters", PARAMS, ids=lambda p: f"W{p['W']}-DW{p['DW']}-B{p['MAX_BURST']}")
def test_mapdma(parameters, tmp_path):
    from cocotb_runner import REPO, run_unit
    run_unit("tb_mapdma", "test_mapdma", parameters, tmp_path, extra_sources=[REPO / "sim" / "tb_mapdma.v"])
