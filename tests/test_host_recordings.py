"""One recordings format (issue 18): ``python -m host classify``, ``python -m model_export run``, the
notebook and the bundle's golden.npz read the same files through host.recordings.read_recordings;
``--format``, per-file names and clear one-line errors."""
import argparse

import numpy as np
import pytest

from host import SpikingCore
from host.eventfiles import write_nmnist
from host.recordings import classify_recordings, read_recordings
from syna_contract.bundle import load_bundle
from syna_contract.reference import Reference

from helpers import export_digits, export_dvs, random_events


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    root, x, y = export_digits(tmp_path_factory.mktemp("rec") / "digits", golden=6)
    return root, x, y


@pytest.fixture(scope="module")
def dvs(tmp_path_factory):
    root, _ = export_dvs(tmp_path_factory.mktemp("rec") / "dvs")
    return root


def rows(out: str) -> list[list[str]]:
    return [line.split("\t") for line in out.splitlines()]


def test_golden_npz_is_a_recordings_file_for_host_and_run(digits, capsys):
    """Before: host classify wanted 'frames' and crashed on golden.npz ('input'); run wanted 'input'."""
    from host.__main__ import main as host_main
    from model_export.cli import main as export_main
    root, _, _ = digits
    golden = root / "golden.npz"
    g = load_bundle(root).golden()
    want = g["scores"].argmax(axis=1)
    assert host_main(["classify", str(root), str(golden), "--backend", "reference"]) == 0
    out = capsys.readouterr()
    r = rows(out.out)
    assert [int(p) for _, _, p, _ in r] == want.tolist()
    assert [name for _, name, _, _ in r] == [f"golden.npz[{i}]" for i in range(6)]
    assert [int(t) for *_, t in r] == g["labels"].tolist()
    assert "6 recordings of frames (4, 1, 8, 8)" in out.err
    assert export_main(["run", str(root), str(golden)]) == 0


def test_frames_key_works_for_model_export_run_and_energy(digits, tmp_path, capsys):
    from model_export.cli import main as export_main
    root, x, y = digits
    rec = tmp_path / "frames.npz"
    np.savez(rec, frames=x[:5], labels=y[:5])
    assert export_main(["run", str(root), str(rec), "--show", "5"]) == 0
    text = capsys.readouterr().out
    scores = Reference(load_bundle(root)).run(x[:5], keep_spikes=False).scores
    for i in range(5):
        assert f"{i:6d}  {int(scores[i].argmax()):4d}  {int(y[i]):>5}" in text
    assert export_main(["energy", str(root), str(rec)]) == 0


def test_one_reader_for_every_kind(digits, dvs, tmp_path):
    root, x, y = digits
    both = tmp_path / "both.npz"
    np.savez(both, frames=x[:2], input=x[:2])
    with pytest.raises(ValueError, match="has both 'frames' and 'input'; expected one of them"):
        read_recordings(both)
    one = tmp_path / "one.npz"
    np.savez(one, input=x[0])
    r = read_recordings(one)
    assert r.frames.shape == (1, 4, 1, 8, 8) and r.names == ["one.npz[0]"] and r.labels is None
    badlab = tmp_path / "badlab.npz"
    np.savez(badlab, frames=x[:3], labels=y[:2])
    with pytest.raises(ValueError, match=r"labels int64 \(2,\); expected integers \(3,\)"):
        read_recordings(badlab)
    ev = tmp_path / "ev.npz"
    xs, ys, ps, ts = random_events(np.random.default_rng(0), 300, 8, 8)
    np.savez(ev, x=xs, y=ys, p=ps, t=ts, offsets=[0, 100, 400])
    with pytest.raises(ValueError, match="offsets int64 \\(3,\\).*expected N\\+1 non-decreasing integers from 0 "
                                         "to the 300 events"):
        read_recordings(ev)
    np.savez(ev, x=xs, y=ys, p=ps, t=ts, offsets=[0, 100, 300])
    r = read_recordings(ev)
    assert r.kind == "events" and len(r) == 2 and r.names == ["ev.npz[0]", "ev.npz[1]"]
    frames = r.to_frames(load_bundle(dvs).input_spec)
    assert frames.shape == (2, 4, 2, 8, 8)


def test_nmnist_bs2_files_and_format_option(dvs, tmp_path, capsys):
    """Before: a .bs2 file went to np.load (numpy's 'pickled data' error), a folder of them gave 'no event
    files' -- both as tracebacks."""
    from host.__main__ import main
    rng = np.random.default_rng(4)
    folder = tmp_path / "nmnist"
    names = []
    for i, label in enumerate([2, 5, 5]):
        (folder / str(label)).mkdir(parents=True, exist_ok=True)
        write_nmnist(folder / str(label) / f"{i:05d}.bs2", *random_events(rng, 500, 8, 8))
        names.append(f"{label}/{i:05d}.bs2")
    (folder / "test.txt").write_text("00000.bs2 2\r\n")               # a list file: not a recording
    with SpikingCore(dvs, backend="reference") as core:
        want = classify_recordings(core, folder)
        single = classify_recordings(core, folder / "2" / "00000.bs2")
    assert want.names == names and want.labels.tolist() == [2, 5, 5]
    assert single.predicted[0] == want.predicted[0] and single.names == ["00000.bs2"]
    assert main(["classify", str(dvs), str(folder), "--backend", "reference"]) == 0
    r = rows(capsys.readouterr().out)
    assert [n for _, n, _, _ in r] == names and [int(p) for _, _, p, _ in r] == want.predicted.tolist()
    # any name with --format nmnist
    odd = tmp_path / "sample.dat"
    odd.write_bytes((folder / "5" / "00001.bs2").read_bytes())
    assert main(["classify", str(dvs), str(odd), "--format", "nmnist", "--backend", "reference"]) == 0
    assert rows(capsys.readouterr().out)[0][1:] == ["sample.dat", str(want.predicted[1])]
    assert main(["classify", str(dvs), str(odd), "--backend", "reference"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot tell the recordings format from the name (.dat)" in err[0] and \
        "--format" in err[0]


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("make, match", [
    (lambda d: (d / "empty").mkdir() or d / "empty", "no event files (.aedat, .aedat4, .bin, .bs2) in this folder "
                                                      "(it has no files)"),
    (lambda d: _write(d / "x.npz", b"not a zip"), "not an .npz archive"),
    (lambda d: (np.save(d / "a.npy", np.zeros(3)), d / "a.npy")[1], "cannot tell the recordings format"),
    (lambda d: _write(d / "p.bs2", b"\x01\x02\x03"), "p.bs2: byte 0: truncated event"),
    (lambda d: (np.savez(d / "k.npz", z=np.zeros(3)), d / "k.npz")[1], "neither frames ('frames' or 'input'"),
])
def test_bad_recordings_give_one_line(dvs, tmp_path, capsys, make, match):
    from host.__main__ import main
    path = make(tmp_path)
    assert main(["classify", str(dvs), str(path), "--backend", "reference"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and match in err[0], err


def test_every_option_of_python_m_host_has_help():
    """Before: --backend, --overlay and bundle had no help text."""
    from host.__main__ import build_parser
    ap = build_parser()
    subs = next(a for a in ap._actions if isinstance(a, argparse._SubParsersAction))
    assert set(subs.choices) == {"classify", "notebook", "throughput"}
    for name, p in subs.choices.items():
        for a in p._actions:
            if not isinstance(a, argparse._HelpAction):
                assert a.help, f"{name} {a.dest} has no help"
