"""Shared bundles for the host driver's tests (no tests here; imported by tests/test_host_*.py)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CHECKPOINT = REPO / "model_export" / "checkpoints" / "digits_or.pt"
DVS_SPEC = dict(steps=4, channels=2, height=8, width=8, encoding="counts", bits=3, scale=1.0, static=False)


def export_digits(out: Path, golden: int = 4) -> tuple[Path, np.ndarray, np.ndarray]:
    """The shipped digits checkpoint exported as in `make demo`; returns (bundle, held-out x, labels).

    Nothing here depends on the checkpoint's numbers: the lead may replace it."""
    from model_export.checkpoint import load_checkpoint
    from model_export.data import load_split
    from model_export.export import write_bundle

    ck = load_checkpoint(CHECKPOINT)
    x, y = load_split(ck.dataset, "test", ck.model.config)
    settings = ck.quant_settings()
    write_bundle(ck.model, out, settings, ck.input_spec, x[:golden], y[:golden])
    return out, x, y


def export_dvs(out: Path, seed: int = 0, samples: int = 3) -> tuple[Path, np.ndarray]:
    """A small random 2-channel model on 3-bit event counts (a DVS-like input spec)."""
    import torch

    from model_export.export import write_bundle
    from model_export.model import SynAResNet, make_config
    from model_export.quant import QuantSettings
    from model_export.testing import randomize

    rng = np.random.default_rng(seed)
    x = rng.integers(0, 8, (samples, 4, 2, 8, 8))
    cfg = make_config("mnist", width=0.125, input_size=8, steps=4, in_channels=2, merge="OR")
    model = randomize(SynAResNet(cfg), torch.from_numpy(x / 4.0).float().transpose(0, 1), seed=seed)
    write_bundle(model, out, QuantSettings(weight_bits=8, input_scale=1.0), DVS_SPEC, x)
    return out, x


def random_events(rng, n: int, height: int, width: int, t_max: int = 100_000):
    t = np.sort(rng.integers(0, t_max, n))
    return (rng.integers(0, width, n), rng.integers(0, height, n), rng.integers(0, 2, n), t)
