"""The RTL twin at stream level: a Verilator model of rtl/syna_core.v driven through ctypes.

``RtlCore(bundle_dir).transfer(in_words, steps) -> out_words`` (the host driver's ``rtl`` backend);
``rtl_stage`` runs golden samples through it for the demo. Builds are cached per architecture under
``build/rtl/`` (or ``$SYNA_RTL_CACHE``).
"""
from __future__ import annotations

import ctypes
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from syna_contract import protocol as proto
from syna_contract.bundle import Bundle, load_bundle

from .limits import DEFAULT_LANES, RTL
from .lowering import SIM_WEIGHTS_BASE, WBUF_DEFAULT, WBUF_MODES, WEIGHTS_MODES, checked_ddr_image, ddr_weights, lower
from .rtl_config import check_axi_max_burst, generate
from .spill import MAPS_DEFAULT, SIM_SCRATCH_BASE, check_maps_mode, decode_scratch, spill_plan
from .rtl_toolchain import _Lock, build_harness, cache_root


@dataclass
class Transfer:
    """One inference through the RTL: the output packet, the spike-map tap and cycle counts."""
    out: np.ndarray                       # uint32 output packet
    cycles: int                           # clock cycles from ap_start to the last output word (harness clock)
    taps: np.ndarray                      # [n, 2 + ceil(CMAX/32)] uint32: layer, index, word
    timed_out: bool = False


class RtlCore:
    """The RTL twin at stream level (Verilator + sim/harness.cpp through ctypes).

    ``RtlCore(bundle_dir).transfer(in_words, steps) -> out_words`` (uint32), like
    ``host.emulator.CoreEmulator``; ``.model_hash32``; ``.run(in_words, steps)`` also
    returns the spike-map tap and the cycles (:class:`Transfer`). The first use of an
    architecture builds the model (about 20 s); later ones load the cached library.

    ``weights="ddr"`` (docs/rtl.md "Weights in DDR"): the core built with its conv / fc weights in
    DDR, the harness playing the DDR with the bundle's checked DDR image at ``weights_base``
    (programmed into WEIGHTS_BASE at open and after :meth:`reset`); ``.ddr`` the tile plan,
    ``.ddr_bytes_read`` the bytes the core has read since open. ``wbuf``: "single" (the default, one
    tile buffer: a tile loads after the previous one is computed) or "double" (two: the next tile loads
    while the current one computes). The harness's DDR answers at once,
    one beat per cycle, unless ``ddr_latency`` (cycles from an AR handshake to the burst's first beat,
    default 1) or ``ddr_bytes_per_cycle`` (a token bucket; None: no limit) say otherwise:
    :func:`board_ddr_timing` gives a board's. ``.stall_cycles``: cycles the compute waited for a tile.

    ``axi_max_burst``: the core's longest DDR read burst in beats (its syna_axi_rd MAX_BURST; the board's HP port,
    ``Board.hp_max_burst``: 16 on a Zynq-7000 AXI3 port; None: AXI4's 256). The harness's DDR is also an AXI port
    checker (sim/harness.cpp): a burst longer than ``port_max_burst`` beats (default ``axi_max_burst``), one that
    crosses 4 KiB, is misaligned, narrow or not INCR raises RuntimeError naming it (and every later call does);
    ``.ddr_bursts`` / ``.ddr_max_burst`` count the bursts and the longest one seen.

    ``maps="ddr"`` (with weights="ddr"; docs/rtl.md "Spike maps in DDR"): the input and every spike map in
    the scratch buffer (syna_hw/spill.py: ``.spill`` the plan) that the harness keeps at ``scratch_base``
    (programmed into SCRATCH_BASE at open and after :meth:`reset`; every byte ``scratch_fill`` at open),
    the accumulators / membranes ``acc_rows`` words. :meth:`read_scratch` / :meth:`scratch_maps` read the maps back,
    :meth:`ddr_wfault` makes the harness answer writes with an error; its write channels are checked as the
    read channels."""

    def __init__(self, bundle_dir: str | Path | Bundle, lanes: int = DEFAULT_LANES, max_cycles: int = 50_000_000,
                 weights: str = "rom", wbuf_rows: int | None = None, weights_base: int = SIM_WEIGHTS_BASE,
                 wbuf: str = WBUF_DEFAULT, ddr_latency: int = 1, ddr_bytes_per_cycle: float | None = None,
                 axi_max_burst: int | None = None, port_max_burst: int | None = None, maps: str = MAPS_DEFAULT,
                 acc_rows: int | None = None, scratch_base: int = SIM_SCRATCH_BASE, scratch_fill: int = 0xA5):
        if weights not in WEIGHTS_MODES:
            raise ValueError(f"weights {weights!r}; expected one of {', '.join(WEIGHTS_MODES)}")
        if wbuf not in WBUF_MODES:
            raise ValueError(f"wbuf {wbuf!r}; expected one of {', '.join(WBUF_MODES)}")
        if isinstance(ddr_latency, bool) or not isinstance(ddr_latency, int) or not 1 <= ddr_latency <= 1_000_000:
            raise ValueError(f"ddr_latency {ddr_latency!r}; expected cycles from 1 to 1,000,000")
        if ddr_bytes_per_cycle is not None and not ddr_bytes_per_cycle > 0:
            raise ValueError(f"ddr_bytes_per_cycle {ddr_bytes_per_cycle!r}; expected a positive number "
                             "(None: no limit)")
        if weights != "ddr" and (ddr_latency != 1 or ddr_bytes_per_cycle is not None):
            raise ValueError("ddr_latency / ddr_bytes_per_cycle model the DDR of weights='ddr'; this core has none")
        if weights != "ddr" and (axi_max_burst is not None or port_max_burst is not None):
            raise ValueError("axi_max_burst / port_max_burst limit the DDR bursts of weights='ddr'; this core has none")
        burst = check_axi_max_burst(proto.DDR_MAX_BURST_BEATS if axi_max_burst is None else axi_max_burst)
        port_burst = burst if port_max_burst is None else check_axi_max_burst(port_max_burst)
        self.bundle = bundle_dir if isinstance(bundle_dir, Bundle) else load_bundle(bundle_dir)
        self.weights = weights
        check_maps_mode(maps, weights, RTL, acc_rows)
        self.maps = maps
        hw = lower(self.bundle, lanes, target=RTL) if weights == "ddr" else None
        self._hw = hw
        self.spill = spill_plan(hw, wbuf_rows, acc_rows) if maps == "ddr" else None
        self.ddr = (self.spill.ddr if self.spill else ddr_weights(hw, wbuf_rows)) if weights == "ddr" else None
        self.image = checked_ddr_image(self.bundle, self.ddr) if self.ddr else None
        self.weights_base = int(weights_base)
        self.wbuf = wbuf
        tag = f"-ddr{self.ddr.wbuf_rows}-{wbuf}-b{burst}" if self.ddr else ""
        if self.spill:
            tag += f"-maps{self.spill.acc_rows}"
        key = hashlib.sha256(f"{self.bundle.model_hash}-{lanes}{tag}".encode()).hexdigest()[:16]
        self.rom_dir = cache_root() / "roms" / key
        with _Lock(cache_root() / "roms" / f"{key}.lock"):
            self.cfg = generate(self.bundle, self.rom_dir, lanes=lanes, weights=weights,
                                wbuf_rows=self.ddr.wbuf_rows if self.ddr else None, wbuf=wbuf,
                                axi_max_burst=burst if self.ddr else None, maps=maps,
                                acc_rows=self.spill.acc_rows if self.spill else None)
        self.lib_path = build_harness(self.cfg)
        self.lib = ctypes.CDLL(str(self.lib_path))
        L = self.lib
        L.syna_open.restype = ctypes.c_void_p
        L.syna_open.argtypes = [ctypes.c_char_p]
        L.syna_close.argtypes = [ctypes.c_void_p]
        L.syna_reset.argtypes = [ctypes.c_void_p, ctypes.c_int]
        L.syna_set_dense.argtypes = [ctypes.c_void_p, ctypes.c_int]
        L.syna_cycles.restype = ctypes.c_uint64
        L.syna_cycles.argtypes = [ctypes.c_void_p]
        L.syna_reg_write.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint32]
        L.syna_reg_read.restype = ctypes.c_int64
        L.syna_reg_read.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
        u32p = ctypes.POINTER(ctypes.c_uint32)
        L.syna_transfer.restype = ctypes.c_int
        L.syna_transfer.argtypes = [ctypes.c_void_p, u32p, ctypes.c_int, ctypes.c_int, ctypes.c_uint32, u32p,
                                    ctypes.c_int, u32p, ctypes.c_int, ctypes.c_int, ctypes.POINTER(ctypes.c_int),
                                    ctypes.c_uint64, ctypes.POINTER(ctypes.c_uint64), ctypes.c_int]
        L.syna_set_ddr.restype = ctypes.c_int
        L.syna_set_ddr.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint64, ctypes.c_int]
        L.syna_ddr_bytes.restype = ctypes.c_uint64
        L.syna_ddr_bytes.argtypes = [ctypes.c_void_p]
        L.syna_ddr_bad.restype = ctypes.c_uint64
        L.syna_ddr_bad.argtypes = [ctypes.c_void_p]
        L.syna_ddr_fault.restype = ctypes.c_int
        L.syna_ddr_fault.argtypes = [ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint64, ctypes.c_int]
        L.syna_set_ddr_timing.restype = ctypes.c_int
        L.syna_set_ddr_timing.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint64]
        L.syna_stall_cycles.restype = ctypes.c_uint64
        L.syna_stall_cycles.argtypes = [ctypes.c_void_p]
        L.syna_set_ddr_port.restype = ctypes.c_int
        L.syna_set_ddr_port.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
        L.syna_ddr_violation.restype = ctypes.c_char_p
        L.syna_ddr_violation.argtypes = [ctypes.c_void_p]
        L.syna_ddr_bursts.restype = ctypes.c_uint64
        L.syna_ddr_bursts.argtypes = [ctypes.c_void_p]
        L.syna_ddr_max_beats.restype = ctypes.c_uint32
        L.syna_ddr_max_beats.argtypes = [ctypes.c_void_p]
        L.syna_set_scratch.restype = ctypes.c_int
        L.syna_set_scratch.argtypes = [ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint64, ctypes.c_int]
        L.syna_scratch_read.restype = ctypes.c_int
        L.syna_scratch_read.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint64]
        L.syna_ddr_wfault.restype = ctypes.c_int
        L.syna_ddr_wfault.argtypes = [ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint64, ctypes.c_int]
        L.syna_ddr_wbytes.restype = ctypes.c_uint64
        L.syna_ddr_wbytes.argtypes = [ctypes.c_void_p]
        L.syna_ddr_wbursts.restype = ctypes.c_uint64
        L.syna_ddr_wbursts.argtypes = [ctypes.c_void_p]
        L.syna_scratch_rbytes.restype = ctypes.c_uint64
        L.syna_scratch_rbytes.argtypes = [ctypes.c_void_p]
        self._h = L.syna_open(str(self.rom_dir).encode())
        if not self._h:
            raise RuntimeError(f"RTL model could not open its ROM directory {self.rom_dir}")
        self.ddr_at = self.weights_base                          # where the harness's memory holds the image
        if self.ddr is not None:
            self.load_ddr(self.image)
            bw = 0 if ddr_bytes_per_cycle is None else max(1, round(ddr_bytes_per_cycle * 65536))
            if L.syna_set_ddr_timing(self._h, ddr_latency, bw) != 0:
                raise RuntimeError(f"the harness refused the DDR timing (latency {ddr_latency})")
            self.ddr_latency, self.ddr_bytes_per_cycle = ddr_latency, ddr_bytes_per_cycle
            if L.syna_set_ddr_port(self._h, port_burst) != 0:
                raise RuntimeError(f"the harness refused a port of {port_burst}-beat bursts")
            self.axi_max_burst, self.port_max_burst = burst, port_burst
            self.scratch_base = int(scratch_base)
            if self.spill is not None:
                if L.syna_set_scratch(self._h, self.scratch_base, self.spill.scratch_bytes, int(scratch_fill)) != 0:
                    raise ValueError(f"scratch_fill {scratch_fill!r}; expected a byte 0..255")
            self._program_base()
        self.model_hash32 = self.cfg.model_hash32
        self.layers = self.cfg.spiking
        self.classes = self.cfg.arch["NCLS"]
        self.out_words = self.classes + len(self.layers) + 3
        self.tap_u32 = 2 + -(-self.cfg.arch["CMAX"] // 32)
        spec = self.bundle.input_spec
        # a DDR layer of several tiles writes each of its spike words once per tile
        tiles = {l.name: l.tiles for l in self.ddr.layers} if self.ddr else {}
        self.tap_cap = sum(spec["steps"] * l.out_shape[1] * l.out_shape[2] * tiles.get(l.name, 1)
                           for l in self.bundle.descriptors if l.spiking) + 16
        self.max_cycles = max_cycles

    def close(self) -> None:
        if getattr(self, "_h", None):
            self.lib.syna_close(self._h)
            self._h = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    # ------------------------------------------------------------------ registers
    def _check_port(self) -> None:
        """RuntimeError if the core has broken an AXI rule on its DDR read port (the harness's checks)."""
        msg = self.lib.syna_ddr_violation(self._h)
        if msg:
            raise RuntimeError(msg.decode())

    def reg_read(self, offset: int) -> int:
        v = self.lib.syna_reg_read(self._h, offset)
        self._check_port()
        if v < 0:
            raise RuntimeError(f"AXI4-Lite read of 0x{offset:02x} did not complete")
        return int(v)

    def reg_write(self, offset: int, value: int) -> None:
        rc = self.lib.syna_reg_write(self._h, offset, value & 0xFFFFFFFF)
        self._check_port()
        if rc != 0:
            raise RuntimeError(f"AXI4-Lite write of 0x{offset:02x} did not complete")

    def reset(self, cycles: int = 4) -> None:
        """Pulse ap_rst_n (the core's state; memories keep their contents). A DDR core's WEIGHTS_BASE is
        programmed again, as a host would."""
        self.lib.syna_reset(self._h, cycles)
        self._check_port()
        if self.ddr is not None:
            self._program_base()

    def _program_base(self) -> None:
        self.reg_write(proto.REG_WEIGHTS_BASE, self.weights_base & 0xFFFFFFFF)
        self.reg_write(proto.REG_WEIGHTS_BASE + 4, self.weights_base >> 32)
        if self.spill is not None:
            self.reg_write(proto.REG_SCRATCH_BASE, self.scratch_base & 0xFFFFFFFF)
            self.reg_write(proto.REG_SCRATCH_BASE + 4, self.scratch_base >> 32)

    # ------------------------------------------------------------------ maps in DDR: the scratch buffer
    def read_scratch(self) -> np.ndarray:
        """The harness's scratch buffer (uint8, ``.spill.scratch_bytes``) as the core left it (the host
        backends decode it with ``syna_hw.spill.decode_scratch``)."""
        if self.spill is None:
            raise ValueError("read_scratch: this core keeps its spike maps on chip (maps='chip')")
        buf = np.zeros(self.spill.scratch_bytes, dtype=np.uint8)
        if self.lib.syna_scratch_read(self._h, buf.ctypes.data, 0, buf.size) != 0:
            raise RuntimeError("the harness could not read its scratch buffer")
        return buf

    def scratch_maps(self) -> dict[str, np.ndarray]:
        """The scratch buffer decoded (``syna_hw.spill.decode_scratch``): :data:`INPUT` -> the received words
        ``[T, WPF]``, every spiking layer -> its map ``[T, C, Ho, Wo]``."""
        return decode_scratch(self._hw, self.read_scratch())

    def scratch_padding(self) -> dict[str, int]:
        """Per spiking layer, the bits its scratch map holds for channels >= C (the spill layout: 0)."""
        buf = self.read_scratch()
        out = {}
        for l in self._hw.layers:
            m = self.spill.maps[l.name]
            w = buf[m.offset:m.offset + m.nbytes].view("<u4").reshape(-1, m.pos_words)
            bits = np.unpackbits(w.view(np.uint8).reshape(w.shape[0], -1), axis=-1, bitorder="little")
            out[l.name] = int(bits[:, l.cout:].sum())
        return out

    def ddr_wfault(self, lo: int, hi: int, resp: int = 2) -> None:
        """Fault injection on the write side: a burst with a beat at a byte address in [lo, hi) is answered
        BRESP = ``resp`` (2 SLVERR, 3 DECERR; 0 clears)."""
        if self.lib.syna_ddr_wfault(self._h, lo, hi, resp) != 0:
            raise ValueError(f"BRESP {resp}; expected 0..3")

    @property
    def ddr_bytes_written(self) -> int:
        """Bytes the core has written to the scratch buffer since open (strobed bytes)."""
        return int(self.lib.syna_ddr_wbytes(self._h))

    @property
    def scratch_bytes_written(self) -> int:
        """Bytes written to the scratch buffer since open (= :attr:`ddr_bytes_written`; the HLS model's name)."""
        return self.ddr_bytes_written

    @property
    def scratch_bytes_read(self) -> int:
        """Bytes the core has read from the scratch buffer since open (:attr:`ddr_bytes_read` counts the
        image's only)."""
        return int(self.lib.syna_scratch_rbytes(self._h))

    @property
    def ddr_write_bursts(self) -> int:
        """AXI write bursts (AW handshakes) since open."""
        return int(self.lib.syna_ddr_wbursts(self._h))

    def load_ddr(self, data, at: int | None = None) -> None:
        """The harness's DDR: ``data`` (the bundle's image, or whatever a host's buffer holds, any size) at
        byte address ``at`` (None: where it was), nothing else; WEIGHTS_BASE is left as it is."""
        if self.ddr is None:
            raise ValueError("load_ddr: this core keeps its weights on chip (weights='rom')")
        buf = np.ascontiguousarray(np.frombuffer(data, dtype=np.uint8) if isinstance(data, (bytes, bytearray))
                                   else np.asarray(data, dtype=np.uint8).reshape(-1))
        at = self.ddr_at if at is None else int(at)
        if self.lib.syna_set_ddr(self._h, buf.ctypes.data, buf.size, at, self.cfg.arch["GMEM_DW"] // 8) != 0:
            raise RuntimeError(f"the harness refused a DDR port of {self.cfg.arch['GMEM_DW']} bits")
        self._keep_ddr, self.ddr_at = buf, at

    def ddr_fault(self, lo: int, hi: int, resp: int = 2) -> None:
        """Fault injection: the harness answers every beat at a byte address in [lo, hi) with RRESP = ``resp``
        (2 SLVERR, 3 DECERR; 0 clears), as an interconnect or memory controller would."""
        if self.lib.syna_ddr_fault(self._h, lo, hi, resp) != 0:
            raise ValueError(f"RRESP {resp}; expected 0..3")

    @property
    def ddr_bytes_read(self) -> int:
        """Bytes of the DDR image the core has read since open (the harness counts every beat)."""
        return int(self.lib.syna_ddr_bytes(self._h))

    def ddr_stats(self) -> tuple[int, int]:
        """(bytes read, beats refused outside the image) since the last call (the host backends' counter)."""
        got, bad = self.ddr_bytes_read, self.ddr_beats_refused
        prev = getattr(self, "_ddr_seen", (0, 0))
        self._ddr_seen = (got, bad)
        return got - prev[0], bad - prev[1]

    @property
    def ddr_bursts(self) -> int:
        """AXI read bursts (AR handshakes) the core has requested since open."""
        return int(self.lib.syna_ddr_bursts(self._h))

    @property
    def ddr_max_burst(self) -> int:
        """The longest AXI read burst (beats) the core has requested since open (0: none)."""
        return int(self.lib.syna_ddr_max_beats(self._h))

    @property
    def stall_cycles(self) -> int:
        """Cycles since open the compute waited for a weight tile's load (the core's dbg_stall, S_TLD)."""
        return int(self.lib.syna_stall_cycles(self._h))

    @property
    def ddr_beats_refused(self) -> int:
        """Beats the harness answered with SLVERR (outside the image)."""
        return int(self.lib.syna_ddr_bad(self._h))

    def set_dense(self, dense: bool) -> None:
        """Measurement only: process every input (no zero skipping)."""
        self.lib.syna_set_dense(self._h, int(bool(dense)))

    @property
    def clock(self) -> int:
        return int(self.lib.syna_cycles(self._h))

    # ------------------------------------------------------------------ inference
    def run(self, in_words, steps: int, tlast: bool = True, max_cycles: int | None = None,
            stop_after_in: int = -1) -> Transfer:
        words = np.ascontiguousarray(np.asarray(in_words, dtype=np.uint32).ravel())
        out = np.zeros(self.out_words + 64, dtype=np.uint32)
        tap = np.zeros((self.tap_cap, self.tap_u32), dtype=np.uint32)
        ntap = ctypes.c_int(0)
        cyc = ctypes.c_uint64(0)
        u32p = ctypes.POINTER(ctypes.c_uint32)
        n = self.lib.syna_transfer(self._h, words.ctypes.data_as(u32p), int(words.size), int(bool(tlast)),
                                   int(steps) & 0xFFFFFFFF, out.ctypes.data_as(u32p), int(out.size),
                                   tap.ctypes.data_as(u32p), self.tap_u32, self.tap_cap, ctypes.byref(ntap),
                                   int(max_cycles or self.max_cycles), ctypes.byref(cyc), int(stop_after_in))
        self._check_port()
        if n == -2:
            raise RuntimeError("the core did not accept the AXI4-Lite writes (STEPS, CTRL)")
        timed_out = n < 0
        n = max(n, 0)
        return Transfer(out[:min(n, out.size)].copy(), int(cyc.value), tap[:min(ntap.value, self.tap_cap)].copy(),
                        timed_out)

    def transfer(self, in_words: np.ndarray, steps: int) -> np.ndarray:
        """One inference at stream level: input packet words -> output packet words (uint32)."""
        r = self.run(in_words, steps)
        if r.timed_out:
            raise RuntimeError(f"the RTL core did not finish within {self.max_cycles} cycles")
        return r.out

    # ------------------------------------------------------------------ spike maps from the tap
    def spike_maps(self, taps: np.ndarray) -> dict[str, np.ndarray]:
        """Tap records -> {layer: [T, C, H, W] uint8} (words a layer wrote; missing words stay 0)."""
        T = self.bundle.input_spec["steps"]
        maps = {}
        nw = self.tap_u32 - 2
        for li, l in enumerate(self.bundle.descriptors):
            if not l.spiking:
                continue
            c, h, w = l.out_shape
            m = np.zeros((T * h * w, c), dtype=np.uint8)
            rec = taps[taps[:, 0] == li]
            if rec.size:
                idx = rec[:, 1].astype(np.int64)
                ok = idx < T * h * w
                bits = np.unpackbits(rec[ok, 2:2 + nw].astype("<u4").view(np.uint8), axis=1, bitorder="little")
                m[idx[ok]] = bits[:, :c]
            maps[l.name] = m.reshape(T, h, w, c).transpose(0, 3, 1, 2)
        return maps


# The DDR read latency (AR to first beat) through an HP port that the benchmarks and make demo-paper give the
# harness: an assumption, not a board measurement (the one place for it).
DDR_LATENCY_NS = 150.0


def board_ddr_timing(board: str, clock_mhz: float | None = None, latency_ns: float | None = None) -> dict:
    """RtlCore's DDR kwargs for ``board`` (syna_contract/boards.py) with the core at ``clock_mhz``
    (default the board's clock): ``ddr_bytes_per_cycle`` = ``Board.ddr_bytes_per_cycle`` (HP port width,
    port clock cap, assumed efficiency) and ``axi_max_burst`` = ``Board.hp_max_burst`` (the longest burst the
    HP port takes: the core is built for it and the harness checks it); with ``latency_ns`` (e.g.
    :data:`DDR_LATENCY_NS`, assumed) also ``ddr_latency``, that read latency in core clock cycles; without it the
    latency is left at the harness default (no board figure)."""
    import math
    from syna_contract.boards import get_board
    b = get_board(board)
    out = dict(ddr_bytes_per_cycle=b.ddr_bytes_per_cycle(clock_mhz), axi_max_burst=b.hp_max_burst)
    if latency_ns is not None:
        out["ddr_latency"] = max(1, math.ceil(latency_ns * (clock_mhz or b.clock_mhz) / 1000))
    return out


def check_golden_sample(core: RtlCore, g, i: int) -> tuple[bool, int, list[str]]:
    """Golden sample ``i`` (``g``: ``bundle.golden()``) through ``core``: (scores, spike counts and every layer's
    spike map at every step equal golden.npz and no error status, the core's cycle count, the layers that
    differ)."""
    spec = core.bundle.input_spec
    r = core.run(proto.pack_frames(g["input"][i], spec["bits"]), spec["steps"])
    o = proto.unpack_output(r.out, core.classes, core.layers)
    maps = core.spike_maps(r.taps)
    gold = {name: g[f"spikes/{name}"][i] for name in core.layers}
    bad = [name for name, gm in gold.items()
           if o.spike_counts[name] != int(gm.sum()) or not np.array_equal(maps[name], gm)]
    good = not r.timed_out and np.array_equal(o.scores, g["scores"][i]) and o.errors == [] and not bad
    return good, o.cycles, bad


def rtl_stage(bundle_dir: str | Path, samples: int = 4, lanes: int = DEFAULT_LANES, weights: str = "rom",
              max_cycles: int = 50_000_000, **options) -> dict:
    """For the demos: run the first ``samples`` golden inputs through the RTL twin (``weights="ddr"``: the
    weights-in-DDR build reading the bundle's DDR image, ``make demo-paper``; ``options`` go to
    :class:`RtlCore`: ``wbuf_rows``, ``maps="ddr"`` with ``acc_rows``, the DDR timing, ...).

    Returns ``bitexact`` (scores, spike counts and every layer's spike map at every
    step equal golden.npz, no error status, no DDR beat refused; maps in DDR: the scratch buffer left by
    the last sample holds its golden maps too), ``cycles_per_inference`` (mean, from ap_start to the last
    output word), ``stall_cycles_per_inference``, ``ddr_bytes_per_inference`` (weights read; 0 on chip),
    with maps in DDR ``scratch_read_bytes_per_inference`` / ``scratch_written_bytes_per_inference``, and
    per-sample details."""
    core = RtlCore(bundle_dir, lanes=lanes, weights=weights, max_cycles=max_cycles, **options)
    g = core.bundle.golden()
    n = min(samples, len(g["input"]))
    ok, cycles, mism = True, [], []
    for i in range(n):
        good, cyc, bad = check_golden_sample(core, g, i)
        mism += [(i, name) for name in bad]
        ok &= good
        cycles.append(cyc)
    ddr_bytes = core.ddr_bytes_read if core.ddr is not None else 0
    ok &= core.ddr_beats_refused == 0 if core.ddr is not None else True
    out = dict(lanes=lanes, weights=weights, maps=options.get("maps", "chip"))
    if out["maps"] == "ddr" and n:
        maps = core.scratch_maps()
        bad = [name for name in core.layers if not np.array_equal(maps[name], g[f"spikes/{name}"][n - 1])]
        mism += [(n - 1, f"scratch:{name}") for name in bad]
        ok &= not bad
        out.update(scratch_read_bytes_per_inference=core.scratch_bytes_read // n,
                   scratch_written_bytes_per_inference=core.scratch_bytes_written // n)
    stall = core.stall_cycles if core.ddr is not None else 0
    core.close()
    return dict(out, bitexact=bool(ok), samples=n, cycles_per_inference=float(np.mean(cycles)) if cycles else 0.0,
                cycles=cycles, mismatches=mism[:20], stall_cycles_per_inference=stall / n if n else 0.0,
                ddr_bytes_per_inference=ddr_bytes // n if n else 0)

