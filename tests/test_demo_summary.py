"""What build/demo/summary.json adds beyond the bit-exact checks: speed at each board's clock, the
tools that made the numbers and the commit (model_export/demo.py)."""
import subprocess

import pytest

from model_export.demo import board_speed, git_commit, tool_versions


def test_board_speed_is_cycles_at_the_clock():
    s = board_speed(42_000, 100.0)
    assert s["latency_ms"] == pytest.approx(0.42) and s["inferences_per_s"] == pytest.approx(100e6 / 42_000)
    assert s["clock_mhz"] == 100.0 and s["cycles_per_inference"] == 42_000


def test_tool_versions_name_what_is_installed():
    v = tool_versions()
    assert v["torch"].startswith("2.") and v["numpy"] and v["spikingjelly"]
    assert v["gxx"] and "g++" in v["gxx"]                     # g++ is needed by the C-sim anyway
    assert v["yosys"] is None or v["yosys"].startswith("Yosys")
    assert set(v) >= {"python", "numpy", "torch", "spikingjelly", "verilator", "yosys", "gxx"}


def test_commit_is_this_checkout():
    head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    c = git_commit()
    if not head:                                               # not a git checkout: nothing to name
        assert c is None
    else:
        assert c.split("+")[0] == head
