"""The host driver on its simulation backends: identical to the integer reference; input checks; stream helpers."""
import numpy as np
import pytest

from host import (BatchPrediction, CoreStatusError, InputError, ModelMismatchError, SpikingCore, StageNotBuiltError,
                  demo_stage, open_backend)
from syna_contract import protocol as P
from host.emulator import CoreEmulator
from syna_contract.bundle import load_bundle
from syna_contract.energy import energy_report
from syna_contract.reference import Reference

from helpers import export_digits, export_dvs, random_events


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    root, x, y = export_digits(tmp_path_factory.mktemp("host") / "digits")
    return load_bundle(root), x, y


@pytest.fixture(scope="module")
def dvs(tmp_path_factory):
    root, x = export_dvs(tmp_path_factory.mktemp("host") / "dvs")
    return load_bundle(root), x


def assert_same_as_reference(pred: BatchPrediction, ref):
    assert np.array_equal(pred.scores, ref.scores)
    assert np.array_equal(pred.labels, ref.predictions())
    assert list(pred.spike_counts) == list(ref.spike_counts)          # manifest order, every layer but fc
    for name, counts in ref.spike_counts.items():
        assert np.array_equal(pred.spike_counts[name], counts), name


# ------------------------------------------------------------------ stream helpers
@pytest.mark.parametrize("bits", range(1, 17))
def test_pack_batch_equals_pack_frames(bits):
    rng = np.random.default_rng(bits)
    for shape in [(3, 4, 1, 8, 8), (2, 3, 2, 5, 7), (1, 2, 3, 1, 1)]:
        x = rng.integers(0, 1 << bits, shape)
        expected = np.stack([P.pack_frames(s, bits) for s in x])
        assert np.array_equal(P.pack_batch(x, bits), expected)
        # into rows of a padded buffer (a DMA buffer), leaving the padding alone
        buf = np.full((shape[0] + 1, expected.shape[1] + 5), 7, np.uint32)
        P.pack_batch(x.astype(np.uint16), bits, out=buf[:shape[0], :expected.shape[1]])
        assert np.array_equal(buf[:shape[0], :expected.shape[1]], expected)
        assert (buf[:, expected.shape[1]:] == 7).all() and (buf[-1] == 7).all()
        assert np.array_equal(P.unpack_frames(expected[0], shape[1:], bits), x[0])


def test_unpack_outputs_equals_unpack_output():
    rng = np.random.default_rng(0)
    names = ["a", "b", "c"]
    packets = [P.pack_output(rng.integers(-2 ** 31, 2 ** 31, 5), rng.integers(0, 2 ** 32, 3).tolist(),
                             int(rng.integers(0, 2 ** 32)), 7, 9) for _ in range(4)]
    batch = P.unpack_outputs(np.stack(packets), 5, 3)
    for i, w in enumerate(packets):
        one = P.unpack_output(w, 5, names)
        assert np.array_equal(batch.scores[i], one.scores)
        assert batch.spike_counts[i].tolist() == list(one.spike_counts.values())
        assert (batch.cycles[i], batch.saturations[i], batch.status[i]) == (one.cycles, one.saturations, one.status)


# ------------------------------------------------------------------ reference backend == Reference
def test_reference_backend_identical_to_reference_on_digits(digits):
    bundle, x, y = digits
    xs = x[:48]
    ref = Reference(bundle).run(xs, keep_spikes=False)
    with SpikingCore(bundle, backend="reference", block=20) as core:       # several buffer fills
        pred = core.classify_batch(xs)
        assert_same_as_reference(pred, ref)
        one = core.classify(xs[5])
        assert one.label == ref.predictions()[5] and np.array_equal(one.scores, ref.scores[5])
        assert one.spike_counts == {k: int(v[5]) for k, v in ref.spike_counts.items()}
        assert one.cycles == 0 and one.flags == [] and one.saturations == 0
        c = core.counters()
        assert c["samples"] == 49
        assert c["spikes"]["stem"] == int(ref.spike_counts["stem"].sum() + ref.spike_counts["stem"][5])
        assert c["status"] == [] and c["cycles"]["total"] == 0
        # Eq. 11 from the measured counts = energy_report on the reference's counts
        e = core.energy()
        counts = {k: np.concatenate([v, v[5:6]]) for k, v in ref.spike_counts.items()}
        assert e.total_mj == pytest.approx(energy_report(bundle.layers, bundle.input_spec, counts, 49).total_mj)
        assert e.measured and e.n_samples == 49
    assert pred.accuracy(y[:48]) == pytest.approx(float((ref.predictions() == y[:48]).mean()))


@pytest.mark.parametrize("kind", ["attention_T", "attention_C_8bit_membrane"])
def test_reference_backend_identical_on_random_models(make_bundle, kind):
    from model_export.model import AttentionSpec
    if kind == "attention_T":
        root, _, x = make_bundle(attention=AttentionSpec("T", "a"), merge="IAND", samples=3)
    else:
        root, _, x = make_bundle(attention=AttentionSpec("C", "b"), mem_bits=8, samples=3)
    bundle = load_bundle(root)
    ref = Reference(bundle).run(x, keep_spikes=False)
    core = SpikingCore(bundle)
    pred = core.classify_batch(x)
    assert_same_as_reference(pred, ref)
    sat = [Reference(bundle).run(x[i:i + 1]).saturations for i in range(3)]
    assert pred.saturations.tolist() == [sum(s.values()) for s in sat]
    assert [bool(s & P.STATUS_SATURATED) for s in pred.status] == [sum(s.values()) > 0 for s in sat]
    if kind != "attention_T":
        assert pred.saturations.sum() > 0 and core.counters()["status_seen"] == ["saturated"]


def test_classify_events_as_training_makes_frames(dvs):
    from spikingjelly.datasets import integrate_events_by_fixed_frames_number
    bundle, _ = dvs
    rng = np.random.default_rng(1)
    core = SpikingCore(bundle)
    for _ in range(3):
        x, y, p, t = random_events(rng, 2000, 8, 8)
        frames = integrate_events_by_fixed_frames_number(dict(x=x, y=y, p=p, t=t), "number", 4, 8, 8)
        x_int = np.minimum(frames, 7).astype(np.int64)                    # the training side, 3-bit counts
        got = core.classify_events(x, y, p, t)
        ref = Reference(bundle).run(x_int[None], keep_spikes=False)
        assert got.label == ref.predictions()[0] and np.array_equal(got.scores, ref.scores[0])
    with pytest.raises(InputError, match="0 <= x < 8"):
        core.classify_events(x + 8, y, p, t)


# ------------------------------------------------------------------ the emulator's stream semantics
def test_emulator_status_bits_short_long_and_steps(digits):
    bundle, x, _ = digits
    emu = CoreEmulator(bundle)
    layers = [l["name"] for l in bundle.layers if l["kind"] != "fc"]
    words = P.pack_frames(x[0], bundle.input_spec["bits"])

    def run(w, steps=4):
        return P.unpack_output(emu.transfer(w, steps), 10, layers)

    ok = run(words)
    assert ok.status == 0 and ok.scores.any()
    for w, steps, flag in ((words[:-1], 4, "frame_short"), (np.append(words, 0), 4, "frame_long"),
                           (words, 3, "steps_mismatch")):
        out = run(w, steps)
        assert out.errors == [flag] and not out.scores.any() and not any(out.spike_counts.values())
    assert run(words[:-1], 5).errors == ["frame_short", "steps_mismatch"]


def test_core_status_error_is_raised(digits, monkeypatch):
    bundle, x, _ = digits
    core = SpikingCore(bundle)
    monkeypatch.setattr(core, "steps", 3)                    # the driver asks for T=3: the core refuses
    with pytest.raises(CoreStatusError, match=r"steps_mismatch.*1 of 1 samples"):
        core.classify_batch(x[:1])
    core.check_status = False
    assert core.classify_batch(x[:1]).status[0] == P.STATUS_STEPS_MISMATCH


# ------------------------------------------------------------------ input validation
@pytest.mark.parametrize("bad, match", [
    (lambda x: x[0].astype(np.float32), r"dtype float32; expected integers 0\.\.31 \(5-bit pixels\)"),
    (lambda x: x[0, :3], r"T=3 frames; the bundle's model takes T=4"),
    (lambda x: x[0, :, :, :7], r"expected \[T=4, C=1, H=8, W=8\]"),
    (lambda x: x[0] + 20, r"values 20\.\.\d+; expected 0\.\.31"),
    (lambda x: x[0] - 1, r"values -1\.\.\d+; expected 0\.\.31"),
    (lambda x: x[:2], r"a batch: use classify_batch"),
    (lambda x: x[0, 0], r"static image: repeat it over T"),
    (lambda x: "frames", r"dtype <U6; expected integers"),
])
def test_bad_input_is_refused_with_what_was_expected(digits, bad, match):
    bundle, x, _ = digits
    core = SpikingCore(bundle)
    with pytest.raises(InputError, match=match):
        core.classify(bad(x))
    assert core.backend.model.inferences == 0                # refused before the core saw anything


def test_bad_batch_is_refused(digits):
    bundle, x, _ = digits
    core = SpikingCore(bundle)
    with pytest.raises(InputError, match="one sample: use classify"):
        core.classify_batch(x[0])
    with pytest.raises(InputError, match="empty batch"):
        core.classify_batch(x[:0])
    with pytest.raises(InputError, match=r"expected \[N, T=4, C=1, H=8, W=8\]"):
        core.classify_batch(x[:, :, :, :4])
    with pytest.raises(RuntimeError, match="classify some samples first"):
        core.energy()


# ------------------------------------------------------------------ backends by name, hash, stages
def test_model_hash_mismatch_is_refused_naming_both_hashes(digits):
    bundle, _, _ = digits
    backend = open_backend("reference", bundle)
    backend.model.model_hash32 ^= 0x1
    want = f"0x{int(bundle.model_hash[:8], 16):08x}"
    with pytest.raises(ModelMismatchError, match=rf"reports MODEL_HASH 0x[0-9a-f]{{8}} but .* MODEL_HASH32 {want}"):
        backend.check_model()


@pytest.mark.parametrize("name, stage", [("hls", "HLS core"), ("rtl", "RTL twin")])
def test_unbuilt_stages_say_which_stage(digits, name, stage, monkeypatch):
    import sys
    module = {"hls": "syna_hw.hls_core", "rtl": "syna_hw.rtl_core"}[name]
    monkeypatch.setitem(sys.modules, module, None)            # as if the stage's module did not exist
    with pytest.raises(StageNotBuiltError, match=rf"the {stage} stage cannot be imported: .*{module}"):
        SpikingCore(digits[0], backend=name)


def test_stage_adapter_needs_only_transfer_and_hash(digits, monkeypatch):
    """What the hls/rtl adapters need of HlsCore/RtlCore: ``.transfer(words, steps)`` and ``.model_hash32``."""
    import sys
    import types
    bundle, x, _ = digits

    class FakeHlsCore:
        def __init__(self, bundle_dir):
            self._emu = CoreEmulator(bundle_dir)
            self.model_hash32 = self._emu.model_hash32

        def transfer(self, in_words, steps):
            return self._emu.transfer(in_words, steps)

    monkeypatch.setitem(sys.modules, "syna_hw.hls_core", types.SimpleNamespace(HlsCore=FakeHlsCore))
    ref = Reference(bundle).run(x[:5], keep_spikes=False)
    assert_same_as_reference(SpikingCore(bundle, backend="hls").classify_batch(x[:5]), ref)


def test_unknown_backend_and_auto_without_board(digits):
    bundle, x, _ = digits
    with pytest.raises(ValueError, match="expected one of"):
        SpikingCore(bundle, backend="fpga")
    core = SpikingCore(bundle, backend="auto", overlay="no-such.bit")
    assert core.backend_name == "reference" and "NO BOARD" in core.note


def test_throughput_test_reports_finn_fields(digits):
    core = SpikingCore(digits[0])
    r = core.throughput_test(batch=8)
    for key in ("runtime[ms]", "throughput[images/s]", "DRAM_in_bandwidth[MB/s]", "DRAM_out_bandwidth[MB/s]",
                "pack_input[ms]", "execute[ms]", "unpack_output[ms]", "batch_size"):
        assert key in r
    assert r["batch_size"] == 8 and r["input_bytes_per_sample"] == 4 * 64 and core.counters()["samples"] == 0


def test_demo_stage(digits):
    bundle, x, y = digits
    out = demo_stage(bundle.root, x[:40], y[:40], backends=["reference"])
    ref = Reference(bundle).run(x[:40], keep_spikes=False)
    assert out["host_backends"] is True and "reference" in out["backends"]
    assert out["accuracy"] == pytest.approx(float((ref.predictions() == y[:40]).mean()))
    assert out["samples"] == 40


def test_demo_stage_reports_a_stage_that_does_not_run(digits, monkeypatch):
    """A built stage that fails (here: an HlsCore without model_hash32) makes host_backends False, with why."""
    import sys
    import types
    bundle, x, y = digits

    class NoHash:
        def __init__(self, bundle_dir):
            pass

        def transfer(self, words, steps):
            raise AssertionError("not reached")

    monkeypatch.setitem(sys.modules, "syna_hw.hls_core", types.SimpleNamespace(HlsCore=NoHash))
    out = demo_stage(bundle.root, x[:4], y[:4], backends=["reference", "hls"])
    assert out["host_backends"] is False and out["backends"]["reference"]["agree"] is True
    assert "has no model_hash32" in out["backends"]["hls"]["error"]
