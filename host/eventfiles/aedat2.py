"""AEDAT 2.0 (jAER) files: ``#!AER-DAT2.0`` text header, then big-endian pairs of a 32-bit
address and a 32-bit timestamp (microseconds). What an address means depends on the camera, which
the header names in its ``# AEChip: <jAER chip class>`` line (jAER writes it since 2014; a file
without one is read as a DVS128, what older files and CIFAR10-DVS come from).

Layouts (iniVation, "AEDAT 2.0" file-format page; jAER's ``DVS128`` and ``DavisChip`` classes):

DVS128 (``ch.unizh.ini.jaer.chip.retina.DVS128``, ``Tmpdiff128``), 128 x 128::

    bit  0      polarity: 0 = ON, 1 = OFF (jAER flips the type bit)
    bits 1..7   x address; jAER shows x = 127 - address (flipx)
    bits 8..14  y
    bit  15     sync event (external input), bit 31: special event -- both skipped, counted
    bits 16..30 not used: an address with any of them set is refused

DAVIS (``eu.seebetter.ini.chips.davis.*``: DAVIS240A/B/C, Davis346A/B/C/blue/red/cBSI, Davis640, ...)::

    bit  31     0 = DVS (or external input), 1 = APS sample (IMU sample when bits 10, 11 are set too)
    bits 22..30 y address (jAER shows it as is: origin bottom left)
    bits 12..21 x address; jAER shows x = width - 1 - address (flipx)
    bit  11     polarity: 1 = ON
    bit  10     1 with bit 31 clear: external input event
    -> polarity events only; APS samples, IMU samples and external input events are skipped, counted
       (``skipped`` "aps", "imu", "special"; each raw record once)

Sensor sizes: jAER's chip classes (``WIDTH_PIXELS`` x ``HEIGHT_PIXELS`` of ``DAVIS240BaseCamera``,
``Davis346BaseCamera``, ``Davis128``, ``Davis208PixelParade``; DVS128 is 128 x 128; Davis640 640 x 480).
An ``AEChip`` not in :data:`CHIPS` is refused (its address layout is unknown); ``chip=`` overrides
the header.

Events come back as jAER shows them. DVS128: ``x = 127 - ((a >> 1) & 0x7F)``, ``y = (a >> 8) & 0x7F``,
``p = 1 - (a & 1)`` (SpikingJelly's CIFAR10-DVS loader rotates this view once more: its ``x`` is
``127 - y`` and its ``y`` is our ``x``). DAVIS: ``x = width - 1 - ((a >> 12) & 0x3FF)``,
``y = (a >> 22) & 0x1FF``, ``p = (a >> 11) & 1`` (tonic's ``read_davis_346`` also flips ``y``).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .records import EventFileError, Events, as_arrays, as_path, check_range, make_events, read_file
from .textheader import read_header

FORMAT = "aedat2"
MAGIC = b"#!AER-DAT2.0"
SENSOR_SIZE = (128, 128)
SPECIAL_BITS = 0x80008000          # DVS128: sync (bit 15) and special (bit 31) events
FOREIGN_BITS = 0x7FFF0000          # not used by a DVS128 address
LE_SPECIAL_OR_FOREIGN = 0x0080FFFF  # address bits 31..15 in an 8-byte record read as a little-endian uint64
DEFAULT_HEADER = ("# This is a raw AE data file - do not edit",
                  "# Data format is int32 address, int32 timestamp (8 bytes total), repeated for each event",
                  "# Timestamps tick is 1 us")
WRITTEN_BY = "(written by syna-fpga host.eventfiles)"
LAST_LINE = b"end of ascii header"   # jAER's last header line, '#End Of ASCII Header' (compared in lower case)

# jAER chip classes (the last part of the '# AEChip:' class name, lower case; a trailing 'color' is
# dropped: colour filters change only APS samples): address layout and sensor (width, height).
CHIPS: dict[str, tuple[str, tuple[int, int]]] = {
    "dvs128": ("dvs128", (128, 128)), "tmpdiff128": ("dvs128", (128, 128)),
    "davis240a": ("davis", (240, 180)), "davis240b": ("davis", (240, 180)), "davis240c": ("davis", (240, 180)),
    "davis240": ("davis", (240, 180)), "dvs240": ("davis", (240, 180)), "davis128": ("davis", (128, 128)),
    "davis208pixelparade": ("davis", (208, 192)),
    "davis346": ("davis", (346, 260)), "davis346a": ("davis", (346, 260)), "davis346b": ("davis", (346, 260)),
    "davis346c": ("davis", (346, 260)), "davis346blue": ("davis", (346, 260)), "davis346red": ("davis", (346, 260)),
    "davis346cbsi": ("davis", (346, 260)), "davis346zynq": ("davis", (346, 260)), "davis640": ("davis", (640, 480)),
}
DEFAULT_CHIP = "DVS128"
DAVIS_APS = 0x80000000             # bit 31: APS (or IMU) sample
DAVIS_IMU = 0x80000C00             # bits 31, 11, 10: IMU sample
DAVIS_EXTERNAL = 0x00000400        # bit 10 with bit 31 clear: external input event


def chip_key(name: str) -> str:
    """``'eu.seebetter.ini.chips.davis.Davis346B'`` -> ``'davis346b'`` (the key of :data:`CHIPS`)."""
    key = name.strip().split()[0].rsplit(".", 1)[-1].lower() if name.strip() else ""
    return key[:-5] if key.endswith("color") and key[:-5] in CHIPS else key


def chip_of(lines: list[str], chip: str | None, path) -> tuple[str, tuple[int, int], str]:
    """``(layout, (width, height), name)`` of ``chip`` if given, else of the header's ``AEChip`` line,
    else of a DVS128."""
    if chip is None:
        named = [ln.split(":", 1)[1] for ln in lines if ln.strip().startswith("AEChip:")]
        chip = named[-1].strip() if named else DEFAULT_CHIP
        given = False
    else:
        given = True
    key = chip_key(chip)
    if key not in CHIPS:
        known = "DVS128, DAVIS240A/B/C, Davis128, Davis208PixelParade, Davis346A/B/C/blue/red/cBSI, Davis640"
        where = "chip=" if given else "the header's '# AEChip:' line"
        raise EventFileError(path, f"{where} names the camera {chip!r}, whose address layout is not known here",
                             f"a jAER chip class of {known} (pass chip='DVS128' or e.g. chip='Davis346B' if its "
                             "addresses use that layout)", offset=0)
    layout, size = CHIPS[key]
    return layout, size, chip.split()[0]


def decode_aedat2(raw: bytes, path=None, chip: str | None = None) -> Events:
    lines, start = read_header(raw, path, MAGIC, None, LAST_LINE)
    layout, size, _ = chip_of(lines, chip, path)
    body = len(raw) - start
    if body % 8:
        raise EventFileError(path, f"truncated event: {body % 8} byte(s) after the last whole event",
                             "8 bytes per event (big-endian int32 address, int32 timestamp)",
                             offset=len(raw) - body % 8)
    n = body // 8
    if n == 0:
        e = np.zeros(0, np.uint8 if layout == "dvs128" else np.uint16)
        return make_events(e, e, e[:0].astype(np.uint8), e, size, path, FORMAT, lambda i: start)
    data = np.frombuffer(raw, dtype=np.uint8, count=body, offset=start)
    if layout == "davis":
        return _decode_davis(data, start, n, size, path)
    x, y, p = np.empty(n, np.uint8), np.empty(n, np.uint8), np.empty(n, np.uint8)
    t = np.empty(n, np.int64)
    _dvs128_fields(data, x, y, p, t)
    drop = _dvs128_dropped(data, start, path)
    if drop.size == 0:
        return make_events(x, y, p, t, size, path, FORMAT, lambda i: start + 8 * int(i))
    kept = _compact((x, y, p, t), drop, n)
    return make_events(x[:kept], y[:kept], p[:kept], t[:kept], size, path, FORMAT,
                       lambda i: start + 8 * int(np.delete(np.arange(n), drop)[i]), {"special": int(drop.size)})


CHECK_CHUNK = 1 << 14        # records per OR check (and per mask of a chunk that has a special event)
COMPACT_RUNS = 256           # up to this many dropped records: move the runs between them (no new arrays)


def _dvs128_dropped(data: np.ndarray, start: int, path) -> np.ndarray:
    """Indices of the sync / special records in ``data`` (DVS128 records, 8 bytes each); refuses
    foreign bits. Chunk by chunk: one contiguous OR of the records read as little-endian uint64
    (address bytes 0, 1, 2 are its bits 0..23) finds whether a chunk has any; only such chunks are
    looked at record by record (small temporaries: sync events are rare)."""
    v = data.view("<u8")
    found = []
    for a in range(0, v.size, CHECK_CHUNK):
        if int(np.bitwise_or.reduce(v[a:a + CHECK_CHUNK])) & LE_SPECIAL_OR_FOREIGN:
            try:
                keep = _dvs128_keep(data[8 * a:8 * (a + CHECK_CHUNK)], start + 8 * a, path)
            except EventFileError:                       # foreign bits: the error counts them over the file
                _dvs128_keep(data, start, path)
                raise
            found.append(np.flatnonzero(~keep) + a)
    return np.concatenate(found) if found else np.zeros(0, np.int64)


def _compact(arrays, drop: np.ndarray, n: int) -> int:
    """Move each array's first ``n`` entries except those at the (sorted) indices ``drop`` to its front,
    in place, in order; returns how many. Few dropped records: the runs between them are moved
    (memmove), no temporary array; many: one boolean selection per array."""
    k = n - drop.size
    if drop.size > COMPACT_RUNS:
        keep = np.ones(n, bool)
        keep[drop] = False
        for a in arrays:
            a[:k] = a[:n][keep]
        return k
    w = a0 = 0
    for stop in drop.tolist() + [n]:
        if stop > a0 and w != a0:
            for a in arrays:
                a[w:w + stop - a0] = a[a0:stop]
        w += stop - a0
        a0 = stop + 1
    return k


def _dvs128_fields(data: np.ndarray, x, y, p, t) -> None:
    """x, y, p, t of the DVS128 records in ``data`` (contiguous uint8, 8 bytes per event) into the
    given arrays. Big-endian address bytes: 2 = sync bit 15 | y, 3 = x << 1 | type; so
    ``x = 127 - (b >> 1) = (~b) >> 1`` and ``p = 1 - (b & 1) = (~b) & 1``. ``y`` keeps a sync event's
    bit 7 (such events are dropped by :func:`_dvs128_keep`)."""
    ev = data.reshape(-1, 8)
    np.invert(ev[:, 3], out=x)
    np.bitwise_and(x, 1, out=p)
    np.right_shift(x, 1, out=x)
    y[...] = ev[:, 2]
    t[...] = np.ndarray((x.size,), dtype=">u4", buffer=data, offset=4, strides=(8,))


def _dvs128_keep(data: np.ndarray, start: int, path) -> np.ndarray:
    """Which records are polarity events (no sync bit 15, no special bit 31); refuses foreign bits
    16..30 on any of them (big-endian byte 0 = bits 31..24, byte 1 = 23..16, byte 2 bit 7 = bit 15)."""
    ev = data.reshape(-1, 8)
    b0 = ev[:, 0]
    keep = ((b0 | ev[:, 2]) & 0x80) == 0
    foreign = keep & (((b0 & 0x7F) | ev[:, 1]) != 0)
    if foreign.any():
        bad = np.flatnonzero(foreign)
        i = int(bad[0])
        addr = int.from_bytes(bytes(ev[i, :4]), "big")
        raise EventFileError(path, f"address 0x{addr:08x} has bits 16..30 set ({bad.size} such events)",
                             "a DVS128 address (bits 0..14, bit 15 sync, bit 31 special)", offset=start + 8 * i)
    return keep


def _decode_davis(data: np.ndarray, start: int, n: int, size: tuple[int, int], path) -> Events:
    width, height = size
    a = np.ndarray((n,), dtype=">u4", buffer=data, offset=0, strides=(8,)).astype(np.uint32)
    t = np.ndarray((n,), dtype=">u4", buffer=data, offset=4, strides=(8,)).astype(np.int64)
    keep = (a & (DAVIS_APS | DAVIS_EXTERNAL)) == 0
    xa = ((a >> 12) & 0x3FF).astype(np.uint16)
    y = ((a >> 22) & 0x1FF).astype(np.uint16)
    outside = keep & ((xa >= width) | (y >= height))
    if outside.any():
        bad = np.flatnonzero(outside)
        i = int(bad[0])
        raise EventFileError(path, f"record {i}: address 0x{int(a[i]):08x} has x address {int(xa[i])}, y {int(y[i])}, "
                             f"outside the {width}x{height} sensor ({bad.size} such events)",
                             f"DAVIS x address (bits 12..21) < {width} and y address (bits 22..30) < {height}",
                             offset=start + 8 * i)
    skipped = {}
    if not keep.all():
        aps = (a & DAVIS_APS) != 0
        imu = int(np.count_nonzero((a & DAVIS_IMU) == DAVIS_IMU))
        counts = {"aps": int(np.count_nonzero(aps)) - imu, "imu": imu,
                  "special": n - int(np.count_nonzero(keep)) - int(np.count_nonzero(aps))}
        skipped = {k: v for k, v in counts.items() if v}
        a, xa, y, t = a[keep], xa[keep], y[keep], t[keep]
    x = np.subtract(width - 1, xa, dtype=np.uint16)
    p = ((a >> 11) & 1).astype(np.uint8)
    index = None if keep.all() else np.flatnonzero(keep)
    return make_events(x, y, p, t, size, path, FORMAT,
                       lambda i: start + 8 * int(i if index is None else index[i]), skipped)


BLOCK = 1 << 17              # events per block when reading a large file (1 MiB of records: stays in cache)
HEAD_READ = 1 << 16          # bytes read first for the header


def read_aedat2(path, chip: str | None = None) -> Events:
    """Events of a jAER AEDAT 2.0 file: a DVS128's, or a DAVIS camera's named by the header's
    ``# AEChip:`` line (``chip=`` overrides it; see :data:`CHIPS`).

    A large DVS128 file is read block by block into one reused buffer and each block decoded and
    checked while it is in cache (one pass over the file instead of one per field and check); sync
    and special events are dropped block by block. Files that are small, whose header is long, that
    are DAVIS files, or that hold anything the checks refuse go through :func:`decode_aedat2` on the
    whole file, which also names the problem."""
    path = as_path(path)
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size < 4 * BLOCK * 8:
            return decode_aedat2(read_file(path), path, chip)
        head = f.read(HEAD_READ)
        try:
            lines, start = read_header(head, path, MAGIC, None, LAST_LINE)
            layout, sensor, _ = chip_of(lines, chip, path)
        except EventFileError:
            start, layout = len(head), None
        body = size - start
        if start >= len(head) - 8 or body % 8 or layout != "dvs128":    # the slow path
            return decode_aedat2(read_file(path), path, chip)
        out = _read_dvs128_blocks(f, start, body // 8)
        if out is None:
            return decode_aedat2(read_file(path), path, chip)
    x, y, p, t, special = out
    return make_events(x, y, p, t, sensor, path, FORMAT, lambda i: None, {"special": special} if special else None,
                       time_checked=True)


def _read_dvs128_blocks(f, start: int, n: int):
    """``(x, y, p, t, special)`` of the ``n`` DVS128 records from ``start``, block by block; ``None``
    when a block has foreign bits or time goes backwards (the whole-file decoder says where)."""
    x, y, p = np.empty(n, np.uint8), np.empty(n, np.uint8), np.empty(n, np.uint8)
    t = np.empty(n, np.int64)
    buf = np.empty(BLOCK * 8, np.uint8)
    back = np.empty(BLOCK, bool)
    f.seek(start)
    w = 0                                                # events kept so far
    for a in range(0, n, BLOCK):
        m = min(a + BLOCK, n) - a
        raw = buf[:8 * m]
        if f.readinto(raw) != raw.size:                  # the file shrank under us: the whole-file path says how
            return None
        e = w + m
        _dvs128_fields(raw, x[w:e], y[w:e], p[w:e], t[w:e])
        if int(np.bitwise_or.reduce(raw.view("<u8"))) & LE_SPECIAL_OR_FOREIGN:
            try:
                drop = _dvs128_dropped(raw, 0, None)
            except EventFileError:                       # foreign bits: the whole-file path names the offset
                return None
            e = w + _compact((x[w:w + m], y[w:w + m], p[w:w + m], t[w:w + m]), drop, m)
        lo = max(w, 1)
        if e > lo and np.less(t[lo:e], t[lo - 1:e - 1], out=back[:e - lo]).any():
            return None                                  # time goes backwards: make_events names where
        w = e
    return x[:w], y[:w], p[:w], t[:w], n - w


def cifar10_dvs_view(ev: Events) -> Events:
    """The orientation SpikingJelly's ``CIFAR10DVS`` gives (what ``cifar10_dvs`` models train on):
    ``x' = 127 - y``, ``y' = x`` of jAER's view. Use it on the board for CIFAR10-DVS recordings."""
    return Events((127 - ev.y.astype(np.int64)).astype(ev.x.dtype), ev.x.copy(), ev.p, ev.t, ev.sensor_size,
                  ev.path, ev.format, dict(ev.skipped))


def encode_aedat2(x, y, p, t, header=DEFAULT_HEADER, chip: str = DEFAULT_CHIP) -> bytes:
    x, y, p, t = as_arrays(x, y, p, t)
    layout, (width, height), name = chip_of([], chip, None)
    check_range("x", x, 0, width - 1, f"a {name} address")
    check_range("y", y, 0, height - 1, f"a {name} address")
    check_range("t", t, 0, (1 << 32) - 1, "the 32-bit timestamp")
    words = np.empty((t.size, 2), dtype=">u4")
    if layout == "dvs128":
        words[:, 0] = (y << 8) | ((127 - x) << 1) | (1 - p)
    else:
        words[:, 0] = (y << 22) | ((width - 1 - x) << 12) | (p << 11)
    words[:, 1] = t
    lines = [MAGIC.decode()] + [h if h.startswith("#") else "# " + h for h in header]
    lines += [f"# AEChip: {name} {WRITTEN_BY}", "#End Of ASCII Header"]
    return ("\r\n".join(lines) + "\r\n").encode("latin-1") + words.tobytes()


def write_aedat2(path, x, y, p, t, header=DEFAULT_HEADER, chip: str = DEFAULT_CHIP) -> Path:
    """Write events as a jAER AEDAT 2.0 file of ``chip`` (default a DVS128; a DAVIS class of
    :data:`CHIPS` writes DAVIS addresses), the inverse of :func:`read_aedat2`."""
    path = as_path(path)
    path.write_bytes(encode_aedat2(x, y, p, t, header, chip))
    return path
