"""``python -m host``: classify recordings, run the demo notebook, time the board.

    python -m host classify BUNDLE RECORDINGS [--format auto] [--backend auto] [--overlay X.bit]
    python -m host notebook BUNDLE [--recordings R.npz] [--out build/host/syna_demo.ipynb]
    python -m host throughput BUNDLE [--backend auto] [--overlay X.bit] [--batch 64]

RECORDINGS: an .npz of frames ('frames' or 'input' [N, T, C, H, W]: a bundle's golden.npz is one)
or of events (x, y, p, t, offsets), an event file (N-MNIST .bin/.bs2, AEDAT .aedat/.aedat4) or a
folder of them (<label>/<file> gives labels); docs/host-driver.md, "Recordings".
A bad bundle, recording or board prints one line (error: ...) and exits with status 2.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

NOTEBOOK = Path(__file__).resolve().parent / "notebooks" / "syna_demo.ipynb"
BACKEND_HELP = ("where the core runs: auto (the board when there is one and --overlay is given, else "
                "reference), pynq (the board), reference (numpy emulation), hls (C simulation), rtl (Verilator)")


def _core(args):
    from .core import SpikingCore
    options = {k: v for k, v in (("weights", args.weights), ("maps", args.maps)) if v is not None}
    core = SpikingCore(args.bundle, backend=args.backend, overlay=args.overlay, **options)
    if core.note:
        print(core.note, file=sys.stderr)
    return core


def cmd_classify(args) -> int:
    from .recordings import classify_recordings, read_recordings
    rec = read_recordings(args.recordings, args.format)          # a bad file: refused before the core opens
    with _core(args) as core:
        r = classify_recordings(core, rec, split_by=args.split_by, duration=args.duration)
    print(r.description, file=sys.stderr)
    for i, p in enumerate(r.predicted):
        print(f"{i}\t{r.names[i]}\t{p}" + ("" if r.labels is None else f"\t{r.labels[i]}"))
    if r.labels is not None:
        print(f"accuracy {100 * np.mean(r.predicted == r.labels):.2f}% on {len(r.predicted)}", file=sys.stderr)
    return 0


def cmd_throughput(args) -> int:
    with _core(args) as core:
        print(json.dumps(core.throughput_test(batch=args.batch, clock_mhz=args.clock_mhz), indent=1, default=float))
    return 0


def cmd_notebook(args) -> int:
    import nbclient
    import nbformat
    from syna_contract.bundle import load_bundle
    load_bundle(args.bundle)                              # a bad bundle: one line here, not a failed cell
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    env = dict(SYNA_BUNDLE=str(Path(args.bundle).resolve()), SYNA_BACKEND=args.backend,
               SYNA_OVERLAY=str(args.overlay or "syna.bit"), SYNA_WEIGHTS=args.weights or "")
    if args.recordings is not None:                      # else the notebook takes the bundle's golden samples
        env["SYNA_RECORDINGS"] = str(Path(args.recordings).resolve())
    else:
        os.environ.pop("SYNA_RECORDINGS", None)
    os.environ.update(env)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(NOTEBOOK.parents[2]), os.environ.get("PYTHONPATH")]))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    nbformat.write(nb, out)
    print(f"executed {NOTEBOOK.name} -> {out}")
    return 0


def build_parser(prog: str = "python -m host") -> argparse.ArgumentParser:
    from .recordings import FORMATS
    ap = argparse.ArgumentParser(prog=prog, description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    helps = {"classify": "classify recordings (frames, events, event files) and print one line per recording",
             "notebook": "execute host/notebooks/syna_demo.ipynb on a bundle and save the executed copy",
             "throughput": "FINN-style throughput test on random valid input (JSON)"}
    for name, fn in (("classify", cmd_classify), ("notebook", cmd_notebook), ("throughput", cmd_throughput)):
        p = sub.add_parser(name, help=helps[name], description=helps[name])
        p.add_argument("bundle", help="the export bundle directory (manifest.json, ROMs, golden.npz)")
        if name == "classify":
            p.add_argument("recordings", help=".npz of frames ('frames' or 'input': golden.npz is one) or of events "
                                              "(x, y, p, t, offsets), an event file (.bin/.bs2 N-MNIST, .aedat, "
                                              ".aedat4) or a folder of them (<label>/<file> gives labels). "
                                              "Prints index, name, predicted class [, label] per recording")
            p.add_argument("--format", default="auto", type=str.lower, choices=FORMATS,
                           help="how to read RECORDINGS: auto (by the name: .npz, .bin/.bs2, .aedat/.aedat4), "
                                "npz, nmnist (any name), aedat (the version line says which), aedat2, aedat3, "
                                "aedat4 (default: %(default)s)")
            p.add_argument("--split-by", choices=["number", "time", "duration"],
                           help="events -> frames (default: as the bundle's input spec says training did)")
            p.add_argument("--duration", type=float, help="time per frame, in the units of t (microseconds for "
                                                          "event files), with --split-by duration")
        if name == "notebook":
            p.add_argument("--recordings", help="recordings for the notebook (as for classify; default: "
                                                "the bundle's golden samples)")
            p.add_argument("--out", default="build/host/syna_demo.ipynb",
                           help="where the executed notebook goes (default: %(default)s)")
        if name == "throughput":
            p.add_argument("--batch", type=int, default=64, help="samples per test (default: %(default)s)")
            p.add_argument("--clock-mhz", type=float, help="the core's clock, for the rate its cycles give "
                                                           "(default: the board's fclk0; none in simulation)")
        p.add_argument("--backend", default="auto", choices=["auto", "pynq", "reference", "hls", "rtl"],
                       help=BACKEND_HELP + " (default: %(default)s)")
        p.add_argument("--overlay", help="the bitstream (.bit, its .hwh beside it) for the pynq backend")
        p.add_argument("--weights", choices=["rom", "ddr"],
                       help="ddr: the core reads its weights from the bundle's DDR image (weights.ddr.bin); "
                            "default: on chip, or on the board what the overlay's core is built for")
        p.add_argument("--maps", choices=["chip", "ddr"],
                       help="ddr (with --weights ddr): the core keeps its input and spike maps in a DDR scratch "
                            "buffer (docs/core-interface.md); default: on chip, or on the board what the overlay's "
                            "core is built for")
        p.set_defaults(fn=fn)
    return ap


def user_errors() -> tuple[type, ...]:
    """What a user's input, files or board can cause: reported in one line, not a traceback."""
    from syna_contract.bundle import BundleError
    from syna_contract.reference import InputError as ReferenceInputError
    from .errors import HostError, InputError
    from .eventfiles import EventFileError
    return HostError, InputError, ReferenceInputError, BundleError, EventFileError, FileNotFoundError


def main(argv: list[str] | None = None, prog: str = "python -m host") -> int:
    """``prog`` names the command in usage lines (``syna host`` when the one CLI delegates here)."""
    args = build_parser(prog).parse_args(argv)
    try:
        return args.fn(args)
    except user_errors() as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
