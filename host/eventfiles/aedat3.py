"""AEDAT 3.1 files (cAER / jAER 3), as the DVS128 Gesture set uses them.

Text header: ``#!AER-DAT3.1`` first, ``#``-lines (``#Source 1: DVS128`` names the sensor), up to
``#!END-HEADER``. Then packets, little-endian: a 28-byte header

    int16 eventType, int16 eventSource, int32 eventSize, int32 eventTSOffset,
    int32 eventTSOverflow, int32 eventCapacity, int32 eventNumber, int32 eventValid

and ``eventCapacity * eventSize`` bytes of events. Polarity events (type 1) are 8 bytes:
``uint32 data`` (bit 0 valid mark, bit 1 polarity, bits 2..16 y, bits 17..31 x) and
``int32 timestamp``; the full timestamp is ``eventTSOverflow << 31 | timestamp`` (µs).

Read: of each polarity packet the first ``eventNumber`` events, those with the valid mark;
packets of other types (special events, frames, IMU) are skipped and counted by type.
SpikingJelly's ``load_aedat_v3`` (what its DVS128Gesture uses) reads all ``eventCapacity``
events whatever their valid mark: on files where every slot holds a valid event (the
writer here, and cAER's file output) both give the same events.
"""
from __future__ import annotations

import re
import struct
from pathlib import Path

import numpy as np

from .records import EventFileError, Events, as_arrays, as_path, check_range, make_events, read_file
from .textheader import read_header

FORMAT = "aedat3"
MAGIC = b"#!AER-DAT3.1"
END = b"#!END-HEADER"
PACKET = struct.Struct("<hhiiiiii")
POLARITY = 1
POLARITY_SIZE = 8
TS_BITS = 31
# Sensors named in '#Source N: NAME' header lines (cAER / DV device names).
SENSORS = {"DVS128": (128, 128), "DAVIS240A": (240, 180), "DAVIS240B": (240, 180), "DAVIS240C": (240, 180),
           "DAVIS128": (128, 128), "DAVIS346": (346, 260), "DAVIS346B": (346, 260), "DAVIS640": (640, 480),
           "DVXplorer Lite": (320, 240)}
# Names that do not say the size: the same device name covers sensors of different sizes (libcaer names
# every DVXplorer "DVXplorer"; the DVXplorer is 640x480, the DVXplorer Lite 320x240).
AMBIGUOUS = {"DVXplorer": ((640, 480), (320, 240))}
PACKET_EVENTS = 4096


class AmbiguousSensor(ValueError):
    """A '#Source' name shared by sensors of different sizes."""

    def __init__(self, name: str):
        self.name, self.sizes = name, AMBIGUOUS[name]
        sizes = " or ".join(f"{w}x{h}" for w, h in self.sizes)
        super().__init__(f"'#Source' names {name!r}, a camera made at {sizes}; the file does not say which")


def sensor_from_header(lines: list[str]) -> tuple[int, int] | None:
    """``(width, height)`` from a ``Source N: NAME`` line: a known device, or a name ending in WxH.
    :class:`AmbiguousSensor` for a name of :data:`AMBIGUOUS` (that does not end in WxH)."""
    for line in lines:
        m = re.match(r"\s*Source\s+\d+\s*:\s*(.+?)\s*$", line)
        if m:
            name = m.group(1)
            if name in SENSORS:
                return SENSORS[name]
            size = re.search(r"(\d+)x(\d+)$", name)
            if size:
                return int(size.group(1)), int(size.group(2))
            if name in AMBIGUOUS:
                raise AmbiguousSensor(name)
    return None


def _packet_error(path, pos, problem, expected="a packet header int16 type, int16 source, int32 size, "
                  "int32 ts offset, int32 ts overflow, int32 capacity, int32 number, int32 valid"):
    return EventFileError(path, problem, expected, offset=pos)


def decode_aedat3(raw: bytes, path=None, sensor_size=None) -> Events:
    lines, pos = read_header(raw, path, MAGIC, END)
    try:
        size = sensor_size or sensor_from_header(lines)
    except AmbiguousSensor as e:
        raise EventFileError(path, str(e), "the size passed as " + " or ".join(
            f"sensor_size=({w}, {h})" for w, h in e.sizes), offset=0) from None
    if size is None:
        raise EventFileError(path, "the header names no known sensor", "a '#Source 1: NAME' line with a sensor "
                             f"of {sorted(SENSORS)} or a name ending in WxH (or pass sensor_size)", offset=0)
    chunks, packets, skipped = [], [], {}       # packets: (data offset, kept indices or None, first event)
    n_total = 0
    end = len(raw)
    while pos < end:
        if end - pos < PACKET.size:
            raise _packet_error(path, pos, f"truncated packet header: {end - pos} byte(s) left of 28")
        etype, _src, esize, tsoff, overflow, capacity, number, valid = PACKET.unpack_from(raw, pos)
        if esize <= 0 or capacity < 0 or not 0 <= number <= capacity or not 0 <= valid <= number \
                or overflow < 0 or not 0 <= tsoff <= esize - 4:
            raise _packet_error(path, pos, f"inconsistent packet header (type {etype}, size {esize}, ts offset "
                                f"{tsoff}, ts overflow {overflow}, capacity {capacity}, number {number}, valid {valid})",
                                "size > 0, 0 <= ts offset <= size - 4, overflow >= 0, "
                                "0 <= valid <= number <= capacity")
        data_at = pos + PACKET.size
        nbytes = capacity * esize
        if nbytes > end - data_at:
            raise _packet_error(path, pos, f"truncated packet: it declares {capacity} events of {esize} bytes "
                                f"({nbytes} bytes), {end - data_at} bytes are left",
                                "the whole packet in the file")
        if etype == POLARITY:
            if esize != POLARITY_SIZE or tsoff != 4:
                raise _packet_error(path, pos, f"polarity packet with events of {esize} bytes, timestamp at {tsoff}",
                                    "polarity events of 8 bytes, timestamp at byte 4")
            w = np.frombuffer(raw, dtype="<u4", count=2 * number, offset=data_at).reshape(-1, 2)
            marked = None
            if not (w[:, 0] & 1).all():
                marked = np.flatnonzero(w[:, 0] & 1)
                skipped["invalid"] = skipped.get("invalid", 0) + number - marked.size
                w = w[marked]
            if len(w):
                chunks.append((w, overflow))
                packets.append((data_at, marked, n_total))
                n_total += len(w)
        else:
            skipped[f"type{etype}"] = skipped.get(f"type{etype}", 0) + number
        pos = data_at + nbytes

    def offset_of(i: int) -> int:
        for data_at, marked, first in reversed(packets):
            if i >= first:
                return data_at + 8 * int(i - first if marked is None else marked[i - first])
        return pos

    words = np.concatenate([c for c, _ in chunks]) if chunks else np.zeros((0, 2), np.uint32)
    data, stamp = words[:, 0], words[:, 1]
    if stamp.size and (stamp & 0x80000000).any():
        j = int(np.flatnonzero(stamp & 0x80000000)[0])
        raise EventFileError(path, f"negative timestamp {int(stamp[j].astype(np.int64)) - (1 << 32)}",
                             "31-bit timestamps 0..2^31-1", offset=offset_of(j) + 4)
    t = stamp.astype(np.int64)
    overflows = np.array([o for _, o in chunks], dtype=np.int64)
    if overflows.any():
        t += np.repeat(overflows << TS_BITS, [len(c) for c, _ in chunks])
    x = (data >> 17).astype(np.uint16)                      # the top 15 bits: no mask needed
    y = ((data >> 2) & 0x7FFF).astype(np.uint16)
    p = ((data >> 1) & 1).astype(np.uint8)
    return make_events(x, y, p, t, size, path, FORMAT, offset_of, skipped)


def read_aedat3(path, sensor_size=None) -> Events:
    """Events of an AEDAT 3.1 file; the sensor size comes from its ``#Source`` line unless given."""
    path = as_path(path)
    return decode_aedat3(read_file(path), path, sensor_size)


def encode_aedat3(x, y, p, t, sensor_size=(128, 128), source: str | None = None,
                  packet_events: int = PACKET_EVENTS, start_time: str = "1970-01-01 00:00:00 (TZ+0000)",
                  special: bool = True) -> bytes:
    x, y, p, t = as_arrays(x, y, p, t)
    width, height = sensor_size
    check_range("x", x, 0, min(width, 1 << 15) - 1, f"a {width}-pixel-wide sensor")
    check_range("y", y, 0, min(height, 1 << 15) - 1, f"a {height}-pixel-high sensor")
    check_range("t", t, 0, (1 << 62) - 1, "a 31-bit timestamp with its overflow counter")
    if source is None:
        source = next((k for k, v in SENSORS.items() if v == (width, height)), f"syna-fpga {width}x{height}")
    if sensor_from_header([f"Source 1: {source}"]) != (width, height):
        raise ValueError(f"source {source!r} does not name a {width}x{height} sensor; expected a known device "
                         "or a name ending in WxH")
    head = [MAGIC.decode(), "#Format: RAW", f"#Source 1: {source}", f"#Start-Time: {start_time}", END.decode()]
    out = [("\r\n".join(head) + "\r\n").encode("latin-1")]
    if special:   # a timestamp-reset special event first, as recordings start
        out.append(PACKET.pack(0, 1, 8, 4, 0, 1, 1, 1) + struct.pack("<Ii", (2 << 1) | 1, 0))
    over = t >> TS_BITS
    # packets never straddle a timestamp overflow and hold at most packet_events events
    cuts = np.union1d(np.flatnonzero(np.diff(over)) + 1, np.arange(0, t.size, packet_events))
    bounds = list(cuts) + [t.size]
    for a, b in zip(bounds[:-1], bounds[1:]):
        n = b - a
        words = np.empty((n, 2), dtype="<u4")
        words[:, 0] = (x[a:b] << 17) | (y[a:b] << 2) | (p[a:b] << 1) | 1
        words[:, 1] = t[a:b] & ((1 << TS_BITS) - 1)
        out.append(PACKET.pack(POLARITY, 1, POLARITY_SIZE, 4, int(over[a]), n, n, n) + words.tobytes())
    return b"".join(out)


def write_aedat3(path, x, y, p, t, sensor_size=(128, 128), source: str | None = None,
                 packet_events: int = PACKET_EVENTS, special: bool = True) -> Path:
    """Write events as an AEDAT 3.1 file (polarity packets of ``packet_events``; a special
    timestamp-reset packet first unless ``special=False``). Inverse of :func:`read_aedat3`."""
    path = as_path(path)
    path.write_bytes(encode_aedat3(x, y, p, t, sensor_size, source, packet_events, special=special))
    return path
