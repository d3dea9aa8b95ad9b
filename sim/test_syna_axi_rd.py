"""cocotb tests of rtl/syna_axi_rd.v (the AXI4 read master for weights in DDR) against cocotbext-axi's
AxiRamRead, the AXI slave model that also checks that no INCR burst crosses 4 KiB.

Run by tests/test_rtl_axi_rd.py through cocotb's Python runner, once per parameter set (data width,
burst length); the environment gives MAX_BURST, FIFO_DEPTH, MAX_OUTSTANDING and SYNA_SEED. Every read
is checked beat by beat (data, byte mask, last), and its bursts against
syna_contract.ddr_image.axi_bursts, the rule the image layout is made for. Idle and back-pressure
insertion (verilog-axis style): random pauses on the slave's R and AR channels and on the consumer's
ready.
"""
from __future__ import annotations

import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge
from cocotb.utils import get_sim_time
from cocotbext.axi import AxiRamRead, AxiReadBus, AxiResp

from syna_contract.ddr_image import axi_bursts

SEED = int(os.environ.get("SYNA_SEED", "1"))
MAX_BURST = int(os.environ["AXI_MAX_BURST"])
FIFO_DEPTH = int(os.environ["AXI_FIFO_DEPTH"])
MAX_OUTSTANDING = int(os.environ["AXI_MAX_OUTSTANDING"])
RAM_SIZE = 1 << 16


class FaultyRam(AxiRamRead):
    """AxiRamRead that answers chosen address windows with SLVERR or DECERR (``faults``: (lo, hi, resp))."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.faults: list[tuple[int, int, AxiResp]] = []
        self._resp = None
        send = self.r_channel.send

        async def send_with_fault(r):
            if self._resp is not None:
                r.rresp = self._resp
            await send(r)

        self.r_channel.send = send_with_fault

    async def _read(self, address, length):                    # called for each beat, just before it is sent
        self._resp = next((resp for lo, hi, resp in self.faults if lo <= address < hi), None)
        return await super()._read(address, length)


class Bench:
    def __init__(self, dut, pauses: bool):
        self.dut = dut
        self.bytes = len(dut.m_axi_rdata) // 8
        self.rng = random.Random(SEED)
        self.ram = FaultyRam(AxiReadBus.from_prefix(dut, "m_axi"), dut.clk, dut.rst, size=RAM_SIZE)
        self.ram.write(0, bytes(self.rng.getrandbits(8) for _ in range(RAM_SIZE)))
        self.set_pauses(pauses)
        self.ars: list[tuple[int, int]] = []
        self.beats: list[tuple[int, int, int]] = []             # (data, keep, last) taken by the consumer
        self.outstanding = self.max_outstanding = 0
        self.ahead = self.max_ahead = 0                         # beats requested but not yet taken
        self.done = []

    def set_pauses(self, on: bool) -> None:
        """Idle cycles on R (valid low 40 % of cycles), AR ready low half the time, consumer ready low half
        the time; or none."""
        self.pauses = on
        r = random.Random(SEED + 1)
        for channel, p in ((self.ram.r_channel, 0.4), (self.ram.ar_channel, 0.5)):
            channel.set_pause_generator(iter(lambda p=p: r.random() < p, None) if on else None)

    async def start(self):
        d = self.dut
        d.cmd_valid.value = 0
        d.out_ready.value = 0
        Clock(d.clk, 10, unit="ns").start()
        d.rst.value = 1
        await ClockCycles(d.clk, 4)
        d.rst.value = 0
        cocotb.start_soon(self._monitor())
        await RisingEdge(d.clk)

    async def _monitor(self):
        d = self.dut
        rng = random.Random(SEED + 2)
        while True:
            await RisingEdge(d.clk)
            if int(d.m_axi_arvalid.value) and int(d.m_axi_arready.value):
                assert int(d.m_axi_arsize.value) == self.bytes.bit_length() - 1 and int(d.m_axi_arburst.value) == 1
                n = int(d.m_axi_arlen.value) + 1
                self.ars.append((int(d.m_axi_araddr.value), n))
                self.outstanding += 1
                self.ahead += n
            if int(d.m_axi_rvalid.value) and int(d.m_axi_rready.value) and int(d.m_axi_rlast.value):
                self.outstanding -= 1
            if int(d.out_valid.value) and int(d.out_ready.value):
                self.beats.append((int(d.out_data.value), int(d.out_keep.value), int(d.out_last.value)))
                self.ahead -= 1
            if int(d.done.value):
                self.done.append((int(d.err_resp.value), int(d.err_cmd.value)))
            self.max_outstanding = max(self.max_outstanding, self.outstanding)
            self.max_ahead = max(self.max_ahead, self.ahead)
            d.out_ready.value = int(rng.random() >= 0.5) if self.pauses else 1

    async def command(self, addr: int, length: int, timeout: int = 200_000) -> tuple[int, int]:
        """Issue one command and wait for done; returns (err_resp, err_cmd)."""
        d = self.dut
        self.ars.clear()
        self.beats.clear()
        self.done.clear()
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
            raise AssertionError(f"read of {length} bytes at {addr:#x}: no done after {timeout} cycles")
        assert len(self.done) == 1
        await RisingEdge(d.clk)
        assert int(d.busy.value) == 0 and int(d.cmd_ready.value) == 1 and int(d.out_valid.value) == 0
        return self.done[0]

    def expected_beats(self, addr: int, length: int) -> list[tuple[bytes, int]]:
        """(bytes, keep mask) per beat of a read."""
        b = self.bytes
        out = []
        for off in range(0, length, b):
            n = min(b, length - off)
            out.append((self.ram.read(addr + off, n), (1 << n) - 1))
        return out

    def check_beats(self, addr: int, length: int, complete: bool) -> None:
        exp = self.expected_beats(addr, length)
        got = self.beats
        assert len(got) == len(exp) if complete else len(got) <= len(exp), (len(got), len(exp))
        for i, ((data, keep, last), (want, want_keep)) in enumerate(zip(got, exp)):
            raw = data.to_bytes(self.bytes, "little")
            assert keep == (want_keep if complete or i < len(exp) - 1 else keep), (i, hex(keep), hex(want_keep))
            n = bin(keep).count("1")
            assert raw[:n] == want[:n], f"read {length} bytes at {addr:#x}: beat {i} data differs"
            assert last == (complete and i == len(exp) - 1), f"beat {i}: last {last}"


def _commands(b: int, rng: random.Random) -> list[tuple[int, int]]:
    cmds = [(0, b * MAX_BURST * 3 + 5),                    # several full bursts, a partial last beat
            (4096 - 2 * b, 5 * b),                         # across a 4 KiB boundary
            (8192 - b, b),                                 # one beat, the last of a page
            (3 * b, 1),                                    # one byte
            (7 * b, b * MAX_BURST),                        # one burst's worth, not page-aligned
            (0x2000 + 64, 4096 + 3),                       # a page's worth from mid-page
            (0x3000, 3 * 4096)]                            # whole pages
    for _ in range(8):
        a = rng.randrange(0, RAM_SIZE - 8192) // b * b
        cmds.append((a, rng.randrange(1, 3000)))
    return cmds


async def _reads(dut, pauses: bool):
    tb = Bench(dut, pauses)
    await tb.start()
    rng = random.Random(SEED + 3)
    for addr, length in _commands(tb.bytes, rng):
        assert await tb.command(addr, length) == (0, 0)
        assert tb.ars == axi_bursts(addr, length, tb.bytes, MAX_BURST), (addr, length, tb.ars[:6])
        tb.check_beats(addr, length, complete=True)
    assert 1 <= tb.max_outstanding <= MAX_OUTSTANDING
    assert tb.max_ahead <= FIFO_DEPTH + 1, f"{tb.max_ahead} beats requested ahead of the consumer"
    return tb


@cocotb.test()
async def test_reads_streaming(dut):
    """No pauses: every read is exact, bursts overlap (several in flight), the stream runs at about a beat
    per cycle."""
    tb = await _reads(dut, pauses=False)
    assert tb.max_outstanding >= min(2, MAX_OUTSTANDING), tb.max_outstanding
    beats = 4 * FIFO_DEPTH
    start = get_sim_time("ns")
    assert await tb.command(0, beats * tb.bytes) == (0, 0)
    cycles = (get_sim_time("ns") - start) / 10
    dut._log.info("%d beats in %d cycles (%.2f beats/cycle), at most %d bursts in flight",
                  beats, cycles, beats / cycles, tb.max_outstanding)
    assert beats / cycles > 0.8, f"{beats} beats took {cycles} cycles"


@cocotb.test()
async def test_reads_with_idle_and_backpressure(dut):
    """Random pauses on R valid, AR ready and the consumer's ready: the same reads, exact."""
    await _reads(dut, pauses=True)


@cocotb.test()
async def test_error_responses(dut):
    """SLVERR and DECERR: done with err_resp, no out_last, only correct data before the bad beat; the
    next read works."""
    tb = Bench(dut, False)
    await tb.start()
    b = tb.bytes
    for pauses in (False, True):
        tb.set_pauses(pauses)
        for resp, bad in [(AxiResp.SLVERR, 0x3000), (AxiResp.DECERR, 0x3000 + 37 * b), (AxiResp.SLVERR, 0x2F00)]:
            tb.ram.faults = [(bad, bad + b, resp)]
            assert await tb.command(0x2F00, 0x400) == (1, 0)
            assert all(not last for _, _, last in tb.beats)
            tb.check_beats(0x2F00, (bad - 0x2F00) or 1, complete=False)
            assert len(tb.beats) <= (bad - 0x2F00) // b
            tb.ram.faults = []
            assert await tb.command(0x2F00, 0x400) == (0, 0)            # recovers: the next read is whole
            tb.check_beats(0x2F00, 0x400, complete=True)


@cocotb.test()
async def test_bad_commands(dut):
    """A misaligned address, an empty read and one past the address space: refused, no burst issued."""
    tb = Bench(dut, False)
    await tb.start()
    b = tb.bytes
    top = 1 << len(dut.cmd_addr)
    for addr, length in [(2, 16), (b + 1, 16), (0, 0), (top - b, 2 * b), (top - 4096, 4096 + 1)]:
        assert await tb.command(addr, length) == (0, 1), (addr, length)
        assert tb.ars == [] and tb.beats == []
    assert await tb.command(top - 4096, 4096) == (0, 0)        # up to the last byte is fine (RAM wraps)
    assert await tb.command(64, 100) == (0, 0)
    tb.check_beats(64, 100, complete=True)
