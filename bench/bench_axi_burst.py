#!/usr/bin/env python
"""The cycle cost of the board's AXI burst limit on the RTL twin's DDR reads, as one plain-text table.

For the golden samples of a bundle with a DDR image (``--ddr-image --lanes P``), through the Verilator model of
rtl/syna_core.v with its weights in DDR: the read master built for bursts of at most ``--bursts`` beats (default
256, AXI4 / Zynq UltraScale+ HP_FPD, and 16, AXI3 / Zynq-7000 HP: ``Board.hp_max_burst``), each under the DDR
models of ``--ddr`` (``ideal``: every beat at once, one per cycle; a board: ``Board.ddr_bytes_per_cycle`` at its
clock, a token bucket, and a read latency of ``--latency-ns``, an assumption, not a board measurement; a board
name may carry ``@NS`` for another latency). Per row: the bursts and the longest one per inference (the
harness's AXI port checker counts every AR handshake and checks it against the limit), cycles per inference,
cycles the compute waited for a tile (stall) and the cycles over the same DDR model at the first burst limit.
The harness refuses any burst longer than the limit, so every row also proves the limit is kept; the scores
column says whether they agreed with the golden ones (every spike is the tests' job: tests/test_rtl_axi_burst.py).
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
from syna_hw.lowering import WBUF_DEFAULT, WBUF_MODES  # noqa: E402
from syna_hw.rtl_binding import RtlCore  # noqa: E402
from benchenv import LATENCY_NS, cpu_model, ddr_model, git_commit  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bundle", help="a bundle with a DDR image for --lanes")
    ap.add_argument("--lanes", type=int, required=True, help="P (the image's lane count)")
    ap.add_argument("--samples", type=int, default=1, help="golden samples (default 1)")
    ap.add_argument("--bursts", default="256,16", help="longest bursts in beats, the first is the baseline "
                                                       "(default 256,16: AXI4, and a Zynq-7000 AXI3 HP port)")
    ap.add_argument("--ddr", default="ideal,pynq-z2,pynq-z2@400",
                    help="DDR models: ideal or board[@latency_ns] (default ideal,pynq-z2,pynq-z2@400)")
    ap.add_argument("--latency-ns", type=float, default=LATENCY_NS,
                    help=f"a board's DDR read latency, ns (an assumption; default {LATENCY_NS:g})")
    ap.add_argument("--wbuf", default=WBUF_DEFAULT, choices=WBUF_MODES, help=f"weight buffers (default {WBUF_DEFAULT})")
    ap.add_argument("--wbuf-rows", type=int, default=None, help="weight buffer rows (default: ddr_weights')")
    ap.add_argument("--max-cycles", type=int, default=2_000_000_000)
    a = ap.parse_args(argv)
    b = load_bundle(a.bundle)
    g, spec = b.golden(), b.input_spec
    n = min(a.samples, len(g["input"]))
    words = [P.pack_frames(g["input"][i], spec["bits"]) for i in range(n)]
    bursts = [int(x) for x in a.bursts.split(",")]
    # the bursts are this bench's sweep: the board's own limit is left out of each model
    models = [(label, {k: v for k, v in kw.items() if k != "axi_max_burst"})
              for label, kw in (ddr_model(x, a.latency_ns) for x in a.ddr.split(","))]
    print("RTL twin, DDR read bursts vs the HP port's limit (bench/bench_axi_burst.py)")
    print(f"machine  {cpu_model()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}")
    print(f"commit   {git_commit()}    date {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"bundle   {a.bundle} (model {b.model_hash[:16]}), {n} golden samples, P = {a.lanes}, wbuf {a.wbuf}")
    print("DDR      ideal: every beat at once, one per cycle; a board: Board.ddr_bytes_per_cycle at its clock "
          f"(a token bucket), read latency {a.latency_ns:g} ns unless @ns (assumed)")
    print()
    print(f"{'burst':>6}{'DDR model':>38}{'bursts/inf':>12}{'longest':>9}{'cycles/inf':>13}{'stall':>11}"
          f"{'stall%':>8}{'extra':>9}{'extra%':>8}{'bytes/inf':>12}{'scores':>8}", flush=True)
    base = {}
    for mb in bursts:
        for label, kw in models:
            core = RtlCore(b, lanes=a.lanes, max_cycles=a.max_cycles, weights="ddr", wbuf=a.wbuf,
                           wbuf_rows=a.wbuf_rows, axi_max_burst=mb, **kw)
            cyc, ok = [], True
            for i, w in enumerate(words):
                o = P.unpack_output(core.run(w, spec["steps"]).out, core.classes, core.layers)
                cyc.append(o.cycles)
                ok &= bool(np.array_equal(o.scores, g["scores"][i])) and o.errors == []
            mean = float(np.mean(cyc))
            base.setdefault(label, mean)
            extra = mean - base[label]
            stall = core.stall_cycles / n
            print(f"{mb:>6}{label:>38}{core.ddr_bursts / n:>12,.0f}{core.ddr_max_burst:>9}{mean:>13,.0f}"
                  f"{stall:>11,.0f}{100 * stall / mean:>7.1f}%{extra:>9,.0f}{100 * extra / base[label]:>7.2f}%"
                  f"{core.ddr_bytes_read // n:>12,}{'golden' if ok else 'DIFFER':>8}", flush=True)
            core.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
