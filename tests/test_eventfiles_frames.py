"""Recordings -> frames: events read from files of every format, integrated by host.events, equal
SpikingJelly's integration of the events SpikingJelly reads from the same files; pooling is sum
pooling (OR pooling once binarised); the input spec drives the host exactly as training."""
import numpy as np
import pytest
from spikingjelly.datasets import integrate_events_by_fixed_duration, integrate_events_by_fixed_frames_number
from spikingjelly.datasets.cifar10_dvs import _load_origin_data
from spikingjelly.datasets.utils import load_aedat_v3, load_ATIS_bin

from host.eventfiles import read_events, write_aedat2, write_aedat3, write_nmnist
from host.events import encode_counts, events_to_frames, frames_for_spec

SPLITS = [("number", dict(frames=8)), ("time", dict(frames=5)), ("duration", dict(duration=70_000))]


def sj(ev: dict, h, w, split_by, frames=None, duration=None):
    if split_by == "duration":
        return integrate_events_by_fixed_duration(ev, duration, h, w)
    return integrate_events_by_fixed_frames_number(ev, split_by, frames, h, w)


def recording(rng, n, width, height, t_max=600_000):
    t = np.sort(rng.integers(0, t_max, n))
    t[0], t[-1] = 0, t_max                       # every time slice gets events
    return rng.integers(0, width, n), rng.integers(0, height, n), rng.integers(0, 2, n), t


@pytest.mark.parametrize("split_by, kw", SPLITS)
def test_nmnist_and_aedat3_files_integrate_as_spikingjelly(split_by, kw, tmp_path):
    rng = np.random.default_rng(11)
    cases = [(write_nmnist(tmp_path / "a.bin", *recording(rng, 4000, 34, 34)), load_ATIS_bin, 34),
             (write_aedat3(tmp_path / "b.aedat", *recording(rng, 9000, 128, 128)), load_aedat_v3, 128)]
    for f, sj_read, size in cases:
        ev = read_events(f)
        ours = events_to_frames(ev.x, ev.y, ev.p, ev.t, ev.height, ev.width, split_by=split_by, **kw)
        ref = sj(sj_read(f), size, size, split_by, **kw)
        assert ours.shape == ref.shape and np.array_equal(ours, ref), f.name


@pytest.mark.parametrize("split_by, kw", SPLITS)
def test_aedat2_file_integrates_as_spikingjelly_cifar10_dvs_up_to_its_rotation(split_by, kw, tmp_path):
    rng = np.random.default_rng(12)
    f = write_aedat2(tmp_path / "cifar10_airplane_0.aedat", *recording(rng, 9000, 128, 128))
    ev = read_events(f)
    ours = events_to_frames(ev.x, ev.y, ev.p, ev.t, 128, 128, split_by=split_by, **kw)
    ref = sj(_load_origin_data(f), 128, 128, split_by, **kw)
    assert np.array_equal(np.flip(ours.swapaxes(-1, -2), axis=-1), ref)    # SpikingJelly: x' = 127 - y, y' = x


@pytest.mark.parametrize("pool", [2, 4])
def test_pool_is_sum_pooling_of_spikingjelly_frames_and_or_pooling_once_binarised(pool):
    rng = np.random.default_rng(pool)
    x, y, p, t = recording(rng, 20_000, 64, 32)
    ref = sj(dict(x=x, y=y, p=p, t=t), 32, 64, "number", frames=6)                  # [6, 2, 32, 64]
    summed = ref.reshape(6, 2, 32 // pool, pool, 64 // pool, pool).sum(axis=(3, 5))
    got = events_to_frames(x, y, p, t, 32, 64, frames=6, pool=pool)
    assert got.shape == (6, 2, 32 // pool, 64 // pool) and np.array_equal(got, summed)
    binary = (ref > 0).reshape(6, 2, 32 // pool, pool, 64 // pool, pool).max(axis=(3, 5))
    assert np.array_equal(events_to_frames(x, y, p, t, 32, 64, frames=6, pool=pool, binarize=True), binary)
    assert np.array_equal(events_to_frames(x, y, p, t, 32, 64, frames=6, pool=pool, bits=3), np.minimum(summed, 7))
    with pytest.raises(ValueError, match="divides the sensor's 32x64"):
        events_to_frames(x, y, p, t, 32, 64, frames=6, pool=3)


def test_encode_counts_counts_what_it_clips():
    counts = np.array([[0, 1, 7], [8, 9, 300]])
    v, sat = encode_counts(counts, 3)
    assert v.dtype == np.uint8 and v.tolist() == [[0, 1, 7], [7, 7, 7]] and sat == 3
    v, sat = encode_counts(counts, 9)
    assert v.dtype == np.uint16 and sat == 0 and v.max() == 300
    v, sat = encode_counts(counts, 4, binarize=True)
    assert v.tolist() == [[0, 1, 1], [1, 1, 1]] and sat == 0
    with pytest.raises(ValueError, match="1..16-bit"):
        encode_counts(counts, 17)


def test_frames_for_spec_follows_the_specs_integration_and_refuses_a_contradiction():
    rng = np.random.default_rng(13)
    x, y, p, t = recording(rng, 5000, 64, 64)
    spec = dict(steps=4, channels=2, height=32, width=32, encoding="counts", bits=3, scale=1.0, static=False,
                binarize=False, split_by="time", pool=2, sensor=[64, 64])
    got = frames_for_spec(x, y, p, t, spec)
    ref = sj(dict(x=x, y=y, p=p, t=t), 64, 64, "time", frames=4).reshape(4, 2, 32, 2, 32, 2).sum(axis=(3, 5))
    assert np.array_equal(got, np.minimum(ref, 7))
    assert np.array_equal(frames_for_spec(x, y, p, t, spec, split_by="time"), got)
    with pytest.raises(ValueError, match="trained on frames made with split_by='time'"):
        frames_for_spec(x, y, p, t, spec, split_by="number")
