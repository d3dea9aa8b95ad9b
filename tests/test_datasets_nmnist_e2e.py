"""N-MNIST end to end: files in the original layout (written here) -> load_split('nmnist') -> a small
model of the 'nmnist' preset -> bundle -> the integer reference equals the torch fake-quant golden
vectors and the HLS core's g++ C-simulation bit for bit, the planner fits it on a ZCU104 and (since the
RTL's spike memory is banked by map width) on a PYNQ-Z2, but not the next width on a PYNQ-Z2, and the
host driver makes the same frames from the raw file as training did."""
from pathlib import Path

import numpy as np
import pytest
import torch

from host import SpikingCore
from host.eventfiles import read_events
from syna_contract.bundle import load_bundle
from model_export.data import input_spec, load_split
from model_export.export import bundle_layers, write_bundle
from syna_hw.hls_core import HlsCore, compare
from model_export.model import SynAResNet, make_config
from syna_hw.plan import plan_bundle, plan_layers
from model_export.quant import QuantSettings, quantize_model
from syna_contract.reference import Reference
from model_export.testing import randomize

from helpers import write_nmnist_folder

WIDTH, WEIGHT_BITS = 0.125, 8          # 8-16-32-64 channels: 85 BRAM36 at P = 16 (125 before the banked spike memory)


@pytest.fixture(scope="module")
def nmnist(tmp_path_factory):
    root = write_nmnist_folder(tmp_path_factory.mktemp("NMNIST"), per_digit=(1, 1))
    cfg = make_config("nmnist", width=WIDTH)
    spec = input_spec("nmnist", cfg)
    xtr, _ = load_split("nmnist", "train", cfg, root=root)
    x, y = load_split("nmnist", "test", cfg, root=root, limit=4)
    model = randomize(SynAResNet(cfg), torch.from_numpy(xtr.astype(np.float32)).transpose(0, 1), seed=0)
    out = tmp_path_factory.mktemp("bundle") / "nmnist"
    write_bundle(model, out, QuantSettings(weight_bits=WEIGHT_BITS, input_scale=spec["scale"]), spec, x, y)
    return root, cfg, load_bundle(out), x, y


def test_nmnist_bundle_reference_equals_golden_and_hls_csim(nmnist):
    _, cfg, bundle, x, _ = nmnist
    assert bundle.input_spec["channels"] == 2 and bundle.input_spec["height"] == 34 and x.shape[1:] == (10, 2, 34, 34)
    ref = Reference(bundle).run(x)
    golden = bundle.golden()
    assert np.array_equal(ref.scores, golden["scores"])                    # the fake-quant torch model
    assert all(int(ref.spike_counts[n].sum()) > 0 for n in ref.spike_counts)   # every layer spikes
    res = HlsCore(bundle).compile().run(x)                                   # g++ C-simulation of hls/src
    assert compare(res, ref) is None, compare(res, ref)


def test_nmnist_plan_fits_both_boards_and_the_next_width_not_pynq_z2(nmnist):
    """At 34x34 and T = 10 the RTL's spike memory holds T*34*34 positions per live map. Banked by map width
    (docs/rtl.md "Spike memory": the 8..64-channel maps in 8 banks of 8 bits) it and the accumulators fit
    PYNQ-Z2's block RAM budget (85 of 112 BRAM36; as one 64-bit-wide memory it took 125, over the budget);
    ZCU104 holds it too. Width 0.25 does not fit PYNQ-Z2 (what Yosys counts, tests/test_lowering.py)."""
    _, cfg, bundle, _, _ = nmnist
    rep = plan_bundle(bundle, "pynq-z2")
    spk = next(m for m in rep.memories if m.what == "spike maps")
    assert rep.fits and spk.count == 8 and rep.bram36 <= 112, rep.table()
    assert plan_bundle(bundle, "zcu104").fits
    wider = make_config("nmnist", width=0.25)
    q = quantize_model(SynAResNet(wider).eval(), QuantSettings(weight_bits=4, input_scale=1.0))
    layers, _ = bundle_layers(q, input_spec("nmnist", wider))
    numerics = dict(bundle.numerics, weight_bits=4)
    assert not plan_layers(layers, input_spec("nmnist", wider), numerics, "pynq-z2").fits


def test_host_makes_the_training_frames_from_the_raw_file(nmnist):
    root, _, bundle, x, y = nmnist
    core = SpikingCore(bundle.root, backend="reference")
    ref = Reference(bundle).run(x)
    for i in range(len(x)):
        files = sorted((Path(root) / "Test" / str(int(y[i]))).glob("*.bin"))
        assert len(files) == 1
        ev = read_events(files[0])
        frames = core.events_to_frames(ev.x, ev.y, ev.p, ev.t)
        assert np.array_equal(frames, x[i])
        assert np.array_equal(core.classify_events(ev.x, ev.y, ev.p, ev.t).scores, ref.scores[i])


def test_nmnist_bundle_on_the_rtl_twin(nmnist):
    """The same bundle through the RTL twin (Verilator): every layer's spikes at every step and the
    scores equal the golden vectors, as the demo's RTL stage checks."""
    from syna_hw.rtl_core import rtl_stage
    _, _, bundle, _, _ = nmnist
    r = rtl_stage(bundle.root, samples=2)
    assert r["bitexact"], r["mismatches"]
    assert r["samples"] == 2 and r["cycles_per_inference"] > 0
