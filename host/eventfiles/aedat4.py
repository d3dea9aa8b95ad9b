"""AEDAT 4.0 files (iniVation DV): read through PyPI ``aedat``, written through ``dv-processing``.

AEDAT 4 packets are LZ4/Zstd-compressed FlatBuffers; we do not parse them by hand. Both
libraries are imported lazily, only here. The first event stream of the file is read (the
lowest stream id of type ``events``, as tonic does); its width and height are the sensor size.

Isolation: both decoders were seen to misbehave on corrupt files -- ``aedat`` 2.3.0 aborts the
process on some (a Rust panic during unwinding), ``dv-processing`` 2.0.4 can loop forever on
a one-byte change. So by default the file is decoded in a child Python process with a
deadline: a crash or a hang of the decoder becomes an :class:`EventFileError` instead of
taking the caller down. ``isolate=False`` decodes in this process (faster for many small
trusted files). The decoder reports no byte offsets; errors after decoding name the event.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from .records import EventFileError, Events, as_arrays, as_path, check_range, make_events

FORMAT = "aedat4"
MAGIC = b"#!AER-DAT4.0"
WORKER = Path(__file__).with_name("aedat4_worker.py")
DEADLINE_S = 60.0
DEADLINE_S_PER_MB = 2.0


def _decode_here(path: Path) -> dict:
    from .aedat4_worker import decode
    return decode(str(path))


def _decode_isolated(path: Path) -> dict:
    timeout = DEADLINE_S + DEADLINE_S_PER_MB * path.stat().st_size / 1e6
    with tempfile.TemporaryDirectory(prefix="syna_aedat4_") as tmp:
        out = Path(tmp) / "events.npz"
        try:
            r = subprocess.run([sys.executable, str(WORKER), str(path), str(out)], capture_output=True,
                               text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise EventFileError(path, f"the AEDAT 4 decoder did not finish within {timeout:.0f} s (it loops on "
                                 "some corrupt files)", "a well-formed AEDAT 4.0 file") from None
        if r.returncode != 0:
            msg = (r.stderr.strip().splitlines() or ["no message"])[-1]
            how = f"failed ({msg})" if r.returncode == 3 else f"crashed (exit status {r.returncode}: {msg[:200]})"
            raise EventFileError(path, f"the AEDAT 4 decoder {how}", "a well-formed AEDAT 4.0 file")
        with np.load(out) as z:
            return {k: z[k] for k in z.files}


def read_aedat4(path, isolate: bool = True) -> Events:
    """Events of the first event stream of an AEDAT 4.0 file (needs ``pip install aedat``)."""
    path = as_path(path)
    with open(path, "rb") as f:
        head = f.read(len(MAGIC))
    if head != MAGIC:
        raise EventFileError(path, f"the file starts with {head!r}", f"the version line {MAGIC.decode()!r}", offset=0)
    d = _decode_isolated(path) if isolate else _decode_here(path)
    if "error" in d:
        raise EventFileError(path, str(d["error"]), "a well-formed AEDAT 4.0 file with an event stream")
    return make_events(d["x"], d["y"], d["p"], d["t"], (int(d["width"]), int(d["height"])), path, FORMAT,
                       lambda i: None)


def write_aedat4(path, x, y, p, t, sensor_size=(128, 128), camera: str = "syna-fpga") -> Path:
    """Write events as an AEDAT 4.0 file through iniVation's ``dv-processing`` (LZ4 compressed).

    ``dv-processing`` takes events one at a time from Python (``EventStore.push_back``): fine
    for fixtures, slow for millions of events."""
    x, y, p, t = as_arrays(x, y, p, t)
    width, height = sensor_size
    check_range("x", x, 0, width - 1, f"a {width}-pixel-wide sensor")
    check_range("y", y, 0, height - 1, f"a {height}-pixel-high sensor")
    check_range("t", t, 0, (1 << 63) - 1, "the 64-bit timestamp")
    path = as_path(path)
    if path.suffix != ".aedat4":        # dv-processing 2.0.4 aborts the process on any other name
        raise ValueError(f"{path}: AEDAT 4 files written by dv-processing must end in '.aedat4'")
    import dv_processing as dv
    store = dv.EventStore()
    for e in zip(t.tolist(), x.tolist(), y.tolist(), (p != 0).tolist()):
        store.push_back(*e)
    writer = dv.io.MonoCameraWriter(str(path), dv.io.MonoCameraWriter.EventOnlyConfig(camera, (width, height)))
    if len(t):
        writer.writeEvents(store)
    del writer                       # the file (and its data table) is complete when the writer goes
    return path
