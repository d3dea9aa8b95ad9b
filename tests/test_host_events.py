"""host/events.py: events -> frames identical to SpikingJelly's integration (both split modes, several T)."""
import numpy as np
import pytest
from spikingjelly.datasets import integrate_events_by_fixed_duration, integrate_events_by_fixed_frames_number

from host.events import events_to_frames, fit_steps, frames_for_spec

from helpers import DVS_SPEC, random_events


def sj_frames(x, y, p, t, h, w, split_by, frames=None, duration=None):
    ev = dict(t=t, x=x, y=y, p=p)
    if split_by == "duration":
        return integrate_events_by_fixed_duration(ev, duration, h, w)
    return integrate_events_by_fixed_frames_number(ev, split_by, frames, h, w)


@pytest.mark.parametrize("split_by", ["number", "time"])
@pytest.mark.parametrize("steps", [1, 2, 4, 7, 16])
def test_fixed_frames_number_identical_to_spikingjelly(split_by, steps):
    rng = np.random.default_rng(steps)
    checked = 0
    for trial in range(12):
        n = int(rng.integers(1, 3000)) if trial else 3          # also fewer events than frames
        h, w = int(rng.integers(1, 24)), int(rng.integers(1, 24))
        x, y, p, t = random_events(rng, n, h, w, t_max=int(rng.integers(1, 200_000)))
        try:
            ref = sj_frames(x, y, p, t, h, w, split_by, frames=steps)
        except IndexError:                                      # SpikingJelly fails on an empty time slice
            continue
        got = events_to_frames(x, y, p, t, h, w, split_by=split_by, frames=steps)
        assert got.shape == ref.shape == (steps, 2, h, w)
        assert np.array_equal(got, ref), f"trial {trial}: {split_by} T={steps} differs"
        checked += 1
    assert checked >= 6


@pytest.mark.parametrize("duration", [313, 997, 10_000, 33_333])
def test_fixed_duration_identical_to_spikingjelly(duration):
    rng = np.random.default_rng(duration)
    for trial in range(8):
        n = int(rng.integers(2, 3000))
        h, w = int(rng.integers(1, 20)), int(rng.integers(1, 20))
        x, y, p, t = random_events(rng, n, h, w, t_max=int(rng.integers(2, 100_000)))
        if t[-1] == t[0]:
            continue
        ref = sj_frames(x, y, p, t, h, w, "duration", duration=duration)
        got = events_to_frames(x, y, p, t, h, w, split_by="duration", duration=duration)
        assert got.shape == ref.shape and np.array_equal(got, ref), f"trial {trial}, duration {duration}"


def test_dvs_sized_stream_and_dtypes_identical():
    """A DVS128-sized stream in the dtypes recordings use (int16 coordinates, bool polarity, int64 t)."""
    rng = np.random.default_rng(7)
    n, h, w = 300_000, 128, 128
    x, y, p, t = random_events(rng, n, h, w, t_max=6_000_000)
    x16, y16, pb = x.astype(np.int16), y.astype(np.int16), p.astype(bool)
    for split_by, kw in (("number", dict(frames=16)), ("time", dict(frames=16)), ("duration", dict(duration=500_000))):
        ref = sj_frames(x, y, p, t, h, w, split_by, kw.get("frames"), kw.get("duration"))
        got = events_to_frames(x16, y16, pb, t, h, w, split_by=split_by, **kw)
        assert np.array_equal(got, ref), split_by


def test_polarity_nonzero_is_on_channel_as_in_spikingjelly():
    rng = np.random.default_rng(3)
    x, y, _, t = random_events(rng, 500, 6, 5)
    p = rng.choice(np.array([0, 1, 255], dtype=np.uint8), 500)
    assert np.array_equal(events_to_frames(x, y, p, t, 6, 5, frames=3), sj_frames(x, y, p, t, 6, 5, "number", 3))


def test_one_channel_sums_polarities_and_clip_and_binarise():
    rng = np.random.default_rng(4)
    x, y, p, t = random_events(rng, 4000, 4, 4)
    ref = sj_frames(x, y, p, t, 4, 4, "number", 4)
    assert np.array_equal(events_to_frames(x, y, p, t, 4, 4, frames=4, channels=1), ref.sum(axis=1, keepdims=True))
    clipped = events_to_frames(x, y, p, t, 4, 4, frames=4, bits=3)
    assert clipped.dtype == np.uint8 and np.array_equal(clipped, np.minimum(ref, 7))
    wide = events_to_frames(x, y, p, t, 4, 4, frames=4, bits=12)
    assert wide.dtype == np.uint16 and np.array_equal(wide, np.minimum(ref, 4095))
    assert np.array_equal(events_to_frames(x, y, p, t, 4, 4, frames=4, binarize=True), ref > 0)
    assert np.array_equal(events_to_frames(x, y, p, t, 4, 4, frames=4, bits=1), ref > 0)


def test_frames_for_spec_follows_the_bundle_input_spec():
    rng = np.random.default_rng(5)
    x, y, p, t = random_events(rng, 3000, 8, 8)
    f = frames_for_spec(x, y, p, t, DVS_SPEC)
    assert f.shape == (4, 2, 8, 8) and f.max() <= 7
    assert np.array_equal(f, np.minimum(sj_frames(x, y, p, t, 8, 8, "number", 4), 7))
    assert frames_for_spec(x, y, p, t, dict(DVS_SPEC, binarize=True)).max() == 1
    # split by duration: a recording of 100 ms in 40 ms frames gives 3 frames, T is 4
    with pytest.raises(ValueError, match="gave 3 frames; the model takes T=4"):
        frames_for_spec(x, y, p, t, DVS_SPEC, split_by="duration", duration=40_000)
    padded = frames_for_spec(x, y, p, t, DVS_SPEC, split_by="duration", duration=40_000, fit="pad")
    assert padded.shape == (4, 2, 8, 8) and not padded[3].any()
    assert fit_steps(np.ones((6, 1, 1, 1)), 4, "pad").shape == (4, 1, 1, 1)


@pytest.mark.parametrize("bad, match", [
    (dict(x=[0, 9]), "expected 0 <= x < 8"),
    (dict(y=[-1, 0]), "0 <= y < 8"),
    (dict(p=[-1, 1]), "map -1 to 0"),
    (dict(t=[5, 3]), "not in time order"),
    (dict(x=[0.5, 1.0]), "expected integers"),
    (dict(x=[0]), "one value per event"),
])
def test_bad_events_are_refused_with_what_was_expected(bad, match):
    ev = dict(x=[0, 1], y=[0, 1], p=[0, 1], t=[1, 2]) | bad
    with pytest.raises(ValueError, match=match):
        events_to_frames(*(np.asarray(ev[k]) for k in "xypt"), 8, 8, split_by="time", frames=2)


def test_bad_split_arguments():
    x, y, p, t = (np.array([0, 1]),) * 2 + (np.array([0, 1]), np.array([3, 3]))
    with pytest.raises(ValueError, match="share one timestamp"):
        events_to_frames(x, y, p, t, 2, 2, split_by="duration", duration=10)
    with pytest.raises(ValueError, match="positive time per frame"):
        events_to_frames(x, y, p, t, 2, 2, split_by="duration", duration=0)
    with pytest.raises(ValueError, match="expected one of"):
        events_to_frames(x, y, p, t, 2, 2, split_by="count", frames=2)
    with pytest.raises(ValueError, match="no events"):
        events_to_frames(x[:0], y[:0], p[:0], t[:0], 2, 2, frames=2)
