"""host/notebooks/syna_demo.ipynb runs end to end (nbclient); any cell error fails the test.

Without a board the notebook falls back to the reference backend and must say so."""
import os

import numpy as np
import pytest

from helpers import REPO, export_digits, export_dvs, random_events

NOTEBOOK = REPO / "host" / "notebooks" / "syna_demo.ipynb"
if os.environ.get("SYNA_REQUIRE_HOST_DEPS") == "1":          # make test / make host-test: no silent skip
    import nbclient
    import nbformat
else:
    nbformat = pytest.importorskip("nbformat", reason="pip install nbclient nbformat ipykernel (make host-venv)")
    nbclient = pytest.importorskip("nbclient", reason="pip install nbclient nbformat ipykernel (make host-venv)")


def run_notebook(monkeypatch, **env):
    for k, v in env.items():
        monkeypatch.setenv(k, str(v))
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")   # small matmuls: BLAS threads only contend on 2 cores
    monkeypatch.setenv("SYNA_TP_BATCH", "16")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()                       # raises CellExecutionError on any cell error
    text = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    images = sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code"
                 for o in c.get("outputs", []))
    return text, images


def test_notebook_on_frames_falls_back_to_simulation(tmp_path, monkeypatch):
    bundle, x, y = export_digits(tmp_path / "digits")
    rec = tmp_path / "digits.npz"
    np.savez(rec, frames=x[:16], labels=y[:16])
    text, images = run_notebook(monkeypatch, SYNA_BUNDLE=bundle, SYNA_RECORDINGS=rec,
                                SYNA_OVERLAY=tmp_path / "none.bit", SYNA_SHOW=5)
    assert "NO BOARD" in text and "reference" in text
    assert "sample    0: predicted" in text and "accuracy:" in text
    assert "Energy per sample (Eq. 11" in text and "throughput[images/s]" in text
    assert images == 1                     # the firing-rate bar chart


def test_notebook_with_only_the_bundle_takes_its_golden_samples(tmp_path, monkeypatch):
    """A board with only bundle/: no recordings given, none beside the notebook -> the bundle's golden
    samples (golden.npz is a recordings file), saying so. Before: FileNotFoundError recordings.npz."""
    bundle, _, _ = export_digits(tmp_path / "digits", golden=3)
    monkeypatch.delenv("SYNA_RECORDINGS", raising=False)
    text, images = run_notebook(monkeypatch, SYNA_BUNDLE=bundle, SYNA_BACKEND="reference", SYNA_SHOW=5)
    assert f"classifying the bundle's 3 golden samples ({bundle / 'golden.npz'}) instead" in text
    assert "3 recordings of frames" in text and "sample    2: predicted" in text and "(golden.npz[2])" in text
    assert "accuracy:" in text and images == 1


def test_notebook_runs_a_ddr_model(tmp_path, monkeypatch):
    """A model with its weights in DDR (SYNA_WEIGHTS=ddr): the hls backend's DDR-mode C-simulation reads
    the bundle's DDR image; the notebook prints the image and the throughput test its DDR bytes."""
    from syna_contract import ddr_image
    from syna_contract.bundle import load_bundle
    bundle, _, _ = export_digits(tmp_path / "digits", golden=4)
    ddr_image.add_image(load_bundle(bundle), 16)
    text, images = run_notebook(monkeypatch, SYNA_BUNDLE=bundle, SYNA_BACKEND="hls", SYNA_WEIGHTS="ddr", SYNA_SHOW=4)
    assert "weights in DDR: the bundle's image for P = 16" in text and "backend hls" in text
    assert "sample    3: predicted" in text and "accuracy:" in text and images == 1
    assert "DDR_bytes_source             counted (C-sim)" in text and "DDR_weights_bandwidth[MB/s]" in text


def test_notebook_on_events(tmp_path, monkeypatch):
    bundle, _ = export_dvs(tmp_path / "dvs")
    rng = np.random.default_rng(0)
    parts = [random_events(rng, int(n), 8, 8) for n in (500, 800, 1200)]
    offsets = np.concatenate([[0], np.cumsum([len(p[0]) for p in parts])])
    rec = tmp_path / "events.npz"
    np.savez(rec, **{k: np.concatenate([p[i] for p in parts]) for i, k in enumerate("xypt")}, offsets=offsets)
    text, images = run_notebook(monkeypatch, SYNA_BUNDLE=bundle, SYNA_RECORDINGS=rec, SYNA_BACKEND="reference")
    assert "3 event recordings" in text and "sample    2: predicted" in text and images == 1


def test_notebook_on_event_files(tmp_path, monkeypatch):
    """A folder of N-MNIST-format files laid out <label>/<file>.bin, read by host.eventfiles."""
    from host.eventfiles import write_nmnist
    bundle, _ = export_dvs(tmp_path / "dvs")
    rng = np.random.default_rng(1)
    root = tmp_path / "recordings"
    for i, (label, n) in enumerate([(3, 600), (7, 900)]):
        (root / str(label)).mkdir(parents=True)
        write_nmnist(root / str(label) / f"{i:05d}.bin", *random_events(rng, n, 8, 8))
    text, images = run_notebook(monkeypatch, SYNA_BUNDLE=bundle, SYNA_RECORDINGS=root, SYNA_BACKEND="reference")
    assert "2 event files" in text and "sample    1: predicted" in text and "label 7" in text
    assert "accuracy:" in text and images == 1


def test_cli_classify_reads_the_same_recordings(tmp_path, capsys):
    """``python -m host classify`` goes through host.recordings like the notebook: same predictions."""
    from host.__main__ import main
    from host.core import SpikingCore
    from host.eventfiles import write_nmnist
    from host.recordings import classify_recordings
    bundle, _ = export_dvs(tmp_path / "dvs")
    rng = np.random.default_rng(2)
    root = tmp_path / "recordings"
    for i, label in enumerate([1, 1, 4]):
        (root / str(label)).mkdir(parents=True, exist_ok=True)
        write_nmnist(root / str(label) / f"{i}.bin", *random_events(rng, 700, 8, 8))
    assert main(["classify", str(bundle), str(root), "--backend", "reference"]) == 0
    out = capsys.readouterr()
    rows = [l.split("\t") for l in out.out.splitlines()]
    with SpikingCore(bundle, backend="reference") as core:
        r = classify_recordings(core, root)
    assert [int(p) for _, _, p, _ in rows] == r.predicted.tolist() and [int(t) for *_, t in rows] == [1, 1, 4]
    assert [name for _, name, _, _ in rows] == ["1/0.bin", "1/1.bin", "4/2.bin"] == r.names
    assert "3 event files" in out.err and "accuracy" in out.err
    with pytest.raises(FileNotFoundError, match="no such recording file or folder"):
        with SpikingCore(bundle, backend="reference") as core:
            classify_recordings(core, tmp_path / "missing.npz")
