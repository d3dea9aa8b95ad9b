"""The hardware lowering (syna_hw/lowering.py) and what the generators and the planner make of it.

- The HLS header and the RTL configuration/ROMs are byte-identical to those generated before the
  lowering existed (main at 5b03c53, interface version 2), on the demo, SynA-C and N-MNIST bundles (tests/hw_bundles.py)
  at P = 16 and P = 4: the sha256 of every file is pinned below. The RTL's syna_cfg.vh gained the
  attention gate constants (SYNA_GATE_FRAC_BITS, SYNA_SIG_HALF, SYNA_IA_THETA, as the HLS header has
  them); with those four lines taken out it is byte-identical too. The bundle path in syna_cfg.vh's comment is replaced by "<bundle>".
  Interface version 3 (STATUS bit 5 ``weights``, for DDR cores) changed the on-chip files in exactly the
  lines INTERFACE_V3 lists: the version number, the new STATUS bit's constant and STATUS_ERRORS; with
  those put back as version 2 had them, they are byte-identical.
  The RTL spike memory banked by map width (rtl/syna_spkmem.v; docs/rtl.md "Spike memory") changed, on
  purpose, exactly three RTL files of every bundle, pinned anew: syna_cfg.vh (SD is a bank's depth;
  SB, SPAW, SKW added; SAW the logical address bits), syna_schedule.mem (the fields kin / kout, and
  ina / inb / out at the maps' logical bases) and rtl_layout.json (the same); the HLS header and
  every other ROM are still the files of 5b03c53.
"""
from __future__ import annotations

import ast
import copy
import hashlib
import re
import shutil
from pathlib import Path

import pytest

import hw_bundles
from syna_contract.boards import BOARDS, get_board
from syna_contract.bundle import Bundle, load_bundle
from syna_hw import hls_core, rtl_core
from syna_hw.plan import plan_bundle

REPO = Path(__file__).resolve().parents[1]

# sha256 of the generated files (main at 5b03c53, before the lowering; the three spike-memory files at the
# banked spike memory), per bundle and lanes
EXPECTED = {
    "demo": dict(model_hash="8b07bb9c3b89e4e90922ff8320bc01f3d1b815dbedbc5fa12ad52ffbb64d4259", files={
        "p16/syna_model.h": "ba867e6b6f32b611938d7faa2364bf9b929ef018424cf4345d4889b17efbc587",
        "p16/rtl_layout.json": "8ff08eac0aa99e73f840baaa899e60a54fe3194845a2a8b343f8077ce247959f",
        "p16/syna_att.mem": "ec5d30c47f10943276ee90da3e5c5bb3554bec0ea568c1a20791ffc0e57db9f5",
        "p16/syna_attw.mem": "24a73f8f20732cdf18d180f2ce7ee3dbe982791bf19710a85330c93cecdee80c",
        "p16/syna_bt.mem": "96f5f43c616eae79962748d8d61d3162a56668ab0404bcdd6e0aa543b8f276d5",
        "p16/syna_cfg.vh": "83ee9fdad4f2427258af42b2dca88bf4c91be10ab176a06151b9a449c2ea6624",
        "p16/syna_hash.mem": "59b80fd32bb0da0d02ca56b88448fb555cdb3ffe1bd7962a12cbdfd69021eba4",
        "p16/syna_schedule.mem": "1bd58817419ca32ff4d9890a39b69e50c2236aef0e9c3964e31843f15b268712",
        "p16/syna_sigmoid.mem": "d5906c42f74fec6e0ee077d3430531844560d08fcbdad1a5ea293785770744c9",
        "p16/syna_weights.mem": "08dbbe38a6a4b3fe77d12653a5d0ca8ad7eb03f13fd9f4ce0d181202e5fe2ad4",
        "p4/syna_model.h": "6f1dc78e63818f42d54e3065ebe6852c1f60cc239529c10e805bc38fb670fecb",
        "p4/rtl_layout.json": "fd434d587ebcb64cae978b563d67722c0c52ab88ef77c0d7540789c69c66843a",
        "p4/syna_att.mem": "ec5d30c47f10943276ee90da3e5c5bb3554bec0ea568c1a20791ffc0e57db9f5",
        "p4/syna_attw.mem": "24a73f8f20732cdf18d180f2ce7ee3dbe982791bf19710a85330c93cecdee80c",
        "p4/syna_bt.mem": "b2acbb9690a205a1d37c10052cda6de464a3500a955b072e037a682eac038f33",
        "p4/syna_cfg.vh": "4906bac1013c5fd83aaedfb2646fb4f795dc14999d0a96ba4e20ff30830c1429",
        "p4/syna_hash.mem": "59b80fd32bb0da0d02ca56b88448fb555cdb3ffe1bd7962a12cbdfd69021eba4",
        "p4/syna_schedule.mem": "d9ff0bad2206744d82f057f569567e96a9f27df82640cf33e461c21d579a2b0e",
        "p4/syna_sigmoid.mem": "d5906c42f74fec6e0ee077d3430531844560d08fcbdad1a5ea293785770744c9",
        "p4/syna_weights.mem": "c2ba88c561c350fd71dbe06b5acc4e6a5dad73ce493352a77a38c927e6f16951",
    }),
    "synac": dict(model_hash="ea6829f659c256e46495840cbe368616a3cadbcaf85f9d926655167572692702", files={
        "p16/syna_model.h": "29ea0233077e7c01ef528bb9e51637d3a01278acc0a9f70e426c130942409f2e",
        "p16/rtl_layout.json": "f00faaf0aee194ffec174a15582c34a8cf39596c878b8f7791c271127c33cca1",
        "p16/syna_att.mem": "c7b3922ab8db4e156bf4959f890a96ea1e0d3bcc03af329c0a1f8c5f61fea2ec",
        "p16/syna_attw.mem": "b8718f9027fe9852e801953bcce9aedfe84cd2da09804d6add86c8ef13aa59d8",
        "p16/syna_bt.mem": "fe3d0678f82bde9e9a53007ba0cac73db1dadf091e235c71770661e196fa880c",
        "p16/syna_cfg.vh": "e6295d3c95bd38f680addb5b498ec421f731b179bc222a974f4a814c98d4b6f7",
        "p16/syna_hash.mem": "eb8a894fe2afdd10dd05d49cfe00d685bcbfd84cfc4371afea05419c04e5f65a",
        "p16/syna_schedule.mem": "57c1e13068aff15df7e6bb0f943078afd35c3836c2ec8f1c386c989ac78b3419",
        "p16/syna_sigmoid.mem": "d5906c42f74fec6e0ee077d3430531844560d08fcbdad1a5ea293785770744c9",
        "p16/syna_weights.mem": "5f2e8701c743914318c21ad22868029cf51617340437585c715f66dccdc94604",
        "p4/syna_model.h": "7d2ce0e6b63dfe579caa9adca5c5994446557902381c1f0339e0410b386de398",
        "p4/rtl_layout.json": "7f8b187648c0a910538ec1e646abe0754ed610c849cc019fcdc671e10d2faf6a",
        "p4/syna_att.mem": "c7b3922ab8db4e156bf4959f890a96ea1e0d3bcc03af329c0a1f8c5f61fea2ec",
        "p4/syna_attw.mem": "b8718f9027fe9852e801953bcce9aedfe84cd2da09804d6add86c8ef13aa59d8",
        "p4/syna_bt.mem": "6324fe4f3b34510f87a794c674026ba68bee55249fbec5b3e0716d1736b815bd",
        "p4/syna_cfg.vh": "e2f00cd45cd938d30fb1440a0ce356d1e08a3164a60d82b47de07a9b38b531dd",
        "p4/syna_hash.mem": "eb8a894fe2afdd10dd05d49cfe00d685bcbfd84cfc4371afea05419c04e5f65a",
        "p4/syna_schedule.mem": "55109b47ea3a8014dac9ae1fd2fa70e556b92286b6bbba1ee43672256db32e78",
        "p4/syna_sigmoid.mem": "d5906c42f74fec6e0ee077d3430531844560d08fcbdad1a5ea293785770744c9",
        "p4/syna_weights.mem": "8f19d5b02642f2073365acfcaf7cd56f15fc6200648a96251bca7f48e53ee599",
    }),
    "nmnist": dict(model_hash="d58ec5ab7f788da6970d6bad019ef5a4bd52570552c0b9fe63143e6b9a1fb41b", files={
        "p16/syna_model.h": "42cc5bb76f3c77475f29924b44d081beab90ce7bcbfcacaa2b5caa8539dfbbea",
        "p16/rtl_layout.json": "448e8e08a0bfc7a78d37daded51bff5d9470692aa9d63eef59cd2ded4a8ab0c0",
        "p16/syna_att.mem": "ec5d30c47f10943276ee90da3e5c5bb3554bec0ea568c1a20791ffc0e57db9f5",
        "p16/syna_attw.mem": "24a73f8f20732cdf18d180f2ce7ee3dbe982791bf19710a85330c93cecdee80c",
        "p16/syna_bt.mem": "7ee223ab46a0c372e2f938714d406eb8ae1c848e86966dc2bc6329020a098a47",
        "p16/syna_cfg.vh": "3b6c9e3e4e84c3bbfd28ac61b064b0f9db2ec16ee1cd1bd90058db9bacb2faa7",
        "p16/syna_hash.mem": "61260accd4ab4f5adc3370ce8d8d7836e62ef0ed5dc4b48bc6ce6eca7074839d",
        "p16/syna_schedule.mem": "3c6d7f2c1b704fa0fec0111ddc28e0f55fc6b429920bb00bd7d46d173d5ab8fd",
        "p16/syna_sigmoid.mem": "d5906c42f74fec6e0ee077d3430531844560d08fcbdad1a5ea293785770744c9",
        "p16/syna_weights.mem": "3f62519831c2562ff7618d7d213f1ffba002bfdf52196f26a359157c2a216169",
        "p4/syna_model.h": "7241f000589c678324b17576cf885896643211a32cea945974952274658cd77a",
        "p4/rtl_layout.json": "98fa660534e90e1c46a147f97cb2e29451d42748a18c8e8156cd3d17d2fa62a0",
        "p4/syna_att.mem": "ec5d30c47f10943276ee90da3e5c5bb3554bec0ea568c1a20791ffc0e57db9f5",
        "p4/syna_attw.mem": "24a73f8f20732cdf18d180f2ce7ee3dbe982791bf19710a85330c93cecdee80c",
        "p4/syna_bt.mem": "b831c110fcd17f77f4c53adbbb53ad318eee646730de819d9f076bdea14fe74c",
        "p4/syna_cfg.vh": "1f2ef3b3f962d7b57a512411de6bb4be1e05e54b46afde471d42f1b41c28fdf3",
        "p4/syna_hash.mem": "61260accd4ab4f5adc3370ce8d8d7836e62ef0ed5dc4b48bc6ce6eca7074839d",
        "p4/syna_schedule.mem": "b97d3596fdfdd7ae77c3491f42e818fee3c9faacc971a231f6e04d385e8ee130",
        "p4/syna_sigmoid.mem": "d5906c42f74fec6e0ee077d3430531844560d08fcbdad1a5ea293785770744c9",
        "p4/syna_weights.mem": "a23cf45b86a9c3f7311b7336c277f32a2cb28bfc9992e280d6db671a6e433f98",
    }),
}


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    root = tmp_path_factory.mktemp("hw_bundles")
    return {name: load_bundle(hw_bundles.export(name, root / name)) for name in hw_bundles.NAMES}


# the lines syna_cfg.vh gained with the gate constants (the intended change), taken out before hashing
GATE_LINES = ["// Attention gate constants, from syna_contract/numerics.py (docs/numerics.md section 6):"] + [
    f"localparam integer SYNA_{n} = {v};" for n, v in rtl_core.GATE_CONSTANTS.items()]


# interface version 4 -> 2 in the generated on-chip files: each changed line and what version 2 had (None: new;
# version 3 added STATUS weights, version 4 STATUS scratch)
INTERFACE_V3 = {
    "const int INTERFACE_VERSION = 4;": "const int INTERFACE_VERSION = 2;",
    "const uint32_t STATUS_WEIGHTS = 32u;": None,
    "const uint32_t STATUS_SCRATCH = 64u;": None,
    "const uint32_t STATUS_ERRORS = 119u;          // the input errors": "const uint32_t STATUS_ERRORS = 23u;          // the input errors",
    "localparam integer SYNA_VERSION = 4;": "localparam integer SYNA_VERSION = 2;",
    "localparam integer SYNA_STATUS_WEIGHTS = 5;": None,
    "localparam integer SYNA_STATUS_SCRATCH = 6;": None,
}


def _as_v2(text: str, n: int) -> str:
    lines = text.split("\n")
    assert sum(l in INTERFACE_V3 for l in lines) == n, "the version-4 lines are not all there"
    return "\n".join(INTERFACE_V3.get(l, l) for l in lines if INTERFACE_V3.get(l, l) is not None)


def _generated(bundle, lanes: int, out: Path) -> dict[str, str]:
    header = _as_v2(hls_core.header_text(bundle, lanes), 4)
    files = {f"p{lanes}/{hls_core.HEADER_NAME}": hashlib.sha256(header.encode()).hexdigest()}
    rtl_core.generate(bundle, out, lanes=lanes)
    for f in sorted(out.iterdir()):
        data = f.read_bytes().replace(str(bundle.root).encode(), b"<bundle>")
        if f.name == rtl_core.CFG_VH:
            lines = _as_v2(data.decode(), 3).split("\n")
            assert [l for l in lines if l in GATE_LINES] == GATE_LINES, "syna_cfg.vh lacks the gate constants"
            data = "\n".join(l for l in lines if l not in GATE_LINES).encode()
        files[f"p{lanes}/{f.name}"] = hashlib.sha256(data).hexdigest()
    return files


@pytest.mark.parametrize("name", hw_bundles.NAMES)
def test_generated_files_are_byte_identical(bundles, name, tmp_path):
    b = bundles[name]
    want = EXPECTED[name]
    assert b.model_hash == want["model_hash"], "the bundle itself changed (exporter or checkpoint), not the lowering"
    got = {}
    for lanes in (16, 4):
        got.update(_generated(b, lanes, tmp_path / f"rtl{lanes}"))
    assert got == want["files"]


# ----------------------------------------------------------------------------- the planner says what Yosys says
def _yosys() -> str:
    path = shutil.which("yosys")
    assert path, "yosys is not installed: `make rtl-deps` (apt-get install yosys)"
    return path


@pytest.mark.parametrize("name,board", [("demo", "pynq-z2"), ("synac", "pynq-z2"), ("nmnist", "pynq-z2"),
                                        ("nmnist", "zcu104")])
def test_plan_matches_the_yosys_memory_count(bundles, name, board, tmp_path):
    """plan (the HwModel's memories, mapped by syna_hw/memmap.py) vs Yosys' memory_libmap on the RTL
    configured for the bundle at P = 16: BRAM36 within 5 % (they agree exactly here), URAM equal.
    (The full synth_xilinx run gives the same memory cells; docs/rtl.md, 'Resources'.)"""
    _yosys()
    b = bundles[name]
    plan = plan_bundle(b, board, lanes=16)
    rep = rtl_core.synth_estimate(b.root, board, lanes=16, work=tmp_path / "synth", memories_only=True)
    assert rep.bram36 > 0
    assert abs(plan.bram36 - rep.bram36) <= 0.05 * rep.bram36, (plan.table(), rep.cells)
    assert plan.uram == rep.uram, (plan.table(), rep.cells)
    assert plan.lutram_luts == rep.lut, (plan.table(), rep.cells)      # LUTs used as distributed RAM, too
    bd = get_board(board)
    yosys_fits = rep.bram36 <= bd.budget("bram36") and rep.uram <= bd.budget("uram")
    assert plan.fits == yosys_fits


def test_nmnist_plan_counts_the_spike_memory_and_accumulators_as_built(bundles):
    """The issue's case: N-MNIST 2x17x17, width 0.25, 4-bit, P = 16 on PYNQ-Z2 does NOT fit (115.5 BRAM36 of a
    112 budget): the spike memory is 8 banks of 16 bits x 768 words (4.0 BRAM36; 128 bits x 5,780 words, 22.5
    BRAM36, before it was banked by map width: its 16..128-channel maps in classes 3..0), the accumulators
    512 x 289 (7.5)."""
    rep = plan_bundle(bundles["nmnist"], "pynq-z2", lanes=16)
    mem = {m.what: m for m in rep.memories}
    spk = mem["spike maps"]
    assert (spk.width, spk.depth, spk.count, spk.bram36) == (16, 768, 8, 4.0)
    assert (mem["accumulators"].width, mem["accumulators"].depth, mem["accumulators"].bram36) == (512, 289, 7.5)
    assert rep.bram36 == 115.5 and not rep.fits
    # fewer lanes, narrower padded ROM words and accumulators: P is an input of the plan
    assert plan_bundle(bundles["nmnist"], "pynq-z2", lanes=4).bram36 < rep.bram36


# ----------------------------------------------------------------------------- one place for the limits (issue 19 item 3)
def _edited(bundle: Bundle, numerics: dict | None = None, threshold: int | None = None) -> Bundle:
    m = copy.deepcopy(bundle.manifest)
    m["numerics"].update(numerics or {})
    params = {k: dict(v) for k, v in bundle.params.items()}
    if threshold is not None:
        params["f0"]["threshold"] = params["f0"]["threshold"].copy()
        params["f0"]["threshold"][0] = threshold
    return Bundle(bundle.root, m, params)


@pytest.mark.parametrize("edit,words", [
    (dict(numerics=dict(mem_bits=7)), "mem_bits 7"),
    (dict(numerics=dict(mem_bits=40)), "mem_bits 40"),
    (dict(threshold=2 ** 20), "thresholds .* do not fit mem_bits 16"),
])
def test_both_generators_refuse_what_they_cannot_represent(bundles, edit, words, tmp_path):
    """mem_bits outside 8..32, and a threshold of 2^20 at mem_bits 16 (the RTL held it in 16 bits, so
    theta became 0): the HLS header and the RTL configuration are refused alike, from syna_hw/limits.py."""
    b = _edited(bundles["demo"], **edit)
    with pytest.raises(hls_core.HlsUnsupported, match=words):
        hls_core.header_text(b, 16)
    with pytest.raises(rtl_core.RtlUnsupported, match=words):
        rtl_core.generate(b, tmp_path / "rtl", lanes=16)
    assert not (tmp_path / "rtl" / rtl_core.CFG_VH).exists()


def test_the_largest_representable_threshold_is_accepted(bundles, tmp_path):
    b = _edited(bundles["demo"], threshold=2 ** 15 - 1)                  # the largest 16-bit value
    hls_core.header_text(b, 16)
    rtl_core.generate(b, tmp_path / "rtl", lanes=16)


# ----------------------------------------------------------------------------- one home per fact
def _code_constants(tree):
    """Every constant of a module's code: docstrings left out."""
    docs = {id(n.body[0].value) for n in ast.walk(tree)
            if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    return [n for n in ast.walk(tree) if isinstance(n, ast.Constant) and id(n) not in docs]


def test_lane_default_and_board_list_have_one_home():
    """The lane default is syna_hw/limits.py's and the board names are syna_contract/boards.py's: no
    module, bench, Makefile or Tcl script repeats them in its code (docs, docstrings and tests may name
    boards in examples)."""
    pys = [p for d in ("syna_contract", "syna_hw", "host", "model_export", "bench", "sim") for p in (REPO / d).rglob("*.py")]
    defaults = [p for p in pys if re.search(r"^\s*(DEFAULT_LANES|HLS_LANES)\s*=", p.read_text(), re.M)]
    assert defaults == [REPO / "syna_hw" / "limits.py"]
    for p in pys:
        if p.name == "boards.py":
            continue
        tree = ast.parse(p.read_text())
        names = [c.value for c in _code_constants(tree) if isinstance(c.value, str) and c.value.lower() in BOARDS]
        assert not names, f"{p.relative_to(REPO)} names boards {names}; read syna_contract/boards.py instead"
        for f in ast.walk(tree):                     # def f(..., lanes=16) / add_argument("--lanes", default=16)
            if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)):
                args = f.args.args[-len(f.args.defaults):] if f.args.defaults else []
                pairs = list(zip(args, f.args.defaults)) + list(zip(f.args.kwonlyargs, f.args.kw_defaults))
                bad = [a.arg for a, d in pairs if a.arg == "lanes" and isinstance(d, ast.Constant)
                       and isinstance(d.value, int)]                 # lanes=None ("take it from elsewhere") is fine
                assert not bad, f"{p.relative_to(REPO)}: {f.name}(lanes=<number>); use syna_hw.limits.DEFAULT_LANES"
            if isinstance(f, ast.Call) and f.args and isinstance(f.args[0], ast.Constant) and f.args[0].value == "--lanes":
                d = [k.value for k in f.keywords if k.arg == "default"]
                assert not any(isinstance(v, ast.Constant) and isinstance(v.value, int) for v in d), \
                    f"{p.relative_to(REPO)}: --lanes default"
    for p in [REPO / "Makefile", *(REPO / "hls").rglob("*.mk"), *(REPO / "rtl").rglob("*.mk"), *(REPO / "host").rglob("*.mk"),
              *(REPO / "hls").rglob("*.tcl")]:
        code = "\n".join(l.split("#")[0] for l in p.read_text().splitlines())      # comments may name boards
        assert not re.search(r"LANES\s*\?=\s*\d", code), f"{p} repeats a lane default"
        names = [n for n in BOARDS if n in code.lower()]
        assert not names, f"{p.relative_to(REPO)} names boards {names}; read syna_contract/boards.py instead"


# ----------------------------------------------------------------------------- the RTL's banked spike memory
@pytest.mark.parametrize("net", ["dvs_gesture", "cifar10_dvs", "mnist"])
def test_paper_spike_memory_is_about_the_live_maps(net):
    """The RTL's spike memory (B banks, a map of class k in bank groups of CMAX/2^k bits; docs/rtl.md "Spike
    memory") holds at most 1.3x the bits of the live maps at the peak layer. Before it was banked every map
    took CMAX bits per position: the paper DVS Gesture ResNet21 (T = 16, 128x128; the 64-channel stem map at
    65,536 positions) needed 512 x 81,920 = 40 Mbit for 5 Mbit of live maps, 8x."""
    from model_export.paper_nets import paper_config, paper_input_spec
    from syna_contract.graph import build_graph
    from syna_contract.layers import as_layers
    from syna_hw.lowering import allocate_spike_maps
    cfg = paper_config(net)
    layers = as_layers(build_graph(cfg))
    maps = allocate_spike_maps(layers, paper_input_spec(net, cfg)["steps"])
    widths = {l.out_shape[0] for l in layers if l.spiking}
    assert (maps.banks, maps.width, min(widths)) == (8, 512, 64)
    assert {p.k for p in maps.place.values()} == {0, 1, 2, 3}                 # 512, 256, 128, 64 channels
    assert maps.rtl_bits <= 1.3 * maps.peak_bits, (maps.rtl_bits, maps.peak_bits)
    if net == "dvs_gesture":
        assert (maps.depth, maps.rtl_bits, maps.peak_bits) == (10_240, 5 << 20, 5 << 20)
        assert maps.logical_depth == 81_920                                    # the core's address range
