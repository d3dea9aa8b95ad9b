#!/usr/bin/env python
"""Throughput of the bit-exact integer numpy reference vs the SpikingJelly float model.

One run measures, at two model sizes, samples per second and peak memory of

  reference  ``syna_contract.reference.Reference(bundle).run(x_int, keep_spikes=False, batch=B)``
             (numpy only; the worker process never imports torch)
  float      the SpikingJelly ``SynAResNet`` the bundle was exported from, in eval mode under
             ``torch.no_grad()``, torch threads left at their default

on the same integer inputs and the same batch size, and prints one plain-text table.

Sizes
  demo   make_config('mnist', width=0.25, input_size=8, steps=4); scikit-learn's 8x8 digits
         (integers 0..16, static over T), input_scale 1/16, 'pixels' 5-bit input spec.
  paper  make_config('dvs_gesture') (Table IX: T=32, 2x128x128, width 64-128-256-512);
         random sparse event counts 0..3 (~7% nonzero), 'counts' 4-bit input spec, scale 1.

Method
  The parent builds each model (random weights that spike: model_export.testing.randomize),
  writes its bundle into a temporary directory (timed separately: ROM writing is slow at paper
  size) and then runs each implementation in its own fresh subprocess. A worker loads its model
  (timed), runs one full warm-up pass over the samples, then ``--reps`` timed passes; the table
  gives the median (and the fastest) pass. Peak memory is the growth of the worker's resident set (VmHWM) during the
  warm-up and timed passes, over its VmRSS just before them, after the kernel's peak counter is
  reset (``echo 5 > /proc/self/clear_refs``) and glibc's free memory is trimmed. Where the reset
  is unavailable it falls back to the ru_maxrss delta (a lower bound) and says so. For the
  reference, the tracemalloc peak of one extra untimed pass is also given (numpy reports its
  array allocations to tracemalloc; torch does not, so there is no such column for float).
  The 'others' column is the share of all cores that other processes used while a worker ran
  (/proc/stat): on a shared machine torch's OpenMP threads in particular slow down by large
  factors, so a run with more than a few percent there is flagged BUSY and its ratios are noise.

Nothing is cached in the repository; the temporary directory is deleted at the end (see --workdir).
Timings are not asserted: this is a benchmark, and bench/README.md states the targets.
"""
from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchenv import cpu_model, git_commit  # noqa: E402

RESULT_MARK = "@@BENCH_RESULT@@ "
SIZES = ("demo", "paper")
IMPLS = ("reference", "float")

# Sample count / batch / repetitions per size: (full run, --quick).
DEFAULTS = {
    "demo": dict(samples=(512, 128), batch=(64, 64), reps=(5, 3)),
    "paper": dict(samples=(8, 2), batch=(2, 2), reps=(5, 3)),
}


# =============================================================================== machine facts
def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def loadavg() -> float | None:
    try:
        return float(open("/proc/loadavg").read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _cpu_busy_s() -> float | None:
    """CPU seconds all processes have used (all cores, incl. hypervisor steal), from /proc/stat."""
    try:
        v = [int(f) for f in open("/proc/stat").readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    user, nice, system, idle, iowait, irq, softirq, steal = v
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_cpu_s() -> float:
    import resource
    return sum(getattr(resource.getrusage(w), f) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
               for f in ("ru_utime", "ru_stime"))


def blas_info() -> str:
    """numpy's BLAS library and, for OpenBLAS, its thread count."""
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        name = f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:  # noqa: BLE001 - old numpy: show_config has no mode
        name = "unknown BLAS"
    threads = None
    try:
        libs = {ln.split()[-1] for ln in open("/proc/self/maps") if "openblas" in ln.lower()}
        for path in libs:
            lib = ctypes.CDLL(path)
            for sym in ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
                        "openblas_get_num_threads64_", "openblas_get_num_threads"):
                if hasattr(lib, sym):
                    threads = int(getattr(lib, sym)())
                    break
    except OSError:
        pass
    return name + (f", {threads} threads" if threads else "")


# =============================================================================== memory probes
def _status_kib(field: str) -> int | None:
    try:
        for line in open("/proc/self/status"):
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _maxrss_kib() -> int:
    import resource
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r // 1024 if sys.platform == "darwin" else r


class PeakRSS:
    """Peak resident-set growth of this process between ``start()`` and ``stop()``, in MiB."""

    def start(self) -> None:
        gc.collect()
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)   # return freed setup memory to the OS
        except (OSError, AttributeError):
            pass
        self.base = _status_kib("VmRSS")
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")                           # reset VmHWM to the current RSS
            self.method = "VmHWM after clear_refs reset"
        except OSError:
            self.base, self.method = _maxrss_kib(), "ru_maxrss delta (lower bound)"

    def stop(self) -> float:
        end = _status_kib("VmHWM") if self.method.startswith("VmHWM") else _maxrss_kib()
        return max(0, end - self.base) / 1024


# =============================================================================== workers
def _timed_passes(fn, reps: int, peak: PeakRSS) -> tuple[list[float], float, object]:
    peak.start()
    out = fn()                                              # warm-up: one full pass
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return times, peak.stop(), out


def worker_reference(case: Path, batch: int, reps: int) -> dict:
    import tracemalloc

    from syna_contract.reference import Reference
    x = np.load(case / "x.npy")
    t = time.perf_counter()
    ref = Reference(str(case / "bundle"))
    load_s = time.perf_counter() - t
    peak = PeakRSS()
    times, rss_mib, res = _timed_passes(lambda: ref.run(x, keep_spikes=False, batch=batch), reps, peak)
    tracemalloc.start()
    ref.run(x, keep_spikes=False, batch=batch)
    traced_mib = tracemalloc.get_traced_memory()[1] / 2 ** 20
    tracemalloc.stop()
    sizes = {l["name"]: int(np.prod(l["out_shape"])) for l in ref.bundle.layers if l["kind"] != "fc"}
    steps = ref.bundle.input_spec["steps"]
    rates = [res.spike_counts[n].sum() / (sizes[n] * steps * len(x)) for n in res.spike_counts]
    return dict(times=times, rss_mib=rss_mib, rss_method=peak.method, traced_mib=traced_mib, load_s=load_s,
                pred=res.scores.argmax(axis=1).tolist(), spike_rate=float(np.mean(rates)),
                saturations=int(sum(res.saturations.values())), torch_imported="torch" in sys.modules,
                blas=blas_info())


def worker_float(case: Path, batch: int, reps: int) -> dict:
    import torch

    from model_export.model import ModelConfig, SynAResNet
    meta = json.loads((case / "meta.json").read_text())
    x = np.load(case / "x.npy")
    t = time.perf_counter()
    model = SynAResNet(ModelConfig.from_dict(meta["config"]))
    model.load_state_dict(torch.load(case / "model.pt", weights_only=True))
    model.eval()
    load_s = time.perf_counter() - t
    scale = meta["scale"]

    @torch.no_grad()
    def run():
        scores = []
        for i in range(0, len(x), batch):   # integer input -> float, time-major, like the training loop
            xf = torch.from_numpy(x[i:i + batch]).to(torch.float32).mul_(scale).transpose(0, 1)
            scores.append(model(xf))
        return torch.cat(scores)

    peak = PeakRSS()
    times, rss_mib, scores = _timed_passes(run, reps, peak)
    return dict(times=times, rss_mib=rss_mib, rss_method=peak.method, traced_mib=None, load_s=load_s,
                pred=scores.argmax(dim=1).tolist(), torch_threads=torch.get_num_threads(),
                torch_interop_threads=torch.get_num_interop_threads())


# =============================================================================== cases (parent)
def make_inputs(size: str, n: int, seed: int = 0) -> tuple[np.ndarray, float, dict, object]:
    """Integer input [N, T, C, H, W], input scale, input spec and ModelConfig for a size."""
    from model_export.model import make_config
    rng = np.random.default_rng(seed)
    if size == "demo":
        cfg = make_config("mnist", width=0.25, input_size=8, steps=4)
        try:
            from sklearn.datasets import load_digits
            images = load_digits().images.astype(np.int64)            # 1797 x 8 x 8, 0..16
            frames = images[rng.permutation(len(images))[:n] if n <= len(images) else rng.integers(0, len(images), n)]
        except ImportError:                                            # digits-like: integers 0..16
            frames = rng.integers(0, 17, size=(n, 8, 8))
        x = np.repeat(frames[:, None, None], cfg.steps, axis=1)       # static over T: [N, T, 1, 8, 8]
        spec = dict(steps=4, channels=1, height=8, width=8, encoding="pixels", bits=5, scale=1 / 16, static=True)
        return x, 1 / 16, spec, cfg
    cfg = make_config("dvs_gesture")
    shape = (n, cfg.steps, cfg.in_channels, cfg.input_size, cfg.input_size)
    x = rng.integers(1, 4, size=shape) * (rng.random(shape) < 0.07)   # event counts 0..3, ~7% nonzero
    spec = dict(steps=cfg.steps, channels=cfg.in_channels, height=cfg.input_size, width=cfg.input_size,
                encoding="counts", bits=4, scale=1.0, static=False)
    return x, 1.0, spec, cfg


def prepare_case(size: str, n: int, root: Path, log) -> dict:
    """Random spiking model + its bundle + inputs under ``root/size``; returns setup timings."""
    import torch

    from model_export.export import write_bundle
    from model_export.model import SynAResNet
    from model_export.quant import QuantSettings
    from model_export.testing import randomize
    case = root / size
    case.mkdir(parents=True, exist_ok=True)
    x, scale, spec, cfg = make_inputs(size, n)
    torch.manual_seed(0)
    model = SynAResNet(cfg)
    calib = x[: min(len(x), 64 if size == "demo" else 2)]             # BN calibration set (bounded cost)
    t = time.perf_counter()
    randomize(model, torch.from_numpy(calib).float().mul(scale).transpose(0, 1).contiguous())
    randomize_s = time.perf_counter() - t
    log(f"  {size}: randomized {sum(p.numel() for p in model.parameters()) / 1e6:.2f} M parameters "
        f"in {randomize_s:.1f} s; writing bundle ...")
    t = time.perf_counter()
    write_bundle(model, case / "bundle", QuantSettings(input_scale=scale), spec)
    write_s = time.perf_counter() - t
    np.save(case / "x.npy", x)
    torch.save(model.state_dict(), case / "model.pt")
    (case / "meta.json").write_text(json.dumps(dict(config=cfg.to_dict(), scale=scale)))
    bundle_mib = sum(f.stat().st_size for f in (case / "bundle").iterdir()) / 2 ** 20
    log(f"  {size}: bundle written in {write_s:.1f} s ({bundle_mib:.1f} MiB)")
    return dict(params_m=sum(p.numel() for p in model.parameters()) / 1e6, randomize_s=randomize_s,
                write_s=write_s, bundle_mib=bundle_mib, input_shape=list(x.shape),
                input_nonzero=float(np.count_nonzero(x) / x.size))


def run_worker(impl: str, case: Path, batch: int, reps: int) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", impl, "--case-dir", str(case),
           "--batch", str(batch), "--reps", str(reps)]
    env = dict(os.environ, PYTHONWARNINGS="ignore", TQDM_DISABLE="1")
    busy0, own0, t = _cpu_busy_s(), _own_cpu_s(), time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t
    busy1, own1 = _cpu_busy_s(), _own_cpu_s()
    for line in p.stdout.splitlines():
        if line.startswith(RESULT_MARK):
            r = json.loads(line[len(RESULT_MARK):])
            r["worker_wall_s"] = wall
            # Share of all cores that *other* processes used while this worker ran (noise indicator).
            r["others_cpu"] = (None if busy0 is None else
                               max(0.0, (busy1 - busy0) - (own1 - own0)) / (wall * (os.cpu_count() or 1)))
            return r
    return dict(error=f"worker exited {p.returncode}: {(p.stderr or p.stdout).strip()[-2000:]}")


# =============================================================================== report
def _fmt(v, spec: str, missing: str = "-") -> str:
    return missing if v is None else format(v, spec)


def report(info: dict, setups: dict, results: dict, args) -> str:
    lines = []
    add = lines.append
    add(f"bench_reference   commit {info['commit']}   {info['date']}   mode {'quick' if args.quick else 'full'}")
    add(f"machine  {info['cpu']}, {info['cores']} cores usable ({info['cpu_count']} online), {info['os']}")
    add(f"software python {info['python']}, numpy {info['numpy']} ({info['blas']}), torch {info['torch']} "
        f"({info['torch_threads']} intra-op / {info['torch_interop']} inter-op threads, default), "
        f"spikingjelly {info['spikingjelly']}")
    others = [r["others_cpu"] for r in results.values() if r.get("others_cpu") is not None]
    worst = max(others, default=None)
    busy = (worst or 0) > 0.10
    add(f"load     1-min load average {_fmt(info['load_start'], '.2f')} before starting; other processes used up to "
        f"{_fmt(worst, '.0%')} of the cores while a worker ran"
        + ("   << BUSY MACHINE: timings are noisy" if busy else ""))
    add("")
    add("setup (parent process, not part of the throughput)")
    add(f"  {'size':6s} {'input [N,T,C,H,W]':>22s} {'nonzero':>8s} {'params':>8s} {'randomize':>10s} "
        f"{'write_bundle':>13s} {'bundle':>9s} {'Reference()':>12s} {'float load':>11s}")
    for size, s in setups.items():
        r, f = results.get((size, "reference"), {}), results.get((size, "float"), {})
        add(f"  {size:6s} {str(s['input_shape']):>22s} {s['input_nonzero']:8.1%} {s['params_m']:7.2f}M "
            f"{s['randomize_s']:9.1f}s {s['write_s']:12.1f}s {s['bundle_mib']:6.1f}MiB "
            f"{_fmt(r.get('load_s'), '11.2f')}s {_fmt(f.get('load_s'), '10.2f')}s")
    add("")
    add("throughput: median of the timed passes over all samples (one warm-up pass first); "
        "best = fastest pass; spread = (max - min) / median")
    add(f"  {'size':6s} {'impl':10s} {'samples':>7s} {'batch':>5s} {'reps':>4s} {'s/pass':>9s} "
        f"{'samples/s':>10s} {'best':>9s} {'spread':>7s} {'peak RSS':>10s} {'tracemalloc':>12s} {'others':>7s}")
    for size in setups:
        for impl in IMPLS:
            r = results.get((size, impl))
            if r is None:
                continue
            n, b, reps = args.samples[size], args.batch[size], args.reps[size]
            if "error" in r:
                add(f"  {size:6s} {impl:10s} FAILED: {r['error'].splitlines()[-1] if r['error'] else ''}")
                continue
            med = float(np.median(r["times"]))
            spread = (max(r["times"]) - min(r["times"])) / med
            traced = f"{r['traced_mib']:9.1f}MiB" if r.get("traced_mib") is not None else "n/a"
            add(f"  {size:6s} {impl:10s} {n:7d} {b:5d} {reps:4d} {med:8.3f}s {n / med:10.2f} "
                f"{n / min(r['times']):9.2f} {spread:7.1%} "
                f"{r['rss_mib']:7.1f}MiB {traced:>12s} {_fmt(r.get('others_cpu'), '7.0%')}")
    add("")
    add("reference / float throughput, medians (target >= 1 at both sizes, bench/README.md); "
        "best: the same from the fastest passes")
    for size in setups:
        r, f = results.get((size, "reference"), {}), results.get((size, "float"), {})
        if "times" not in r or "times" not in f:
            add(f"  {size:6s} n/a (needs both implementations to have run)")
            continue
        ratio = float(np.median(f["times"]) / np.median(r["times"]))
        best = float(min(f["times"]) / min(r["times"]))
        agree = float(np.mean(np.array(r["pred"]) == np.array(f["pred"])))
        add(f"  {size:6s} {ratio:6.2f}x  {'meets target' if ratio >= 1 else 'BELOW target'}  (best {best:.2f}x)   "
            f"(reference mean spike rate {r['spike_rate']:.1%}, {r['saturations']} saturations; "
            f"argmax agreement with float {agree:.0%})")
    methods = {r.get("rss_method") for r in results.values() if "rss_method" in r}
    add("")
    torch_in_ref = any(r.get("torch_imported") for (_, impl), r in results.items() if impl == "reference")
    add(f"peak RSS: growth of the worker's resident set over the warm-up + timed passes "
        f"({', '.join(sorted(methods))}); each implementation runs in its own fresh process "
        f"(the reference worker {'imported' if torch_in_ref else 'did not import'} torch).")
    add("tracemalloc: peak of numpy allocations in one extra untimed reference pass (torch is not traced).")
    add("others: share of all cores used by other processes while the worker ran (from /proc/stat); "
        "above a few percent the timings are not trustworthy.")
    return "\n".join(lines)


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        prog="bench_reference.py",
        description="Samples per second and peak memory of the integer numpy reference "
                    "(syna_contract.reference) vs the SpikingJelly float model, on the same inputs and batch "
                    "size, at the demo size (mnist preset, width 0.25, 8x8 digits, T=4) and the paper's DVS "
                    "Gesture size (T=32, 2x128x128, full width). Prints a plain-text table with the machine "
                    "and the git commit. Targets: bench/README.md.",
        epilog="Each implementation is timed in its own subprocess: load, one warm-up pass, then --reps timed "
               "passes (median reported). Bundles are written to a temporary directory, never into the repo.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="fewer samples and repetitions (demo 128 samples x 3 reps, paper 2 samples x 3 reps); "
                        "about 1-2 minutes on 2 cores. Default: demo 512 x 5, paper 8 x 5")
    p.add_argument("--sizes", default=",".join(SIZES),
                   help=f"comma-separated subset of {', '.join(SIZES)} (default: both)")
    p.add_argument("--impls", default=",".join(IMPLS),
                   help=f"comma-separated subset of {', '.join(IMPLS)} (default: both)")
    for size in SIZES:
        d = DEFAULTS[size]
        p.add_argument(f"--{size}-samples", type=int, default=None,
                       help=f"samples at the {size} size (default {d['samples'][0]}, --quick {d['samples'][1]})")
        p.add_argument(f"--{size}-batch", type=int, default=None,
                       help=f"batch size of both implementations at the {size} size (default {d['batch'][0]})")
    p.add_argument("--reps", type=int, default=None, help="timed passes per implementation (default 5, --quick 3)")
    p.add_argument("--workdir", type=Path, default=None,
                   help="put bundles and inputs here and keep them (default: a fresh temporary directory, "
                        "deleted at the end); must be outside the repository")
    p.add_argument("--json", type=Path, default=None, help="also write every measurement to this JSON file")
    # Internal: one implementation in a fresh process.
    p.add_argument("--worker", choices=IMPLS, help=argparse.SUPPRESS)
    p.add_argument("--case-dir", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--batch", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        return args
    args.size_list = [s.strip() for s in args.sizes.split(",") if s.strip()]
    args.impl_list = [s.strip() for s in args.impls.split(",") if s.strip()]
    for name, values, allowed in (("--sizes", args.size_list, SIZES), ("--impls", args.impl_list, IMPLS)):
        bad = [v for v in values if v not in allowed]
        if bad or not values:
            p.error(f"{name}: {bad or 'nothing'}; expected a comma-separated subset of {', '.join(allowed)}")
    q = 1 if args.quick else 0
    args.samples = {s: getattr(args, f"{s}_samples") or DEFAULTS[s]["samples"][q] for s in SIZES}
    args.batch = {s: getattr(args, f"{s}_batch") or DEFAULTS[s]["batch"][q] for s in SIZES}
    args.reps = {s: args.reps or DEFAULTS[s]["reps"][q] for s in SIZES}
    for s in SIZES:
        if args.samples[s] < 1 or args.batch[s] < 1 or args.reps[s] < 1:
            p.error("samples, batch and reps must be >= 1")
    if args.workdir is not None:
        wd = args.workdir.resolve()
        if wd == REPO or REPO in wd.parents:
            p.error(f"--workdir {args.workdir} is inside the repository; use a directory outside it")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.worker:
        fn = worker_reference if args.worker == "reference" else worker_float
        print(RESULT_MARK + json.dumps(fn(args.case_dir, args.batch, args.reps)), flush=True)
        return 0

    os.environ.setdefault("TQDM_DISABLE", "1")     # write_bundle's progress bars would garble the log
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))   # so that the temporary directory is removed
    import torch
    import importlib.metadata as md

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    info = dict(commit=git_commit(), date=time.strftime("%Y-%m-%d %H:%M"), cpu=cpu_model(), cores=usable_cores(),
                cpu_count=os.cpu_count(), os=f"{platform.system()} {platform.release()}",
                python=platform.python_version(), numpy=np.__version__, blas=blas_info(),
                torch=torch.__version__, torch_threads=torch.get_num_threads(),
                torch_interop=torch.get_num_interop_threads(), load_start=loadavg())
    try:
        info["spikingjelly"] = md.version("spikingjelly")
    except md.PackageNotFoundError:
        info["spikingjelly"] = "?"
    if (info["load_start"] or 0) > 1.5:
        log(f"warning: load average {info['load_start']:.2f} before starting; timings will be noisy")

    t_total = time.perf_counter()
    root = args.workdir or Path(tempfile.mkdtemp(prefix="bench_reference_"))
    setups, results = {}, {}
    try:
        for size in args.size_list:
            log(f"[{size}] preparing model and bundle in {root / size}")
            setups[size] = prepare_case(size, args.samples[size], root, log)
            for impl in args.impl_list:
                log(f"[{size}] timing {impl}: {args.samples[size]} samples, batch {args.batch[size]}, "
                    f"1 warm-up + {args.reps[size]} passes ...")
                r = run_worker(impl, root / size, args.batch[size], args.reps[size])
                results[(size, impl)] = r
                if "error" in r:
                    log(f"[{size}] {impl} FAILED:\n{r['error']}")
                else:
                    log(f"[{size}] {impl}: median {np.median(r['times']):.3f} s/pass")
                    if impl == "reference":
                        info["blas"] = r.get("blas", info["blas"])
                    else:
                        info["torch_threads"] = r["torch_threads"]
                        info["torch_interop"] = r["torch_interop_threads"]
    finally:
        if args.workdir is None:
            shutil.rmtree(root, ignore_errors=True)
    print(report(info, setups, results, args))
    print(f"\ntotal wall time {time.perf_counter() - t_total:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(dict(
            info=info, setup=setups, args=dict(samples=args.samples, batch=args.batch, reps=args.reps),
            results={f"{s}/{i}": r for (s, i), r in results.items()}), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
