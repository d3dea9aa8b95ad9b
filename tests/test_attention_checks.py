"""Integer settings under which attention cannot work: export refuses them, plan reports them
(syna_contract/checks.py, docs/numerics.md section 6, "Settings that break attention")."""
import numpy as np
import pytest

from model_export.model import AttentionSpec
from syna_contract import numerics as nx
from syna_contract.bundle import load_bundle
from syna_contract.checks import (AttentionSettingsError, attention_adder_bits, check_attention, check_bundle,
                                  ia_gate_can_fire, min_mem_bits_for_ia)


@pytest.mark.parametrize("mem_bits,steps,fires", [(8, 64, False), (9, 1, False), (9, 64, False), (10, 1, False),
                                                  (10, 2, True), (11, 1, True), (16, 1, True)])
def test_ia_gate_can_fire_is_exact(mem_bits, steps, fires):
    """Brute force: the largest input at every step is the best any input sequence can do."""
    assert ia_gate_can_fire(mem_bits, steps) is fires
    hi = nx.signed_range(mem_bits)[1]
    rng = np.random.default_rng(mem_bits * 100 + steps)
    seqs = np.concatenate([np.full((steps, 1), hi), rng.integers(hi // 2, hi + 1, (steps, 4000))], axis=1)
    assert bool(nx.lif_sequence(seqs, np.int64(1 << nx.IA_UNIT_LOG2)).any()) is fires


def test_min_mem_bits_for_ia():
    assert min_mem_bits_for_ia(16) == 10 and min_mem_bits_for_ia(1) == 11


def test_adder_bits_hold_the_extremes_and_one_bit_less_does_not():
    m, w, size, hidden, pooled = 16, 8, 128, 16, 16 * 4
    bits = attention_adder_bits(m, w, size, hidden, pooled)
    wmax, xmin = 2 ** (w - 1) - 1, -(2 ** (m - 1))
    extremes = dict(pool_sum=pooled * xmin, mlp1=size * xmin * wmax, hidden_sum=2 * (2 ** 31 - 1),
                    mlp2=-hidden * (2 ** 31 - 1) * wmax)
    for key, value in extremes.items():
        lo, hi = nx.signed_range(bits[key])
        assert lo <= value <= hi, key
        lo, hi = nx.signed_range(bits[key] - 1)
        assert not lo <= value <= hi, key


def _manifest(mem_bits, kind="IA", steps=4, size=8, hidden=2, weight_bits=8):
    layer = dict(name="b0.short", kind="conv_lif",
                 attention=dict(kind=kind, dim="T", size=size, hidden=hidden, weight_bits=weight_bits))
    return dict(layers=[layer], input=dict(steps=steps), numerics=dict(mem_bits=mem_bits))


def test_static_findings():
    assert [f.kind for f in check_attention(_manifest(9))] == ["dead_ia_gate"]
    assert check_attention(_manifest(9))[0].level == "error"
    assert "mem_bits >= 10" in check_attention(_manifest(9))[0].message
    assert check_attention(_manifest(9, kind="MA")) == []          # MA has no LIF gate
    assert check_attention(_manifest(16)) == []
    w1 = np.full((2, 8), 127)
    f = check_attention(_manifest(32), params={"b0.short": {"att_w1": w1}})
    assert [(x.kind, x.level) for x in f] == [("mlp_bound", "warning")]
    assert f[0].counts["bound"] == 8 * 127 * 2 ** 31
    assert check_attention(_manifest(16), params={"b0.short": {"att_w1": w1}}) == []


def test_measured_findings_and_the_heavy_threshold():
    man = _manifest(16)
    points = (3 * 2 + 8 + 8) * 10                   # per sample: 3 x hidden + size (+ size for IA), 10 samples
    light = check_attention(man, stats={"b0.short": dict(samples=10, saturations=1, gate_spikes=5, gate_slots=40)})
    assert [(f.kind, f.level) for f in light] == [("saturations", "warning")]
    heavy = check_attention(man, stats={"b0.short": dict(samples=10, saturations=points // 50, gate_spikes=0,
                                                          gate_slots=40)})
    assert [(f.kind, f.level) for f in heavy] == [("saturations", "error"), ("silent_gate", "warning")]
    assert heavy[0].counts == dict(saturations=points // 50, clamp_points=points, samples=10)


def test_export_refuses_dead_ia_gates_and_writes_nothing(make_bundle, tmp_path):
    with pytest.raises(AttentionSettingsError, match="can never fire.*mem_bits >= 10"):
        make_bundle(attention=AttentionSpec("T", "b"), mem_bits=9, attention_check="refuse")
    assert not any(tmp_path.glob("bundle*/manifest.json"))


def test_export_warns_when_asked_and_plan_reports(make_bundle, capsys):
    from model_export.cli import main
    from syna_hw.plan import plan_bundle
    root, _, _ = make_bundle(attention=AttentionSpec("C", "b"), mem_bits=9, attention_check="warn")
    assert "can never fire" in capsys.readouterr().err
    rep = plan_bundle(load_bundle(root), "zcu104")
    assert not rep.attention_ok
    assert {f.kind for f in rep.attention if f.level == "error"} >= {"dead_ia_gate"}
    assert "CANNOT WORK" in rep.table()
    assert rep.to_dict()["attention_ok"] is False
    assert main(["plan", str(root), "--board", "zcu104"]) == 2
    assert "attention cannot work as configured" in capsys.readouterr().err


def test_default_settings_pass(make_bundle):
    root, _, _ = make_bundle(attention=AttentionSpec("T", "b"), attention_check="refuse")
    assert [f for f in check_bundle(load_bundle(root)) if f.level == "error"] == []
    assert plan_bundle_ok(root)


def plan_bundle_ok(root) -> bool:
    from syna_hw.plan import plan_bundle
    return plan_bundle(load_bundle(root), "zcu104").attention_ok


def test_wide_weights_saturate_and_are_refused(make_bundle):
    """16-bit weights at 32-bit membranes: the attention MLP's sums clamp on most values."""
    with pytest.raises(AttentionSettingsError, match="attention values clamped"):
        make_bundle(attention=AttentionSpec("T", "b"), weight_bits=16, mem_bits=32, attention_check="refuse")
    root, _, x = make_bundle(attention=AttentionSpec("T", "b"), weight_bits=16, mem_bits=32, attention_check="warn")
    b = load_bundle(root)
    from syna_contract.reference import Reference
    res = Reference(b).run(x, keep_spikes=False)
    att = [l["name"] for l in b.layers if l.get("attention")]
    assert sum(res.attention_saturations[n] for n in att) > 0
    assert all(res.attention_saturations[n] <= res.saturations[n] for n in att)
    assert set(res.gate_slots) == {n for n in att if n.endswith(".short")}
