"""Helpers of the cocotb unit benches (sim/test_<unit>.py), simulator side: the bench's parameters,
clock and reset, packing lanes into a bus, and the idle / back-pressure generators (verilog-axis'
``cycle_pause``)."""
from __future__ import annotations

import itertools
import json
import os

from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge

SEED = int(os.environ.get("SYNA_SEED", "1"))


def params() -> dict:
    """The parameter set this build was made with (cocotb_runner.run_unit passes it as SYNA_PARAMS)."""
    return json.loads(os.environ.get("SYNA_PARAMS", "{}"))


def pack(vals, bits: int) -> int:
    """Values (two's complement when negative) into one bus, value 0 in the lowest ``bits``."""
    out = 0
    for i, v in enumerate(vals):
        out |= (int(v) & ((1 << bits) - 1)) << (i * bits)
    return out


def unpack(word, bits: int, n: int, signed: bool = True) -> list[int]:
    vals = [(int(word) >> (i * bits)) & ((1 << bits) - 1) for i in range(n)]
    if signed:
        vals = [v - (1 << bits) if v >> (bits - 1) else v for v in vals]
    return vals


def bits_of(word, n: int) -> list[int]:
    return [(int(word) >> i) & 1 for i in range(n)]


async def start_clock(clk, rst=None, active_high: bool = True, cycles: int = 3) -> None:
    """A 100 MHz clock; ``rst`` asserted for ``cycles`` cycles, then released before a rising edge."""
    Clock(clk, 10, unit="ns").start()
    if rst is not None:
        rst.value = int(active_high)
        await ClockCycles(clk, cycles)
        rst.value = int(not active_high)
    await RisingEdge(clk)


def cycle_pause():
    """verilog-axis' idle / back-pressure pattern: paused three cycles in four."""
    return itertools.cycle([1, 1, 1, 0])


def random_pause(rng, p: float = 0.3):
    """Paused with probability ``p`` each cycle."""
    while True:
        yield int(rng.random() < p)


def pause_generator(kind: str | None, rng):
    """None (never paused), 'cycle' (cycle_pause) or 'random' (30%)."""
    if kind is None:
        return None
    return cycle_pause() if kind == "cycle" else random_pause(rng)
