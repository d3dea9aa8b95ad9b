"""Weights in DDR, bad memory: the STATUS ``weights`` bit (docs/core-interface.md, interface version 3) on the
HLS core (C-sim) and the RTL twin (Verilator harness) alike.

Each case puts some bytes at some address in the simulated DDR and programs WEIGHTS_BASE, then runs one
inference: a misaligned base, a base outside the port's address space, a base that was never set (0),
another model's image, an image laid out for another P, a truncated image, an AXI error response (RTL).
Both cores must answer with the contract's error packet (scores, counts and saturations 0, STATUS =
weights, plus any input error), without a hang and without reading what they must not; afterwards the
right image at the right address gives the golden answer again. The host's side (checks before the
start, decoding the bit) is in tests/test_host_ddr.py."""
from __future__ import annotations

import numpy as np
import pytest

from helpers import HwCase
from syna_contract import ddr_image as di
from syna_contract import protocol as P
from syna_contract.bundle import load_bundle
from syna_hw import hls_core as hc
from syna_hw.hls_toolchain import HlsToolError
from syna_hw.lowering import SIM_WEIGHTS_BASE
from syna_hw.rtl_binding import RtlCore

CASE = HwCase("or-p4", "OR", lanes=4, samples=2, seed=4)
OTHER = HwCase("or-p4-other", "OR", lanes=4, samples=2, seed=7)     # the same shapes, other weights
BASE = SIM_WEIGHTS_BASE


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("ddr-faults")
    b = load_bundle(CASE.write(root / "b"))
    di.add_image(b, CASE.lanes)
    b = load_bundle(b.root)
    other = load_bundle(OTHER.write(root / "other"))
    assert other.model_hash != b.model_hash
    images = {"own": np.frombuffer(di.build_image(b.manifest, b.params, 4), np.uint8),
              "other_model": np.frombuffer(di.build_image(other.manifest, other.params, 4), np.uint8),
              "other_p": np.frombuffer(di.build_image(b.manifest, b.params, 8), np.uint8)}
    assert images["own"].size == images["other_model"].size           # the same layout: only the header tells
    hls = hc.HlsCore(b, 4, build_root=root / "hls", weights="ddr").compile()
    rtl = RtlCore(b, lanes=4, weights="ddr")
    yield b, images, {"hls": hls, "rtl": rtl}
    rtl.close()


def _program(name, core, data, at, base):
    """The simulated DDR holds ``data`` at byte address ``at``; WEIGHTS_BASE = ``base``."""
    core.load_ddr(data, at=at)
    if name == "hls":
        core.weights_base = base
    else:
        core.reg_write(P.REG_WEIGHTS_BASE, base & 0xFFFFFFFF)
        core.reg_write(P.REG_WEIGHTS_BASE + 4, base >> 32)


def _send(name, core, words, steps) -> tuple[np.ndarray, int, int]:
    """One inference: (output packet, DDR bytes read, beats refused / tile loads outside the C-sim memory)."""
    core.ddr_stats()
    if name == "hls":
        out = core.transfer(words, steps)
        assert core.last_regs["tlast_ok"] == 1 and core.last_regs["left_in"] == 0
    else:
        r = core.run(words, steps, max_cycles=2_000_000)
        assert not r.timed_out, "the RTL core hung"
        out = r.out
    got, bad = core.ddr_stats()
    return out, got, bad


def _error_packet(b, out, status):
    """The contract's packet after an error: scores, counts, saturations 0; the status word as given."""
    n = len(b.golden()["scores"][0]) + len([l for l in b.descriptors if l.spiking])
    assert out.size == n + 3
    assert not out[:n].any(), f"scores / counts after an error: {out[:n]}"
    assert out[-2] == 0 and out[-1] == status, (hex(int(out[-1])), P.decode_status(int(out[-1])))


def _good(b, name, core, images):
    _program(name, core, images["own"], BASE, BASE)
    g = b.golden()
    words = P.pack_frames(g["input"][0], b.input_spec["bits"])
    out, got, bad = _send(name, core, words, b.input_spec["steps"])
    assert out[-1] & P.STATUS_ERRORS == 0 and bad == 0
    assert np.array_equal(out[:len(g["scores"][0])].view(np.int32), g["scores"][0]), name
    assert got == core.ddr.bytes_per_inference
    return words


# (memory contents, where, WEIGHTS_BASE, reads allowed): every one must give STATUS weights on both cores
FAULTS = {
    "misaligned": ("own", BASE, BASE + 64, False),                   # checked before any read
    "outside_address_space": ("own", (1 << P.DDR_ADDR_BITS) - 4096, (1 << P.DDR_ADDR_BITS) - 4096, False),
    "base_never_set": ("own", BASE, 0, True),                        # reads address 0: no image there
    "other_model_image": ("other_model", BASE, BASE, True),          # the header's model hash differs
    "image_for_other_p": ("other_p", BASE, BASE, True),              # lanes / row bytes / sizes differ
    "base_one_page_off": ("own", BASE, BASE + 4096, True),           # aligned, but not the image's start
}


@pytest.mark.parametrize("case", list(FAULTS))
@pytest.mark.parametrize("name", ["hls", "rtl"])
def test_weights_fault_flagged_then_good(setup, name, case):
    b, images, cores = setup
    core = cores[name]
    words = _good(b, name, core, images)
    which, at, base, reads = FAULTS[case]
    _program(name, core, images[which], at, base)
    steps = b.input_spec["steps"]
    out, got, bad = _send(name, core, words, steps)
    _error_packet(b, out, P.STATUS_WEIGHTS)
    assert P.decode_status(int(out[-1])) == ["weights"]
    assert got <= core.ddr.check_bytes, "a failed weights check must stop the reads"
    if not reads:
        assert got == 0 and bad == 0, "misaligned / outside the address space: not one read"
    # with STEPS wrong as well, both bits (the errors add up); the input is still received
    out, _, _ = _send(name, core, words, steps + 1)
    _error_packet(b, out, P.STATUS_WEIGHTS | P.STATUS_STEPS_MISMATCH)
    _good(b, name, core, images)                                       # nothing stale


def test_truncated_image(setup):
    """The image's first half at WEIGHTS_BASE (its header intact): the RTL twin's reads past it get SLVERR
    (STATUS weights); the HLS core cannot see a read response (m_axi), so its C-sim refuses to invent the
    missing rows (HlsToolError) -- on a board the host's size check is the guard (test_host_ddr.py)."""
    b, images, cores = setup
    half = images["own"][: images["own"].size // 2]
    words = _good(b, "rtl", cores["rtl"], images)
    _program("rtl", cores["rtl"], half, BASE, BASE)
    out, _, bad = _send("rtl", cores["rtl"], words, b.input_spec["steps"])
    _error_packet(b, out, P.STATUS_WEIGHTS)
    assert bad > 0
    _good(b, "rtl", cores["rtl"], images)
    hls = cores["hls"]
    _program("hls", hls, half, BASE, BASE)
    with pytest.raises(HlsToolError, match="outside the DDR image"):
        hls.run(b.golden()["input"][:1], keep_spikes=False)
    _good(b, "hls", hls, images)


@pytest.mark.parametrize("where,resp", [("header", 3), ("fc_weights", 2), ("first_conv_weights", 2)])
def test_rtl_read_error_response(setup, where, resp):
    """An AXI error response (DECERR on the header, SLVERR on a weight tile) ends the inference with
    STATUS weights; the counts of the layers computed before it are not sent."""
    b, images, cores = setup
    core = cores["rtl"]
    words = _good(b, "rtl", core, images)
    img = di.parse_image(images["own"].tobytes())
    layer = {"fc_weights": img.entries[-1], "first_conv_weights": img.entries[0]}.get(where)
    lo = BASE if layer is None else BASE + layer["w_offset"] + layer["w_block_bytes"] // 2
    core.ddr_fault(lo, lo + 4, resp)
    try:
        out, _, bad = _send("rtl", core, words, b.input_spec["steps"])
    finally:
        core.ddr_fault(0, 0, 0)
    assert bad >= 1
    _error_packet(b, out, P.STATUS_WEIGHTS)
    _good(b, "rtl", core, images)
