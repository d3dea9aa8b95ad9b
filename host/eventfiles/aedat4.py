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
``isolate=False`` decodes in this process: a decoder error (or a Rust panic, whose report would go
to stderr) becomes the same :class:`EventFileError`.

Before any decoding, :func:`check_layout` walks the file's frame (numpy-free, a few reads): the
``IOHeader`` (a size-prefixed FlatBuffer: compression, ``dataTablePosition``, the XML info node),
then each packet's ``int32 stream id, int32 size`` header up to the ``FileDataTable``. A truncated
or cut file is refused with the byte offset and what is missing (``aedat`` itself says only "failed
to fill whole buffer"; ``dv-processing`` says "FileDataTable set but not present, truncated/corrupt
file"). A file whose packets are whole but whose data table is cut reads (its events are complete).
A decoder failure names the packet it failed on (its byte offset); errors after decoding name the
event (the decoder gives no offsets).
"""
from __future__ import annotations

import atexit
import os
import select
import socket
import struct
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


VERSION_LINE = MAGIC + b"\r\n"
IOHEADER_AT = len(VERSION_LINE) + 4   # the IOHeader FlatBuffer, after the version line and its int32 size
PACKET_HEADER = struct.Struct("<ii")  # stream id, size of the packet's (compressed) FlatBuffer
EXPECTED = "a well-formed AEDAT 4.0 file"


def check_layout(path: Path) -> list[int]:
    """The frame of an AEDAT 4.0 file, checked: the version line, the IOHeader, every packet header
    and that the data table is where the IOHeader says. Returns the byte offset of each packet; raises
    :class:`EventFileError` with the byte offset of the first thing missing or out of place."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        head = f.read(IOHEADER_AT)
        if head[:len(MAGIC)] != MAGIC:
            raise EventFileError(path, f"the file starts with {head[:len(MAGIC)]!r}",
                                 f"the version line {MAGIC.decode()!r}", offset=0)
        if head[:len(VERSION_LINE)] != VERSION_LINE[:len(head)] or len(head) < IOHEADER_AT:
            what = ("the version line ends in " + repr(head[len(MAGIC):len(VERSION_LINE)])
                    if head[:len(VERSION_LINE)] != VERSION_LINE[:len(head)] else
                    f"truncated file: it ends at byte {size}, before the IOHeader")
            raise EventFileError(path, what, "the version line ending in \\r\\n, then an int32 IOHeader size",
                                 offset=len(MAGIC) if len(head) > len(MAGIC) else size)
        header_size = int.from_bytes(head[len(VERSION_LINE):], "little", signed=True)
        if header_size <= 0 or header_size > size - IOHEADER_AT:
            raise EventFileError(path, f"an IOHeader of {header_size} bytes, {size - IOHEADER_AT} bytes are left "
                                 "(truncated or corrupt file)", "the IOHeader FlatBuffer whole in the file",
                                 offset=len(VERSION_LINE))
        table_at = _data_table_position(f.read(header_size), path)
        first = IOHEADER_AT + header_size
        if 0 <= table_at < first:
            raise EventFileError(path, f"the IOHeader puts the FileDataTable at byte {table_at}, inside the header",
                                 f"a data table position of at least {first} (or -1: none)", offset=IOHEADER_AT)
        cut = table_at > size                           # dv-processing: "FileDataTable set but not present"
        end = min(table_at, size) if table_at >= 0 else size
        why = (f" (the file ends at byte {size}; its IOHeader puts the FileDataTable at byte {table_at}: a truncated "
               "file)" if cut else " before the FileDataTable" if table_at >= 0 else " in the file")
        pos, offsets = first, []
        while pos < end:
            if end - pos < PACKET_HEADER.size:
                raise EventFileError(path, f"truncated packet header: {end - pos} byte(s) of 8 left{why}",
                                     "an int32 stream id and an int32 size per packet", offset=pos)
            f.seek(pos)
            stream, nbytes = PACKET_HEADER.unpack(f.read(PACKET_HEADER.size))
            if stream < 0 or nbytes <= 0:
                raise EventFileError(path, f"packet header with stream id {stream}, size {nbytes}",
                                     "a stream id >= 0 and a size > 0", offset=pos)
            if nbytes > end - pos - PACKET_HEADER.size:
                raise EventFileError(path, f"truncated packet {len(offsets)}: it declares {nbytes} bytes, "
                                     f"{end - pos - PACKET_HEADER.size} are left{why}", "the whole packet", offset=pos)
            offsets.append(pos)
            pos += PACKET_HEADER.size + nbytes
        if cut:
            raise EventFileError(path, f"the file ends at byte {size}, after {len(offsets)} whole packet(s), but its "
                                 f"IOHeader puts the FileDataTable at byte {table_at}: a truncated file "
                                 "(dv-processing: 'FileDataTable set but not present')",
                                 "the whole file: its packets, then the data table", offset=size)
    return offsets


def _data_table_position(buf: bytes, path) -> int:
    """``dataTablePosition`` of the IOHeader FlatBuffer (dv-processing's ``IOHeader.fbs``: field 0
    ``compression: int32``, field 1 ``dataTablePosition: int64 = -1``, field 2 ``infoNode: string``;
    file identifier ``IOHE``)."""
    def bad(what: str) -> EventFileError:
        return EventFileError(path, f"the IOHeader is not a valid FlatBuffer ({what})",
                              "an 'IOHE' FlatBuffer with the data table position", offset=IOHEADER_AT)
    if len(buf) < 8 or buf[4:8] != b"IOHE":
        raise bad(f"file identifier {buf[4:8]!r}, expected b'IOHE'")
    table = int.from_bytes(buf[:4], "little")
    if table + 4 > len(buf):
        raise bad(f"root table at {table}, past its {len(buf)} bytes")
    vtable = table - int.from_bytes(buf[table:table + 4], "little", signed=True)
    if not 0 <= vtable <= len(buf) - 4:
        raise bad(f"vtable at {vtable}")
    vt_size, table_size = int.from_bytes(buf[vtable:vtable + 2], "little"), int.from_bytes(buf[vtable + 2:vtable + 4],
                                                                                        "little")
    if vt_size < 4 or vtable + vt_size > len(buf) or table + table_size > len(buf):
        raise bad(f"vtable of {vt_size} bytes for a table of {table_size}")
    if vt_size < 8:                                       # field 1 absent: its default
        return -1
    field = int.from_bytes(buf[vtable + 6:vtable + 8], "little")
    if field == 0:
        return -1
    if field + 8 > table_size:
        raise bad(f"dataTablePosition at {field} outside its table of {table_size} bytes")
    return int.from_bytes(buf[table + field:table + field + 8], "little", signed=True)


def decoder_failed(path: Path, message: str, offsets: list[int]) -> EventFileError:
    """The error for the decoder's ``"packet K: <what>"`` failure: at packet K's byte offset."""
    k, sep, what = message.partition(": ")
    try:
        k = int(k.split()[-1]) if sep and k.startswith("packet ") else None
    except ValueError:
        k = None
    if k is None:
        return EventFileError(path, f"the AEDAT 4 decoder failed ({message})", EXPECTED)
    if 0 <= k < len(offsets):
        return EventFileError(path, f"the AEDAT 4 decoder failed on packet {k} ({what})", EXPECTED + " (a packet "
                              "that decompresses and parses)", offset=offsets[k])
    return EventFileError(path, f"the AEDAT 4 decoder failed on the header ({what})", EXPECTED, offset=IOHEADER_AT
                          if k < 0 else None)


def _decode_here(path: Path, offsets: list[int]) -> dict:
    """The in-process decode: a decoder exception (a Rust panic too) is an :class:`EventFileError`;
    the panic report that Rust writes to stderr is held back (the message is in the error)."""
    from .aedat4_worker import decode
    with _held_stderr() as held:
        try:
            return decode(str(path))
        except RuntimeError as e:
            held.panicked = "PanicException" in str(e)
            raise decoder_failed(path, str(e), offsets) from None


_stderr_lock = threading.Lock()
_stderr_file: tuple[int, object] | None = None       # (pid, temporary file): one per process, reused


class _held_stderr:
    """File descriptor 2 to a (reused) temporary file while the decoder runs; afterwards what was
    written goes to the real stderr, except a Rust panic report when ``panicked`` (from its 'panicked
    at' line on: what others wrote before it is kept). One holder at a time (a lock)."""

    def __enter__(self):
        global _stderr_file
        self.panicked, self.fd = False, None
        _stderr_lock.acquire()
        try:
            if _stderr_file is None or _stderr_file[0] != os.getpid():
                _stderr_file = (os.getpid(), tempfile.TemporaryFile(prefix="syna_aedat4_err_"))
            sys.stderr.flush()
            self.saved = os.dup(2)
            self.fd = _stderr_file[1].fileno()
            os.dup2(self.fd, 2)
        except (OSError, ValueError, AttributeError):     # no fd 2 (an embedded interpreter): leave it
            self.fd = None
        return self

    def __exit__(self, *exc):
        try:
            if self.fd is None:
                return False
            os.dup2(self.saved, 2)
            os.close(self.saved)
            size = os.lseek(self.fd, 0, os.SEEK_CUR)
            if not size:
                return False
            os.lseek(self.fd, 0, os.SEEK_SET)
            text = os.read(self.fd, size)
            os.ftruncate(self.fd, 0)
            os.lseek(self.fd, 0, os.SEEK_SET)
            if self.panicked:
                cut = text.find(b"panicked at")
                text = text[:text.rfind(b"\n", 0, cut) + 1] if cut >= 0 else text
            if text:
                os.write(2, text)
            return False
        finally:
            _stderr_lock.release()


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


def _decode_isolated(path: Path, offsets: list[int]) -> dict:
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
        raise decoder_failed(path, d["failed"], offsets)
    return d


def read_aedat4(path, isolate: bool = True) -> Events:
    """Events of the first event stream of an AEDAT 4.0 file (needs ``pip install aedat``)."""
    path = as_path(path)
    offsets = check_layout(path)
    d = _decode_isolated(path, offsets) if isolate else _decode_here(path, offsets)
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
