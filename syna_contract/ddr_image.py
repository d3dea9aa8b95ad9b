"""The DDR weight image: every parameter of a bundle in one binary file, laid out for AXI bursts.

Layout in ``docs/bundle-format.md`` ("The DDR weight image"); numpy only. The image is written
for a lane count P (output channels computed in parallel): each conv / fc layer's weights are
stored per *lane group* (P consecutive output channels), one block of rows per group, so that
the weights of any run of consecutive groups (an output-channel tile) are one contiguous,
64-byte-aligned byte range. A row holds, for one input row ``(ci, ky, kx)`` (conv) or ``ci``
(fc), the P weights of the group in ``weight_bits``-bit two's-complement lanes, lane 0 in the
least significant bits: the word the cores keep in their on-chip weight memory.

- :func:`build_image` / :func:`write_image`: manifest + parameters -> bytes / file + manifest entry;
- :func:`read_image` / :func:`parse_image`: file / bytes -> :class:`DdrImage` (header, layer table,
  decoders);
- :func:`check_image`: the bundle's image against its manifest entry and its ROMs (``load_bundle``
  calls it), every failure a :class:`~syna_contract.bundle.BundleError`;
- :func:`axi_bursts`: the INCR bursts that read a byte range (never crossing 4 KiB), the rule
  ``rtl/syna_axi_rd.v`` implements.
"""
from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .bundle import MANIFEST, Bundle, BundleError, sha256_file

IMAGE_FILE = "weights.ddr.bin"
MAGIC = b"SYNADDR\0"
LAYOUT_VERSION = 1
PAGE = 4096                 # AXI: a burst never crosses a 4 KiB boundary; sections start on one
BLOCK_ALIGN = 64            # every lane-group block and small section starts on 64 bytes
HEADER_FIXED = 128
ENTRY_BYTES = 64
MAX_LANES = 256             # a format limit (a row is at most 512 bytes); the cores' own range is narrower
KIND_CODES = {"conv_lif": 1, "fc": 2}

# Fixed header (little-endian): field name -> (offset, struct format).
HEADER_FIELDS = {
    "magic": (0, "8s"), "version": (8, "<I"), "header_bytes": (12, "<I"), "lanes": (16, "<I"),
    "weight_bits": (20, "<I"), "row_bytes": (24, "<I"), "block_align": (28, "<I"), "page": (32, "<I"),
    "entries": (36, "<I"), "total_bytes": (40, "<Q"), "mem_bits": (48, "<I"), "entry_bytes": (52, "<I"),
    "model_hash": (64, "32s"),
}
# One layer entry (ENTRY_BYTES, little-endian u32 each): byte offsets are from the start of the image.
ENTRY_FIELDS = ("layer", "kind", "rows", "cout", "groups", "weight_bits", "w_offset", "w_block_bytes",
                "bt_offset", "bt_bytes", "att_offset", "att_bytes", "att_hidden", "att_size", "att_weight_bits")


def _align(n: int, a: int) -> int:
    return -(-n // a) * a


def row_bytes(lanes: int, weight_bits: int) -> int:
    """Bytes per weight row: the smallest power of two that holds P lanes of ``weight_bits``, so a
    32/64/128-bit AXI beat holds a whole number of rows or a row a whole number of beats."""
    need = -(-lanes * weight_bits // 8)
    return 1 << (need - 1).bit_length()


def _param_layers(manifest: dict) -> list[tuple[int, dict]]:
    return [(i, l) for i, l in enumerate(manifest["layers"]) if l["kind"] in KIND_CODES]


def _weight_matrix(l: dict, p: dict) -> np.ndarray:
    """[rows, cout]: conv ``[Cin][K][K][Cout]`` flattened over (ci, ky, kx); fc ``[Cin][classes]``."""
    w = np.asarray(p["weights"], dtype=np.int64)
    return w.reshape(-1, w.shape[-1])


def _pack_rows(w: np.ndarray, lanes: int, wb: int, rb: int) -> np.ndarray:
    """[rows, cout] -> uint8 [groups, rows, rb]: per lane group, each row's P lanes of ``wb`` bits
    (two's complement, lane 0 lowest, little-endian), zero-padded to ``rb`` bytes.

    Lane by lane: a lane of at most 16 bits touches at most 3 bytes (O(weights), no bit arrays)."""
    rows, cout = w.shape
    g = -(-cout // lanes)
    pad = np.zeros((rows, g * lanes), dtype=np.int64)
    pad[:, :cout] = w
    u = (pad & ((1 << wb) - 1)).astype(np.uint32).reshape(rows, g, lanes).transpose(1, 0, 2)   # [g, rows, P]
    out = np.zeros((g, rows, rb + 2), dtype=np.uint8)
    for lane in range(lanes):
        bit = lane * wb
        v = u[:, :, lane] << np.uint32(bit % 8)
        for k in range(3):
            out[:, :, bit // 8 + k] |= ((v >> np.uint32(8 * k)) & np.uint32(0xFF)).astype(np.uint8)
    return out[:, :, :rb]


def _unpack_rows(blocks: np.ndarray, lanes: int, wb: int, cout: int) -> np.ndarray:
    """Inverse of :func:`_pack_rows`: uint8 [groups, rows, rb] -> int64 [rows, cout]."""
    g, rows, rb = blocks.shape
    b = np.zeros((g, rows, rb + 2), dtype=np.uint32)
    b[:, :, :rb] = blocks
    vals = np.empty((g, rows, lanes), dtype=np.int64)
    for lane in range(lanes):
        bit, i = lane * wb, lane * wb // 8
        v = (b[:, :, i] | (b[:, :, i + 1] << np.uint32(8)) | (b[:, :, i + 2] << np.uint32(16))) >> np.uint32(bit % 8)
        vals[:, :, lane] = v & np.uint32((1 << wb) - 1)
    vals = np.where(vals >= 1 << (wb - 1), vals - (1 << wb), vals)
    return vals.transpose(1, 0, 2).reshape(rows, g * lanes)[:, :cout]


def _check_fits(v: np.ndarray, bits: int, what: str) -> None:
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if v.size and (v.min() < lo or v.max() > hi):
        raise ValueError(f"{what}: values {v.min()}..{v.max()} do not fit the image's {bits}-bit fields")


def image_weight_bits(manifest: dict) -> int:
    """Lane width of the weight rows: the widest conv / fc ``weight_bits`` (narrower layers sign-extend)."""
    return max(l["weight_bits"] for _, l in _param_layers(manifest))


# ----------------------------------------------------------------------------- writing
def check_lanes(lanes) -> None:
    if isinstance(lanes, bool) or not isinstance(lanes, (int, np.integer)) or not 1 <= lanes <= MAX_LANES:
        raise ValueError(f"lanes {lanes!r}; the DDR image takes 1..{MAX_LANES} lanes")


def _layer_rows(l: dict) -> int:
    """Weight rows of a conv / fc layer from its manifest entry: conv Cin x K x K, fc Cin."""
    cin = l["in_shape"][0]
    return cin * l["kernel"] ** 2 if l["kind"] == "conv_lif" else cin


def layout(manifest: dict, lanes: int) -> tuple[dict, list[dict]]:
    """The image's header fields (no ``magic``/``model_hash``) and layer entries for P = ``lanes``, from
    the manifest's shapes alone (no parameters): where every section of :func:`build_image` goes. The
    cores' generators read the weight offsets from here (``syna_hw``), so one function places them."""
    check_lanes(lanes)
    layers = _param_layers(manifest)
    if not layers:
        raise ValueError("the bundle has no conv or fc layer: nothing to put in a DDR image")
    wb = image_weight_bits(manifest)
    rb = row_bytes(lanes, wb)
    header_bytes = _align(HEADER_FIXED + ENTRY_BYTES * len(layers), PAGE)
    entries = []
    pos = header_bytes
    for idx, l in layers:
        rows, cout = _layer_rows(l), l["out_shape"][0]
        g = -(-cout // lanes)
        e = dict.fromkeys(ENTRY_FIELDS, 0)
        e.update(layer=idx, kind=KIND_CODES[l["kind"]], rows=rows, cout=cout, groups=g, weight_bits=l["weight_bits"])
        # weights: one 64-byte-aligned block per lane group, the section on a 4 KiB page
        pos = _align(pos, PAGE)
        e.update(w_offset=pos, w_block_bytes=_align(rows * rb, BLOCK_ALIGN))
        pos += g * e["w_block_bytes"]
        # bias and threshold: per lane group, P x int32 bias then P x int32 threshold
        pos = _align(pos, BLOCK_ALIGN)
        e.update(bt_offset=pos, bt_bytes=g * 2 * lanes * 4)
        pos += e["bt_bytes"]
        a = l.get("attention")
        if a:
            pos = _align(pos, BLOCK_ALIGN)
            e.update(att_offset=pos, att_bytes=2 * 2 * a["hidden"] * a["size"], att_hidden=a["hidden"],
                     att_size=a["size"], att_weight_bits=a["weight_bits"])
            pos += e["att_bytes"]
        entries.append(e)
    total = _align(pos, BLOCK_ALIGN)
    if total >= 1 << 32:
        raise ValueError(f"the DDR image would be {total} bytes; the layout's 32-bit offsets hold less than 4 GiB")
    head = dict(version=LAYOUT_VERSION, header_bytes=header_bytes, lanes=int(lanes), weight_bits=wb,
                row_bytes=rb, block_align=BLOCK_ALIGN, page=PAGE, entries=len(entries), total_bytes=total,
                mem_bits=manifest["numerics"]["mem_bits"], entry_bytes=ENTRY_BYTES)
    return head, entries


def _pack_header(head: dict, entries: list[dict], manifest: dict) -> bytes:
    """The image's first ``header_bytes``: the fixed header, the layer table, zeros up to the first section."""
    h = bytearray(head["header_bytes"])
    fields = dict(head, magic=MAGIC, model_hash=bytes.fromhex(manifest["model_hash"]))
    for name, (off, fmt) in HEADER_FIELDS.items():
        struct.pack_into(fmt, h, off, fields[name])
    for i, e in enumerate(entries):
        struct.pack_into(f"<{len(ENTRY_FIELDS)}I", h, HEADER_FIXED + i * ENTRY_BYTES, *(e[f] for f in ENTRY_FIELDS))
    return bytes(h)


def check_bytes(row_bytes: int) -> int:
    """How much of the image a DDR-mode core compares before every inference: the fixed header, read as
    whole rows of the core's port (max(HEADER_FIXED, row_bytes); a row of more than 128 bytes brings the
    start of the layer table with it)."""
    return max(HEADER_FIXED, row_bytes)


def image_head(manifest: dict, lanes: int) -> bytes:
    """The first :func:`check_bytes` bytes of the bundle's image for P = ``lanes``, from the manifest alone:
    the fixed header (magic, layout version, lanes, weight bits, row bytes, entries, total bytes, model
    hash) and, past 128 bytes, the start of the layer table. A DDR-mode core is generated with them and
    compares them, byte for byte, with what it reads at WEIGHTS_BASE before every inference
    (docs/core-interface.md, STATUS ``weights``): another model's image, an image for another P, or
    memory that holds no image differ here."""
    head, entries = layout(manifest, lanes)
    return _pack_header(head, entries, manifest)[:check_bytes(head["row_bytes"])]


def build_image(manifest: dict, params: dict[str, dict[str, np.ndarray]], lanes: int) -> bytes:
    """The image of a bundle (its manifest, with ``model_hash``, and its ROM values) for P = ``lanes``."""
    head, entries = layout(manifest, lanes)
    wb, rb = head["weight_bits"], head["row_bytes"]
    img = bytearray(head["total_bytes"])
    for e in entries:
        l = manifest["layers"][e["layer"]]
        p = params[l["name"]]
        w = _weight_matrix(l, p)
        if w.shape != (e["rows"], e["cout"]):
            raise ValueError(f"layer {l['name']!r}: weights of shape {w.shape}; its shapes say "
                             f"{(e['rows'], e['cout'])} rows x output channels")
        _check_fits(w, wb, f"layer {l['name']!r} weights")
        g, block = e["groups"], e["w_block_bytes"]
        packed = _pack_rows(w, lanes, wb, rb)                      # [g, rows, rb]
        buf = np.zeros((g, block), dtype=np.uint8)
        buf[:, :e["rows"] * rb] = packed.reshape(g, e["rows"] * rb)
        img[e["w_offset"]:e["w_offset"] + g * block] = buf.tobytes()
        bt = np.zeros((2, g * lanes), dtype=np.int64)
        bt[0, :e["cout"]] = p["bias"]
        if "threshold" in p:
            bt[1, :e["cout"]] = p["threshold"]
        _check_fits(bt, 32, f"layer {l['name']!r} bias/threshold")
        bt = bt.reshape(2, g, lanes).transpose(1, 0, 2).astype("<i4")          # [g][bias, threshold][P]
        img[e["bt_offset"]:e["bt_offset"] + bt.nbytes] = bt.tobytes()
        if e["att_bytes"]:
            att = np.concatenate([np.asarray(p["att_w1"]).ravel(), np.asarray(p["att_w2"]).ravel()])
            _check_fits(att, 16, f"layer {l['name']!r} attention weights")
            if att.size * 2 != e["att_bytes"]:
                raise ValueError(f"layer {l['name']!r}: {att.size} attention weights; its spec says "
                                 f"{e['att_bytes'] // 2}")
            img[e["att_offset"]:e["att_offset"] + e["att_bytes"]] = att.astype("<i2").tobytes()
    img[:head["header_bytes"]] = _pack_header(head, entries, manifest)
    return bytes(img)


def write_image(root: str | Path, manifest: dict, params: dict[str, dict[str, np.ndarray]], lanes: int) -> dict:
    """Write ``IMAGE_FILE`` into the bundle directory ``root``; return the manifest's ``ddr_image`` entry
    (the caller stores it; it is outside ``model_hash``, the image carries the hash in its header)."""
    root = Path(root)
    data = build_image(manifest, params, lanes)
    (root / IMAGE_FILE).write_bytes(data)
    h = read_header(data, root / IMAGE_FILE)
    return dict(file=IMAGE_FILE, sha256=sha256_file(root / IMAGE_FILE), bytes=len(data), layout_version=LAYOUT_VERSION,
                lanes=h["lanes"], weight_bits=h["weight_bits"], row_bytes=h["row_bytes"])


def add_image(bundle: Bundle, lanes: int) -> dict:
    """Write the image of an already loaded bundle for P = ``lanes`` and record it in its ``manifest.json``
    (replacing an image written before). The model hash does not change."""
    entry = write_image(bundle.root, bundle.manifest, bundle.params, lanes)
    bundle.manifest["ddr_image"] = entry
    (bundle.root / MANIFEST).write_text(json.dumps(bundle.manifest, indent=1))
    return entry


# ----------------------------------------------------------------------------- reading
@dataclass
class DdrImage:
    """A parsed image: header fields, one entry per conv / fc layer (manifest order), the raw bytes."""

    header: dict
    entries: list[dict]
    data: bytes

    @property
    def lanes(self) -> int:
        return self.header["lanes"]

    def entry(self, layer_index: int) -> dict:
        for e in self.entries:
            if e["layer"] == layer_index:
                return e
        raise KeyError(f"no image entry for layer {layer_index}")

    def weight_range(self, e: dict, first_group: int = 0, groups: int | None = None) -> tuple[int, int]:
        """(byte offset, bytes) of the weight blocks of lane groups ``first_group`` .. + ``groups``: one
        contiguous range, what an output-channel tile loads."""
        groups = e["groups"] - first_group if groups is None else groups
        if first_group < 0 or groups < 1 or first_group + groups > e["groups"]:
            raise ValueError(f"lane groups {first_group}..{first_group + groups - 1}; the layer has {e['groups']}")
        return e["w_offset"] + first_group * e["w_block_bytes"], groups * e["w_block_bytes"]

    def weights(self, e: dict) -> np.ndarray:
        """int64 [rows, cout] (conv: rows over (ci, ky, kx))."""
        rb, g = self.header["row_bytes"], e["groups"]
        raw = np.frombuffer(self.data, np.uint8, g * e["w_block_bytes"], e["w_offset"]).reshape(g, e["w_block_bytes"])
        blocks = raw[:, :e["rows"] * rb].reshape(g, e["rows"], rb)
        return _unpack_rows(blocks, self.lanes, self.header["weight_bits"], e["cout"])

    def bias_threshold(self, e: dict) -> tuple[np.ndarray, np.ndarray]:
        bt = np.frombuffer(self.data, "<i4", e["groups"] * 2 * self.lanes, e["bt_offset"]).reshape(e["groups"], 2, -1)
        return (bt[:, 0].reshape(-1)[:e["cout"]].astype(np.int64), bt[:, 1].reshape(-1)[:e["cout"]].astype(np.int64))

    def attention(self, e: dict) -> tuple[np.ndarray, np.ndarray] | None:
        if not e["att_bytes"]:
            return None
        h, s = e["att_hidden"], e["att_size"]
        v = np.frombuffer(self.data, "<i2", 2 * h * s, e["att_offset"]).astype(np.int64)
        return v[:h * s].reshape(h, s), v[h * s:].reshape(s, h)


def read_header(data: bytes, path: Path | str = IMAGE_FILE) -> dict:
    if len(data) < HEADER_FIXED:
        raise BundleError(path, f"{len(data)} bytes; a DDR image has a header of at least {HEADER_FIXED} bytes")
    h = {name: struct.unpack_from(fmt, data, off)[0] for name, (off, fmt) in HEADER_FIELDS.items()}
    if h["magic"] != MAGIC:
        raise BundleError(path, f"starts with {h['magic']!r}; expected the DDR image magic {MAGIC!r}")
    if h["version"] != LAYOUT_VERSION:
        raise BundleError(path, f"DDR image layout version {h['version']}; this tool reads version {LAYOUT_VERSION}")
    h["model_hash"] = h["model_hash"].hex()
    return h


def read_image(path: str | Path) -> DdrImage:
    """Parse an image file; structural checks only (:func:`check_image` checks it against a bundle)."""
    path = Path(path)
    if not path.is_file():
        raise BundleError(path, "DDR image is missing")
    return parse_image(path.read_bytes(), path)


def parse_image(data: bytes, path: Path | str = IMAGE_FILE) -> DdrImage:
    """:func:`read_image` on bytes (``path`` names them in errors)."""
    h = read_header(data, path)
    if h["total_bytes"] != len(data):
        raise BundleError(path, f"{len(data)} bytes; its header says {h['total_bytes']} (truncated or padded)")
    if not (1 <= h["lanes"] <= MAX_LANES and h["row_bytes"] == row_bytes(h["lanes"], h["weight_bits"])
            and h["entry_bytes"] == ENTRY_BYTES and h["page"] == PAGE and h["block_align"] == BLOCK_ALIGN
            and h["header_bytes"] >= HEADER_FIXED + ENTRY_BYTES * h["entries"]):
        raise BundleError(path, f"inconsistent DDR image header {h}")
    entries = []
    for i in range(h["entries"]):
        vals = struct.unpack_from(f"<{len(ENTRY_FIELDS)}I", data, HEADER_FIXED + i * ENTRY_BYTES)
        e = dict(zip(ENTRY_FIELDS, vals))
        ends = [(e["w_offset"], e["groups"] * e["w_block_bytes"], PAGE), (e["bt_offset"], e["bt_bytes"], BLOCK_ALIGN)]
        if e["att_bytes"]:
            ends.append((e["att_offset"], e["att_bytes"], BLOCK_ALIGN))
        for off, n, align in ends:
            if off % align or off < h["header_bytes"] or off + n > len(data):
                raise BundleError(path, f"layer entry {i}: section at byte {off} ({n} bytes) is misaligned or "
                                        f"outside the image of {len(data)} bytes")
        entries.append(e)
    return DdrImage(h, entries, data)


def check_image(bundle: Bundle) -> DdrImage:
    """The bundle's image: present, the size and sha256 of its manifest entry, for this model (hash in
    the header), and every weight, bias, threshold and attention weight equal to the ROMs."""
    entry = bundle.manifest["ddr_image"]
    path = bundle.root / entry.get("file", IMAGE_FILE)
    if not path.is_file():
        raise BundleError(path, "DDR image is missing (the manifest lists one; re-export with --ddr-image)")
    size = path.stat().st_size
    if size != entry.get("bytes"):
        raise BundleError(path, f"{size} bytes; the manifest says {entry.get('bytes')} (truncated or replaced)")
    actual = sha256_file(path)
    if actual != entry.get("sha256"):
        raise BundleError(path, f"sha256 {actual[:16]}... does not match the manifest's "
                                f"{str(entry.get('sha256'))[:16]}... (file corrupted or edited after export)")
    img = read_image(path)
    h = img.header
    if h["model_hash"] != bundle.model_hash:
        raise BundleError(path, f"DDR image of model {h['model_hash'][:16]}...; the bundle is model "
                                f"{bundle.model_hash[:16]}...")
    for key in ("lanes", "weight_bits", "row_bytes"):
        if h[key] != entry.get(key):
            raise BundleError(path, f"header {key} {h[key]}; the manifest says {entry.get(key)}")
    layers = _param_layers(bundle.manifest)
    if [e["layer"] for e in img.entries] != [i for i, _ in layers]:
        raise BundleError(path, "the image's layer table does not list the bundle's conv and fc layers in order")
    for e, (_, l) in zip(img.entries, layers):
        p = bundle.params[l["name"]]
        what = None
        if not np.array_equal(img.weights(e), _weight_matrix(l, p)):
            what = "weights"
        else:
            bias, thr = img.bias_threshold(e)
            if not np.array_equal(bias, p["bias"]):
                what = "bias"
            elif "threshold" in p and not np.array_equal(thr, p["threshold"]):
                what = "threshold"
            elif l.get("attention"):
                att = img.attention(e)
                if att is None or not (np.array_equal(att[0], p["att_w1"]) and np.array_equal(att[1], p["att_w2"])):
                    what = "attention weights"
        if what:
            raise BundleError(path, f"layer {l['name']!r}: the image's {what} differ from the bundle's ROMs")
    return img


# ----------------------------------------------------------------------------- AXI
def axi_bursts(addr: int, nbytes: int, data_bytes: int, max_beats: int) -> list[tuple[int, int]]:
    """(address, beats) of the INCR bursts that read ``nbytes`` from the beat-aligned ``addr`` with
    ``data_bytes``-byte beats and at most ``max_beats`` per burst (256 AXI4, 16 AXI3), never crossing
    a 4 KiB boundary. The last beat may be partly used."""
    if data_bytes < 1 or data_bytes & (data_bytes - 1) or addr % data_bytes or nbytes < 1 or max_beats < 1:
        raise ValueError(f"address {addr:#x}, {nbytes} bytes, {data_bytes}-byte beats, {max_beats} beats: "
                         "expected a beat-aligned address, a power-of-two beat and at least one byte and beat")
    beats = -(-nbytes // data_bytes)
    out = []
    while beats:
        n = min(beats, max_beats, (PAGE - addr % PAGE) // data_bytes)
        out.append((addr, n))
        addr += n * data_bytes
        beats -= n
    return out
