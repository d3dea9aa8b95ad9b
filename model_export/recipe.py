"""The training recipe, without torch: Table X presets and the ``train`` options.

The CLI builds its ``--help`` from here, so ``python -m model_export run``
and the other numpy-only commands never import torch.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

AUGMENTS = ("flip", "translate")
# The architectures of model_export/zoo (docs/model-zoo.md), named here without torch so that
# `--help` lists them fast; zoo/__init__.py refuses to import if its table disagrees.
ARCH_NAMES: tuple[str, ...] = ("syna-resnet", "or-resnet", "sew-resnet", "spiking-resnet", "ms-resnet", "asa-resnet",
                               "mlf-ds-resnet")
TRANSLATE_FRACTION = 5 / 128      # Table X, CIFAR10-DVS: RandomAffine translate up to 5/128 of the size
QAT_LR_FACTOR = 0.05              # fine-tuning learning rate = lr * this


@dataclass(frozen=True)
class TrainPreset:
    """One row of the paper's Table X; ``model`` names the Table IX topology in ``model.PRESETS``."""

    lr: float
    batch_size: int
    epochs: int
    loss: str = "mse"
    augment: tuple[str, ...] = ()
    model: str | None = None       # default: the preset's own name


# Table X of the paper. T lives in model.PRESETS (Table IX). Not reproduced here: the
# paper's Fashion-MNIST Normalize(0.5, 0.5), which would break the integer input contract.
TRAIN_PRESETS: dict[str, TrainPreset] = {
    "dvs_gesture": TrainPreset(lr=1e-4, batch_size=32, epochs=1000),
    "cifar10_dvs": TrainPreset(lr=1e-3, batch_size=128, epochs=500, augment=("flip", "translate")),
    "mnist": TrainPreset(lr=1e-2, batch_size=128, epochs=100),
    "fashion_mnist": TrainPreset(lr=1e-2, batch_size=128, epochs=100, augment=("flip",), model="mnist"),
    # Not in Table X (the paper has no N-MNIST run): the MNIST row's settings on model.PRESETS["nmnist"].
    "nmnist": TrainPreset(lr=1e-2, batch_size=128, epochs=100),
}


DEFAULT_DATASET = "digits"        # with neither --dataset nor --preset: the offline 8x8 digits, preset mnist
# The Table X preset that trains each dataset (used when --preset is not given) ...
DATASET_PRESETS: dict[str, str] = {
    "digits": "mnist", "mnist": "mnist", "fashion_mnist": "fashion_mnist", "nmnist": "nmnist",
    "dvs128_gesture": "dvs_gesture", "synthetic_gestures": "dvs_gesture", "cifar10_dvs": "cifar10_dvs"}
# ... and the dataset each preset trains when --dataset is not given (dvs_gesture: the real DVS128 Gesture,
# synthetic_gestures being its stand-in; mnist: the default digits, which need no download).
PRESET_DATASETS: dict[str, str] = {"mnist": DEFAULT_DATASET, "fashion_mnist": "fashion_mnist", "nmnist": "nmnist",
                                   "dvs_gesture": "dvs128_gesture", "cifar10_dvs": "cifar10_dvs"}
# Input sizes a dataset fixes when --input-size is not given (where its preset's Table IX size does not fit it).
DATASET_INPUT_SIZES: dict[str, int] = {"digits": 8}


def model_preset(preset: str) -> str:
    """The Table IX topology a Table X preset trains."""
    if preset not in TRAIN_PRESETS:
        raise ValueError(f"unknown preset {preset!r}; expected one of {sorted(TRAIN_PRESETS)}")
    return TRAIN_PRESETS[preset].model or preset


@dataclass
class TrainArgs:
    """Options of ``python -m model_export train``; ``None`` means "the preset's value" (:func:`resolve`)."""

    dataset: str | None = None       # None: the preset's (PRESET_DATASETS), else DEFAULT_DATASET
    data_root: str | None = None     # the dataset's folder (default: data.py's, $SYNA_DATA/<name>)
    data_options: list[str] | None = None   # KEY=VALUE options of the dataset (data.py), e.g. bits=3
    preset: str | None = None        # None: the dataset's (DATASET_PRESETS)
    width: float | None = None
    input_size: int | None = None
    in_channels: int | None = None
    num_classes: int | None = None
    steps: int | None = None
    arch: str = "syna-resnet"        # one of ARCH_NAMES
    merge: str | None = None         # None: the arch's default (OR for syna-resnet)
    attention: str = "none"          # none | T | C | S  (SynA: MA on backbone + IA on shortcut)
    attention_position: str = "b"
    attention_form: str | None = None        # None: model.AttentionSpec's default (IA_FORMS)
    attention_init: str | None = None        # None: model.AttentionSpec's default (ATTENTION_INITS)
    attention_min_hidden: int | None = None  # None: model.AttentionSpec's default
    epochs: int | None = None
    qat_epochs: int = 0
    batch_size: int | None = None
    micro_batches: int = 1
    lr: float | None = None
    loss: str | None = None          # mse (paper) | ce
    augment: str | None = None       # comma list of AUGMENTS, or "none"
    weight_bits: int = 8
    seed: int = 2023
    out: str = "build/train/model.pt"
    threads: int | None = None
    device: str = "auto"
    amp: bool = False
    train_limit: int | None = None
    eval_limit: int | None = None
    resume: str | None = None
    save_every: int = 1
    plots: bool = True


# Options that may differ when resuming (they do not change what is computed).
RESUME_FREE = ("out", "threads", "device", "resume", "save_every", "plots")


def resolve(args: TrainArgs) -> TrainArgs:
    """Fill the ``None`` options: the preset from the dataset and the dataset from the preset
    (:data:`DATASET_PRESETS`, :data:`PRESET_DATASETS`), the rest from the Table X preset; check them."""
    if args.preset is not None and args.preset not in TRAIN_PRESETS:
        raise ValueError(f"unknown preset {args.preset!r}; expected one of {sorted(TRAIN_PRESETS)}")
    dataset = args.dataset or PRESET_DATASETS.get(args.preset, DEFAULT_DATASET)
    if dataset not in DATASET_PRESETS:
        raise ValueError(f"unknown dataset {dataset!r}; expected one of {sorted(DATASET_PRESETS)}")
    preset = args.preset or DATASET_PRESETS[dataset]
    p = TRAIN_PRESETS[preset]
    r = dataclasses.replace(
        args, dataset=dataset, preset=preset,
        input_size=DATASET_INPUT_SIZES.get(dataset) if args.input_size is None else args.input_size,
        lr=p.lr if args.lr is None else args.lr,
        batch_size=p.batch_size if args.batch_size is None else args.batch_size,
        epochs=p.epochs if args.epochs is None else args.epochs,
        loss=p.loss if args.loss is None else args.loss,
        augment=",".join(p.augment) or "none" if args.augment is None else args.augment)
    if r.loss not in ("mse", "ce"):
        raise ValueError(f"loss {r.loss!r}; expected 'mse' (paper) or 'ce'")
    for name in ("epochs", "qat_epochs"):
        if getattr(r, name) < 0:
            raise ValueError(f"--{name.replace('_', '-')} {getattr(r, name)}; expected 0 or more")
    for name in ("batch_size", "micro_batches", "save_every"):
        if getattr(r, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} {getattr(r, name)}; expected 1 or more")
    if r.lr <= 0:
        raise ValueError(f"--lr {r.lr}; expected a positive learning rate")
    augment_kinds(r.augment)
    parse_data_options(r.data_options)
    return r


def augment_kinds(spec: str | None) -> tuple[str, ...]:
    if not spec or spec == "none":
        return ()
    kinds = tuple(k.strip() for k in spec.split(",") if k.strip())
    bad = [k for k in kinds if k not in AUGMENTS]
    if bad:
        raise ValueError(f"augmentation {bad}; expected a comma list of {AUGMENTS}, or 'none'")
    return kinds




def parse_data_options(items: list[str] | None) -> dict:
    """``["bits=3", "sensor=32"]`` -> ``{"bits": 3, "sensor": 32}`` (integers where they parse)."""
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"dataset option {item!r}; expected KEY=VALUE (e.g. bits=3)")
        value = value.strip()
        try:
            out[key.strip()] = int(value)
        except ValueError:
            try:
                out[key.strip()] = float(value)
            except ValueError:
                out[key.strip()] = value
    return out


def dataset_kwargs(train_args: dict) -> tuple[dict, dict]:
    """``(spec_options, split_options)`` for ``data.input_spec`` / ``data.load_split`` from a run's options
    (a checkpoint's ``meta["train_args"]``; older checkpoints have none)."""
    options = parse_data_options(train_args.get("data_options"))
    split = dict(options)
    if train_args.get("data_root"):
        split["root"] = train_args["data_root"]
    return options, split
