"""Resource plan (plan.py), energy report (energy.py) and the board table (boards.py)."""
import json
import math

import numpy as np
import pytest

from syna_contract.boards import BOARDS, get_board
from syna_contract.bundle import load_bundle
from syna_contract.energy import E_AC_PJ, E_MAC_PJ, energy_for_bundle, energy_report, energy_unit, format_energy
from model_export.export import bundle_layers, write_bundle
from model_export.model import SynAResNet, make_config
from syna_hw.memmap import map_memory
from syna_hw.plan import plan_bundle, plan_layers
from model_export.quant import QuantSettings, quantize_model
from syna_contract.reference import Reference

from helpers import DIGITS_SPEC, random_inputs, random_model, small_config

GESTURE_SPEC = dict(steps=32, channels=2, height=128, width=128, encoding="events", bits=8, scale=1.0,
                    static=False)
NUMERICS = dict(mem_bits=16, bias_bits=32, acc_bits=32)


@pytest.fixture(scope="module")
def paper_layers():
    """The paper's DVS Gesture ResNet21 (random weights), as manifest layer dicts; no files written."""
    model = SynAResNet(make_config("dvs_gesture")).eval()
    layers, _ = bundle_layers(quantize_model(model, QuantSettings(input_scale=1.0)), GESTURE_SPEC)
    return layers


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """A digits-size bundle (3 golden samples) and the integer reference's result on those samples."""
    x = random_inputs(3)
    model = random_model(small_config(), x)
    root = write_bundle(model, tmp_path_factory.mktemp("digits") / "bundle",
                        QuantSettings(input_scale=1 / 16), DIGITS_SPEC, x)
    bundle = load_bundle(root)
    return bundle, Reference(bundle).run(x, keep_spikes=False)


# ---------------------------------------------------------------------------- paper-size network
def test_paper_stem_macs(paper_layers):
    r = energy_report(paper_layers, GESTURE_SPEC, None, 1)
    stem = r.layers[0]
    assert stem.name == "stem" and stem.mac == 64 * 64 * 64 * 2 * 49 * 32 == 822_083_584
    assert stem.ac == 0
    # every other layer is accumulate-only: no MACs without attention
    assert all(l.mac == 0 for l in r.layers[1:])
    assert r.total_mac == stem.mac


def test_paper_net_does_not_fit_pynq(paper_layers):
    r = plan_layers(paper_layers, GESTURE_SPEC, NUMERICS, "pynq-z2")
    weights = sum(l["in_shape"][0] * l["kernel"] ** 2 * l["out_shape"][0] for l in paper_layers
                  if l["kind"] == "conv_lif")
    assert weights > 11_000_000 and r.param_bits > 8 * weights
    assert not r.fits
    assert any("BRAM36" in s and "140" in s for s in r.reasons)
    assert r.bram36 > get_board("pynq-z2").bram36
    assert "does NOT fit" in r.table()
    json.dumps(r.to_dict())


def test_paper_net_uses_uram_on_zcu104_and_still_does_not_fit(paper_layers):
    r = plan_layers(paper_layers, GESTURE_SPEC, NUMERICS, "zcu104")
    spikes = next(m for m in r.memories if m.what == "spike maps")
    assert spikes.uram > 0 and spikes.bram36 == 0                 # the big RAM without contents goes to URAM
    assert r.uram > get_board("zcu104").budget("uram")             # ... more of it than the board has
    assert not r.fits and any("BRAM36" in s for s in r.reasons) and any("URAM" in s for s in r.reasons)


def test_layer_major_keeps_block_input_live(paper_layers):
    """While b0.main1 runs, f3's map must still be held for the shortcut conv b0.short."""
    from syna_contract.layers import as_layers
    from syna_hw.lowering import allocate_spike_maps
    small = [l for l in paper_layers if l["name"] in ("f3", "b0.main0", "b0.main1", "b0.short")]
    maps = allocate_spike_maps(as_layers(small), GESTURE_SPEC["steps"])
    assert maps.peak_layer == "b0.main1" and maps.peak_maps == ["f3", "b0.main0", "b0.main1"]
    # f3 is still live when b0.main1 is written (b0.short reads it): they do not share space
    f3, m1 = maps.place["f3"], maps.place["b0.main1"]
    assert f3.buffer != m1.buffer and (f3.phys + f3.rtl_words <= m1.phys or m1.phys + m1.rtl_words <= f3.phys)


def test_memory_mapping_follows_yosys():
    """Single memories as Yosys 0.23 maps them (synth_xilinx, checked with its memory_libmap debug output)."""
    m = map_memory(64, 43721, "xc7", init=True)            # the demo's weight ROM: 8 x 11 BRAM36 of 4K x 9
    assert (m.kind, m.bram36, m.cells) == ("bram", 88.0, {"RAMB36E1": 88})
    assert map_memory(512, 289, "xc7").cells == {"RAMB18E1": 15}          # 512x36 BRAM18, words padded to 9-bit bytes
    assert map_memory(512, 64, "xc7").cells == {"RAM64M": 171}            # shallow and wide: LUT RAM
    assert map_memory(32, 1, "xc7").kind == "ff"
    assert map_memory(8, 16256, "xc7", init=True).cells == {"RAMB36E1": 4}  # two cascaded pairs of 32K x 1
    assert map_memory(128, 5780, "xcup").cells == {"URAM288": 4}          # UltraScale+: URAM when cheaper
    assert map_memory(128, 5780, "xcup", init=True).kind == "bram"        # ... but URAM takes no contents
    assert map_memory(128, 5780, "xcup", uram=False).kind == "bram"       # ... nor on a part without it


def test_uniform_energy_is_eq11(paper_layers):
    r = energy_report(paper_layers, GESTURE_SPEC, None, 1, uniform_rate=0.1)
    assert not r.measured
    assert r.total_mj == pytest.approx((E_MAC_PJ * r.total_mac + E_AC_PJ * r.total_ac) * 1e-9)
    f0 = next(l for l in r.layers if l.name == "f0")
    assert f0.flops == 32 * 32 * 64 * 64 * 9 * 32 and f0.ac == pytest.approx(0.1 * f0.flops)


# ---------------------------------------------------------------------------- digits-size bundle
def test_small_bundle_fits_pynq(digits):
    bundle, _ = digits
    r = plan_bundle(bundle, "pynq-z2")
    assert r.fits, r.table()
    assert "FITS" in r.table()


def test_energy_totals_are_sums_of_rows(digits):
    bundle, res = digits
    r = energy_for_bundle(bundle, res)
    assert r.measured and r.n_samples == 3
    assert r.total_mac == pytest.approx(sum(l.mac for l in r.layers))
    assert r.total_ac == pytest.approx(sum(l.ac for l in r.layers))
    assert r.total_mj == pytest.approx(sum(l.energy_mj for l in r.layers))
    assert r.total_mj == pytest.approx((E_MAC_PJ * r.total_mac + E_AC_PJ * r.total_ac) * 1e-9)
    lif = [l for l in bundle.layers if l["kind"] == "conv_lif"]
    spikes = sum(res.spike_counts[l["name"]].sum() for l in lif) / 3
    neurons = sum(math.prod(l["out_shape"]) for l in lif)
    assert r.total_spikes == pytest.approx(spikes) and r.total_neurons == neurons
    assert r.spikes_per_neuron == pytest.approx(spikes / neurons)
    assert r.total_spikes > 0
    d = r.to_dict()
    json.dumps(d)
    assert d["totals"]["energy_mj"] == pytest.approx(r.total_mj)
    unit, size = energy_unit([r.total_mj])
    assert "spikes (K)" in r.table() and f"energy ({unit})" in r.table()
    assert 1 <= r.total_mj / size < 1000                   # a unit that reads well, not 0.001017 mJ


def test_energy_units_read_well():
    assert format_energy(0.001017) == "1.017 µJ" and format_energy(2.5) == "2.5 mJ"
    assert format_energy(3.2e-7) == "320 pJ" and format_energy(4.5e-5) == "45 nJ"


def test_ac_follows_input_firing_rate(digits):
    bundle, res = digits
    r = energy_for_bundle(bundle, res)
    rows = {l.name: l for l in r.layers}
    steps = bundle.input_spec["steps"]
    layer = bundle.layer("b0.short")                      # reads f3, not its predecessor in the list
    f3 = bundle.layer("f3")
    fr = res.spike_counts["f3"].mean() / (math.prod(f3["out_shape"]) * steps)
    assert rows["b0.short"].input_rate == pytest.approx(fr)
    assert rows["b0.short"].ac == pytest.approx(rows["b0.short"].flops * fr)
    assert rows["b0.merge"].ac == rows["b0.merge"].mac == 0
    assert rows["stem"].mac == rows["stem"].flops and rows["stem"].ac == 0


def test_silent_input_gives_zero_ac(digits):
    bundle, res = digits
    counts = dict(res.spike_counts)
    counts["f1"] = np.zeros_like(counts["f1"])           # f2 reads f1
    r = energy_report(bundle.layers, bundle.input_spec, counts, 3)
    rows = {l.name: l for l in r.layers}
    assert rows["f2"].flops > 0 and rows["f2"].ac == 0 and rows["f2"].energy_mj == 0
    assert rows["f1"].spikes == 0 and rows["f1"].firing_rate == 0
    with pytest.raises(ValueError, match="expected \\(4,\\)"):
        energy_report(bundle.layers, bundle.input_spec, counts, 4)


# ---------------------------------------------------------------------------- boards
def test_unknown_board(paper_layers):
    with pytest.raises(ValueError, match="pynq-z2.*zcu104|zcu104.*pynq-z2"):
        get_board("zedboard")
    with pytest.raises(ValueError, match="unknown board 'ultra96'.*pynq-z2"):
        plan_layers(paper_layers, GESTURE_SPEC, NUMERICS, "ultra96")


def test_board_table():
    z2, zcu = get_board("pynq-z2"), get_board("zcu104")
    assert (z2.part, z2.bram36, z2.uram, z2.dsp) == ("xc7z020clg400-1", 140, 0, 220)
    assert (zcu.part, zcu.bram36, zcu.uram, zcu.dsp) == ("xczu7ev-ffvc1156-2-e", 312, 96, 1728)
    assert z2.budget("lut") == pytest.approx(0.7 * 53_200) and z2.budget("ff") == pytest.approx(0.5 * 106_400)
    assert set(BOARDS) == {"pynq-z1", "pynq-z2", "kv260", "ultra96-v2", "zcu102", "zcu104"}
    assert get_board("PYNQ-Z2") is z2 and get_board("K26") is get_board("kv260")      # any case, K26 alias
    for b in BOARDS.values():
        assert (b.ps_ip, b.synth_family, b.hp_bits) in {("processing_system7", "xc7", 64),
                                                        ("zynq_ultra_ps_e", "xcup", 128)}, b
