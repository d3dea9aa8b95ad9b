"""Datasets as integer inputs for the hardware and float inputs for training.

Every dataset yields the *integer* input the hardware receives ([N, T, C, H, W],
values 0..2^bits-1) and an input spec (bits, scale, encoding); the float model
is trained on ``x_int * scale``, so training and the hardware see the same values.

Registered here: ``digits`` (scikit-learn's 8x8 digits, ships offline; static
images repeated over T, as the paper does for MNIST).
"""
from __future__ import annotations

import numpy as np

DIGITS_SPLIT_SEED = 0
DIGITS_TEST_FRACTION = 0.3


def digits_spec(config) -> dict:
    return dict(steps=config.steps, channels=1, height=8, width=8, encoding="pixels",
                bits=5, scale=1.0 / 16, static=True)


def _digits(split: str, config) -> tuple[np.ndarray, np.ndarray]:
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


DATASETS = {"digits": (_digits, digits_spec)}


def input_spec(name: str, config) -> dict:
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; expected one of {sorted(DATASETS)}")
    return DATASETS[name][1](config)


def load_split(name: str, split: str, config, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Integer inputs [N, T, C, H, W] and labels of ``split`` ('train' or 'test')."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; expected one of {sorted(DATASETS)}")
    if split not in ("train", "test"):
        raise ValueError(f"split {split!r}; expected 'train' or 'test'")
    x, y = DATASETS[name][0](split, config)
    return (x[:limit], y[:limit]) if limit else (x, y)
