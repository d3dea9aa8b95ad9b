"""cocotb tests of rtl/syna_axi_wr.v (the AXI4 write master for spike maps in DDR) against cocotbext-axi's
AxiRamWrite, the AXI slave model that also checks WLAST and that no INCR burst crosses 4 KiB.

Run by tests/test_rtl_axi_wr.py through cocotb's Python runner, once per parameter set (data width,
burst length); the environment gives MAX_BURST, MAX_OUTSTANDING and SYNA_SEED. Every write is checked
byte by byte in the RAM (the bytes around it untouched), and its bursts against
syna_contract.ddr_image.axi_bursts from the address rounded down to the beat. Idle and back-pressure:
random pauses on the slave's AW, W and B channels and on the producer's valid.
"""
from __future__ import annotations

import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge
from cocotb.utils import get_sim_time
from cocotbext.axi import AxiRamWrite, AxiResp, AxiWriteBus

from syna_contract.ddr_image import axi_bursts

SEED = int(os.environ.get("SYNA_SEED", "1"))
MAX_BURST = int(os.environ["AXI_MAX_BURST"])
MAX_OUTSTANDING = int(os.environ["AXI_MAX_OUTSTANDING"])
RAM_SIZE = 1 << 16


class FaultyRam(AxiRamWrite):
    """AxiRamWrite that answers a burst touching chosen address windows with SLVERR or DECERR
    (``faults``: (lo, hi, resp)); the bytes are written all the same."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.faults: list[tuple[int, int, AxiResp]] = []
        self._resp = None
        send = self.b_channel.send

        async def send_with_fault(b):
            if self._resp is not None:
                b.bresp = self._resp
            self._resp = None
            await send(b)

        self.b_channel.send = send_with_fault

    async def _write(self, address, data):
        hit = next((resp for lo, hi, resp in self.faults if address < hi and lo < address + len(data)), None)
        if hit is not None:
            self._resp = hit
        return await super()._write(address, data)


class Bench:
    def __init__(self, dut, pauses: bool):
        self.dut = dut
        self.bytes = len(dut.m_axi_wdata) // 8
        self.rng = random.Random(SEED)
        self.ram = FaultyRam(AxiWriteBus.from_prefix(dut, "m_axi"), dut.clk, dut.rst, size=RAM_SIZE)
        self.set_pauses(pauses)
        self.aws: list[tuple[int, int]] = []
        self.outstanding = self.max_outstanding = 0
        self.w_before_aw = 0                                    # W beats of a burst whose AW was not yet seen
        self.done = []
        self.beats: list[int] = []                               # the producer's beats, in order
        self.sent = 0

    def set_pauses(self, on: bool) -> None:
        """AW ready low half the time, W ready low 40 %, B valid held back 40 %, producer valid low half the
        time; or none."""
        self.pauses = on
        r = random.Random(SEED + 1)
        for channel, p in ((self.ram.aw_channel, 0.5), (self.ram.w_channel, 0.4), (self.ram.b_channel, 0.4)):
            channel.set_pause_generator(iter(lambda p=p: r.random() < p, None) if on else None)

    async def start(self):
        d = self.dut
        d.cmd_valid.value = 0
        d.in_valid.value = 0
        d.in_data.value = 0
        Clock(d.clk, 10, unit="ns").start()
        d.rst.value = 1
        await ClockCycles(d.clk, 4)
        d.rst.value = 0
        cocotb.start_soon(self._monitor())
        await RisingEdge(d.clk)

    async def _monitor(self):
        d = self.dut
        rng = random.Random(SEED + 2)
        aw_seen = w_beats = 0
        while True:
            await RisingEdge(d.clk)
            if int(d.m_axi_awvalid.value) and int(d.m_axi_awready.value):
                assert int(d.m_axi_awsize.value) == self.bytes.bit_length() - 1 and int(d.m_axi_awburst.value) == 1
                n = int(d.m_axi_awlen.value) + 1
                self.aws.append((int(d.m_axi_awaddr.value), n))
                self.outstanding += 1
                aw_seen += n
            if int(d.m_axi_wvalid.value) and int(d.m_axi_wready.value):
                w_beats += 1
                if w_beats > aw_seen + (int(d.m_axi_awlen.value) + 1 if int(d.m_axi_awvalid.value) else 0):
                    self.w_before_aw += 1
                assert int(d.in_valid.value) and int(d.in_ready.value)
                self.sent += 1
            if int(d.m_axi_bvalid.value) and int(d.m_axi_bready.value):
                self.outstanding -= 1
            if int(d.done.value):
                self.done.append((int(d.err_resp.value), int(d.err_cmd.value)))
            self.max_outstanding = max(self.max_outstanding, self.outstanding)
            # the producer: the next beat, valid at random when pausing
            d.in_data.value = self.beats[self.sent] if self.sent < len(self.beats) else 0
            d.in_valid.value = int(self.sent < len(self.beats) and (not self.pauses or rng.random() >= 0.5))

    async def command(self, addr: int, length: int, timeout: int = 200_000) -> tuple[int, int]:
        """Write ``length`` random bytes at ``addr`` and wait for done; returns (err_resp, err_cmd). The RAM
        expected afterwards is in self.want."""
        d = self.dut
        b = self.bytes
        self.aws.clear()
        self.done.clear()
        payload = bytes(self.rng.getrandbits(8) for _ in range(length))
        off = addr % b
        nbeats = -(-(off + length) // b) if length else 0
        buf = bytes(self.rng.getrandbits(8) for _ in range(off)) + payload
        buf += bytes(self.rng.getrandbits(8) for _ in range(nbeats * b - len(buf)))   # garbage in masked lanes
        self.beats = [int.from_bytes(buf[i * b:(i + 1) * b], "little") for i in range(nbeats)]
        self.sent = 0
        self.payload = payload
        assert int(d.cmd_ready.value) == 1 and int(d.busy.value) == 0
        d.cmd_addr.value = addr
        d.cmd_len.value = length
        d.cmd_valid.value = 1
        await RisingEdge(d.clk)
        d.cmd_valid.value = 0
        for _ in range(timeout):
            await RisingEdge(d.clk)
            if self.done:
                break
        else:
            raise AssertionError(f"write of {length} bytes at {addr:#x}: no done after {timeout} cycles")
        assert len(self.done) == 1
        await RisingEdge(d.clk)
        assert int(d.busy.value) == 0 and int(d.cmd_ready.value) == 1 and self.outstanding == 0
        return self.done[0]


def _commands(b: int, rng: random.Random) -> list[tuple[int, int]]:
    cmds = [(0, b * MAX_BURST * 3 + 5),                    # several full bursts, a partial last beat
            (4, 4),                                        # one 32-bit word inside a beat
            (4096 - 2 * b + 4, 5 * b),                     # across a 4 KiB boundary, not beat-aligned
            (8192 - b, b),                                 # one beat, the last of a page
            (3 * b + 1, 1),                                # one byte
            (7 * b + 4, b * MAX_BURST),                    # one burst's worth, not aligned
            (0x2000 + 64, 4096 + 3),                       # a page's worth from mid-page
            (0x3000, 3 * 4096)]                            # whole pages
    for _ in range(8):
        a = rng.randrange(0, RAM_SIZE - 8192) // 4 * 4
        cmds.append((a, 4 * rng.randrange(1, 800)))
    return cmds


async def _writes(dut, pauses: bool):
    tb = Bench(dut, pauses)
    await tb.start()
    rng = random.Random(SEED + 3)
    b = tb.bytes
    for addr, length in _commands(b, rng):
        before = tb.ram.read(0, RAM_SIZE)
        assert await tb.command(addr, length) == (0, 0), (addr, length)
        base = addr // b * b
        assert tb.aws == axi_bursts(base, addr + length - base, b, MAX_BURST), (addr, length, tb.aws[:6])
        after = tb.ram.read(0, RAM_SIZE)
        assert after[addr:addr + length] == tb.payload, f"write {length} bytes at {addr:#x}: data differs"
        assert after[:addr] == before[:addr] and after[addr + length:] == before[addr + length:], \
            f"write {length} bytes at {addr:#x}: bytes outside it changed (WSTRB)"
    assert 1 <= tb.max_outstanding <= MAX_OUTSTANDING
    assert tb.w_before_aw == 0
    return tb


@cocotb.test()
async def test_writes_streaming(dut):
    """No pauses: every write exact, bursts overlap (several waiting for B), about a beat per cycle."""
    tb = await _writes(dut, pauses=False)
    beats = 8 * MAX_BURST
    start = get_sim_time("ns")
    assert await tb.command(0, beats * tb.bytes) == (0, 0)
    cycles = (get_sim_time("ns") - start) / 10
    dut._log.info("%d beats in %d cycles (%.2f beats/cycle), at most %d bursts waiting for B",
                  beats, cycles, beats / cycles, tb.max_outstanding)
    assert beats / cycles > 0.7, f"{beats} beats took {cycles} cycles"


@cocotb.test()
async def test_writes_with_idle_and_backpressure(dut):
    """Random pauses on AW ready, W ready, B valid and the producer's valid: the same writes, exact."""
    await _writes(dut, pauses=True)


@cocotb.test()
async def test_error_responses(dut):
    """SLVERR and DECERR on B: done with err_resp after every beat was sent and every B came back; the
    next write works and has no error."""
    tb = Bench(dut, False)
    await tb.start()
    b = tb.bytes
    for pauses in (False, True):
        tb.set_pauses(pauses)
        for resp, bad in [(AxiResp.SLVERR, 0x3000), (AxiResp.DECERR, 0x3000 + 37 * b), (AxiResp.SLVERR, 0x2F00)]:
            tb.ram.faults = [(bad, bad + b, resp)]
            assert await tb.command(0x2F00, 0x400) == (1, 0)
            assert tb.sent == len(tb.beats)
            tb.ram.faults = []
            assert await tb.command(0x2F04, 0x400) == (0, 0)            # recovers
            assert tb.ram.read(0x2F04, 0x400) == tb.payload


@cocotb.test()
async def test_bad_commands(dut):
    """An empty write and one past the address space: refused, no burst issued."""
    tb = Bench(dut, False)
    await tb.start()
    top = 1 << len(dut.cmd_addr)
    for addr, length in [(0, 0), (top - 4, 8), (top - 4096, 4096 + 1)]:
        assert await tb.command(addr, length) == (0, 1), (addr, length)
        assert tb.aws == [] and tb.sent == 0
    assert await tb.command(64 + 4, 100) == (0, 0)
    assert tb.ram.read(68, 100) == tb.payload
