"""The placement planner (syna_hw/placement.py), planning from a config (model_export/plan_config.py) and
`syna plan`'s exit codes: fits on chip 0, runs with DDR 3, cannot run 4, bad input 2."""
import dataclasses
import json
import subprocess
import sys

import pytest

import hw_bundles
from model_export.cli import main
from model_export.plan_config import make_setting, plan_setting, suggest, setting_of_bundle, lowered
from syna_contract.boards import BOARDS, get_board
from syna_contract.bundle import load_bundle
from syna_contract.ddr_image import build_image, parse_image
from syna_hw import placement as pl

NMNIST17 = ["--preset", "nmnist", "--width", "0.25", "--input-size", "17", "--weight-bits", "4"]


@pytest.fixture(scope="module")
def nmnist_bundle(tmp_path_factory):
    """N-MNIST 2x17x17, width 0.25, 4-bit, T = 10 (tests/hw_bundles.py): exactly the NMNIST17 config."""
    return load_bundle(hw_bundles.export("nmnist", tmp_path_factory.mktemp("plan") / "nmnist"))


def _plan(argv, capsys, tmp_path):
    out = tmp_path / "plan.json"
    rc = main(["plan", *argv, "--json", str(out)])
    text = capsys.readouterr().out
    return rc, text, (json.loads(out.read_text()) if out.exists() else None)


# ---------------------------------------------------------------------------- exit codes
def test_exit_code_fits_on_chip(capsys, tmp_path):
    rc, text, d = _plan(["--preset", "mnist", "--width", "0.25", "--input-size", "8", "--steps", "4", "--board",
                         "zcu104"], capsys, tmp_path)
    assert rc == 0 and d["verdict"] == pl.ON_CHIP and d["ddr_bytes_per_inference"] == 0
    assert "fits on chip (exit code 0)" in text and d["stall_cycles"] == 0 and d["inferences_per_s"] > 0


def test_exit_code_runs_with_ddr(capsys, tmp_path):
    rc, text, d = _plan(NMNIST17 + ["--board", "pynq-z2"], capsys, tmp_path)
    assert rc == 3 and d["verdict"] == pl.WITH_DDR
    assert pl.DDR_NOT_BUILT in text and d["ddr_note"] == pl.DDR_NOT_BUILT
    assert d["ddr_weights"] and d["ddr_bytes_per_inference"] > 0
    assert d["bram36"] <= get_board("pynq-z2").budget("bram36") < d["chip_plan"]["totals"]["bram36"]
    assert d["cycles"] == d["compute_cycles"] + d["stall_cycles"]
    assert d["latency_s"] == pytest.approx(d["cycles"] / 100e6)


def test_exit_code_cannot_run(capsys, tmp_path):
    # 128x128 at P = 64: the accumulators of one lane group of the stem (64x64 x 64 lanes x 32 bit) alone
    # exceed the PYNQ-Z2's BRAM budget, whatever goes to DDR
    rc, text, d = _plan(["--net", "dvs_gesture", "--lanes", "64", "--board", "pynq-z2", "--no-suggest"],
                        capsys, tmp_path)
    assert rc == 4 and d["verdict"] == pl.CANNOT and not d["runs"] and d["inferences_per_s"] is None
    assert "cannot run (exit code 4)" in text and "the largest part, the accumulators of one tile of 'stem'" in text


def test_exit_code_bad_input(capsys, tmp_path, nmnist_bundle):
    assert main(["plan", str(nmnist_bundle.root), "--width", "0.5"]) == 2          # bundle and config
    assert main(["plan", "--preset", "nmnist", "--input-size", "13"]) == 2        # 34x34 does not pool to 13
    assert "13" in capsys.readouterr().err
    assert main(["plan", "--preset", "nmnist", "--rate", "1.5"]) == 2
    assert main(["plan"]) == 2


def test_plan_config_imports_no_torch():
    code = ("import sys; from model_export.cli import main; rc = main(['plan', '--preset', 'nmnist', '--width', "
            "'0.25', '--input-size', '17', '--weight-bits', '4', '--no-suggest']); "
            "assert 'torch' not in sys.modules, 'torch imported'; sys.exit(rc)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 3, r.stderr


# ---------------------------------------------------------------------------- config = bundle
def test_config_path_equals_bundle_path(nmnist_bundle):
    by_bundle = pl.place_bundle(nmnist_bundle, "pynq-z2", lanes=16, rate=pl.DEFAULT_RATE)
    by_config = plan_setting(make_setting(preset="nmnist", width=0.25, input_size=17, weight_bits=4), "pynq-z2", 16)
    for a, b in ((by_bundle.chip, by_config.chip), (by_bundle, by_config)):
        assert [(m.what, m.width, m.depth, m.count, m.bram36, m.uram, m.lut) for m in a.memories] == \
               [(m.what, m.width, m.depth, m.count, m.bram36, m.uram, m.lut) for m in b.memories]
    assert by_bundle.verdict == by_config.verdict == pl.WITH_DDR
    assert by_bundle.choice == by_config.choice
    assert by_bundle.cycles == by_config.cycles and by_bundle.ddr_bytes_per_inference == by_config.ddr_bytes_per_inference
    # the bundle's own setting (its manifest's model config) lowers to the same network
    s = setting_of_bundle(nmnist_bundle)
    assert plan_setting(s, "pynq-z2", 16).cycles == by_bundle.cycles


def test_chip_plan_is_the_existing_plan(nmnist_bundle):
    from syna_hw.plan import plan_bundle
    p = pl.place_bundle(nmnist_bundle, "zcu104", lanes=16)
    old = plan_bundle(nmnist_bundle, "zcu104", lanes=16)
    assert p.verdict == pl.ON_CHIP and old.fits
    assert p.bram36 == old.bram36 and p.uram == old.uram and p.ddr_bytes_per_inference == 0


# ---------------------------------------------------------------------------- DDR bytes = the image = the cores'
@pytest.mark.parametrize("lanes", [16, 64])         # (P = 8 fits on chip since the spike memory is banked)
def test_ddr_bytes_are_the_image_weight_sections(nmnist_bundle, lanes):
    """Weights in DDR as both cores build it: every conv / fc layer's section of the image, read once per
    inference (no attention here), whatever the buffer, plus the weights check's first bytes of the image
    (interface version 3); lowering.ddr_weights' count is the planner's."""
    b = nmnist_bundle
    img = parse_image(build_image(b.manifest, b.params, lanes))
    names = [l["name"] for l in b.manifest["layers"]]
    image = {names[e["layer"]]: e["groups"] * e["w_block_bytes"] for e in img.entries}
    hw = lowered(setting_of_bundle(b), lanes)
    assert pl.ddr_weight_bytes(hw) == image
    p = pl.place_bundle(b, "pynq-z2", lanes=lanes)
    assert p.verdict == pl.WITH_DDR and p.choice.built and p.choice.wbuf_rows == p.ddr.wbuf_rows
    assert set(p.to_dict()["ddr_weights"]) == set(image)
    check = max(128, img.header["row_bytes"])                  # the weights check (docs/core-interface.md)
    assert p.ddr_bytes_per_inference == p.ddr.bytes_per_inference == sum(image.values()) + check
    assert p.ddr_stored_bytes == sum(image.values())
    for n, d in pl.ddr_plans(hw).items():          # every buffer the search tries reads the same bytes
        costs, stored = pl._costs(hw, pl.model_cycles(hw, *pl.modelled_spikes(hw, 0.1), d), pl.Choice(n), get_board(
            "pynq-z2"), 100.0, d)
        assert sum(c.ddr_bytes for c in costs) == stored == sum(image.values())


def _unlimited(board):
    """The board with a DDR that answers one beat per cycle, as the cores' simulation harnesses do."""
    return dataclasses.replace(get_board(board), hp_bits=4096, hp_max_mhz=1e6, ddr_efficiency=1.0)


def test_single_buffer_cycles_are_the_cores_cycle_model(nmnist_bundle):
    """Single buffer, a DDR as fast as the read port: the planner's cycles are the HLS core's cycle model with
    the DDR tiling (the C-sim's count, tests/test_hls_ddr.py) exactly, per layer; each extra tile re-scans the
    input; at the board's bandwidth the loads take longer and are all stall."""
    b = nmnist_bundle
    hw = lowered(setting_of_bundle(b), 16)                  # 8-byte image rows: more than PYNQ-Z2's DDR per cycle
    plans = pl.ddr_plans(hw)
    small = min(plans)
    x, maps = pl.modelled_spikes(hw, 0.1)
    cyc = pl.model_cycles(hw, x, maps, plans[small])
    p = pl.place(hw, _unlimited("pynq-z2"), 100.0, rate=0.1, wbuf_rows=small)
    assert p.choice == pl.Choice(small) and p.cycles == cyc.cycles
    costs = {c.name: c for c in p.costs}
    for name, c in costs.items():
        assert c.compute + c.rescan + c.stall == cyc.layers[name]
    main1 = plans[small].layer("b2.main1")
    assert main1.tiles == costs["b2.main1"].tiles > 1
    assert costs["b2.main1"].rescan == (main1.tiles - 1) * cyc.scans["b2.main1"] > 0
    assert costs["b2.merge"].tiles == 1 and costs["b2.merge"].rescan == 0
    assert costs["b2.main1"].stall == main1.groups * main1.w_block_bytes // plans[small].row_bytes
    slow = pl.place(hw, "pynq-z2", 100.0, rate=0.1, wbuf_rows=small)      # 5.6 bytes a cycle < a row
    assert slow.compute_cycles == p.compute_cycles and slow.stall_cycles > p.stall_cycles
    assert slow.costs[0].memory == pytest.approx(max(plans[small].layers[0].groups * plans[small].layers[0].w_block_bytes
                                                     / get_board("pynq-z2").ddr_bytes_per_cycle(100.0),
                                                     plans[small].layers[0].groups * plans[small].layers[0].w_block_bytes
                                                     // plans[small].row_bytes))


def test_double_buffer_hides_later_loads(nmnist_bundle):
    """buffers=2 (modelled, not built): the buffer memory doubles, the compute is the same, a layer's first
    load still stalls and later loads hide behind the previous tile's compute, so the stall shrinks; the
    plan says it is not built."""
    hw = lowered(setting_of_bundle(nmnist_bundle), 4)
    small = min(pl.ddr_plans(hw))
    one = pl.place(hw, "pynq-z2", rate=0.1, wbuf_rows=small)
    two = pl.place(hw, "pynq-z2", rate=0.1, wbuf_rows=small, buffers=pl.DOUBLE)
    assert two.compute_cycles == one.compute_cycles and 0 < two.stall_cycles < one.stall_cycles
    buf = lambda p: next(m for m in p.memories if m.what == "weight buffer")
    assert buf(one).count == 1 and buf(two).count == 2 and buf(two).depth == buf(one).depth == small
    for c1, c2 in zip(one.costs, two.costs):
        assert c2.stall <= c1.stall
        if c1.loads == 1:
            assert c2.stall == c1.stall                        # one load: nothing to overlap
    assert one.choice.built and two.choice.built                 # the RTL twin builds both (wbuf single/double)
    assert any("what the RTL twin builds" in r and "the HLS core has one buffer" in r for r in two.reasons)
    with pytest.raises(ValueError, match="weight buffers 3"):
        pl.place(hw, "pynq-z2", buffers=3)


def test_cli_weight_buffers(capsys, tmp_path):
    """`syna plan --weight-buffers 2` plans the double buffer and says so; the default is the built single one."""
    rc1, text1, d1 = _plan(NMNIST17 + ["--board", "pynq-z2", "--no-suggest"], capsys, tmp_path)
    rc2, text2, d2 = _plan(NMNIST17 + ["--board", "pynq-z2", "--no-suggest", "--weight-buffers", "2"], capsys, tmp_path)
    assert rc1 == rc2 == 3 and d1["weight_buffers"] == 1 and d2["weight_buffers"] == 2 and d2["double_buffer"]
    assert d1["built"] and d2["built"] and d2["stall_cycles"] <= d1["stall_cycles"]
    assert pl.BUFFER_SCHEMES[pl.SINGLE] in text1 and pl.BUFFER_SCHEMES[pl.DOUBLE] in text2
    with pytest.raises(SystemExit):
        main(["plan", *NMNIST17, "--weight-buffers", "3"])


# ---------------------------------------------------------------------------- bandwidth from the board table
def test_bandwidth_comes_from_the_board_table(nmnist_bundle):
    for b in BOARDS.values():
        assert b.ddr_bytes_per_s() == b.hp_bits / 8 * min(b.clock_mhz, b.hp_max_mhz) * 1e6 * b.ddr_efficiency
        assert 0 < b.ddr_efficiency <= 1
    z2 = get_board("pynq-z2")
    assert z2.hp_bits == 64 and get_board("zcu104").hp_bits == 128
    assert z2.ddr_bytes_per_cycle(300.0) == pytest.approx(8 * z2.ddr_efficiency * z2.hp_max_mhz / 300)  # port ceiling
    hw = lowered(setting_of_bundle(nmnist_bundle), 16)
    slow = dataclasses.replace(z2, ddr_efficiency=z2.ddr_efficiency / 2)
    a, b = pl.place(hw, z2), pl.place(hw, slow)
    assert a.choice == b.choice
    for x, y in zip(a.costs, b.costs):
        assert y.memory == pytest.approx(2 * x.memory)
        assert x.memory == pytest.approx(x.ddr_bytes / z2.ddr_bytes_per_cycle())


# ---------------------------------------------------------------------------- suggestions
def test_suggestions_fit_when_replanned():
    # 8-bit weights: with 4 (NMNIST17), since the spike memory is banked, only one nearby setting needs DDR
    s = make_setting(preset="nmnist", width=0.25, input_size=17, weight_bits=8)
    sug = suggest(s, "pynq-z2", 16, n=2)
    assert len(sug[pl.ON_CHIP]) == 2 and len(sug[pl.WITH_DDR]) == 2
    for verdict, items in sug.items():
        for x in items:
            again = plan_setting(x.setting, "pynq-z2", x.lanes)
            assert again.verdict == verdict and again.bram36 == x.plan.bram36
            assert again.inferences_per_s == x.plan.inferences_per_s > 0
            assert x.setting.width <= s.width and x.setting.input_size <= s.input_size


def test_cli_prints_suggestions_that_fit(capsys, tmp_path):
    rc, text, d = _plan(NMNIST17 + ["--board", "pynq-z2"], capsys, tmp_path)
    assert rc == 3 and "that fit on chip:" in text
    for row in d["suggestions"][pl.ON_CHIP]:
        argv = row["args"].split() + ["--lanes", str(row["lanes"]), "--board", "pynq-z2", "--no-suggest"]
        assert main(["plan", *argv]) == 0
        capsys.readouterr()


# ---------------------------------------------------------------------------- the topology table
def test_topology_matches_the_model():
    from model_export.model import PRESETS, make_config
    from model_export.topology import PRESETS as TOPOLOGY, config_dict
    assert TOPOLOGY == PRESETS
    for preset in PRESETS:
        knobs = dict(width=0.25, input_size=17, steps=4, merge="AND")
        assert config_dict(preset, **knobs) == make_config(preset, **knobs).to_dict()
        assert config_dict(preset) == make_config(preset).to_dict()


def test_cannot_run_when_ddr_is_too_small(nmnist_bundle):
    hw = lowered(setting_of_bundle(nmnist_bundle), 16)
    z2 = get_board("pynq-z2")
    ok = pl.place(hw, z2)
    assert ok.verdict == pl.WITH_DDR and ok.ddr_stored_bytes > 0
    tiny = dataclasses.replace(z2, ddr_bytes=int(ok.ddr_stored_bytes / pl.DDR_SHARE) - 1)
    p = pl.place(hw, tiny)
    assert p.verdict == pl.CANNOT and p.exit_code == 4 and "DDR" in p.reasons[0]


def test_config_with_attention_equals_its_bundle(tmp_path):
    """--attention lays the network out as the exporter does (MA / IA placement, MLP widths): the SynA-C
    digits bundle of tests/hw_bundles.py and its config plan the same memories and cycles."""
    b = load_bundle(hw_bundles.export("synac", tmp_path / "synac"))
    s = make_setting(preset="mnist", width=0.25, input_size=8, steps=4, weight_bits=8, attention="C")
    by_config, by_bundle = plan_setting(s, "pynq-z2", 16), pl.place_bundle(b, "pynq-z2", lanes=16, rate=0.1)
    assert any(m.what == "attention weights" for m in by_config.chip.memories)
    assert [(m.what, m.width, m.depth, m.count, m.bram36) for m in by_config.chip.memories] == \
           [(m.what, m.width, m.depth, m.count, m.bram36) for m in by_bundle.chip.memories]
    assert by_config.verdict == by_bundle.verdict and by_config.cycles == by_bundle.cycles


def test_bundle_cycles_are_the_cycle_model_on_its_golden_samples(nmnist_bundle):
    """Without --rate a bundle's speed comes from its golden spike maps: per layer, the mean over the samples of
    the HLS core's cycle model (which tests/test_hls.py checks equal to the C-sim's count)."""
    from syna_hw.cycles import cycle_model
    b = nmnist_bundle
    g = b.golden()
    spiking = [l["name"] for l in b.layers if l["kind"] != "fc"]
    reps = [cycle_model(b.layers, b.input_spec, g["input"][i], {n: g[f"spikes/{n}"][i] for n in spiking}, 16,
                        b.numerics) for i in range(len(g["input"]))]
    assert len(reps) >= 2
    p = pl.place_bundle(b, "zcu104", lanes=16)
    assert p.verdict == pl.ON_CHIP and p.rate is None and p.samples == len(reps)
    for c in p.costs:
        assert c.compute == round(sum(r.layers[c.name] for r in reps) / len(reps))
    assert "the mean over 2 recorded sample(s)" in p.table()
    assert pl.place_bundle(b, "zcu104", lanes=16, rate=0.3).rate == 0.3


# ----------------------------------------------------------------------------- the weight buffer's RAM
@pytest.mark.parametrize("buffers", [pl.SINGLE, pl.DOUBLE])
def test_paper_dvs_gesture_fits_zcu104_at_p64_as_built_with_the_buffer_in_block_ram(buffers):
    """Issue 16's ZCU104 target: the paper DVS Gesture ResNet21 (2x128x128, T = 16) at P = 64 fits as the
    RTL twin builds it (weights in DDR, nothing spilled, a whole layer's accumulators) only with the weight
    buffer in block RAM: left to synthesis it is UltraRAM, and the UltraRAM (spike maps, accumulators,
    membranes) is then over the 80 % budget. The plan says so and prints the build line."""
    from syna_hw.memmap import map_memory
    b = get_board("zcu104")
    p = plan_setting(make_setting(net="dvs_gesture"), "zcu104", lanes=64, buffers=buffers)
    c = p.choice
    assert p.verdict == pl.WITH_DDR and c.built and c.wbuf_ram == "block", (c, p.table())
    assert p.bram36 <= b.budget("bram36") and p.uram <= b.budget("uram")
    wb = next(m for m in p.memories if m.what == "weight buffer")
    assert wb.uram == 0 and wb.bram36 > 0
    auto = map_memory(wb.width, wb.depth, b.synth_family, uram=True)
    assert auto.uram > 0 and p.uram + auto.uram * wb.count > b.budget("uram")    # "auto" would not fit
    cmd = p.rtl_build_command()
    assert cmd.startswith("make bitstream BOARD=zcu104 IMPL=rtl WEIGHTS=ddr") and "LANES=64" in cmd
    assert f"WBUF_ROWS={c.wbuf_rows}" in cmd and "WBUF_RAM=block" in cmd and ("WBUF=double" in cmd) == (buffers == 2)
    assert "weight buffer in block RAM only" in p.table() and p.to_dict()["wbuf_ram"] == "block"


def test_block_ram_is_chosen_only_when_needed():
    """A plan that fits with the buffer wherever synthesis puts it keeps "auto" (PYNQ-Z2 has no UltraRAM: only
    "auto" there)."""
    p = plan_setting(make_setting(preset="nmnist", width=0.25, input_size=17, weight_bits=4), "pynq-z2", lanes=16)
    assert p.choice.wbuf_rows and p.choice.wbuf_ram == "auto"
    assert "WBUF_RAM" not in (p.rtl_build_command() or "")


def test_placement_counts_the_modelled_logic_luts():
    """A DDR placement's LUTs are its memories' distributed RAM plus the core's modelled logic
    (syna_hw/lutmodel.py for the DDR build; on the PYNQ-Z2 the paper net's maps are in DDR too: the map DMA's
    LUTs count), and the fit counts them: logic alone over the budget does not fit."""
    from syna_hw.lutmodel import logic_luts
    from syna_hw.rtl_config import rtl_arch
    s = make_setting(net="dvs_gesture")
    p = plan_setting(s, "pynq-z2", lanes=16)
    hw = lowered(s, 16)
    assert p.choice.maps_ddr
    want = logic_luts(dict(rtl_arch(hw), WDDR=1, MAPS_DDR=1), "xc7")
    assert want > logic_luts(dict(rtl_arch(hw), WDDR=1), "xc7")
    assert want and p.logic_luts == want and p.luts == p.lutram_luts + want
    d = p.to_dict()
    assert d["luts"] == p.luts and d["logic_luts"] == want
    assert f"{want:,} logic" in p.table()
    b = get_board("pynq-z2")
    assert pl._fits([], b) and not pl._fits([], b, logic=int(b.budget("lut")) + 1)


def test_paper_dvs_gesture_on_pynq_z2_runs_with_its_maps_in_ddr_as_built():
    """Issue 16: the paper DVS Gesture ResNet21 on the PYNQ-Z2 -- weights and spike maps in DDR (syna_hw.spill), a
    placement both cores build, priced as the RTL builds it (its staging, one input frame, the plan ROMs), its DDR
    bytes the weight tiles' plus the scratch traffic, >= 1 inference/s modelled at 100 MHz."""
    from model_export.plan_config import lowered, make_setting
    from syna_hw.cycles import scratch_traffic
    from syna_hw.placement import WITH_DDR, place
    from syna_hw.spill import spill_plan
    hw = lowered(make_setting(net="dvs_gesture"), 16)
    p = place(hw, "pynq-z2")
    c = p.choice
    assert p.verdict == WITH_DDR and c.maps_ddr and c.wbuf_rows and c.acc_rows
    assert p.built_by == "both cores" and p.not_built == ""
    assert p.bram36 <= p.board.budget("bram36") and p.luts <= p.board.budget("lut")
    assert {"spike maps", "input banks", "spill plan", "bands", "accumulators"} <= {m.what for m in p.memories}
    acc = next(m for m in p.memories if m.what == "accumulators")
    assert acc.depth == c.acc_rows
    sp = spill_plan(hw, c.wbuf_rows, c.acc_rows)
    rd, wr = scratch_traffic(hw, sp)
    assert p.ddr_bytes_per_inference == sp.ddr.bytes_per_inference + sum(rd.values()) + sum(wr.values())
    assert f"MAPS=ddr ACC_ROWS={c.acc_rows}" in p.rtl_build_command()
    assert p.inferences_per_s >= 1.0
    d = p.to_dict()
    assert d["maps_ddr"] and d["scratch_bytes"] == sp.scratch_bytes and d["built_by"] == "both cores"
    # the ZCU104 keeps its maps on chip (weights in DDR suffice there)
    z = place(hw, "zcu104")
    assert z.verdict == WITH_DDR and not z.choice.maps_ddr and z.built_by == "both cores"
