"""N-MNIST / N-Caltech101 binary files (Orchard et al. 2015): 5 bytes per event, no header.

    byte 0   x (pixels)
    byte 1   y (pixels)
    byte 2   bit 7: polarity (1 = ON), bits 6..0: timestamp bits 22..16
    byte 3   timestamp bits 15..8
    byte 4   timestamp bits 7..0            (microseconds, 23 bits: up to 8.39 s)

N-MNIST's sensor is 34 x 34 (the ATIS saccades over a 28 x 28 digit). A ``y`` of 240 is
the old ATIS timestamp-overflow marker; N-MNIST files never hold one and it is refused as
a coordinate outside the sensor.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .records import EventFileError, Events, as_arrays, as_path, check_range, make_events, read_file

FORMAT = "nmnist"
EVENT_BYTES = 5
SENSOR_SIZE = (34, 34)
T_BITS = 23
BE_WORD = np.dtype(">u4")
_max, _any = np.maximum.reduce, np.logical_or.reduce
LAYOUT = "5 bytes per event (x, y, polarity bit 7 | timestamp bits 22..16, timestamp 15..8, timestamp 7..0)"


def decode_nmnist(raw: bytes | np.ndarray, path=None, sensor_size=SENSOR_SIZE) -> Events:
    """Decode the bytes of an N-MNIST file (what :func:`read_nmnist` reads)."""
    data = np.frombuffer(raw, dtype=np.uint8) if not isinstance(raw, np.ndarray) else np.ascontiguousarray(raw)
    tail = data.size % EVENT_BYTES
    if tail:
        whole = data.size - tail
        raise EventFileError(path, f"truncated event: {tail} byte(s) after the last whole event "
                             f"({data.size} bytes in all)", LAYOUT, offset=whole)
    n = data.size // EVENT_BYTES
    if n == 0:
        return make_events(data[:0], data[:0], data[:0], data[:0], sensor_size, path, FORMAT, lambda i: 0)
    ev = data.reshape(n, EVENT_BYTES)
    x, y = ev[:, 0], ev[:, 1]
    # bytes 1..4 of every event as one big-endian word: y << 24 | p << 23 | t (23 bits)
    t = np.ndarray((n,), dtype=BE_WORD, buffer=data, offset=1, strides=(EVENT_BYTES,)).astype(np.int64)
    t &= 0x7FFFFF
    p = ev[:, 2] >> 7
    width, height = sensor_size
    # the checks of make_events, inline (a file holds ~4,000 events: the per-call cost counts)
    if _max(x) >= width or _max(y) >= height or (n > 1 and _any(np.less(t[1:], t[:-1]))):
        return make_events(x, y, p, t, sensor_size, path, FORMAT, lambda i: i * EVENT_BYTES)
    return Events(x, y, p, t, (int(width), int(height)), path, FORMAT, {})


def read_nmnist(path, sensor_size=SENSOR_SIZE) -> Events:
    """Events of one N-MNIST file (``.bin``; SLAYER's copies name them ``.bs2``; sensor 34 x 34 unless given)."""
    path = as_path(path)
    return decode_nmnist(read_file(path), path, sensor_size)


def encode_nmnist(x, y, p, t) -> bytes:
    x, y, p, t = as_arrays(x, y, p, t)
    check_range("x", x, 0, 255, "one byte")
    check_range("y", y, 0, 255, "one byte")
    check_range("t", t, 0, (1 << T_BITS) - 1, "the 23-bit timestamp")
    out = np.empty((t.size, EVENT_BYTES), dtype=np.uint8)
    out[:, 0] = x
    out[:, 1] = y
    out[:, 2] = (p << 7) | (t >> 16)
    out[:, 3] = (t >> 8) & 0xFF
    out[:, 4] = t & 0xFF
    return out.tobytes()


def write_nmnist(path, x, y, p, t) -> Path:
    """Write events as an N-MNIST ``.bin`` file (any order: fixtures may be bad on purpose)."""
    path = as_path(path)
    path.write_bytes(encode_nmnist(x, y, p, t))
    return path
