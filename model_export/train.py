"""Training: the paper's recipe (Table X: Adam, cosine annealing, MSE between the
time-averaged output and the one-hot label) on the registered datasets, then
optional quantisation-aware fine-tuning through the integer contract's fake-quant.

- presets: :data:`TRAIN_PRESETS` (Table X) gives lr, batch, epochs, loss and
  augmentation per dataset; T and the topology come from ``model.PRESETS``
  (Table IX). Any option given on the command line wins.
- every epoch: train loss, then the evaluation set's accuracy, loss, per-layer
  firing rates and silent shortcuts (natural pruning, ``analysis.py``) as one
  JSON line in ``<out>.metrics.jsonl``; the checkpoint ``<out>`` is rewritten
  (atomically) with the full training state, so ``--resume <out>`` continues
  after the last completed epoch with the same optimizer, scheduler and random
  generators: an interrupted and resumed run ends bit-identical to an
  uninterrupted one (on the same device and thread count).
- ``torchrun --nproc_per_node=N``: DistributedDataParallel; every global batch
  (``--batch-size``) is split into N shards; the learnable parameters follow
  exactly what one process computes with ``--micro-batches N`` (docs/training.md).
- ``--amp``: float16 autocast and a gradient scaler, CUDA only.
"""
from __future__ import annotations

import dataclasses
import json
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import distributed as dist
from .progress import progress, say
from .analysis import EvalStats, evaluate_spikes, loss_fn
from .checkpoint import load_train_state, save_checkpoint
from .data import input_spec, load_split
from .fakequant import FakeQuantNet
from .model import AttentionSpec
from .quant import QuantSettings
from . import zoo
from .recipe import (QAT_LR_FACTOR, TRAIN_PRESETS, TRANSLATE_FRACTION, TrainArgs, augment_kinds,
                     RESUME_FREE, dataset_kwargs, model_preset, resolve)

__all__ = ["TRAIN_PRESETS", "TrainArgs", "evaluate", "resolve", "train"]


def augment_batch(x: np.ndarray, kinds: tuple[str, ...], rng: np.random.Generator) -> np.ndarray:
    """Integer samples [B, T, C, H, W] -> augmented copy: the same transform at every step of a sample.

    ``flip``: horizontal, p = 0.5. ``translate``: a shift of up to TRANSLATE_FRACTION of the size in
    each axis, zero fill (integers stay integers: the hardware input contract holds)."""
    x = np.array(x, copy=True)
    if "flip" in kinds:
        flip = rng.random(len(x)) < 0.5
        x[flip] = x[flip][..., ::-1]
    if "translate" in kinds:
        h, w = x.shape[-2:]
        my, mx = max(1, round(h * TRANSLATE_FRACTION)), max(1, round(w * TRANSLATE_FRACTION))
        shifts = np.stack([rng.integers(-my, my + 1, len(x)), rng.integers(-mx, mx + 1, len(x))], axis=1)
        out = np.zeros_like(x)
        for i, (dy, dx) in enumerate(shifts):
            out[i, ..., max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
                x[i, ..., max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
        x = out
    return x


def attention_options(args: TrainArgs) -> dict:
    """The AttentionSpec training options given (``None`` keeps AttentionSpec's default)."""
    given = dict(ia_form=args.attention_form, init=args.attention_init, min_hidden=args.attention_min_hidden)
    return {k: v for k, v in given.items() if v is not None}


def evaluate(net, x: np.ndarray, y: np.ndarray, scale: float, batch: int = 128, integer: bool = False) -> float:
    """Top-1 accuracy (%). ``integer`` feeds integer inputs (for :class:`FakeQuantNet`)."""
    return evaluate_spikes(net, x, y, scale, "mse", integer=integer, batch=batch).accuracy


# --------------------------------------------------------------------------- the loop
class MetricsLog:
    """``<out>.metrics.jsonl``: one JSON object per epoch (rank 0 writes; resuming rewrites the kept lines)."""

    def __init__(self, path: Path, records: list[dict], enabled: bool):
        self.path, self.records, self.enabled = path, list(records), enabled
        if enabled:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(json.dumps(r) + "\n" for r in self.records))

    def write(self, rec: dict) -> None:
        self.records.append(rec)
        if self.enabled:
            with open(self.path, "a") as f:
                f.write(json.dumps(rec) + "\n")


@dataclass
class Phase:
    name: str              # float | qat
    epochs: int
    lr: float
    integer: bool          # feeds integer input to the fake-quant model


def _shards(n: int, ctx: dist.Context, micro: int) -> list[np.ndarray] | None:
    """This rank's micro-batches of a global batch of ``n`` (positions), or None if some shard would be empty."""
    parts = np.array_split(np.arange(n), ctx.world * micro)
    if any(len(p) == 0 for p in parts):
        return None
    return parts[ctx.rank * micro:(ctx.rank + 1) * micro]


def _train_epoch(net, opt, scaler, x, y, scale, args: TrainArgs, phase: Phase, rng, ctx, classes, bar_desc):
    """One pass over the training set; returns (summed loss, samples trained, samples skipped)."""
    net.train()
    order = rng.permutation(len(x))
    kinds = augment_kinds(args.augment)
    total, seen, skipped = 0.0, 0, 0
    amp = args.amp and not phase.integer
    starts = range(0, len(x), args.batch_size)
    bar = progress(starts, desc=bar_desc, leave=False, disable=not ctx.is_main)
    for i in bar:
        idx = order[i:i + args.batch_size]
        xg = x[idx]
        if kinds:
            xg = augment_batch(xg, kinds, rng)       # every rank draws the same numbers: same global batch
        parts = _shards(len(idx), ctx, args.micro_batches)
        if parts is None:                            # fewer samples than shards (the last batch only)
            skipped += len(idx)
            continue
        opt.zero_grad()
        for k, part in enumerate(parts):
            xb = torch.from_numpy(np.asarray(xg[part])).transpose(0, 1).to(ctx.device, torch.float32)
            yb = torch.from_numpy(np.asarray(y[idx[part]])).to(ctx.device)
            sync = nullcontext() if not ctx.distributed or k == len(parts) - 1 else net.no_sync()
            with sync:
                with torch.autocast(ctx.device.type, enabled=amp):
                    out = net(xb if phase.integer else xb * scale)
                loss = loss_fn(out, yb, args.loss, classes)
                # Weight by the shard's share of the global batch (DDP averages over ranks): the summed
                # gradient is the gradient of the global batch's mean loss, whatever the split.
                weight = len(part) * ctx.world / len(idx)
                scaled = loss * weight if weight != 1 else loss
                (scaler.scale(scaled) if scaler else scaled).backward()
            total += loss.item() * len(part)
            seen += len(part)
        if scaler:
            scaler.step(opt)
            scaler.update()
        else:
            opt.step()
        if ctx.is_main:
            bar.set_postfix(loss=f"{loss.item():.4f}")
    sums = dist.all_reduce_sum(torch.tensor([total, seen], dtype=torch.float64,
                                            device=ctx.device if ctx.device.type == "cuda" else "cpu"), ctx)
    total, seen = sums.cpu().tolist()
    return total, int(seen), skipped


def _bar(desc: str, ctx: dist.Context):
    return lambda it: progress(it, desc=desc, unit="batch", leave=False, disable=not ctx.is_main)


def _pruning_line(stats: EvalStats) -> str:
    """The natural-pruning log line: silent shortcuts, and which of them sit in dead blocks."""
    dead = stats.dead_block_shortcuts()
    live = [s for s in stats.silent_shortcuts() if s not in dead]
    parts = []
    if live:
        parts.append(f"natural pruning: {', '.join(live)} silent on all {stats.samples} evaluation samples")
    if dead:
        parts.append(f"{', '.join(dead)} silent in a dead block (backbone silent too: the block passes nothing)")
    return "; ".join(parts)


def _rng_state(rng: np.random.Generator, ctx: dist.Context) -> dict:
    s = dict(numpy=rng.bit_generator.state, torch=torch.get_rng_state())
    if ctx.device.type == "cuda":
        s["cuda"] = torch.cuda.get_rng_state(ctx.device)
    return s


def _set_rng_state(rng: np.random.Generator, state: dict, ctx: dist.Context) -> None:
    rng.bit_generator.state = state["numpy"]
    torch.set_rng_state(state["torch"])
    if ctx.device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], ctx.device)


def _merge_resume(saved: dict, given: dict) -> TrainArgs:
    """The saved run's options; options given again must match, except :data:`RESUME_FREE`."""
    fields = {f.name for f in dataclasses.fields(TrainArgs)}
    base = TrainArgs(**{k: v for k, v in saved.items() if k in fields})
    for k, v in given.items():
        if k not in RESUME_FREE and v != getattr(base, k):
            raise ValueError(f"--resume continues the saved run: --{k.replace('_', '-')} {v!r} differs from its "
                             f"{getattr(base, k)!r}; leave the option out, or start a new run")
    out = given.get("out", given["resume"])
    return dataclasses.replace(base, **{k: v for k, v in given.items() if k in RESUME_FREE}, out=out)


def train(args: TrainArgs, given: dict | None = None) -> Path:
    """Train (float, then optional quantisation-aware phase); return the checkpoint path.

    ``given``: the options the user actually gave (the CLI passes them), used to check a
    ``--resume``; by default every option that differs from :class:`TrainArgs`' default."""
    if given is None:
        defaults = TrainArgs()
        given = {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainArgs)
                 if getattr(args, f.name) != getattr(defaults, f.name)}
    state = None
    if args.resume:
        meta, state = load_train_state(args.resume)
        if meta.get("completed"):
            print(f"{args.resume}: this run is complete ({len(state.get('records', []))} epochs logged); "
                  "nothing to resume")
            return Path(args.resume)
        args = _merge_resume(meta.get("train_args", {}), given)
    args = resolve(args)
    ctx = dist.setup(args.device)
    try:
        return _train(args, ctx, state)
    finally:
        dist.teardown(ctx)


def _train(args: TrainArgs, ctx: dist.Context, state: dict | None) -> Path:
    if args.amp and ctx.device.type != "cuda":
        raise ValueError("--amp needs a CUDA device (float16 autocast with a gradient scaler); this run is on "
                         f"{ctx.device}: leave --amp out (CPU runs in float32)")
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    attention = None if args.attention == "none" else AttentionSpec(args.attention, args.attention_position,
                                                                    **attention_options(args))
    cfg = zoo.make_config(args.arch, model_preset(args.preset), width=args.width, input_size=args.input_size,
                          in_channels=args.in_channels, num_classes=args.num_classes, steps=args.steps,
                          merge=args.merge, attention=attention)
    args = dataclasses.replace(args, merge=cfg.merge, attention=cfg.attention.dim if cfg.attention else "none",
                               attention_position=cfg.attention.position if cfg.attention else args.attention_position)
    if cfg.attention is not None:        # record what the run used (the checkpoint's config has it too)
        args = dataclasses.replace(args, attention_form=cfg.attention.ia_form, attention_init=cfg.attention.init,
                                   attention_min_hidden=cfg.attention.min_hidden)
    if args.qat_epochs and not zoo.describe(args.arch, cfg).exportable:
        raise ValueError(f"--qat-epochs: arch {args.arch!r} cannot be exported to the integer contract, so there is "
                         f"nothing to fine-tune for: {zoo.describe(args.arch, cfg).refusal}")
    spec_opts, split_opts = dataset_kwargs(vars(args))
    spec = input_spec(args.dataset, cfg, **spec_opts)
    xtr, ytr = load_split(args.dataset, "train", cfg, limit=args.train_limit, **split_opts)
    xte, yte = load_split(args.dataset, "test", cfg, limit=args.eval_limit, **split_opts)
    model = zoo.build_model(args.arch, cfg)
    if state is not None:
        model.load_state_dict(torch.load(args.resume, map_location="cpu", weights_only=False)["state_dict"])
    model.to(ctx.device)
    out = Path(args.out)
    log = MetricsLog(out.with_suffix(".metrics.jsonl"), state["records"] if state else [], ctx.is_main)
    scale = spec["scale"]
    if ctx.is_main:
        say(f"train {args.dataset} ({len(xtr)} train, {len(xte)} evaluation samples), preset {args.preset}, "
                   f"arch {args.arch}, merge {args.merge}, attention {args.attention}, T={cfg.steps}, batch {args.batch_size}"
                   + (f" over {ctx.world} processes" if ctx.distributed else "")
                   + (f" in {args.micro_batches} micro-batches" if args.micro_batches > 1 else "")
                   + f", lr {args.lr}, {args.loss} loss, on {ctx.device}")
        if state:
            say(f"resuming {args.resume}: phase {state['phase']}, {state['epoch']} epoch(s) done")

    phases = [Phase("float", args.epochs, args.lr, False)]
    if args.qat_epochs:
        phases.append(Phase("qat", args.qat_epochs, args.lr * QAT_LR_FACTOR, True))
    resume_phase = {"float": 0, "qat": 1}[state["phase"]] if state else -1
    qat_done = state.get("qat_epochs_done", 0) if state else 0
    stats: EvalStats | None = None
    for pi, phase in enumerate(phases):
        if pi < resume_phase:
            continue
        if phase.integer:
            # BN statistics stay frozen (FakeQuantNet keeps BN in eval mode) while the weights adapt.
            net = FakeQuantNet(model, QuantSettings(weight_bits=args.weight_bits, input_scale=scale))
        else:
            net = model
        opt = torch.optim.Adam(model.parameters(), lr=phase.lr)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, phase.epochs))
        scaler = torch.amp.GradScaler("cuda") if args.amp and not phase.integer else None
        rng = np.random.default_rng(args.seed)
        start = 0
        if state is not None and pi == resume_phase:
            opt.load_state_dict(state["optimizer"])
            sched.load_state_dict(state["scheduler"])
            if scaler and state.get("scaler"):
                scaler.load_state_dict(state["scaler"])
            _set_rng_state(rng, state["rng"], ctx)
            start = state["epoch"]
        train_net = net
        if ctx.distributed:
            train_net = torch.nn.parallel.DistributedDataParallel(
                net, device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None)
        for epoch in range(start, phase.epochs):
            t0 = time.time()
            lr = opt.param_groups[0]["lr"]
            total, seen, skipped = _train_epoch(train_net, opt, scaler, xtr, ytr, scale, args, phase, rng, ctx,
                                                cfg.num_classes, f"{phase.name} epoch {epoch + 1}/{phase.epochs}")
            sched.step()
            dist.broadcast_buffers(model, ctx)       # evaluate (and save) rank 0's BN statistics everywhere
            stats = evaluate_spikes(net, xte, yte, scale, args.loss, ctx, integer=phase.integer,
                                    amp=args.amp and not phase.integer, progress=_bar("evaluation", ctx))
            rec = dict(phase=phase.name, epoch=epoch + 1, lr=lr, loss=total / max(1, seen), train_samples=seen,
                       **stats.to_record(), seconds=time.time() - t0)
            if skipped:
                rec["skipped_samples"] = skipped
            log.write(rec)
            if phase.integer:
                qat_done = epoch + 1
            if ctx.is_main:
                say(f"{phase.name} epoch {epoch + 1:3d}  loss {rec['loss']:.4f}  test {stats.accuracy:.2f}%  "
                           f"{stats.spikes_per_neuron():.3f} spikes/neuron")
                if rec["silent_shortcuts"]:
                    say(f"  {_pruning_line(stats)}")
                last = epoch + 1 == phase.epochs
                if last or (epoch + 1) % args.save_every == 0:
                    tstate = dict(phase=phase.name, epoch=epoch + 1, optimizer=opt.state_dict(),
                                  scheduler=sched.state_dict(), scaler=scaler.state_dict() if scaler else None,
                                  rng=_rng_state(rng, ctx), records=log.records, qat_epochs_done=qat_done)
                    save_checkpoint(out, model, args.dataset, spec,
                                    dict(train_args=vars(args), completed=False, qat_epochs_done=qat_done), tstate)
        if ctx.distributed:
            del train_net

    final = evaluate_spikes(model, xte, yte, scale, args.loss, ctx, progress=_bar("final evaluation", ctx))
    float_recs = [r for r in log.records if r["phase"] == "float"]
    float_acc = float_recs[-1]["test_acc"] if float_recs else final.accuracy
    if ctx.is_main:
        say(f"float model {final.accuracy:.2f}% on {final.samples} evaluation samples, "
                   f"{final.spikes_per_neuron():.3f} spikes/neuron"
                   + (f", silent shortcuts {final.silent_shortcuts()}" if final.silent_shortcuts() else ""))
        meta = dict(train_args=vars(args), completed=True, qat_epochs_done=qat_done, float_test_acc=float_acc,
                    final_float_test_acc=final.accuracy, final_eval=final.to_record())
        last_state = dict(phase=phases[-1].name, epoch=phases[-1].epochs, records=log.records,
                          qat_epochs_done=qat_done, optimizer=None, scheduler=None, scaler=None, rng=None)
        save_checkpoint(out, model, args.dataset, spec, meta, last_state)
        if args.plots:
            try:
                from .plots import plot_run
                for p in plot_run(out):
                    say(f"plot {p}")
            except Exception as e:   # the checkpoint is saved; a plotting problem must not lose the run
                say(f"warning: plots failed ({e}); retry with `python -m model_export plot {out}`")
    dist.barrier(ctx)
    return out
