"""The last stage of ``make demo``: the held-out samples through the host driver (simulation backends)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from syna_contract.bundle import load_bundle
from syna_contract.reference import Reference

from .core import SpikingCore, available_simulation_backends


def demo_stage(bundle_dir: str | Path, x_int: np.ndarray, labels: np.ndarray | None = None,
               backends: list[str] | None = None) -> dict:
    """Classify ``x_int`` [N, T, C, H, W] through the host driver on every simulation backend that is
    built (``reference`` always; ``hls``, ``rtl`` once their stages exist) and compare with the
    integer reference: identical scores and per-layer spike counts on every sample.

    Returns ``{"host_backends": bool (all agree with the reference), "accuracy": float | None
    (fraction, from the reference backend), "backends": {name: {"agree": bool, "accuracy": ...,
    "seconds": ..., ["error": why it did not run]}}, "samples": N}``."""
    import time

    bundle = load_bundle(bundle_dir)
    x_int = np.asarray(x_int)
    ref = Reference(bundle).run(x_int, keep_spikes=False)
    names = backends or available_simulation_backends(bundle)
    per = {}
    for name in names:
        t0 = time.perf_counter()
        try:
            with SpikingCore(bundle, backend=name) as core:
                got = core.classify_batch(x_int)
        except Exception as e:                      # a stage that exists but does not run: it does not agree
            per[name] = {"agree": False, "accuracy": None, "seconds": time.perf_counter() - t0,
                         "error": f"{type(e).__name__}: {e}"}
            continue
        agree = bool(np.array_equal(got.scores, ref.scores) and
                     all(np.array_equal(got.spike_counts[k], ref.spike_counts[k]) for k in got.spike_counts))
        acc = got.accuracy(labels) if labels is not None else None
        per[name] = {"agree": agree, "accuracy": acc, "seconds": time.perf_counter() - t0}
    accuracy = per.get("reference", next(iter(per.values()), {})).get("accuracy")
    return {"host_backends": bool(per) and all(v["agree"] for v in per.values()), "accuracy": accuracy,
            "backends": per, "samples": int(len(x_int))}
