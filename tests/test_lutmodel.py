"""syna_hw/lutmodel.py: the planner's logic-LUT model predicts Yosys runs it was not fitted to, and the
planner adds it to its LUT line. (The runs themselves take minutes each: bench/bench_yosys_paper.py.)"""
from __future__ import annotations

import pytest

from syna_hw import lutmodel
from syna_hw.lutmodel import FIT, HELD_OUT, logic_luts

TOLERANCE = 0.05          # docs/rtl.md "Resources": the held-out runs are within 3.1 %


def _arch(r) -> dict:
    return dict(P=r.lanes, CMAX=r.cmax, WDDR=int(r.ddr), NATT=0, MAPS_DDR=int(r.maps))


@pytest.mark.parametrize("run", HELD_OUT, ids=lambda r: f"{r.what}-{r.family}-P{r.lanes}-{'ddr' if r.ddr else 'rom'}")
def test_model_predicts_the_held_out_yosys_runs(run):
    got = logic_luts(_arch(run), run.family)
    assert abs(got - run.logic_lut) <= TOLERANCE * run.logic_lut, (got, run)


def test_model_is_fitted_to_its_runs_and_grows_with_lanes_and_channels():
    assert len(HELD_OUT) >= 2 and not set(FIT) & set(HELD_OUT)
    for r in FIT:
        assert abs(logic_luts(_arch(r), r.family) - r.logic_lut) <= TOLERANCE * r.logic_lut, r
    c = lutmodel.coefficients()
    assert c["per_lane"] > 0 and c["per_channel"] > 0 and c["ddr"] > 0 and c["maps_ddr"] > 0, c
    paper = dict(P=16, CMAX=512, WDDR=1, NATT=0)
    assert logic_luts(paper, "xc7") < logic_luts(paper, "xcup")          # measured: 18,564 vs 20,802
    base = dict(P=16, CMAX=128, WDDR=0, NATT=0)
    assert logic_luts(dict(base, P=32), "xcup") > logic_luts(base, "xcup")
    assert logic_luts(dict(base, CMAX=256), "xcup") > logic_luts(base, "xcup")
    assert logic_luts(dict(base, WDDR=1), "xcup") > logic_luts(base, "xcup")
    assert logic_luts(dict(base, WDDR=1, MAPS_DDR=1), "xc7") > logic_luts(dict(base, WDDR=1), "xc7")   # the map DMA


def test_no_estimate_where_nothing_was_measured():
    assert logic_luts(dict(P=16, CMAX=128, WDDR=0, NATT=2), "xc7") is None         # attention
    assert logic_luts(dict(P=16, CMAX=128, WDDR=0, NATT=0), "xc6s") is None        # a family never run


def test_plan_counts_logic_in_its_lut_line(tmp_path):
    from helpers import export_demo
    from syna_contract.bundle import load_bundle
    from syna_hw.plan import plan_bundle
    b = load_bundle(export_demo(tmp_path / "bundle", golden=1))
    rep = plan_bundle(b, "pynq-z2", lanes=16)
    assert rep.logic_luts and rep.logic_luts > 1000
    assert rep.usage()["lut"][0] == rep.lutram_luts + rep.logic_luts
    assert f"{rep.logic_luts:,} logic" in rep.table()
    assert rep.to_dict()["totals"]["logic_luts"] == rep.logic_luts
