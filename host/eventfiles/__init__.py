"""Event-camera recordings: readers and writers, numpy only (AEDAT 4 through a library).

    from host.eventfiles import read_events
    ev = read_events("user01_fluorescent.aedat")     # -> Events: x, y, p, t, sensor_size, path
    frames = events_to_frames(ev.x, ev.y, ev.p, ev.t, ev.height, ev.width, frames=16)

| format | read | write | sensor |
|---|---|---|---|
| N-MNIST ``.bin`` / ``.bs2`` (5 bytes per event) | :func:`read_nmnist` | :func:`write_nmnist` | 34 x 34 |
| AEDAT 2.0 (jAER: DVS128 or DAVIS addresses) | :func:`read_aedat2` | :func:`write_aedat2` | from ``# AEChip`` |
| AEDAT 3.1 (cAER; DVS128 Gesture) | :func:`read_aedat3` | :func:`write_aedat3` | from ``#Source`` |
| AEDAT 4.0 (DV) | :func:`read_aedat4` (PyPI ``aedat``) | :func:`write_aedat4` (``dv-processing``) | from the stream |

Every reader returns :class:`Events` (time-ordered) or raises :class:`EventFileError`
(a ``ValueError``) naming the file, the byte offset and what was expected there.
"""
from __future__ import annotations

from pathlib import Path

from .aedat2 import read_aedat2, write_aedat2
from .aedat3 import read_aedat3, write_aedat3
from .aedat4 import read_aedat4, write_aedat4
from .nmnist import read_nmnist, write_nmnist
from .records import EventFileError, Events

FORMATS = ("nmnist", "aedat2", "aedat3", "aedat4")
_MAGICS = {b"#!AER-DAT2.0": "aedat2", b"#!AER-DAT3.1": "aedat3", b"#!AER-DAT4.0": "aedat4"}
_READERS = {"nmnist": read_nmnist, "aedat2": read_aedat2, "aedat3": read_aedat3, "aedat4": read_aedat4}
NMNIST_SUFFIXES = (".bin", ".bs2")     # the original archives; SLAYER's N-MNIST copies (``<id>.bs2``)


def detect_format(path) -> str:
    """The format of a file: from its version line (AEDAT), else ``.bin`` or ``.bs2`` means N-MNIST."""
    path = Path(path)
    with open(path, "rb") as f:
        head = f.read(16)
    for magic, fmt in _MAGICS.items():
        if head.startswith(magic):
            return fmt
    if head.startswith(b"#!AER-DAT"):
        version = head[9:].split(b"\r")[0].split(b"\n")[0]
        raise EventFileError(path, f"AEDAT version {version.decode('latin-1')!r} is not supported",
                             "#!AER-DAT2.0, #!AER-DAT3.1 or #!AER-DAT4.0", offset=0)
    if path.suffix.lower() in NMNIST_SUFFIXES:
        return "nmnist"
    raise EventFileError(path, f"unknown format: starts with {head[:12]!r} and the name ends in {path.suffix!r}",
                         "an AEDAT version line (#!AER-DAT2.0 / 3.1 / 4.0) or an N-MNIST '.bin' / '.bs2' file",
                         offset=0)


def read_events(path, format: str | None = None, **kwargs) -> Events:
    """Read any supported recording (``format`` forces one of :data:`FORMATS`)."""
    fmt = format or detect_format(path)
    if fmt not in _READERS:
        raise ValueError(f"format {fmt!r}; expected one of {FORMATS}")
    return _READERS[fmt](path, **kwargs)


__all__ = ["Events", "EventFileError", "FORMATS", "NMNIST_SUFFIXES", "detect_format", "read_events", "read_nmnist", "write_nmnist",
           "read_aedat2", "write_aedat2", "read_aedat3", "write_aedat3", "read_aedat4", "write_aedat4"]
