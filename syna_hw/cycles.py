"""The HLS core's cycle count and the synaptic operations of one sample, from spike maps alone.

``cycle_model`` sums the trip counts (II = 1) of the core's pipelined loops exactly as the C++ does
(``tests/test_hls.py`` checks them equal), from the input and every layer's spike map; it needs no
compiled core, so it also works for networks too large to compile (paper size). The layer shapes,
lane groups and spike words come from the :class:`~syna_hw.lowering.HwModel`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from syna_contract import protocol as proto
from syna_contract.graph import INPUT

from .limits import CONTRACT, HLS, TargetLimits
from .lowering import DdrWeights, HwModel, lower_graph

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

    @property
    def cycles(self) -> int:
        return sum(self.layers.values())

    @property
    def total_sops(self) -> int:
        return sum(self.sops.values())

    @property
    def total_dense(self) -> int:
        return sum(self.dense.values())


def model_cycles(hw: HwModel, x: np.ndarray, spikes: dict[str, np.ndarray], ddr: DdrWeights | None = None) -> CycleReport:
    """The core's cycle count for ONE sample of ``hw``, from its input ``x`` [T, C, H, W] and every
    layer's spike map [T, C, H, W]. ``ddr``: the core with its weights in DDR (docs/hls-core.md), tiled
    as ``ddr`` says: each load costs its image rows (one per cycle), each extra tile re-scans the
    layer's input (per pass), a tiled attention layer initialises every tile again for pass 2."""
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
            c = T * r.hout * r.wout * r.cw_out
            inv += 1
        elif r.kind == "maxpool_or":
            c = T * r.hout * r.wout * r.cw_out * r.k * r.k
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
    return CycleReport(cyc, sops, dense, inv, scans)


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
