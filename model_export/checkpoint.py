"""Checkpoints: the float model's weights plus what is needed to rebuild and export it."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from .model import ModelConfig, SynAResNet

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
        return int(args["weight_bits"]) if args.get("qat_epochs") else default


def save_checkpoint(path: str | Path, model: SynAResNet, dataset: str, input_spec: dict, meta: dict | None = None):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    torch.save(dict(format=CHECKPOINT_FORMAT, config=model.config.to_dict(), state_dict=model.state_dict(),
                    dataset=dataset, input_spec=input_spec, meta=meta or {}), path)


def load_checkpoint(path: str | Path) -> Checkpoint:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: checkpoint not found")
    try:
        ck = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # torch raises many types for a bad file
        raise ValueError(f"{path}: not a readable torch checkpoint ({e})") from None
    if not isinstance(ck, dict) or ck.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: not a syna-fpga checkpoint (expected format {CHECKPOINT_FORMAT!r}; "
                         "make one with `python -m model_export train`)")
    model = SynAResNet(ModelConfig.from_dict(ck["config"]))
    model.load_state_dict(ck["state_dict"])
    return Checkpoint(model.eval(), ck["dataset"], ck["input_spec"], ck.get("meta", {}))
