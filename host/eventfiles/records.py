"""The one event record every reader returns, and the one error every reader raises.

Numpy only (``host/`` runs on a board's Python).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

X_DTYPE = np.uint16      # sensor coordinates of 9..15-bit formats; 8-bit formats keep uint8 (no copy)
P_DTYPE = np.uint8       # 1 = ON (brighter), 0 = OFF, SpikingJelly's convention
T_DTYPE = np.int64       # microseconds


def as_path(path) -> Path | None:
    """``path`` as a Path (cheap when it is one already: Path() parses again)."""
    return path if path is None or isinstance(path, Path) else Path(path)


def read_file(path: Path) -> np.ndarray:
    """The whole file as a writable uint8 array: one ``readinto`` of its size (``np.fromfile`` costs
    40-70 us more per call, which is most of the time of reading a small N-MNIST file)."""
    with open(path, "rb", buffering=0) as f:
        buf = np.empty(os.fstat(f.fileno()).st_size, np.uint8)
        view, got = memoryview(buf), 0
        while got < buf.size:
            k = f.readinto(view[got:])
            if not k:                                    # the file shrank under us
                return buf[:got]
            got += k
    return buf


class EventFileError(ValueError):
    """A file that is not a valid recording of its format.

    The message names the file, where the problem is (a byte offset, or an event
    index where the format gives no byte offsets) and what was expected there."""

    def __init__(self, path, problem: str, expected: str, offset: int | None = None, where: str | None = None):
        self.path = as_path(path)
        self.offset = offset
        self.problem = problem
        self.expected = expected
        loc = f"byte {offset}" if offset is not None else (where or "(no byte offset)")
        super().__init__(f"{self.path}: {loc}: {problem}; expected {expected}")


@dataclass(frozen=True)
class Events:
    """Events of one recording, time-ordered: ``x``, ``y`` (uint8 for N-MNIST and AEDAT 2.0, else uint16),
    ``p`` (uint8, 1 = ON),
    ``t`` (int64, microseconds), the sensor size ``(width, height)`` and the file they came from.

    ``skipped`` counts what the reader read but did not return (special / sync events,
    events without the valid mark, other event types), by kind."""

    x: np.ndarray
    y: np.ndarray
    p: np.ndarray
    t: np.ndarray
    sensor_size: tuple[int, int]
    path: Path | None = None
    format: str = ""
    skipped: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.t.size)

    @property
    def width(self) -> int:
        return int(self.sensor_size[0])

    @property
    def height(self) -> int:
        return int(self.sensor_size[1])

    def time_window(self, start: int, end: int) -> "Events":
        """Events with ``start <= t < end`` (a view; the record is time-ordered)."""
        a, b = np.searchsorted(self.t, [start, end], side="left")
        return Events(self.x[a:b], self.y[a:b], self.p[a:b], self.t[a:b], self.sensor_size, self.path,
                      self.format, {})

    def to_dict(self) -> dict:
        """``{'t', 'x', 'y', 'p'}``, the dict SpikingJelly's integration functions take (x, y as int64:
        SpikingJelly computes ``y * W + x`` in the arrays' own type, which would wrap in uint8)."""
        return dict(t=self.t, x=self.x.astype(np.int64), y=self.y.astype(np.int64), p=self.p)


CHUNK = 1 << 16          # events per block of the time-order check (its temporary stays in cache)


def goes_backwards(t: np.ndarray) -> bool:
    """Whether any timestamp is smaller than the one before: block by block into one small buffer
    (no n-sized temporary; stops at the first block that goes backwards)."""
    n = t.size
    if n <= CHUNK:
        return n > 1 and bool((t[1:] < t[:-1]).any())
    buf = np.empty(CHUNK, dtype=bool)
    for a in range(0, n - 1, CHUNK):
        b = min(a + CHUNK, n - 1)
        m = buf[:b - a]
        np.less(t[a + 1:b + 1], t[a:b], out=m)
        if m.any():
            return True
    return False


def make_events(x, y, p, t, sensor_size, path, fmt: str, offset_of, skipped: dict | None = None,
                time_checked: bool = False) -> Events:
    """Check a decoded recording and wrap it: coordinates inside the sensor, time never going
    backwards. ``offset_of(i)`` gives the byte offset of event ``i`` (or ``None``) for the error.
    ``time_checked``: the caller has already found ``t`` non-decreasing (block by block while
    decoding); a caller that finds it going backwards calls without it, for the error."""
    width, height = (int(v) for v in sensor_size)
    x = np.asarray(x)
    y = np.asarray(y)
    t = np.asarray(t)
    if t.dtype != T_DTYPE:
        t = t.astype(T_DTYPE)
    if x.size and (int(x.max()) >= width or int(y.max()) >= height):
        bad = np.flatnonzero((x >= width) | (y >= height))
        i = int(bad[0])
        raise EventFileError(path, f"event {i} at ({int(x[i])}, {int(y[i])}) lies outside the "
                             f"{width}x{height} sensor ({bad.size} such events)",
                             f"0 <= x < {width} and 0 <= y < {height}", offset=offset_of(i), where=f"event {i}")
    if not time_checked and goes_backwards(t):
        back = np.flatnonzero(t[1:] < t[:-1])
        i = int(back[0]) + 1
        raise EventFileError(path, f"timestamp goes backwards at event {i}: {int(t[i])} us after "
                             f"{int(t[i - 1])} us ({back.size} such steps)",
                             "non-decreasing timestamps", offset=offset_of(i), where=f"event {i}")
    if x.dtype not in (np.uint8, X_DTYPE):
        x, y = x.astype(X_DTYPE), y.astype(X_DTYPE)
    return Events(x, y,
                  np.asarray(p).astype(P_DTYPE, copy=False), t, (width, height), as_path(path), fmt,
                  dict(skipped) if skipped else {})


def as_arrays(x, y, p, t) -> tuple[np.ndarray, ...]:
    """Writer input: four 1-D integer arrays of one length."""
    arrs = [np.asarray(a) for a in (x, y, p, t)]
    n = arrs[3].size
    for name, a in zip("xypt", arrs):
        if a.ndim != 1 or a.size != n:
            raise ValueError(f"{name} has shape {a.shape}; expected ({n},), one value per event")
        if not (np.issubdtype(a.dtype, np.integer) or a.dtype == np.bool_):
            raise ValueError(f"{name} has dtype {a.dtype}; expected integers")
    x, y, p, t = (a.astype(np.int64) for a in arrs)
    if n and (p.min() < 0 or p.max() > 1):
        raise ValueError(f"polarities {p.min()}..{p.max()}; expected 0 (OFF) or 1 (ON)")
    return x, y, p, t


def check_range(name: str, a: np.ndarray, lo: int, hi: int, fmt: str) -> None:
    """Writers refuse values their format cannot hold (instead of wrapping them)."""
    if a.size and (a.min() < lo or a.max() > hi):
        raise ValueError(f"{name} {a.min()}..{a.max()} does not fit {fmt}; expected {lo}..{hi}")
