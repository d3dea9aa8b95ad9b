#!/usr/bin/env python
"""The HLS core: synaptic operations, modelled cycles, board throughput, and C-sim speed.

One run prints one table (with the machine and git commit) for two models:

  demo   the shipped digits checkpoint (model_export/checkpoints/digits_or.pt) exported here,
         on the whole held-out split; everything MEASURED: the core's C++ (g++ with
         hls_core.cxx_flags(): -O3 -march=native, ctypes, HlsCore.predict) runs it, its cycle
         counter is read, and the numpy Reference runs the same inputs in the same process for the
         speed comparison.
  paper  make_config('dvs_gesture') (Table IX: T=32, 2x128x128, widths 64-512), random weights
         that spike (model_export.testing.randomize), random sparse event counts 0..3. ANALYTIC:
         the C-sim is not compiled at this size (its ROM header would hold ~11 M weights); the
         numpy Reference computes every spike map and hls_core.cycle_model() - the same loop
         trip counts the C++ counts, tested equal on every bundle in tests/test_hls.py - gives
         the cycles.

Columns
  SOPs/inf     synaptic operations per inference from the measured spikes: for every input event
               (spike, or nonzero input value for the encoder) the kernel offsets that reach an
               output x output channels; fc: spikes x classes
  dense/SOPs   dense operations (every input position, every offset, every output channel, every
               step) over SOPs: the work an event-driven core skips at these firing rates
  cycles       the core's cycle estimate: trip counts x II (=1) of its pipelined loops
  bound        the lane bound SOPs / P (no P-lane core can do better)
  cyc/bound    target for the demo: <= 1.25
  +fill        cycles plus an assumed pipeline depth of PIPE_DEPTH per pipelined loop invocation
               (what a real schedule adds if Vitis does not overlap consecutive invocations)
  inf/s @ board  clock_mhz (syna_contract/boards.py) / cycles, for cycles and for +fill
  C++/s, ref/s   samples per second of HlsCore.predict and Reference.run(keep_spikes=False, batch 64),
               median of --reps wall-clock passes (the two alternate), same inputs, same process,
               both on one thread (OPENBLAS_NUM_THREADS=1 unless set; target: C++ >= 10x)

Below the table: the same two rates from the calling thread's CPU time (less sensitive to other
jobs on a shared machine), and with --threads N > 1 the C++ on N threads (HlsCore.predict(x,
threads=N)) against the reference on N BLAS threads (a child process with OPENBLAS_NUM_THREADS=N)
and against the one-thread reference.
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# One BLAS thread for the numpy reference, as the C++ has one thread: on a small shared machine
# OpenBLAS's default threads make the reference 2-4x slower (they spin against other processes),
# which would flatter the C++. Set OPENBLAS_NUM_THREADS yourself to measure otherwise.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from syna_hw import hls_core as hc  # noqa: E402
from syna_contract.boards import BOARDS  # noqa: E402
from benchenv import cpu_model, git_commit  # noqa: E402


def machine() -> str:
    cpu = cpu_model()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{cpu}, {os.cpu_count()} cores, load {load:.1f}, Python {platform.python_version()}"


def _median_rate(fn, n: int, reps: int) -> float:
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return n / float(np.median(times))


def _alternating_rates(fns: dict, n: int, reps: int) -> dict:
    """Samples/s of each function: median over ``reps`` passes, the functions taking turns (so a
    change in the machine's load hits all of them alike); wall clock and the calling thread's CPU time."""
    wall = {k: [] for k in fns}
    cpu = {k: [] for k in fns}
    for _ in range(reps):
        for k, fn in fns.items():
            t, c = time.perf_counter(), time.thread_time()
            fn()
            cpu[k].append(time.thread_time() - c)
            wall[k].append(time.perf_counter() - t)
    return {k: (n / float(np.median(wall[k])), n / float(np.median(cpu[k]))) for k in fns}


_REF_CHILD = """
import sys, time, numpy as np
sys.path.insert(0, sys.argv[1])
from syna_contract.reference import Reference
ref, x, reps = Reference(sys.argv[2]), np.load(sys.argv[3]), int(sys.argv[4])
ref.run(x[:64], keep_spikes=False, batch=64)
ts = []
for _ in range(reps):
    t = time.perf_counter()
    ref.run(x, keep_spikes=False, batch=64)
    ts.append(time.perf_counter() - t)
print(len(x) / float(np.median(ts)))
"""


def _ref_rate_threads(bundle_dir: Path, x: np.ndarray, threads: int, reps: int, workdir: Path) -> float:
    """Reference samples/s with `threads` BLAS threads, in a child process (OpenBLAS fixes its thread
    count when it is loaded, and this process loaded it with one)."""
    np.save(workdir / "x.npy", x)
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    r = subprocess.run([sys.executable, "-c", _REF_CHILD, str(REPO), str(bundle_dir), str(workdir / "x.npy"),
                        str(reps)], capture_output=True, text=True, env=env)
    try:
        return float(r.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return float("nan")


def _model_rows(layers, spec, x, spikes, lanes: int) -> dict:
    neurons = sum(int(np.prod(v.shape[1:])) for v in spikes.values())
    rate = sum(float(v.sum()) for v in spikes.values()) / (len(x) * neurons)
    reps = [hc.cycle_model(layers, spec, x[i], {k: v[i] for k, v in spikes.items()}, lanes) for i in range(len(x))]
    return dict(rate=rate, sops=np.mean([r.total_sops for r in reps]), dense=np.mean([r.total_dense for r in reps]),
                cycles=np.mean([r.cycles for r in reps]),
                fill=np.mean([r.cycles + hc.PIPE_DEPTH * r.invocations for r in reps]), reps=reps)


def bench_demo(lanes: int, reps: int, workdir: Path, threads: int = 1) -> dict:
    from syna_contract.bundle import load_bundle
    from model_export.checkpoint import load_checkpoint
    from model_export.data import load_split
    from model_export.demo import SHIPPED
    from model_export.export import write_bundle
    from syna_contract.reference import Reference
    ck = load_checkpoint(SHIPPED)
    spec = ck.input_spec
    x, _ = load_split(ck.dataset, "test", ck.model.config)
    settings = ck.quant_settings()
    bundle = load_bundle(write_bundle(ck.model, workdir / "demo", settings, spec, x[:4]))
    core = hc.HlsCore(bundle, lanes, build_root=workdir / "hls").compile()
    ref = Reference(bundle)
    res = core.run(x)
    rref = ref.run(x)
    agree = hc.compare(res, rref) is None
    row = _model_rows(bundle.layers, spec, x, rref.spikes, lanes)
    measured = float(res.cycles.mean())
    core.predict(x[:16])
    ref.run(x[:64], keep_spikes=False, batch=64)
    rates = _alternating_rates({"cpp": lambda: core.predict(x),
                                "ref": lambda: ref.run(x, keep_spikes=False, batch=64)}, len(x), reps)
    (cpp, cpp_cpu), (refr, ref_cpu) = rates["cpp"], rates["ref"]
    mt = None
    if threads > 1:
        agree = agree and np.array_equal(core.predict(x, threads=threads), res.scores)
        core.predict(x[:64], threads=threads)
        mt = dict(threads=threads, cpp=_median_rate(lambda: core.predict(x, threads=threads), len(x), reps),
                  ref=_ref_rate_threads(bundle.root, x, threads, reps, workdir))
    width = ck.model.config.to_dict()["width"]
    return dict(name=f"demo (digits, width {width:g}, T={spec['steps']})", lanes=lanes, samples=len(x),
                measured_cycles=measured, agree=agree, cpp=cpp, ref=refr, cpp_cpu=cpp_cpu, ref_cpu=ref_cpu, mt=mt,
                flags=" ".join(hc.cxx_flags()), how="measured", **row)


def bench_paper(lanes: int, samples: int, workdir: Path) -> dict:
    import torch

    from syna_contract.bundle import Bundle
    from model_export.export import bundle_layers
    from model_export.model import SynAResNet, make_config
    from model_export.quant import QuantSettings, quantize_model
    from syna_contract.reference import Reference
    from model_export.testing import randomize
    cfg = make_config("dvs_gesture")
    spec = dict(steps=cfg.steps, channels=cfg.in_channels, height=cfg.input_size, width=cfg.input_size,
                encoding="counts", bits=4, scale=1.0, static=False)
    rng = np.random.default_rng(0)
    x = (rng.random((samples, cfg.steps, cfg.in_channels, cfg.input_size, cfg.input_size)) < 0.07) \
        * rng.integers(1, 4, (samples, cfg.steps, cfg.in_channels, cfg.input_size, cfg.input_size))
    torch.manual_seed(0)
    model = randomize(SynAResNet(cfg), torch.from_numpy(x.astype(np.float32)).transpose(0, 1), seed=0)
    q = quantize_model(model, QuantSettings(weight_bits=8, mem_bits=16, input_scale=1.0))
    layers, params = bundle_layers(q, spec)
    manifest = dict(layers=layers, input=spec, numerics=dict(mem_bits=16), model_hash="0" * 64)
    bundle = Bundle(workdir, manifest, params)
    hc.check_supported(bundle, lanes)
    t = time.perf_counter()
    r = Reference(bundle).run(x, keep_spikes=True, batch=1)
    dt = time.perf_counter() - t
    row = _model_rows(layers, spec, x, r.spikes, lanes)
    return dict(name=f"paper (dvs_gesture, T={cfg.steps}, 2x128x128)", lanes=lanes, samples=samples,
                measured_cycles=float("nan"), agree=None, cpp=float("nan"), ref=samples / dt, how="analytic", **row)


def _rate(v: float) -> str:
    return f"{v:,.0f}" if v >= 10 else f"{v:.2f}"


def table(rows: list[dict]) -> str:
    boards = sorted(BOARDS)
    head = (f"{'model':<38}{'P':>3}{'N':>5}{'spk/neuron':>11}{'SOPs/inf':>16}{'dense/SOPs':>11}{'cycles':>15}"
            f"{'bound':>15}{'cyc/bound':>10}{'+fill':>15}"
            + "".join(f"{'inf/s @' + b + ' ' + format(BOARDS[b].clock_mhz, 'g') + 'MHz':>26}" for b in boards)
            + f"{'C++/s':>9}{'ref/s':>9}{'C++/ref':>8}  how")
    lines = [head]
    for r in rows:
        bound = r["sops"] / r["lanes"]
        rates = "".join(f"{_rate(BOARDS[b].clock_mhz * 1e6 / r['cycles']) + ' / ' + _rate(BOARDS[b].clock_mhz * 1e6 / r['fill']):>26}"
                        for b in boards)
        speed = r["cpp"] / r["ref"] if r["cpp"] == r["cpp"] else float("nan")
        lines.append(f"{r['name']:<38}{r['lanes']:>3}{r['samples']:>5}{r['rate']:>11.3f}{r['sops']:>16,.0f}"
                     f"{r['dense'] / r['sops']:>11.1f}{r['cycles']:>15,.0f}{bound:>15,.0f}{r['cycles'] / bound:>10.2f}"
                     f"{r['fill']:>15,.0f}{rates}{r['cpp']:>9,.0f}{_rate(r['ref']):>9}{speed:>8.1f}  {r['how']}")
    lines.append("spk/neuron: spikes per neuron per step, all spiking layers. inf/s: modelled cycles / with pipeline fill. "
                 "nan: not measured (see 'how').")
    return "\n".join(lines)


def layer_table(row: dict) -> str:
    rep = row["reps"][0]
    lines = [f"per layer, sample 0 of {row['name']} (P={row['lanes']}):",
             f"{'layer':<12}{'SOPs':>10}{'cycles':>9}{'SOPs/P':>9}{'cyc/(SOPs/P)':>13}"]
    for name, c in rep.layers.items():
        s = rep.sops.get(name, 0)
        ratio = f"{c / (s / row['lanes']):.2f}" if s else "-"
        lines.append(f"{name:<12}{s:>10,}{c:>9,}{s / row['lanes']:>9,.0f}{ratio:>13}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lanes", type=int, default=hc.DEFAULT_LANES)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--paper-samples", type=int, default=1, help="samples for the paper-size model (0: skip it)")
    p.add_argument("--layers", action="store_true", help="also print the per-layer cycles of the demo")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                   help="also time the C++ on this many threads (1: skip; the headline is always one thread)")
    a = p.parse_args(argv)
    print(f"bench_hls: {machine()}; git {git_commit()}; OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        rows.append(bench_demo(a.lanes, a.reps, Path(tmp), a.threads))
        if a.paper_samples:
            rows.append(bench_paper(a.lanes, a.paper_samples, Path(tmp)))
    print(table(rows))
    d = rows[0]
    ok_speed = d["cpp"] >= 10 * d["ref"]
    ok_cyc = d["cycles"] <= 1.25 * d["sops"] / d["lanes"]
    print(f"demo: C++ vs reference every spike and score equal: {d['agree']}; C++ counter = cycle model: "
          f"{abs(d['measured_cycles'] - d['cycles']) < 0.5}")
    print(f"demo C-sim build: {d['flags']}")
    print(f"demo, one thread each, CPU time of the calling thread: C++ {d['cpp_cpu']:,.0f}/s, reference "
          f"{d['ref_cpu']:,.0f}/s, C++/ref {d['cpp_cpu'] / d['ref_cpu']:.1f}x (wall clock: {d['cpp'] / d['ref']:.1f}x)")
    if d["mt"]:
        m = d["mt"]
        print(f"demo, {m['threads']} threads (wall clock): C++ {m['cpp']:,.0f}/s, reference with {m['threads']} BLAS "
              f"threads {m['ref']:,.0f}/s, C++/ref {m['cpp'] / m['ref']:.1f}x; C++ {m['threads']} threads / reference "
              f"1 thread {m['cpp'] / d['ref']:.1f}x (not the headline)")
    print(f"target C++ >= 10x reference samples/s (one thread each, wall clock): "
          f"{'MET' if ok_speed else 'NOT MET'} ({d['cpp'] / d['ref']:.1f}x)")
    print(f"target demo cycles <= 1.25 x lane bound: {'MET' if ok_cyc else 'NOT MET'} "
          f"({d['cycles'] / (d['sops'] / d['lanes']):.2f}x; with assumed fill {d['fill'] / (d['sops'] / d['lanes']):.2f}x)")
    if a.layers:
        print()
        print(layer_table(d))
    return 0


if __name__ == "__main__":
    sys.exit(main())
