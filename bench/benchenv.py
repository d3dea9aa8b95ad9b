"""Machine and commit facts that every benchmark table prints (one place for them)."""
from __future__ import annotations

import platform
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def git_commit() -> str:
    """Short HEAD, '-dirty' if tracked files differ from it (like ``git describe --dirty``)."""
    try:
        run = lambda *a: subprocess.run(["git", "-C", str(REPO), *a], capture_output=True, text=True,  # noqa: E731
                                        check=True).stdout.strip()
        return run("rev-parse", "--short", "HEAD") + ("-dirty" if run("status", "--porcelain",
                                                                       "--untracked-files=no") else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# The RTL harness's board DDR model for the benchmarks: the board's modelled bandwidth at its clock, HP-port burst
# limit and an assumed read latency (syna_hw.rtl_binding.board_ddr_timing, DDR_LATENCY_NS: the one place for them;
# every bench puts the repository on sys.path before importing this module).
from syna_hw.rtl_binding import DDR_LATENCY_NS as LATENCY_NS  # noqa: E402


def ddr_model(name: str, latency_ns: float = LATENCY_NS) -> tuple[str, dict]:
    """(label, RtlCore DDR kwargs) of ``ideal`` (every beat at once, one per cycle) or ``board[@ns]``: the board's
    bandwidth and burst limit (``board_ddr_timing``) with a read latency of ``ns`` (default ``latency_ns``,
    assumed) in the board's clock cycles."""
    if name == "ideal":
        return "ideal", {}
    from syna_contract.boards import get_board
    from syna_hw.rtl_binding import board_ddr_timing
    board, _, ns = name.partition("@")
    b = get_board(board)
    lat_ns = float(ns) if ns else latency_ns
    t = board_ddr_timing(b.name, latency_ns=lat_ns)
    return (f"{b.name} {b.clock_mhz:g}MHz {t['ddr_bytes_per_cycle']:.1f}B/c {t['ddr_latency']}c ({lat_ns:g} ns)", t)
