"""The integer contract in code: constants and the small integer primitives.

``docs/numerics.md`` is the definition; this module is its executable form and
the one place for its numbers. It needs numpy only (the host driver imports it).
Every function here works on integer numpy arrays and never wraps: values that
leave a range are saturated and the saturations are counted by the caller.
"""
from __future__ import annotations

import numpy as np

FORMAT_VERSION = 1

INPUT_BITS_RANGE = (1, 16)     # unsigned input values; the stream carries at most 16 bits per value
DEFAULT_WEIGHT_BITS = 8
WEIGHT_BITS_RANGE = (4, 16)
DEFAULT_MEM_BITS = 16          # membrane and saturated current, signed
MEM_BITS_RANGE = (8, 32)
ACC_BITS = 32                  # synaptic accumulator, signed; the exporter proves it cannot overflow
BIAS_BITS = 32                 # bias words in the ROMs, signed
SCORE_BITS = 32                # class-score accumulator, signed; proven not to overflow

# Attention (docs/numerics.md, "Attention").
GATE_FRAC_BITS = 8             # MA gate g in [0, 256], the current is scaled by g / 2^8
SIGMOID_INDEX_BITS = 8         # table of 2^8 entries
SIGMOID_STEP_LOG2 = 4          # logit step 1/16: the table spans [-8, 8)
MULT_FRAC_BITS = 16            # fixed-point rescaling multipliers m / 2^16 (m is int32)
IA_UNIT_LOG2 = 8               # IA LIF runs in units of 1/256 of the float logit; threshold 256
MULT_RANGE = (1 << 14, 1 << 15)  # m of a fixed-point multiplier (m, shift): m in [2^14, 2^15]
SHIFT_RANGE = (0, 62)          # its shift: the product (x * m) stays within 64 bits


def signed_range(bits: int) -> tuple[int, int]:
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def symmetric_range(bits: int) -> tuple[int, int]:
    """The range of a ``bits``-bit weight: symmetric, ``[-(2^(bits-1) - 1), 2^(bits-1) - 1]`` (never -2^(bits-1))."""
    return -((1 << (bits - 1)) - 1), (1 << (bits - 1)) - 1


def max_threshold(mem_bits: int) -> int:
    """Largest threshold the quantiser gives a channel: ``2^(M-2) - 1``.

    A neuron at rest fires in one step when ``(0 + i) >> 1 >= theta``, and ``i`` is at most
    ``2^(M-1) - 1``: so every threshold up to ``2^(M-2) - 1`` can be reached, like the float LIF,
    which fires from rest on a current of twice its threshold. (With ``2^(M-1) - 1`` a channel
    could never fire at all: ``h`` tops out at ``2^(M-1) - 2``.)"""
    return (1 << (mem_bits - 2)) - 1


def conv_acc_bound(weights: np.ndarray, bias: np.ndarray, x_max: int) -> np.ndarray:
    """Per output channel, the largest ``|acc|`` a conv can reach (numerics.md section 3):
    ``sum |w_q[c]| * x_max + |b_q[c]|``, with ``weights`` in the ROM layout ``[Cin][K][K][Cout]`` and
    ``x_max`` the largest input (``2^bits - 1`` for the encoder, 1 for spikes). It must be below
    ``2^(ACC_BITS-1)``: then the accumulator is exact in ACC_BITS bits, in any order of additions."""
    w = np.abs(np.asarray(weights, dtype=np.int64))
    return w.reshape(-1, w.shape[-1]).sum(axis=0) * int(x_max) + np.abs(np.asarray(bias, dtype=np.int64))


def score_bound(weights: np.ndarray, bias: np.ndarray, pool: int) -> np.ndarray:
    """Per class, the largest ``|score|`` (numerics.md section 5): ``pool * (sum_c |w_q[c, k]| + |b_q[k]|)``,
    ``weights`` in the ROM layout ``[Cin][classes]``, ``pool`` = T * H * W of the last spike map.
    It must be below ``2^(SCORE_BITS-1)``."""
    w = np.abs(np.asarray(weights, dtype=np.int64))
    return int(pool) * (w.sum(axis=0) + np.abs(np.asarray(bias, dtype=np.int64)))


def fits_signed(bound: int, bits: int) -> bool:
    """True when every value of magnitude up to ``bound`` fits a signed ``bits``-bit integer."""
    return int(bound) <= signed_range(bits)[1]


def saturate(x: np.ndarray, bits: int) -> tuple[np.ndarray, int]:
    """Clamp ``x`` to a signed ``bits`` range; return the clamped array and how many values moved."""
    lo, hi = signed_range(bits)
    n = int(np.count_nonzero((x < lo) | (x > hi)))
    return np.clip(x, lo, hi), n


def lif_step(v: np.ndarray, current: np.ndarray, threshold: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One integer LIF step (tau = 2, hard reset to 0).

    ``h = (v + i) >> 1`` (arithmetic shift: floor), ``s = h >= theta``, ``v' = s ? 0 : h``.
    ``v`` and ``i`` are both within the membrane range, so ``v + i`` needs one bit
    more and ``h`` is back within the range: no saturation is possible here.
    """
    h = (v + current) >> 1
    s = h >= threshold
    return np.where(s, 0, h), s


def lif_sequence(currents: np.ndarray, threshold: np.ndarray) -> np.ndarray:
    """Run the integer LIF over a time-major current ``[T, ...]`` from v = 0; spikes as uint8."""
    v = np.zeros(currents.shape[1:], dtype=np.int64)
    out = np.empty(currents.shape, dtype=np.uint8)
    for t in range(currents.shape[0]):
        v, s = lif_step(v, currents[t], threshold)
        out[t] = s
    return out


MERGE_OPS = ("OR", "AND", "IAND")


def merge(backbone: np.ndarray, shortcut: np.ndarray, op: str) -> np.ndarray:
    """Bitwise spike merges. IAND passes the shortcut where the backbone is silent."""
    if op == "OR":
        return backbone | shortcut
    if op == "AND":
        return backbone & shortcut
    if op == "IAND":
        return shortcut & (1 - backbone)
    raise ValueError(f"merge {op!r} is not in the integer contract; expected one of {MERGE_OPS}")


def conv_out_size(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def sigmoid_table() -> np.ndarray:
    """The MA gate table: entry k (k = 0..255) is round(256 * sigmoid((k - 128 + 0.5) / 16)).

    Index ``k`` covers logits in ``[(k-128)/16, (k-127)/16)``; values are in [0, 256].
    """
    k = np.arange(1 << SIGMOID_INDEX_BITS, dtype=np.float64)
    half = 1 << (SIGMOID_INDEX_BITS - 1)
    x = (k - half + 0.5) / (1 << SIGMOID_STEP_LOG2)
    return np.floor((1 << GATE_FRAC_BITS) / (1.0 + np.exp(-x)) + 0.5).astype(np.int64)


def rescale(x: np.ndarray, mult: int, shift: int) -> np.ndarray:
    """Fixed-point rescale ``(x * mult) >> shift`` (floor). ``mult`` is int32, the product int64."""
    return (x.astype(np.int64) * int(mult)) >> int(shift)
