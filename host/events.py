"""DVS events -> input frames: the one event-to-frame function, numpy only.

``events_to_frames`` integrates raw events ``(x, y, p, t)`` into frames exactly as
SpikingJelly's ``spikingjelly.datasets.integrate_events_by_fixed_frames_number``
(``split_by='number'`` or ``'time'``) and ``integrate_events_by_fixed_duration``
(``split_by='duration'``) do -- the functions training uses through
``DVS128Gesture(data_type='frame', ...)`` -- and then applies the bundle's input
spec: counts clipped to ``2^bits - 1`` (``encode_counts`` also says how many were clipped), or
binarised; ``pool`` sums ``pool x pool`` windows first (OR-pooling once binarised). Training
(``model_export/event_datasets.py``) and the board use this same function.
``tests/test_host_events.py`` and ``tests/test_eventfiles_frames.py`` prove the counts equal
SpikingJelly's on random event streams and on recordings read from files.

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
# A split by duration into more frames than this is refused whatever the fit: a recording that long
# (17 minutes at 1 ms per frame) is a corrupt timestamp (a wrapped or overflowed clock), not a sample.
MAX_DURATION_FRAMES = 1 << 20
# Frames asked for without a bound (``events_to_frames(split_by='duration')`` without ``max_frames``)
# may not hold more counts than this (bytes of int64); ``max_frames`` (fit='pad' keeps T) bounds them.
MAX_COUNT_BYTES = 1 << 30


def _is_int(t: np.ndarray) -> bool:
    return np.issubdtype(t.dtype, np.integer)


def _span(t: np.ndarray):
    """``t[-1] - t[0]`` exactly: a Python int for integer times (an int64 difference wraps), else a float."""
    return int(t[-1]) - int(t[0]) if _is_int(t) else float(t[-1]) - float(t[0])


def _shifted(t: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """``t[0] + steps`` in ``t``'s dtype for integer ``t`` and ``0 <= steps <= t[-1] - t[0]`` (uint64):
    computed modulo 2^64, exact for any span below 2^64 (every value lies between t[0] and t[-1])."""
    v = steps.astype(np.uint64) + np.uint64(int(t[0]) % (1 << 64))
    return (v.view(np.int64) if np.issubdtype(t.dtype, np.signedinteger) else v).astype(t.dtype)


def _relative(t: np.ndarray) -> np.ndarray:
    """``t - t[0]`` without wrapping: uint64 for integer times, else float."""
    if not _is_int(t):
        return t - t[0]
    u = t.astype(np.int64, copy=False).view(np.uint64) if np.issubdtype(t.dtype, np.signedinteger) \
        else t.astype(np.uint64, copy=False)
    return u - np.uint64(int(t[0]) % (1 << 64))


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
        if _is_int(t):                       # exact for any span (t[-1] - t[0] in int64 wraps from 2^63 on)
            dt = _span(t) // frames
            edges = _shifted(t, np.array([dt * i for i in range(frames + 1)], dtype=np.uint64))
            t_l, t_r = edges[:-1], edges[1:]
        else:
            dt = (t[-1] - t[0]) // frames
            t_l = np.array([dt * i + t[0] for i in range(frames)])
            t_r = np.array([tl + dt for tl in t_l])
        j_l = np.searchsorted(t, t_l, side="left").astype(np.int64)
        j_r = np.searchsorted(t, t_r, side="left").astype(np.int64)
        j_r[-1] = n
    else:
        raise ValueError(f"split_by {split_by!r}; expected 'number' or 'time' for a fixed number of frames")
    return j_l, j_r


def _integral(duration) -> bool:
    return float(duration).is_integer()


def duration_frames(t: np.ndarray, duration) -> int:
    """The number of frames SpikingJelly's split by ``duration`` makes of time-ordered ``t``,
    ``ceil((t[-1] - t[0]) / duration)``, computed exactly; absurd spans are refused."""
    if isinstance(duration, (bool, np.bool_)) or not isinstance(duration, (int, float, np.integer, np.floating)) \
            or not math.isfinite(duration) or duration <= 0:
        raise ValueError(f"duration {duration!r}; expected a positive time per frame (finite, units of t)")
    span = _span(t)
    too_many = MAX_DURATION_FRAMES + 1
    if _is_int(t) and _integral(duration):
        frames = -(-span // int(duration))
    else:
        q = span / duration
        frames = math.ceil(q) if q <= MAX_DURATION_FRAMES else too_many
    if frames < 1:
        raise ValueError("all events share one timestamp: a split by duration gives no frame "
                         "(SpikingJelly fails here too); use split_by='number'")
    if frames > MAX_DURATION_FRAMES:
        count = f"{frames:,}" if frames != too_many else f"more than {MAX_DURATION_FRAMES:,}"
        raise ValueError(f"the events span {span:,} (t {t[0]} .. {t[-1]}, units of t): {count} frames of duration "
                         f"{duration:g}, more than the {MAX_DURATION_FRAMES:,} a recording is taken to have -- "
                         "a corrupt timestamp (a wrapped or overflowed clock)? Expected a span below "
                         f"{MAX_DURATION_FRAMES * duration:,.0f}; cut the recording to a time window first")
    return int(frames)


def duration_bounds(t: np.ndarray, duration, max_frames: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Frame ranges of SpikingJelly's ``integrate_events_by_fixed_duration`` (time-ordered ``t``).

    ``max_frames``: only the first ones (what ``fit='pad'`` keeps); a kept frame then takes only its own
    ``duration``, and only the last of all frames takes the rest of the recording. Time and memory
    follow the frames kept, not the span."""
    frames = duration_frames(t, duration)
    keep = frames if max_frames is None else max(1, min(frames, int(max_frames)))
    last = min(keep, frames - 1)                 # frame starts needed: k = 1..last (k * duration < span)
    if last == 0:
        right = np.zeros(0, np.int64)
    elif _is_int(t) and _integral(duration):
        # (t - t0) // d < k  <=>  t < t0 + k*d for integers: no pass over all events.
        edges = _shifted(t, np.arange(1, last + 1, dtype=np.uint64) * np.uint64(int(duration)))
        right = np.searchsorted(t, edges, side="left").astype(np.int64)
    else:
        frame_index = _relative(t) // duration
        right = np.searchsorted(frame_index, np.arange(1, last + 1), side="left").astype(np.int64)
    if keep == frames:                           # the last frame takes everything from its start on
        right = np.append(right, t.size)
    return np.concatenate([[0], right[:-1]]).astype(np.int64), right


CHUNK = 1 << 17   # events per bincount: the frame's counts and the chunk's positions stay in cache


def unmasked(a, what: str) -> np.ndarray:
    """``a`` as an array; a numpy masked array is refused where any entry is masked (its raw value there
    would be used: the core has no mask), else its data is taken as it is."""
    if isinstance(a, np.ma.MaskedArray):
        masked = int(np.count_nonzero(np.ma.getmaskarray(a)))
        if masked:
            raise ValueError(f"{what} is a masked array with {masked} masked value(s); expected plain values "
                             "(the core has no mask): fill them (a.filled(0)) or drop them first")
        return np.asarray(a.data)
    return np.asarray(a)


def _check_events(x, y, p, t, height: int, width: int, ordered: bool) -> tuple[np.ndarray, ...]:
    x, y, p, t = (unmasked(a, f"events: {name}") for name, a in zip("xypt", (x, y, p, t)))
    n = t.size
    for name, a in (("x", x), ("y", y), ("p", p), ("t", t)):
        if a.ndim != 1 or a.size != n:
            raise ValueError(f"events: {name} has shape {a.shape}; expected one value per event ({n},) "
                             "like x, y, p, t of the recording")
        if not (np.issubdtype(a.dtype, np.integer) or (a.dtype == np.bool_ and name != "t") or
                (name == "t" and np.issubdtype(a.dtype, np.floating))):
            raise ValueError(f"events: {name} has dtype {a.dtype}; expected integers"
                             + (" or floats (timestamps)" if name == "t" else ""))
    if n == 0:
        raise ValueError("no events: expected at least one event to integrate")
    if np.issubdtype(t.dtype, np.floating) and not np.isfinite(t).all():
        bad = np.flatnonzero(~np.isfinite(t))
        raise ValueError(f"event timestamps: {bad.size} of {n} are NaN or infinite (first at event {bad[0]}: "
                         f"{t[bad[0]]}); expected finite times")
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
                     bits: int | None = None, binarize: bool = False, pool: int = 1,
                     max_frames: int | None = None) -> np.ndarray:
    """Integrate events into frames ``[F, channels, height // pool, width // pool]``.

    split_by: ``'number'`` or ``'time'`` (``frames`` = T frames, SpikingJelly's
    fixed-frames-number integration) or ``'duration'`` (``duration`` per frame, in the
    units of ``t``; the number of frames follows from the recording's length).
    max_frames: with ``'duration'``, make only the first ``max_frames`` frames (what padding or
    cutting to T keeps), so memory follows the output, not the recording's span.
    channels: 2 (OFF, ON: SpikingJelly's layout) or 1 (both polarities summed).
    bits: clip the counts to ``2^bits - 1``; binarize: 1 where any event. With
    neither the raw counts are returned (int64, equal to SpikingJelly's floats);
    with either the frames are uint8 (bits <= 8) or uint16, ready for the core.
    pool: spatial down-sampling by ``pool x pool`` windows (``height`` and ``width`` are the
    sensor's and must be multiples of it): the counts of a window are summed (sum pooling),
    done on the events (``x // pool``, ``y // pool``) before counting; binarised frames are
    then the OR-pooling of the binarised full-size frames, clipped ones the clipped sums.

    Refused (``ValueError`` saying what was expected): coordinates outside the frame, negative
    polarities, timestamps out of order (time and duration splits), NaN or infinite timestamps,
    masked arrays with masked entries, a split by duration into more than
    :data:`MAX_DURATION_FRAMES` frames (a corrupt timestamp), and counts over
    :data:`MAX_COUNT_BYTES` bytes (pass ``max_frames``)."""
    return _events_to_frames(x, y, p, t, height, width, split_by=split_by, frames=frames, duration=duration,
                             channels=channels, bits=bits, binarize=binarize, pool=pool,
                             max_frames=max_frames)[0]


def _events_to_frames(x, y, p, t, height: int, width: int, *, split_by: str, frames, duration, channels: int,
                      bits, binarize: bool, pool, max_frames) -> tuple[np.ndarray, int]:
    """:func:`events_to_frames` and the number of frames the split makes (more than returned when
    ``max_frames`` cut them)."""
    if split_by not in SPLIT_MODES:
        raise ValueError(f"split_by {split_by!r}; expected one of {SPLIT_MODES}")
    if channels not in (1, 2):
        raise ValueError(f"channels {channels}; expected 2 (OFF/ON polarity planes) or 1 (summed)")
    if bits is not None and not 1 <= bits <= 16:
        raise ValueError(f"bits {bits}; the core takes 1..16-bit inputs")
    if max_frames is not None and (not isinstance(max_frames, (int, np.integer)) or max_frames < 1):
        raise ValueError(f"max_frames {max_frames!r}; expected a whole number >= 1 (or None)")
    x, y, p, t = _check_events(x, y, p, t, height, width, ordered=split_by != "number")
    if pool != 1:
        if not isinstance(pool, (int, np.integer)) or pool < 1 or height % pool or width % pool:
            raise ValueError(f"pool {pool!r}; expected a whole number >= 1 that divides the sensor's "
                             f"{height}x{width} (height x width)")
        x, y = x // pool, y // pool
        height, width = height // pool, width // pool
    plane = height * width
    per_frame = channels * plane
    if split_by == "duration":
        total = duration_frames(t, duration)
        keep = total if max_frames is None else min(total, int(max_frames))
    else:
        if not isinstance(frames, (int, np.integer)) or isinstance(frames, bool) or frames < 1:
            raise ValueError(f"frames {frames!r}; expected the number of frames T >= 1 for split_by={split_by!r}")
        total = keep = int(frames)
    if keep * per_frame * 8 > MAX_COUNT_BYTES:
        span = f" (the events span {_span(t):,} in units of t)" if split_by == "duration" else ""
        raise ValueError(f"{keep:,} frames of {channels}x{height}x{width} counts need "
                         f"{keep * per_frame * 8 / 2**30:.1f} GiB{span}; expected at most "
                         f"{MAX_COUNT_BYTES / 2**30:g} GiB: pass max_frames (fit='pad' keeps T frames) or a "
                         "longer duration")
    if split_by == "duration":
        j_l, j_r = duration_bounds(t, duration, keep)
    else:
        j_l, j_r = segment_bounds(t, split_by, keep)
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
    if binarize or bits is not None:
        return encode_counts(counts, bits, binarize)[0], total
    return counts, total


def encode_counts(counts: np.ndarray, bits: int | None, binarize: bool = False) -> tuple[np.ndarray, int]:
    """Event counts -> the core's input values, and how many values changed (saturated).

    ``binarize`` (or 1-bit input): 1 where any event (binarising is the encoding, it counts
    no saturation); otherwise counts above ``2^bits - 1`` are clipped to it and counted.
    uint8 for up to 8 bits, else uint16."""
    if binarize or bits == 1:
        return (counts > 0).astype(np.uint8), 0
    if bits is None or not 1 <= bits <= 16:
        raise ValueError(f"bits {bits}; the core takes 1..16-bit inputs")
    top = (1 << bits) - 1
    saturated = int(np.count_nonzero(counts > top))
    return np.minimum(counts, top).astype(np.uint8 if bits <= 8 else np.uint16), saturated


FITS = ("exact", "pad")


def fit_steps(frames: np.ndarray, steps: int, fit: str = "exact", total: int | None = None) -> np.ndarray:
    """Make a variable number of frames (split by duration) into the model's T.

    ``'exact'``: refuse anything but T frames; ``'pad'``: append empty frames or drop
    the last ones (SpikingJelly pads variable-length samples with zeros at the end).
    ``total``: how many frames the split made when only the first ones were built."""
    if fit not in FITS:
        raise ValueError(f"fit {fit!r}; expected one of {FITS}")
    made = frames.shape[0] if total is None else int(total)
    if made == steps and frames.shape[0] == steps:
        return frames
    if fit == "exact":
        raise ValueError(f"the split gave {made:,} frames; the model takes T={steps} "
                         "(choose the duration so that the recording gives T frames, or pass fit='pad')")
    if frames.shape[0] > steps:
        return frames[:steps]
    pad = np.zeros((steps - frames.shape[0],) + frames.shape[1:], dtype=frames.dtype)
    return np.concatenate([frames, pad])


def frames_for_spec(x, y, p, t, spec: dict, *, split_by: str | None = None, duration=None,
                    fit: str = "exact") -> np.ndarray:
    """Events -> one sample ``[T, C, H, W]`` for a bundle's ``input`` spec (what the core takes).

    The spec's ``channels`` (2: polarity planes, 1: summed), ``height``, ``width``,
    ``steps`` and ``bits`` apply; ``binarize: true`` in the spec (or 1-bit input)
    binarises, otherwise counts are clipped to ``2^bits - 1``. Specs written by
    ``model_export.data`` for event datasets also record how training integrated:
    ``split_by`` (and ``duration``) and ``pool`` (events come at the sensor's size,
    ``height * pool`` x ``width * pool``). A ``split_by`` / ``duration`` given here that
    contradicts the spec's is refused: the frames would not be the ones the model learnt on."""
    if fit not in FITS:
        raise ValueError(f"fit {fit!r}; expected one of {FITS}")
    for name, given in (("split_by", split_by), ("duration", duration)):
        if given is not None and spec.get(name) is not None and given != spec[name]:
            raise ValueError(f"{name}={given!r}, but the model was trained on frames made with "
                             f"{name}={spec[name]!r} (the bundle's input spec); leave it out to follow the spec")
    split_by = split_by or spec.get("split_by") or "number"
    duration = duration if duration is not None else spec.get("duration")
    pool = int(spec.get("pool", 1))
    # A split by duration builds at most T frames whatever the recording's span (memory follows the
    # output); with fit='exact' the count it would make is checked all the same.
    frames, total = _events_to_frames(x, y, p, t, spec["height"] * pool, spec["width"] * pool, split_by=split_by,
                                      frames=spec["steps"] if split_by != "duration" else None, duration=duration,
                                      channels=spec["channels"], bits=spec["bits"],
                                      binarize=bool(spec.get("binarize", False)), pool=pool,
                                      max_frames=spec["steps"] if split_by == "duration" else None)
    return fit_steps(frames, spec["steps"], fit, total)
