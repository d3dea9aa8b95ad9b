"""The HLS core's per-model header ``syna_model.h``: a serialiser of the :class:`~syna_hw.lowering.HwModel`.

The header holds the layer schedule as constant tables (one row per spiking layer, the
physical spike buffers of the one liveness allocation), every ROM padded to the core's P
output-channel lanes, ``MODEL_HASH32`` and the interface numbers of ``syna_contract/protocol.py``.
It is written into ``build/hls/<hash16>/p<P>/``; ``golden.bin`` (the C++ testbench's vectors) and
the board's Tcl variables for the vendor flows are written beside it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from syna_contract import numerics as nx
from syna_contract import protocol as proto
from syna_contract.boards import get_board
from syna_contract.bundle import Bundle, load_bundle

from .cycles import scratch_traffic
from .limits import DEFAULT_LANES, HLS
from .lowering import WEIGHTS_MODES, DdrWeights, HwModel, ddr_weights, lower
from .spill import INPUT, SpillPlan, check_maps_mode, spill_plan

REPO = Path(__file__).resolve().parent.parent
HLS_DIR = REPO / "hls"
SRC_DIR = HLS_DIR / "src"
TB_DIR = HLS_DIR / "tb"
BUILD_DIR = REPO / "build" / "hls"
HEADER_NAME = "syna_model.h"
GOLDEN_BIN = "golden.bin"
SCRATCH_TB_BASE = proto.SCRATCH_BASE_ALIGN    # where the C++ testbench (csim / cosim) puts the scratch buffer

# codes in the header's tables
KIND_ENC, KIND_CONV, KIND_POOL, KIND_MERGE = 0, 1, 2, 3
MERGE_CODES = {"OR": 0, "AND": 1, "IAND": 2}
ATT_KIND = {"MA": 0, "IA": 1}
ATT_DIM = {"T": 0, "C": 1}


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


def schedule_rows(hw: HwModel) -> list[dict]:
    """The header's LAYERS table: one row per spiking layer (buffers: the HLS placement of the maps)."""
    place = hw.maps.place
    kinds = {"conv_lif": KIND_CONV, "maxpool_or": KIND_POOL, "merge": KIND_MERGE}
    rows = []
    for l in hw.layers:
        src0 = -1 if l.encoder else place[l.inputs[0]].buffer
        rows.append(dict(name=l.name, kind=KIND_ENC if l.encoder else kinds[l.kind],
                         src0=src0, src1=place[l.inputs[1]].buffer if l.kind == "merge" else -1,
                         dst=place[l.name].buffer, cin=l.cin, hin=l.hin, win=l.win, cout=l.cout, hout=l.hout,
                         wout=l.wout, k=l.k, s=l.s, ls=l.s.bit_length() - 1, p=l.p, g=l.g, cw_in=l.cw_in,
                         cw_out=l.cw_out, w_row=l.w_row, bt_row=l.bt_row, att=l.att,
                         op=MERGE_CODES.get(getattr(l.layer, "op", None), 0)))
    return rows


def _check_mode(weights: str, maps: str = "chip", acc_rows: int | None = None) -> None:
    if weights not in WEIGHTS_MODES:
        raise ValueError(f"weights={weights!r}; expected one of {WEIGHTS_MODES} (on-chip ROMs or the DDR image)")
    check_maps_mode(maps, weights, HLS, acc_rows)


def header_text(bundle: Bundle, lanes: int = DEFAULT_LANES, weights: str = "rom", wbuf_rows: int | None = None,
                maps: str = "chip", acc_rows: int | None = None) -> str:
    """The per-model header: interface constants, layer schedule, ROMs. Generated, never edited.

    ``weights="ddr"``: the conv and fc weights are not ROMs; the core reads them from the DDR image
    (``syna_contract/ddr_image.py``, laid out for P = ``lanes``) through an ``m_axi`` port into an
    on-chip buffer of ``wbuf_rows`` rows (``syna_hw.lowering.ddr_weights``). "rom" (the default) is
    the on-chip core, byte-identical to the header before the DDR mode existed. ``maps="ddr"`` (needs
    weights="ddr"): the input and every spike map in the DDR scratch buffer, accumulators / membranes of
    ``acc_rows`` rows (``syna_hw.spill.spill_plan``; docs/hls-core.md "Spike maps in DDR")."""
    _check_mode(weights, maps, acc_rows)
    hw = lower(bundle, lanes, target=HLS)
    if maps == "ddr":
        sp = spill_plan(hw, wbuf_rows, acc_rows)
        return model_header(hw, sp.ddr, sp)
    return model_header(hw, ddr_weights(hw, wbuf_rows) if weights == "ddr" else None)


def _ddr_header(hw: HwModel, d: DdrWeights, rows: list[dict]) -> list[str]:
    """The DDR mode's constants: the image's row format, the weight buffer, each layer's weight blocks."""
    by_name = {l.name: l for l in d.layers}
    rb = d.row_bytes

    def entry(l) -> str:
        return (f"{{{l.w_offset // rb}, {l.w_block_bytes // rb}, {l.rows}, {l.tile_groups}}}" if l else "{0, 0, 0, 0}")

    fc = d.layers[-1]
    return ["", "// ---- weights in DDR (syna_contract/ddr_image.py): rows of LANES lanes of W_LANE_BITS bits,",
            "// lane 0 in the least significant bits, one 64-byte-aligned block of `rows` rows per lane group.",
            "// off / blk in image rows (ROW_BYTES each) from the image base (the m_axi pointer); tile_g lane",
            "// groups per load into WBUF (rows [r][tile group], the ROM layout of one tile).",
            f"const int ROW_BYTES = {rb};", f"const int W_LANE_BITS = {d.weight_bits};",
            f"const int WBUF_ROWS = {d.wbuf_rows};", f"const long long DDR_IMAGE_BYTES = {d.image_bytes}LL;",
            f"const long long DDR_BYTES_PER_INFERENCE = {d.bytes_per_inference}LL;   // the tiling's reads",
            "struct DdrW { int off, blk, rows, tile_g; };",
            "static const DdrW DDR_W[N_LAYERS] = {"
            + ", ".join(entry(by_name.get(r["name"])) for r in rows) + "};",
            f"static const DdrW DDR_FC = {entry(fc)};",
            "// the weights check before every inference (docs/core-interface.md, STATUS weights): WEIGHTS_BASE",
            "// a multiple of WEIGHTS_BASE_ALIGN, base + image within DDR_ADDR_BITS, and the first DDR_HEADER_BYTES",
            "// at WEIGHTS_BASE (DDR_CHECK_ROWS rows) equal to DDR_HEADER (ddr_image.image_head)",
            f"const unsigned long long WEIGHTS_BASE_ALIGN = {proto.WEIGHTS_BASE_ALIGN}ULL;",
            f"const int DDR_ADDR_BITS = {proto.DDR_ADDR_BITS};",
            f"const int DDR_HEADER_BYTES = {len(d.header)};",
            f"const int DDR_CHECK_ROWS = {d.check_bytes // rb};",
            "static const uint8_t DDR_HEADER[DDR_HEADER_BYTES] = {" + ", ".join(str(b) for b in d.header) + "};"]


def _spill_header(hw: HwModel, sp: SpillPlan, rows: list[dict]) -> list[str]:
    """The maps-in-DDR constants: the scratch buffer's regions (word offsets from SCRATCH_BASE / 4) as each
    layer reads and writes them, and each conv layer's band rows."""
    maps = sp.maps

    def words(name: str) -> int:
        off = maps[name].offset
        assert off % 4 == 0, off
        return off // 4

    def src(l, i: int) -> int:
        return words(INPUT if l.encoder else l.inputs[i]) if i < len(l.inputs) or l.encoder else 0

    src0 = [src(l, 0) for l in hw.layers]
    src1 = [words(l.inputs[1]) if l.kind == "merge" else 0 for l in hw.layers]
    band = [sp.layers[l.name].band_rows if l.kind == "conv_lif" else 0 for l in hw.layers]
    for l in hw.convs:                                  # one tiling: the plan's weight tiles are its layers'
        assert sp.layers[l.name].tile_groups == sp.ddr.layer(l.name).tile_groups, l.name
    fc_src = words(hw.fc.layer.inputs[0])
    rd, wr = scratch_traffic(hw, sp)
    return ["", "// ---- spike maps in DDR (syna_hw/spill.py): the scratch buffer at SCRATCH_BASE (4096-aligned,",
            "// not 0), SCRATCH_BYTES long; regions as word offsets from SCRATCH_BASE / 4: the input words (IN_OFF,",
            "// frame t at t * WORDS_PER_FRAME), every spiking layer's map [t][y][x][ceil(C/32)] (MAP_DST; MAP_SRC0 /",
            "// MAP_SRC1 the maps it reads, the encoder's the input). BAND_ROWS: output rows per band (conv layers).",
            f"const long long SCRATCH_BYTES = {sp.scratch_bytes}LL;",
            f"const int SCRATCH_TB_BASE = {SCRATCH_TB_BASE};   // the C++ testbench's SCRATCH_BASE",
            "// the scratch bytes one inference reads / writes (syna_hw.cycles.scratch_traffic: data-independent)",
            f"const long long SCRATCH_READ_PER_INFERENCE = {sum(rd.values())}LL;",
            f"const long long SCRATCH_WRITTEN_PER_INFERENCE = {sum(wr.values())}LL;",
            f"const unsigned long long SCRATCH_BASE_ALIGN = {proto.SCRATCH_BASE_ALIGN}ULL;",
            f"const long long IN_OFF = {words(INPUT)}LL;",
            "static const long long MAP_SRC0[N_LAYERS] = {" + ", ".join(map(str, src0)) + "};",
            "static const long long MAP_SRC1[N_LAYERS] = {" + ", ".join(map(str, src1)) + "};",
            "static const long long MAP_DST[N_LAYERS] = {" + ", ".join(str(words(l.name)) for l in hw.layers) + "};",
            f"const long long FC_SRC_OFF = {fc_src}LL;",
            "static const int BAND_ROWS[N_LAYERS] = {" + ", ".join(map(str, band)) + "};",
            "// the row buffer of a spike conv's scan: one input row, Win x ceil(Cin/32) words",
            f"const int ROW_WORDS = {max([l.win * l.cw_in for l in hw.convs if not l.encoder] + [1])};"]


def model_header(hw: HwModel, ddr: DdrWeights | None = None, spill: SpillPlan | None = None) -> str:
    """:func:`header_text` of a lowered model (``ddr``: the DDR mode's weight tiling; None: ROMs; ``spill``:
    maps in DDR, whose ``spill.ddr`` is ``ddr``)."""
    spec = hw.input_spec
    P, T = hw.lanes, hw.steps
    rows = schedule_rows(hw)
    f = hw.fc
    fc = dict(src=hw.maps.place[f.layer.inputs[0]].buffer, c=f.c, h=f.h, w=f.w, cw=f.cw, classes=f.classes, g=f.g)
    att_rows = []
    for a in hw.attention:
        s = a.spec
        att_rows.append(dict(kind=ATT_KIND[s.kind], dim=ATT_DIM[s.dim], size=s.size, hidden=s.hidden,
                             avg_m=s.avg_mult[0], avg_sh=s.avg_mult[1], out_m=s.out_mult[0], out_sh=s.out_mult[1],
                             w1=a.w1_offset, w2=a.w2_offset))
    W = hw.conv_weight_rows() if ddr is None else np.zeros((0, P), dtype=np.int64)
    B = hw.conv_bias_rows()
    TH = hw.conv_threshold_rows()
    WFC = hw.fc_weight_rows() if ddr is None else np.zeros((0, P), dtype=np.int64)
    FCI = hw.fc_init_rows()
    weights = [hw.attention_weights(a) for a in hw.attention]
    A1 = np.concatenate([w1.ravel() for w1, _ in weights]) if weights else np.zeros(1, dtype=np.int64)
    A2 = np.concatenate([w2.ravel() for _, w2 in weights]) if weights else np.zeros(1, dtype=np.int64)

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
    h32 = f"{proto.model_hash32(hw.model_hash):08x}"
    mem_bits = hw.mem_bits
    wmax = max(int(np.abs(W).max(initial=0)), int(np.abs(WFC).max(initial=0)))
    w_bits = hw.weight_bits

    out = [f"// Generated by syna_hw/hls_core.py from bundle model {hw.model_hash}",
           f"// lanes P = {P}. Do not edit: `make csim` / HlsCore.compile() regenerate it.",
           "#ifndef SYNA_MODEL_H", "#define SYNA_MODEL_H", "#include <stdint.h>", "",
           "// ---- macros usable inside pragmas (interface numbers from syna_contract/protocol.py)",
           f"#define SYNA_LANES {P}",
           f"#define SYNA_MODEL_HASH32 0x{h32}u"]
    for reg in ("STEPS", "IDLE_TIMEOUT", "STATUS", "CYCLES", "SATURATIONS", "MODEL_HASH", "VERSION"):
        out.append(f"#define SYNA_REG_{reg} 0x{proto.REGISTERS[reg]:02X}")
    if ddr is not None:
        out += ["// DDR mode: conv / fc weights through the m_axi port `ddr` (base address register below)",
                "#define SYNA_WEIGHTS_DDR 1", f"#define SYNA_ROW_BITS {8 * ddr.row_bytes}",
                f"#define SYNA_REG_WEIGHTS_BASE 0x{proto.REG_WEIGHTS_BASE:02X}",
                "// the m_axi port's longest read burst (beats) and bursts in flight: hls/scripts/syna_hls.tcl sets",
                "// the board's HP port limit (board_<board>.tcl syna_hp_max_burst: 16 on a Zynq-7000 AXI3 port);",
                "// else AXI4's", "#ifndef SYNA_DDR_MAX_BURST", f"#define SYNA_DDR_MAX_BURST {proto.DDR_MAX_BURST_BEATS}",
                "#endif",
                f"#define SYNA_DDR_READ_OUTSTANDING {proto.DDR_READ_OUTSTANDING}",
                f"#define SYNA_DDR_DEPTH {ddr.image_bytes // ddr.row_bytes}   // image rows (cosim's memory size)"]
    if spill is not None:
        out += ["// maps in DDR: the input and every spike map through the m_axi port `scratch` (base register below)",
                "#define SYNA_MAPS_DDR 1", f"#define SYNA_REG_SCRATCH_BASE 0x{proto.REG_SCRATCH_BASE:02X}",
                f"#define SYNA_SCRATCH_DEPTH {(SCRATCH_TB_BASE + spill.scratch_bytes) // 4}   "
                f"// words: the testbench's scratch buffer at byte {SCRATCH_TB_BASE} (cosim's memory size)"]
    out += ["", "namespace syna {", "",
            "// ---- interface (syna_contract/protocol.py)",
            f"const int INTERFACE_VERSION = {proto.INTERFACE_VERSION};",
            *[f"const uint32_t STATUS_{name.upper()} = {bit}u;" for name, bit in proto.STATUS_BITS.items()],
            f"const uint32_t STATUS_ERRORS = {proto.STATUS_ERRORS}u;          // the input errors",
            f"const uint32_t DEFAULT_IDLE_TIMEOUT = {proto.DEFAULT_IDLE_TIMEOUT}u;   // cycles, for IDLE_TIMEOUT = 0",
            f"const uint32_t MODEL_HASH32 = 0x{h32}u;",
            f"const char MODEL_HASH[] = \"{hw.model_hash}\";",
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
            f"const int N_BUF = {len(hw.maps.buffer_words)};", f"const int BUF_WORDS = {max(hw.maps.buffer_words)};",
            f"const int ACC_ROWS = {spill.acc_rows if spill else max(r['hout'] * r['wout'] * r['g'] for r in convs)};",
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
    if ddr is None:
        wt = _c_int_type(-wmax, wmax)
        out.append(f"// ROMs. weights: {W.shape[0]} rows x {P} lanes, layout per layer [Cin][Kh][Kw][G][P] "
                   f"(the bundle's [Cin][Kh][Kw][Cout] with Cout padded to G*P)")
        out.append(_array("W_CONV", wt, W))
    else:
        half = 1 << (ddr.weight_bits - 1)
        out += _ddr_header(hw, ddr, rows)
        if spill is not None:
            out += _spill_header(hw, spill, rows)
        out.append(f"typedef {_c_int_type(-half, half - 1)} wt_t;   // one weight lane of the buffer")
        out.append("// ROMs (the conv / fc weights are in DDR)")
    out.append(_array("BIAS", "int32_t", B))
    out.append(_array("THRESH", _c_int_type(int(TH.min()), int(TH.max())), TH))
    if ddr is None:
        out.append(_array("W_FC", wt, WFC))
    out.append("// T * H * W * fc bias: the score accumulators' start value")
    out.append(_array("FC_INIT", "int32_t", FCI))
    out.append(_array("ATT_W1", _c_int_type(int(A1.min()), int(A1.max())), A1))
    out.append(_array("ATT_W2", _c_int_type(int(A2.min()), int(A2.max())), A2))
    out.append(_array("SIGMOID", "int16_t", nx.sigmoid_table()))
    out += ["}  // namespace syna", "#endif"]
    return "\n".join(out) + "\n"


def gen_dir(bundle: Bundle, lanes: int, root: Path | None = None, weights: str = "rom",
            wbuf_rows: int | None = None, maps: str = "chip", acc_rows: int | None = None) -> Path:
    """build/hls/<hash16>/p<P>/ (ROMs), .../p<P>-ddr<WBUF_ROWS>/ (weights in DDR) or
    .../p<P>-ddr<WBUF_ROWS>-maps<ACC_ROWS>/ (maps in DDR too)."""
    leaf = f"p{lanes}"
    if maps == "ddr":
        sp = spill_plan(lower(bundle, lanes, target=HLS), wbuf_rows, acc_rows)
        leaf += f"-ddr{sp.ddr.wbuf_rows}-maps{sp.acc_rows}"
    elif weights == "ddr":
        leaf += f"-ddr{ddr_weights(lower(bundle, lanes, target=HLS), wbuf_rows).wbuf_rows}"
    return Path(root if root is not None else BUILD_DIR) / bundle.model_hash[:16] / leaf


def generate(bundle: Bundle | str | Path, lanes: int = DEFAULT_LANES, out_dir: Path | None = None,
             weights: str = "rom", wbuf_rows: int | None = None, maps: str = "chip",
             acc_rows: int | None = None) -> Path:
    """Write ``syna_model.h`` for ``bundle`` into ``out_dir`` (default :func:`gen_dir`)."""
    b = bundle if isinstance(bundle, Bundle) else load_bundle(bundle)
    text = header_text(b, lanes, weights, wbuf_rows, maps, acc_rows)
    d = Path(out_dir) if out_dir else gen_dir(b, lanes, weights=weights, wbuf_rows=wbuf_rows, maps=maps,
                                              acc_rows=acc_rows)
    d.mkdir(parents=True, exist_ok=True)
    path = d / HEADER_NAME
    if not path.is_file() or path.read_text() != text:
        path.write_text(text)
    return d


def write_golden_bin(bundle: Bundle, path: Path, lanes: int = DEFAULT_LANES) -> Path:
    """golden.npz -> a flat little-endian file the C++ testbench reads (format in hls/tb/tb_syna.cpp)."""
    g = bundle.golden()
    spec = bundle.input_spec
    names = [l.name for l in bundle.descriptors if l.spiking]
    x = g["input"].astype(np.int64)
    k = len(x)
    words = np.stack([proto.pack_frames(x[i], spec["bits"]) for i in range(k)]) if k else np.zeros((0, 0))
    classes = bundle.descriptors[-1].channels
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


# Where the PS's DDR sits as seen from its high-performance port HP0 (the one syna_bd.tcl uses), as
# Vivado names the PS's address segments: processing_system7 (UG585 ch. 4, the system address map:
# DDR from 0, up to 1 GB, in the segment HP0_DDR_LOWOCM of S_AXI_HP0) and zynq_ultra_ps_e (UG1085
# ch. 10: DDR_LOW the first 2 GB at 0, DDR_HIGH the rest at 0x8_0000_0000, segments HP0_DDR_LOW /
# HP0_DDR_HIGH of SAXIGP2, the bus behind S_AXI_HP0_FPD).
PS_DDR_WINDOWS = {
    "processing_system7": (("S_AXI_HP0/HP0_DDR_LOWOCM", 0x0, 1 << 30),),
    "zynq_ultra_ps_e": (("SAXIGP2/HP0_DDR_LOW", 0x0, 2 << 30), ("SAXIGP2/HP0_DDR_HIGH", 0x8_0000_0000, 32 << 30)),
}


def vivado_range(nbytes: int) -> str:
    """An address range as Vivado writes it (``64K``, ``512M``, ``2G``): a power of two of at least 4 KiB."""
    if nbytes < 4096 or nbytes & (nbytes - 1):
        raise ValueError(f"a Vivado address range is a power of two of at least 4K bytes, not {nbytes}")
    for unit, shift in (("G", 30), ("M", 20), ("K", 10)):
        if nbytes >= 1 << shift:
            return f"{nbytes >> shift}{unit}"
    raise AssertionError(nbytes)


def ddr_address_map(board: str) -> list[tuple[str, int, str]]:
    """The PS DDR segments a master behind HP0 must map to reach all of the board's DDR (``ddr_bytes`` of
    syna_contract/boards.py): (segment under the PS cell, offset, Vivado range), ranges rounded up to
    powers of two. ValueError when the board's DDR does not fit the PS's windows."""
    bd = get_board(board)
    left, out = bd.ddr_bytes, []
    for seg, base, most in PS_DDR_WINDOWS[bd.ps_ip]:
        if left <= 0:
            break
        size = min(most, 1 << (left - 1).bit_length())
        out.append((seg, base, vivado_range(size)))
        left -= size
    if left > 0:
        raise ValueError(f"{bd.name}: {bd.ddr_bytes} bytes of DDR do not fit the {bd.ps_ip} HP0 windows")
    return out


def board_tcl(bundle: Bundle, board: str, lanes: int, out_dir: Path, ddr_image: Path | None = None,
              impl: str = "hls", maps: str = "chip") -> Path:
    """Tcl variables for the vendor flows (hls/scripts), from syna_contract/boards.py (the one board table).
    ``ddr_image``: the core was generated with weights="ddr"; the flows pass this image to the testbench
    (csim, cosim) and the block design connects the core's m_axi port to DDR (``syna_ddr_map``: the PS
    segments, offsets and ranges of :func:`ddr_address_map`). ``impl``: which core the block design
    instantiates, ``hls`` (the Vitis IP) or ``rtl`` (the RTL twin, syna_hw.rtl_core.vivado_tcl adds its files).
    ``maps``: "ddr" when the core keeps its spike maps in DDR (``syna_maps``; the same m_axi port, so the block
    design is the DDR core's)."""
    if impl not in ("hls", "rtl"):
        raise ValueError(f"impl {impl!r}: expected 'hls' or 'rtl'")
    check_maps_mode(maps, "ddr" if ddr_image else "rom", HLS)
    bd = get_board(board)
    path = out_dir / f"board_{board}.tcl"
    period = 1000.0 / bd.clock_mhz
    ddr_map = " ".join(f"{{{seg} 0x{base:09X} {rng}}}" for seg, base, rng in ddr_address_map(bd.name))
    path.write_text("\n".join([
        "# Generated by syna_hw/hls_core.py from syna_contract/boards.py; do not edit.",
        f"set syna_board {{{bd.name}}}", f"set syna_part {{{bd.part}}}", f"set syna_clock_mhz {bd.clock_mhz:g}",
        f"set syna_clock_ns {period:.3f}", f"set syna_model_hash {{{bundle.model_hash}}}",
        f"set syna_model_hash16 {{{bundle.model_hash[:16]}}}", f"set syna_lanes {lanes}",
        f"set syna_gen_dir {{{out_dir.resolve()}}}", f"set syna_src_dir {{{SRC_DIR}}}",
        f"set syna_tb_dir {{{TB_DIR}}}", f"set syna_repo {{{REPO}}}",
        f"set syna_ps {{{bd.ps_ip}}}", f"set syna_hp_width {bd.hp_bits}",
        f"set syna_hp_protocol {bd.hp_protocol}", f"set syna_hp_max_burst {bd.hp_max_burst}",
        f"set syna_ddr_bytes {bd.ddr_bytes}", f"set syna_ddr_map {{{ddr_map}}}",
        f"set syna_impl {impl}", f"set syna_weights {'ddr' if ddr_image else 'rom'}", f"set syna_maps {maps}",
        f"set syna_ddr_image {{{Path(ddr_image).resolve() if ddr_image else ''}}}", ""]))
    return path
