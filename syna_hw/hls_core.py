"""The Vitis-HLS spiking core from Python: code generation, g++ C-simulation, a ctypes binding.

``docs/hls-core.md`` describes the core; ``hls/src`` is its C++. The Python side (numpy only) is in
small modules; this one keeps the names the tests, the bench and the host use, and the command line
(``python -m syna_hw.hls_core csim|gen|check``, ``make csim`` / ``make hls``):

- ``syna_hw/lowering.py``: :func:`~syna_hw.lowering.lower` checks what the core cannot run
  (:class:`HlsUnsupported`, limits in ``syna_hw/limits.py``) and computes the schedule, the
  spike-buffer allocation and the lane-padded ROM rows;
- ``syna_hw/hls_header.py``: :func:`generate` writes the per-model header ``syna_model.h`` from that
  model into ``build/hls/<hash16>/p<P>/`` (and ``golden.bin``, the board's Tcl variables);
- ``syna_hw/hls_toolchain.py``: g++ and the Xilinx headers, flags, compile commands;
- ``syna_hw/hls_binding.py``: :class:`HlsCore` ``(bundle_dir, lanes=P)``, like hls4ml's
  ``compile()`` / ``predict()``, and :func:`check_bundle` (the core vs the numpy reference);
- ``syna_hw/cycles.py``: :func:`cycle_model` / :func:`synaptic_ops`, the core's cycle count and the
  synaptic operations from spike maps alone (also for networks too large to compile).

``weights="ddr"`` reads the conv / fc weights from the bundle's DDR image; ``maps="ddr"`` (with it) keeps the
input and every spike map in a DDR scratch buffer (``syna_hw/spill.py``; ``--maps ddr --acc-rows N``).

Nothing here has run Vitis HLS or Vivado; the vendor flows are Tcl in ``hls/scripts``.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from syna_contract.boards import boards_help, get_board
from syna_contract.bundle import BundleError, load_bundle

from .cycles import PIPE_DEPTH, CycleReport, cycle_model, model_cycles, synaptic_ops  # noqa: F401
from .hls_binding import HlsCore, HlsResult, check_bundle, compare  # noqa: F401
from .hls_header import (BUILD_DIR, GOLDEN_BIN, HEADER_NAME, HLS_DIR, REPO, SRC_DIR, TB_DIR,  # noqa: F401
                         board_tcl, gen_dir, generate, header_text, model_header, write_golden_bin)
from .hls_toolchain import (CORE_SOURCES, CSIM_INCLUDE, HlsToolError, _run, ap_include_dir,  # noqa: F401
                            compile_cmd, cxx, cxx_flags)
from .limits import DEFAULT_LANES, HLS, HlsUnsupported
from .lowering import WEIGHTS_MODES, lower
from .spill import MAPS_MODES


def check_supported(bundle, lanes: int = DEFAULT_LANES) -> None:
    """Raise :class:`HlsUnsupported` naming the first thing this core cannot run."""
    lower(bundle, lanes, target=HLS)


def ddr_image_path(bundle, lanes: int, **core) -> Path:
    """The bundle's DDR image for a DDR-mode core of P = ``lanes`` (``core``: HlsCore's other options, e.g.
    maps="ddr"), checked (HlsCore's refusals)."""
    core = HlsCore(bundle, lanes, weights="ddr", **core)       # checks presence, checksum, P and layout
    return core.bundle.root / core.bundle.manifest["ddr_image"]["file"]


def csim(bundle_dir: str | Path, lanes: int = DEFAULT_LANES, weights: str = "rom", wbuf_rows: int | None = None,
         maps: str = "chip", acc_rows: int | None = None) -> int:
    """``make csim``: generate, compile core + testbench with g++, run it on the bundle's golden vectors
    (``weights="ddr"``: the core reads the bundle's DDR image, passed to the testbench; ``maps="ddr"``: the
    testbench gives the core a scratch buffer and checks the spikes the core left there)."""
    b = load_bundle(bundle_dir)
    args = [str(ddr_image_path(b, lanes, wbuf_rows=wbuf_rows, maps=maps, acc_rows=acc_rows))] if weights == "ddr" else []
    gen = generate(b, lanes, weights=weights, wbuf_rows=wbuf_rows, maps=maps, acc_rows=acc_rows)
    write_golden_bin(b, gen / GOLDEN_BIN, lanes)
    exe = gen / "csim_tb"
    cmd = compile_cmd(gen, [SRC_DIR / s for s in CORE_SOURCES] + [TB_DIR / "tb_syna.cpp"], exe, False)
    print(" ".join(cmd), flush=True)
    _run(cmd, "g++ (C-sim testbench)")
    return subprocess.run([str(exe), str(gen / GOLDEN_BIN), *args]).returncode


SUBCOMMANDS = {
    "csim": "generate the header, compile core + C++ testbench with g++, run it on the bundle's golden vectors",
    "gen": "write the per-model header (and golden.bin; the Vitis/Vivado Tcl variables with --board)",
    "check": "the core (g++, through ctypes) vs the numpy reference on every spike: one PASS/FAIL line",
}


def main(argv: list[str] | None = None, prog: str = "python -m syna_hw.hls_core") -> int:
    """The command line; ``prog`` names it in usage lines (``syna hls`` when the one CLI delegates here)."""
    p = argparse.ArgumentParser(prog=prog, description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    for name, help_ in SUBCOMMANDS.items():
        s = sub.add_parser(name, help=help_, description=help_)
        s.add_argument("--bundle", default="build/demo/bundle", help="bundle directory (default: the demo's)")
        s.add_argument("--lanes", type=int, default=DEFAULT_LANES,
                       help=f"output-channel lanes P (default {DEFAULT_LANES}; one of {HLS.lanes})")
        s.add_argument("--board", default=None, help=f"also write the vendor flows' Tcl variables: {boards_help()}")
        s.add_argument("--weights", choices=WEIGHTS_MODES, default="rom",
                       help="rom: weights in on-chip ROMs (default); ddr: read from the bundle's DDR image "
                            "(weights.ddr.bin, exported with --ddr-image --lanes P) through an m_axi port")
        s.add_argument("--wbuf-rows", type=int, default=None,
                       help="DDR mode: on-chip weight buffer rows of P lanes (default: syna_hw.lowering.ddr_weights)")
        s.add_argument("--maps", choices=MAPS_MODES, default="chip",
                       help="chip: spike maps and input on chip (default); ddr: in a DDR scratch buffer through the "
                            "m_axi port, layers in tiles x output-row bands (needs --weights ddr)")
        s.add_argument("--acc-rows", type=int, default=None,
                       help="--maps ddr: accumulator / membrane rows of P lanes (default: no bands; syna_hw.spill)")
    a = p.parse_args(argv)
    try:
        if a.weights == "rom" and a.wbuf_rows is not None:
            raise ValueError("--wbuf-rows sizes the DDR mode's weight buffer; add --weights ddr")
        if a.maps == "ddr" and a.weights != "ddr":
            raise ValueError("--maps ddr keeps the spike maps in a DDR scratch buffer on the weights' m_axi port; "
                             "add --weights ddr")
        if a.acc_rows is not None and a.maps != "ddr":
            raise ValueError("--acc-rows bounds the accumulators of a core with its maps in DDR; add --maps ddr")
        if a.cmd == "csim":
            return csim(a.bundle, a.lanes, a.weights, a.wbuf_rows, a.maps, a.acc_rows)
        if a.cmd == "check":
            return 0 if check_bundle(a.bundle, lanes=a.lanes, weights=a.weights, wbuf_rows=a.wbuf_rows, maps=a.maps,
                                     acc_rows=a.acc_rows) else 1
        if a.board:
            get_board(a.board)                       # an unknown board fails before anything is written
        b = load_bundle(a.bundle)
        image = (ddr_image_path(b, a.lanes, wbuf_rows=a.wbuf_rows, maps=a.maps, acc_rows=a.acc_rows)
                 if a.weights == "ddr" else None)
        d = generate(b, a.lanes, weights=a.weights, wbuf_rows=a.wbuf_rows, maps=a.maps, acc_rows=a.acc_rows)
        write_golden_bin(b, d / GOLDEN_BIN, a.lanes)
        if a.board:
            board_tcl(b, a.board, a.lanes, d, ddr_image=image, maps=a.maps)
        print(d)
        return 0
    except (HlsUnsupported, HlsToolError, ValueError, BundleError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
