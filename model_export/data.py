"""Datasets as integer inputs for the hardware and float inputs for training.

Every dataset yields the *integer* input the hardware receives ([N, T, C, H, W],
values 0..2^bits-1) and an input spec (bits, scale, encoding); the float model
is trained on ``x_int * scale``, so training and the hardware see the same values.

Registered here (docs/datasets.md says where each one's files go):

- ``digits``: scikit-learn's 8x8 digits, ships offline; static images repeated over T, as the
  paper does for MNIST.
- ``mnist``, ``fashion_mnist``: IDX files in a local folder (``image_datasets.py``).
- ``nmnist``, ``dvs128_gesture``, ``cifar10_dvs``: event recordings in a local folder, integrated
  into frames by ``host.events.events_to_frames`` (``event_datasets.py``).
- ``synthetic_gestures``: generated here in the DVS128 Gesture file format, then read back as the
  real set is (``synthetic_gestures.py``).

Folders: ``root=`` (the dataset's own folder), else ``$SYNA_DATA/<name>`` (default ``./data/<name>``).
Dataset options (``bits=``; for ``nmnist`` ``train_list=``, ``test_list=``; for ``synthetic_gestures``
``sensor=``, ``train_users=``, ``test_users=``, ``seed=``) go to both :func:`input_spec` and :func:`load_split`.
A model whose input is not the dataset's shape is refused naming the fix (:func:`check_shape`).
"""
from __future__ import annotations

import numpy as np

DIGITS_SPLIT_SEED = 0
DIGITS_TEST_FRACTION = 0.3
DIGITS_SIZE = 8


def digits_spec(config) -> dict:
    return dict(steps=config.steps, channels=1, height=DIGITS_SIZE, width=DIGITS_SIZE, encoding="pixels",
                bits=5, scale=1.0 / 16, static=True)


def _digits(split: str, config, limit=None, root=None) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    if config.in_channels != 1 or config.input_size != DIGITS_SIZE:
        raise ValueError(f"digits are 1x{DIGITS_SIZE}x{DIGITS_SIZE}; the model expects {config.in_channels}x"
                         f"{config.input_size}x{config.input_size} (use --input-size {DIGITS_SIZE} --in-channels 1)")
    d = load_digits()
    x = d.images.astype(np.int64)                      # 0..16
    xtr, xte, ytr, yte = train_test_split(x, d.target, test_size=DIGITS_TEST_FRACTION,
                                          random_state=DIGITS_SPLIT_SEED, stratify=d.target)
    x, y = (xtr, ytr) if split == "train" else (xte, yte)
    x = np.repeat(x[:, None, None], config.steps, axis=1)   # [N, T, 1, 8, 8]
    return x, y.astype(np.int64)


def _registry() -> dict:
    from functools import partial

    from . import event_datasets as ev
    from .image_datasets import idx_spec, load_idx_split

    def events(load, name):
        def run(split, config, limit=None, root=None, **options):
            report = ev.SplitReport(name, split)
            out = load(split, config, limit=limit, root=root, report=report, **options)
            ev.print_report(report)
            return out
        return run

    return {
        "digits": (_digits, digits_spec),
        "mnist": (partial(load_idx_split, "mnist"), idx_spec),
        "fashion_mnist": (partial(load_idx_split, "fashion_mnist"), idx_spec),
        "nmnist": (events(ev.load_nmnist, "nmnist"), ev.nmnist_spec),
        "dvs128_gesture": (events(ev.load_dvs128_gesture, "dvs128_gesture"),
                           lambda config, bits=None: ev.event_spec("dvs128_gesture", config,
                                                                   ev.SENSORS["dvs128_gesture"], bits)),
        "cifar10_dvs": (events(ev.load_cifar10_dvs, "cifar10_dvs"),
                        lambda config, bits=None: ev.event_spec("cifar10_dvs", config, ev.SENSORS["cifar10_dvs"],
                                                                bits)),
        "synthetic_gestures": (events(ev.load_synthetic_gestures, "synthetic_gestures"), ev.synthetic_spec),
    }


DATASETS = _registry()


def _entry(name: str):
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; expected one of {sorted(DATASETS)}")
    return DATASETS[name]


def input_shape(name: str, **options) -> tuple[int, list[int] | None]:
    """``(channels, input sizes that work)`` of a dataset (H = W; ``None``: any size, as for
    ``synthetic_gestures``, generated at the model's size unless ``sensor=`` is given)."""
    from . import event_datasets as ev
    from .image_datasets import IDX_SIZE
    _entry(name)
    if name == "digits":
        return 1, [DIGITS_SIZE]
    if name in ("mnist", "fashion_mnist"):
        return 1, [IDX_SIZE]
    if name in ev.SENSORS:
        return 2, ev.input_sizes(ev.SENSORS[name])
    sensor = options.get("sensor")
    return 2, (ev.input_sizes((int(sensor), int(sensor))) if sensor else None)


def _fits(shape: tuple[int, list[int] | None], config) -> bool:
    channels, sizes = shape
    return channels == config.in_channels and (sizes is None or config.input_size in sizes)


def check_shape(name: str, config, **options) -> None:
    """A ``ValueError`` naming the fix when ``config``'s input is not the shape of dataset ``name``:
    the dataset's own preset (``--preset``), the input sizes that work, the datasets of the model's shape."""
    from .recipe import DATASET_PRESETS, model_preset
    shape = input_shape(name, **options)
    if _fits(shape, config):
        return
    channels, sizes = shape
    size = config.input_size
    if sizes is None:
        have = f"{channels}-channel event frames at the model's input size"
    elif len(sizes) == 1:
        have = f"{channels}x{sizes[0]}x{sizes[0]} inputs"
    else:
        pooled = [str(v) for v in sizes[1:]]
        have = (f"{channels}x{sizes[0]}x{sizes[0]} event frames (or pooled to an input size of "
                + (", ".join(pooled[:-1]) + " or " if len(pooled) > 1 else "") + f"{pooled[-1]})")
    fixes = []
    preset = DATASET_PRESETS[name]
    if model_preset(preset) != config.preset:
        fixes.append(f"--preset {preset}, the preset for {name} (without --in-channels / --input-size)")
    knobs = ([f"--in-channels {channels}"] if config.in_channels != channels else []) + \
        ([f"--input-size {' | '.join(map(str, sizes))}"] if sizes is not None and size not in sizes else [])
    fixes.append(" ".join(knobs) + (" with this preset" if fixes else ""))
    if name == "synthetic_gestures" and options.get("sensor") and config.in_channels == channels:
        fixes.append(f"--data-option sensor={size} (or a multiple of {size}): the generated sensor")
    others = [d for d in DATASETS if d != name and _fits(input_shape(d), config)]
    if others:
        fixes.append(f"a dataset of the model's shape: --dataset {' | '.join(others)}")
    raise ValueError(f"{name} gives {have}; the model (Table IX preset {config.preset}) expects "
                     f"{config.in_channels}x{size}x{size}. Use " + "; or ".join(fixes))


def input_spec(name: str, config, **options) -> dict:
    """The input spec (bits, scale, encoding, shape; for events how frames are made) of ``name``."""
    check_shape(name, config, **options)
    return _entry(name)[1](config, **options)


def load_split(name: str, split: str, config, limit: int | None = None, *, root=None,
               **options) -> tuple[np.ndarray, np.ndarray]:
    """Integer inputs [N, T, C, H, W] and labels of ``split`` ('train' or 'test').

    ``limit`` loads only that many samples (event sets: a fixed mix of classes). ``root`` is
    the dataset's folder (default ``$SYNA_DATA/<name>``); ``options`` as for :func:`input_spec`."""
    load = _entry(name)[0]
    if split not in ("train", "test"):
        raise ValueError(f"split {split!r}; expected 'train' or 'test'")
    check_shape(name, config, **options)
    if name == "digits":
        if options:
            raise ValueError(f"digits take no options; got {sorted(options)}")
        x, y = load(split, config)
        return (x[:limit], y[:limit]) if limit else (x, y)
    return load(split, config, limit=limit, root=root, **options)
