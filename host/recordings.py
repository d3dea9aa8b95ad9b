"""Recordings to classify, from the files users have: one place for the notebook and ``python -m host``.

- a ``.npz`` of frames: ``frames`` ``[N, T, C, H, W]`` integers, optional ``labels`` ``[N]``;
- a ``.npz`` of events: ``x``, ``y``, ``p``, ``t`` (all samples concatenated, time-ordered within
  a sample) with ``offsets`` ``[N+1]`` (sample ``i`` is ``offsets[i]:offsets[i+1]``), optional ``labels``;
- an event-camera file (N-MNIST ``.bin``, AEDAT 2.0 / 3.1 / 4: :mod:`host.eventfiles`), one
  recording, or a folder of them; ``<folder>/<label>/<file>`` gives the labels (N-MNIST's
  ``Test/<digit>/*.bin`` layout).

Events become frames as the bundle's input spec says training made them
(:meth:`host.SpikingCore.classify_events`); ``split_by`` / ``duration`` override only where the
spec says nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

EVENT_SUFFIXES = (".aedat", ".aedat4", ".bin")


@dataclass
class Classified:
    predicted: np.ndarray          # [N] class per recording
    labels: np.ndarray | None      # [N] when the file or folder says
    description: str               # what was read, for a log line


def classify_recordings(core, path, *, split_by: str | None = None, duration=None) -> Classified:
    """Classify every recording in ``path`` (see the module docstring) on ``core`` (a SpikingCore)."""
    from .eventfiles import read_events

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such recording file or folder (expected .npz, "
                                f"{', '.join(EVENT_SUFFIXES)} or a folder of them)")
    fit = "pad" if split_by == "duration" else "exact"
    if path.is_dir() or path.suffix.lower() in EVENT_SUFFIXES:
        files = sorted(f for f in path.rglob("*") if f.suffix.lower() in EVENT_SUFFIXES) if path.is_dir() else [path]
        if not files:
            raise FileNotFoundError(f"{path}: no event files ({', '.join(EVENT_SUFFIXES)}) in this folder")
        labelled = path.is_dir() and all(f.parent != path and f.parent.name.isdigit() for f in files)
        labels = np.array([int(f.parent.name) for f in files]) if labelled else None
        predicted = np.array([core.classify_events(ev.x, ev.y, ev.p, ev.t, split_by=split_by, duration=duration,
                                                   fit=fit).label for ev in map(read_events, files)])
        return Classified(predicted, labels, f"{len(files)} event files from {path} (one recording each)")
    rec = np.load(path)
    labels = rec["labels"] if "labels" in rec.files else None
    if "frames" in rec.files:
        frames = rec["frames"]
        return Classified(core.classify_batch(frames).labels, labels,
                          f"{len(frames)} recordings of frames {frames.shape[1:]} from {path}")
    missing = [k for k in ("x", "y", "p", "t", "offsets") if k not in rec.files]
    if missing:
        raise ValueError(f"{path}: neither 'frames' nor events: missing {missing} (has {rec.files})")
    off = rec["offsets"]
    predicted = np.array([core.classify_events(*(rec[k][off[i]:off[i + 1]] for k in "xypt"), split_by=split_by,
                                               duration=duration, fit=fit).label for i in range(len(off) - 1)])
    return Classified(predicted, labels, f"{len(off) - 1} event recordings ({off[-1]} events) from {path}, "
                                         f"split by {split_by or 'the bundle spec'}")
