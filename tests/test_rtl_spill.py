"""The RTL twin with its spike maps in DDR (``maps="ddr"``, docs/rtl.md "Spike maps in DDR",
syna_hw/spill.py): the input and every spike map live in the scratch buffer the harness keeps at
SCRATCH_BASE; the core stages one step of a band on chip (rtl/syna_mapdma.v moves it over the AXI read
port it shares with the weight loader and the write channels of rtl/syna_axi_wr.v) and runs its conv
tiles in output-row bands. Every spike of every layer (the tap), the scores and counts equal the
golden ones, and after the inference the scratch buffer holds every layer's whole map (decoded with the
spill layout) and the input words as received. The harness checks every AR / AW / WLAST; its DDR
latency and bandwidth change cycles, never spikes. Faults (SCRATCH_BASE 0, misaligned, past the address
bits; a scratch write or read answered SLVERR / DECERR) give STATUS scratch and the error packet, and
the next inference with the scratch set right is bit-exact."""
from __future__ import annotations

import pytest

import numpy as np

from helpers import HwCase
from syna_contract import ddr_image as di
from syna_contract import protocol as P
from syna_contract.bundle import load_bundle
from syna_hw import rtl_config
from syna_hw.limits import RTL
from syna_hw.lowering import lower
from syna_hw.rtl_binding import RtlCore
from syna_hw.spill import INPUT, spill_plan

DVS_P4 = HwCase("dvs-p4", dvs=True, lanes=4, samples=2, seed=3)         # 2x16x16 input, k7 s2 stem, max-pool
OR_P8 = HwCase("or-p8", "OR", lanes=8, samples=2, seed=8)               # SEW blocks (OR merges), 64-bit port
OR_P3 = HwCase("or-p3", "OR", lanes=3, samples=2, seed=3)               # groups that straddle spike words
# and "odd-p8" (_odd_bundle): 7x7 maps, map rows and steps starting mid-beat


def _odd_bundle(out):
    """The digits SEW model at 7x7 input (7x7 maps of 8 channels: one word a position, 13 input words a
    frame): steps, bands and frames that start in the middle of a 64-bit beat."""
    from helpers import DIGITS_SPEC, random_model
    from model_export.export import write_bundle
    from model_export.model import make_config
    from model_export.quant import QuantSettings
    x = np.random.default_rng(7).integers(0, 17, (2, 4, 1, 7, 7))
    cfg = make_config("mnist", width=0.125, input_size=7, steps=4, merge="OR")
    write_bundle(random_model(cfg, x, seed=7), out, QuantSettings(input_scale=1 / 16),
                 dict(DIGITS_SPEC, height=7, width=7), x)
    return out


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    root = tmp_path_factory.mktemp("rtl-spill")
    out = {}
    for c in (DVS_P4, OR_P8, OR_P3, "odd-p8"):
        path = _odd_bundle(root / c) if c == "odd-p8" else c.write(root / c.name)
        di.add_image(load_bundle(path), 8 if c == "odd-p8" else c.lanes)
        out[c if c == "odd-p8" else c.name] = load_bundle(path)
    return out


def check_scratch(core: RtlCore, i: int) -> None:
    """After sample i: every map in the scratch buffer = the golden map (channels >= C zero), and the
    INPUT region = the input words."""
    g, spec = core.bundle.golden(), core.bundle.input_spec
    maps = core.scratch_maps()
    words = np.asarray(P.pack_frames(g["input"][i], spec["bits"]), dtype=np.uint32)
    np.testing.assert_array_equal(maps[INPUT].ravel(), words, err_msg="scratch INPUT region")
    for name in core.layers:
        bad = np.argwhere(maps[name] != g[f"spikes/{name}"][i])
        assert bad.size == 0, f"sample {i} scratch map {name}: {len(bad)} spikes differ, first at [t,c,y,x]={bad[0]}"
    pad = {k: v for k, v in core.scratch_padding().items() if v}
    assert not pad, f"scratch maps with bits set for channels >= C: {pad}"


def _run(b, lanes, samples=2, **kw):
    core = RtlCore(b, lanes=lanes, weights="ddr", maps="ddr", **kw)
    try:
        outs = []
        for i in range(samples):
            outs.append(rtl_check_bitexact_sample(core, b.golden(), i))
            check_scratch(core, i)
        assert core.ddr_beats_refused == 0 and core.ddr_bytes_written > 0 and core.scratch_bytes_read > 0
        # the weights: every tile loaded once per inference, as with the maps on chip (bands run inside a tile)
        assert core.ddr_bytes_read == samples * core.ddr.bytes_per_inference
        return core.spill, outs
    finally:
        core.close()


def rtl_check_bitexact_sample(core, g, i):
    """helpers.rtl_check_bitexact for sample i alone: scores, counts, every spike of the tap, no error."""
    spec = core.bundle.input_spec
    r = core.run(P.pack_frames(g["input"][i], spec["bits"]), spec["steps"])
    assert not r.timed_out, f"sample {i}: the core did not finish"
    o = P.unpack_output(r.out, core.classes, core.layers)
    np.testing.assert_array_equal(o.scores, g["scores"][i], err_msg=f"sample {i}: scores")
    maps = core.spike_maps(r.taps)
    for name in core.layers:
        gm = g[f"spikes/{name}"][i]
        assert o.spike_counts[name] == int(gm.sum()), f"sample {i} layer {name}: spike count"
        bad = np.argwhere(maps[name] != gm)
        assert bad.size == 0, f"sample {i} layer {name}: {len(bad)} spikes differ, first at [t,c,y,x]={bad[0]}"
    assert o.errors == [], f"sample {i}: status {P.decode_status(o.status)}"
    assert abs(o.cycles - r.cycles) <= 4, (o.cycles, r.cycles)
    return o, r


def test_encoder_tiles_bands_pool(bundles):
    """The DVS-like model at acc_rows 8: the encoder (k7 s2, 2 channels of 3-bit counts) in 2 weight tiles
    re-reading INPUT, every conv in one-row bands, the max-pool per step."""
    b = bundles[DVS_P4.name]
    plan = spill_plan(lower(b, 4, target=RTL), None, 8)
    assert plan.ddr.layer("stem").tiles >= 2 and len(plan.layers["stem"].bands()) == 8
    assert plan.bands > 2 * len(plan.layers)
    _run(b, 4, acc_rows=8)


def test_whole_layer_bands_and_merges_64bit_port(bundles):
    """The SEW model at P = 8 (a 64-bit port: two map words a beat, rows starting mid-beat) with the
    default acc_rows (one band per tile), then at acc_rows 16 (bands of 1-2 rows, 2+ tiles): same spikes."""
    b = bundles[OR_P8.name]
    plan, outs = _run(b, 8)
    assert all(len(l.bands()) == 1 for l in plan.layers.values())
    plan16, outs16 = _run(b, 8, acc_rows=16)
    assert max(len(l.bands()) for l in plan16.layers.values()) > 1
    assert outs16[0][0].cycles > outs[0][0].cycles                   # more bands: more re-scans


def test_odd_sizes_start_mid_beat(bundles):
    """7x7 maps and 13-word frames on a 64-bit port at acc_rows 7 (one-row bands): every odd step, band row
    and frame starts in the middle of a beat (the DMA's leading words, the write master's WSTRB)."""
    b = bundles["odd-p8"]
    plan = spill_plan(lower(b, 8, target=RTL), None, 7)
    assert plan.maps["f0"].step_bytes % 8 == 4 and plan.maps[INPUT].step_bytes % 8 == 4
    _run(b, 8, samples=1, acc_rows=7)


def test_groups_straddle_spike_words(bundles):
    """P = 3 (a tile's lanes start inside a spike word: the read-modify-write of the DMA'd output rows)."""
    _run(bundles[OR_P3.name], 3, samples=1, acc_rows=8)


def test_ddr_latency_and_bandwidth_change_cycles_not_spikes(bundles):
    """Idle and back-pressure on the AXI port (the harness's latency and token bucket, shared by reads and
    writes): bit-exact, slower, more stall cycles, no port violation."""
    b = bundles[DVS_P4.name]
    core = RtlCore(b, lanes=4, weights="ddr", maps="ddr", acc_rows=16)
    try:
        o_fast, _ = rtl_check_bitexact_sample(core, b.golden(), 0)
        stall_fast = core.stall_cycles
    finally:
        core.close()
    core = RtlCore(b, lanes=4, weights="ddr", maps="ddr", acc_rows=16, ddr_latency=20, ddr_bytes_per_cycle=0.75)
    try:
        o_slow, _ = rtl_check_bitexact_sample(core, b.golden(), 0)
        check_scratch(core, 0)
        assert o_slow.cycles > o_fast.cycles and core.stall_cycles > stall_fast
    finally:
        core.close()


def _error_packet(r, status):
    assert not r.timed_out
    assert r.out[-1] == status, P.decode_status(int(r.out[-1]))
    assert not r.out[:-3].any(), "an error packet carries no scores or counts"


def test_scratch_base_faults_then_good(bundles):
    """SCRATCH_BASE 0, not 4 KiB-aligned, or the buffer past the port's 49 address bits: STATUS scratch,
    nothing computed, nothing written (the input is received and checked); set right: bit-exact."""
    b = bundles[DVS_P4.name]
    core = RtlCore(b, lanes=4, weights="ddr", maps="ddr", acc_rows=16)
    try:
        g, spec = b.golden(), b.input_spec
        words = P.pack_frames(g["input"][0], spec["bits"])
        top = (1 << P.DDR_ADDR_BITS) - (core.spill.scratch_bytes // 4096) * 4096   # the last base that fits
        for lo, hi in [(0, 0), (core.scratch_base + 0x40, 0), (top & 0xFFFFFFFF, (top >> 32) + 0)]:
            core.reg_write(P.REG_SCRATCH_BASE, lo)
            core.reg_write(P.REG_SCRATCH_BASE + 4, hi)
            assert (core.reg_read(P.REG_SCRATCH_BASE), core.reg_read(P.REG_SCRATCH_BASE + 4)) == (lo, hi)
            if (lo, hi) == (top & 0xFFFFFFFF, top >> 32):
                core.reg_write(P.REG_SCRATCH_BASE, (top + 4096) & 0xFFFFFFFF)    # one page too high
            written = core.ddr_bytes_written
            r = core.run(words, spec["steps"], max_cycles=2_000_000)
            _error_packet(r, P.STATUS_SCRATCH)
            assert core.ddr_bytes_written == written
        # a bad input and a bad base: both flagged
        r = core.run(words[:-1], spec["steps"], max_cycles=2_000_000)
        assert r.out[-1] == P.STATUS_SCRATCH | P.STATUS_FRAME_SHORT
        core.reset()                                                 # programs SCRATCH_BASE again
        rtl_check_bitexact_sample(core, g, 0)
        check_scratch(core, 0)
    finally:
        core.close()


@pytest.mark.parametrize("side,resp,where", [("write", 2, "input"), ("write", 3, "map"), ("read", 2, "map")])
def test_scratch_access_errors_then_good(bundles, side, resp, where):
    """A scratch write (the INPUT region during the receive, or a map's write-back) or a map read answered
    SLVERR / DECERR: STATUS scratch, the inference ends with the error packet; cleared: bit-exact."""
    b = bundles[DVS_P4.name]
    core = RtlCore(b, lanes=4, weights="ddr", maps="ddr", acc_rows=16)
    try:
        g, spec = b.golden(), b.input_spec
        m = core.spill.maps[INPUT if where == "input" else "f1"]
        lo, hi = core.scratch_base + m.offset, core.scratch_base + m.offset + m.nbytes
        (core.ddr_wfault if side == "write" else core.ddr_fault)(lo, hi, resp)
        r = core.run(P.pack_frames(g["input"][0], spec["bits"]), spec["steps"], max_cycles=2_000_000)
        _error_packet(r, P.STATUS_SCRATCH)
        (core.ddr_wfault if side == "write" else core.ddr_fault)(0, 0, 0)
        rtl_check_bitexact_sample(core, g, 1)
        check_scratch(core, 1)
    finally:
        core.close()


def test_generate_and_refusals(bundles, tmp_path):
    """generate(maps="ddr") writes the plan ROMs and the staging's sizes (rtl_config.Staging, the one place);
    maps="ddr" needs weights="ddr"; acc_rows needs maps="ddr"; attention is refused by spill_plan."""
    b = bundles[DVS_P4.name]
    cfg = rtl_config.generate(b, tmp_path / "m", lanes=4, weights="ddr", maps="ddr", acc_rows=8)
    hw = lower(b, 4, target=RTL)
    st = rtl_config.staging(hw, cfg.spill)
    assert cfg.arch["MAPS_DDR"] == 1 and cfg.arch["SD"] == st.depth and cfg.arch["AD"] == 8
    assert cfg.arch["ID"] == b.input_spec["height"] * b.input_spec["width"]
    assert cfg.arch["NBAND"] == sum(len(l.bands()) for l in cfg.spill.layers.values())
    assert (tmp_path / "m" / rtl_config.SPILL_MEM).is_file() and (tmp_path / "m" / rtl_config.BANDS_MEM).is_file()
    chip = rtl_config.generate(b, tmp_path / "c", lanes=4)
    assert st.depth < chip.arch["SD"] and cfg.arch["ID"] < chip.arch["ID"]
    names = {m.name for m in rtl_config.rtl_memories(cfg.arch)}
    assert {"spill plan", "bands"} <= names
    with pytest.raises(Exception, match="needs weights='ddr'"):
        rtl_config.generate(b, tmp_path / "x", lanes=4, maps="ddr")
    with pytest.raises(ValueError, match="add maps='ddr'"):
        rtl_config.generate(b, tmp_path / "x", lanes=4, weights="ddr", acc_rows=8)
    with pytest.raises(Exception, match="acc_rows 4"):
        rtl_config.generate(b, tmp_path / "x", lanes=4, weights="ddr", maps="ddr", acc_rows=4)


def test_cli_make_and_vivado_plumbing(bundles, tmp_path, capsys):
    """`python -m syna_hw.rtl_core generate --maps ddr --acc-rows N` writes the maps-in-DDR configuration and
    `run ... --weights ddr --maps ddr --acc-rows N` runs it bit-exact (the scratch maps too);
    --acc-rows without --maps ddr and --maps ddr without --weights ddr are refused (exit 2, a clear line);
    with --board the Vivado route's board tcl lists the plan ROMs and SCRATCH_BASE(_HI); `make bitstream
    IMPL=rtl MAPS=ddr ACC_ROWS=N` hands them to the generator (make -n: nothing is run)."""
    import json
    import subprocess
    from syna_hw import rtl_core
    b = bundles[DVS_P4.name]
    out = tmp_path / "gen"
    assert rtl_core.main(["generate", str(b.root), "--out", str(out), "--lanes", "4", "--weights", "ddr",
                          "--maps", "ddr", "--acc-rows", "8", "--board", "pynq-z2"]) == 0
    arch = json.loads(capsys.readouterr().out)
    assert arch["MAPS_DDR"] == 1 and arch["AD"] == 8 and arch["AXI_MAX_BURST"] == 16
    assert "`define SYNA_MAPS_DDR 1" in (out / rtl_config.CFG_VH).read_text()
    tcl = (out / "board_pynq-z2.tcl").read_text()
    assert "set syna_maps ddr" in tcl and "{SCRATCH_BASE 0x50} {SCRATCH_BASE_HI 0x54}" in tcl
    assert str(out / rtl_config.SPILL_MEM) in tcl and str(out / rtl_config.BANDS_MEM) in tcl
    for args, msg in [(["--weights", "ddr", "--acc-rows", "8"], "add --maps ddr"),
                      (["--maps", "ddr"], "needs weights='ddr'")]:
        assert rtl_core.main(["generate", str(b.root), "--out", str(tmp_path / "x"), "--lanes", "4", *args]) == 2
        assert msg in capsys.readouterr().err
    assert rtl_core.main(["run", str(b.root), "--lanes", "4", "--samples", "1", "--weights", "ddr", "--maps", "ddr",
                          "--acc-rows", "8"]) == 0
    assert "PASS" in capsys.readouterr().out
    assert rtl_core.main(["run", str(b.root), "--lanes", "4", "--maps", "ddr"]) == 2
    assert "add --weights ddr" in capsys.readouterr().err
    r = subprocess.run(["make", "-n", "-s", "-C", str(rtl_config.REPO), "bitstream", "BOARD=pynq-z2", "IMPL=rtl",
                        "WEIGHTS=ddr", "MAPS=ddr", "ACC_ROWS=2048", "LANES=16", f"BUNDLE={b.root}"],
                       capture_output=True, text=True, timeout=60)
    gen = [line for line in r.stdout.splitlines() if "rtl_core generate" in line]
    assert gen and "--weights ddr" in gen[0] and "--maps ddr --acc-rows 2048" in gen[0], r.stdout[-2000:]


def test_spill_build_arch_is_what_generate_builds(bundles, tmp_path):
    """rtl_config.spill_build_arch (what the planner prices) = the parameters generate writes."""
    b = bundles[OR_P8.name]
    cfg = rtl_config.generate(b, tmp_path / "g", lanes=8, weights="ddr", maps="ddr", acc_rows=16, axi_max_burst=16)
    hw = lower(b, 8, target=RTL)
    assert rtl_config.spill_build_arch(hw, spill_plan(hw, None, 16), axi_max_burst=16) == cfg.arch
