"""The RTL twin's DDR read bursts against the board's HP port (docs/rtl.md "Weights in DDR", "AXI bursts"):
the core is built for the longest burst the port takes (``axi_max_burst``: ``Board.hp_max_burst``, 16 beats on a
Zynq-7000 AXI3 port, 256 on AXI4), and the harness's DDR model checks every AR handshake (burst length against
the port's limit, 4 KiB boundary, alignment, size, INCR). At 16 and at 256 beats the spikes are bit-exact and
the bytes the same; the bursts are exactly those of syna_contract.ddr_image.axi_bursts for every load; a core
that issues longer bursts than the port takes is stopped with an error (the mutation test), never passed."""
from __future__ import annotations

import pytest

from helpers import HwCase, rtl_check_bitexact
from syna_contract import ddr_image as di
from syna_contract import protocol as P
from syna_contract.boards import BOARDS, get_board
from syna_contract.bundle import load_bundle
from syna_hw import rtl_config
from syna_hw.limits import RTL
from syna_hw.lowering import SIM_WEIGHTS_BASE, ddr_weights, lower
from syna_hw.rtl_binding import RtlCore, board_ddr_timing

CASE = HwCase("or-p4", "OR", lanes=4, samples=2, seed=4)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    path = CASE.write(tmp_path_factory.mktemp("axi-burst") / CASE.name)
    di.add_image(load_bundle(path), CASE.lanes)
    return load_bundle(path)


def _whole(b) -> int:
    """A buffer as large as the largest layer: one tile per layer, the longest loads (hundreds of beats)."""
    return max(l.rows * l.groups for l in ddr_weights(lower(b, CASE.lanes, target=RTL)).layers)


def _expected_bursts(core: RtlCore, max_beats: int) -> int:
    """The bursts of one inference by the rule of ddr_image.axi_bursts: the weights check, then every tile load."""
    beat = core.cfg.arch["GMEM_DW"] // 8
    base = core.weights_base
    n = len(di.axi_bursts(base, core.cfg.arch["DDR_CHECK_BEATS"] * beat, beat, max_beats))
    return n + sum(len(di.axi_bursts(base + t.offset, t.nbytes, beat, max_beats)) for t in core.ddr.tile_loads())


def test_board_table_hp_port():
    """Zynq 7000 boards: an AXI3 HP port of 16-beat bursts; Zynq UltraScale+: AXI4, 256 (syna_contract/boards.py)."""
    for b in BOARDS.values():
        want = ("AXI3", 16) if b.ps_ip == "processing_system7" else ("AXI4", 256)
        assert (b.hp_protocol, b.hp_max_burst) == want, b.name
    assert board_ddr_timing("pynq-z2")["axi_max_burst"] == 16
    assert board_ddr_timing("zcu104")["axi_max_burst"] == P.DDR_MAX_BURST_BEATS == 256


def test_16_and_256_beat_bursts_bitexact_same_bytes(bundle):
    """The same inference with 256-beat and 16-beat bursts (the PYNQ-Z2's port): every spike bit-exact, the same
    bytes, and the bursts exactly those of axi_bursts at each limit (the longest 256 and 16 beats: the loads are
    long enough to need them)."""
    seen = {}
    for mb in (256, get_board("pynq-z2").hp_max_burst):
        core = RtlCore(bundle, lanes=CASE.lanes, weights="ddr", wbuf_rows=_whole(bundle), axi_max_burst=mb)
        try:
            assert core.cfg.arch["AXI_MAX_BURST"] == mb == core.port_max_burst
            outs = rtl_check_bitexact(core)
            n = len(outs)
            assert core.ddr_beats_refused == 0
            assert core.ddr_bytes_read == n * core.ddr.bytes_per_inference
            assert core.ddr_bursts == n * _expected_bursts(core, mb)
            seen[mb] = (core.ddr_bytes_read, core.ddr_bursts, core.ddr_max_burst, [o.cycles for o in outs])
        finally:
            core.close()
    assert seen[256][0] == seen[16][0]                                   # the same bytes
    assert seen[256][2] == 256 and seen[16][2] == 16, seen               # each limit reached, never passed
    assert seen[16][1] > seen[256][1]                                    # more, shorter bursts


def test_port_rejects_too_long_burst(bundle):
    """Mutation: a core built for 256-beat bursts on a port that takes 16 (the PYNQ-Z2's, were the RTL not set
    from the board): the harness stops the inference at the first long burst with an error naming it, and
    the error stays (every later call raises); the same core on a 256-beat port passes (above)."""
    core = RtlCore(bundle, lanes=CASE.lanes, weights="ddr", wbuf_rows=_whole(bundle), axi_max_burst=256,
                   port_max_burst=16)
    try:
        g, spec = bundle.golden(), bundle.input_spec
        with pytest.raises(RuntimeError, match=r"AXI read port violation .*ARLEN \d+: a burst of \d+ beats, "
                                               r"the port takes at most 16"):
            core.run(P.pack_frames(g["input"][0], spec["bits"]), spec["steps"])
        assert core.ddr_max_burst > 16
        with pytest.raises(RuntimeError, match="the port takes at most 16"):
            core.reg_read(P.REG_STATUS)
    finally:
        core.close()


def test_burst_limit_values(bundle, tmp_path):
    """axi_max_burst is 1..256 beats and only for a DDR core; generate writes it into syna_cfg.vh (with the
    bursts in flight), the default is AXI4's 256."""
    for bad in (0, 257, True, 16.0):
        with pytest.raises(ValueError, match="axi_max_burst"):
            RtlCore(bundle, lanes=CASE.lanes, weights="ddr", axi_max_burst=bad)
    with pytest.raises(ValueError, match="this core has none"):
        RtlCore(bundle, lanes=CASE.lanes, axi_max_burst=16)
    with pytest.raises(ValueError, match="no DDR port"):
        rtl_config.generate(bundle, tmp_path / "rom", lanes=CASE.lanes, axi_max_burst=16)
    cfg = rtl_config.generate(bundle, tmp_path / "z2", lanes=CASE.lanes, weights="ddr", axi_max_burst=16)
    vh = (tmp_path / "z2" / rtl_config.CFG_VH).read_text()
    assert "localparam integer SYNA_AXI_MAX_BURST = 16;" in vh
    assert f"localparam integer SYNA_AXI_OUTSTANDING = {P.DDR_READ_OUTSTANDING};" in vh
    assert rtl_config.generate(bundle, tmp_path / "d", lanes=CASE.lanes, weights="ddr").arch["AXI_MAX_BURST"] == 256
    assert cfg.arch_key != rtl_config.generate(bundle, tmp_path / "d", lanes=CASE.lanes, weights="ddr").arch_key
    assert SIM_WEIGHTS_BASE % 4096 == 0
