#!/usr/bin/env python
"""The paper-size ResNet21s through the HLS core with their spike maps in DDR (``maps="ddr"``,
docs/hls-core.md "Spike maps in DDR"), as one plain-text table per network.

Per accumulator depth (``--acc-rows``, default: the default, 4096, 2048 -- the PYNQ-Z2 spec -- and 1024): the
spill plan's bands (all weight tiles together) and scratch buffer, the scratch bytes read and written and
the DDR weight bytes per inference (C-sim counters, equal to ``syna_hw.cycles.scratch_traffic`` /
the tiling), the modelled cycles (the core's count, mean over ``--samples``) against the same core with its
maps on chip, the cycles the scratch and weight traffic would take on ``--board``'s DDR port (default the default board) if none of it
overlapped compute (bytes / the board's modelled bytes per cycle: an upper bound on the stall the count leaves
out), and the C-simulation's seconds per inference. Every run is checked on every spike of every layer and
step against the integer reference, and the scratch after the last sample against the reference's maps
(column ``bit-exact``). Nothing is asserted: tests/test_paper_ddr.py and tests/test_hls_spill.py assert.

    .venv/bin/python bench/bench_hls_spill.py [--nets dvs_gesture] [--samples 4] [--lanes P]
        [--acc-rows default 4096 2048 1024] [--board BOARD] [--workdir DIR]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchenv import cpu_model, git_commit  # noqa: E402
from syna_contract.boards import DEFAULT_BOARD, boards_help  # noqa: E402
from syna_hw.limits import DEFAULT_LANES  # noqa: E402
from bench_paper_rtl import NETS, _bundle  # noqa: E402


def measure(root: Path, lanes: int, samples: int, acc_rows: list, board: str) -> list[str]:
    from syna_contract.boards import get_board
    from syna_contract.bundle import load_bundle
    from syna_contract.reference import Reference
    from syna_hw import hls_core as hc
    from syna_hw.cycles import model_cycles
    b = load_bundle(root)
    x = b.golden()["input"][:samples]
    ref = Reference(b).run(x)
    maps_of = [{k: v[i] for k, v in ref.spikes.items()} for i in range(len(x))]
    bpc = get_board(board).ddr_bytes_per_cycle()
    build = Path(tempfile.mkdtemp(prefix="bench-hls-spill-"))
    chip = hc.HlsCore(b, lanes, build_root=build, weights="ddr")
    chip_cycles = np.mean([model_cycles(chip.hw, x[i], maps_of[i], chip.ddr).cycles for i in range(len(x))])
    out = [f"  maps on chip (weights in DDR): {chip_cycles:,.0f} modelled cycles/inference, "
           f"{chip.ddr.bytes_per_inference:,} DDR weight bytes; {board} DDR model {bpc:.1f} bytes/cycle",
           f"  {'acc_rows':>9}{'bands':>7}{'scratch B':>11}{'read B':>12}{'written B':>11}{'weight B':>12}"
           f"{'cycles':>13}{'vs chip':>9}{'DDR cycles':>12}{'C-sim s':>9}{'bit-exact':>10}"]
    for acc in acc_rows:
        core = hc.HlsCore(b, lanes, build_root=build, weights="ddr", maps="ddr", acc_rows=acc).compile()
        t0 = time.perf_counter()
        res = core.run(x)
        dt = (time.perf_counter() - t0) / len(x)
        ok = hc.compare(res, ref) is None
        back = core.scratch_maps()
        ok = ok and all(np.array_equal(back[k], v[-1]) for k, v in ref.spikes.items())
        n = len(x)
        rd, wr, wb = core.scratch_bytes_read // n, core.scratch_bytes_written // n, core.ddr_bytes_read // n
        cyc = float(res.cycles.mean())
        sp = core.spill
        out.append(f"  {sp.acc_rows if acc else str(sp.acc_rows) + '*':>9}{sp.bands:>7}{sp.scratch_bytes:>11,}"
                   f"{rd:>12,}{wr:>11,}{wb:>12,}{cyc:>13,.0f}{100 * (cyc / chip_cycles - 1):>8.2f}%"
                   f"{(rd + wr + wb) / bpc:>12,.0f}{dt:>9.2f}{'yes' if ok else 'NO':>10}")
    out.append("  (* the default: whole-layer bands)")
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--nets", nargs="+", choices=NETS, default=["dvs_gesture"])
    p.add_argument("--samples", type=int, default=4)
    p.add_argument("--lanes", type=int, default=DEFAULT_LANES)
    p.add_argument("--acc-rows", nargs="+", default=["default", "4096", "2048", "1024"],
                   help="accumulator rows of P lanes ('default': what the weight tiling needs)")
    p.add_argument("--board", default=DEFAULT_BOARD,
                   help=f"the DDR port whose bandwidth prices the traffic (default {DEFAULT_BOARD}): {boards_help()}")
    p.add_argument("--workdir", default=None, help="keep the bundles here between runs")
    a = p.parse_args(argv)
    accs = [None if s == "default" else int(s) for s in a.acc_rows]
    work = Path(a.workdir) if a.workdir else Path(tempfile.mkdtemp(prefix="bench-hls-spill-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"HLS core, spike maps in DDR: P = {a.lanes}, {a.samples} samples per net; commit {git_commit()}, "
          f"{cpu_model()}")
    for net in a.nets:
        root = _bundle(net, work, a.samples, a.lanes)
        print(f"{net} ({root})")
        print("\n".join(measure(root, a.lanes, a.samples, accs, a.board)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
