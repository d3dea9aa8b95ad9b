"""``python -m model_export`` — train, export, run, plan, energy.

Each sub-command's ``--help`` says what it reads and writes. Errors in user
input (a bad bundle, a wrong input file, an unsupported model) print one clear
line and exit with status 2; tracebacks are for bugs.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from . import numerics as nx

BOARDS_HELP = "pynq-z2 | zcu104"


def _cmd_train(a) -> None:
    from .train import TrainArgs, train
    fields = {k: v for k, v in vars(a).items() if k in TrainArgs.__dataclass_fields__}
    print(f"checkpoint: {train(TrainArgs(**fields))}")


def _cmd_export(a) -> None:
    from .export import export_checkpoint
    path = export_checkpoint(a.checkpoint, a.out, weight_bits=a.weight_bits, mem_bits=a.mem_bits,
                             samples=a.samples)
    from .bundle import load_bundle
    b = load_bundle(path)
    n_roms = sum(len(l.get("roms", {})) for l in b.layers)
    print(f"bundle {path}: {len(b.layers)} layers, {n_roms} ROM files, model {b.model_hash[:16]}")


def load_input_file(path: str | Path, bundle) -> tuple[np.ndarray, np.ndarray | None]:
    """An ``.npz`` with ``input`` (integer [N, T, C, H, W] or [T, C, H, W]) and optional ``labels``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: input file not found")
    try:
        z = np.load(path)
    except Exception as e:
        raise ValueError(f"{path}: not an .npz file ({e}); expected arrays 'input' and optional 'labels'") from None
    if "input" not in z.files:
        raise ValueError(f"{path}: no array 'input' (has {z.files}); expected integer [N, T, C, H, W]")
    return z["input"], (z["labels"] if "labels" in z.files else None)


def _cmd_run(a) -> None:
    from .bundle import load_bundle
    from .reference import Reference
    b = load_bundle(a.bundle)
    x, labels = load_input_file(a.input, b)
    r = Reference(b).run(x, keep_spikes=False)
    n = len(r.scores)
    print(f"{'sample':>6}  {'pred':>4}  {'label':>5}  scores")
    for i in range(min(n, a.show)):
        lab = "" if labels is None else str(int(labels[i]))
        print(f"{i:6d}  {int(r.scores[i].argmax()):4d}  {lab:>5}  {' '.join(str(int(v)) for v in r.scores[i])}")
    if labels is not None:
        print(f"accuracy: {100.0 * float((r.predictions() == labels[:n]).mean()):.2f}% on {n} samples")
    print(f"\n{'layer':<12} {'spikes/sample':>14} {'saturations':>12}")
    for name, counts in r.spike_counts.items():
        print(f"{name:<12} {float(counts.mean()):14.1f} {r.saturations.get(name, 0):12d}")


def _cmd_plan(a) -> None:
    from .bundle import load_bundle
    from .plan import plan_bundle
    rep = plan_bundle(load_bundle(a.bundle, check_golden=False), a.board)
    print(rep.table())
    if a.json:
        Path(a.json).write_text(json.dumps(rep.to_dict(), indent=1))


def _cmd_energy(a) -> None:
    from .bundle import load_bundle
    from .energy import energy_for_bundle
    from .reference import Reference
    b = load_bundle(a.bundle)
    x, _ = load_input_file(a.input, b)
    rep = energy_for_bundle(b, Reference(b).run(x, keep_spikes=False))
    print(rep.table())
    if a.json:
        Path(a.json).write_text(json.dumps(rep.to_dict(), indent=1))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m model_export",
        description="SynA-ResNet from PyTorch to an FPGA bundle, and the bit-exact integer reference that "
                    "checks it. Typical flow: train -> export -> run / plan / energy.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    t = sub.add_parser("train", help="train a SynA-ResNet / OR-Spiking ResNet and save a checkpoint",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    t.add_argument("--dataset", default="digits", help="dataset (digits ships offline)")
    t.add_argument("--preset", default="mnist", help="Table IX preset: dvs_gesture | cifar10_dvs | mnist")
    t.add_argument("--width", type=float, help="channel multiplier on 64-128-256-512 (preset: 1)")
    t.add_argument("--input-size", type=int, help="input height = width (preset's by default)")
    t.add_argument("--in-channels", type=int, help="input channels (preset's by default)")
    t.add_argument("--num-classes", type=int, help="classes (preset's by default)")
    t.add_argument("--steps", type=int, help="time steps T (preset's by default)")
    t.add_argument("--merge", default="OR", choices=["OR", "AND", "IAND", "ADD"], help="residual merge")
    t.add_argument("--attention", default="none", choices=["none", "T", "C", "S"],
                   help="SynA dimension (MA on backbone + IA on shortcut), or none")
    t.add_argument("--attention-position", default="b", choices=list("abcd"), help="Table V position")
    t.add_argument("--epochs", type=int, default=30)
    t.add_argument("--qat-epochs", type=int, default=0, help="quantisation-aware fine-tuning epochs after")
    t.add_argument("--batch-size", type=int, default=64)
    t.add_argument("--lr", type=float, default=1e-2)
    t.add_argument("--loss", default="mse", choices=["mse", "ce"], help="mse to one-hot (paper) or ce")
    t.add_argument("--weight-bits", type=int, default=nx.DEFAULT_WEIGHT_BITS,
                   help="weight bits of the quantisation-aware fine-tuning (export then uses them)")
    t.add_argument("--seed", type=int, default=2023)
    t.add_argument("--threads", type=int, help="torch CPU threads")
    t.add_argument("--out", default="build/train/model.pt", help="checkpoint path (.metrics.jsonl beside it)")
    t.set_defaults(func=_cmd_train)

    e = sub.add_parser("export", help="quantise a checkpoint into a bundle (ROMs, header, manifest, golden)",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    e.add_argument("checkpoint", help="checkpoint written by `train`")
    e.add_argument("--out", required=True, help="bundle directory (replaced if it exists)")
    e.add_argument("--weight-bits", type=int,
                   help=f"signed weight bits, {nx.WEIGHT_BITS_RANGE[0]}..{nx.WEIGHT_BITS_RANGE[1]} (default: the "
                        f"bits the checkpoint was fine-tuned for, else {nx.DEFAULT_WEIGHT_BITS})")
    e.add_argument("--mem-bits", type=int, default=nx.DEFAULT_MEM_BITS,
                   help=f"membrane bits, {nx.MEM_BITS_RANGE[0]}..{nx.MEM_BITS_RANGE[1]}")
    e.add_argument("--samples", type=int, default=8, help="golden-vector samples from the held-out split")
    e.set_defaults(func=_cmd_export)

    r = sub.add_parser("run", help="run the integer reference on an input file; print scores and spike counts")
    r.add_argument("bundle", help="bundle directory")
    r.add_argument("input", help=".npz with 'input' (integer [N,T,C,H,W]) and optional 'labels' "
                                 "(a bundle's golden.npz works)")
    r.add_argument("--show", type=int, default=10, help="samples to print")
    r.set_defaults(func=_cmd_run)

    pl = sub.add_parser("plan", help="on-chip memory and resource estimate against a board")
    pl.add_argument("bundle", help="bundle directory")
    pl.add_argument("--board", required=True, help=BOARDS_HELP)
    pl.add_argument("--json", help="also write the plan as JSON here")
    pl.set_defaults(func=_cmd_plan)

    en = sub.add_parser("energy", help="spikes, firing rates, MAC/AC and Eq. 11 energy per layer")
    en.add_argument("bundle", help="bundle directory")
    en.add_argument("input", help=".npz with 'input' (as for `run`)")
    en.add_argument("--json", help="also write the report as JSON here")
    en.set_defaults(func=_cmd_energy)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .bundle import BundleError
    from .reference import InputError
    user_errors = (BundleError, InputError, FileNotFoundError, ValueError)
    try:
        args.func(args)
    except user_errors as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0
