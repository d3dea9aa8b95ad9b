import numpy as np
import pytest
import torch

from model_export.export import write_bundle
from model_export.model import AttentionSpec, SynAResNet, make_config
from model_export.quant import QuantSettings
from model_export.testing import randomize

DIGITS_SPEC = dict(steps=4, channels=1, height=8, width=8, encoding="pixels", bits=5, scale=1 / 16, static=True)


def small_config(merge="OR", attention=None, steps=4, width=0.125):
    return make_config("mnist", width=width, input_size=8, steps=steps, merge=merge, attention=attention)


def random_inputs(n=4, steps=4, seed=0):
    return np.random.default_rng(seed).integers(0, 17, (n, steps, 1, 8, 8))


def random_model(cfg, x_int, seed=0):
    xf = torch.from_numpy(x_int / 16.0).float().transpose(0, 1)
    return randomize(SynAResNet(cfg), xf, seed=seed)


@pytest.fixture
def make_bundle(tmp_path):
    """make_bundle(merge=..., attention=..., weight_bits=..., samples=...) -> (bundle dir, model, inputs)."""
    counter = [0]

    def make(merge="OR", attention=None, weight_bits=8, samples=4, seed=0, mem_bits=16):
        x = random_inputs(samples, seed=seed)
        model = random_model(small_config(merge, attention), x, seed=seed)
        counter[0] += 1
        out = tmp_path / f"bundle{counter[0]}"
        write_bundle(model, out, QuantSettings(weight_bits=weight_bits, mem_bits=mem_bits, input_scale=1 / 16),
                     DIGITS_SPEC, x)
        return out, model, x

    return make
