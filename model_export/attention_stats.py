"""What SynA's gates do on data: MA's mean gate and IA's open fraction, per attention module.

The paper's claims about SynA (fewer spikes, shortcuts that fall silent) are claims about its gates,
so ``syna attention RUN`` measures them on the held-out split of a trained run (docs/results.md uses
it): for every attention module of the float model, with forward hooks,

- **MA** (``MultiDimAttention``): the mean of its sigmoid gate ``sigmoid(mlp(avg) + mlp(max))`` over
  samples, steps and the attended dimension (1.0: a pass-through; 0.5: every current halved), and
  the fraction of gate values below 0.5;
- **IA** (``InhibitoryAttention``): the fraction of (sample, step, channel or step) slots where its
  gate LIF fires, i.e. the shortcut current passes (0: the shortcut is cut for every sample: natural
  pruning, or a dead gate).

Both are reported next to the layer's current scale: ``in`` = mean positive current entering the
module, ``out`` = mean current leaving it, so ``out / in`` is the share attention lets through.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from .model import InhibitoryAttention, MultiDimAttention, attention_logits


@dataclass
class GateStats:
    module: str            # module path in the float model, e.g. blocks.0.short.attn
    kind: str              # MA | IA
    dim: str               # T | C | S
    gate_mean: float       # MA: mean sigmoid gate; IA: fraction of slots whose gate fires
    gate_low: float        # MA: fraction of gates < 0.5; IA: fraction of slots closed (1 - gate_mean)
    current_in: float      # mean of relu(input current)
    current_out: float     # mean of the gated output

    def to_dict(self) -> dict:
        return asdict(self)


class _Acc:
    def __init__(self):
        self.gate_sum = self.gate_n = self.low = 0.0
        self.cin = self.cout = 0.0
        self.n = 0


def gate_stats(model: torch.nn.Module, x: np.ndarray, scale: float, batch: int = 64) -> list[GateStats]:
    """Gate statistics of every attention module of ``model`` on integer inputs ``x`` [N, T, C, H, W]."""
    mods = [(name, m) for name, m in model.named_modules() if isinstance(m, (MultiDimAttention, InhibitoryAttention))]
    accs = {name: _Acc() for name, _ in mods}

    def hook(name, m):
        def fn(mod, inputs, out):
            a, cur = accs[name], inputs[0]
            if isinstance(mod, MultiDimAttention):
                g = torch.sigmoid(attention_logits(cur, mod.dim, mod.body))
                a.gate_sum += float(g.sum())
                a.gate_n += g.numel()
                a.low += float((g < 0.5).sum())
            a.cin += float(torch.relu(cur).mean())
            a.cout += float(out.mean())
            a.n += 1
        return fn

    def lif_hook(name):
        def fn(mod, inputs, out):
            a = accs[name]
            a.gate_sum += float(out.sum())
            a.gate_n += out.numel()
            a.low += float((out == 0).sum())
        return fn

    handles = []
    for name, m in mods:
        handles.append(m.register_forward_hook(hook(name, m)))
        if isinstance(m, InhibitoryAttention):
            handles.append(m.lif.register_forward_hook(lif_hook(name)))
    model.eval()
    try:
        with torch.no_grad():
            for i in range(0, len(x), batch):
                xb = torch.from_numpy(np.asarray(x[i:i + batch])).transpose(0, 1).float()
                model(xb * scale)
    finally:
        for h in handles:
            h.remove()
    out = []
    for name, m in mods:
        a = accs[name]
        mean = a.gate_sum / a.gate_n if a.gate_n else float("nan")
        out.append(GateStats(name, m.kind, m.dim, mean, a.low / a.gate_n if a.gate_n else float("nan"),
                             a.cin / a.n if a.n else float("nan"), a.cout / a.n if a.n else float("nan")))
    return out


def run_gate_stats(checkpoint, samples: int | None = None) -> tuple[str, list[GateStats]]:
    """:func:`gate_stats` of a training checkpoint on (the first ``samples`` of) its held-out split."""
    from .checkpoint import load_checkpoint
    from .data import load_split
    from .recipe import dataset_kwargs
    ck = load_checkpoint(checkpoint)
    _, split_opts = dataset_kwargs(ck.meta.get("train_args", {}))
    x, _ = load_split(ck.dataset, "test", ck.model.config, limit=samples, **split_opts)
    return f"{checkpoint} ({len(x)} {ck.dataset} held-out samples)", gate_stats(ck.model, x, ck.input_spec["scale"])


def gate_table(title: str, stats: list[GateStats]) -> str:
    if not stats:
        return f"{title}: no attention modules"
    rows = [title, f"  {'module':<24}{'kind':<5}{'dim':<4}{'gate':>8}{'low/closed':>12}{'in':>9}{'out':>9}{'out/in':>8}"]
    for s in stats:
        ratio = s.current_out / s.current_in if s.current_in else float("nan")
        rows.append(f"  {s.module:<24}{s.kind:<5}{s.dim:<4}{s.gate_mean:>8.3f}{s.gate_low:>12.3f}"
                    f"{s.current_in:>9.4f}{s.current_out:>9.4f}{ratio:>8.2f}")
    rows.append("  gate: MA mean sigmoid gate / IA fraction of slots where the gate fires; "
                "low/closed: MA gates < 0.5 / IA slots closed")
    return "\n".join(rows)
