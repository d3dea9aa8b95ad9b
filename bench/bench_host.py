#!/usr/bin/env python
"""Host driver throughput: packing frames into stream words, unpacking, and DVS event integration.

One run measures and prints one plain-text table (with the machine and the git commit):

  pack       ``syna_contract.protocol.pack_batch`` (the driver's packer, into a preallocated buffer as the
             driver does with a DMA buffer) and ``syna_contract.protocol.pack_frames`` (the per-sample
             reference packer) on the same frames; frames/s and MB/s of packed words produced
  unpack     ``syna_contract.protocol.unpack_frames`` (packed words -> values, what a testbench/emulator
             does) and ``syna_contract.protocol.unpack_outputs`` (output packets -> scores and counts)
  events     ``host.events.events_to_frames`` vs SpikingJelly's
             ``integrate_events_by_fixed_frames_number`` ('number', 'time') and
             ``integrate_events_by_fixed_duration`` on the same event stream; events/s, and a
             check that both give the same frames

Shapes: ``digits`` [T=4, 1, 8, 8] 5-bit (8-bit lanes), ``dvs`` [T=16, 2, 128, 128] at 1, 3 and
8 bits (lanes of 1, 4 and 8 bits). Events: a DVS128-sized stream (random, time-ordered) of
``--events`` events. Each figure is the best of ``--reps`` timed runs after one warm-up.
Targets (issue 5): packing >= 400 MB/s of packed words; event integration at least as fast as
SpikingJelly's. For sub-byte lanes from int64 frames the packer reads 64 bits per 1- or 4-bit
lane, so its MB/s of packed words is bounded by memory bandwidth on the input ("in MB/s").
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
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from syna_contract import protocol as P  # noqa: E402
from host.events import events_to_frames  # noqa: E402
from benchenv import cpu_model, git_commit  # noqa: E402


def best(fn, reps: int) -> float:
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


commit = git_commit          # bench_events imports it under this name


def machine() -> str:
    cpu = cpu_model()
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, numpy {np.__version__}"


def bench_packing(reps: int, quick: bool) -> list[tuple]:
    rng = np.random.default_rng(0)
    rows = []
    cases = [("digits", (2048 if not quick else 512, 4, 1, 8, 8), 5),
             ("dvs", (32 if not quick else 8, 16, 2, 128, 128), 1),
             ("dvs", (32 if not quick else 8, 16, 2, 128, 128), 3),
             ("dvs", (32 if not quick else 8, 16, 2, 128, 128), 8)]
    for name, shape, bits in cases:
        n, steps = shape[:2]
        frames = n * steps
        for dtype in (np.uint8, np.int64):
            x = rng.integers(0, 1 << bits, shape).astype(dtype)
            wps = P.words_per_sample(*shape[1:], bits)
            out = np.empty((n, wps), np.uint32)
            mb = out.nbytes / 1e6
            label = f"{name} {shape[2]}x{shape[3]}x{shape[4]} {bits}-bit (lane {P.lane_bits(bits)}), {np.dtype(dtype).name} in"
            xin = x.nbytes / 1e6
            t = best(lambda: P.pack_batch(x, bits, out=out), reps)
            rows.append(("pack", "pack_batch", label, frames / t, mb / t, xin / t))
            if dtype == np.uint8:
                k = max(1, n // 8)
                t = best(lambda: [P.pack_frames(s, bits) for s in x[:k]], max(1, reps // 2))
                rows.append(("pack", "pack_frames (per sample)", label, k * steps / t, mb * k / n / t,
                             xin * k / n / t))
            if dtype == np.uint8:
                t = best(lambda: P.unpack_frames(out.ravel(), (frames,) + shape[2:], bits), reps)
                rows.append(("unpack", "unpack_frames", label, frames / t, mb / t, None))
    n_pk, classes, layers = 4096, 10, 23
    pk = rng.integers(0, 1 << 32, (n_pk, P.output_words(classes, layers)), dtype=np.uint64).astype(np.uint32)
    t = best(lambda: P.unpack_outputs(pk, classes, layers), reps)
    rows.append(("unpack", "unpack_outputs", f"{n_pk} output packets of {pk.shape[1]} words", n_pk / t,
                 pk.nbytes / 1e6 / t, None))
    return rows


def bench_events(n: int, reps: int) -> list[tuple]:
    from spikingjelly.datasets import integrate_events_by_fixed_duration, integrate_events_by_fixed_frames_number
    rng = np.random.default_rng(1)
    h = w = 128
    t = np.sort(rng.integers(0, 6_000_000, n))
    x, y = rng.integers(0, w, n).astype(np.int16), rng.integers(0, h, n).astype(np.int16)
    p = rng.integers(0, 2, n).astype(np.uint8)
    ev = dict(t=t, x=x, y=y, p=p)
    rows = []
    for mode, kw in (("number", dict(frames=16)), ("time", dict(frames=16)), ("duration", dict(duration=400_000))):
        if mode == "duration":
            sj = lambda: integrate_events_by_fixed_duration(ev, kw["duration"], h, w)  # noqa: E731
        else:
            sj = lambda: integrate_events_by_fixed_frames_number(ev, mode, kw["frames"], h, w)  # noqa: E731
        ours = lambda: events_to_frames(x, y, p, t, h, w, split_by=mode, **kw)  # noqa: E731
        same = bool(np.array_equal(ours(), sj()))
        t_sj, t_ours = best(sj, reps), best(ours, reps)
        what = f"{n:,} events 2x128x128, split_by={mode} " + (f"T={kw['frames']}" if "frames" in kw else
                                                               f"{kw['duration']} us/frame")
        rows.append(("events", "SpikingJelly", what, n / t_sj, None, None))
        rows.append(("events", "host.events", what, n / t_ours, t_sj / t_ours, same))
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--events", type=int, default=2_000_000)
    ap.add_argument("--quick", action="store_true", help="smaller inputs, fewer repetitions")
    args = ap.parse_args(argv)
    reps = 2 if args.quick else args.reps
    n_events = min(args.events, 300_000) if args.quick else args.events
    print(f"machine: {machine()}")
    print(f"commit:  {commit()}")
    print(f"BLAS threads: OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')} (not used here)\n")
    print(f"{'stage':<7} {'implementation':<26} {'case':<58} {'frames/s':>12} {'MB/s':>9} {'in MB/s':>9}")
    for stage, impl, case, fps, mbs, inb in bench_packing(reps, args.quick):
        print(f"{stage:<7} {impl:<26} {case:<58} {fps:>12,.0f} {mbs:>9,.1f} "
              f"{'' if inb is None else f'{inb:,.0f}':>9}")
    print("(MB/s: packed words produced / consumed; in MB/s: the frame array read by the packer)")
    print(f"\n{'stage':<7} {'implementation':<14} {'case':<58} {'Mevents/s':>10} {'vs SJ':>7} {'same':>5}")
    for stage, impl, case, eps, ratio, same in bench_events(n_events, reps):
        print(f"{stage:<7} {impl:<14} {case:<58} {eps / 1e6:>10.1f} "
              f"{'' if ratio is None else f'{ratio:.2f}x':>7} {'' if same is None else str(same):>5}")
    print("\ntargets: packing >= 400 MB/s (pack_batch, MB/s of packed words); "
          "host.events at least as fast as SpikingJelly (vs SJ >= 1.00x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
