"""Backends of the host driver, behind one interface and chosen by name.

=============  ===========================================================================
``pynq``       the board: ``pynq.Overlay``, ``pynq.allocate``, AXI DMA send/recv channels,
               AXI4-Lite registers at the offsets of :mod:`syna_contract.protocol` (checked against
               the register map of the ``.hwh`` where the overlay has one)
``reference``  the core emulated at stream level with the numpy integer reference
               (:class:`host.emulator.CoreEmulator`)
``hls``        ``syna_hw.hls_core.HlsCore(bundle_dir)`` (the HLS core's C simulation)
``rtl``        ``syna_hw.rtl_core.RtlCore(bundle_dir)`` (the RTL twin's simulation)
=============  ===========================================================================

Weights in DDR (``weights="ddr"``, :mod:`host.ddr`): ``pynq`` copies the bundle's DDR image into
contiguous memory and programs WEIGHTS_BASE (the overlay's .hwh says whether its core is a DDR-mode
build); ``hls`` runs the DDR-mode C-simulation on the image; ``reference`` checks the image and
computes as always; ``rtl`` runs the DDR-mode RTL twin (its Verilator harness plays the DDR).

Spike maps in DDR (``maps="ddr"``, with ``weights="ddr"``; docs/core-interface.md "Spike maps in DDR"):
``pynq`` also allocates the core's scratch buffer (its size: ``host.ddr.scratch_bytes``) and programs
SCRATCH_BASE (the .hwh's ``scratch_base_1`` says the core is such a build); ``hls`` / ``rtl`` run the
maps-in-DDR simulations (``acc_rows``: their accumulator depth, default the generator's); ``reference``
computes as always. :meth:`Backend.read_maps` reads the scratch buffer back after an inference: every
layer's spike map of the last sample, as the core wrote it.

Every backend owns an input and an output buffer (rows of 64-byte aligned 32-bit
words: one input packet, one output packet per sample) and ``execute(n, steps)``
runs the first ``n`` rows. The driver (:mod:`host.core`) packs into and unpacks
from those buffers, so on the board the frames are packed straight into DMA memory.
numpy only; pynq is imported when the pynq backend is opened on a real overlay.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from syna_contract.bundle import Bundle

from syna_contract import protocol as P
from . import ddr
from .emulator import CoreEmulator, n_classes, spiking_layers
from .errors import (BoardNotFoundError, DdrWeightsError, DmaError, DmaTimeoutError, InterfaceError,
                     ModelMismatchError, StageNotBuiltError)

ROW_ALIGN_WORDS = 16          # 64 bytes: DMA data-width alignment and one cache line per row start
FRAMING_ERRORS = P.STATUS_FRAME_SHORT | P.STATUS_FRAME_LONG    # after these the pynq backend resets core + DMA


def _row_words(words: int) -> int:
    return -(-words // ROW_ALIGN_WORDS) * ROW_ALIGN_WORDS


class Backend:
    """What the driver needs from a backend. Subclasses set ``name`` and implement ``_run``."""

    name = "?"
    simulated = True
    weights = "rom"                # "ddr": the core reads its weights from the bundle's DDR image
    ddr_lanes: int | None = None   # DDR mode: the P of the image (and of the core)
    ddr_bytes_counted = False      # DDR mode: True when execute() counts the bytes the core reads
    maps = "chip"                  # "ddr": the core keeps its input and spike maps in a DDR scratch buffer

    def __init__(self, bundle: Bundle):
        self.bundle = bundle
        spec = bundle.input_spec
        self.steps = spec["steps"]
        self.in_words = P.words_per_sample(spec["steps"], spec["channels"], spec["height"], spec["width"],
                                           spec["bits"])
        self.layers = spiking_layers(bundle)
        self.classes = n_classes(bundle)
        self.out_words = P.output_words(self.classes, len(self.layers))
        self.expected_hash32 = P.model_hash32(bundle.model_hash)
        self.in_buf: np.ndarray | None = None
        self.out_buf: np.ndarray | None = None
        self.resets = 0
        self.ddr_bytes_read = 0    # DDR mode, where counted: bytes the core read since opening
        self._ddr_modelled: int | None = None

    # ---------------------------------------------------------------- buffers
    def _allocate(self, shape: tuple[int, int]) -> np.ndarray:
        return np.zeros(shape, dtype=np.uint32)

    def buffers(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Input rows [>=n, >=in_words] and output rows [>=n, >=out_words], reused while big enough."""
        if self.in_buf is None or self.in_buf.shape[0] < n:
            self._free()
            self.in_buf = self._allocate((n, _row_words(self.in_words)))
            self.out_buf = self._allocate((n, _row_words(self.out_words)))
        return self.in_buf, self.out_buf

    def _free(self) -> None:
        for b in (self.in_buf, self.out_buf):
            if b is not None and hasattr(b, "freebuffer"):
                b.freebuffer()
        self.in_buf = self.out_buf = None

    # ---------------------------------------------------------------- running
    def execute(self, n: int, steps: int) -> None:
        """Run the first ``n`` input rows; output packets land in the output rows."""
        raise NotImplementedError

    def reported_hash32(self) -> int:
        raise NotImplementedError

    def check_model(self) -> None:
        """Refuse a core built for another bundle (MODEL_HASH register vs the bundle's MODEL_HASH32)."""
        got = self.reported_hash32()
        if got != self.expected_hash32:
            raise ModelMismatchError(
                f"{self.name} core reports MODEL_HASH 0x{got:08x} but the bundle {self.bundle.root} has "
                f"MODEL_HASH32 0x{self.expected_hash32:08x} (model_hash {self.bundle.model_hash[:16]}...): "
                "the bitstream was built from another bundle; load the matching overlay or bundle")

    def reset(self) -> None:
        self.resets += 1

    def registers(self) -> dict[str, int]:
        return {}

    def ddr_bytes_per_inference(self) -> int | None:
        """DDR mode: the weight bytes one inference reads by the HLS core's tiling (modelled; the C-sim's
        counter is tested equal to it); None for an on-chip core."""
        if self.weights != "ddr":
            return None
        if self._ddr_modelled is None:
            self._ddr_modelled = ddr.modelled_bytes_per_inference(self.bundle, self.ddr_lanes,
                                                                  getattr(self, "wbuf_rows", None))
        return self._ddr_modelled

    def info(self) -> dict:
        d = {"backend": self.name, "simulated": self.simulated, "weights": self.weights, "maps": self.maps}
        if self.weights == "ddr":
            d.update(ddr_lanes=self.ddr_lanes, ddr_bytes_per_inference=self.ddr_bytes_per_inference())
        if self.maps == "ddr":
            d.update(scratch_bytes=ddr.scratch_bytes(self.bundle, self.ddr_lanes))
        return d

    def read_maps(self) -> dict[str, np.ndarray]:
        """Maps in DDR: the scratch buffer read back after the last inference, decoded
        (``syna_hw.spill.decode_scratch``: ``"input"`` -> the received words [T, words per frame], every
        spiking layer -> its spike map [T, C, Ho, Wo] of the last sample). Refused for a core that keeps its
        maps on chip, and where the backend has no scratch buffer (the reference)."""
        if self.maps != "ddr":
            raise ValueError(f"read_maps: the {self.name} core keeps its spike maps on chip (maps='chip')")
        data = self._scratch_bytes()
        if data is None:
            raise ValueError(f"read_maps: the {self.name} backend has no scratch buffer to read (it computes with "
                             "the reference); use the hls, rtl or pynq backend")
        from syna_hw.limits import HLS
        from syna_hw.lowering import lower
        from syna_hw.spill import decode_scratch
        return decode_scratch(lower(self.bundle, self.ddr_lanes, target=HLS), data)

    def _scratch_bytes(self) -> np.ndarray | None:
        return None

    def close(self) -> None:
        self._free()


class ModelBackend(Backend):
    """A backend around a Python model of the core: ``.transfer(words, steps) -> words`` and ``.model_hash32``."""

    def __init__(self, bundle: Bundle, model, weights: str = "rom", lanes: int | None = None):
        super().__init__(bundle)
        self.model = model
        self.weights, self.ddr_lanes = weights, lanes
        self.ddr_bytes_counted = weights == "ddr" and hasattr(model, "ddr_stats")

    def reported_hash32(self) -> int:
        h = getattr(self.model, "model_hash32", None)
        if h is None:
            raise InterfaceError(f"the {self.name} model has no model_hash32; expected the MODEL_HASH32 it was "
                                 "built for (first 32 bits of the bundle's model_hash)")
        return int(h)

    def execute(self, n: int, steps: int) -> None:
        ib, ob = self.in_buf, self.out_buf
        for i in range(n):
            out = np.asarray(self.model.transfer(ib[i, :self.in_words], steps), dtype=np.uint32).ravel()
            if out.size != self.out_words:
                raise InterfaceError(f"the {self.name} core sent an output packet of {out.size} words; expected "
                                     f"{self.out_words} ({self.classes} scores + {len(self.layers)} spike "
                                     "counts + cycles, saturations, status)")
            ob[i, :self.out_words] = out
        if self.ddr_bytes_counted:
            got, outside = self.model.ddr_stats()
            self.ddr_bytes_read += got
            if outside:
                raise DmaError(f"the {self.name} core read outside its DDR image ({outside} weight tiles (hls) "
                               "or AXI beats (rtl) refused)")


class ReferenceBackend(ModelBackend):
    """``weights="ddr"``: the bundle's DDR image is checked (:func:`host.ddr.bundle_image`: present,
    checksum, model hash, every value equal to the ROMs, P = ``lanes`` when given) and the reference
    computes as always: where the weights live does not change an integer (docs/numerics.md). So does
    ``maps="ddr"`` (the model must be one a maps-in-DDR core runs: ``syna_hw.spill.spill_plan``)."""

    name = "reference"

    def __init__(self, bundle: Bundle, *, weights: str | None = None, lanes: int | None = None,
                 wbuf_rows: int | None = None, maps: str | None = None, acc_rows: int | None = None, **_):
        ddr.check_mode(weights, self.name)
        ddr.check_maps_mode(maps, weights or "rom", self.name)
        if weights == "ddr":
            lanes = ddr.bundle_image(bundle, lanes).lanes
            self.wbuf_rows = wbuf_rows
        if maps == "ddr":
            _check_spill(bundle, lanes, wbuf_rows, acc_rows)
            self.acc_rows = acc_rows
        super().__init__(bundle, CoreEmulator(bundle), weights or "rom", lanes if weights == "ddr" else None)
        self.maps = maps or "chip"


def _check_spill(bundle: Bundle, lanes: int, wbuf_rows: int | None, acc_rows: int | None) -> None:
    """What a maps-in-DDR core refuses (attention, an ``acc_rows`` too small), refused the same way (ValueError)."""
    from syna_hw.limits import HLS
    from syna_hw.lowering import lower
    from syna_hw.spill import spill_plan
    spill_plan(lower(bundle, lanes, target=HLS), wbuf_rows, acc_rows)


def _stage_model(bundle: Bundle, stage: str, load_core, **options):
    """Open a simulation core: ``load_core()`` imports and returns its class (HlsCore / RtlCore), which is
    then opened on the bundle (with ``options``); any failure becomes :class:`StageNotBuiltError` naming
    the stage."""
    try:
        open_core = load_core()
    except ImportError as e:
        raise StageNotBuiltError(f"the {stage} stage cannot be imported: {e}; use backend='reference' "
                                 "meanwhile") from e
    try:
        return open_core(str(bundle.root), **options)
    except Exception as e:
        raise StageNotBuiltError(f"the {stage} stage could not open bundle {bundle.root}: "
                                 f"{type(e).__name__}: {e}") from e


class _SimCoreBackend(ModelBackend):
    """A simulated core opened from ``syna_hw`` (:meth:`load_core` imports its class). ``weights="ddr"``: the core
    generated with its weights in DDR reads the bundle's DDR image (P = ``lanes``, default the image's;
    ``wbuf_rows``: the weight buffer, default the generator's); the bytes it reads are counted."""

    stage = ""
    lanes_on_chip = False            # pass ``lanes`` to an on-chip core too

    @staticmethod
    def load_core():
        raise NotImplementedError

    def __init__(self, bundle: Bundle, *, weights: str | None = None, lanes: int | None = None,
                 wbuf_rows: int | None = None, maps: str | None = None, acc_rows: int | None = None, **_):
        ddr.check_mode(weights, self.name)
        ddr.check_maps_mode(maps, weights or "rom", self.name)
        options = {"lanes": lanes} if self.lanes_on_chip and lanes is not None else {}
        if weights == "ddr":
            lanes = ddr.bundle_image(bundle, lanes).lanes      # the same refusals as every backend, unwrapped
            options = dict(lanes=lanes, weights="ddr", wbuf_rows=wbuf_rows)
            self.wbuf_rows = wbuf_rows
        if maps == "ddr":
            _check_spill(bundle, lanes, wbuf_rows, acc_rows)    # the same refusals as every backend, unwrapped
            options.update(maps="ddr", acc_rows=acc_rows)
            self.acc_rows = acc_rows
        model = _stage_model(bundle, self.stage, self.load_core, **options)
        super().__init__(bundle, model, weights or "rom", lanes if weights == "ddr" else None)
        self.maps = maps or "chip"

    def _scratch_bytes(self) -> np.ndarray | None:
        return self.model.read_scratch()

    def ddr_bytes_per_inference(self) -> int | None:
        if self.weights != "ddr":
            return None
        return int(self.model.ddr.bytes_per_inference)       # what the generated core's tiling reads


class HlsBackend(_SimCoreBackend):
    """The HLS core's C-simulation; in DDR mode it reads the image through the m_axi port."""

    name, stage = "hls", "HLS core"
    lanes_on_chip = True

    @staticmethod
    def load_core():
        from syna_hw.hls_core import HlsCore
        return HlsCore


class RtlBackend(_SimCoreBackend):
    """The RTL twin (Verilator); in DDR mode its harness plays the DDR with the image at WEIGHTS_BASE and
    counts the bytes its AXI read port receives."""

    name, stage = "rtl", "RTL twin"

    @staticmethod
    def load_core():
        from syna_hw.rtl_core import RtlCore
        return RtlCore


# ============================================================================ the board
# Register names Vitis HLS writes into the .hwh for our s_axilite map, per protocol name.
HWH_NAMES = {"CTRL": ("CTRL",), "GIE": ("GIER", "GIE"), "IER": ("IP_IER", "IER"), "ISR": ("IP_ISR", "ISR"),
             "STEPS": ("steps",), "STATUS": ("status",), "CYCLES": ("cycles",),
             "SATURATIONS": ("saturations",), "MODEL_HASH": ("model_hash",), "VERSION": ("version",),
             "IDLE_TIMEOUT": ("idle_timeout",)}
# A DDR-mode core's WEIGHTS_BASE: Vitis HLS names the two s_axilite words of the 64-bit m_axi pointer
# scalar argument `weights_base` (interface version 3) weights_base_1 (bits 31..0) and weights_base_2
# (bits 63..32) in the .hwh (version 2's m_axi pointer `ddr`: ddr_1 / ddr_2).
HWH_DDR_NAMES = {"WEIGHTS_BASE": ("weights_base_1", "weights_base", "ddr_1", "ddr"),
                 "WEIGHTS_BASE_HI": ("weights_base_2", "weights_base_hi", "ddr_2")}
# A maps-in-DDR core's SCRATCH_BASE (interface version 4): the 64-bit s_axilite scalar `scratch_base`, in the .hwh
# scratch_base_1 (bits 31..0) and scratch_base_2 (bits 63..32).
HWH_SPILL_NAMES = {"SCRATCH_BASE": ("scratch_base_1", "scratch_base"), "SCRATCH_BASE_HI": ("scratch_base_2",
                                                                                           "scratch_base_hi")}
GMEM_DATA_WIDTH = "C_M_AXI_GMEM_DATA_WIDTH"   # the m_axi_gmem port's data width in the core IP's parameters
# the port's data width for an image row of ``bits`` bits, by the .hwh parameter that names it: the Vitis HLS
# IP's (one row) and the RTL twin's IP (GMEM_DW: one row, at least protocol.RTL_GMEM_MIN_BITS)
GMEM_WIDTH_PARAMS = {GMEM_DATA_WIDTH: lambda bits: bits, "GMEM_DW": lambda bits: max(P.RTL_GMEM_MIN_BITS, bits)}

DMA_TYPE = "xilinx.com:ip:axi_dma"
DMACR_RESET = 1 << 2
DMA_STATUS_ERRORS = {0x10: "DMA internal error (transfer length 0, or a packet longer than the buffer)",
                     0x20: "DMA slave error (cannot access the memory-mapped interface)",
                     0x40: "DMA decode error (invalid address)"}


def board_present() -> bool:
    """True on a PYNQ board image with pynq importable."""
    if not Path("/proc/device-tree/chosen/pynq_board").is_file():
        return False
    try:
        import pynq  # noqa: F401
    except ImportError:
        return False
    return True


def check_register_map(registers: dict | None, ddr_core: bool = False, spill_core: bool = False) -> dict:
    """Compare the .hwh register map of the core IP with protocol.py; return {name: offset} used
    (with WEIGHTS_BASE / WEIGHTS_BASE_HI for a DDR-mode core, ``ddr_core``, and SCRATCH_BASE /
    SCRATCH_BASE_HI for a maps-in-DDR core, ``spill_core``).

    A register the .hwh names at another offset is refused (a core built for another interface)."""
    expected = dict(P.REGISTERS, **(P.DDR_REGISTERS if ddr_core else {}), **(P.SPILL_REGISTERS if spill_core else {}))
    used = dict(expected)
    if not registers:
        return used
    by_name = {k.lower(): v for k, v in registers.items()}
    wrong = []
    for name, offset in expected.items():
        for alias in {**HWH_NAMES, **HWH_DDR_NAMES, **HWH_SPILL_NAMES}[name]:
            entry = by_name.get(alias.lower())
            if entry is None:
                continue
            got = int(entry["address_offset"]) if isinstance(entry, dict) else int(entry)
            if got != offset:
                wrong.append(f"{name} at 0x{got:02x} in the .hwh, 0x{offset:02x} in syna_contract/protocol.py")
            break
    if wrong:
        raise InterfaceError("the core's register map (.hwh) differs from the interface: " + "; ".join(wrong))
    return used


def core_weights_mode(ip: dict) -> str | None:
    """What the overlay's metadata (.hwh, through ``ip_dict``) says of the core: ``"ddr"`` when its
    register map has WEIGHTS_BASE (``weights_base_1``) or its parameters an ``m_axi_gmem`` port, ``"rom"`` when it
    has a register map without them, None when there is no metadata to tell."""
    regs = {k.lower() for k in (ip.get("registers") or {})}
    params = {str(k).upper() for k in (ip.get("parameters") or {})}
    if regs & {a.lower() for a in HWH_DDR_NAMES["WEIGHTS_BASE"]} or GMEM_DATA_WIDTH in params:
        return "ddr"
    return "rom" if regs else None


def core_maps_mode(ip: dict) -> str | None:
    """``"ddr"`` when the overlay's metadata gives the core a SCRATCH_BASE register (``scratch_base_1``: spike maps
    in DDR), ``"chip"`` when it has a register map without it, None when there is no metadata to tell."""
    regs = {k.lower() for k in (ip.get("registers") or {})}
    if regs & {a.lower() for a in HWH_SPILL_NAMES["SCRATCH_BASE"]}:
        return "ddr"
    return "chip" if regs else None


def _resolve(overlay, name: str):
    obj = overlay
    for part in name.split("/"):
        obj = getattr(obj, part)
    return obj


def _find_ip(ip_dict: dict, wanted: str | None, match, what: str) -> str:
    if wanted:
        if wanted not in ip_dict:
            raise InterfaceError(f"no IP {wanted!r} in the overlay; it has {sorted(ip_dict)}")
        return wanted
    names = [k for k, v in ip_dict.items() if match(k, v)]
    if len(names) != 1:
        raise InterfaceError(f"{'no' if not names else 'several'} {what} in the overlay ({names or sorted(ip_dict)}); "
                             f"name it with {'core_ip' if 'core' in what else 'dma_ip'}=...")
    return names[0]


def _is_core(name: str, d: dict) -> bool:
    regs = {k.lower() for k in (d.get("registers") or {})}
    return "model_hash" in regs or "syna" in str(d.get("type", "")).lower()


class PynqBackend(Backend):
    """The board through pynq: ``overlay`` is a ``pynq.Overlay`` or a path to a ``.bit`` (with its ``.hwh``).

    Seams for tests and special designs: ``allocate`` (default ``pynq.allocate``),
    ``reset_core`` (a callable that resets the core; default ``overlay.download()``,
    which reloads the bitstream), ``core_ip``/``dma_ip`` (names in ``overlay.ip_dict``;
    found by type when there is one of each).

    Weights in DDR: ``weights`` None takes the core's build from the .hwh (:func:`core_weights_mode`;
    on-chip when the overlay has no metadata), ``"ddr"`` / ``"rom"`` say it (refused when the .hwh says
    otherwise). A DDR-mode core gets the bundle's image copied once into ``allocate``'d contiguous
    memory and its address in WEIGHTS_BASE (again after every reset); ``lanes``: the core's P when known
    (else the image's, checked against the m_axi data width the .hwh gives); ``wbuf_rows``: the core's
    weight buffer (for the modelled DDR bytes; default the generator's).

    Spike maps in DDR: ``maps`` None takes the core's build from the .hwh (:func:`core_maps_mode`),
    ``"ddr"`` / ``"chip"`` say it (refused when the .hwh says otherwise). Such a core also gets a scratch
    buffer of ``host.ddr.scratch_bytes`` bytes, ``allocate``'d once, its address in SCRATCH_BASE (again
    after every reset); :meth:`read_maps` reads it back."""

    name = "pynq"
    simulated = False

    def __init__(self, bundle: Bundle, overlay=None, *, core_ip: str | None = None, dma_ip: str | None = None,
                 allocate=None, reset_core=None, timeout_s: float = 1.0, weights: str | None = None,
                 lanes: int | None = None, wbuf_rows: int | None = None, maps: str | None = None, **_):
        super().__init__(bundle)
        ddr.check_mode(weights, self.name)
        ddr.check_maps_mode(maps, weights, self.name)
        self.weights_buf = self.scratch_buf = None
        self.weights_base: int | None = None
        self.scratch_base: int | None = None
        self.wbuf_rows = wbuf_rows
        if overlay is None:
            raise BoardNotFoundError("the pynq backend needs an overlay: a path to the .bit (with its .hwh "
                                     "beside it) or a pynq.Overlay")
        if isinstance(overlay, (str, Path)):
            try:
                import pynq
            except ImportError:
                raise BoardNotFoundError("pynq is not installed here: the pynq backend runs on a PYNQ board "
                                         "image; use backend='reference' to simulate") from None
            if not Path(overlay).is_file():
                raise BoardNotFoundError(f"overlay {overlay} does not exist; expected the .bit with its .hwh")
            try:
                overlay = pynq.Overlay(str(overlay))
            except Exception as e:          # pynq's own errors: RuntimeError('No Devices Found') off a board, ...
                if not board_present():
                    raise BoardNotFoundError(
                        f"pynq could not open overlay {overlay} ({type(e).__name__}: {e}): this is not a PYNQ "
                        "board (no /proc/device-tree/chosen/pynq_board); use backend='reference' (or 'auto') "
                        "to simulate") from e
                raise InterfaceError(f"pynq could not load overlay {overlay} on this board ({type(e).__name__}: "
                                     f"{e}); expected a .bit built for this board with its .hwh beside it") from e
        self.overlay = overlay
        self._allocate_fn = allocate
        self._reset_core = reset_core
        self.timeout_s = float(timeout_s)
        ip_dict = overlay.ip_dict
        self.core_name = _find_ip(ip_dict, core_ip, _is_core, "SynA core IP")
        self.dma_name = _find_ip(ip_dict, dma_ip, lambda k, d: str(d.get("type", "")).startswith(DMA_TYPE),
                                 "AXI DMA")
        self.regmap_source = ".hwh" if ip_dict[self.core_name].get("registers") else "syna_contract/protocol.py"
        built = core_weights_mode(ip_dict[self.core_name])
        if weights is not None and built is not None and weights != built:
            raise DdrWeightsError(
                f"weights={weights!r}, but the overlay's core {self.core_name} is "
                f"{'a DDR-mode build (its .hwh has WEIGHTS_BASE / m_axi_gmem)' if built == 'ddr' else 'an on-chip build (its .hwh register map has no WEIGHTS_BASE)'}"
                f"; load the matching bitstream or leave weights=None")
        self.weights = weights or built or "rom"
        self.weights_source = "weights option" if weights else (".hwh" if built else "default (no .hwh: on chip)")
        built_maps = core_maps_mode(ip_dict[self.core_name])
        if maps is not None and built_maps is not None and maps != built_maps:
            raise DdrWeightsError(
                f"maps={maps!r}, but the overlay's core {self.core_name} keeps its spike maps "
                f"{'in DDR (its .hwh has SCRATCH_BASE)' if built_maps == 'ddr' else 'on chip (its .hwh register map has no SCRATCH_BASE)'}"
                "; load the matching bitstream or leave maps=None")
        self.maps = maps or built_maps or "chip"
        if self.maps == "ddr" and self.weights != "ddr":
            raise DdrWeightsError(f"the overlay's core {self.core_name} keeps its spike maps in DDR but its weights on "
                                  "chip: no such core is built (maps='ddr' needs weights='ddr')")
        self.reg = check_register_map(ip_dict[self.core_name].get("registers"), self.weights == "ddr",
                                      self.maps == "ddr")
        self.ip = _resolve(overlay, self.core_name)
        self.dma = _resolve(overlay, self.dma_name)
        self.send, self.recv = self.dma.sendchannel, self.dma.recvchannel
        if self.send is None or self.recv is None:
            raise InterfaceError(f"DMA {self.dma_name} lacks a {'send (MM2S)' if self.send is None else 'recv (S2MM)'}"
                                 " channel; the core needs both")
        self.max_bytes = int(getattr(self.dma, "buffer_max_size", 1 << 26))
        if self.in_words * 4 > self.max_bytes:
            raise InterfaceError(
                f"one sample is {self.in_words * 4} bytes but DMA {self.dma_name} moves at most {self.max_bytes} "
                "bytes per transfer (its length register width, c_sg_length_width); a sample cannot be split "
                "because the DMA ends every transfer with TLAST: widen the length register to 26 bits")
        version = self.ip.read(self.reg["VERSION"])
        if version != P.INTERFACE_VERSION:
            raise InterfaceError(f"core {self.core_name} reports interface version {version}; this driver speaks "
                                 f"version {P.INTERFACE_VERSION} (docs/core-interface.md)")
        self.check_model()
        if self.weights == "ddr":
            self._load_weights(lanes, ip_dict[self.core_name].get("parameters") or {})
        if self.maps == "ddr":
            self._allocate_scratch()
        if not self.ip.read(self.reg["CTRL"]) & P.CTRL_IDLE:
            self.reset()
        self.ip.write(self.reg["GIE"], 0)                    # polled: no interrupts
        self.ip.write(self.reg["STEPS"], self.steps)

    def reported_hash32(self) -> int:
        return int(self.ip.read(self.reg["MODEL_HASH"]))

    def _load_weights(self, lanes: int | None, params: dict) -> None:
        """Once per bundle: the checked DDR image into contiguous memory, its address into WEIGHTS_BASE."""
        img = ddr.bundle_image(self.bundle, lanes)
        upper = {str(k).upper(): v for k, v in params.items()}
        name = next((n for n in GMEM_WIDTH_PARAMS if n in upper), None)
        width = upper[name] if name else None
        if width is not None and int(width) != GMEM_WIDTH_PARAMS[name](ddr.row_bits(img)):
            from syna_contract.bundle import BundleError
            raise BundleError(self.bundle.root / self.bundle.manifest["ddr_image"].get("file", "weights.ddr.bin"),
                              f"DDR image of P = {img.lanes} lanes, rows of {ddr.row_bits(img)} bits; the overlay's "
                              f"core {self.core_name} reads rows of {int(width)} bits (m_axi_gmem data width in the "
                              f".hwh, {name}): it was built for another P (or weight width); re-export the image with "
                              "--ddr-image --lanes <the bitstream's P>")
        self.ddr_lanes = img.lanes
        if self._allocate_fn is None:
            import pynq
            self._allocate_fn = pynq.allocate
        buf = self._allocate_fn(shape=(len(img.data),), dtype=np.uint8)
        address = int(buf.physical_address)
        try:
            ddr.check_base(address, int(buf.nbytes), len(img.data))
        except DdrWeightsError:
            buf.freebuffer()
            raise
        buf[:] = np.frombuffer(img.data, dtype=np.uint8)
        buf.flush()                                          # out of the CPU's cache: the core reads DDR
        self.weights_buf, self.weights_base = buf, address
        self._write_weights_base()

    def _allocate_scratch(self) -> None:
        """Once per bundle: the scratch buffer (input words and every spike map) in contiguous memory, its address
        into SCRATCH_BASE. The core writes it and reads it back during every inference; the host never does."""
        need = ddr.scratch_bytes(self.bundle, self.ddr_lanes)
        buf = self._allocate_fn(shape=(need,), dtype=np.uint8)
        address = int(buf.physical_address)
        try:
            ddr.check_scratch_base(address, int(buf.nbytes), need)
        except DdrWeightsError:
            buf.freebuffer()
            raise
        self.scratch_buf, self.scratch_base = buf, address
        self._write_weights_base()

    def _write_weights_base(self) -> None:
        if self.weights_base is not None:
            self.ip.write(self.reg["WEIGHTS_BASE"], self.weights_base & 0xFFFFFFFF)
            self.ip.write(self.reg["WEIGHTS_BASE_HI"], self.weights_base >> 32)
        if self.scratch_base is not None:
            self.ip.write(self.reg["SCRATCH_BASE"], self.scratch_base & 0xFFFFFFFF)
            self.ip.write(self.reg["SCRATCH_BASE_HI"], self.scratch_base >> 32)

    def _scratch_bytes(self) -> np.ndarray | None:
        if self.scratch_buf is None:
            return None
        if hasattr(self.scratch_buf, "invalidate"):
            self.scratch_buf.invalidate()                    # the core wrote it: drop the CPU's cached lines
        return np.asarray(self.scratch_buf).reshape(-1).view(np.uint8).copy()

    def close(self) -> None:
        super().close()
        if self.weights_buf is not None:
            self.weights_buf.freebuffer()
            self.weights_buf = self.weights_base = None
        if self.scratch_buf is not None:
            self.scratch_buf.freebuffer()
            self.scratch_buf = self.scratch_base = None

    def _allocate(self, shape):
        if self._allocate_fn is None:
            import pynq
            self._allocate_fn = pynq.allocate
        buf = self._allocate_fn(shape=shape, dtype=np.uint32)
        buf[:] = 0
        return buf

    def registers(self) -> dict[str, int]:
        """Every register of the map, read now (CTRL's ap_done clears on read)."""
        return {name: int(self.ip.read(off)) for name, off in self.reg.items()}

    def info(self) -> dict:
        d = super().info()
        d.update(core_ip=self.core_name, dma_ip=self.dma_name, register_map=self.regmap_source,
                 dma_max_bytes=self.max_bytes, timeout_s=self.timeout_s, weights_from=self.weights_source)
        if self.weights_base is not None:
            d.update(weights_base=f"0x{self.weights_base:x}", ddr_image_bytes=int(self.weights_buf.size))
        if self.scratch_base is not None:
            d.update(scratch_base=f"0x{self.scratch_base:x}")
        if board_present():
            try:
                from pynq import Clocks
                d["fclk0_mhz"] = Clocks.fclk0_mhz
            except Exception:                            # a pynq without Clocks
                pass
        return d

    # ---------------------------------------------------------------- running
    def _dma_status(self, ch) -> int:
        return int(ch._mmio.read(ch._offset + 4)) if hasattr(ch, "_mmio") else 0

    def _wait(self, ch, what: str, i: int, deadline: float) -> None:
        while True:
            if ch.error:
                status = self._dma_status(ch)
                msgs = [m for bit, m in DMA_STATUS_ERRORS.items() if status & bit] or ["DMA error"]
                self.reset()
                raise DmaError(f"sample {i}: {what} channel stopped with {', '.join(msgs)} "
                               f"(DMASR 0x{status:08x}); DMA and core were reset")
            if ch.idle:
                break
            if time.monotonic() > deadline:
                regs = {k: self.ip.read(self.reg[k]) for k in ("CTRL", "STATUS")}
                self.reset()
                raise DmaTimeoutError(
                    f"sample {i}: the DMA {what} transfer did not complete within {self.timeout_s:g} s "
                    f"(core CTRL 0x{regs['CTRL']:x}, STATUS {P.decode_status(regs['STATUS']) or 'clear'}); "
                    "the DMA and the core were reset. Causes: a core that does not drive TLAST, a bitstream "
                    "for another bundle, or a clock that is not running")
        ch.wait()                                          # idle now: pynq invalidates the recv buffer here

    def execute(self, n: int, steps: int) -> None:
        ib, ob = self.in_buf, self.out_buf
        ctrl, start = self.reg["CTRL"], P.CTRL_START
        self.ip.write(self.reg["STEPS"], int(steps))
        for i in range(n):
            self.recv.transfer(ob[i, :self.out_words])
            self.send.transfer(ib[i, :self.in_words])
            self.ip.write(ctrl, start)
            deadline = time.monotonic() + self.timeout_s
            self._wait(self.send, "send (MM2S)", i, deadline)
            self._wait(self.recv, "receive (S2MM)", i, deadline)
            got = int(getattr(self.recv, "transferred", self.out_words * 4) or self.out_words * 4)
            if got != self.out_words * 4:
                self.reset()                 # a packet of the wrong length: the core's state is not known
                raise DmaError(f"sample {i}: the core sent {got} bytes; expected an output packet of "
                               f"{self.out_words * 4} bytes ({self.out_words} words); DMA and core were reset")
            if int(ob[i, self.out_words - 1]) & FRAMING_ERRORS:
                # the core ended the receive early (TLAST early, or its idle timeout) or drained: words
                # still on their way would start the next inference out of step (docs/core-interface.md)
                self.reset()

    def reset(self) -> None:
        """Reset the core (``reset_core`` or reload the bitstream) and the DMA (soft reset, restart)."""
        super().reset()
        if self._reset_core is not None:
            self._reset_core()
        elif hasattr(self.overlay, "download"):
            self.overlay.download()
        mmio = self.dma.mmio
        mmio.write(0x00, DMACR_RESET)                       # MM2S_DMACR.Reset resets the whole AXI DMA
        deadline = time.monotonic() + 0.1
        while mmio.read(0x00) & DMACR_RESET and time.monotonic() < deadline:
            pass
        for ch in (self.send, self.recv):
            ch.start()
        self.ip.write(self.reg["GIE"], 0)
        self.ip.write(self.reg["STEPS"], self.steps)
        self._write_weights_base()                           # a reloaded bitstream forgot it


# ============================================================================ by name
BACKENDS = {"pynq": PynqBackend, "reference": ReferenceBackend, "hls": HlsBackend, "rtl": RtlBackend}
SIMULATION_BACKENDS = ("reference", "hls", "rtl")


def open_backend(name: str, bundle: Bundle, **kwargs) -> Backend:
    if name not in BACKENDS:
        raise ValueError(f"backend {name!r}; expected one of {sorted(BACKENDS)} (or 'auto')")
    backend = BACKENDS[name](bundle, **kwargs)
    if name != "pynq":
        backend.check_model()
    return backend
