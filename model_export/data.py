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
Dataset options (``bits=``, and for ``synthetic_gestures`` ``sensor=``, ``train_users=``,
``test_users=``, ``seed=``) go to both :func:`input_spec` and :func:`load_split`.
"""
from __future__ import annotations

import numpy as np

DIGITS_SPLIT_SEED = 0
DIGITS_TEST_FRACTION = 0.3


def digits_spec(config) -> dict:
    return dict(steps=config.steps, channels=1, height=8, width=8, encoding="pixels",
                bits=5, scale=1.0 / 16, static=True)


def _digits(split: str, config, limit=None, root=None) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    if config.in_channels != 1 or config.input_size != 8:
        raise ValueError(f"digits are 1x8x8; the model expects {config.in_channels}x{config.input_size}x"
                         f"{config.input_size} (use --input-size 8 --in-channels 1)")
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
        "nmnist": (events(ev.load_nmnist, "nmnist"),
                   lambda config, bits=None: ev.event_spec("nmnist", config, (34, 34), bits)),
        "dvs128_gesture": (events(ev.load_dvs128_gesture, "dvs128_gesture"),
                           lambda config, bits=None: ev.event_spec("dvs128_gesture", config, (128, 128), bits)),
        "cifar10_dvs": (events(ev.load_cifar10_dvs, "cifar10_dvs"),
                        lambda config, bits=None: ev.event_spec("cifar10_dvs", config, (128, 128), bits)),
        "synthetic_gestures": (events(ev.load_synthetic_gestures, "synthetic_gestures"), ev.synthetic_spec),
    }


DATASETS = _registry()


def _entry(name: str):
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; expected one of {sorted(DATASETS)}")
    return DATASETS[name]


def input_spec(name: str, config, **options) -> dict:
    """The input spec (bits, scale, encoding, shape; for events how frames are made) of ``name``."""
    return _entry(name)[1](config, **options)


def load_split(name: str, split: str, config, limit: int | None = None, *, root=None,
               **options) -> tuple[np.ndarray, np.ndarray]:
    """Integer inputs [N, T, C, H, W] and labels of ``split`` ('train' or 'test').

    ``limit`` loads only that many samples (event sets: a fixed mix of classes). ``root`` is
    the dataset's folder (default ``$SYNA_DATA/<name>``); ``options`` as for :func:`input_spec`."""
    load = _entry(name)[0]
    if split not in ("train", "test"):
        raise ValueError(f"split {split!r}; expected 'train' or 'test'")
    if name == "digits":
        if options:
            raise ValueError(f"digits take no options; got {sorted(options)}")
        x, y = load(split, config)
        return (x[:limit], y[:limit]) if limit else (x, y)
    return load(split, config, limit=limit, root=root, **options)
