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


def test_closed_ia_gate_gets_no_gradient_open_gate_does():
    """docs/results.md: IA gates with relu(x * w); where the gate never fires (w = 0) its MLP gets an
    exactly zero gradient, so a closed gate cannot learn to open (permanent natural pruning)."""
    from model_export.model import InhibitoryAttention
    grads = {}
    for sign in (-1.0, 1.0):                      # MLP weights all negative: never fires; positive: fires
        ia = InhibitoryAttention("T", 8, 16)
        with torch.no_grad():
            for p in ia.body.parameters():
                p.fill_(0.5 * sign)
        out = ia(torch.randn(16, 4, 8, 5, 5, generator=torch.Generator().manual_seed(0)))
        out.sum().backward()
        grads[sign] = (float((out != 0).float().mean()), sum(float(p.grad.abs().sum()) for p in ia.body.parameters()))
    assert grads[-1.0] == (0.0, 0.0)
    assert grads[1.0][0] > 0 and grads[1.0][1] > 0
