"""What the AXI master units' tests share (tests/test_rtl_axi_rd.py, tests/test_rtl_axi_wr.py): the sweep of bus
widths and burst limits, building and running a unit's cocotb bench (sim/test_<unit>.py) in Verilator, Verilator
lint (-Wall, no waivers) over a parameter sweep, Icarus and Yosys parse, and the elaboration-time refusal of
parameters out of range. A missing tool fails with its name, it never skips."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from syna_hw import rtl_core as rc

REPO = Path(__file__).resolve().parents[1]
SIM = REPO / "sim"

# (DATA_WIDTH, MAX_BURST): Zynq-7000 S_AXI_HP (64-bit AXI3), ZynqMP S_AXI_HP*_FPD (128-bit AXI4), and the
# narrowest bus with full AXI4 bursts
SWEEP = [(64, 16), (128, 256), (32, 256)]
SWEEP_IDS = [f"{dw}bit-{mb}beats" for dw, mb in SWEEP]
LINT_SWEEP = [(dw, mb) for dw in (32, 64, 128, 256) for mb in (1, 16, 256)]


def tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} is not installed: `make rtl-deps` (apt-get install yosys iverilog)"
    return path


def run_cocotb(top: str, params: dict, env: dict, build_name: str, tmp_path: Path, tests: int) -> None:
    """Build ``rtl/<top>.v`` with ``params`` in Verilator (cached under ``build_name``) and run its cocotb bench
    ``sim/test_<top>.py`` with ``env``: all ``tests`` cocotb tests must pass."""
    try:
        from cocotb_tools.runner import get_results, get_runner
        import cocotbext.axi  # noqa: F401
    except ImportError as e:
        raise AssertionError(f"cocotb / cocotbext-axi are not installed ({e}): `make rtl-deps`") from None
    os.environ.update({k: v for k, v in rc.verilator_env().items() if k == "PATH"})
    for p in (str(SIM), str(REPO)):                   # the runner hands sys.path to the simulator as PYTHONPATH
        if p not in sys.path:
            sys.path.insert(0, p)
    runner = get_runner("verilator")
    build = rc.cache_root() / build_name
    old = os.environ.get("MAKEFLAGS")
    os.environ["MAKEFLAGS"] = rc.VERILATOR_MAKEFLAGS
    try:
        with rc._Lock(build.parent / f"{build.name}.lock"):
            runner.build(sources=[str(REPO / "rtl" / f"{top}.v")], hdl_toplevel=top, build_dir=str(build),
                         parameters=params, always=False, build_args=["--no-timing", "-Wall", "-CFLAGS", "-O0"])
    finally:
        if old is None:
            os.environ.pop("MAKEFLAGS", None)
        else:
            os.environ["MAKEFLAGS"] = old
    xml = tmp_path / "results.xml"
    try:
        runner.test(hdl_toplevel=top, test_module=f"test_{top}", build_dir=str(build), test_dir=str(tmp_path),
                    extra_env=dict({"SYNA_SEED": "1", "COCOTB_LOG_LEVEL": "INFO"}, **env), results_xml=str(xml))
    except SystemExit as e:
        raise AssertionError(f"cocotb tests failed (exit {e.code}); the log is above, results in {xml}") from None
    total, failed = get_results(xml)
    assert total == tests and failed == 0, f"{failed} of {total} cocotb tests failed (see {tmp_path})"


def lint_clean(top: str, params) -> None:
    """Verilator -Wall lint of ``rtl/<top>.v`` with ``params(dw, mb)`` over :data:`LINT_SWEEP`: no warning."""
    src = REPO / "rtl" / f"{top}.v"
    for dw, mb in LINT_SWEEP:
        cmd = [rc.verilator_bin(), "--lint-only", "-Wall", "--top-module", top,
               *[f"-G{k}={v}" for k, v in params(dw, mb).items()], str(src)]
        res = subprocess.run(cmd, capture_output=True, text=True, env=rc.verilator_env())
        assert res.returncode == 0 and "%Warning" not in res.stderr, (dw, mb, res.stderr[-3000:])


def icarus_and_yosys_parse(top: str, params) -> None:
    """``rtl/<top>.v`` with ``params(dw, mb)`` over :data:`SWEEP` elaborates in Icarus and Yosys."""
    src = REPO / "rtl" / f"{top}.v"
    iverilog, yosys = tool("iverilog"), tool("yosys")
    for dw, mb in SWEEP:
        ps = [f"-P{top}.{k}={v}" for k, v in params(dw, mb).items()]
        res = subprocess.run([iverilog, "-g2005", "-o", os.devnull, "-s", top, *ps, str(src)],
                             capture_output=True, text=True)
        assert res.returncode == 0, res.stderr[-3000:]
        chparam = " ".join(f"-set {k} {v}" for k, v in params(dw, mb).items())
        script = f"read_verilog {src}; chparam {chparam} {top}; hierarchy -check -top {top}; proc"
        res = subprocess.run([yosys, "-q", "-p", script], capture_output=True, text=True)
        assert res.returncode == 0, res.stderr[-3000:]


def refuses(top: str, bad: dict) -> None:
    """Verilator stops elaborating ``rtl/<top>.v`` with the parameters ``bad``, naming <top>_parameters_out_of_range."""
    cmd = [rc.verilator_bin(), "--lint-only", "--top-module", top, *[f"-G{k}={v}" for k, v in bad.items()],
           str(REPO / "rtl" / f"{top}.v")]
    res = subprocess.run(cmd, capture_output=True, text=True, env=rc.verilator_env())
    assert res.returncode != 0 and f"{top}_parameters_out_of_range" in res.stderr, res.stderr[-2000:]
