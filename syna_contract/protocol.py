"""The core's interface, in one place: AXI4-Lite register map and stream formats.

``docs/core-interface.md`` explains it; the HLS core (``hls/``), the RTL twin
(``rtl/``) and the host driver implement it, and the code generators emit
these numbers into C++ and Verilog headers from here. numpy only.

Input stream (AXI4-Stream, 32-bit TDATA, TLAST): one inference is T frames;
a frame is the C x H x W input values of one time step, (c, y, x) row-major,
each value in a lane of ``lane_bits(input_bits)`` bits, ``32 / lane`` lanes per
word, first value in the least significant lane; every frame starts on a new
word (unused lanes at a frame's end are 0). TLAST is set on the last word of the
last frame, and only there. A value lane above ``2^bits - 1`` or a nonzero unused
lane is an input error (``STATUS_INPUT_RANGE``); a sender that stops for
IDLE_TIMEOUT cycles ends the inference like an early TLAST (``STATUS_FRAME_SHORT``).

Output stream (32-bit words, TLAST on the last): ``classes`` signed scores,
one unsigned spike count per spiking layer in manifest order (every layer but
``fc``), then cycles, saturations, status.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

WORD_BITS = 32

# AXI4-Lite register map (byte offsets), Vitis HLS ap_ctrl_hs layout for 0x00-0x0C.
REG_CTRL = 0x00          # bit0 ap_start (W1, self-clearing), bit1 ap_done (clear on read), bit2 ap_idle, bit3 ap_ready
REG_GIE = 0x04           # bit0 global interrupt enable
REG_IER = 0x08           # bit0 ap_done interrupt enable
REG_ISR = 0x0C           # bit0 ap_done interrupt status (toggle on write 1)
REG_STEPS = 0x10         # RW: T of the next inference; must equal the model's T
REG_STATUS = 0x18        # RO: status bits of the last inference (below)
REG_CYCLES = 0x20        # RO: clock cycles of the last inference, start to last output word
REG_SATURATIONS = 0x28   # RO: saturations counted in the last inference (saturating at 2^32 - 1)
REG_MODEL_HASH = 0x30    # RO: first 32 bits of the bundle's model hash (MODEL_HASH32)
REG_VERSION = 0x38       # RO: interface version (INTERFACE_VERSION)
REG_IDLE_TIMEOUT = 0x40  # RW: cycles without an input word before the core ends the inference; 0: the default
REG_WEIGHTS_BASE = 0x48  # RW, 64-bit, DDR cores only: weight image base address (bits 31..0; 63..32 at 0x4C)
# Registers of a core built with its weights in DDR (HLS / RTL `weights="ddr"`; docs/core-interface.md): the
# byte address of the DDR weight image (syna_contract/ddr_image.py), 64 bits (low word at 0x48, high word at
# 0x4C), aligned to WEIGHTS_BASE_ALIGN. An on-chip core has no register there: it reads 0, ignores writes.
DDR_REGISTERS = {"WEIGHTS_BASE": REG_WEIGHTS_BASE, "WEIGHTS_BASE_HI": REG_WEIGHTS_BASE + 4}
REG_SCRATCH_BASE = 0x50  # RW, 64-bit, maps-in-DDR cores only: scratch buffer base address (bits 31..0; 63..32 at 0x54)
# Registers of a core built with its spike maps in DDR (HLS / RTL `maps="ddr"`, interface version 4;
# docs/core-interface.md "Spike maps in DDR"): the byte address of the scratch buffer that holds the input
# and every spike map (syna_hw/spill.py lays it out), 64 bits, aligned to SCRATCH_BASE_ALIGN. Other cores
# have no register there: it reads 0, ignores writes. Not in REGISTERS: only such cores have them.
SPILL_REGISTERS = {"SCRATCH_BASE": REG_SCRATCH_BASE, "SCRATCH_BASE_HI": REG_SCRATCH_BASE + 4}
REGISTERS = {
    "CTRL": REG_CTRL, "GIE": REG_GIE, "IER": REG_IER, "ISR": REG_ISR, "STEPS": REG_STEPS,
    "STATUS": REG_STATUS, "CYCLES": REG_CYCLES, "SATURATIONS": REG_SATURATIONS,
    "MODEL_HASH": REG_MODEL_HASH, "VERSION": REG_VERSION, "IDLE_TIMEOUT": REG_IDLE_TIMEOUT,
    **DDR_REGISTERS,
}
WEIGHTS_BASE_ALIGN = 4096
SCRATCH_BASE_ALIGN = 4096
# The byte addresses a DDR core's m_axi_gmem can reach: 49 bits (Zynq UltraScale+ S_AXI_HP*_FPD; a
# Zynq-7000 HP port decodes 32 of them). WEIGHTS_BASE + the image's total_bytes above 2^49 is a weights error.
DDR_ADDR_BITS = 49
RTL_GMEM_MIN_BITS = 32   # the RTL twin's m_axi_gmem data width: one image row, at least this (IP parameter GMEM_DW)
# The cores' DDR read bursts: at most DDR_MAX_BURST_BEATS (AXI4's 256), and no more than the board's HP port
# takes (boards.Board.hp_max_burst: 16 on a Zynq-7000 AXI3 port), never across 4 KiB; up to
# DDR_READ_OUTSTANDING bursts in flight (RTL syna_axi_rd MAX_OUTSTANDING, HLS num_read_outstanding).
DDR_MAX_BURST_BEATS = 256
DDR_READ_OUTSTANDING = 4
INTERFACE_VERSION = 4    # 4: STATUS scratch, SCRATCH_BASE (maps-in-DDR cores); 3: STATUS weights (DDR cores),
                         # WEIGHTS_BASE in REGISTERS; 2: IDLE_TIMEOUT register,
                         # STATUS input_range, framing checked whatever STEPS

# Idle timeout (REG_IDLE_TIMEOUT): while the core expects input words of an inference (from accepting
# ap_start to the last word, or while draining up to TLAST), a gap of this many clock cycles without a
# word ends the receive: FRAME_SHORT if words were missing, FRAME_LONG's drain simply stops. 2^24
# cycles is 0.17 s at 100 MHz: far above any DMA stall, below the host driver's 1 s DMA timeout.
DEFAULT_IDLE_TIMEOUT = 1 << 24


def idle_timeout_cycles(register: int) -> int:
    """The idle timeout in cycles for a value of REG_IDLE_TIMEOUT (0 selects DEFAULT_IDLE_TIMEOUT)."""
    return int(register) & 0xFFFFFFFF or DEFAULT_IDLE_TIMEOUT


CTRL_START, CTRL_DONE, CTRL_IDLE, CTRL_READY = 1 << 0, 1 << 1, 1 << 2, 1 << 3

# STATUS bits. The errors (all but SATURATED) are checked on every inference, whatever STEPS, and add
# up: an inference can report several. After any of them, scores, counts and saturations are 0.
STATUS_FRAME_SHORT = 1 << 0     # the input ended before the last word of the last frame: TLAST early,
                                # or no word for IDLE_TIMEOUT cycles (the sender stopped)
STATUS_FRAME_LONG = 1 << 1      # no TLAST on the last word: words were drained up to TLAST (or idle)
STATUS_STEPS_MISMATCH = 1 << 2  # REG_STEPS != the model's T: nothing computed, scores are 0
STATUS_SATURATED = 1 << 3       # at least one saturation (REG_SATURATIONS > 0)
STATUS_INPUT_RANGE = 1 << 4     # a value lane held more than input.bits bits, or an unused lane was not 0
STATUS_WEIGHTS = 1 << 5         # DDR cores: the weight image could not be used -- WEIGHTS_BASE misaligned, or
                                # base + image beyond DDR_ADDR_BITS, or its header is not the core's, or a
                                # weight read answered SLVERR / DECERR (RTL): nothing (more) computed
STATUS_SCRATCH = 1 << 6         # maps-in-DDR cores: the scratch buffer could not be used -- SCRATCH_BASE 0,
                                # not a multiple of SCRATCH_BASE_ALIGN, or base + scratch bytes beyond
                                # DDR_ADDR_BITS (nothing computed), or a scratch read / write answered SLVERR /
                                # DECERR (nothing more computed)
STATUS_BITS = {
    "frame_short": STATUS_FRAME_SHORT, "frame_long": STATUS_FRAME_LONG,
    "steps_mismatch": STATUS_STEPS_MISMATCH, "saturated": STATUS_SATURATED, "input_range": STATUS_INPUT_RANGE,
    "weights": STATUS_WEIGHTS, "scratch": STATUS_SCRATCH,
}
STATUS_ERRORS = (STATUS_FRAME_SHORT | STATUS_FRAME_LONG | STATUS_STEPS_MISMATCH | STATUS_INPUT_RANGE | STATUS_WEIGHTS
                 | STATUS_SCRATCH)


def decode_status(status: int) -> list[str]:
    return [name for name, bit in STATUS_BITS.items() if status & bit]


def lane_bits(input_bits: int) -> int:
    """Lane width for an input width: the smallest of 1, 2, 4, 8, 16 that holds it."""
    for lane in (1, 2, 4, 8, 16):
        if input_bits <= lane:
            return lane
    raise ValueError(f"input bits {input_bits}; the stream carries at most 16 bits per value")


def words_per_frame(channels: int, height: int, width: int, input_bits: int) -> int:
    per_word = WORD_BITS // lane_bits(input_bits)
    return -(-channels * height * width // per_word)


def lanes_in_range(words: np.ndarray, channels: int, height: int, width: int, input_bits: int) -> bool:
    """True when every lane of these input words (the start of an input packet, at most one sample) that
    carries a value holds at most ``input_bits`` bits and every unused lane at a frame's end is 0."""
    words = np.asarray(words, dtype=np.uint64).ravel()
    lane = lane_bits(input_bits)
    per_word = WORD_BITS // lane
    n = channels * height * width
    wpf = -(-n // per_word)
    k = np.arange(words.size)
    idx = (k % wpf)[:, None] * per_word + np.arange(per_word)[None, :]        # value index in its frame
    lanes = (words[:, None] >> (np.arange(per_word, dtype=np.uint64) * np.uint64(lane))) & np.uint64((1 << lane) - 1)
    limit = np.where(idx < n, (1 << input_bits) - 1, 0).astype(np.uint64)
    return bool((lanes <= limit).all())


def model_hash32(model_hash: str) -> int:
    """MODEL_HASH32: the first 32 bits of a bundle's ``model_hash`` (hex), what REG_MODEL_HASH holds."""
    return int(model_hash[:8], 16)


def pack_frames(x: np.ndarray, input_bits: int) -> np.ndarray:
    """One sample [T, C, H, W] of integers 0..2^bits-1 -> uint32 words of the input stream."""
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"pack_frames takes one sample [T, C, H, W]; got shape {x.shape}")
    if x.size and (x.min() < 0 or x.max() >= (1 << input_bits)):
        raise ValueError(f"values {x.min()}..{x.max()} do not fit {input_bits} unsigned bits")
    lane = lane_bits(input_bits)
    per_word = WORD_BITS // lane
    steps = x.shape[0]
    flat = x.reshape(steps, -1).astype(np.uint64)
    n = flat.shape[1]
    wpf = -(-n // per_word)
    padded = np.zeros((steps, wpf * per_word), dtype=np.uint64)
    padded[:, :n] = flat
    lanes = padded.reshape(steps, wpf, per_word)
    shifts = (np.arange(per_word, dtype=np.uint64) * np.uint64(lane))
    words = (lanes << shifts).sum(axis=2)
    return words.astype(np.uint32).ravel()


def unpack_frames(words: np.ndarray, shape: tuple[int, int, int, int], input_bits: int) -> np.ndarray:
    """Inverse of :func:`pack_frames` (for testbenches)."""
    steps, c, h, w = shape
    lane = lane_bits(input_bits)
    per_word = WORD_BITS // lane
    wpf = words_per_frame(c, h, w, input_bits)
    words = np.asarray(words, dtype=np.uint64).reshape(steps, wpf, 1)
    shifts = np.arange(per_word, dtype=np.uint64) * np.uint64(lane)
    lanes = (words >> shifts) & np.uint64((1 << lane) - 1)
    return lanes.reshape(steps, -1)[:, :c * h * w].reshape(shape).astype(np.int64)


@dataclass
class CoreOutput:
    scores: np.ndarray            # [classes] int64
    spike_counts: dict[str, int]  # per spiking layer, manifest order
    cycles: int
    saturations: int
    status: int

    @property
    def errors(self) -> list[str]:
        return decode_status(self.status & STATUS_ERRORS)


def output_words(classes: int, n_layers: int) -> int:
    return classes + n_layers + 3


def pack_output(scores, spike_counts: list[int], cycles: int, saturations: int, status: int) -> np.ndarray:
    """The output stream's words (what the core sends); used by models and testbenches."""
    words = [int(s) & 0xFFFFFFFF for s in scores] + [min(int(c), 0xFFFFFFFF) for c in spike_counts]
    words += [min(int(cycles), 0xFFFFFFFF), min(int(saturations), 0xFFFFFFFF), int(status)]
    return np.array(words, dtype=np.uint32)


def unpack_output(words: np.ndarray, classes: int, layer_names: list[str]) -> CoreOutput:
    words = np.asarray(words, dtype=np.uint32)
    expected = output_words(classes, len(layer_names))
    if words.size != expected:
        raise ValueError(f"output packet of {words.size} words; expected {expected} "
                         f"({classes} scores + {len(layer_names)} spike counts + cycles, saturations, status)")
    o = unpack_outputs(words[None], classes, len(layer_names))       # one layout, decoded in one place
    counts = {n: int(v) for n, v in zip(layer_names, o.spike_counts[0])}
    return CoreOutput(o.scores[0], counts, int(o.cycles[0]), int(o.saturations[0]), int(o.status[0]))


# --------------------------------------------------------------------------- fast helpers (host driver)
# Same stream format as pack_frames / unpack_output above, vectorised over a batch and
# writing straight into a caller's buffer (a pynq DMA buffer); tests prove them equal.
_LITTLE_ENDIAN = sys.byteorder == "little"      # Zynq's ARM cores and x86 are; else a portable path


def words_per_sample(steps: int, channels: int, height: int, width: int, input_bits: int) -> int:
    return steps * words_per_frame(channels, height, width, input_bits)


def _split_last(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A view of ``a`` with its last axis split into ``shape`` (never a copy: writes must land in ``a``)."""
    v = a.view()
    v.shape = a.shape[:-1] + shape
    return v


def pack_batch(x: np.ndarray, input_bits: int, out: np.ndarray | None = None) -> np.ndarray:
    """Samples [N, T, C, H, W] (or one [T, C, H, W]) -> uint32 words [N, words_per_sample].

    Word for word what :func:`pack_frames` makes for each sample. Values are NOT
    range-checked here: they must fit ``input_bits`` (the driver validates first).
    ``out``: uint32 [N, words_per_sample] whose rows are contiguous (e.g. rows of a
    DMA buffer with padded stride) is filled in place and returned."""
    x = np.asarray(x)
    if x.ndim == 4:
        x = x[None]
    if x.ndim != 5:
        raise ValueError(f"pack_batch takes samples [N, T, C, H, W]; got shape {x.shape}")
    n, steps = x.shape[:2]
    lane = lane_bits(input_bits)
    per_word = WORD_BITS // lane
    vals = x.reshape(n, steps, -1)
    m = vals.shape[2]
    wpf = -(-m // per_word)
    if out is None:
        out = np.empty((n, steps * wpf), dtype=np.uint32)
    if out.dtype != np.uint32 or out.shape != (n, steps * wpf) or (n and out.strides[1] != 4):
        raise ValueError(f"pack_batch: out must be uint32 [{n}, {steps * wpf}] with contiguous rows; "
                         f"got {out.dtype} {out.shape}")
    res = out
    if not _LITTLE_ENDIAN:                                 # portable path, one sample at a time
        for i in range(n):
            res[i] = pack_frames(x[i], input_bits)
        return res
    if lane >= 8:                                          # lanes are whole bytes: a typed view of the words
        lanes = _split_last(res.view(np.uint8 if lane == 8 else np.uint16), (steps, wpf * per_word))
        lanes[:, :, :m] = vals
        if m < wpf * per_word:
            lanes[:, :, m:] = 0
        return res
    # Sub-byte lanes (1, 2, 4 bits): bytes of 8 / lane values, built in place in the output words.
    if m == wpf * per_word and vals.dtype == np.uint8:
        v = vals
    else:
        v = np.zeros((n, steps, wpf * per_word), dtype=np.uint8)
        v[:, :, :m] = vals
    target = _split_last(res.view(np.uint8), (steps, wpf * 4))
    if lane == 1:
        target[...] = np.packbits(v, axis=-1, bitorder="little")
        return res
    per_byte = 8 // lane
    v = v.reshape(n, steps, wpf * 4, per_byte)
    target[...] = v[..., per_byte - 1]
    for k in range(per_byte - 2, -1, -1):                  # Horner: the first value ends in the low lane
        np.left_shift(target, np.uint8(lane), out=target)
        np.bitwise_or(target, v[..., k], out=target)
    return res


@dataclass
class CoreOutputs:
    """Output packets of N inferences (the batch form of :class:`CoreOutput`)."""
    scores: np.ndarray         # [N, classes] int64
    spike_counts: np.ndarray   # [N, layers] int64, manifest order
    cycles: np.ndarray         # [N] int64
    saturations: np.ndarray    # [N] int64
    status: np.ndarray         # [N] int64


def unpack_outputs(words: np.ndarray, classes: int, n_layers: int) -> CoreOutputs:
    """Output packets [N, output_words] -> :class:`CoreOutputs` (vectorised :func:`unpack_output`)."""
    words = np.asarray(words, dtype=np.uint32)
    expected = output_words(classes, n_layers)
    if words.ndim != 2 or words.shape[1] != expected:
        raise ValueError(f"output packets of shape {words.shape}; expected [N, {expected}] "
                         f"({classes} scores + {n_layers} spike counts + cycles, saturations, status)")
    scores = np.ascontiguousarray(words[:, :classes]).view(np.int32).astype(np.int64)
    tail = words[:, classes:].astype(np.int64)
    return CoreOutputs(scores, tail[:, :n_layers], tail[:, -3], tail[:, -2], tail[:, -1])
