"""NIR interchange (docs/nir.md), one module per direction:

- :mod:`.nir_export`: :func:`export_nir`, our float models out to a ``nir.NIRGraph``;
- :mod:`.nir_import`: :func:`import_nir` (a feed-forward NIR chain in as a :class:`ChainNet`) and
  :func:`nir_to_bundle` (import + ``write_bundle``);
- :mod:`.nir_run`: :func:`run_nir`, the independent float simulation of a NIR graph that checks both;
- :mod:`.nir_common`: the default time step, the tolerance and :class:`NIRError`.

This module gathers them and is the command line: ``syna nir`` / ``python -m model_export.nir_io``
has ``import`` and ``export`` commands.
"""
from __future__ import annotations

import argparse

from .nir_common import DEFAULT_DT, REL_TOL, NIRError
from .nir_export import export_nir
from .nir_import import ChainConfig, ChainNet, import_nir, nir_to_bundle
from .nir_run import run_nir

__all__ = ["DEFAULT_DT", "REL_TOL", "NIRError", "export_nir", "ChainConfig", "ChainNet", "import_nir",
           "nir_to_bundle", "run_nir", "main"]


def main(argv: list[str] | None = None, prog: str = "python -m model_export.nir_io") -> int:
    ap = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    imp = sub.add_parser("import", help="a feed-forward NIR graph -> export bundle")
    imp.add_argument("graph")
    imp.add_argument("--out", required=True)
    imp.add_argument("--steps", type=int, required=True, help="time steps T per sample")
    imp.add_argument("--input-bits", type=int, required=True, help="unsigned input width")
    imp.add_argument("--input-scale", type=float, required=True, help="float value of one input unit")
    imp.add_argument("--encoding", default="pixels", choices=("pixels", "counts"))
    imp.add_argument("--dt", type=float, default=DEFAULT_DT)
    imp.add_argument("--weight-bits", type=int)
    exp = sub.add_parser("export", help="a checkpoint -> NIR file")
    exp.add_argument("checkpoint")
    exp.add_argument("--out", required=True)
    exp.add_argument("--dt", type=float, default=DEFAULT_DT)
    args = ap.parse_args(argv)
    if args.cmd == "import":
        model = import_nir(args.graph, args.steps, args.dt)
        c = model.config
        spec = dict(steps=args.steps, channels=c.in_channels, height=c.height, width=c.width,
                    encoding=args.encoding, bits=args.input_bits, scale=args.input_scale, static=False)
        print(nir_to_bundle(args.graph, args.out, spec, weight_bits=args.weight_bits, dt=args.dt))
    else:
        from .checkpoint import load_checkpoint
        export_nir(load_checkpoint(args.checkpoint).model, args.out, dt=args.dt)
        print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
