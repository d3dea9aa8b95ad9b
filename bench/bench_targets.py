#!/usr/bin/env python
"""Issue 16's targets as one table: for each, the figure, where it comes from, P, clock, firing rate, met?

Sources, labelled in the table:
- **RTL**: cycles the RTL twin counted (Verilator, this script) on the PYNQ-Z2-sized DVS Gesture
  networks it exports (random weights calibrated to fire like a trained network,
  ``model_export.paper_bundles``), also with zero skipping off (``RtlCore.set_dense``) and against the
  SOPs of the same samples; with weights in DDR, the C++ harness plays the board's DDR (its modelled
  bandwidth at its clock, ``board_ddr_timing``, and ``LATENCY_NS`` of read latency, an assumption), so
  the cycles include the measured stall.
- **RTL (reported)**: a measurement another bench made (``REPORTED``: what, where, commit), not re-run here.
- **planner**: ``syna_hw.placement`` (the HLS core's cycle model with the cores' DDR tiling, the board
  table's DDR bandwidth, single weight buffer as built unless the row says double; random spike maps at
  the stated rate; memories by the Yosys rule; logic LUTs by syna_hw/lutmodel.py, fitted to Yosys runs).

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

from benchenv import LATENCY_NS, cpu_model, ddr_model, git_commit  # noqa: E402

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

# the paper DVS Gesture runs at P = 16, 32, 64 (docs/rtl.md "Paper-size runs"): the bench at 5165f38 before its rebase
# (2c6d882), the RTL and harness of 4e22b39; P = 64 re-run on main b562d19's RTL (16-beat-burst changes): the same cycles
PAPER_RTL = "bench_paper_rtl.py, RTL at 4e22b39"

# Measured elsewhere, not re-run here (label 'RTL (reported)'): name -> (cycles, lanes, what/where)
REPORTED = {
    "mnist": (44.0e6, 16, "paper MNIST ResNet21, RTL twin DDR mode, harness without DDR limits (lead, at e376891)"),
    # paper DVS Gesture ResNet21 through the RTL twin in DDR mode, the harness's DDR at the ZCU104's modelled
    # bandwidth + 150 ns assumed latency: (P, weight buffer, cycles, stall fraction, where). P = 16 single:
    # bench/bench_rtl_ddr.py --buffers default (docs/rtl.md "Measured", 0ab8fa7 on branch rtl-dbuf-prerebase);
    # the rest: bench/bench_paper_rtl.py --nets dvs_gesture --samples 2 --lanes 64 32 16 --ddr zcu104 --wbuf double
    # (docs/rtl.md "Paper-size runs"), every spike of both samples checked, the mean of the two
    "dvs_gesture_zcu104": [
        (16, "single", 64_791_436, 0.013, "bench_rtl_ddr.py at 0ab8fa7"),
        (16, "double", 62_664_034, 0.0, PAPER_RTL),
        (32, "double", 31_705_610, 0.0, PAPER_RTL),
        (64, "double", 16_251_842, 0.0, PAPER_RTL),
    ],
    # paper DVS Gesture ResNet21 on the PYNQ-Z2's build: weights AND spike maps in DDR (maps="ddr", syna_hw/spill.py),
    # the harness's DDR at the PYNQ-Z2's modelled bandwidth, 16-beat bursts, 150 ns assumed latency: (P, wbuf_rows,
    # acc_rows, cycles, stall fraction, where); bench/bench_paper_rtl.py --nets dvs_gesture --lanes 16 --samples 1
    # --ddr pynq-z2 --maps ddr --acc-rows 2048 --no-hls (docs/rtl.md "Spike maps in DDR"), every spike and the
    # scratch buffer checked
    "dvs_gesture_pynq_z2": [
        (16, 4608, 2048, 77_915_586, 0.130, "bench_paper_rtl.py --maps ddr at ca9a279 (branch rspill)"),
    ],
    # seconds of one paper-size inference (bench/bench_paper_rtl.py at 0fb7a1b, quiet machine, docs/rtl.md
    # "Paper-size runs"): RTL twin (Verilator) and HLS C-sim, the slowest of the three networks
    "sim_seconds": {"rtl": 46.8, "hls": 0.3, "net": "DVS Gesture"},
    # the same with the spike maps in DDR (the PYNQ-Z2 build, acc_rows 2048): RTL bench_paper_rtl.py --maps ddr at
    # f85cfa6 (branch rspill, docs/rtl.md, quiet machine), HLS bench/bench_hls_spill.py at e62b99c (branch hspill)
    "sim_seconds_maps_ddr": {"rtl": 64.0, "hls": 0.4},
    # RTL cycles / (SOPs / P) of one paper-size inference per net (the same bench, same commit)
    "sops_ratio": {"MNIST": 1.03, "CIFAR10-DVS": 1.12, "DVS Gesture": 1.04},
    # paper DVS Gesture, P -> RTL cycles / (SOPs / P), mean of 2 samples (PAPER_RTL, as "dvs_gesture_zcu104");
    # MNIST at P = 64 the same way: 1.02 (10,828,848 cycles)
    "sops_ratio_zcu104": {16: 1.03, 32: 1.04, 64: 1.06},
    "sops_ratio_zcu104_mnist": {64: 1.02},
    # dense schedule (no zero skipping) / event-driven cycles on the first golden sample (the denser of the two):
    # the RTL's dbg_dense (bench_paper_rtl.py --dense; MNIST: --nets mnist --lanes 64) and the cycle model's
    # (syna_hw.cycles.dense_cycles)
    "dense_gain": {
        f"RTL (reported, {PAPER_RTL}; DDR at ZCU104's bandwidth)": [("DVS Gesture", 16, 7.48), ("DVS Gesture", 32, 7.41),
                                                                     ("DVS Gesture", 64, 7.28), ("MNIST", 64, 8.59)],
        "cycle model (dense_cycles / model_cycles on the same bundles and samples)": [
            ("DVS Gesture", 16, 7.30), ("DVS Gesture", 32, 7.21), ("DVS Gesture", 64, 7.02), ("MNIST", 16, 8.33),
            ("MNIST", 64, 8.24)],
    },
}


def _met(ok) -> str:
    """yes / NO / - (no target); a str is printed as it is (e.g. 'modelled only': met by a plan that needs parts
    no core builds yet)."""
    return ok if isinstance(ok, str) else "-" if ok is None else ("yes" if ok else "NO")


def _met_measured(ok: bool, fits: bool):
    """A speed the RTL measured, on a build that does not fit the board yet, is not met: 'NO (RTL speed: yes)'."""
    return ok if fits or not ok else "NO (RTL speed: yes)"


def _met_if_built(ok: bool, built: bool):
    """A target a plan meets only with parts that are not built is not met: say 'NO (modelled: yes)'."""
    return ok if built or not ok else "NO (modelled: yes)"


def board_ddr(board) -> dict:
    """RtlCore's DDR timing for ``board``: its modelled bandwidth at its clock and LATENCY_NS (assumed;
    benchenv.ddr_model)."""
    return ddr_model(board.name)[1]


def small_network(out: Path, knobs: dict, bits: int, lanes: int, weights: str, samples: int, board):
    """Export (once) a small DVS Gesture network and measure it on the RTL (weights in DDR: the harness playing
    ``board``'s DDR): per sample cycles, stall cycles, dense cycles, SOPs, the planner's RTL cycles on the same
    spike maps, firing rate; and the DDR bytes per inference."""
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
    core = RtlCore(b, lanes=lanes, weights=weights, **(board_ddr(board) if weights == "ddr" else {}))
    waited = lambda: core.stall_cycles if core.ddr else 0  # noqa: E731  (cycles waiting for a tile, so far)
    rows = []
    for i in range(min(samples, len(g["input"]))):
        words = P.pack_frames(g["input"][i], spec["bits"])
        w0 = waited()
        o = P.unpack_output(core.run(words, spec["steps"]).out, core.classes, core.layers)
        w1 = waited()
        assert np.array_equal(o.scores, g["scores"][i]), f"sample {i}: RTL scores differ from the golden ones"
        core.set_dense(True)
        od = P.unpack_output(core.run(words, spec["steps"]).out, core.classes, core.layers)
        core.set_dense(False)
        stall, dense_stall = w1 - w0, waited() - w1
        maps = {n: g[f"spikes/{n}"][i] for n in core.layers}
        rep = model_cycles(hw, g["input"][i], maps)
        wbuf = core.ddr.wbuf_rows if core.ddr else None
        plan = pl.place(hw, board, spikes=[(g["input"][i], maps)], wbuf_rows=wbuf)
        rows.append(dict(cycles=o.cycles, stall=stall, dense=od.cycles, dense_stall=dense_stall, sops=rep.total_sops,
                         plan=plan,
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
                             + f" = {100 * mem:.0f} %", "planner (memories, Yosys rule)", lanes,
                             p.clock_mhz, RATE, _met_if_built(mem <= 0.80, p.choice.built)))
                rows.append((f"{b.title}: LUT <= 70 % ({scheme})",
                             f"{p.luts:,} LUT = {100 * p.luts / b.lut:.0f} % ({p.logic_luts or 0:,} logic, modelled)",
                             "planner (syna_hw/lutmodel.py, fitted to Yosys runs)", lanes, p.clock_mhz, RATE,
                             _met_if_built(p.luts <= 0.70 * b.lut, p.choice.built)))
    # paper MNIST: the reported RTL cycles next to the planner's
    cyc, lanes, what = REPORTED["mnist"]
    p, b = plan_rows("mnist", big.name, lanes)
    rows.append((f"paper MNIST ResNet21 cycles/inference ({big.title} clock)", f"{cyc / 1e6:.1f} M = "
                 f"{big.clock_mhz * 1e6 / cyc:.1f} inf/s", f"RTL (reported): {what}", lanes, big.clock_mhz,
                 "the bundle's", None))
    rows.append(("the same, planned", f"{p.cycles / 1e6:.1f} M = {p.inferences_per_s:.1f} inf/s "
                 f"({100 * p.stall_fraction:.1f} % stall)", "planner", lanes, p.clock_mhz, RATE, None))

    # paper DVS Gesture on the RTL twin at the ZCU104's DDR bandwidth; met only if the planner also finds a
    # placement the cores build (weights in DDR, everything else on chip) that fits the board at that P
    for lanes, scheme, cyc, stall, where in REPORTED["dvs_gesture_zcu104"]:
        ips = big.clock_mhz * 1e6 / cyc
        fit, _ = plan_rows("dvs_gesture", big.name, lanes, 2 if scheme == "double" else 1)
        fits = fit.runs and fit.choice.built
        fit_note = (f"; fits as built (planner: {fit.choice.wbuf_rows:,}-row buffer"
                    + (" in block RAM" if fit.choice.wbuf_ram == "block" else "")
                    + f", {fit.bram36:,.1f} BRAM36 + {fit.uram} URAM, {fit.luts:,} LUT)" if fits
                    else f"; as built it does not fit the {big.title}'s memories (planner)")
        rows.append((f"{big.title}: paper DVS Gesture ResNet21 >= 10 inf/s, stall <= 10 % ({scheme} weight buffer, "
                     "RTL-measured)", f"{cyc / 1e6:.2f} M cycles = {ips:.1f} inf/s, stall {100 * stall:.1f} %{fit_note}",
                     f"RTL (reported, {where}): DDR at the board's modelled bandwidth, 150 ns assumed latency", lanes,
                     big.clock_mhz, "the bundle's", _met_measured(ips >= 10 and stall <= 0.10, fits)))

    # paper DVS Gesture on the PYNQ-Z2, its maps in DDR, on the RTL twin at the board's DDR bandwidth; met only if
    # that build fits the board (the planner prices the RTL's build, as Yosys counted it: docs/rtl.md)
    for lanes, wbuf_rows, acc_rows, cyc, stall, where in REPORTED["dvs_gesture_pynq_z2"]:
        from model_export.plan_config import lowered
        from syna_hw.placement import SINGLE, Choice, memories_of
        ips = z2.clock_mhz * 1e6 / cyc
        hw = lowered(make_setting(net="dvs_gesture"), lanes)
        bram = sum(m.bram36 for m in memories_of(hw, Choice(wbuf_rows, SINGLE, acc_rows=acc_rows), z2))
        fits = bram <= z2.budget("bram36")
        rows.append((f"{z2.title}: paper DVS Gesture ResNet21 runs, >= 1 inf/s (weights and spike maps in DDR, "
                     "RTL-measured)", f"{cyc / 1e6:.2f} M cycles = {ips:.2f} inf/s, stall {100 * stall:.1f} %; the "
                     f"build ({wbuf_rows:,}-row buffer, acc_rows {acc_rows:,}) takes {bram:,.1f} BRAM36 "
                     f"({'fits' if fits else 'does NOT fit'} the {z2.budget('bram36'):,.1f} budget)",
                     f"RTL (reported, {where}): DDR at the board's modelled bandwidth, 150 ns assumed latency", lanes,
                     z2.clock_mhz, "the bundle's", _met_measured(ips >= 1, fits)))

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
        stall = float(np.mean([r["stall"] for r in meas]))          # measured: the harness plays the board's DDR
        ips = mhz * 1e6 / cyc
        src = "RTL" + (f", harness DDR at {z2.title}'s bandwidth, {LATENCY_NS:g} ns (assumed)" if weights == "ddr"
                       else "")
        extra = (f", stall {stall:,.0f} = {100 * stall / cyc:.1f} %; {nbytes:,} DDR bytes/inference (planner "
                 f"{plan.ddr_bytes_per_inference:,})" if weights == "ddr" else f"; planner: {pz_verdict(bundle, lanes, z2)}")
        rows.append((f"{z2.title} DVS Gesture {label} ({what}) >= 100 inf/s",
                     f"{ips:,.0f} inf/s ({cyc:,.0f} cycles{extra})", src, lanes, mhz, rate, ips >= 100))
        # the bound counts compute cycles: memory stalls are reported separately (in the row above)
        ratio = [(r["cycles"] - r["stall"]) / (r["sops"] / lanes) for r in meas]
        rows.append(("  the same: cycles <= 1.25 x SOPs/P" + (" (without the stall)" if weights == "ddr" else ""),
                     f"{np.mean(ratio):.2f} (samples {min(ratio):.2f}.."
                     f"{max(ratio):.2f})", "RTL", lanes, mhz, rate, max(ratio) <= 1.25))
        gain = [(r["dense"] - r["dense_stall"]) / (r["cycles"] - r["stall"]) for r in meas]
        rows.append(("  the same: >= 5x fewer cycles than dense" + (" (both without the stall)" if weights == "ddr"
                                                                      else ""), f"{np.mean(gain):.1f}x ({min(gain):.1f}.."
                     f"{max(gain):.1f})", "RTL", lanes, mhz, rate, min(gain) >= 5))
        pr = [r["cycles"] / r["plan"].rtl_cycles for r in meas]
        rows.append(("  the same: RTL / planner (rtl_cycles, same spike maps)", f"{np.mean(pr):.3f}", "RTL vs planner",
                     lanes, mhz, rate, None))
    ratios = REPORTED["sops_ratio"]
    rows.append(("paper size: cycles <= 1.25 x SOPs/P", ", ".join(f"{k} {v:.2f}" for k, v in ratios.items()),
                 "reported: bench/bench_paper_rtl.py (RTL, DDR ideal)", 16, "-", "the bundle's",
                 max(ratios.values()) <= 1.25))
    lanes_ratio = REPORTED["sops_ratio_zcu104"]
    mnist_ratio = REPORTED["sops_ratio_zcu104_mnist"]
    rows.append(("paper size: cycles <= 1.25 x SOPs/P (more lanes)",
                 ", ".join([f"DVS Gesture P = {p} {v:.2f}" for p, v in lanes_ratio.items()]
                           + [f"MNIST P = {p} {v:.2f}" for p, v in mnist_ratio.items()]),
                 f"RTL (reported, {PAPER_RTL}): DDR at {big.title}'s bandwidth, double buffer, 2 samples",
                 "/".join(map(str, lanes_ratio)), big.clock_mhz, "the bundle's",
                 max([*lanes_ratio.values(), *mnist_ratio.values()]) <= 1.25))
    for src, gains in REPORTED["dense_gain"].items():
        rows.append(("paper size: >= 5x fewer cycles than dense", ", ".join(
                     f"{net} P = {p} {g:.1f}x" for net, p, g in gains), src, "/".join(sorted({str(p) for _, p, _ in gains},
                     key=int)), "-", "the bundle's", min(g for _, _, g in gains) >= 5))
    sim, simm = REPORTED["sim_seconds"], REPORTED["sim_seconds_maps_ddr"]
    rows.append(("HLS C-sim < 1 s, RTL < 60 s per paper-size inference", f"HLS {sim['hls']:g} s, RTL {sim['rtl']:g} s "
                 f"(paper {sim['net']}, the slowest)", "reported: bench/bench_paper_rtl.py", 16, "-", "the bundle's",
                 sim["hls"] < 1 and sim["rtl"] < 60))
    rows.append(("  the same, spike maps in DDR (the PYNQ-Z2 build)", f"HLS {simm['hls']:g} s, RTL {simm['rtl']:g} s "
                 f"(paper {sim['net']}; the map DMA moves a word a cycle)", "reported: bench/bench_paper_rtl.py --maps "
                 "ddr, bench/bench_hls_spill.py", 16, "-", "the bundle's", simm["hls"] < 1 and simm["rtl"] < 60))

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
