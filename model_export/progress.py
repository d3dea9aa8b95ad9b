"""Progress on long work: a tqdm bar on a terminal, plain periodic lines in logs and CI.

tqdm redraws its bar with carriage returns; written to a file or a CI log that is hundreds of
lines of noise per loop. So :func:`progress` returns a tqdm bar only when stderr is a terminal,
and otherwise a :class:`LogProgress` that prints one line every ``SYNA_PROGRESS_SECONDS`` seconds
(default 30) and one at the end of a loop that took longer than that. Both take the same calls
(iteration, ``update``, ``set_postfix``, ``close``). :func:`say` prints a line without breaking a bar.
"""
from __future__ import annotations

import os
import sys
import time


def _interval() -> float:
    try:
        return float(os.environ.get("SYNA_PROGRESS_SECONDS", "30"))
    except ValueError:
        return 30.0


def on_terminal() -> bool:
    return sys.stderr.isatty()


class LogProgress:
    """What tqdm does for a log file: ``desc: 12/40 units, 3.1 units/s, 4 s`` every interval."""

    def __init__(self, iterable=None, desc: str = "", unit: str = "it", total: int | None = None,
                 disable: bool = False, **_):
        self.iterable, self.desc, self.unit, self.disable = iterable, desc, unit, disable
        self.total = total if total is not None else (len(iterable) if hasattr(iterable, "__len__") else None)
        self.n, self.postfix = 0, ""
        self.start = self.last = time.monotonic()
        self.interval = _interval()
        self.printed = False

    def _line(self, final: bool = False) -> str:
        dt = time.monotonic() - self.start
        done = f"{self.n}/{self.total}" if self.total is not None else str(self.n)
        rate = f", {self.n / dt:.3g} {self.unit}/s" if dt > 0 else ""
        post = f" {self.postfix}" if self.postfix else ""
        return f"{self.desc}: {done} {self.unit}{rate}, {dt:.0f} s{' (done)' if final else ''}{post}"

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.monotonic()
        if not self.disable and now - self.last >= self.interval:
            print(self._line(), file=sys.stderr, flush=True)
            self.last, self.printed = now, True

    def set_postfix(self, ordered_dict=None, refresh: bool = True, **kwargs) -> None:
        items = dict(ordered_dict or {}, **kwargs)
        self.postfix = " ".join(f"{k}={v}" for k, v in items.items())

    def __iter__(self):
        for item in self.iterable:
            yield item
            self.update()
        self.close()

    def close(self) -> None:
        if not self.disable and self.printed:
            print(self._line(final=True), file=sys.stderr, flush=True)
            self.printed = False


def progress(iterable=None, **kwargs):
    """``tqdm(iterable, **kwargs)`` on a terminal, :class:`LogProgress` otherwise."""
    if on_terminal():
        from tqdm import tqdm
        return tqdm(iterable, **kwargs)
    return LogProgress(iterable, **kwargs)


def say(msg: str, file=None) -> None:
    """``print(msg)`` (to stdout unless ``file``) that does not break a tqdm bar."""
    file = file or sys.stdout
    if on_terminal():
        from tqdm import tqdm
        tqdm.write(msg, file=file)
    else:
        print(msg, file=file, flush=True)
