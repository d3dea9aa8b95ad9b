"""The host driver with a core whose spike maps are in DDR (``maps="ddr"``, docs/core-interface.md "Spike maps in
DDR"): the pynq backend on the fake board finds the build in the .hwh (``scratch_base_1``), allocates the scratch
buffer (``host.ddr.scratch_bytes``), programs SCRATCH_BASE (again after a reset) and frees it; the fake board's core
(the HLS C-sim, maps in DDR) writes its input and every spike map into that very buffer, so ``read_maps`` finds the
reference's maps there; a SCRATCH_BASE the core refuses gives STATUS scratch, explained; the reference and rtl
backends take the same options and give the same answers or refusals."""
import shutil

import numpy as np
import pytest

from helpers import export_digits
from host import CoreStatusError, DdrWeightsError, DmaTimeoutError, SpikingCore
from host import ddr as hd
from host.fakeboard import FakeBoard, FakeBoardError
from syna_contract import ddr_image as di
from syna_contract import protocol as P
from syna_contract.bundle import load_bundle
from syna_contract.reference import Reference
from syna_hw.limits import Unsupported

LANES = 8
ACC_ROWS = 16         # bands of a few rows on the 8x8 digits (every layer is 4x4 or 8x8 wide)


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("host-spill")
    plain, _, _ = export_digits(tmp / "plain")
    p8 = tmp / "p8"
    shutil.copytree(plain, p8)
    di.add_image(load_bundle(p8), LANES)
    b = load_bundle(p8)
    return b, b.golden()["input"], tmp / "hls-build"


def spill_board(bundles, impl, **kw):
    b, _, build = bundles
    return FakeBoard(b, use_pynq=impl, weights="ddr", maps="ddr", acc_rows=ACC_ROWS, hls_build_root=build, **kw)


def open_core(bundle, board, **kw):
    ov = board.overlay()
    kw.setdefault("timeout_s", 0.5)
    return SpikingCore(bundle, backend="pynq", overlay=ov, allocate=ov.allocate, **kw), ov


def test_pynq_core_with_maps_in_ddr_on_the_fake_board(bundles, impl):
    b, x, _ = bundles
    board = spill_board(bundles, impl)
    core, ov = open_core(b, board)
    info = core.info()
    assert info["maps"] == "ddr" and info["weights"] == "ddr"
    base = core.backend.scratch_base
    need = hd.scratch_bytes(b, LANES)
    assert base % P.SCRATCH_BASE_ALIGN == 0 and info["scratch_base"] == f"0x{base:x}" and info["scratch_bytes"] == need
    assert core.backend.scratch_buf.nbytes == need
    regs = core.backend.registers()
    assert regs["SCRATCH_BASE"] == base & 0xFFFFFFFF and regs["SCRATCH_BASE_HI"] == base >> 32
    ref = Reference(b).run(x)
    pred = core.classify_batch(x)
    assert np.array_equal(pred.scores, ref.scores)
    assert all(np.array_equal(pred.spike_counts[k], v) for k, v in ref.spike_counts.items())
    assert board.scratch_starts == {base: len(x)}
    maps = core.read_maps()                                   # the host's own buffer, as the core left it
    for name, s in ref.spikes.items():
        assert np.array_equal(maps[name], s[-1]), name
    want_words = P.pack_frames(x[-1], b.input_spec["bits"]).reshape(b.input_spec["steps"], -1)
    assert np.array_equal(maps["input"], want_words)
    # the core really wrote there: wipe the buffer, run one sample, the maps are back
    core.backend.scratch_buf[:] = 0
    core.classify(x[0])
    assert np.array_equal(core.read_maps()[b.descriptors[0].name], ref.spikes[b.descriptors[0].name][0])
    core.close()
    assert base in board.freed and core.backend.scratch_buf is None


def test_scratch_base_the_core_refuses_and_one_no_buffer_holds(bundles, impl):
    b, x, _ = bundles
    board = spill_board(bundles, impl)
    core, _ = open_core(b, board)
    base = core.backend.scratch_base
    for wrong in (0, base + 64, (1 << P.DDR_ADDR_BITS) - 4096):   # unset, misaligned, past the address bits
        board.regs[P.REG_SCRATCH_BASE] = wrong & 0xFFFFFFFF
        board.regs[P.REG_SCRATCH_BASE + 4] = wrong >> 32
        with pytest.raises(CoreStatusError, match=r"\['scratch'\].*could not use its scratch buffer"):
            core.classify(x[0])
        assert board.regs[P.REG_STATUS] == P.STATUS_SCRATCH
    board.regs[P.REG_SCRATCH_BASE], board.regs[P.REG_SCRATCH_BASE + 4] = 0x7000_0000, 0   # aligned, nothing there
    with pytest.raises(FakeBoardError, match="no allocated buffer holds"):
        core.classify(x[0])
    board.busy = False
    board.regs[P.REG_SCRATCH_BASE] = base & 0xFFFFFFFF
    core.close()


def test_scratch_base_written_again_after_a_reset(bundles, impl):
    b, x, _ = bundles
    board = spill_board(bundles, impl)
    core, ov = open_core(b, board, timeout_s=0.1)
    board.hang = True
    with pytest.raises(DmaTimeoutError):
        core.classify(x[0])
    assert ov.downloads == 1 and board.scratch_base() == core.backend.scratch_base
    board.hang = False
    ref = Reference(b).run(x[:2], keep_spikes=False)
    assert np.array_equal(core.classify_batch(x[:2]).scores, ref.scores)
    core.close()


def test_host_refusals(bundles, impl):
    b, _, build = bundles
    board = spill_board(bundles, impl)
    ov = board.overlay()
    with pytest.raises(DdrWeightsError, match=r"maps='chip', but the overlay's core .* keeps its spike maps in DDR"):
        SpikingCore(b, backend="pynq", overlay=ov, allocate=ov.allocate, maps="chip")
    with pytest.raises(DdrWeightsError, match="not a multiple of 4096"):
        hd.check_scratch_base(0x1000_0040, 1 << 20, 4096)
    with pytest.raises(DdrWeightsError, match="the core's spike maps need"):
        hd.check_scratch_base(0x1000_0000, 4096, 8192)
    with pytest.raises(DdrWeightsError, match="physical address 0"):
        hd.check_scratch_base(0, 1 << 20, 4096)
    # an on-chip overlay refuses maps='ddr'; maps='ddr' without weights in DDR is refused on every backend
    chip = FakeBoard(b, use_pynq=impl).overlay()
    with pytest.raises(DdrWeightsError, match="maps='ddr', but the overlay's core"):
        SpikingCore(b, backend="pynq", overlay=chip, allocate=chip.allocate, maps="ddr", weights=None)
    for backend in ("reference", "hls", "rtl"):
        with pytest.raises(ValueError, match="needs weights='ddr'"):
            SpikingCore(b, backend, maps="ddr")
        with pytest.raises(Unsupported, match="acc_rows 3"):
            SpikingCore(b, backend, weights="ddr", lanes=LANES, maps="ddr", acc_rows=3)
    ref = SpikingCore(b, "reference", weights="ddr", lanes=LANES, maps="ddr")
    with pytest.raises(ValueError, match="has no scratch buffer to read"):
        ref.read_maps()
    assert ref.info()["maps"] == "ddr"
    with pytest.raises(ValueError, match="on chip"):
        SpikingCore(b, "reference").read_maps()


def test_rtl_backend_with_maps_in_ddr(bundles):
    """The rtl backend: the same scores and maps read back as the reference's."""
    b, x, _ = bundles
    core = SpikingCore(b, "rtl", weights="ddr", lanes=LANES, maps="ddr", acc_rows=ACC_ROWS)
    try:
        ref = Reference(b).run(x[:2])
        got = core.classify_batch(x[:2])
        assert np.array_equal(got.scores, ref.scores)
        maps = core.read_maps()
        assert all(np.array_equal(maps[k], v[-1]) for k, v in ref.spikes.items())
    finally:
        core.close()


def test_throughput_test_reports_the_scratch_traffic(bundles):
    from syna_hw.cycles import scratch_traffic
    from syna_hw.limits import HLS
    from syna_hw.lowering import lower
    from syna_hw.spill import spill_plan
    b, _, _ = bundles
    core = SpikingCore(b, "hls", weights="ddr", lanes=LANES, maps="ddr", acc_rows=ACC_ROWS)
    try:
        r = core.throughput_test(batch=2)
        hw = lower(b, LANES, target=HLS)
        rd, wr = scratch_traffic(hw, spill_plan(hw, None, ACC_ROWS))
        assert r["DDR_scratch_read_bytes_per_inference"] == sum(rd.values()) > 0
        assert r["DDR_scratch_written_bytes_per_inference"] == sum(wr.values()) > 0
        assert core.backend.model.scratch_bytes_read == sum(rd.values())        # the C-sim's own count, last sample
        assert r["DDR_scratch_bandwidth[MB/s]"] > 0
    finally:
        core.close()
