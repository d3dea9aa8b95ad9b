"""Spike maps in DDR (syna_hw/spill.py): the scratch buffer's layout and the tiling that bounds the
accumulators, on the paper DVS Gesture ResNet21's layer graph and small ones: regions aligned and disjoint,
bands covering every output row, the input rows a band reads the tightest range its taps reach, the refusals."""
import pytest

from model_export.plan_config import lowered, make_setting
from syna_contract import protocol
from syna_hw.limits import Unsupported
from syna_hw.spill import INPUT, REGION_ALIGN, check_maps_mode, scratch_error, spill_plan


@pytest.fixture(scope="module")
def paper():
    return lowered(make_setting(net="dvs_gesture"), 16)


def test_regions_aligned_disjoint_and_sized(paper):
    sp = spill_plan(paper, acc_rows=2048)
    regions = sorted(sp.maps.values(), key=lambda m: m.offset)
    assert regions[0].name == INPUT and [m.name for m in regions[1:]] == [l.name for l in paper.layers]
    for a, b in zip(regions, regions[1:]):
        assert a.offset % REGION_ALIGN == 0 and a.offset + a.nbytes <= b.offset
    assert sp.scratch_bytes >= regions[-1].offset + regions[-1].nbytes and sp.scratch_bytes % REGION_ALIGN == 0
    spec = paper.input_spec
    wpf = protocol.words_per_frame(spec["channels"], spec["height"], spec["width"], spec["bits"])
    assert sp.maps[INPUT].step_bytes == 4 * wpf and sp.maps[INPUT].steps == paper.steps
    for l in paper.layers:
        m = sp.maps[l.name]
        assert m.pos_words == -(-l.cout // 32) and m.step_bytes == 4 * m.pos_words * l.hout * l.wout


def _taps_rows(hin, k, s, p, oy):
    return {oy * s - p + ky for ky in range(k) if 0 <= oy * s - p + ky < hin}


@pytest.mark.parametrize("acc_rows", [None, 4096, 2048, 700, 64])
def test_bands_bound_the_accumulators_and_read_just_their_rows(paper, acc_rows):
    sp = spill_plan(paper, acc_rows=acc_rows)
    for l in paper.convs:
        sl = sp.layers[l.name]
        assert sl.tile_groups == sp.ddr.layer(l.name).tile_groups
        bands = sl.bands()
        assert [y for y0, ny in bands for y in range(y0, y0 + ny)] == list(range(l.hout))
        assert sl.acc_rows <= sp.acc_rows
        if acc_rows is not None:
            assert sl.acc_rows <= acc_rows
        hin = paper.input_spec["height"] if l.encoder else l.hin
        for y0, ny in bands:
            want = set().union(*(_taps_rows(hin, l.k, l.s, l.p, oy) for oy in range(y0, y0 + ny)))
            iy0, iy1 = sp.input_rows(l.name, y0, ny)
            assert (iy0, iy1) == (min(want), max(want) + 1), (l.name, y0, ny)   # the tightest range
    if acc_rows is None:                   # the default: whole-layer bands, the weight buffer's tiling
        assert all(len(sl.bands()) == 1 for sl in sp.layers.values())


def test_paper_net_on_pynq_z2_acc_rows(paper):
    """acc_rows 2048 (the PYNQ-Z2 plan): the stem runs in 8 bands of 8 rows, its weights in one tile."""
    sp = spill_plan(paper, acc_rows=2048)
    stem = sp.layers["stem"]
    assert (stem.tile_groups, stem.band_rows, len(stem.bands())) == (4, 8, 8)
    assert sp.acc_rows == 2048 and sp.input_rows("stem", 8, 8) == (13, 34)


def test_small_acc_rows_split_the_encoder_into_weight_tiles(paper):
    sp = spill_plan(paper, acc_rows=100)                 # < 2 x 64: one group per tile on the stem
    assert sp.ddr.layer("stem").tile_groups == 1 and sp.ddr.layer("stem").tiles == 4
    assert sp.layers["stem"].band_rows == 1


def test_refusals(paper):
    with pytest.raises(Unsupported, match="acc_rows 63: one output row of one lane group of layer stem needs 64"):
        spill_plan(paper, acc_rows=63)
    with pytest.raises(Unsupported, match="acc_rows 0"):
        spill_plan(paper, acc_rows=0)
    with pytest.raises(Unsupported, match="needs weights='ddr'"):
        check_maps_mode("ddr", "rom", paper.target)
    with pytest.raises(Unsupported, match="expected one of"):
        check_maps_mode("sram", "ddr", paper.target)
    att = lowered(make_setting(net="dvs_gesture", attention="T"), 16)
    with pytest.raises(Unsupported, match="attention with the spike maps in DDR"):
        spill_plan(att)


def test_scratch_base_checks(paper):
    sp = spill_plan(paper, acc_rows=2048)
    assert scratch_error(0x2000_0000, sp) is None
    assert "not set" in scratch_error(0, sp)
    assert "multiple of 4096" in scratch_error(0x2000_0040, sp)
    assert "address bits" in scratch_error((1 << protocol.DDR_ADDR_BITS) - 4096, sp)


def test_decode_scratch_reads_the_documented_layout(paper):
    """Random maps written word by word as the layout says (an independent packer), decoded back."""
    import numpy as np
    from syna_hw.spill import decode_scratch, scratch_layout
    rng = np.random.default_rng(0)
    maps, size = scratch_layout(paper)
    assert size == spill_plan(paper, acc_rows=2048).scratch_bytes
    buf = np.zeros(size, np.uint8)
    want = {}
    for l in paper.layers[:6] + paper.layers[-3:]:
        m = maps[l.name]
        s = rng.random((paper.steps, l.cout, l.hout, l.wout)) < 0.1
        want[l.name] = s
        t, c, y, x = np.nonzero(s)
        word = ((t * l.hout + y) * l.wout + x) * m.pos_words + c // 32
        byte = m.offset + 4 * word + (c % 32) // 8                 # little-endian words
        np.bitwise_or.at(buf, byte, (1 << (c % 8)).astype(np.uint8))
    got = decode_scratch(paper, buf)
    for name, s in want.items():
        np.testing.assert_array_equal(got[name], s.astype(np.uint8))
    assert got[INPUT].shape == (paper.steps, maps[INPUT].step_bytes // 4)
    with pytest.raises(ValueError, match="needs"):
        decode_scratch(paper, buf[:-4096])
