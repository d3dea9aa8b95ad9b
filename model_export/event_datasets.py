"""Event-camera datasets as integer frames ``[N, T, 2, H, W]`` (docs/datasets.md).

Every sample's events go through ``host.events.events_to_frames`` -- the function the board's
driver uses -- split by number into T frames (SpikingJelly's ``split_by='number'``, what the
paper trains on), summed over ``pool x pool`` windows when the model's input is smaller than
the sensor, and clipped to the input spec's bits; how many values were clipped is counted and
reported (:class:`SplitReport`), never hidden.

| name | files | parsed by |
|---|---|---|
| ``nmnist`` | ``Train/<digit>/*`` and ``Test/<digit>/*`` (any extension), or list files | ``host.eventfiles.read_nmnist`` |
| ``dvs128_gesture`` | IBM's ``DvsGesture`` (AEDAT 3.1 + label CSVs) | SpikingJelly's ``DVS128Gesture`` |
| ``cifar10_dvs`` | ``<class>/*.aedat`` (AEDAT 2.0) | SpikingJelly's ``CIFAR10DVS`` |
| ``synthetic_gestures`` | generated here in the DVS128 Gesture layout | SpikingJelly's ``DVS128Gesture``, as the real set |

Sample order: a fixed permutation (``ORDER_SEED``) of the split, so that ``limit`` gives a
mix of classes.
"""
from __future__ import annotations

import math
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from host.events import encode_counts, events_to_frames
from host.eventfiles import read_nmnist

from .progress import progress, say

DATA_ENV = "SYNA_DATA"            # folder holding one sub-folder per dataset (default ./data)
SENSORS = {"nmnist": (34, 34), "dvs128_gesture": (128, 128), "cifar10_dvs": (128, 128)}   # (width, height)
ORDER_SEED = 0
SPLIT_BY = "number"
DEFAULT_BITS = {"nmnist": 3, "dvs128_gesture": 4, "cifar10_dvs": 4, "synthetic_gestures": 3}
CIFAR10_DVS_TRAIN_RATIO = 0.9     # SpikingJelly's split_to_train_test_set(0.9, ..., random_split=False)
NMNIST_DIRS = {"train": ("Train", "train"), "test": ("Test", "test")}    # the archives' names, or lower case
NMNIST_LISTS = {"train": "train*.txt", "test": "test*.txt"}             # SLAYER's list files (train1K.txt, ...)
GESTURE_FILES = ("DvsGesture.tar.gz", "gesture_mapping.csv", "LICENSE.txt", "README.txt")


class DatasetMissingError(FileNotFoundError):
    """A dataset's files are not where they should be; the message lists what is missing."""


CACHE_DIR = Path(__file__).resolve().parent.parent / "build" / "datasets"   # generated sets (git-ignored)


def dataset_root(name: str, root=None, generated: bool = False) -> Path:
    """``root`` if given, else ``$SYNA_DATA/<name>`` (``./data/<name>``); a ``generated`` set
    without ``$SYNA_DATA`` goes to the repository's ``build/datasets/<name>``."""
    if root is not None:
        return Path(root)
    if generated and DATA_ENV not in os.environ:
        return CACHE_DIR / name
    return Path(os.environ.get(DATA_ENV, "data")) / name


def _missing(name: str, root: Path, missing: list[str], layout: str) -> DatasetMissingError:
    shown = ", ".join(missing[:12]) + (f" and {len(missing) - 12} more" if len(missing) > 12 else "")
    return DatasetMissingError(f"{name}: {root} is incomplete: missing {shown}. Expected {layout} "
                               f"(see docs/datasets.md; pass root=... or set ${DATA_ENV})")


# ------------------------------------------------------------------------------------ spec + frames
def input_sizes(sensor: tuple[int, int]) -> list[int]:
    """Input sizes (H = W) a ``(width, height)`` sensor pools to with one ``pool x pool`` window, largest first."""
    width, height = sensor
    return [width // k for k in range(1, width + 1) if width % k == 0 and height % k == 0 and width // k == height // k]


def event_spec(name: str, config, sensor: tuple[int, int], bits: int | None = None) -> dict:
    """Input spec of an event dataset for ``config`` (T, input size): 2 polarity channels of
    counts clipped to ``bits``, frames pooled from the ``sensor`` (width, height) to the input size."""
    bits = DEFAULT_BITS[name] if bits is None else bits
    if config.in_channels != 2:
        raise ValueError(f"{name} has 2 polarity channels; the model expects {config.in_channels} "
                         "(use --in-channels 2)")
    width, height = sensor
    size = config.input_size
    if size not in input_sizes(sensor):
        raise ValueError(f"{name}: the {width}x{height} sensor cannot be pooled to the model's {size}x{size} input; "
                         f"expected an input size that divides it: {', '.join(map(str, input_sizes(sensor)))}")
    if not 1 <= bits <= 16:
        raise ValueError(f"bits {bits}; expected 1..16")
    return dict(steps=config.steps, channels=2, height=size, width=size, encoding="counts", bits=bits,
                scale=1.0, static=False, binarize=bits == 1, split_by=SPLIT_BY, pool=width // size,
                sensor=[width, height])


@dataclass
class SplitReport:
    """What integrating a split did: samples, events, and how many values the bits clipped."""

    dataset: str
    split: str
    samples: int = 0
    events: int = 0
    values: int = 0
    nonzero: int = 0
    saturated: int = 0
    max_count: int = 0
    bits: int = 0

    def line(self) -> str:
        share = 100.0 * self.saturated / max(1, self.nonzero)
        return (f"{self.dataset} {self.split}: {self.samples} samples, {self.events} events; "
                f"{self.saturated} of {self.nonzero} non-zero counts clipped at {(1 << self.bits) - 1} "
                f"({self.bits} bits, {share:.3f}%), largest count {self.max_count}")


def integrate(samples, count: int, spec: dict, report: SplitReport) -> np.ndarray:
    """``samples`` yields (x, y, p, t) per sample -> uint8/uint16 ``[N, T, 2, H, W]`` for ``spec``."""
    pool = spec["pool"]
    h, w = spec["height"] * pool, spec["width"] * pool
    out = None
    for i, (x, y, p, t) in enumerate(samples):
        counts = events_to_frames(x, y, p, t, h, w, split_by=spec["split_by"], frames=spec["steps"],
                                  channels=spec["channels"], pool=pool)
        frames, sat = encode_counts(counts, spec["bits"], spec.get("binarize", False))
        if out is None:
            out = np.zeros((count,) + frames.shape, dtype=frames.dtype)
        out[i] = frames
        report.samples += 1
        report.events += int(t.size)
        report.values += counts.size
        report.nonzero += int(np.count_nonzero(counts))
        report.saturated += sat
        report.max_count = max(report.max_count, int(counts.max()))
    report.bits = spec["bits"]
    if out is None:
        raise ValueError(f"{report.dataset} {report.split}: no samples")
    return out


def _order(n: int, limit: int | None) -> np.ndarray:
    idx = np.random.default_rng(ORDER_SEED).permutation(n)
    return idx[:limit] if limit else idx


# ------------------------------------------------------------------------------------ N-MNIST
NMNIST_LAYOUT = ("one of: Train/0..9/ and Test/0..9/ holding the recordings (the original N-MNIST archives "
                 "unpacked; any file name, .bin or .bs2); or list files train*.txt and test*.txt of "
                 "'<sample> <label>' lines beside <sample>.bs2 (or .bin) recordings (SLAYER's N-MNIST copies; "
                 "pick the lists with train_list= / test_list= when there are several)")
NMNIST_LIST_LINE = "'<sample> <label>' lines (e.g. '60001\t7'; '#' starts a comment), label 0..9"


class ListFileError(ValueError):
    """A list file line that is not '<sample> <label>'."""


def nmnist_files(root: Path, split: str, train_list=None, test_list=None) -> tuple[list[Path], np.ndarray]:
    """The recordings and labels of ``split``: from list files when given or when ``root`` has no
    ``Train``/``Test`` folders but ``train*.txt`` / ``test*.txt`` lists, else from the digit folders."""
    lists = {"train": train_list, "test": test_list}
    archive = any((root / d).is_dir() for names in NMNIST_DIRS.values() for d in names)
    if lists[split] is not None or (not archive and any(root.glob(NMNIST_LISTS[split]))):
        return _nmnist_from_list(root, split, lists[split])
    missing, files, labels = [], [], []
    for s in ("train", "test"):
        top = next((root / d for d in NMNIST_DIRS[s] if (root / d).is_dir()), root / NMNIST_DIRS[s][0])
        for digit in range(10):
            d = top / str(digit)
            found = sorted(f for f in d.iterdir() if f.is_file() and not f.name.startswith(".")) if d.is_dir() else []
            if not found:
                missing.append(f"{top.name}/{digit}/*")
            if s == split:
                files += found
                labels += [digit] * len(found)
    if missing:
        raise _missing("nmnist", root, missing, NMNIST_LAYOUT)
    return files, np.array(labels, dtype=np.int64)


def _nmnist_list(root: Path, split: str, given) -> Path:
    if given is not None:
        path = Path(given) if Path(given).is_absolute() else root / given
        if not path.is_file():
            raise _missing("nmnist", root, [f"{split}_list {given}"], NMNIST_LAYOUT)
        return path
    found = sorted(root.glob(NMNIST_LISTS[split]))
    if len(found) > 1:
        raise ValueError(f"nmnist: {root} has {len(found)} {split} list files ({', '.join(f.name for f in found)}); "
                         f"expected one, or the one to use given: --data-option {split}_list=NAME")
    if not found:
        raise _missing("nmnist", root, [NMNIST_LISTS[split]], NMNIST_LAYOUT)
    return found[0]


def read_list(path: Path) -> list[tuple[str, int]]:
    """``(sample, label)`` of each line of a list file (any line ends, blank and '#' lines skipped)."""
    out = []
    for number, line in enumerate(path.read_bytes().decode("utf-8-sig").splitlines(), 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        parts = text.split()
        label = int(parts[1]) if len(parts) == 2 and parts[1].isdigit() else -1
        if not 0 <= label <= 9:
            raise ListFileError(f"{path}: line {number}: {line.strip()!r}; expected {NMNIST_LIST_LINE}")
        out.append((parts[0], label))
    if not out:
        raise ListFileError(f"{path}: no samples; expected {NMNIST_LIST_LINE}")
    return out


def _nmnist_from_list(root: Path, split: str, given) -> tuple[list[Path], np.ndarray]:
    """Each listed sample is the file ``<root>/<sample>`` if it exists, else the one ``<root>/<sample>.*``
    (any extension: SLAYER's ``60001.bs2``)."""
    listing = _nmnist_list(root, split, given)
    folders: dict[Path, tuple[set, dict]] = {}       # folder -> (file names, stem -> file names): one listing each
    files, labels, missing, ambiguous = [], [], [], []
    for sample, label in read_list(listing):
        path = root / sample
        if path.parent not in folders:
            names = {f.name for f in path.parent.iterdir() if f.is_file()} if path.parent.is_dir() else set()
            stems: dict[str, list[str]] = {}
            for name in sorted(names):
                stems.setdefault(Path(name).stem, []).append(name)
            folders[path.parent] = names, stems
        names, stems = folders[path.parent]
        found = [path.name] if path.name in names else stems.get(path.name, [])
        if len(found) == 1:
            files.append(path.parent / found[0])
            labels.append(label)
        elif found:
            ambiguous.append(f"{sample} ({', '.join(found)})")
        else:
            missing.append(f"{sample}.*")
    if ambiguous:
        raise ValueError(f"nmnist: {listing}: {len(ambiguous)} samples match several files, e.g. {ambiguous[0]}; "
                         "expected one recording per sample (or the file named in the list, extension included)")
    if missing:
        raise _missing("nmnist", root, missing, f"a recording <sample>.bs2 (or any extension) for each sample of "
                       f"{listing.name}")
    return files, np.array(labels, dtype=np.int64)


def nmnist_spec(config, bits=None, train_list=None, test_list=None) -> dict:
    return event_spec("nmnist", config, SENSORS["nmnist"], bits)


def load_nmnist(split: str, config, limit=None, root=None, bits=None, report=None, train_list=None,
                test_list=None) -> tuple[np.ndarray, np.ndarray]:
    root = dataset_root("nmnist", root)
    spec = event_spec("nmnist", config, SENSORS["nmnist"], bits)
    files, labels = nmnist_files(root, split, train_list, test_list)
    idx = _order(len(files), limit)

    def samples():
        for i in progress(idx, desc=f"nmnist {split}", unit="file", leave=False):
            ev = read_nmnist(files[i])
            yield ev.x, ev.y, ev.p, ev.t
    return integrate(samples(), idx.size, spec, report or SplitReport("nmnist", split)), labels[idx]


# ------------------------------------------------------------------------------------ SpikingJelly folders
def _extracted(cls, sensor: tuple[int, int]):
    """``cls`` reading an already extracted folder: SpikingJelly checks the MD5s of the
    downloaded archives even when ``extract/`` is there; this subclass has no archives to check."""
    w, h = sensor
    return type(f"Extracted{cls.__name__}", (cls,), {
        "resource_url_md5": classmethod(lambda c: []),
        "get_H_W": classmethod(lambda c: (h, w))})


def _sj_event_samples(ds, name: str, split: str, idx: np.ndarray):
    for i in progress(idx, desc=f"{name} {split}", unit="sample", leave=False):
        ev, _ = ds[int(i)]
        yield ev["x"], ev["y"], ev["p"], ev["t"]


GESTURE_LAYOUT = ("one of: download/ with IBM's " + ", ".join(GESTURE_FILES) +
                  "; extract/DvsGesture/ with trials_to_train.txt, trials_to_test.txt, userNN_*.aedat and "
                  "userNN_*_labels.csv; or events_np/train and events_np/test from an earlier conversion")


def gesture_dataset(root: Path, split: str, sensor=(128, 128), name: str = "dvs128_gesture"):
    """SpikingJelly's ``DVS128Gesture(root, train, data_type='event')`` after checking the folder."""
    from spikingjelly.datasets.dvs128_gesture import DVS128Gesture
    cls = DVS128Gesture
    if not (root / "events_np" / "train").is_dir() or not (root / "events_np" / "test").is_dir():
        ext = root / "extract" / "DvsGesture"
        if ext.is_dir():
            missing = [f"extract/DvsGesture/{f}" for f in ("trials_to_train.txt", "trials_to_test.txt")
                       if not (ext / f).is_file()]
            for f in ("trials_to_train.txt", "trials_to_test.txt"):
                if (ext / f).is_file():
                    for trial in (ext / f).read_text().split():
                        for need in (trial, trial.rsplit(".", 1)[0] + "_labels.csv"):
                            if not (ext / need).is_file():
                                missing.append(f"extract/DvsGesture/{need}")
            if missing:
                raise _missing(name, root, missing, GESTURE_LAYOUT)
            (root / "download").mkdir(exist_ok=True)
            cls = _extracted(DVS128Gesture, sensor)
        else:
            missing = [f"download/{f}" for f in GESTURE_FILES if not (root / "download" / f).is_file()]
            if missing:
                raise _missing(name, root, missing, GESTURE_LAYOUT)
    return cls(str(root), train=split == "train", data_type="event")


def _gesture_split(name, root, split, config, limit, sensor, bits, report):
    spec = event_spec(name, config, sensor, bits)
    ds = gesture_dataset(root, split, sensor, name)
    # torchvision numbers class folders in string order ('0', '1', '10', '2', ...): map back to 0..10
    labels = np.array([int(ds.classes[c]) for _, c in ds.samples], dtype=np.int64)
    idx = _order(len(labels), limit)
    x = integrate(_sj_event_samples(ds, name, split, idx), idx.size, spec, report or SplitReport(name, split))
    return x, labels[idx]


def load_dvs128_gesture(split: str, config, limit=None, root=None, bits=None, report=None):
    return _gesture_split("dvs128_gesture", dataset_root("dvs128_gesture", root), split, config, limit,
                          SENSORS["dvs128_gesture"], bits, report)


CIFAR10_DVS_LAYOUT = ("one of: download/ with the 10 class archives (airplane.zip ... truck.zip); "
                      "extract/<class>/*.aedat for the 10 classes; or events_np/<class>/*.npz")


def cifar10_dvs_dataset(root: Path):
    """SpikingJelly's ``CIFAR10DVS(root, data_type='event')`` after checking the folder."""
    from spikingjelly.datasets.cifar10_dvs import CIFAR10DVS, CIFAR10DVS_CLASS_NAMES
    cls = CIFAR10DVS
    if not (root / "events_np").is_dir():
        ext = root / "extract"
        if ext.is_dir():
            missing = [f"extract/{c}/*.aedat" for c in CIFAR10DVS_CLASS_NAMES if not any((ext / c).glob("*.aedat"))]
            if missing:
                raise _missing("cifar10_dvs", root, missing, CIFAR10_DVS_LAYOUT)
            (root / "download").mkdir(exist_ok=True)
            cls = _extracted(CIFAR10DVS, SENSORS["cifar10_dvs"])
        else:
            missing = [f"download/{f}" for f, _, _ in CIFAR10DVS.resource_url_md5()
                       if not (root / "download" / f).is_file()]
            if missing:
                raise _missing("cifar10_dvs", root, missing, CIFAR10_DVS_LAYOUT)
    return cls(str(root), data_type="event")


def cifar10_dvs_split(targets: np.ndarray, split: str) -> np.ndarray:
    """Indices of ``split``: per class, the first ceil(0.9 n) samples train, the rest test
    (SpikingJelly's ``split_to_train_test_set(0.9, ds, 10, random_split=False)``, from the
    targets alone instead of loading every sample)."""
    out = []
    for c in range(10):
        ids = np.flatnonzero(targets == c)
        cut = math.ceil(ids.size * CIFAR10_DVS_TRAIN_RATIO)
        out.append(ids[:cut] if split == "train" else ids[cut:])
    return np.concatenate(out)


def load_cifar10_dvs(split: str, config, limit=None, root=None, bits=None, report=None):
    root = dataset_root("cifar10_dvs", root)
    spec = event_spec("cifar10_dvs", config, SENSORS["cifar10_dvs"], bits)
    ds = cifar10_dvs_dataset(root)
    targets = np.array(ds.targets, dtype=np.int64)
    members = cifar10_dvs_split(targets, split)
    idx = members[_order(members.size, limit)]
    x = integrate(_sj_event_samples(ds, "cifar10_dvs", split, idx), idx.size, spec,
                  report or SplitReport("cifar10_dvs", split))
    return x, targets[idx]


# ------------------------------------------------------------------------------------ synthetic gestures
SYNTHETIC_OPTIONS = ("sensor", "train_users", "test_users", "seed", "bits")


def synthetic_config(config, sensor=None, **options):
    from .synthetic_gestures import SyntheticGestureConfig
    unknown = set(options) - set(SYNTHETIC_OPTIONS)
    if unknown:
        raise ValueError(f"synthetic_gestures: unknown options {sorted(unknown)}; expected some of {SYNTHETIC_OPTIONS}")
    return SyntheticGestureConfig(sensor=sensor or config.input_size, **options)


def synthetic_folder(cfg, root=None) -> Path:
    """The generated set (cached by its configuration) as a DVS128 Gesture root folder."""
    from .synthetic_gestures import generate
    folder = dataset_root("synthetic_gestures", root, generated=True) / cfg.key()
    if not (folder / "extract" / "DvsGesture" / "trials_to_test.txt").is_file():
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{cfg.key()}.", dir=folder.parent))
        try:
            generate(tmp / "extract", cfg)
            (tmp / "download").mkdir()
            if folder.exists():                  # an interrupted earlier attempt
                shutil.rmtree(folder)
            tmp.rename(folder)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp)
    return folder


def load_synthetic_gestures(split: str, config, limit=None, root=None, bits=None, report=None, sensor=None,
                            **options):
    cfg = synthetic_config(config, sensor, **options)
    folder = synthetic_folder(cfg, root)
    return _gesture_split("synthetic_gestures", folder, split, config, limit, (cfg.sensor, cfg.sensor), bits, report)


def synthetic_spec(config, bits=None, sensor=None, **options) -> dict:
    cfg = synthetic_config(config, sensor, **options)
    return event_spec("synthetic_gestures", config, (cfg.sensor, cfg.sensor), bits)


def print_report(report: SplitReport) -> None:
    say(report.line(), file=sys.stderr)
