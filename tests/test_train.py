"""Training: Table X presets, resume after an interruption, metrics with firing rates, clear errors."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from model_export import train as tr
from model_export.checkpoint import load_checkpoint, load_train_state
from syna_contract.graph import build_graph
from model_export.recipe import TRAIN_PRESETS, TrainArgs, resolve

# A tiny run: 128 digits, 64 evaluation digits, a 1/8-width model; lr high enough that it spikes.
TINY = dict(dataset="digits", preset="mnist", width=0.125, input_size=8, steps=4, batch_size=32, lr=5e-2,
            train_limit=128, eval_limit=64, threads=1, device="cpu", plots=False)


def tiny(tmp_path, name="m.pt", **kw) -> TrainArgs:
    return TrainArgs(**dict(TINY, out=str(tmp_path / name), **kw))


def records(path) -> list[dict]:
    return [json.loads(l) for l in open(str(path).replace(".pt", ".metrics.jsonl"))]


def test_preset_fills_unset_options_and_flags_win():
    mnist = TRAIN_PRESETS["mnist"]
    r = resolve(TrainArgs(preset="mnist"))
    assert (r.lr, r.batch_size, r.epochs, r.loss) == (mnist.lr, mnist.batch_size, mnist.epochs, mnist.loss)
    r = resolve(TrainArgs(preset="dvs_gesture", lr=3e-3, epochs=7))
    assert (r.lr, r.epochs, r.batch_size) == (3e-3, 7, TRAIN_PRESETS["dvs_gesture"].batch_size)
    assert resolve(TrainArgs(preset="cifar10_dvs")).augment == "flip,translate"
    assert tr.model_preset("fashion_mnist") == "mnist"          # Table IX topology of the MNIST row


@pytest.mark.parametrize("kw, message", [
    (dict(preset="imagenet"), "unknown preset 'imagenet'; expected one of"),
    (dict(loss="l1"), "loss 'l1'; expected 'mse'"),
    (dict(epochs=-1), "--epochs -1; expected 0 or more"),
    (dict(batch_size=0), "--batch-size 0; expected 1 or more"),
    (dict(augment="flip,rotate"), "augmentation ['rotate']; expected a comma list of"),
    (dict(lr=0.0), "--lr 0.0; expected a positive learning rate"),
])
def test_bad_options_are_refused_with_what_was_expected(kw, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        resolve(TrainArgs(**kw))


def test_amp_on_cpu_is_refused(tmp_path):
    with pytest.raises(ValueError, match="--amp needs a CUDA device"):
        tr.train(tiny(tmp_path, epochs=1, amp=True))


def test_metrics_log_firing_rates_and_silent_shortcuts(tmp_path, capfd, monkeypatch):
    monkeypatch.setenv("SYNA_PROGRESS_SECONDS", "0")          # a log line at every step
    out = tr.train(tiny(tmp_path, epochs=2, qat_epochs=1, weight_bits=6))
    err = capfd.readouterr().err                              # not a terminal: plain lines, no tqdm bar redraws
    assert "\r" not in err and "float epoch 1/2: " in err, err[-500:]
    recs = records(out)
    assert [(r["phase"], r["epoch"]) for r in recs] == [("float", 1), ("float", 2), ("qat", 1)]
    lif = [l["name"] for l in build_graph(load_checkpoint(out).model.config) if l["kind"] == "conv_lif"]
    for r in recs:
        assert list(r["firing_rates"]) == lif and r["eval_samples"] == 64 and r["train_samples"] == 128
        assert all(0.0 <= v <= 1.0 for v in r["firing_rates"].values())
        silent = [n for n in lif if n.endswith(".short") and r["firing_rates"][n] == 0.0]
        assert r["silent_shortcuts"] == silent
    assert any(v > 0 for r in recs for v in r["firing_rates"].values()), "the tiny run should spike somewhere"
    assert recs[1]["lr"] < recs[0]["lr"]                                    # cosine annealing
    ck = load_checkpoint(out)
    assert ck.meta["completed"] and ck.meta["qat_epochs_done"] == 1 and ck.weight_bits(8) == 6
    assert ck.meta["float_test_acc"] == recs[1]["test_acc"]
    assert ck.meta["final_eval"]["test_acc"] == pytest.approx(tr.evaluate(ck.model, *_eval_set(ck), 1 / 16))


def _eval_set(ck):
    from model_export.data import load_split
    return load_split("digits", "test", ck.model.config, limit=64)


class Interrupt(Exception):
    pass


def _interrupt_at(monkeypatch, call: int):
    """Make the ``call``-th training epoch (1-based, counting both phases) raise, like a killed job."""
    original = tr._train_epoch
    calls = [0]

    def epoch(*a, **kw):
        calls[0] += 1
        if calls[0] == call:
            raise Interrupt(f"interrupted at epoch call {call}")
        return original(*a, **kw)

    monkeypatch.setattr(tr, "_train_epoch", epoch)


def test_resume_after_interruptions_ends_bit_identical(tmp_path, monkeypatch):
    kw = dict(epochs=3, qat_epochs=2, weight_bits=6, augment="flip,translate")
    ref = tr.train(tiny(tmp_path, "ref.pt", **kw))
    path = tmp_path / "cut.pt"
    _interrupt_at(monkeypatch, 2)                       # dies in float epoch 2
    with pytest.raises(Interrupt):
        tr.train(tiny(tmp_path, "cut.pt", **kw))
    meta, state = load_train_state(path)
    assert (state["phase"], state["epoch"], meta["completed"]) == ("float", 1, False)
    monkeypatch.undo()
    _interrupt_at(monkeypatch, 4)                       # resumed: float 2, 3, qat 1, dies in qat epoch 2
    with pytest.raises(Interrupt):
        tr.train(TrainArgs(resume=str(path), plots=False))
    assert load_train_state(path)[1]["phase"] == "qat"
    monkeypatch.undo()
    tr.train(TrainArgs(resume=str(path), plots=False))
    a, b = load_checkpoint(ref), load_checkpoint(path)
    for (k, va), vb in zip(a.model.state_dict().items(), b.model.state_dict().values()):
        assert torch.equal(va, vb), f"{k} differs after resuming"
    strip = lambda rs: [{k: v for k, v in r.items() if k != "seconds"} for r in rs]   # noqa: E731
    assert strip(records(path)) == strip(records(ref))
    assert b.meta["completed"] and b.meta["float_test_acc"] == a.meta["float_test_acc"]


def test_resume_refuses_changed_options_and_finished_runs(tmp_path, capsys, monkeypatch):
    _interrupt_at(monkeypatch, 2)
    with pytest.raises(Interrupt):
        tr.train(tiny(tmp_path, epochs=2))
    monkeypatch.undo()
    out = tmp_path / "m.pt"
    with pytest.raises(ValueError, match=r"--resume continues the saved run: --lr 0.1 differs from its 0.05"):
        tr.train(TrainArgs(resume=str(out), lr=0.1))
    assert tr.train(TrainArgs(resume=str(out), threads=1)) == out          # threads may change
    assert tr.train(TrainArgs(resume=str(out))) == out                     # finished: nothing to do
    assert "this run is complete" in capsys.readouterr().out
    # A checkpoint from before resume existed (the shipped one) loads, but cannot be resumed.
    from model_export.demo import SHIPPED
    with pytest.raises(ValueError, match="has no training state"):
        tr.train(TrainArgs(resume=str(SHIPPED)))


def test_augmentation_keeps_integers_and_moves_pixels():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 17, (64, 4, 1, 8, 8))
    flipped = tr.augment_batch(x, ("flip",), np.random.default_rng(1))
    mirrored = [np.array_equal(f, s[..., ::-1]) for f, s in zip(flipped, x)]
    same = [np.array_equal(f, s) for f, s in zip(flipped, x)]
    assert all(m or s for m, s in zip(mirrored, same)) and 10 < sum(mirrored) < 54      # p = 0.5
    moved = tr.augment_batch(x, ("translate",), np.random.default_rng(2))
    assert moved.dtype == x.dtype and moved.min() >= 0 and moved.max() <= 16
    for m, s in zip(moved, x):                         # a shifted copy: every kept pixel came from the original
        hits = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)
                if np.array_equal(m, _shift(s, dy, dx))]
        assert hits, "translate must be a pure shift with zero fill"
    again = tr.augment_batch(x, ("translate",), np.random.default_rng(2))
    assert np.array_equal(moved, again)


def _shift(s, dy, dx):
    out = np.zeros_like(s)
    h, w = s.shape[-2:]
    out[..., max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        s[..., max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


def test_train_cli_help_lists_presets_and_options():
    import subprocess
    import sys
    r = subprocess.run([sys.executable, "-m", "model_export", "train", "--help"], capture_output=True, text=True)
    assert r.returncode == 0
    for word in ("--resume", "--amp", "--micro-batches", "--device", "torchrun", "--no-plots", *TRAIN_PRESETS):
        assert word in r.stdout
    # The CLI passes only the options the user gave (for --resume checks).
    from model_export.cli import build_parser
    a = build_parser().parse_args(["train", "--epochs", "3"])
    assert {k: v for k, v in vars(a).items() if k in TrainArgs.__dataclass_fields__} == {"epochs": 3}


def test_dataset_options_parse_and_travel_with_the_run():
    from model_export.recipe import dataset_kwargs, parse_data_options
    assert parse_data_options(["bits=3", "sensor=32", "gain=0.5", "mode=fast"]) == dict(
        bits=3, sensor=32, gain=0.5, mode="fast")
    with pytest.raises(ValueError, match=r"dataset option 'bits'; expected KEY=VALUE"):
        resolve(TrainArgs(data_options=["bits"]))
    spec, split = dataset_kwargs(dict(data_options=["bits=2"], data_root="/data/dvs"))
    assert spec == {"bits": 2} and split == {"bits": 2, "root": "/data/dvs"}
    assert dataset_kwargs({}) == ({}, {})                     # older checkpoints: the dataset's defaults


@pytest.mark.parametrize("arch, merge", [("spiking-resnet", "ADD"), ("sew-resnet", "IAND")])
def test_arch_trains_and_reloads_as_itself(tmp_path, arch, merge):
    """--arch picks a zoo model; the checkpoint rebuilds the same class (the config alone could not)."""
    from model_export import zoo
    path = tr.train(tiny(tmp_path, arch=arch, merge=merge if arch == "sew-resnet" else None, epochs=1,
                         train_limit=32, eval_limit=16))
    ck = load_checkpoint(path)
    assert ck.meta["train_args"]["arch"] == arch and ck.model.config.merge == merge
    assert type(ck.model) is type(zoo.build_model(arch, ck.model.config))
    last = records(path)[-1]
    assert last["phase"] == "float"
    rates = last["firing_rates"]                 # graph layers, or every neuron module (spiking-resnet)
    assert rates and all(0.0 <= v <= 1.0 for v in rates.values())
    assert any(n.startswith("blocks.") for n in rates) == (arch == "spiking-resnet")


def test_arch_that_cannot_export_refuses_quantisation_aware_tuning(tmp_path):
    with pytest.raises(ValueError, match="arch 'ms-resnet' cannot be exported to the integer contract"):
        tr.train(tiny(tmp_path, arch="ms-resnet", epochs=1, qat_epochs=1))
    with pytest.raises(ValueError, match="arch 'spiking-resnet' merges with ADD"):
        tr.train(tiny(tmp_path, arch="spiking-resnet", merge="OR", epochs=1))
