#!/usr/bin/env python
"""The paper-size ResNet21s (Table IX: MNIST, CIFAR10-DVS, DVS Gesture; 11.2 M weights, T = 16) through the
RTL twin with their weights in DDR, as one plain-text table.

Per network and lane count P (``--lanes 16 32 64``): a bundle with calibrated random weights
(``model_export.paper_bundles``, its DDR image for P; ``--workdir`` keeps them between runs), its neuron
layers' firing rates on the golden samples (integer reference), the HLS core's C-simulation
(``weights="ddr"``; seconds per inference; the HLS core builds P <= 32) and the RTL twin (Verilator, the
C++ harness playing the DDR) on ``--samples`` inferences, each checked on every spike of every layer and
step (scores, counts, status, every spike map through the tap). The harness's DDR (``--ddr``): ``ideal``
(one beat per cycle, no latency) or a board of syna_contract/boards.py (its modelled bandwidth at its
clock, ``board_ddr_timing``, and ``--latency-ns``, an assumption); ``--wbuf`` single or double weight
buffer. Columns: RTL cycles per inference (the core's count), the cycles the compute waited for a tile
(stall), synaptic operations / P (the lane bound; ratio = (cycles - stall) / (SOPs / P): the issue reports
memory stalls separately), DDR bytes read per
inference, inferences/s at 100 and 200 MHz from the RTL cycles, the dense schedule (no zero skipping) over
the event-driven one from the cycle model (``syna_hw.cycles.dense_cycles`` / ``model_cycles``, RTL
receive phase added) and, with ``--dense``, from the RTL (``RtlCore.set_dense``, first sample; a dense
run takes 5-10x a sparse one), and the simulators' speed (wall and CPU seconds per inference; M cycles
per CPU second). ``--layers``: per layer, the cycle model's cycles against SOPs/P (lane use, tiles,
input scans, LIF phase), to see where a ratio above 1 comes from. ``--maps ddr [--acc-rows N]``: the RTL twin
with its input and spike maps in the DDR scratch buffer (docs/rtl.md "Spike maps in DDR"; the stall column then
counts the map DMA's cycles too), each sample's scratch maps also compared with the golden ones, the bytes it
writes per inference and its on-chip memory (the planner's model of Yosys, syna_hw.memmap) printed; ``--no-hls``
skips the HLS C-sim. Nothing is asserted: the tests
(tests/test_paper_ddr.py) assert; this measures.

    .venv/bin/python bench/bench_paper_rtl.py [--nets mnist cifar10_dvs dvs_gesture] [--samples 1]
        [--lanes 16 [32 64]] [--ddr ideal|zcu104|pynq-z2] [--wbuf single|double] [--dense] [--layers]
        [--maps chip|ddr] [--acc-rows N] [--no-hls]
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from syna_contract.bundle import load_bundle  # noqa: E402
from syna_hw.limits import DEFAULT_LANES, HLS  # noqa: E402
from syna_hw.lowering import WBUF_DEFAULT, WBUF_MODES  # noqa: E402
from benchenv import LATENCY_NS, cpu_model, ddr_model, git_commit  # noqa: E402

NETS = ("mnist", "cifar10_dvs", "dvs_gesture")


def _bundle(net: str, root: Path, samples: int, lanes: int) -> Path:
    """The net's bundle with ``samples`` golden samples and the DDR image for ``lanes`` (reused when present)."""
    from model_export.paper_bundles import paper_bundle
    out = root / f"{net}-s{samples}-p{lanes}"
    if not (out / "manifest.json").is_file():
        rep = paper_bundle(net, out, samples=samples, ddr_lanes=lanes)
        if not rep.golden_matches_reference:
            raise RuntimeError(f"{out}: golden vectors differ from the integer reference")
    return out


def layer_table(hw, ddr, rep, rtl_cycles: float, receive: int) -> list[str]:
    """Per layer: the cycle model's cycles against SOPs/P, where a ratio above 1 comes from."""
    P = hw.lanes
    tiles = {l.name: l.tiles for l in ddr.layers}
    model = rep.cycles + receive
    out = [f"  cycle model {model:,} cycles (RTL {rtl_cycles:,.0f}: RTL / model {rtl_cycles / model:.3f}); "
           f"fixed: RTL receive {receive:,}, fc {rep.layers['fc']:,}, output {rep.layers['io']:,}",
           f"  {'layer':<10}{'Cout':>5}{'groups':>7}{'lane use':>9}{'tiles':>6}{'cycles':>12}{'SOPs/P':>12}{'ratio':>7}"
           f"{'scans':>10}{'LIF':>9}{'share':>7}"]
    for l in hw.layers:
        c, ops = rep.layers[l.name], rep.sops.get(l.name, 0)
        k = tiles.get(l.name, 1)
        out.append(f"  {l.name:<10}{l.cout:>5}{l.g:>7}{l.cout / (l.g * P):>9.2f}{k:>6}{c:>12,}{ops / P:>12,.0f}"
                   f"{(f'{c / (ops / P):.2f}' if ops else '-'):>7}{k * rep.scans.get(l.name, 0):>10,}"
                   f"{hw.steps * l.hout * l.wout * l.g * (2 if l.layer.attention else 1) if l.kind == 'conv_lif' else 0:>9,}"
                   f"{100 * c / model:>6.1f}%")
    return out


def measure(net: str, root: Path, samples: int, lanes: int, ddr: str, latency_ns: float, wbuf: str,
            dense: bool, layers: bool, maps_mode: str = "chip", acc_rows: int | None = None, hls: bool = True) -> dict:
    from syna_hw import hls_core as hc
    from syna_hw.cycles import dense_cycles, model_cycles, synaptic_ops
    from syna_hw.limits import RTL
    from syna_hw.lowering import lower
    from syna_hw.placement import rtl_receive_cycles
    from syna_hw.rtl_binding import RtlCore, check_golden_sample
    from syna_contract.reference import Reference

    t = time.perf_counter()
    path = _bundle(net, root, samples, lanes)
    bundle_s = time.perf_counter() - t
    b = load_bundle(path)
    g, spec = b.golden(), b.input_spec
    n = min(samples, len(g["input"]))
    neuron = [l["name"] for l in b.layers if l["kind"] == "conv_lif"]
    rates = np.array([float(g[f"spikes/{k}"][:n].mean()) for k in neuron])
    names = [l.name for l in b.descriptors if l.spiking]
    maps = [{k: g[f"spikes/{k}"][i] for k in names} for i in range(n)]
    sops = np.mean([synaptic_ops(b.layers, spec, g["input"][i], maps[i]) for i in range(n)])

    hls_ok = hls_wall = hls_cpu = None
    x = g["input"][:n]
    if lanes in HLS.lanes and hls:
        hls = hc.HlsCore(b, lanes, weights="ddr").compile()
        t, c = time.perf_counter(), time.process_time()
        res = hls.run(x)
        hls_wall, hls_cpu = (time.perf_counter() - t) / n, (time.process_time() - c) / n
        hls_ok = hc.compare(res, Reference(b).run(x)) is None

    label, kw = ddr_model(ddr, latency_ns)
    t = time.perf_counter()
    core = RtlCore(b, lanes=lanes, weights="ddr", wbuf=wbuf, max_cycles=2_000_000_000, maps=maps_mode, acc_rows=acc_rows,
                   **kw)
    build_s = time.perf_counter() - t
    oks, cycles, scratch_ok = [], [], []
    t, c = time.perf_counter(), time.process_time()
    for i in range(n):
        ok, cyc, _ = check_golden_sample(core, g, i)
        oks.append(ok)
        cycles.append(cyc)
        if maps_mode == "ddr":          # the scratch buffer holds every layer's whole map after the inference
            sm = core.scratch_maps()
            scratch_ok.append(all(np.array_equal(sm[k], g[f"spikes/{k}"][i]) for k in names)
                              and not any(core.scratch_padding().values()))
    rtl_wall, rtl_cpu = (time.perf_counter() - t) / n, (time.process_time() - c) / n
    spill = None
    if maps_mode == "ddr":
        from syna_hw import rtl_config
        from syna_hw.memmap import map_memory
        mems = rtl_config.rtl_memories(core.cfg.arch)
        bram = {m.name: m.count * map_memory(m.width, m.depth, "xc7", init=m.init, sync_read=m.sync_read,
                                             uram=m.uram).bram36 for m in mems}
        spill = dict(acc_rows=core.spill.acc_rows, bands=core.spill.bands, scratch_bytes=core.spill.scratch_bytes,
                     written=core.ddr_bytes_written // n, write_bursts=core.ddr_write_bursts // n,
                     scratch_read=core.scratch_bytes_read // n,
                     scratch_ok=all(scratch_ok), bram36=sum(bram.values()), bram=bram)
    ddr_bytes = core.ddr_bytes_read // n
    stall = core.stall_cycles / n
    refused = core.ddr_beats_refused
    rtl_dense = dense_wall = None
    if dense:               # the first sample again without zero skipping (its scores are the same numbers)
        from syna_contract import protocol as proto
        core.set_dense(True)
        t = time.perf_counter()
        r = core.run(proto.pack_frames(g["input"][0], spec["bits"]), spec["steps"])
        dense_wall = time.perf_counter() - t
        core.set_dense(False)
        o = proto.unpack_output(r.out, core.classes, core.layers)
        rtl_dense = o.cycles if not r.timed_out and np.array_equal(o.scores, g["scores"][0]) else None
    hw, plan = lower(b, lanes, target=RTL), core.ddr
    core.close()
    receive = rtl_receive_cycles(hw)
    reps = [model_cycles(hw, g["input"][i], maps[i], plan) for i in range(n)]
    dense_rep = dense_cycles(hw, g["input"][0], maps[0], plan)
    cyc = float(np.mean(cycles))
    return dict(net=net, input="x".join(str(spec[k]) for k in ("channels", "height", "width")), samples=n,
                lanes=lanes, ddr=label, wbuf=wbuf, rate_mean=rates.mean(), rate_min=rates.min(),
                rate_max=rates.max(), sops=sops, cycles=cyc, stall=stall, ratio=(cyc - stall) / (sops / lanes),
                ddr_bytes=ddr_bytes, refused=refused, rtl_ok=all(oks) and refused == 0, hls_ok=hls_ok,
                hls_wall=hls_wall, hls_cpu=hls_cpu, rtl_wall=rtl_wall, rtl_cpu=rtl_cpu, build_s=build_s,
                bundle_s=bundle_s, model_gain=(dense_rep.cycles + receive) / (reps[0].cycles + receive),
                rtl_dense=rtl_dense, rtl_gain=rtl_dense / cycles[0] if rtl_dense else None, dense_wall=dense_wall,
                model_dense=dense_rep.cycles + receive, spill=spill,
                layers=layer_table(hw, plan, reps[0], cycles[0], receive) if layers else [])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nets", nargs="+", default=list(NETS), choices=NETS)
    ap.add_argument("--samples", type=int, default=1, help="golden samples per net through both cores (default 1)")
    ap.add_argument("--lanes", type=int, nargs="+", default=[DEFAULT_LANES], help=f"P (default {DEFAULT_LANES})")
    ap.add_argument("--ddr", default="ideal", help="the harness's DDR: ideal (default) or a board name")
    ap.add_argument("--latency-ns", type=float, default=LATENCY_NS,
                    help=f"a board's DDR read latency, ns (an assumption; default {LATENCY_NS:g})")
    ap.add_argument("--wbuf", default=WBUF_DEFAULT, choices=WBUF_MODES, help=f"weight buffers (default {WBUF_DEFAULT})")
    ap.add_argument("--dense", action="store_true", help="also run the first sample through the RTL without zero "
                                                         "skipping (5-10x a sparse run)")
    ap.add_argument("--layers", action="store_true", help="per layer: the cycle model against SOPs/P")
    ap.add_argument("--workdir", default=None, help="keep the bundles here (default: a temporary directory)")
    ap.add_argument("--maps", default="chip", choices=("chip", "ddr"),
                    help="the RTL twin's spike maps: on chip (default) or in the DDR scratch buffer")
    ap.add_argument("--acc-rows", type=int, default=None, help="--maps ddr: accumulator / membrane words of P lanes")
    ap.add_argument("--no-hls", action="store_true", help="skip the HLS C-sim")
    a = ap.parse_args(argv)
    tmp = None if a.workdir else tempfile.TemporaryDirectory(prefix="bench_paper_rtl_")
    root = Path(a.workdir or tmp.name)
    root.mkdir(parents=True, exist_ok=True)
    print("Paper-size ResNet21s, weights in DDR, HLS C-sim and RTL twin (bench/bench_paper_rtl.py)")
    print(f"machine  {cpu_model()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
          f"load average {os.getloadavg()[0]:.1f} at start")
    print(f"commit   {git_commit()}    date {time.strftime('%Y-%m-%d %H:%M')}    P = {', '.join(map(str, a.lanes))}"
          f"    {a.wbuf} weight buffer")
    print(f"RTL: Verilator, harness DDR {ddr_model(a.ddr, a.latency_ns)[0]}; cycles = the core's count; "
          "bit-exact = every spike of every layer and step; HLS builds P <= 32 ('-' above)")
    print()
    rows = []
    for net in a.nets:
        for lanes in a.lanes:
            rows.append(measure(net, root, a.samples, lanes, a.ddr, a.latency_ns, a.wbuf, a.dense, a.layers,
                                a.maps, a.acc_rows, not a.no_hls))
            sp = rows[-1]["spill"]
            if sp:
                print(f"{net}, P = {lanes}, maps in DDR: acc_rows {sp['acc_rows']}, {sp['bands']} bands, scratch "
                      f"{sp['scratch_bytes']:,} bytes; per inference {sp['scratch_read']:,} bytes read from it and "
                      f"{sp['written']:,} written ({sp['write_bursts']:,} write bursts; the table's DDR bytes are the "
                      f"weights'); scratch maps exact: {'yes' if sp['scratch_ok'] else 'NO'}; "
                      f"on-chip memory (planner's Yosys model) {sp['bram36']:.1f} BRAM36: "
                      + ", ".join(f"{k} {v:g}" for k, v in sp["bram"].items() if v), flush=True)
            if a.layers:
                print(f"{net}, P = {lanes}:", *rows[-1]["layers"], sep="\n", flush=True)
    if a.layers:
        print()
    yn = lambda ok: "-" if ok is None else "yes" if ok else "NO"  # noqa: E731
    print(f"{'net':<12}{'input':>10}{'P':>4}{'n':>3}{'rate mean (min-max)':>22}{'RTL cycles':>13}{'stall':>7}"
          f"{'SOPs/P':>13}{'ratio':>7}{'DDR bytes':>12}{'inf/s 100':>10}{'inf/s 200':>10}{'dense/event':>16}"
          f"{'exact HLS/RTL':>14}{'HLS s':>7}{'RTL s wall':>11}{'RTL s CPU':>10}{'Mcyc/s':>8}")
    for r in rows:
        rate = f"{100 * r['rate_mean']:.1f}% ({100 * r['rate_min']:.1f}-{100 * r['rate_max']:.1f})"
        exact = f"{yn(r['hls_ok'])}/{yn(r['rtl_ok'])}"
        gain = f"{r['model_gain']:.2f}" + (f" / {r['rtl_gain']:.2f}" if r["rtl_gain"] else "")
        hls_s = "-" if r["hls_wall"] is None else f"{r['hls_wall']:.1f}"
        print(f"{r['net']:<12}{r['input']:>10}{r['lanes']:>4}{r['samples']:>3}{rate:>22}{r['cycles']:>13,.0f}"
              f"{100 * r['stall'] / r['cycles']:>6.1f}%{r['sops'] / r['lanes']:>13,.0f}{r['ratio']:>7.2f}"
              f"{r['ddr_bytes']:>12,}{100e6 / r['cycles']:>10.2f}{200e6 / r['cycles']:>10.2f}{gain:>16}{exact:>14}"
              f"{hls_s:>7}{r['rtl_wall']:>11.1f}{r['rtl_cpu']:>10.1f}{r['cycles'] / r['rtl_cpu'] / 1e6:>8.2f}")
    bundle_s = ", ".join(f"{r['net']} P={r['lanes']} {r['bundle_s']:.0f}" for r in rows)
    build_s = ", ".join(f"{r['net']} P={r['lanes']} {r['build_s']:.0f}" for r in rows)
    dense_runs = ", ".join(f"{r['net']} P={r['lanes']} {r['rtl_dense']:,} dense cycles (model {r['model_dense']:,}) "
                           f"in {r['dense_wall']:.0f} s" for r in rows if r["rtl_dense"]) or "not run"
    print(f"\n(dense/event: the cycle model's dense schedule over its event-driven one, RTL receive phase added; after "
          f"'/' the RTL's (first sample, --dense): {dense_runs}; "
          f"bundle seconds: {bundle_s}; Verilator build or cache load: {build_s}; HLS s = C-sim wall seconds per "
          "inference; stall = cycles the compute waited for a weight tile, share of the RTL cycles)")
    if tmp:
        tmp.cleanup()
    return 0 if all(r["rtl_ok"] and r["hls_ok"] is not False and (not a.dense or r["rtl_dense"]) for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
