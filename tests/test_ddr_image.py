"""The DDR weight image (syna_contract/ddr_image.py, docs/bundle-format.md): byte layout, round trip
against the ROMs for several lane counts and weight widths, the exporter's opt-in, and every way a
bundle's image can be wrong (missing, truncated, corrupted, for another model)."""
import json
import shutil
import struct

import numpy as np
import pytest

from model_export.export import write_bundle
from model_export.model import AttentionSpec
from model_export.quant import QuantSettings
from syna_contract import ddr_image as di
from syna_contract.bundle import BundleError, load_bundle

from helpers import DIGITS_SPEC, random_inputs, random_model, small_config


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    """Small random bundles (width 0.125), made once: name -> directory (tests copy before editing)."""
    out = {}
    for name, weight_bits, attention, seed in [("w8", 8, None, 0), ("w4_att_c", 4, AttentionSpec("C", "b"), 1),
                                               ("w16_att_t", 16, AttentionSpec("T", "a"), 2)]:
        x = random_inputs(1, seed=seed)
        model = random_model(small_config(attention=attention), x, seed=seed)
        out[name] = write_bundle(model, tmp_path_factory.mktemp("ddr") / name,
                                 QuantSettings(weight_bits=weight_bits, input_scale=1 / 16), DIGITS_SPEC, x,
                                 attention_check="warn")     # the image layout is tested here; tests/test_attention_checks.py the refusals
    return out


def _roundtrip(bundle, lanes):
    img = di.parse_image(di.build_image(bundle.manifest, bundle.params, lanes))
    layers = [(i, l) for i, l in enumerate(bundle.layers) if l["kind"] in ("conv_lif", "fc")]
    assert [e["layer"] for e in img.entries] == [i for i, _ in layers]
    for e, (_, l) in zip(img.entries, layers):
        p = bundle.params[l["name"]]
        np.testing.assert_array_equal(img.weights(e), p["weights"].reshape(-1, p["weights"].shape[-1]))
        bias, thr = img.bias_threshold(e)
        np.testing.assert_array_equal(bias, p["bias"])
        np.testing.assert_array_equal(thr, p.get("threshold", np.zeros_like(p["bias"])))
        if l.get("attention"):
            w1, w2 = img.attention(e)
            np.testing.assert_array_equal(w1, p["att_w1"])
            np.testing.assert_array_equal(w2, p["att_w2"])
        else:
            assert img.attention(e) is None
        # the layout rules of docs/bundle-format.md
        assert e["w_offset"] % di.PAGE == 0 and e["w_block_bytes"] % di.BLOCK_ALIGN == 0
        assert e["bt_offset"] % di.BLOCK_ALIGN == 0 and e["groups"] == -(-e["cout"] // lanes)
        assert e["w_block_bytes"] >= e["rows"] * img.header["row_bytes"]
        off, n = img.weight_range(e, 1 if e["groups"] > 1 else 0, 1)
        assert off % di.BLOCK_ALIGN == 0 and n == e["w_block_bytes"]
    rb = img.header["row_bytes"]
    assert rb & (rb - 1) == 0 and rb * 8 >= lanes * img.header["weight_bits"] and (rb == 1 or rb * 4 < lanes *
                                                                                   img.header["weight_bits"])
    return img


@pytest.mark.parametrize("name,weight_bits", [("w8", 8), ("w4_att_c", 4), ("w16_att_t", 16)])
def test_round_trip_every_parameter(bundles, name, weight_bits):
    b = load_bundle(bundles[name])
    for lanes in (1, 3, 16, 64):
        img = _roundtrip(b, lanes)
        assert img.header["weight_bits"] == weight_bits and img.header["model_hash"] == b.model_hash


def test_rows_are_lanes_of_twos_complement_lane0_lowest():
    """The documented byte layout, by hand: P = 3 lanes of 4 bits -> 12 bits -> rows of 2 bytes."""
    w = np.array([[1, -1, 7], [-8, 0, 2], [3, 4, 5]], dtype=np.int64)      # [rows=3, cout=3]
    packed = di._pack_rows(w, lanes=3, wb=4, rb=2)
    # row 0: lanes 1, 0xF, 7 -> bits 0x7F1 -> bytes f1 07
    assert packed.shape == (1, 3, 2)
    assert packed[0].tobytes() == bytes([0xF1, 0x07, 0x08, 0x02, 0x43, 0x05])
    np.testing.assert_array_equal(di._unpack_rows(packed, 3, 4, 3), w)
    # two lane groups of P = 2: group 1 holds channel 2 and a zero lane
    packed = di._pack_rows(w, lanes=2, wb=8, rb=2)
    assert packed.shape == (2, 3, 2)
    assert packed[1].tobytes() == bytes([7, 0, 2, 0, 5, 0])
    assert packed[0, 0].tobytes() == bytes([1, 0xFF])


def test_header_fields_are_where_the_docs_say(bundles):
    b = load_bundle(bundles["w8"])
    data = di.build_image(b.manifest, b.params, 16)
    assert data[:8] == b"SYNADDR\0"
    version, header_bytes, lanes, wb, rb = struct.unpack_from("<5I", data, 8)
    assert (version, lanes, wb, rb) == (1, 16, 8, 16) and header_bytes == 4096
    assert struct.unpack_from("<Q", data, 40)[0] == len(data)
    assert data[64:96].hex() == b.model_hash
    layer, kind, rows, cout = struct.unpack_from("<4I", data, 128)
    stem = b.layers[0]
    assert (layer, kind, rows, cout) == (0, 1, stem["in_shape"][0] * stem["kernel"] ** 2, stem["out_shape"][0])


def test_export_writes_the_image_only_when_asked(tmp_path):
    x = random_inputs(2, seed=2)
    model = random_model(small_config(), x, seed=2)
    s = QuantSettings(input_scale=1 / 16)
    plain = write_bundle(model, tmp_path / "plain", s, DIGITS_SPEC, x)
    ddr = write_bundle(model, tmp_path / "ddr", s, DIGITS_SPEC, x, ddr_lanes=8)
    assert not (plain / di.IMAGE_FILE).exists()
    mp, md = (json.loads((p / "manifest.json").read_text()) for p in (plain, ddr))
    assert "ddr_image" not in mp and md["ddr_image"]["lanes"] == 8
    assert md.pop("ddr_image")["bytes"] == (ddr / di.IMAGE_FILE).stat().st_size
    assert mp == md                                           # the same model, the same hash
    for f in plain.iterdir():                                 # every other file byte-identical
        assert f.read_bytes() == (ddr / f.name).read_bytes() or f.name == "manifest.json", f.name
    b = load_bundle(ddr)
    assert b.model_hash == load_bundle(plain).model_hash
    # add_image on the on-chip bundle gives the same image
    entry = di.add_image(load_bundle(plain), 8)
    assert (plain / di.IMAGE_FILE).read_bytes() == (ddr / di.IMAGE_FILE).read_bytes()
    assert entry == load_bundle(plain).manifest["ddr_image"]


@pytest.fixture
def ddr_bundle(bundles, tmp_path):
    root = shutil.copytree(bundles["w8"], tmp_path / "bundle")
    di.add_image(load_bundle(root), 4)
    load_bundle(root)
    return root


def _manifest(root):
    return json.loads((root / "manifest.json").read_text())


def _set_entry(root, **kv):
    m = _manifest(root)
    m["ddr_image"].update(kv)
    (root / "manifest.json").write_text(json.dumps(m, indent=1))


def test_missing_image(ddr_bundle):
    (ddr_bundle / di.IMAGE_FILE).unlink()
    with pytest.raises(BundleError, match="DDR image is missing"):
        load_bundle(ddr_bundle)


def test_truncated_image(ddr_bundle):
    p = ddr_bundle / di.IMAGE_FILE
    p.write_bytes(p.read_bytes()[:-64])
    with pytest.raises(BundleError, match=r"bytes; the manifest says \d+ \(truncated"):
        load_bundle(ddr_bundle)


def test_corrupted_image_fails_its_checksum(ddr_bundle):
    p = ddr_bundle / di.IMAGE_FILE
    data = bytearray(p.read_bytes())
    data[5000] ^= 0x10
    p.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="sha256 .* does not match"):
        load_bundle(ddr_bundle)


def test_image_that_matches_its_checksum_but_not_the_roms(ddr_bundle):
    """A wrong image with a consistent manifest entry (a writer bug, or a hand edit): the content check."""
    p = ddr_bundle / di.IMAGE_FILE
    img = di.read_image(p)
    e = img.entries[2]
    data = bytearray(img.data)
    data[e["w_offset"]] ^= 0x01                               # weight of channel 0, row 0
    p.write_bytes(bytes(data))
    _set_entry(ddr_bundle, sha256=di.sha256_file(p))
    with pytest.raises(BundleError, match="layer 'f1': the image's weights differ"):
        load_bundle(ddr_bundle)
    data[e["w_offset"]] ^= 0x01
    data[e["bt_offset"]] ^= 0x01                              # bias of channel 0
    p.write_bytes(bytes(data))
    _set_entry(ddr_bundle, sha256=di.sha256_file(p))
    with pytest.raises(BundleError, match="image's bias differ"):
        load_bundle(ddr_bundle)


def test_image_of_another_model(ddr_bundle, bundles, tmp_path):
    other = shutil.copytree(bundles["w4_att_c"], tmp_path / "other")
    di.add_image(load_bundle(other), 4)
    shutil.copy(other / di.IMAGE_FILE, ddr_bundle / di.IMAGE_FILE)
    _set_entry(ddr_bundle, **{k: _manifest(other)["ddr_image"][k] for k in ("sha256", "bytes")})
    with pytest.raises(BundleError, match="DDR image of model .*; the bundle is model"):
        load_bundle(ddr_bundle)


def test_header_disagreeing_with_the_manifest(ddr_bundle):
    _set_entry(ddr_bundle, lanes=8)
    with pytest.raises(BundleError, match="header lanes 4; the manifest says 8"):
        load_bundle(ddr_bundle)


def test_not_an_image(ddr_bundle):
    p = ddr_bundle / di.IMAGE_FILE
    p.write_bytes(b"\0" * 4096)
    _set_entry(ddr_bundle, sha256=di.sha256_file(p), bytes=4096)
    with pytest.raises(BundleError, match="expected the DDR image magic"):
        load_bundle(ddr_bundle)


def test_bad_lane_counts(bundles):
    b = load_bundle(bundles["w8"])
    for lanes in (0, -1, di.MAX_LANES + 1, 2.0):
        with pytest.raises(ValueError, match="lanes"):
            di.build_image(b.manifest, b.params, lanes)


def test_axi_bursts_cover_the_range_without_crossing_4k():
    rng = np.random.default_rng(0)
    for _ in range(400):
        data_bytes = int(rng.choice([4, 8, 16, 32]))
        max_beats = int(rng.choice([1, 16, 256]))
        addr = int(rng.integers(0, 3 * 4096)) // data_bytes * data_bytes
        n = int(rng.integers(1, 20000))
        bursts = di.axi_bursts(addr, n, data_bytes, max_beats)
        a = addr
        for start, beats in bursts:
            assert start == a and 1 <= beats <= max_beats
            end = start + beats * data_bytes
            assert start // 4096 == (end - 1) // 4096                          # inside one 4 KiB page
            # maximal: a burst stops only at the end, at max_beats or at a page boundary
            assert end == addr + -(-n // data_bytes) * data_bytes or beats == max_beats or end % 4096 == 0
            a = end
        assert a - addr == -(-n // data_bytes) * data_bytes
    for bad in [(2, 8, 4, 16), (0, 0, 4, 16), (0, 8, 12, 16), (0, 8, 4, 0)]:
        with pytest.raises(ValueError):
            di.axi_bursts(*bad)


@pytest.mark.parametrize("lanes", [3, 16])
def test_rows_are_the_rtl_twins_weight_words(bundles, tmp_path, lanes):
    """A row of the image is the word the RTL twin's weight memory holds (syna_weights.mem, generated by
    syna_hw.rtl_core for the same P): the core can copy rows from DDR into that memory unchanged."""
    from syna_hw import rtl_core as rc
    b = load_bundle(bundles["w4_att_c"])
    cfg = rc.generate(b, tmp_path, lanes=lanes)
    words = [int(ln, 16) for ln in (tmp_path / rc.WEIGHTS_MEM).read_text().splitlines()
             if ln.strip() and not ln.startswith("//")]
    img = di.parse_image(di.build_image(b.manifest, b.params, lanes))
    rb = img.header["row_bytes"]
    by_name = {l["name"]: l["fields"] for l in cfg.layers}
    for e in img.entries:
        f = by_name[b.layers[e["layer"]]["name"]]
        assert f["g"] == e["groups"]
        for g in range(e["groups"]):
            for r in range(e["rows"]):
                row = img.data[e["w_offset"] + g * e["w_block_bytes"] + r * rb:][:rb]
                assert int.from_bytes(row, "little") == words[f["wbase"] + r * f["g"] + g], (e["layer"], g, r)


@pytest.mark.parametrize("name", ["w8", "w4_att_c", "w16_att_t"])
def test_layout_is_where_build_image_puts_every_section(bundles, name):
    """ddr_image.layout (from the shapes alone; the HLS core's generator reads its weight offsets from it)
    gives exactly the header fields and layer entries of the built image."""
    b = load_bundle(bundles[name])
    for lanes in (1, 3, 16, 64):
        head, entries = di.layout(b.manifest, lanes)
        img = di.parse_image(di.build_image(b.manifest, b.params, lanes))
        assert entries == img.entries
        assert {k: v for k, v in img.header.items() if k not in ("magic", "model_hash")} == head
