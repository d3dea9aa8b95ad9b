"""The host driver with a core whose weights are in DDR (docs/host-driver.md "Models with weights in DDR").

The pynq backend on the fake board (host/fakeboard.py) with a DDR-mode core: the driver allocates the
bundle's DDR image in contiguous memory, copies it once, writes WEIGHTS_BASE; the fake board's core is
the HLS core's DDR-mode C-simulation reading the bytes at WEIGHTS_BASE, so the scores and spike counts
equal the reference only when the host put the right image at the right address. Refusals (no image,
an image for another P, a misaligned buffer, an overlay of the other kind, the RTL twin) are the same
on every backend that checks them. The hls backend in DDR mode is bit-exact with its on-chip mode and
the reference; throughput_test reports the DDR bytes and bandwidth.
"""
import shutil

import numpy as np
import pytest

from helpers import export_digits
from host import CoreStatusError, DdrWeightsError, DmaTimeoutError, SpikingCore
from host.fakeboard import FakeBoard, FakeBoardError
from syna_contract import ddr_image as di
from syna_contract import protocol as P
from syna_contract.bundle import BundleError, load_bundle
from syna_contract.reference import Reference

LANES = 16


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    """The digits bundle three ways (one model hash): no image, an image for P = 16, one for P = 8."""
    tmp = tmp_path_factory.mktemp("host-ddr")
    plain, x, _ = export_digits(tmp / "plain")
    p16, p8 = tmp / "p16", tmp / "p8"
    shutil.copytree(plain, p16)
    shutil.copytree(plain, p8)
    di.add_image(load_bundle(p16), LANES)
    di.add_image(load_bundle(p8), 8)
    b = {k: load_bundle(v) for k, v in (("plain", plain), ("p16", p16), ("p8", p8))}
    assert len({v.model_hash for v in b.values()}) == 1
    return b, b["p16"].golden()["input"], tmp / "hls-build"


def ddr_board(bundles, impl, **kw):
    b, _, build = bundles
    return FakeBoard(b["p16"], use_pynq=impl, weights="ddr", hls_build_root=build, **kw)


def open_core(bundle, board, **kw):
    ov = board.overlay()
    kw.setdefault("timeout_s", 0.5)
    return SpikingCore(bundle, backend="pynq", overlay=ov, allocate=ov.allocate, **kw), ov


def assert_reference(bundle, x, pred):
    ref = Reference(bundle).run(x, keep_spikes=False)
    assert np.array_equal(pred.scores, ref.scores)
    for name, counts in ref.spike_counts.items():
        assert np.array_equal(pred.spike_counts[name], counts), name


def test_pynq_ddr_core_on_the_fake_board_gives_the_reference(bundles, impl):
    b, x, _ = bundles
    board = ddr_board(bundles, impl)
    core, _ = open_core(b["p16"], board)
    info = core.info()
    assert info["weights"] == "ddr" and info["weights_from"] == ".hwh" and info["ddr_lanes"] == LANES
    image = (b["p16"].root / di.IMAGE_FILE).read_bytes()
    assert info["ddr_image_bytes"] == len(image)
    base = core.backend.weights_base
    assert base % P.WEIGHTS_BASE_ALIGN == 0 and info["weights_base"] == f"0x{base:x}"
    assert core.backend.weights_buf.tobytes() == image            # the image, copied once at open
    regs = core.backend.registers()
    assert regs["WEIGHTS_BASE"] == base & 0xFFFFFFFF and regs["WEIGHTS_BASE_HI"] == base >> 32
    pred = core.classify_batch(x)
    assert_reference(b["p16"], x, pred)
    assert board.ddr_starts == {base: len(x)}                     # every ap_start found the image there
    # the fake board's C-sim counted what it read; the host's modelled bytes are that, per inference
    assert board.ddr_bytes_read == len(x) * core.backend.ddr_bytes_per_inference() > 0
    core.close()
    assert base in board.freed and core.backend.weights_buf is None


def test_the_fake_board_computes_from_the_buffer_the_host_wrote(bundles, impl):
    """Corrupt the image in the host's buffer (not in the bundle): the answer changes. The fake board's
    core really reads the memory at WEIGHTS_BASE; and WEIGHTS_BASE lost (0) is refused at ap_start."""
    b, x, _ = bundles
    board = ddr_board(bundles, impl)
    core, _ = open_core(b["p16"], board)
    img = di.parse_image((b["p16"].root / di.IMAGE_FILE).read_bytes())
    e = img.entries[0]
    lo, n = img.weight_range(e)
    buf = core.backend.weights_buf
    buf[lo:lo + n] = 0                                           # the first layer's weights gone
    ref = Reference(b["p16"]).run(x, keep_spikes=False)
    pred = core.classify_batch(x)
    assert not np.array_equal(pred.spike_counts[b["p16"].descriptors[0].name],
                              ref.spike_counts[b["p16"].descriptors[0].name])
    buf[lo:lo + n] = np.frombuffer(img.data, np.uint8)[lo:lo + n]
    assert_reference(b["p16"], x, core.classify_batch(x))
    # the core's own weights check (STATUS weights, interface version 3) catches what the host got wrong
    base = core.backend.weights_base
    for wrong in (0, base + 64, base + 4096):                  # never written, misaligned, not the image's start
        board.regs[P.REG_WEIGHTS_BASE] = wrong & 0xFFFFFFFF
        with pytest.raises(CoreStatusError, match=r"the core reports \['weights'\].*could not use the DDR weight"):
            core.classify(x[0])
        assert board.regs[P.REG_STATUS] == P.STATUS_WEIGHTS
    board.regs[P.REG_WEIGHTS_BASE] = base
    buf[:128] = 0                                              # the image's header gone: not this model's image
    with pytest.raises(CoreStatusError, match=r"\['weights'\]"):
        core.classify(x[0])
    buf[:128] = np.frombuffer(img.data, np.uint8)[:128]
    assert_reference(b["p16"], x[:2], core.classify_batch(x[:2]))


def test_weights_base_written_again_after_a_reset(bundles, impl):
    """A timeout reloads the bitstream (every register to 0): the driver programs WEIGHTS_BASE again."""
    b, x, _ = bundles
    board = ddr_board(bundles, impl)
    core, ov = open_core(b["p16"], board, timeout_s=0.1)
    board.hang = True
    with pytest.raises(DmaTimeoutError):
        core.classify(x[0])
    assert ov.downloads == 1 and board.weights_base() == core.backend.weights_base
    board.hang = False
    assert_reference(b["p16"], x[:2], core.classify_batch(x[:2]))


def test_refusals_on_the_board(bundles, impl):
    b, _, _ = bundles
    board = ddr_board(bundles, impl)
    # a DDR-mode overlay, a bundle without an image
    with pytest.raises(BundleError, match=r"the bundle has no DDR image; a core with its weights in DDR needs one"):
        open_core(b["plain"], board)
    # an image for another P: the .hwh's m_axi_gmem data width says the core's row width
    with pytest.raises(BundleError, match=r"DDR image of P = 8 lanes, rows of 32 bits; the overlay's core .* "
                                          r"reads rows of 64 bits"):
        open_core(b["p8"], board)
    # the same on an RTL-twin overlay, whose .hwh names the port's width GMEM_DW (one row, at least 32 bits)
    rtl_ip = ddr_board(bundles, impl)
    hls_desc = rtl_ip.descriptions

    def rtl_descriptions(core_name, dma_name):
        d = hls_desc(core_name, dma_name)
        d[core_name]["parameters"] = {"GMEM_DW": str(max(P.RTL_GMEM_MIN_BITS, rtl_ip.gmem_data_width))}
        return d
    rtl_ip.descriptions = rtl_descriptions
    with pytest.raises(BundleError, match=r"DDR image of P = 8 lanes, rows of 32 bits; the overlay's core .* "
                                          r"reads rows of 64 bits \(m_axi_gmem data width in the \.hwh, GMEM_DW\)"):
        open_core(b["p8"], rtl_ip)
    core, _ = open_core(b["p16"], rtl_ip)
    assert core.info()["weights_from"] != "weights option"
    # without a .hwh: weights='ddr' and the core's P given
    bare = ddr_board(bundles, impl, registers=None)
    with pytest.raises(BundleError, match=r"DDR image laid out for P = 8 lanes; the core has P = 16"):
        open_core(b["p8"], bare, weights="ddr", lanes=LANES)
    core, _ = open_core(b["p16"], bare, weights="ddr", lanes=LANES)
    assert core.info()["weights_from"] == "weights option"
    # a buffer whose physical address is not 4096-aligned: refused, and given back
    board.alloc_offset = 64
    with pytest.raises(DdrWeightsError, match=r"physical address 0x[0-9a-f]+40, not a multiple of 4096"):
        open_core(b["p16"], board)
    assert board.freed and board.freed[-1] % 4096 == 64
    board.alloc_offset = 0
    # a buffer smaller than the image (an allocator that returned less), or at address 0: refused, given back
    for alloc, want in ((lambda shape, dtype: board.allocate(shape=(shape[0] // 2,), dtype=dtype),
                         r"buffer holds \d+ bytes; the image has \d+"),):
        ov = board.overlay()
        with pytest.raises(DdrWeightsError, match=want):
            SpikingCore(b["p16"], backend="pynq", overlay=ov, allocate=alloc, timeout_s=0.5)
    # the weights option against the overlay's kind
    with pytest.raises(DdrWeightsError, match=r"weights='rom', but the overlay's core .* is a DDR-mode build"):
        open_core(b["p16"], board, weights="rom")
    rom_board = FakeBoard(b["p16"], use_pynq=impl)
    with pytest.raises(DdrWeightsError, match=r"weights='ddr', but the overlay's core .* is an on-chip build"):
        open_core(b["p16"], rom_board, weights="ddr")
    core, _ = open_core(b["p16"], rom_board)                      # a bundle with an image, an on-chip core
    assert core.info()["weights"] == "rom" and core.backend.weights_buf is None


def test_same_refusals_on_the_simulation_backends(bundles):
    b, _, _ = bundles
    for name in ("reference", "hls"):
        with pytest.raises(BundleError, match=r"the bundle has no DDR image"):
            SpikingCore(b["plain"], backend=name, weights="ddr")
        with pytest.raises(BundleError, match=r"DDR image laid out for P = 8 lanes; the core has P = 16"):
            SpikingCore(b["p8"], backend=name, weights="ddr", lanes=LANES)
    # the RTL twin: the same refusals, before anything is built
    with pytest.raises(BundleError, match=r"the bundle has no DDR image"):
        SpikingCore(b["plain"], backend="rtl", weights="ddr")
    with pytest.raises(BundleError, match=r"DDR image laid out for P = 8 lanes; the core has P = 16"):
        SpikingCore(b["p8"], backend="rtl", weights="ddr", lanes=LANES)
    with pytest.raises(ValueError, match=r"weights='flash'"):
        SpikingCore(b["p16"], backend="reference", weights="flash")


def test_hls_backend_ddr_mode_bitexact_and_throughput_line(bundles):
    """The hls backend's DDR-mode core (its C-sim reads the image) equals its on-chip mode and the
    reference on scores and every layer's spike counts; throughput_test reports the bytes it counted."""
    b, x, _ = bundles
    ddr = SpikingCore(b["p16"], backend="hls", weights="ddr")
    rom = SpikingCore(b["p16"], backend="hls")
    pd, pr = ddr.classify_batch(x), rom.classify_batch(x)
    assert_reference(b["p16"], x, pd)
    assert np.array_equal(pd.scores, pr.scores)
    for name in pr.spike_counts:
        assert np.array_equal(pd.spike_counts[name], pr.spike_counts[name]), name
    per = ddr.backend.ddr_bytes_per_inference()
    assert ddr.backend.ddr_bytes_read == len(x) * per > 0
    assert ddr.info()["weights"] == "ddr" and rom.info()["weights"] == "rom"
    tp = ddr.throughput_test(batch=4, clock_mhz=100)
    assert tp["DDR_bytes_source"] == "counted (C-sim)" and tp["DDR_weight_bytes_per_inference"] == per
    assert tp["DDR_weights_bandwidth[MB/s]"] == pytest.approx(per * 4 / (tp["runtime[ms]"] / 1e3) / 1e6)
    assert tp["core_DDR_weights_bandwidth[MB/s]"] == pytest.approx(per * 100e6 / tp["cycles_per_inference"] / 1e6)
    assert "DDR_weight_bytes_per_inference" not in rom.throughput_test(batch=4, clock_mhz=100)
    # the reference backend in DDR mode: the image checked, the bytes modelled
    tr = SpikingCore(b["p16"], backend="reference", weights="ddr").throughput_test(batch=2)
    assert tr["DDR_bytes_source"].startswith("modelled") and tr["DDR_weight_bytes_per_inference"] == per


def test_throughput_test_on_the_fake_board_reports_ddr(bundles, impl):
    b, _, _ = bundles
    board = ddr_board(bundles, impl, cycles_per_word=100)
    core, _ = open_core(b["p16"], board)
    tp = core.throughput_test(batch=4, clock_mhz=100)
    per = core.backend.ddr_bytes_per_inference()
    assert tp["DDR_bytes_source"].startswith("modelled") and tp["DDR_weight_bytes_per_inference"] == per
    assert board.ddr_bytes_read == 4 * per                       # what the fake board's C-sim read
    assert tp["core_DDR_weights_bandwidth[MB/s]"] == pytest.approx(per * 100e6 / (100 * 64) / 1e6)


def test_rtl_backend_ddr_mode_bitexact(bundles):
    """The rtl backend's DDR-mode core (the RTL twin reading the image through its AXI port, the Verilator
    harness playing the DDR) gives the reference's scores and spike counts; it reads the tiling's bytes."""
    b, x, _ = bundles
    core = SpikingCore(b["p16"], backend="rtl", weights="ddr")
    pd = core.classify_batch(x[:2])
    assert_reference(b["p16"], x[:2], pd)
    per = core.backend.ddr_bytes_per_inference()
    assert core.backend.ddr_bytes_read == 2 * per > 0 and core.info()["weights"] == "ddr"
    core.close()
