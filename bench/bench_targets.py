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

# The PYNQ-Z2-sized DVS Gesture networks (docs/benchmarks.md says why these): the widest paper-net setting at
# 32x32 that fits PYNQ-Z2 on chip (`syna plan --recipes`: width 0.125, 8-bit), at P = 8 (no lane padding:
# its narrowest layer has 8 channels) and P = 32 (the fastest); width 0.25 does not fit on chip at 32x32
# with 4- to 8-bit weights, so it runs with its weights in DDR (the RTL's DDR mode, P = 16, 4-bit).
SMALL = [  # label, knobs, weight bits, P, weights
    ("on chip", dict(width=0.125, input_size=32, steps=16), 8, 8, "rom"),
    ("on chip", dict(width=0.125, input_size=32, steps=16), 8, 32, "rom"),
    ("weights in DDR", dict(width=0.25, input_size=32, steps=16), 4, 16, "ddr"),
]
RATE = 0.10                    # the planner's firing rate and the calibration target


def target_boards(large: str | None, small: str | None):
    """The issue's two boards, by role (board names live in syna_contract/boards.py only): the small one is
    the project's default board (PYNQ-Z2), the large one the board of the table with the most UltraRAM
    (ZCU104); ``--large-board`` / ``--small-board`` name others."""
    from syna_contract.boards import BOARDS, DEFAULT_BOARD, get_board
    big = get_board(large) if large else max(BOARDS.values(), key=lambda b: (b.uram, b.bram36))
    return big, get_board(small or DEFAULT_BOARD)

# Measured elsewhere, not re-run here (label 'RTL (reported)'): name -> (cycles, lanes, what/where)
REPORTED = {
    "mnist": (44.0e6, 16, "paper MNIST ResNet21, RTL twin DDR mode, harness without DDR limits (lead, at e376891)"),
    # paper DVS Gesture ResNet21 through the RTL twin in DDR mode, P = 16, the harness's DDR at the ZCU104's
    # modelled bandwidth + 150 ns assumed latency (bench/bench_rtl_ddr.py --buffers default, docs/rtl.md
    # "Measured", at 0ab8fa7 on branch rtl-dbuf-prerebase): cycles and stall cycles, single and double buffer
    "dvs_gesture_zcu104": {"single": (64_791_436, 0.013), "double": (63_924_992, 0.0)},
    # seconds of one paper-size inference (bench/bench_paper_rtl.py at 0fb7a1b, quiet machine, docs/rtl.md
    # "Paper-size runs"): RTL twin (Verilator) and HLS C-sim, the slowest of the three networks
    "sim_seconds": {"rtl": 46.8, "hls": 0.3, "net": "DVS Gesture"},
    # RTL cycles / (SOPs / P) of one paper-size inference per net (the same bench, same commit)
    "sops_ratio": {"MNIST": 1.03, "CIFAR10-DVS": 1.12, "DVS Gesture": 1.04},
}


def _met(ok) -> str:
    """yes / NO / - (no target); a str is printed as it is (e.g. 'modelled only': met by a plan that needs parts
    no core builds yet)."""
    return ok if isinstance(ok, str) else "-" if ok is None else ("yes" if ok else "NO")


def _met_if_built(ok: bool, built: bool):
    """A target a plan meets only with parts that are not built is not met: say 'NO (modelled: yes)'."""
    return ok if built or not ok else "NO (modelled: yes)"


def _port_speed(board):
    """The board with a DDR as fast as the core's read port, as the RTL harness plays it (one beat a cycle)."""
    import dataclasses
    return dataclasses.replace(board, hp_bits=4096, hp_max_mhz=1e6, ddr_efficiency=1.0)


def small_network(out: Path, knobs: dict, bits: int, lanes: int, weights: str, samples: int, board):
    """Export (once) a small DVS Gesture network and measure it on the RTL: per sample cycles, dense cycles,
    SOPs, the planner's RTL cycles on the same spike maps, firing rate; and the DDR bytes per inference."""
    from model_export.paper_bundles import paper_bundle
    from syna_contract import protocol as P
    from syna_contract.bundle import load_bundle
    from syna_hw import placement as pl
    from syna_hw.cycles import model_cycles
    from syna_hw.limits import RTL
    from syna_hw.lowering import lower
    from syna_hw.rtl_binding import RtlCore
    path = out / f"dvs{knobs['input_size']}-w{knobs['width']:g}-b{bits}" / (f"p{lanes}" if weights == "ddr" else "")
    if not (path / "manifest.json").is_file():
        paper_bundle("dvs_gesture", path, samples=samples, rate=RATE, weight_bits=bits,
                     ddr_lanes=lanes if weights == "ddr" else None, **knobs)
    b = load_bundle(path)
    g, spec = b.golden(), b.input_spec
    hw = lower(b, lanes, target=RTL)
    core = RtlCore(b, lanes=lanes, weights=weights)
    rows = []
    for i in range(min(samples, len(g["input"]))):
        words = P.pack_frames(g["input"][i], spec["bits"])
        o = P.unpack_output(core.run(words, spec["steps"]).out, core.classes, core.layers)
        assert np.array_equal(o.scores, g["scores"][i]), f"sample {i}: RTL scores differ from the golden ones"
        core.set_dense(True)
        od = P.unpack_output(core.run(words, spec["steps"]).out, core.classes, core.layers)
        core.set_dense(False)
        maps = {n: g[f"spikes/{n}"][i] for n in core.layers}
        rep = model_cycles(hw, g["input"][i], maps)
        wbuf = core.ddr.wbuf_rows if core.ddr else None
        plan = pl.place(hw, board, spikes=[(g["input"][i], maps)], wbuf_rows=wbuf)
        fast = pl.place(hw, _port_speed(board), spikes=[(g["input"][i], maps)], wbuf_rows=wbuf)
        rows.append(dict(cycles=o.cycles, dense=od.cycles, sops=rep.total_sops, plan=plan, fast=fast,
                         rate=sum(int(m.sum()) for m in maps.values()) / sum(m.size for m in maps.values())))
    nbytes = core.ddr_bytes_read // (2 * len(rows)) if core.ddr else 0       # two runs a sample: sparse, dense
    core.close()
    return b, rows, nbytes


def pz_verdict(bundle, lanes: int, board) -> str:
    from syna_hw.placement import place_bundle
    p = place_bundle(bundle, board, lanes=lanes)
    return f"{p.verdict}, {p.bram36:,.1f} BRAM36, {p.inferences_per_s:,.0f} inf/s"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(REPO / "build" / "bench-targets"), help="where the small bundle goes")
    ap.add_argument("--samples", type=int, default=2, help="samples of the small network (default 2)")
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown (docs/benchmarks.md)")
    ap.add_argument("--large-board", help="the issue's large board (default: the board table's with the most URAM)")
    ap.add_argument("--small-board", help="the issue's small board (default: the project's default board)")
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
    big, z2 = target_boards(a.large_board, a.small_board)
    for board, need, lanes_list in ((big.name, 10.0, (16, 32, 64)), (z2.name, 1.0, (16,))):
        for lanes in lanes_list:
            for buffers in (1, 2):
                p, b = plan_rows("dvs_gesture", board, lanes, buffers)
                scheme = "single weight buffer" if buffers == 1 else "double weight buffer"
                built = "" if p.choice.built or not p.runs else "; " + p.reasons[-2]
                if not p.runs:
                    rows.append((f"{b.title}: paper DVS Gesture ResNet21 >= {need:g} inf/s", "cannot run",
                                 "planner", lanes, p.clock_mhz, RATE, False))
                    continue
                rows.append((f"{b.title}: paper DVS Gesture ResNet21 >= {need:g} inf/s ({scheme})",
                             f"{p.inferences_per_s:,.1f} inf/s{built}", "planner", lanes, p.clock_mhz, RATE,
                             _met_if_built(p.inferences_per_s >= need, p.choice.built)))
                if board == big.name:
                    rows.append((f"{b.title}: memory stall <= 10 % ({scheme})", f"{100 * p.stall_fraction:.1f} %",
                                 "planner", lanes, p.clock_mhz, RATE,
                                 _met_if_built(p.stall_fraction <= 0.10, p.choice.built)))
                mem = (p.bram36 + 8 * p.uram) / (b.bram36 + 8 * b.uram)       # a URAM holds 8 BRAM36' bits
                rows.append((f"{b.title}: BRAM{'+URAM' if b.uram else ''} <= 80 % ({scheme})",
                             f"{p.bram36:,.1f} BRAM36" + (f" + {p.uram} URAM" if b.uram else "")
                             + f" = {100 * mem:.0f} %", "planner (memories; LUT: not estimated)", lanes,
                             p.clock_mhz, RATE, _met_if_built(mem <= 0.80, p.choice.built)))
    # paper MNIST: the reported RTL cycles next to the planner's
    cyc, lanes, what = REPORTED["mnist"]
    p, b = plan_rows("mnist", big.name, lanes)
    rows.append((f"paper MNIST ResNet21 cycles/inference ({big.title} clock)", f"{cyc / 1e6:.1f} M = "
                 f"{big.clock_mhz * 1e6 / cyc:.1f} inf/s", f"RTL (reported): {what}", lanes, big.clock_mhz,
                 "the bundle's", None))
    rows.append(("the same, planned", f"{p.cycles / 1e6:.1f} M = {p.inferences_per_s:.1f} inf/s "
                 f"({100 * p.stall_fraction:.1f} % stall)", "planner", lanes, p.clock_mhz, RATE, None))

    # paper DVS Gesture on the RTL twin at the ZCU104's DDR bandwidth (simulated: it does not fit the board as built)
    for scheme, (cyc, stall) in REPORTED["dvs_gesture_zcu104"].items():
        ips = big.clock_mhz * 1e6 / cyc
        rows.append((f"{big.title}: paper DVS Gesture ResNet21 >= 10 inf/s ({scheme} weight buffer, RTL-measured)",
                     f"{cyc / 1e6:.1f} M cycles = {ips:.1f} inf/s, stall {100 * stall:.1f} % (spike maps on chip: "
                     f"the build does not fit the {big.title}'s memories)", "RTL (reported): DDR at the board's "
                     "modelled bandwidth, 150 ns assumed latency", 16, big.clock_mhz, "the bundle's", ips >= 10))

    # 3-5. the PYNQ-Z2-sized networks, measured on the RTL (scores checked against the golden ones)
    mhz = z2.clock_mhz
    notes = []
    for label, knobs, bits, lanes, weights in SMALL:
        bundle, meas, nbytes = small_network(out, knobs, bits, lanes, weights, a.samples, z2)
        note = f"{bundle.root} (model {bundle.model_hash[:16]})"
        notes += [note] if note not in notes else []
        what = f"width {knobs['width']:g}, {knobs['input_size']}x{knobs['input_size']}, T={knobs['steps']}, {bits}-bit"
        cyc = float(np.mean([r["cycles"] for r in meas]))
        rate = f"{np.mean([r['rate'] for r in meas]):.3f}"
        plan = meas[0]["plan"]
        # the RTL's loads ran at one row per cycle; at the board's modelled bandwidth they take this much longer
        stall = float(np.mean([r["plan"].stall_cycles - r["fast"].stall_cycles for r in meas]))
        ips = mhz * 1e6 / (cyc + stall)
        src = "RTL" + (f" + planner's stall at {z2.title}'s DDR bandwidth" if weights == "ddr" else "")
        extra = (f"; {nbytes:,} DDR bytes/inference (planner {plan.ddr_bytes_per_inference:,})" if weights == "ddr"
                 else f"; planner: {pz_verdict(bundle, lanes, z2)}")
        rows.append((f"{z2.title} DVS Gesture {label} ({what}) >= 100 inf/s",
                     f"{ips:,.0f} inf/s ({cyc:,.0f} cycles" + (f" + {stall:,.0f} slower loads" if stall else "") + f"{extra})",
                     src, lanes, mhz, rate, ips >= 100))
        ratio = [r["cycles"] / (r["sops"] / lanes) for r in meas]
        rows.append(("  the same: cycles <= 1.25 x SOPs/P", f"{np.mean(ratio):.2f} (samples {min(ratio):.2f}.."
                     f"{max(ratio):.2f})", "RTL", lanes, mhz, rate, max(ratio) <= 1.25))
        gain = [r["dense"] / r["cycles"] for r in meas]
        rows.append(("  the same: >= 5x fewer cycles than dense", f"{np.mean(gain):.1f}x ({min(gain):.1f}.."
                     f"{max(gain):.1f})", "RTL", lanes, mhz, rate, min(gain) >= 5))
        pr = [r["cycles"] / r["fast"].rtl_cycles for r in meas]
        rows.append(("  the same: RTL / planner (rtl_cycles, same spike maps)", f"{np.mean(pr):.3f}", "RTL vs planner",
                     lanes, mhz, rate, None))
    ratios = REPORTED["sops_ratio"]
    rows.append(("paper size: cycles <= 1.25 x SOPs/P", ", ".join(f"{k} {v:.2f}" for k, v in ratios.items()),
                 "reported: bench/bench_paper_rtl.py (RTL, DDR ideal)", 16, "-", "the bundle's",
                 max(ratios.values()) <= 1.25))
    rows.append(("paper size: >= 5x fewer cycles than dense", "not measured (a dense paper-size RTL run is "
                 "5-10x the 30-50 s of a sparse one; measured on the small networks below)", "-", 16, "-", "-", None))
    sim = REPORTED["sim_seconds"]
    rows.append(("HLS C-sim < 1 s, RTL < 60 s per paper-size inference", f"HLS {sim['hls']:g} s, RTL {sim['rtl']:g} s "
                 f"(paper {sim['net']}, the slowest)", "reported: bench/bench_paper_rtl.py", 16, "-", "the bundle's",
                 sim["hls"] < 1 and sim["rtl"] < 60))

    head = ("target", "figure", "source", "P", "MHz", "firing rate", "met")
    print("Issue 16 targets (bench/bench_targets.py)")
    print(f"machine  {cpu_model()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}")
    print(f"commit   {git_commit()}    date {time.strftime('%Y-%m-%d %H:%M')}")
    print("small networks: " + "; ".join(notes) + f"; {a.samples} samples each")
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
