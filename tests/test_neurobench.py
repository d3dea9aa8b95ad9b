"""NeuroBench metrics of the shipped checkpoint through the neurobench package, cross-checked against
independent counts, next to the integer model's (model_export/neurobench_metrics.py, docs/neurobench.md)."""
import json

import numpy as np
import pytest
import torch

from model_export.checkpoint import load_checkpoint
from model_export.cli import main
from model_export.demo import SHIPPED
from model_export.neurobench_metrics import neurobench_report
from syna_contract.boards import get_board

SAMPLES = 24


@pytest.fixture(scope="module")
def report():
    return neurobench_report(SHIPPED, samples=SAMPLES, board="pynq-z2")


def _float_model_counts(x_float, labels):
    """Accuracy, activation sparsity and dense synaptic ops of the float model, counted here without neurobench."""
    model = load_checkpoint(SHIPPED).model
    spikes = {}
    hooks = [m.register_forward_hook(lambda mod, a, o, n=n: spikes.setdefault(n, []).append(o))
             for n, m in model.lif_layers().items()]
    with torch.no_grad():
        pred = model(torch.from_numpy(x_float).float().transpose(0, 1)).argmax(1).numpy()
    for h in hooks:
        h.remove()
    fired = sum(float(torch.cat(v, 1).sum()) for v in spikes.values())
    total = sum(torch.cat(v, 1).numel() for v in spikes.values())
    steps = model.config.steps
    dense = 0
    from syna_contract.graph import build_graph
    for l in build_graph(model.config):
        if l["kind"] == "conv_lif":
            (cin, h, w), k, s, p = l["in_shape"], l["kernel"], l["stride"], l["padding"]
            ho, wo = l["out_shape"][1:]
            rows = sum(sum(1 for ky in range(k) if 0 <= y * s + ky - p < h) for y in range(ho))
            cols = sum(sum(1 for kx in range(k) if 0 <= x * s + kx - p < w) for x in range(wo))
            dense += steps * rows * cols * cin * l["out_shape"][0]        # in-image taps only (no padding)
        elif l["kind"] == "fc":
            dense += steps * l["in_shape"][0] * l["out_shape"][0]
    return float((pred == labels).mean()), 1 - fired / total, dense


def test_neurobench_metrics_match_independent_counts(report):
    from model_export.data import load_split
    ck = load_checkpoint(SHIPPED)
    x, y = load_split(ck.dataset, "test", ck.model.config, limit=SAMPLES)
    acc, sparsity, dense = _float_model_counts(x * ck.input_spec["scale"], y)
    nb = report.neurobench
    assert nb["ClassificationAccuracy"] == pytest.approx(acc)
    assert nb["ActivationSparsity"] == pytest.approx(sparsity)
    assert nb["SynapticOperations"]["Dense"] == pytest.approx(dense)
    ops = nb["SynapticOperations"]
    assert 0 < ops["Effective_ACs"] < dense and 0 < ops["Effective_MACs"] < dense
    assert nb["ParameterCount"] == sum(p.numel() for p in ck.model.parameters())
    assert 0 <= nb["ConnectionSparsity"] < 0.05                      # float weights are almost never exactly 0


def test_our_counts_and_the_modelled_rate(report):
    from model_export.data import load_split
    from syna_contract.bundle import load_bundle
    from model_export.export import export_checkpoint
    o, rate = report.ours, report.rate
    assert report.samples == SAMPLES
    assert 0.5 < o["activation_sparsity"] < 1 and 0.3 < o["connection_sparsity"] < 0.9    # 4-bit weights: many 0s
    assert o["mac"] > 0 and o["ac"] > 0 and o["energy_nj"] > 0
    assert rate["cycles"] > 0 and rate["inferences_per_s"] == pytest.approx(
        get_board("pynq-z2").clock_mhz * 1e6 / rate["cycles"])
    assert "modelled" in rate["source"]
    text = report.table()
    assert "modelled" in text and "NeuroBench 2.3.0" in text
    assert any("merges" in n and "attention" in n for n in report.notes)


def test_cli_writes_json(tmp_path, capsys):
    out = tmp_path / "nb.json"
    assert main(["neurobench", str(SHIPPED), "--samples", "8", "--json", str(out)]) == 0
    d = json.loads(out.read_text())
    assert set(d) >= {"neurobench", "ours", "rate", "notes"} and d["samples"] == 8
    assert "execution rate" in capsys.readouterr().out
