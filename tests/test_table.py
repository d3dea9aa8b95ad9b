"""`table` (Table III-style comparison) and `plot` (PNG) on small trained runs."""
from __future__ import annotations

import json

import numpy as np
import pytest

from syna_contract.boards import BOARDS

from model_export import train as tr
from model_export.analysis import evaluate_spikes
from model_export.checkpoint import load_checkpoint
from model_export.cli import main
from model_export.data import load_split
from syna_contract.energy import energy_report
from syna_contract.graph import build_graph
from model_export.plots import PLOT_FILES, metrics_path, plot_run, read_metrics
from model_export.recipe import TrainArgs
from model_export.table import compare_runs, energy_layers

RUN = dict(dataset="digits", preset="mnist", width=0.125, input_size=8, steps=4, batch_size=32, lr=5e-2,
           epochs=2, train_limit=96, eval_limit=48, threads=1, device="cpu", plots=False)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("runs")
    return {m: tr.train(TrainArgs(**RUN, merge=m, out=str(tmp / f"{m.lower()}.pt"))) for m in ("OR", "ADD")}


def test_table_rows_are_measured_on_the_heldout_split(runs, capsys):
    t = compare_runs([runs["OR"], runs["ADD"]], samples=40)
    or_row, add_row = t.rows
    assert (or_row.merge, add_row.merge, or_row.samples) == ("OR", "ADD", 40)
    ck = load_checkpoint(runs["OR"])
    x, y = load_split("digits", "test", ck.model.config, limit=40)
    st = evaluate_spikes(ck.model, x, y, 1 / 16, "mse")
    assert or_row.float_acc == st.accuracy and or_row.silent_float == st.silent_shortcuts()
    assert or_row.spikes == pytest.approx(st.spikes_per_sample())
    rep = energy_report(build_graph(ck.model.config), ck.input_spec, st.per_sample, 40)
    assert (or_row.mac, or_row.ac, or_row.energy_mj) == pytest.approx((rep.total_mac, rep.total_ac, rep.total_mj))
    assert or_row.int_acc is not None and or_row.weight_bits == 8 and add_row.int_acc is None
    assert set(or_row.fits) == set(BOARDS) and add_row.fits is None
    assert (or_row.arch, or_row.spike_driven, add_row.spike_driven) == ("syna-resnet", True, False)
    assert main(["table", str(runs["OR"]), str(runs["ADD"]), "--samples", "40", "--markdown",
                 "--json", str(runs["OR"].parent / "t.json")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("| run | arch | merge |") and "n/a (not exportable)" in out
    assert "| or | syna-resnet | OR | none | yes |" in out and "| add | syna-resnet | ADD | none | no |" in out
    assert json.loads((runs["OR"].parent / "t.json").read_text())["rows"][1]["merge"] == "ADD"


def test_add_merge_makes_the_next_conv_multiply():
    layers = energy_layers(build_graph(_cfg("ADD")))
    post0 = [l for l in layers if l["name"].endswith(".post0")]
    assert all(l["encoder"] for l in post0)
    assert not any(l.get("encoder") for l in energy_layers(build_graph(_cfg("OR"))) if l["name"] != "stem")
    counts = {l["name"]: np.ones(2) for l in layers if l["kind"] != "fc"}
    rep = energy_report(layers, dict(steps=4), counts, 2)
    row = next(l for l in rep.layers if l.name == "b1.post0")
    assert row.mac == row.flops and row.ac == 0                     # dense MACs, like the encoder


def _cfg(merge):
    from model_export.model import make_config
    return make_config("mnist", width=0.125, input_size=8, steps=4, merge=merge)


def test_plots_from_a_run_and_its_directory(runs, tmp_path):
    paths = plot_run(runs["OR"], out_dir=tmp_path / "p")
    assert [p.name for p in paths] == list(PLOT_FILES)
    for p in paths:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 10_000
    assert main(["plot", str(runs["OR"])]) == 0
    assert (runs["OR"].parent / "or.plots" / "firing_heatmap.png").is_file()
    # A directory with two runs is ambiguous: the error says what it found.
    with pytest.raises(FileNotFoundError, match=r"expected one \*\.metrics\.jsonl file .* found \['add"):
        metrics_path(runs["OR"].parent)
    assert len(read_metrics(metrics_path(runs["OR"]))) == 2


def test_plot_errors_name_the_file_and_line(tmp_path, capsys):
    bad = tmp_path / "x.metrics.jsonl"
    bad.write_text('{"phase": "float", "epoch": 1}\nnot json\n')
    with pytest.raises(ValueError, match=r"x.metrics.jsonl:2: not a JSON line"):
        read_metrics(bad)
    assert main(["plot", str(tmp_path / "missing.pt")]) == 2
    assert "metrics file not found" in capsys.readouterr().err


def test_top_level_help_lists_plot_and_table():
    import subprocess
    import sys
    r = subprocess.run([sys.executable, "-m", "model_export", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "plot" in r.stdout and "table" in r.stdout


def test_plot_says_what_it_cannot_draw_and_never_writes_into_the_package(tmp_path, monkeypatch):
    """The shipped checkpoint's metrics predate firing rates: only curves.png, and a line saying why;
    the default output directory is then the working directory, not model_export/checkpoints/."""
    from model_export import plots
    shipped = plots.PACKAGE_DIR / "checkpoints" / "digits_or.pt"
    before = sorted(p.name for p in shipped.parent.iterdir())
    monkeypatch.chdir(tmp_path)
    said = []
    paths = plot_run(shipped, say=said.append)
    assert [p.name for p in paths] == ["curves.png"]
    assert paths[0].parent == tmp_path / "digits_or.plots"
    assert len(said) == 1 and "firing_heatmap.png" in said[0] and "firing_rates" in said[0]
    assert sorted(p.name for p in shipped.parent.iterdir()) == before


def test_table_names_the_float_figure_and_reads_energy_in_a_fitting_unit():
    from model_export.table import RunRow, Table
    row = RunRow("r", "r.pt", "digits", "OR", "none", 4, 540, float_acc=96.11, int_acc=97.78, weight_bits=4,
                 spikes=3277.0, spikes_per_neuron=0.34, mac=3.7e4, ac=8.6e5, energy_mj=0.000941,
                 float_acc_before_qat=97.04)
    md = Table([row]).markdown()
    assert "| 97.04 (96.11 after QAT) |" in md and "energy (nJ)" in md and "| 941 |" in md
    assert "end of float training" in md
