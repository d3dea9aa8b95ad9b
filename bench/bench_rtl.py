#!/usr/bin/env python
"""The RTL twin's cycles and simulation speed on the demo model, as one plain-text table.

For every golden sample of the bundle (default: build/demo/bundle, `make demo`), through
the Verilator model of rtl/syna_core.v (syna_hw.rtl_core.RtlCore, C++ harness):

  cycles       clock cycles per inference, ap_start to the last output word (core's count)
  SOPs         synaptic operations of the sample: per non-zero input of a conv/FC layer, the
               kernel offsets that land on an output neuron x output channels (from golden.npz);
               a layer with attention (MA/IA) counts twice, as the core runs its conv in two
               passes (pool, then gate: docs/rtl.md "Attention"); its MLP cycles are not in SOPs
  SOPs/P       the lower bound of an event-driven core with P accumulate lanes (ANCHORS.md)
  dense        the same inference with zero skipping off (syna_core's dbg_dense input: every
               input of every layer is processed, adding w * 0 for silent ones), same result
  rate         firing rate of the inputs of the spike layers (non-zero / all), and of the input
  inf/s        inferences per second at the PL clock of every board (syna_contract/boards.py)
  sim          Verilator cycles per second of wall time (the harness clock over the wall time
               of the timed passes, one core)

Targets (docs/rtl.md): cycles <= 1.25 x SOPs/P; >= 5x fewer cycles than dense where the input
firing rate is <= 20%; Verilator >= 1 M cycles/s. The table says which are met; nothing is asserted.
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from syna_contract import protocol as P  # noqa: E402
from syna_hw import hls_core  # noqa: E402
from syna_hw import rtl_core as rc  # noqa: E402
from benchenv import cpu_model, git_commit  # noqa: E402
from syna_contract.boards import BOARDS  # noqa: E402


def synaptic_ops(bundle, g, i: int) -> tuple[int, int, int]:
    """(SOPs, non-zero inputs of spike layers, all inputs of spike layers) of golden sample i. SOPs per
    layer come from syna_hw.hls_core.cycle_model (the one SOP count); attention layers count twice."""
    spikes = {l["name"]: g[f"spikes/{l['name']}"][i] for l in bundle.layers if l["kind"] != "fc"}
    per_layer = hls_core.cycle_model(bundle.layers, bundle.input_spec, g["input"][i], spikes, 1).sops
    passes = {l["name"]: 2 if l.get("attention") else 1 for l in bundle.layers}
    sops = sum(v * passes.get(name, 1) for name, v in per_layer.items())
    ins = [spikes[l["inputs"][0]] for l in bundle.layers if l["inputs"][0] != "input"]
    return sops, sum(int(np.count_nonzero(x)) for x in ins), sum(x.size for x in ins)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", default=str(REPO / "build" / "demo" / "bundle"))
    ap.add_argument("--lanes", type=int, default=rc.DEFAULT_LANES)
    ap.add_argument("--samples", type=int, default=0, help="golden samples (0: all)")
    ap.add_argument("--reps", type=int, default=3, help="timed passes for the simulation speed")
    a = ap.parse_args(argv)
    if not (Path(a.bundle) / "manifest.json").is_file():
        print(f"no bundle at {a.bundle}: run `make demo` first (or pass --bundle)", file=sys.stderr)
        return 2

    t_build = time.perf_counter()
    core = rc.RtlCore(a.bundle, lanes=a.lanes)
    t_build = time.perf_counter() - t_build
    b, spec = core.bundle, core.bundle.input_spec
    g = b.golden()
    n = len(g["input"]) if a.samples <= 0 else min(a.samples, len(g["input"]))
    words = [P.pack_frames(g["input"][i], spec["bits"]) for i in range(n)]
    lanes = core.cfg.arch["P"]
    n_att = sum(1 for l in b.layers if l.get("attention"))
    mlp = sum(2 * l["attention"]["hidden"] * l["attention"]["size"] + 9 for l in b.layers if l.get("attention"))

    rows, exact = [], True
    for i in range(n):
        r = core.run(words[i], spec["steps"])
        o = P.unpack_output(r.out, core.classes, core.layers)
        exact &= bool(np.array_equal(o.scores, g["scores"][i]) and not o.errors)
        core.set_dense(True)
        d = core.run(words[i], spec["steps"])
        core.set_dense(False)
        od = P.unpack_output(d.out, core.classes, core.layers)
        exact &= bool(np.array_equal(od.scores, g["scores"][i]))
        sops, nz, tot = synaptic_ops(b, g, i)
        in_rate = float((g["input"][i] != 0).mean())
        rows.append(dict(cycles=o.cycles, dense=od.cycles, sops=sops, rate=nz / tot, in_rate=in_rate))

    # simulation speed: timed passes over the samples (harness clock / wall time)
    clk0, t0 = core.clock, time.perf_counter()
    for _ in range(a.reps):
        for i in range(n):
            core.run(words[i], spec["steps"])
    sim_rate = (core.clock - clk0) / (time.perf_counter() - t0)
    core.close()

    cyc = np.array([r["cycles"] for r in rows], dtype=float)
    dense = np.array([r["dense"] for r in rows], dtype=float)
    sops = np.array([r["sops"] for r in rows], dtype=float)
    rate = np.array([r["rate"] for r in rows])
    in_rate = np.array([r["in_rate"] for r in rows])
    bound = sops / lanes
    ratio = cyc / bound
    gain = dense / cyc

    print("RTL twin benchmark (bench/bench_rtl.py)")
    print(f"machine  {cpu_model()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
          f"Python {platform.python_version()}")
    print(f"commit   {git_commit()}    date {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"bundle   {a.bundle} (model {b.model_hash[:16]}), {n} golden samples, P = {lanes} lanes, "
          f"Verilator {rc.verilator_bin()}")
    print(f"build    {t_build:.1f} s (0 when cached)    bit-exact scores (event-driven and dense): {exact}")
    if n_att:
        print(f"attention {n_att} layers: their convs count twice in SOPs (two passes); their MLPs add "
              f"{mlp:,} cycles per inference (2 x hidden x size + 9 each, docs/rtl.md), not in SOPs/P")
    print()
    print(f"{'sample':>6}{'cycles':>10}{'SOPs':>11}{'SOPs/P':>10}{'cyc/(SOPs/P)':>14}{'dense':>11}"
          f"{'dense/ev':>10}{'spike rate':>12}{'input nz':>10}")
    for i, r in enumerate(rows):
        print(f"{i:>6}{r['cycles']:>10,}{r['sops']:>11,}{r['sops'] / lanes:>10,.0f}"
              f"{r['cycles'] / (r['sops'] / lanes):>14.3f}{r['dense']:>11,}{r['dense'] / r['cycles']:>10.2f}"
              f"{100 * r['rate']:>11.1f}%{100 * r['in_rate']:>9.1f}%")
    print(f"{'mean':>6}{cyc.mean():>10,.0f}{sops.mean():>11,.0f}{bound.mean():>10,.0f}{ratio.mean():>14.3f}"
          f"{dense.mean():>11,.0f}{gain.mean():>10.2f}{100 * rate.mean():>11.1f}%{100 * in_rate.mean():>9.1f}%")
    print()
    clocks = sorted({b.clock_mhz for b in BOARDS.values()})
    print("inferences/s at the boards' PL clocks (syna_contract/boards.py): " + ", ".join(
        f"{mhz:g} MHz ({', '.join(b.name for b in BOARDS.values() if b.clock_mhz == mhz)}) "
        f"{mhz * 1e6 / cyc.mean():,.0f}" for mhz in clocks))
    print(f"Verilator: {sim_rate / 1e6:.2f} M cycles/s ({a.reps} passes of {n} inferences, C++ harness, one core)")
    print()
    ok1 = bool((ratio <= 1.25).all())
    low = rate <= 0.20
    ok2 = bool((gain[low] >= 5).all()) if low.any() else None
    ok3 = sim_rate >= 1e6
    print("targets")
    print(f"  cycles <= 1.25 x SOPs/P on every sample:            {'met' if ok1 else 'NOT met'} "
          f"(worst {ratio.max():.3f})")
    print(f"  >= 5x fewer cycles than dense where rate <= 20%:    "
          f"{'no sample at <= 20%' if ok2 is None else 'met' if ok2 else 'NOT met'} "
          f"(samples at <= 20%: {int(low.sum())} of {n}; min gain {gain.min():.2f}x)")
    print(f"  Verilator >= 1 M cycles/s:                          {'met' if ok3 else 'NOT met'} "
          f"({sim_rate / 1e6:.2f} M)")
    if n_att:
        print(f"  (attention: cycles minus the {mlp:,} MLP cycles over SOPs/P: mean {((cyc - mlp) / bound).mean():.3f}, "
              f"worst {((cyc - mlp) / bound).max():.3f}; the targets are set for the demo model, which has none)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
