"""syna_axil_regs (rtl/syna_axil_regs.v, the unit as toplevel, built with the register offsets and the
version of syna_contract/protocol.py as syna_core passes them from syna_cfg.vh): the map through
cocotbext-axi's AxiLiteMaster -- ap_ctrl_hs start/done/idle/ready, GIE/IER/ISR and the interrupt, STEPS,
IDLE_TIMEOUT, the read-only registers --, without and with idle cycles on AW/W/AR and back-pressure on B/R
(verilog-axis' cycle_pause, and random); WEIGHTS_BASE (protocol.DDR_REGISTERS) built in (HAS_WBASE = 1, a
DDR-mode core) and not (its offsets read 0, writes ignored); SCRATCH_BASE (protocol.SPILL_REGISTERS) likewise
(HAS_SBASE = 1, a maps-in-DDR core)."""
from __future__ import annotations

import random

import cocotb
from cocotb.triggers import FallingEdge
from cocotbext.axi import AxiLiteBus, AxiLiteMaster

from syna_contract import protocol as proto
from unit_helpers import SEED, params, pause_generator, start_clock


@cocotb.test()
@cocotb.parametrize(idle=[None, "cycle", "random"], backpressure=[None, "cycle", "random"])
async def axil_register_map(dut, idle, backpressure):
    for name in ("awvalid", "wvalid", "arvalid", "accept", "core_done"):
        getattr(dut, name).value = 0
    dut.bready.value, dut.rready.value = 1, 1
    axil = AxiLiteMaster(AxiLiteBus.from_entity(dut), dut.clk, dut.rst)
    rng = random.Random(SEED)
    for ch in (axil.write_if.aw_channel, axil.write_if.w_channel, axil.read_if.ar_channel):
        gen = pause_generator(idle, rng)
        if gen is not None:
            ch.set_pause_generator(gen)
    for ch in (axil.write_if.b_channel, axil.read_if.r_channel):
        gen = pause_generator(backpressure, rng)
        if gen is not None:
            ch.set_pause_generator(gen)
    await start_clock(dut.clk, dut.rst)
    dut.core_idle.value = 1
    dut.status.value, dut.cycles.value, dut.saturations.value, dut.model_hash.value = 0x9, 1234, 7, 0xDEADBEEF

    async def rd(off):
        return int.from_bytes((await axil.read(off, 4)).data, "little")

    async def wr(off, v):
        await axil.write(off, int(v).to_bytes(4, "little"))

    assert await rd(proto.REG_VERSION) == proto.INTERFACE_VERSION
    assert await rd(proto.REG_MODEL_HASH) == 0xDEADBEEF
    assert (await rd(proto.REG_STATUS), await rd(proto.REG_CYCLES), await rd(proto.REG_SATURATIONS)) == (9, 1234, 7)
    assert await rd(proto.REG_CTRL) == proto.CTRL_IDLE | proto.CTRL_READY
    await wr(proto.REG_STEPS, 16)
    assert await rd(proto.REG_STEPS) == 16 and int(dut.steps.value) == 16
    assert await rd(proto.REG_IDLE_TIMEOUT) == 0                                   # reset value: the default
    await wr(proto.REG_IDLE_TIMEOUT, 12345)
    assert await rd(proto.REG_IDLE_TIMEOUT) == 12345 and int(dut.idle_timeout.value) == 12345
    await wr(proto.REG_GIE, 1)
    await wr(proto.REG_IER, 1)
    await wr(proto.REG_CTRL, proto.CTRL_START)
    assert int(dut.ap_start.value) == 1
    assert await rd(proto.REG_CTRL) & proto.CTRL_START
    # the core accepts: ap_start clears, not idle
    await FallingEdge(dut.clk)
    dut.accept.value = 1
    dut.core_idle.value = 0
    await FallingEdge(dut.clk)
    dut.accept.value = 0
    assert await rd(proto.REG_CTRL) == 0
    # done: ap_done set (clear on read), interrupt while GIE & ISR
    await FallingEdge(dut.clk)
    dut.core_done.value = 1
    dut.core_idle.value = 1
    await FallingEdge(dut.clk)
    dut.core_done.value = 0
    await FallingEdge(dut.clk)
    assert (await rd(proto.REG_GIE), await rd(proto.REG_IER), await rd(proto.REG_ISR)) == (1, 1, 1)
    assert int(dut.interrupt.value) == 1
    assert await rd(proto.REG_CTRL) == proto.CTRL_DONE | proto.CTRL_IDLE | proto.CTRL_READY
    assert await rd(proto.REG_CTRL) == proto.CTRL_IDLE | proto.CTRL_READY          # ap_done cleared by the read
    assert await rd(proto.REG_ISR) == 1
    await wr(proto.REG_ISR, 1)                                                      # toggle on write 1
    assert await rd(proto.REG_ISR) == 0 and int(dut.interrupt.value) == 0


@cocotb.test()
async def weights_base_register(dut):
    """64-bit RW with byte strobes in a DDR build (the output follows), cleared by reset; else reads 0."""
    for name in ("awvalid", "wvalid", "arvalid", "accept", "core_done"):
        getattr(dut, name).value = 0
    axil = AxiLiteMaster(AxiLiteBus.from_entity(dut), dut.clk, dut.rst)
    await start_clock(dut.clk, dut.rst)
    lo, hi = proto.REG_WEIGHTS_BASE, proto.DDR_REGISTERS["WEIGHTS_BASE_HI"]

    async def rd(addr):
        return int.from_bytes((await axil.read(addr, 4)).data, "little")

    await axil.write(lo, (0x12345000).to_bytes(4, "little"))
    await axil.write(hi, (0x00000007).to_bytes(4, "little"))
    await axil.write(lo + 2, b"\xab")                         # byte 2 only (WSTRB 0100)
    want = 0x7_12AB5000 if params().get("HAS_WBASE") else 0
    assert (await rd(lo), await rd(hi)) == (want & 0xFFFFFFFF, want >> 32)
    assert int(dut.weights_base.value) == want
    dut.rst.value = 1
    for _ in range(2):
        await FallingEdge(dut.clk)
    dut.rst.value = 0
    assert (await rd(lo), await rd(hi)) == (0, 0) and int(dut.weights_base.value) == 0


@cocotb.test()
async def scratch_base_register(dut):
    """SCRATCH_BASE (maps-in-DDR builds, HAS_SBASE = 1): 64-bit RW with byte strobes, the output follows,
    cleared by reset; other builds: reads 0, writes ignored."""
    for name in ("awvalid", "wvalid", "arvalid", "accept", "core_done"):
        getattr(dut, name).value = 0
    axil = AxiLiteMaster(AxiLiteBus.from_entity(dut), dut.clk, dut.rst)
    await start_clock(dut.clk, dut.rst)
    lo, hi = proto.REG_SCRATCH_BASE, proto.SPILL_REGISTERS["SCRATCH_BASE_HI"]

    async def rd(addr):
        return int.from_bytes((await axil.read(addr, 4)).data, "little")

    await axil.write(lo, (0x2000_1000).to_bytes(4, "little"))
    await axil.write(hi, (0x00000003).to_bytes(4, "little"))
    await axil.write(lo + 3, b"\x40")                         # byte 3 only (WSTRB 1000)
    want = 0x3_4000_1000 if params().get("HAS_SBASE") else 0
    assert (await rd(lo), await rd(hi)) == (want & 0xFFFFFFFF, want >> 32)
    assert int(dut.scratch_base.value) == want
    assert int(dut.weights_base.value) == 0 or params().get("HAS_WBASE")   # the registers are apart
    dut.rst.value = 1
    for _ in range(2):
        await FallingEdge(dut.clk)
    dut.rst.value = 0
    assert (await rd(lo), await rd(hi)) == (0, 0) and int(dut.scratch_base.value) == 0


# the parameter names of syna_axil_regs for protocol.REGISTERS (syna_core.v passes the same)
OFFSET_PARAMS = {"CTRL": "A_CTRL", "GIE": "A_GIE", "IER": "A_IER", "ISR": "A_ISR", "STEPS": "A_STEPS",
                 "STATUS": "A_STATUS", "CYCLES": "A_CYCLES", "SATURATIONS": "A_SATS", "MODEL_HASH": "A_HASH",
                 "VERSION": "A_VERSION", "IDLE_TIMEOUT": "A_IDLE", "WEIGHTS_BASE": "A_WBASE"}
# WEIGHTS_BASE_HI has no parameter: it is A_WBASE + 4; the register exists with HAS_WBASE = 1 (DDR builds)


def test_axil_regs(tmp_path):
    from cocotb_runner import run_unit
    assert set(OFFSET_PARAMS) | {"WEIGHTS_BASE_HI"} == set(proto.REGISTERS), \
        "a register of protocol.py has no syna_axil_regs parameter"
    assert proto.REGISTERS["WEIGHTS_BASE_HI"] == proto.REGISTERS["WEIGHTS_BASE"] + 4
    parameters = {OFFSET_PARAMS[n]: off for n, off in proto.REGISTERS.items() if n in OFFSET_PARAMS}
    parameters["VERSION"] = proto.INTERFACE_VERSION
    run_unit("syna_axil_regs", "test_axil_regs", parameters, tmp_path, build_tag="protocol")


def test_axil_regs_weights_base(tmp_path):
    """The DDR build's register (syna_core.v passes HAS_WBASE = 1 and SYNA_REG_WEIGHTS_BASE)."""
    from cocotb_runner import run_unit
    parameters = {OFFSET_PARAMS[n]: off for n, off in proto.REGISTERS.items() if n in OFFSET_PARAMS}
    parameters.update(VERSION=proto.INTERFACE_VERSION, HAS_WBASE=1)
    run_unit("syna_axil_regs", "test_axil_regs", parameters, tmp_path, build_tag="protocol-wbase")


def test_axil_regs_scratch_base(tmp_path):
    """The maps-in-DDR build's registers (syna_core.v passes HAS_WBASE = HAS_SBASE = 1 and SYNA_REG_SCRATCH_BASE)."""
    from cocotb_runner import run_unit
    parameters = {OFFSET_PARAMS[n]: off for n, off in proto.REGISTERS.items() if n in OFFSET_PARAMS}
    parameters.update(VERSION=proto.INTERFACE_VERSION, HAS_WBASE=1, HAS_SBASE=1, A_SBASE=proto.REG_SCRATCH_BASE)
    run_unit("syna_axil_regs", "test_axil_regs", parameters, tmp_path, build_tag="protocol-sbase")
