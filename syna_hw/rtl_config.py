"""The RTL twin's configuration: a serialiser of the :class:`~syna_hw.lowering.HwModel`.

``generate(bundle, out_dir, lanes=P)`` writes what ``rtl/`` needs (docs/rtl.md, "Generated files"):

- ``syna_cfg.vh``        architecture parameters (sizes, widths, lanes), the interface numbers of
                         ``syna_contract/protocol.py`` (register map, status bits, version), the
                         attention gate constants of ``syna_contract/numerics.py`` and the schedule's
                         field map;
- ``syna_schedule.mem``  the layer schedule, one word per layer (a ROM, so one Verilator build
                         serves every bundle with the same architecture); spike maps at the logical
                         base addresses (``phys << k``) and classes (``kin``: the inputs', ``kout``: the
                         output's) of the one liveness allocation, in a spike memory of ``SB`` banks
                         of ``CMAX/SB`` bits x ``SD`` words (rtl/syna_spkmem.v; docs/rtl.md "Spike memory");
- ``syna_weights.mem``   every conv and FC weight, ``P`` lanes of ``weight_bits`` per word (the
                         HwModel's padded rows);
- ``syna_bt.mem``        bias (32 bits) and threshold (``mem_bits``) of ``P`` channels per word;
                         FC bias pre-multiplied by T*H*W;
- ``syna_hash.mem``      ``MODEL_HASH32`` (first 32 bits of the bundle's model hash);
- ``syna_att.mem``       attention (MA/IA, dims T and C) parameters, one word per layer with
                         attention (kind, dim, size, hidden, MLP weight base, avg and out
                         multipliers/shifts); a conv layer's schedule field ``op`` is 1 + its
                         index here (0: no attention);
- ``syna_attw.mem``      the attention MLP weights, one per word: per layer w1 ``[hidden][size]``
                         then w2 ``[size][hidden]``;
- ``syna_sigmoid.mem``   the MA gate table ``numerics.sigmoid_table()`` (256 x 9 bits);
- ``rtl_layout.json``    the same schedule for testbenches (spike-map tap decode).

``weights="ddr"`` (issue 16; docs/rtl.md "Weights in DDR"): the conv / fc weights come from the DDR
image through the core's AXI4 read port into an on-chip weight buffer of ``wbuf_rows`` rows, tile
by tile (``syna_hw.lowering.ddr_weights``: the HLS core's tiles, the same bytes read).
``syna_weights.mem`` is not written; ``syna_ddr.mem`` (one word per layer: w_offset, w_block_bytes,
rows, tile_groups, 32 bits each, field 0 lowest) is, and ``syna_tiles.mem`` (every tile load of an
inference in order, ``DdrWeights.tile_loads``: byte offset, bytes, rows, block rows, lane groups, 32 bits
each, field 0 lowest); ``syna_cfg.vh`` gains the buffer depth, the number of buffers (``wbuf``: "single"
or "double", ``SYNA_NBUF``), the number of loads, the port width, the WEIGHTS_BASE registers and
```define SYNA_WEIGHTS_DDR``. The default
``weights="rom"`` writes exactly the files it wrote before.

:func:`rtl_arch` gives the architecture parameters without writing anything (no ROM contents
needed), and :func:`rtl_memories` the memories ``rtl/syna_core.v`` builds from them: the planner
prices those.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from syna_contract import numerics as nx
from syna_contract import protocol as proto
from syna_contract.bundle import Bundle, load_bundle

from .limits import DEFAULT_LANES, RTL
from .lowering import WBUF_DEFAULT, WBUF_MODES, WBUF_RAM_DEFAULT, WBUF_RAMS, WEIGHTS_MODES, DdrWeights, HwModel, ddr_weights, lower
from .spill import INPUT, MAPS_DEFAULT, SpillPlan, check_maps_mode, spill_plan

REPO = Path(__file__).resolve().parent.parent
RTL_DIR = REPO / "rtl"

CFG_VH = "syna_cfg.vh"
SCHEDULE_MEM = "syna_schedule.mem"
WEIGHTS_MEM = "syna_weights.mem"
BT_MEM = "syna_bt.mem"
HASH_MEM = "syna_hash.mem"
ATT_MEM = "syna_att.mem"
ATTW_MEM = "syna_attw.mem"
SIGMOID_MEM = "syna_sigmoid.mem"
LAYOUT_JSON = "rtl_layout.json"
DDR_MEM = "syna_ddr.mem"
DDR_HEAD_MEM = "syna_ddrhead.mem"   # weights="ddr": the image's first bytes the core checks, GMEM_DW-bit beats
# One syna_ddr.mem word (weights="ddr"): these fields, 32 bits each, field 0 in the low bits.
DDR_FIELDS = ("woff", "wblk", "rows", "tg")
TILES_MEM = "syna_tiles.mem"
SPILL_MEM = "syna_spill.mem"         # maps="ddr": per layer, its maps' scratch regions and its bands
BANDS_MEM = "syna_bands.mem"         # maps="ddr": per conv band, its rows (output and input)
SPILL_FIELDS = ("in_off", "inb_off", "out_off", "in_step", "out_step", "in_pw", "out_pw", "band0", "nband")
BAND_FIELDS = ("out_row", "out_npos", "in_row", "in_npos", "scan0", "ny", "pad_y", "tap_off")
# One syna_tiles.mem word (weights="ddr"): one tile load, these fields, 32 bits each, field 0 in the low bits.
TILE_FIELDS = ("offset", "nbytes", "rows", "block_rows", "groups")
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
          "scan", "nlif", "thw", "kin", "kout")
# The integer contract's attention constants the RTL reads from syna_cfg.vh (as the HLS core from its header)
GATE_CONSTANTS = {"GATE_FRAC_BITS": nx.GATE_FRAC_BITS, "SIG_HALF": 1 << (nx.SIGMOID_INDEX_BITS - 1),
                  "IA_THETA": 1 << nx.IA_UNIT_LOG2}

# RTL source files, in dependency order (the top is last).
# The RTL file list: rtl/syna.f (dependency order, one path per line relative to the repository root,
# `//` comments); the controller and the top level are these modules' files.
RTL_FILELIST = RTL_DIR / "syna.f"
CORE_MODULE, TOP_MODULE, TOP_DDR_MODULE = "syna_core", "syna_core_top", "syna_core_top_ddr"


def rtl_sources(top: bool = False, units_only: bool = False) -> list[Path]:
    """RTL files in dependency order, as rtl/syna.f lists them: the units, syna_core.v, and
    syna_core_top_ddr.v and syna_core_top.v when ``top``; only the units when ``units_only``."""
    paths = [REPO / line.strip() for line in RTL_FILELIST.read_text().splitlines()
             if line.strip() and not line.strip().startswith("//")]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"{RTL_FILELIST} lists files that do not exist: {', '.join(missing)}")
    skip = {CORE_MODULE, TOP_MODULE, TOP_DDR_MODULE} if units_only else set() if top else {TOP_MODULE, TOP_DDR_MODULE}
    return [p for p in paths if p.stem not in skip]


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
    ddr: DdrWeights | None = None     # weights="ddr": the tile plan (None: weights in the ROM)
    spill: SpillPlan | None = None    # maps="ddr": the scratch layout and bands (None: maps on chip)

    @property
    def arch_key(self) -> str:
        """Hash of the architecture parameters, the contract constants and the RTL sources: one build per key."""
        h = hashlib.sha256(json.dumps(self.arch, sort_keys=True).encode())
        h.update(json.dumps(GATE_CONSTANTS, sort_keys=True).encode())
        for path in rtl_sources(top=True):
            h.update(path.read_bytes())
        return h.hexdigest()[:16]


# ================================================================================ schedule and sizes
def schedule(hw: HwModel) -> list[dict]:
    """One schedule word per layer (spiking layers, then fc): the fields of :data:`FIELDS`."""
    T, place = hw.steps, hw.maps.place
    sched = []
    for l in hw.layers + [hw.fc]:
        f = dict.fromkeys(FIELDS, 0)
        is_fc = l is hw.fc
        c, h, w = (l.c, l.h, l.w) if is_fc else (l.cin, l.hin, l.win)
        f.update(cin=c, h=h, w=w, hw=h * w, thw=T * h * w)
        src = l.layer.inputs[0]
        if not is_fc:
            f["out"], f["kout"] = place[l.name].base, place[l.name].k
        if src in place:
            f["ina"], f["kin"] = place[src].base, place[src].k
        if is_fc or l.kind == "conv_lif":
            cout, ho, wo, k, s, pad = (l.classes, 1, 1, 1, 1, 0) if is_fc else (l.cout, l.hout, l.wout, l.k, l.s, l.p)
            g = l.g
            if is_fc:
                f.update(kind=KIND_FC)
            else:
                f.update(kind=KIND_CONV, enc=int(l.encoder))
                if l.att >= 0:
                    f["op"] = l.att + 1                 # 1 + index in syna_att.mem
            f.update(cout=cout, ho=ho, wo=wo, k=k, slog2=s.bit_length() - 1, pad=pad, g=g,
                     wbase=l.w_row, btbase=l.bt_row, howo=ho * wo, kkg=k * k * g, kg=k * g, sg=s * g,
                     skg=s * k * g, wog=wo * g, nlif=ho * wo * g, scan=T * h * w if is_fc else h * w)
        elif l.kind == "maxpool_or":
            f.update(kind=KIND_POOL, cout=l.cout, ho=l.hout, wo=l.wout, k=l.k, slog2=l.s.bit_length() - 1,
                     pad=l.p, howo=l.hout * l.wout)
        elif l.kind == "merge":
            b = place[l.layer.inputs[1]]
            if b.k != f["kin"]:      # the spike memory reads both inputs with one class (equal shapes: equal k)
                raise ValueError(f"merge {l.name}: inputs of spike-memory classes {f['kin']} and {b.k}")
            f.update(kind=KIND_MERGE, op=MERGE_CODES[l.layer.op], cout=c, ho=h, wo=w, howo=h * w, inb=b.base)
        sched.append(f)
    return sched


def rtl_arch(hw: HwModel, sched: list[dict] | None = None) -> dict:
    """The parameters of syna_cfg.vh (sizes and widths of every memory of rtl/syna_core.v)."""
    sched = schedule(hw) if sched is None else sched
    spec, P, T, mem_bits = hw.input_spec, hw.lanes, hw.steps, hw.mem_bits
    fw = max(16, max(_bits_for(v) for f in sched for v in f.values()))
    arch = dict(P=P, WB=hw.weight_bits, MB=mem_bits, T=T, CIN=spec["channels"], H=spec["height"], W=spec["width"],
                IB=spec["bits"], LANE=proto.lane_bits(spec["bits"]),
                WPF=proto.words_per_frame(spec["channels"], spec["height"], spec["width"], spec["bits"]),
                CMAX=hw.cmax, NL=len(hw.layers) + 1, NS=len(hw.layers),
                NCLS=hw.fc.classes, FW=fw, NF=len(FIELDS),
                WD=hw.weight_depth, BTD=hw.bt_depth, SD=hw.maps.depth, SB=hw.maps.banks, AD=hw.acc_depth,
                ID=T * spec["height"] * spec["width"])
    # attention: entries (max size, a multiple of P), hidden, MLP weight ROM (all 1 when there is none)
    att = hw.attention
    csz = max([a.spec.size for a in att if a.spec.dim == "C"] + [1])
    pooled = [T * a.layer.hout * a.layer.wout if a.spec.dim == "C" else a.layer.cout * a.layer.hout * a.layer.wout
              for a in att]
    psw = min(64, mem_bits + _bits_for(max(pooled + [1])) + 1)
    awd = max(1, sum(2 * a.spec.hidden * a.spec.size for a in att))
    arch.update(NATT=len(att), ACSZ=-(-csz // P) * P, APSW=psw, AHMAX=max([a.spec.hidden for a in att] + [1]),
                AWB=hw.att_weight_bits, AWD=awd)
    arch.update(AWAW=_bits_for(arch["AWD"] - 1), NAW=_bits_for(max(arch["NATT"], 1) - 1))
    # spike memory: SB banks of CMAX/SB bits x SD words; the core's (logical) addresses need SAW bits, a
    # bank's SPAW, a class (kin, kout: 0 .. log2 SB) SKW
    arch.update(WAW=_bits_for(arch["WD"] - 1), BTAW=_bits_for(arch["BTD"] - 1),
                SAW=max(_bits_for(hw.maps.logical_depth - 1), _bits_for(arch["SD"] - 1)),
                AAW=_bits_for(arch["AD"] - 1), IAW=_bits_for(arch["ID"] - 1), LAW=_bits_for(arch["NL"] - 1))
    arch.update(SPAW=_bits_for(arch["SD"] - 1), SKW=_bits_for(arch["SB"].bit_length() - 1))
    return arch


@dataclass(frozen=True)
class RtlMemory:
    """One memory rtl/ builds: ``count`` instances of ``width`` x ``depth`` bits."""
    name: str
    width: int
    depth: int
    count: int = 1
    init: bool = False          # $readmemh contents (a ROM)
    sync_read: bool = True      # syna_mem (registered read); False: a small register array read combinationally
    uram: bool = True           # synthesis may build it from UltraRAM (False: syna_mem BLOCK=1, block RAM only)


def rtl_memories(arch: dict) -> list[RtlMemory]:
    """Every memory rtl/syna_core.v (and the units it instantiates) builds for ``arch``, as it builds them."""
    P, MB, NATT = arch["P"], arch["MB"], arch["NATT"]
    mw = max(arch["CMAX"], arch["CIN"])                         # syna_core.v MW / DW: the conv engine's FIFO word
    dw = max(arch["CMAX"], arch["CIN"] * arch["IB"])
    mems = [
        RtlMemory("input banks", arch["IB"], arch["ID"], count=arch["CIN"]),
        RtlMemory("spike maps", arch["CMAX"] // arch["SB"], arch["SD"], count=arch["SB"]),   # syna_spkmem.v banks
        # DDR: NBUF tile buffers of WD rows (one memory), a ROM of the tile loads
        RtlMemory("weights", P * arch["WB"], arch["WD"] * arch.get("NBUF", 1), init=not arch.get("WDDR"),
                  uram=not arch.get("WBRAM")),
        RtlMemory("bias+threshold", P * (32 + MB), arch["BTD"], init=True),
        RtlMemory("accumulators", P * 32, arch["AD"]),
        RtlMemory("membranes", P * MB, arch["AD"]),
        RtlMemory("schedule", arch["NF"] * arch["FW"], arch["NL"], init=True),
        RtlMemory("model hash", 32, 1, init=True),
        RtlMemory("conv FIFO", dw + mw + 8 + arch["WAW"] + arch["AAW"], 4, sync_read=False),
    ]
    if arch.get("MAPS_DDR"):                                    # maps in DDR: syna_mapdma's plan ROMs
        mems.append(RtlMemory("spill plan", 32 * len(SPILL_FIELDS), arch["NL"], init=True))
        mems.append(RtlMemory("bands", 32 * len(BAND_FIELDS), arch["NBAND"], init=True))
    if arch.get("WDDR"):
        mems.append(RtlMemory("tile loads", 32 * len(TILE_FIELDS), arch["NLD"], init=True))
        # syna_axi_rd's read FIFO: {last, keep, data} per beat
        mems.append(RtlMemory("AXI read FIFO", 1 + arch["GMEM_DW"] // 8 + arch["GMEM_DW"], arch["AXI_FIFO"]))
    if NATT:                                                    # syna_attention.v, only built with attention
        gd = arch["ACSZ"] // P
        mems += [
            RtlMemory("attention parameters", 9 * 32, NATT, init=True),
            RtlMemory("attention pools", arch["APSW"] + MB, gd, count=P),
            RtlMemory("attention gates", max(MB, 10), gd, count=P),
            RtlMemory("attention weights", arch["AWB"], arch["AWD"], init=True),
            RtlMemory("sigmoid table", 9, 256, init=True),
            RtlMemory("attention hidden", 32, arch["AHMAX"], sync_read=False),
        ]
    return mems


# ================================================================================ maps in DDR
@dataclass(frozen=True)
class Staging:
    """The on-chip memories of a maps-in-DDR build (maps="ddr"): what the RTL keeps of the maps and the
    input, and the bands it runs. The one place their sizes are decided (the planner prices them from
    :func:`spill_arch`'s parameters and :func:`rtl_memories`).

    The spike memory (syna_spkmem, ``banks`` banks of CMAX/banks bits) is a staging of one step: region A
    (physical words 0 .. a_words-1) holds the input rows a band reads of its input map (a pool's, merge's
    first or the fc's whole input step), region B (a_words .. a_words+b_words-1) the band's output
    positions (a conv's, pool's) or a merge's second input (the merge writes its output over A). A map of
    class k at logical address (phys << k) + p, as on chip. The input banks hold one frame (H*W values per
    channel), replayed from the scratch INPUT region; the accumulators / membranes ``acc_rows`` words."""
    a_words: int
    b_words: int
    in_depth: int                # input bank words (one frame)
    acc_rows: int                # accumulator / membrane words of P lanes
    bands: list                  # per conv band: dict of BAND_FIELDS (syna_bands.mem order)
    layer_rows: list             # per layer (schedule order, fc last): dict of SPILL_FIELDS

    @property
    def depth(self) -> int:
        return self.a_words + self.b_words


def staging(hw: HwModel, plan: SpillPlan) -> Staging:
    """The staging a maps-in-DDR RTL build of ``hw`` needs for ``plan`` (see :class:`Staging`)."""
    place, maps = hw.maps.place, plan.maps
    a_need, b_need, bands, rows = [1], [1], [], []
    spec = hw.input_spec
    for l in hw.layers + [hw.fc]:
        is_fc = l is hw.fc
        src = l.layer.inputs[0]
        kin = place[src].k if src in place else 0
        sm = maps[src] if src in maps else maps[INPUT]
        r = dict.fromkeys(SPILL_FIELDS, 0)
        r.update(in_off=sm.offset, in_step=sm.step_bytes, in_pw=sm.pos_words)
        if not is_fc:
            om = maps[l.name]
            kout = place[l.name].k
            r.update(out_off=om.offset, out_step=om.step_bytes, out_pw=om.pos_words)
        if is_fc:
            a_need.append(-(-l.h * l.w >> kin))
        elif l.kind == "conv_lif":
            sl = plan.layers[l.name]
            win = spec["width"] if l.encoder else l.win
            r.update(band0=len(bands), nband=len(sl.bands()))
            for y0, ny in sl.bands():
                iy0, iy1 = plan.input_rows(l.name, y0, ny)
                bands.append(dict(out_row=y0 * l.wout * om.pos_words * 4, out_npos=ny * l.wout,
                                  in_row=0 if l.encoder else iy0 * win * sm.pos_words * 4,
                                  in_npos=(iy1 - iy0) * win, scan0=iy0 * win if l.encoder else 0, ny=ny,
                                  pad_y=iy0 + l.p - y0 * l.s, tap_off=y0 * l.wout))
                if not l.encoder:
                    a_need.append(-(-(iy1 - iy0) * win >> kin))
                b_need.append(-(-ny * l.wout >> kout))
        elif l.kind == "maxpool_or":
            a_need.append(-(-l.hin * l.win >> kin))
            b_need.append(-(-l.hout * l.wout >> kout))
        else:                                                   # merge: a in A (the output over it), b in B
            bm = maps[l.layer.inputs[1]]
            r.update(inb_off=bm.offset)
            a_need.append(-(-l.hin * l.win >> kin))
            b_need.append(-(-l.hin * l.win >> kin))
        rows.append(r)
    acc = max(plan.acc_rows, plan.ddr.layer(hw.fc.name).tile_groups)
    return Staging(max(a_need), max(b_need), spec["height"] * spec["width"], acc, bands, rows)


def spill_schedule(hw: HwModel, sched: list[dict], st: Staging) -> list[dict]:
    """The schedule of a maps-in-DDR build: the map fields (ina, inb, out) address the staging (A at 0,
    B at st.a_words), the fc scans one step."""
    out = []
    for l, f in zip(hw.layers + [hw.fc], sched):
        f = dict(f)
        f["ina"] = 0
        if l is hw.fc:
            f["scan"] = l.h * l.w
        elif l.kind == "merge":
            f["inb"] = st.a_words << f["kin"]
            f["out"] = 0
        else:
            f["out"] = st.a_words << f["kout"]
        out.append(f)
    return out


def spill_arch(hw: HwModel, plan: SpillPlan, st: Staging) -> dict:
    """The parameters a maps="ddr" build adds to (or changes in) :func:`rtl_arch` and :func:`ddr_arch`:
    ``SD`` the staging's physical words (:class:`Staging`), ``SAW`` / ``SPAW`` its address bits, ``ID`` the
    input banks' words (one frame), ``AD`` the accumulator / membrane words (``acc_rows``), ``NBAND`` the
    conv bands (syna_bands.mem), ``SCR_PAGES`` the scratch buffer's 4 KiB pages (the SCRATCH_BASE check),
    ``SCR_BYTES`` its bytes."""
    klog = hw.maps.banks.bit_length() - 1
    return dict(MAPS_DDR=1, SD=st.depth, SAW=_bits_for((st.depth << klog) - 1), SPAW=_bits_for(st.depth - 1),
                ID=st.in_depth, IAW=_bits_for(st.in_depth - 1), AD=st.acc_rows, AAW=_bits_for(st.acc_rows - 1),
                NBAND=len(st.bands), BDAW=_bits_for(max(len(st.bands), 2) - 1),
                SCR_PAGES=-(-plan.scratch_bytes // proto.SCRATCH_BASE_ALIGN), SCR_BYTES=plan.scratch_bytes,
                ACC_ROWS=plan.acc_rows)


def spill_build_arch(hw: HwModel, plan: SpillPlan, wbuf: str = WBUF_DEFAULT,
                     axi_max_burst: int = proto.DDR_MAX_BURST_BEATS, wbuf_ram: str = WBUF_RAM_DEFAULT) -> dict:
    """Every parameter of the maps-in-DDR build of ``hw`` for ``plan`` (what :func:`generate` writes into
    syna_cfg.vh): :func:`rtl_arch` of its schedule, :func:`ddr_arch` of its weight tiles, :func:`spill_arch`;
    ``rtl_memories`` of it is every memory the build has (the planner prices it from here)."""
    st = staging(hw, plan)
    arch = rtl_arch(hw, spill_schedule(hw, schedule(hw), st))
    arch.update(ddr_arch(plan.ddr, wbuf, axi_max_burst, wbuf_ram))
    arch.update(spill_arch(hw, plan, st))
    return arch


# ================================================================================ files
AXI_READ_FIFO = 512     # beats syna_axi_rd buffers in a DDR build (FIFO_DEPTH): two 256-beat bursts in flight


def check_axi_max_burst(beats) -> int:
    """``beats`` as the DDR read port's longest burst: an int from 1 to protocol.DDR_MAX_BURST_BEATS (AXI4's 256;
    a board's is ``Board.hp_max_burst``), else ValueError."""
    ok = not isinstance(beats, bool) and isinstance(beats, (int, np.integer))
    if not ok or not 1 <= beats <= proto.DDR_MAX_BURST_BEATS:
        raise ValueError(f"axi_max_burst {beats!r}; expected beats from 1 to {proto.DDR_MAX_BURST_BEATS} (the board's "
                         "HP port: Board.hp_max_burst, 16 on a Zynq-7000 AXI3 port, 256 on AXI4)")
    return int(beats)


def ddr_arch(dw: DdrWeights, wbuf: str = WBUF_DEFAULT, axi_max_burst: int = proto.DDR_MAX_BURST_BEATS,
             wbuf_ram: str = WBUF_RAM_DEFAULT) -> dict:
    """The parameters a weights="ddr" build adds to (or changes in) :func:`rtl_arch`: the weight
    memory is ``NBUF`` tile buffers (``WD`` = the rows of one; ``wbuf`` "single", the default: 1;
    "double": 2, the next tile loads while the current one computes), ``NLD`` the tile loads per
    inference, ``GMEM_DW`` the AXI read port's data width (one image row, at least 32 bits: narrower rows
    come several per beat), ``ROWB`` the image row bytes; for the weights check: ``DDR_PAGES`` the image's
    4 KiB pages, ``DDR_CHECK_BEATS`` the beats of its first bytes (syna_ddrhead.mem), ``DDR_ADDR_BITS``
    the port's address bits (protocol.DDR_ADDR_BITS); ``AXI_MAX_BURST`` the longest read burst in beats
    (``axi_max_burst``: the board's HP port, ``Board.hp_max_burst``; default AXI4's 256) and
    ``AXI_OUTSTANDING`` the bursts in flight (protocol.DDR_READ_OUTSTANDING); ``AXI_FIFO`` the beats its
    read FIFO holds (:data:`AXI_READ_FIFO`, a memory the planner prices); ``WBRAM`` 1 when the buffer
    is block RAM only (``wbuf_ram`` "block", lowering.WBUF_RAMS; "auto", the default: synthesis chooses)."""
    if wbuf not in WBUF_MODES:
        raise ValueError(f"wbuf {wbuf!r}; expected one of {', '.join(WBUF_MODES)}")
    check_wbuf_ram(wbuf_ram)
    axi_max_burst = check_axi_max_burst(axi_max_burst)
    nld = len(dw.tile_loads())
    return dict(WDDR=1, WD=dw.wbuf_rows, WAW=_bits_for(dw.wbuf_rows - 1), ROWB=dw.row_bytes,
                GMEM_DW=max(proto.RTL_GMEM_MIN_BITS, 8 * dw.row_bytes), DDR_BYTES=dw.bytes_per_inference,
                DDR_PAGES=-(-dw.image_bytes // proto.WEIGHTS_BASE_ALIGN),
                DDR_CHECK_BEATS=len(dw.header) // max(4, dw.row_bytes), DDR_ADDR_BITS=proto.DDR_ADDR_BITS,
                NBUF=WBUF_MODES.index(wbuf) + 1, NLD=nld, LDAW=_bits_for(nld - 1),
                AXI_MAX_BURST=axi_max_burst, AXI_OUTSTANDING=proto.DDR_READ_OUTSTANDING, AXI_FIFO=AXI_READ_FIFO,
                WBRAM=WBUF_RAMS.index(wbuf_ram))


def check_wbuf_ram(wbuf_ram) -> str:
    """``wbuf_ram`` as one of lowering.WBUF_RAMS, else ValueError."""
    if wbuf_ram not in WBUF_RAMS:
        raise ValueError(f"wbuf_ram {wbuf_ram!r}; expected one of {', '.join(WBUF_RAMS)} (auto: synthesis chooses "
                         "the RAM; block: block RAM only, leaving UltraRAM to the maps and accumulators)")
    return wbuf_ram


def generate(bundle_dir: str | Path | Bundle, out_dir: str | Path, lanes: int = DEFAULT_LANES,
             weights: str = "rom", wbuf_rows: int | None = None, wbuf: str = WBUF_DEFAULT,
             axi_max_burst: int | None = None, wbuf_ram: str = WBUF_RAM_DEFAULT, maps: str = MAPS_DEFAULT,
             acc_rows: int | None = None) -> RtlConfig:
    """Write the RTL configuration for a bundle into ``out_dir`` (see the module doc). ``axi_max_burst``
    (weights="ddr" only): the DDR read port's longest burst in beats, the board's ``Board.hp_max_burst``
    (None: AXI4's 256, protocol.DDR_MAX_BURST_BEATS). ``wbuf_ram`` (weights="ddr" only): the weight buffer's
    RAM, "auto" (synthesis chooses) or "block" (block RAM only; :func:`ddr_arch`). ``maps`` "ddr" (needs
    weights="ddr"): the input and every spike map in the DDR scratch buffer (syna_hw/spill.py), the
    accumulators / membranes ``acc_rows`` words (None: the weight tiling's need, one band per tile)."""
    if weights not in WEIGHTS_MODES:
        raise ValueError(f"weights {weights!r}; expected one of {', '.join(WEIGHTS_MODES)}")
    if wbuf not in WBUF_MODES:
        raise ValueError(f"wbuf {wbuf!r}; expected one of {', '.join(WBUF_MODES)}")
    if axi_max_burst is not None and weights != "ddr":
        raise ValueError("axi_max_burst limits the DDR read bursts of weights='ddr'; this core has no DDR port")
    axi_max_burst = check_axi_max_burst(proto.DDR_MAX_BURST_BEATS if axi_max_burst is None else axi_max_burst)
    if check_wbuf_ram(wbuf_ram) != WBUF_RAM_DEFAULT and weights != "ddr":
        raise ValueError("wbuf_ram chooses the RAM of the DDR mode's weight buffer; add weights='ddr'")
    check_maps_mode(maps, weights, RTL, acc_rows)
    bundle = bundle_dir if isinstance(bundle_dir, Bundle) else load_bundle(bundle_dir)
    hw = lower(bundle, lanes, target=RTL)
    plan = spill_plan(hw, wbuf_rows, acc_rows) if maps == "ddr" else None
    dw = plan.ddr if plan is not None else ddr_weights(hw, wbuf_rows) if weights == "ddr" else None
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    P, mem_bits, wbits = hw.lanes, hw.mem_bits, hw.weight_bits
    sched = schedule(hw)
    st = staging(hw, plan) if plan is not None else None
    if st is not None:
        sched = spill_schedule(hw, sched, st)
    arch = rtl_arch(hw, sched)
    if dw is not None:
        arch.update(ddr_arch(dw, wbuf, axi_max_burst, wbuf_ram))
    if st is not None:
        arch.update(spill_arch(hw, plan, st))
    fw = arch["FW"]
    layers = hw.descriptors
    spiking = [l.name for l in hw.layers]
    weights = np.concatenate([hw.conv_weight_rows(), hw.fc_weight_rows()])
    bias_a = np.concatenate([hw.conv_bias_rows(), hw.lane_rows(hw.fc_bias_total(), hw.fc.g)])
    thr_a = np.concatenate([hw.conv_threshold_rows(), np.zeros((hw.fc.g, P), dtype=np.int64)])
    att_rows = [dict(kind=ATT_KINDS[a.spec.kind], dim=ATT_DIMS[a.spec.dim], size=a.spec.size, hidden=a.spec.hidden,
                     wbase=a.wbase, avg_m=a.spec.avg_mult[0], avg_sh=a.spec.avg_mult[1], out_m=a.spec.out_mult[0],
                     out_sh=a.spec.out_mult[1]) for a in hw.attention]
    att_words = (np.concatenate([np.concatenate([w.ravel() for w in hw.attention_weights(a)]) for a in hw.attention])
                 if hw.attention else np.zeros(1, dtype=np.int64))
    awb = arch["AWB"]
    model_hash32 = proto.model_hash32(bundle.model_hash)

    vh = ["// Generated by syna_hw.rtl_core.generate(); do not edit.",
          f"// bundle {bundle.root}  model {bundle.model_hash}  MODEL_HASH32 0x{model_hash32:08x}",
          "// Architecture parameters (one Verilator build per set of these values):"]
    vh += [f"localparam integer SYNA_{k} = {v};" for k, v in arch.items()]
    vh += ["// Interface numbers, from syna_contract/protocol.py (docs/core-interface.md):",
           f"localparam integer SYNA_VERSION = {proto.INTERFACE_VERSION};",
           f"localparam [31:0] SYNA_DEFAULT_IDLE_TIMEOUT = 32'd{proto.DEFAULT_IDLE_TIMEOUT};"]
    vh += [f"localparam [6:0] SYNA_REG_{n} = 7'h{off:02x};" for n, off in proto.REGISTERS.items()
           if n not in proto.DDR_REGISTERS]                           # those: DDR builds only, below
    if dw is not None:
        vh += ["// Weights in DDR (weights=\"ddr\"): the weight memory is a tile buffer filled through m_axi_gmem:",
               "`define SYNA_WEIGHTS_DDR 1"]
        vh += [f"localparam [6:0] SYNA_REG_{n} = 7'h{off:02x};" for n, off in proto.DDR_REGISTERS.items()]
    if st is not None:
        vh += ["// Spike maps in DDR (maps=\"ddr\"): the input and the maps in the scratch buffer, a staging on chip:",
               "`define SYNA_MAPS_DDR 1"]
        vh += [f"localparam [6:0] SYNA_REG_{n} = 7'h{off:02x};" for n, off in proto.SPILL_REGISTERS.items()]
    vh += [f"localparam integer SYNA_STATUS_{n.upper()} = {b.bit_length() - 1};" for n, b in proto.STATUS_BITS.items()]
    vh += ["// Attention gate constants, from syna_contract/numerics.py (docs/numerics.md section 6):"]
    vh += [f"localparam integer SYNA_{n} = {v};" for n, v in GATE_CONSTANTS.items()]
    vh += ["// Layer kinds and merge ops in the schedule ROM:",
           f"localparam integer SYNA_KIND_CONV = {KIND_CONV}, SYNA_KIND_POOL = {KIND_POOL}, "
           f"SYNA_KIND_MERGE = {KIND_MERGE}, SYNA_KIND_FC = {KIND_FC};",
           "// Schedule word: field i at bits [i*SYNA_FW +: SYNA_FW]:"]
    vh += [f"localparam integer F_{n.upper()} = {i};" for i, n in enumerate(FIELDS)]
    (out / CFG_VH).write_text("\n".join(vh) + "\n")

    table = np.array([[f[n] for n in FIELDS] for f in sched], dtype=np.int64)
    comment = [f"syna schedule: {len(layers)} layers x {len(FIELDS)} fields of {fw} bits, field 0 lowest: "
               + " ".join(FIELDS)]
    comment += [f"layer {i} {l.name} {l.kind}{' ' + l.op if l.kind == 'merge' else ''}: "
                + " ".join(f"{n}={f[n]}" for n in FIELDS if f[n]) for i, (l, f) in enumerate(zip(layers, sched))]
    _write_mem(out / SCHEDULE_MEM, _pack_hex([(table, fw)]), comment)
    if dw is None:
        _write_mem(out / WEIGHTS_MEM, _pack_hex([(weights, wbits)]),
                   [f"syna weights: {len(weights)} words of {P} lanes x int{wbits}, lane 0 lowest"])
    else:
        by_name = {l.name: l for l in dw.layers}
        rows = [by_name.get(l.name) for l in hw.layers + [hw.fc]]
        table = np.array([[r.w_offset, r.w_block_bytes, r.rows, r.tile_groups] if r else [0] * 4 for r in rows],
                         dtype=np.int64)
        _write_mem(out / DDR_MEM, _pack_hex([(table, 32)]),
                   [f"syna DDR weight tiles: {len(rows)} layers x {len(DDR_FIELDS)} fields of 32 bits, field 0 "
                    f"lowest: " + " ".join(DDR_FIELDS) + f"; buffer {dw.wbuf_rows} rows, "
                    f"{dw.bytes_per_inference} bytes read per inference"]
                   + [f"layer {l.name}: woff={r.w_offset} wblk={r.w_block_bytes} rows={r.rows} groups={r.groups} "
                      f"tg={r.tile_groups} tiles={r.tiles}" for l, r in zip(hw.layers + [hw.fc], rows) if r])
        beat = arch["GMEM_DW"] // 8
        head = dw.header + bytes(-len(dw.header) % beat)
        _write_mem(out / DDR_HEAD_MEM,
                   [int.from_bytes(head[i:i + beat], "little").to_bytes(beat, "big").hex() for i in range(0, len(head), beat)],
                   [f"syna DDR weights check: the image's first {len(dw.header)} bytes (ddr_image.image_head) in "
                    f"{len(head) // beat} beats of {8 * beat} bits, byte 0 lowest; WEIGHTS_BASE must hold them"])
        loads = dw.tile_loads()
        rows_of = {l.name: (l.rows, l.w_block_bytes // dw.row_bytes) for l in dw.layers}
        ttable = np.array([[t.offset, t.nbytes, *rows_of[t.layer], t.groups] for t in loads], dtype=np.int64)
        _write_mem(out / TILES_MEM, _pack_hex([(ttable, 32)]),
                   [f"syna DDR tile loads: {len(loads)} loads x {len(TILE_FIELDS)} fields of 32 bits, field 0 "
                    f"lowest: " + " ".join(TILE_FIELDS) + f"; {arch['NBUF']} buffer(s) of {dw.wbuf_rows} rows"]
                   + [f"load {k}: {t.layer} g0={t.g0} groups={t.groups}" for k, t in enumerate(loads)])
    if st is not None:
        stable = np.array([[r[n] for n in SPILL_FIELDS] for r in st.layer_rows], dtype=np.int64)
        _write_mem(out / SPILL_MEM, _pack_hex([(stable, 32)]),
                   [f"syna maps in DDR: {len(st.layer_rows)} layers x {len(SPILL_FIELDS)} fields of 32 bits, field 0 "
                    "lowest: " + " ".join(SPILL_FIELDS) + f"; scratch {plan.scratch_bytes} bytes, staging "
                    f"A {st.a_words} + B {st.b_words} words, acc_rows {st.acc_rows}"])
        btable = np.array([[b[n] for n in BAND_FIELDS] for b in st.bands] or [[0] * len(BAND_FIELDS)], dtype=np.int64)
        _write_mem(out / BANDS_MEM, _pack_hex([(btable, 32)]),
                   [f"syna conv bands: {len(st.bands)} x {len(BAND_FIELDS)} fields of 32 bits, field 0 lowest: "
                    + " ".join(BAND_FIELDS)])
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
                  layers=[dict(name=l.name, layer_kind=l.kind, out_shape=list(l.out_shape), fields=f)
                          for l, f in zip(layers, sched)])
    (out / LAYOUT_JSON).write_text(json.dumps(layout, indent=1))
    return RtlConfig(out, arch, layout["layers"], model_hash32, spiking, dw, plan)
