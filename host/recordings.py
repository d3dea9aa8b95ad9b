"""Recordings: the one format that ``python -m host classify``, ``python -m model_export run`` /
``energy``, the notebook and the bundle's ``golden.npz`` share, read by one function,
:func:`read_recordings` (docs/host-driver.md, "Recordings").

- a ``.npz`` of frames: ``frames`` ``[N, T, C, H, W]`` integers -- or ``input``, the name the
  bundle's ``golden.npz`` uses (``export --samples`` writes it), so a bundle's golden vectors are a
  recordings file; exactly one of the two -- with optional ``labels`` ``[N]``; other arrays (the
  golden spikes and scores) are ignored. One recording ``[T, C, H, W]`` may leave out ``N``;
- a ``.npz`` of events: ``x``, ``y``, ``p``, ``t`` (all samples concatenated, time-ordered within
  a sample) with ``offsets`` ``[N+1]`` (sample ``i`` is ``offsets[i]:offsets[i+1]``), optional ``labels``;
- an event-camera file, one recording: N-MNIST (``.bin``, ``.bs2``), AEDAT 2.0 / 3.1 / 4
  (``.aedat``, ``.aedat4``; the version line says which), read by :mod:`host.eventfiles`;
  or a folder of them, where ``<folder>/<label>/<file>`` gives the labels (N-MNIST's
  ``Test/<digit>/*.bin`` layout).

``format`` (``--format`` of ``python -m host classify``) forces the reading where the name does not
say: ``npz``, ``nmnist``, ``aedat`` (by the version line), ``aedat2``, ``aedat3``, ``aedat4``.
Events become frames as the bundle's input spec says training made them
(:func:`host.events.frames_for_spec`); ``split_by`` / ``duration`` override only where the spec says
nothing. Every refusal is an :class:`host.errors.InputError` (or the readers'
:class:`host.eventfiles.EventFileError`) naming the file -- and the recording in it -- and what was
expected; a missing path is a ``FileNotFoundError``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .errors import InputError
from .eventfiles import NMNIST_SUFFIXES

FORMATS = ("auto", "npz", "nmnist", "aedat", "aedat2", "aedat3", "aedat4")
EVENT_SUFFIXES = {**{s: "nmnist" for s in NMNIST_SUFFIXES}, ".aedat": "aedat", ".aedat4": "aedat"}
SUFFIXES = {".npz": "npz", **EVENT_SUFFIXES}
FRAME_KEYS = ("frames", "input")             # 'input': the bundle's golden.npz
EVENT_KEYS = ("x", "y", "p", "t", "offsets")
EXPECTED = (".npz (frames or events), an event file (.bin/.bs2 N-MNIST, .aedat/.aedat4) or a folder of "
            "event files")


@dataclass
class Recordings:
    """What :func:`read_recordings` found: ``frames`` ``[N, T, C, H, W]`` (a frames file), or events
    read one recording at a time (:meth:`events`); ``names`` and ``labels`` per recording."""

    names: list[str]
    labels: np.ndarray | None
    description: str
    frames: np.ndarray | None = None
    _events: Callable[[int], tuple] | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.names)

    @property
    def kind(self) -> str:
        return "frames" if self.frames is not None else "events"

    def events(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(x, y, p, t)`` of recording ``i`` (an events file or folder; read when asked)."""
        if self._events is None:
            raise InputError(f"{self.description}: holds frames, not events")
        return self._events(i)

    def sample_frames(self, i: int, spec: dict, *, split_by: str | None = None, duration=None,
                      fit: str = "exact") -> np.ndarray:
        """Recording ``i`` as one sample ``[T, C, H, W]`` for a bundle's input spec; a refusal names it."""
        if self.frames is not None:
            return self.frames[i]
        from .events import frames_for_spec
        try:
            return frames_for_spec(*self.events(i), spec, split_by=split_by, duration=duration, fit=fit)
        except InputError as e:
            raise InputError(f"{self.names[i]}: {e}") from None
        except ValueError as e:
            if type(e).__name__ == "EventFileError":       # names its file already
                raise
            raise InputError(f"{self.names[i]}: {e}") from None

    def to_frames(self, spec: dict, *, split_by: str | None = None, duration=None, fit: str = "exact") -> np.ndarray:
        """All recordings as ``[N, T, C, H, W]`` (frames as stored; events integrated per the spec)."""
        if self.frames is not None:
            return self.frames
        return np.stack([self.sample_frames(i, spec, split_by=split_by, duration=duration, fit=fit)
                         for i in range(len(self))])


def _format_of(path: Path, format: str | None) -> str:
    fmt = (format or "auto").lower()
    if fmt not in FORMATS:
        raise InputError(f"format {format!r}; expected one of {FORMATS}")
    if fmt != "auto":
        return fmt
    if path.is_dir():
        return "auto"
    got = SUFFIXES.get(path.suffix.lower())
    if got is None:
        raise InputError(f"{path}: cannot tell the recordings format from the name ({path.suffix or 'no suffix'}); "
                         f"expected {EXPECTED}, or name the format (--format {{{','.join(FORMATS[1:])}}})")
    return got


def _read_event_file(path: Path, fmt: str):
    from .eventfiles import read_events
    if fmt == "auto":
        fmt = EVENT_SUFFIXES[path.suffix.lower()]
    return read_events(path, format=None if fmt == "aedat" else fmt)   # 'aedat': the version line says which


def _labels(labels, n: int, where: str) -> np.ndarray | None:
    if labels is None:
        return None
    labels = np.asarray(labels)
    if labels.shape != (n,) or not (np.issubdtype(labels.dtype, np.integer) or labels.dtype == np.bool_):
        raise InputError(f"{where}: labels {labels.dtype} {labels.shape}; expected integers ({n},), one per recording")
    return labels


def _read_npz(path: Path) -> Recordings:
    try:
        z = np.load(path, allow_pickle=False)
        if not hasattr(z, "files"):
            raise ValueError(f"a single .npy array {z.shape}, not an .npz archive")
    except Exception as e:
        raise InputError(f"{path}: not an .npz archive ({type(e).__name__}: {e}); expected {EXPECTED}") from None
    with z:
        files = list(z.files)
        keys = [k for k in FRAME_KEYS if k in files]
        if len(keys) == 2:
            raise InputError(f"{path}: has both 'frames' and 'input'; expected one of them (the same array "
                             "under either name)")
        labels = z["labels"] if "labels" in files else None
        if keys:
            frames = z[keys[0]]
            if frames.ndim == 4:                      # one recording without N
                frames = frames[None]
            if frames.ndim != 5:
                raise InputError(f"{path}: {keys[0]!r} has shape {frames.shape}; expected recordings "
                                 "[N, T, C, H, W] (or one [T, C, H, W])")
            n = len(frames)
            return Recordings([f"{path.name}[{i}]" for i in range(n)], _labels(labels, n, str(path)),
                              f"{n} recordings of frames {tuple(frames.shape[1:])} from {path}", frames=frames)
        missing = [k for k in EVENT_KEYS if k not in files]
        if missing:
            raise InputError(f"{path}: neither frames ('frames' or 'input' [N, T, C, H, W]) nor events "
                             f"(missing {missing}); has {files}")
        ev = {k: z[k] for k in EVENT_KEYS}
    off = ev.pop("offsets")
    m = len(ev["t"])
    if any(a.ndim != 1 or a.size != m for a in ev.values()):
        raise InputError(f"{path}: x, y, p, t have shapes {[a.shape for a in ev.values()]}; expected one value "
                         "per event, all the same length")
    if off.ndim != 1 or off.size < 2 or not np.issubdtype(off.dtype, np.integer) or off[0] != 0 or \
            off[-1] != m or np.any(np.diff(off) < 0):
        raise InputError(f"{path}: offsets {off.dtype} {off.shape} ({np.ravel(off)[:4].tolist()}...); "
                         f"expected N+1 non-decreasing integers from 0 to the {m} events")
    n = off.size - 1
    return Recordings([f"{path.name}[{i}]" for i in range(n)], _labels(labels, n, str(path)),
                      f"{n} event recordings ({m} events) from {path}",
                      _events=lambda i: tuple(ev[k][off[i]:off[i + 1]] for k in "xypt"))


def read_recordings(path, format: str | None = "auto") -> Recordings:
    """Read a recordings file or folder (see the module docstring): the one reader of the project."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such recording file or folder (expected {EXPECTED})")
    fmt = _format_of(path, format)
    if fmt == "npz":
        if path.is_dir():
            raise InputError(f"{path}: a folder; --format npz reads one .npz file")
        return _read_npz(path)
    if not path.is_dir():
        return Recordings([path.name], None, f"1 event file {path} ({fmt})",
                          _events=lambda i: _xypt(_read_event_file(path, fmt)))
    family = "aedat" if fmt.startswith("aedat") else fmt
    wanted = {s for s, f in EVENT_SUFFIXES.items() if family in ("auto", f)}
    files = sorted(f for f in path.rglob("*") if f.is_file() and f.suffix.lower() in wanted)
    if not files:
        found = sorted({f.suffix.lower() or "(no suffix)" for f in path.rglob("*") if f.is_file()})
        raise InputError(f"{path}: no event files ({', '.join(sorted(wanted))}) in this folder (it has "
                         f"{', '.join(found) if found else 'no files'}); expected {EXPECTED}"
                         + ("; a .npz is read on its own: pass the file" if ".npz" in found else ""))
    labelled = all(f.parent != path and f.parent.name.isdigit() for f in files)
    labels = np.array([int(f.parent.name) for f in files]) if labelled else None
    return Recordings([str(f.relative_to(path)) for f in files], labels,
                      f"{len(files)} event files from {path} (one recording each)",
                      _events=lambda i: _xypt(_read_event_file(files[i], fmt)))


def _xypt(ev) -> tuple:
    return ev.x, ev.y, ev.p, ev.t


@dataclass
class Classified:
    predicted: np.ndarray          # [N] class per recording
    labels: np.ndarray | None      # [N] when the file or folder says
    description: str               # what was read, for a log line
    names: list[str] = field(default_factory=list)     # [N] the file (and index in it) of each recording


def classify_recordings(core, path, *, split_by: str | None = None, duration=None,
                        format: str | None = "auto") -> Classified:
    """Classify every recording in ``path`` (see the module docstring; or :class:`Recordings` already
    read) on ``core`` (a SpikingCore).

    With ``split_by='duration'`` the frames are padded or cut to the model's T (``fit='pad'``, as
    SpikingJelly pads variable-length samples); otherwise the split must give T frames."""
    rec = path if isinstance(path, Recordings) else read_recordings(path, format)
    if rec.frames is not None:
        predicted = core.classify_batch(rec.frames).labels
        return Classified(predicted, rec.labels, rec.description, rec.names)
    fit = "pad" if split_by == "duration" else "exact"
    predicted = np.array([core.classify(rec.sample_frames(i, core.spec, split_by=split_by, duration=duration,
                                                          fit=fit)).label for i in range(len(rec))])
    return Classified(predicted, rec.labels, rec.description + f", split by {split_by or 'the bundle spec'}",
                      rec.names)


def recordings_or_golden(path, bundle) -> tuple[Path, str]:
    """The recordings to show: ``path`` when given; else ``recordings.npz`` in the working folder when
    there is one; else the bundle's golden samples (a board with only the bundle), with a note saying so."""
    if path is not None:
        return Path(path), ""
    here = Path("recordings.npz")
    if here.is_file():
        return here, ""
    g = bundle.manifest.get("golden")
    if not g:
        raise FileNotFoundError(f"no recordings given, no recordings.npz in {Path.cwd()}, and the bundle "
                                f"{bundle.root} has no golden samples; set RECORDINGS (SYNA_RECORDINGS)")
    golden = Path(bundle.root) / g["file"]
    return golden, (f"no recordings given and no recordings.npz here: classifying the bundle's {g['samples']} "
                    f"golden samples ({golden}) instead")
