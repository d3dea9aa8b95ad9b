"""Bundle writing and loading: every failure is a clear error naming the file."""
import json
import shutil

import numpy as np
import pytest

from syna_contract.bundle import MANIFEST, BundleError, load_bundle, model_hash, read_rom
from model_export.export import write_bundle
from model_export.model import AttentionSpec
from model_export.quant import QuantSettings, UnsupportedError

from helpers import DIGITS_SPEC, random_inputs, random_model, small_config


def test_bundle_contents(make_bundle):
    root, _, x = make_bundle()
    b = load_bundle(root)
    m = json.loads((root / MANIFEST).read_text())
    assert m["format_version"] == 1 and m["model_hash"] == model_hash(m)
    kinds = [l["kind"] for l in b.layers]
    assert kinds.count("conv_lif") == 20 and kinds.count("merge") == 3 and kinds[-1] == "fc"
    stem = b.layer("stem")
    assert stem["encoder"] and stem["roms"]["weights"]["shape"] == [1, 3, 3, 8]
    # $readmemh text: comment line then fixed-width hex words
    lines = (root / stem["roms"]["weights"]["file"]).read_text().splitlines()
    assert lines[0].startswith("//") and all(len(w) == 2 for w in lines[1:])
    # every file is a ROM, the manifest or the golden vectors (the hardware's headers are generated from them)
    assert {p.suffix for p in root.iterdir()} == {".mem", ".json", ".npz"}
    g = b.golden()
    assert g["input"].shape == x.shape and g["spikes/stem"].shape == (4, 4, 8, 8, 8) and g["scores"].shape == (4, 10)


def test_rom_round_trip_is_twos_complement(tmp_path):
    from syna_contract.bundle import rom_text
    vals = np.array([[-128, -1, 0], [1, 127, -7]])
    (tmp_path / "r.mem").write_text(rom_text(vals, 8, "t"))
    assert (tmp_path / "r.mem").read_text().splitlines()[1:] == ["80", "ff", "00", "01", "7f", "f9"]
    assert np.array_equal(read_rom(tmp_path / "r.mem", [2, 3], 8), vals)


@pytest.mark.parametrize("bits", [4, 5, 8, 13, 16, 32])
def test_rom_text_and_read_rom_fast_paths_equal_the_plain_definition(tmp_path, bits):
    """rom_text / read_rom are vectorised; they write exactly the words of the plain one-format-per-word
    definition, and read every file the line-by-line reader accepts, to the same values."""
    from syna_contract.bundle import rom_text
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    vals = np.random.default_rng(bits).integers(lo, hi + 1, (7, 5))
    vals.flat[:2] = lo, hi
    digits = (bits + 3) // 4
    words = [f"{int(v) & ((1 << bits) - 1):0{digits}x}" for v in vals.ravel()]
    text = rom_text(vals, bits, "c")
    assert text == "// c\n" + "\n".join(words) + "\n"
    for variant in (text, text.upper().replace("// C", "// c"), text.replace("\n", "\r\n"),
                    "// c\n// d\n\n" + "\n".join(w.lstrip("0") or "0" for w in words),
                    "// c\n" + "\n".join(words)):
        (tmp_path / "r.mem").write_text(variant)
        np.testing.assert_array_equal(read_rom(tmp_path / "r.mem", [7, 5], bits), vals)


def test_missing_rom_file(make_bundle):
    root, _, _ = make_bundle()
    (root / "f1_weights.mem").unlink()
    with pytest.raises(BundleError, match="f1_weights.mem: file is missing"):
        load_bundle(root)


def test_corrupted_rom(make_bundle):
    root, _, _ = make_bundle()
    p = root / "b0_main0_weights.mem"
    lines = p.read_text().splitlines()
    lines[5] = "00" if lines[5] != "00" else "01"
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(BundleError, match="b0_main0_weights.mem: sha256 .* does not match"):
        load_bundle(root)


def test_wrong_format_version(make_bundle):
    root, _, _ = make_bundle()
    m = json.loads((root / MANIFEST).read_text())
    m["format_version"] = 99
    (root / MANIFEST).write_text(json.dumps(m))
    with pytest.raises(BundleError, match="format version 99; this tool reads version 1"):
        load_bundle(root)


def test_shape_mismatch_in_manifest(make_bundle):
    root, _, _ = make_bundle()
    m = json.loads((root / MANIFEST).read_text())
    f1 = next(l for l in m["layers"] if l["name"] == "f1")
    f1["in_shape"] = [8, 4, 4]
    m["model_hash"] = model_hash(m)        # a consistent but wrong manifest
    (root / MANIFEST).write_text(json.dumps(m))
    with pytest.raises(BundleError, match="layer 'f1' expects input shape \\[8, 4, 4\\] but 'f0' produces \\[8, 8, 8\\]"):
        load_bundle(root)


def test_rom_shape_mismatch(make_bundle):
    root, _, _ = make_bundle()
    m = json.loads((root / MANIFEST).read_text())
    f1 = next(l for l in m["layers"] if l["name"] == "f1")
    f1["roms"]["weights"]["shape"] = [8, 3, 3, 4]
    m["model_hash"] = model_hash(m)
    (root / MANIFEST).write_text(json.dumps(m))
    with pytest.raises(BundleError, match="f1_weights.mem: ROM shape \\[8, 3, 3, 4\\]; layer 'f1' needs \\[8, 3, 3, 8\\]"):
        load_bundle(root)


def test_edited_manifest_breaks_model_hash(make_bundle):
    root, _, _ = make_bundle()
    m = json.loads((root / MANIFEST).read_text())
    m["numerics"]["mem_bits"] = 12
    (root / MANIFEST).write_text(json.dumps(m))
    with pytest.raises(BundleError, match="model_hash does not match"):
        load_bundle(root)


def test_missing_manifest_and_directory(make_bundle, tmp_path):
    with pytest.raises(BundleError, match="does not exist"):
        load_bundle(tmp_path / "nope")
    root, _, _ = make_bundle()
    (root / MANIFEST).unlink()
    with pytest.raises(BundleError, match="manifest.json: manifest is missing"):
        load_bundle(root)


def test_corrupted_golden(make_bundle):
    root, _, _ = make_bundle()
    with open(root / "golden.npz", "ab") as f:
        f.write(b"x")
    with pytest.raises(BundleError, match="golden.npz: sha256"):
        load_bundle(root)


def test_rom_word_too_wide(tmp_path):
    (tmp_path / "r.mem").write_text("// t\n1ff\n00\n")
    with pytest.raises(BundleError, match="wider than 8 bits"):
        read_rom(tmp_path / "r.mem", [2], 8)
    (tmp_path / "r.mem").write_text("// t\n00\n")
    with pytest.raises(BundleError, match="1 words; expected 2"):
        read_rom(tmp_path / "r.mem", [2], 8)


@pytest.mark.parametrize("cfg,match", [
    (small_config(merge="ADD"), "merge ADD makes non-binary values"),
    (small_config(attention=AttentionSpec("S", "a")), "spatial \\(S\\) attention is not in the integer contract"),
])
def test_export_refuses_what_the_contract_cannot_express(tmp_path, cfg, match):
    x = random_inputs(2)
    with pytest.raises(UnsupportedError, match=match):
        write_bundle(random_model(cfg, x), tmp_path / "b", QuantSettings(input_scale=1 / 16), DIGITS_SPEC, x)


def test_export_refuses_out_of_range_settings():
    with pytest.raises(ValueError, match="weight bits 3; expected 4..16"):
        QuantSettings(weight_bits=3)
    with pytest.raises(ValueError, match="membrane bits 40; expected 8..32"):
        QuantSettings(mem_bits=40)
