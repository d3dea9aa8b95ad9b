#!/usr/bin/env python
"""The RTL twin's weights-in-DDR mode against its on-chip mode, as one plain-text table.

For the golden samples of a bundle with a DDR image (``--ddr-image --lanes P`` at export, or
``python -m model_export ddr-image DIR --lanes P``), through the Verilator model of rtl/syna_core.v:
the on-chip build, the DDR build with a buffer holding the largest layer (one tile per layer) and with
the smallest buffer (one lane group of the largest layer: the most tiles). Per build: cycles per
inference (ap_start to the last output word, the core's count), the extra cycles over on chip, the
image rows loaded, the DDR bytes the harness delivered per inference and the most tiles of a layer.
The harness's DDR answers every beat at once (no DDR latency or bandwidth modelled); the loads are not
overlapped with compute (docs/rtl.md "Weights in DDR"). Bit-exactness is the tests' job
(tests/test_rtl_ddr.py); the table says whether the scores agreed with the golden ones.
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
from syna_hw.lowering import ddr_weights, lower  # noqa: E402
from syna_hw.rtl_binding import RtlCore  # noqa: E402
from benchenv import cpu_model, git_commit  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bundle", help="a bundle with a DDR image for --lanes")
    ap.add_argument("--lanes", type=int, required=True, help="P (the image's lane count)")
    ap.add_argument("--samples", type=int, default=2, help="golden samples (default 2)")
    a = ap.parse_args(argv)
    b = load_bundle(a.bundle)
    g, spec = b.golden(), b.input_spec
    n = min(a.samples, len(g["input"]))
    words = [P.pack_frames(g["input"][i], spec["bits"]) for i in range(n)]
    plan = ddr_weights(lower(b, a.lanes, target=RTL))
    whole = max(l.rows * l.groups for l in plan.layers)
    least = max(l.rows for l in plan.layers)
    builds = [("on chip", {}), (f"DDR, buffer {whole} rows", dict(weights="ddr", wbuf_rows=whole)),
              (f"DDR, buffer {least} rows", dict(weights="ddr", wbuf_rows=least))]
    print("RTL twin, weights in DDR (bench/bench_rtl_ddr.py)")
    print(f"machine  {cpu_model()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}")
    print(f"commit   {git_commit()}    date {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"bundle   {a.bundle} (model {b.model_hash[:16]}), {n} golden samples, P = {a.lanes}")
    print()
    print(f"{'build':<28}{'cycles/inf':>12}{'extra':>10}{'rows':>10}{'bytes/inf':>12}{'tiles':>7}{'scores':>8}")
    base = None
    for label, kw in builds:
        core = RtlCore(b, lanes=a.lanes, **kw)
        cyc, ok = [], True
        for i, w in enumerate(words):
            o = P.unpack_output(core.run(w, spec["steps"]).out, core.classes, core.layers)
            cyc.append(o.cycles)
            ok &= bool(np.array_equal(o.scores, g["scores"][i]))
        mean = float(np.mean(cyc))
        base = mean if base is None else base
        d = core.ddr
        rows = d.bytes_per_inference // d.row_bytes if d else 0
        got = core.ddr_bytes_read // n if d else 0
        tiles = max(l.tiles for l in d.layers) if d else 0
        print(f"{label:<28}{mean:>12,.0f}{mean - base:>10,.0f}{rows:>10,}{got:>12,}{tiles:>7}"
              f"{'golden' if ok else 'DIFFER':>8}")
        core.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
