"""The RTL twin's Python side: generate its configuration from a bundle, run it, estimate its resources.

``docs/rtl.md`` describes the RTL (``rtl/``). The Python side (numpy only) is in small modules; this
one keeps the names the tests, the bench and the host use, and the command line
(``python -m syna_hw.rtl_core generate|run|synth``, ``make rtl-run`` / ``make synth-estimate``,
``make bitstream IMPL=rtl``: ``generate --board`` also writes the Vivado flow's Tcl variables, :func:`vivado_tcl`):

- ``syna_hw/lowering.py``: :func:`~syna_hw.lowering.lower` refuses what the RTL cannot represent
  (:class:`RtlUnsupported`, limits in ``syna_hw/limits.py``, the same place as the HLS core's) and
  computes the schedule, the spike-memory allocation and the lane-padded ROM rows;
- ``syna_hw/rtl_config.py``: :func:`generate` writes ``syna_cfg.vh`` and the ROM files from that
  model (docs/rtl.md, "Generated files");
- ``syna_hw/rtl_toolchain.py``: Verilator, the RTL file list, the build cache, the harness build;
- ``syna_hw/rtl_binding.py``: :class:`RtlCore` ``(bundle_dir).transfer(in_words, steps)``, the RTL at
  stream level (Verilator model + ``sim/harness.cpp`` through ctypes), and :func:`rtl_stage`;
- ``syna_hw/yosys.py``: :func:`synth_estimate`, Yosys ``synth_xilinx`` resource counts per board.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from syna_contract import protocol as proto
from syna_contract.boards import DEFAULT_BOARD, boards_help, get_board
from syna_contract.bundle import load_bundle

from .hls_header import board_tcl

from .limits import DEFAULT_LANES, RTL, RtlUnsupported  # noqa: F401
from .lowering import allocate_spike_maps  # noqa: F401
from .rtl_binding import RtlCore, Transfer, rtl_stage  # noqa: F401
from .lowering import WBUF_DEFAULT, WBUF_MODES, WBUF_RAM_DEFAULT, WBUF_RAMS, WEIGHTS_MODES, DdrWeights, checked_ddr_image
from .spill import MAPS_DEFAULT, MAPS_MODES
from .rtl_config import (ATT_DIMS, ATT_FIELDS, ATT_KINDS, ATT_MEM, ATTW_MEM, BT_MEM, CFG_VH, DDR_HEAD_MEM,  # noqa: F401
                         DDR_MEM, FIELDS, GATE_CONSTANTS, HASH_MEM, LAYOUT_JSON, MERGE_CODES, REPO, ROM_FILES,
                         RTL_DIR, RTL_FILELIST,
                         SCHEDULE_MEM, SIGMOID_MEM, TILES_MEM, TOP_DDR_MODULE, TOP_MODULE, WEIGHTS_MEM, RtlConfig,
                         BANDS_MEM, SPILL_MEM,
                         ddr_arch,
                         generate, rtl_arch, rtl_memories)
from .rtl_toolchain import (DEFAULT_CACHE, SIM_DIR, VERILATOR_MAKEFLAGS, RtlToolMissing, _Lock,  # noqa: F401
                            build_harness, cache_root, rtl_sources, verilator_bin, verilator_env)
from .yosys import SynthReport, synth_estimate  # noqa: F401


def vivado_tcl(bundle_dir, board: str, lanes: int, out_dir, ddr: DdrWeights | None = None) -> Path:
    """``board_<board>.tcl`` for the RTL route to a bitstream (hls/scripts/syna_rtl_ip.tcl, syna_bd.tcl): the
    board's variables (the HLS flow's, from syna_contract/boards.py) and the RTL's: the top, rtl/syna.f's
    files in order, the configuration :func:`generate` wrote into ``out_dir``, the register map of
    syna_contract/protocol.py. ``ddr``: the tile plan the configuration was generated with (``cfg.ddr``,
    weights="ddr"): the top is then syna_core_top_ddr (its AXI4 master m_axi_gmem, data width
    ``syna_gmem_dw``), the registers include WEIGHTS_BASE(_HI), and the bundle's DDR image must be there and
    match (``syna_weights ddr``, ``syna_ddr_image``), as for the HLS route; ``syna_axi_max_burst`` /
    ``syna_axi_outstanding`` are the configuration's longest read burst and bursts in flight (the packaged
    IP's MAX_BURST_LENGTH / NUM_READ_OUTSTANDING), refused when the burst is longer than the board's HP port
    takes (``Board.hp_max_burst``: generate with ``--board``). A maps-in-DDR configuration (``MAPS_DDR``) adds
    its plan ROMs (syna_spill.mem, syna_bands.mem) and SCRATCH_BASE(_HI) to the register map (``syna_maps ddr``)."""
    out = Path(out_dir)
    bundle = load_bundle(bundle_dir)
    layout = out / LAYOUT_JSON
    arch = json.loads(layout.read_text())["arch"] if layout.is_file() else None
    built_ddr = bool(arch.get("WDDR")) if arch is not None else None
    if built_ddr is not None and built_ddr != (ddr is not None):
        raise ValueError(f"the RTL configuration in {out} was generated with weights="
                         f"{'ddr' if built_ddr else 'rom'}; generate it again with the weights mode of the bitstream")
    bd = get_board(board)
    if ddr is not None:
        if arch is None:
            raise FileNotFoundError(f"the RTL configuration is not in {out}: {LAYOUT_JSON} (run generate first)")
        if arch["AXI_MAX_BURST"] > bd.hp_max_burst:
            raise ValueError(f"the RTL configuration in {out} reads DDR in bursts of up to {arch['AXI_MAX_BURST']} "
                             f"beats, but {bd.name}'s HP port ({bd.hp_protocol}) takes at most {bd.hp_max_burst}: "
                             f"generate it with --board {bd.name}")
    ddr_files = [DDR_MEM, DDR_HEAD_MEM, TILES_MEM]
    spill = bool(arch and arch.get("MAPS_DDR"))       # maps in DDR: its plan ROMs and SCRATCH_BASE too
    if spill:
        ddr_files += [SPILL_MEM, BANDS_MEM]
    rom_files = [f for f in ROM_FILES if f != WEIGHTS_MEM] + ddr_files if ddr else list(ROM_FILES)
    generated = [out / CFG_VH] + [out / f for f in rom_files]
    missing = [str(p) for p in generated if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"the RTL configuration is not in {out}: {', '.join(missing)} (run generate first)")
    image = None
    if ddr:          # present, its checksum, laid out for this P and tiling: else a BundleError saying what to export
        checked_ddr_image(bundle, ddr)
        image = bundle.root / bundle.manifest["ddr_image"]["file"]
    path = board_tcl(bundle, get_board(board).name, lanes, out, ddr_image=image, impl="rtl")
    # WEIGHTS_BASE (protocol.DDR_REGISTERS, in REGISTERS since interface version 3) is listed for the DDR top
    # only: an on-chip IP has no register there, and a .hwh naming it would say "DDR core" to the host
    registers = {n: off for n, off in proto.REGISTERS.items() if ddr or n not in proto.DDR_REGISTERS}
    if spill:                # SCRATCH_BASE(_HI): a maps-in-DDR IP only (the host reads "DDR scratch core" from it)
        registers.update(proto.SPILL_REGISTERS)
    regs = " ".join(f"{{{name} 0x{off:02X}}}" for name, off in registers.items())
    path.write_text(path.read_text() + "\n".join([
        "# The RTL twin (syna_hw/rtl_core.py vivado_tcl):",
        f"set syna_rtl_top {TOP_DDR_MODULE if ddr else TOP_MODULE}",
        "set syna_rtl_sources {" + " ".join(f"{{{p}}}" for p in rtl_sources(top=True)) + "}",
        "set syna_rtl_generated {" + " ".join(f"{{{p.resolve()}}}" for p in generated) + "}",
        f"set syna_registers {{{regs}}}",
        f"set syna_gmem_dw {arch['GMEM_DW'] if ddr else 0}",
        f"set syna_axi_max_burst {arch['AXI_MAX_BURST'] if ddr else 0}",
        f"set syna_axi_outstanding {arch['AXI_OUTSTANDING'] if ddr else 0}",
        f"set syna_maps {'ddr' if spill else 'chip'}", ""]))
    return path


def main(argv: list[str] | None = None, prog: str = "python -m syna_hw.rtl_core") -> int:
    """The command line; ``prog`` names it in usage lines (``syna rtl`` when the one CLI delegates here)."""
    import argparse
    p = argparse.ArgumentParser(prog=prog,
                                description="The RTL twin: generate its configuration, simulate, estimate resources.")
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate", help="write syna_cfg.vh and the ROM files for a bundle")
    g.add_argument("bundle")
    g.add_argument("--out", required=True)
    g.add_argument("--lanes", type=int, default=DEFAULT_LANES, help=f"output-channel lanes P (default {DEFAULT_LANES}; {RTL.lanes[0]}..{RTL.lanes[-1]})")
    g.add_argument("--board", default=None,
                   help=f"also write board_<board>.tcl for the Vivado flow (make bitstream IMPL=rtl); with --weights "
                        f"ddr the DDR reads use bursts the board's HP port takes (16 beats on Zynq 7000): {boards_help()}")
    g.add_argument("--weights", choices=WEIGHTS_MODES, default="rom",
                   help="rom: weights in on-chip ROMs (default); ddr: read from the bundle's DDR image (weights.ddr.bin, "
                        "exported with --ddr-image --lanes P) through the AXI4 master m_axi_gmem (top syna_core_top_ddr)")
    g.add_argument("--wbuf-rows", type=int, default=None,
                   help="DDR mode: on-chip weight buffer rows of P lanes (default: syna_hw.lowering.ddr_weights)")
    g.add_argument("--wbuf", choices=WBUF_MODES, default=None,
                   help=f"DDR mode: the weight buffers (default {WBUF_DEFAULT}): single = one, a tile loads after the "
                        "previous one computed; double = two, the next tile loads while the current one computes "
                        "(twice the buffer's memory)")
    g.add_argument("--wbuf-ram", choices=WBUF_RAMS, default=None,
                   help=f"DDR mode: the weight buffer's RAM (default {WBUF_RAM_DEFAULT}): auto = synthesis chooses (UltraRAM "
                        "for a large buffer on UltraScale+); block = block RAM only (ram_style), leaving UltraRAM to the "
                        "spike maps, accumulators and membranes (syna plan says which its placement needs)")
    g.add_argument("--maps", choices=MAPS_MODES, default=MAPS_DEFAULT,
                   help="chip: spike maps, input and a tile's accumulators on chip (default); ddr (with --weights ddr): "
                        "the input and every spike map in a DDR scratch buffer at SCRATCH_BASE (docs/rtl.md \"Spike "
                        "maps in DDR\")")
    g.add_argument("--acc-rows", type=int, default=None,
                   help="--maps ddr: accumulator / membrane words of P lanes (default: the weight tiling's need); "
                        "a conv tile runs in bands of output rows that fit them")
    r = sub.add_parser("run", help="golden samples through the Verilator model: bit-exact? cycles?")
    r.add_argument("bundle")
    r.add_argument("--samples", type=int, default=4, help="golden samples to run")
    r.add_argument("--json", help="also write the details (cycles per sample, mismatches) as JSON here")
    r.add_argument("--lanes", type=int, default=DEFAULT_LANES, help=f"output-channel lanes P (default {DEFAULT_LANES}; {RTL.lanes[0]}..{RTL.lanes[-1]})")
    r.add_argument("--weights", choices=WEIGHTS_MODES, default="rom",
                   help="rom (default) or ddr: the weights-in-DDR build, the harness playing the DDR with the bundle's image")
    r.add_argument("--wbuf-rows", type=int, default=None, help="--weights ddr: the weight buffer's rows")
    r.add_argument("--maps", choices=MAPS_MODES, default=MAPS_DEFAULT,
                   help="ddr (with --weights ddr): the input and spike maps in the harness's scratch buffer; the "
                        "scratch maps after the last sample are checked too")
    r.add_argument("--acc-rows", type=int, default=None, help="--maps ddr: accumulator / membrane words of P lanes")
    s = sub.add_parser("synth", help="Yosys resource estimate against a board (syna_contract/boards.py)")
    s.add_argument("bundle")
    s.add_argument("--board", default=DEFAULT_BOARD, help=f"{boards_help()}; default {DEFAULT_BOARD}")
    s.add_argument("--lanes", type=int, default=DEFAULT_LANES, help=f"output-channel lanes P (default {DEFAULT_LANES}; {RTL.lanes[0]}..{RTL.lanes[-1]})")
    s.add_argument("--check", action="store_true", help="exit 1 unless LUT <= 70%% and BRAM <= 80%% of the board")
    s.add_argument("--memories-only", action="store_true",
                   help="only Yosys' memory mapping: BRAM/URAM/LUT RAM in seconds, no logic (LUT/FF/DSP)")
    s.add_argument("--weights", choices=WEIGHTS_MODES, default="rom",
                   help="rom: the on-chip-weights build (default); ddr: the weights-in-DDR build "
                        "(top syna_core_top_ddr)")
    s.add_argument("--wbuf", choices=WBUF_MODES, default=None,
                   help=f"with --weights ddr: one weight buffer or two (default {WBUF_DEFAULT})")
    s.add_argument("--wbuf-ram", choices=WBUF_RAMS, default=None,
                   help=f"with --weights ddr: the weight buffer's RAM (default {WBUF_RAM_DEFAULT}; block: block RAM only)")
    a = p.parse_args(argv)
    try:
        return _main(a)
    except (RtlUnsupported, RtlToolMissing, FileNotFoundError, ValueError) as e:   # a clear line, not a traceback
        print(f"error: {e}", file=sys.stderr)
        return 2


def _main(a) -> int:
    if a.cmd == "generate":
        if a.board:
            get_board(a.board)                       # an unknown board fails before anything is written
        if a.weights == "rom" and (a.wbuf_rows is not None or a.wbuf is not None or a.wbuf_ram is not None):
            raise ValueError("--wbuf-rows / --wbuf / --wbuf-ram shape the DDR mode's weight buffer; add --weights ddr")
        # a DDR build for a board reads in bursts its HP port takes (16 beats on a Zynq-7000 AXI3 port)
        burst = get_board(a.board).hp_max_burst if a.board and a.weights == "ddr" else None
        if a.maps != "ddr" and a.acc_rows is not None:
            raise ValueError("--acc-rows bounds the accumulators of --maps ddr (output-row bands); add --maps ddr")
        cfg = generate(a.bundle, a.out, lanes=a.lanes, weights=a.weights, wbuf_rows=a.wbuf_rows,
                       wbuf=a.wbuf or WBUF_DEFAULT, axi_max_burst=burst, wbuf_ram=a.wbuf_ram or WBUF_RAM_DEFAULT,
                       maps=a.maps, acc_rows=a.acc_rows)
        if a.board:
            vivado_tcl(a.bundle, a.board, a.lanes, a.out, ddr=cfg.ddr)
        print(json.dumps(cfg.arch))
        return 0
    if a.cmd == "run":
        if a.weights == "rom" and (a.wbuf_rows is not None or a.maps != "chip"):
            raise ValueError("--wbuf-rows / --maps ddr need the weights in DDR; add --weights ddr")
        if a.maps != "ddr" and a.acc_rows is not None:
            raise ValueError("--acc-rows bounds the accumulators of --maps ddr (output-row bands); add --maps ddr")
        opts = dict(wbuf_rows=a.wbuf_rows) if a.weights == "ddr" else {}
        if a.maps == "ddr":
            opts.update(maps="ddr", acc_rows=a.acc_rows)
        res = rtl_stage(a.bundle, samples=a.samples, lanes=a.lanes, weights=a.weights, **opts)
        if a.json:
            Path(a.json).write_text(json.dumps(res, indent=1))
        tail = (f"{res['samples']} samples, P={res['lanes']}, "
                f"mean {res['cycles_per_inference']:,.0f} cycles/inference (simulated)")
        if res.get("maps") == "ddr":
            tail += (f"; maps in DDR: the scratch maps checked, {res['scratch_read_bytes_per_inference']:,} bytes read "
                     f"and {res['scratch_written_bytes_per_inference']:,} written per inference")
        bad = ", ".join(f"sample {i} {name}" for i, name in res["mismatches"])
        print(f"RTL (Verilator) vs golden: {'PASS' if res['bitexact'] else 'FAIL'} ({tail})"
              + ("" if res["bitexact"] else f": differs at {bad or 'the scores or status'}"))
        return 0 if res["bitexact"] else 1
    if a.weights == "rom" and (a.wbuf is not None or a.wbuf_ram is not None):
        raise ValueError("--wbuf / --wbuf-ram shape the DDR mode's weight buffer; add --weights ddr")
    rep = synth_estimate(a.bundle, a.board, lanes=a.lanes, memories_only=a.memories_only, weights=a.weights,
                         wbuf=a.wbuf or WBUF_DEFAULT, wbuf_ram=a.wbuf_ram or WBUF_RAM_DEFAULT)
    print(rep.table())
    if a.check:
        ok = rep.fits()
        print(f"verdict: {'fits' if ok else 'does NOT fit'} {a.board} within 70% LUT and 80% BRAM")
        return 0 if ok else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
