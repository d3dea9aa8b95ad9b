"""Multi-process training through ``torchrun`` (DDP, Gloo on CPU), against what docs/training.md says.

docs/training.md: with N processes each global batch is split into N shards; the learnable
parameters and the training loss are exactly those of one process with ``--micro-batches N``
(same global batch); BN running statistics are rank 0's. Only rank 0 writes.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import torch

from model_export.checkpoint import load_checkpoint
from model_export.cli import main
from model_export.export import export_checkpoint

REPO = Path(__file__).resolve().parents[1]
ARGS = ["train", "--dataset", "digits", "--width", "0.125", "--input-size", "8", "--steps", "4", "--epochs", "2",
        "--batch-size", "32", "--lr", "0.05", "--train-limit", "80", "--eval-limit", "48", "--threads", "1",
        "--device", "cpu", "--no-plots"]


def _env() -> dict:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    for k in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(k, None)
    return env


def _run(cmd: list[str]) -> None:
    r = subprocess.run(cmd, cwd=REPO, env=_env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"{' '.join(cmd)} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"


def _params(path: Path) -> dict[str, torch.Tensor]:
    return dict(load_checkpoint(path).model.named_parameters())


def _losses(path: Path) -> list[float]:
    return [json.loads(l)["loss"] for l in open(path.with_suffix(".metrics.jsonl"))]


def test_torchrun_two_processes_match_one_process_with_two_micro_batches(tmp_path):
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or "torchrun"
    ddp, micro, plain = tmp_path / "ddp.pt", tmp_path / "micro.pt", tmp_path / "plain.pt"
    _run([torchrun, "--standalone", "--nproc_per_node=2", "-m", "model_export", *ARGS, "--out", str(ddp)])
    assert main([*ARGS, "--micro-batches", "2", "--out", str(micro)]) == 0      # one process, in this one
    assert main([*ARGS, "--out", str(plain)]) == 0

    # Rank 0 alone wrote: one metrics line per epoch, a complete checkpoint that exports.
    recs = [json.loads(l) for l in open(ddp.with_suffix(".metrics.jsonl"))]
    assert [r["epoch"] for r in recs] == [1, 2] and all(r["train_samples"] == 80 for r in recs)
    assert all(r["eval_samples"] == 48 for r in recs)         # the evaluation shards add up to the whole set
    assert load_checkpoint(ddp).meta["completed"]
    assert not list(tmp_path.glob("*.tmp"))
    export_checkpoint(ddp, tmp_path / "bundle", samples=2)

    # The documented equivalence: bit-identical parameters and training loss.
    p_ddp, p_micro, p_plain = _params(ddp), _params(micro), _params(plain)
    for k in p_ddp:
        assert torch.equal(p_ddp[k], p_micro[k]), f"{k}: DDP differs from one process with 2 micro-batches"
    assert _losses(ddp) == _losses(micro)
    # ...and the comparison can tell: one process with the whole batch (BN over 32, not 2 x 16) differs.
    assert any(not torch.equal(p_ddp[k], p_plain[k]) for k in p_ddp)
