"""DVS events -> input frames: the one event-to-frame function, numpy only.

``events_to_frames`` integrates raw events ``(x, y, p, t)`` into frames exactly as
SpikingJelly's ``spikingjelly.datasets.integrate_events_by_fixed_frames_number``
(``split_by='number'`` or ``'time'``) and ``integrate_events_by_fixed_duration``
(``split_by='duration'``) do -- the functions training uses through
``DVS128Gesture(data_type='frame', ...)`` -- and then applies the bundle's input
spec: counts clipped to ``2^bits - 1``, or binarised. ``tests/test_host_events.py``
proves the counts equal SpikingJelly's on random event streams.

SpikingJelly's conventions, kept here:

- channel 1 holds events with ``p != 0`` (ON), channel 0 those with ``p == 0`` (OFF);
- ``'number'``: ``N // T`` events per frame, the last frame takes the remainder;
- ``'time'``: ``dt = (t[-1] - t[0]) // T``; frame ``j`` takes ``t0 + j*dt <= t < t0 + (j+1)*dt``,
  the last frame everything from ``t0 + (T-1)*dt`` on;
- ``'duration'``: ``t -= t.min()``, ``F = ceil(t[-1] / duration)`` frames, frame ``j`` takes
  ``t // duration == j``, the last frame everything from ``(F-1)*duration`` on;
- events must be in time order (recordings are); SpikingJelly assumes it silently, we check.

Where SpikingJelly would crash or silently mis-bin (a frame with no events in
``'time'`` mode, a coordinate outside the sensor, a negative polarity) we either
return an empty frame or raise a ``ValueError`` that says what was expected.
"""
from __future__ import annotations

import math

import numpy as np

SPLIT_MODES = ("number", "time", "duration")


def segment_bounds(t: np.ndarray, split_by: str, frames: int) -> tuple[np.ndarray, np.ndarray]:
    """``[j_l, j_r)`` event index ranges of ``frames`` frames (SpikingJelly's
    ``cal_fixed_frames_number_segment_index`` for time-ordered events)."""
    n = t.size
    if split_by == "number":
        di = n // frames
        j_l = np.arange(frames, dtype=np.int64) * di
        j_r = j_l + di
        j_r[-1] = n
    elif split_by == "time":
        if n == 0:
            return np.zeros(frames, np.int64), np.zeros(frames, np.int64)
        dt = (t[-1] - t[0]) // frames
        t_l = np.array([dt * i + t[0] for i in range(frames)])
        t_r = np.array([tl + dt for tl in t_l])
        j_l = np.searchsorted(t, t_l, side="left").astype(np.int64)
        j_r = np.searchsorted(t, t_r, side="left").astype(np.int64)
        j_r[-1] = n
    else:
        raise ValueError(f"split_by {split_by!r}; expected 'number' or 'time' for a fixed number of frames")
    return j_l, j_r


def duration_bounds(t: np.ndarray, duration) -> tuple[np.ndarray, np.ndarray]:
    """Frame ranges of SpikingJelly's ``integrate_events_by_fixed_duration`` (time-ordered ``t``)."""
    if not duration or duration <= 0:
        raise ValueError(f"duration {duration!r}; expected a positive time per frame (units of t)")
    t0 = t[0]
    frames = math.ceil((t[-1] - t0) / duration)
    if frames < 1:
        raise ValueError("all events share one timestamp: a split by duration gives no frame "
                         "(SpikingJelly fails here too); use split_by='number'")
    if np.issubdtype(t.dtype, np.integer) and float(duration).is_integer():
        # (t - t0) // d < k  <=>  t < t0 + k*d for integers: no pass over all events.
        edges = t0 + np.arange(1, frames, dtype=np.int64) * int(duration)
        right = np.searchsorted(t, edges, side="left").astype(np.int64)
    else:
        frame_index = (t - t0) // duration
        right = np.searchsorted(frame_index, np.arange(1, frames), side="left").astype(np.int64)
    j_l = np.concatenate([[0], right]).astype(np.int64)
    j_r = np.concatenate([right, [t.size]]).astype(np.int64)
    return j_l, j_r


CHUNK = 1 << 17   # events per bincount: the frame's counts and the chunk's positions stay in cache


def _check_events(x, y, p, t, height: int, width: int, ordered: bool) -> tuple[np.ndarray, ...]:
    x, y, p, t = (np.asarray(a) for a in (x, y, p, t))
    n = t.size
    for name, a in (("x", x), ("y", y), ("p", p), ("t", t)):
        if a.ndim != 1 or a.size != n:
            raise ValueError(f"events: {name} has shape {a.shape}; expected one value per event ({n},) "
                             "like x, y, p, t of the recording")
        if not (np.issubdtype(a.dtype, np.integer) or a.dtype == np.bool_ or
                (name == "t" and np.issubdtype(a.dtype, np.floating))):
            raise ValueError(f"events: {name} has dtype {a.dtype}; expected integers")
    if n == 0:
        raise ValueError("no events: expected at least one event to integrate")
    if x.min() < 0 or x.max() >= width or y.min() < 0 or y.max() >= height:
        raise ValueError(f"event coordinates x {x.min()}..{x.max()}, y {y.min()}..{y.max()}; expected "
                         f"0 <= x < {width}, 0 <= y < {height} (the frame size; crop or rescale first)")
    if p.dtype == np.bool_:
        p = p.view(np.uint8)
    elif np.issubdtype(p.dtype, np.signedinteger) and p.min() < 0:
        raise ValueError(f"polarities {p.min()}..{p.max()}; expected 0 (OFF) and 1 (ON) as SpikingJelly's "
                         "datasets store them (map -1 to 0 first)")
    if p.max() > 1:                                         # SpikingJelly: channel 1 is p != 0
        p = (p != 0).view(np.uint8)
    if ordered and n > 1 and np.any(t[1:] < t[:-1]):
        raise ValueError("event timestamps are not in time order; expected non-decreasing t (sort the "
                         "recording by t first)")
    return x, y, p, t


def events_to_frames(x, y, p, t, height: int, width: int, *, split_by: str = "number",
                     frames: int | None = None, duration=None, channels: int = 2,
                     bits: int | None = None, binarize: bool = False) -> np.ndarray:
    """Integrate events into frames ``[F, channels, height, width]``.

    split_by: ``'number'`` or ``'time'`` (``frames`` = T frames, SpikingJelly's
    fixed-frames-number integration) or ``'duration'`` (``duration`` per frame, in the
    units of ``t``; the number of frames follows from the recording's length).
    channels: 2 (OFF, ON: SpikingJelly's layout) or 1 (both polarities summed).
    bits: clip the counts to ``2^bits - 1``; binarize: 1 where any event. With
    neither the raw counts are returned (int64, equal to SpikingJelly's floats);
    with either the frames are uint8 (bits <= 8) or uint16, ready for the core."""
    if split_by not in SPLIT_MODES:
        raise ValueError(f"split_by {split_by!r}; expected one of {SPLIT_MODES}")
    if channels not in (1, 2):
        raise ValueError(f"channels {channels}; expected 2 (OFF/ON polarity planes) or 1 (summed)")
    if bits is not None and not 1 <= bits <= 16:
        raise ValueError(f"bits {bits}; the core takes 1..16-bit inputs")
    x, y, p, t = _check_events(x, y, p, t, height, width, ordered=split_by != "number")
    if split_by == "duration":
        j_l, j_r = duration_bounds(t, duration)
    else:
        if not frames or frames < 1:
            raise ValueError(f"frames {frames!r}; expected the number of frames T >= 1 for split_by={split_by!r}")
        j_l, j_r = segment_bounds(t, split_by, frames)
    plane = height * width
    per_frame = channels * plane
    counts = np.zeros((j_l.size, per_frame), dtype=np.int64)
    # Positions within a frame in the narrowest type that holds them (uint16 up to 2x128x128):
    # fewer bytes per pass; the frame's counts stay in cache (one frame at a time, as SpikingJelly).
    pdt = np.uint16 if per_frame <= 1 << 16 else np.intp
    buf = np.empty(min(CHUNK, t.size), dtype=pdt)
    pbuf = np.empty_like(buf) if channels == 2 else None
    w_, plane_ = pdt(width), pdt(plane)
    for i in range(j_l.size):
        for a in range(int(j_l[i]), int(j_r[i]), CHUNK):
            b = min(a + CHUNK, int(j_r[i]))
            pos = buf[:b - a]
            np.multiply(y[a:b], w_, out=pos, dtype=pdt, casting="unsafe")
            np.add(pos, x[a:b], out=pos, dtype=pdt, casting="unsafe")
            if channels == 2:
                q = pbuf[:b - a]
                np.multiply(p[a:b], plane_, out=q, dtype=pdt, casting="unsafe")
                pos += q
            counts[i] += np.bincount(pos, minlength=per_frame)
    counts = counts.reshape(j_l.size, channels, height, width)
    if binarize or bits == 1:
        return (counts > 0).astype(np.uint8)
    if bits is not None:
        return np.minimum(counts, (1 << bits) - 1).astype(np.uint8 if bits <= 8 else np.uint16)
    return counts


def fit_steps(frames: np.ndarray, steps: int, fit: str = "exact") -> np.ndarray:
    """Make a variable number of frames (split by duration) into the model's T.

    ``'exact'``: refuse anything but T frames; ``'pad'``: append empty frames or drop
    the last ones (SpikingJelly pads variable-length samples with zeros at the end)."""
    if frames.shape[0] == steps:
        return frames
    if fit == "exact":
        raise ValueError(f"the split gave {frames.shape[0]} frames; the model takes T={steps} "
                         "(choose the duration so that the recording gives T frames, or pass fit='pad')")
    if fit != "pad":
        raise ValueError(f"fit {fit!r}; expected 'exact' or 'pad'")
    if frames.shape[0] > steps:
        return frames[:steps]
    pad = np.zeros((steps - frames.shape[0],) + frames.shape[1:], dtype=frames.dtype)
    return np.concatenate([frames, pad])


def frames_for_spec(x, y, p, t, spec: dict, *, split_by: str = "number", duration=None,
                    fit: str = "exact") -> np.ndarray:
    """Events -> one sample ``[T, C, H, W]`` for a bundle's ``input`` spec (what the core takes).

    The spec's ``channels`` (2: polarity planes, 1: summed), ``height``, ``width``,
    ``steps`` and ``bits`` apply; ``binarize: true`` in the spec (or 1-bit input)
    binarises, otherwise counts are clipped to ``2^bits - 1``."""
    frames = events_to_frames(x, y, p, t, spec["height"], spec["width"], split_by=split_by,
                              frames=spec["steps"] if split_by != "duration" else None, duration=duration,
                              channels=spec["channels"], bits=spec["bits"],
                              binarize=bool(spec.get("binarize", False)))
    return fit_steps(frames, spec["steps"], fit)
