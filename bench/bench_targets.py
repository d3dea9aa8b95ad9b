#!/usr/bin/env python
"""Issue 16's targets as one table: for each, the figure, where it comes from, P, clock, firing rate, met?

Sources, labelled in the table:
- **RTL**: cycles the RTL twin counted (Verilator, this script) on the PYNQ-Z2-sized on-chip DVS Gesture
  network it exports (random weights calibrated to fire like a trained network,
  ``model_export.paper_bundles``), also with zero skipping off (``RtlCore.set_dense``) and against the
  SOPs of the same samples.
- **RTL (reported)**: a measurement another bench made (``REPORTED``: what, where, commit), not re-run here.
- **planner**: ``syna_hw.placement`` (the HLS core's cycle model with the cores' DDR tiling, the board
  table's DDR bandwidth, single weight buffer as built unless the row says double; random spike maps at
  the stated rate; memories by the Yosys rule; logic LUTs are not estimated by the planner).

    python bench/bench_targets.py [--out build/bench-targets] [--markdown]
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchenv import cpu_model, git_commit  # noqa: E402

# The on-chip DVS Gesture network for PYNQ-Z2 (docs/benchmarks.md says why this one): the widest paper-net
# setting at 32x32 that fits PYNQ-Z2 on chip (`syna plan --recipes`); width 0.25 does not fit on chip at
# 32x32 with 4- to 8-bit weights (it runs with its weights in DDR, the row after it).
SMALL = dict(width=0.125, input_size=32, steps=16)
SMALL_BITS, SMALL_LANES = 8, 32
RATE = 0.10                    # the planner's firing rate and the calibration target

# Measured elsewhere, not re-run here (label 'RTL (reported)'): name -> (cycles, lanes, what/where)
REPORTED = {
    "mnist": (44.0e6, 16, "paper MNIST ResNet21, RTL twin DDR mode, harness without DDR limits (lead, at e376891)"),
}


def _met(ok) -> str:
    return "-" if ok is None else ("yes" if ok else "NO")


def small_network(out: Path, samples: int):
    """Export (once) the on-chip network and measure it on the RTL: cycles, dense cycles, SOPs, rates."""
    from model_export.paper_bundles import paper_bundle
    from syna_contract import protocol as P
    from syna_contract.bundle import load_bundle
    from syna_hw.cycles import model_cycles
    from syna_hw.limits import RTL
    from syna_hw.lowering import lower
    from syna_hw.rtl_binding import RtlCore
    path = out / "dvs32-w0.125"
    if not (path / "manifest.json").is_file():
        paper_bundle("dvs_gesture", path, samples=samples, rate=RATE, weight_bits=SMALL_BITS, **SMALL)
    b = load_bundle(path)
    g, spec = b.golden(), b.input_spec
    hw = lower(b, SMALL_LANES, target=RTL)
    core = RtlCore(b, lanes=SMALL_LANES)
    rows = []
    t0 = time.time()
    for i in range(len(g["input"])):
        words = P.pack_frames(g["input"][i], spec["bits"])
        o = P.unpack_output(core.run(words, spec["steps"]).out, core.classes, core.layers)
        assert np.array_equal(o.scores, g["scores"][i]), f"sample {i}: RTL scores differ from the golden ones"
        core.set_dense(True)
        od = P.unpack_output(core.run(words, spec["steps"]).out, core.classes, core.layers)
        core.set_dense(False)
        maps = {n: g[f"spikes/{n}"][i] for n in core.layers}
        rep = model_cycles(hw, g["input"][i], maps)
        neurons = sum(m.size for m in maps.values())
        rows.append(dict(cycles=o.cycles, dense=od.cycles, sops=rep.total_sops, model=rep.cycles,
                         rate=sum(int(m.sum()) for m in maps.values()) / neurons))
    wall = (time.time() - t0) / len(rows)
    core.close()
    return b, rows, wall


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(REPO / "build" / "bench-targets"), help="where the small bundle goes")
    ap.add_argument("--samples", type=int, default=2, help="samples of the small network (default 2)")
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown (docs/benchmarks.md)")
    a = ap.parse_args(argv)
    from model_export.plan_config import make_setting, plan_setting
    from syna_contract.boards import get_board

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []      # target, figure, source, P, clock, rate, met

    def plan_rows(net, board, lanes, buffers=1):
        p = plan_setting(make_setting(net=net), board, lanes, rate=RATE, buffers=buffers)
        b = get_board(board)
        return p, b

    # 1-2. paper DVS Gesture ResNet21 on ZCU104 and PYNQ-Z2 (planner; no RTL paper-size run here)
    for board, need, lanes_list in (("zcu104", 10.0, (16, 32)), ("pynq-z2", 1.0, (16,))):
        for lanes in lanes_list:
            for buffers in (1, 2):
                p, b = plan_rows("dvs_gesture", board, lanes, buffers)
                scheme = "single buffer (built)" if buffers == 1 else "double buffer (modelled, not built)"
                built = "" if p.choice.built or not p.runs else "; needs parts not built: " + p.reasons[-2]
                if not p.runs:
                    rows.append((f"{b.title}: paper DVS Gesture ResNet21 >= {need:g} inf/s", "cannot run",
                                 "planner", lanes, p.clock_mhz, RATE, False))
                    continue
                rows.append((f"{b.title}: paper DVS Gesture ResNet21 >= {need:g} inf/s ({scheme})",
                             f"{p.inferences_per_s:,.1f} inf/s{built}", "planner", lanes, p.clock_mhz, RATE,
                             p.inferences_per_s >= need))
                if board == "zcu104":
                    rows.append((f"{b.title}: memory stall <= 10 % ({scheme})", f"{100 * p.stall_fraction:.1f} %",
                                 "planner", lanes, p.clock_mhz, RATE, p.stall_fraction <= 0.10))
                mem = (p.bram36 + 8 * p.uram) / (b.bram36 + 8 * b.uram)       # a URAM holds 8 BRAM36' bits
                rows.append((f"{b.title}: BRAM{'+URAM' if b.uram else ''} <= 80 % ({scheme})",
                             f"{p.bram36:,.1f} BRAM36" + (f" + {p.uram} URAM" if b.uram else "")
                             + f" = {100 * mem:.0f} %", "planner (memories; LUT: not estimated)", lanes,
                             p.clock_mhz, RATE, mem <= 0.80))
    # paper MNIST: the reported RTL cycles next to the planner's
    cyc, lanes, what = REPORTED["mnist"]
    p, b = plan_rows("mnist", "zcu104", lanes)
    rows.append(("paper MNIST ResNet21 cycles/inference (ZCU104 clock)", f"{cyc / 1e6:.1f} M = "
                 f"{200e6 / cyc:.1f} inf/s", f"RTL (reported): {what}", lanes, 200, "the bundle's", None))
    rows.append(("the same, planned", f"{p.cycles / 1e6:.1f} M = {p.inferences_per_s:.1f} inf/s "
                 f"({100 * p.stall_fraction:.1f} % stall)", "planner", lanes, p.clock_mhz, RATE, None))

    # 3-5. the PYNQ-Z2-sized on-chip network, measured on the RTL
    from syna_hw.placement import place_bundle
    bundle, meas, wall = small_network(out, a.samples)
    z2 = get_board("pynq-z2")
    pz = place_bundle(bundle, z2, lanes=SMALL_LANES)
    cyc = float(np.mean([r["cycles"] for r in meas]))
    rate = float(np.mean([r["rate"] for r in meas]))
    knobs = f"width {SMALL['width']}, {SMALL['input_size']}x{SMALL['input_size']}, T={SMALL['steps']}, {SMALL_BITS}-bit"
    rows.append((f"PYNQ-Z2 DVS Gesture on chip ({knobs}) >= 100 inf/s", f"{z2.clock_mhz * 1e6 / cyc:,.0f} inf/s "
                 f"({cyc:,.0f} cycles; planner says {pz.verdict}, {pz.bram36:,.1f} BRAM36, "
                 f"{pz.inferences_per_s:,.0f} inf/s)", "RTL", SMALL_LANES, z2.clock_mhz, f"{rate:.3f}",
                 pz.verdict == "fits on chip" and z2.clock_mhz * 1e6 / cyc >= 100))
    ratio = [r["cycles"] / (r["sops"] / SMALL_LANES) for r in meas]
    rows.append(("the same: cycles <= 1.25 x SOPs/P", f"{np.mean(ratio):.2f} (samples {min(ratio):.2f}..{max(ratio):.2f})",
                 "RTL", SMALL_LANES, z2.clock_mhz, f"{rate:.3f}", max(ratio) <= 1.25))
    gain = [r["dense"] / r["cycles"] for r in meas]
    rows.append(("the same: >= 5x fewer cycles than dense", f"{np.mean(gain):.1f}x ({min(gain):.1f}..{max(gain):.1f})",
                 "RTL", SMALL_LANES, z2.clock_mhz, f"{rate:.3f}", min(gain) >= 5))
    pr = [r["cycles"] / r["model"] for r in meas]
    rows.append(("the same: RTL / planner cycles (golden maps)", f"{np.mean(pr):.3f}", "RTL vs planner",
                 SMALL_LANES, z2.clock_mhz, f"{rate:.3f}", None))
    w25 = make_setting(net="dvs_gesture", width=0.25, input_size=32, weight_bits=4)
    p25 = plan_setting(w25, "pynq-z2", 16, rate=RATE)
    rows.append(("PYNQ-Z2 DVS Gesture width 0.25, 32x32, T=16, 4-bit", f"{p25.verdict}; "
                 f"{p25.inferences_per_s:,.0f} inf/s" if p25.runs else p25.verdict, "planner", 16, p25.clock_mhz,
                 RATE, None))
    rows.append(("HLS C-sim < 1 s, RTL < 60 s per paper-size inference", "not measured here (bench_paper_rtl, "
                 "tests/test_paper_ddr.py)", "-", "-", "-", "-", None))

    head = ("target", "figure", "source", "P", "MHz", "firing rate", "met")
    print("Issue 16 targets (bench/bench_targets.py)")
    print(f"machine  {cpu_model()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}")
    print(f"commit   {git_commit()}    date {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"small network: {bundle.root} (model {bundle.model_hash[:16]}), {len(meas)} samples, "
          f"RTL {wall:.1f} s wall per sample (sparse + dense)")
    print()
    if a.markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for r in rows:
            print("| " + " | ".join(str(x) if i != 6 else _met(x) for i, x in enumerate(r)) + " |")
    else:
        for r in rows:
            print(f"{r[0]:<62} {r[1]:<60} {r[2]:<28} P={r[3]!s:<3} {r[4]!s:>5} MHz  rate {r[5]!s:<8} met {_met(r[6])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
