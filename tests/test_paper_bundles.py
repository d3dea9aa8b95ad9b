"""Paper networks (model_export/paper_nets.py) and paper-size bundles with calibrated random weights
(model_export/paper_bundles.py). CI runs the same code on narrow / small versions of the three nets
(seconds); the full-size bundles are measured by `python -m model_export paper-bundle` (docs/results.md)."""
import json

import numpy as np
import pytest

from model_export.cli import main
from model_export.paper_bundles import paper_bundle, synthetic_inputs
from model_export.paper_nets import PAPER_NETS, paper_config, paper_input_spec
from syna_contract.bundle import load_bundle
from syna_contract.graph import build_graph
from syna_contract.reference import Reference


def test_paper_nets_are_table_ix_at_full_size():
    """The three named configurations build the layer graphs of Table IX (11.2 M weights for DVS Gesture)."""
    expect = {"dvs_gesture": ((2, 128, 128), 7, 2, True, 11, [64, 64, 64]),
              "cifar10_dvs": ((2, 48, 48), 3, 2, True, 10, [64, 24, 24]),
              "mnist": ((1, 28, 28), 3, 1, False, 10, [64, 28, 28])}
    for name, (shape, k, s, pool, classes, stem_out) in expect.items():
        cfg = paper_config(name)
        spec = paper_input_spec(name, cfg)
        assert cfg.steps == 16 == spec["steps"] and cfg.width == 1 and cfg.merge == "OR" and not cfg.input_pool
        assert (spec["channels"], spec["height"], spec["width"]) == shape
        layers = build_graph(cfg)
        assert layers[0]["kernel"] == k and layers[0]["stride"] == s and layers[0]["out_shape"] == stem_out
        assert (layers[1]["kind"] == "maxpool_or") == pool
        convs = [l for l in layers if l["kind"] == "conv_lif"]
        assert len(convs) == 20 and layers[-1]["out_shape"] == [classes]
        assert [l["out_shape"][0] for l in convs[-5:]] == [512] * 5
    weights = sum(l["in_shape"][0] * l["kernel"] ** 2 * l["out_shape"][0]
                  for l in build_graph(paper_config("dvs_gesture")) if l["kind"] == "conv_lif") + 512 * 11
    assert weights == 11_169_408
    assert paper_input_spec("dvs_gesture", paper_config("dvs_gesture"))["pool"] == 1
    assert paper_config("dvs_gesture", steps=32).steps == 32
    with pytest.raises(ValueError, match="unknown paper network"):
        paper_config("imagenet")


@pytest.mark.parametrize("net", list(PAPER_NETS))
def test_synthetic_inputs_fit_the_spec(net):
    spec = paper_input_spec(net, paper_config(net, input_size=16, steps=4))
    x = synthetic_inputs(spec, 3, seed=1)
    assert x.shape == (3, 4, spec["channels"], 16, 16) and x.min() >= 0 and x.max() <= 2 ** spec["bits"] - 1
    assert 0.02 < (x > 0).mean() < 0.9                        # neither empty nor saturated
    np.testing.assert_array_equal(x, synthetic_inputs(spec, 3, seed=1))
    if spec["static"]:
        assert (x == x[:, :1]).all()


# (net, knobs): the same code as full size, on networks small enough for CI
SMALL = [("dvs_gesture", dict(width=0.125, input_size=32, steps=8)),
         ("cifar10_dvs", dict(width=0.125, input_size=24, steps=8)),
         ("mnist", dict(width=0.125, input_size=16, steps=8))]


@pytest.mark.parametrize("net,knobs", SMALL, ids=[n for n, _ in SMALL])
def test_paper_bundle_fires_at_the_target_and_matches_the_reference(tmp_path, net, knobs):
    rep = paper_bundle(net, tmp_path / "b", samples=2, seed=3, **knobs)
    assert rep.golden_matches_reference
    b = load_bundle(rep.bundle)
    assert b.manifest["source"]["paper_net"] == net and "ddr_image" not in b.manifest
    for l in b.layers:
        if l["kind"] == "conv_lif":          # every neuron layer fires at 5-20 % on the integer reference
            assert 0.05 <= rep.rates[l["name"]] <= 0.20, (l["name"], rep.rates)
        elif l["kind"] == "merge":
            assert 0.05 <= rep.rates[l["name"]] <= 0.25, (l["name"], rep.rates)
    # independent of the report: the reference on the golden inputs, every layer's spikes
    g = b.golden()
    r = Reference(b).run(g["input"])
    np.testing.assert_array_equal(r.scores, g["scores"])
    for name, s in r.spikes.items():
        np.testing.assert_array_equal(s, g[f"spikes/{name}"])
        assert rep.rates[name] == pytest.approx(float(s.mean()))


def test_paper_bundle_rate_is_a_knob(tmp_path):
    low = paper_bundle("mnist", tmp_path / "low", samples=1, rate=0.06, width=0.125, input_size=16, steps=4)
    high = paper_bundle("mnist", tmp_path / "high", samples=1, rate=0.15, width=0.125, input_size=16, steps=4)
    for name in ("f0", "f3", "b1.post0"):
        assert low.rates[name] < 0.10 < high.rates[name], (low.rates, high.rates)


def test_cli_paper_bundle_with_ddr_image(tmp_path, capsys):
    out = tmp_path / "b"
    assert main(["paper-bundle", "--net", "cifar10_dvs", "--out", str(out), "--width", "0.125", "--input-size", "16",
                 "--steps", "4", "--samples", "1", "--ddr-image", "--lanes", "8", "--json", str(tmp_path / "r.json")]) == 0
    text = capsys.readouterr().out
    assert "every spike and score equal" in text and "DDR image: weights.ddr.bin" in text and "b2.post1" in text
    rep = json.loads((tmp_path / "r.json").read_text())
    b = load_bundle(out)
    assert rep["ddr_image"] == b.manifest["ddr_image"] and b.manifest["ddr_image"]["lanes"] == 8
    assert set(rep["seconds"]) >= {"calibrate", "export", "reference_per_sample"} and set(rep["cpu_seconds"]) == set(rep["seconds"])
    assert main(["paper-bundle", "--net", "mnist", "--out", str(out), "--ddr-image"]) == 2
    assert "--ddr-image needs --lanes P" in capsys.readouterr().err
    assert main(["paper-bundle", "--net", "mnist", "--out", str(out), "--lanes", "8"]) == 2
    assert "add --ddr-image" in capsys.readouterr().err
    assert main(["ddr-image", str(out), "--lanes", "4"]) == 0
    assert "P = 4 lanes" in capsys.readouterr().out and load_bundle(out).manifest["ddr_image"]["lanes"] == 4
