"""The float model: merges (Table II), presets, forward/backward."""
import pytest
import torch
from spikingjelly.activation_based.model.sew_resnet import sew_function

from model_export.model import MERGES, AttentionSpec, SynAResNet, make_config, merge_spikes

X = torch.tensor([0.0, 0.0, 1.0, 1.0])
Y = torch.tensor([0.0, 1.0, 0.0, 1.0])


@pytest.mark.parametrize("op,expected", [
    ("OR", [0, 1, 1, 1]),     # x + y - xy
    ("AND", [0, 0, 0, 1]),    # xy
    ("IAND", [0, 1, 0, 0]),   # (1 - x) y: the shortcut y passes where the backbone x is silent
    ("ADD", [0, 1, 1, 2]),    # x + y
])
def test_truth_tables_of_table_ii(op, expected):
    assert merge_spikes(X, Y, op).tolist() == expected


@pytest.mark.parametrize("op", ["ADD", "AND", "IAND"])
def test_merges_agree_with_spikingjelly_sew_function(op):
    g = torch.Generator().manual_seed(1)
    out = (torch.rand(2, 3, 4, 5, 5, generator=g) > 0.5).float()
    identity = (torch.rand(2, 3, 4, 5, 5, generator=g) > 0.5).float()
    # SEW BasicBlock: sew_function(identity, out, cnf); ours: merge_spikes(backbone=out, shortcut=identity)
    assert torch.equal(merge_spikes(out, identity, op), sew_function(identity, out, op))


def test_unknown_merge_is_refused():
    with pytest.raises(ValueError, match="expected one of"):
        merge_spikes(X, Y, "XOR")


@pytest.mark.parametrize("preset,classes", [("dvs_gesture", 11), ("cifar10_dvs", 10), ("mnist", 10)])
def test_every_preset_output_shape(preset, classes):
    cfg = make_config(preset, steps=2)
    model = SynAResNet(cfg).eval()
    x = torch.rand(2, 1, cfg.in_channels, cfg.input_size, cfg.input_size)
    with torch.no_grad():
        assert model(x).shape == (1, classes)


def test_preset_knobs_apply():
    cfg = make_config("dvs_gesture", width=0.25, input_size=32, num_classes=5, steps=3, in_channels=1)
    assert cfg.channels() == [16, 32, 64, 128]
    out = SynAResNet(cfg)(torch.rand(3, 2, 1, 32, 32))
    assert out.shape == (2, 5)


@pytest.mark.parametrize("attention", [None, AttentionSpec("T", "a"), AttentionSpec("C", "b"),
                                       AttentionSpec("S", "c"), AttentionSpec("C", "d")])
@pytest.mark.parametrize("merge", MERGES)
def test_cpu_forward_backward(merge, attention):
    cfg = make_config("mnist", width=0.125, input_size=8, steps=4, merge=merge, attention=attention)
    model = SynAResNet(cfg)
    out = model(torch.rand(4, 3, 1, 8, 8))
    out.sum().backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None for g in grads) and any(float(g.abs().sum()) > 0 for g in grads)


@pytest.mark.parametrize("merge", ["OR", "AND", "IAND"])
def test_merge_output_is_binary(merge):
    cfg = make_config("mnist", width=0.125, input_size=8, steps=4, merge=merge)
    model = SynAResNet(cfg)
    seen = {}
    model.blocks[0].post0.register_forward_pre_hook(lambda m, inp: seen.update(x=inp[0]))
    model(torch.rand(4, 2, 1, 8, 8) * 3)
    assert set(seen["x"].unique().tolist()) <= {0.0, 1.0}


def test_wrong_input_shape_is_refused():
    model = SynAResNet(make_config("mnist", width=0.125, input_size=8, steps=4))
    with pytest.raises(ValueError, match="expected \\[T=4, N, C=1, H=8, W=8\\]"):
        model(torch.rand(3, 1, 1, 8, 8))


def test_lif_matches_table_i():
    lif = SynAResNet(make_config("mnist", width=0.125, input_size=8, steps=4)).stem.lif
    assert (lif.tau, lif.v_threshold, lif.v_reset, lif.detach_reset, lif.decay_input) == (2.0, 1.0, 0.0, True, True)
    assert type(lif.surrogate_function).__name__ == "ATan"


def _ia_gradients(form: str, sign: float) -> tuple[float, float, torch.Tensor]:
    """An IA-T gate whose MLP weights are all ``0.5 * sign`` (negative: it never fires; positive: it
    fires), its gate firing fraction, the summed |gradient| of its MLP and its output."""
    from model_export.model import InhibitoryAttention
    ia = InhibitoryAttention("T", 8, 16, form=form)
    with torch.no_grad():
        for p in ia.body.parameters():
            p.fill_(0.5 * sign)
    x = torch.randn(16, 4, 8, 5, 5, generator=torch.Generator().manual_seed(0))
    out = ia(x)
    out.sum().backward()
    fired = float((out != 0).float().mean())
    return fired, sum(float(p.grad.abs().sum()) for p in ia.body.parameters()), out.detach()


def test_closed_ia_gate_gets_no_gradient_in_the_papers_form():
    """docs/results.md: with relu(x * w), where the gate never fires (w = 0) its MLP gets an exactly
    zero gradient, so a closed gate cannot learn to open (permanent natural pruning)."""
    assert _ia_gradients("relu_xw", -1.0)[:2] == (0.0, 0.0)
    fired, grad, _ = _ia_gradients("relu_xw", 1.0)
    assert fired > 0 and grad > 0


def test_closed_ia_gate_gets_a_gradient_in_the_default_form():
    """relu(x) * w (the default): the closed gate's MLP is told how much current it blocks."""
    assert AttentionSpec("T").ia_form == "relu_x_w"
    fired, grad, _ = _ia_gradients("relu_x_w", -1.0)
    assert fired == 0.0 and grad > 0


@pytest.mark.parametrize("sign", [-1.0, 1.0])
def test_ia_forms_have_the_same_forward_pass(sign):
    """Both forms give the same values for gates in {0, 1}: same integer contract, same export."""
    assert torch.equal(_ia_gradients("relu_x_w", sign)[2], _ia_gradients("relu_xw", sign)[2])


def _gate_states(attention: AttentionSpec, steps: int = 16) -> tuple[list[float], list[float]]:
    """IA gate firing fractions and MA sigmoid means of a fresh model on digits-like input (train-mode BN)."""
    from model_export.model import InhibitoryAttention, MultiDimAttention, attention_logits
    torch.manual_seed(0)
    model = SynAResNet(make_config("mnist", width=0.25, input_size=8, steps=steps, attention=attention))
    ia, ma = [], []
    for m in model.modules():
        if isinstance(m, InhibitoryAttention):
            m.lif.register_forward_hook(lambda mod, i, o: ia.append(float(o.mean())))
        elif isinstance(m, MultiDimAttention):
            m.register_forward_hook(lambda mod, i, o: ma.append(float(
                torch.sigmoid(attention_logits(i[0], mod.dim, mod.body)).mean())))
    images = (torch.rand(1, 32, 1, 8, 8, generator=torch.Generator().manual_seed(1)) * 16).round() / 16
    with torch.no_grad():
        model(images.expand(steps, -1, -1, -1, -1))           # static images repeated over T (digits)
    return ia, ma


@pytest.mark.parametrize("dim", ["T", "C"])
def test_fresh_attention_starts_open(dim):
    """Default init: every IA gate fires at most steps and every MA gate is near 1 on the first batch."""
    ia, ma = _gate_states(AttentionSpec(dim, "b"))
    assert len(ia) == 3 and len(ma) > 0
    assert min(ia) > 0.6, ia
    assert min(ma) > 0.85, ma


@pytest.mark.parametrize("dim", ["T", "C"])
def test_papers_init_starts_with_gates_mostly_closed(dim):
    """The paper's (PyTorch default) init, for contrast: MA gates about 0.5, IA gates mostly closed."""
    from model_export.model import PAPER_ATTENTION
    ia, ma = _gate_states(AttentionSpec(dim, "b", **PAPER_ATTENTION))
    assert max(ia) < 0.5, ia
    assert all(0.3 < g < 0.7 for g in ma), ma


def test_stored_attention_without_the_new_keys_loads_as_the_papers_form():
    from model_export.model import PAPER_ATTENTION, ModelConfig
    cfg = make_config("mnist", width=0.125, input_size=8, steps=4, attention=AttentionSpec("T", "b"))
    d = cfg.to_dict()
    assert d["attention"]["ia_form"] == "relu_x_w" and d["attention"]["init"] == "open"
    assert ModelConfig.from_dict(d) == cfg
    d["attention"] = {"dim": "T", "position": "b"}            # written before the options existed
    old = ModelConfig.from_dict(d).attention
    assert (old.ia_form, old.init, old.min_hidden) == tuple(PAPER_ATTENTION[k] for k in ("ia_form", "init",
                                                                                           "min_hidden"))


def test_paper_form_attention_stores_as_before_the_options_existed():
    """The options with the paper's values are not stored: a paper-form SynA model keeps its model hash."""
    from model_export.model import PAPER_ATTENTION, ModelConfig
    cfg = make_config("mnist", width=0.125, input_size=8, steps=4,
                      attention=AttentionSpec("C", "b", **PAPER_ATTENTION))
    assert cfg.to_dict()["attention"] == {"dim": "C", "position": "b"}
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    mixed = AttentionSpec("C", "b", **dict(PAPER_ATTENTION, min_hidden=2))
    assert make_config("mnist", width=0.125, input_size=8, steps=4, attention=mixed).to_dict()["attention"] == {
        "dim": "C", "position": "b", "min_hidden": 2}


def test_attention_min_hidden_floors_the_mlp():
    cfg = make_config("mnist", width=0.125, input_size=8, steps=4, attention=AttentionSpec("T", "b", min_hidden=3))
    model = SynAResNet(cfg)
    assert model.blocks[0].short.attn.body.fc1.weight.shape == (3, 4)
    cfg = make_config("mnist", width=0.125, input_size=8, steps=4, attention=AttentionSpec("T", "b"))
    assert SynAResNet(cfg).blocks[0].short.attn.body.fc1.weight.shape == (1, 4)       # 4 // 4


@pytest.mark.parametrize("bad", [dict(ia_form="relu"), dict(init="zeros"), dict(min_hidden=0)])
def test_bad_attention_options_are_refused(bad):
    with pytest.raises(ValueError, match="expected"):
        AttentionSpec("T", "b", **bad)
