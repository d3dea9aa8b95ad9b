"""Checkpoints: the float model's weights plus what is needed to rebuild and export it.

A checkpoint written by ``train`` also carries ``train_state`` (optimizer,
scheduler, random generators, phase and epoch, the metrics so far), which
``train --resume`` continues from; checkpoints without it still load.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import torch

from syna_contract import numerics as nx
from .model import ModelConfig, SynAResNet
from .quant import QuantSettings

CHECKPOINT_FORMAT = "syna-checkpoint-1"


@dataclass
class Checkpoint:
    model: SynAResNet
    dataset: str
    input_spec: dict
    meta: dict = field(default_factory=dict)

    def weight_bits(self, default: int) -> int:
        """The weight bits the checkpoint was fine-tuned for (quantisation-aware), else ``default``."""
        args = self.meta.get("train_args", {})
        done = self.meta.get("qat_epochs_done", args.get("qat_epochs"))   # older checkpoints: the planned epochs
        return int(args["weight_bits"]) if done else default

    def quant_settings(self, weight_bits: int | None = None, mem_bits: int = nx.DEFAULT_MEM_BITS) -> QuantSettings:
        """How this checkpoint is exported: ``weight_bits`` if given, else the bits it was fine-tuned for,
        else 8; the input scale of its dataset."""
        return QuantSettings(weight_bits=weight_bits or self.weight_bits(nx.DEFAULT_WEIGHT_BITS), mem_bits=mem_bits,
                             input_scale=self.input_spec["scale"])


def save_checkpoint(path: str | Path, model: SynAResNet, dataset: str, input_spec: dict, meta: dict | None = None,
                    train_state: dict | None = None):
    """Write atomically (a temporary file, then rename): an interrupted save leaves the old checkpoint."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ck = dict(format=CHECKPOINT_FORMAT, config=model.config.to_dict(), state_dict=model.state_dict(),
              dataset=dataset, input_spec=input_spec, meta=meta or {})
    if train_state is not None:
        ck["train_state"] = train_state
    tmp = path.with_name(path.name + ".tmp")
    torch.save(ck, tmp)
    os.replace(tmp, path)


def _read(path: Path) -> dict:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: checkpoint not found")
    try:
        ck = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # torch raises many types for a bad file
        raise ValueError(f"{path}: not a readable torch checkpoint ({e})") from None
    if not isinstance(ck, dict) or ck.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: not a syna-fpga checkpoint (expected format {CHECKPOINT_FORMAT!r}; "
                         "make one with `python -m model_export train`)")
    return ck


def load_train_state(path: str | Path) -> tuple[dict, dict]:
    """``(meta, train_state)`` of a checkpoint written by ``train``, for ``--resume``."""
    path = Path(path)
    ck = _read(path)
    if "train_state" not in ck:
        raise ValueError(f"{path}: this checkpoint has no training state (written before resume existed, or not "
                         "by `train`); it can be exported but not resumed")
    return ck.get("meta", {}), ck["train_state"]


def load_checkpoint(path: str | Path) -> Checkpoint:
    path = Path(path)
    ck = _read(path)
    from . import zoo
    meta = ck.get("meta", {})
    arch = meta.get("arch") or meta.get("train_args", {}).get("arch") or "syna-resnet"
    model = zoo.build_model(arch, ModelConfig.from_dict(ck["config"]))
    model.load_state_dict(ck["state_dict"])
    return Checkpoint(model.eval(), ck["dataset"], ck["input_spec"], ck.get("meta", {}))
