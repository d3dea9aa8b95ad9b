"""The board-side install is numpy only: a fresh venv with nothing but numpy < 2 (what PYNQ images
pin) imports ``host`` and classifies the demo bundle with the reference backend, the same labels and
scores as the bundle's golden vectors. (test_host_isolation.py blocks torch inside the full venv;
this one proves the light install works on its own.)"""
import json
import subprocess
import sys
import textwrap

from helpers import REPO, export_digits

SCRIPT = textwrap.dedent(r"""
    import json, sys
    import numpy as np
    from host import SpikingCore
    from syna_contract.bundle import load_bundle
    b = load_bundle(sys.argv[1])
    g = b.golden()
    core = SpikingCore(sys.argv[1], backend="reference")
    pred = core.classify_batch(g["input"])
    mods = sorted({m.split(".")[0] for m in sys.modules})
    print(json.dumps(dict(numpy=np.__version__, labels=pred.labels.tolist(),
                          same_scores=bool(np.array_equal(pred.scores, g["scores"])),
                          golden_labels=np.argmax(g["scores"], axis=1).tolist(), modules=mods)))
""")


def test_numpy_only_venv_classifies_the_demo_bundle(tmp_path):
    bundle, _, _ = export_digits(tmp_path / "bundle")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    pip = subprocess.run([str(py), "-m", "pip", "install", "-q", "numpy<2"], capture_output=True, text=True,
                         timeout=600)
    assert pip.returncode == 0, f"pip install numpy<2 failed (needs PyPI, as CI's installs do):\n{pip.stderr[-2000:]}"
    r = subprocess.run([str(py), "-c", SCRIPT, str(bundle)], cwd=tmp_path, capture_output=True, text=True,
                       timeout=300, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "OPENBLAS_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["numpy"].startswith("1."), out["numpy"]
    assert out["same_scores"] and out["labels"] == out["golden_labels"]
    assert not {"torch", "spikingjelly", "sklearn", "matplotlib", "tqdm"} & set(out["modules"])
