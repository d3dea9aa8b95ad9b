"""The model zoo: block equations on hand-computed cases, the depth-21 layout, training, and which
architectures the integer contract runs (describe() against what write_bundle actually does)."""
import math
import re

import numpy as np
import pytest
import torch
from spikingjelly.activation_based import functional, layer

from model_export import zoo
from syna_contract.bundle import load_bundle
from model_export.export import write_bundle
from model_export.model import AttentionSpec, ORSEWBlock
from model_export.quant import QuantSettings, UnsupportedError
from syna_contract.reference import Reference
from model_export.testing import randomize
from model_export.zoo.asa import AdvanceSpatialAttention
from model_export.zoo.mlf import MLFNode
from model_export.zoo.variants import MSBlock, VanillaBlock

from helpers import DIGITS_SPEC, random_inputs

T = 4


def small(arch, **knobs):
    return zoo.make_config(arch, "mnist", **{**dict(width=0.125, input_size=8, steps=T), **knobs})


# ----------------------------------------------------------------------------- hand-computed blocks
def set_conv(conv, centre: float):
    """Only the centre tap: on a 2x2 input a stride-2 conv then reads pixel (0, 0) alone."""
    with torch.no_grad():
        conv.weight.zero_()
        k = conv.weight.shape[-1]
        conv.weight[0, 0, k // 2, k // 2] = centre


def identity_bn(bn):
    bn.eps = 0.0
    with torch.no_grad():
        bn.running_mean.zero_(), bn.running_var.fill_(1.0), bn.weight.fill_(1.0), bn.bias.zero_()


def pixel_input(values, binary=True):
    """[T, 1, 1, 2, 2] with ``values`` at pixel (0, 0) and zeros elsewhere."""
    x = torch.zeros(len(values), 1, 1, 2, 2)
    x[:, 0, 0, 0, 0] = torch.tensor(values)
    return x


def test_vanilla_block_adds_the_shortcut_current_before_the_neuron():
    """Eq. 4: out = SN(BN(W2 SN(BN(W1 x))) + BN(Ws x)); LIF: h = (v + i)/2, fire h >= 1, reset to 0.

    x = 1,1,1,1, W1 = 1.5: h = .75, 1.125 (fire), .75, 1.125 (fire)  -> s1 = 0,1,0,1
    backbone current W2 s1 = 0,.9,0,.9; shortcut current Ws x = .9 each; sum .9,1.8,.9,1.8:
    h = .45, 1.125 (fire), .45, 1.125 (fire) -> 0,1,0,1. Either current alone never fires."""
    blk = VanillaBlock(1, 1).eval()
    for conv, w in ((blk.res.conv1, 1.5), (blk.res.conv2, 0.9), (blk.res.downsample[0], 0.9)):
        set_conv(conv, w)
    for bn in (blk.res.bn1, blk.res.bn2, blk.res.downsample[1]):
        identity_bn(bn)
    functional.reset_net(blk)
    assert blk.res(pixel_input([1, 1, 1, 1]))[:, 0, 0, 0, 0].tolist() == [0, 1, 0, 1]
    set_conv(blk.res.downsample[0], 0.0)             # without the shortcut current: silent
    functional.reset_net(blk)
    assert blk.res(pixel_input([1, 1, 1, 1])).sum() == 0


def test_ms_block_is_a_membrane_shortcut():
    """Eq. 5: out = BN(W2 SN(BN(W1 SN(x)))) + BN(Ws x), real-valued.

    x = 1.5 each step: SN(x) = 0,1,0,1; W1 = 3: h = 0, 1.5 (fire), 0, 1.5 (fire) -> 0,1,0,1;
    W2 = .5 -> .0,.5,.0,.5; shortcut Ws x = 2 * 1.5 = 3 -> out = 3, 3.5, 3, 3.5."""
    blk = MSBlock(1, 1).eval()
    for conv, w in ((blk.res.conv1, 3.0), (blk.res.conv2, 0.5), (blk.res.downsample[0], 2.0)):
        set_conv(conv, w)
    for bn in (blk.res.bn1, blk.res.bn2, blk.res.downsample[1]):
        identity_bn(bn)
    functional.reset_net(blk)
    out = blk.res(pixel_input([1.5] * 4))[:, 0, 0, 0, 0]
    assert torch.allclose(out, torch.tensor([3.0, 3.5, 3.0, 3.5]))


@pytest.mark.parametrize("merge,expected", [
    ("OR", [0, 1, 1, 1]), ("AND", [0, 0, 0, 0]), ("IAND", [0, 0, 1, 0]), ("ADD", [0, 1, 1, 1])])
def test_sew_block_merges_neuron_outputs(merge, expected):
    """Eq. 6: out = g(SN(W2 SN(W1 x)), SN(Ws x)). x = 1 each step.
    backbone: W1 = 1.5 -> 0,1,0,1; W2 = 3 -> currents 0,3,0,3 -> h 0,1.5,0,1.5 -> 0,1,0,1.
    shortcut: Ws = 1.2 -> h .6, .9, 1.05 (fire), .6 -> 0,0,1,0."""
    blk = ORSEWBlock(1, 1, merge, T, None).eval()      # SynAResNet's block: the SEW family's one class
    for unit, w in ((blk.main0, 1.5), (blk.main1, 3.0), (blk.short, 1.2)):
        set_conv(unit.conv, w)
        identity_bn(unit.bn)
    seen = {}
    blk.post0.register_forward_pre_hook(lambda m, inp: seen.update(x=inp[0]))
    functional.reset_net(blk)
    blk(pixel_input([1, 1, 1, 1]))
    assert seen["x"][:, 0, 0, 0, 0].tolist() == expected


def test_mlf_neuron_by_hand():
    """u_k = .25 u_k (1 - s_k) + x, thresholds .6 / 1.6 / 2.6, o = s1 + s2 + s3.
    x = 2, .5, 3, 0:  k1: 2 (fire), .5, .125+3 (fire), 0 -> 1,0,1,0
                      k2: 2 (fire), .5, 3.125 (fire), 0 -> 1,0,1,0
                      k3: 2, .5+.5 = 1, .25+3 = 3.25 (fire), 0 -> 0,0,1,0   => o = 2,0,3,0."""
    node = MLFNode()
    out = node(torch.tensor([2.0, 0.5, 3.0, 0.0]).reshape(4, 1))
    assert out[:, 0].tolist() == [2, 0, 3, 0]


@pytest.mark.parametrize("x,grad", [(1.0, 1.0), (1.3, 1.0), (2.2, 1.0), (0.0, 0.0), (1.1, 0.0)])
def test_mlf_rectangular_surrogate_of_width_one(x, grad):
    """One step: d o / d x = number of compartments with |x - V_k| < 0.5, height 1 (V = .6, 1.6, 2.6):
    1.0 -> k1 (.4); 1.3 -> k2 (.3); 2.2 -> k3 (.4); 0.0 -> none (.6); 1.1 -> none (.5 is not < .5)."""
    xs = torch.tensor([[x]], requires_grad=True)
    MLFNode()(xs).sum().backward()
    assert float(xs.grad) == grad


def test_asa_by_hand():
    """T = 2, C = 2, 1x1 maps; x[t, c]: c0 = 1, 2; c1 = 3, 1. alpha = beta = .5 -> M = avg + max = 2x.
    T-MLP (T -> 1 -> T) with w1 = (1, 1), w2 = (1, 2): score[t, c] = (t + 1) * sum_t M[t, c] = (t+1)*(6, 8).
    top channel per step: c1 (both steps); top step per channel: t1 (both). XOR: important = (t0,c1), (t1,c0).
    important part 0,3 / 2,0: mean over (T,C) 5/4 / .5 = 2.5, max 3; centre taps (1, -1) -> g = sigmoid(-.5).
    rest 1,0 / 0,1: mean .5 / .5 = 1, max 1; centre taps (.5, .5) -> g = sigmoid(1)."""
    asa = AdvanceSpatialAttention(steps=2)
    with torch.no_grad():
        asa.time_mlp[0].weight.copy_(torch.tensor([[1.0, 1.0]]))
        asa.time_mlp[2].weight.copy_(torch.tensor([[1.0], [2.0]]))
        for conv, taps in ((asa.conv_important, (1.0, -1.0)), (asa.conv_rest, (0.5, 0.5))):
            conv.weight.zero_()
            conv.weight[0, 0, 1, 1], conv.weight[0, 1, 1, 1] = taps
    x = torch.tensor([[1.0, 3.0], [2.0, 1.0]]).reshape(2, 1, 2, 1, 1)
    assert asa.split(x)[:, 0].tolist() == [[0, 1], [1, 0]]
    s_imp, s_rest = torch.sigmoid(torch.tensor(-0.5)), torch.sigmoid(torch.tensor(1.0))
    expected = torch.tensor([[1 * s_rest, 3 * s_imp], [2 * s_imp, 1 * s_rest]])
    assert torch.allclose(asa(x)[:, 0, :, 0, 0], expected)


# ----------------------------------------------------------------------------- layout, shapes, training
def conv_layers(model):
    return [m for m in model.modules() if isinstance(m, layer.Conv2d)]


@pytest.mark.parametrize("arch", zoo.ARCH_NAMES)
def test_depth21_layout_and_output_shapes(arch):
    """20 backbone convs (stem, 4 features, 3 x (2 backbone + shortcut + 2 post)) + 1 FC, at the width
    asked; the DVS Gesture preset (k7 s2 stem, max-pool) at a small input."""
    cfg = zoo.make_config(arch, "dvs_gesture", width=0.125, input_size=16, steps=2)
    model = zoo.build_model(arch, cfg).eval()
    convs = conv_layers(model)
    assert len(convs) == 20 and convs[0].kernel_size == (7, 7) and convs[0].stride == (2, 2)
    assert [c.out_channels for c in convs] == [8] * 5 + [16] * 5 + [32] * 5 + [64] * 5
    assert isinstance(model.fc, torch.nn.Linear) and (model.fc.in_features, model.fc.out_features) == (64, 11)
    with torch.no_grad():
        assert model(torch.rand(2, 3, 2, 16, 16)).shape == (3, 11)


# ASA's T-MLP and alpha/beta only choose the top-k split (no gradient), as in the released ASA code.
NO_GRAD_BY_DESIGN = re.compile(r"attn\.(alpha|beta|time_mlp\.)")


@pytest.mark.parametrize("arch", zoo.ARCH_NAMES)
def test_forward_backward_on_cpu(arch):
    model = zoo.build_model(arch, small(arch))
    out = model(torch.rand(T, 3, 1, 8, 8) * 2)
    out.sum().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None and not NO_GRAD_BY_DESIGN.search(n)]
    assert not missing
    assert any(float(p.grad.abs().sum()) > 0 for n, p in model.named_parameters() if n.startswith("stem"))


def conv_inputs(model, x):
    seen = []
    hooks = [c.register_forward_pre_hook(lambda m, inp: seen.append(inp[0].detach())) for c in conv_layers(model)[1:]]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return seen


@pytest.mark.parametrize("arch,knobs", [("or-resnet", {}), ("sew-resnet", dict(merge="AND")),
                                        ("sew-resnet", dict(merge="IAND")), ("sew-resnet", {}),
                                        ("spiking-resnet", {}), ("ms-resnet", {}), ("mlf-ds-resnet", {}),
                                        ("asa-resnet", {}), ("syna-resnet", dict(attention=AttentionSpec("C", "b")))])
def test_spike_driven_claim_holds_on_the_conv_inputs(arch, knobs):
    """describe().spike_driven: every conv after the stem reads 0/1. The converse is shown for the
    archs whose convs see non-binary inputs (ADD merges, membrane shortcut, multi-level spikes); the
    vanilla ResNet's convs do read spikes: its non-bitwise op is the ADD on currents (Eq. 4)."""
    cfg = small(arch, **knobs)
    model = randomize(zoo.build_model(arch, cfg), torch.rand(T, 8, 1, 8, 8))
    binary = all(set(t.unique().tolist()) <= {0.0, 1.0} for t in conv_inputs(model, torch.rand(T, 4, 1, 8, 8)))
    info = zoo.describe(arch, cfg)
    if info.spike_driven or arch == "spiking-resnet":
        assert binary
    else:
        assert not binary


# ----------------------------------------------------------------------------- registry errors
@pytest.mark.parametrize("call,match", [
    (lambda: zoo.build_model("resnet50", small("or-resnet")), "unknown arch 'resnet50'; expected one of"),
    (lambda: zoo.build_model("ms-resnet", small("or-resnet")), "merges with ADD .* got merge 'OR'"),
    (lambda: zoo.make_config("or-resnet", "mnist", attention=AttentionSpec("C", "b")), "has no attention"),
    (lambda: zoo.make_config("asa-resnet", "mnist", attention=AttentionSpec("T", "b")), "give attention dim 'S'"),
    (lambda: zoo.describe("vgg"), "unknown arch 'vgg'"),
])
def test_bad_arch_or_config_is_refused(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ----------------------------------------------------------------------------- what the hardware runs
EXPORT_CASES = [
    ("or-resnet", {}), ("sew-resnet", dict(merge="AND")), ("sew-resnet", dict(merge="IAND")),
    ("syna-resnet", dict(attention=AttentionSpec("C", "b"))),
    ("sew-resnet", {}), ("syna-resnet", dict(attention=AttentionSpec("S", "a"))), ("spiking-resnet", {}),
    ("ms-resnet", {}), ("asa-resnet", {}), ("mlf-ds-resnet", {}),
]


@pytest.mark.parametrize("arch,knobs", EXPORT_CASES, ids=[f"{a}-{k.get('merge', '')}{k.get('attention', '')}"
                                                          for a, k in EXPORT_CASES])
def test_describe_says_what_write_bundle_does(tmp_path, arch, knobs):
    """Exportable: the bundle's integer reference equals the torch fake-quant on every spike.
    Not exportable: write_bundle raises exactly describe()'s reason."""
    cfg = small(arch, **knobs)
    info = zoo.describe(arch, cfg)
    x = random_inputs(3, seed=5)
    model = zoo.build_model(arch, cfg)
    settings = QuantSettings(weight_bits=8, input_scale=1 / 16)
    if not info.exportable:
        with pytest.raises(UnsupportedError, match=re.escape(info.refusal)):
            write_bundle(model, tmp_path / "b", settings, DIGITS_SPEC, x)
        return
    model = randomize(model, torch.from_numpy(x / 16.0).float().transpose(0, 1), seed=5)
    b = load_bundle(write_bundle(model, tmp_path / "b", settings, DIGITS_SPEC, x))
    ref, golden = Reference(b).run(x), b.golden()
    assert np.array_equal(ref.scores, golden["scores"])
    for name, spikes in ref.spikes.items():
        assert np.array_equal(spikes, golden[f"spikes/{name}"]), name
    assert int(ref.spike_counts["b2.post1"].sum()) > 0


def test_describe_table():
    rows = {a: zoo.describe(a) for a in zoo.ARCH_NAMES}
    assert {a for a, r in rows.items() if r.exportable} == {"syna-resnet", "or-resnet"}
    assert not rows["sew-resnet"].exportable            # its default merge is ADD
    assert zoo.describe("sew-resnet", small("sew-resnet", merge="IAND")).exportable
    for r in rows.values():
        assert r.exportable == (r.refusal is None) and r.spike_driven_note
        assert set(r.row()) == {"arch", "title", "equation", "spike_driven", "spike_driven_note", "exportable",
                                "refusal"}


# ----------------------------------------------------------------------------- spike statistics
@pytest.mark.parametrize("arch", ["spiking-resnet", "ms-resnet"])
def test_archs_without_layer_graph_get_every_neurons_firing_rate(arch):
    """No bundle layer graph: evaluate_spikes taps every neuron module; its totals equal what
    SpikingJelly's own OutputMonitor records on the same inputs."""
    from spikingjelly.activation_based import monitor, neuron

    from model_export.analysis import evaluate_spikes
    cfg = small(arch)
    model = randomize(zoo.build_model(arch, cfg), torch.rand(T, 8, 1, 8, 8))
    x = np.random.default_rng(3).integers(0, 17, (12, T, 1, 8, 8))
    st = evaluate_spikes(model, x, np.zeros(12, int), 1 / 16, "mse", batch=5)
    names = [n for n, m in model.named_modules() if isinstance(m, neuron.BaseNode)]
    rates = st.firing_rates()
    assert not st.graph and list(rates) == names and st.silent_shortcuts() == []
    mon = monitor.OutputMonitor(model, neuron.BaseNode)
    with torch.no_grad():
        model(torch.from_numpy(x).float().transpose(0, 1) / 16)
    seen = dict(zip(mon.monitored_layers, mon.records))
    mon.remove_hooks()
    for n in names:
        out = seen[n]                                        # [T, N, C, H, W]
        assert rates[n] == pytest.approx(float(out.sum()) / out.numel())
    assert any(r > 0 for r in rates.values()) and math.isfinite(st.spikes_per_neuron())


@pytest.mark.parametrize("binary_input", [False, True])
@pytest.mark.parametrize("arch,knobs", [("or-resnet", {}), ("sew-resnet", {})])      # OR and ADD merges
def test_hooked_synaptic_ops_equal_energy_report_on_the_layer_graph(arch, knobs, binary_input):
    """SynapticOps (what archs without the layer graph get) counts exactly what energy_report counts
    from the layer graph: encoder and ADD-fed convs as MACs, the rest as FLOPs x input rate ACs.
    With 0/1 input pixels the encoder is still all MACs (it is the first conv, not a spike reader)."""
    from model_export.analysis import SynapticOps, evaluate_spikes
    from syna_contract.energy import energy_report
    from model_export.table import energy_layers
    cfg = small(arch, **knobs)
    model = randomize(zoo.build_model(arch, cfg), torch.rand(T, 8, 1, 8, 8))
    x = np.random.default_rng(4).integers(0, 17, (10, T, 1, 8, 8))
    if binary_input:
        x = np.where(x > 8, 16, 0)                           # scaled by 1/16: exactly 0 or 1
    st = evaluate_spikes(model, x, np.zeros(10, int), 1 / 16, "mse", batch=4)
    rep = energy_report(energy_layers(st.layers), DIGITS_SPEC, st.per_sample, st.samples)
    ops = SynapticOps(model)
    with ops.hooked(), torch.no_grad():
        for i in range(0, 10, 4):
            model(torch.from_numpy(x[i:i + 4]).float().transpose(0, 1) / 16)
    mac, ac = (v / 10 for v in ops.totals())
    assert ops.first == "stem.conv" and (mac, ac) == (pytest.approx(rep.total_mac, rel=1e-9),
                                                       pytest.approx(rep.total_ac, rel=1e-9))
    assert (rep.total_mac > sum(l.mac for l in rep.layers if l.name == "stem")) == (cfg.merge == "ADD")


@pytest.mark.parametrize("arch", ["spiking-resnet", "ms-resnet"])
def test_archs_without_layer_graph_get_eq11_energy(arch):
    """Vanilla: every conv after the stem reads spikes (ACs only); MS-ResNet: the shortcut convs read
    real values (MACs beyond the stem)."""
    from model_export.analysis import evaluate_spikes
    cfg = small(arch)
    model = randomize(zoo.build_model(arch, cfg), torch.rand(T, 8, 1, 8, 8))
    x = np.random.default_rng(5).integers(0, 17, (6, T, 1, 8, 8))
    st = evaluate_spikes(model, x, np.zeros(6, int), 1 / 16, "mse")
    mac, ac, mj = st.energy_per_sample()
    stem = model.stem.conv
    stem_flops = cfg.steps * stem.out_channels * stem.in_channels * stem.kernel_size[0] ** 2 * (cfg.input_size // stem.stride[0]) ** 2
    assert ac > 0 and mj > 0
    assert (mac == pytest.approx(stem_flops)) == (arch == "spiking-resnet")
    assert mac >= stem_flops
