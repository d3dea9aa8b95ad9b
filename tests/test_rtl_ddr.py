"""The RTL twin with its weights in DDR (``weights="ddr"``, docs/rtl.md "Weights in DDR"): rtl/syna_core.v
reads the bundle's DDR image (syna_contract/ddr_image.py) through its AXI4 read port (rtl/syna_axi_rd.v,
INCR bursts) into its weight buffer, one output-channel tile at a time (the HLS core's tiles:
``syna_hw.lowering.ddr_weights``), the Verilator harness playing the DDR. Every spike of every layer,
the scores and counts equal the golden (reference) ones; the bytes the core reads are the HLS core's
formula; the on-chip build's generated files are unchanged (tests/test_lowering.py pins them). Both
buffer schemes (``wbuf`` "double": the next tile loads while the current one computes; "single") run
the tiled cases; the harness's DDR timing (latency, bandwidth) changes cycles, never spikes."""
from __future__ import annotations

import pytest

import numpy as np

from helpers import (HwCase, ddr_bytes_by_doc, export_ia_t_carry, reference_without_ia_t_restart,
                     rtl_check_bitexact)
from syna_contract import ddr_image as di
from syna_contract.bundle import BundleError, load_bundle
from syna_contract.reference import Reference
from syna_hw import rtl_config
from syna_hw.limits import RTL
from syna_hw.lowering import ddr_weights, lower
from syna_hw.rtl_binding import RtlCore

OR_P4 = HwCase("or-p4", "OR", lanes=4, samples=2, seed=4)
ATT_C_P1 = HwCase("maC-iaC-or-p1", "OR", ("C", "b"), lanes=1, samples=2, seed=5)
ATT_P4 = HwCase("maT-iaT-and-w4-m8-p4", "AND", ("T", "b"), weight_bits=4, mem_bits=8, lanes=4, samples=2, seed=4)


def _bundle(case: HwCase, root, image: bool = True):
    path = case.write(root / case.name)
    if image:
        di.add_image(load_bundle(path), case.lanes)
    return load_bundle(path)


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    root = tmp_path_factory.mktemp("rtl-ddr")
    return {c.name: _bundle(c, root) for c in (OR_P4, ATT_C_P1, ATT_P4)}



def _run(b, lanes, wbuf_rows, wbuf="single"):
    core = RtlCore(b, lanes=lanes, weights="ddr", wbuf_rows=wbuf_rows, wbuf=wbuf)
    try:
        outs = rtl_check_bitexact(core)
        assert core.ddr_beats_refused == 0
        assert core.ddr_bytes_read == len(outs) * ddr_bytes_by_doc(core.ddr)
        assert core.ddr.bytes_per_inference == ddr_bytes_by_doc(core.ddr)
        return core.ddr, outs
    finally:
        core.close()


def test_one_tile_per_layer(bundles):
    """A buffer as large as the largest layer: every layer's weights are one load, bit-exact."""
    b = bundles[OR_P4.name]
    whole = max(l.rows * l.groups for l in ddr_weights(lower(b, 4, target=RTL)).layers)
    d, _ = _run(b, 4, whole)
    assert all(l.tiles == 1 for l in d.layers)


@pytest.mark.parametrize("wbuf", ["double", "single"])
def test_many_tiles_rescan(bundles, wbuf):
    """The smallest buffer (one lane group of the largest layer): layers of 2 to 16 tiles re-scan their
    input per tile, a later tile keeping the earlier tiles' lanes of each spike word; bit-exact, and the
    bytes are the same as with one tile (tiling re-reads nothing)."""
    b = bundles[OR_P4.name]
    need = max(l.rows for l in ddr_weights(lower(b, 4, target=RTL)).layers)
    d, _ = _run(b, 4, need, wbuf)
    assert max(l.tiles for l in d.layers) == 16 and any(l.tiles == 2 for l in d.layers)


def test_one_lane_fc_and_dim_c_attention_tiles(bundles):
    """P = 1: 1-byte image rows, four per 32-bit beat; 64 tiles in the widest layers, MA-C and IA-C
    layers over 4 to 64 tiles (the pools, gates and IA-C neurons of each tile's channels), and the fc
    in two tiles of classes (its accumulators cleared between them)."""
    b = bundles[ATT_C_P1.name]
    d, _ = _run(b, 1, 576)
    assert d.row_bytes == 1 and d.layer("fc").tiles == 2 and max(l.tiles for l in d.layers) == 64
    assert d.layer("b2.short").attention and d.layer("b2.short").tiles == 4


def test_attention_in_one_tile(bundles):
    """MA and IA layers (4-bit weights: 2-byte rows, two per beat) with their weights in one tile each."""
    b = bundles[ATT_P4.name]
    whole = max(l.rows * l.groups for l in ddr_weights(lower(b, 4, target=RTL)).layers)
    _run(b, 4, whole)


@pytest.mark.parametrize("wbuf", ["double", "single"])
def test_attention_over_tiles(bundles, wbuf):
    """The smallest buffer on the MA-T/IA-T model: pass 1 pools tile by tile, the MLP runs once over
    every channel, pass 2 reloads each tile; bit-exact, and the attention layers of 2+ tiles (MA-T, up
    to 16 tiles; this model's IA-T layers fit one tile) have their weights read twice (the HLS formula)."""
    b = bundles[ATT_P4.name]
    need = max(l.rows for l in ddr_weights(lower(b, 4, target=RTL)).layers)
    d, _ = _run(b, 4, need, wbuf)
    assert any(l.attention and l.tiles > 1 for l in d.layers)


def test_ia_t_gate_neuron_restarts_per_tile(tmp_path):
    """An IA-T layer of 2 tiles whose gate neuron ends each sample far from rest (helpers.export_ia_t_carry):
    `clear` at each pass-2 tile restarts it, so every tile gets the one gate train of numerics.md section 6;
    without that restart (reference_without_ia_t_restart) the second tile's spikes differ (checked by
    dropping the S_TILE term of att_clear in rtl/syna_core.v: this test fails)."""
    b = load_bundle(export_ia_t_carry(tmp_path / "b"))
    di.add_image(b, 2)
    b = load_bundle(b.root)
    need = max(l.rows for l in ddr_weights(lower(b, 2, target=RTL)).layers)
    d, _ = _run(b, 2, need)
    layer = d.layer("b2.short")
    assert layer.attention and layer.tiles == 2 and b.layers[layer.index]["attention"]["kind"] == "IA"
    x = b.golden()["input"]
    ref = Reference(b).run(x)
    assert ref.gate_spikes["b2.short"] > 0
    wrong = reference_without_ia_t_restart(b, x, d)
    assert not np.array_equal(wrong.spikes["b2.short"], ref.spikes["b2.short"])


def test_generated_files(bundles, tmp_path):
    """DDR build: no weight ROM, the tile plan in syna_ddr.mem, the buffer depth and port in syna_cfg.vh."""
    b = bundles[OR_P4.name]
    cfg = rtl_config.generate(b, tmp_path / "ddr", lanes=4, weights="ddr", wbuf_rows=576, wbuf="double")
    names = {p.name for p in (tmp_path / "ddr").iterdir()}
    assert rtl_config.WEIGHTS_MEM not in names and rtl_config.DDR_MEM in names and rtl_config.DDR_HEAD_MEM in names
    vh = (tmp_path / "ddr" / rtl_config.CFG_VH).read_text()
    assert "`define SYNA_WEIGHTS_DDR 1" in vh and "localparam integer SYNA_WD = 576;" in vh
    assert "SYNA_REG_WEIGHTS_BASE = 7'h48" in vh and cfg.arch["GMEM_DW"] == 32
    words = [w for w in (tmp_path / "ddr" / rtl_config.DDR_MEM).read_text().split("\n") if w and not w.startswith("//")]
    assert len(words) == cfg.arch["NL"]
    fc = int(words[-1], 16)
    l = cfg.ddr.layer("fc")
    assert [(fc >> (32 * i)) & 0xFFFFFFFF for i in range(4)] == [l.w_offset, l.w_block_bytes, l.rows, l.tile_groups]
    loads = cfg.ddr.tile_loads()                     # the tile-load list, in order, and two buffers
    assert "localparam integer SYNA_NBUF = 2;" in vh and f"localparam integer SYNA_NLD = {len(loads)};" in vh
    words = [w for w in (tmp_path / "ddr" / rtl_config.TILES_MEM).read_text().split("\n")
             if w and not w.startswith("//")]
    assert len(words) == len(loads)
    last, t = int(words[-1], 16), loads[-1]
    assert ([(last >> (32 * i)) & 0xFFFFFFFF for i in range(5)]
            == [t.offset, t.nbytes, l.rows, l.w_block_bytes // cfg.ddr.row_bytes, t.groups])
    mem = {m.name: m for m in rtl_config.rtl_memories(cfg.arch)}
    assert mem["weights"].depth == 2 * 576 and mem["tile loads"].depth == len(loads)
    one = rtl_config.generate(b, tmp_path / "single", lanes=4, weights="ddr", wbuf_rows=576)   # the default
    assert one.arch["NBUF"] == 1 and {m.name: m for m in rtl_config.rtl_memories(one.arch)}["weights"].depth == 576
    with pytest.raises(ValueError, match="wbuf 'triple'"):
        rtl_config.generate(b, tmp_path / "x", lanes=4, weights="ddr", wbuf="triple")
    # the buffer's RAM (the planner's choice): block RAM only is a parameter of its syna_mem, and the plan's memory
    assert "localparam integer SYNA_WBRAM = 0;" in vh and mem["weights"].uram
    blk = rtl_config.generate(b, tmp_path / "block", lanes=4, weights="ddr", wbuf_rows=576, wbuf_ram="block")
    assert "localparam integer SYNA_WBRAM = 1;" in (tmp_path / "block" / rtl_config.CFG_VH).read_text()
    assert not {m.name: m for m in rtl_config.rtl_memories(blk.arch)}["weights"].uram
    assert "WBRAM = SYNA_WBRAM;" in (rtl_config.REPO / "rtl" / "syna_core.v").read_text()
    assert ".BLOCK(WBRAM)) u_w" in (rtl_config.REPO / "rtl" / "syna_core.v").read_text()
    with pytest.raises(ValueError, match="wbuf_ram 'ultra'"):
        rtl_config.generate(b, tmp_path / "x", lanes=4, weights="ddr", wbuf_ram="ultra")
    with pytest.raises(ValueError, match="add weights='ddr'"):
        rtl_config.generate(b, tmp_path / "x", lanes=4, wbuf_ram="block")
    rom = rtl_config.generate(b, tmp_path / "rom", lanes=4)
    assert rom.ddr is None and "SYNA_WEIGHTS_DDR" not in (tmp_path / "rom" / rtl_config.CFG_VH).read_text()
    with pytest.raises(ValueError, match="weights 'flash'"):
        rtl_config.generate(b, tmp_path / "x", lanes=4, weights="flash")


def test_refuses_bundle_without_image(tmp_path):
    b = _bundle(OR_P4, tmp_path, image=False)
    with pytest.raises(BundleError, match="no DDR image"):
        RtlCore(b, lanes=4, weights="ddr")


def test_failed_reads_end_the_inference_then_good(bundles):
    """WEIGHTS_BASE outside the image (the harness answers SLVERR) or past the port's 49 address bits
    (refused before any burst): the core does not hang, it ends the inference and sends the error packet
    with STATUS weights (interface version 3; every fault on both cores: test_ddr_faults.py); with
    WEIGHTS_BASE set right again the next inference is bit-exact."""
    from syna_contract import protocol as P
    b = bundles[OR_P4.name]
    whole = max(l.rows * l.groups for l in ddr_weights(lower(b, 4, target=RTL)).layers)
    core = RtlCore(b, lanes=4, weights="ddr", wbuf_rows=whole)
    try:
        g, spec = b.golden(), b.input_spec
        words = P.pack_frames(g["input"][0], spec["bits"])
        core.reg_write(P.REG_WEIGHTS_BASE, (core.weights_base + (1 << 24)) & 0xFFFFFFFF)
        r = core.run(words, spec["steps"], max_cycles=2_000_000)
        assert not r.timed_out and core.ddr_beats_refused > 0 and r.out[-1] == P.STATUS_WEIGHTS
        refused, read = core.ddr_beats_refused, core.ddr_bytes_read
        core.reg_write(P.REG_WEIGHTS_BASE + 4, 1 << 20)            # bit 52 of the address
        assert core.reg_read(P.REG_WEIGHTS_BASE + 4) == 1 << 20
        r = core.run(words, spec["steps"], max_cycles=2_000_000)
        assert not r.timed_out and core.ddr_beats_refused == refused and core.ddr_bytes_read == read
        assert r.out[-1] == P.STATUS_WEIGHTS and not r.out[:-3].any()
        core.reset()                                                 # programs WEIGHTS_BASE again
        assert core.reg_read(P.REG_WEIGHTS_BASE) == core.weights_base & 0xFFFFFFFF
        rtl_check_bitexact(core, samples=1)
    finally:
        core.close()


def test_ddr_timing_and_double_buffer(bundles):
    """The harness's DDR model: a longer latency or a lower bandwidth gives more cycles (and more cycles
    the compute waits for a tile) and the same spikes; at a bandwidth that makes loads slow, the double
    buffer (loads overlap compute) takes fewer cycles than the single one. The tile loads follow
    DdrWeights.tile_loads (their bytes and the weights check's are the inference's)."""
    b = bundles[OR_P4.name]
    need = max(l.rows for l in ddr_weights(lower(b, 4, target=RTL)).layers)
    d = ddr_weights(lower(b, 4, target=RTL), need)
    assert d.check_bytes + sum(t.nbytes for t in d.tile_loads()) == d.bytes_per_inference == ddr_bytes_by_doc(d)
    res = {}
    for wbuf in ("double", "single"):
        for timing in (dict(), dict(ddr_latency=40), dict(ddr_latency=40, ddr_bytes_per_cycle=0.5)):
            core = RtlCore(b, lanes=4, weights="ddr", wbuf_rows=need, wbuf=wbuf, **timing)
            try:
                o = rtl_check_bitexact(core, samples=1)[0]
                assert core.ddr_bytes_read == d.bytes_per_inference and core.ddr_beats_refused == 0
                res[wbuf, len(res) % 3] = (o.cycles, core.stall_cycles)
            finally:
                core.close()
    for wbuf in ("double", "single"):
        (c0, s0), (c1, s1), (c2, s2) = (res[wbuf, i] for i in range(3))
        assert c0 < c1 < c2 and s0 <= s1 < s2, (wbuf, res)
        # the extra cycles are the waits for tiles, and the weights check's read (the receive waits for it)
        assert c2 - s2 <= c1 - s1 + 8 + d.check_bytes / 0.5, (wbuf, res)
    assert res["double", 2][0] < res["single", 2][0] and res["double", 2][1] < res["single", 2][1], res
    with pytest.raises(ValueError, match="ddr_latency 0"):
        RtlCore(b, lanes=4, weights="ddr", wbuf_rows=need, ddr_latency=0)
    with pytest.raises(ValueError, match="wbuf 'triple'"):
        RtlCore(b, lanes=4, weights="ddr", wbuf_rows=need, wbuf="triple")
    with pytest.raises(ValueError, match="this core has none"):
        RtlCore(b, lanes=4, ddr_bytes_per_cycle=1.0)


def test_reset_while_loading_then_bitexact(bundles):
    """The first tiles load while the input is received: a reset then (loads in flight, the DDR side reset
    with the core) leaves no stale beat behind; the next inference is bit-exact and reads the formula's bytes."""
    from syna_contract import protocol as P
    b = bundles[OR_P4.name]
    need = max(l.rows for l in ddr_weights(lower(b, 4, target=RTL)).layers)
    core = RtlCore(b, lanes=4, weights="ddr", wbuf_rows=need, ddr_latency=20, ddr_bytes_per_cycle=1.0)
    try:
        g, spec = b.golden(), b.input_spec
        words = P.pack_frames(g["input"][0], spec["bits"])
        core.run(words, spec["steps"], stop_after_in=len(words) // 2)
        assert 0 < core.ddr_bytes_read < core.ddr.bytes_per_inference      # a load was under way
        core.reset()
        read = core.ddr_bytes_read
        rtl_check_bitexact(core, samples=1)
        assert core.ddr_bytes_read - read == core.ddr.bytes_per_inference and core.ddr_beats_refused == 0
    finally:
        core.close()


def test_ddr_bandwidth_is_the_rate_asked(bundles):
    """The token bucket delivers the bytes per cycle asked, not less (a fraction of a beat per cycle is kept):
    at 3 bytes per cycle (4-byte beats, 3/4 beat per cycle) a load-bound single-buffer run stalls 4/3 x what
    it stalls at one beat per cycle, within a few cycles per load."""
    b = bundles[OR_P4.name]
    need = max(l.rows for l in ddr_weights(lower(b, 4, target=RTL)).layers)
    stall = {}
    for bw in (None, 3.0):
        core = RtlCore(b, lanes=4, weights="ddr", wbuf_rows=need, ddr_bytes_per_cycle=bw)
        try:
            rtl_check_bitexact(core, samples=1)
            stall[bw], nld = core.stall_cycles, len(core.ddr.tile_loads())
        finally:
            core.close()
    assert abs(stall[3.0] - stall[None] * 4 / 3) <= 4 * nld, stall
