"""host/ runs on a board's Python: numpy and pynq only. Proven in a subprocess where torch and
spikingjelly cannot be imported at all (a sys.meta_path blocker), exercising every host entry point."""
import json
import os
import subprocess
import sys
import textwrap

from helpers import REPO, export_digits

SCRIPT = textwrap.dedent(r"""
    import importlib.abc, json, sys
    BLOCKED = ("torch", "spikingjelly", "torchvision")

    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"{name} is blocked: the host driver must not import it")
            return None

    sys.meta_path.insert(0, Blocker())
    import numpy as np
    import host
    from host import SpikingCore, demo_stage, events_to_frames
    from host.fakeboard import FakeBoard, pynq_available
    import host.backends, host.core, host.emulator, host.events, syna_contract.protocol

    bundle = sys.argv[1]
    from syna_contract.bundle import load_bundle
    b = load_bundle(bundle)
    x = b.golden()["input"]
    out = {}
    core = SpikingCore(bundle, backend="reference")
    out["reference"] = core.classify_batch(x).labels.tolist()
    out["energy_mj"] = core.energy().total_mj
    out["counters"] = core.counters()["samples"]
    out["throughput"] = core.throughput_test(batch=2)["batch_size"]
    board = FakeBoard(bundle)
    ov = board.overlay()
    pcore = SpikingCore(bundle, backend="pynq", overlay=ov, allocate=ov.allocate)
    out["pynq"] = pcore.classify_batch(x).labels.tolist()
    out["real_pynq"] = pynq_available()
    rng = np.random.default_rng(0)
    t = np.sort(rng.integers(0, 1000, 100))
    out["events"] = int(events_to_frames(rng.integers(0, 8, 100), rng.integers(0, 8, 100),
                                         rng.integers(0, 2, 100), t, 8, 8, frames=4).sum())
    out["demo"] = demo_stage(bundle, x, None, backends=["reference"])["host_backends"]
    out["leaked"] = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
    print(json.dumps(out))
""")


def test_host_never_imports_torch_or_spikingjelly(tmp_path):
    bundle, _, _ = export_digits(tmp_path / "digits")
    env = dict(os.environ, PYTHONPATH=str(REPO), OPENBLAS_NUM_THREADS="1")
    r = subprocess.run([sys.executable, "-c", SCRIPT, str(bundle)], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["leaked"] == []
    assert out["reference"] == out["pynq"] and len(out["reference"]) == 4
    from host.fakeboard import pynq_available
    assert out["real_pynq"] == pynq_available()            # pynq itself imports no torch either
    assert out["events"] == 100 and out["demo"] is True and out["counters"] == 4 and out["energy_mj"] > 0
