"""Issue 19's host-side defects, one test each (items 6, 7, 8, 11, 12, 14): each failed before the fix.

The cross-backend table of faults is tests/test_fault_matrix.py; these pin the individual behaviours."""
import contextlib
import gc
import importlib.util
import json
import tracemalloc
import warnings

import numpy as np
import pytest

from host import BoardNotFoundError, DmaError, InputError, SpikingCore
from host.events import events_to_frames, frames_for_spec
from host.fakeboard import FakeBoard
from syna_contract.bundle import load_bundle
from syna_contract.energy import energy_report
from syna_contract.reference import Reference

from helpers import DVS_SPEC, export_digits, export_dvs, random_events


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    root, x, y = export_digits(tmp_path_factory.mktemp("faults") / "digits")
    return load_bundle(root), x, y


@pytest.fixture(scope="module")
def dvs(tmp_path_factory):
    root, x = export_dvs(tmp_path_factory.mktemp("faults") / "dvs")
    return load_bundle(root), x


def sj_duration(t, duration):
    """SpikingJelly's integrate_events_by_fixed_duration frame index ranges, written out (float math)."""
    t = np.asarray(t, dtype=np.float64) - float(t[0])
    frames = int(np.ceil(t[-1] / duration))
    index = t // duration
    bounds = [0] + [int(np.searchsorted(index, i + 1, side="left")) for i in range(frames - 1)] + [t.size]
    return bounds


# ---------------------------------------------------------------------------- item 6: duration split memory
@pytest.mark.parametrize("t_kind", ["int", "float"])
@pytest.mark.parametrize("duration", [700, 1000.0, 333.3])
def test_duration_split_first_frames_equal_the_full_split(t_kind, duration):
    """max_frames=k builds only the first k frames, each equal to the full split's frame."""
    rng = np.random.default_rng(3)
    x, y, p, t = random_events(rng, 3000, 6, 5, t_max=20_000)
    t = t.astype(np.float64) if t_kind == "float" else t
    full = events_to_frames(x, y, p, t, 6, 5, split_by="duration", duration=duration)
    assert full.sum() == 3000
    for k in (1, 2, full.shape[0] - 1, full.shape[0], full.shape[0] + 3):
        part = events_to_frames(x, y, p, t, 6, 5, split_by="duration", duration=duration, max_frames=k)
        assert part.shape[0] == min(k, full.shape[0])
        if k < full.shape[0]:        # a kept frame takes only its own duration, the rest of the recording is cut
            edges = sj_duration(t, duration)
            assert np.array_equal(part[:-1], full[:k - 1])
            assert part[-1].sum() == edges[k] - edges[k - 1]
        else:
            assert np.array_equal(part, full)


def test_duration_split_with_one_late_timestamp_allocates_only_t_frames(dvs):
    """300 events over 1 s, then one at 100 s: 100,000 frames of 1 ms. fit='pad' keeps T=4; before, every
    frame was built first (1.5 GB of int64 counts for a 2x34x34 sensor)."""
    rng = np.random.default_rng(0)
    x, y, p, t = random_events(rng, 300, 34, 34, t_max=1_000_000)
    t[0], t[-1] = 0, 100_000_000
    spec = dict(DVS_SPEC, height=34, width=34)
    tracemalloc.start()
    frames = frames_for_spec(x, y, p, t, spec, split_by="duration", duration=1000, fit="pad")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert frames.shape == (4, 2, 34, 34)
    assert peak < 4 << 20, f"peak {peak / 2**20:.1f} MiB for 4 frames"
    with pytest.raises(ValueError, match="the split gave 100,000 frames; the model takes T=4"):
        frames_for_spec(x, y, p, t, spec, split_by="duration", duration=1000, fit="exact")


def test_absurd_span_is_refused_naming_the_file_and_the_span(dvs, tmp_path):
    """An N-MNIST file whose last timestamp jumps to the top of the 23-bit clock, split in 1 us frames:
    8.4 million frames -- refused, with the file and the span, through classify_recordings."""
    from host.eventfiles import write_nmnist
    from host.recordings import classify_recordings
    rng = np.random.default_rng(1)
    x, y, p, t = random_events(rng, 300, 8, 8, t_max=10_000)
    t[-1] = (1 << 23) - 1
    f = write_nmnist(tmp_path / "late.bin", x, y, p, t)
    with SpikingCore(dvs[0], backend="reference") as core:
        with pytest.raises(InputError, match=r"late\.bin: the events span 8,38\d,\d+ .*8,38\d,\d+ frames of "
                                             r"duration 1, more than the 1,048,576"):
            classify_recordings(core, f, split_by="duration", duration=1)
    # the same refusal without a file, fit or not, and for float timestamps
    for fit in ("pad", "exact"):
        with pytest.raises(ValueError, match="a corrupt timestamp"):
            frames_for_spec(x, y, p, t, DVS_SPEC, split_by="duration", duration=1, fit=fit)
    with pytest.raises(ValueError, match="a corrupt timestamp"):
        events_to_frames(x, y, p, t.astype(float) * 1e12, 8, 8, split_by="duration", duration=0.5)
    from host.events import MAX_DURATION_FRAMES
    assert MAX_DURATION_FRAMES == 1 << 20


def test_unbounded_duration_split_refuses_more_than_a_gib_of_counts():
    x, y, p = np.zeros(2, int), np.zeros(2, int), np.zeros(2, int)
    t = np.array([0, 900_000])
    with pytest.raises(ValueError, match=r"900,000 frames of 2x128x128 counts need 219\.7 GiB.*pass max_frames"):
        events_to_frames(x, y, p, t, 128, 128, split_by="duration", duration=1)
    assert events_to_frames(x, y, p, t, 128, 128, split_by="duration", duration=1, max_frames=3).shape[0] == 3


# ---------------------------------------------------------------------------- item 7: spans of 2^63 and more
def test_time_split_over_a_span_of_2_63_bins_as_expected():
    t = np.repeat(np.array([-(1 << 62) - 5, -10, (1 << 61), (1 << 62) + 7], dtype=np.int64), 50)
    x = y = p = np.zeros(200, np.int64)
    f = events_to_frames(x, y, p, t, 1, 1, split_by="time", frames=4, channels=1)
    assert f.reshape(4).tolist() == [50, 50, 50, 50]
    d = events_to_frames(x, y, p, t, 1, 1, split_by="duration", duration=1 << 61, channels=1)
    # span 2^63 + 12 in frames of 2^61: 5 frames; t - t0 = 0, 2^62 - 5, 2^62 + 2^61 + 5, 2^63 + 12 fall in
    # frames 0, 1, 3 and the last one (which takes everything from its start on)
    assert d.reshape(-1).tolist() == [50, 50, 0, 50, 50]


def test_uint64_timestamps_near_the_top():
    top = np.iinfo(np.uint64).max
    t = np.array([top - 1000, top - 600, top - 100, top], dtype=np.uint64)
    z = np.zeros(4, np.int64)
    assert events_to_frames(z, z, z, t, 1, 1, split_by="time", frames=2, channels=1).ravel().tolist() == [2, 2]
    assert events_to_frames(z, z, z, t, 1, 1, split_by="duration", duration=500, channels=1).ravel().tolist() == [2, 2]


# ---------------------------------------------------------------------------- item 8: NaN / inf timestamps
@pytest.mark.parametrize("split_by", ["number", "time", "duration"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_timestamps_are_refused(split_by, bad):
    rng = np.random.default_rng(0)
    x, y, p, t = random_events(rng, 100, 8, 8)
    t = t.astype(np.float64)
    t[-1 if bad != -np.inf else 0] = bad
    with pytest.raises(ValueError, match="1 of 100 are NaN or infinite.*expected finite times"):
        events_to_frames(x, y, p, t, 8, 8, split_by=split_by, frames=4, duration=1000.0)


@pytest.mark.parametrize("duration", [np.nan, np.inf, -5, 0])
def test_non_finite_or_non_positive_duration_is_refused(duration):
    x, y, p, t = random_events(np.random.default_rng(0), 100, 8, 8)
    with pytest.raises(ValueError, match="expected a positive time per frame"):
        events_to_frames(x, y, p, t, 8, 8, split_by="duration", duration=duration)


def test_classify_events_turns_event_errors_into_input_errors(dvs):
    x, y, p, t = random_events(np.random.default_rng(0), 100, 8, 8)
    with SpikingCore(dvs[0], backend="reference") as core:
        with pytest.raises(InputError, match="NaN or infinite"):
            core.classify_events(x, y, p, np.where(np.arange(100) == 7, np.nan, t.astype(float)))


# ---------------------------------------------------------------------------- item 11: masked arrays
def test_masked_input_is_refused_and_unmasked_accepted(digits):
    bundle, x, _ = digits
    m = np.ma.masked_array(x[:2].copy(), mask=np.zeros(x[:2].shape, bool))
    m.data[0, 0, 0, 0, 0] = 300                          # out of range, but masked: the raw 300 was packed
    m.mask[0, 0, 0, 0, 0] = True
    with SpikingCore(bundle, backend="reference") as core:
        with pytest.raises(InputError, match=r"input is a masked array with 1 masked value\(s\)"):
            core.classify_batch(m)
        with pytest.raises(InputError, match="masked array"):
            core.classify(m[0])
        clean = np.ma.masked_array(x[:2])                 # nothing masked: the data as it is
        assert np.array_equal(core.classify_batch(clean).scores, Reference(bundle).run(x[:2]).scores)


def test_masked_events_are_refused():
    x, y, p, t = random_events(np.random.default_rng(0), 50, 8, 8)
    with pytest.raises(ValueError, match="events: x is a masked array with 1 masked"):
        events_to_frames(np.ma.masked_array(x, mask=np.arange(50) == 3), y, p, t, 8, 8, frames=2)


# ---------------------------------------------------------------------------- item 12: pynq off the board
def test_pynq_backend_off_board_is_board_not_found(digits, tmp_path):
    pytest.importorskip("pynq")
    bit = tmp_path / "syna.bit"
    bit.write_bytes(b"\0" * 64)
    with quiet():
        with pytest.raises(BoardNotFoundError, match="not a PYNQ board"):
            SpikingCore(digits[0], backend="pynq", overlay=bit)


@contextlib.contextmanager
def quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")             # pynq warns "No devices found, is the XRT environment sourced?"
        yield


def test_cli_prints_one_line_for_board_and_user_errors(digits, tmp_path, capsys):
    from host.__main__ import main
    rec = tmp_path / "r.npz"
    np.savez(rec, frames=digits[1][:2])
    root = str(digits[0].root)
    cases = [(["classify", root, str(rec), "--backend", "pynq"], "the pynq backend needs an overlay"),
             (["classify", root, str(tmp_path / "nope.npz")], "no such recording file or folder"),
             (["classify", str(tmp_path / "nobundle"), str(rec), "--backend", "reference"], "bundle"),
             (["throughput", root, "--backend", "pynq", "--overlay", str(tmp_path / "x.bit")], "does not exist")]
    bad = tmp_path / "bad.npz"
    np.savez(bad, frames=np.full((1, 4, 1, 8, 8), 99))
    cases.append((["classify", root, str(bad), "--backend", "reference"], "input values 99..99; expected 0..31"))
    if importlib.util.find_spec("pynq") is not None:
        bit = tmp_path / "syna.bit"
        bit.write_bytes(b"\0" * 64)
        cases.append((["classify", root, str(rec), "--backend", "pynq", "--overlay", str(bit)], "not a PYNQ board"))
    for argv, match in cases:
        with quiet():
            assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ") and match in err[0], (argv, err)


def test_short_packet_resets_like_a_timeout(digits):
    """An output packet one word short: DmaError, and the DMA and the core are reset (docs: same resets as a
    timeout); the next inference works."""
    bundle, x, _ = digits
    from host.emulator import CoreEmulator

    class ShortOnce:
        def __init__(self, inner):
            self.inner, self.model_hash32, self.short = inner, inner.model_hash32, True

        def transfer(self, words, steps):
            out = self.inner.transfer(words, steps)
            if self.short:
                self.short = False
                return out[:-1]
            return out

    board = FakeBoard(bundle, model=ShortOnce(CoreEmulator(bundle)), use_pynq=False)
    ov = board.overlay()
    core = SpikingCore(bundle, backend="pynq", overlay=ov, allocate=ov.allocate, timeout_s=0.2)
    with pytest.raises(DmaError, match="DMA and core were reset"):
        core.classify(x[0])
    assert board.dma_resets == 1 and ov.downloads == 1 and core.backend.resets == 1
    assert np.array_equal(core.classify(x[0]).scores, Reference(bundle).run(x[:1]).scores[0])


# ---------------------------------------------------------------------------- item 14: bounded history
def test_counter_history_is_bounded_and_counters_unchanged(digits):
    bundle, x, _ = digits
    xs = x[:40]
    ref = Reference(bundle).run(xs, keep_spikes=False)
    with SpikingCore(bundle, backend="reference", history=16) as core:
        for i in range(len(xs)):
            core.classify(xs[i])
        core.classify_batch(xs[:5])                      # a block larger than one sample crosses the ring's end
        c = core.counters()
        counts = {k: np.concatenate([v, v[:5]]) for k, v in ref.spike_counts.items()}
        n = len(xs) + 5
        assert c["samples"] == n
        assert c["spikes"] == {k: int(v.sum()) for k, v in counts.items()}
        assert c["saturations"] == 0 and c["status"] == [] and c["cycles"] == {"total": 0, "mean": 0.0, "last": 0}
        recent = core.spike_counts()
        assert all(np.array_equal(recent[k], v[-16:]) for k, v in counts.items())
        e = core.energy().to_dict()
        want = energy_report(bundle.layers, bundle.input_spec, counts, n).to_dict()
        assert json.dumps(e, sort_keys=True) == json.dumps(want, sort_keys=True)      # NaN input rates too
        core.reset_counters()
        assert core.counters()["samples"] == 0 and len(core.spike_counts()[core.layers[0]]) == 0


def test_two_thousand_classifies_keep_constant_memory(digits):
    """Before: every classify() kept about 718 bytes of history (14 MB per 20,000 calls). The core's
    answer is replayed here (the reference's own caches are not what is measured)."""
    bundle, x, _ = digits
    with SpikingCore(bundle, backend="reference") as core:
        emulator = core.backend.model
        packet = emulator.transfer(np.zeros(core.backend.in_words, np.uint32), core.steps)
        emulator.transfer = lambda words, steps: packet
        for i in range(50):
            core.classify(x[i % 8])
        gc.collect()
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        for i in range(2000):
            core.classify(x[i % 8])
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - base
        tracemalloc.stop()
        assert core.counters()["samples"] == 2050
    assert grown < 16 << 10, f"{grown} bytes kept over 2000 inferences"
