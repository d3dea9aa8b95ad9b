"""The Vitis-HLS spiking core from Python: code generation, g++ C-simulation, a ctypes binding.

``docs/hls-core.md`` describes the core; ``hls/src`` is its C++. This module (numpy only):

- :func:`generate` writes the per-model header ``syna_model.h`` (layer schedule as constant
  tables, every ROM padded to the core's P output-channel lanes, ``MODEL_HASH32``, the
  interface numbers of ``syna_contract/protocol.py``) into ``build/hls/<hash16>/p<P>/``. Whatever
  the integer contract or this core cannot run is refused here with :class:`HlsUnsupported`.
- :class:`HlsCore` ``(bundle_dir, lanes=P)``, like hls4ml's ``compile()`` / ``predict()``:
  ``compile()`` builds the same C++ as a shared library (cached by model, lanes and source
  hash), ``transfer(words, steps)`` runs one inference through the real top function at
  stream level, ``predict(x)`` gives scores, ``run(x)`` scores + every layer's spikes
  (through a C-sim-only debug tap) + counts, saturations and modelled cycles.
- :func:`cycle_model` / :func:`synaptic_ops`: the core's cycle count (trip counts x II of its
  loops, exactly what the C++ counts) and the synaptic operations, from spike maps alone, so
  they also work for networks too large to compile (paper size).
- :func:`check_bundle` runs the core against the numpy :class:`~syna_contract.reference.Reference`
  (the demo's C-sim stage) and ``python -m syna_hw.hls_core csim`` is ``make csim``.

Nothing here has run Vitis HLS or Vivado; the vendor flows are Tcl in ``hls/scripts``.
"""
from __future__ import annotations

import argparse
import ctypes
import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from syna_contract import numerics as nx
from syna_contract import protocol as proto
from syna_contract.bundle import Bundle, load_bundle
from syna_contract.graph import INPUT

REPO = Path(__file__).resolve().parent.parent
HLS_DIR = REPO / "hls"
SRC_DIR = HLS_DIR / "src"
CSIM_INCLUDE = HLS_DIR / "csim_include"      # C-sim-only shim (ap_axi_sdata.h), never given to Vitis
TB_DIR = HLS_DIR / "tb"
BUILD_DIR = REPO / "build" / "hls"
CORE_SOURCES = ("syna_core.cpp",)
CAPI_SOURCE = "syna_capi.cpp"
HEADER_NAME = "syna_model.h"
GOLDEN_BIN = "golden.bin"
LANE_CHOICES = (1, 2, 4, 8, 16, 32)
DEFAULT_LANES = 16
CXX_FLAGS = ["-std=c++14", "-Wno-unknown-pragmas", "-Wno-unused-label"]
# C-simulation optimisation (the binding and `make csim` are built on the machine that runs them, so
# -march=native is fine; nothing built here is shipped). SYNA_CSIM_OPT="-O2" (say) replaces these.
CSIM_OPT_FLAGS = ["-O3", "-march=native"]
SPIKE_WORD = 32                # the core stores spike maps in 32-bit words, [t][y][x][ceil(C/32)]

KIND_ENC, KIND_CONV, KIND_POOL, KIND_MERGE = 0, 1, 2, 3
MERGE_CODES = {"OR": 0, "AND": 1, "IAND": 2}
ATT_KIND = {"MA": 0, "IA": 1}
ATT_DIM = {"T": 0, "C": 1}


class HlsUnsupported(ValueError):
    """A bundle (or option) the HLS core cannot run; the message says what and why."""


class HlsToolError(RuntimeError):
    """g++ or the Xilinx HLS headers are missing, or a build failed."""


# =============================================================================== checks
def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def _pow2(v: int) -> bool:
    return v >= 1 and (v & (v - 1)) == 0


def check_supported(bundle: Bundle, lanes: int = DEFAULT_LANES) -> None:
    """Raise :class:`HlsUnsupported` naming the first thing this core cannot run."""
    if lanes not in LANE_CHOICES:
        raise HlsUnsupported(f"lanes={lanes}; the core packs P output-channel lanes into 32-bit spike words, "
                             f"so P must be one of {LANE_CHOICES}")
    layers = bundle.layers
    spec = bundle.input_spec
    if spec["bits"] > 16:
        raise HlsUnsupported(f"input bits {spec['bits']}; the input stream carries at most 16 bits per value")
    mem_bits = bundle.numerics["mem_bits"]
    if not nx.MEM_BITS_RANGE[0] <= mem_bits <= nx.MEM_BITS_RANGE[1]:
        raise HlsUnsupported(f"mem_bits {mem_bits}; the integer contract allows {nx.MEM_BITS_RANGE}")
    readers = [l for l in layers if INPUT in l["inputs"]]
    if len(readers) != 1 or readers[0] is not layers[0] or layers[0]["kind"] != "conv_lif":
        raise HlsUnsupported("the core needs exactly one layer reading the input, the first, a conv_lif "
                             f"(the encoder); this bundle has {[l['name'] for l in readers]}")
    if layers[0].get("attention"):
        raise HlsUnsupported(f"layer {layers[0]['name']}: attention on the encoder; the core streams the input "
                             "once, but attention needs two passes over a layer's currents (re-read its input)")
    fcs = [l for l in layers if l["kind"] == "fc"]
    if len(fcs) != 1 or fcs[0] is not layers[-1]:
        raise HlsUnsupported("the core needs exactly one fc layer, the last one")
    for l in layers:
        name, kind = l["name"], l["kind"]
        if kind == "merge" and l["op"] not in MERGE_CODES:
            raise HlsUnsupported(f"layer {name}: merge {l['op']!r} is not in the integer contract "
                                 f"(ADD makes non-binary spikes); the core runs {tuple(MERGE_CODES)}")
        if kind in ("conv_lif", "maxpool_or"):
            if not _pow2(l["stride"]):
                raise HlsUnsupported(f"layer {name}: stride {l['stride']}; the core needs a power of two")
            if l["padding"] >= l["kernel"] and kind == "maxpool_or":
                raise HlsUnsupported(f"layer {name}: padding {l['padding']} >= kernel {l['kernel']}")
        if kind == "conv_lif":
            if l["weight_bits"] > 16:
                raise HlsUnsupported(f"layer {name}: {l['weight_bits']}-bit weights; the contract allows 4..16")
            a = l.get("attention")
            if a:
                if a["dim"] not in ATT_DIM or a["kind"] not in ATT_KIND:
                    raise HlsUnsupported(f"layer {name}: attention {a['kind']}-{a['dim']}; the core runs MA/IA "
                                         f"in dims T and C (spatial attention is not in the integer contract)")
                expect = spec["steps"] if a["dim"] == "T" else l["out_shape"][0]
                if a["size"] != expect:
                    raise HlsUnsupported(f"layer {name}: attention size {a['size']}, expected {expect}")
        if kind == "merge" and len(l["inputs"]) != 2:
            raise HlsUnsupported(f"layer {name}: a merge needs two inputs")


# =============================================================================== code generation
@dataclass
class Plan:
    """Everything the generated header encodes (also used by the cycle model and the bench)."""
    lanes: int
    steps: int
    layers: list[dict]                 # manifest layers (spiking ones + fc)
    rows: list[dict] = field(default_factory=list)      # one table row per spiking layer
    buffers: list[int] = field(default_factory=list)    # words per physical spike buffer
    fc: dict = field(default_factory=dict)


def _buffer_plan(layers: list[dict], steps: int) -> tuple[dict[str, int], list[int]]:
    """Assign every spike map to one of a few physical buffers by liveness (layer-major schedule)."""
    last_use: dict[str, int] = {}
    for i, l in enumerate(layers):
        for s in l["inputs"]:
            last_use[s] = i
    owner: dict[int, str | None] = {}
    assign: dict[str, int] = {}
    sizes: list[int] = []
    for i, l in enumerate(layers):
        if l["kind"] == "fc":
            continue
        for b, m in owner.items():                      # free buffers whose map has no reader left
            if m is not None and last_use.get(m, -1) < i:
                owner[b] = None
        c, h, w = l["out_shape"]
        words = steps * h * w * _ceil(c, SPIKE_WORD)
        free = [b for b, m in owner.items() if m is None]
        b = free[0] if free else len(sizes)
        if not free:
            sizes.append(0)
        owner[b] = l["name"]
        assign[l["name"]] = b
        sizes[b] = max(sizes[b], words)
    return assign, sizes


def make_plan(layers: list[dict], input_spec: dict, lanes: int) -> Plan:
    steps = input_spec["steps"]
    assign, sizes = _buffer_plan(layers, steps)
    plan = Plan(lanes, steps, layers, buffers=sizes)
    w_row = bt_row = att = 0
    for l in layers:
        kind = l["kind"]
        if kind == "fc":
            c, h, w = l["in_shape"]
            plan.fc = dict(src=assign[l["inputs"][0]], c=c, h=h, w=w, cw=_ceil(c, SPIKE_WORD),
                           classes=l["out_shape"][0], g=_ceil(l["out_shape"][0], lanes))
            continue
        cin, hin, win = l["in_shape"]
        cout, hout, wout = l["out_shape"]
        row = dict(name=l["name"], kind={"conv_lif": KIND_CONV, "maxpool_or": KIND_POOL, "merge": KIND_MERGE}[kind],
                   src0=assign.get(l["inputs"][0], -1), src1=assign[l["inputs"][1]] if kind == "merge" else -1,
                   dst=assign[l["name"]], cin=cin, hin=hin, win=win, cout=cout, hout=hout, wout=wout,
                   k=l.get("kernel", 1), s=l.get("stride", 1), p=l.get("padding", 0),
                   g=_ceil(cout, lanes), cw_in=_ceil(cin, SPIKE_WORD), cw_out=_ceil(cout, SPIKE_WORD),
                   w_row=0, bt_row=0, att=-1, op=MERGE_CODES.get(l.get("op"), 0))
        row["ls"] = row["s"].bit_length() - 1
        if kind == "conv_lif":
            if INPUT in l["inputs"]:
                row["kind"] = KIND_ENC
                row["src0"] = -1
            row["w_row"], row["bt_row"] = w_row, bt_row
            w_row += cin * row["k"] * row["k"] * row["g"]
            bt_row += row["g"]
            if l.get("attention"):
                row["att"] = att
                att += 1
        plan.rows.append(row)
    return plan


def _c_int_type(lo: int, hi: int) -> str:
    for bits, t in ((8, "int8_t"), (16, "int16_t"), (32, "int32_t")):
        if -(1 << (bits - 1)) <= lo and hi < (1 << (bits - 1)):
            return t
    return "int64_t"


def _array(name: str, ctype: str, values: np.ndarray, per_line: int = 32) -> str:
    v = np.asarray(values, dtype=np.int64)
    dims = "".join(f"[{d}]" for d in v.shape)
    flat = [str(int(x)) for x in v.ravel()]
    lines = [",".join(flat[i:i + per_line]) for i in range(0, len(flat), per_line)] or ["0"]
    return f"static const {ctype} {name}{dims} = {{\n" + ",\n".join(lines) + "};\n"


def _pad_lanes(v: np.ndarray, groups: int, lanes: int, fill: int = 0) -> np.ndarray:
    """[..., Cout] -> [..., groups, lanes] with Cout padded to groups * lanes."""
    pad = groups * lanes - v.shape[-1]
    v = np.concatenate([v, np.full(v.shape[:-1] + (pad,), fill, dtype=np.int64)], axis=-1) if pad else v
    return v.reshape(v.shape[:-1] + (groups, lanes))


def header_text(bundle: Bundle, lanes: int) -> str:
    """The per-model header: interface constants, layer schedule, ROMs. Generated, never edited."""
    check_supported(bundle, lanes)
    spec, num = bundle.input_spec, bundle.numerics
    plan = make_plan(bundle.layers, spec, lanes)
    P, T = lanes, spec["steps"]
    rows, fc = plan.rows, plan.fc
    conv_layers = [l for l in bundle.layers if l["kind"] == "conv_lif"]
    # ROMs, padded to P lanes: conv weights [Cin][K][K][G][P] stacked, bias/threshold [G][P] stacked
    w_parts, b_parts, t_parts = [], [], []
    att_rows, att_w1, att_w2 = [], [], []
    for l in conv_layers:
        r = next(r for r in rows if r["name"] == l["name"])
        p = bundle.params[l["name"]]
        w_parts.append(_pad_lanes(p["weights"], r["g"], P).reshape(-1, P))
        b_parts.append(_pad_lanes(p["bias"], r["g"], P).reshape(-1, P))
        t_parts.append(_pad_lanes(p["threshold"], r["g"], P, fill=1).reshape(-1, P))
        a = l.get("attention")
        if a:
            att_rows.append(dict(kind=ATT_KIND[a["kind"]], dim=ATT_DIM[a["dim"]], size=a["size"], hidden=a["hidden"],
                                 avg_m=a["avg_mult"][0], avg_sh=a["avg_mult"][1], out_m=a["out_mult"][0],
                                 out_sh=a["out_mult"][1], w1=sum(x.size for x in att_w1),
                                 w2=sum(x.size for x in att_w2)))
            att_w1.append(p["att_w1"].ravel())
            att_w2.append(p["att_w2"].ravel())
    W = np.concatenate(w_parts)
    B = np.concatenate(b_parts)
    TH = np.concatenate(t_parts)
    fcl = bundle.layers[-1]
    fp = bundle.params[fcl["name"]]
    WFC = _pad_lanes(fp["weights"], fc["g"], P).reshape(-1, P)
    FCI = _pad_lanes(T * fc["h"] * fc["w"] * fp["bias"], fc["g"], P).reshape(-1, P)
    if np.abs(FCI).max(initial=0) >= 2 ** 31:
        raise HlsUnsupported("fc: T*H*W*bias does not fit 32 bits")
    A1 = np.concatenate(att_w1) if att_w1 else np.zeros(1, dtype=np.int64)
    A2 = np.concatenate(att_w2) if att_w2 else np.zeros(1, dtype=np.int64)

    in_c, in_h, in_w, bits = spec["channels"], spec["height"], spec["width"], spec["bits"]
    lane_bits = proto.lane_bits(bits)
    wpf = proto.words_per_frame(in_c, in_h, in_w, bits)
    n_layers = len(rows)
    classes = fc["classes"]
    dbg, off = [], 0
    for r in rows:
        dbg.append(off)
        off += T * r["cout"] * r["hout"] * r["wout"]
    dbg.append(off)
    convs = [r for r in rows if r["kind"] in (KIND_ENC, KIND_CONV)]
    spike_convs = [r for r in rows if r["kind"] == KIND_CONV] or convs
    cin_max = max(max(r["cin"] for r in spike_convs), fc["c"])
    att_max = max([a["size"] for a in att_rows] + [1])
    hidden_max = max([a["hidden"] for a in att_rows] + [1])
    cw_max = max([r["cw_in"] for r in rows] + [r["cw_out"] for r in rows] + [fc["cw"]])
    h32 = f"{proto.model_hash32(bundle.model_hash):08x}"
    mem_bits = num["mem_bits"]
    wmax = max(int(np.abs(W).max(initial=0)), int(np.abs(WFC).max(initial=0)))
    w_bits = max(l["weight_bits"] for l in bundle.layers if "weight_bits" in l)

    out = [f"// Generated by syna_hw/hls_core.py from bundle model {bundle.model_hash}",
           f"// lanes P = {P}. Do not edit: `make csim` / HlsCore.compile() regenerate it.",
           "#ifndef SYNA_MODEL_H", "#define SYNA_MODEL_H", "#include <stdint.h>", "",
           "// ---- macros usable inside pragmas (interface numbers from syna_contract/protocol.py)",
           f"#define SYNA_LANES {P}",
           f"#define SYNA_MODEL_HASH32 0x{h32}u"]
    for reg in ("STEPS", "IDLE_TIMEOUT", "STATUS", "CYCLES", "SATURATIONS", "MODEL_HASH", "VERSION"):
        out.append(f"#define SYNA_REG_{reg} 0x{proto.REGISTERS[reg]:02X}")
    out += ["", "namespace syna {", "",
            "// ---- interface (syna_contract/protocol.py)",
            f"const int INTERFACE_VERSION = {proto.INTERFACE_VERSION};",
            *[f"const uint32_t STATUS_{name.upper()} = {bit}u;" for name, bit in proto.STATUS_BITS.items()],
            f"const uint32_t STATUS_ERRORS = {proto.STATUS_ERRORS}u;          // the input errors",
            f"const uint32_t DEFAULT_IDLE_TIMEOUT = {proto.DEFAULT_IDLE_TIMEOUT}u;   // cycles, for IDLE_TIMEOUT = 0",
            f"const uint32_t MODEL_HASH32 = 0x{h32}u;",
            f"const char MODEL_HASH[] = \"{bundle.model_hash}\";",
            "", "// ---- input stream",
            f"const int T = {T};",
            f"const int IN_C = {in_c};", f"const int IN_H = {in_h};", f"const int IN_W = {in_w};",
            f"const int IN_BITS = {bits};", f"const int LANE_BITS = {lane_bits};",
            f"const uint32_t VALUE_MASK = 0x{(1 << bits) - 1:x}u;   // the bits of one input value",
            f"const int VALS_PER_WORD = {32 // lane_bits};",
            f"const int WORDS_PER_FRAME = {wpf};", f"const int IN_WORDS = {T * wpf};",
            "", "// ---- numerics and sizes",
            f"const int LANES = {P};", f"const int MEM_BITS = {mem_bits};", f"const int W_BITS = {w_bits};",
            f"const int CLASSES = {classes};", f"const int N_LAYERS = {n_layers};",
            f"const int OUT_WORDS = {proto.output_words(classes, n_layers)};",
            f"const int N_BUF = {len(plan.buffers)};", f"const int BUF_WORDS = {max(plan.buffers)};",
            f"const int ACC_ROWS = {max(r['hout'] * r['wout'] * r['g'] for r in convs)};",
            f"const int POS_MAX = {max(r['hout'] * r['wout'] for r in convs)};",
            f"const int CIN_MAX = {cin_max};", f"const int CW_MAX = {cw_max};",
            f"const int G_MAX = {max(r['g'] for r in convs)};",
            f"const int C_MAX = {max(r['cout'] for r in rows)};",
            f"const int ATT_MAX = {att_max};", f"const int HIDDEN_MAX = {hidden_max};",
            f"const int N_ATT = {len(att_rows)};",
            f"const int DBG_TOTAL = {off};",
            f"const int GATE_FRAC_BITS = {nx.GATE_FRAC_BITS};",
            f"const int SIG_HALF = {1 << (nx.SIGMOID_INDEX_BITS - 1)};",
            f"const int IA_THETA = {1 << nx.IA_UNIT_LOG2};",
            "", "enum { KIND_ENC = 0, KIND_CONV = 1, KIND_POOL = 2, KIND_MERGE = 3 };",
            "enum { OP_OR = 0, OP_AND = 1, OP_IAND = 2 };",
            "", "// One row per spiking layer, in manifest order (layer-major schedule).",
            "// Buffers: physical spike-map buffer ids (liveness-allocated); maps are [t][y][x][cw] 32-bit words.",
            "// w_row / bt_row: first row of the layer in W_CONV / BIAS, THRESH (rows of LANES entries).",
            "struct Layer { int kind, op, src0, src1, dst, cin, hin, win, cout, hout, wout, k, s, ls, p, "
            "g, cw_in, cw_out, w_row, bt_row, att; };",
            "static const Layer LAYERS[N_LAYERS] = {"]
    keys = ("kind", "op", "src0", "src1", "dst", "cin", "hin", "win", "cout", "hout", "wout", "k", "s", "ls",
            "p", "g", "cw_in", "cw_out", "w_row", "bt_row", "att")
    for r in rows:
        out.append("  {" + ", ".join(str(r[k]) for k in keys) + "},  // " + r["name"])
    out.append("};")
    out.append("static const char* const LAYER_NAMES[N_LAYERS] = {"
               + ", ".join(f'"{r["name"]}"' for r in rows) + "};")
    out.append("static const int DBG_OFF[N_LAYERS + 1] = {" + ", ".join(map(str, dbg)) + "};")
    out += ["", "// attention (MA / IA in dims T and C; numerics.md section 6)",
            "struct Att { int kind, dim, size, hidden, avg_m, avg_sh, out_m, out_sh, w1, w2; };  // kind 0 MA 1 IA, dim 0 T 1 C",
            "static const Att ATTS[N_ATT > 0 ? N_ATT : 1] = {"]
    akeys = ("kind", "dim", "size", "hidden", "avg_m", "avg_sh", "out_m", "out_sh", "w1", "w2")
    out += ["  {" + ", ".join(str(a[k]) for k in akeys) + "}," for a in att_rows] or ["  {0, 0, 0, 0, 0, 0, 0, 0, 0, 0}"]
    out.append("};")
    out += ["", "// fc: global sum-pool + FC as one accumulation of FC weights per spike",
            f"const int FC_SRC = {fc['src']};", f"const int FC_C = {fc['c']};", f"const int FC_H = {fc['h']};",
            f"const int FC_W = {fc['w']};", f"const int FC_CW = {fc['cw']};", f"const int FC_G = {fc['g']};", ""]
    wt = _c_int_type(-wmax, wmax)
    out.append(f"// ROMs. weights: {W.shape[0]} rows x {P} lanes, layout per layer [Cin][Kh][Kw][G][P] "
               f"(the bundle's [Cin][Kh][Kw][Cout] with Cout padded to G*P)")
    out.append(_array("W_CONV", wt, W))
    out.append(_array("BIAS", "int32_t", B))
    out.append(_array("THRESH", _c_int_type(int(TH.min()), int(TH.max())), TH))
    out.append(_array("W_FC", wt, WFC))
    out.append("// T * H * W * fc bias: the score accumulators' start value")
    out.append(_array("FC_INIT", "int32_t", FCI))
    out.append(_array("ATT_W1", _c_int_type(int(A1.min()), int(A1.max())), A1))
    out.append(_array("ATT_W2", _c_int_type(int(A2.min()), int(A2.max())), A2))
    out.append(_array("SIGMOID", "int16_t", nx.sigmoid_table()))
    out += ["}  // namespace syna", "#endif"]
    return "\n".join(out) + "\n"


def gen_dir(bundle: Bundle, lanes: int, root: Path | None = None) -> Path:
    return Path(root if root is not None else BUILD_DIR) / bundle.model_hash[:16] / f"p{lanes}"


def generate(bundle: Bundle | str | Path, lanes: int = DEFAULT_LANES, out_dir: Path | None = None) -> Path:
    """Write ``syna_model.h`` for ``bundle`` into ``out_dir`` (default build/hls/<hash16>/p<P>/)."""
    b = bundle if isinstance(bundle, Bundle) else load_bundle(bundle)
    text = header_text(b, lanes)
    d = Path(out_dir) if out_dir else gen_dir(b, lanes)
    d.mkdir(parents=True, exist_ok=True)
    path = d / HEADER_NAME
    if not path.is_file() or path.read_text() != text:
        path.write_text(text)
    return d


def write_golden_bin(bundle: Bundle, path: Path, lanes: int = DEFAULT_LANES) -> Path:
    """golden.npz -> a flat little-endian file the C++ testbench reads (format in hls/tb/tb_syna.cpp)."""
    g = bundle.golden()
    spec = bundle.input_spec
    names = [l["name"] for l in bundle.layers if l["kind"] != "fc"]
    x = g["input"].astype(np.int64)
    k = len(x)
    words = np.stack([proto.pack_frames(x[i], spec["bits"]) for i in range(k)]) if k else np.zeros((0, 0))
    classes = bundle.layers[-1]["out_shape"][0]
    parts = [np.array([0x31444C47, k, len(names), words.shape[1], classes], dtype="<u4").tobytes()]
    for i in range(k):
        parts.append(words[i].astype("<u4").tobytes())
        parts.append(g["scores"][i].astype("<i4").tobytes())
        for n in names:
            parts.append(g[f"spikes/{n}"][i].astype(np.uint8).tobytes())
    parts.append(np.array([int(g[f"saturations/{n}"]) if f"saturations/{n}" in g else 0 for n in names],
                          dtype="<i8").tobytes())
    path.write_bytes(b"".join(parts))
    return path


# =============================================================================== tools
def ap_include_dir() -> Path:
    """Xilinx's ap_int / hls_stream headers, from the hls4ml wheel (installed into the venv, never committed)."""
    try:
        import hls4ml  # noqa: F401  (only its template directory is used)
    except ImportError:
        raise HlsToolError("the Xilinx ap_types headers (ap_int.h, hls_stream.h) come from the hls4ml wheel: "
                           "`.venv/bin/pip install hls4ml`") from None
    d = Path(hls4ml.__file__).parent / "templates" / "vivado" / "ap_types"
    for h in ("ap_int.h", "hls_stream.h"):
        if not (d / h).is_file():
            raise HlsToolError(f"{d / h} is missing from the installed hls4ml; reinstall hls4ml")
    return d


def cxx() -> str:
    exe = os.environ.get("CXX", "g++")
    if not shutil.which(exe):
        raise HlsToolError(f"C++ compiler {exe!r} not found: the C-simulation needs g++ (apt-get install g++)")
    return exe


_TARGET_CACHE: dict[str, tuple[list[str], str]] = {}


def _target(exe: str) -> tuple[list[str], str]:
    """(optimisation flags, target fingerprint) for compiler ``exe`` on this machine.

    -march=native only where the compiler accepts it. GCC without AVX-512: -fdisable-tree-cunrolli
    as well, which lets the loop vectoriser, not the basic-block one, vectorise the P-lane loops of
    the hot conv loop (measured 1.9x faster with AVX2; with AVX-512 the default is the faster one).
    The fingerprint (the predefined macros under those flags: CPU features) goes into the library's
    cache key, so a build directory shared between machines never loads a library built for another CPU."""
    env = os.environ.get("SYNA_CSIM_OPT")
    if env is not None:
        return env.split(), ""
    if exe not in _TARGET_CACHE:
        flags = list(CSIM_OPT_FLAGS)
        probe = lambda f: subprocess.run([exe, *f, "-dM", "-E", "-x", "c++", os.devnull], capture_output=True, text=True)
        r = probe(flags)
        if r.returncode != 0:
            flags = [f for f in flags if not f.startswith("-march")]
            r = probe(flags)
        macros = r.stdout if r.returncode == 0 else ""
        if "__GNUC__" in macros and "__clang__" not in macros and "__x86_64__" in macros \
                and "__AVX512F__" not in macros:
            flags.append("-fdisable-tree-cunrolli")
        _TARGET_CACHE[exe] = (flags, hashlib.sha256(macros.encode()).hexdigest()[:16])
    return _TARGET_CACHE[exe]


def cxx_flags() -> list[str]:
    """Every g++ flag of the C-simulation builds (language, warnings, optimisation for this machine)."""
    return [*CXX_FLAGS, *_target(cxx())[0]]


def compile_cmd(gen: Path, sources: list[Path], output: Path, shared: bool) -> list[str]:
    cmd = [cxx(), *cxx_flags(), f"-I{gen}", f"-I{SRC_DIR}", f"-I{ap_include_dir()}", f"-I{CSIM_INCLUDE}"]
    if shared:
        cmd += ["-shared", "-fPIC"]
    return cmd + [str(s) for s in sources] + ["-o", str(output)]


def _source_hash(gen: Path) -> str:
    h = hashlib.sha256()
    files = [gen / HEADER_NAME] + sorted(SRC_DIR.glob("*")) + sorted(CSIM_INCLUDE.glob("*"))
    for f in files:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    h.update(" ".join([cxx(), *cxx_flags(), _target(cxx())[1]]).encode())
    return h.hexdigest()[:16]


def _run(cmd: list[str], what: str) -> None:
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise HlsToolError(f"{what} failed ({' '.join(cmd)}):\n{r.stderr[-4000:]}")


# =============================================================================== binding
@dataclass
class HlsResult:
    scores: np.ndarray                                           # [N, classes] int64
    spikes: dict[str, np.ndarray] = field(default_factory=dict)  # layer -> [N, T, C, H, W] uint8
    spike_counts: dict[str, np.ndarray] = field(default_factory=dict)   # layer -> [N]
    saturations: dict[str, int] = field(default_factory=dict)    # layer -> total over N
    sample_saturations: np.ndarray | None = None                 # [N] (the SATURATIONS register)
    cycles: np.ndarray | None = None                             # [N] modelled cycles
    layer_cycles: dict[str, np.ndarray] = field(default_factory=dict)  # layer (and 'fc', 'io') -> [N]
    status: np.ndarray | None = None                             # [N]

    def predictions(self) -> np.ndarray:
        return self.scores.argmax(axis=1)


_INSTANCES: dict[Path, ctypes.CDLL] = {}      # extra loaded copies of compiled cores (HlsCore._instance)


class HlsCore:
    """The HLS core's C++ (C-simulation) as a Python object, like hls4ml's compile()/predict()."""

    def __init__(self, bundle_dir: str | Path | Bundle, lanes: int = DEFAULT_LANES, build_root: Path | None = None):
        self.bundle = bundle_dir if isinstance(bundle_dir, Bundle) else load_bundle(bundle_dir)
        check_supported(self.bundle, lanes)
        self.lanes = lanes
        self.build_root = Path(build_root) if build_root is not None else BUILD_DIR
        self.layer_names = [l["name"] for l in self.bundle.layers if l["kind"] != "fc"]
        self.classes = self.bundle.layers[-1]["out_shape"][0]
        self.spec = self.bundle.input_spec
        self._lib = None
        self.lib_path: Path | None = None
        self.last_regs: dict[str, int] = {}

    @property
    def model_hash32(self) -> int:
        """MODEL_HASH32 as the compiled core reports it (the host driver checks it against the bundle)."""
        self._need()
        return int(self.info["hash32"]) & 0xFFFFFFFF

    # ------------------------------------------------------------------ build
    def compile(self) -> "HlsCore":
        gen = generate(self.bundle, self.lanes, gen_dir(self.bundle, self.lanes, self.build_root))
        lib = gen / f"libsyna_{_source_hash(gen)}.so"
        if not lib.is_file():
            tmp = lib.with_suffix(f".tmp{os.getpid()}.so")
            _run(compile_cmd(gen, [SRC_DIR / s for s in CORE_SOURCES] + [SRC_DIR / CAPI_SOURCE], tmp, True),
                 "g++ (shared library of the HLS core)")
            os.replace(tmp, lib)
        self._load(lib)
        return self

    @staticmethod
    def _open(lib: Path):
        L = ctypes.CDLL(str(lib))
        u32p = np.ctypeslib.ndpointer(np.uint32, flags="C_CONTIGUOUS")
        L.syna_info.argtypes = [ctypes.POINTER(ctypes.c_int64), ctypes.c_int]
        L.syna_info.restype = ctypes.c_int
        L.syna_transfer.argtypes = [u32p, ctypes.c_int, ctypes.c_int, ctypes.c_uint32, ctypes.c_uint32, u32p,
                                    ctypes.c_int, ctypes.POINTER(ctypes.c_int64)]
        L.syna_transfer.restype = ctypes.c_int
        L.syna_run_batch.argtypes = [u32p, ctypes.c_int, u32p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
        L.syna_run_batch.restype = ctypes.c_int
        return L

    def _load(self, lib: Path) -> None:
        L = self._open(lib)
        info = (ctypes.c_int64 * 16)()
        L.syna_info(info, 16)
        self.info = dict(zip(("T", "C", "H", "W", "bits", "classes", "n_layers", "in_words", "out_words",
                              "dbg_total", "lanes", "hash32", "interface_version"), list(info)[:13]))
        expect = dict(T=self.spec["steps"], classes=self.classes, n_layers=len(self.layer_names), lanes=self.lanes,
                      hash32=proto.model_hash32(self.bundle.model_hash), interface_version=proto.INTERFACE_VERSION,
                      in_words=self.spec["steps"] * proto.words_per_frame(self.spec["channels"], self.spec["height"],
                                                                          self.spec["width"], self.spec["bits"]))
        for k, v in expect.items():
            if self.info[k] != v:
                raise HlsToolError(f"{lib}: {k} = {self.info[k]}, expected {v} (stale build?)")
        self._lib, self.lib_path = L, lib

    def _instance(self, j: int):
        """Copy j of the compiled core: the library loaded again from a copy of the file, so with its own
        static state (the core's on-chip memories are `static` arrays, one set per loaded library).
        Copy 0 is the library itself. Used to run samples on several threads."""
        if j == 0:
            return self._need()
        path = self.lib_path.with_name(f"{self.lib_path.stem}.copy{j}.so")
        if path not in _INSTANCES:
            if not path.is_file():
                tmp = path.with_suffix(f".tmp{os.getpid()}.so")
                shutil.copy(self.lib_path, tmp)              # a copy, not a link: dlopen keys on the file
                os.replace(tmp, path)
            _INSTANCES[path] = self._open(path)
        return _INSTANCES[path]

    def _need(self):
        if self._lib is None:
            self.compile()
        return self._lib

    # ------------------------------------------------------------------ stream level
    def transfer(self, in_words: np.ndarray, steps: int, tlast_at: int | None = None,
                 idle_timeout: int = 0) -> np.ndarray:
        """One inference through the top function: push ``in_words`` (TLAST on the last word, or on
        word ``tlast_at``; -1 for none), set STEPS and IDLE_TIMEOUT (0: the default), run, return the
        output packet's words. After the words the stream stays empty: the sender has stopped.

        The registers after the run are in ``self.last_regs``; ``last_regs['tlast_ok']`` says TLAST
        was on the packet's last word only, ``last_regs['left_in']`` how many input words the core
        left unread."""
        L = self._need()
        w = np.ascontiguousarray(np.asarray(in_words, dtype=np.uint32).ravel())
        n = int(w.size)
        tl = n - 1 if tlast_at is None else int(tlast_at)
        cap = self.info["out_words"] + 64
        out = np.zeros(cap, dtype=np.uint32)
        regs = (ctypes.c_int64 * 8)()
        got = L.syna_transfer(w if n else np.zeros(1, np.uint32), n, tl, ctypes.c_uint32(steps & 0xFFFFFFFF),
                              ctypes.c_uint32(idle_timeout & 0xFFFFFFFF), out, cap, regs)
        self.last_regs = dict(zip(("status", "cycles", "saturations", "model_hash", "version", "tlast_ok",
                                   "left_in", "out_words"), list(regs)))
        return out[:got].copy()

    # ------------------------------------------------------------------ batch level
    def _check_x(self, x) -> np.ndarray:
        from syna_contract.reference import check_input
        return check_input(x, self.spec)

    def run(self, x: np.ndarray, keep_spikes: bool = True, debug: bool = True, threads: int = 1) -> HlsResult:
        """Run integer input [N, T, C, H, W]: scores, every layer's spikes (debug tap), counts, saturations.

        ``debug=False`` runs without the debug tap (no per-layer spikes, saturations or cycles).
        ``threads`` > 1 runs contiguous ranges of the samples on that many threads, each on its own copy
        of the compiled core (0: one per CPU); the results are identical to one thread."""
        L = self._need()
        x = self._check_x(x)
        n = len(x)
        words = np.ascontiguousarray(proto.pack_batch(x, self.spec["bits"]), dtype=np.uint32)
        ow = self.info["out_words"]
        out = np.zeros((n, ow), dtype=np.uint32)
        nl = len(self.layer_names)
        spikes = np.zeros((n, self.info["dbg_total"]), dtype=np.uint8) if keep_spikes else None
        sats = np.zeros((n, nl), dtype=np.int64)
        lcyc = np.zeros((n, nl + 2), dtype=np.int64)
        keep_spikes = keep_spikes and debug
        threads = max(1, min(int(threads) if threads else (os.cpu_count() or 1), n))

        def part(j: int) -> int:                     # samples [lo, hi) on copy j of the core
            lo, hi = n * j // threads, n * (j + 1) // threads
            rc = self._instance(j).syna_run_batch(
                words[lo:hi], hi - lo, out[lo:hi], spikes[lo:hi].ctypes.data if keep_spikes else None,
                sats[lo:hi].ctypes.data if debug else None, lcyc[lo:hi].ctypes.data if debug else None)
            return lo + rc if rc else 0

        if threads == 1:
            rc = part(0)
        else:                                        # ctypes releases the GIL during each call
            from concurrent.futures import ThreadPoolExecutor
            with ThreadPoolExecutor(threads) as ex:
                rc = next((r for r in ex.map(part, range(threads)) if r), 0)
        if rc != 0:
            raise HlsToolError(f"syna_run_batch returned {rc} (output packet without TLAST on its last word)")
        o = proto.unpack_outputs(out, self.classes, nl)
        res = HlsResult(o.scores, sample_saturations=o.saturations, cycles=o.cycles, status=o.status)
        off = 0
        T = self.spec["steps"]
        for i, (name, l) in enumerate(zip(self.layer_names, self.bundle.layers)):
            c, h, w = l["out_shape"]
            res.spike_counts[name] = o.spike_counts[:, i]
            res.saturations[name] = int(sats[:, i].sum())
            res.layer_cycles[name] = lcyc[:, i]
            if keep_spikes:
                res.spikes[name] = spikes[:, off:off + T * c * h * w].reshape(n, T, c, h, w)
            off += T * c * h * w
        res.layer_cycles["fc"] = lcyc[:, nl]
        res.layer_cycles["io"] = lcyc[:, nl + 1]
        return res

    def predict(self, x: np.ndarray, threads: int = 1) -> np.ndarray:
        """Scores [N, classes] (int64) for integer input [N, T, C, H, W] (``threads``: see :meth:`run`)."""
        return self.run(x, keep_spikes=False, debug=False, threads=threads).scores


# =============================================================================== models of the core
def _valid_taps(size: int, out: int, k: int, s: int, p: int) -> np.ndarray:
    """For each input coordinate, how many kernel offsets reach an output (same formula as the C++)."""
    y = np.arange(size)
    hi = np.minimum((y + p) // s, out - 1)
    a = y + p - k + 1
    lo = np.where(a > 0, (a + s - 1) // s, 0)
    return np.maximum(hi - lo + 1, 0)


PIPE_DEPTH = 6     # assumed fill/drain of one pipelined loop invocation (only for the 'with fill' bound)


@dataclass
class CycleReport:
    layers: dict[str, int]          # per layer (plus 'fc', 'io'): modelled cycles, trip counts x II
    sops: dict[str, int]            # synaptic operations per layer (accumulates; encoder: multiply-accumulates)
    dense: dict[str, int]           # dense ops per layer (every input position, every tap, every output channel)
    invocations: int                # pipelined loop invocations (each costs the pipeline depth in real hardware)

    @property
    def cycles(self) -> int:
        return sum(self.layers.values())

    @property
    def total_sops(self) -> int:
        return sum(self.sops.values())

    @property
    def total_dense(self) -> int:
        return sum(self.dense.values())


def cycle_model(layers: list[dict], input_spec: dict, x: np.ndarray, spikes: dict[str, np.ndarray],
                lanes: int) -> CycleReport:
    """The core's cycle count for ONE sample, from its input ``x`` [T, C, H, W] and every layer's spike
    map [T, C, H, W]: the same sum of loop trip counts (II = 1) the C++ accumulates (tested equal)."""
    P = lanes
    T = input_spec["steps"]
    plan = make_plan(layers, input_spec, lanes)
    maps = {INPUT: np.asarray(x)}
    maps.update({k: np.asarray(v) for k, v in spikes.items()})
    cyc: dict[str, int] = {}
    sops: dict[str, int] = {}
    dense: dict[str, int] = {}
    inv = 0
    bits = input_spec["bits"]
    vpw = 32 // proto.lane_bits(bits)
    for l, r in zip([l for l in layers if l["kind"] != "fc"], plan.rows):
        name = l["name"]
        kind = r["kind"]
        c = 0
        if kind in (KIND_ENC, KIND_CONV):
            src = maps[l["inputs"][0]]                                   # [T, Cin, H, W]
            vy = _valid_taps(r["hin"], r["hout"], r["k"], r["s"], r["p"])
            vx = _valid_taps(r["win"], r["wout"], r["k"], r["s"], r["p"])
            vt = vy[:, None] * vx[None, :]                              # [H, W]
            nz = (src != 0).astype(np.int64)
            ev_taps = int((nz.sum(axis=(0, 1)) * vt).sum())            # sum over events of valid taps
            sops[name] = ev_taps * r["cout"]
            dense[name] = T * r["cin"] * r["k"] * r["k"] * r["cout"] * r["hout"] * r["wout"]
            work = ev_taps * r["g"]
            npos = r["hout"] * r["wout"] * r["g"]
            passes = 2 if l.get("attention") else 1
            if kind == KIND_ENC:
                scan = T * proto.words_per_frame(r["cin"], r["hin"], r["win"], bits)
                inv += T * (1 + int((nz.reshape(T, -1) != 0).sum()))  # per word loop + per nonzero value
            else:
                scan = T * int((vt > 0).sum()) * r["cw_in"]
                spiking_pos = int(((nz.sum(axis=1) > 0) & (vt > 0)[None]).sum())
                inv += passes * (T * int((vt > 0).sum()) + spiking_pos)
            c = npos + passes * (scan + work + T * npos)                # init + per pass: scan, work, LIF/pool
            inv += 1 + passes * T
            a = l.get("attention")
            if a:
                c += 3 * a["hidden"] * a["size"] + a["size"]           # MLP (one MAC per cycle) + gate/IA input
                if a["kind"] == "IA":
                    c += T if a["dim"] == "T" else T * r["g"]          # IA LIF: T, or per step one pass over C
                inv += 4
        elif kind == KIND_MERGE:
            c = T * r["hout"] * r["wout"] * r["cw_out"]
            inv += 1
        elif kind == KIND_POOL:
            c = T * r["hout"] * r["wout"] * r["cw_out"] * r["k"] * r["k"]
            inv += 1
        cyc[name] = c
    fcl = layers[-1]
    fc = plan.fc
    last = maps[fcl["inputs"][0]]
    nspk = int(np.count_nonzero(last))
    cyc["fc"] = fc["g"] + T * fc["h"] * fc["w"] * fc["cw"] + nspk * fc["g"]
    sops["fc"] = nspk * fc["classes"]
    dense["fc"] = T * fc["h"] * fc["w"] * fc["c"] * fc["classes"]
    inv += 1 + T * fc["h"] * fc["w"]
    n_layers = len(plan.rows)
    cyc["io"] = proto.output_words(fc["classes"], n_layers)
    return CycleReport(cyc, sops, dense, inv)


def synaptic_ops(layers, input_spec, x, spikes) -> int:
    """Synaptic operations of one sample: per input event, valid taps x output channels (fc: spikes x classes)."""
    return cycle_model(layers, input_spec, x, spikes, 1).total_sops


# =============================================================================== checks
def compare(res: HlsResult, ref, x: np.ndarray | None = None) -> str | None:
    """None if ``res`` equals the reference result ``ref`` on every spike, score, count and saturation;
    else a message naming the first difference (layer, sample, step, neuron)."""
    for name, s in ref.spikes.items():
        h = res.spikes.get(name)
        if h is None or h.shape != s.shape:
            return f"layer {name}: spike map shape {None if h is None else h.shape}, expected {s.shape}"
        bad = np.argwhere(h != s)
        if bad.size:
            n, t, c, y, xx = bad[0]
            return (f"layer {name}: sample {n} step {t} neuron (c={c}, y={y}, x={xx}): core {h[n, t, c, y, xx]}, "
                    f"reference {s[n, t, c, y, xx]} ({len(bad)} spikes differ)")
    for name, cnt in ref.spike_counts.items():
        if not np.array_equal(res.spike_counts[name], cnt):
            return f"layer {name}: spike counts differ: core {res.spike_counts[name][:4]}..., reference {cnt[:4]}..."
    bad = np.argwhere(res.scores != ref.scores)
    if bad.size:
        n, k = bad[0]
        return f"scores: sample {n} class {k}: core {res.scores[n, k]}, reference {ref.scores[n, k]}"
    for name, s in ref.saturations.items():
        if res.saturations.get(name, 0) != s:
            return f"layer {name}: {res.saturations.get(name, 0)} saturations, reference {s}"
    total = sum(ref.saturations.values())
    if res.sample_saturations is not None and int(res.sample_saturations.sum()) != total:
        return f"SATURATIONS register sums to {int(res.sample_saturations.sum())}, reference {total}"
    if res.status is not None and np.any(res.status & 0x7):
        return f"status error bits set: {sorted(set(res.status.tolist()))}"
    return None


def check_bundle(bundle_dir: str | Path, x: np.ndarray | None = None, lanes: int = DEFAULT_LANES,
                 verbose: bool = True) -> bool:
    """The demo's C-sim stage: the HLS core's C++ vs the numpy Reference on ``x`` (default: the golden
    inputs) on every spike of every layer at every step, the scores, counts and saturations.
    Prints a one-line verdict; returns True when everything agrees."""
    from syna_contract.reference import Reference
    b = load_bundle(bundle_dir)
    if x is None:
        x = b.golden()["input"]
    core = HlsCore(b, lanes).compile()
    res = core.run(x)
    ref = Reference(b).run(x)
    msg = compare(res, ref)
    if verbose:
        tail = (f"{len(x)} samples, {len(core.layer_names)} layers, P={lanes}, "
                f"mean {float(res.cycles.mean()):,.0f} modelled cycles/inference")
        print(f"HLS C-sim vs reference: {'PASS' if msg is None else 'FAIL'} ({tail})" + ("" if msg is None else f": {msg}"))
    return msg is None


# =============================================================================== CLI (make csim / make hls)
def csim(bundle_dir: str | Path, lanes: int = DEFAULT_LANES) -> int:
    """``make csim``: generate, compile core + testbench with g++, run it on the bundle's golden vectors."""
    b = load_bundle(bundle_dir)
    gen = generate(b, lanes)
    write_golden_bin(b, gen / GOLDEN_BIN, lanes)
    exe = gen / "csim_tb"
    cmd = compile_cmd(gen, [SRC_DIR / s for s in CORE_SOURCES] + [TB_DIR / "tb_syna.cpp"], exe, False)
    print(" ".join(cmd), flush=True)
    _run(cmd, "g++ (C-sim testbench)")
    return subprocess.run([str(exe), str(gen / GOLDEN_BIN)]).returncode


def board_tcl(bundle: Bundle, board: str, lanes: int, out_dir: Path) -> Path:
    """Tcl variables for the vendor flows, from syna_contract/boards.py (the one board table)."""
    from syna_contract.boards import get_board
    bd = get_board(board)
    path = out_dir / f"board_{board}.tcl"
    period = 1000.0 / bd.clock_mhz
    path.write_text("\n".join([
        "# Generated by syna_hw/hls_core.py from syna_contract/boards.py; do not edit.",
        f"set syna_board {{{bd.name}}}", f"set syna_part {{{bd.part}}}", f"set syna_clock_mhz {bd.clock_mhz:g}",
        f"set syna_clock_ns {period:.3f}", f"set syna_model_hash {{{bundle.model_hash}}}",
        f"set syna_model_hash16 {{{bundle.model_hash[:16]}}}", f"set syna_lanes {lanes}",
        f"set syna_gen_dir {{{out_dir.resolve()}}}", f"set syna_src_dir {{{SRC_DIR}}}",
        f"set syna_tb_dir {{{TB_DIR}}}", f"set syna_repo {{{REPO}}}",
        f"set syna_ps {{{'zynq_ultra_ps_e' if board == 'zcu104' else 'processing_system7'}}}", ""]))
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m syna_hw.hls_core", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("csim", "gen", "check"):
        s = sub.add_parser(name)
        s.add_argument("--bundle", default="build/demo/bundle")
        s.add_argument("--lanes", type=int, default=DEFAULT_LANES)
        s.add_argument("--board", default=None)
    a = p.parse_args(argv)
    try:
        if a.cmd == "csim":
            return csim(a.bundle, a.lanes)
        if a.cmd == "check":
            return 0 if check_bundle(a.bundle, lanes=a.lanes) else 1
        b = load_bundle(a.bundle)
        d = generate(b, a.lanes)
        write_golden_bin(b, d / GOLDEN_BIN, a.lanes)
        if a.board:
            board_tcl(b, a.board, a.lanes, d)
        print(d)
        return 0
    except (HlsUnsupported, HlsToolError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
