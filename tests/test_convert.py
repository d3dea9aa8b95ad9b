"""Bring your own model (model_export/frontend, docs/bring-your-own-model.md): a SpikingJelly network
written here, not from the zoo, converts by tracing and runs bit-exact on the reference, the HLS core
and the RTL twin; the project's own models convert to the same integers as their direct export; what
the integer contract cannot run is refused naming the module."""
import numpy as np
import pytest
import torch
import torch.nn as nn
from spikingjelly.activation_based import layer, neuron, surrogate

from model_export.export import write_bundle
from model_export.frontend import BuildError, ConversionError, convert
from model_export.model import AttentionSpec, InhibitoryAttention, MultiDimAttention, SynAResNet, make_config
from model_export.quant import QuantSettings
from model_export.testing import randomize
from syna_contract.bundle import load_bundle
from syna_contract.reference import Reference

T, SHAPE, BITS = 4, (1, 8, 8), 4


def lif(**kw):
    kw = dict(dict(tau=2.0, detach_reset=True, surrogate_function=surrogate.ATan(), step_mode="m"), **kw)
    return neuron.LIFNode(**kw)


def conv(cin, cout, k=3, s=1, p=1, **kw):
    return layer.Conv2d(cin, cout, k, stride=s, padding=p, bias=kw.pop("bias", False), step_mode="m", **kw)


def bn(c):
    return layer.BatchNorm2d(c, step_mode="m")


MERGES = {
    "or": lambda m, r: m + r - m * r,
    "or_logical": lambda m, r: torch.logical_or(m.bool(), r.bool()).to(m.dtype),
    "and": lambda m, r: m * r,
    "and_inplace": lambda m, r: m.mul_(r),         # in place on the neuron's output
    "iand": lambda m, r: r * (1.0 - m),            # SpikingJelly's SEW IAND: identity * (1 - out)
    "add": lambda m, r: m + r,
    "xor": lambda m, r: (m - r).abs(),
}


class SEWBlock(nn.Module):
    """A SEW block as one writes it in SpikingJelly: strided backbone, 1x1 strided shortcut, a merge."""

    def __init__(self, cin, cout, merge="or", **opts):
        super().__init__()
        self.conv1, self.bn1, self.sn1 = conv(cin, cout, s=2), bn(cout), lif(**opts.get("lif1", {}))
        self.conv2, self.bn2, self.sn2 = conv(cout, cout), bn(cout), lif()
        self.downsample = nn.Sequential(conv(cin, cout, 1, 2, 0), bn(cout), lif())
        self.merge = MERGES[merge]

    def forward(self, x):
        out = self.sn2(self.bn2(self.conv2(self.sn1(self.bn1(self.conv1(x))))))
        return self.merge(out, self.downsample(x))


class TinyNet(nn.Module):
    """conv-BN-LIF stem, 2x2 max-pool, one SEW block, global average pool + Linear averaged over T."""

    def __init__(self, merge="or", stem_lif=None, pool=None, head="mean", bias=False, **opts):
        super().__init__()
        self.conv, self.bn, self.sn = conv(1, 8, bias=bias), bn(8), stem_lif if stem_lif is not None else lif()
        self.pool = pool if pool is not None else layer.MaxPool2d(2, 2, step_mode="m")
        self.block = SEWBlock(8, 16, merge, **opts)
        self.fc = layer.Linear(16, 10, step_mode="m")
        self.head = head

    def forward(self, x):
        x = self.block(self.pool(self.sn(self.bn(self.conv(x)))))
        if self.head == "sum_hw":
            return self.fc(x.sum((3, 4))).mean(0)
        if self.head == "sj":      # SpikingJelly style: AdaptiveAvgPool2d + Flatten + Linear, mean over T
            return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x.flatten(0, 1), 1), 1)
                           .reshape(x.shape[0], x.shape[1], -1)).mean(0)
        return self.fc(x.mean((3, 4))).mean(0)


def inputs(n=6, seed=0):
    return np.random.default_rng(seed).integers(0, 2 ** BITS, (n, T) + SHAPE)


def trained_like(net, seed=0):
    """Random weights, BN calibrated so that every layer fires, no FC bias (so that the predicted class
    follows the spikes rather than the largest bias)."""
    x = inputs(16, seed=seed + 100)
    net = randomize(net, torch.from_numpy(x / (2 ** BITS - 1)).float().transpose(0, 1), seed=seed)
    with torch.no_grad():
        net.fc.bias.zero_()
    return net


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    net = trained_like(TinyNet())
    cm = convert(net, SHAPE, T, input_bits=BITS, samples=inputs(4))
    cm.write(tmp_path_factory.mktemp("byo") / "bundle")
    return net, cm


def test_layer_graph_from_tracing(tiny):
    _, cm = tiny
    got = [(l["name"], l["kind"], l.get("op"), l["inputs"], l["out_shape"]) for l in cm.layers]
    assert got == [
        ("conv", "conv_lif", None, ["input"], [8, 8, 8]),
        ("pool", "maxpool_or", None, ["conv"], [8, 4, 4]),
        ("block.conv1", "conv_lif", None, ["pool"], [16, 2, 2]),
        ("block.conv2", "conv_lif", None, ["block.conv1"], [16, 2, 2]),
        ("block.downsample", "conv_lif", None, ["pool"], [16, 2, 2]),
        ("block.merge", "merge", "OR", ["block.conv2", "block.downsample"], [16, 2, 2]),
        ("fc", "fc", None, ["block.merge"], [10]),
    ]
    assert cm.sources["block.downsample"] == {"conv": "block.downsample.0", "bn": "block.downsample.1",
                                              "lif": "block.downsample.2"}
    assert "block.downsample.0" in cm.summary()


def test_reference_is_bit_exact_with_the_fake_quant_golden(tiny):
    _, cm = tiny
    g = load_bundle(cm.bundle_dir).golden()
    r = cm.compile("reference").run(g["input"])
    assert np.array_equal(r.scores, g["scores"])
    for name, s in r.spikes.items():
        assert np.array_equal(s, g[f"spikes/{name}"]), name
        assert s.any(), f"layer {name} never fires: the test would not see a wrong spike"


def test_hls_core_is_bit_exact(tiny):
    _, cm = tiny
    x = inputs(6, seed=1)
    ref = cm.compile("reference").run(x)
    hls = cm.compile("hls").run(x)
    assert np.array_equal(hls.scores, ref.scores)
    for name, s in ref.spikes.items():
        assert np.array_equal(hls.spikes[name], s), name
    assert hls.saturations == ref.saturations and (hls.cycles > 0).all()


def test_rtl_twin_is_bit_exact(tiny):
    _, cm = tiny
    x = inputs(3, seed=2)
    ref = cm.compile("reference").run(x)
    rtl = cm.compile("rtl").run(x)
    assert np.array_equal(rtl.scores, ref.scores)
    for name, s in ref.spikes.items():
        assert np.array_equal(rtl.spikes[name], s), name
        assert np.array_equal(rtl.spike_counts[name], ref.spike_counts[name]), name


def test_float_and_integer_agree_on_random_data(tiny):
    net, cm = tiny
    x = inputs(64, seed=3)
    xf = torch.from_numpy(x / (2 ** BITS - 1)).float().transpose(0, 1)
    with torch.no_grad():
        assert np.allclose(cm.predict_float(x), net(xf).double().numpy(), atol=1e-5)   # the user's own model
    rep = cm.compare(x)
    print(f"\nfloat vs integer (8-bit weights) on 64 random inputs: {100 * rep['agreement']:.1f}% same class "
          f"({rep['classes']} classes predicted); equal spikes per layer: "
          + ", ".join(f"{k} {100 * v:.1f}%" for k, v in rep["spike_match"].items()))
    assert rep["samples"] == 64 and rep["agreement"] >= 0.7      # iid noise: few classes (rep["classes"])
    assert min(rep["spike_match"].values()) >= 0.9


def test_plan_and_build_without_vitis(tiny, monkeypatch):
    _, cm = tiny
    assert cm.plan("pynq-z2").fits
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(BuildError, match="vitis_hls not found on PATH.*Nothing was run"):
        cm.build("pynq-z2")
    with pytest.raises(ValueError, match="unknown board"):
        cm.build("no-such-board")


def test_the_users_model_is_left_alone():
    net = trained_like(TinyNet()).train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    convert(net, SHAPE, T, input_bits=BITS)
    assert net.training
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


@pytest.mark.parametrize("merge,op,backbone", [("or_logical", "OR", "block.conv2"), ("and", "AND", "block.conv2"),
                                               ("and_inplace", "AND", "block.conv2"), ("iand", "IAND", "block.conv2")])
def test_merges_are_recognised_by_what_they_compute(merge, op, backbone):
    cm = convert(trained_like(TinyNet(merge)), SHAPE, T, input_bits=BITS)
    m = next(l for l in cm.layers if l["kind"] == "merge")
    assert (m["op"], m["inputs"]) == (op, [backbone, "block.downsample"])
    x = inputs(4)
    g = load_bundle(cm.write()).golden()
    assert np.array_equal(cm.compile("reference").run(g["input"]).scores, g["scores"])
    assert cm.compare(x)["samples"] == 4


def test_threshold_and_conv_bias_are_folded():
    """A stem LIF with threshold 0.5 and a conv with bias: the float model is the user's, the integer
    model folds bias and threshold into the current's scale (exactly, in float64)."""
    net = trained_like(TinyNet(stem_lif=lif(v_threshold=0.5), bias=True, head="sj"))
    cm = convert(net, SHAPE, T, input_bits=BITS)
    x = inputs(64, seed=4)
    rep = cm.compare(x)
    g = load_bundle(cm.write()).golden()
    assert np.array_equal(cm.compile("reference").run(g["input"]).scores, g["scores"])
    assert rep["agreement"] >= 0.7 and min(rep["spike_match"].values()) >= 0.9


@pytest.mark.parametrize("attention", [None, AttentionSpec("C", "b"), AttentionSpec("T", "a")])
def test_project_models_convert_to_their_own_export(tmp_path, attention):
    """Tracing SynAResNet (IAND, SynA attention MA/IA) gives the layer graph and every ROM word of
    exporting it directly."""
    x = np.random.default_rng(0).integers(0, 17, (3, 4, 1, 8, 8))
    cfg = make_config("mnist", width=0.125, input_size=8, steps=4, merge="IAND", attention=attention)
    model = randomize(SynAResNet(cfg), torch.from_numpy(x / 16.0).float().transpose(0, 1))
    cm = convert(model, (1, 8, 8), 4, input_bits=5, input_scale=1 / 16, samples=x)
    a = load_bundle(cm.write(tmp_path / "converted"))
    spec = dict(steps=4, channels=1, height=8, width=8, encoding="pixels", bits=5, scale=1 / 16, static=False)
    b = load_bundle(write_bundle(model, tmp_path / "direct", QuantSettings(8, 16, 1 / 16), spec, x))
    assert [(l["kind"], l["out_shape"], l.get("op"), l.get("attention")) for l in a.layers] == \
           [(l["kind"], l["out_shape"], l.get("op"), l.get("attention")) for l in b.layers]
    assert [l["name"] for l in a.layers][:3] == ["stem", "features.0", "features.1"]
    for la, lb in zip(a.layers, b.layers):
        for rom in lb.get("roms", {}):
            assert np.array_equal(a.params[la["name"]][rom], b.params[lb["name"]][rom]), (la["name"], rom)
    assert np.array_equal(a.golden()["scores"], b.golden()["scores"])
    assert np.array_equal(Reference(a).run(x).scores, b.golden()["scores"])


# ------------------------------------------------------------------------------------------ refusals
class ReusedLIF(TinyNet):
    def forward(self, x):
        x = self.pool(self.sn(self.bn(self.conv(x))))
        x = self.sn(self.block.bn1(self.block.conv1(x)))
        return self.fc(x.mean((3, 4))).mean(0)


class CurrentAdd(TinyNet):
    """Vanilla Spiking ResNet: the shortcut's current is added to the backbone's before one neuron."""

    def forward(self, x):
        x = self.pool(self.sn(self.bn(self.conv(x))))
        b = self.block
        out = b.sn2(b.bn2(b.conv2(b.sn1(b.bn1(b.conv1(x))))) + b.downsample[1](b.downsample[0](x)))
        return self.fc(out.mean((3, 4))).mean(0)


class TwoEncoders(TinyNet):
    def __init__(self):
        super().__init__()
        self.conv_b, self.bn_b, self.sn_b = conv(1, 8), bn(8), lif()

    def forward(self, x):
        a, b = self.sn(self.bn(self.conv(x))), self.sn_b(self.bn_b(self.conv_b(x)))
        return self.fc(self.block(self.pool(a + b - a * b)).mean((3, 4))).mean(0)


class InputScaled(TinyNet):
    def forward(self, x):
        return super().forward(x * 2.0)


class WithAttention(TinyNet):
    def __init__(self, dim="C", threshold=1.0):
        super().__init__()
        self.att = MultiDimAttention(dim, 8, T)
        self.sn = lif(v_threshold=threshold)

    def forward(self, x):
        x = self.pool(self.sn(self.att(self.bn(self.conv(x)))))
        return self.fc(self.block(x).mean((3, 4))).mean(0)


class HiddenLinear(TinyNet):
    def __init__(self):
        super().__init__()
        self.fc1, self.sn_fc = layer.Linear(16, 16, step_mode="m"), lif()

    def forward(self, x):
        x = self.block(self.pool(self.sn(self.bn(self.conv(x)))))
        return self.fc(self.sn_fc(self.fc1(x.mean((3, 4))))).mean(0)


REFUSALS = {
    "hidden Linear -> LIF": (HiddenLinear, r"^sn_fc \(LIFNode\): a neuron in the readout"),
    "add merge": (lambda: TinyNet("add"), r"in block.*ADD merge"),
    "xor merge": (lambda: TinyNet("xor"), r"in block.*\(0, 1, 1, 0\)"),
    "soft reset": (lambda: TinyNet(stem_lif=lif(v_reset=None)), r"^sn: soft reset"),
    "tau 3": (lambda: TinyNet(lif1=dict(tau=3.0)), r"^block\.sn1: tau 3"),
    "decay_input": (lambda: TinyNet(stem_lif=lif(decay_input=False)), r"^sn: decay_input=False"),
    "hard reset to 0.5": (lambda: TinyNet(stem_lif=lif(v_reset=0.5)), r"^sn: v_reset 0.5"),
    "IF neuron": (lambda: TinyNet(stem_lif=neuron.IFNode(step_mode="m")), r"^sn \(IFNode\): IF neurons do not leak"),
    "PLIF": (lambda: TinyNet(stem_lif=neuron.ParametricLIFNode(step_mode="m")), r"^sn \(ParametricLIFNode\): PLIF"),
    "single-step LIF": (lambda: TinyNet(stem_lif=neuron.LIFNode(tau=2.0)), r"^sn \(LIFNode\): step_mode 's'"),
    "average pool": (lambda: TinyNet(pool=layer.AvgPool2d(2, 2, step_mode="m")),
                     r"^pool \(AvgPool2d\): average pooling of spikes"),
    "ReLU between layers": (lambda: TinyNet(pool=nn.ReLU()), r"^pool \(ReLU\) produces the input of block\.conv1"),
    "reused neuron": (ReusedLIF, r"^sn: this neuron module is called 2 times"),
    "current add": (CurrentAdd, r"^block\.sn2: its input current comes from torch operations \(add\)"),
    "two encoders": (TwoEncoders, r"input is read by 2 layers \(conv, conv_b\)"),
    "scaled input": (InputScaled, r"^conv \(Conv2d\) reads torch operations \(mul\) in <model>.forward applied to "
                                  r"the model's input"),
    "sum pooling head": (lambda: TinyNet(head="sum_hw"), r"readout \(sum, fc \(Linear\), mean\) is not global average"),
    "spatial attention": (lambda: WithAttention("S"), r"^att: spatial \(S\) attention"),
    "threshold with attention": (lambda: WithAttention("C", 0.5), r"^sn: v_threshold 0.5 after attention att"),
    "dilated conv": (lambda: _patched(TinyNet(), "conv", conv(1, 8, p=2, dilation=2)), r"^conv: dilation"),
    "grouped conv": (lambda: _patched(TinyNet(), "block.conv2", conv(16, 16, groups=2)), r"^block\.conv2: groups 2"),
}


def _patched(net, path, module):
    parent, _, name = path.rpartition(".")
    setattr(net.get_submodule(parent) if parent else net, name, module)
    return net


@pytest.mark.parametrize("case", list(REFUSALS))
def test_refusals_name_the_module_and_why(case):
    make, pattern = REFUSALS[case]
    with pytest.raises(ConversionError, match=pattern):
        convert(make(), SHAPE, T, input_bits=BITS)


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"input_shape \(8, 8\); expected \(C, H, W\)"):
        convert(TinyNet(), (8, 8), T)
    with pytest.raises(ValueError, match="input_bits 0"):
        convert(TinyNet(), SHAPE, T, input_bits=0)
    with pytest.raises(ConversionError, match=r"TinyNet's forward failed on a time-major float input of shape "
                                              r"\[4, 2, 3, 8, 8\]"):
        convert(TinyNet(), (3, 8, 8), T)


def test_spikingjelly_sew_resnet18_converts_and_add_is_refused():
    """SpikingJelly's own SEW-ResNet-18 (per-step scores [T, N, classes], AdaptiveAvgPool2d + flatten + fc)."""
    from spikingjelly.activation_based import functional
    from spikingjelly.activation_based.model import sew_resnet

    def make(cnf):
        net = sew_resnet.sew_resnet18(cnf=cnf, spiking_neuron=neuron.LIFNode, tau=2.0, detach_reset=True,
                                      surrogate_function=surrogate.ATan(), num_classes=10)
        functional.set_step_mode(net, "m")
        return net

    cm = convert(make("IAND"), (3, 32, 32), 2, input_bits=8)
    kinds = [l["kind"] for l in cm.layers]
    assert (kinds.count("conv_lif"), kinds.count("maxpool_or"), kinds.count("merge")) == (20, 1, 8)
    merge = cm.layers[kinds.index("merge")]
    assert (merge["name"], merge["op"], merge["inputs"]) == ("layer1.0.merge", "IAND",
                                                             ["layer1.0.conv2", "maxpool"])
    with pytest.raises(ConversionError, match=r"in layer4\.1: an ADD merge"):
        convert(make("ADD"), (3, 32, 32), 2, input_bits=8)


def test_a_plain_sequential_converts():
    """nn.Sequential of SpikingJelly layers: layers named after the children (l0, l2: a C identifier may not
    start with a digit), AdaptiveAvgPool2d + Flatten + Linear readout returning per-step scores."""
    net = nn.Sequential(conv(1, 4), lif(), conv(4, 8, s=2), bn(8), lif(), layer.MaxPool2d(2, 2, step_mode="m"),
                        layer.AdaptiveAvgPool2d(1, step_mode="m"), layer.Flatten(step_mode="m"),
                        layer.Linear(8, 3, step_mode="m"))
    cm = convert(trained_like_seq(net), SHAPE, T, input_bits=BITS)
    assert [(l["name"], l["kind"]) for l in cm.layers] == [("l0", "conv_lif"), ("l2", "conv_lif"),
                                                          ("l5", "maxpool_or"), ("l8", "fc")]
    g = load_bundle(cm.write()).golden()
    r = cm.compile("reference").run(g["input"])
    assert np.array_equal(r.scores, g["scores"]) and all(np.array_equal(s, g[f"spikes/{n}"])
                                                          for n, s in r.spikes.items())


def trained_like_seq(net):
    x = inputs(16, seed=5)
    return randomize(net, torch.from_numpy(x / (2 ** BITS - 1)).float().transpose(0, 1), seed=5)
