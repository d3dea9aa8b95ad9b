"""One hardware lowering: a bundle (or a bare layer graph) -> :class:`HwModel`, the facts both cores share.

``lower(bundle, lanes, board=None, target=...)`` does, once, what the HLS header, the RTL
configuration and the planner all need:

- **limits**: the integer contract's ranges and the target's own (``syna_hw/limits.py``, one
  :class:`~syna_hw.limits.TargetLimits` row per core) are checked here and nowhere else; what a
  target cannot represent is refused with its ``Unsupported`` error;
- **schedule**: one :class:`HwLayer` per spiking layer in manifest order (layer-major), with its
  shapes, ``G = ceil(Cout / P)`` lane groups, spike words, and the first row of its weights and
  bias/threshold in the stacked ROMs; the fc layer as :class:`HwFc`;
- **spike-map liveness** (:func:`allocate_spike_maps`): a map lives from the layer that writes it
  to its last reader; one walk over the schedule gives both cores' placement of the live maps (the
  HLS core's physical buffers; the RTL's banks, each map's class and base addresses in its one
  banked spike memory) and the peak;
- **ROM rows**: weights, bias, threshold and fc rows padded to ``G * P`` lanes
  (:meth:`HwModel.weight_rows` ...), and the attention parameters in layer order.

The cycle model (``syna_hw/cycles.py``), the HLS header (``hls_header.py``), the RTL configuration
(``rtl_config.py``) and the memory planner (``plan.py``) read an ``HwModel``; none re-derives these.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from syna_contract import numerics as nx
from syna_contract.boards import Board, get_board
from syna_contract.layers import Attention, ConvLif, Fc, Layer, MaxPoolOr, Merge, as_layers

from .limits import CONTRACT, DEFAULT_LANES, TargetLimits

SPIKE_WORD = 32          # the HLS core stores spike maps in 32-bit words, [t][y][x][ceil(C/32)]
ATT_KINDS = ("MA", "IA")
ATT_DIMS = ("T", "C")


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


# ================================================================================ spike-map liveness
MAX_SPIKE_BANKS = 8      # the RTL's spike memory has at most 8 banks: an 8:1 read mux per bank slice covers the
                         # paper nets (64..512 channels); more banks would pack maps narrower than CMAX/8


@dataclass
class MapPlacement:
    """Where one spike map lives: HLS physical buffer; RTL bank class, physical and logical base."""
    buffer: int
    base: int            # RTL logical base address, phys << k (the schedule's ina / inb / out fields)
    rtl_words: int       # RTL words of its bank group: ceil(T*Ho*Wo / 2^k) physical addresses
    hls_words: int       # T*Ho*Wo*ceil(C/32) 32-bit words in an HLS buffer
    bits: int            # T*C*Ho*Wo spike bits
    k: int = 0           # RTL class: word p lives in bank group p mod 2^k (B / 2^k banks) at phys + (p >> k)
    phys: int = 0        # RTL physical base address (first fit among the live maps)


@dataclass
class SpikeMaps:
    """The one liveness allocation of the spike maps (layer-major schedule)."""
    place: dict[str, MapPlacement]
    buffer_words: list[int]        # HLS: 32-bit words of each physical buffer
    depth: int                     # RTL: words (physical addresses) of each bank of the spike memory
    peak_layer: str                # the layer at which the live maps hold the most bits
    peak_maps: list[str]           # and those maps
    banks: int = 1                 # RTL: banks of width / banks bits
    width: int = 0                 # RTL: bits of a logical word (CMAX, the widest map)
    peak_bits: int = 0             # bits of the live maps at peak_layer

    @property
    def rtl_bits(self) -> int:
        """Bits of the RTL's spike memory (its banks together)."""
        return self.depth * self.width

    @property
    def logical_depth(self) -> int:
        """One past the highest logical address of any map (the RTL's spike address range)."""
        return max([(p.phys << p.k) + (p.rtl_words << p.k) for p in self.place.values()] + [1])


def spike_banks(channels: list[int]) -> int:
    """Banks B of the RTL's spike memory for spike maps of these channel counts: the largest power of
    two up to :data:`MAX_SPIKE_BANKS` that divides CMAX = max(channels) with CMAX / B >= the narrowest
    map (B = 1 when every map is CMAX wide: one memory, as before banking)."""
    cmax, cmin = max(channels), min(channels)
    b = 1
    while 2 * b <= MAX_SPIKE_BANKS and cmax % (2 * b) == 0 and cmax // (2 * b) >= cmin:
        b *= 2
    return b


def spike_class(channels: int, cmax: int, banks: int) -> int:
    """Class k of a map of ``channels`` (0 .. log2 banks): the largest k with channels <= cmax / 2^k."""
    k = 0
    while (2 << k) <= banks and channels <= cmax >> (k + 1):
        k += 1
    return k


def allocate_spike_maps(layers: list[Layer], steps: int, skip: frozenset[str] | set[str] = frozenset()) -> SpikeMaps:
    """Give every spike map a place, reusing the space of maps that have no reader left.

    The HLS core keeps maps in a few physical buffers (the first buffer without a live map, grown
    to its largest map); the RTL keeps them in one memory of :func:`spike_banks` banks, a map of class
    k (:func:`spike_class`) in ``ceil(T*Ho*Wo / 2^k)`` physical addresses of every bank (first fit
    among the live maps' address ranges; word p in bank group p mod 2^k). One walk decides both, from
    one liveness analysis. Maps in ``skip`` (the planner's maps spilled to DDR) get no place; the banks
    stay those of the whole model."""
    spiking = [l for l in layers if l.spiking]
    cmax = max(l.out_shape[0] for l in spiking)
    banks = spike_banks([l.out_shape[0] for l in spiking])
    last_use: dict[str, int] = {}
    for i, l in enumerate(layers):
        for src in l.inputs:
            last_use[src] = i
    live: dict[str, MapPlacement] = {}
    place: dict[str, MapPlacement] = {}
    buffer_words: list[int] = []
    depth, peak, peak_bits, peak_maps = 0, layers[0].name, -1, []
    for i, l in enumerate(layers):
        if not l.spiking or l.name in skip:
            continue
        for name in [n for n in live if last_use.get(n, -1) < i]:       # maps with no reader left
            del live[name]
        c, h, w = l.out_shape
        k = spike_class(c, cmax, banks)
        m = MapPlacement(0, 0, ceil_div(steps * h * w, 1 << k), steps * h * w * ceil_div(c, SPIKE_WORD),
                         steps * c * h * w, k)
        used = {p.buffer for p in live.values()}
        m.buffer = next(b for b in range(len(buffer_words) + 1) if b not in used)
        if m.buffer == len(buffer_words):
            buffer_words.append(0)
        buffer_words[m.buffer] = max(buffer_words[m.buffer], m.hls_words)
        for p in sorted(live.values(), key=lambda p: p.phys):            # first fit in address order
            if m.phys + m.rtl_words <= p.phys:
                break
            m.phys = max(m.phys, p.phys + p.rtl_words)
        m.base = m.phys << k
        depth = max(depth, m.phys + m.rtl_words)
        live[l.name] = place[l.name] = m
        bits = sum(p.bits for p in live.values())
        if bits > peak_bits:
            peak, peak_bits, peak_maps = l.name, bits, list(live)
    return SpikeMaps(place, buffer_words, depth, peak, peak_maps, banks, cmax, max(peak_bits, 0))


# ================================================================================ the model
@dataclass
class HwLayer:
    """One spiking layer of the schedule as both cores run it."""
    layer: Layer
    index: int                    # position in the manifest
    cin: int
    hin: int
    win: int
    cout: int
    hout: int
    wout: int
    k: int
    s: int
    p: int
    g: int                        # output-channel groups of P lanes
    w_row: int = 0                # conv: first row of its weights in the stacked weight rows
    bt_row: int = 0               # conv: first row of its bias / threshold rows
    att: int = -1                 # index in HwModel.attention (-1: none)

    @property
    def name(self) -> str:
        return self.layer.name

    @property
    def kind(self) -> str:
        return self.layer.kind

    @property
    def encoder(self) -> bool:
        return isinstance(self.layer, ConvLif) and self.layer.encoder

    @property
    def inputs(self) -> tuple[str, ...]:
        return self.layer.inputs

    @property
    def cw_in(self) -> int:
        return ceil_div(self.cin, SPIKE_WORD)

    @property
    def cw_out(self) -> int:
        return ceil_div(self.cout, SPIKE_WORD)

    @property
    def weight_rows(self) -> int:
        return self.cin * self.k * self.k * self.g if self.kind == "conv_lif" else 0


@dataclass
class HwFc:
    """The fc layer: global sum-pool of its input map over T and space, then FC."""
    layer: Fc
    c: int
    h: int
    w: int
    classes: int
    g: int
    w_row: int                    # first row of its weights after every conv's
    bt_row: int                   # first bias row after every conv's

    @property
    def name(self) -> str:
        return self.layer.name

    @property
    def cw(self) -> int:
        return ceil_div(self.c, SPIKE_WORD)


@dataclass
class HwAttention:
    """One attention unit, in conv order, with the offsets of its MLP weights."""
    layer: HwLayer
    spec: Attention
    w1_offset: int                # in the concatenation of every w1 (HLS ATT_W1)
    w2_offset: int                # in the concatenation of every w2 (HLS ATT_W2)
    wbase: int                    # in the concatenation of every [w1, w2] (RTL syna_attw.mem)


@dataclass
class HwModel:
    """Everything the HLS header, the RTL configuration, the cycle model and the planner read."""
    lanes: int
    target: TargetLimits
    input_spec: dict
    numerics: dict
    descriptors: list[Layer]
    layers: list[HwLayer]                         # spiking layers, manifest order
    fc: HwFc
    maps: SpikeMaps
    attention: list[HwAttention]
    params: dict | None = None                    # layer -> rom -> values (None: a bare layer graph)
    model_hash: str = ""
    board: Board | None = None
    root: object = None                           # the bundle directory (messages)

    # ------------------------------------------------------------------ sizes
    @property
    def steps(self) -> int:
        return self.input_spec["steps"]

    @property
    def mem_bits(self) -> int:
        return self.numerics.get("mem_bits", nx.DEFAULT_MEM_BITS)

    @property
    def weight_bits(self) -> int:
        """The widest weight of any conv or fc layer (one ROM word width for all); a bare layer graph
        (no ``weight_bits`` yet) takes the numerics' (default 8)."""
        default = self.numerics.get("weight_bits", nx.DEFAULT_WEIGHT_BITS)
        return max(l.weight_bits or default for l in self.descriptors if isinstance(l, (ConvLif, Fc)))

    @property
    def att_weight_bits(self) -> int:
        """The widest attention MLP weight (4 when there is no attention)."""
        return max([a.spec.weight_bits for a in self.attention] + [4])

    @property
    def convs(self) -> list[HwLayer]:
        return [l for l in self.layers if l.kind == "conv_lif"]

    @property
    def cmax(self) -> int:
        """Most channels of any spike map."""
        return max(l.cout for l in self.layers)

    @property
    def weight_depth(self) -> int:
        """Rows of P weights: every conv's, then the fc's (the RTL's one weight ROM)."""
        return self.fc.w_row + self.fc.c * self.fc.g

    @property
    def bt_depth(self) -> int:
        """Rows of P biases/thresholds: every conv's, then the fc's."""
        return self.fc.bt_row + self.fc.g

    @property
    def acc_depth(self) -> int:
        """Accumulator words of P lanes: the most (Ho*Wo*G) of any conv or the fc."""
        return max([l.hout * l.wout * l.g for l in self.convs] + [self.fc.g, 1])

    # ------------------------------------------------------------------ ROM rows (padded to G*P lanes)
    def _need_params(self) -> dict:
        if self.params is None:
            raise ValueError("this HwModel was lowered from a bare layer graph: it has no ROM contents")
        return self.params

    def lane_rows(self, values: np.ndarray, groups: int, fill: int = 0) -> np.ndarray:
        """``[..., Cout]`` -> rows of P lanes ``[prod(...) * G, P]``, Cout padded to ``G * P`` with ``fill``."""
        v = np.asarray(values, dtype=np.int64)
        pad = groups * self.lanes - v.shape[-1]
        if pad:
            v = np.concatenate([v, np.full(v.shape[:-1] + (pad,), fill, dtype=np.int64)], axis=-1)
        return v.reshape(-1, self.lanes)

    def conv_weight_rows(self) -> np.ndarray:
        """Every conv's ``[Cin][K][K][Cout]`` weights as rows ``[Cin][K][K][G]`` of P lanes, stacked."""
        p = self._need_params()
        return np.concatenate([self.lane_rows(p[l.name]["weights"], l.g) for l in self.convs])

    def fc_weight_rows(self) -> np.ndarray:
        return self.lane_rows(self._need_params()[self.fc.name]["weights"], self.fc.g)

    def conv_bias_rows(self) -> np.ndarray:
        p = self._need_params()
        return np.concatenate([self.lane_rows(p[l.name]["bias"], l.g) for l in self.convs])

    def conv_threshold_rows(self) -> np.ndarray:
        """Thresholds; a padded lane gets the target's ``threshold_fill`` (its spikes are never used)."""
        p = self._need_params()
        return np.concatenate([self.lane_rows(p[l.name]["threshold"], l.g, self.target.threshold_fill)
                               for l in self.convs])

    def fc_bias_total(self) -> np.ndarray:
        """``T*H*W * bias`` per class: the score accumulators' start value (fits 32 bits: checked)."""
        return self.steps * self.fc.h * self.fc.w * self._need_params()[self.fc.name]["bias"].astype(np.int64)

    def fc_init_rows(self) -> np.ndarray:
        return self.lane_rows(self.fc_bias_total(), self.fc.g)

    def attention_weights(self, a: HwAttention) -> tuple[np.ndarray, np.ndarray]:
        p = self._need_params()[a.layer.name]
        return np.asarray(p["att_w1"], dtype=np.int64), np.asarray(p["att_w2"], dtype=np.int64)


# ================================================================================ lowering
def lower(bundle, lanes: int = DEFAULT_LANES, board: str | None = None,
          target: TargetLimits = CONTRACT) -> HwModel:
    """Lower a loaded :class:`~syna_contract.bundle.Bundle` for ``lanes`` output-channel lanes on
    ``target`` (``syna_hw.limits.HLS`` / ``RTL``); ``board`` (a name in the board table) is kept
    for the planner. Raises the target's ``Unsupported`` error for what it cannot run."""
    return lower_graph(bundle.descriptors, bundle.input_spec, bundle.numerics, lanes, board=board, target=target,
                       params=bundle.params, model_hash=bundle.model_hash, root=bundle.root)


def lower_graph(layers, input_spec: dict, numerics: dict, lanes: int = DEFAULT_LANES, board: str | None = None,
                target: TargetLimits = CONTRACT, params: dict | None = None, model_hash: str = "",
                root=None) -> HwModel:
    """:func:`lower` for a layer graph (manifest dicts or descriptors) without files, e.g. one too
    large to export; without ``params`` the ROM contents are not available (sizes are)."""
    descriptors = as_layers(layers)
    _check(descriptors, input_spec, numerics, lanes, target, root)
    T = input_spec["steps"]
    maps = allocate_spike_maps(descriptors, T)
    hw_layers: list[HwLayer] = []
    attention: list[HwAttention] = []
    fc = None
    w_row = bt_row = w1 = w2 = wbase = 0
    for i, l in enumerate(descriptors):
        if isinstance(l, Fc):
            c, h, w = (tuple(l.in_shape) + (1, 1))[:3]
            g = l.groups(lanes)
            fc = HwFc(l, c, h, w, l.channels, g, w_row, bt_row)
            continue
        cin, hin, win = l.in_shape
        cout, hout, wout = l.out_shape
        k, s, p = (l.kernel, l.stride, l.padding) if isinstance(l, (ConvLif, MaxPoolOr)) else (1, 1, 0)
        hl = HwLayer(l, i, cin, hin, win, cout, hout, wout, k, s, p, l.groups(lanes))
        if isinstance(l, ConvLif):
            hl.w_row, hl.bt_row = w_row, bt_row
            w_row += hl.weight_rows
            bt_row += hl.g
            a = l.attention
            if a:
                hl.att = len(attention)
                attention.append(HwAttention(hl, a, w1, w2, wbase))
                w1 += a.hidden * a.size
                w2 += a.size * a.hidden
                wbase += 2 * a.hidden * a.size
        hw_layers.append(hl)
    hw = HwModel(lanes, target, input_spec, numerics, descriptors, hw_layers, fc, maps, attention, params,
                 model_hash, get_board(board) if board else None, root)
    if params is not None:
        _check_values(hw)
    return hw


def _fail(target: TargetLimits, msg: str):
    raise target.error(msg)


def _check(layers: list[Layer], spec: dict, num: dict, lanes: int, t: TargetLimits, root) -> None:
    """The integer contract's limits and ``t``'s own, on the shapes (the first failure is raised)."""
    where = f"{root}: " if root else ""
    if lanes not in t.lanes:
        _fail(t, f"lanes={lanes}; {t.lanes_why}, so P must be "
                 + (f"one of {t.lanes}" if len(t.lanes) < 10 else f"{t.lanes[0]}..{t.lanes[-1]}"))
    bits = spec["bits"]
    if not 1 <= bits <= 16:
        _fail(t, f"input bits {bits}; the input stream carries 1 to 16 bits per value")
    mem_bits = num.get("mem_bits", nx.DEFAULT_MEM_BITS)
    if not nx.MEM_BITS_RANGE[0] <= mem_bits <= nx.MEM_BITS_RANGE[1]:
        _fail(t, f"mem_bits {mem_bits}; the integer contract allows {nx.MEM_BITS_RANGE[0]}..{nx.MEM_BITS_RANGE[1]} "
                 f"(the {t.name} cannot represent it)")
    readers = [l for l in layers if l.reads_input]
    if len(readers) != 1 or readers[0] is not layers[0] or not isinstance(layers[0], ConvLif):
        _fail(t, f"{where}the {t.name} needs exactly one layer reading the input, the first, a conv_lif (the "
                 f"encoder); this bundle has {[l.name for l in readers]}")
    if layers[0].attention and not t.encoder_attention:
        _fail(t, f"layer {layers[0].name}: attention on the encoder; the {t.name} streams the input once, but "
                 "attention needs two passes over a layer's currents (re-read its input)")
    fcs = [l for l in layers if isinstance(l, Fc)]
    if len(fcs) != 1 or fcs[0] is not layers[-1]:
        _fail(t, f"{where}the {t.name} needs exactly one fc layer, the last one")
    for l in layers:
        if isinstance(l, Merge):
            if l.op not in nx.MERGE_OPS:
                _fail(t, f"layer {l.name}: merge {l.op!r} is not in the integer contract (ADD makes non-binary "
                         f"spikes); the {t.name} runs {nx.MERGE_OPS}")
            if len(l.inputs) != 2:
                _fail(t, f"layer {l.name}: a merge needs two inputs")
        if isinstance(l, (ConvLif, MaxPoolOr)):
            s = l.stride
            if s < 1 or s & (s - 1) or (t.max_stride and s > t.max_stride):
                ok = (f"strides {', '.join(str(1 << i) for i in range(t.max_stride.bit_length()))}"
                      if t.max_stride else "a power of two")
                _fail(t, f"layer {l.name}: stride {s}; the {t.name} needs {ok}")
            if (t.max_kernel and l.kernel > t.max_kernel) or (t.max_padding and l.padding > t.max_padding):
                _fail(t, f"layer {l.name}: kernel {l.kernel} / padding {l.padding}; the {t.name} supports kernel "
                         f"<= {t.max_kernel}, padding <= {t.max_padding}")
            if isinstance(l, MaxPoolOr) and t.pool_padding_below_kernel and l.padding >= l.kernel:
                _fail(t, f"layer {l.name}: padding {l.padding} >= kernel {l.kernel}")
        if isinstance(l, (ConvLif, Fc)) and l.weight_bits is not None:
            lo, hi = nx.WEIGHT_BITS_RANGE
            if not lo <= l.weight_bits <= hi:
                _fail(t, f"layer {l.name}: {l.weight_bits}-bit weights; the integer contract allows {lo}..{hi}")
        if l.spiking and t.max_channels and l.channels > t.max_channels:
            _fail(t, f"{where}layer {l.name}: {l.channels} channels in a spike map; the {t.name} holds at most "
                     f"{t.max_channels} (its spike tap is 1024 bits wide)")
        a = getattr(l, "attention", None)
        if a:
            if a.kind not in ATT_KINDS or a.dim not in ATT_DIMS:
                _fail(t, f"layer {l.name}: attention {a.kind}-{a.dim}; the {t.name} runs MA and IA in dims T and C "
                         "(spatial attention, dim S, is not in the integer contract: docs/numerics.md section 6)")
            expect = spec["steps"] if a.dim == "T" else l.channels
            if a.size != expect:
                _fail(t, f"layer {l.name}: attention size {a.size}, expected {expect}")
            if t.att_mult_bits:
                for key in ("avg_mult", "out_mult"):
                    m, sh = getattr(a, key)
                    if not (0 <= m < 2 ** t.att_mult_bits and 0 <= sh < 64):
                        _fail(t, f"layer {l.name}: attention {key} {list(getattr(a, key))} outside the {t.name}'s "
                                 f"{t.att_mult_bits}-bit multiplier / 6-bit shift")
    att = [l.attention for l in layers if getattr(l, "attention", None)]
    if t.att_weight_bits and att:
        awb = max(a.weight_bits for a in att)
        if awb > t.att_weight_bits or awb + mem_bits > 62:
            _fail(t, f"{where}attention weights of {awb} bits with mem_bits {mem_bits}: the {t.name}'s MLP "
                     f"products need weight bits <= {t.att_weight_bits} and weight bits + mem_bits <= 62")
    if t.att_mult_bits:
        for l in layers:
            a = getattr(l, "attention", None)
            if a:       # |avg| < 2^mem_bits: the RTL keeps the averages in mem_bits + 2 bits
                n = spec["steps"] * l.out_shape[1] * l.out_shape[2] if a.dim == "C" else l.neurons
                m, sh = a.avg_mult
                if (n << (mem_bits - 1)) * m >> sh >= 1 << mem_bits:
                    _fail(t, f"layer {l.name}: avg multiplier {list(a.avg_mult)} is not about 1/{n}")


def _check_values(hw: HwModel) -> None:
    """Limits on the ROM contents: every value must fit the field the cores hold it in."""
    t, p = hw.target, hw.params
    where = f"{hw.root}: " if hw.root else ""
    lo_m, hi_m = nx.signed_range(hw.mem_bits)
    for l in hw.descriptors:
        if isinstance(l, (ConvLif, Fc)) and l.weight_bits is not None:
            w = np.asarray(p[l.name]["weights"])
            lo, hi = nx.signed_range(l.weight_bits)
            if w.size and (w.min() < lo or w.max() > hi):
                _fail(t, f"layer {l.name}: weights {w.min()}..{w.max()} do not fit its {l.weight_bits}-bit "
                         f"weight_bits (the {t.name} holds {l.weight_bits}-bit weights)")
            b = np.asarray(p[l.name]["bias"])
            lo, hi = nx.signed_range(nx.BIAS_BITS)
            if b.size and (b.min() < lo or b.max() > hi):
                _fail(t, f"layer {l.name}: bias {b.min()}..{b.max()} does not fit {nx.BIAS_BITS} bits")
        if isinstance(l, ConvLif):
            th = np.asarray(p[l.name]["threshold"])
            if th.size and (th.min() < lo_m or th.max() > hi_m):
                _fail(t, f"layer {l.name}: thresholds {th.min()}..{th.max()} do not fit mem_bits "
                         f"{hw.mem_bits} ({lo_m}..{hi_m}): the {t.name} holds a threshold in mem_bits bits")
    total = hw.fc_bias_total()
    if total.size and np.abs(total).max() >= 2 ** 31:
        _fail(t, f"{where}fc: T*H*W*bias does not fit 32 bits (fc bias x T*H*W is the score accumulators' "
                 "start value)")
    if hw.attention:
        awb = hw.att_weight_bits
        lo, hi = nx.signed_range(awb)
        for a in hw.attention:
            w1, w2 = hw.attention_weights(a)
            s = a.spec
            if w1.shape != (s.hidden, s.size) or w2.shape != (s.size, s.hidden):
                _fail(t, f"layer {a.layer.name!r}: attention weights {w1.shape} / {w2.shape}, expected "
                         f"{(s.hidden, s.size)} / {(s.size, s.hidden)}")
        words = np.concatenate([np.concatenate([w.ravel() for w in hw.attention_weights(a)]) for a in hw.attention])
        if t.att_weight_bits and (words.min() < lo or words.max() > hi):
            _fail(t, f"{where}attention MLP weights {words.min()}..{words.max()} do not fit the declared {awb}-bit "
                     "attention weight_bits")


# ================================================================================ weights in DDR
WEIGHTS_MODES = ("rom", "ddr")
# DDR mode's tile buffers (the RTL twin): "single" loads a tile only after the previous one is computed;
# "double" (two buffers of wbuf_rows rows) loads the next tile while the current one computes.
WBUF_MODES = ("single", "double")
WBUF_DEFAULT = "single"        # as the planner's default (buffers=1) and the HLS core: the smaller on-chip cost
WBUF_DEFAULT_ROWS = 4096       # on-chip weight buffer, rows of P lanes, unless the model needs less or more
# The RTL twin's weight buffer RAM: "auto" lets synthesis choose (on UltraScale+ a large buffer becomes URAM);
# "block" asks for block RAM (Verilog ``ram_style = "block"``, which Yosys and Vivado honour), leaving the
# UltraRAM to the spike maps, accumulators and membranes. The planner picks it (syna_hw/placement.py).
WBUF_RAMS = ("auto", "block")
WBUF_RAM_DEFAULT = "auto"


@dataclass(frozen=True)
class DdrLayer:
    """One conv / fc layer's weights in the DDR image (``syna_contract.ddr_image.layout``) and its
    output-channel tiles: ``tile_groups`` lane groups (``tile_groups * rows`` buffer rows) per load."""
    name: str
    index: int                  # in the manifest's layers
    rows: int                   # R: conv Cin*K*K, fc Cin
    groups: int                 # G = ceil(Cout / P)
    tile_groups: int            # lane groups per tile (the last tile may have fewer)
    w_offset: int               # bytes from the image base: lane group 0's block
    w_block_bytes: int          # one lane group's block (R rows + padding to 64 bytes)
    attention: bool             # two passes over the layer's input (pass 1 pools, pass 2 gates)

    @property
    def tiles(self) -> int:
        return ceil_div(self.groups, self.tile_groups)

    @property
    def loads(self) -> int:
        """How often each tile is read per inference: once; twice for an attention layer of 2+ tiles
        (pass 2 reloads the tiles pass 1 replaced; a one-tile layer keeps its buffer)."""
        return 2 if self.attention and self.tiles > 1 else 1

    @property
    def bytes_per_inference(self) -> int:
        """DDR bytes read per inference: every tile is one range of ``n * w_block_bytes`` bytes."""
        return self.loads * self.groups * self.w_block_bytes


# Where the simulations (HLS C-sim, RTL harness) put the DDR image and program WEIGHTS_BASE by default: an
# aligned address that is not 0, so a WEIGHTS_BASE left at 0 finds no image there.
SIM_WEIGHTS_BASE = 0x1000_0000


@dataclass(frozen=True)
class DdrWeights:
    """Where a DDR-mode core finds its conv / fc weights and how it tiles them (issue 16)."""
    lanes: int
    weight_bits: int            # WB, the image's lane width
    row_bytes: int              # RB, one row of P lanes in the image
    image_bytes: int            # the whole image (header and every section)
    wbuf_rows: int              # the on-chip weight buffer, rows of P lanes
    layers: list[DdrLayer]      # conv layers in schedule order, then the fc
    header: bytes = b""         # the image's first check_bytes (ddr_image.image_head): what the core checks

    @property
    def check_bytes(self) -> int:
        """Bytes of the weights check at every inference's start (docs/core-interface.md, STATUS weights):
        the image's fixed header, read as whole rows: max(128, row_bytes)."""
        return len(self.header)

    @property
    def bytes_per_inference(self) -> int:
        """DDR bytes one inference reads: the header check, then every tile's weights."""
        return self.check_bytes + sum(l.bytes_per_inference for l in self.layers)

    def layer(self, name: str) -> DdrLayer:
        return next(l for l in self.layers if l.name == name)

    def tile_loads(self) -> list[TileLoad]:
        """Every tile load of one inference, in the order the cores make them: layer by layer (schedule
        order), tile by tile (g0 = 0, tg, 2 tg, ...); an attention layer of 2+ tiles loads its tiles again
        for pass 2 (:attr:`DdrLayer.loads`). Their bytes and :attr:`check_bytes` add up to
        :attr:`bytes_per_inference`."""
        out = []
        for l in self.layers:
            tiles = [TileLoad(l.name, g0, min(l.tile_groups, l.groups - g0), l.w_offset + g0 * l.w_block_bytes,
                              min(l.tile_groups, l.groups - g0) * l.w_block_bytes)
                     for g0 in range(0, l.groups, l.tile_groups)]
            out += tiles * l.loads
        return out


@dataclass(frozen=True)
class TileLoad:
    """One load of an output-channel tile into a weight buffer: lane groups g0 .. g0 + groups - 1 of a
    layer, one range of the DDR image."""
    layer: str
    g0: int
    groups: int
    offset: int                 # bytes from the image base
    nbytes: int


def ddr_weights(hw: HwModel, wbuf_rows: int | None = None, max_groups: dict[str, int] | None = None) -> DdrWeights:
    """The weight tiling of ``hw`` on a core whose conv / fc weights come from the DDR image through an
    on-chip buffer of ``wbuf_rows`` rows (default: the largest layer, at most ``WBUF_DEFAULT_ROWS``
    unless one lane group of a layer needs more). A layer's tile is as many lane groups as fit the
    buffer. The encoder reads the input stream once, so its weights must fit in one tile -- unless
    ``max_groups`` is given (spike maps in DDR, :mod:`syna_hw.spill`: the input is kept in the scratch
    buffer, so the encoder can re-read it): then layer ``name``'s tiles have at most ``max_groups[name]``
    lane groups."""
    from syna_contract import ddr_image
    manifest = dict(layers=[l.to_dict() for l in hw.descriptors], numerics=dict(mem_bits=hw.mem_bits))
    head, entries = ddr_image.layout(manifest, hw.lanes)
    by_index = {e["layer"]: e for e in entries}
    fc_index = next(i for i, d in enumerate(hw.descriptors) if d is hw.fc.layer)
    hw_layers = [(l, l.index) for l in hw.convs] + [(hw.fc, fc_index)]
    need_one = max(by_index[i]["rows"] for _, i in hw_layers)
    whole = max(e["rows"] * e["groups"] for e in entries)
    if wbuf_rows is None:
        wbuf_rows = min(whole, max(need_one, WBUF_DEFAULT_ROWS))
    t = hw.target
    if isinstance(wbuf_rows, bool) or not isinstance(wbuf_rows, (int, np.integer)) or wbuf_rows < 1:
        _fail(t, f"wbuf_rows {wbuf_rows!r}; expected a positive number of weight-buffer rows")
    out = []
    for l, idx in hw_layers:
        e = by_index[idx]
        name = l.name
        tg = min(e["groups"], wbuf_rows // e["rows"], (max_groups or {}).get(name, e["groups"]))
        if tg < 1:
            _fail(t, f"layer {name}: one lane group has {e['rows']} weight rows; a weight buffer of {wbuf_rows} "
                     f"rows cannot hold it (wbuf_rows >= {need_one} for this model)")
        if isinstance(l, HwLayer) and l.encoder and tg < e["groups"] and max_groups is None:
            _fail(t, f"layer {name}: the encoder's weights ({e['rows']} x {e['groups']} rows) must fit the weight "
                     f"buffer in one tile (it reads the input stream once); wbuf_rows {wbuf_rows} is too small")
        out.append(DdrLayer(name, idx, e["rows"], e["groups"], int(tg), e["w_offset"], e["w_block_bytes"],
                            bool(getattr(l.layer, "attention", None))))
    header = ddr_image.image_head(dict(manifest, model_hash=hw.model_hash or "00" * 32), hw.lanes)
    return DdrWeights(hw.lanes, head["weight_bits"], head["row_bytes"], head["total_bytes"], int(wbuf_rows), out,
                      header)


def checked_ddr_image(bundle, ddr: DdrWeights) -> np.ndarray:
    """The bundle's DDR image as bytes, checked (present, its checksum, this model, every value = the ROMs:
    ``ddr_image.check_image``) and laid out as ``ddr`` (the core's P and tiling) expects; refuses with a
    BundleError. Both cores' DDR modes (HLS C-sim, RTL harness) read it through here."""
    from syna_contract import ddr_image
    from syna_contract.bundle import BundleError
    b, P = bundle, ddr.lanes
    entry = b.manifest.get("ddr_image")
    if entry is None:
        raise BundleError(b.root / ddr_image.IMAGE_FILE,
                          f"the bundle has no DDR image; a core with weights in DDR needs one: export with "
                          f"--ddr-image --lanes {P} (or `python -m model_export ddr-image {b.root} --lanes {P}`)")
    img = ddr_image.check_image(b)
    if img.lanes != P:
        raise BundleError(b.root / entry.get("file", ddr_image.IMAGE_FILE),
                          f"DDR image laid out for P = {img.lanes} lanes; this core has P = {P} (the rows of a "
                          f"lane group hold P weights): re-export it with --ddr-image --lanes {P}")
    want = {(l.index, l.w_offset, l.w_block_bytes, l.rows, l.groups) for l in ddr.layers}
    got = {(e["layer"], e["w_offset"], e["w_block_bytes"], e["rows"], e["groups"]) for e in img.entries}
    if want != got or img.header["row_bytes"] != ddr.row_bytes or len(img.data) != ddr.image_bytes:
        raise BundleError(b.root / ddr_image.IMAGE_FILE, "DDR image layout differs from the one the core is "
                                                          "generated for (ddr_image.layout)")
    return np.frombuffer(img.data, dtype=np.uint8).copy()
