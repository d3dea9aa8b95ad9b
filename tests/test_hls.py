"""The Vitis-HLS core's C++ (g++ C-simulation) against the numpy Reference, bit for bit: the demo model on
its whole held-out split, the stream level, the testbench, refusals, the header and the vendor flows.
The random and attention models are in the backend table (tests/test_backends.py).

Needs g++ and the Xilinx ap_types headers (from the hls4ml wheel): when either is missing
these tests FAIL with a message saying what to install; they never skip.
"""
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from helpers import hls_assert_same
from syna_contract import protocol as pr
from syna_hw import hls_core as hc
from syna_contract.boards import BOARDS
from syna_contract.bundle import Bundle, load_bundle
from syna_contract.reference import Reference

REPO = Path(__file__).resolve().parent.parent


def _build_root(tmp_path_factory) -> Path:
    return tmp_path_factory.getbasetemp() / "hls_build"


def _core(bundle, lanes, tmp_path_factory) -> hc.HlsCore:
    return hc.HlsCore(bundle, lanes, build_root=_build_root(tmp_path_factory)).compile()


# ----------------------------------------------------------------------------- tools
def test_toolchain_present():
    assert shutil.which(os.environ.get("CXX", "g++")), "g++ is missing: the HLS C-simulation needs it (apt-get install g++)"
    d = hc.ap_include_dir()          # raises HlsToolError naming `pip install hls4ml` when absent
    assert (d / "ap_int.h").is_file() and (d / "hls_stream.h").is_file()


# ----------------------------------------------------------------------------- the demo model
@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The shipped digits checkpoint exported as `make demo` does, and the whole held-out split."""
    from model_export.checkpoint import load_checkpoint
    from model_export.data import load_split
    from model_export.demo import SHIPPED
    from model_export.export import export_checkpoint
    ck = load_checkpoint(SHIPPED)
    x, y = load_split(ck.dataset, "test", ck.model.config)
    out = export_checkpoint(SHIPPED, tmp_path_factory.mktemp("demo") / "bundle", samples=8)
    return load_bundle(out), x, y


def test_demo_heldout_bit_exact(demo, tmp_path_factory):
    bundle, x, y = demo
    core = _core(bundle, hc.DEFAULT_LANES, tmp_path_factory)
    res = core.run(x)
    ref = Reference(bundle).run(x)
    hls_assert_same(res, ref, hc.DEFAULT_LANES, bundle, x)
    assert np.array_equal(core.predict(x[:32]), ref.scores[:32])
    assert (res.status & pr.STATUS_ERRORS == 0).all()


def test_threads_give_the_same_result(demo, tmp_path_factory):
    """run(threads=N) splits the samples over N copies of the library: the same spikes, scores,
    counts, cycles and status as one thread, in the same order."""
    bundle, x, _ = demo
    core = _core(bundle, hc.DEFAULT_LANES, tmp_path_factory)
    one, three = core.run(x[:50]), core.run(x[:50], threads=3)
    assert np.array_equal(one.scores, three.scores) and np.array_equal(one.cycles, three.cycles)
    assert np.array_equal(one.status, three.status)
    assert all(np.array_equal(one.spikes[k], three.spikes[k]) for k in one.spikes)
    assert np.array_equal(core.predict(x[:50], threads=3), one.scores)


def test_check_bundle_is_the_demo_stage(demo, capsys):
    bundle, x, _ = demo
    assert hc.check_bundle(bundle.root, x[:20]) is True
    out = capsys.readouterr().out
    assert out.startswith("HLS C-sim vs reference: PASS") and out.count("\n") == 1


# ----------------------------------------------------------------------------- make csim (g++ testbench)
@pytest.fixture(scope="module")
def small_bundle(tmp_path_factory):
    from helpers import DIGITS_SPEC, random_inputs, random_model, small_config
    from model_export.export import write_bundle
    from model_export.quant import QuantSettings
    x = random_inputs(3, seed=7)
    model = random_model(small_config("OR"), x, seed=7)
    out = write_bundle(model, tmp_path_factory.mktemp("small") / "bundle",
                       QuantSettings(weight_bits=8, mem_bits=16, input_scale=1 / 16), DIGITS_SPEC, x)
    return load_bundle(out), x


def _tb(bundle: Bundle, lanes: int, gen: Path) -> Path:
    hc.generate(bundle, lanes, gen)
    exe = gen / "csim_tb"
    cmd = hc.compile_cmd(gen, [hc.SRC_DIR / s for s in hc.CORE_SOURCES] + [hc.TB_DIR / "tb_syna.cpp"], exe, False)
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    return exe


def test_csim_testbench_passes_and_catches_a_flipped_spike(small_bundle, tmp_path):
    bundle, _ = small_bundle
    exe = _tb(bundle, 8, tmp_path / "gen")
    gold = hc.write_golden_bin(bundle, tmp_path / "golden.bin", 8)
    r = subprocess.run([str(exe), str(gold)], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("HLS C-sim: PASS"), r.stdout + r.stderr
    assert r.stdout.count("\n") == 1
    # flip one spike of layer f1 at sample 1, step 2 in the golden file: the testbench names it
    names = [l["name"] for l in bundle.layers if l["kind"] != "fc"]
    spec = bundle.input_spec
    T = spec["steps"]
    wps = T * pr.words_per_frame(spec["channels"], spec["height"], spec["width"], spec["bits"])
    classes = bundle.layers[-1]["out_shape"][0]
    sizes = [T * int(np.prod(l["out_shape"])) for l in bundle.layers if l["kind"] != "fc"]
    per_sample = 4 * wps + 4 * classes + sum(sizes)
    li = names.index("f1")
    c, h, w = bundle.layer("f1")["out_shape"]
    off = 20 + per_sample + 4 * wps + 4 * classes + sum(sizes[:li]) + 2 * c * h * w + (1 * h + 2) * w + 3
    data = bytearray(gold.read_bytes())
    data[off] ^= 1
    bad = tmp_path / "bad.bin"
    bad.write_bytes(bytes(data))
    r = subprocess.run([str(exe), str(bad)], capture_output=True, text=True)
    assert r.returncode != 0
    assert "FAIL: layer f1, sample 1, step 2, neuron (c=1, y=2, x=3)" in r.stdout, r.stdout


def test_make_csim_entry_point(small_bundle, monkeypatch, tmp_path, capfd):
    bundle, _ = small_bundle
    monkeypatch.setattr(hc, "BUILD_DIR", tmp_path)
    assert hc.main(["csim", "--bundle", str(bundle.root), "--lanes", "4"]) == 0
    assert "HLS C-sim: PASS" in capfd.readouterr().out


# ----------------------------------------------------------------------------- stream level
@pytest.fixture(scope="module")
def stream_core(small_bundle, tmp_path_factory):
    bundle, x = small_bundle
    return _core(bundle, 8, tmp_path_factory), bundle, x


def test_stream_packing_registers_and_tlast(stream_core):
    core, bundle, x = stream_core
    spec = bundle.input_spec
    words = pr.pack_frames(x[0], spec["bits"])
    assert words.size == spec["steps"] * pr.words_per_frame(spec["channels"], spec["height"], spec["width"], spec["bits"])
    out = core.transfer(words, spec["steps"])
    regs = core.last_regs
    assert out.size == pr.output_words(core.classes, len(core.layer_names))
    assert regs["tlast_ok"] == 1 and regs["left_in"] == 0          # TLAST on the last output word only
    assert regs["model_hash"] == int(bundle.model_hash[:8], 16) == core.model_hash32
    assert regs["version"] == pr.INTERFACE_VERSION
    o = pr.unpack_output(out, core.classes, core.layer_names)
    ref = Reference(bundle).run(x[:1])
    assert np.array_equal(o.scores, ref.scores[0])
    assert [o.spike_counts[n] for n in core.layer_names] == [int(ref.spike_counts[n][0]) for n in core.layer_names]
    assert (o.cycles, o.saturations, o.status) == (regs["cycles"], regs["saturations"], regs["status"])
    run = core.run(x[:1])
    assert run.cycles[0] == o.cycles and run.scores[0].tolist() == o.scores.tolist()


@pytest.mark.parametrize("case", ["short", "long", "no_tlast", "steps_high", "steps_zero", "abandoned",
                                  "abandoned_empty", "lanes_high", "steps_and_short", "steps_and_range"])
def test_stream_errors_still_send_a_packet(stream_core, case):
    core, bundle, x = stream_core
    spec = bundle.input_spec
    T = spec["steps"]
    good_words = pr.pack_frames(x[1], spec["bits"])
    good = core.transfer(good_words, T)
    high = good_words | np.uint32(0xE0E0E0E0)                               # 5-bit values, 8-bit lanes
    words, steps, tlast, bit = {
        "short": (good_words[:-3], T, None, pr.STATUS_FRAME_SHORT),          # TLAST 3 words early
        "long": (np.concatenate([good_words, good_words[:5]]), T, None, pr.STATUS_FRAME_LONG),
        "no_tlast": (good_words, T, -1, pr.STATUS_FRAME_LONG),               # TLAST missing on the last word
        "steps_high": (good_words, T + 1, None, pr.STATUS_STEPS_MISMATCH),
        "steps_zero": (good_words, 0, None, pr.STATUS_STEPS_MISMATCH),
        # issue 19: abandoned without TLAST (the idle timeout ends it), lanes out of range, errors add up
        "abandoned": (good_words[:-1], T, -1, pr.STATUS_FRAME_SHORT),
        "abandoned_empty": (good_words[:0], T, -1, pr.STATUS_FRAME_SHORT),
        "lanes_high": (high, T, None, pr.STATUS_INPUT_RANGE),
        "steps_and_short": (good_words[:-3], T + 1, None, pr.STATUS_STEPS_MISMATCH | pr.STATUS_FRAME_SHORT),
        "steps_and_range": (high, T + 1, None, pr.STATUS_STEPS_MISMATCH | pr.STATUS_INPUT_RANGE),
    }[case]
    if case.startswith("abandoned"):
        out = core.transfer(words, steps, tlast, idle_timeout=777)
        assert core.last_regs["cycles"] >= 777                       # it waited IDLE_TIMEOUT cycles for the word
    else:
        out = core.transfer(words, steps, tlast)
    regs = core.last_regs
    assert out.size == pr.output_words(core.classes, len(core.layer_names)) and regs["tlast_ok"] == 1
    o = pr.unpack_output(out, core.classes, core.layer_names)
    assert o.status & pr.STATUS_ERRORS == bit, pr.decode_status(o.status)
    assert not o.scores.any() and not any(o.spike_counts.values()) and o.saturations == 0
    assert regs["status"] == o.status and regs["left_in"] == 0      # drained up to TLAST
    # the next well-formed inference is right
    assert np.array_equal(core.transfer(good_words, T), good)
    assert core.last_regs["status"] & pr.STATUS_ERRORS == 0


def test_unused_lanes_must_be_zero(tmp_path_factory):
    """Issue 19 item 1, the frame's end: 1x6x6 values of 3 bits in 4-bit lanes fill 4.5 words, so the last
    word of each frame has 4 unused lanes. The HLS core and the emulator agree on a good packet and flag
    STATUS input_range (error packet) for a bit above input.bits or a nonzero unused lane."""
    import torch
    from host.emulator import CoreEmulator
    from model_export.export import write_bundle
    from model_export.model import SynAResNet, make_config
    from model_export.quant import QuantSettings
    from model_export.testing import randomize
    spec = dict(steps=4, channels=1, height=6, width=6, encoding="counts", bits=3, scale=1.0, static=False)
    x = np.random.default_rng(0).integers(0, 8, (2, 4, 1, 6, 6))
    model = randomize(SynAResNet(make_config("mnist", width=0.125, input_size=6, steps=4)),
                      torch.from_numpy(x / 4.0).float().transpose(0, 1), seed=0)
    root = write_bundle(model, tmp_path_factory.mktemp("pad") / "bundle", QuantSettings(input_scale=1.0), spec, x)
    bundle = load_bundle(root)
    core, emu = _core(bundle, 8, tmp_path_factory), CoreEmulator(bundle)
    words = pr.pack_frames(x[0], 3)
    assert words.size == 4 * 5
    good = core.transfer(words, 4)
    assert np.array_equal(good[:-3], emu.transfer(words, 4)[:-3]) and good[-1] & pr.STATUS_ERRORS == 0
    for k, bad in ((4, 1 << 16), (9, 1 << 31), (2, 1 << 3)):       # unused lane 4, unused lane 7, value bit 3
        w = words.copy()
        w[k] |= np.uint32(bad)
        for name, out in (("hls", core.transfer(w, 4)), ("emulator", emu.transfer(w, 4))):
            assert int(out[-1]) == pr.STATUS_INPUT_RANGE and not out[:-3].any(), (name, k, out[-1])
    assert np.array_equal(core.transfer(words, 4), good)


# ----------------------------------------------------------------------------- what is refused
def _edited(bundle: Bundle, edit) -> Bundle:
    import copy
    m = copy.deepcopy(bundle.manifest)
    edit(m["layers"])
    return Bundle(bundle.root, m, bundle.params)


def test_unsupported_bundles_are_refused(small_bundle):
    bundle, _ = small_bundle

    def merge_add(layers):
        next(l for l in layers if l["kind"] == "merge")["op"] = "ADD"

    att = dict(weight_bits=8, avg_mult=[16384, 20], out_mult=[16384, 14])     # an attention's other fields

    def spatial(layers):
        next(l for l in layers if l["name"] == "f0")["attention"] = dict(att, kind="MA", dim="S", size=4, hidden=1)

    def encoder_att(layers):
        layers[0]["attention"] = dict(att, kind="MA", dim="C", size=layers[0]["out_shape"][0], hidden=1)

    def stride3(layers):
        next(l for l in layers if l["name"] == "f0")["stride"] = 3

    for edit, words in [(merge_add, "ADD"), (spatial, "spatial"), (encoder_att, "encoder"), (stride3, "stride 3")]:
        with pytest.raises(hc.HlsUnsupported, match=words):
            hc.header_text(_edited(bundle, edit), 8)
    with pytest.raises(hc.HlsUnsupported, match="lanes=3"):
        hc.header_text(bundle, 3)


# ----------------------------------------------------------------------------- generated header, pragmas
def test_pragmas_carry_the_protocol_offsets(small_bundle, tmp_path):
    bundle, _ = small_bundle
    gen = hc.generate(bundle, 8, tmp_path)
    cmd = [hc.cxx(), "-E", "-std=c++14", f"-I{gen}", f"-I{hc.SRC_DIR}", f"-I{hc.ap_include_dir()}",
           f"-I{hc.CSIM_INCLUDE}", str(hc.SRC_DIR / "syna_core.cpp")]
    pre = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    flat = " ".join(pre.split())
    for port, reg in [("steps", "STEPS"), ("status", "STATUS"), ("cycles", "CYCLES"), ("saturations", "SATURATIONS"),
                      ("model_hash", "MODEL_HASH"), ("version", "VERSION"), ("idle_timeout", "IDLE_TIMEOUT")]:
        want = f"#pragma HLS INTERFACE mode = s_axilite port = {port} offset = 0x{pr.REGISTERS[reg]:02X} bundle = control"
        assert want in flat, want
    assert "#pragma HLS INTERFACE mode = ap_ctrl_hs port = return" in flat
    assert "#pragma HLS INTERFACE mode = axis port = s_axis_in" in flat
    header = (gen / hc.HEADER_NAME).read_text()
    assert f"MODEL_HASH32 = 0x{bundle.model_hash[:8]}u" in header
    assert "Do not edit" in header


# ----------------------------------------------------------------------------- vendor flows
def _tclsh() -> str:
    exe = shutil.which("tclsh")
    assert exe, "tclsh is missing: the Tcl-flow check needs it (apt-get install tcl)"
    return exe


def _tcl_check(script: str, stub: Path, *args) -> str:
    r = subprocess.run([_tclsh(), str(hc.HLS_DIR / "scripts" / "tcl_check.tcl"), str(hc.HLS_DIR / "scripts" / script),
                        str(stub), *map(str, args)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "TCL-CHECK OK" in r.stdout, r.stdout[-3000:] + r.stderr[-2000:]
    return r.stdout


@pytest.mark.parametrize("board", sorted(BOARDS))
def test_vendor_tcl_flows_parse_and_run_stubbed(small_bundle, tmp_path, board):
    bundle, _ = small_bundle
    gen = hc.generate(bundle, 8, tmp_path / "gen")
    hc.write_golden_bin(bundle, gen / hc.GOLDEN_BIN, 8)
    hc.board_tcl(bundle, board, 8, gen)
    b = BOARDS[board]
    log = _tcl_check("syna_hls.tcl", tmp_path, gen, board, "cosim")
    calls = [l[5:] for l in log.splitlines() if l.startswith("CALL ")]
    order = ["open_project", "set_top syna_core", "open_solution", f"set_part {b.part}",
             f"create_clock -period {1000 / b.clock_mhz:.3f}", "csim_design", "csynth_design", "cosim_design",
             "export_design -format ip_catalog"]
    idx = [next(i for i, c in enumerate(calls) if c.startswith(o)) for o in order]
    assert idx == sorted(idx), calls
    assert not any("csim_include" in c for c in calls), "Vitis must not see the C-sim shim"
    # the block design
    (gen / f"syna_{board}" / "sol" / "impl" / "ip").mkdir(parents=True)
    (tmp_path / "syna_wrapper.bit").write_text("bit")
    (tmp_path / "syna.hwh").write_text("hwh")
    out = tmp_path / "overlays" / board
    log = _tcl_check("syna_bd.tcl", tmp_path, gen, board, out)
    assert f"xilinx.com:ip:{b.ps_ip}:" in log and "xilinx.com:ip:axi_dma:7.1" in log
    assert f"DATA_WIDTH {b.hp_bits}" in log                         # the board's HP port width
    assert f"create_project -force syna_overlay" in log and b.part in log
    assert "axi_dma_0/M_AXIS_MM2S" in log and "syna_core_0/s_axis_in" in log and "syna_core_0/interrupt" in log
    assert "assign_bd_address" in log and "write_bitstream" in log
    assert (out / "syna.bit").is_file() and (out / "syna.hwh").is_file()
    assert (out / "syna.model_hash").read_text().strip() == bundle.model_hash


@pytest.mark.parametrize("target,var,product", [("hls", "VITIS_HLS", "Vitis HLS"), ("bitstream", "VIVADO", "Vivado")])
def test_vendor_targets_stop_at_once_without_the_tools(target, var, product):
    r = subprocess.run(["make", "-s", "-C", str(REPO), target, "BOARD=pynq-z2", f"{var}=/nonexistent/{var.lower()}"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert f"AMD {product} 2023.1 or later" in r.stderr and "Nothing was run" in r.stderr, r.stderr
