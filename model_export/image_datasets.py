"""MNIST and Fashion-MNIST from their IDX files in a local folder (no download).

    <root>/train-images-idx3-ubyte[.gz]   <root>/train-labels-idx1-ubyte[.gz]
    <root>/t10k-images-idx3-ubyte[.gz]    <root>/t10k-labels-idx1-ubyte[.gz]

Both sets use these names. Pixels 0..255 are the integer input (8 bits, scale 1/255), repeated
over T as the paper does (direct encoding). Inputs are uint8: 60,000 x T=16 x 28 x 28 is 750 MB.
"""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from .event_datasets import DatasetMissingError, dataset_root

IDX_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
             "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
IDX_UBYTE = 0x08
IDX_SIZE = 28                     # MNIST and Fashion-MNIST images are 28 x 28


class IdxError(ValueError):
    """An IDX file that is not what its header says."""


def read_idx(path: Path) -> np.ndarray:
    """An IDX array of unsigned bytes (``.gz`` read through gzip)."""
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != IDX_UBYTE or not 1 <= raw[3] <= 4:
        raise IdxError(f"{path}: byte 0: header {raw[:4].hex()}; expected 00 00 08 0N (IDX, unsigned bytes, N dims)")
    ndim = raw[3]
    if len(raw) < 4 + 4 * ndim:
        raise IdxError(f"{path}: byte 4: truncated header; expected {ndim} 32-bit dimension sizes")
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    start = 4 + 4 * ndim
    need = int(np.prod(dims))
    if len(raw) - start != need:
        raise IdxError(f"{path}: byte {start}: {len(raw) - start} bytes of data; expected {need} for shape {dims}")
    return np.frombuffer(raw, dtype=np.uint8, offset=start).reshape(dims)


def _find(root: Path, name: str) -> Path | None:
    for candidate in (root / name, root / (name + ".gz")):
        if candidate.is_file():
            return candidate
    return None


def idx_spec(config) -> dict:
    return dict(steps=config.steps, channels=1, height=IDX_SIZE, width=IDX_SIZE, encoding="pixels", bits=8,
                scale=1.0 / 255, static=True)


def load_idx_split(name: str, split: str, config, limit=None, root=None) -> tuple[np.ndarray, np.ndarray]:
    if config.in_channels != 1 or config.input_size != IDX_SIZE:
        raise ValueError(f"{name} is 1x{IDX_SIZE}x{IDX_SIZE}; the model expects {config.in_channels}x{config.input_size}x"
                         f"{config.input_size} (use --input-size {IDX_SIZE} --in-channels 1)")
    root = dataset_root(name, root)
    paths = {n: _find(root, n) for files in IDX_FILES.values() for n in files}
    missing = [f"{n}[.gz]" for n, p in paths.items() if p is None]
    if missing:
        raise DatasetMissingError(f"{name}: {root} is incomplete: missing {', '.join(missing)}. Expected the four "
                                  "IDX files of the original distribution (see docs/datasets.md)")
    images, labels = (read_idx(paths[n]) for n in IDX_FILES[split])
    if images.ndim != 3 or images.shape[1:] != (IDX_SIZE, IDX_SIZE) or labels.ndim != 1 or len(labels) != len(images):
        raise IdxError(f"{paths[IDX_FILES[split][0]]}: images {images.shape}, labels {labels.shape}; "
                       "expected [N, 28, 28] images and N labels")
    if limit:
        images, labels = images[:limit], labels[:limit]
    x = np.repeat(images[:, None, None], config.steps, axis=1)      # [N, T, 1, 28, 28] uint8
    return x, labels.astype(np.int64)
