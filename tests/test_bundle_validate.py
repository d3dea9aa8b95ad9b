"""Load-time validation (syna_contract/validate.py): every malformed or out-of-contract bundle is a
BundleError naming the file, the layer or key and what was expected -- never a raw exception later,
never a bundle that the backends would compute differently. Each edit is re-signed (ROMs rewritten
with the bundle writer, sha256s and model_hash recomputed), so only the contract check can refuse it.
"""
import json
import re
import shutil

import numpy as np
import pytest

from syna_contract import numerics as nx
from syna_contract.bundle import MANIFEST, BundleError, load_bundle, model_hash, read_rom, sha256_file, write_rom
from model_export.export import write_bundle
from model_export.quant import QuantSettings

from helpers import DIGITS_SPEC, random_inputs, random_model, small_config


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """One exported digits-like bundle with 4-bit weights (the issue's cases), copied for each edit."""
    x = random_inputs(2)
    root = tmp_path_factory.mktemp("validate") / "bundle"
    write_bundle(random_model(small_config("OR"), x), root, QuantSettings(weight_bits=4, input_scale=1 / 16),
                 DIGITS_SPEC, x)
    load_bundle(root)                                            # the untouched bundle loads
    return root


@pytest.fixture
def bundle(exported, tmp_path):
    root = tmp_path / "b"
    shutil.copytree(exported, root)
    return root


def resign(root, edit=None, roms=None):
    """Edit the manifest (``edit(m)``) and ROM values (``roms[(layer, rom)](values) -> values``), then
    re-sign: ROMs written by the bundle writer (new sha256), model_hash recomputed."""
    m = json.loads((root / MANIFEST).read_text())
    for (layer, rom), fn in (roms or {}).items():
        l = next(l for l in m["layers"] if l["name"] == layer)
        spec = l["roms"][rom]
        values = fn(read_rom(root / spec["file"], spec["shape"], spec["bits"]).copy())
        write_rom(root, l, rom, values, spec["bits"])
    if edit:
        edit(m)
    m["model_hash"] = model_hash(m)
    (root / MANIFEST).write_text(json.dumps(m))


def layer(m, name):
    return next(l for l in m["layers"] if l["name"] == name)


def refused(root, match):
    with pytest.raises(BundleError, match=match) as e:
        load_bundle(root)
    return str(e.value)


# --------------------------------------------------------------------------- malformed manifests (item 9)
def test_manifest_that_is_not_an_object(bundle):
    (bundle / MANIFEST).write_text("5")
    refused(bundle, r"manifest.json: the manifest is a JSON number \(5\); expected an object with the keys format")


@pytest.mark.parametrize("key", ["inputs", "kernel", "in_shape", "roms", "weight_bits"])
def test_layer_missing_a_key(bundle, key):
    resign(bundle, lambda m: layer(m, "f1").pop(key))
    refused(bundle, rf"manifest.json: layer 'f1' has no '{key}'; expected the keys of docs/bundle-format.md")


@pytest.mark.parametrize("edit,match", [
    (lambda m: layer(m, "f1").update(in_shape="8x8"), r"layer 'f1': in_shape is a JSON string \('8x8'\); expected a list of 3"),
    (lambda m: layer(m, "f1").update(kernel=3.0), r"layer 'f1': kernel is a JSON number \(3.0\); expected an integer >= 1"),
    (lambda m: layer(m, "f1").update(inputs="f0"), r"layer 'f1': inputs is a JSON string \('f0'\); expected a list of 1"),
    (lambda m: layer(m, "b0.merge").update(op="ADD"), r"layer 'b0.merge': op is a JSON string \('ADD'\); expected one of"),
    (lambda m: m["layers"].append(5), r"layers\[\d+\] is a JSON number \(5\); expected a layer descriptor"),
    (lambda m: m["input"].update(steps="4"), r"input.steps is a JSON string \('4'\); expected an integer >= 1"),
    (lambda m: m["numerics"].update(acc_bits=40), r"numerics.acc_bits is a JSON number \(40\); this tool implements 32"),
    (lambda m: m.update(layers={}), r"layers is a JSON object \({}\); expected a non-empty list"),
    (lambda m: layer(m, "stem")["roms"]["bias"].update(bits=16), r"layer 'stem': ROM 'bias' is declared 16 bits; "
                                                                  r"the contract stores bias in 32 bits"),
])
def test_wrong_types_and_values(bundle, edit, match):
    resign(bundle, edit)
    refused(bundle, match)


def test_format_version_as_a_string(bundle):
    resign(bundle, lambda m: m.update(format_version="1"))
    msg = refused(bundle, r"format_version is a JSON string \('1'\); it must be the integer 1")
    assert "this tool reads version 1" not in msg


# --------------------------------------------------------------------------- what the contract forbids (item 10)
@pytest.mark.parametrize("key,value,match", [
    ("steps", 0, r"input.steps is 0; expected an integer >= 1"),
    ("bits", 0, r"input.bits is 0; expected an integer in 1..16"),
    ("bits", 17, r"input.bits is 17; expected an integer in 1..16"),
    ("channels", -1, r"input.channels is -1; expected an integer >= 1"),
])
def test_input_spec_out_of_range(bundle, key, value, match):
    resign(bundle, lambda m: m["input"].update({key: value}))
    refused(bundle, match)


@pytest.mark.parametrize("value", [0, -5, nx.max_threshold(16) + 1])
def test_threshold_out_of_range(bundle, value):
    def edit(th):
        th[3] = value
        return th
    resign(bundle, roms={("f2", "threshold"): edit})
    refused(bundle, rf"layer 'f2' ROM threshold \(f2_threshold.mem\): value {value} at \[3\]; expected "
                    rf"1..{nx.max_threshold(16)}: thresholds are >= 1")


def test_weight_outside_its_symmetric_range(bundle):
    def edit(w):
        w[0, 1, 1, 2] = -8                                      # fits 4-bit two's complement, not the contract
        return w
    resign(bundle, roms={("b1.main1", "weights"): edit})
    refused(bundle, r"layer 'b1.main1' ROM weights \(b1_main1_weights.mem\): value -8 at \[0, 1, 1, 2\]; "
                    r"expected -7..7: 4-bit weights are symmetric")


@pytest.mark.parametrize("path", ["../outside.mem", "/etc/hostname", "sub/../../outside.mem"])
def test_rom_file_outside_the_bundle(bundle, path):
    shutil.copy(bundle / "f0_bias.mem", bundle.parent / "outside.mem")
    resign(bundle, lambda m: layer(m, "f0")["roms"]["bias"].update(file=path))
    refused(bundle, rf"layer 'f0': ROM 'bias': file '{re.escape(path)}' is outside the bundle directory")


def test_ddr_image_outside_the_bundle(bundle):
    """The DDR weight image's entry (outside the model hash) may not name a file outside the bundle either."""
    m = json.loads((bundle / MANIFEST).read_text())
    m["ddr_image"] = {"file": "../weights.ddr.bin", "bytes": 0, "sha256": "0" * 64}
    (bundle / MANIFEST).write_text(json.dumps(m))
    refused(bundle, r"ddr_image: file '../weights.ddr.bin' is outside the bundle directory")


def test_truncated_golden_re_signed(bundle):
    g = bundle / "golden.npz"
    data = g.read_bytes()
    g.write_bytes(data[:len(data) // 2])
    resign(bundle, lambda m: m["golden"].update(sha256=sha256_file(g)))
    refused(bundle, r"golden.npz: not a readable .npz \(BadZipFile")
    b = load_bundle(bundle, check_golden=False)                 # without the golden check it loads; golden() refuses
    with pytest.raises(BundleError, match=r"golden.npz: not a readable .npz"):
        b.golden()


# --------------------------------------------------------------------------- bounds re-checked at load (items 4, 5)
def test_conv_accumulator_bound(bundle):
    """Issue 19 item 4: stem bias 2^31 - 1000, weights +7: HLS wrapped its 32-bit accumulator on an all-31 input."""
    resign(bundle, roms={("stem", "weights"): lambda w: np.full_like(w, 7),
                         ("stem", "bias"): lambda b: np.full_like(b, 2 ** 31 - 1000)})
    refused(bundle, r"layer 'stem' channel 0: worst-case synaptic accumulator sum\|w\| \* 31 \+ \|bias\| = "
                    rf"{7 * 9 * 31 + 2 ** 31 - 1000} does not fit the 32-bit accumulator")


def test_conv_accumulator_bound_at_the_limit_loads(bundle):
    """The bound is exact: the largest bias that fits still loads."""
    resign(bundle, roms={("stem", "weights"): lambda w: np.full_like(w, 7),
                         ("stem", "bias"): lambda b: np.full_like(b, 2 ** 31 - 1 - 7 * 9 * 31)})
    load_bundle(bundle, check_golden=False)


def test_class_score_bound(bundle):
    """Issue 19 item 5: FC bias 2^29 + 5 made the reference backend wrap a 32-bit score."""
    def edit(b):
        b[0] = 2 ** 29 + 5
        return b
    resign(bundle, roms={("fc", "bias"): edit})
    refused(bundle, r"layer 'fc' class 0: worst-case class score T\*H\*W \* \(sum\|w\| \+ \|bias\|\) = \d+ "
                    r"does not fit the 32-bit score")


def test_every_backend_refuses_with_the_same_message(bundle):
    """The same out-of-contract bundle is refused by every backend, with load_bundle's message."""
    from host.core import SpikingCore
    from host.emulator import CoreEmulator
    from syna_contract.reference import Reference
    from syna_hw.hls_core import HlsCore
    from syna_hw.rtl_core import RtlCore

    def edit(b):
        b[0] = 2 ** 29 + 5
        return b
    resign(bundle, roms={("fc", "bias"): edit})
    expected = refused(bundle, "does not fit the 32-bit score")
    openers = {"reference": Reference, "emulator": CoreEmulator, "hls": HlsCore, "rtl": RtlCore}
    openers.update({f"host-{b}": (lambda root, b=b: SpikingCore(root, backend=b)) for b in ("reference", "hls", "rtl")})
    for name, open_ in openers.items():
        with pytest.raises(BundleError) as e:
            open_(str(bundle))
        assert str(e.value) == expected, name
