"""AEDAT 4.0 files (iniVation DV): read through PyPI ``aedat``, written through ``dv-processing``.

AEDAT 4 packets are LZ4/Zstd-compressed FlatBuffers; we do not parse them by hand. Both
libraries are imported lazily, only here. The first event stream of the file is read (the
lowest stream id of type ``events``, as tonic does); its width and height are the sensor size.

Isolation: both decoders were seen to misbehave on corrupt files -- ``aedat`` 2.3.0 aborts the
process on some (a Rust panic during unwinding), ``dv-processing`` 2.0.4 can loop forever on
a one-byte change. So by default the file is decoded in a child Python process with a
deadline: a crash or a hang of the decoder becomes an :class:`EventFileError` instead of
taking the caller down. The child is persistent (``aedat4_worker.py --serve``): started on the
first file, reused for the next ones (the events come back through a pipe), killed when it misses
its deadline and started again on the next file after a crash or a kill, so reading many files
costs one Python start, not one per file. :func:`close_worker` stops it (also at exit).
``isolate=False`` decodes in this process. The decoder reports no byte offsets; errors after
decoding name the event.
"""
from __future__ import annotations

import atexit
import os
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time
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


class _Worker:
    """One persistent ``aedat4_worker.py --serve`` child on a socket pair: requests one at a time (a
    lock), a deadline each."""

    def __init__(self, script: Path):
        from . import aedat4_worker as proto
        self.proto, self.script, self.pid = proto, script, os.getpid()
        self.stderr = tempfile.TemporaryFile(prefix="syna_aedat4_")    # a file: the child never blocks on it
        self.sock, theirs = socket.socketpair()
        try:
            self.proc = subprocess.Popen([sys.executable, str(script), "--serve", str(theirs.fileno())],
                                         pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, stdout=self.stderr,
                                         stderr=self.stderr)
        finally:
            theirs.close()                               # the child's end lives in the child only
        self.poller = select.poll()                      # (select.select fails on descriptors >= 1024)
        self.poller.register(self.sock, select.POLLIN)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self, kill: bool = False) -> None:
        if kill:
            self.proc.kill()
        self.sock.close()                                # the worker's read ends: it exits
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.stderr.close()

    def _wait(self, deadline: float) -> None:
        left = deadline - time.monotonic()
        if left <= 0 or not self.poller.poll(max(1, int(left * 1000))):
            raise TimeoutError

    def _recv_into(self, bufs: list, deadline: float) -> bool:
        """Fill the buffers (memoryviews, in order); False when the socket closes first (the child
        died). TimeoutError past the deadline."""
        bufs = [b for b in bufs if b.nbytes]
        while bufs:
            self._wait(deadline)
            got = self.sock.recvmsg_into(bufs)[0]
            if got == 0:
                return False
            while bufs and got >= bufs[0].nbytes:
                got -= bufs.pop(0).nbytes
            if bufs:
                bufs[0] = bufs[0][got:]
        return True

    def crash_message(self) -> str:
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.stderr.seek(0)
        err = self.stderr.read()[-4096:].decode("utf-8", "replace")
        msg = (err.strip().splitlines() or ["no message"])[-1]
        return f"crashed (exit status {code}: {msg[:200]})"

    def decode(self, path: Path, timeout: float) -> dict:
        """The decoded file as :func:`_decode_here` gives it; TimeoutError or ChildProcessError (message)."""
        proto = self.proto
        deadline = time.monotonic() + timeout
        name = os.fsencode(os.path.abspath(path))
        try:
            self.sock.sendall(proto.REQUEST.pack(len(name)) + name)
        except OSError:                                  # it died before this file
            raise ChildProcessError(self.crash_message()) from None
        head = bytearray(proto.HEADER.size)
        try:
            if self._recv_into([memoryview(head)], deadline):
                kind, n, width, height = proto.HEADER.unpack(head)
                if kind == proto.EVENTS:
                    x, y = np.empty(n, np.uint16), np.empty(n, np.uint16)
                    p, t = np.empty(n, np.uint8), np.empty(n, np.int64)
                    if self._recv_into([memoryview(a).cast("B") for a in (t, x, y, p)], deadline):
                        return dict(x=x, y=y, p=p, t=t, width=width, height=height)
                else:
                    msg = bytearray(n)
                    if self._recv_into([memoryview(msg)], deadline):
                        text = msg.decode("utf-8", "replace")
                        return {"error": text} if kind == proto.NO_STREAM else {"failed": text}
        except ConnectionError:                          # it died with our request or its reply unread
            pass
        raise ChildProcessError(self.crash_message())


_worker: _Worker | None = None
_worker_lock = threading.Lock()


def close_worker() -> None:
    """Stop the persistent decoder process (the next isolated read starts a new one)."""
    global _worker
    with _worker_lock:
        if _worker is not None and _worker.pid == os.getpid():
            _worker.close()
        _worker = None


atexit.register(close_worker)


def _decode_isolated(path: Path) -> dict:
    global _worker
    timeout = DEADLINE_S + DEADLINE_S_PER_MB * path.stat().st_size / 1e6
    with _worker_lock:
        w = _worker
        if w is not None and (w.pid != os.getpid() or w.script != WORKER or not w.alive()):
            if w.pid == os.getpid():                     # a forked child leaves its parent's worker alone
                w.close(kill=True)
            w = _worker = None
        if w is None:
            w = _worker = _Worker(WORKER)
        try:
            d = w.decode(path, timeout)
        except TimeoutError:
            w.close(kill=True)
            _worker = None
            raise EventFileError(path, f"the AEDAT 4 decoder did not finish within {timeout:.0f} s (it loops on "
                                 "some corrupt files)", "a well-formed AEDAT 4.0 file") from None
        except ChildProcessError as e:
            w.close(kill=True)
            _worker = None
            raise EventFileError(path, f"the AEDAT 4 decoder {e}", "a well-formed AEDAT 4.0 file") from None
        except BaseException:                            # interrupted mid-reply: the worker is out of step
            w.close(kill=True)
            _worker = None
            raise
    if "failed" in d:
        raise EventFileError(path, f"the AEDAT 4 decoder failed ({d['failed']})", "a well-formed AEDAT 4.0 file")
    return d


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
