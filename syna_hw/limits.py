"""What each hardware target can run, as data: the one place for lane counts and core limits.

The integer contract (``syna_contract.numerics``) bounds what a bundle may hold; the two cores add
their own limits (how many output-channel lanes they pack, which strides their address logic
shifts by, how wide their schedule fields are). Both are checked once, by
:func:`syna_hw.lowering.lower`, against one :class:`TargetLimits` row; a bundle outside them is
refused with the target's ``Unsupported`` error naming what and why.
"""
from __future__ import annotations

from dataclasses import dataclass

DEFAULT_LANES = 16       # P, output-channel lanes, when nobody says otherwise (make, CLIs, demo, host)


class Unsupported(ValueError):
    """A bundle (or option) a hardware target cannot run; the message says what and why."""


class HlsUnsupported(Unsupported):
    """A bundle (or option) the HLS core cannot run; the message says what and why."""


class RtlUnsupported(Unsupported):
    """A bundle the RTL twin cannot implement; the message says what and why."""


@dataclass(frozen=True)
class TargetLimits:
    """One target's limits beyond the integer contract (None: no limit of its own)."""
    name: str                          # how messages name the target
    error: type                        # the Unsupported subclass it raises
    lanes: tuple[int, ...]             # the P it builds
    lanes_why: str                     # why those
    max_stride: int | None             # strides are powers of two up to this (shift-based addressing)
    max_kernel: int | None
    max_padding: int | None
    pool_padding_below_kernel: bool    # max-pool padding must be smaller than the kernel
    max_channels: int | None           # channels of a spike map
    encoder_attention: bool            # attention on the encoder (needs a second pass over the input)
    att_mult_bits: int | None          # attention multipliers m < 2^bits, shifts < 64
    att_weight_bits: int | None        # attention MLP weights at most this many bits (and + mem_bits <= 62)
    threshold_fill: int                # value of a padded lane's threshold (a padded lane's spikes are unused)


HLS = TargetLimits(
    name="HLS core", error=HlsUnsupported, lanes=(1, 2, 4, 8, 16, 32),
    lanes_why="the core packs P output-channel lanes into 32-bit spike words",
    max_stride=None, max_kernel=None, max_padding=None, pool_padding_below_kernel=True, max_channels=None,
    encoder_attention=False, att_mult_bits=None, att_weight_bits=None, threshold_fill=1)

RTL = TargetLimits(
    name="RTL twin", error=RtlUnsupported, lanes=tuple(range(1, 65)),
    lanes_why="the lane count is a Verilog parameter of 1..64",
    max_stride=8, max_kernel=15, max_padding=7, pool_padding_below_kernel=False, max_channels=1023,
    encoder_attention=True, att_mult_bits=16, att_weight_bits=30, threshold_fill=0)

# the contract's limits only (e.g. the planner before a target is chosen)
CONTRACT = TargetLimits(
    name="integer contract", error=Unsupported, lanes=tuple(range(1, 65)),
    lanes_why="lanes are 1..64",
    max_stride=None, max_kernel=None, max_padding=None, pool_padding_below_kernel=False, max_channels=None,
    encoder_attention=True, att_mult_bits=None, att_weight_bits=None, threshold_fill=0)

TARGETS = {"hls": HLS, "rtl": RTL}
