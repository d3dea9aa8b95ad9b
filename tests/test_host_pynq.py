"""The pynq backend without a board: pynq's own MMIO and DMA drivers on a fake device (host/fakeboard.py).

Each test runs twice where pynq is installed: with pynq's real ``DefaultIP``/``MMIO``/``DMA``
classes bound to the fake device (``real-pynq``), and with the stand-ins that follow pynq's API
(``stand-in``), which is all that runs where pynq is missing. ``SYNA_REQUIRE_HOST_DEPS=1`` (set by
host.mk for ``make test`` and ``make host-test``) turns a missing pynq into a failure instead of a skip.
"""

import numpy as np
import pytest

from host import (CoreStatusError, DmaError, DmaTimeoutError, InputError, InterfaceError, ModelMismatchError,
                  SpikingCore)
from syna_contract import protocol as P
from host.backends import check_register_map
from host.fakeboard import FakeBoard, hwh_registers
from syna_contract.bundle import load_bundle
from syna_contract.reference import Reference

from helpers import export_digits



@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    root, x, y = export_digits(tmp_path_factory.mktemp("pynq") / "digits")
    return load_bundle(root), x, y


def open_core(bundle, use_pynq, board=None, **kw):
    board = board or FakeBoard(bundle, use_pynq=use_pynq)
    ov = board.overlay()
    kw.setdefault("timeout_s", 0.2)
    return SpikingCore(bundle, backend="pynq", overlay=ov, allocate=ov.allocate, **kw), board, ov


def test_real_pynq_classes_are_used_when_installed(digits, impl):
    core, board, ov = open_core(digits[0], impl)
    core.classify(digits[1][0])
    if impl:
        import pynq.lib.dma
        import pynq.overlay
        assert isinstance(ov.axi_dma_0, pynq.lib.dma.DMA) and isinstance(ov.syna_core_0, pynq.overlay.DefaultIP)
        assert type(core.backend.send).__module__ == "pynq.lib.dma"
        assert board.buffer_kind.startswith("pynq" if np.__version__ < "2" else "stand-in")


def test_pynq_backend_identical_to_reference(digits, impl):
    bundle, x, _ = digits
    xs = x[:50]
    ref = Reference(bundle).run(xs, keep_spikes=False)
    core, board, _ = open_core(bundle, impl, block=16)
    pred = core.classify_batch(xs)
    assert np.array_equal(pred.scores, ref.scores)
    for name, counts in ref.spike_counts.items():
        assert np.array_equal(pred.spike_counts[name], counts), name
    assert board.inferences == 50
    # one cache flush per sent packet, one invalidate per received packet (pynq's channel semantics)
    assert board.flushes == 50 and board.invalidates == 50
    regs = core.counters()["registers"]
    assert regs["STEPS"] == 4 and regs["VERSION"] == P.INTERFACE_VERSION and regs["MODEL_HASH"] == int(bundle.model_hash[:8], 16)
    assert regs["CTRL"] & P.CTRL_IDLE
    assert core.info()["register_map"] == ".hwh"


def test_cycles_come_from_the_core(digits, impl):
    board = FakeBoard(digits[0], use_pynq=impl, cycles_per_word=10)
    core, _, _ = open_core(digits[0], impl, board=board)
    p = core.classify(digits[1][0])
    assert p.cycles == 10 * 64 and core.counters()["cycles"]["last"] == 640
    assert core.backend.registers()["CYCLES"] == 640


def test_hash_mismatch_refused_at_load(digits, impl):
    bundle = digits[0]
    board = FakeBoard(bundle, use_pynq=impl, model_hash32=0xDEADBEEF)
    want = f"0x{int(bundle.model_hash[:8], 16):08x}"
    with pytest.raises(ModelMismatchError, match=rf"reports MODEL_HASH 0xdeadbeef but the bundle .* {want}"):
        open_core(bundle, impl, board=board)
    assert board.inferences == 0


def test_interface_version_and_register_map_checked(digits, impl):
    bundle = digits[0]
    with pytest.raises(InterfaceError, match=f"interface version 1; this driver speaks version {P.INTERFACE_VERSION}"):
        open_core(bundle, impl, board=FakeBoard(bundle, use_pynq=impl, version=1))
    with pytest.raises(InterfaceError, match="interface version 2; this driver speaks version 4"):
        open_core(bundle, impl, board=FakeBoard(bundle, use_pynq=impl, version=2))   # a core without STATUS weights
    with pytest.raises(InterfaceError, match="interface version 3; this driver speaks version 4"):
        open_core(bundle, impl, board=FakeBoard(bundle, use_pynq=impl, version=3))   # a core without STATUS scratch
    wrong = hwh_registers({"model_hash": 0x40})
    with pytest.raises(InterfaceError, match=r"MODEL_HASH at 0x40 in the \.hwh, 0x30 in syna_contract/protocol\.py"):
        open_core(bundle, impl, board=FakeBoard(bundle, use_pynq=impl, registers=wrong))
    core, _, _ = open_core(bundle, impl, board=FakeBoard(bundle, use_pynq=impl, registers=None))
    assert core.info()["register_map"] == "syna_contract/protocol.py"
    assert check_register_map(None) == P.REGISTERS


def test_dma_timeout_raises_resets_and_recovers(digits, impl):
    bundle, x, _ = digits
    core, board, ov = open_core(bundle, impl, timeout_s=0.1)
    board.hang = True
    with pytest.raises(DmaTimeoutError, match=r"sample 0: the DMA receive \(S2MM\) transfer did not complete "
                                              r"within 0\.1 s .* reset"):
        core.classify(x[0])
    assert ov.downloads == 1 and board.dma_resets == 1 and core.backend.resets == 1
    board.hang = False
    p = core.classify(x[1])                                    # the next inference works
    assert np.array_equal(p.scores, Reference(bundle).run(x[1:2], keep_spikes=False).scores[0])


def test_custom_core_reset_is_used(digits, impl):
    calls = []
    core, board, ov = open_core(digits[0], impl, timeout_s=0.05, reset_core=lambda: calls.append(1))
    board.hang = True
    with pytest.raises(DmaTimeoutError):
        core.classify(digits[1][0])
    assert calls == [1] and ov.downloads == 0 and board.dma_resets == 1


def test_dma_errors_are_reported(digits, impl):
    bundle, x, _ = digits
    core, board, _ = open_core(bundle, impl)
    board.decode_error_once = True                              # the next transfer hits an unmapped address
    with pytest.raises(DmaError, match="DMA decode error"):
        core.classify(x[0])
    assert board.dma_resets == 1
    core.classify(x[0])


def test_packet_longer_than_expected_is_an_error(digits, impl):
    bundle, x, _ = digits

    class LongPacket:
        def __init__(self, inner):
            self.inner, self.model_hash32 = inner, inner.model_hash32

        def transfer(self, words, steps):
            return np.append(self.inner.transfer(words, steps), np.uint32(0))

    from host.emulator import CoreEmulator
    board = FakeBoard(bundle, model=LongPacket(CoreEmulator(bundle)), use_pynq=impl)
    core, _, _ = open_core(bundle, impl, board=board)
    with pytest.raises(DmaError, match="internal error"):
        core.classify(x[0])


def test_sample_larger_than_dma_length_register_is_refused(digits, impl):
    bundle = digits[0]
    with pytest.raises(InterfaceError, match=r"one sample is 256 bytes but DMA axi_dma_0 moves at most 127 bytes"):
        open_core(bundle, impl, board=FakeBoard(bundle, use_pynq=impl, dma_length_bits=7))


def test_bad_input_refused_before_the_hardware_is_touched(digits, impl):
    bundle, x, _ = digits
    core, board, _ = open_core(bundle, impl)
    writes, reads = board.register_writes, board.register_reads
    for bad in (x[0] + 40, x[0, :2], x[0].astype(float)):
        with pytest.raises(InputError):
            core.classify(bad)
    assert (board.register_writes, board.register_reads) == (writes, reads) and board.flushes == 0


def test_steps_mismatch_reported_by_the_core(digits, impl, monkeypatch):
    bundle, x, _ = digits
    core, board, _ = open_core(bundle, impl)
    monkeypatch.setattr(core, "steps", 5)
    with pytest.raises(CoreStatusError, match="steps_mismatch"):
        core.classify_batch(x[:2])
    assert board.regs[P.REG_STATUS] == P.STATUS_STEPS_MISMATCH


def test_framing_error_resets_core_and_dma(digits, impl):
    """Issue 19 item 13: a packet the core ended early (its idle timeout after a stalled transfer) is a
    CoreStatusError, and the driver resets the core and the DMA (late words would misframe the next)."""
    from host.emulator import CoreEmulator
    bundle, x, _ = digits

    class Stalled:                       # the core saw all but the last word, then the sender went quiet
        def __init__(self, core):
            self.core, self.model_hash32 = core, core.model_hash32

        def transfer(self, words, steps):
            return self.core.transfer(words[:-1], steps, tlast=False)

    emu = CoreEmulator(bundle)
    board = FakeBoard(bundle, model=Stalled(emu), use_pynq=impl)
    core, _, ov = open_core(bundle, impl, board=board)
    with pytest.raises(CoreStatusError, match="frame_short"):
        core.classify(x[0])
    assert core.backend.resets == 1 and board.dma_resets == 1 and ov.downloads == 1
    board.model = emu
    assert np.array_equal(core.classify(x[0]).scores, Reference(bundle).run(x[:1]).scores[0])
    assert core.backend.resets == 1


def test_throughput_test_on_the_fake_board(digits, impl):
    core, board, _ = open_core(digits[0], impl)
    r = core.throughput_test(batch=16)
    assert r["backend"] == "pynq" and r["batch_size"] == 16 and board.inferences == 16
    assert r["DRAM_in_bandwidth[MB/s]"] > 0 and r["DRAM_out_bandwidth[MB/s]"] > 0
