#!/usr/bin/env python
"""The RTL twin's weights-in-DDR mode against its on-chip mode, as one plain-text table.

For the golden samples of a bundle with a DDR image (``--ddr-image --lanes P`` at export, or
``python -m model_export ddr-image DIR --lanes P``), through the Verilator model of rtl/syna_core.v:
the on-chip build (unless ``--no-onchip``), then per weight buffer (``--buffers``: ``whole``, one tile per
layer; ``least``, one lane group of the largest layer: the most tiles; ``default``, ddr_weights'
default), per buffer scheme (``--wbuf``:
``double``, the next tile loads while the current one computes; ``single``) and per DDR model
(``--ddr``: ``ideal``, the harness answers every beat at once, one per cycle; or a board of
syna_contract/boards.py: its modelled bandwidth in bytes per core cycle at its clock,
``Board.ddr_bytes_per_cycle``, and a read latency of ``--latency-ns`` at that clock, an assumption):
cycles per inference (ap_start to the last output word, the core's count), the cycles the compute
waited for a tile (stall; the core's dbg_stall, counted by the harness) and their share, the extra
cycles over on chip, the DDR bytes the harness delivered per inference and the most tiles of a layer.
Bit-exactness is the tests' job (tests/test_rtl_ddr.py); the table says whether the scores agreed
with the golden ones.
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

from syna_contract import protocol as P  # noqa: E402
from syna_contract.bundle import load_bundle  # noqa: E402
from syna_hw.limits import RTL  # noqa: E402
from syna_hw.lowering import WBUF_MODES, ddr_weights, lower  # noqa: E402
from syna_hw.rtl_binding import RtlCore  # noqa: E402
from benchenv import LATENCY_NS, cpu_model, ddr_model, git_commit  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bundle", help="a bundle with a DDR image for --lanes")
    ap.add_argument("--lanes", type=int, required=True, help="P (the image's lane count)")
    ap.add_argument("--samples", type=int, default=2, help="golden samples (default 2)")
    ap.add_argument("--buffers", default="whole,least",
                    help="weight buffers: whole, least, default (ddr_weights' default) or a row count "
                         "(default whole,least)")
    ap.add_argument("--wbuf", default="double,single", help=f"buffer schemes: {', '.join(WBUF_MODES)} (default both)")
    ap.add_argument("--ddr", default="ideal,pynq-z2,zcu104",
                    help="DDR models: ideal or board names (default ideal,pynq-z2,zcu104)")
    ap.add_argument("--latency-ns", type=float, default=LATENCY_NS,
                    help=f"a board's DDR read latency, ns (an assumption; default {LATENCY_NS:g})")
    ap.add_argument("--no-onchip", action="store_true", help="skip the on-chip build (a model too large for it)")
    ap.add_argument("--max-cycles", type=int, default=2_000_000_000)
    a = ap.parse_args(argv)
    b = load_bundle(a.bundle)
    g, spec = b.golden(), b.input_spec
    n = min(a.samples, len(g["input"]))
    words = [P.pack_frames(g["input"][i], spec["bits"]) for i in range(n)]
    plan = ddr_weights(lower(b, a.lanes, target=RTL))
    sizes = {"whole": max(l.rows * l.groups for l in plan.layers), "least": max(l.rows for l in plan.layers),
             "default": plan.wbuf_rows}
    bufs = [sizes[x] if x in sizes else int(x) for x in a.buffers.split(",")]
    builds = [] if a.no_onchip else [("on chip", "-", {})]
    for rows in bufs:
        for wbuf in a.wbuf.split(","):
            for label, kw in (ddr_model(x, a.latency_ns) for x in a.ddr.split(",")):
                builds.append((f"DDR {rows} rows {wbuf}", label,
                               dict(weights="ddr", wbuf_rows=rows, wbuf=wbuf, **kw)))
    print("RTL twin, weights in DDR (bench/bench_rtl_ddr.py)")
    print(f"machine  {cpu_model()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}")
    print(f"commit   {git_commit()}    date {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"bundle   {a.bundle} (model {b.model_hash[:16]}), {n} golden samples, P = {a.lanes}")
    print("DDR      ideal: every beat at once, one per cycle; a board: Board.ddr_bytes_per_cycle at its clock "
          f"(a token bucket), latency {a.latency_ns:g} ns (assumed); the port is one image row wide")
    print()
    print(f"{'build':<26}{'DDR model':<38}{'cycles/inf':>12}{'stall':>11}{'stall%':>8}{'extra':>11}"
          f"{'bytes/inf':>12}{'tiles':>6}{'scores':>8}", flush=True)
    base = None
    for label, model, kw in builds:
        core = RtlCore(b, lanes=a.lanes, max_cycles=a.max_cycles, **kw)
        cyc, ok = [], True
        for i, w in enumerate(words):
            o = P.unpack_output(core.run(w, spec["steps"]).out, core.classes, core.layers)
            cyc.append(o.cycles)
            ok &= bool(np.array_equal(o.scores, g["scores"][i]))
        mean = float(np.mean(cyc))
        base = mean if base is None and not kw else base
        d = core.ddr
        stall = core.stall_cycles / n if d else 0.0
        got = core.ddr_bytes_read // n if d else 0
        tiles = max(l.tiles for l in d.layers) if d else 0
        extra = f"{mean - base:>11,.0f}" if base is not None else f"{'-':>11}"
        print(f"{label:<26}{model:<38}{mean:>12,.0f}{stall:>11,.0f}{100 * stall / mean:>7.1f}%{extra}"
              f"{got:>12,}{tiles:>6}{'golden' if ok else 'DIFFER':>8}", flush=True)
        core.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
