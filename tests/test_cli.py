"""The command line: export -> run -> plan -> energy on a small checkpoint, and clear errors."""
import json
import subprocess
import sys

import numpy as np
import pytest

from model_export.checkpoint import save_checkpoint
from model_export.cli import main
from model_export.data import input_spec

from helpers import random_inputs, random_model, small_config


@pytest.fixture
def checkpoint(tmp_path):
    cfg = small_config()
    model = random_model(cfg, random_inputs(4))
    path = tmp_path / "m.pt"
    save_checkpoint(path, model, "digits", input_spec("digits", cfg))
    return path


def test_export_run_plan_energy(checkpoint, tmp_path, capsys):
    out = tmp_path / "bundle"
    assert main(["export", str(checkpoint), "--out", str(out), "--samples", "5", "--weight-bits", "6"]) == 0
    assert "ROM files" in capsys.readouterr().out
    m = json.loads((out / "manifest.json").read_text())
    assert m["numerics"]["weight_bits"] == 6 and m["golden"]["samples"] == 5
    assert main(["run", str(out), str(out / "golden.npz")]) == 0
    text = capsys.readouterr().out
    assert "accuracy:" in text and "b2.post1" in text
    assert main(["plan", str(out), "--board", "pynq-z2", "--json", str(tmp_path / "p.json")]) == 0
    assert json.loads((tmp_path / "p.json").read_text())
    assert main(["energy", str(out), str(out / "golden.npz"), "--json", str(tmp_path / "e.json")]) == 0
    assert json.loads((tmp_path / "e.json").read_text())


def test_user_errors_exit_2_with_one_line(checkpoint, tmp_path, capsys):
    out = tmp_path / "bundle"
    main(["export", str(checkpoint), "--out", str(out), "--samples", "2"])
    capsys.readouterr()
    bad = tmp_path / "bad.npz"
    np.savez(bad, input=np.zeros((1, 4, 1, 8, 8), np.float32))
    assert main(["run", str(out), str(bad)]) == 2
    assert "input dtype float32; expected integers" in capsys.readouterr().err
    np.savez(bad, frames=np.zeros(3))
    assert main(["run", str(out), str(bad)]) == 2
    assert "'frames' has shape (3,); expected recordings [N, T, C, H, W]" in capsys.readouterr().err
    assert main(["run", str(tmp_path / "nope"), str(bad)]) == 2
    assert "bundle directory does not exist" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "missing.pt"), "--out", str(out)]) == 2
    assert "checkpoint not found" in capsys.readouterr().err
    assert main(["export", str(checkpoint), "--out", str(out), "--weight-bits", "3"]) == 2
    assert "weight bits 3; expected 4..16" in capsys.readouterr().err


def test_export_ddr_image(checkpoint, tmp_path, capsys):
    out = tmp_path / "bundle"
    assert main(["export", str(checkpoint), "--out", str(out), "--samples", "1", "--ddr-image", "--lanes", "8"]) == 0
    assert "DDR image weights.ddr.bin" in capsys.readouterr().out
    m = json.loads((out / "manifest.json").read_text())
    assert m["ddr_image"]["lanes"] == 8 and (out / "weights.ddr.bin").stat().st_size == m["ddr_image"]["bytes"]
    assert main(["export", str(checkpoint), "--out", str(out), "--ddr-image"]) == 2
    assert "--ddr-image needs --lanes P" in capsys.readouterr().err
    assert main(["export", str(checkpoint), "--out", str(out), "--ddr-image", "--lanes", "0"]) == 2
    assert "lanes 0; the DDR image takes 1..256 lanes" in capsys.readouterr().err
    assert (out / "weights.ddr.bin").is_file() and json.loads((out / "manifest.json").read_text())  # untouched


def test_help_reads_well():
    r = subprocess.run([sys.executable, "-m", "model_export", "--help"], capture_output=True, text=True)
    assert r.returncode == 0
    for cmd in ("train", "export", "run", "plan", "energy"):
        assert cmd in r.stdout


HEAVY = ("torch", "spikingjelly", "sklearn", "matplotlib")


def _modules_after(argv):
    """Run the CLI with ``argv`` in a fresh interpreter; return (exit code, output, top-level modules imported)."""
    code = ("import sys, json\nfrom model_export.cli import main\nrc = 0\n"
            "try:\n    rc = main(json.loads(sys.argv[1]))\nexcept SystemExit as e:\n    rc = e.code\n"
            "print('\\nMODULES', json.dumps(sorted({m.split('.')[0] for m in sys.modules})), 'RC', rc)")
    r = subprocess.run([sys.executable, "-c", code, json.dumps(argv)], capture_output=True, text=True, timeout=120)
    line = [l for l in r.stdout.splitlines() if l.startswith("MODULES ")][-1]
    mods, rc = line[len("MODULES "):].rsplit(" RC ", 1)
    return int(rc), r.stdout + r.stderr, set(json.loads(mods))


@pytest.mark.parametrize("argv", [["--help"], ["export", "--help"], ["run", "--help"], ["plan", "--help"],
                                  ["hls", "--help"], ["rtl", "--help"], ["host", "--help"]])
def test_help_imports_no_torch_and_lists_every_job(argv):
    rc, out, mods = _modules_after(argv)
    assert rc == 0, out
    assert not set(HEAVY) & mods, f"{argv} imported {set(HEAVY) & mods}"
    if argv == ["--help"]:
        for cmd in ("train", "export", "run", "plan", "energy", "plot", "table", "hls", "rtl", "host", "nir",
                    "synthetic-gestures"):
            assert f" {cmd} " in out or f" {cmd}\n" in out, cmd


def test_export_help_states_each_default_once():
    rc, out, _ = _modules_after(["export", "--help"])
    assert rc == 0
    options = " ".join(out.split()).split(" --")[1:]       # one entry per option, wrapping undone
    assert any("(default 8)" in o for o in options)
    for o in options:
        assert o.count("default") <= 1, o                  # argparse's own "(default: x)" once doubled ours


def test_board_names_are_case_insensitive_and_come_from_the_board_table(checkpoint, tmp_path, capsys):
    from syna_contract.boards import BOARDS
    out = tmp_path / "bundle"
    assert main(["export", str(checkpoint), "--out", str(out), "--samples", "2"]) == 0
    name = next(iter(BOARDS))
    assert main(["plan", str(out), "--board", name.upper()]) in (0, 1, 3)
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["plan", str(out), "--board", "no-such-board"])
    err = capsys.readouterr().err
    assert "unknown board 'no-such-board'" in err and all(b in err for b in BOARDS)


@pytest.mark.parametrize("cmd,sub", [("hls", "csim"), ("rtl", "run"), ("host", "classify"), ("nir", "import"),
                                     ("synthetic-gestures", None)])
def test_delegated_usage_lines_name_the_one_cli(cmd, sub, capsys):
    """`syna hls csim --help` says `usage: ... hls csim`, not the module it is delegated to."""
    with pytest.raises(SystemExit) as e:
        main([cmd, *([sub] if sub else []), "--help"])
    assert e.value.code == 0
    usage = capsys.readouterr().out.splitlines()[0]
    assert usage.startswith("usage: python -m model_export " + cmd + (f" {sub}" if sub else "")), usage


def test_rtl_run_prints_one_verdict_line(monkeypatch, capsys, tmp_path):
    """`rtl run` prints one PASS/FAIL line like the C-sim (the details go to --json); FAIL exits 1."""
    from syna_hw import rtl_core
    res = dict(bitexact=True, samples=2, cycles_per_inference=1234.0, cycles=[1200, 1268], mismatches=[], lanes=4)
    monkeypatch.setattr(rtl_core, "rtl_stage", lambda bundle, samples, lanes, **kw: dict(res))
    assert rtl_core.main(["run", "b", "--json", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out == ["RTL (Verilator) vs golden: PASS (2 samples, P=4, mean 1,234 cycles/inference (simulated))"]
    assert json.loads((tmp_path / "r.json").read_text())["cycles"] == [1200, 1268]
    monkeypatch.setattr(rtl_core, "rtl_stage", lambda bundle, samples, lanes, **kw: dict(
        res, bitexact=False, mismatches=[[1, "b0.short"]]))
    assert rtl_core.main(["run", "b"]) == 1
    line = capsys.readouterr().out.strip()
    assert line.startswith("RTL (Verilator) vs golden: FAIL") and line.endswith("differs at sample 1 b0.short"), line
