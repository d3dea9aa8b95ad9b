"""model_export/data.py datasets on small folders made here with our writers: N-MNIST, the synthetic
DVS gestures (through SpikingJelly's DVS128Gesture, as the real set), CIFAR10-DVS (through
SpikingJelly's CIFAR10DVS) and MNIST IDX. Frames equal SpikingJelly's integration of the same
files, clipping is counted, missing files are listed."""
import gzip
import re
from pathlib import Path

import numpy as np
import pytest
from spikingjelly.datasets import integrate_events_by_fixed_frames_number
from spikingjelly.datasets.utils import load_ATIS_bin

from helpers import write_nmnist_folder
from host.eventfiles import read_aedat2, read_aedat3, write_aedat2, write_nmnist
from host.eventfiles.aedat2 import cifar10_dvs_view
from model_export import event_datasets as ev
from model_export.data import input_spec, load_split
from model_export.model import make_config
from model_export.synthetic_gestures import CLASSES, SyntheticGestureConfig, generate

NMNIST = make_config("nmnist", width=0.125, steps=6)


def expected_frames(events: dict, steps, size, bits):
    counts = integrate_events_by_fixed_frames_number(events, "number", steps, size, size)
    return np.minimum(counts, (1 << bits) - 1).astype(np.uint8), int((counts > (1 << bits) - 1).sum())


def match_all(x, labels, expected: list[tuple[np.ndarray, int]]):
    """Every loaded sample is exactly one expected sample with the same label, each used once."""
    used = set()
    for xi, li in zip(x, labels):
        hits = [k for k, (e, lab) in enumerate(expected) if lab == li and k not in used and np.array_equal(e, xi)]
        assert hits, f"a loaded sample of class {li} equals no expected sample"
        used.add(hits[0])


def clipped_of(stderr: str) -> tuple[int, int]:
    m = re.search(r"(\d+) of (\d+) non-zero counts clipped", stderr)
    assert m, stderr
    return int(m.group(1)), int(m.group(2))


# ----------------------------------------------------------------------------- N-MNIST
def test_nmnist_frames_equal_spikingjelly_and_clipping_is_counted(tmp_path, capsys):
    root = write_nmnist_folder(tmp_path / "NMNIST")
    spec = input_spec("nmnist", NMNIST, bits=2)
    assert spec == dict(steps=6, channels=2, height=34, width=34, encoding="counts", bits=2, scale=1.0,
                        static=False, binarize=False, split_by="number", pool=1, sensor=[34, 34])
    x, y = load_split("nmnist", "train", NMNIST, root=root, bits=2)
    assert x.shape == (20, 6, 2, 34, 34) and x.dtype == np.uint8 and x.max() == 3
    assert sorted(y.tolist()) == sorted(list(range(10)) * 2)
    expected, clipped = [], 0
    for f in sorted(root.glob("Train/*/*.bin")):
        e, c = expected_frames(load_ATIS_bin(f), 6, 34, 2)
        expected.append((e, int(f.parent.name)))
        clipped += c
    match_all(x, y, expected)
    reported, _ = clipped_of(capsys.readouterr().err)
    assert reported == clipped > 0
    xt, yt = load_split("nmnist", "test", NMNIST, root=root, limit=4)
    assert xt.shape == (4, 6, 2, 34, 34) and len(set(yt.tolist())) > 1 and xt.max() <= 7


def test_nmnist_missing_files_are_listed(tmp_path):
    with pytest.raises(ev.DatasetMissingError, match=r"nmnist: .*missing Train/0/\*, Train/1/\*"):
        load_split("nmnist", "train", NMNIST, root=tmp_path / "nothing")
    root = write_nmnist_folder(tmp_path / "NMNIST", per_digit=(1, 1))
    for f in (root / "Test" / "7").glob("*.bin"):
        f.unlink()
    with pytest.raises(ev.DatasetMissingError, match=r"missing Test/7/\*\. Expected one of: Train/0..9/ and Test/0..9/ "
                                                     r"holding the recordings .* or list files train\*.txt and test\*.txt"):
        load_split("nmnist", "train", NMNIST, root=root)
    with pytest.raises(ValueError, match=r"nmnist gives 2x34x34 event frames \(or pooled to an input size of 17, 2 or "
                                         r"1\); the model \(Table IX preset mnist\) expects 1x28x28\. Use --preset "
                                         r"nmnist, the preset for nmnist"):
        input_spec("nmnist", make_config("mnist"))


SLAYER_HEAD = "#sample #class"


def write_nmnist_lists(root: Path, per_split=(12, 5), seed=1, suffix=".bs2", crlf=True) -> dict:
    """N-MNIST as SLAYER ships it: ``<id>.bs2`` recordings beside ``train*.txt`` / ``test*.txt`` lists of
    '<id>\\t<label>' lines (CRLF line ends). Returns {split: [(file, label)]}."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    out, sample = {}, 60001
    for split, n, name in (("train", per_split[0], "train1K.txt"), ("test", per_split[1], "test100.txt")):
        rows = []
        for _ in range(n):
            label, m = int(rng.integers(0, 10)), int(rng.integers(200, 700))
            t = np.sort(rng.integers(0, 300_000, m))
            f = write_nmnist(root / f"{sample}{suffix}", rng.integers(0, 34, m), rng.integers(0, 34, m),
                             rng.integers(0, 2, m), t)
            rows.append((f, label))
            sample += 1
        end = "\r\n" if crlf else "\n"
        (root / name).write_bytes((end.join([SLAYER_HEAD] + [f"{f.stem}\t{lab}" for f, lab in rows]) + end).encode())
        out[split] = rows
    return out


def test_nmnist_from_list_files_and_bs2_recordings_equal_spikingjelly(tmp_path, capsys):
    """SLAYER's layout (60001.bs2 ... with CRLF train1K.txt / test100.txt) loads: the listed labels,
    frames equal to SpikingJelly's integration of the same files; the archive layout reads any
    extension too."""
    rows = write_nmnist_lists(tmp_path / "slayer")
    for split in ("train", "test"):
        x, y = load_split("nmnist", split, NMNIST, root=tmp_path / "slayer", bits=3)
        assert x.shape == (len(rows[split]), 6, 2, 34, 34)
        assert sorted(y.tolist()) == sorted(lab for _, lab in rows[split])
        match_all(x, y, [(expected_frames(load_ATIS_bin(f), 6, 34, 3)[0], lab) for f, lab in rows[split]])
    assert "nmnist test: 5 samples" in capsys.readouterr().err
    root = write_nmnist_folder(tmp_path / "archive", per_digit=(1, 1))
    for f in root.glob("*/*/*.bin"):
        f.rename(f.with_suffix(".bs2"))
    x, y = load_split("nmnist", "train", NMNIST, root=root)
    assert x.shape[0] == 10 and sorted(y.tolist()) == list(range(10))


def test_nmnist_list_file_problems_are_named(tmp_path):
    root = tmp_path / "slayer"
    rows = write_nmnist_lists(root, crlf=False)
    (root / "train60K.txt").write_text("60001 3\n")
    with pytest.raises(ValueError, match=r"has 2 train list files \(train1K.txt, train60K.txt\); expected one, or "
                                         r"the one to use given: --data-option train_list=NAME"):
        load_split("nmnist", "train", NMNIST, root=root)
    x, y = load_split("nmnist", "train", NMNIST, root=root, train_list="train60K.txt")
    assert x.shape[0] == 1 and y.tolist() == [3]
    (root / "train60K.txt").write_text("# ids\n60001 3\n60002\n")
    with pytest.raises(ValueError, match=r"train60K.txt: line 3: '60002'; expected '<sample> <label>' lines"):
        load_split("nmnist", "train", NMNIST, root=root, train_list="train60K.txt")
    (root / "train60K.txt").write_text("60001 3\n99999 1\n99998 2\n")
    with pytest.raises(ev.DatasetMissingError, match=r"missing 99999\.\*, 99998\.\*\. Expected a recording "
                                                     r"<sample>.bs2 \(or any extension\) for each sample of train60K.txt"):
        load_split("nmnist", "train", NMNIST, root=root, train_list="train60K.txt")
    rows["train"][0][0].with_suffix(".bin").write_bytes(rows["train"][0][0].read_bytes())
    (root / "train60K.txt").unlink()
    with pytest.raises(ValueError, match=r"1 samples match several files, e.g. 60001 \(60001.bin, 60001.bs2\)"):
        load_split("nmnist", "train", NMNIST, root=root)
    with pytest.raises(ev.DatasetMissingError, match=r"missing test_list nope.txt"):
        load_split("nmnist", "test", NMNIST, root=root, test_list="nope.txt")
    assert input_spec("nmnist", NMNIST, train_list="a.txt", test_list="b.txt")["sensor"] == [34, 34]


# ----------------------------------------------------------------------------- synthetic gestures
SMALL = dict(train_users=1, test_users=1)
GESTURE = make_config("dvs_gesture", width=0.125, input_size=32, steps=8)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic")
    x, y = load_split("synthetic_gestures", "test", GESTURE, root=root, **SMALL)
    return root, x, y


def test_synthetic_gestures_load_through_spikingjelly_like_the_real_set(synthetic):
    root, x, y = synthetic
    cfg = SyntheticGestureConfig(sensor=32, **SMALL)
    folder = root / cfg.key()
    assert (folder / "extract" / "DvsGesture" / "user02_led.aedat").is_file()      # the DVS128 Gesture layout
    assert (folder / "events_np" / "test").is_dir()                               # made by SpikingJelly
    assert x.shape == (33, 8, 2, 32, 32) and x.dtype == np.uint8 and x.max() <= 7
    assert sorted(y.tolist()) == sorted(list(range(11)) * 3)                      # gesture numbers, not folder order
    # every sample: the csv window of our AEDAT 3.1 reader's events, integrated by SpikingJelly
    expected = []
    for light in cfg.lightings:
        rec = read_aedat3(folder / "extract" / "DvsGesture" / f"user02_{light}.aedat")
        rows = np.loadtxt(folder / "extract" / "DvsGesture" / f"user02_{light}_labels.csv", delimiter=",",
                          skiprows=1, dtype=np.int64)
        for label, start, end in rows:
            w = rec.time_window(start, end)
            expected.append((expected_frames(w.to_dict(), 8, 32, 3)[0], label - 1))
    match_all(x, y, expected)


def test_spikingjelly_gesture_events_equal_our_reader(synthetic):
    root, _, _ = synthetic
    cfg = SyntheticGestureConfig(sensor=32, **SMALL)
    ds = ev.gesture_dataset(root / cfg.key(), "test", (32, 32))
    ext = root / cfg.key() / "extract" / "DvsGesture"
    for i, (path, _) in enumerate(ds.samples):
        trial, k = Path(path).stem.rsplit("_", 1)
        label = int(Path(path).parent.name)
        rows = np.loadtxt(ext / f"{trial}_labels.csv", delimiter=",", skiprows=1, dtype=np.int64)
        start, end = rows[rows[:, 0] == label + 1][int(k), 1:]
        ours = read_aedat3(ext / f"{trial}.aedat").time_window(start, end)
        theirs = ds[i][0]
        for key in "xypt":
            assert np.array_equal(getattr(ours, key), theirs[key]), (path, key)


def test_synthetic_generation_is_deterministic_and_seeded(tmp_path):
    cfg = SyntheticGestureConfig(sensor=16, train_users=1, test_users=1, lightings=("led",))
    a, b = generate(tmp_path / "a", cfg, progress=False), generate(tmp_path / "b", cfg, progress=False)
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir()) and "trials_to_train.txt" in names
    assert all((a / n).read_bytes() == (b / n).read_bytes() for n in names)
    c = generate(tmp_path / "c", SyntheticGestureConfig(sensor=16, train_users=1, test_users=1,
                                                        lightings=("led",), seed=7), progress=False)
    assert (c / "user01_led.aedat").read_bytes() != (a / "user01_led.aedat").read_bytes()
    rec = read_aedat3(a / "user01_led.aedat")
    assert rec.sensor_size == (16, 16) and set(np.unique(rec.p)) == {0, 1}
    rows = np.loadtxt(a / "user01_led_labels.csv", delimiter=",", skiprows=1, dtype=np.int64)
    assert sorted(rows[:, 0]) == list(range(1, len(CLASSES) + 1)) and np.all(rows[:, 2] > rows[:, 1])


def test_synthetic_sensor_larger_than_the_input_is_sum_pooled(tmp_path):
    spec = input_spec("synthetic_gestures", GESTURE, sensor=64, **SMALL)
    assert spec["pool"] == 2 and spec["sensor"] == [64, 64] and (spec["height"], spec["width"]) == (32, 32)
    x, y = load_split("synthetic_gestures", "train", GESTURE, root=tmp_path, sensor=64, limit=3, bits=8, **SMALL)
    cfg = SyntheticGestureConfig(sensor=64, **SMALL)
    ds = ev.gesture_dataset(tmp_path / cfg.key(), "train", (64, 64))
    expected = []
    for i in range(len(ds)):
        full = integrate_events_by_fixed_frames_number(ds[i][0], "number", 8, 64, 64)
        expected.append((full.reshape(8, 2, 32, 2, 32, 2).sum(axis=(3, 5)).astype(np.uint8),
                         int(ds.classes[ds[i][1]])))
    assert x.shape == (3, 8, 2, 32, 32)
    match_all(x, y, expected)
    with pytest.raises(ValueError, match=r"synthetic_gestures gives 2x48x48 event frames \(or pooled to an input size "
                                         r"of 24, 16, 12, 8, 6, 4, 3, 2 or 1\); the model \(Table IX preset dvs_gesture\) "
                                         r"expects 2x32x32\. Use --input-size 48 \| 24 .*; or --data-option sensor=32 "
                                         r"\(or a multiple of 32\): the generated sensor"):
        input_spec("synthetic_gestures", GESTURE, sensor=48)


def test_dvs128_gesture_folder_problems_are_listed(tmp_path):
    with pytest.raises(ev.DatasetMissingError, match="missing download/DvsGesture.tar.gz, download/gesture_mapping"):
        load_split("dvs128_gesture", "train", make_config("dvs_gesture", width=0.125, steps=8), root=tmp_path)
    generate(tmp_path / "g" / "extract", SyntheticGestureConfig(sensor=128, train_users=1, test_users=1,
                                                                 lightings=("led",)), progress=False)
    (tmp_path / "g" / "extract" / "DvsGesture" / "user02_led_labels.csv").unlink()
    with pytest.raises(ev.DatasetMissingError, match="missing extract/DvsGesture/user02_led_labels.csv"):
        load_split("dvs128_gesture", "test", GESTURE, root=tmp_path / "g")


# ----------------------------------------------------------------------------- CIFAR10-DVS
def test_cifar10_dvs_through_spikingjelly_with_its_split(tmp_path):
    from spikingjelly.datasets.cifar10_dvs import CIFAR10DVS_CLASS_NAMES
    from spikingjelly.datasets.utils import split_to_train_test_set
    rng = np.random.default_rng(3)
    for c, name in enumerate(CIFAR10DVS_CLASS_NAMES):
        (tmp_path / "extract" / name).mkdir(parents=True)
        for k in range(11):
            n = int(rng.integers(200, 400))
            write_aedat2(tmp_path / "extract" / name / f"cifar10_{name}_{k}.aedat", rng.integers(0, 128, n),
                         rng.integers(0, 128, n), rng.integers(0, 2, n), np.sort(rng.integers(0, 10 ** 6, n)))
    cfg = make_config("cifar10_dvs", width=0.125, steps=4)
    x, y = load_split("cifar10_dvs", "test", cfg, root=tmp_path)
    assert x.shape == (10, 4, 2, 128, 128) and sorted(y.tolist()) == list(range(10))
    ds = ev.cifar10_dvs_dataset(tmp_path)
    _, test = split_to_train_test_set(0.9, ds, 10, random_split=False)
    assert sorted(test.indices) == sorted(ev.cifar10_dvs_split(np.array(ds.targets), "test").tolist())
    # the board reads the .aedat with read_aedat2 and turns it to SpikingJelly's view: the same frames
    expected = []
    for path, label in ds.samples:
        src = tmp_path / "extract" / CIFAR10DVS_CLASS_NAMES[label] / (Path(path).stem + ".aedat")
        e = cifar10_dvs_view(read_aedat2(src))
        expected.append((expected_frames(e.to_dict(), 4, 128, 4)[0], label))
    match_all(x, y, expected)


def test_cifar10_dvs_missing_archives_are_listed(tmp_path):
    with pytest.raises(ev.DatasetMissingError, match="missing download/airplane.zip, download/automobile.zip"):
        load_split("cifar10_dvs", "train", make_config("cifar10_dvs"), root=tmp_path)


# ----------------------------------------------------------------------------- MNIST IDX
def write_idx(path: Path, a: np.ndarray, gz: bool):
    head = bytes([0, 0, 8, a.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in a.shape)
    data = head + a.astype(np.uint8).tobytes()
    (path.with_name(path.name + ".gz").write_bytes(gzip.compress(data)) if gz else path.write_bytes(data))


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
def test_mnist_idx_files(name, tmp_path):
    rng = np.random.default_rng(4)
    imgs = {s: rng.integers(0, 256, (n, 28, 28)) for s, n in (("train", 7), ("test", 3))}
    labs = {s: rng.integers(0, 10, len(imgs[s])) for s in imgs}
    write_idx(tmp_path / "train-images-idx3-ubyte", imgs["train"], gz=True)
    write_idx(tmp_path / "train-labels-idx1-ubyte", labs["train"], gz=True)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", imgs["test"], gz=False)
    with pytest.raises(ev.DatasetMissingError, match=r"missing t10k-labels-idx1-ubyte\[.gz\]"):
        load_split(name, "test", make_config("mnist", steps=3), root=tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", labs["test"], gz=False)
    cfg = make_config("mnist", steps=3)
    x, y = load_split(name, "test", cfg, root=tmp_path)
    assert x.shape == (3, 3, 1, 28, 28) and x.dtype == np.uint8 and np.array_equal(y, labs["test"])
    assert np.array_equal(x[:, 2, 0], imgs["test"]) and input_spec(name, cfg)["bits"] == 8
    assert load_split(name, "train", cfg, root=tmp_path, limit=2)[0].shape == (2, 3, 1, 28, 28)
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x05\x01")
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte: byte 8: 1 bytes of data; expected 5"):
        load_split(name, "test", cfg, root=tmp_path)


def test_unknown_dataset_and_options():
    with pytest.raises(ValueError, match="unknown dataset 'nope'; expected one of"):
        load_split("nope", "train", NMNIST)
    with pytest.raises(ValueError, match="digits take no options"):
        load_split("digits", "train", make_config("mnist", input_size=8), bits=3)
