"""The ``#``-line text headers of AEDAT 2.0 and 3.1 files (jAER / cAER)."""
from __future__ import annotations

from .records import EventFileError

MAX_LINE = 1 << 16       # a header line longer than this is not a header line
MAX_HEADER = 1 << 22     # nor is a header longer than this
FIRST_BYTES = 1 << 16    # of a file given as an array: the bytes looked at first (x 8 while the header goes on)


def read_header(raw: bytes, path, version_line: bytes, end_line: bytes | None,
                last_line: bytes | None = None) -> tuple[list[str], int]:
    """Header lines (without ``#`` and line ends) and the byte offset where the data begins.

    The first line must be ``version_line``. With ``end_line`` (AEDAT 3.1: ``#!END-HEADER``)
    every line up to it must start with ``#`` and the data begins after it; without (AEDAT 2.0)
    the header is every leading line that starts with ``#``, up to and including ``last_line`` if
    one is seen (AEDAT 2.0: jAER ends its headers with ``#End Of ASCII Header``; without it a first
    event whose first byte is ``#`` would read as a header line). ``raw`` may be bytes or a uint8 array."""
    if isinstance(raw, bytes):
        return _parse(raw, len(raw), path, version_line, end_line, last_line)
    limit = FIRST_BYTES           # a uint8 array (a whole file): only its first bytes as bytes, more if needed
    while True:
        head = bytes(raw[:limit])
        try:
            return _parse(head, len(raw), path, version_line, end_line, last_line)
        except _NeedMore:
            limit *= 8


class _NeedMore(Exception):
    """The header goes on past the bytes given (and they are less than the file and MAX_HEADER)."""


def _parse(raw: bytes, size: int, path, version_line: bytes, end_line: bytes | None,
           last_line: bytes | None) -> tuple[list[str], int]:
    """:func:`read_header` on the first ``len(raw)`` of the file's ``size`` bytes."""
    complete = len(raw) >= size

    def more(pos: int) -> EventFileError:
        if len(raw) < MAX_HEADER:
            raise _NeedMore
        return EventFileError(path, f"the header goes on past {MAX_HEADER} bytes", "a text header of "
                              f"'#' lines shorter than {MAX_HEADER} bytes", offset=pos)
    if not raw.startswith(version_line):
        got = raw[:len(version_line)]
        raise EventFileError(path, f"the file starts with {got!r}", f"the version line {version_line.decode()!r}",
                             offset=0)
    lines: list[str] = []
    pos = 0
    while True:
        if pos >= len(raw):
            if not complete:
                raise more(pos)
            if end_line is not None:
                raise EventFileError(path, "the header ends without its closing line (file too short)",
                                     f"a line {end_line.decode()!r} before the data", offset=pos)
            return lines, pos
        if raw[pos] != ord("#"):
            if end_line is not None:
                raise EventFileError(path, f"line starting with {raw[pos:pos + 8]!r} inside the header",
                                     f"header lines starting with '#' up to {end_line.decode()!r}", offset=pos)
            return lines, pos
        nl = raw.find(b"\n", pos, pos + MAX_LINE)
        if nl < 0:
            if len(raw) - pos >= MAX_LINE:
                raise EventFileError(path, f"header line longer than {MAX_LINE} bytes (no line end in its first "
                                     f"{MAX_LINE} bytes)", f"'#' header lines of at most {MAX_LINE} bytes, each "
                                     "ending in \\r\\n", offset=pos)
            if not complete:
                raise more(pos)
            raise EventFileError(path, f"the file ends inside a header line ({len(raw) - pos} bytes without a line "
                                 "end)", "header lines ending in \\r\\n", offset=pos)
        line = raw[pos:nl + 1]
        text = line.rstrip(b"\r\n")
        pos = nl + 1
        if end_line is not None and text == end_line:
            return lines, pos
        lines.append(text[1:].decode("latin-1"))
        if last_line is not None and text[1:].strip().lower() == last_line:
            return lines, pos
