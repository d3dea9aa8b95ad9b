"""Training: the paper's recipe (Adam, cosine annealing, MSE to one-hot of the
time-averaged output) on the registered datasets, with optional
quantisation-aware fine-tuning through the integer contract's fake-quant."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from .checkpoint import save_checkpoint
from .data import input_spec, load_split
from .fakequant import FakeQuantNet
from .model import AttentionSpec, SynAResNet, make_config
from .quant import QuantSettings


@dataclass
class TrainArgs:
    dataset: str = "digits"
    preset: str = "mnist"
    width: float | None = None
    input_size: int | None = None
    in_channels: int | None = None
    num_classes: int | None = None
    steps: int | None = None
    merge: str = "OR"
    attention: str = "none"          # none | T | C | S  (SynA: MA on backbone + IA on shortcut)
    attention_position: str = "b"
    epochs: int = 30
    qat_epochs: int = 0
    batch_size: int = 64
    lr: float = 1e-2
    loss: str = "mse"                # mse (paper) | ce
    weight_bits: int = 8
    seed: int = 2023
    out: str = "build/train/model.pt"
    threads: int | None = None


def _loss(out: torch.Tensor, y: torch.Tensor, kind: str, classes: int) -> torch.Tensor:
    if kind == "mse":
        return F.mse_loss(out, F.one_hot(y, classes).float())
    if kind == "ce":
        return F.cross_entropy(out, y)
    raise ValueError(f"loss {kind!r}; expected 'mse' or 'ce'")


def evaluate(net, x: np.ndarray, y: np.ndarray, scale: float, batch: int = 128, integer: bool = False) -> float:
    """Top-1 accuracy (%). ``integer`` feeds integer inputs (for :class:`FakeQuantNet`)."""
    net.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            xb = torch.from_numpy(x[i:i + batch]).transpose(0, 1).float()
            out = net(xb if integer else xb * scale)
            correct += int((out.argmax(1).numpy() == y[i:i + batch]).sum())
    return 100.0 * correct / max(1, len(x))


def _epochs(net, opt, sched, x, y, scale, args: TrainArgs, epochs: int, integer: bool, log, tag: str,
            xte, yte, classes):
    rng = np.random.default_rng(args.seed)
    for epoch in range(epochs):
        net.train()
        order = rng.permutation(len(x))
        total, t0 = 0.0, time.time()
        bar = tqdm(range(0, len(x), args.batch_size), desc=f"{tag} epoch {epoch + 1}/{epochs}", leave=False)
        for i in bar:
            idx = order[i:i + args.batch_size]
            xb = torch.from_numpy(x[idx]).transpose(0, 1).float()
            out = net(xb if integer else xb * scale)
            loss = _loss(out, torch.from_numpy(y[idx]), args.loss, classes)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
            bar.set_postfix(loss=f"{loss.item():.4f}")
        sched.step()
        acc = evaluate(net, xte, yte, scale, integer=integer)
        rec = dict(phase=tag, epoch=epoch + 1, loss=total / len(x), test_acc=acc, seconds=time.time() - t0)
        log.write(json.dumps(rec) + "\n")
        log.flush()
        tqdm.write(f"{tag} epoch {epoch + 1:3d}  loss {rec['loss']:.4f}  test {acc:.2f}%")


def train(args: TrainArgs) -> Path:
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    attention = None if args.attention == "none" else AttentionSpec(args.attention, args.attention_position)
    cfg = make_config(args.preset, width=args.width, input_size=args.input_size, in_channels=args.in_channels,
                      num_classes=args.num_classes, steps=args.steps, merge=args.merge, attention=attention)
    spec = input_spec(args.dataset, cfg)
    xtr, ytr = load_split(args.dataset, "train", cfg)
    xte, yte = load_split(args.dataset, "test", cfg)
    model = SynAResNet(cfg)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.with_suffix(".metrics.jsonl"), "w") as log:
        opt = torch.optim.Adam(model.parameters(), lr=args.lr)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, args.epochs))
        _epochs(model, opt, sched, xtr, ytr, spec["scale"], args, args.epochs, False, log, "float",
                xte, yte, cfg.num_classes)
        float_acc = evaluate(model, xte, yte, spec["scale"])
        if args.qat_epochs:
            # BN statistics stay frozen (FakeQuantNet keeps BN in eval mode) while the weights adapt.
            fq = FakeQuantNet(model, QuantSettings(weight_bits=args.weight_bits, input_scale=spec["scale"]))
            opt = torch.optim.Adam(model.parameters(), lr=args.lr * 0.05)
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.qat_epochs)
            _epochs(fq, opt, sched, xtr, ytr, spec["scale"], args, args.qat_epochs, True, log, "qat",
                    xte, yte, cfg.num_classes)
    meta = dict(train_args=vars(args), float_test_acc=float_acc,
                final_float_test_acc=evaluate(model, xte, yte, spec["scale"]))
    save_checkpoint(out, model, args.dataset, spec, meta)
    return out
