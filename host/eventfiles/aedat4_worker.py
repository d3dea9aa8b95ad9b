"""Decode one AEDAT 4.0 file with PyPI ``aedat``; run as a child process by ``aedat4.py``.

    python aedat4_worker.py IN.aedat4 OUT.npz     exit 0: OUT.npz has x, y, p, t, width, height
                                                  (or ``error`` when the file has no event stream)
                                                  exit 3: the decoder raised; the last stderr line says why
Numpy and ``aedat`` only; imports nothing else of the project (it runs as a plain script).
"""
from __future__ import annotations

import sys

import numpy as np


def decode(path: str) -> dict:
    """x, y, p, t of the first event stream (lowest id of type 'events') and its width, height."""
    try:
        import aedat
    except ImportError:
        raise ImportError("reading AEDAT 4 needs the 'aedat' package: pip install aedat==2.3.0") from None
    try:
        decoder = aedat.Decoder(path)
        streams = decoder.id_to_stream()
        ids = sorted(i for i, s in streams.items() if s.get("type") == "events")
        if not ids:
            return {"error": f"no event stream (streams: {sorted(s.get('type') for s in streams.values())})"}
        sid = ids[0]
        chunks = [packet["events"] for packet in decoder if packet["stream_id"] == sid and "events" in packet]
    except BaseException as e:          # pyo3 turns Rust panics into PanicException (a BaseException)
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        raise RuntimeError(f"{type(e).__name__}: {e}") from None
    ev = np.concatenate(chunks) if chunks else np.zeros(0, dtype=[("t", "<u8"), ("x", "<u2"), ("y", "<u2"),
                                                                  ("on", "?")])
    pol = "on" if "on" in ev.dtype.names else "p"
    # field views, no copies: uint16 coordinates, bool -> uint8 and uint64 -> int64 of the same size
    return dict(x=ev["x"].astype(np.uint16, copy=False), y=ev["y"].astype(np.uint16, copy=False),
                p=ev[pol].view(np.uint8), t=ev["t"].view(np.int64), width=np.int64(streams[sid]["width"]),
                height=np.int64(streams[sid]["height"]))


def main(argv: list[str]) -> int:
    try:
        d = decode(argv[1])
    except Exception as e:
        print(str(e).replace("\n", " "), file=sys.stderr)
        return 3
    np.savez(argv[2], **d)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
