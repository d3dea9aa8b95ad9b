"""export --prune-silent-shortcuts: the pruned bundle is the same network on the held-out split,
through the integer reference, the HLS C-simulation and the RTL twin; what cannot be pruned is refused.

A silent shortcut is constructed, not trained: a BN shift of -100 on ``b1.short`` keeps its
current far below the threshold, so its LIF never fires (the state natural pruning reaches).
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from syna_contract.bundle import load_bundle
from model_export.checkpoint import save_checkpoint
from model_export.cli import main
from model_export.data import input_spec, load_split
from syna_contract.energy import energy_for_bundle
from model_export.export import write_bundle
from model_export.prune import PruneError, prune_layers, silent_shortcuts
from model_export.quant import QuantSettings
from syna_contract.reference import Reference

from helpers import DIGITS_SPEC, random_inputs, random_model, small_config


def _checkpoint(tmp_path, merge="OR", silence=(1,), name="m.pt"):
    cfg = small_config(merge)
    model = random_model(cfg, random_inputs(8, seed=5), seed=5)
    with torch.no_grad():
        for b in silence:
            model.blocks[b].short.bn.bias.fill_(-100.0)       # constructed silent shortcut (see module doc)
    path = tmp_path / name
    save_checkpoint(path, model, "digits", input_spec("digits", cfg))
    return path, model


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("prune")
    ck, model = _checkpoint(tmp)
    assert main(["export", str(ck), "--out", str(tmp / "full"), "--samples", "6"]) == 0
    assert main(["export", str(ck), "--out", str(tmp / "pruned"), "--samples", "6",
                 "--prune-silent-shortcuts"]) == 0
    return load_bundle(tmp / "full"), load_bundle(tmp / "pruned"), model


def test_pruned_graph_drops_the_shortcut_and_its_merge(bundles):
    full, pruned, _ = bundles
    names = [l["name"] for l in pruned.layers]
    assert "b1.short" not in names and "b1.merge" not in names
    assert "b0.short" in names and "b2.merge" in names                 # the others fire: kept
    assert pruned.layer("b1.post0")["inputs"] == ["b1.main1"]
    assert len(pruned.layers) == len(full.layers) - 2
    info = pruned.manifest["pruning"]
    _, heldout_y = load_split("digits", "test", small_config())
    assert info["samples"] == len(heldout_y) and info["split"] == "test"
    assert info["pruned"] == [dict(shortcut="b1.short", merge="b1.merge", backbone="b1.main1")]
    assert not any(f.startswith("b1_short") for f in (l["roms"]["weights"]["file"] for l in pruned.layers
                                                      if "roms" in l))


def test_identical_scores_and_spikes_on_the_heldout_split(bundles):
    full, pruned, _ = bundles
    x, _ = load_split("digits", "test", small_config())
    a, b = Reference(full).run(x), Reference(pruned).run(x)
    assert np.array_equal(a.scores, b.scores)
    assert set(a.spikes) - set(b.spikes) == {"b1.short", "b1.merge"}
    for name, s in b.spikes.items():
        assert np.array_equal(a.spikes[name], s), name
    assert not a.spikes["b1.short"].any()
    assert np.array_equal(a.spikes["b1.merge"], a.spikes["b1.main1"])      # OR with silence = the backbone
    # The golden vectors of the pruned bundle are the reference's, layer for layer.
    g = pruned.golden()
    r = Reference(pruned).run(g["input"])
    assert np.array_equal(r.scores, g["scores"])
    assert all(np.array_equal(r.spikes[k], g[f"spikes/{k}"]) for k in r.spikes)
    assert "spikes/b1.short" not in g


def test_energy_drops_by_the_pruned_convolution(bundles):
    full, pruned, _ = bundles
    x, _ = load_split("digits", "test", small_config(), limit=32)
    ef = energy_for_bundle(full, Reference(full).run(x, keep_spikes=False))
    ep = energy_for_bundle(pruned, Reference(pruned).run(x, keep_spikes=False))
    short = next(l for l in ef.layers if l.name == "b1.short")
    assert short.ac > 0                                          # silent output, but it still accumulates input
    assert ep.total_ac == pytest.approx(ef.total_ac - short.ac)
    assert ep.total_spikes == pytest.approx(ef.total_spikes)     # the pruned LIF never fired


def test_hls_csim_runs_the_pruned_bundle_bit_exact(bundles):
    from syna_hw import hls_core
    _, pruned, _ = bundles
    x, _ = load_split("digits", "test", small_config(), limit=24)
    assert hls_core.check_bundle(pruned.root, x, lanes=4)


def test_rtl_twin_runs_the_pruned_bundle_bit_exact(bundles):
    from syna_hw import rtl_core
    _, pruned, _ = bundles
    r = rtl_core.rtl_stage(pruned.root, samples=3)
    assert r["bitexact"] and r["samples"] == 3, r["mismatches"]


def test_nothing_silent_nothing_pruned(tmp_path, capsys):
    ck, _ = _checkpoint(tmp_path, silence=())
    assert main(["export", str(ck), "--out", str(tmp_path / "b"), "--samples", "2", "--prune-silent-shortcuts",
                 "--prune-samples", "40"]) == 0
    assert "nothing pruned" in capsys.readouterr().out
    m = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert m["pruning"]["pruned"] == [] and m["pruning"]["samples"] == 40
    assert [l["name"] for l in m["layers"]].count("b1.short") == 1


def test_and_merge_with_a_silent_shortcut_is_refused(tmp_path, capsys):
    ck, _ = _checkpoint(tmp_path, merge="AND")
    assert main(["export", str(ck), "--out", str(tmp_path / "b"), "--prune-silent-shortcuts",
                 "--prune-samples", "20"]) == 2
    err = capsys.readouterr().err
    assert "'b1.short' feeds a AND merge" in err and "only OR merges can be pruned" in err


def test_a_firing_shortcut_cannot_be_pruned(tmp_path):
    x = random_inputs(4, seed=6)
    model = random_model(small_config(), x, seed=6)
    with pytest.raises(PruneError, match=r"shortcut 'b0.short' fires \d+ times on the golden samples"):
        write_bundle(model, tmp_path / "b", QuantSettings(input_scale=1 / 16), DIGITS_SPEC, x, prune=["b0.short"])


def test_prune_layers_names_what_it_cannot_do():
    from syna_contract.graph import build_graph
    layers = build_graph(small_config())
    with pytest.raises(PruneError, match=r"'b1.main0' is not a shortcut feeding a merge; shortcuts here: "
                                         r"\['b0.short', 'b1.short', 'b2.short'\]"):
        prune_layers(layers, ["b1.main0"])
    out, rec = prune_layers(layers, ["b0.short", "b2.short"])
    assert len(out) == len(layers) - 4 and [r["backbone"] for r in rec] == ["b0.main1", "b2.main1"]
    assert layers == build_graph(small_config())                       # the input list is not modified
    counts = {l["name"]: np.zeros(3) for l in layers if l["kind"] != "fc"}
    counts["b0.short"] = np.array([0, 1, 0])
    assert silent_shortcuts(layers, counts) == ["b1.short", "b2.short"]
