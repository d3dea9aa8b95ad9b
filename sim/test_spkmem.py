"""syna_spkmem (rtl/syna_spkmem.v, the unit as toplevel): the RTL's spike memory, B banks of W/B bits.

Against a Python model of the banks (docs/rtl.md "Spike memory"): a write of class k at logical
address a stores the low W/2^k bits of the word in bank group a mod 2^k (banks g*(B>>k) ..), at
physical address a >> k; a read of class k returns that group's bits zero-extended to W; one
synchronous read port, read-first, the read register (and the group it selects) holding while
re = 0. Random traffic with idle cycles and back-to-back accesses, writes and reads of every class,
the same physical word written and read in one cycle; then per class a round trip of maps of each
class placed side by side (a wrong bank decode lets one map overwrite another). Built at B = 4
(W = 32: classes 0..2), B = 8 (W = 64, D not a power of two) and B = 1 (syna_mem itself)."""
from __future__ import annotations

import random

import cocotb
import pytest
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

from unit_helpers import SEED, params


class Banks:
    """The memory as docs/rtl.md describes it: B banks of W/B bits x D words."""

    def __init__(self, W: int, B: int, D: int):
        self.W, self.B, self.D, self.bw = W, B, D, W // B
        self.mem = [[0] * D for _ in range(B)]         # the banks start at 0 in this model; unknown cells
        self.known = [[False] * D for _ in range(B)]   # are never compared

    def place(self, a: int, k: int) -> tuple[list[int], int]:
        n = self.B >> k
        g = a & ((1 << k) - 1)
        return [g * n + s for s in range(n)], a >> k

    def write(self, a: int, k: int, word: int) -> None:
        banks, phys = self.place(a, k)
        for s, b in enumerate(banks):
            self.mem[b][phys] = (word >> (s * self.bw)) & ((1 << self.bw) - 1)
            self.known[b][phys] = True

    def read(self, a: int, k: int) -> int | None:
        banks, phys = self.place(a, k)
        if not all(self.known[b][phys] for b in banks):
            return None
        return sum(self.mem[b][phys] << (s * self.bw) for s, b in enumerate(banks))


def _drive(dut, we=0, wa=0, wk=0, wd=0, re=0, ra=0, rk=0):
    dut.we.value, dut.waddr.value, dut.wk.value, dut.wdata.value = we, wa, wk, wd
    dut.re.value, dut.raddr.value, dut.rk.value = re, ra, rk


@cocotb.test()
async def spkmem_banks_classes_read_first(dut):
    prm = params()
    W, B, D = prm["W"], prm["B"], prm["D"]
    kmax = B.bit_length() - 1
    Clock(dut.clk, 10, unit="ns").start()
    _drive(dut)
    await RisingEdge(dut.clk)
    await ReadOnly()
    assert int(dut.rdata.value) == 0                              # the read register starts at 0
    model = Banks(W, B, D)
    rng = random.Random(SEED)
    rdata, checked, same, per_k = 0, 0, 0, [0] * (kmax + 1)
    # random traffic: bursts of back-to-back accesses, idle stretches (re = 0: the word holds)
    for it in range(1500):
        idle = (it // 50) % 3 == 2
        we = (not idle) and rng.random() < 0.6
        re = (not idle) and rng.random() < 0.7
        wk, rk = rng.randint(0, kmax), rng.randint(0, kmax)
        wa = rng.randrange(D << wk)
        ra = rng.randrange(D << rk)
        if rng.random() < 0.2:                                    # the same physical word, this cycle
            rk, ra = wk, wa
        wd = rng.getrandbits(W >> wk)                             # a class-k map has no bits above W/2^k
        await FallingEdge(dut.clk)
        _drive(dut, int(we), wa, wk, wd, int(re), ra, rk)
        await RisingEdge(dut.clk)
        if re:
            rdata = model.read(ra, rk)                            # read-first: before this write
            same += we and wa == ra and rdata is not None
            if rdata is not None:
                per_k[rk] += 1
        if we:
            model.write(wa, wk, wd)
        await ReadOnly()
        if rdata is not None:
            assert int(dut.rdata.value) == rdata, (it, rk, ra, hex(int(dut.rdata.value)), hex(rdata))
            checked += 1
    assert checked > 500 and same > 20 and all(n > 20 for n in per_k), (checked, same, per_k)
    # maps side by side: per class, one map at physical words [base, base + n); every word written
    # back to back, then read back to back, after all classes are written (nothing overwrote anything)
    maps, phys = [], 0
    for k in range(kmax + 1):
        n = min(D // (kmax + 1), 5)
        words = {(phys << k) + p: rng.getrandbits(W >> k) for p in range(n << k)}
        maps.append((k, words))
        phys += n
    for k, words in maps:
        for a, w in words.items():
            await FallingEdge(dut.clk)
            _drive(dut, 1, a, k, w)
    for k, words in maps:
        addrs = list(words)
        for i, a in enumerate(addrs + [None]):
            await FallingEdge(dut.clk)
            _drive(dut, re=int(a is not None), ra=a or 0, rk=k)
            await ReadOnly()
            if i:
                assert int(dut.rdata.value) == words[addrs[i - 1]], (k, addrs[i - 1])
    await FallingEdge(dut.clk)
    _drive(dut)


PARAMS = [dict(W=32, B=4, D=16, AW=6, PAW=4, KW=2), dict(W=64, B=8, D=12, AW=7, PAW=4, KW=2),
          dict(W=24, B=1, D=10, AW=4, PAW=4, KW=1)]


@pytest.mark.parametrize("parameters", PARAMS, ids=lambda p: f"W{p['W']}-B{p['B']}-D{p['D']}")
def test_spkmem(parameters, tmp_path):
    from cocotb_runner import run_unit
    run_unit("syna_spkmem", "test_spkmem", parameters, tmp_path)
