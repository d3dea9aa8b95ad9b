"""The HLS core with its weights in DDR (``weights="ddr"``, docs/hls-core.md "Weights in DDR"): the g++
C-simulation reads the bundle's DDR image (syna_contract/ddr_image.py) through the core's m_axi port
into its on-chip weight buffer, tile by tile, and must equal the numpy reference on every spike of every
layer, the scores, counts and saturations; the bytes it reads must be what the tiling predicts; a
wrong, missing or corrupt image is refused; the on-chip ("rom") core is unchanged."""
from __future__ import annotations

import copy
import shutil
import subprocess
import sys

import numpy as np
import pytest

from helpers import HW_CASES, ddr_bytes_by_doc, export_ia_t_carry, reference_without_ia_t_restart
from model_export.model import AttentionSpec
from syna_contract import ddr_image as di
from syna_contract import protocol as pr
from syna_contract.bundle import Bundle, BundleError, load_bundle
from syna_contract.reference import Reference
from syna_hw import hls_core as hc
from syna_hw.cycles import model_cycles
from syna_hw.lowering import ddr_weights, lower

CASES = {c.name: c for c in HW_CASES}


@pytest.fixture(scope="module")
def build_root(tmp_path_factory):
    return tmp_path_factory.mktemp("hls-ddr-build")


def _with_image(root, lanes):
    di.add_image(load_bundle(root), lanes)
    return load_bundle(root)



def _run_ddr(b, lanes, build_root, wbuf_rows=None):
    x = b.golden()["input"]
    ref = Reference(b).run(x)
    core = hc.HlsCore(b, lanes, build_root=build_root, weights="ddr", wbuf_rows=wbuf_rows).compile()
    res = core.run(x)
    msg = hc.compare(res, ref)
    assert msg is None, msg
    assert core.ddr_bytes_read == len(x) * ddr_bytes_by_doc(core.ddr)
    assert core.ddr.bytes_per_inference == ddr_bytes_by_doc(core.ddr)
    for i in range(min(len(x), 2)):          # the cycle counter is the documented model, layer by layer
        rep = model_cycles(core.hw, x[i], {k: v[i] for k, v in ref.spikes.items()}, core.ddr)
        got = {name: int(c[i]) for name, c in res.layer_cycles.items()}
        assert got == rep.layers and int(res.cycles[i]) == rep.cycles, (got, rep.layers)
    return core, res, x


def test_one_tile_per_layer_bitexact_and_cycles(tmp_path, build_root):
    """(a) every layer's weights fit the default buffer: one load per layer; the cycle counter is the ROM
    core's plus one cycle per image row loaded (the modelled load, one row per cycle), sample by sample."""
    b = _with_image(CASES["or-p16"].write(tmp_path / "b"), 16)
    core, res, x = _run_ddr(b, 16, build_root)
    assert all(l.tiles == 1 for l in core.ddr.layers)
    rom = hc.HlsCore(b, 16, build_root=build_root).compile().run(x)
    rows = core.ddr.bytes_per_inference // core.ddr.row_bytes
    np.testing.assert_array_equal(res.cycles, rom.cycles + rows)
    np.testing.assert_array_equal(res.scores, rom.scores)
    # two threads: two copies of the core, each with its own C-sim DDR, the same answer and bytes
    two = core.run(x, threads=2)
    assert hc.compare(two, Reference(b).run(x)) is None
    assert core.ddr_bytes_read == len(x) * core.ddr.bytes_per_inference
    # stream level (the top function through the C API's transfer) gives the same packet
    words = pr.pack_frames(x[0], b.input_spec["bits"])
    out = pr.unpack_output(core.transfer(words, b.input_spec["steps"]), core.classes, core.layer_names)
    np.testing.assert_array_equal(out.scores, res.scores[0])
    assert out.errors == [] and core.last_regs["tlast_ok"] == 1


def test_tiled_p1_every_layer_and_the_fc(tmp_path, build_root):
    """(b) P = 1, the buffer forced to the largest layer's one lane group: every conv and the fc run in 2+
    output-channel tiles, tiles start inside 32-bit spike words (the previous tile's lanes kept)."""
    b = _with_image(CASES["iand-m8-p1"].write(tmp_path / "b"), 1)
    need = max(l.rows for l in ddr_weights(lower(b, 1, target=hc.HLS)).layers)
    core, res, _ = _run_ddr(b, 1, build_root, wbuf_rows=need)
    by = {l.name: l for l in core.ddr.layers}
    assert by["fc"].tiles >= 2
    assert sum(l.tiles >= 2 for l in core.ddr.layers) >= len(core.ddr.layers) // 2
    assert any(l.tile_groups % 32 and l.tiles >= 2 for l in core.ddr.layers)     # tiles inside spike words
    assert sum(res.sample_saturations) > 0                                       # 8-bit membranes saturate


@pytest.mark.parametrize("attention,lanes", [(("C", "b"), 1), (("T", "a"), 2)])
def test_tiled_attention(make_bundle, build_root, attention, lanes):
    """(b) attention layers of 2+ tiles: pass 1 pools tile by tile, the MLP sees every channel, pass 2
    reloads each tile (read twice); MA (backbone) and IA (shortcuts) in dims C and T both tiled. Seed 2:
    on it, advancing every IA-C gate (not only the tile's channels) per tile step, or not reloading a
    tile for pass 2, gives wrong spikes (checked by mutating the core)."""
    root, _, _ = make_bundle("OR", AttentionSpec(*attention), samples=3, seed=2, mem_bits=12)
    b = _with_image(root, lanes)
    need = max(l.rows for l in ddr_weights(lower(b, lanes, target=hc.HLS)).layers)
    core, res, x = _run_ddr(b, lanes, build_root, wbuf_rows=need)
    kinds = {l.name: b.layers[l.index]["attention"]["kind"] for l in core.ddr.layers if l.attention}
    tiled = {kinds[l.name] for l in core.ddr.layers if l.attention and l.tiles >= 2 and l.loads == 2}
    assert tiled == {"MA", "IA"}
    # the attention changes the spikes on these samples (so a wrong gate would show)
    m = copy.deepcopy(b.manifest)
    for l in m["layers"]:
        l.pop("attention", None)
    plain = Reference(Bundle(b.root, m, b.params)).run(x)
    assert any(not np.array_equal(plain.spikes[n], res.spikes[n]) for n in plain.spikes)


def test_ia_t_gate_train_is_the_same_for_every_tile(tmp_path, build_root):
    """(b) an IA-T layer of 2 tiles whose gate neuron ends each sample far from rest (helpers.export_ia_t_carry):
    every pass-2 tile is gated by the one gate train of numerics.md section 6 (the core computes it once;
    a core that let the neuron run on from tile to tile, reference_without_ia_t_restart, differs here:
    checked by moving the IA_T loop into PASS2_TILES)."""
    b = _with_image(export_ia_t_carry(tmp_path / "b"), 2)
    need = max(l.rows for l in ddr_weights(lower(b, 2, target=hc.HLS)).layers)
    core, res, x = _run_ddr(b, 2, build_root, wbuf_rows=need)
    layer = core.ddr.layer("b2.short")
    assert layer.attention and layer.tiles == 2 and b.layers[layer.index]["attention"]["kind"] == "IA"
    ref = Reference(b).run(x)
    assert ref.gate_spikes["b2.short"] > 0
    wrong = reference_without_ia_t_restart(b, x, core.ddr)
    assert not np.array_equal(wrong.spikes["b2.short"], ref.spikes["b2.short"])


def test_rom_header_unchanged_and_ddr_header(tmp_path):
    b = _with_image(CASES["or-p16"].write(tmp_path / "b"), 16)
    rom = hc.header_text(b, 16)
    assert rom == hc.header_text(b, 16, weights="rom")
    assert "SYNA_WEIGHTS_DDR" not in rom and "W_CONV" in rom
    ddr = hc.header_text(b, 16, weights="ddr", wbuf_rows=600)
    assert "#define SYNA_WEIGHTS_DDR 1" in ddr and "static const int8_t W_CONV" not in ddr and "W_FC" not in ddr
    assert f"#define SYNA_REG_WEIGHTS_BASE 0x{pr.REG_WEIGHTS_BASE:02X}" in ddr and "const int WBUF_ROWS = 600;" in ddr
    # the m_axi port (whole memory, offset = off) and the WEIGHTS_BASE scalar the core checks and adds
    # (offset from protocol.py through the header); the weights check's constants (interface version 3)
    src = (hc.SRC_DIR / "syna_core.cpp").read_text()
    assert ("HLS INTERFACE mode = m_axi port = ddr offset = off bundle = gmem" in src
            and "max_read_burst_length = SYNA_DDR_MAX_BURST num_read_outstanding = SYNA_DDR_READ_OUTSTANDING" in src)
    # the burst length: AXI4's 256 unless the vendor flow passes the board's (syna_hls.tcl -DSYNA_DDR_MAX_BURST)
    assert (f"#ifndef SYNA_DDR_MAX_BURST\n#define SYNA_DDR_MAX_BURST {pr.DDR_MAX_BURST_BEATS}\n#endif" in ddr
            and f"#define SYNA_DDR_READ_OUTSTANDING {pr.DDR_READ_OUTSTANDING}" in ddr)
    assert "HLS INTERFACE mode = s_axilite port = weights_base offset = SYNA_REG_WEIGHTS_BASE bundle = control" in src
    assert pr.REGISTERS["WEIGHTS_BASE"] == pr.REG_WEIGHTS_BASE and pr.REGISTERS["WEIGHTS_BASE_HI"] == pr.REG_WEIGHTS_BASE + 4
    head = di.image_head(b.manifest, 16)
    assert head == (b.root / di.IMAGE_FILE).read_bytes()[:len(head)] and len(head) == di.HEADER_FIXED
    assert "static const uint8_t DDR_HEADER[DDR_HEADER_BYTES] = {" + ", ".join(map(str, head)) + "};" in ddr
    assert f"const int DDR_ADDR_BITS = {pr.DDR_ADDR_BITS};" in ddr and "DDR_HEADER" not in rom
    with pytest.raises(ValueError, match="weights='flash'"):
        hc.header_text(b, 16, weights="flash")


def test_refusals(tmp_path, build_root):
    root = CASES["or-p16"].write(tmp_path / "b")
    with pytest.raises(BundleError, match="has no DDR image.*--ddr-image --lanes 16"):
        hc.HlsCore(root, 16, build_root=build_root, weights="ddr")
    _with_image(root, 8)
    with pytest.raises(BundleError, match="laid out for P = 8 lanes; this core has P = 16"):
        hc.HlsCore(root, 16, build_root=build_root, weights="ddr")
    b = _with_image(root, 16)
    # changed on disk after the bundle was loaded: refused when the core reads it
    p = root / di.IMAGE_FILE
    data = bytearray(p.read_bytes())
    data[di.read_image(p).entries[1]["w_offset"]] ^= 0x04
    p.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="sha256 .* does not match"):
        hc.HlsCore(b, 16, build_root=build_root, weights="ddr")
    p.unlink()
    with pytest.raises(BundleError, match="DDR image is missing"):
        hc.HlsCore(b, 16, build_root=build_root, weights="ddr")
    shutil.rmtree(root)
    root = _with_image(CASES["or-p16"].write(tmp_path / "c"), 16).root
    need = max(l.rows for l in ddr_weights(lower(load_bundle(root), 16, target=hc.HLS)).layers)
    with pytest.raises(hc.HlsUnsupported, match=f"cannot hold it \\(wbuf_rows >= {need}"):
        hc.HlsCore(root, 16, build_root=build_root, weights="ddr", wbuf_rows=need - 1)
    with pytest.raises(hc.HlsUnsupported, match="wbuf_rows 0"):
        hc.HlsCore(root, 16, build_root=build_root, weights="ddr", wbuf_rows=0)
    with pytest.raises(ValueError, match="weights='sram'"):
        hc.HlsCore(root, 16, build_root=build_root, weights="sram")


def test_encoder_must_fit_one_tile(tmp_path):
    """The encoder reads the input stream once: it cannot re-scan its input per tile."""
    b = _with_image(CASES["dvs-like-p8"].write(tmp_path / "b"), 1)
    hw = lower(b, 1, target=hc.HLS)
    enc = ddr_weights(hw).layers[0]
    need = max(l.rows for l in ddr_weights(hw).layers)
    assert enc.rows * enc.groups > need           # 2 x 7 x 7 rows x Cout groups: more than any one group
    with pytest.raises(hc.HlsUnsupported, match="encoder's weights .* must fit the weight buffer in one tile"):
        ddr_weights(hw, need)


def test_csim_testbench_reads_the_image(tmp_path):
    """`make csim` path (`python -m syna_hw.hls_core csim --weights ddr`): the C++ testbench gives the image to
    the core as its DDR and checks every spike against golden.npz and the bytes read against the tiling."""
    root = CASES["or-p16"].write(tmp_path / "b")
    _with_image(root, 16)
    r = subprocess.run([sys.executable, "-m", "syna_hw.hls_core", "csim", "--bundle", str(root), "--lanes", "16",
                        "--weights", "ddr", "--wbuf-rows", "600"], capture_output=True, text=True, timeout=600,
                       cwd=hc.REPO)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    d = ddr_weights(lower(load_bundle(root), 16, target=hc.HLS), 600)
    assert any(l.tiles >= 2 for l in d.layers)
    assert f"weights from DDR: {d.bytes_per_inference} bytes read per inference (buffer 600 rows" in r.stdout
    assert "HLS C-sim: PASS" in r.stdout


def test_vendor_tcl_flows_carry_the_m_axi_port(tmp_path):
    """The Vitis flow of a DDR-mode core passes the image to csim/cosim and asks for 64-bit m_axi addresses;
    the block design connects the core's m_axi_gmem to the PS's high-performance port (stubbed tools)."""
    from syna_contract.boards import BOARDS
    root = CASES["or-p16"].write(tmp_path / "b")
    b = _with_image(root, 8)
    image = root / di.IMAGE_FILE
    for board in sorted(BOARDS):
        gen = hc.generate(b, 8, tmp_path / "gen", weights="ddr")
        hc.write_golden_bin(b, gen / hc.GOLDEN_BIN, 8)
        tcl = hc.board_tcl(b, board, 8, gen, ddr_image=image).read_text()
        assert "set syna_weights ddr" in tcl
        log = _tcl_check("syna_hls.tcl", tmp_path, gen, board, "cosim")
        calls = [l[5:] for l in log.splitlines() if l.startswith("CALL ")]
        assert any(c.startswith("csim_design -argv") and str(image.resolve()) in c for c in calls), calls
        assert any(c.startswith("cosim_design -argv") and str(image.resolve()) in c for c in calls), calls
        assert any(c.startswith("config_interface -m_axi_addr64=true") for c in calls), calls
        # the m_axi pragma's max_read_burst_length is the board's HP port's (16 on a Zynq-7000 AXI3 port)
        core_files = [c for c in calls if c.startswith("add_files") and "syna_core.cpp" in c]
        assert core_files and all(f"-DSYNA_DDR_MAX_BURST={BOARDS[board].hp_max_burst}" in c for c in core_files), calls
        assert BOARDS[board].hp_max_burst == (16 if BOARDS[board].ps_ip == "processing_system7" else 256)
        (gen / f"syna_{board}" / "sol" / "impl" / "ip").mkdir(parents=True, exist_ok=True)
        (tmp_path / "syna_wrapper.bit").write_text("bit")
        (tmp_path / "syna.hwh").write_text("hwh")
        log = _tcl_check("syna_bd.tcl", tmp_path, gen, board, tmp_path / "overlays" / board)
        assert "syna_core_0/m_axi_gmem" in log and "mem_ic/S02_AXI" in log and "CONFIG.NUM_SI 3" in log
        # the on-chip core's block design has no m_axi_gmem
        hc.board_tcl(b, board, 8, gen)
        log = _tcl_check("syna_bd.tcl", tmp_path, gen, board, tmp_path / "overlays" / board)
        assert "m_axi_gmem" not in log and "CONFIG.NUM_SI 2" in log
        log = _tcl_check("syna_hls.tcl", tmp_path, gen, board)
        assert "-DSYNA_DDR_MAX_BURST" not in log                    # an on-chip core has no m_axi port
    # a DDR-mode flow whose image is missing stops with the reason
    hc.board_tcl(b, "pynq-z2", 8, gen, ddr_image=tmp_path / "nope.bin")
    r = subprocess.run([shutil.which("tclsh"), str(hc.HLS_DIR / "scripts" / "tcl_check.tcl"),
                        str(hc.HLS_DIR / "scripts" / "syna_hls.tcl"), str(tmp_path), str(gen), "pynq-z2"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "weight image" in r.stdout and "is missing" in r.stdout


def _tcl_check(script, stub, *args) -> str:
    exe = shutil.which("tclsh")
    assert exe, "tclsh is missing: the Tcl-flow check needs it (apt-get install tcl)"
    r = subprocess.run([exe, str(hc.HLS_DIR / "scripts" / "tcl_check.tcl"), str(hc.HLS_DIR / "scripts" / script),
                        str(stub), *map(str, args)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "TCL-CHECK OK" in r.stdout, r.stdout[-3000:] + r.stderr[-2000:]
    return r.stdout
