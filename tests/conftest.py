"""Fixtures shared by the tests; plain helpers (bundles, the hardware case table, checks) are in
tests/helpers.py."""
import os

import pytest

from helpers import DIGITS_SPEC, random_inputs, random_model, small_config
from model_export.export import write_bundle
from model_export.quant import QuantSettings


@pytest.fixture
def make_bundle(tmp_path):
    """make_bundle(merge=..., attention=..., weight_bits=..., samples=...) -> (bundle dir, model, inputs)."""
    counter = [0]

    def make(merge="OR", attention=None, weight_bits=8, samples=4, seed=0, mem_bits=16, attention_check="warn"):
        # "warn": bit-exactness tests also run settings under which attention cannot work (IA at
        # mem_bits 8), on purpose; tests/test_attention_checks.py checks that export refuses them
        x = random_inputs(samples, seed=seed)
        model = random_model(small_config(merge, attention), x, seed=seed)
        counter[0] += 1
        out = tmp_path / f"bundle{counter[0]}"
        write_bundle(model, out, QuantSettings(weight_bits=weight_bits, mem_bits=mem_bits, input_scale=1 / 16),
                     DIGITS_SPEC, x, attention_check=attention_check)
        return out, model, x

    return make


@pytest.fixture(params=["real-pynq", "stand-in"])
def impl(request):
    """The pynq backend's classes: pynq's own (skipped where pynq is not installed, failed under
    SYNA_REQUIRE_HOST_DEPS=1) or the fake board's stand-ins. True for pynq's own."""
    from host.fakeboard import pynq_available
    if request.param == "real-pynq" and not pynq_available():
        if os.environ.get("SYNA_REQUIRE_HOST_DEPS") == "1":
            pytest.fail("pynq is not installed (make host-venv installs it)")
        pytest.skip("pynq is not installed: only the stand-ins run")
    return request.param == "real-pynq"
