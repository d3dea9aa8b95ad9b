"""``make demo-paper``: the paper's ResNet21s (Table IX) at full size, weights in DDR (issue 16, item 6).

Per network (default: DVS Gesture, then MNIST): a paper-size bundle with random weights calibrated to fire
at about 10 % (``paper_bundles.paper_bundle``, one golden sample, the DDR image for P lanes) -> the
placement planner on PYNQ-Z2 and ZCU104 (``syna_hw.placement.place_bundle``: the cycles are the mean over the
golden sample's recorded spike maps) -> the HLS core's C-simulation reading the DDR image -> the RTL twin in
Verilator reading the same image through its AXI4 master (the C++ harness plays the DDR), both bit-exact on
every spike of every layer and step -> ``build/demo-paper/summary.json``. One of the issue's boards
(:func:`own_build_boards`) whose plan keeps the spike maps in DDR too (the PYNQ-Z2: ``maps="ddr"``, syna_hw/spill.py) gets that build run as well -- the HLS C-sim and
the RTL twin with the plan's weight buffer and accumulator depth, the RTL's harness playing that board's DDR
(its bandwidth, 16-beat bursts, an assumed 150 ns latency) -- bit-exact on every spike and on the scratch
buffer it leaves, and its RTL-measured cycles at the board's clock.

summary.json: the first network's figures at the top level (``bitexact`` {``hls_csim``, ``rtl_sim``},
``boards`` {``pynq-z2``, ``zcu104``: ``runs``, ``lanes``, ``clock_mhz``, ``cycles_per_inference``,
``stall_fraction``, ``inferences_per_s``, ``ddr_bytes_per_inference``, ``lut``, ``bram36``, ``uram``, ...},
``rtl_sim`` (the RTL-measured cycles and DDR bytes of the sample); per board ``build`` {``bitexact``
{``hls_csim``, ``rtl_sim``}, ``rtl_cycles_per_inference``, ...} where its plan is a maps-in-DDR build), every
network under ``networks``,
the tools and the commit. The board figures are the planner's (modelled); the RTL cycles are simulated
with a DDR that answers one beat per cycle without latency (sim/harness.cpp), so they are a lower bound
on a board's.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

NETS = ("dvs_gesture", "mnist")
LUT_NOTE = ("lut: the planner's LUTs: distributed RAM (syna_hw/plan.py's memory estimate) plus the core's logic "
            "modelled by syna_hw/lutmodel.py (fitted to Yosys runs; docs/rtl.md 'Resources'); lut_logic: that model")


def board_figures(p, rtl_cycles: float | None) -> dict:
    """The issue's per-board keys from a :class:`syna_hw.placement.Placement` (modelled; ``planner_rtl_cycles``
    its model of the RTL twin's cycles), and the RTL-measured cycles at the board's clock."""
    d = dict(runs=p.runs, verdict=p.verdict, exit_code=p.exit_code, lanes=p.lanes, clock_mhz=p.clock_mhz,
             cycles_per_inference=p.cycles if p.runs else None,
             stall_fraction=p.stall_fraction if p.runs else None,
             inferences_per_s=p.inferences_per_s, ddr_bytes_per_inference=p.ddr_bytes_per_inference if p.runs else None,
             lut=p.luts, lut_logic=p.logic_luts, bram36=p.bram36, uram=p.uram,
             built=p.choice.built, weight_buffers=p.choice.buffers, wbuf_rows=p.choice.wbuf_rows or None,
             wbuf_ram=p.choice.wbuf_ram if p.choice.wbuf_rows else None, rtl_build=p.rtl_build_command(),
             planner_rtl_cycles=p.rtl_cycles if p.runs else None)
    if rtl_cycles:
        d["rtl_cycles_per_inference"] = rtl_cycles
        d["rtl_inferences_per_s"] = p.clock_mhz * 1e6 / rtl_cycles
    return d


def run_net(net: str, out: Path, lanes: int, rtl: bool = True, **knobs) -> dict:
    """One paper network through bundle, planner, HLS C-sim and (``rtl``) the RTL twin; its summary entry.
    ``knobs`` (``width``, ``input_size``, ``steps``, ...: ``paper_nets.paper_config``) shrink it (tests)."""
    from syna_contract.boards import BOARDS
    from syna_contract.bundle import load_bundle
    from syna_hw import hls_core, rtl_core
    from syna_hw.placement import place_bundle
    from .paper_bundles import paper_bundle

    t0 = time.time()
    print(f"== {net}: paper-size bundle (calibrated random weights, 1 golden sample, DDR image for P = {lanes})")
    rep = paper_bundle(net, out, samples=1, ddr_lanes=lanes, **knobs)
    print(rep.table())
    if not rep.golden_matches_reference:
        raise RuntimeError(f"{out}: the golden vectors differ from the integer reference (a bug: report it)")
    bundle = load_bundle(out)
    neuron = [l["name"] for l in bundle.layers if l["kind"] == "conv_lif"]
    rates = [rep.rates[n] for n in neuron]
    seconds = dict(bundle=time.time() - t0)

    plans = {}
    for b in BOARDS:
        t = time.time()
        plans[b] = place_bundle(bundle, b, lanes)
        print(f"\n-- plan {net} on {b} (python -m model_export plan {out} --board {b} --lanes {lanes})")
        print(plans[b].table())
        seconds[f"plan_{b}"] = time.time() - t

    t = time.time()
    print(f"\n-- {net}: HLS core, g++ C-simulation, weights from DDR")
    hls_ok = hls_core.check_bundle(out, lanes=lanes, weights="ddr")
    seconds["hls_csim"] = time.time() - t

    builds, done = {}, {}
    for b, p in plans.items():
        if b in own_build_boards() and p.runs and p.choice.maps_ddr:   # the same build and DDR share one run
            from syna_hw.rtl_binding import board_ddr_timing
            key = (p.choice.wbuf_rows, p.choice.acc_rows, p.clock_mhz, tuple(sorted(board_ddr_timing(b).items())))
            if key not in done:
                done[key] = board_build(net, out, lanes, b, p, rtl, seconds)
            builds[b] = done[key]

    rtl_res = None
    if rtl:
        t = time.time()
        print(f"\n-- {net}: RTL twin in Verilator, weights from DDR (every layer's spikes at every step; "
              "tens of millions of cycles: a minute or more)")
        rtl_res = rtl_core.rtl_stage(out, samples=1, lanes=lanes, weights="ddr", max_cycles=2_000_000_000)
        seconds["rtl_sim"] = time.time() - t
        print(f"RTL vs golden: {'PASS' if rtl_res['bitexact'] else 'FAIL'} ({rtl_res['cycles_per_inference']:,.0f} "
              f"cycles, {rtl_res['ddr_bytes_per_inference']:,} DDR bytes read, {seconds['rtl_sim']:.0f} s)"
              + ("" if rtl_res["bitexact"] else f"; mismatches (sample, layer): {rtl_res['mismatches']}"))
    boards = {b: board_figures(p, rtl_res["cycles_per_inference"] if rtl_res else None) for b, p in plans.items()}
    for b, build in builds.items():          # this board's own build: its RTL cycles replace the default build's
        boards[b]["build"] = build
        cyc = build.get("rtl_cycles_per_inference")
        boards[b]["rtl_cycles_per_inference"] = cyc
        boards[b]["rtl_inferences_per_s"] = plans[b].clock_mhz * 1e6 / cyc if cyc else None
    return dict(
        net=net, bundle=str(out), model_hash=bundle.model_hash, weights=rep.weights, lanes=lanes,
        input=dict(bundle.input_spec), samples=1,
        firing_rates=dict(min=min(rates), max=max(rates), mean=sum(rates) / len(rates), layers=rep.rates),
        bitexact=dict(hls_csim=bool(hls_ok), rtl_sim=None if rtl_res is None else bool(rtl_res["bitexact"])),
        rtl_sim=None if rtl_res is None else dict(
            cycles_per_inference=rtl_res["cycles_per_inference"],
            ddr_bytes_per_inference=rtl_res["ddr_bytes_per_inference"],
            ddr_model="sim/harness.cpp: one beat per cycle, no latency (a lower bound on a board's cycles)"),
        boards=dict(boards, note="modelled by the planner (syna_hw/placement.py) from the golden sample's spike "
                                 "maps at each board's PL clock; nothing has run on a board. " + LUT_NOTE),
        seconds=seconds)


def own_build_boards() -> tuple[str, str]:
    """The issue's two boards, whose maps-in-DDR builds are run (the others are planned): the project's default
    board (PYNQ-Z2) and the board of the table with the most UltraRAM (ZCU104); names live in syna_contract/boards.py."""
    from syna_contract.boards import BOARDS, DEFAULT_BOARD
    return DEFAULT_BOARD, max(BOARDS.values(), key=lambda b: (b.uram, b.bram36)).name


def board_build(net: str, out: Path, lanes: int, board: str, p, rtl: bool, seconds: dict) -> dict:
    """The maps-in-DDR build board ``board``'s plan ``p`` asks for, through the HLS C-sim and (``rtl``) the RTL
    twin with that board's DDR modelled: its summary entry."""
    from syna_hw import hls_core, rtl_core
    from syna_hw.rtl_binding import DDR_LATENCY_NS, board_ddr_timing
    c = p.choice
    opts = dict(wbuf_rows=c.wbuf_rows, maps="ddr", acc_rows=c.acc_rows)
    t = time.time()
    print(f"\n-- {net} on {board}: its own build, spike maps in DDR (wbuf_rows {c.wbuf_rows or 'default'}, acc_rows "
          f"{c.acc_rows}): HLS core, g++ C-simulation")
    d = dict(weights="ddr", **opts, bitexact=dict(hls_csim=bool(hls_core.check_bundle(out, lanes=lanes, weights="ddr",
                                                                                        **opts)), rtl_sim=None))
    seconds[f"hls_csim_{board}"] = time.time() - t
    if rtl:
        t = time.time()
        timing = board_ddr_timing(board, p.clock_mhz, DDR_LATENCY_NS)
        print(f"-- {net} on {board}: RTL twin, spike maps in DDR, the harness playing {board}'s DDR "
              f"({timing['ddr_bytes_per_cycle']:.1f} bytes/cycle, {timing['ddr_latency']} cycles latency, assumed)")
        r = rtl_core.rtl_stage(out, samples=1, lanes=lanes, weights="ddr", max_cycles=2_000_000_000, **opts, **timing)
        seconds[f"rtl_sim_{board}"] = time.time() - t
        d["bitexact"]["rtl_sim"] = bool(r["bitexact"])
        d.update(rtl_cycles_per_inference=r["cycles_per_inference"],
                 rtl_stall_fraction=r["stall_cycles_per_inference"] / r["cycles_per_inference"],
                 rtl_inferences_per_s=p.clock_mhz * 1e6 / r["cycles_per_inference"],
                 ddr_bytes_read_per_inference=r["ddr_bytes_per_inference"],
                 scratch_read_bytes_per_inference=r["scratch_read_bytes_per_inference"],
                 scratch_written_bytes_per_inference=r["scratch_written_bytes_per_inference"],
                 ddr_model=f"{board}'s bandwidth and burst limit, {DDR_LATENCY_NS:g} ns read latency (assumed)")
        print(f"RTL vs golden (every spike, and the scratch buffer): {'PASS' if r['bitexact'] else 'FAIL'} "
              f"({r['cycles_per_inference']:,.0f} cycles = {d['rtl_inferences_per_s']:.2f} inferences/s at "
              f"{p.clock_mhz:g} MHz, stall {100 * d['rtl_stall_fraction']:.1f} %, {seconds[f'rtl_sim_{board}']:.0f} s)"
              + ("" if r["bitexact"] else f"; mismatches (sample, layer): {r['mismatches']}"))
    return d


def run_demo(out: Path, nets=NETS, lanes: int | None = None, rtl_nets=None, **knobs) -> dict:
    from syna_hw.limits import DEFAULT_LANES
    from .demo import git_commit, tool_versions

    lanes = DEFAULT_LANES if lanes is None else lanes
    rtl_nets = nets if rtl_nets is None else rtl_nets
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    per = {n: run_net(n, out / n, lanes, rtl=n in rtl_nets, **knobs) for n in nets}
    first = per[nets[0]]
    summary = dict(net=nets[0], **{k: first[k] for k in ("bitexact", "boards", "rtl_sim", "firing_rates", "lanes",
                                                          "model_hash", "weights")},
                   networks=per, tools=tool_versions(), commit=git_commit(), seconds=time.time() - t0)
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(f"\n{'network':<14}{'HLS C-sim':>10}{'RTL sim':>9}{'RTL cycles':>14}   board: runs, modelled inferences/s, "
          "stall, BRAM36, URAM")
    mark = lambda v: "-" if v is None else ("PASS" if v else "FAIL")   # noqa: E731
    for n, s in per.items():
        r = s["rtl_sim"]
        print(f"{n:<14}{mark(s['bitexact']['hls_csim']):>10}{mark(s['bitexact']['rtl_sim']):>9}"
              f"{format(r['cycles_per_inference'], ',.0f') if r else '-':>14}   " + "; ".join(
                  f"{b}: {'yes' if v['runs'] else 'NO'}, {v['inferences_per_s'] or 0:,.1f}/s, "
                  f"{100 * (v['stall_fraction'] or 0):.1f}%, {v['bram36']:,.1f}, {v['uram']}"
                  for b, v in s["boards"].items() if b != "note"))
        for b, v in s["boards"].items():
            if b != "note" and "build" in v:
                d = v["build"]
                print(f"{'  ' + b + ' build':<14}{mark(d['bitexact']['hls_csim']):>10}{mark(d['bitexact']['rtl_sim']):>9}"
                      f"{format(d['rtl_cycles_per_inference'], ',.0f') if d.get('rtl_cycles_per_inference') else '-':>14}"
                      f"   spike maps in DDR, acc_rows {d['acc_rows']:,}: "
                      + (f"{d['rtl_inferences_per_s']:.2f} inferences/s RTL-measured at {v['clock_mhz']:g} MHz"
                         if d.get('rtl_inferences_per_s') else "RTL not run"))
    print(f"\nsummary: {out / 'summary.json'}  ({summary['seconds']:.0f} s)")
    return summary


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m model_export.demo_paper", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="build/demo-paper", help="output directory")
    p.add_argument("--nets", nargs="+", default=list(NETS), help=f"paper networks (default: {' '.join(NETS)})")
    p.add_argument("--rtl-nets", nargs="*", default=None,
                   help="the networks that also run through the RTL twin (default: all of --nets)")
    p.add_argument("--lanes", type=int, default=None, help="P (default: syna_hw.limits.DEFAULT_LANES)")
    a = p.parse_args(argv)
    s = run_demo(Path(a.out), tuple(a.nets), a.lanes, a.rtl_nets)
    checks = [v for n in s["networks"].values() for v in n["bitexact"].values() if v is not None]
    cannot = [f"{n} on {b}" for n, v in s["networks"].items() for b, f in v["boards"].items()
              if b != "note" and not f["runs"]]
    if not all(checks) or cannot:
        print("demo-paper FAILED: " + "; ".join((["a bit-exact check failed"] if not all(checks) else [])
                                                + ([f"the planner says it cannot run: {', '.join(cannot)}"]
                                                   if cannot else [])))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
