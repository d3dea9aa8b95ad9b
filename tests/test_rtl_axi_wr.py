"""rtl/syna_axi_wr.v, the AXI4 write master for spike maps in DDR (issue 16):
cocotb + Verilator against cocotbext-axi's AxiRamWrite over a sweep of data width and burst length
(sim/test_syna_axi_wr.py), Verilator lint (-Wall, no waivers), Icarus and Yosys parse, and the
refusal of parameters out of range (the twin of test_rtl_axi_rd.py). A missing tool fails with its name, it never skips."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from syna_hw import rtl_core as rc

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "rtl" / "syna_axi_wr.v"
SIM = REPO / "sim"

# (DATA_WIDTH, MAX_BURST): Zynq-7000 S_AXI_HP (64-bit AXI3), ZynqMP S_AXI_HP*_FPD (128-bit AXI4), and the
# narrowest bus with full AXI4 bursts
SWEEP = [(64, 16), (128, 256), (32, 256)]
LINT_SWEEP = [(dw, mb) for dw in (32, 64, 128, 256) for mb in (1, 16, 256)]


def _tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} is not installed: `make rtl-deps` (apt-get install yosys iverilog)"
    return path


def _params(dw: int, mb: int) -> dict:
    return dict(DATA_WIDTH=dw, MAX_BURST=mb, MAX_OUTSTANDING=4)


@pytest.mark.parametrize("dw,mb", SWEEP, ids=[f"{dw}bit-{mb}beats" for dw, mb in SWEEP])
def test_axi_read_master_cocotb(dw, mb, tmp_path):
    try:
        from cocotb_tools.runner import get_results, get_runner
        import cocotbext.axi  # noqa: F401
    except ImportError as e:
        raise AssertionError(f"cocotb / cocotbext-axi are not installed ({e}): `make rtl-deps`") from None
    os.environ.update({k: v for k, v in rc.verilator_env().items() if k == "PATH"})
    for p in (str(SIM), str(REPO)):                   # the runner hands sys.path to the simulator as PYTHONPATH
        if p not in sys.path:
            sys.path.insert(0, p)
    params = _params(dw, mb)
    runner = get_runner("verilator")
    build = rc.cache_root() / f"cocotb-axi-wr-{dw}-{mb}"
    old = os.environ.get("MAKEFLAGS")
    os.environ["MAKEFLAGS"] = rc.VERILATOR_MAKEFLAGS
    try:
        with rc._Lock(build.parent / f"{build.name}.lock"):
            runner.build(sources=[str(SRC)], hdl_toplevel="syna_axi_wr", build_dir=str(build), parameters=params,
                         always=False, build_args=["--no-timing", "-Wall", "-CFLAGS", "-O0"])
    finally:
        if old is None:
            os.environ.pop("MAKEFLAGS", None)
        else:
            os.environ["MAKEFLAGS"] = old
    xml = tmp_path / "results.xml"
    env = {"SYNA_SEED": "1", "COCOTB_LOG_LEVEL": "INFO", "AXI_MAX_BURST": str(mb),
           "AXI_MAX_OUTSTANDING": str(params["MAX_OUTSTANDING"])}
    try:
        runner.test(hdl_toplevel="syna_axi_wr", test_module="test_syna_axi_wr", build_dir=str(build),
                    test_dir=str(tmp_path), extra_env=env, results_xml=str(xml))
    except SystemExit as e:
        raise AssertionError(f"cocotb tests failed (exit {e.code}); the log is above, results in {xml}") from None
    total, failed = get_results(xml)
    assert total == 4 and failed == 0, f"{failed} of {total} cocotb tests failed (see {tmp_path})"


def test_verilator_lint_clean_over_the_parameter_sweep():
    for dw, mb in LINT_SWEEP:
        cmd = [rc.verilator_bin(), "--lint-only", "-Wall", "--top-module", "syna_axi_wr",
               *[f"-G{k}={v}" for k, v in _params(dw, mb).items()], str(SRC)]
        res = subprocess.run(cmd, capture_output=True, text=True, env=rc.verilator_env())
        assert res.returncode == 0 and "%Warning" not in res.stderr, (dw, mb, res.stderr[-3000:])


def test_icarus_and_yosys_parse():
    iverilog, yosys = _tool("iverilog"), _tool("yosys")
    for dw, mb in SWEEP:
        ps = [f"-Psyna_axi_wr.{k}={v}" for k, v in _params(dw, mb).items()]
        res = subprocess.run([iverilog, "-g2005", "-o", os.devnull, "-s", "syna_axi_wr", *ps, str(SRC)],
                             capture_output=True, text=True)
        assert res.returncode == 0, res.stderr[-3000:]
        chparam = " ".join(f"-set {k} {v}" for k, v in _params(dw, mb).items())
        script = f"read_verilog {SRC}; chparam {chparam} syna_axi_wr; hierarchy -check -top syna_axi_wr; proc"
        res = subprocess.run([yosys, "-q", "-p", script], capture_output=True, text=True)
        assert res.returncode == 0, res.stderr[-3000:]


@pytest.mark.parametrize("bad", [dict(DATA_WIDTH=48), dict(MAX_BURST=512), dict(MAX_BURST=0),
                                 dict(MAX_OUTSTANDING=0), dict(ADDR_WIDTH=8)])
def test_parameters_out_of_range_stop_elaboration(bad):
    cmd = [rc.verilator_bin(), "--lint-only", "--top-module", "syna_axi_wr", *[f"-G{k}={v}" for k, v in bad.items()],
           str(SRC)]
    res = subprocess.run(cmd, capture_output=True, text=True, env=rc.verilator_env())
    assert res.returncode != 0 and "syna_axi_wr_parameters_out_of_range" in res.stderr, res.stderr[-2000:]
