"""AEDAT 2.0 (jAER) files of a DVS128: ``#!AER-DAT2.0`` text header, then big-endian
pairs of a 32-bit address and a 32-bit timestamp (microseconds).

DVS128 address (jAER's ``DVS128`` extractor, also how CIFAR10-DVS was recorded):

    bit  0      polarity: 0 = ON, 1 = OFF (jAER flips the type bit)
    bits 1..7   x address; jAER shows x = 127 - address (flipx)
    bits 8..14  y
    bit  15     sync event (external input), bit 31: special event -- both skipped, counted

Events come back as jAER shows them: ``x = 127 - ((a >> 1) & 0x7F)``, ``y = (a >> 8) & 0x7F``,
``p = 1 - (a & 1)``. (SpikingJelly's CIFAR10-DVS loader rotates this view once more:
its ``x`` is ``127 - y`` and its ``y`` is our ``x``.) An address with any of bits 16..30 set is
not a DVS128 address and is refused.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .records import EventFileError, Events, as_arrays, as_path, check_range, make_events
from .textheader import read_header

FORMAT = "aedat2"
MAGIC = b"#!AER-DAT2.0"
SENSOR_SIZE = (128, 128)
SPECIAL_BITS = 0x80008000          # sync (bit 15) and special (bit 31) events
FOREIGN_BITS = 0x7FFF0000          # not used by a DVS128 address
LE_SPECIAL_OR_FOREIGN = 0x0080FFFF  # address bits 31..15 in an 8-byte record read as a little-endian uint64
DEFAULT_HEADER = ("# This is a raw AE data file - do not edit",
                  "# Data format is int32 address, int32 timestamp (8 bytes total), repeated for each event",
                  "# Timestamps tick is 1 us",
                  "# AEChip: DVS128 (written by syna-fpga host.eventfiles)")


def decode_aedat2(raw: bytes, path=None) -> Events:
    _, start = read_header(raw, path, MAGIC, None)
    body = len(raw) - start
    if body % 8:
        raise EventFileError(path, f"truncated event: {body % 8} byte(s) after the last whole event",
                             "8 bytes per event (big-endian int32 address, int32 timestamp)",
                             offset=len(raw) - body % 8)
    n = body // 8
    if n == 0:
        e = np.zeros(0, np.uint8)
        return make_events(e, e, e, e, SENSOR_SIZE, path, FORMAT, lambda i: start)
    ev = np.frombuffer(raw, dtype=np.uint8, count=body, offset=start).reshape(n, 8)
    # big-endian address bytes: 0, 1 = bits 31..16 (special / foreign), 2 = sync bit 15 | y, 3 = x << 1 | type.
    # One contiguous pass finds whether any event has a special, sync or foreign bit: the OR of every
    # 8-byte record read as a little-endian uint64 (address bytes 0, 1, 2 are its bits 0..23)
    if int(np.bitwise_or.reduce(ev.reshape(-1).view("<u8"))) & LE_SPECIAL_OR_FOREIGN:
        return _decode_with_special(ev, start, n, path)
    # none: each field once into a contiguous array (no temporaries beyond the results)
    nb = np.invert(ev[:, 3])                    # x = 127 - (b >> 1) = (~b) >> 1, p = 1 - (b & 1) = (~b) & 1
    p = np.bitwise_and(nb, 1)
    x = np.right_shift(nb, 1, out=nb)
    y = np.ascontiguousarray(ev[:, 2])
    t = np.empty(n, np.int64)
    t[...] = np.ndarray((n,), dtype=">u4", buffer=ev, offset=4, strides=(8,))
    return make_events(x, y, p, t, SENSOR_SIZE, path, FORMAT, lambda i: start + 8 * int(i))


def _decode_with_special(ev, start: int, n: int, path) -> Events:
    """The rare file with sync / special events (skipped, counted) or foreign address bits (refused)."""
    addr = np.ndarray((n,), dtype=">u4", buffer=ev, offset=0, strides=(8,)).astype(np.uint32)
    keep = (addr & SPECIAL_BITS) == 0                    # special events may use any other bits
    foreign = np.flatnonzero(keep & ((addr & FOREIGN_BITS) != 0))
    if foreign.size:
        i = int(foreign[0])
        raise EventFileError(path, f"address 0x{int(addr[i]):08x} has bits 16..30 set ({foreign.size} such "
                             "events)", "a DVS128 address (bits 0..14, bit 15 sync, bit 31 special)",
                             offset=start + 8 * i)
    index = np.flatnonzero(keep)
    t = np.ndarray((n,), dtype=">u4", buffer=ev, offset=4, strides=(8,))[index].astype(np.int64)
    ev = ev[index]
    nb = np.invert(ev[:, 3])
    p = np.bitwise_and(nb, 1)
    x = np.right_shift(nb, 1, out=nb)
    return make_events(x, np.ascontiguousarray(ev[:, 2]), p, t, SENSOR_SIZE, path, FORMAT,
                       lambda i: start + 8 * int(index[i]), {"special": int(n - index.size)})


BLOCK = 1 << 17              # events per block when reading a large file (1 MiB of records: stays in cache)
HEAD_READ = 1 << 16          # bytes read first for the header


def read_aedat2(path) -> Events:
    """Events of a jAER AEDAT 2.0 file from a DVS128 (128 x 128).

    A large file is read block by block into one reused buffer and each block decoded and checked
    while it is in cache (one pass over the file instead of one per field and check). Files that
    are small, whose header is long, or that hold special / sync events (or anything else the
    checks refuse) go through :func:`decode_aedat2` on the whole file, which also names the problem."""
    path = as_path(path)
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size < 4 * BLOCK * 8:
            return decode_aedat2(np.fromfile(f, dtype=np.uint8), path)
        head = f.read(HEAD_READ)
        try:
            _, start = read_header(head, path, MAGIC, None)
        except EventFileError:
            start = len(head)
        body = size - start
        if start >= len(head) - 8 or body % 8:           # a long header (or a truncated file): the slow path
            f.seek(0)
            return decode_aedat2(np.fromfile(f, dtype=np.uint8), path)
        n = body // 8
        x, y, p = np.empty(n, np.uint8), np.empty(n, np.uint8), np.empty(n, np.uint8)
        t = np.empty(n, np.int64)
        buf = np.empty(BLOCK * 8, np.uint8)
        back = np.empty(BLOCK, bool)
        f.seek(start)
        ok = True
        for a in range(0, n, BLOCK):
            b = min(a + BLOCK, n)
            raw = buf[:8 * (b - a)]
            if f.readinto(raw) != raw.size:              # the file shrank under us: the whole-file path says how
                ok = False
                break
            if int(np.bitwise_or.reduce(raw.view("<u8"))) & LE_SPECIAL_OR_FOREIGN:
                ok = False                               # special / sync events (or foreign bits): the slow path
                break
            ev = raw.reshape(-1, 8)
            xb = x[a:b]
            np.invert(ev[:, 3], out=xb)
            np.bitwise_and(xb, 1, out=p[a:b])
            np.right_shift(xb, 1, out=xb)
            y[a:b] = ev[:, 2]
            t[a:b] = np.ndarray((b - a,), dtype=">u4", buffer=raw, offset=4, strides=(8,))
            lo = max(a, 1)
            m = back[:b - lo]
            if np.less(t[lo:b], t[lo - 1:b - 1], out=m).any():
                ok = False                               # time goes backwards: make_events names where
                break
        if not ok:
            f.seek(0)
            return decode_aedat2(np.fromfile(f, dtype=np.uint8), path)
    return make_events(x, y, p, t, SENSOR_SIZE, path, FORMAT, lambda i: start + 8 * int(i), time_checked=True)


def cifar10_dvs_view(ev: Events) -> Events:
    """The orientation SpikingJelly's ``CIFAR10DVS`` gives (what ``cifar10_dvs`` models train on):
    ``x' = 127 - y``, ``y' = x`` of jAER's view. Use it on the board for CIFAR10-DVS recordings."""
    return Events((127 - ev.y.astype(np.int64)).astype(ev.x.dtype), ev.x.copy(), ev.p, ev.t, ev.sensor_size,
                  ev.path, ev.format, dict(ev.skipped))


def encode_aedat2(x, y, p, t, header=DEFAULT_HEADER) -> bytes:
    x, y, p, t = as_arrays(x, y, p, t)
    check_range("x", x, 0, 127, "a DVS128 address")
    check_range("y", y, 0, 127, "a DVS128 address")
    check_range("t", t, 0, (1 << 32) - 1, "the 32-bit timestamp")
    words = np.empty((t.size, 2), dtype=">u4")
    words[:, 0] = (y << 8) | ((127 - x) << 1) | (1 - p)
    words[:, 1] = t
    lines = [MAGIC.decode()] + [h if h.startswith("#") else "# " + h for h in header]
    return ("\r\n".join(lines) + "\r\n").encode("latin-1") + words.tobytes()


def write_aedat2(path, x, y, p, t, header=DEFAULT_HEADER) -> Path:
    """Write events as a jAER AEDAT 2.0 DVS128 file (the inverse of :func:`read_aedat2`)."""
    path = as_path(path)
    path.write_bytes(encode_aedat2(x, y, p, t, header))
    return path
