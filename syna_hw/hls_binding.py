"""The HLS core's C++ as a Python object (ctypes), like hls4ml's ``compile()`` / ``predict()``.

``HlsCore(bundle_dir, lanes=P)``: ``compile()`` builds the core's C++ as a shared library (cached by
model, lanes and source hash), ``transfer(words, steps)`` runs one inference through the real top
function at stream level, ``predict(x)`` gives scores, ``run(x)`` scores + every layer's spikes
(through a C-sim-only debug tap) + counts, saturations and modelled cycles. :func:`check_bundle`
runs it against the numpy reference (the demo's C-sim stage).
"""
from __future__ import annotations

import ctypes
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from syna_contract import protocol as proto
from syna_contract.bundle import Bundle, load_bundle

from .cycles import scratch_traffic
from .hls_header import BUILD_DIR, SRC_DIR, _check_mode, gen_dir, generate
from .hls_toolchain import CAPI_SOURCE, CORE_SOURCES, HlsToolError, _run, _source_hash, compile_cmd
from .limits import DEFAULT_LANES, HLS
from .lowering import SIM_WEIGHTS_BASE, WEIGHTS_MODES, checked_ddr_image, ddr_weights, lower
from .spill import INPUT, SIM_SCRATCH_BASE, decode_scratch, spill_plan


@dataclass
class HlsResult:
    scores: np.ndarray                                           # [N, classes] int64
    spikes: dict[str, np.ndarray] = field(default_factory=dict)  # layer -> [N, T, C, H, W] uint8
    spike_counts: dict[str, np.ndarray] = field(default_factory=dict)   # layer -> [N]
    saturations: dict[str, int] = field(default_factory=dict)    # layer -> total over N
    sample_saturations: np.ndarray | None = None                 # [N] (the SATURATIONS register)
    cycles: np.ndarray | None = None                             # [N] modelled cycles
    layer_cycles: dict[str, np.ndarray] = field(default_factory=dict)  # layer (and 'fc', 'io') -> [N]
    status: np.ndarray | None = None                             # [N]

    def predictions(self) -> np.ndarray:
        return self.scores.argmax(axis=1)


_INSTANCES: dict[Path, ctypes.CDLL] = {}      # extra loaded copies of compiled cores (HlsCore._instance)


class HlsCore:
    """The HLS core's C++ (C-simulation) as a Python object, like hls4ml's compile()/predict()."""

    def __init__(self, bundle_dir: str | Path | Bundle, lanes: int = DEFAULT_LANES, build_root: Path | None = None,
                 weights: str = "rom", wbuf_rows: int | None = None, weights_base: int = SIM_WEIGHTS_BASE,
                 maps: str = "chip", acc_rows: int | None = None, scratch_base: int = SIM_SCRATCH_BASE):
        """``weights="ddr"``: the core built with its conv / fc weights in DDR (docs/hls-core.md), run on
        the bundle's DDR image (``weights.ddr.bin``, written for P = ``lanes``) as its memory, through an
        on-chip weight buffer of ``wbuf_rows`` rows (default: ``syna_hw.lowering.ddr_weights``). The
        C-sim memory holds the image at byte address ``weights_base`` and nothing else, and the
        WEIGHTS_BASE register holds that address (:meth:`load_ddr` and :attr:`weights_base` change them).

        ``maps="ddr"`` (needs ``weights="ddr"``; docs/hls-core.md "Spike maps in DDR"): the input and every
        spike map in a DDR scratch buffer (``syna_hw.spill.spill_plan``: ``acc_rows`` accumulator / membrane
        rows, default no bands), which the C-sim holds as a numpy array at byte address ``scratch_base``,
        also the SCRATCH_BASE register (:attr:`scratch_base` changes the register only). After a run
        :meth:`read_scratch` / :meth:`scratch_maps` read it back (the last sample's maps)."""
        if weights not in WEIGHTS_MODES:
            raise ValueError(f"weights={weights!r}; expected one of {WEIGHTS_MODES}")
        _check_mode(weights, maps, acc_rows)
        self.bundle = bundle_dir if isinstance(bundle_dir, Bundle) else load_bundle(bundle_dir)
        self.hw = lower(self.bundle, lanes, target=HLS)          # refuses what the core cannot run
        self.lanes = lanes
        self.weights = weights
        self.maps = maps
        self.spill = spill_plan(self.hw, wbuf_rows, acc_rows) if maps == "ddr" else None
        self.ddr = self.spill.ddr if self.spill else ddr_weights(self.hw, wbuf_rows) if weights == "ddr" else None
        self.scratch_base = int(scratch_base)                    # the SCRATCH_BASE register (maps in DDR)
        self.scratch_at = int(scratch_base)                      # where the C-sim's scratch buffer is
        self.scratch_bytes_read = self.scratch_bytes_written = 0  # by the last run() (all its samples)
        # the C-sim's scratch buffer of each loaded copy of the core (copy j: _scratch[j])
        self._scratch: dict[int, np.ndarray] = {}
        self.image = self._ddr_image() if weights == "ddr" else None
        self.ddr_bytes_read = 0                                  # C-sim DDR bytes read by the last run()
        self.weights_base = int(weights_base)                    # the WEIGHTS_BASE register (DDR mode)
        self.ddr_at = int(weights_base)                          # where the C-sim memory holds the image
        self.build_root = Path(build_root) if build_root is not None else BUILD_DIR
        self.layer_names = [l.name for l in self.hw.layers]
        self.classes = self.hw.fc.classes
        self.spec = self.bundle.input_spec
        self._lib = None
        self.lib_path: Path | None = None
        self.last_regs: dict[str, int] = {}

    @property
    def model_hash32(self) -> int:
        """MODEL_HASH32 as the compiled core reports it (the host driver checks it against the bundle)."""
        self._need()
        return int(self.info["hash32"]) & 0xFFFFFFFF

    def _ddr_image(self) -> np.ndarray:
        """The bundle's DDR image, checked for this core (``syna_hw.lowering.checked_ddr_image``)."""
        return checked_ddr_image(self.bundle, self.ddr)

    # ------------------------------------------------------------------ build
    def compile(self) -> "HlsCore":
        wbuf = self.ddr.wbuf_rows if self.ddr else None
        acc = self.spill.acc_rows if self.spill else None
        gen = generate(self.bundle, self.lanes, gen_dir(self.bundle, self.lanes, self.build_root, self.weights, wbuf,
                                                        self.maps, acc),
                       weights=self.weights, wbuf_rows=wbuf, maps=self.maps, acc_rows=acc)
        lib = gen / f"libsyna_{_source_hash(gen)}.so"
        if not lib.is_file():
            tmp = lib.with_suffix(f".tmp{os.getpid()}.so")
            _run(compile_cmd(gen, [SRC_DIR / s for s in CORE_SOURCES] + [SRC_DIR / CAPI_SOURCE], tmp, True),
                 "g++ (shared library of the HLS core)")
            os.replace(tmp, lib)
        self._load(lib)
        return self

    def _open(self, lib: Path):
        L = ctypes.CDLL(str(lib))
        u32p = np.ctypeslib.ndpointer(np.uint32, flags="C_CONTIGUOUS")
        L.syna_info.argtypes = [ctypes.POINTER(ctypes.c_int64), ctypes.c_int]
        L.syna_info.restype = ctypes.c_int
        L.syna_transfer.argtypes = [u32p, ctypes.c_int, ctypes.c_int, ctypes.c_uint32, ctypes.c_uint32, u32p,
                                    ctypes.c_int, ctypes.POINTER(ctypes.c_int64)]
        L.syna_transfer.restype = ctypes.c_int
        L.syna_run_batch.argtypes = [u32p, ctypes.c_int, u32p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
        L.syna_run_batch.restype = ctypes.c_int
        is_ddr = hasattr(L, "syna_set_ddr")
        if is_ddr != (self.weights == "ddr"):
            raise HlsToolError(f"{lib}: built with weights={'ddr' if is_ddr else 'rom'}, expected {self.weights}")
        if is_ddr:
            L.syna_ddr_info.argtypes = [ctypes.POINTER(ctypes.c_int64), ctypes.c_int]
            L.syna_set_ddr.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.c_uint64]
            L.syna_set_ddr.restype = ctypes.c_int64
            L.syna_set_weights_base.argtypes = [ctypes.c_uint64]
            L.syna_set_weights_base.restype = None
            L.syna_ddr_stats.argtypes = [ctypes.POINTER(ctypes.c_int64)]
            info = (ctypes.c_int64 * 6)()
            L.syna_ddr_info(info, 6)
            d = self.ddr
            expect = (d.row_bytes, d.wbuf_rows, d.image_bytes, d.bytes_per_inference, self.lanes, d.weight_bits)
            if tuple(info) != expect:
                raise HlsToolError(f"{lib}: DDR constants {tuple(info)}, expected {expect} (stale build?)")
            # the C-sim's DDR: the image's bytes (a numpy buffer), copied into the port's rows by the C API
            if L.syna_set_ddr(self.image.ctypes.data, self.image.size, self.ddr_at) != self.image.size // d.row_bytes:
                raise HlsToolError(f"{lib}: the DDR image of {self.image.size} bytes is not whole rows of "
                                   f"{d.row_bytes} bytes, or address 0x{self.ddr_at:x} not a row's")
        is_spill = hasattr(L, "syna_set_scratch")
        if is_spill != (self.maps == "ddr"):
            raise HlsToolError(f"{lib}: built with maps={'ddr' if is_spill else 'chip'}, expected {self.maps}")
        if is_spill:
            L.syna_scratch_info.argtypes = [ctypes.POINTER(ctypes.c_int64), ctypes.c_int]
            L.syna_set_scratch_base.argtypes = [ctypes.c_uint64]
            L.syna_set_scratch_base.restype = None
            L.syna_set_scratch.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.c_uint64]
            L.syna_set_scratch.restype = ctypes.c_int
            L.syna_scratch_stats.argtypes = [ctypes.POINTER(ctypes.c_int64)]
            info = (ctypes.c_int64 * 5)()
            L.syna_scratch_info(info, 5)
            sp = self.spill
            rd, wr = scratch_traffic(self.hw, sp)
            expect = (sp.scratch_bytes, sp.acc_rows, sp.maps[INPUT].offset // 4, sum(rd.values()), sum(wr.values()))
            if tuple(info) != expect:
                raise HlsToolError(f"{lib}: scratch constants {tuple(info)}, expected {expect} (stale build?)")
        return L

    def _load(self, lib: Path) -> None:
        L = self._open(lib)
        info = (ctypes.c_int64 * 16)()
        L.syna_info(info, 16)
        self.info = dict(zip(("T", "C", "H", "W", "bits", "classes", "n_layers", "in_words", "out_words",
                              "dbg_total", "lanes", "hash32", "interface_version"), list(info)[:13]))
        expect = dict(T=self.spec["steps"], classes=self.classes, n_layers=len(self.layer_names), lanes=self.lanes,
                      hash32=proto.model_hash32(self.bundle.model_hash), interface_version=proto.INTERFACE_VERSION,
                      in_words=self.spec["steps"] * proto.words_per_frame(self.spec["channels"], self.spec["height"],
                                                                          self.spec["width"], self.spec["bits"]))
        for k, v in expect.items():
            if self.info[k] != v:
                raise HlsToolError(f"{lib}: {k} = {self.info[k]}, expected {v} (stale build?)")
        self._lib, self.lib_path = L, lib

    def _instance(self, j: int):
        """Copy j of the compiled core: the library loaded again from a copy of the file, so with its own
        static state (the core's on-chip memories are `static` arrays, one set per loaded library).
        Copy 0 is the library itself. Used to run samples on several threads."""
        if j == 0:
            return self._need()
        path = self.lib_path.with_name(f"{self.lib_path.stem}.copy{j}.so")
        if path not in _INSTANCES:
            if not path.is_file():
                tmp = path.with_suffix(f".tmp{os.getpid()}.so")
                shutil.copy(self.lib_path, tmp)              # a copy, not a link: dlopen keys on the file
                os.replace(tmp, path)
            _INSTANCES[path] = self._open(path)
        return _INSTANCES[path]

    def _need(self):
        if self._lib is None:
            self.compile()
        return self._lib

    # ------------------------------------------------------------------ stream level
    def transfer(self, in_words: np.ndarray, steps: int, tlast_at: int | None = None,
                 idle_timeout: int = 0) -> np.ndarray:
        """One inference through the top function: push ``in_words`` (TLAST on the last word, or on
        word ``tlast_at``; -1 for none), set STEPS and IDLE_TIMEOUT (0: the default), run, return the
        output packet's words. After the words the stream stays empty: the sender has stopped.

        The registers after the run are in ``self.last_regs``; ``last_regs['tlast_ok']`` says TLAST
        was on the packet's last word only, ``last_regs['left_in']`` how many input words the core
        left unread."""
        L = self._need()
        w = np.ascontiguousarray(np.asarray(in_words, dtype=np.uint32).ravel())
        n = int(w.size)
        tl = n - 1 if tlast_at is None else int(tlast_at)
        cap = self.info["out_words"] + 64
        out = np.zeros(cap, dtype=np.uint32)
        regs = (ctypes.c_int64 * 8)()
        self._set_base(L)
        if self.spill is not None:
            self._scratch_stats(L)                   # reset
        got = L.syna_transfer(w if n else np.zeros(1, np.uint32), n, tl, ctypes.c_uint32(steps & 0xFFFFFFFF),
                              ctypes.c_uint32(idle_timeout & 0xFFFFFFFF), out, cap, regs)
        self.last_regs = dict(zip(("status", "cycles", "saturations", "model_hash", "version", "tlast_ok",
                                   "left_in", "out_words"), list(regs)))
        if self.spill is not None:
            self.scratch_bytes_read, self.scratch_bytes_written = self._scratch_stats(L)
        return out[:got].copy()

    # ------------------------------------------------------------------ batch level
    def _check_x(self, x) -> np.ndarray:
        from syna_contract.reference import check_input
        return check_input(x, self.spec)

    def load_ddr(self, data, at: int | None = None) -> None:
        """Replace the C-sim DDR of a DDR-mode core (copy 0, what :meth:`transfer` uses) with ``data`` at byte
        address ``at`` (None: where the image was): the bytes a board's memory holds (the host's buffer),
        not necessarily the bundle's image, nor its size. ``load_ddr(self.image)`` restores the checked
        image. Resets the byte counters. The WEIGHTS_BASE register is :attr:`weights_base`, unchanged."""
        if self.ddr is None:
            raise ValueError("load_ddr: this core keeps its weights on chip (weights='rom')")
        buf = np.ascontiguousarray(np.frombuffer(data, dtype=np.uint8) if isinstance(data, (bytes, bytearray))
                                   else np.asarray(data, dtype=np.uint8).reshape(-1))
        at = self.ddr_at if at is None else int(at)
        if self._need().syna_set_ddr(buf.ctypes.data, buf.size, at) != buf.size // self.ddr.row_bytes:
            raise ValueError(f"load_ddr: {buf.size} bytes at 0x{at:x}; the C-sim memory takes whole rows of "
                             f"{self.ddr.row_bytes} bytes at a multiple of {self.ddr.row_bytes}")
        self.ddr_at = at

    def load_scratch(self, mem: np.ndarray, at: int) -> None:
        """Maps in DDR: the C-sim's scratch buffer (copy 0, what :meth:`transfer` uses) becomes ``mem`` (uint32
        words, used in place: what the core writes lands there) at byte address ``at`` -- a board's memory, e.g.
        the host's buffer on the fake board. Its size need not be the plan's: an access outside it is counted and
        raises after the run, as any access outside the buffer. SCRATCH_BASE is :attr:`scratch_base`, unchanged."""
        if self.spill is None:
            raise ValueError("load_scratch: this core keeps its spike maps on chip (maps='chip')")
        buf = np.asarray(mem)
        if buf.dtype != np.uint32 or not buf.flags.c_contiguous:
            raise ValueError("load_scratch: expected a C-contiguous uint32 array (used in place)")
        self._scratch[0], self.scratch_at = buf.reshape(-1), int(at)

    def _set_base(self, lib, j: int = 0) -> None:
        """WEIGHTS_BASE (:attr:`weights_base`) into a loaded copy's register, before it runs (DDR mode); maps in
        DDR: SCRATCH_BASE (:attr:`scratch_base`) and copy j's scratch buffer (at :attr:`scratch_at`)."""
        if self.ddr is not None:
            lib.syna_set_weights_base(ctypes.c_uint64(self.weights_base & (2**64 - 1)))
        if self.spill is not None:
            buf = self._scratch.get(j)
            if buf is None:
                buf = self._scratch[j] = np.zeros(self.spill.scratch_bytes // 4, dtype=np.uint32)
            lib.syna_set_scratch_base(ctypes.c_uint64(self.scratch_base & (2**64 - 1)))
            if lib.syna_set_scratch(buf.ctypes.data, buf.size, self.scratch_at) != 0:
                raise ValueError(f"scratch_at 0x{self.scratch_at:x} is not a 32-bit word address")

    def _scratch_stats(self, lib) -> tuple[int, int]:
        """(bytes read, bytes written) of a loaded copy's scratch since it was set; raises on an access outside
        the scratch buffer or the SCRATCH_BASE window (the C-sim never performs it)."""
        out = (ctypes.c_int64 * 3)()
        lib.syna_scratch_stats(out)
        if out[2]:
            raise HlsToolError(f"the core made {out[2]} scratch accesses outside its buffer (0x{self.scratch_at:x}, "
                               f"{self.spill.scratch_bytes} bytes) or the SCRATCH_BASE window "
                               f"(0x{self.scratch_base:x})")
        return int(out[0]), int(out[1])

    # ------------------------------------------------------------------ the scratch buffer (maps in DDR)
    def read_scratch(self, j: int = 0) -> np.ndarray:
        """A copy of the scratch buffer (bytes, little-endian words) of copy j of the core after its last
        sample: the INPUT region and every layer's map (syna_hw/spill.py's layout)."""
        if self.spill is None:
            raise ValueError("read_scratch: this core keeps its spike maps on chip (maps='chip')")
        buf = self._scratch.get(j)
        if buf is None:
            raise ValueError("read_scratch: the core has not run yet")
        return buf.astype("<u4").view(np.uint8).copy()

    def scratch_maps(self, j: int = 0) -> dict[str, np.ndarray]:
        """The scratch buffer decoded: ``INPUT`` -> the received words [T, words per frame] (uint32), every
        spiking layer -> its spike map [T, C, H, W] (uint8), as the reference's ``spikes``."""
        return decode_scratch(self.hw, self.read_scratch(j))

    def ddr_stats(self, j: int = 0) -> tuple[int, int]:
        """(bytes read, reads outside the image) by copy j of a DDR-mode core since the last call."""
        out = (ctypes.c_int64 * 2)()
        (self._instance(j) if j else self._need()).syna_ddr_stats(out)
        return int(out[0]), int(out[1])

    def run(self, x: np.ndarray, keep_spikes: bool = True, debug: bool = True, threads: int = 1) -> HlsResult:
        """Run integer input [N, T, C, H, W]: scores, every layer's spikes (debug tap), counts, saturations.

        ``debug=False`` runs without the debug tap (no per-layer spikes, saturations or cycles).
        ``threads`` > 1 runs contiguous ranges of the samples on that many threads, each on its own copy
        of the compiled core (0: one per CPU); the results are identical to one thread."""
        L = self._need()
        x = self._check_x(x)
        n = len(x)
        words = np.ascontiguousarray(proto.pack_batch(x, self.spec["bits"]), dtype=np.uint32)
        ow = self.info["out_words"]
        out = np.zeros((n, ow), dtype=np.uint32)
        nl = len(self.layer_names)
        spikes = np.zeros((n, self.info["dbg_total"]), dtype=np.uint8) if keep_spikes else None
        sats = np.zeros((n, nl), dtype=np.int64)
        lcyc = np.zeros((n, nl + 2), dtype=np.int64)
        keep_spikes = keep_spikes and debug
        threads = max(1, min(int(threads) if threads else (os.cpu_count() or 1), n))

        def part(j: int) -> int:                     # samples [lo, hi) on copy j of the core
            lo, hi = n * j // threads, n * (j + 1) // threads
            self._set_base(self._instance(j), j)
            rc = self._instance(j).syna_run_batch(
                words[lo:hi], hi - lo, out[lo:hi], spikes[lo:hi].ctypes.data if keep_spikes else None,
                sats[lo:hi].ctypes.data if debug else None, lcyc[lo:hi].ctypes.data if debug else None)
            return lo + rc if rc else 0

        if self.ddr:
            for j in range(threads):
                self.ddr_stats(j)                    # reset the C-sim DDR counters
        if self.spill:
            for j in range(threads):
                self._set_base(self._instance(j), j)
                self._scratch_stats(self._instance(j))
        if threads == 1:
            rc = part(0)
        else:                                        # ctypes releases the GIL during each call
            from concurrent.futures import ThreadPoolExecutor
            with ThreadPoolExecutor(threads) as ex:
                rc = next((r for r in ex.map(part, range(threads)) if r), 0)
        if self.ddr:
            stats = [self.ddr_stats(j) for j in range(threads)]
            self.ddr_bytes_read = sum(s[0] for s in stats)
            if any(s[1] for s in stats):
                raise HlsToolError(f"the core read {sum(s[1] for s in stats)} weight tiles outside the DDR image")
        if self.spill:
            stats = [self._scratch_stats(self._instance(j)) for j in range(threads)]
            self.scratch_bytes_read = sum(s[0] for s in stats)
            self.scratch_bytes_written = sum(s[1] for s in stats)
        if rc != 0:
            raise HlsToolError(f"syna_run_batch returned {rc} (output packet without TLAST on its last word)")
        o = proto.unpack_outputs(out, self.classes, nl)
        res = HlsResult(o.scores, sample_saturations=o.saturations, cycles=o.cycles, status=o.status)
        off = 0
        T = self.spec["steps"]
        for i, (name, l) in enumerate(zip(self.layer_names, self.hw.layers)):
            c, h, w = l.cout, l.hout, l.wout
            res.spike_counts[name] = o.spike_counts[:, i]
            res.saturations[name] = int(sats[:, i].sum())
            res.layer_cycles[name] = lcyc[:, i]
            if keep_spikes:
                res.spikes[name] = spikes[:, off:off + T * c * h * w].reshape(n, T, c, h, w)
            off += T * c * h * w
        res.layer_cycles["fc"] = lcyc[:, nl]
        res.layer_cycles["io"] = lcyc[:, nl + 1]
        return res

    def predict(self, x: np.ndarray, threads: int = 1) -> np.ndarray:
        """Scores [N, classes] (int64) for integer input [N, T, C, H, W] (``threads``: see :meth:`run`)."""
        return self.run(x, keep_spikes=False, debug=False, threads=threads).scores


def compare(res: HlsResult, ref, x: np.ndarray | None = None) -> str | None:
    """None if ``res`` equals the reference result ``ref`` on every spike, score, count and saturation;
    else a message naming the first difference (layer, sample, step, neuron)."""
    for name, s in ref.spikes.items():
        h = res.spikes.get(name)
        if h is None or h.shape != s.shape:
            return f"layer {name}: spike map shape {None if h is None else h.shape}, expected {s.shape}"
        bad = np.argwhere(h != s)
        if bad.size:
            n, t, c, y, xx = bad[0]
            return (f"layer {name}: sample {n} step {t} neuron (c={c}, y={y}, x={xx}): core {h[n, t, c, y, xx]}, "
                    f"reference {s[n, t, c, y, xx]} ({len(bad)} spikes differ)")
    for name, cnt in ref.spike_counts.items():
        if not np.array_equal(res.spike_counts[name], cnt):
            return f"layer {name}: spike counts differ: core {res.spike_counts[name][:4]}..., reference {cnt[:4]}..."
    bad = np.argwhere(res.scores != ref.scores)
    if bad.size:
        n, k = bad[0]
        return f"scores: sample {n} class {k}: core {res.scores[n, k]}, reference {ref.scores[n, k]}"
    for name, s in ref.saturations.items():
        if res.saturations.get(name, 0) != s:
            return f"layer {name}: {res.saturations.get(name, 0)} saturations, reference {s}"
    total = sum(ref.saturations.values())
    if res.sample_saturations is not None and int(res.sample_saturations.sum()) != total:
        return f"SATURATIONS register sums to {int(res.sample_saturations.sum())}, reference {total}"
    if res.status is not None and np.any(res.status & 0x7):
        return f"status error bits set: {sorted(set(res.status.tolist()))}"
    return None


def check_bundle(bundle_dir: str | Path, x: np.ndarray | None = None, lanes: int = DEFAULT_LANES,
                 verbose: bool = True, weights: str = "rom", wbuf_rows: int | None = None, maps: str = "chip",
                 acc_rows: int | None = None) -> bool:
    """The demo's C-sim stage: the HLS core's C++ vs the numpy Reference on ``x`` (default: the golden
    inputs) on every spike of every layer at every step, the scores, counts and saturations.
    Prints a one-line verdict; returns True when everything agrees."""
    from syna_contract.reference import Reference
    b = load_bundle(bundle_dir)
    if x is None:
        x = b.golden()["input"]
    core = HlsCore(b, lanes, weights=weights, wbuf_rows=wbuf_rows, maps=maps, acc_rows=acc_rows).compile()
    res = core.run(x)
    ref = Reference(b).run(x)
    msg = compare(res, ref)
    if verbose:
        tail = (f"{len(x)} samples, {len(core.layer_names)} layers, P={lanes}, "
                f"mean {float(res.cycles.mean()):,.0f} modelled cycles/inference")
        if core.ddr:
            tail += (f", weights from DDR: {core.ddr_bytes_read // max(len(x), 1):,} bytes/inference read "
                     f"(buffer {core.ddr.wbuf_rows} rows)")
        if core.spill:
            tail += (f", maps in DDR: scratch {core.spill.scratch_bytes:,} bytes, {core.scratch_bytes_read // max(len(x), 1):,}"
                     f" read / {core.scratch_bytes_written // max(len(x), 1):,} written per inference "
                     f"(accumulators {core.spill.acc_rows} rows)")
        print(f"HLS C-sim vs reference: {'PASS' if msg is None else 'FAIL'} ({tail})" + ("" if msg is None else f": {msg}"))
    return msg is None

