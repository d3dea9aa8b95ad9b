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


# --------------------------------------------------------------------------- issue 19: faults on every core
IDLE = 500        # IDLE_TIMEOUT for the abandoned-transfer cases (cycles; the default 2^24 is slow to simulate)


def _send(name, core, words, steps, tlast=True, idle=0):
    """One inference on any of the three cores: TLAST on the last word or (tlast=False) on none, with
    IDLE_TIMEOUT = idle (0: the default)."""
    if name == "hls":
        return core.transfer(words, steps, None if tlast else -1, idle_timeout=idle)
    if name == "rtl":
        core.reg_write(P.REG_IDLE_TIMEOUT, idle)
        r = core.run(words, steps, tlast=tlast, max_cycles=200_000)
        assert not r.timed_out, "the RTL core hung (no output packet within 200,000 cycles)"
        return r.out
    return core.transfer(words, steps, tlast=tlast)


def _fault_cases(bundle):
    spec = bundle.input_spec
    words = P.pack_frames(bundle.golden()["input"][0], spec["bits"])
    steps = spec["steps"]
    high = words | np.uint32(0xE0E0E0E0)         # 5-bit values in 8-bit lanes: the 3 high bits of every lane set
    one = words.copy()
    one[len(one) // 2] |= np.uint32(1 << 31)      # one lane, one bit too high
    return {                                     # (words, steps, tlast, expected status)
        "lane_high_bits": (high, steps, True, P.STATUS_INPUT_RANGE),
        "one_lane_high_bit": (one, steps, True, P.STATUS_INPUT_RANGE),
        "steps_mismatch_and_short": (words[: len(words) // 2], steps + 1, True,
                                     P.STATUS_STEPS_MISMATCH | P.STATUS_FRAME_SHORT),
        "steps_mismatch_and_long": (np.concatenate([words, words[:3]]), steps + 1, True,
                                    P.STATUS_STEPS_MISMATCH | P.STATUS_FRAME_LONG),
        "steps_mismatch_and_range": (high, steps + 1, True, P.STATUS_STEPS_MISMATCH | P.STATUS_INPUT_RANGE),
        "short_and_range": (high[:5], steps, True, P.STATUS_FRAME_SHORT | P.STATUS_INPUT_RANGE),
        "abandoned_mid_frame": (words[:-1], steps, False, P.STATUS_FRAME_SHORT),
        "abandoned_before_a_word": (words[:0], steps, False, P.STATUS_FRAME_SHORT),
        "abandoned_steps_mismatch": (words[:7], steps + 1, False, P.STATUS_STEPS_MISMATCH | P.STATUS_FRAME_SHORT),
        "no_tlast_at_all": (words, steps, False, P.STATUS_FRAME_LONG),
    }


@pytest.mark.parametrize("case", ["lane_high_bits", "one_lane_high_bit", "steps_mismatch_and_short",
                                  "steps_mismatch_and_long", "steps_mismatch_and_range", "short_and_range",
                                  "abandoned_mid_frame", "abandoned_before_a_word", "abandoned_steps_mismatch",
                                  "no_tlast_at_all"])
def test_faults_same_status_on_every_core(twins, case):
    """Issue 19 items 1, 2, 13: out-of-range lanes, STEPS != T with a bad frame, a transfer abandoned
    mid-frame: every core sends the same error packet (status, zero scores/counts/saturations), none
    hangs, and the next good inference on each core is right."""
    bundle, cores = twins
    words, steps, tlast, status = _fault_cases(bundle)[case]
    good, T = _cases(bundle)["good"]
    classes = bundle.layers[-1]["out_shape"][0]
    cycles_word = classes + len([l for l in bundle.layers if l["kind"] != "fc"])
    expected_good = np.delete(np.asarray(cores["emulator"].transfer(good, T), dtype=np.uint32), cycles_word)
    for name, core in cores.items():
        pk = np.asarray(_send(name, core, words, steps, tlast, IDLE), dtype=np.uint32)
        assert len(pk) == cycles_word + 3, (name, len(pk))
        assert int(pk[-1]) == status, f"{case}: {name} status {P.decode_status(int(pk[-1]))}, " \
                                      f"expected {P.decode_status(status)}"
        assert not pk[:cycles_word].any() and pk[-2] == 0, f"{case}: {name} sent scores/counts after an error"
        if case.startswith("abandoned"):
            assert name == "emulator" or pk[cycles_word] >= IDLE, f"{name}: cycles {pk[cycles_word]} < timeout"
        after = np.delete(np.asarray(_send(name, core, good, T, True, IDLE), dtype=np.uint32), cycles_word)
        assert np.array_equal(after, expected_good), f"{case}: {name}'s next good inference differs"


def test_idle_timeout_register_and_default(twins):
    """IDLE_TIMEOUT reads back; 0 (its reset value) selects DEFAULT_IDLE_TIMEOUT cycles: the RTL is still
    waiting after 100,000 idle cycles (simulating all 2^24 would take half a minute), its generated
    configuration carries the default, and the HLS C-sim counts the default's cycles."""
    from syna_hw import rtl_core as rc
    bundle, cores = twins
    rtl, hls = cores["rtl"], cores["hls"]
    words, T = _cases(bundle)["good"]
    rtl.reg_write(P.REG_IDLE_TIMEOUT, 1234)
    assert rtl.reg_read(P.REG_IDLE_TIMEOUT) == 1234
    r = rtl.run(words[:3], T, tlast=False, max_cycles=100_000)
    assert not r.timed_out and 1234 <= r.cycles < 1234 + 1000 and int(r.out[-1]) == P.STATUS_FRAME_SHORT
    rtl.reg_write(P.REG_IDLE_TIMEOUT, 0)
    assert rtl.reg_read(P.REG_IDLE_TIMEOUT) == 0
    assert rtl.run(words[:3], T, tlast=False, max_cycles=100_000).timed_out       # still waiting: not 1234
    rtl.reset()
    assert rtl.reg_read(P.REG_IDLE_TIMEOUT) == 0                                   # the reset value
    cfg = (rtl.rom_dir / rc.CFG_VH).read_text()
    assert f"SYNA_DEFAULT_IDLE_TIMEOUT = 32'd{P.DEFAULT_IDLE_TIMEOUT};" in cfg
    assert np.array_equal(rtl.transfer(words, T)[:-3], cores["emulator"].transfer(words, T)[:-3])
    out = hls.transfer(words[:3], T, -1)
    assert int(out[-1]) == P.STATUS_FRAME_SHORT and P.DEFAULT_IDLE_TIMEOUT <= out[-3] < P.DEFAULT_IDLE_TIMEOUT + 1000


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
    from helpers import DIGITS_SPEC, random_inputs, random_model, small_config

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
