"""One table of models (tests/helpers.py HW_CASES), every executable backend, the same answer (FINN-style:
one test parametrised over backend x case):

- ``reference``: the numpy integer reference (syna_contract.reference) = golden.npz, the torch fake-quant
  model's vectors: scores, every spike, saturation counts; plus what makes each case worth running (its
  attention changes the spikes, an 8-bit-membrane case saturates, the DVS-like model has a max-pool);
- ``hls``: the HLS core's C++ (g++ C-simulation) = the reference (every spike, scores, counts,
  saturations, the SATURATED status bit, the cycle counter = the cycle model) and = golden; a lane count
  the HLS core does not build (3) is refused with HlsUnsupported naming it;
- ``rtl``: the RTL twin through its Verilator C++ harness = golden on every spike of every layer at every
  step (the simulation tap), scores, counts, status, the CYCLES register, saturation totals; back to back
  without reset;
- ``emulator``: the host's stream-level emulator (host.emulator.CoreEmulator) sends the packet golden
  implies: scores, spike counts, saturations, status.

Needs g++ and the ap_types headers (HLS) and Verilator (RTL): a missing tool fails with its name.
"""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

from helpers import HW_CASES, HwCase, hls_assert_same, rtl_check_bitexact
from syna_contract import protocol as P
from syna_contract.bundle import Bundle, load_bundle
from syna_contract.reference import Reference

BACKENDS = ("reference", "hls", "rtl", "emulator")
_BUNDLES: dict[str, Path] = {}


@pytest.fixture
def case_bundle(tmp_path_factory):
    """The case's bundle, written once per test session (per worker)."""
    def get(case: HwCase) -> Bundle:
        if case.name not in _BUNDLES:
            _BUNDLES[case.name] = case.write(tmp_path_factory.mktemp(f"case-{case.name}") / "bundle")
        return load_bundle(_BUNDLES[case.name])
    return get


def golden_saturations(g) -> int:
    return sum(int(g[k]) for k in g if k.startswith("saturations/"))


def _strip_attention(bundle: Bundle) -> Bundle:
    m = copy.deepcopy(bundle.manifest)
    for l in m["layers"]:
        l.pop("attention", None)
    return Bundle(bundle.root, m, bundle.params)


def check_reference(case: HwCase, bundle: Bundle) -> None:
    g = bundle.golden()
    ref = Reference(bundle).run(g["input"])
    np.testing.assert_array_equal(ref.scores, g["scores"])
    for name, s in ref.spikes.items():
        assert np.array_equal(s, g[f"spikes/{name}"]), name
    assert {k: int(v) for k, v in ref.saturations.items()} == \
        {k[len("saturations/"):]: int(g[k]) for k in g if k.startswith("saturations/")}
    if case.attention:                             # MA on the backbone, IA on the shortcuts, both in the case's dim
        dim = case.attention[0]
        kinds = {(l["attention"]["kind"], l["attention"]["dim"]) for l in bundle.layers if l.get("attention")}
        assert kinds == {("MA", dim), ("IA", dim)}
        plain = Reference(_strip_attention(bundle)).run(g["input"])      # the attention matters on these samples
        assert any(not np.array_equal(plain.spikes[n], g[f"spikes/{n}"]) for n in plain.spikes)
    if case.mem_bits == 8:
        assert golden_saturations(g) > 0, "this case is meant to exercise saturation"
    if case.dvs:
        assert any(l["kind"] == "maxpool_or" for l in bundle.layers)


def check_hls(case: HwCase, bundle: Bundle, build_root: Path) -> None:
    from syna_hw import hls_core as hc
    from syna_hw.limits import HLS
    if case.lanes not in HLS.lanes:
        with pytest.raises(hc.HlsUnsupported, match=f"lanes={case.lanes}"):
            hc.HlsCore(bundle, case.lanes, build_root=build_root).compile()
        return
    g = bundle.golden()
    x = g["input"]
    core = hc.HlsCore(bundle, case.lanes, build_root=build_root).compile()
    res = core.run(x)
    hls_assert_same(res, Reference(bundle).run(x), case.lanes, bundle, x)
    assert np.array_equal(res.scores, g["scores"])
    for name in core.layer_names:
        assert np.array_equal(res.spikes[name], g[f"spikes/{name}"]), name


def check_rtl(case: HwCase, bundle: Bundle) -> None:
    from syna_hw import rtl_core as rc
    core = rc.RtlCore(bundle, lanes=case.lanes)
    try:
        assert core.cfg.arch["NATT"] == len([l for l in bundle.layers if l.get("attention")])
        outs = rtl_check_bitexact(core)
        for o in outs:
            assert bool(o.status & P.STATUS_SATURATED) == (o.saturations > 0)
            assert o.saturations <= 0xFFFFFFFF
        assert sum(o.saturations for o in outs) == golden_saturations(bundle.golden())
        rtl_check_bitexact(core, samples=1)        # back to back, without reset: the same again
    finally:
        core.close()


def check_emulator(case: HwCase, bundle: Bundle) -> None:
    from host.emulator import CoreEmulator
    emu = CoreEmulator(bundle)
    g = bundle.golden()
    spec = bundle.input_spec
    sats = 0
    for i in range(len(g["input"])):
        o = P.unpack_output(emu.transfer(P.pack_frames(g["input"][i], spec["bits"]), spec["steps"]),
                            emu.classes, emu.layers)
        np.testing.assert_array_equal(o.scores, g["scores"][i], err_msg=f"sample {i}")
        assert o.spike_counts == {n: int(g[f"spikes/{n}"][i].sum()) for n in emu.layers}, i
        assert o.errors == [] and bool(o.status & P.STATUS_SATURATED) == (o.saturations > 0), i
        sats += o.saturations
    assert sats == golden_saturations(g)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", HW_CASES, ids=[c.name for c in HW_CASES])
def test_backend_matches_golden(case, backend, case_bundle, tmp_path_factory):
    bundle = case_bundle(case)
    if backend == "reference":
        check_reference(case, bundle)
    elif backend == "hls":
        check_hls(case, bundle, tmp_path_factory.getbasetemp() / "hls_build")
    elif backend == "rtl":
        check_rtl(case, bundle)
    else:
        check_emulator(case, bundle)
