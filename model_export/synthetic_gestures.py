"""A synthetic DVS gesture set written in the DVS128 Gesture file format (numpy only).

Moving shapes seen by a simulated DVS: a shape (disc, square, bar or cross; bright on dark,
or dark on bright) follows one of 11 motions; every pixel the shape's edge enters or leaves
emits ON / OFF events (a bright leading edge is ON), with per-event jitter and drop-outs, on
top of uniform background noise whose rate depends on the "lighting". Recordings are laid out
exactly as IBM's DVS128 Gesture set (what SpikingJelly's ``DVS128Gesture`` reads):

    DvsGesture/userNN_LIGHTING.aedat             AEDAT 3.1, all 11 gestures of one user, one after another
    DvsGesture/userNN_LIGHTING_labels.csv        class (1..11), startTime_usec, endTime_usec
    DvsGesture/trials_to_train.txt, trials_to_test.txt     which recordings go where (by user)
    DvsGesture/gesture_mapping.csv, README.txt

Every recording is generated from ``(seed, user, lighting)`` alone, so the set is the same
whatever is generated first, and a class differs from another only by motion: position,
size, speed, shape and contrast are drawn at random for every gesture. Classes 4/5 and 8/9
differ only in the direction of rotation, which frames keep only through their order in T.

    python -m model_export.synthetic_gestures --out DIR [--sensor 32] [--train-users 6] [--test-users 2]
"""
from __future__ import annotations

import argparse
import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from .progress import progress as progress_bar

from host.eventfiles import write_aedat3

GENERATOR_VERSION = 1
CLASSES = ("move right", "move left", "move up", "move down", "rotate clockwise", "rotate counter-clockwise",
           "expand", "contract", "orbit clockwise", "orbit counter-clockwise", "jitter")
LIGHTINGS = ("fluorescent", "led", "natural")
NOISE_HZ = {"fluorescent": 0.6, "led": 0.3, "natural": 1.2}      # background events per pixel per second
SHAPES = ("disc", "square", "bar", "cross")
FOLDER = "DvsGesture"


@dataclass(frozen=True)
class SyntheticGestureConfig:
    """What decides the generated set (and its cache key)."""

    sensor: int = 32                      # square sensor, pixels
    train_users: int = 6
    test_users: int = 2
    lightings: tuple = LIGHTINGS
    seed: int = 2023
    step_us: int = 2000                   # simulation step
    gesture_us: tuple = (600_000, 900_000)
    gap_us: tuple = (150_000, 400_000)

    def __post_init__(self):
        if not 8 <= self.sensor <= 128:
            raise ValueError(f"sensor {self.sensor}; expected 8..128 pixels (DVS128 at most)")
        if self.train_users < 1 or self.test_users < 1 or self.train_users + self.test_users > 99:
            raise ValueError(f"users {self.train_users} + {self.test_users}; expected at least 1 each, 99 in all")
        unknown = set(self.lightings) - set(NOISE_HZ)
        if not self.lightings or unknown:
            raise ValueError(f"lightings {self.lightings}; expected some of {LIGHTINGS}")

    def key(self) -> str:
        d = dict(asdict(self), version=GENERATOR_VERSION)
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:12]

    def users(self, split: str) -> range:
        return range(1, self.train_users + 1) if split == "train" else \
            range(self.train_users + 1, self.train_users + self.test_users + 1)


def _mask(shape: str, cx, cy, r, theta, xx, yy) -> np.ndarray:
    u = (xx - cx) * np.cos(theta) + (yy - cy) * np.sin(theta)
    v = -(xx - cx) * np.sin(theta) + (yy - cy) * np.cos(theta)
    if shape == "disc":
        return u * u + v * v <= r * r
    if shape == "square":
        return (np.abs(u) <= r * 0.8) & (np.abs(v) <= r * 0.8)
    bar = (np.abs(u) <= r) & (np.abs(v) <= max(0.75, r * 0.28))
    if shape == "bar":
        return bar
    return bar | ((np.abs(v) <= r) & (np.abs(u) <= max(0.75, r * 0.28)))


def _trajectory(label: int, s: np.ndarray, rng, size: int):
    """Centre, radius and angle of the shape along the gesture (``s`` from 0 to 1)."""
    c = size / 2
    r0 = size * rng.uniform(0.10, 0.18)
    span = size * rng.uniform(0.35, 0.6)
    ox, oy = c + size * rng.uniform(-0.12, 0.12, 2)
    theta0 = rng.uniform(0, np.pi)
    one = np.ones_like(s)
    cx, cy, r, th = ox * one, oy * one, r0 * one, theta0 * one
    if label in (0, 1, 2, 3):
        d = (s - 0.5) * span * (1 if label in (0, 3) else -1)
        if label in (0, 1):
            cx = ox + d
        else:
            cy = oy + d
        th = theta0 + 0.3 * np.sin(2 * np.pi * s)
    elif label in (4, 5):
        turns = rng.uniform(0.6, 1.1) * (1 if label == 4 else -1)
        r = r0 * 1.8 * one
        th = theta0 + 2 * np.pi * turns * s                 # image y points down: + is clockwise
    elif label in (6, 7):
        lo, hi = r0 * 0.5, min(size * 0.42, r0 * rng.uniform(2.4, 3.2))
        r = lo + (hi - lo) * (s if label == 6 else 1 - s)
    elif label in (8, 9):
        rad = size * rng.uniform(0.18, 0.28)
        phase = rng.uniform(0, 2 * np.pi)
        ang = phase + 2 * np.pi * rng.uniform(0.7, 1.0) * s * (1 if label == 8 else -1)
        cx, cy = c + rad * np.cos(ang), c + rad * np.sin(ang)
        r = r0 * 0.8 * one
    else:                                                   # jitter: a random walk around the start
        steps = rng.normal(0, size * 0.035, (2, s.size))
        cx = ox + np.cumsum(steps[0]) * 0.35
        cy = oy + np.cumsum(steps[1]) * 0.35
        th = theta0 + np.cumsum(rng.normal(0, 0.05, s.size))
    return cx, cy, r, th


def gesture_events(label: int, start: int, duration: int, cfg: SyntheticGestureConfig, rng) -> tuple:
    """x, y, p, t of one gesture from ``start`` (µs) for ``duration`` µs."""
    size = cfg.sensor
    steps = max(2, duration // cfg.step_us)
    s = np.linspace(0.0, 1.0, steps)
    cx, cy, r, th = _trajectory(label, s, rng, size)
    shape = SHAPES[rng.integers(len(SHAPES))] if label not in (6, 7) else SHAPES[rng.integers(2)]
    bright = rng.random() < 0.7                             # bright shape on dark, else dark on bright
    p_emit = rng.uniform(0.75, 0.95)
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    xs, ys, ps, ts = [], [], [], []
    prev = _mask(shape, cx[0], cy[0], r[0], th[0], xx, yy)
    for k in range(1, steps):
        cur = _mask(shape, cx[k], cy[k], r[k], th[k], xx, yy)
        for on, changed in ((True, cur & ~prev), (False, prev & ~cur)):
            yk, xk = np.nonzero(changed)
            keep = rng.random(xk.size) < p_emit
            extra = rng.random(xk.size) < 0.35               # a second event from strong edges
            idx = np.concatenate([np.flatnonzero(keep), np.flatnonzero(keep & extra)])
            xs.append(xk[idx])
            ys.append(yk[idx])
            ps.append(np.full(idx.size, int(on == bright)))
            ts.append(start + k * cfg.step_us + rng.integers(0, cfg.step_us, idx.size))
        prev = cur
    return tuple(np.concatenate(a) for a in (xs, ys, ps, ts))


def recording(user: int, lighting: str, cfg: SyntheticGestureConfig) -> tuple[tuple, np.ndarray]:
    """All 11 gestures of one user under one lighting: events (x, y, p, t) and label rows."""
    rng = np.random.default_rng([cfg.seed, user, cfg.lightings.index(lighting), GENERATOR_VERSION])
    t = 1_000_000 + int(rng.integers(0, 1_000_000))
    parts, rows = [], []
    for label in rng.permutation(len(CLASSES)):
        t += int(rng.integers(*cfg.gap_us))
        dur = int(rng.integers(*cfg.gesture_us))
        parts.append(gesture_events(int(label), t, dur, cfg, rng))
        rows.append((int(label) + 1, t, t + dur))
        t += dur
    t_end = t + int(rng.integers(*cfg.gap_us))
    n_noise = rng.poisson(NOISE_HZ[lighting] * cfg.sensor ** 2 * (t_end - 1_000_000) / 1e6)
    parts.append((rng.integers(0, cfg.sensor, n_noise), rng.integers(0, cfg.sensor, n_noise),
                  rng.integers(0, 2, n_noise), rng.integers(1_000_000, t_end, n_noise)))
    x, y, p, ts = (np.concatenate(a) for a in zip(*parts))
    order = np.argsort(ts, kind="stable")
    return (x[order], y[order], p[order], ts[order]), np.array(rows, dtype=np.int64)


def trial_name(user: int, lighting: str) -> str:
    return f"user{user:02d}_{lighting}"


def generate(out: str | Path, cfg: SyntheticGestureConfig = SyntheticGestureConfig(), progress: bool = True) -> Path:
    """Write the set into ``out/DvsGesture/`` (the DVS128 Gesture layout); returns that folder."""
    folder = Path(out) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    source = "DVS128" if cfg.sensor == 128 else f"syna-fpga synthetic {cfg.sensor}x{cfg.sensor}"
    jobs = [(split, u, light) for split in ("train", "test") for u in cfg.users(split) for light in cfg.lightings]
    trials = {"train": [], "test": []}
    for split, user, light in progress_bar(jobs, desc="synthetic gestures", unit="recording", disable=not progress,
                                   leave=False):
        (x, y, p, t), rows = recording(user, light, cfg)
        name = trial_name(user, light)
        write_aedat3(folder / f"{name}.aedat", x, y, p, t, sensor_size=(cfg.sensor, cfg.sensor), source=source)
        (folder / f"{name}_labels.csv").write_text(
            "class,startTime_usec,endTime_usec\n" + "".join(f"{c},{a},{b}\n" for c, a, b in rows))
        trials[split].append(f"{name}.aedat")
    for split, names in trials.items():
        (folder / f"trials_to_{split}.txt").write_text("\n".join(names) + "\n")
    (folder / "gesture_mapping.csv").write_text(
        "action,label\n" + "".join(f"{n},{i + 1}\n" for i, n in enumerate(CLASSES)))
    (folder / "README.txt").write_text(
        "Synthetic DVS gestures made by syna-fpga (model_export/synthetic_gestures.py); not IBM's recordings.\n"
        f"config: {json.dumps(asdict(cfg))}\ngenerator version: {GENERATOR_VERSION}\n")
    return folder


def main(argv: list[str] | None = None, prog: str = "python -m model_export.synthetic_gestures") -> int:
    ap = argparse.ArgumentParser(prog=prog,
                                 description="Write the synthetic DVS gesture set in the DVS128 Gesture layout.")
    ap.add_argument("--out", required=True, help="folder; the recordings go to OUT/DvsGesture/")
    ap.add_argument("--sensor", type=int, default=32, help="sensor width = height, 8..128")
    ap.add_argument("--train-users", type=int, default=6)
    ap.add_argument("--test-users", type=int, default=2)
    ap.add_argument("--seed", type=int, default=2023)
    a = ap.parse_args(argv)
    cfg = SyntheticGestureConfig(sensor=a.sensor, train_users=a.train_users, test_users=a.test_users, seed=a.seed)
    folder = generate(a.out, cfg)
    n = len(cfg.lightings) * len(CLASSES)
    print(f"{folder}: {cfg.train_users * n} train and {cfg.test_users * n} test gestures, "
          f"{cfg.sensor}x{cfg.sensor}, seed {cfg.seed}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
