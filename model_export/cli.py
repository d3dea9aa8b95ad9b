"""``syna`` (also ``python -m model_export``): every job of the flow as one command.

Model side: train, export, paper-bundle, ddr-image, run, plan, energy, plot, table, neurobench, nir,
synthetic-gestures. Hardware: hls (C-sim, header, Vitis inputs), rtl (Verilator run, config, Yosys
estimate). Board: host (classify,
throughput, notebook). Each sub-command's ``--help`` says what it reads and writes. ``--help``
imports no torch: a sub-command imports what it needs when it runs. Errors in user input (a bad
bundle, a wrong input file, an unsupported model) print one clear line and exit with status 2;
tracebacks are for bugs.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

from syna_contract import numerics as nx
from syna_contract.boards import DEFAULT_BOARD, boards_help, get_board
from syna_hw.limits import DEFAULT_LANES
from syna_hw.placement import DEFAULT_RATE
from .paper_nets import PAPER_NETS
from .recipe import ARCH_NAMES, DEFAULT_DATASET, TRAIN_PRESETS, TrainArgs


def board_name(name: str) -> str:
    """``--board`` values, case-insensitive (``PYNQ-Z2`` is ``pynq-z2``), from syna_contract/boards.py."""
    try:
        return get_board(name).name
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


BOARDS_HELP = f"board, one of {boards_help()}"


def _cmd_train(a) -> None:
    from .train import TrainArgs, train
    given = {k: v for k, v in vars(a).items() if k in TrainArgs.__dataclass_fields__}
    path = train(TrainArgs(**given), given)
    if int(os.environ.get("RANK", "0")) == 0:
        print(f"checkpoint: {path}")


def _ddr_lanes(a) -> int | None:
    """``--ddr-image --lanes P`` -> P; the image's layout depends on P, so there is no default."""
    if a.lanes is not None and not a.ddr_image:
        raise ValueError("--lanes only sets the DDR image's lane count; add --ddr-image")
    if a.ddr_image and a.lanes is None:
        raise ValueError("--ddr-image needs --lanes P (the lane count of the core that will read it: the layout "
                         "groups output channels by P)")
    return a.lanes if a.ddr_image else None


def _print_ddr(b) -> None:
    d = b.manifest.get("ddr_image")
    if d:
        print(f"DDR image {d['file']}: {d['bytes']:,} bytes, P = {d['lanes']} lanes, rows of {d['row_bytes']} bytes "
              f"(int{d['weight_bits']} lanes), sha256 {d['sha256'][:16]}")


def _cmd_export(a) -> None:
    from .export import export_checkpoint
    path = export_checkpoint(a.checkpoint, a.out, weight_bits=a.weight_bits, mem_bits=a.mem_bits,
                             samples=a.samples, prune_silent_shortcuts=a.prune_silent_shortcuts,
                             prune_samples=a.prune_samples, ddr_lanes=_ddr_lanes(a),
                             attention_check="warn" if a.allow_broken_attention else "refuse")
    from syna_contract.bundle import load_bundle
    b = load_bundle(path)
    n_roms = sum(len(l.get("roms", {})) for l in b.layers)
    print(f"bundle {path}: {len(b.layers)} layers, {n_roms} ROM files, model {b.model_hash[:16]}")
    _print_ddr(b)
    pr = b.manifest.get("pruning")
    if pr:
        names = [p["shortcut"] for p in pr["pruned"]]
        print(f"pruned {len(names)} shortcut(s) {names or ''} (silent on all {pr['samples']} {pr['split']} samples "
              f"of the integer model; scores and spikes verified identical)" if names else
              f"no shortcut is silent on all {pr['samples']} {pr['split']} samples of the integer model: "
              "nothing pruned")


def _cmd_paper_bundle(a) -> None:
    from .paper_bundles import paper_bundle
    if a.threads:
        import torch
        torch.set_num_threads(a.threads)
    rep = paper_bundle(a.net, a.out, samples=a.samples, seed=a.seed, rate=a.rate, weight_bits=a.weight_bits,
                       mem_bits=a.mem_bits, ddr_lanes=_ddr_lanes(a), width=a.width, steps=a.steps,
                       input_size=a.input_size, merge=a.merge, attention=_attention(a.attention))
    print(rep.table())
    if a.json:
        Path(a.json).write_text(json.dumps(rep.to_dict(), indent=1))
    if not rep.golden_matches_reference:
        raise RuntimeError(f"{rep.bundle}: the golden vectors differ from the integer reference (a bug: report it)")


def _cmd_ddr_image(a) -> None:
    from syna_contract.bundle import load_bundle
    from syna_contract.ddr_image import add_image
    b = load_bundle(a.bundle)
    add_image(b, a.lanes)
    _print_ddr(load_bundle(a.bundle))


def _attention(dim: str | None):
    if dim in (None, "none"):
        return None
    from .model import AttentionSpec
    return AttentionSpec(dim, "b")


def _cmd_plot(a) -> None:
    from .plots import plot_run
    for path in plot_run(a.run, out_dir=a.out):
        print(path)


def _cmd_table(a) -> None:
    from .table import compare_runs
    t = compare_runs(a.runs, samples=a.samples, weight_bits=a.weight_bits, threads=a.threads)
    print(t.markdown() if a.markdown else t.text())
    if a.json:
        Path(a.json).write_text(json.dumps(t.to_dict(), indent=1))


def load_input_file(path: str | Path, bundle) -> tuple[np.ndarray, np.ndarray | None]:
    """Recordings (``host.recordings.read_recordings``: the format ``python -m host classify``, the
    notebook and the bundle's golden.npz share) as integer frames [N, T, C, H, W] and optional labels;
    events are integrated as the bundle's input spec says training did."""
    from host.recordings import read_recordings
    rec = read_recordings(path)
    return rec.to_frames(bundle.input_spec), rec.labels


def _cmd_run(a) -> None:
    from syna_contract.bundle import load_bundle
    from syna_contract.reference import Reference
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


PLAN_EXIT_CODES = """exit codes:
  0  fits on chip: every tensor in block RAM / UltraRAM / LUT RAM within the utilisation budget
  3  runs only with weights (and maybe spike maps, membranes) in DDR: modelled; the plan says which cores
     build that placement (both read weights from DDR; spike maps in DDR: see the plan), none has run on a board
  4  cannot run on this board (the reason is printed), with suggestions that fit
  2  bad input (unknown board, bad bundle, bad knob) or attention settings that cannot work"""


def _plan_setting(a):
    from .plan_config import make_setting
    return make_setting(preset=a.preset, net=a.net, dataset=a.dataset, width=a.width, input_size=a.input_size,
                        in_channels=a.in_channels, steps=a.steps, merge=a.merge, weight_bits=a.weight_bits,
                        mem_bits=a.mem_bits, num_classes=a.num_classes, attention=a.attention)


CONFIG_KNOBS = ("preset", "net", "dataset", "width", "input_size", "in_channels", "steps", "merge", "weight_bits",
                "mem_bits", "num_classes", "attention")


def _cmd_plan(a) -> int:
    from syna_contract.boards import board_names
    from syna_hw.placement import CANNOT, EXIT_CODES, ON_CHIP
    if a.rate is not None and not 0 <= a.rate <= 1:
        raise ValueError(f"--rate {a.rate}; expected a firing rate in 0..1")
    rate = DEFAULT_RATE if a.rate is None else a.rate
    if a.recipes:
        from .plan_config import recipes_markdown
        boards = [a.board] if a.board else board_names()
        print(recipes_markdown(boards, rate))
        return 0
    a.board = a.board or DEFAULT_BOARD
    knobs = [k for k in CONFIG_KNOBS if getattr(a, k) is not None]
    setting = None
    if a.bundle and knobs:
        raise ValueError(f"give a bundle or a config (--preset / --net and knobs), not both (got {a.bundle!r} and "
                         + ", ".join("--" + k.replace("_", "-") for k in knobs) + ")")
    if a.bundle:
        from syna_contract.bundle import load_bundle
        from syna_hw.placement import place_bundle
        bundle = load_bundle(a.bundle, check_golden=False)
        rep = place_bundle(bundle, a.board, lanes=a.lanes, clock_mhz=a.clock_mhz, rate=a.rate,
                           buffers=a.weight_buffers)
        cfg = bundle.manifest.get("model_config") or {}
        what = f"bundle {a.bundle}"
    elif knobs:
        from .plan_config import plan_setting
        setting = _plan_setting(a)
        rep = plan_setting(setting, a.board, a.lanes, a.clock_mhz, rate, buffers=a.weight_buffers)
        what = f"config {setting.args()}"
    else:
        raise ValueError("plan what? give a bundle directory, or a config: --preset NAME (or --net NAME) and knobs; "
                         "or --recipes")
    print(f"plan of {what}")
    print(rep.table())
    out = rep.to_dict()
    if rep.verdict != ON_CHIP and a.suggest:
        if setting is None and cfg.get("preset") and not cfg.get("chain"):
            from .plan_config import setting_of_bundle
            setting = setting_of_bundle(bundle)
        if setting is None:
            print("(no suggestions: the bundle's manifest has no preset config to vary; plan a config instead)")
        elif setting.attention:
            print("(no suggestions for networks with attention: each re-plan builds the model in torch; vary "
                  "--width / --input-size / --weight-bits / --lanes yourself)")
        else:
            from .plan_config import suggest, suggestions_text
            sug = suggest(setting, a.board, a.lanes, a.clock_mhz, rate, ddr=rep.verdict == CANNOT)
            print()
            print(suggestions_text(sug, rate))
            out["suggestions"] = {v: [dict(args=x.setting.args(), lanes=x.lanes, bram36=x.plan.bram36, uram=x.plan.uram,
                                           inferences_per_s=x.plan.inferences_per_s) for x in xs]
                                  for v, xs in sug.items()}
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1))
    if not rep.chip.attention_ok:
        from syna_contract.checks import raise_on_errors
        raise_on_errors(rep.chip.attention, f"plan {a.bundle}")
    return EXIT_CODES[rep.verdict]


def _cmd_energy(a) -> None:
    from syna_contract.bundle import load_bundle
    from syna_contract.energy import energy_for_bundle
    from syna_contract.reference import Reference
    b = load_bundle(a.bundle)
    x, _ = load_input_file(a.input, b)
    rep = energy_for_bundle(b, Reference(b).run(x, keep_spikes=False))
    print(rep.table())
    if a.json:
        Path(a.json).write_text(json.dumps(rep.to_dict(), indent=1))


def _cmd_attention(a) -> None:
    from .attention_stats import gate_table, run_gate_stats
    from .table import resolve_run
    rows = []
    for run in a.runs:
        title, stats = run_gate_stats(resolve_run(run), samples=a.samples)
        print(gate_table(title, stats))
        rows.append(dict(run=str(run), gates=[s.to_dict() for s in stats]))
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1))


def _cmd_neurobench(a) -> None:
    from .neurobench_metrics import NeuroBenchMissing, neurobench_report
    try:
        rep = neurobench_report(a.checkpoint, samples=a.samples or None, board=a.board, lanes=a.lanes)
    except NeuroBenchMissing as e:
        raise ValueError(str(e)) from None
    print(rep.table())
    if a.json:
        Path(a.json).write_text(json.dumps(rep.to_dict(), indent=1))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=_prog(),
        description="SynA-ResNet from PyTorch to a Zynq FPGA, bit-exact at every step. Typical flow: train -> "
                    "export -> run / plan / energy -> hls csim / rtl run -> host classify; plot and table look at "
                    "training runs. `COMMAND --help` says more; --help never imports torch.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    t = sub.add_parser(
        "train", help="train a SynA-ResNet / OR-Spiking ResNet (or a zoo baseline, --arch) and save a checkpoint (resumable, DDP, AMP)",
        argument_default=argparse.SUPPRESS, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train on a registered dataset with the paper's recipe (Table X), then optionally fine-tune\n"
                    "for the integer contract (docs/training.md). Writes\n"
                    "  --out m.pt          the checkpoint, rewritten every epoch (--resume m.pt continues it)\n"
                    "  m.metrics.jsonl     one line per epoch: loss, accuracy, per-layer firing rates,\n"
                    "                      silent shortcuts (natural pruning)\n"
                    "  m.plots/            firing-rate heatmap, per-layer rates, curves (PNG)\n"
                    "Several processes or GPUs: torchrun --nproc_per_node=N -m model_export train ...",
        epilog=_presets_epilog())
    d = TrainArgs()
    g = t.add_argument_group("data and model")
    g.add_argument("--dataset", help=f"dataset, one of {_datasets()} (default: the --preset's, else "
                                     f"{DEFAULT_DATASET})")
    g.add_argument("--data-root", help="the dataset's folder (default: $SYNA_DATA/<dataset>, docs/datasets.md)")
    g.add_argument("--data-option", dest="data_options", action="append", metavar="KEY=VALUE",
                   help="a dataset option of model_export/data.py, e.g. bits=3 or sensor=32 (repeatable)")
    g.add_argument("--preset", choices=list(TRAIN_PRESETS), help=f"Table X preset: {' | '.join(TRAIN_PRESETS)}; sets lr, batch, epochs, loss, "
                                    "augmentation and the Table IX topology (default: the --dataset's, e.g. "
                                    "dvs128_gesture -> dvs_gesture)")
    g.add_argument("--width", type=float, help="channel multiplier on 64-128-256-512 (preset: 1)")
    g.add_argument("--input-size", type=int, help="input height = width (preset's by default)")
    g.add_argument("--in-channels", type=int, help="input channels (preset's by default)")
    g.add_argument("--num-classes", type=int, help="classes (preset's by default)")
    g.add_argument("--steps", type=int, help="time steps T (preset's by default)")
    g.add_argument("--arch", choices=list(ARCH_NAMES),
                   help=f"architecture (docs/model-zoo.md; default {d.arch}); only spike-driven ones export")
    g.add_argument("--merge", choices=["OR", "AND", "IAND", "ADD"],
                   help="residual merge (default: the arch's own, OR for syna-resnet)")
    g.add_argument("--attention", choices=["none", "T", "C", "S"],
                   help="SynA dimension (MA on backbone + IA on shortcut), or none (default none)")
    g.add_argument("--attention-position", choices=list("abcd"), help="Table V position (default b)")
    g.add_argument("--attention-form", choices=["relu_x_w", "relu_xw"],
                   help="how IA applies its spike gate q: relu(x)*q (default; a closed gate still gets a "
                        "gradient) or relu(x*q) (the paper's code; a closed gate gets none). Same forward "
                        "pass and export either way (docs/results.md)")
    g.add_argument("--attention-init", choices=["open", "default", "open-ia"],
                   help="attention MLP init: open (default: non-negative weights, MA gates near 1, IA gates "
                        "firing), default (PyTorch's, as the paper's code: MA gates ~0.5, IA mostly closed) "
                        "or open-ia (IA open, MA PyTorch's)")
    g.add_argument("--attention-min-hidden", type=int,
                   help="floor of the attention MLP's hidden width dim // r (default 1, as the paper)")
    g.add_argument("--train-limit", type=int, help="use only the first N training samples (smoke tests)")
    g.add_argument("--eval-limit", type=int, help="use only the first N evaluation samples")
    o = t.add_argument_group("optimisation (unset: the preset's Table X value)")
    o.add_argument("--epochs", type=int, help="float training epochs")
    o.add_argument("--batch-size", type=int, help="global batch (split over torchrun processes)")
    o.add_argument("--micro-batches", type=int, help="split each process's batch into K micro-batches (BN "
                                                      "statistics per micro-batch, gradients accumulated): one "
                                                      "process computes what DDP on K processes does (default 1)")
    o.add_argument("--lr", type=float, help="Adam learning rate (cosine annealing to 0 over the epochs)")
    o.add_argument("--loss", choices=["mse", "ce"], help="mse between time-averaged output and one-hot (paper), or ce")
    o.add_argument("--augment", help="comma list of flip, translate; or none")
    o.add_argument("--qat-epochs", type=int, help="quantisation-aware fine-tuning epochs after (default 0)")
    o.add_argument("--weight-bits", type=int, help="weight bits of the quantisation-aware fine-tuning (export "
                                                   f"then uses them; default {d.weight_bits})")
    o.add_argument("--seed", type=int, help=f"seed of weights, data order and augmentation (default {d.seed})")
    r = t.add_argument_group("running")
    r.add_argument("--out", help=f"checkpoint path (default {d.out}; with --resume: the resumed file)")
    r.add_argument("--resume", help="continue a checkpoint written by train after its last completed epoch "
                                    "(options given again must match the saved run)")
    r.add_argument("--save-every", type=int, help="write the checkpoint every N epochs (default 1; always at "
                                                  "the end of a phase)")
    r.add_argument("--device", help="auto | cpu | cuda | cuda:N (default auto; under torchrun cuda:LOCAL_RANK)")
    r.add_argument("--amp", action="store_true", help="float16 autocast + gradient scaler (CUDA only; the "
                                                      "quantisation-aware phase stays exact)")
    r.add_argument("--threads", type=int, help="torch CPU threads (1 makes CPU runs repeat exactly)")
    r.add_argument("--no-plots", dest="plots", action="store_false", help="do not draw the plots at the end")
    t.set_defaults(func=_cmd_train)

    e = sub.add_parser("export", help="quantise a checkpoint into a bundle (ROMs, manifest, golden vectors)")
    e.add_argument("checkpoint", help="checkpoint written by `train`")
    e.add_argument("--out", required=True, help="bundle directory (replaced if it exists)")
    e.add_argument("--weight-bits", type=int,
                   help=f"signed weight bits, {nx.WEIGHT_BITS_RANGE[0]}..{nx.WEIGHT_BITS_RANGE[1]} (default: the "
                        f"bits the checkpoint was fine-tuned for, else {nx.DEFAULT_WEIGHT_BITS})")
    e.add_argument("--mem-bits", type=int, default=nx.DEFAULT_MEM_BITS,
                   help=f"membrane bits, {nx.MEM_BITS_RANGE[0]}..{nx.MEM_BITS_RANGE[1]} (default {nx.DEFAULT_MEM_BITS})")
    e.add_argument("--samples", type=int, default=8, help="golden-vector samples from the held-out split (default 8)")
    e.add_argument("--prune-silent-shortcuts", action="store_true",
                   help="drop every shortcut (bK.short and its OR merge) that the integer model leaves silent on "
                        "the held-out split; the pruned bundle is verified to give identical scores and spikes")
    e.add_argument("--prune-samples", type=int,
                   help="decide and verify the pruning on the first N held-out samples (None: all)")
    e.add_argument("--allow-broken-attention", action="store_true",
                   help="write the bundle even where attention cannot work as configured (IA gates that can "
                        "never fire at this --mem-bits, attention sums that clamp heavily on the golden samples; "
                        "docs/numerics.md section 6): the reasons are printed as warnings instead of refusing")
    _ddr_args(e)
    e.set_defaults(func=_cmd_export)

    pb = sub.add_parser(
        "paper-bundle", help="a paper-size network of Table IX with random weights calibrated to fire like a "
                             "trained one, exported as a bundle (golden vectors checked against the integer reference)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Builds a Table IX network (model_export/paper_nets.py), gives it random weights, calibrates "
                    "every layer's firing rate on synthetic inputs (model_export/paper_bundles.py), exports it with "
                    "the normal exporter, checks the golden vectors against the integer reference and prints the "
                    "per-layer firing rates and the time each step took.")
    pb.add_argument("--net", required=True, choices=list(PAPER_NETS),
                    help="; ".join(f"{k}: {v.title}, {v.input_size}x{v.input_size}, T={v.steps}" for k, v in PAPER_NETS.items()))
    pb.add_argument("--out", required=True, help="bundle directory (replaced if it exists)")
    pb.add_argument("--samples", type=int, default=2, help="golden-vector samples (synthetic inputs)")
    pb.add_argument("--rate", type=float, default=0.10, help="target firing rate of the layers (see the module doc "
                                                             "for the layers that feed an OR)")
    pb.add_argument("--seed", type=int, default=0, help="seed of the weights and the inputs")
    pb.add_argument("--width", type=float, help="channel multiplier (default: the paper's 1)")
    pb.add_argument("--steps", type=int, help="T (default: the net's)")
    pb.add_argument("--input-size", type=int, help="input height = width (default: the net's)")
    pb.add_argument("--merge", choices=list(nx.MERGE_OPS), help="residual merge (default OR)")
    pb.add_argument("--attention", choices=["none", "T", "C"], help="SynA (MA on the backbone, IA on the shortcuts)")
    pb.add_argument("--weight-bits", type=int, default=nx.DEFAULT_WEIGHT_BITS, help="signed weight bits")
    pb.add_argument("--mem-bits", type=int, default=nx.DEFAULT_MEM_BITS, help="membrane bits")
    pb.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    pb.add_argument("--json", help="also write the report (rates, times) as JSON here")
    _ddr_args(pb)
    pb.set_defaults(func=_cmd_paper_bundle)

    di = sub.add_parser("ddr-image", help="write (or rewrite) a bundle's DDR weight image for P lanes; the model "
                                          "hash does not change (docs/bundle-format.md)")
    di.add_argument("bundle", help="bundle directory")
    di.add_argument("--lanes", type=int, required=True, help="lane count P the image is laid out for")
    di.set_defaults(func=_cmd_ddr_image)

    r = sub.add_parser("run", help="run the integer reference on an input file; print scores and spike counts")
    r.add_argument("bundle", help="bundle directory")
    r.add_argument("input", help="recordings: .npz with 'input' or 'frames' (integer [N,T,C,H,W]; a bundle's "
                                 "golden.npz is one) and optional 'labels', an .npz of events, an event file or "
                                 "folder (docs/host-driver.md, Recordings)")
    r.add_argument("--show", type=int, default=10, help="samples to print")
    r.set_defaults(func=_cmd_run)

    pl = sub.add_parser(
        "plan", help="placement against a board: fits on chip / runs with weights in DDR / cannot run, resources, "
                     "DDR bytes and modelled speed; from a bundle or from a config without training",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Plans a bundle, or a network named by its config (the preset and knobs `train` takes; nothing is "
                    "trained or exported, torch is not imported unless --attention), on a board: the RTL twin's "
                    "memories at P lanes mapped as Yosys does; if they do not fit, the cores' weights-in-DDR build "
                    "(every conv / fc weight through one buffer, tiled over output-channel groups as both cores "
                    "tile it), then the input and every spike map in a DDR scratch buffer (--maps ddr, syna_hw/spill.py) "
                    "and, beyond it (modelled, not built), spilled spike maps and membranes; cycles (compute + memory stall), latency and inferences/s at the board "
                    "clock, modelled at a firing rate. When it does not fit on chip, nearby settings that do are "
                    "searched and printed. docs/hls-core.md, 'Placement planner'.",
        epilog=PLAN_EXIT_CODES + "\nexamples:\n  syna plan build/demo/bundle --board pynq-z2\n"
               "  syna plan --preset nmnist --width 0.25 --input-size 17 --weight-bits 4 --board pynq-z2\n"
               "  syna plan --net dvs_gesture --board zcu104 --lanes 32\n  syna plan --recipes")
    pl.add_argument("bundle", nargs="?", help="bundle directory (or leave out and name a config)")
    pl.add_argument("--board", type=board_name, help=f"{BOARDS_HELP}; default {DEFAULT_BOARD}")
    pl.add_argument("--lanes", type=int, default=DEFAULT_LANES,
                    help=f"output-channel lanes P of the RTL twin the plan is for (default {DEFAULT_LANES})")
    pl.add_argument("--clock-mhz", type=float,
                    help="core (and HP port) clock for the speed (default: the board's PL clock, "
                         "python -m syna_contract.boards)")
    pl.add_argument("--rate", type=float, help="firing rate of the modelled spike maps and non-zero input values, "
                                               f"0..1; the speed is 'modelled at rate r' (default: a bundle's golden "
                                               f"spike maps, else {DEFAULT_RATE:g})")
    pl.add_argument("--weight-buffers", type=int, choices=(1, 2), default=1,
                    help="weight-tile buffers of the DDR build: 1 = load, then compute (what both cores build; "
                         "default), 2 = double buffer, loads overlap compute (the RTL twin's --wbuf double; not in the HLS core)")
    pl.add_argument("--json", help="also write the plan as JSON here")
    pl.add_argument("--no-suggest", dest="suggest", action="store_false",
                    help="do not search for nearby settings that fit (when it does not fit on chip)")
    pl.add_argument("--recipes", action="store_true",
                    help="print the largest N-MNIST and DVS Gesture settings that fit each board on chip (the table "
                         "in docs/datasets.md; only --board's with --board) and exit")
    c = pl.add_argument_group("config (instead of a bundle; as `train` names them; unset: the preset's)")
    c.add_argument("--preset", choices=list(TRAIN_PRESETS), help="Table X/IX preset")
    c.add_argument("--net", choices=list(PAPER_NETS), help="a Table IX paper network (its input size, T and input "
                                                          "encoding: model_export/paper_nets.py)")
    c.add_argument("--dataset", help="the dataset whose input spec (bits, channels, sizes) the net takes (default: "
                                     "the preset's)")
    c.add_argument("--width", type=float, help="channel multiplier on 64-128-256-512")
    c.add_argument("--input-size", type=int, help="input height = width")
    c.add_argument("--in-channels", type=int, help="input channels")
    c.add_argument("--num-classes", type=int, help="classes")
    c.add_argument("--steps", type=int, help="time steps T")
    c.add_argument("--merge", choices=list(nx.MERGE_OPS), help="residual merge (default OR)")
    c.add_argument("--attention", choices=["none", "T", "C"],
                   help="SynA dimension (MA on the backbone, IA on the shortcuts); imports torch to lay it out")
    c.add_argument("--weight-bits", type=int, help=f"signed weight bits (default {nx.DEFAULT_WEIGHT_BITS})")
    c.add_argument("--mem-bits", type=int, help=f"membrane bits (default {nx.DEFAULT_MEM_BITS})")
    pl.set_defaults(func=_cmd_plan)

    en = sub.add_parser("energy", help="spikes, firing rates, MAC/AC and Eq. 11 energy per layer")
    en.add_argument("bundle", help="bundle directory")
    en.add_argument("input", help="recordings (as for `run`)")
    en.add_argument("--json", help="also write the report as JSON here")
    en.set_defaults(func=_cmd_energy)

    pt = sub.add_parser("plot", help="firing-rate heatmap (paper Fig. 5), per-layer firing rates, accuracy/loss "
                                     "curves of a training run, as PNG")
    pt.add_argument("run", help="a checkpoint written by train, or its directory (with one *.metrics.jsonl)")
    pt.add_argument("--out", help="directory for the PNG files (default CHECKPOINT.plots/ beside the checkpoint)")
    pt.set_defaults(func=_cmd_plot)

    tb = sub.add_parser("table", help="Table III-style comparison of trained runs: spikes, MAC, AC, energy, "
                                      "float and integer top-1, silent shortcuts")
    tb.add_argument("runs", nargs="+", help="checkpoints written by train (or directories holding one)")
    tb.add_argument("--samples", type=int, help="evaluate on the first N held-out samples (default: all)")
    tb.add_argument("--weight-bits", type=int, help="integer model's weight bits (default: each checkpoint's "
                                                    "fine-tuned bits, else 8)")
    tb.add_argument("--threads", type=int, help="torch CPU threads")
    tb.add_argument("--markdown", action="store_true", help="print a Markdown table")
    tb.add_argument("--json", help="also write the rows as JSON here")
    tb.set_defaults(func=_cmd_table)

    at = sub.add_parser("attention", help="SynA's gates on the held-out split: MA mean gate, IA open fraction, "
                                          "current in and out, per attention module")
    at.add_argument("runs", nargs="+", help="checkpoints written by train (or directories holding one)")
    at.add_argument("--samples", type=int, help="the first N held-out samples (default: all)")
    at.add_argument("--json", help="also write the statistics as JSON here")
    at.set_defaults(func=_cmd_attention)

    nb = sub.add_parser("neurobench", help="NeuroBench metrics (package neurobench) of a checkpoint's float model "
                                           "next to the integer model's own counts and the modelled execution rate",
                        description="NeuroBench's static and workload metrics of the float model, measured by the "
                                    "neurobench package (extra [neurobench]), beside the integer model's accuracy, "
                                    "sparsity, Eq. 11 MAC/AC and energy, and the execution rate modelled from the "
                                    "HLS core's cycle count (docs/neurobench.md)")
    nb.add_argument("checkpoint", help="checkpoint written by train")
    nb.add_argument("--samples", type=int, default=256, help="first N held-out samples, 0 for all (default 256)")
    nb.add_argument("--board", default=DEFAULT_BOARD, type=board_name,
                    help=f"{BOARDS_HELP}, whose PL clock gives the modelled rate (default {DEFAULT_BOARD})")
    nb.add_argument("--lanes", type=int, default=DEFAULT_LANES, help="HLS core output-channel lanes P of the "
                                                                     f"modelled rate (default {DEFAULT_LANES})")
    nb.add_argument("--json", help="also write the report as JSON here")
    nb.set_defaults(func=_cmd_neurobench)

    # Jobs with a command line of their own: the rest of the line goes to it (`syna hls csim --help`).
    for name, (module, help_) in DELEGATED.items():
        d = sub.add_parser(name, help=help_, add_help=False, prefix_chars="\0")
        d.add_argument("args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
        d.set_defaults(func=None, delegate=module)
    return p


def _ddr_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ddr-image", action="store_true",
                   help="also write the DDR weight image (weights.ddr.bin, docs/bundle-format.md) for --lanes P")
    p.add_argument("--lanes", type=int, help="lane count P the DDR image is laid out for (required by --ddr-image)")


# sub-command -> (module whose main(argv) runs it, one line of help). Imported only when run.
DELEGATED = {
    "hls": ("syna_hw.hls_core", "HLS core: csim (g++ C-simulation vs golden), gen (header + Vitis inputs), check"),
    "rtl": ("syna_hw.rtl_core", "RTL twin: run (Verilator vs golden), generate (config + ROMs), synth (Yosys estimate)"),
    "host": ("host.__main__", "host driver: classify recordings, throughput test, run the notebook (numpy only)"),
    "nir": ("model_export.nir_io", "NIR interchange: import a feed-forward NIR graph as a bundle, export a checkpoint"),
    "synthetic-gestures": ("model_export.synthetic_gestures", "write the synthetic DVS gesture dataset (AEDAT 3.1 files)"),
}


def _datasets() -> str:
    try:
        from .data import DATASETS
    except ImportError:             # a dataset module that needs more than numpy: named at run time
        return "those registered in model_export/data.py"
    return " | ".join(sorted(DATASETS))


def _presets_epilog() -> str:
    rows = ["Table X presets (T and the topology: the Table IX preset named in the last column):",
            f"  {'preset':<15}{'lr':>7}{'batch':>7}{'epochs':>8}  {'loss':<6}{'augment':<16}topology"]
    for name, p in TRAIN_PRESETS.items():
        rows.append(f"  {name:<15}{p.lr:>7g}{p.batch_size:>7}{p.epochs:>8}  {p.loss:<6}"
                    f"{','.join(p.augment) or '-':<16}{p.model or name}")
    rows.append("Example (the shipped checkpoint): python -m model_export train --dataset digits --preset mnist "
                "--width 0.25 --input-size 8 --steps 4 --batch-size 64 --epochs 40 --qat-epochs 10 --weight-bits 4 "
                "--threads 1 --out build/train/digits_or.pt")
    return "\n".join(rows)


def _prog() -> str:
    name = Path(sys.argv[0]).name
    return name if name.startswith("syna") else "python -m model_export"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "delegate", None):
        import importlib
        rest = list(args.args)
        # the delegate's usage and error lines name this command (`syna hls`), not its module
        return int(importlib.import_module(args.delegate).main(rest, prog=f"{_prog()} {args.command}") or 0)
    from syna_contract.bundle import BundleError
    from syna_contract.reference import InputError
    user_errors = (BundleError, InputError, FileNotFoundError, ValueError)
    try:
        return int(args.func(args) or 0)
    except user_errors as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
