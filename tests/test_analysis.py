"""Spike statistics (analysis.py): the hooks see what the model computes; natural-pruning detector."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from spikingjelly.activation_based import functional

from model_export.analysis import EvalStats, SpikeRecorder, evaluate_spikes, spike_taps
from model_export.fakequant import FakeQuantNet
from syna_contract.graph import build_graph
from model_export.model import AttentionSpec, SynAResNet, make_config
from model_export.quant import QuantSettings
from model_export.train import _pruning_line

from helpers import random_inputs, random_model, small_config


def _silence(model, block: int):
    """Construct a silent shortcut: a BN shift of -100 keeps bK.short's current far below threshold."""
    with torch.no_grad():
        model.blocks[block].short.bn.bias.fill_(-100.0)
    return model


@pytest.fixture(scope="module")
def model_and_data():
    x = random_inputs(12, seed=3)
    return random_model(small_config(), x, seed=3), x, np.arange(12) % 10


def test_taps_follow_the_layer_graph(model_and_data):
    model, _, _ = model_and_data
    names = [l["name"] for l in build_graph(model.config) if l["kind"] != "fc"]
    assert list(spike_taps(model)) == names and "pool" not in names
    dvs = SynAResNet(make_config("dvs_gesture", width=0.125, input_size=16, steps=4))     # stem max-pool
    assert list(spike_taps(dvs)) == [l["name"] for l in build_graph(dvs.config) if l["kind"] != "fc"]
    assert "pool" in spike_taps(dvs)


def test_recorded_spikes_are_what_the_model_computes(model_and_data):
    model, x, y = model_and_data
    xf = torch.from_numpy(x).transpose(0, 1).float() / 16
    rec = SpikeRecorder(list(spike_taps(model)))
    with torch.no_grad(), rec.hooked(model):
        model(xf)
    counts = rec.counts()
    with torch.no_grad():                            # independent: run the stem and the first block by hand
        functional.reset_net(model)
        s = model.stem(xf)
        assert np.array_equal(counts["stem"], s.sum(dim=(0, 2, 3, 4)).numpy())
        h = model.features(s)
        b = model.blocks[0]
        m, r = b.main1(b.main0(h)), b.short(h)
    assert np.array_equal(counts["b0.main1"], m.sum(dim=(0, 2, 3, 4)).numpy())
    assert np.array_equal(counts["b0.merge"], (m + r - m * r).sum(dim=(0, 2, 3, 4)).numpy())
    assert counts["stem"].sum() > 0 and counts["b2.post1"].sum() > 0
    # Hooks are gone after the block: a second forward adds nothing.
    with torch.no_grad():
        model(xf)
    assert all(len(p) == 1 for p in rec._parts.values())


def test_eval_stats_rates_and_silent_shortcut(model_and_data):
    model, x, y = model_and_data
    st = evaluate_spikes(model, x, y, 1 / 16, "mse", batch=5)
    assert st.samples == 12 and st.silent_shortcuts() == []
    n = st.neurons("b1.short")
    assert st.firing_rates()["b1.short"] == pytest.approx(st.spikes["b1.short"] / (n * 4 * 12))
    silent = _silence(random_model(small_config(), x, seed=3), 1)
    st2 = evaluate_spikes(silent, x, y, 1 / 16, "mse")
    assert st2.silent_shortcuts() == ["b1.short"] and st2.firing_rates()["b1.short"] == 0.0
    assert st2.silent_merges() == []                          # the backbone still fires: natural pruning
    assert _pruning_line(st2) == "natural pruning: b1.short silent on all 12 evaluation samples"
    rec = st2.to_record()
    assert rec["silent_shortcuts"] == ["b1.short"] and set(rec["firing_rates"]) == {
        l["name"] for l in build_graph(silent.config) if l["kind"] == "conv_lif"}


def test_integer_phase_reports_the_same_layers_from_the_fake_quant(model_and_data):
    _, x, y = model_and_data
    cfg = small_config(attention=AttentionSpec("C", "b"))
    model = _silence(random_model(cfg, x, seed=4), 2)
    fq = FakeQuantNet(model, QuantSettings(weight_bits=8, input_scale=1 / 16))
    st = evaluate_spikes(fq, x, y, 1 / 16, "mse", integer=True)
    r = fq.run(torch.from_numpy(x).transpose(0, 1).float())
    for name, s in r.spikes.items():
        assert st.spikes[name] == float(s.detach().sum()), name
    assert "b2.short" in st.silent_shortcuts()
    assert st.correct == int((r.scores.argmax(1).numpy() == y).sum())


def test_no_samples_means_no_silent_claims_and_dead_blocks_are_named():
    layers = build_graph(small_config())
    zeros = {l["name"]: 0.0 for l in layers if l["kind"] != "fc"}
    assert EvalStats(0, 0, 0.0, 4, layers, zeros).silent_shortcuts() == []
    dead = EvalStats(5, 0, 0.0, 4, layers, dict(zeros, **{"b2.main1": 3.0, "b2.merge": 3.0}))
    assert dead.silent_shortcuts() == ["b0.short", "b1.short", "b2.short"]
    assert dead.silent_merges() == ["b0.merge", "b1.merge"]
    assert _pruning_line(dead) == ("natural pruning: b2.short silent on all 5 evaluation samples; b0.short, b1.short "
                                   "silent in a dead block (backbone silent too: the block passes nothing)")
