"""``SpikingCore``: the host driver of the SynA core (board or simulation), numpy only.

    from host import SpikingCore
    core = SpikingCore("bundle/", backend="pynq", overlay="syna.bit")   # or backend="reference"
    p = core.classify(frames)                  # one sample [T, C, H, W] of integers -> Prediction
    b = core.classify_batch(x)                 # [N, T, C, H, W] -> BatchPrediction
    p = core.classify_events(x, y, p, t)       # raw DVS events, integrated as training does
    core.counters(); core.energy(); core.throughput_test()
"""
from __future__ import annotations

import time
import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from syna_contract.bundle import Bundle, load_bundle
from syna_contract.energy import EnergyReport, energy_report

from syna_contract import protocol as P
from . import ddr as hd
from .backends import SIMULATION_BACKENDS, Backend, board_present, open_backend
from .errors import CoreStatusError, InputError
from .events import frames_for_spec, unmasked

DEFAULT_BLOCK = 256           # samples per DMA buffer fill


@dataclass
class Prediction:
    """One inference: the class, the integer scores and what the core counted."""
    label: int
    scores: np.ndarray                  # [classes] int64 (numerics.md section 5)
    spike_counts: dict[str, int]        # per spiking layer, manifest order
    cycles: int
    saturations: int
    status: int
    score_scale: float = 1.0

    @property
    def flags(self) -> list[str]:
        return P.decode_status(self.status)

    @property
    def float_scores(self) -> np.ndarray:
        """The float model's output (time-averaged FC) that the integer scores stand for."""
        return self.scores * self.score_scale


@dataclass
class BatchPrediction:
    labels: np.ndarray                  # [N]
    scores: np.ndarray                  # [N, classes] int64
    spike_counts: dict[str, np.ndarray]  # layer -> [N]
    cycles: np.ndarray                  # [N]
    saturations: np.ndarray             # [N]
    status: np.ndarray                  # [N]
    score_scale: float = 1.0

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> Prediction:
        return Prediction(int(self.labels[i]), self.scores[i], {k: int(v[i]) for k, v in self.spike_counts.items()},
                          int(self.cycles[i]), int(self.saturations[i]), int(self.status[i]), self.score_scale)

    def accuracy(self, labels) -> float:
        return float((self.labels == np.asarray(labels)).mean())


DEFAULT_HISTORY = 1024        # samples whose per-sample spike counts are kept (spike_counts())


class _Counters:
    """What the core counted, in bounded memory: running totals (what :meth:`SpikingCore.counters` and
    :meth:`SpikingCore.energy` report, over every sample) and the per-layer spike counts of the last
    ``history`` samples in a ring buffer."""

    def __init__(self, layers: int, history: int):
        self.samples = 0
        self.spikes = np.zeros(layers, np.int64)          # per layer, summed over samples
        self.cycles = 0
        self.last_cycles = 0
        self.saturations = 0
        self.last_status = 0
        self.status_seen = 0
        self.ring = np.zeros((history, layers), np.int64)  # per-sample spike counts, the last `history`

    def add(self, out: P.CoreOutputs) -> None:
        n = len(out.status)
        if not n:
            return
        self.spikes += out.spike_counts.sum(axis=0, dtype=np.int64)
        self.cycles += int(out.cycles.sum(dtype=np.int64))
        self.last_cycles = int(out.cycles[-1])
        self.saturations += int(out.saturations.sum(dtype=np.int64))
        self.last_status = int(out.status[-1])
        self.status_seen |= int(np.bitwise_or.reduce(out.status.astype(np.int64)))
        h = self.ring.shape[0]
        if h:
            tail = out.spike_counts[-h:]
            at = (self.samples + n - len(tail)) % h
            first = min(len(tail), h - at)
            self.ring[at:at + first] = tail[:first]
            self.ring[:len(tail) - first] = tail[first:]
        self.samples += n

    def recent(self) -> np.ndarray:
        """Per-sample spike counts of the last min(samples, history) samples, oldest first."""
        h = self.ring.shape[0]
        k = min(self.samples, h)
        if k < h:
            return self.ring[:k].copy()
        at = self.samples % h
        return np.concatenate([self.ring[at:], self.ring[:at]])


def validate_frames(x, spec: dict, batch: bool) -> np.ndarray:
    """Check shape, dtype, value range and T against the bundle's input spec; return the array.

    Raises :class:`InputError` saying what was expected; nothing touches hardware before this."""
    steps, c, h, w = spec["steps"], spec["channels"], spec["height"], spec["width"]
    bits, enc = spec["bits"], spec["encoding"]
    one = f"[T={steps}, C={c}, H={h}, W={w}]"
    want = f"[N, T={steps}, C={c}, H={h}, W={w}]" if batch else one
    if isinstance(x, np.ma.MaskedArray):
        try:
            x = unmasked(x, "input")
        except ValueError as e:
            raise InputError(str(e)) from None
    if not isinstance(x, np.ndarray):
        try:
            x = np.asarray(x)
        except Exception as e:
            raise InputError(f"input is a {type(x).__name__}, not an array ({e}); expected integers {want}") from None
    if not (np.issubdtype(x.dtype, np.integer) or x.dtype == np.bool_):
        hint = " (quantise on the host first: docs/numerics.md)" if np.issubdtype(x.dtype, np.floating) else ""
        raise InputError(f"input dtype {x.dtype}; expected integers 0..{(1 << bits) - 1} "
                         f"({bits}-bit {enc}){hint}")
    nd = 5 if batch else 4
    if x.ndim != nd:
        extra = ""
        if not batch and x.ndim == 5:
            extra = " (a batch: use classify_batch)"
        elif batch and x.ndim == 4 and x.shape == (steps, c, h, w):
            extra = " (one sample: use classify, or add a batch axis x[None])"
        elif x.ndim == nd - 1 and tuple(x.shape[-3:]) == (c, h, w) and spec.get("static"):
            extra = f" (a static image: repeat it over T, np.repeat(x[{'None' if not batch else ':, None'}], {steps}, " \
                    f"axis={0 if not batch else 1}))"
        raise InputError(f"input shape {tuple(x.shape)}; expected {want}{extra}")
    shape = tuple(x.shape[-4:])
    if batch and x.shape[0] == 0:
        raise InputError(f"empty batch; expected [N >= 1, T={steps}, C={c}, H={h}, W={w}]")
    if shape[0] != steps and shape[1:] == (c, h, w):
        raise InputError(f"input has T={shape[0]} frames; the bundle's model takes T={steps} "
                         f"(input shape {tuple(x.shape)}, expected {want})")
    if shape != (steps, c, h, w):
        raise InputError(f"input shape {tuple(x.shape)}; expected {want}")
    if x.size and x.dtype != np.bool_:
        lo, hi = x.min(), x.max()
        if lo < 0 or hi > (1 << bits) - 1:
            raise InputError(f"input values {lo}..{hi}; expected 0..{(1 << bits) - 1} ({bits}-bit {enc}); "
                             "clip or rescale first")
    return x


class SpikingCore:
    """The SynA core behind one backend (``'pynq'``, ``'reference'``, ``'hls'``, ``'rtl'`` or ``'auto'``).

    ``auto`` takes the board when there is one (a PYNQ image with pynq and an
    ``overlay``), else ``reference``; ``self.note`` says which and why.
    Options go to the backend: ``overlay``, ``core_ip``, ``dma_ip``, ``timeout_s``,
    ``allocate``, ``reset_core`` (pynq); ``weights`` (``"rom"`` / ``"ddr"``: the core reads its weights
    from the bundle's DDR image; pynq's default: what the overlay's core is), ``lanes``, ``wbuf_rows``
    (DDR mode; :mod:`host.ddr`); ``maps`` (``"chip"`` / ``"ddr"``: the core keeps its spike maps in a DDR
    scratch buffer, read back with :meth:`read_maps`), ``acc_rows`` (the hls / rtl simulations' accumulator depth). ``block``: samples per buffer fill. ``history``: samples
    whose per-sample spike counts :meth:`spike_counts` keeps (the totals of :meth:`counters` and
    :meth:`energy` cover every sample in constant memory)."""

    def __init__(self, bundle: Bundle | str | Path, backend: str = "auto", *, block: int = DEFAULT_BLOCK,
                 check_status: bool = True, history: int = DEFAULT_HISTORY, **options):
        if not isinstance(history, (int, np.integer)) or isinstance(history, bool) or history < 0:
            raise ValueError(f"history {history!r}; expected a whole number of samples >= 0")
        self.history = int(history)
        self.bundle = bundle if isinstance(bundle, Bundle) else load_bundle(bundle)
        self.spec = self.bundle.input_spec
        self.steps = self.spec["steps"]
        self.note = ""
        if backend == "auto":
            if options.get("overlay") is not None and not isinstance(options["overlay"], (str, Path)):
                backend = "pynq"                              # an Overlay object (or a fake one): use it
            elif board_present() and options.get("overlay") is not None:
                backend = "pynq"
                self.note = "running on the board (pynq backend)"
            else:
                backend = "reference"
                options.pop("overlay", None)
                self.note = ("NO BOARD: no PYNQ board (or no overlay) here, so this runs the bit-exact numpy "
                             "simulation of the core (reference backend); cycles are 0, timings are the host's")
        self.backend: Backend = open_backend(backend, self.bundle, **options)
        self.backend_name = backend
        self.layers = self.backend.layers
        self.classes = self.backend.classes
        self.block = int(block)
        self.check_status = check_status
        fc = next(l for l in self.bundle.descriptors if not l.spiking)
        self.score_scale = float(fc.score_scale)
        self._counters = _Counters(len(self.layers), self.history)

    @classmethod
    def open(cls, bundle: Bundle | str | Path, overlay=None, backend: str = "auto", **options) -> "SpikingCore":
        """``SpikingCore.open(bundle, overlay)``: the board when there is one, else the simulation."""
        return cls(bundle, backend=backend, overlay=overlay, **options)

    # ---------------------------------------------------------------- context
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        self.backend.close()

    def __repr__(self) -> str:
        return (f"SpikingCore({self.bundle.root}, backend={self.backend_name!r}, model "
                f"{self.bundle.model_hash[:8]}, input [T={self.steps}, {self.spec['channels']}, "
                f"{self.spec['height']}, {self.spec['width']}] {self.spec['bits']}-bit)")

    # ---------------------------------------------------------------- inference
    def _run(self, x: np.ndarray, record: bool = True) -> tuple[P.CoreOutputs, dict]:
        """Pack, execute and unpack validated samples [N, T, C, H, W] block by block."""
        n = x.shape[0]
        bits, b = self.spec["bits"], self.backend
        parts, t_pack, t_exec, t_unpack = [], 0.0, 0.0, 0.0
        for s in range(0, n, self.block):
            k = min(self.block, n - s)
            ib, ob = b.buffers(min(self.block, n))
            t0 = time.perf_counter()
            P.pack_batch(x[s:s + k], bits, out=ib[:k, :b.in_words])
            t1 = time.perf_counter()
            b.execute(k, self.steps)
            t2 = time.perf_counter()
            parts.append(P.unpack_outputs(np.array(ob[:k, :b.out_words]), self.classes, len(self.layers)))
            t3 = time.perf_counter()
            t_pack, t_exec, t_unpack = t_pack + t1 - t0, t_exec + t2 - t1, t_unpack + t3 - t2
        out = P.CoreOutputs(*(np.concatenate([getattr(p, f) for p in parts])
                              for f in ("scores", "spike_counts", "cycles", "saturations", "status")))
        errors = out.status & P.STATUS_ERRORS
        if self.check_status and errors.any():
            i = int(np.flatnonzero(errors)[0])
            hint = ("; weights: the core could not use the DDR weight image at WEIGHTS_BASE (misaligned, not this "
                    "model's image or not for its P, or a read failed; docs/core-interface.md)"
                    if out.status[i] & P.STATUS_WEIGHTS else "")
            if out.status[i] & P.STATUS_SCRATCH:
                hint += ("; scratch: the core could not use its scratch buffer at SCRATCH_BASE (unset, misaligned, "
                         "beyond the address space, or a read / write failed; docs/core-interface.md)")
            raise CoreStatusError(f"sample {i}: the core reports {P.decode_status(int(out.status[i]))} "
                                  f"(status 0x{int(out.status[i]):x}); {int((errors != 0).sum())} of {n} samples "
                                  f"had errors and scores 0{hint}")
        if record:
            self._counters.add(out)
        return out, {"pack": t_pack, "execute": t_exec, "unpack": t_unpack}

    def _batch(self, out: P.CoreOutputs) -> BatchPrediction:
        return BatchPrediction(out.scores.argmax(axis=1), out.scores,
                               {name: out.spike_counts[:, j] for j, name in enumerate(self.layers)},
                               out.cycles, out.saturations, out.status, self.score_scale)

    def classify(self, frames) -> Prediction:
        """One sample ``[T, C, H, W]`` of integers in ``0..2^bits-1`` -> :class:`Prediction`."""
        x = validate_frames(frames, self.spec, batch=False)
        return self._batch(self._run(x[None])[0])[0]

    def classify_batch(self, frames) -> BatchPrediction:
        """Samples ``[N, T, C, H, W]`` -> :class:`BatchPrediction` (labels, scores, counts per sample)."""
        x = validate_frames(frames, self.spec, batch=True)
        return self._batch(self._run(x)[0])

    def events_to_frames(self, x, y, p, t, *, split_by: str | None = None, duration=None,
                         fit: str = "exact") -> np.ndarray:
        """Raw DVS events -> one sample ``[T, C, H, W]`` for this bundle (see :mod:`host.events`)."""
        try:
            return frames_for_spec(x, y, p, t, self.spec, split_by=split_by, duration=duration, fit=fit)
        except ValueError as e:
            raise InputError(str(e)) from None

    def classify_events(self, x, y, p, t, *, split_by: str | None = None, duration=None,
                        fit: str = "exact") -> Prediction:
        """Raw DVS events (x, y, polarity, timestamp) -> frames exactly as training makes them -> class.

        By default the frames are made as the bundle's input spec says training made them
        (its ``split_by``, ``duration``, ``pool``; ``'number'`` when the spec says nothing).
        ``split_by='number'`` (T frames of equal event counts, as
        SpikingJelly's ``DVS128Gesture(split_by='number')``), ``'time'`` (T equal
        time slices) or ``'duration'`` (``duration`` per frame; ``fit='pad'`` pads
        or cuts to T)."""
        return self.classify(self.events_to_frames(x, y, p, t, split_by=split_by, duration=duration, fit=fit))

    # ---------------------------------------------------------------- counters, energy
    def reset_counters(self) -> None:
        self._counters = _Counters(len(self.layers), self.history)

    def counters(self) -> dict:
        """What the core counted since opening (or :meth:`reset_counters`): per-layer spikes and
        firing rates, cycles, saturations, and the status decoded (last inference and any seen).
        Running totals: constant memory however many inferences ran."""
        c = self._counters
        n = c.samples
        out = {"backend": self.backend_name, "samples": n}
        if not n:
            return out | {"spikes": {}, "cycles": {}, "saturations": 0, "status": [], "status_seen": []}
        neurons = {l.name: l.neurons for l in self.bundle.descriptors if l.spiking}
        total = {name: int(c.spikes[j]) for j, name in enumerate(self.layers)}
        out.update(
            spikes=total,
            spikes_per_sample={k: v / n for k, v in total.items()},
            firing_rate={k: v / (n * neurons[k] * self.steps) for k, v in total.items()},
            cycles={"total": c.cycles, "mean": c.cycles / n, "last": c.last_cycles},
            saturations=c.saturations,
            status=P.decode_status(c.last_status),
            status_seen=P.decode_status(c.status_seen),
        )
        if not self.backend.simulated:
            out["registers"] = self.backend.registers()
        return out

    def spike_counts(self) -> dict[str, np.ndarray]:
        """Per-layer spike counts of the last ``history`` samples (all since opening while fewer):
        layer -> [samples], oldest first."""
        recent = self._counters.recent()
        return {name: recent[:, j] for j, name in enumerate(self.layers)}

    def energy(self) -> EnergyReport:
        """Eq. 11 (45 nm, 4.6 pJ/MAC, 0.9 pJ/AC) from the spike counts the core measured (every sample)."""
        c = self._counters
        if not c.samples:
            raise RuntimeError("no inference yet: classify some samples first, then ask for the energy")
        # energy_report takes per-sample counts and uses their mean: pass the mean of all samples as one.
        mean = {name: np.array([c.spikes[j] / c.samples]) for j, name in enumerate(self.layers)}
        return dataclasses.replace(energy_report(self.bundle.descriptors, self.spec, mean, 1), n_samples=c.samples)

    # ---------------------------------------------------------------- throughput
    def throughput_test(self, batch: int | None = None, seed: int = 0, clock_mhz: float | None = None) -> dict:
        """FINN-style throughput test on random valid input of ``batch`` samples.

        Returns runtime (the backend's execute time) [ms], inferences/s, DMA MB/s in and
        out, and the host's time in packing, executing and unpacking. Not added to
        :meth:`counters`. ``clock_mhz``: the core's clock for the rate its cycles give
        (default the board's fclk0; a simulation has none unless given).

        A core with its weights in DDR adds the weight bytes one inference reads from DDR
        (counted by the HLS C-simulation, else modelled by its tiling: ``DDR_bytes_source``) and the
        bandwidth they need at the measured rate and, with a clock, at the core's rate."""
        n = int(batch or min(self.block, 64))
        rng = np.random.default_rng(seed)
        x = rng.integers(0, 1 << self.spec["bits"], (n, self.steps, self.spec["channels"], self.spec["height"],
                                                     self.spec["width"]), dtype=np.int64)
        x = x.astype(np.uint8 if self.spec["bits"] <= 8 else np.uint16)
        b = self.backend
        ddr_before = b.ddr_bytes_read
        t0 = time.perf_counter()
        out, t = self._run(x, record=False)
        total = time.perf_counter() - t0
        runtime = t["execute"]
        res = {
            "backend": self.backend_name,
            "batch_size": n,
            "runtime[ms]": runtime * 1e3,
            "throughput[images/s]": n / runtime if runtime else float("inf"),
            "DRAM_in_bandwidth[MB/s]": n * b.in_words * 4 / runtime / 1e6 if runtime else float("inf"),
            "DRAM_out_bandwidth[MB/s]": n * b.out_words * 4 / runtime / 1e6 if runtime else float("inf"),
            "pack_input[ms]": t["pack"] * 1e3,
            "execute[ms]": t["execute"] * 1e3,
            "unpack_output[ms]": t["unpack"] * 1e3,
            "total[ms]": total * 1e3,
            "input_bytes_per_sample": b.in_words * 4,
            "output_bytes_per_sample": b.out_words * 4,
            "cycles_per_inference": float(out.cycles.mean()),
        }
        fclk = clock_mhz or b.info().get("fclk0_mhz")
        if fclk:
            res["fclk[mhz]"] = fclk
            if out.cycles.mean() > 0:
                res["core_throughput[images/s]"] = fclk * 1e6 / out.cycles.mean()
        if b.weights == "ddr":
            modelled = b.ddr_bytes_per_inference()
            per = (b.ddr_bytes_read - ddr_before) / n if b.ddr_bytes_counted else float(modelled)
            res["DDR_bytes_source"] = (f"counted ({'RTL sim' if b.name == 'rtl' else 'C-sim'})") if b.ddr_bytes_counted else "modelled (HLS core's tiling)"
            res["DDR_weight_bytes_per_inference"] = per
            res["DDR_weight_bytes_modelled"] = modelled
            res["DDR_weights_bandwidth[MB/s]"] = per * n / runtime / 1e6 if runtime else float("inf")
            if "core_throughput[images/s]" in res:
                res["core_DDR_weights_bandwidth[MB/s]"] = per * res["core_throughput[images/s]"] / 1e6
        if b.maps == "ddr":                                # the scratch traffic, as the HLS core's order moves it
            rd, wr = hd.scratch_traffic_per_inference(self.bundle, b.ddr_lanes, getattr(b, "wbuf_rows", None),
                                                      getattr(b, "acc_rows", None))
            res["DDR_scratch_bytes_source"] = "modelled (syna_hw.cycles.scratch_traffic, the HLS core's order)"
            res["DDR_scratch_read_bytes_per_inference"], res["DDR_scratch_written_bytes_per_inference"] = rd, wr
            res["DDR_scratch_bandwidth[MB/s]"] = (rd + wr) * n / runtime / 1e6 if runtime else float("inf")
            if "core_throughput[images/s]" in res:
                res["core_DDR_scratch_bandwidth[MB/s]"] = (rd + wr) * res["core_throughput[images/s]"] / 1e6
        return res

    def read_maps(self) -> dict[str, np.ndarray]:
        """A maps-in-DDR core (``maps="ddr"``): its scratch buffer read back after the last inference, decoded --
        ``"input"`` (the received words) and every spiking layer's spike map ``[T, C, Ho, Wo]`` of the last
        sample, as the core wrote them (compare with ``syna_contract.reference``'s spikes to find the first
        layer that differs). Refused for a core that keeps its maps on chip."""
        return self.backend.read_maps()

    def info(self) -> dict:
        d = self.backend.info()
        d.update(bundle=str(self.bundle.root), model_hash32=f"0x{self.backend.expected_hash32:08x}",
                 input=dict(self.spec), layers=len(self.layers), classes=self.classes, note=self.note)
        return d


def available_simulation_backends(bundle: Bundle) -> list[str]:
    """The simulation backends present in this checkout: ``reference`` always; ``hls``/``rtl`` once their
    stage's module exists (whether they then open and agree is for the caller to find out)."""
    import importlib.util
    modules = {"reference": None, "hls": "syna_hw.hls_core", "rtl": "syna_hw.rtl_core"}
    return [name for name in SIMULATION_BACKENDS
            if modules[name] is None or importlib.util.find_spec(modules[name]) is not None]
