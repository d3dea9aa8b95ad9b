"""Spike maps in DDR (``maps="ddr"``): the scratch buffer's layout and the tiling that bounds the
accumulators -- the one place both cores (HLS C++ and RTL twin) and the planner read it from (issue 16).

A core built with its weights in DDR (:func:`syna_hw.lowering.ddr_weights`) still keeps every spike map
(all T steps: the schedule is layer-major), the input and a whole tile's accumulators and membranes on
chip. For the paper's 128x128 networks on a PYNQ-Z2 those alone exceed the block RAM. With ``maps="ddr"``
the core keeps them in a **scratch buffer** in DDR at the address in its SCRATCH_BASE register
(``protocol.REG_SCRATCH_BASE``, 4096-aligned), laid out here:

- region :data:`INPUT`: the input stream's words as received, ``T x WPF`` 32-bit words (frame t at byte
  ``t * WPF * 4``), little-endian;
- one region per spiking layer (conv / pool / merge) holding its output map, ``T x Ho x Wo x ceil(C/32)``
  32-bit words, word ``((t*Ho + y)*Wo + x)*ceil(C/32) + w``, bit b of word w = channel 32w + b (channels
  >= C are 0), little-endian -- the HLS core's on-chip layout;

each region starting on a 4 KiB boundary, in schedule order (no reuse: DDR is plentiful, and after an
inference the scratch holds every layer's whole map, which the tests compare with the reference).

A conv layer runs in weight tiles of ``tile_groups`` lane groups (the weight buffer and the accumulators
bound it) and each tile in **bands** of ``band_rows`` output rows, so that one band of one tile needs at
most ``acc_rows`` accumulator / membrane words of P lanes::

    for each weight tile (g0 = 0, tg, 2 tg, ...):          # its weights loaded from the DDR image
      for each band (y0, ny):
        accumulators = bias, membranes = 0 (the tile's groups, the band's positions)
        for t in 0 .. T-1:
          scan input map step t, input rows input_rows(y0, ny) only (the encoder: INPUT's frame t)
          accumulate into band row ((oy - y0) * Wo + ox) * tg + g, output rows oy in [y0, y0 + ny) only
          LIF; write the tile's lanes of output map step t at the band's positions (keeping other tiles' lanes)

Pool and merge run per step on whole maps; the fc reads its input map from scratch. Numerics are those
of docs/numerics.md, unchanged. Attention layers are not built with maps in DDR (refused).
numpy only, like the rest of syna_hw.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from syna_contract import protocol

from .lowering import HwModel, DdrWeights, SPIKE_WORD, _fail, ceil_div, ddr_weights

MAPS_MODES = ("chip", "ddr")      # chip: spike maps, input and a whole tile's accumulators on chip; ddr: this module
MAPS_DEFAULT = "chip"
SIM_SCRATCH_BASE = 0x2000_0000    # where the simulations put the scratch buffer (4096-aligned, not 0, above the image)
INPUT = "input"                   # the scratch region of the received input words
REGION_ALIGN = 4096               # every region starts on a 4 KiB page (bursts never cross one: AXI)


@dataclass(frozen=True)
class SpillMap:
    """One region of the scratch buffer: a spiking layer's output map, or :data:`INPUT`."""
    name: str
    offset: int          # bytes from SCRATCH_BASE, a multiple of REGION_ALIGN
    step_bytes: int      # bytes of one time step
    steps: int           # T
    pos_words: int       # 32-bit words per position, ceil(C/32) (INPUT: 0)

    @property
    def nbytes(self) -> int:
        return self.steps * self.step_bytes


@dataclass(frozen=True)
class SpillLayer:
    """A conv layer's tiling with maps in DDR: weight tiles of ``tile_groups`` lane groups, each run in
    bands of ``band_rows`` output rows (``hout``: one band)."""
    name: str
    tile_groups: int
    band_rows: int
    hout: int
    wout: int

    def bands(self) -> list[tuple[int, int]]:
        """``[(y0, ny), ...]``: the bands in the order the cores run them, covering rows 0 .. hout-1."""
        return [(y0, min(self.band_rows, self.hout - y0)) for y0 in range(0, self.hout, self.band_rows)]

    @property
    def acc_rows(self) -> int:
        """Accumulator / membrane words of P lanes one band of one tile uses."""
        return self.band_rows * self.wout * self.tile_groups


@dataclass(frozen=True)
class SpillPlan:
    """Where a maps-in-DDR core keeps its maps, and how it tiles its layers."""
    ddr: DdrWeights                  # the weight tiling (the encoder may have 2+ tiles: it re-reads INPUT)
    maps: dict[str, SpillMap]        # INPUT, then every spiking layer's output map, schedule order
    layers: dict[str, SpillLayer]    # every conv layer, the encoder included
    acc_rows: int                    # the cores' accumulator / membrane depth: the largest SpillLayer.acc_rows
    scratch_bytes: int               # the scratch buffer's size: the end of the last region
    geometry: dict                   # conv name -> (hin, k, s, p) for input_rows

    def input_rows(self, name: str, y0: int, ny: int) -> tuple[int, int]:
        """``[iy0, iy1)``: the input rows (of the layer's input map, or the encoder's frames) that can
        reach output rows ``[y0, y0 + ny)`` of conv ``name``."""
        hin, k, s, p = self.geometry[name]
        return max(0, y0 * s - p), min(hin, (y0 + ny - 1) * s - p + k)

    @property
    def bands(self) -> int:
        """Bands of all conv layers' tiles together (each re-scans its input rows)."""
        return sum(len(l.bands()) * self.ddr.layer(n).tiles for n, l in self.layers.items())


def _align(n: int) -> int:
    return ceil_div(n, REGION_ALIGN) * REGION_ALIGN


def spill_plan(hw: HwModel, wbuf_rows: int | None = None, acc_rows: int | None = None) -> SpillPlan:
    """The maps-in-DDR plan of ``hw``: a weight buffer of ``wbuf_rows`` rows (as
    :func:`~syna_hw.lowering.ddr_weights`) and accumulators / membranes of ``acc_rows`` words of P lanes
    (default: what the weight tiling needs, i.e. whole-layer bands). A tile has ``tg = min(G, wbuf_rows //
    R)`` lane groups, fewer when one output row of ``tg`` groups exceeds ``acc_rows`` (``acc_rows // Wo``,
    at least 1); its bands ``acc_rows // (Wo * tg)`` rows. Refuses (the target's Unsupported error) an
    attention layer, and ``acc_rows`` below one output row of one lane group of some layer."""
    t = hw.target
    for l in hw.convs:
        if l.att >= 0:
            _fail(t, f"layer {l.name}: attention with the spike maps in DDR (maps='ddr') is not built; keep the "
                     "maps on chip (maps='chip') or drop the attention")
    if acc_rows is not None and (isinstance(acc_rows, bool) or not isinstance(acc_rows, int) or acc_rows < 1):
        _fail(t, f"acc_rows {acc_rows!r}; expected a positive number of accumulator words of P lanes")
    need = max(l.wout for l in hw.convs)
    if acc_rows is not None and acc_rows < need:
        widest = max(hw.convs, key=lambda l: l.wout)
        _fail(t, f"acc_rows {acc_rows}: one output row of one lane group of layer {widest.name} needs {need} "
                 f"accumulator words of P lanes (acc_rows >= {need} for this model)")
    base = ddr_weights(hw, wbuf_rows, max_groups={})            # the buffer's own limit, encoder included
    if acc_rows is None:
        acc_rows = max(l.hout * l.wout * base.layer(l.name).tile_groups for l in hw.convs)
    caps = {}
    for l in hw.convs:
        tg = base.layer(l.name).tile_groups
        if tg * l.wout > acc_rows:
            tg = max(1, acc_rows // l.wout)
        caps[l.name] = tg
    ddr = ddr_weights(hw, base.wbuf_rows, max_groups=caps)
    layers = {}
    for l in hw.convs:
        tg = ddr.layer(l.name).tile_groups
        layers[l.name] = SpillLayer(l.name, tg, min(l.hout, acc_rows // (l.wout * tg)), l.hout, l.wout)
    maps, size = scratch_layout(hw)
    spec = hw.input_spec
    geometry = {l.name: ((spec["height"] if l.encoder else l.hin), l.k, l.s, l.p) for l in hw.convs}
    return SpillPlan(ddr, maps, layers, max(x.acc_rows for x in layers.values()), size, geometry)


def scratch_layout(hw: HwModel) -> tuple[dict[str, SpillMap], int]:
    """The scratch buffer's regions (:data:`INPUT`, then every spiking layer's map in schedule order, each on a
    4 KiB page) and its size in bytes. It depends on the model alone (not on P, the buffers or the bands): the
    host sizes the buffer from here."""
    spec = hw.input_spec
    wpf = protocol.words_per_frame(spec["channels"], spec["height"], spec["width"], spec["bits"])
    maps = {INPUT: SpillMap(INPUT, 0, wpf * 4, hw.steps, 0)}
    off = _align(maps[INPUT].nbytes)
    for l in hw.layers:                                          # spiking layers, schedule order
        pw = ceil_div(l.cout, SPIKE_WORD)
        m = SpillMap(l.name, off, l.hout * l.wout * pw * 4, hw.steps, pw)
        maps[l.name] = m
        off = _align(off + m.nbytes)
    return maps, off


def decode_scratch(hw: HwModel, data) -> dict[str, np.ndarray]:
    """A maps-in-DDR core's scratch buffer (bytes, as read back after an inference) decoded:
    :data:`INPUT` -> the received words ``[T, words per frame]`` (uint32); every spiking layer -> its spike
    map ``[T, C, Ho, Wo]`` (uint8, 0/1), comparable with the reference's ``spikes``."""
    maps, size = scratch_layout(hw)
    raw = np.ascontiguousarray(np.asarray(data).reshape(-1).view(np.uint8))
    if raw.size < size:
        raise ValueError(f"scratch buffer of {raw.size} bytes; the model's layout needs {size}")
    words = raw[:size].view("<u4")
    m = maps[INPUT]
    out = {INPUT: words[m.offset // 4:(m.offset + m.nbytes) // 4].reshape(m.steps, -1).astype(np.uint32)}
    for l in hw.layers:
        m = maps[l.name]
        w = words[m.offset // 4:(m.offset + m.nbytes) // 4].reshape(m.steps, l.hout, l.wout, m.pos_words)
        bits = np.unpackbits(w.astype("<u4").view(np.uint8), axis=-1, bitorder="little")[..., :l.cout]
        out[l.name] = np.ascontiguousarray(bits.transpose(0, 3, 1, 2))
    return out


def check_maps_mode(maps: str, weights: str, target, acc_rows: int | None = None) -> None:
    """``maps`` is one of :data:`MAPS_MODES`; ``"ddr"`` needs ``weights="ddr"``; ``acc_rows`` (the bands'
    accumulator depth) only means something with ``maps="ddr"``. The one check every core's generator runs."""
    if maps not in MAPS_MODES:
        _fail(target, f"maps={maps!r}; expected one of {MAPS_MODES}")
    if maps == "ddr" and weights != "ddr":
        _fail(target, "maps='ddr' (spike maps in a DDR scratch buffer) needs weights='ddr' too (the weights "
                      f"from the DDR image); got weights={weights!r}")
    if acc_rows is not None and maps != "ddr":
        _fail(target, f"acc_rows={acc_rows!r} bounds the accumulators of a core with maps='ddr' (output-row bands); "
                      f"this one has maps={maps!r}: add maps='ddr'")


def scratch_error(base: int, plan: SpillPlan) -> str | None:
    """Why the core cannot use a scratch buffer at ``base`` (its STATUS ``scratch`` checks), or None."""
    if base == 0:
        return "SCRATCH_BASE is 0 (not set)"
    if base % protocol.SCRATCH_BASE_ALIGN:
        return f"SCRATCH_BASE 0x{base:x} is not a multiple of {protocol.SCRATCH_BASE_ALIGN}"
    if base + plan.scratch_bytes > 1 << protocol.DDR_ADDR_BITS:
        return (f"SCRATCH_BASE 0x{base:x} + the scratch buffer's {plan.scratch_bytes} bytes is past the core's "
                f"{protocol.DDR_ADDR_BITS} address bits")
    return None
