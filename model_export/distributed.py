"""Devices and multi-process data parallelism (``torchrun``) for training.

``torchrun --nproc_per_node=N -m model_export train ...`` starts N processes and
sets ``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK``; :func:`setup` sees them, joins
the process group (NCCL on CUDA, Gloo on CPU) and pins each process to
``cuda:LOCAL_RANK``. Without those variables everything here is a no-op for one
process. The training loop (``train.py``) shards every global batch across the
ranks, wraps the model in :class:`torch.nn.parallel.DistributedDataParallel`
and lets rank 0 alone write logs, checkpoints and plots.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Context:
    """Where this process runs: rank among ``world`` processes, and its device."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def distributed(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that writes logs, checkpoints and plots."""
        return self.rank == 0


def resolve_device(name: str | None, local_rank: int = 0) -> torch.device:
    """``auto`` (CUDA when available, else CPU), ``cpu``, ``cuda`` or ``cuda:N``.

    Under ``torchrun`` a plain ``cuda`` (or ``auto`` on a GPU machine) becomes ``cuda:LOCAL_RANK``."""
    name = (name or "auto").lower()
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"device {name!r}: CUDA is not available on this machine (torch "
                             f"{torch.__version__}); use --device cpu")
        dev = torch.device(name)
        if dev.index is None:
            dev = torch.device("cuda", local_rank)
        if dev.index >= torch.cuda.device_count():
            raise ValueError(f"device {dev}: this machine has {torch.cuda.device_count()} CUDA device(s)")
        return dev
    raise ValueError(f"device {name!r}; expected auto, cpu, cuda or cuda:N")


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"environment variable {name}={value!r}; expected an integer (set by torchrun)") from None


def setup(device: str | None = None) -> Context:
    """Join the process group when started by ``torchrun`` (``WORLD_SIZE`` > 1); else one process."""
    world = _env_int("WORLD_SIZE", 1)
    rank = _env_int("RANK", 0)
    local_rank = _env_int("LOCAL_RANK", 0)
    dev = resolve_device(device, local_rank)
    if world > 1:
        if not dist.is_available():
            raise ValueError("WORLD_SIZE > 1 but this torch build has no torch.distributed")
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        if not dist.is_initialized():
            dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo")
    return Context(rank, world, local_rank, dev)


def teardown(ctx: Context) -> None:
    if ctx.distributed and dist.is_initialized():
        dist.destroy_process_group()


def all_reduce_sum(values: torch.Tensor, ctx: Context) -> torch.Tensor:
    """Sum a tensor over all ranks (in place; returned for chaining). One process: unchanged."""
    if ctx.distributed:
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values


def broadcast_buffers(module: torch.nn.Module, ctx: Context) -> None:
    """Give every rank rank 0's buffers (BN running statistics) before evaluation."""
    if ctx.distributed:
        for b in module.buffers():
            dist.broadcast(b, src=0)


def barrier(ctx: Context) -> None:
    if ctx.distributed:
        dist.barrier()
