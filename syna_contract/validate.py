"""Load-time validation of a bundle: what ``docs/bundle-format.md`` and ``docs/numerics.md`` require.

:func:`syna_contract.bundle.load_bundle` calls :func:`check_manifest` on the parsed ``manifest.json``
before anything else reads it, and :func:`check_params` on the integer ROM arrays once they are read.
Every failure is a :class:`BundleError` naming the file, the layer and key, what was found and what
the contract expects -- never a raw ``TypeError`` / ``KeyError`` later on. Because every backend
(reference, emulator, HLS, RTL, host driver) opens bundles through ``load_bundle``, a bundle outside
the contract is refused by all of them with the same message.

What is checked, beyond the file format: the types and ranges of every key that the tools read
(``input.steps >= 1``, ``input.bits`` in ``numerics.INPUT_BITS_RANGE``, widths in their ranges,
the fixed contract widths), ROM ``file`` names inside the bundle directory, every weight within its
symmetric range, every threshold in ``1 .. numerics.max_threshold(mem_bits)``, and the two
accumulator bounds the exporter proves (``numerics.conv_acc_bound`` below ``2^(ACC_BITS-1)``,
``numerics.score_bound`` below ``2^(SCORE_BITS-1)``): a re-signed bundle that breaks them would make
the implementations wrap (or saturate) differently.

Hand-written rather than a JSON Schema: the contract layer depends on numpy only, and the checks that
matter most (ranges that depend on other keys, bounds over the ROM arrays) are not schema checks.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from . import numerics as nx
from .graph import INPUT, LAYER_KINDS

FORMAT_NAME = "syna-bundle"
REQUIRED_KEYS = ("format", "format_version", "model_hash", "model_config", "input", "numerics", "layers")
ENCODINGS = ("pixels", "counts")
ATTENTION_KINDS = ("MA", "IA")
ATTENTION_DIMS = ("T", "C")
# The numerics keys whose value is fixed by this tool's contract (numerics.py).
FIXED_NUMERICS = {"acc_bits": nx.ACC_BITS, "bias_bits": nx.BIAS_BITS, "score_bits": nx.SCORE_BITS,
                  "gate_frac_bits": nx.GATE_FRAC_BITS, "sigmoid_index_bits": nx.SIGMOID_INDEX_BITS,
                  "sigmoid_step_log2": nx.SIGMOID_STEP_LOG2, "ia_unit_log2": nx.IA_UNIT_LOG2}
# The ROMs of each layer kind (attention adds att_w1, att_w2 to a conv_lif).
LAYER_ROMS = {"conv_lif": ("weights", "bias", "threshold"), "fc": ("weights", "bias")}
ATTENTION_ROMS = ("att_w1", "att_w2")


class BundleError(ValueError):
    """A bundle that cannot be used; the message names the file and what was expected."""

    def __init__(self, path: Path | str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = str(path)


class _Check:
    """Raises :class:`BundleError` on the file ``path`` (the manifest)."""

    def __init__(self, path: Path):
        self.path = path

    def fail(self, message: str):
        raise BundleError(self.path, message)

    def obj(self, value, where: str, what: str = "an object") -> dict:
        if not isinstance(value, dict):
            self.fail(f"{where} is {_describe(value)}; expected {what}")
        return value

    def key(self, d: dict, key: str, where: str):
        if key not in d:
            self.fail(f"{where} has no {key!r}; expected the keys of docs/bundle-format.md")
        return d[key]

    def int_(self, value, where: str, lo: int | None = None, hi: int | None = None) -> int:
        if not _is_int(value):
            self.fail(f"{where} is {_describe(value)}; expected an integer" + _range_text(lo, hi))
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            self.fail(f"{where} is {value}; expected an integer" + _range_text(lo, hi))
        return value

    def str_(self, value, where: str, choices: tuple | None = None) -> str:
        if not isinstance(value, str) or (choices is not None and value not in choices):
            self.fail(f"{where} is {_describe(value)}; expected "
                      + (f"one of {list(choices)}" if choices else "a string"))
        return value

    def number(self, value, where: str, positive: bool = False) -> float:
        ok = (_is_int(value) or isinstance(value, float)) and math.isfinite(value) and (not positive or value > 0)
        if not ok:
            self.fail(f"{where} is {_describe(value)}; expected a finite number" + (" > 0" if positive else ""))
        return value

    def bool_(self, value, where: str) -> bool:
        if not isinstance(value, bool):
            self.fail(f"{where} is {_describe(value)}; expected true or false")
        return value

    def shape(self, value, where: str, n: int | None, lo: int = 1) -> list[int]:
        if not isinstance(value, list) or (n is not None and len(value) != n) or not all(_is_int(v) for v in value):
            self.fail(f"{where} is {_describe(value)}; expected a list of "
                      + (f"{n} integers" if n is not None else "integers"))
        if any(v < lo for v in value):
            self.fail(f"{where} is {value}; every size must be >= {lo}")
        return value


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _range_text(lo, hi) -> str:
    if lo is not None and hi is not None:
        return f" in {lo}..{hi}"
    if lo is not None:
        return f" >= {lo}"
    return f" <= {hi}" if hi is not None else ""


def _describe(v) -> str:
    kind = {bool: "a JSON boolean", int: "a JSON number", float: "a JSON number", str: "a JSON string",
            list: "a JSON array", dict: "a JSON object", type(None): "null"}.get(type(v), type(v).__name__)
    text = repr(v)
    return f"{kind} ({text if len(text) <= 40 else text[:37] + '...'})"


# ============================================================================ manifest
def check_header(m, mpath: Path) -> None:
    """The manifest is an object with the required keys, this format and version, and a model_hash
    (checked first, so that an edited manifest is reported as such before its contents are judged)."""
    c = _Check(mpath)
    c.obj(m, "the manifest", "an object with the keys " + ", ".join(REQUIRED_KEYS))
    missing = [k for k in REQUIRED_KEYS if k not in m]
    if missing:
        c.fail(f"missing keys {missing}")
    fmt = m["format"]
    if fmt != FORMAT_NAME:
        c.fail(f"format {fmt!r}; expected {FORMAT_NAME!r}")
    version = m["format_version"]
    if not _is_int(version):
        c.fail(f"format_version is {_describe(version)}; it must be the integer {nx.FORMAT_VERSION}")
    if version != nx.FORMAT_VERSION:
        c.fail(f"format version {version}; this tool reads version {nx.FORMAT_VERSION} "
               "(re-export the checkpoint with this version)")
    h = m["model_hash"]
    if not isinstance(h, str) or len(h) != 64 or any(ch not in "0123456789abcdef" for ch in h):
        c.fail(f"model_hash is {_describe(h)}; expected 64 lower-case hex digits (a sha256)")


def check_manifest(m: dict, mpath: Path, root: Path) -> None:
    """Check the manifest's contents (after :func:`check_header`): types, ranges, file names, the
    layer graph, ROM shapes and widths."""
    c = _Check(mpath)
    c.obj(m["model_config"], "model_config")
    _check_input(c, c.obj(m["input"], "input"))
    num = _check_numerics(c, c.obj(m["numerics"], "numerics"))
    layers = m["layers"]
    if not isinstance(layers, list) or not layers:
        c.fail(f"layers is {_describe(layers)}; expected a non-empty list of layer descriptors")
    names: set[str] = set()
    for i, l in enumerate(layers):
        _check_layer(c, l, i, names, num, root)
    fcs = [i for i, l in enumerate(layers) if l["kind"] == "fc"]
    if fcs != [len(layers) - 1]:
        c.fail(f"{len(fcs)} fc layer(s) at {fcs}; expected exactly one, the last layer (it makes the class scores)")
    _check_graph(c, layers, m["input"])
    if m.get("golden") is not None:
        g = c.obj(m["golden"], "golden")
        _check_file_entry(c, g, "golden", root)
        c.int_(c.key(g, "samples", "golden"), "golden.samples", 1)
    if m.get("ddr_image") is not None:                  # its contents: syna_contract/ddr_image.check_image
        d = c.obj(m["ddr_image"], "ddr_image")
        if "file" in d:
            _check_inside(c, d["file"], "ddr_image", root)


def _check_input(c: _Check, spec: dict) -> None:
    for k in ("steps", "channels", "height", "width"):
        c.int_(c.key(spec, k, "input"), f"input.{k}", 1)
    lo, hi = nx.INPUT_BITS_RANGE
    c.int_(c.key(spec, "bits", "input"), "input.bits", lo, hi)
    c.str_(c.key(spec, "encoding", "input"), "input.encoding", ENCODINGS)
    c.number(c.key(spec, "scale", "input"), "input.scale", positive=True)
    c.bool_(c.key(spec, "static", "input"), "input.static")


def _check_numerics(c: _Check, num: dict) -> dict:
    c.int_(c.key(num, "mem_bits", "numerics"), "numerics.mem_bits", *nx.MEM_BITS_RANGE)
    c.int_(c.key(num, "weight_bits", "numerics"), "numerics.weight_bits", *nx.WEIGHT_BITS_RANGE)
    for k, v in FIXED_NUMERICS.items():
        got = c.key(num, k, "numerics")
        if not _is_int(got) or got != v:
            c.fail(f"numerics.{k} is {_describe(got)}; this tool implements {v} (docs/numerics.md)")
    return num


def _check_layer(c: _Check, l, i: int, names: set, num: dict, root: Path) -> None:
    where = f"layers[{i}]"
    c.obj(l, where, "a layer descriptor (object)")
    name = c.key(l, "name", where)
    if not isinstance(name, str) or not name:
        c.fail(f"{where}.name is {_describe(name)}; expected a non-empty string")
    if name in names:
        c.fail(f"layer name {name!r} appears twice; names must be unique")
    names.add(name)
    where = f"layer {name!r}"
    kind = c.key(l, "kind", where)
    if kind not in LAYER_KINDS:
        c.fail(f"{where} has kind {_describe(kind)}; expected one of {LAYER_KINDS}")
    inputs = c.key(l, "inputs", where)
    n_in = 2 if kind == "merge" else 1
    if not isinstance(inputs, list) or len(inputs) != n_in or not all(isinstance(s, str) for s in inputs):
        c.fail(f"{where}: inputs is {_describe(inputs)}; expected a list of {n_in} layer name(s) "
               f"(or {INPUT!r})" + (" [backbone, shortcut]" if kind == "merge" else ""))
    c.shape(c.key(l, "in_shape", where), f"{where}: in_shape", 3)
    c.shape(c.key(l, "out_shape", where), f"{where}: out_shape", 1 if kind == "fc" else 3)
    if kind in ("conv_lif", "maxpool_or"):
        c.int_(c.key(l, "kernel", where), f"{where}: kernel", 1)
        c.int_(c.key(l, "stride", where), f"{where}: stride", 1)
        c.int_(c.key(l, "padding", where), f"{where}: padding", 0)
    if kind == "merge":
        c.str_(c.key(l, "op", where), f"{where}: op", nx.MERGE_OPS)
    if kind not in LAYER_ROMS:
        return
    wbits = c.int_(c.key(l, "weight_bits", where), f"{where}: weight_bits", *nx.WEIGHT_BITS_RANGE)
    att = l.get("attention")
    if kind == "conv_lif" and att is not None:
        _check_attention(c, att, where)
    roms = c.obj(c.key(l, "roms", where), f"{where}: roms")
    needed = LAYER_ROMS[kind] + (ATTENTION_ROMS if kind == "conv_lif" and att is not None else ())
    extra = sorted(set(roms) - set(needed))
    if extra:
        c.fail(f"{where} has ROMs {extra} that a {kind} does not use; expected exactly {list(needed)}")
    bits = {"weights": wbits, "bias": nx.BIAS_BITS, "threshold": num["mem_bits"]}
    if att is not None:
        bits.update(att_w1=att["weight_bits"], att_w2=att["weight_bits"])
    for rom in needed:
        if rom not in roms:
            c.fail(f"{where} lists no {rom!r} ROM")
        rw = f"{where}: ROM {rom!r}"
        spec = c.obj(roms[rom], rw)
        _check_file_entry(c, spec, rw, root)
        c.shape(c.key(spec, "shape", rw), f"{rw}: shape", None, lo=1)
        if c.int_(c.key(spec, "bits", rw), f"{rw}: bits") != bits[rom]:
            c.fail(f"{rw} is declared {spec['bits']} bits; the contract stores {rom} in {bits[rom]} bits "
                   "(docs/bundle-format.md, ROM files)")


def _check_attention(c: _Check, a, where: str) -> None:
    aw = f"{where}: attention"
    c.obj(a, aw)
    c.str_(c.key(a, "kind", aw), f"{aw}.kind", ATTENTION_KINDS)
    c.str_(c.key(a, "dim", aw), f"{aw}.dim", ATTENTION_DIMS)
    c.int_(c.key(a, "size", aw), f"{aw}.size", 1)
    c.int_(c.key(a, "hidden", aw), f"{aw}.hidden", 1)
    c.int_(c.key(a, "weight_bits", aw), f"{aw}.weight_bits", *nx.WEIGHT_BITS_RANGE)
    for k in ("avg_mult", "out_mult"):
        v = c.key(a, k, aw)
        if not isinstance(v, list) or len(v) != 2:
            c.fail(f"{aw}.{k} is {_describe(v)}; expected [m, shift] (numerics.md section 6)")
        c.int_(v[0], f"{aw}.{k}[0] (m)", *nx.MULT_RANGE)
        c.int_(v[1], f"{aw}.{k}[1] (shift)", *nx.SHIFT_RANGE)


def _check_file_entry(c: _Check, spec: dict, where: str, root: Path) -> None:
    """``file`` names a file inside the bundle directory; ``sha256`` is a sha256."""
    _check_inside(c, c.key(spec, "file", where), where, root)
    sha = c.key(spec, "sha256", where)
    if not isinstance(sha, str) or len(sha) != 64 or any(ch not in "0123456789abcdef" for ch in sha):
        c.fail(f"{where}: sha256 is {_describe(sha)}; expected 64 lower-case hex digits")


def _check_inside(c: _Check, f, where: str, root: Path) -> None:
    """A file name inside the bundle directory: not absolute, no ``..``, no link that leads outside."""
    if not isinstance(f, str) or not f:
        c.fail(f"{where}: file is {_describe(f)}; expected a file name inside the bundle directory")
    p = Path(f)
    base = root.resolve()
    if p.is_absolute() or ".." in p.parts or not _inside(base, (base / p).resolve()):
        c.fail(f"{where}: file {f!r} is outside the bundle directory; expected a file name inside {root}")


def _inside(base: Path, p: Path) -> bool:
    try:
        p.relative_to(base)
    except ValueError:
        return False
    return p != base


def _check_graph(c: _Check, layers: list[dict], input_spec: dict) -> None:
    """Every layer reads earlier layers, with the shapes they produce; output sizes follow from
    kernel, stride and padding; merges take two equal shapes; ROM shapes are what the layer needs."""
    shapes = {INPUT: [input_spec["channels"], input_spec["height"], input_spec["width"]]}
    for l in layers:
        name, kind = l["name"], l["kind"]
        for src in l["inputs"]:
            if src not in shapes:
                c.fail(f"layer {name!r} reads {src!r}, which is not an earlier layer")
            if shapes[src] != l["in_shape"]:
                c.fail(f"layer {name!r} expects input shape {l['in_shape']} but {src!r} produces {shapes[src]}")
        ch, h, w = l["in_shape"]
        if kind in ("conv_lif", "maxpool_or"):
            k, s, p = l["kernel"], l["stride"], l["padding"]
            cout = l["out_shape"][0] if kind == "conv_lif" else ch
            expect = [cout, nx.conv_out_size(h, k, s, p), nx.conv_out_size(w, k, s, p)]
            if l["out_shape"] != expect:
                c.fail(f"layer {name!r} out_shape {l['out_shape']}; expected {expect} "
                       f"from in_shape {l['in_shape']}, kernel {k}, stride {s}, padding {p}")
        elif kind == "merge" and l["out_shape"] != l["in_shape"]:
            c.fail(f"merge {name!r} out_shape {l['out_shape']}; expected its in_shape {l['in_shape']}")
        att = l.get("attention") if kind == "conv_lif" else None
        if att is not None:
            expect = input_spec["steps"] if att["dim"] == "T" else l["out_shape"][0]
            if att["size"] != expect:
                c.fail(f"layer {name!r}: attention.size {att['size']}; a {att['dim']} attention has size "
                       f"{expect} ({'T' if att['dim'] == 'T' else 'the output channels'})")
        for rom, spec in l.get("roms", {}).items():
            expect = expected_rom_shape(l, rom)
            if spec["shape"] != expect:
                c.fail(f"{spec['file']}: ROM shape {spec['shape']}; layer {name!r} needs {expect}")
        shapes[name] = l["out_shape"]


def expected_rom_shape(l: dict, rom: str) -> list[int] | None:
    """The shape a layer's ROM must have (docs/bundle-format.md, ROM files)."""
    kind = l["kind"]
    if kind == "conv_lif" and rom in ATTENTION_ROMS and l.get("attention"):
        a = l["attention"]
        return [a["hidden"], a["size"]] if rom == "att_w1" else [a["size"], a["hidden"]]
    if kind == "conv_lif":
        cin, cout, k = l["in_shape"][0], l["out_shape"][0], l["kernel"]
        return {"weights": [cin, k, k, cout], "bias": [cout], "threshold": [cout]}.get(rom)
    if kind == "fc":
        cin, classes = l["in_shape"][0], l["out_shape"][0]
        return {"weights": [cin, classes], "bias": [classes]}.get(rom)
    return None


# ============================================================================ ROM values
def check_params(manifest: dict, params: dict[str, dict[str, np.ndarray]], mpath: Path) -> None:
    """Check the ROM values against the contract: weights within their symmetric range, thresholds
    in ``1 .. max_threshold(mem_bits)``, and the conv-accumulator and class-score bounds."""
    c = _Check(mpath)
    mem_bits = manifest["numerics"]["mem_bits"]
    spec = manifest["input"]
    x_max_input = (1 << spec["bits"]) - 1
    for l in manifest["layers"]:
        p = params.get(l["name"], {})
        name, roms = l["name"], l.get("roms", {})
        for rom, bits in (("weights", l.get("weight_bits")), ("att_w1", (l.get("attention") or {}).get("weight_bits")),
                          ("att_w2", (l.get("attention") or {}).get("weight_bits"))):
            if rom in p:
                lo, hi = nx.symmetric_range(bits)
                _check_range(c, p[rom], lo, hi, f"layer {name!r} ROM {rom} ({roms[rom]['file']})",
                             f"{bits}-bit weights are symmetric (docs/numerics.md section 1)")
        if l["kind"] == "conv_lif":
            _check_range(c, p["threshold"], 1, nx.max_threshold(mem_bits),
                         f"layer {name!r} ROM threshold ({roms['threshold']['file']})",
                         f"thresholds are >= 1 and at most max_threshold({mem_bits}) = 2^{mem_bits - 2} - 1, "
                         "the largest a neuron at rest can reach (docs/numerics.md section 2)")
            x_max = x_max_input if INPUT in l["inputs"] else 1
            bound = nx.conv_acc_bound(p["weights"], p["bias"], x_max)
            worst = int(np.argmax(bound))
            if not nx.fits_signed(int(bound[worst]), nx.ACC_BITS):
                c.fail(f"layer {name!r} channel {worst}: worst-case synaptic accumulator "
                       f"sum|w| * {x_max} + |bias| = {int(bound[worst])} does not fit the {nx.ACC_BITS}-bit "
                       f"accumulator (at most {nx.signed_range(nx.ACC_BITS)[1]}, docs/numerics.md section 3); "
                       "the bundle was edited after export or comes from another tool")
        elif l["kind"] == "fc":
            _, h, w = l["in_shape"]
            pool = spec["steps"] * h * w
            bound = nx.score_bound(p["weights"], p["bias"], pool)
            worst = int(np.argmax(bound))
            if not nx.fits_signed(int(bound[worst]), nx.SCORE_BITS):
                c.fail(f"layer {name!r} class {worst}: worst-case class score T*H*W * (sum|w| + |bias|) = "
                       f"{int(bound[worst])} does not fit the {nx.SCORE_BITS}-bit score (at most "
                       f"{nx.signed_range(nx.SCORE_BITS)[1]}, docs/numerics.md section 5); the bundle was edited "
                       "after export or comes from another tool")


def _check_range(c: _Check, a: np.ndarray, lo: int, hi: int, where: str, why: str) -> None:
    a = np.asarray(a)
    bad = (a < lo) | (a > hi)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        c.fail(f"{where}: value {int(a[idx])} at {list(idx)}; expected {lo}..{hi}: {why}")
