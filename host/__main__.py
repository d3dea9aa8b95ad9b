"""``python -m host``: classify recordings, run the demo notebook, time the board.

    python -m host classify BUNDLE RECORDINGS [--backend auto|pynq|reference|hls|rtl] [--overlay X.bit]
    python -m host notebook BUNDLE [--recordings R.npz] [--out build/host/syna_demo.ipynb]
    python -m host throughput BUNDLE [--backend ...] [--overlay X.bit] [--batch 64]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

NOTEBOOK = Path(__file__).resolve().parent / "notebooks" / "syna_demo.ipynb"


def _core(args):
    from .core import SpikingCore
    core = SpikingCore(args.bundle, backend=args.backend, overlay=args.overlay)
    if core.note:
        print(core.note, file=sys.stderr)
    return core


def cmd_classify(args) -> int:
    from .recordings import classify_recordings
    r = classify_recordings(_core(args), args.recordings, split_by=args.split_by, duration=args.duration)
    print(r.description, file=sys.stderr)
    for i, p in enumerate(r.predicted):
        print(f"{i}\t{p}" + ("" if r.labels is None else f"\t{r.labels[i]}"))
    if r.labels is not None:
        print(f"accuracy {100 * np.mean(r.predicted == r.labels):.2f}% on {len(r.predicted)}", file=sys.stderr)
    return 0


def cmd_throughput(args) -> int:
    print(json.dumps(_core(args).throughput_test(batch=args.batch), indent=1))
    return 0


def cmd_notebook(args) -> int:
    import nbclient
    import nbformat
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rec = args.recordings
    if rec is None:                                        # the bundle's golden inputs as frame recordings
        from syna_contract.bundle import load_bundle
        g = load_bundle(args.bundle).golden()
        rec = out.parent / "golden_recordings.npz"
        np.savez(rec, frames=g["input"], **({"labels": g["labels"]} if "labels" in g else {}))
    os.environ.update(SYNA_BUNDLE=str(Path(args.bundle).resolve()), SYNA_RECORDINGS=str(Path(rec).resolve()),
                      SYNA_BACKEND=args.backend, SYNA_OVERLAY=str(args.overlay or "syna.bit"))
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(NOTEBOOK.parents[2]), os.environ.get("PYTHONPATH")]))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    nbformat.write(nb, out)
    print(f"executed {NOTEBOOK.name} -> {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m host", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name, fn in (("classify", cmd_classify), ("notebook", cmd_notebook), ("throughput", cmd_throughput)):
        p = sub.add_parser(name)
        p.add_argument("bundle")
        if name == "classify":
            p.add_argument("recordings", help=".npz (frames or events), an event file (.bin, .aedat, .aedat4) "
                                              "or a folder of them (<label>/<file> gives labels)")
            p.add_argument("--split-by", choices=["number", "time", "duration"],
                           help="events -> frames (default: as the bundle's input spec says training did)")
            p.add_argument("--duration", type=float, help="microseconds per frame with --split-by duration")
        if name == "notebook":
            p.add_argument("--recordings")
            p.add_argument("--out", default="build/host/syna_demo.ipynb")
        if name == "throughput":
            p.add_argument("--batch", type=int, default=64)
        p.add_argument("--backend", default="auto")
        p.add_argument("--overlay")
        p.set_defaults(fn=fn)
    args = ap.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
