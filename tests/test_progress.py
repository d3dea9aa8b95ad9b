"""Progress output: a tqdm bar only on a terminal; in a log, plain lines at an interval and at the end."""
import io
import sys

from model_export import progress as pg


def test_log_progress_prints_plain_lines_not_bars(monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.setenv("SYNA_PROGRESS_SECONDS", "0")          # a line per step, to see them
    bar = pg.progress(range(3), desc="golden vectors", unit="batch")
    assert isinstance(bar, pg.LogProgress)                      # StringIO is not a terminal
    assert list(bar) == [0, 1, 2]
    lines = err.getvalue().splitlines()
    assert "\r" not in err.getvalue() and len(lines) == 4
    assert lines[0].startswith("golden vectors: 1/3 batch") and lines[-1].endswith("(done)")


def test_log_progress_is_quiet_for_short_loops(monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.setenv("SYNA_PROGRESS_SECONDS", "3600")
    assert sum(pg.progress(range(100), desc="x")) == 4950
    assert err.getvalue() == ""


def test_terminal_gets_tqdm(monkeypatch):
    monkeypatch.setattr(pg, "on_terminal", lambda: True)
    from tqdm import tqdm
    bar = pg.progress(range(2), desc="x", file=io.StringIO())
    assert isinstance(bar, tqdm)
    assert list(bar) == [0, 1]
