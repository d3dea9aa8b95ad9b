"""Three bundles that stand for the hardware's range (no tests here; imported by the lowering tests).

- ``demo``: the shipped digits checkpoint exported as ``make demo`` does (1x8x8, width 0.25, 4-bit).
- ``synac``: a SynA-C digits model (MA-C on the backbone, IA-C on every shortcut; width 0.25, 8-bit
  weights, 11 attention layers of up to 128 channels), random weights with calibrated BN.
- ``nmnist``: the N-MNIST preset at 2x17x17 (pooled 34x34 recordings), width 0.25, 4-bit weights,
  T = 10, random weights.

Each export repeats bit for bit (one thread), so the model hash and every generated file do too."""
from __future__ import annotations

from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CHECKPOINT = REPO / "model_export" / "checkpoints" / "digits_or.pt"
DIGITS_SPEC = dict(steps=4, channels=1, height=8, width=8, encoding="pixels", bits=5, scale=1 / 16, static=True)
NAMES = ("demo", "synac", "nmnist")


def export(name: str, out: Path, samples: int = 2) -> Path:
    """Write bundle ``name`` (one of :data:`NAMES`) into ``out``; returns ``out``."""
    import torch

    from model_export.export import export_checkpoint, write_bundle
    from model_export.model import PAPER_ATTENTION, AttentionSpec, SynAResNet, make_config
    from model_export.quant import QuantSettings
    from model_export.testing import randomize

    torch.set_num_threads(1)
    out = Path(out)
    if name == "demo":
        export_checkpoint(CHECKPOINT, out, samples=samples)
        return out
    if name == "synac":
        cfg = make_config("mnist", width=0.25, input_size=8, steps=4, merge="OR", attention=AttentionSpec("C", "b", **PAPER_ATTENTION))
        spec, wbits, scale = DIGITS_SPEC, 8, 1 / 16
        x = np.random.default_rng(3).integers(0, 17, (max(samples, 8), 4, 1, 8, 8))
    elif name == "nmnist":
        from model_export.data import input_spec
        cfg = make_config("nmnist", width=0.25, input_size=17)
        spec, wbits = input_spec("nmnist", cfg), 4
        scale = spec["scale"]
        rng = np.random.default_rng(4)
        shape = (max(samples, 8), spec["steps"], 2, 17, 17)
        x = rng.integers(0, 1 << spec["bits"], shape) * (rng.random(shape) < 0.3)
    else:
        raise ValueError(f"bundle {name!r}; expected one of {NAMES}")
    model = randomize(SynAResNet(cfg), torch.from_numpy(x * scale).float().transpose(0, 1), seed=1)
    write_bundle(model, out, QuantSettings(weight_bits=wbits, input_scale=scale), spec, x[:samples])
    return out
