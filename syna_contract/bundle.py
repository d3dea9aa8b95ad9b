"""The export bundle: ``manifest.json``, ``$readmemh`` ROMs, golden vectors.

Format described in ``docs/bundle-format.md``. Needs numpy only. Loading checks the
manifest against the contract (:mod:`syna_contract.validate`: types, ranges, file
names, the layer graph), the model hash, every file's presence and sha256, every
ROM's word count and width, the ROM values (weight ranges, thresholds, accumulator
and score bounds) and that golden.npz opens; each failure is a :class:`BundleError`
naming the file and what was expected.
"""
from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import numerics as nx
from .layers import Layer, LayerError, from_dict
from .validate import FORMAT_NAME, BundleError, check_header, check_manifest, check_params

__all__ = ["FORMAT_NAME", "MANIFEST", "GOLDEN", "BundleError", "Bundle", "load_bundle", "model_hash",
           "read_rom", "rom_text", "sha256_file", "write_rom", "ROM_LAYOUTS"]

MANIFEST = "manifest.json"
GOLDEN = "golden.npz"

# Which ROMs each layer kind carries, and their layouts (row-major, outermost first).
ROM_LAYOUTS = {
    "weights": "conv: [Cin][Kh][Kw][Cout]; fc: [Cin][classes]",
    "bias": "[Cout] (conv, in current units) or [classes] (fc, in weight units)",
    "threshold": "[Cout]",
    "att_w1": "[hidden][dim]",
    "att_w2": "[dim][hidden]",
}


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------- ROM files
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_HEX_VALUE = np.full(256, 255, dtype=np.uint8)          # ASCII -> nibble (255: not a hex digit)
for _i, _c in enumerate(b"0123456789abcdef"):
    _HEX_VALUE[_c] = _HEX_VALUE[ord(chr(_c).upper())] = _i


def rom_text(values: np.ndarray, bits: int, comment: str) -> str:
    """Two's-complement hex words, one per line, for Verilog ``$readmemh``.

    Vectorised (a paper-size network has 11 M weights; one ``format`` per word took 29 s)."""
    flat = np.asarray(values, dtype=np.int64).ravel()
    lo, hi = nx.signed_range(bits)
    if flat.size and (flat.min() < lo or flat.max() > hi):
        raise ValueError(f"{comment}: values {flat.min()}..{flat.max()} do not fit {bits}-bit signed")
    digits = (bits + 3) // 4
    if not flat.size:
        return f"// {comment}\n\n"
    masked = (flat & ((1 << bits) - 1)).astype(np.uint64)
    shifts = np.arange(digits - 1, -1, -1, dtype=np.uint64) * np.uint64(4)
    chars = np.empty((flat.size, digits + 1), dtype=np.uint8)
    chars[:, :digits] = _HEX[(masked[:, None] >> shifts) & np.uint64(0xF)]
    chars[:, digits] = ord("\n")
    return f"// {comment}\n" + chars.tobytes().decode("ascii")


def _read_rom_fast(text: bytes, digits: int) -> np.ndarray | None:
    """The words of a ROM file as :func:`rom_text` writes it (comment lines first, then one word of
    equal length per line), or None for any other file (the general reader then decides)."""
    while text.startswith(b"//"):
        text = text[text.find(b"\n") + 1:] if b"\n" in text else b""
    width = text.find(b"\n")
    if width < 1 or width > digits or len(text) % (width + 1):
        return None
    rows = np.frombuffer(text, dtype=np.uint8).reshape(-1, width + 1)
    if (rows[:, width] != ord("\n")).any():
        return None
    nib = _HEX_VALUE[rows[:, :width]]
    if (nib == 255).any():
        return None
    shifts = np.arange(width - 1, -1, -1, dtype=np.int64) * 4
    return (nib.astype(np.int64) << shifts).sum(axis=1)


def read_rom(path: Path, shape: list[int], bits: int) -> np.ndarray:
    """Read a ``$readmemh`` file written by :func:`rom_text`; check count and width."""
    if not path.is_file():
        raise BundleError(path, "ROM file is missing")
    expected = int(np.prod(shape)) if shape else 1
    digits = (bits + 3) // 4
    raw = _read_rom_fast(path.read_bytes(), digits)
    if raw is None or len(raw) != expected:
        words = [ln.strip() for ln in path.read_text().splitlines()]
        words = [w for w in words if w and not w.startswith("//")]
        if len(words) != expected:
            raise BundleError(path, f"{len(words)} words; expected {expected} for shape {shape}")
        try:
            raw = np.array([int(w, 16) for w in words], dtype=np.int64)
        except ValueError as e:
            raise BundleError(path, f"not a hex word file ({e}); expected {digits} hex digits per line") from None
        if any(len(w) > digits for w in words):
            raise BundleError(path, f"a word is wider than {bits} bits")
    if raw.size and raw.max() >= (1 << bits):
        raise BundleError(path, f"a word is wider than {bits} bits")
    signed = np.where(raw >= (1 << (bits - 1)), raw - (1 << bits), raw)
    return signed.reshape(shape)


# --------------------------------------------------------------------------- hashing
def model_hash(manifest: dict) -> str:
    """sha256 over everything that defines the computation: config, input, numerics, layers (with ROM hashes)."""
    core = {k: manifest[k] for k in ("model_config", "input", "numerics", "layers")}
    return hashlib.sha256(json.dumps(core, sort_keys=True).encode()).hexdigest()


# --------------------------------------------------------------------------- loading
@dataclass
class Bundle:
    root: Path
    manifest: dict
    params: dict[str, dict[str, np.ndarray]]   # layer name -> rom name -> int64 array
    # the typed layer descriptors (syna_contract/layers.py), built from the manifest's layers (after
    # load_bundle has validated the manifest)
    descriptors: list[Layer] = field(init=False, repr=False)

    def __post_init__(self):
        try:
            self.descriptors = [from_dict(l) for l in self.manifest["layers"]]
        except LayerError as e:
            raise BundleError(Path(self.root) / MANIFEST, str(e)) from None

    @property
    def layers(self) -> list[dict]:
        """The manifest's layer dicts (the file format); :attr:`descriptors` are the typed ones."""
        return self.manifest["layers"]

    @property
    def input_spec(self) -> dict:
        return self.manifest["input"]

    @property
    def numerics(self) -> dict:
        return self.manifest["numerics"]

    @property
    def model_hash(self) -> str:
        return self.manifest["model_hash"]

    def layer(self, name: str) -> dict:
        for l in self.layers:
            if l["name"] == name:
                return l
        raise KeyError(f"no layer {name!r} in bundle {self.root}")

    def golden(self) -> dict[str, np.ndarray]:
        """The golden vectors (inputs, every layer's spikes, scores), checksum-verified."""
        g = self.manifest.get("golden")
        if not g:
            raise BundleError(self.root / MANIFEST, "this bundle has no golden vectors")
        path = self.root / g["file"]
        _check_file(path, g["sha256"])
        return _read_golden(path)


def _check_file(path: Path, sha: str) -> None:
    if not path.is_file():
        raise BundleError(path, "file is missing")
    actual = sha256_file(path)
    if actual != sha:
        raise BundleError(path, f"sha256 {actual[:16]}... does not match the manifest's {sha[:16]}... "
                                "(file corrupted or edited after export)")


def _read_golden(path: Path) -> dict[str, np.ndarray]:
    """Every array of golden.npz; a file that is not a readable npz is a :class:`BundleError`."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError) as e:
        raise BundleError(path, f"not a readable .npz ({type(e).__name__}: {e}); expected the golden vectors "
                                "the exporter wrote") from None


def _check_golden(root: Path, manifest: dict) -> None:
    """golden.npz: its sha256, and that it opens and holds ``input`` [K, T, C, H, W] and ``scores`` [K, classes]."""
    g = manifest["golden"]
    path = root / g["file"]
    _check_file(path, g["sha256"])
    arrays = _read_golden(path)
    spec, k = manifest["input"], g["samples"]
    classes = manifest["layers"][-1]["out_shape"][0]
    expect = {"input": (k, spec["steps"], spec["channels"], spec["height"], spec["width"]), "scores": (k, classes)}
    for name, shape in expect.items():
        if name not in arrays:
            raise BundleError(path, f"no array {name!r}; expected {name} of shape {list(shape)}")
        if arrays[name].shape != shape:
            raise BundleError(path, f"{name} has shape {list(arrays[name].shape)}; expected {list(shape)}")


def load_bundle(root: str | Path, check_golden: bool = True) -> Bundle:
    """Load and verify a bundle directory (``docs/bundle-format.md``, "What loading checks")."""
    root = Path(root)
    mpath = root / MANIFEST
    if not root.is_dir():
        raise BundleError(root, "bundle directory does not exist")
    if not mpath.is_file():
        raise BundleError(mpath, "manifest is missing; expected the output of `python -m model_export export`")
    try:
        manifest = json.loads(mpath.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BundleError(mpath, f"not valid JSON ({e})") from None
    check_header(manifest, mpath)
    if model_hash(manifest) != manifest["model_hash"]:
        raise BundleError(mpath, "model_hash does not match the manifest's contents (manifest edited after export)")
    check_manifest(manifest, mpath, root)

    params: dict[str, dict[str, np.ndarray]] = {}
    for l in manifest["layers"]:
        layer_params = {}
        for rom, spec in l.get("roms", {}).items():
            path = root / spec["file"]
            _check_file(path, spec["sha256"])
            layer_params[rom] = read_rom(path, spec["shape"], spec["bits"])
        params[l["name"]] = layer_params
    check_params(manifest, params, mpath)
    bundle = Bundle(root, manifest, params)
    if check_golden and manifest.get("golden"):
        _check_golden(root, manifest)
    if manifest.get("ddr_image") is not None:
        from .ddr_image import check_image        # (it imports this module)
        check_image(bundle)
    return bundle


# --------------------------------------------------------------------------- writing
def write_rom(root: Path, layer: dict, rom: str, values: np.ndarray, bits: int) -> None:
    fname = f"{layer['name'].replace('.', '_')}_{rom}.mem"
    text = rom_text(values, bits, f"{layer['name']} {rom} {ROM_LAYOUTS[rom]} int{bits}")
    (root / fname).write_text(text)
    layer.setdefault("roms", {})[rom] = dict(file=fname, shape=list(np.shape(values)), bits=bits,
                                             sha256=sha256_file(root / fname))
