"""syna_mem (rtl/syna_mem.v, the unit as toplevel): the simple dual-port memory every ROM and RAM of
the core is made of. Against a Python model: one write port, one synchronous read port, read-first
(a read of the address written in the same cycle returns the old word), the read register holding
while re = 0, and the $readmemh image (HAS_INIT = 1, the file in the simulator's working directory).
Built at (W, D) = (8, 16) with an image, and (100, 5) without (a wide word, a depth that is not a power
of two), each also with BLOCK = 1 (the block-RAM-only form, ``ram_style = "block"``: the same behaviour)."""
from __future__ import annotations

import random

import cocotb
import pytest
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

from unit_helpers import SEED, params

INIT_FILE = "tb_mem_init.mem"


def init_words(W: int, D: int) -> list[int]:
    rng = random.Random(SEED + 3)
    return [rng.getrandbits(W) for _ in range(D)]


@cocotb.test()
async def mem_read_first_and_image(dut):
    prm = params()
    W, D = prm["W"], prm["D"]
    Clock(dut.clk, 10, unit="ns").start()
    dut.we.value, dut.re.value, dut.waddr.value, dut.raddr.value, dut.wdata.value = 0, 0, 0, 0, 0
    await RisingEdge(dut.clk)
    await ReadOnly()
    assert int(dut.rdata.value) == 0                              # the read register starts at 0
    mem = dict(enumerate(init_words(W, D))) if prm["HAS_INIT"] else {}
    rdata, checked, same = 0, 0, 0
    rng = random.Random(SEED)
    if mem:                                                       # the image, address by address
        for a in range(D):
            await FallingEdge(dut.clk)
            dut.re.value, dut.raddr.value = 1, a
            await RisingEdge(dut.clk)
            await ReadOnly()
            assert int(dut.rdata.value) == mem[a], (a, hex(int(dut.rdata.value)), hex(mem[a]))
        rdata = mem[D - 1]
    for it in range(600):
        we, re = rng.random() < 0.5, rng.random() < 0.7
        wa, ra = rng.randrange(D), rng.randrange(D)
        if rng.random() < 0.2:
            ra = wa                                               # the same address in the same cycle
        wd = rng.getrandbits(W)
        await FallingEdge(dut.clk)
        dut.we.value, dut.waddr.value, dut.wdata.value = int(we), wa, wd
        dut.re.value, dut.raddr.value = int(re), ra
        await RisingEdge(dut.clk)
        known = ra in mem
        if re:
            rdata = mem.get(ra)                                   # read-first: the word before this write
            same += we and wa == ra and known
        if we:
            mem[wa] = wd
        await ReadOnly()
        if rdata is not None and (known or not re):
            assert int(dut.rdata.value) == rdata, (it, ra, hex(int(dut.rdata.value)), hex(rdata))
            checked += 1
    assert checked > 300 and same > 10, (checked, same)


PARAMS = [dict(W=8, D=16, AW=4, HAS_INIT=1, INIT_FILE=f'"{INIT_FILE}"'), dict(W=100, D=5, AW=3, HAS_INIT=0)]
PARAMS += [dict(p, BLOCK=1) for p in PARAMS]


@pytest.mark.parametrize("parameters", PARAMS, ids=lambda p: f"W{p['W']}-D{p['D']}" + ("-block" if p.get("BLOCK") else ""))
def test_mem(parameters, tmp_path):
    from cocotb_runner import run_unit
    if parameters["HAS_INIT"]:
        words = init_words(parameters["W"], parameters["D"])
        (tmp_path / INIT_FILE).write_text("\n".join(f"{w:x}" for w in words) + "\n")
    run_unit("syna_mem", "test_mem", parameters, tmp_path)
