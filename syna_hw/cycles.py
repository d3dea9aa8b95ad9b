"""The HLS core's cycle count and the synaptic operations of one sample, from spike maps alone.

``cycle_model`` sums the trip counts (II = 1) of the core's pipelined loops exactly as the C++ does
(``tests/test_hls.py`` checks them equal), from the input and every layer's spike map; it needs no
compiled core, so it also works for networks too large to compile (paper size). The layer shapes,
lane groups and spike words come from the :class:`~syna_hw.lowering.HwModel`.

With the spike maps in DDR (``spill``, docs/hls-core.md "Spike maps in DDR") :func:`scratch_traffic` gives
the scratch words the core reads and writes (they do not depend on the spikes) and ``model_cycles`` counts
one cycle per scratch word moved (a loop iteration that moves two costs two).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from syna_contract import protocol as proto
from syna_contract.graph import INPUT

from .limits import CONTRACT, HLS, TargetLimits
from .lowering import SPIKE_WORD, DdrWeights, HwLayer, HwModel, lower_graph

PIPE_DEPTH = 6     # assumed fill/drain of one pipelined loop invocation (only for the 'with fill' bound)


def _valid_taps(size: int, out: int, k: int, s: int, p: int) -> np.ndarray:
    """For each input coordinate, how many kernel offsets reach an output (same formula as the C++)."""
    y = np.arange(size)
    hi = np.minimum((y + p) // s, out - 1)
    a = y + p - k + 1
    lo = np.where(a > 0, (a + s - 1) // s, 0)
    return np.maximum(hi - lo + 1, 0)


@dataclass
class CycleReport:
    layers: dict[str, int]          # per layer (plus 'fc', 'io'): modelled cycles, trip counts x II
    sops: dict[str, int]            # synaptic operations per layer (accumulates; encoder: multiply-accumulates)
    dense: dict[str, int]           # dense ops per layer (every input position, every tap, every output channel)
    invocations: int                # pipelined loop invocations (each costs the pipeline depth in real hardware)
    scans: dict[str, int] = field(default_factory=dict)   # conv: the cycles of scanning its input (all passes),
    #                                 included in ``layers``; a layer tiled over output-channel groups repeats it per tile
    scratch_read: dict[str, int] = field(default_factory=dict)     # maps in DDR: scratch bytes read per layer
    scratch_written: dict[str, int] = field(default_factory=dict)  # and written (the encoder's: the input too)

    @property
    def cycles(self) -> int:
        return sum(self.layers.values())

    @property
    def total_sops(self) -> int:
        return sum(self.sops.values())

    @property
    def total_dense(self) -> int:
        return sum(self.dense.values())


def _tiles(groups: int, tg: int) -> list[tuple[int, int]]:
    """(g0, groups) of each output-channel tile of a layer of ``groups`` lane groups, ``tg`` per tile."""
    return [(g0, min(tg, groups - g0)) for g0 in range(0, groups, tg)]


def _band_taps(size: int, k: int, s: int, p: int, y0: int, ny: int) -> np.ndarray:
    """For each input row, how many kernel offsets reach an output row of the band [y0, y0 + ny)."""
    y = np.arange(size)
    hi = np.minimum((y + p) // s, y0 + ny - 1)
    a = y + p - k + 1
    lo = np.maximum(np.where(a > 0, (a + s - 1) // s, 0), y0)
    return np.maximum(hi - lo + 1, 0)


def _words_written(g0: int, n: int, lanes: int) -> int:
    """Spike words one position's neuron pass writes for lane groups g0 .. g0 + n - 1."""
    return ((g0 + n) * lanes - 1) // SPIKE_WORD - (g0 * lanes) // SPIKE_WORD + 1


def _rmw(g0: int, lanes: int) -> int:
    """1 when a tile starting at lane group g0 begins inside a spike word (keeps the previous tile's lanes)."""
    return 1 if (g0 * lanes) % SPIKE_WORD else 0


def _encoder_band_words(hw: HwModel, iy0: int, iy1: int) -> int:
    """Input words one step of an encoder band reads from the INPUT region: per channel, the words holding
    its rows iy0 .. iy1 - 1 (a word shared by two channels read for each)."""
    spec = hw.input_spec
    h, w = spec["height"], spec["width"]
    vpw = SPIKE_WORD // proto.lane_bits(spec["bits"])
    if iy1 <= iy0:
        return 0
    return sum(((c * h + iy1) * w - 1) // vpw - ((c * h + iy0) * w) // vpw + 1 for c in range(spec["channels"]))


def _conv_spill(hw: HwModel, r: HwLayer, spill) -> tuple[int, int, int, int]:
    """A conv layer with maps in DDR, the part that does not depend on the spikes: (cycles of the inits, the
    input scans and the neuron passes with their read-modify-writes; scratch words read; words written;
    the scan cycles of one tile, all bands)."""
    T, P = hw.steps, hw.lanes
    sl = spill.layers[r.name]
    vx = _valid_taps(r.win, r.wout, r.k, r.s, r.p)
    cols = int((vx > 0).sum())
    cyc = reads = writes = scan1 = 0
    for g0, n in _tiles(r.g, sl.tile_groups):
        for y0, ny in sl.bands():
            iy0, iy1 = spill.input_rows(r.name, y0, ny)
            if r.encoder:
                scan = words = _encoder_band_words(hw, iy0, iy1)
            else:                                       # each scanned row: its burst into the row buffer, its scan
                rows = int((_band_taps(r.hin, r.k, r.s, r.p, y0, ny)[iy0:iy1] > 0).sum())
                words = rows * r.win * r.cw_in
                scan = rows * cols * r.cw_in + words
            npos = ny * r.wout
            rmw = _rmw(g0, P) * npos
            cyc += npos * n + T * (scan + npos * n + rmw)
            reads += T * (words + rmw)
            writes += T * npos * _words_written(g0, n, P)
            scan1 += T * scan if g0 == 0 else 0
    return cyc, reads, writes, scan1


def _pool_reads(r: HwLayer) -> int:
    """Input words one step of an OR max-pool reads (its windows' taps inside the map)."""
    vy = np.array([sum(0 <= oy * r.s + k - r.p < r.hin for k in range(r.k)) for oy in range(r.hout)])
    vx = np.array([sum(0 <= ox * r.s + k - r.p < r.win for k in range(r.k)) for ox in range(r.wout)])
    return int(vy.sum() * vx.sum()) * r.cw_out


def scratch_traffic(hw: HwModel, spill) -> tuple[dict[str, int], dict[str, int]]:
    """The scratch bytes the HLS core with maps in DDR reads and writes per inference, per layer (and
    'fc'): (read, written). Independent of the spikes: every scan reads every word of the positions it
    visits. The encoder's include the receive (the input words written to the INPUT region)."""
    T = hw.steps
    rd: dict[str, int] = {}
    wr: dict[str, int] = {}
    for r in hw.layers:
        n = T * r.hout * r.wout * r.cw_out
        if r.kind == "conv_lif":
            _, reads, writes, _ = _conv_spill(hw, r, spill)
            if r.encoder:
                spec = hw.input_spec
                writes += T * proto.words_per_frame(spec["channels"], spec["height"], spec["width"], spec["bits"])
        elif r.kind == "merge":
            reads, writes = 2 * n, n
        else:
            reads, writes = T * _pool_reads(r), n
        rd[r.name], wr[r.name] = 4 * reads, 4 * writes
    fc = hw.fc
    rd["fc"] = 4 * len(_tiles(fc.g, spill.ddr.layer(fc.name).tile_groups)) * T * fc.h * fc.w * fc.cw
    wr["fc"] = 0
    return rd, wr


def model_cycles(hw: HwModel, x: np.ndarray, spikes: dict[str, np.ndarray], ddr: DdrWeights | None = None,
                 spill=None) -> CycleReport:
    """The core's cycle count for ONE sample of ``hw``, from its input ``x`` [T, C, H, W] and every
    layer's spike map [T, C, H, W]. ``ddr``: the core with its weights in DDR (docs/hls-core.md), tiled
    as ``ddr`` says: each load costs its image rows (one per cycle), each extra tile re-scans the
    layer's input (per pass), a tiled attention layer initialises every tile again for pass 2.
    ``spill`` (a :class:`~syna_hw.spill.SpillPlan`; ``ddr`` is then ``spill.ddr``): the maps in DDR, the
    layers in tiles x bands (docs/hls-core.md "Spike maps in DDR"); the report's ``scratch_read`` /
    ``scratch_written`` are :func:`scratch_traffic`."""
    if spill is not None:
        ddr = spill.ddr
    tiles = {l.name: l for l in ddr.layers} if ddr else {}
    rb = ddr.row_bytes if ddr else 1
    T = hw.steps
    bits = hw.input_spec["bits"]
    maps = {INPUT: np.asarray(x)}
    maps.update({k: np.asarray(v) for k, v in spikes.items()})
    cyc: dict[str, int] = {}
    sops: dict[str, int] = {}
    dense: dict[str, int] = {}
    scans: dict[str, int] = {}
    inv = 0
    for r in hw.layers:
        c = 0
        if r.kind == "conv_lif":
            src = maps[r.inputs[0]]                                      # [T, Cin, H, W]
            vy = _valid_taps(r.hin, r.hout, r.k, r.s, r.p)
            vx = _valid_taps(r.win, r.wout, r.k, r.s, r.p)
            vt = vy[:, None] * vx[None, :]                              # [H, W]
            nz = (src != 0).astype(np.int64)
            ev_taps = int((nz.sum(axis=(0, 1)) * vt).sum())            # sum over events of valid taps
            sops[r.name] = ev_taps * r.cout
            dense[r.name] = T * r.cin * r.k * r.k * r.cout * r.hout * r.wout
            work = ev_taps * r.g
            npos = r.hout * r.wout * r.g
            a = r.layer.attention
            passes = 2 if a else 1
            d = tiles.get(r.name)
            k = d.tiles if d else 1
            if spill is not None:                                       # maps in DDR: tiles x bands, no attention
                fixed, _, _, scans[r.name] = _conv_spill(hw, r, spill)
                c = fixed + work + (d.loads * d.groups * d.w_block_bytes // rb if d else 0)
                if r.encoder:
                    c += T * proto.words_per_frame(r.cin, r.hin, r.win, bits)   # the receive into INPUT
                cyc[r.name] = c                                         # (loop invocations not counted)
                continue
            if r.encoder:
                scan = T * proto.words_per_frame(r.cin, r.hin, r.win, bits)
                inv += T * (1 + int((nz.reshape(T, -1) != 0).sum()))  # per word loop + per nonzero value
            else:
                scan = T * int((vt > 0).sum()) * r.cw_in
                spiking_pos = int(((nz.sum(axis=1) > 0) & (vt > 0)[None]).sum())
                inv += passes * k * (T * int((vt > 0).sum()) + spiking_pos)
            c = npos + passes * (k * scan + work + T * npos)            # init + per pass: scan, work, LIF/pool
            scans[r.name] = passes * scan                               # one tile's scans (the planner's unit)
            inv += 1 + passes * T * k
            if d:
                c += d.loads * d.groups * d.w_block_bytes // rb          # the loads, one image row per cycle
                inv += d.loads * k + (k - 1)                            # load loops, the tiles' init loops
                if a and k > 1:
                    c += npos                                           # pass 2 initialises every tile again
                    inv += k
            if a:
                c += 3 * a.hidden * a.size + a.size                    # MLP (one MAC per cycle) + gate/IA input
                if a.kind == "IA":
                    c += T if a.dim == "T" else T * r.g                # IA LIF: T, or per step one pass over C
                inv += 4
        elif r.kind == "merge":
            c = T * r.hout * r.wout * r.cw_out * (3 if spill is not None else 1)   # DDR: 2 reads + 1 write a word
            inv += 1
        elif r.kind == "maxpool_or":
            c = T * r.hout * r.wout * r.cw_out * (r.k * r.k + (1 if spill is not None else 0))   # DDR: + the write
            inv += 1
        cyc[r.name] = c
    fc = hw.fc
    last = maps[fc.layer.inputs[0]]
    nspk = int(np.count_nonzero(last))
    d = tiles.get(fc.name)
    k = d.tiles if d else 1
    cyc["fc"] = fc.g + k * T * fc.h * fc.w * fc.cw + nspk * fc.g + (fc.g * d.w_block_bytes // rb if d else 0)
    sops["fc"] = nspk * fc.classes
    dense["fc"] = T * fc.h * fc.w * fc.c * fc.classes
    inv += 1 + k * (T * fc.h * fc.w + (1 if d else 0))
    cyc["io"] = proto.output_words(fc.classes, len(hw.layers))
    if ddr:
        cyc["io"] += ddr.check_bytes // rb                               # the weights check: header rows
    rep = CycleReport(cyc, sops, dense, inv, scans)
    if spill is not None:
        rep.scratch_read, rep.scratch_written = scratch_traffic(hw, spill)
    return rep


def dense_cycles(hw: HwModel, x: np.ndarray, spikes: dict[str, np.ndarray], ddr: DdrWeights | None = None) -> CycleReport:
    """:func:`model_cycles` of the same schedule without zero skipping (the RTL's ``dbg_dense``,
    ``RtlCore.set_dense``): every input value of every layer is processed as an event, silent or not.
    The spike maps only give the shapes; the ``sops`` of the report are the dense operations."""
    ones = {k: np.ones_like(np.asarray(v)) for k, v in spikes.items()}
    return model_cycles(hw, np.ones_like(np.asarray(x)), ones, ddr)


def cycle_model(layers, input_spec: dict, x: np.ndarray, spikes: dict[str, np.ndarray], lanes: int,
                numerics: dict | None = None, target: TargetLimits = HLS) -> CycleReport:
    """:func:`model_cycles` for a layer list (manifest dicts or descriptors) at ``lanes`` lanes."""
    return model_cycles(lower_graph(layers, input_spec, numerics or {}, lanes, target=target), x, spikes)


def synaptic_ops(layers, input_spec, x, spikes) -> int:
    """Synaptic operations of one sample: per input event, valid taps x output channels (fc: spikes x classes).
    A count of the network, not of one core: any bundle of the integer contract."""
    return cycle_model(layers, input_spec, x, spikes, 1, target=CONTRACT).total_sops
