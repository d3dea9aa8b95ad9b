"""NIR interchange: export to NIR and back, import of feed-forward graphs into a bundle, refusals.

The float semantics of a NIR graph come from ``nir_io.run_nir`` (nirtorch wiring, the NIR equations
with forward Euler), itself checked against SpikingJelly's own ``nir_exchange.import_from_nir``."""
import numpy as np
import nir
import pytest
import torch
from spikingjelly.activation_based.nir_exchange import import_from_nir

from syna_hw import hls_core as hc
from model_export import nir_io, zoo
from syna_contract.bundle import load_bundle
from model_export.model import AttentionSpec
from syna_contract.reference import Reference
from model_export.testing import randomize

DT = 1e-4
T = 4
SPEC = dict(steps=T, channels=1, height=8, width=8, encoding="pixels", bits=5, scale=1 / 16, static=False)


def lif(shape, tau=2 * DT, r=1.0, v_leak=0.0, th=1.0, v_reset=0.0):
    full = lambda v: np.broadcast_to(np.asarray(v, np.float64), shape).copy()
    return nir.LIF(tau=full(tau), r=full(r), v_leak=full(v_leak), v_threshold=full(th), v_reset=full(v_reset))


def chain(*named, type_check=True):
    nodes = dict(named)
    names = list(nodes)
    return nir.NIRGraph(nodes=nodes, edges=list(zip(names[:-1], names[1:])), type_check=type_check)


def graph(uniform=False, seed=0):
    """conv 1->4 k3 s1 + LIF, conv 4->8 k3 s2 + LIF (snnTorch-style r = tau/dt = 2, per-channel thresholds,
    a leak potential), flatten, affine 128->16 + LIF, affine 16->10 readout. ``uniform``: every neuron
    SpikingJelly-importable (r = 1, v_leak = 0, one threshold per layer)."""
    rng = np.random.default_rng(seed)
    th2 = np.broadcast_to(rng.uniform(0.5, 1.5, (8, 1, 1)), (8, 4, 4))
    second = lif((8, 4, 4), th=0.8) if uniform else lif((8, 4, 4), r=2.0, v_leak=0.1, th=th2)
    return chain(
        ("in", nir.Input(np.array([1, 8, 8]))),
        ("conv1", nir.Conv2d((8, 8), rng.normal(0, 0.6, (4, 1, 3, 3)), 1, 1, 1, 1, rng.normal(0.3, 0.2, 4))),
        ("lif1", lif((4, 8, 8))),
        ("conv2", nir.Conv2d((8, 8), rng.normal(0, 0.5, (8, 4, 3, 3)), 2, 1, 1, 1, rng.normal(0.2, 0.2, 8))),
        ("lif2", second),
        ("flat", nir.Flatten({"input": np.array([8, 4, 4])}, 0, -1)),
        ("fc1", nir.Affine(rng.normal(0, 0.3, (16, 128)), rng.normal(0.5, 0.1, 16))),
        ("lif3", lif((16,))),
        ("fc2", nir.Affine(rng.normal(0, 0.5, (10, 16)), rng.normal(0, 0.1, 10))),
        ("out", nir.Output(np.array([10]))))


def int_inputs(n, seed=1):
    return np.random.default_rng(seed).integers(0, 17, (n, T, 1, 8, 8))


def float_steps(model, x):
    """Per-step FC outputs [T, N, classes] of a float model (what a NIR graph outputs)."""
    with torch.no_grad():
        return model.fc(model.spiking_features(x).mean(dim=(3, 4)))


# ----------------------------------------------------------------------------- the float simulator
def test_run_nir_agrees_with_spikingjelly_import():
    g = graph(uniform=True)
    x = torch.from_numpy(int_inputs(8) / 16).transpose(0, 1)
    gm = import_from_nir(g, dt=DT, dtype=torch.float64, step_mode="s")
    state, outs = None, []
    with torch.no_grad():
        for xt in x:
            out, state = gm(xt, state)
            outs.append(out)
    sj = torch.stack(outs)
    assert float(sj.abs().max()) > 0.1
    assert torch.equal(nir_io.run_nir(g, x), sj)


# ----------------------------------------------------------------------------- import
def test_import_float_model_equals_the_nir_graph():
    g = graph()
    model = nir_io.import_nir(g, steps=T, dtype=torch.float64)
    assert [l["kind"] for l in model.config.chain] == ["conv_lif"] * 3 + ["fc"]
    assert model.config.chain[2]["kernel"] == 4            # flatten + affine over 8x4x4 = a 4x4 conv
    x = torch.from_numpy(int_inputs(8) / 16).transpose(0, 1)
    assert torch.allclose(float_steps(model, x), nir_io.run_nir(g, x), rtol=0, atol=1e-12)
    # and back: our export of the imported model computes the same
    again = nir_io.export_nir(model, dtype=np.float64)
    assert torch.allclose(nir_io.run_nir(again, x), nir_io.run_nir(g, x), rtol=0, atol=1e-12)


def test_imported_graph_runs_bit_exact_as_a_bundle(tmp_path, tmp_path_factory):
    """NIR graph -> ChainNet -> bundle (8-bit weights): the integer reference equals the torch
    fake-quant (golden) on every spike and score; the HLS C-sim equals the reference; and the
    float spikes of the NIR graph agree with the integer spikes almost everywhere."""
    g = graph()
    x = int_inputs(16)
    root = nir_io.nir_to_bundle(g, tmp_path / "b", SPEC, samples=x, weight_bits=8)
    b = load_bundle(root)
    ref, golden = Reference(b).run(x), b.golden()
    assert np.array_equal(ref.scores, golden["scores"])
    for name, spikes in ref.spikes.items():
        assert np.array_equal(spikes, golden[f"spikes/{name}"]), name
        assert spikes.sum() > 10, f"layer {name} barely spikes: the check would be vacuous"
    # the float model on the same inputs: spikes of every layer
    model = nir_io.import_nir(g, steps=T, dtype=torch.float64)
    seen = {}
    for name, unit in model.units.items():
        unit.lif.register_forward_hook(lambda m, i, o, n=name: seen.__setitem__(n, o.transpose(0, 1).numpy()))
    float_steps(model, torch.from_numpy(x / 16).transpose(0, 1))
    for name, spikes in ref.spikes.items():
        agree = float((spikes == seen[name]).mean())
        assert agree >= 0.95, f"layer {name}: float and integer spikes agree on {agree:.3f}"
    # the HLS core runs it too
    core = hc.HlsCore(b, 4, build_root=tmp_path_factory.getbasetemp() / "hls_build").compile()
    assert hc.compare(core.run(x), ref) is None
    assert b.manifest["source"]["nir_nodes"]["c1"] == ["conv2", "lif2"]


def test_cubalif_with_instant_synapse_and_unflattened_vector_input():
    rng = np.random.default_rng(3)
    shape = (6,)
    cuba = nir.CubaLIF(tau_syn=np.full(shape, DT), tau_mem=np.full(shape, 2 * DT), r=np.full(shape, 1.5),
                       v_leak=np.zeros(shape), v_threshold=np.full(shape, 0.7), w_in=np.full(shape, 0.8))
    g = chain(("in", nir.Input(np.array([5]))), ("fc", nir.Linear(rng.normal(0.4, 0.5, (6, 5)))), ("n", cuba),
              ("out", nir.Output(np.array([6]))))
    model = nir_io.import_nir(g, steps=T, dtype=torch.float64)
    assert model.config.spiking_output and model.config.num_classes == 6
    x = torch.from_numpy(np.random.default_rng(4).uniform(0, 2, (T, 7, 5)))
    spikes = nir_io.run_nir(g, x)
    assert 0 < float(spikes.sum()) < spikes.numel()
    with torch.no_grad():
        ours = model.spiking_features(x[..., None, None])[..., 0, 0]
    assert torch.equal(ours, spikes)


def base_graph(**replace):
    """A minimal conv + LIF + affine chain; ``replace`` swaps nodes by name."""
    rng = np.random.default_rng(0)
    nodes = dict(
        [("in", nir.Input(np.array([1, 4, 4]))),
         ("conv", nir.Conv2d((4, 4), rng.normal(0, 1, (2, 1, 3, 3)), 2, 1, 1, 1, np.zeros(2))),
         ("lif", lif((2, 2, 2))), ("flat", nir.Flatten({"input": np.array([2, 2, 2])}, 0, -1)),
         ("fc", nir.Affine(rng.normal(0, 1, (3, 8)), np.zeros(3))), ("lif2", lif((3,))),
         ("out", nir.Output(np.array([3])))])
    nodes.update(replace)
    nodes = {k: v for k, v in nodes.items() if v is not None}
    return chain(*nodes.items(), type_check=False)      # the importer does its own checks


@pytest.mark.parametrize("make,match", [
    (lambda: base_graph(lif=lif((2, 2, 2), tau=3 * DT)), r"tau/dt = 3.*h = \(v \+ i\) / 2"),
    (lambda: base_graph(lif=lif((2, 2, 2), v_reset=0.5)), "v_reset 0.5; our LIF resets to 0"),
    (lambda: base_graph(lif=lif((2, 2, 2), th=np.arange(8.0).reshape(2, 2, 2) + 1)),
     "v_threshold varies over the 2x2 positions of channel 0"),
    (lambda: base_graph(lif=nir.IF(r=np.ones((2, 2, 2)), v_threshold=np.ones((2, 2, 2)))), "IF neurons do not leak"),
    (lambda: base_graph(lif=nir.CubaLIF(tau_syn=np.full((2, 2, 2), 5 * DT), tau_mem=np.full((2, 2, 2), 2 * DT),
                                        r=np.ones((2, 2, 2)), v_leak=np.zeros((2, 2, 2)),
                                        v_threshold=np.ones((2, 2, 2)))), "tau_syn/dt = 5"),
    (lambda: base_graph(flat=nir.SumPool2d(np.array([2, 2]), np.array([2, 2]), np.array([0, 0]))),
     "sum-pooling of spikes"),
    (lambda: base_graph(lif=nir.Conv2d((2, 2), np.ones((2, 2, 1, 1)), 1, 0, 1, 1, np.zeros(2))),
     "node 'lif' follows synapse 'conv' without a neuron"),
    (lambda: base_graph(lif2=None), "a readout over a 2x2 map"),
    (lambda: base_graph(conv=nir.Conv2d((4, 4), np.ones((2, 1, 3, 1)), 1, 0, 1, 1, np.zeros(2))),
     r"kernel \[3, 1\]; our layers are square"),
    (lambda: nir.NIRGraph(nodes=dict(base_graph().nodes), edges=list(base_graph().edges) + [("in", "fc")],
                          type_check=False), r"node 'in' feeds 2 nodes \['conv', 'fc'\]; only feed-forward"),
    (lambda: "/nonexistent/graph.nir", "NIR file not found"),
])
def test_import_refuses_what_is_not_equivalent(make, match):
    with pytest.raises(nir_io.NIRError, match=match):
        nir_io.import_nir(make(), steps=T)


def test_import_checks_steps_and_input_spec(tmp_path):
    with pytest.raises(nir_io.NIRError, match="steps 0; expected a positive"):
        nir_io.import_nir(base_graph(), steps=0)
    with pytest.raises(nir_io.NIRError, match=r"input spec has \[C, H, W\] = \[1, 8, 8\]; the graph's input is "
                                              r"\[1, 4, 4\]"):
        nir_io.nir_to_bundle(base_graph(), tmp_path / "b", SPEC)


def test_right_dt_makes_a_graph_acceptable():
    """The same graph written with dt = 1 ms (tau = 2 ms) is refused at the default dt and accepted at 1 ms."""
    g = base_graph(lif=lif((2, 2, 2), tau=2e-3), lif2=lif((3,), tau=2e-3))
    with pytest.raises(nir_io.NIRError, match="tau/dt = 20"):
        nir_io.import_nir(g, steps=T)
    assert nir_io.import_nir(g, steps=T, dt=1e-3).config.spiking_output


# ----------------------------------------------------------------------------- export
@pytest.mark.parametrize("merge,maxpool", [("OR", False), ("AND", False), ("IAND", True), ("ADD", False)])
def test_export_computes_what_the_float_model_computes(tmp_path, merge, maxpool):
    cfg = zoo.make_config("syna-resnet", "mnist", width=0.125, input_size=8, steps=T, merge=merge,
                          stem_maxpool=maxpool)
    x = torch.from_numpy(int_inputs(4, seed=2) / 16).transpose(0, 1)
    model = randomize(zoo.build_model("syna-resnet", cfg).double(), x, seed=2)
    path = tmp_path / "model.nir"
    g = nir_io.export_nir(model, path, dtype=np.float64)
    kinds = {type(n).__name__ for n in g.nodes.values()}
    assert {"Conv2d", "LIF", "AvgPool2d", "Affine"} <= kinds
    assert ("Threshold" in kinds) == (merge != "ADD" or maxpool)
    expected = float_steps(model, x)
    assert torch.allclose(nir_io.run_nir(nir.read(path), x), expected, rtol=0, atol=1e-9)


def test_export_fails_on_a_wrong_merge_threshold():
    """The check above can fail: turning the exported ORs into ANDs changes the outputs."""
    cfg = zoo.make_config("or-resnet", "mnist", width=0.125, input_size=8, steps=T)
    x = torch.from_numpy(int_inputs(4, seed=2) / 16).transpose(0, 1)
    model = randomize(zoo.build_model("or-resnet", cfg).double(), x, seed=2)
    g = nir_io.export_nir(model, dtype=np.float64)
    for b in range(3):
        g.nodes[f"b{b}.merge.or"].threshold[:] = 1.5
    assert not torch.allclose(nir_io.run_nir(g, x), float_steps(model, x), rtol=0, atol=1e-3)


@pytest.mark.parametrize("arch,knobs,match", [
    ("syna-resnet", dict(attention=AttentionSpec("C", "b")), "non-causal"),
    ("ms-resnet", {}, "ms-resnet is not exported"),
    ("syna-resnet", dict(input_pool=4), "adaptive average pooling"),
])
def test_export_refusals(arch, knobs, match):
    cfg = zoo.make_config(arch, "mnist", width=0.125, input_size=8, steps=T, **knobs)
    with pytest.raises(nir_io.NIRError, match=match):
        nir_io.export_nir(zoo.build_model(arch, cfg))


def test_command_line_import(tmp_path, capsys):
    g = graph()
    nir.write(tmp_path / "g.nir", g)
    assert nir_io.main(["import", str(tmp_path / "g.nir"), "--out", str(tmp_path / "b"), "--steps", "4",
                        "--input-bits", "5", "--input-scale", "0.0625"]) == 0
    b = load_bundle(capsys.readouterr().out.strip())
    assert [l["name"] for l in b.layers] == ["stem", "c1", "c2", "fc"] and b.input_spec["bits"] == 5
