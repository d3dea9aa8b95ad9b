#!/usr/bin/env python
"""Yosys resource estimate of the paper-size DVS Gesture ResNet21 (Table IX: 2x128x128, T = 16, 11.2 M weights)
as the RTL twin builds it with its weights in DDR, as one plain-text table.

The bundle has calibrated random weights (``model_export.paper_bundles``; ``--workdir`` keeps it between
runs); the values do not change the netlist, only the shapes do. Per (board, P): ``syna_hw.yosys.synth_estimate``
of ``generate(bundle, lanes=P, weights="ddr", wbuf=...)`` -- the whole core, top rtl/syna_core_top_ddr.v, through
Debian's Yosys ``synth_xilinx -family <board's> [-uram]``, logic and memories in one netlist, no black boxes --
and the planner's count of the same memories (``syna_hw.plan.map_memories`` of ``rtl_config.rtl_memories``).
Columns: LUT (logic and LUT RAM), FF, DSP, BRAM36, URAM with the board's share, the issue's budget verdict
(LUT <= 70 %, BRAM36 and URAM <= 80 %), the planner's BRAM36 / URAM, Yosys wall and CPU seconds.
Reports are cached per bundle, P, board, build and RTL under build/rtl/synth/ (``--fresh``: a new
work directory). Nothing is asserted: this measures (docs/rtl.md "Resources").

    .venv/bin/python bench/bench_yosys_paper.py [--configs zcu104:16 zcu104:64 pynq-z2:16] [--wbuf double]
        [--bundle DIR | --workdir DIR] [--timeout 7200] [--fresh]
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from syna_contract.boards import UTILISATION_BUDGET, get_board  # noqa: E402
from syna_contract.bundle import load_bundle  # noqa: E402
from syna_hw.lowering import WBUF_MODES, WBUF_RAMS  # noqa: E402
from benchenv import cpu_model, git_commit  # noqa: E402

NET = "dvs_gesture"
CONFIGS = ("zcu104:16", "zcu104:64", "pynq-z2:16")


def _bundle(root: Path) -> Path:
    """The paper DVS Gesture bundle (one golden sample; reused when present)."""
    from model_export.paper_bundles import paper_bundle
    out = root / f"{NET}-s1"
    if not (out / "manifest.json").is_file():
        paper_bundle(NET, out, samples=1)
    return out


def planned(bundle, board: str, lanes: int, wbuf: str, wbuf_ram: str) -> tuple[float, int, int, int | None]:
    """The planner's BRAM36, URAM and LUT RAM for the memories of this build (syna_hw/plan.py's mapping) and
    the logic LUTs syna_hw/lutmodel.py models for it."""
    from syna_hw.lutmodel import logic_luts
    from syna_hw.lowering import ddr_weights, lower
    from syna_hw.limits import RTL
    from syna_hw.plan import map_memories
    from syna_hw.rtl_config import ddr_arch, rtl_arch, rtl_memories
    hw = lower(bundle, lanes, target=RTL)
    arch = rtl_arch(hw)
    arch.update(ddr_arch(ddr_weights(hw), wbuf, wbuf_ram=wbuf_ram))
    bd = get_board(board)
    mems = map_memories(rtl_memories(arch), bd)
    return (sum(m.bram36 for m in mems), sum(m.uram for m in mems), sum(m.lut for m in mems),
            logic_luts(arch, bd.synth_family))


def measure(path: Path, board: str, lanes: int, wbuf: str, wbuf_ram: str, timeout: int,
            fresh_root: Path | None) -> dict:
    from syna_hw.yosys import synth_estimate
    work = fresh_root / f"{board}-p{lanes}" if fresh_root else None
    c0 = os.times()
    rep = synth_estimate(path, board, lanes=lanes, weights="ddr", wbuf=wbuf, wbuf_ram=wbuf_ram, timeout=timeout,
                         work=work)
    c1 = os.times()
    cpu = (c1.children_user + c1.children_system) - (c0.children_user + c0.children_system)
    bram, uram, lut_ram, logic = planned(load_bundle(path), board, lanes, wbuf, wbuf_ram)
    return dict(board=board, lanes=lanes, rep=rep, cpu=cpu, plan_bram=bram, plan_uram=uram, plan_lut_ram=lut_ram,
                plan_logic=logic)


def yosys_version() -> str:
    exe = shutil.which("yosys")
    if exe is None:
        return "yosys not found"
    return subprocess.run([exe, "-V"], capture_output=True, text=True).stdout.strip()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", nargs="+", default=list(CONFIGS), help="board:P pairs (default %(default)s)")
    ap.add_argument("--wbuf", choices=WBUF_MODES, default="double", help="weight buffers (default %(default)s)")
    ap.add_argument("--wbuf-ram", choices=WBUF_RAMS, default="auto",
                    help="the weight buffer's RAM (default %(default)s; block: block RAM only, as `syna plan` picks "
                         "for the ZCU104 at P = 64)")
    ap.add_argument("--bundle", default=None,
                    help="an exported paper DVS Gesture bundle to use (default: build one, model_export.paper_bundles)")
    ap.add_argument("--workdir", default=None, help="keep the bundle here (default: a temporary directory)")
    ap.add_argument("--timeout", type=int, default=7200, help="seconds per Yosys run (default %(default)s)")
    ap.add_argument("--fresh", action="store_true", help="run Yosys again in new work directories (no cached report)")
    a = ap.parse_args(argv)
    configs = []
    for c in a.configs:
        m = re.fullmatch(r"([\w-]+):(\d+)", c)
        if not m:
            ap.error(f"config {c!r}: expected BOARD:P, e.g. zcu104:16")
        configs.append((get_board(m.group(1)).name, int(m.group(2))))
    tmp = None if a.workdir else tempfile.TemporaryDirectory(prefix="bench_yosys_paper_")
    root = Path(a.workdir or tmp.name)
    root.mkdir(parents=True, exist_ok=True)
    fresh = Path(tempfile.mkdtemp(prefix="synth_", dir=root)) if a.fresh else None
    print(f"Yosys estimate of the paper DVS Gesture ResNet21 (2x128x128, T = 16), RTL twin, weights in DDR, "
          f"{a.wbuf} weight buffer in {'block RAM' if a.wbuf_ram == 'block' else 'RAM synthesis chooses'} "
          "(bench/bench_yosys_paper.py)")
    print(f"machine  {cpu_model()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
          f"load average {os.getloadavg()[0]:.1f} at start")
    print(f"commit   {git_commit()}    date {time.strftime('%Y-%m-%d %H:%M')}    {yosys_version()}")
    print("flow: synth_xilinx -family <board's> [-uram] of the whole core (logic and memories, no black boxes); "
          "LUT includes LUT RAM")
    print()
    path = Path(a.bundle) if a.bundle else _bundle(root)
    cfg = load_bundle(path).manifest.get("model_config", {})
    if (cfg.get("preset"), cfg.get("input_size"), cfg.get("steps"), cfg.get("width")) != (NET, 128, 16, 1.0):
        raise SystemExit(f"{path}: not the paper DVS Gesture ResNet21 (model_config {cfg}); expected preset {NET}, "
                         "input 128, T = 16, width 1.0")
    rows = []
    for board, lanes in configs:
        print(f"... {board} P = {lanes}", file=sys.stderr, flush=True)
        rows.append(measure(path, board, lanes, a.wbuf, a.wbuf_ram, a.timeout, fresh))
    lut_b, bram_b = UTILISATION_BUDGET.get("lut", 0.70), UTILISATION_BUDGET.get("bram36", 0.80)
    print(f"{'board':<9}{'family':>7}{'P':>4}{'LUT':>17}{'logic LUT':>11}{'model':>8}{'mem LUT':>9}{'FF':>16}"
          f"{'DSP':>12}"
          f"{'BRAM36':>17}{'URAM':>13}{'budget':>8}{'plan BRAM36/URAM':>18}{'Yosys s':>9}{'CPU s':>8}")
    for r in rows:
        rep = r["rep"]
        u = rep.usage()
        cell = lambda k, fmt: f"{fmt.format(u[k][0])} ({100 * u[k][2]:.0f}%)"  # noqa: E731
        fits = "fits" if rep.fits(lut_b, bram_b) else "NO"
        cpu = f"{r['cpu']:.0f}" if r["cpu"] > 0 else "cached"
        model = f"{r['plan_logic']:>8,}" if r["plan_logic"] is not None else f"{'-':>8}"
        split = (f"{rep.logic_lut:>11,}{model}{rep.memory_lut:>9,}" if rep.memory_lut is not None
                 else f"{'?':>11}{model}{'?':>9}")
        print(f"{rep.board:<9}{rep.family:>7}{rep.lanes:>4}{cell('lut', '{:,}'):>17}{split}{cell('ff', '{:,}'):>16}"
              f"{cell('dsp', '{:,}'):>12}{cell('bram36', '{:,.1f}'):>17}{cell('uram', '{:,}'):>13}{fits:>8}"
              f"{r['plan_bram']:>11,.1f} / {r['plan_uram']:<4}{rep.seconds:>9.0f}{cpu:>8}")
    print("\nlogic LUT: outside the rtl/syna_mem.v instances (model: the planner's syna_hw/lutmodel.py); mem LUT: "
          "inside them (LUT RAM, and the address decoders and read multiplexers of memories built from several "
          "BRAM/URAM; the planner counts only their LUT RAM).")
    print(f"budget: LUT <= {100 * lut_b:.0f} %, BRAM36 and URAM <= {100 * bram_b:.0f} % of the board (issue 16). "
          "Yosys' technology mapping, not Vivado's; no place and route, no timing.")
    if tmp:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
