"""The core's three executable models -- the HLS C++ (C-simulation), the RTL twin (Verilator) and the
host's numpy emulator -- send the same output packet word for word (docs/core-interface.md), on good
input and after every kind of input error. Only the cycles word differs (the emulator has no clock).
"""
import numpy as np
import pytest

from syna_contract import protocol as P
from host.emulator import CoreEmulator
from syna_hw import hls_core as hc
from syna_hw import rtl_core as rc
from syna_contract.bundle import load_bundle
from model_export.demo import SHIPPED
from model_export.export import export_checkpoint


@pytest.fixture(scope="module")
def twins(tmp_path_factory):
    bundle = load_bundle(export_checkpoint(SHIPPED, tmp_path_factory.mktemp("twins") / "bundle", samples=2))
    hls = hc.HlsCore(bundle, build_root=tmp_path_factory.getbasetemp() / "hls_build").compile()
    rtl = rc.RtlCore(bundle)
    yield bundle, {"hls": hls, "rtl": rtl, "emulator": CoreEmulator(bundle)}
    rtl.close()


def _cases(bundle):
    spec = bundle.input_spec
    words = P.pack_frames(bundle.golden()["input"][0], spec["bits"])
    steps = spec["steps"]
    return {
        "good": (words, steps),
        "frame_short": (words[: len(words) // 2], steps),
        "frame_long": (np.concatenate([words, words[:3]]), steps),
        "steps_mismatch": (words, steps + 1),
    }


@pytest.mark.parametrize("case", ["good", "frame_short", "frame_long", "steps_mismatch"])
def test_same_packet(twins, case):
    bundle, cores = twins
    words, steps = _cases(bundle)[case]
    classes = bundle.layers[-1]["out_shape"][0]
    spiking = [l["name"] for l in bundle.layers if l["kind"] != "fc"]
    cycles_word = classes + len(spiking)
    packets = {name: np.asarray(core.transfer(words, steps), dtype=np.uint32) for name, core in cores.items()}
    for name, pk in packets.items():
        assert len(pk) == cycles_word + 3, f"{name}: packet of {len(pk)} words, expected {cycles_word + 3}"
    ref = np.delete(packets["emulator"], cycles_word)
    for name in ("hls", "rtl"):
        assert np.array_equal(np.delete(packets[name], cycles_word), ref), (
            f"{case}: {name} packet differs from the emulator's (cycles excluded)\n"
            f"{name}: {np.delete(packets[name], cycles_word)}\nemulator: {ref}")
    status = int(ref[-1])
    if case == "good":
        assert status & P.STATUS_ERRORS == 0 and ref[:classes].any()
    else:
        # the documented error packet: the status names the error, scores, counts and saturations are 0
        assert status & {"frame_short": P.STATUS_FRAME_SHORT, "frame_long": P.STATUS_FRAME_LONG,
                         "steps_mismatch": P.STATUS_STEPS_MISMATCH}[case]
        assert not ref[:cycles_word].any() and ref[-2] == 0 and status & P.STATUS_SATURATED == 0


@pytest.fixture(scope="module")
def att_twins(tmp_path_factory):
    """A small random model with SynA attention in dim T (MA on the backbone, IA on the shortcuts)."""
    from conftest import DIGITS_SPEC, random_inputs, random_model, small_config

    from model_export.export import write_bundle
    from model_export.model import AttentionSpec
    from model_export.quant import QuantSettings
    root = tmp_path_factory.mktemp("twins_att") / "bundle"
    x = random_inputs(2, seed=9)
    write_bundle(random_model(small_config("IAND", AttentionSpec("T", "b")), x, seed=9), root,
                 QuantSettings(input_scale=1 / 16), DIGITS_SPEC, x)
    bundle = load_bundle(root)
    assert any(l.get("attention") for l in bundle.layers)
    hls = hc.HlsCore(bundle, lanes=8, build_root=tmp_path_factory.getbasetemp() / "hls_build_att").compile()
    rtl = rc.RtlCore(bundle, lanes=8)
    yield bundle, {"hls": hls, "rtl": rtl, "emulator": CoreEmulator(bundle)}
    rtl.close()


@pytest.mark.parametrize("case", ["good", "steps_mismatch"])
def test_same_packet_with_attention(att_twins, case):
    """The RTL's attention (MA/IA) gives the HLS core's and the emulator's packet, saturations included."""
    bundle, cores = att_twins
    words, steps = _cases(bundle)[case]
    classes = bundle.layers[-1]["out_shape"][0]
    cycles_word = classes + len([l for l in bundle.layers if l["kind"] != "fc"])
    packets = {name: np.delete(np.asarray(core.transfer(words, steps), dtype=np.uint32), cycles_word)
               for name, core in cores.items()}
    for name in ("hls", "rtl"):
        assert np.array_equal(packets[name], packets["emulator"]), (case, name, packets[name], packets["emulator"])
    if case == "good":
        assert packets["emulator"][:classes].any()
