"""The HLS core with its spike maps in DDR (``maps="ddr"``, docs/hls-core.md "Spike maps in DDR", the layout of
syna_hw/spill.py): the g++ C-simulation receives the input into the scratch buffer's INPUT region, runs every
conv layer (the encoder too) in weight tiles x output-row bands, reads and writes every map in the scratch,
and must equal the numpy reference on every spike of every layer and step, the scores, counts and saturations;
the scratch it leaves must hold exactly the reference's maps and the received input words; the bytes it reads
and writes, and its cycle count, must be the documented model's (syna_hw/cycles.py); a bad SCRATCH_BASE gives
STATUS scratch and the error packet; an access outside the buffer is an error of the C-sim, never a silent
write; maps="chip" is unchanged (tests/test_hls*.py)."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from helpers import HwCase
from syna_contract import ddr_image as di
from syna_contract import protocol as pr
from syna_contract.bundle import load_bundle
from syna_contract.reference import Reference
from syna_hw import hls_core as hc
from syna_hw.cycles import model_cycles, scratch_traffic
from syna_hw.hls_toolchain import HlsToolError
from syna_hw.lowering import SPIKE_WORD
from syna_hw.spill import INPUT, SIM_SCRATCH_BASE

DVS = HwCase("dvs-like-p8", lanes=8, weight_bits=6, seed=1, dvs=True)   # 2x16x16, k7 s2 stem, OR pool, OR merges
IAND = HwCase("iand-m8-p1", "IAND", mem_bits=8, lanes=1, samples=3, seed=1)   # 8-bit membranes saturate
# (case, P, acc_rows): every sample checked through the scratch
SPILL_CASES = {
    # P = 2: the encoder (4 lane groups) in 2 tiles of 2 groups (8 output columns x 2 groups = 16 rows), bands
    # of one output row; the later layers' tiles start inside spike words (P < 32)
    "dvs-p2-acc16": (DVS, 2, 16),
    # P = 4, acc_rows 12: the encoder in 4 one-group tiles (12 // 8), 1-row bands; 4x4 layers in 3-row bands (the
    # last band shorter)
    "dvs-p4-acc12": (DVS, 4, 12),
    # P = 8, acc_rows 24: the encoder (one group) in bands of 3 rows: 3, 3 and 2
    "dvs-p8-acc24": (DVS, 8, 24),
    # the default acc_rows: no bands, whole-layer tiles (what the weight tiling needs)
    "dvs-p8-default": (DVS, 8, None),
    # P = 1: every layer in many one-lane tiles, IAND merges, saturating membranes, 8x8 digits in 1-row bands
    "iand-p1-acc8": (IAND, 1, 8),
}


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    root = tmp_path_factory.mktemp("hls-spill")
    made = {}

    def get(case: HwCase, lanes: int):
        key = (case.name, lanes)
        if key not in made:
            out = root / f"{case.name}-p{lanes}"
            b = load_bundle(case.write(out))
            di.add_image(b, lanes)
            made[key] = load_bundle(out)
        return made[key]

    get.root = root
    return get


def _core(bundles, case, lanes, acc_rows, **kw):
    b = bundles(case, lanes)
    return b, hc.HlsCore(b, lanes, build_root=bundles.root / "build", weights="ddr", maps="ddr", acc_rows=acc_rows,
                         **kw).compile()


@pytest.mark.parametrize("name", sorted(SPILL_CASES))
def test_maps_in_ddr_bit_exact_and_the_scratch_holds_every_map(bundles, name):
    case, lanes, acc_rows = SPILL_CASES[name]
    b, core = _core(bundles, case, lanes, acc_rows)
    x = b.golden()["input"]
    ref = Reference(b).run(x)
    res = core.run(x)
    msg = hc.compare(res, ref)
    assert msg is None, msg
    assert not np.any(res.status & pr.STATUS_ERRORS)
    sp, hw = core.spill, core.hw
    # the traffic and the cycle count are the documented model's, layer by layer
    rd, wr = scratch_traffic(hw, sp)
    assert core.scratch_bytes_read == len(x) * sum(rd.values()) > 0
    assert core.scratch_bytes_written == len(x) * sum(wr.values()) > 0
    assert core.ddr_bytes_read == len(x) * core.ddr.bytes_per_inference
    for i in range(len(x)):
        rep = model_cycles(hw, x[i], {k: v[i] for k, v in ref.spikes.items()}, spill=sp)
        got = {k: int(v[i]) for k, v in res.layer_cycles.items()}
        assert got == rep.layers and int(res.cycles[i]) == rep.cycles, (got, rep.layers)
    # sample by sample: after each inference the scratch holds its input words and every layer's whole map
    words_per_frame = sp.maps[INPUT].step_bytes // 4
    for i in range(len(x)):
        one = core.run(x[i:i + 1], debug=False)
        assert np.array_equal(one.scores, ref.scores[i:i + 1])
        maps = core.scratch_maps()
        assert np.array_equal(maps[INPUT], pr.pack_frames(x[i], b.input_spec["bits"]).reshape(-1, words_per_frame))
        for layer, s in ref.spikes.items():
            assert np.array_equal(maps[layer], s[i]), f"sample {i}: the scratch's map of {layer} differs"
    # the region a layer owns holds nothing past its channels / words (padding lanes stay 0)
    raw = np.frombuffer(core.read_scratch().tobytes(), "<u4")
    for l in hw.layers:
        m = sp.maps[l.name]
        w = raw[m.offset // 4:(m.offset + m.nbytes) // 4].reshape(-1, m.pos_words)
        if l.cout % SPIKE_WORD:
            assert not np.any(w[:, -1] >> (l.cout % SPIKE_WORD))


def test_the_cases_cover_tiles_bands_and_words(bundles):
    """What the bit-exact cases exercise (so that none of them silently degenerates)."""
    seen = set()
    for name, (case, lanes, acc_rows) in SPILL_CASES.items():
        b = bundles(case, lanes)
        core = hc.HlsCore(b, lanes, weights="ddr", maps="ddr", acc_rows=acc_rows)
        sp, hw = core.spill, core.hw
        enc = next(l for l in hw.layers if l.encoder)
        if core.ddr.layer(enc.name).tiles >= 2:
            seen.add("encoder 2+ tiles")
        if any(len(l.bands()) >= 3 and l.hout % l.band_rows for l in sp.layers.values()):
            seen.add("3+ bands, the last one shorter")
        if any(len(l.bands()) >= 2 for n, l in sp.layers.items() if n != enc.name):
            seen.add("bands of a spike conv")
        if any(core.ddr.layer(n).tiles >= 2 and (l.tile_groups * lanes) % SPIKE_WORD for n, l in sp.layers.items()):
            seen.add("tiles starting inside a spike word")
        if any(l.kind == "merge" for l in hw.layers) and any(l.kind == "maxpool_or" for l in hw.layers):
            seen.add("merge and pool")
        if any(len(l.bands()) == 1 and core.ddr.layer(n).tiles == 1 for n, l in sp.layers.items()):
            seen.add("whole layers")
        assert sp.acc_rows <= (acc_rows or sp.acc_rows)
    assert seen == {"encoder 2+ tiles", "3+ bands, the last one shorter", "bands of a spike conv",
                    "tiles starting inside a spike word", "merge and pool", "whole layers"}, seen


def test_header_and_ports(bundles):
    """maps='chip' (the default) generates the header it always did; maps='ddr' adds the scratch constants,
    the core's second m_axi pointer on bundle gmem and the SCRATCH_BASE scalar at protocol.REG_SCRATCH_BASE."""
    b = bundles(DVS, 2)
    chip = hc.header_text(b, 2, weights="ddr")
    assert chip == hc.header_text(b, 2, weights="ddr", maps="chip") and "SYNA_MAPS_DDR" not in chip
    assert "SYNA_MAPS_DDR" not in hc.header_text(b, 2)
    ddr = hc.header_text(b, 2, weights="ddr", maps="ddr", acc_rows=16)
    assert "#define SYNA_MAPS_DDR 1" in ddr and f"#define SYNA_REG_SCRATCH_BASE 0x{pr.REG_SCRATCH_BASE:02X}" in ddr
    assert "const int ACC_ROWS = 16;" in ddr and "N_BUF" in ddr
    src = (hc.SRC_DIR / "syna_core.cpp").read_text()
    assert "HLS INTERFACE mode = m_axi port = scratch offset = off bundle = gmem" in src
    assert "HLS INTERFACE mode = s_axilite port = scratch_base offset = SYNA_REG_SCRATCH_BASE bundle = control" in src


def test_scratch_base_faults(bundles):
    """SCRATCH_BASE 0, not a multiple of 4096, or the buffer past DDR_ADDR_BITS: STATUS scratch, the input
    received and checked, nothing computed (no scratch access), the error packet; then a good base gives the
    golden answer again. A base the C-sim memory does not hold (the core would write where the host has no
    buffer) is an error of the simulation, not a silent write."""
    b, core = _core(bundles, DVS, 8, 16)
    x = b.golden()["input"]
    words = pr.pack_frames(x[0], b.input_spec["bits"])
    T = b.input_spec["steps"]
    high = (1 << pr.DDR_ADDR_BITS) - pr.SCRATCH_BASE_ALIGN       # aligned, but the buffer does not fit below 2^49
    assert high + core.spill.scratch_bytes > 1 << pr.DDR_ADDR_BITS
    for base in (0, SIM_SCRATCH_BASE + 0x800, SIM_SCRATCH_BASE + 4, high):
        core.scratch_base = base
        out = pr.unpack_output(core.transfer(words, T), core.classes, core.layer_names)
        assert out.status == pr.STATUS_SCRATCH, (hex(base), pr.decode_status(out.status))
        assert "scratch" in out.errors and not np.any(out.scores) and not any(out.spike_counts.values())
        assert out.saturations == 0 and core.last_regs["left_in"] == 0 and core.last_regs["tlast_ok"] == 1
        assert core.scratch_bytes_read == core.scratch_bytes_written == 0
        # with an input error too, both bits
        out = pr.unpack_output(core.transfer(words[:-3], T), core.classes, core.layer_names)
        assert out.status == pr.STATUS_SCRATCH | pr.STATUS_FRAME_SHORT
    core.scratch_base = SIM_SCRATCH_BASE
    out = pr.unpack_output(core.transfer(words, T), core.classes, core.layer_names)
    assert out.status & pr.STATUS_ERRORS == 0 and np.array_equal(out.scores, b.golden()["scores"][0])
    # a well-formed base where the C-sim holds no buffer: every access refused, and reported
    core.scratch_base = SIM_SCRATCH_BASE + 0x10_0000
    with pytest.raises(HlsToolError, match="scratch accesses outside its buffer"):
        core.transfer(words, T)
    core.scratch_base = SIM_SCRATCH_BASE
    # an input error with a good base: nothing computed after the receive, the error packet
    out = pr.unpack_output(core.transfer(words[:-3], T), core.classes, core.layer_names)
    assert out.status == pr.STATUS_FRAME_SHORT and not np.any(out.scores)


def test_refusals(bundles, make_bundle):
    from model_export.model import AttentionSpec
    b = bundles(DVS, 8)
    with pytest.raises(hc.HlsUnsupported, match="maps='ddr'.*needs weights='ddr'"):
        hc.HlsCore(b, 8, maps="ddr")
    with pytest.raises(ValueError, match="acc_rows=16 bounds the accumulators"):
        hc.HlsCore(b, 8, weights="ddr", acc_rows=16)
    with pytest.raises(hc.HlsUnsupported, match="acc_rows 4: one output row of one lane group"):
        hc.HlsCore(b, 8, weights="ddr", maps="ddr", acc_rows=4)
    with pytest.raises(hc.HlsUnsupported, match="maps='sram'"):
        hc.HlsCore(b, 8, weights="ddr", maps="sram")
    root, _, _ = make_bundle("OR", AttentionSpec("C", "b"), samples=1)
    di.add_image(load_bundle(root), 8)
    with pytest.raises(hc.HlsUnsupported, match="attention with the spike maps in DDR"):
        hc.HlsCore(root, 8, weights="ddr", maps="ddr")


def test_csim_testbench_and_make(bundles):
    """`python -m syna_hw.hls_core csim --maps ddr --acc-rows N` (what `make csim MAPS=ddr` runs): the C++
    testbench checks every spike as the core left it in the scratch and the scratch bytes against the
    header's; make refuses MAPS=ddr without WEIGHTS=ddr before looking for any tool."""
    b = bundles(DVS, 2)
    r = subprocess.run([sys.executable, "-m", "syna_hw.hls_core", "csim", "--bundle", str(b.root), "--lanes", "2",
                        "--weights", "ddr", "--maps", "ddr", "--acc-rows", "16"], capture_output=True, text=True,
                       timeout=600, cwd=hc.REPO)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "HLS C-sim: spike maps in DDR:" in r.stdout and "HLS C-sim: PASS" in r.stdout
    r = subprocess.run([sys.executable, "-m", "syna_hw.hls_core", "check", "--bundle", str(b.root), "--lanes", "2",
                        "--maps", "ddr"], capture_output=True, text=True, timeout=60, cwd=hc.REPO)
    assert r.returncode == 2 and "add --weights ddr" in r.stderr
    for args, says in ((["MAPS=ddr"], "MAPS=ddr needs WEIGHTS=ddr"), (["ACC_ROWS=64"], "add MAPS=ddr"),
                       (["MAPS=dram", "WEIGHTS=ddr"], "MAPS=dram: expected chip")):
        r = subprocess.run(["make", "-s", "-C", str(hc.REPO), "hls", "BOARD=pynq-z2", *args,
                            "VITIS_HLS=/nonexistent/vitis_hls"], capture_output=True, text=True, timeout=60)
        assert r.returncode != 0 and says in r.stderr and "Vitis HLS" not in r.stderr, r.stderr


def test_vitis_flow_carries_maps(bundles, tmp_path):
    """The board Tcl says syna_maps; the Vitis flow names it in the IP and refuses maps ddr without weights ddr."""
    import shutil
    b = bundles(DVS, 8)
    gen = hc.generate(b, 8, tmp_path / "gen", weights="ddr", maps="ddr")
    hc.write_golden_bin(b, gen / hc.GOLDEN_BIN, 8)
    tcl = hc.board_tcl(b, "pynq-z2", 8, gen, ddr_image=b.root / di.IMAGE_FILE, maps="ddr")
    assert "set syna_maps ddr" in tcl.read_text()
    check = [shutil.which("tclsh"), str(hc.HLS_DIR / "scripts" / "tcl_check.tcl"),
             str(hc.HLS_DIR / "scripts" / "syna_hls.tcl"), str(tmp_path), str(gen), "pynq-z2"]
    r = subprocess.run(check, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "TCL-CHECK OK" in r.stdout and "maps ddr" in r.stdout, r.stdout[-2000:]
    tcl.write_text(tcl.read_text().replace("set syna_weights ddr", "set syna_weights rom"))
    r = subprocess.run(check, capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "syna_maps ddr needs syna_weights ddr" in r.stdout + r.stderr
    with pytest.raises(hc.HlsUnsupported, match="needs weights='ddr'"):
        hc.board_tcl(b, "pynq-z2", 8, gen, maps="ddr")


def test_host_hls_backend_reads_the_maps_back(bundles):
    """The host's hls simulation backend (host/backends.py) on this core: the scores of the reference backend,
    and read_maps() (the scratch decoded by syna_hw.spill.decode_scratch) equal to the reference's maps."""
    from host.core import SpikingCore
    b = bundles(DVS, 2)
    x = b.golden()["input"]
    ref = Reference(b).run(x)
    core = SpikingCore(b, "hls", weights="ddr", lanes=2, maps="ddr", acc_rows=16)
    try:
        got = core.classify_batch(x)
        assert np.array_equal(got.scores, ref.scores)
        maps = core.read_maps()
        assert all(np.array_equal(maps[k], v[-1]) for k, v in ref.spikes.items())
        assert core.info()["maps"] == "ddr"
    finally:
        core.close()
