"""``make demo-paper`` (model_export/demo_paper.py) on a narrow, small DVS Gesture ResNet21 (the paper-size run is
the demo itself, about 10 minutes, and tests/test_paper_ddr.py): summary.json carries what issue 16 lists, with
the types it names, and the bit-exact checks really ran (HLS C-sim and RTL twin, weights in DDR)."""
import json

from model_export.demo_paper import main

BOARD_KEYS = {"runs": bool, "lanes": int, "clock_mhz": float, "cycles_per_inference": int, "stall_fraction": float,
              "inferences_per_s": float, "ddr_bytes_per_inference": int, "lut": int, "bram36": float, "uram": int}


def test_demo_paper_summary_has_the_issue_keys(tmp_path, monkeypatch):
    import model_export.demo_paper as dp
    real = dp.run_net
    monkeypatch.setattr(dp, "run_net", lambda net, out, lanes, rtl=True: real(net, out, lanes, rtl,
                                                                              width=0.125, input_size=16, steps=4))
    assert main(["--out", str(tmp_path), "--nets", "dvs_gesture", "--lanes", "4"]) == 0
    s = json.loads((tmp_path / "summary.json").read_text())
    assert s["net"] == "dvs_gesture" and s["bitexact"] == {"hls_csim": True, "rtl_sim": True}
    for board in ("pynq-z2", "zcu104"):
        b = s["boards"][board]
        for key, typ in BOARD_KEYS.items():
            v = b[key]
            ok = isinstance(v, bool) if typ is bool else (
                isinstance(v, (int, float) if typ is float else int) and not isinstance(v, bool))
            assert ok, (board, key, v)
        assert b["runs"] and b["lanes"] == 4 and b["cycles_per_inference"] > 0 and 0 <= b["stall_fraction"] < 1
        assert b["rtl_cycles_per_inference"] == s["rtl_sim"]["cycles_per_inference"] > 0
    assert s["rtl_sim"]["ddr_bytes_per_inference"] > 0
    assert s["networks"]["dvs_gesture"]["bitexact"] == s["bitexact"]
    assert s["commit"] is None or len(s["commit"]) >= 40


def test_a_board_whose_plan_keeps_its_maps_in_ddr_gets_that_build_run(tmp_path):
    """demo_paper.board_build: the plan's maps-in-DDR build (here forced: 1-row bands) through the HLS C-sim and
    the RTL twin with the board's DDR modelled, bit-exact on every spike and on the scratch it leaves."""
    from types import SimpleNamespace

    import model_export.demo_paper as dp
    from model_export.paper_bundles import paper_bundle
    from syna_hw.placement import Choice
    out = tmp_path / "b"
    paper_bundle("dvs_gesture", out, samples=1, ddr_lanes=4, width=0.125, input_size=16, steps=4)
    p = SimpleNamespace(choice=Choice(wbuf_rows=None, acc_rows=8), clock_mhz=100.0)
    seconds = {}
    d = dp.board_build("dvs_gesture", out, 4, "pynq-z2", p, True, seconds)
    assert d["bitexact"] == {"hls_csim": True, "rtl_sim": True} and d["maps"] == "ddr" and d["acc_rows"] == 8
    assert d["rtl_cycles_per_inference"] > 0 and 0 < d["rtl_stall_fraction"] < 1
    assert d["scratch_written_bytes_per_inference"] > 0 and d["scratch_read_bytes_per_inference"] > 0
    assert d["rtl_inferences_per_s"] == 100e6 / d["rtl_cycles_per_inference"]
    assert {"hls_csim_pynq-z2", "rtl_sim_pynq-z2"} <= set(seconds)
