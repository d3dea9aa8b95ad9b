"""The numpy integer reference against the torch fake-quant, bit for bit, on every layer and step."""
import numpy as np
import pytest
import torch

from syna_contract.bundle import load_bundle
from model_export.fakequant import FakeQuantNet, run_quant
from model_export.model import AttentionSpec
from model_export.quant import QuantSettings, quantize_model
from syna_contract.reference import InputError, Reference

from helpers import random_inputs


def assert_identical(ref, golden):
    assert np.array_equal(ref.scores, golden["scores"]), "scores differ"
    for name, spikes in ref.spikes.items():
        exp = golden[f"spikes/{name}"]
        if not np.array_equal(spikes, exp):
            idx = np.argwhere(spikes != exp)[0]
            pytest.fail(f"layer {name}: first mismatch at sample {idx[0]}, step {idx[1]}, neuron {tuple(idx[2:])}")


@pytest.mark.parametrize("merge", ["OR", "AND", "IAND"])
@pytest.mark.parametrize("weight_bits", [4, 8])
@pytest.mark.parametrize("attention", [None, AttentionSpec("T", "a"), AttentionSpec("C", "b"),
                                       AttentionSpec("T", "d"), AttentionSpec("C", "c")])
def test_reference_equals_fakequant_on_random_models(make_bundle, merge, weight_bits, attention):
    root, _, x = make_bundle(merge=merge, attention=attention, weight_bits=weight_bits, samples=3)
    b = load_bundle(root)
    ref = Reference(b).run(x)
    assert_identical(ref, b.golden())
    # the random models really spike all the way down (else the check would be vacuous);
    # an IA-gated shortcut may fall silent (natural pruning) and silence an AND merge
    active = [name for name, c in ref.spike_counts.items() if int(c.sum()) > 0]
    assert len(active) >= 0.6 * len(ref.spike_counts) and "b2.post1" in active


def test_saturation_is_exercised_and_agrees(make_bundle):
    """8-bit membranes saturate on these models: counts must agree between the two implementations."""
    root, model, x = make_bundle(mem_bits=8, samples=3)
    b = load_bundle(root)
    ref = Reference(b).run(x)
    g = b.golden()
    assert_identical(ref, g)
    total = sum(ref.saturations.values())
    assert total > 0
    assert total == sum(int(g[f"saturations/{k}"]) for k in ref.saturations)


def test_spike_counts_match_spikes(make_bundle):
    root, _, x = make_bundle(samples=2)
    ref = Reference(str(root)).run(x)
    for name, s in ref.spikes.items():
        assert ref.spike_counts[name].tolist() == s.reshape(2, -1).sum(axis=1).tolist()


def test_keep_spikes_false_and_batching_give_same_scores(make_bundle):
    root, _, x = make_bundle(samples=5)
    r1 = Reference(str(root)).run(x)
    r2 = Reference(str(root)).run(x, keep_spikes=False, batch=2)
    assert np.array_equal(r1.scores, r2.scores) and not r2.spikes


def test_fakequant_forward_is_differentiable(make_bundle):
    _, model, x = make_bundle(samples=2)
    fq = FakeQuantNet(model, QuantSettings(input_scale=1 / 16))
    out = fq(torch.from_numpy(x).float().transpose(0, 1))
    out.sum().backward()
    assert model.stem.conv.weight.grad is not None and float(model.stem.conv.weight.grad.abs().sum()) > 0


def test_trained_model_bit_exact_on_heldout(tmp_path):
    """The shipped digits checkpoint: reference == fake-quant on 100 held-out samples, every layer."""
    from model_export.checkpoint import load_checkpoint
    from model_export.data import load_split
    from model_export.demo import SHIPPED
    from model_export.export import write_bundle
    ck = load_checkpoint(SHIPPED)
    x, y = load_split("digits", "test", ck.model.config, limit=100)
    root = write_bundle(ck.model, tmp_path / "b", QuantSettings(input_scale=ck.input_spec["scale"]), ck.input_spec, x, y)
    b = load_bundle(root)
    ref = Reference(b).run(x)
    assert_identical(ref, b.golden())
    assert (ref.predictions() == y).mean() > 0.9


@pytest.mark.parametrize("x,match", [
    (np.zeros((2, 3, 1, 8, 8), np.int64), "input shape \\(2, 3, 1, 8, 8\\); expected \\[N, T=4, C=1, H=8, W=8\\]"),
    (np.zeros((2, 4, 1, 8, 8), np.float32), "input dtype float32; expected integers"),
    (np.full((2, 4, 1, 8, 8), 32), "input values 32..32; expected 0..31"),
    (np.full((2, 4, 1, 8, 8), -1), "input values -1..-1; expected 0..31"),
])
def test_bad_input_is_refused(make_bundle, x, match):
    root, _, _ = make_bundle(samples=1)
    with pytest.raises(InputError, match=match):
        Reference(str(root)).run(x)


def test_single_sample_without_batch_axis(make_bundle):
    root, _, x = make_bundle(samples=2)
    ref = Reference(str(root))
    assert np.array_equal(ref.run(x[0]).scores[0], ref.run(x).scores[0])
