#!/usr/bin/env python
"""The paper-size ResNet21s (Table IX: MNIST, CIFAR10-DVS, DVS Gesture; 11.2 M weights, T = 16) through the
RTL twin with their weights in DDR, as one plain-text table.

Per network: a bundle with calibrated random weights (``model_export.paper_bundles``; ``--workdir`` keeps
them between runs), its neuron layers' firing rates on the golden samples (integer reference), the HLS
core's C-simulation (``weights="ddr"``; seconds per inference) and the RTL twin (Verilator, the C++ harness
playing the DDR: one beat per cycle, no latency) on ``--samples`` inferences, each checked on every spike of
every layer and step (scores, counts, status, every spike map through the tap). Columns: RTL cycles per
inference (the core's count), synaptic operations / P (the lane bound; ratio = cycles / (SOPs / P)), DDR bytes
read per inference, inferences/s at 100 and 200 MHz from the RTL cycles, and the simulators' speed
(wall and CPU seconds per inference; M cycles per CPU second). Nothing is asserted: the tests
(tests/test_paper_ddr.py) assert; this measures.

    .venv/bin/python bench/bench_paper_rtl.py [--nets mnist cifar10_dvs dvs_gesture] [--samples 1] [--lanes 16]
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
from syna_hw.limits import DEFAULT_LANES  # noqa: E402
from benchenv import cpu_model, git_commit  # noqa: E402

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


def measure(net: str, root: Path, samples: int, lanes: int) -> dict:
    from syna_hw import hls_core as hc
    from syna_hw.cycles import synaptic_ops
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
    sops = np.mean([synaptic_ops(b.layers, spec, g["input"][i], {k: g[f"spikes/{k}"][i] for k in names})
                    for i in range(n)])

    hls = hc.HlsCore(b, lanes, weights="ddr").compile()
    x = g["input"][:n]
    t, c = time.perf_counter(), time.process_time()
    res = hls.run(x)
    hls_wall, hls_cpu = (time.perf_counter() - t) / n, (time.process_time() - c) / n
    hls_ok = hc.compare(res, Reference(b).run(x)) is None

    t = time.perf_counter()
    core = RtlCore(b, lanes=lanes, weights="ddr", max_cycles=2_000_000_000)
    build_s = time.perf_counter() - t
    oks, cycles = [], []
    t, c = time.perf_counter(), time.process_time()
    for i in range(n):
        ok, cyc, _ = check_golden_sample(core, g, i)
        oks.append(ok)
        cycles.append(cyc)
    rtl_wall, rtl_cpu = (time.perf_counter() - t) / n, (time.process_time() - c) / n
    ddr_bytes = core.ddr_bytes_read // n
    refused = core.ddr_beats_refused
    core.close()
    cyc = float(np.mean(cycles))
    return dict(net=net, input="x".join(str(spec[k]) for k in ("channels", "height", "width")), samples=n,
                rate_mean=rates.mean(), rate_min=rates.min(), rate_max=rates.max(), sops=sops,
                cycles=cyc, ratio=cyc / (sops / lanes), ddr_bytes=ddr_bytes, refused=refused,
                rtl_ok=all(oks) and refused == 0, hls_ok=hls_ok, hls_wall=hls_wall, hls_cpu=hls_cpu,
                rtl_wall=rtl_wall, rtl_cpu=rtl_cpu, build_s=build_s, bundle_s=bundle_s)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nets", nargs="+", default=list(NETS), choices=NETS)
    ap.add_argument("--samples", type=int, default=1, help="golden samples per net through both cores (default 1)")
    ap.add_argument("--lanes", type=int, default=DEFAULT_LANES, help=f"P (default {DEFAULT_LANES})")
    ap.add_argument("--workdir", default=None, help="keep the bundles here (default: a temporary directory)")
    a = ap.parse_args(argv)
    tmp = None if a.workdir else tempfile.TemporaryDirectory(prefix="bench_paper_rtl_")
    root = Path(a.workdir or tmp.name)
    root.mkdir(parents=True, exist_ok=True)
    print("Paper-size ResNet21s, weights in DDR, HLS C-sim and RTL twin (bench/bench_paper_rtl.py)")
    print(f"machine  {cpu_model()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
          f"load average {os.getloadavg()[0]:.1f} at start")
    print(f"commit   {git_commit()}    date {time.strftime('%Y-%m-%d %H:%M')}    P = {a.lanes}")
    print("RTL: Verilator, harness DDR one beat per cycle without latency; cycles = the core's count; "
          "bit-exact = every spike of every layer and step")
    print()
    rows = [measure(net, root, a.samples, a.lanes) for net in a.nets]
    print(f"{'net':<12}{'input':>10}{'n':>3}{'rate mean (min-max)':>22}{'RTL cycles':>13}{'SOPs/P':>13}{'ratio':>7}"
          f"{'DDR bytes':>12}{'inf/s 100':>10}{'inf/s 200':>10}{'exact HLS/RTL':>14}"
          f"{'HLS s':>7}{'RTL s wall':>11}{'RTL s CPU':>10}{'Mcyc/s':>8}")
    for r in rows:
        rate = f"{100 * r['rate_mean']:.1f}% ({100 * r['rate_min']:.1f}-{100 * r['rate_max']:.1f})"
        exact = f"{'yes' if r['hls_ok'] else 'NO'}/{'yes' if r['rtl_ok'] else 'NO'}"
        print(f"{r['net']:<12}{r['input']:>10}{r['samples']:>3}{rate:>22}{r['cycles']:>13,.0f}"
              f"{r['sops'] / a.lanes:>13,.0f}{r['ratio']:>7.2f}{r['ddr_bytes']:>12,}"
              f"{100e6 / r['cycles']:>10.1f}{200e6 / r['cycles']:>10.1f}{exact:>14}"
              f"{r['hls_wall']:>7.1f}{r['rtl_wall']:>11.1f}{r['rtl_cpu']:>10.1f}{r['cycles'] / r['rtl_cpu'] / 1e6:>8.2f}")
    bundle_s = ", ".join(f"{r['net']} {r['bundle_s']:.0f}" for r in rows)
    build_s = ", ".join(f"{r['net']} {r['build_s']:.0f}" for r in rows)
    print(f"\n(bundle seconds: {bundle_s}; Verilator build or cache load: {build_s}; HLS s = C-sim wall seconds per "
          "inference)")
    if tmp:
        tmp.cleanup()
    return 0 if all(r["rtl_ok"] and r["hls_ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
