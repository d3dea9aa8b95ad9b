"""Points of the contract that docs/numerics.md and docs/bundle-format.md state in words or formulas,
checked against the code that implements them (an implementation written from the docs alone must
get the same bits)."""
import hashlib
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from syna_contract import numerics as nx
from syna_contract.bundle import load_bundle, model_hash, read_rom, rom_text

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.mark.parametrize("bits,values,words", [
    (6, [-11, 11, -32, 31, 0, -1], ["35", "0b", "20", "1f", "00", "3f"]),     # bundle-format.md's example
    (5, [-16, 15, -1], ["10", "0f", "1f"]),
    (4, [-8, 7], ["8", "7"]),
    (9, [-256, 255, -1], ["100", "0ff", "1ff"]),
])
def test_rom_words_for_any_width(tmp_path, bits, values, words):
    """bits-bit two's complement (value mod 2^bits), ceil(bits/4) lower-case digits, zero-filled top digit."""
    text = rom_text(np.array(values), bits, "test")
    assert text.splitlines()[1:] == words
    assert [format(v % (1 << bits), f"0{math.ceil(bits / 4)}x") for v in values] == words     # the doc's rule
    p = tmp_path / "r.mem"
    p.write_text(text.upper().replace("// TEST", "// test"))                                  # either case reads
    assert read_rom(p, [len(values)], bits).tolist() == values


def _canonical(v) -> str:
    """The serialisation bundle-format.md describes, written independently of json.dumps."""
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_canonical(str(k))}: {_canonical(v[k])}" for k in sorted(v)) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_canonical(x) for x in v) + "]"
    if v is True or v is False:
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    out = []
    for ch in v:
        o = ord(ch)
        esc = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
        if ch in esc:
            out.append(esc[ch])
        elif o < 0x20 or o > 0x7E:
            out.append(f"\\u{o:04x}" if o < 0x10000 else
                       "".join(f"\\u{u:04x}" for u in (0xD800 + ((o - 0x10000) >> 10), 0xDC00 + ((o - 0x10000) & 0x3FF))))
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def test_model_hash_is_the_documented_canonical_json(make_bundle):
    from model_export.model import AttentionSpec
    root, _, _ = make_bundle(attention=AttentionSpec("T", "b"))
    manifest = json.loads((root / "manifest.json").read_text())
    core = {k: manifest[k] for k in ("model_config", "input", "numerics", "layers")}
    text = _canonical(core)
    assert hashlib.sha256(text.encode("utf-8")).hexdigest() == manifest["model_hash"] == model_hash(manifest)
    assert any(isinstance(v, float) for v in manifest["input"].values())          # floats are covered
    tricky = {"b": [1, 2.5, 1e-05, 1e16, 0.0001, -0.0], "A": "é\"\\\n", "a": {"z": None, "y": True}}
    assert _canonical(tricky) == json.dumps(tricky, sort_keys=True)
    assert _canonical({"a": [1, 2.5], "B": None}) == '{"B": null, "a": [1, 2.5]}'


@pytest.mark.parametrize("size,k,s,p", [(8, 3, 1, 1), (8, 3, 2, 1), (7, 3, 2, 1), (32, 7, 2, 3), (2, 1, 2, 0),
                                       (1, 3, 2, 1), (5, 5, 1, 0)])
def test_output_size_formula(size, k, s, p):
    """numerics.md: Ho = floor((H + 2p - k) / s) + 1, and it is what a zero-padded conv gives."""
    assert nx.conv_out_size(size, k, s, p) == (size + 2 * p - k) // s + 1
    import torch
    out = torch.nn.functional.conv2d(torch.zeros(1, 1, size, size), torch.zeros(1, 1, k, k), stride=s, padding=p)
    assert out.shape[-1] == nx.conv_out_size(size, k, s, p)


def test_threshold_clamp_is_one_bound_in_code_and_text():
    """The quantiser's clamp (numerics.max_threshold) is 2^(M-2) - 1 and numerics.md says so everywhere."""
    for m in range(nx.MEM_BITS_RANGE[0], nx.MEM_BITS_RANGE[1] + 1):
        assert nx.max_threshold(m) == 2 ** (m - 2) - 1
    text = (DOCS / "numerics.md").read_text()
    theta = [ln for ln in text.splitlines() if "θ_c = clamp" in ln]
    assert len(theta) == 1 and "2^(M-2) − 1" in theta[0]
    assert not re.search(r"θ[^\n]{0,40}2\^\(M-1\) − 1\)", text)


def test_attention_sums_are_exact_then_clamped_once(make_bundle):
    """numerics.md section 6: each MLP value is its exact sum, clamped once. Partial sums that leave the
    32-bit range and come back are not clamped (a saturating accumulator would clamp them)."""
    from model_export.model import AttentionSpec
    from syna_contract.reference import Reference
    root, _, _ = make_bundle(attention=AttentionSpec("C", "b"), mem_bits=32)     # currents of 2^24 are in range
    b = load_bundle(root)
    name = next(l["name"] for l in b.layers if l.get("attention") and l["attention"]["kind"] == "IA")
    layer = b.layer(name)
    size, hidden = layer["attention"]["size"], layer["attention"]["hidden"]
    w1 = np.zeros((hidden, size), np.int64)
    w1[0, :3] = [100, 100, -100]                            # with max pool 2^24 each: 2^30.6, 2^31.6, back
    b.params[name]["att_w1"] = w1
    b.params[name]["att_w2"] = np.zeros_like(b.params[name]["att_w2"])    # o = 0: only w1's sums can clamp
    ref = Reference(b)
    steps, c, h, w = b.input_spec["steps"], *layer["out_shape"]
    cur = np.zeros((steps, 1, c, h, w), np.int64)
    cur[0, 0, :3, 0, 0] = 2 ** 24
    desc = next(d for d in b.descriptors if d.name == name)
    _, sat = ref._attention(desc, cur, {})
    exact = 100 * 2 ** 24                                   # = w1 . max for row 0: fits 32 bits
    assert exact < 2 ** 31 - 1 < 200 * 2 ** 24              # the partial sum after two terms does not
    acc, clamps = 0, 0                                      # what a saturating accumulator would do
    for t in (100 * 2 ** 24, 100 * 2 ** 24, -100 * 2 ** 24):
        acc += t
        if acc > 2 ** 31 - 1:
            acc, clamps = 2 ** 31 - 1, clamps + 1
    assert (acc, clamps) != (exact, 0)
    assert sat == 0                                         # the contract: nothing clamped
    w1[0, 2] = 100                                          # now the exact sum leaves the range: clamped
    _, sat = ref._attention(desc, cur, {})
    assert sat >= 1
