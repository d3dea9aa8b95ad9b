#!/usr/bin/env python
"""Event files and integration: events per second of ``host.eventfiles`` readers and of
``host.events.events_to_frames`` against SpikingJelly's and tonic's on the same files, in one run.

Files are written here (deterministic random streams; nothing downloaded):

  nmnist   ``--nmnist-files`` N-MNIST ``.bin`` files of ~4,000 events (read one by one, as a dataset does)
           ours ``read_nmnist`` | SpikingJelly ``utils.load_ATIS_bin`` | tonic ``io.read_mnist_file``
  aedat2   one jAER DVS128 file of ``--events`` events
           ours ``read_aedat2`` | SpikingJelly ``cifar10_dvs._load_origin_data`` | tonic ``io.read_aedat_header_from_file``
           + ``get_aer_events_from_file`` + the DVS128 bit masks (its ``read_dvs_128`` fails on tonic 1.7.0's
           three-value header tuple); then the same file with 5 sync events (bit 15) spread over it, large
           (read block by block) and cut to a tenth (the whole-file decoder): ours drops them, tonic does not
           (its rows: time only; ours is compared with the events written)
  aedat3   one DVS128-Gesture-like AEDAT 3.1 file (packets of 4,096 events); SpikingJelly's
           ``utils.load_aedat_v3`` decodes event by event in Python, so it gets a tenth of the events
           ours ``read_aedat3`` | SpikingJelly ``load_aedat_v3`` | tonic, as for aedat2 (version 3.1)
  aedat4   one file written by dv-processing (LZ4) of ``--events`` / 4 events
           ours ``read_aedat4`` in a child process (the default: survives decoder crashes; one persistent
           child for all files, started before the timed runs) and in-process |
           tonic ``io.read_aedat4`` (PyPI aedat, the decoder ours uses) | dv-processing ``MonoCameraRecording``;
           also 20 files of 5,000 events read one by one (per-file overhead)
  frames   ``events_to_frames`` vs SpikingJelly ``integrate_events_by_fixed_frames_number`` ('number', T=16)
           and ``integrate_events_by_fixed_duration`` on the aedat3 file's events (128 x 128)

Each figure is the best of ``--reps`` timed runs after one warm-up; where ours and the libraries are
compared on the same files, their runs are interleaved (one of each per round), so a shared machine's
load falls on all of them alike. "same" says whether the library's events (in its own conventions,
mapped to ours) equal ours. Nothing is asserted.
Target (issue 8): every reader and the integration at least as fast as the faster of SpikingJelly and tonic.

``--baseline DIR`` adds a column: the readers of another checkout's ``host/eventfiles`` (e.g. main's, for a
before / after), loaded in this process under another name and timed interleaved with ours on the same files:

    git worktree add --detach /tmp/base main
    .venv/bin/python bench/bench_events.py --baseline /tmp/base/host/eventfiles
"""
from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
for p in (str(REPO), str(REPO / "bench")):
    if p not in sys.path:
        sys.path.insert(0, p)

from bench_host import best, commit, machine  # noqa: E402
from host.eventfiles import (read_aedat2, read_aedat3, read_aedat4, read_nmnist, write_aedat2,  # noqa: E402
                             write_aedat3, write_aedat4, write_nmnist)
from host.events import events_to_frames  # noqa: E402


def stream(rng, n, width, height, t0=0, rate=1e6):
    t = t0 + np.cumsum(rng.exponential(1e6 / rate, n)).astype(np.int64)
    return rng.integers(0, width, n), rng.integers(0, height, n), rng.integers(0, 2, n), t


def eq(ours, x, y, p, t) -> str:
    ok = all(np.array_equal(np.asarray(a).astype(np.int64), np.asarray(b).astype(np.int64))
             for a, b in ((ours.x, x), (ours.y, y), (ours.p, p), (ours.t, t)))
    return "yes" if ok else "NO"


SYNC_EVENTS = 5


def interleaved(fns: list, reps: int) -> list[float]:
    """The best time of each function, their runs interleaved (one warm-up each, then ``reps`` rounds
    of one run of each): on a shared machine every function sees the same load."""
    for fn in fns:
        fn()
    times = [[] for _ in fns]
    for _ in range(reps):
        for k, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return [min(v) for v in times]


def load_baseline(folder: str):
    """The ``host/eventfiles`` package at ``folder`` as module ``baseline_eventfiles`` (relative imports only)."""
    init = Path(folder) / "__init__.py"
    if not init.is_file():
        raise SystemExit(f"--baseline {folder}: no __init__.py; expected a host/eventfiles folder")
    spec = importlib.util.spec_from_file_location("baseline_eventfiles", init, submodule_search_locations=[folder])
    mod = importlib.util.module_from_spec(spec)
    sys.modules["baseline_eventfiles"] = mod
    spec.loader.exec_module(mod)
    return mod


def race(fns: list, reps: int, base_fn=None) -> list:
    """:func:`interleaved` with the baseline's version of the first function raced too; its time last
    (``None`` without a baseline)."""
    times = interleaved(fns + ([base_fn] if base_fn else []), reps)
    return times if base_fn else times + [None]


def rate(n, seconds) -> float | None:
    return None if seconds is None else n / seconds / 1e6


def tonic_aer(path: Path):
    from tonic.io import get_aer_events_from_file, read_aedat_header_from_file
    version, start, _ = read_aedat_header_from_file(str(path))
    return get_aer_events_from_file(str(path), version, start)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=2_000_000, help="events in the aedat2/aedat3 files")
    ap.add_argument("--nmnist-files", type=int, default=300)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="a tenth of the sizes (a smoke run)")
    ap.add_argument("--baseline", metavar="DIR", help="another checkout's host/eventfiles folder: its readers are "
                                                      "timed too, interleaved with ours (a before / after)")
    a = ap.parse_args(argv)
    base = load_baseline(a.baseline) if a.baseline else None
    on_base = (lambda fn: fn) if base else (lambda fn: None)   # noqa: E731   (a baseline function, or None)
    n_big = a.events // (10 if a.quick else 1)
    n_files = a.nmnist_files // (10 if a.quick else 1)
    rng = np.random.default_rng(0)
    rows = []
    tmp = Path(tempfile.mkdtemp(prefix="bench_events_"))

    # ---------------------------------------------------------------- N-MNIST
    from spikingjelly.datasets.utils import load_ATIS_bin, load_aedat_v3
    from tonic.io import read_mnist_file
    files = [write_nmnist(tmp / f"{i:05d}.bin", *stream(rng, int(rng.integers(3000, 5000)), 34, 34, rate=1.5e4))
             for i in range(n_files)]
    total = sum(f.stat().st_size // 5 for f in files)
    tdt = np.dtype([("x", np.int16), ("y", np.int16), ("t", np.int64), ("p", bool)])
    t_ours, t_sj, t_tn, t_base = race([lambda: [read_nmnist(f) for f in files],
                                       lambda: [load_ATIS_bin(f) for f in files],
                                       lambda: [read_mnist_file(str(f), tdt) for f in files]], a.reps,
                                      on_base(lambda: [base.read_nmnist(f) for f in files]))
    ev, sj, tn = read_nmnist(files[0]), load_ATIS_bin(files[0]), read_mnist_file(str(files[0]), tdt)
    rows.append(("nmnist", f"{n_files} files", total, rate(total, t_ours), rate(total, t_base), rate(total, t_sj),
                 rate(total, t_tn),
                 eq(ev, sj["x"], sj["y"], sj["p"], sj["t"]), eq(ev, tn["x"], tn["y"], tn["p"], tn["t"])))
    per_file = (f"N-MNIST per file ({total / n_files:,.0f} events on average): ours {t_ours / n_files * 1e6:.0f} us, "
                f"SpikingJelly {t_sj / n_files * 1e6:.0f} us, tonic {t_tn / n_files * 1e6:.0f} us"
                + (f", baseline {t_base / n_files * 1e6:.0f} us" if t_base else ""))

    # ---------------------------------------------------------------- AEDAT 2.0
    from spikingjelly.datasets.cifar10_dvs import _load_origin_data
    x, y, p, t = stream(rng, n_big, 128, 128)
    f2 = write_aedat2(tmp / "dvs128.aedat", x, y, p, t)

    def tonic2(path):
        e = tonic_aer(path)
        addr = e["address"]
        return (addr >> 8) & 0x7F, (addr >> 1) & 0x7F, addr & 1, e["timeStamp"]
    t_ours, t_sj, t_tn, t_base = race([lambda: read_aedat2(f2), lambda: _load_origin_data(f2), lambda: tonic2(f2)],
                                      a.reps, on_base(lambda: base.read_aedat2(f2)))
    ev = read_aedat2(f2)
    sj = _load_origin_data(f2)
    ty, tx, tp, tt = tonic2(f2)            # tonic: its x is the address's y field, no flips
    rows.append(("aedat2", "1 file", n_big, rate(n_big, t_ours), rate(n_big, t_base), rate(n_big, t_sj),
                 rate(n_big, t_tn),
                 eq(ev, sj["y"], 127 - sj["x"], sj["p"], sj["t"]), eq(ev, 127 - tx, ty, 1 - tp, tt)))
    # the same events with SYNC_EVENTS sync events (bit 15) spread over the file: large (block by block) and
    # small (whole-file decoder); SpikingJelly's reader does not drop them, tonic's neither (its rows: time only)
    raw = bytearray(f2.read_bytes())
    start = len(raw) - 8 * n_big
    sync = np.linspace(0, n_big - 1, SYNC_EVENTS).astype(np.int64)
    for i in sync:
        raw[start + 8 * int(i) + 2] |= 0x80
    keep = np.setdiff1d(np.arange(n_big), sync)
    n_small2 = n_big // 10
    for label, fs, kept in (("large", tmp / "sync.aedat", keep), ("small", tmp / "sync_small.aedat", None)):
        if label == "small":
            raw = raw[:start + 8 * n_small2]
            kept = keep[keep < n_small2]
        fs.write_bytes(bytes(raw))
        nn = (len(raw) - start) // 8
        t_ours, t_tn, t_base = race([lambda: read_aedat2(fs), lambda: tonic2(fs)], a.reps,
                                    on_base(lambda: base.read_aedat2(fs)))
        evs = read_aedat2(fs)
        rows.append(("aedat2", f"{label}, {SYNC_EVENTS} sync events", nn, rate(nn, t_ours), rate(nn, t_base), None,
                     rate(nn, t_tn),
                     "-", eq(evs, x[kept], y[kept], p[kept], t[kept]) + " (truth)"))

    # ---------------------------------------------------------------- AEDAT 3.1
    x, y, p, t = stream(rng, n_big, 128, 128)
    f3 = write_aedat3(tmp / "user01_led.aedat", x, y, p, t)
    n_small = n_big // 10
    f3s = write_aedat3(tmp / "user02_led.aedat", x[:n_small], y[:n_small], p[:n_small], t[:n_small])
    t_sj = best(lambda: load_aedat_v3(f3s), 1)

    def tonic3():
        e = tonic_aer(f3)[1:]              # the special packet's event comes out as the first "event"
        addr = e["address"]
        return (addr >> 17) & 0x7FFF, (addr >> 2) & 0x7FFF, (addr >> 1) & 1, e["timeStamp"]
    t_ours, t_tn, t_base = race([lambda: read_aedat3(f3), tonic3], a.reps, on_base(lambda: base.read_aedat3(f3)))
    ev = read_aedat3(f3)
    sj = load_aedat_v3(f3s)
    rows.append(("aedat3", f"1 file (SJ: {n_small:,})", n_big, rate(n_big, t_ours), rate(n_big, t_base), rate(n_small, t_sj),
                 rate(n_big, t_tn), eq(read_aedat3(f3s), sj["x"], sj["y"], sj["p"], sj["t"]), eq(ev, *tonic3())))

    # ---------------------------------------------------------------- AEDAT 4.0
    import dv_processing as dv
    from tonic.io import read_aedat4 as tonic_read_aedat4
    n4 = n_big // 4
    x, y, p, t = stream(rng, n4, 346, 260, t0=1_700_000_000_000_000)
    f4 = write_aedat4(tmp / "davis.aedat4", x, y, p, t, sensor_size=(346, 260))
    t_iso, t_tn, t_iso_b = race([lambda: read_aedat4(f4), lambda: tonic_read_aedat4(str(f4))], a.reps,
                                on_base(lambda: base.read_aedat4(f4)))
    t_here, t_here_b = race([lambda: read_aedat4(f4, isolate=False)], a.reps,
                            on_base(lambda: base.read_aedat4(f4, isolate=False)))

    def dv_read():
        rec = dv.io.MonoCameraRecording(str(f4))
        parts = []
        while rec.isRunning():
            batch = rec.getNextEventBatch()
            if batch is None:
                break
            parts.append(batch.numpy())
        return np.concatenate(parts)
    t_dv = best(dv_read, a.reps)
    ev = read_aedat4(f4)
    tn, dvv = tonic_read_aedat4(str(f4)), dv_read()
    rows.append(("aedat4", "1 file, child process", n4, rate(n4, t_iso), rate(n4, t_iso_b), None, rate(n4, t_tn), "-",
                 eq(ev, tn["x"], tn["y"], tn["p"], tn["t"])))
    rows.append(("aedat4", "1 file, in-process", n4, rate(n4, t_here), rate(n4, t_here_b), None, rate(n4, t_tn), "-",
                 eq(read_aedat4(f4, isolate=False), tn["x"], tn["y"], tn["p"], tn["t"])))
    files4 = [write_aedat4(tmp / f"small{i:02d}.aedat4", *stream(rng, 5000, 346, 260, t0=1_700_000_000_000_000),
                           sensor_size=(346, 260)) for i in range(20)]
    n4s = 20 * 5000
    t_iso_s, t_tn_s, t_iso_sb = race([lambda: [read_aedat4(g) for g in files4],
                                      lambda: [tonic_read_aedat4(str(g)) for g in files4]], a.reps,
                                     on_base(lambda: [base.read_aedat4(g) for g in files4]))
    t_here_s, t_here_sb = race([lambda: [read_aedat4(g, isolate=False) for g in files4]], a.reps,
                               on_base(lambda: [base.read_aedat4(g, isolate=False) for g in files4]))
    tn_s = tonic_read_aedat4(str(files4[-1]))
    rows.append(("aedat4", "20 files, child process", n4s, rate(n4s, t_iso_s), rate(n4s, t_iso_sb), None,
                 rate(n4s, t_tn_s), "-",
                 eq(read_aedat4(files4[-1]), tn_s["x"], tn_s["y"], tn_s["p"], tn_s["t"])))
    rows.append(("aedat4", "20 files, in-process", n4s, rate(n4s, t_here_s), rate(n4s, t_here_sb), None,
                 rate(n4s, t_tn_s), "-",
                 eq(read_aedat4(files4[-1], isolate=False), tn_s["x"], tn_s["y"], tn_s["p"], tn_s["t"])))
    rows.append(("aedat4", "dv-processing reader", n4, rate(n4, t_dv), None, None, None, "-",
                 eq(ev, dvv["x"], dvv["y"], dvv["polarity"], dvv["timestamp"])))

    # ---------------------------------------------------------------- integration
    from spikingjelly.datasets import integrate_events_by_fixed_duration, integrate_events_by_fixed_frames_number
    ev = read_aedat3(f3)
    d = ev.to_dict()
    for split_by, kw, sj_fn in (
            ("number", dict(frames=16), lambda: integrate_events_by_fixed_frames_number(d, "number", 16, 128, 128)),
            ("duration", dict(duration=200_000), lambda: integrate_events_by_fixed_duration(d, 200_000, 128, 128))):
        ours = lambda: events_to_frames(ev.x, ev.y, ev.p, ev.t, 128, 128, split_by=split_by, **kw)  # noqa: E731
        same = "yes" if np.array_equal(ours(), sj_fn()) else "NO"
        t_ours, t_sj = interleaved([ours, sj_fn], a.reps)
        rows.append(("frames", f"split_by={split_by}", len(ev), rate(len(ev), t_ours), None, rate(len(ev), t_sj), None,
                     same, "-"))
    pooled = lambda: events_to_frames(ev.x, ev.y, ev.p, ev.t, 128, 128, frames=16, pool=4, bits=4)  # noqa: E731
    rows.append(("frames", "number, pool 4, 4 bits", len(ev), rate(len(ev), best(pooled, a.reps)), None, None, None,
                 "-", "-"))

    print(f"bench_events: {machine()}; commit {commit()}")
    print(f"reps {a.reps} (best of), rates in million events per second (Mev/s); same = equal events / frames")
    if base:
        print(f"baseline: {a.baseline} (its readers, timed interleaved with ours)")
    head = (f"{'what':<7} {'case':<24} {'events':>10} {'ours':>8} {'baseline':>9} {'SpikingJelly':>13} {'tonic':>8}"
            "  same SJ / tonic")
    print(head)
    print("-" * len(head))
    fmt = lambda v: f"{v:8.1f}" if v is not None else f"{'-':>8}"   # noqa: E731
    for what, case, n, ours, bsr, sjr, tnr, s1, s2 in rows:
        print(f"{what:<7} {case:<24} {n:>10,} {fmt(ours)} {fmt(bsr):>9} {fmt(sjr):>13} {fmt(tnr)}  {s1} / {s2}")
    print(per_file)
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
