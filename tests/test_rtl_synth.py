"""The RTL is tool-independent and fits the board: Verilator lint, Icarus (compile and a full
inference, bit-exact), Yosys (parse, and synth_xilinx of the demo configuration against
PYNQ-Z2: within 70% LUT and 80% BRAM). A missing tool fails with its name (`make rtl-deps`).
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from helpers import export_demo
from syna_contract import protocol as P
from syna_hw import rtl_core as rc
from syna_contract.bundle import load_bundle

REPO = Path(__file__).resolve().parents[1]


def _tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} is not installed: `make rtl-deps` (apt-get install yosys iverilog)"
    return path


@pytest.fixture(scope="module")
def demo_bundle(tmp_path_factory) -> Path:
    return export_demo(tmp_path_factory.mktemp("rtl_synth") / "bundle", golden=2)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A small random model (IAND merges) and its generated configuration (P = 8)."""
    import torch  # noqa: F401  (the helpers build torch models)
    from helpers import DIGITS_SPEC, random_inputs, random_model, small_config

    from model_export.export import write_bundle
    from model_export.quant import QuantSettings
    out = tmp_path_factory.mktemp("rtl_small")
    x = random_inputs(2, seed=5)
    write_bundle(random_model(small_config("IAND"), x, seed=5), out / "bundle", QuantSettings(input_scale=1 / 16),
                 DIGITS_SPEC, x)
    cfg = rc.generate(out / "bundle", out / "run", lanes=8)
    return out / "bundle", out / "run", cfg


@pytest.fixture(scope="module")
def small_att(tmp_path_factory):
    """A small random model with attention (MA-C on the backbone, IA-C on the shortcuts, OR merges), P = 8."""
    import torch  # noqa: F401
    from helpers import DIGITS_SPEC, random_inputs, random_model, small_config

    from model_export.export import write_bundle
    from model_export.model import AttentionSpec
    from model_export.quant import QuantSettings
    out = tmp_path_factory.mktemp("rtl_small_att")
    x = random_inputs(2, seed=6)
    write_bundle(random_model(small_config("OR", AttentionSpec("C", "b")), x, seed=6), out / "bundle",
                 QuantSettings(input_scale=1 / 16), DIGITS_SPEC, x)
    cfg = rc.generate(out / "bundle", out / "run", lanes=8)
    assert cfg.arch["NATT"] > 0
    return out / "bundle", out / "run", cfg


CONFIGS = pytest.mark.parametrize("config", ["small", "small_att"])


@CONFIGS
def test_verilator_lint_clean_of_errors(config, request):
    _, run, _ = request.getfixturevalue(config)
    cmd = [rc.verilator_bin(), "--lint-only", "-Wall", "-Wno-fatal", "-Wno-WIDTH", "-Wno-UNUSED",
           f"-I{run}", "--top-module", "syna_core_top", *map(str, rc.rtl_sources(top=True))]
    res = subprocess.run(cmd, capture_output=True, text=True, env=rc.verilator_env())
    assert res.returncode == 0, res.stderr[-3000:]
    warnings = [l for l in res.stderr.splitlines() if l.startswith("%Warning")]
    assert not warnings, "\n".join(warnings[:20])


@CONFIGS
def test_icarus_compiles_and_runs_a_full_inference_bitexact(config, request):
    bundle, run, cfg = request.getfixturevalue(config)
    iverilog, vvp = _tool("iverilog"), _tool("vvp")
    srcs = [str(p) for p in rc.rtl_sources(top=True)]
    subprocess.run([iverilog, "-g2005", "-I", str(run), "-o", str(run / "tb.vvp"), "-s", "tb_icarus", *srcs,
                    str(REPO / "sim" / "tb_icarus.v")], check=True)
    b = load_bundle(bundle)
    g = b.golden()
    words = P.pack_frames(g["input"][0], b.input_spec["bits"])
    (run / "tb_in.hex").write_text("\n".join(f"{w:08x}" for w in words) + "\n")
    res = subprocess.run([vvp, "-n", "tb.vvp", f"+NWORDS={len(words)}", f"+STEPS={b.input_spec['steps']}"],
                         cwd=run, capture_output=True, text=True, timeout=600)
    assert "DONE" in res.stdout, res.stdout[-2000:] + res.stderr[-2000:]
    out = np.array([int(l, 16) for l in (run / "tb_out.hex").read_text().split()], dtype=np.uint32)
    o = P.unpack_output(out, cfg.arch["NCLS"], cfg.spiking)
    np.testing.assert_array_equal(o.scores, g["scores"][0])
    assert o.spike_counts == {k: int(g[f"spikes/{k}"][0].sum()) for k in cfg.spiking}
    assert o.errors == []


def test_rtl_file_list_is_complete():
    """rtl/syna.f (what every consumer reads) lists every Verilog file of rtl/, each once, the top last."""
    listed = rc.rtl_sources(top=True)
    assert len(set(listed)) == len(listed), "rtl/syna.f lists a file twice"
    assert sorted(listed) == sorted((REPO / "rtl").glob("*.v")), (
        "rtl/syna.f and rtl/*.v differ: add the new file to rtl/syna.f (dependency order)")
    assert listed[-1].stem == "syna_core_top" and rc.rtl_sources()[-1].stem == "syna_core"


def unit_benches() -> dict[str, str]:
    """Each RTL unit's bench toplevel: sim/tb_<unit>.v's wrapper where there is one, else the unit itself."""
    sim = REPO / "sim"
    units = [p.stem[len("syna_"):] for p in rc.rtl_sources(units_only=True)]
    return {u: f"tb_{u}" if (sim / f"tb_{u}.v").is_file() else f"syna_{u}" for u in units}


def test_every_unit_has_a_bench():
    """sim/test_<unit>.py (or sim/test_syna_<unit>.py) exists for every unit of rtl/syna.f."""
    missing = [u for u in unit_benches()
               if not any((REPO / "sim" / f"test_{n}.py").is_file() for n in (u, f"syna_{u}"))]
    assert not missing, f"RTL units without a bench (sim/test_<unit>.py): {missing}"


def test_icarus_compiles_the_unit_benches(tmp_path):
    """Every unit bench (the wrappers of sim/ and the units driven directly) compiles with Icarus -g2005 too."""
    iverilog = _tool("iverilog")
    tops = unit_benches().values()
    wrappers = [REPO / "sim" / f"{t}.v" for t in tops if t.startswith("tb_")]
    res = subprocess.run([iverilog, "-g2005", "-o", str(tmp_path / "units.vvp"), *[a for t in tops for a in ("-s", t)],
                          *map(str, rc.rtl_sources(units_only=True)), *map(str, wrappers)],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-3000:]


@CONFIGS
def test_yosys_parses_the_rtl(config, request):
    _, run, _ = request.getfixturevalue(config)
    yosys = _tool("yosys")
    script = (f"read_verilog -I{run} " + " ".join(map(str, rc.rtl_sources(top=True))) + "\n"
              "hierarchy -check -top syna_core_top\nproc\n")
    res = subprocess.run([yosys, "-q", "-p", script.replace("\n", "; ")], cwd=run, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-3000:]


def test_demo_fits_pynq_z2(demo_bundle):
    """Yosys synth_xilinx (xc7) of the RTL configured for the demo bundle: LUT <= 70%, BRAM <= 80% of PYNQ-Z2."""
    _tool("yosys")
    rep = rc.synth_estimate(demo_bundle, "pynq-z2")
    print(rep.table())
    u = rep.usage()
    assert rep.lut > 1000 and rep.ff > 500 and rep.bram36 > 0, rep.cells           # a real design came out
    assert 0 < rep.memory_lut < rep.lut and rep.logic_lut == rep.lut - rep.memory_lut, rep.table()
    assert u["lut"][2] <= 0.70, rep.table()
    assert u["bram36"][2] <= 0.80, (
        rep.table() + "\nThe demo's weights do not fit PYNQ-Z2's block RAM (docs/rtl.md, 'Resources'): "
        "export it with fewer weight bits or a narrower model.")


@pytest.mark.parametrize("board", ["pynq-z2", "zcu104"])
def test_yosys_maps_the_weights_in_ddr_build(small, board, tmp_path):
    """synth_estimate(weights="ddr"): Yosys elaborates the DDR top (syna_core_top_ddr with the configuration's
    GMEM_DW; syna_core refuses any other) and maps its memories (the memories-only flow, seconds): the weight
    ROM becomes two writable tile buffers (wbuf="double"), at least the block RAM the planner counts for that
    build (syna_hw/plan.py's mapping of rtl_config.rtl_memories) and at most 3 BRAM36 more: the planner does
    not list syna_axi_rd's read FIFO (512 beats of 1 + 9/8 x GMEM_DW bits: 1.5 BRAM36 at 64 bits, 2.5 at 128).
    bench/bench_yosys_paper.py runs the full synth_xilinx of this build at paper size."""
    from syna_contract.boards import get_board
    from syna_hw.lowering import ddr_weights, lower
    from syna_hw.limits import RTL
    from syna_hw.plan import map_memories
    _tool("yosys")
    bundle, _, _ = small
    rep = rc.synth_estimate(bundle, board, lanes=8, work=tmp_path / "ddr", memories_only=True, weights="ddr",
                            wbuf="double")
    rom = rc.synth_estimate(bundle, board, lanes=8, work=tmp_path / "rom", memories_only=True)
    assert (rep.weights, rep.wbuf, rom.weights) == ("ddr", "double", "rom")
    assert "weights in DDR, double buffer" in rep.table()
    hw = lower(load_bundle(bundle), 8, target=RTL)
    arch = rc.rtl_arch(hw)
    arch.update(rc.ddr_arch(ddr_weights(hw), "double"))
    mems = {m.what: m for m in map_memories(rc.rtl_memories(arch), get_board(board))}
    planned = sum(m.bram36 + m.uram for m in mems.values())
    got = rep.bram36 + rep.uram
    assert got > 0 and planned <= got <= planned + 3, (rep.cells, mems)
    assert rep.cells != rom.cells, "the DDR build mapped the same memories as the ROM build"


def test_memory_luts_counts_each_memory_instance_once_per_use():
    """syna_hw.yosys.memory_luts on a hierarchical stat: a memory module's LUTs times its instances, nested
    instances multiplied through their parents, LUT RAM by its LUT count; LUTs of other modules not counted."""
    from syna_hw.yosys import memory_luts
    stat = """
=== $paramod$aa\\syna_mem ===
   Number of cells:                  3
     LUT6                            2
     RAM64M                          1
     FDRE                            9
=== $paramod$bb\\syna_mem ===
     LUT2                            5
     URAM288                         4
=== unit ===
     $paramod$aa\\syna_mem           2
     LUT3                          100
=== top ===
     unit                            3
     $paramod$bb\\syna_mem           1
     LUT4                           50
=== design hierarchy ===
   top                               1
     unit                            3
"""
    assert memory_luts(stat) == 3 * 2 * (2 + 4) + 5
    with pytest.raises(ValueError, match="one top module"):
        memory_luts(stat + "=== other ===\n     LUT1   1\n")
