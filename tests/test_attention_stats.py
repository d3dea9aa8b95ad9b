"""syna attention: MA mean gate and IA open fraction measured with hooks on the float model."""
from __future__ import annotations

import torch

from helpers import random_inputs, random_model, small_config
from model_export.attention_stats import gate_stats, gate_table
from model_export.model import AttentionSpec, InhibitoryAttention


def _model(dim):
    x = random_inputs(8, steps=4, seed=1)
    return random_model(small_config(attention=AttentionSpec(dim, "b"), steps=4, width=0.25), x, seed=1), x


def test_gates_are_measured_on_every_attention_module():
    model, x = _model("T")
    stats = gate_stats(model, x, scale=1 / 16, batch=4)
    assert sum(s.kind == "IA" for s in stats) == 3 and sum(s.kind == "MA" for s in stats) > 0
    assert any(s.current_in > 0 for s in stats), "the random model should carry current"
    for s in stats:
        assert 0.0 <= s.gate_mean <= 1.0
        if s.kind == "IA":
            assert abs(s.gate_low - (1 - s.gate_mean)) < 1e-9            # closed = not firing
        if s.kind == "MA" and s.current_in > 0:
            assert s.current_out <= s.current_in + 1e-6                  # relu(sigmoid * x) <= relu(x)


def test_a_closed_gate_lets_no_current_through():
    model, x = _model("C")
    ia = next(m for m in model.modules() if isinstance(m, InhibitoryAttention))
    with torch.no_grad():
        ia.body.fc2.weight.fill_(-1.0)                     # negative logits on a non-negative pool: never fires
        ia.body.fc1.weight.abs_()
    stats = gate_stats(model, x, scale=1 / 16)
    closed = [s for s in stats if s.kind == "IA" and s.gate_mean == 0.0]
    assert closed and all(s.current_out == 0.0 and s.gate_low == 1.0 for s in closed)
    assert "IA" in gate_table("t", stats)
