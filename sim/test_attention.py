"""syna_attention (rtl/syna_attention.v, the unit as toplevel) against syna_contract.reference's attention
(``Reference._attention``, docs/numerics.md section 6): six attention layers -- MA-T, IA-T, MA-C, IA-C,
IA-C, MA-C -- of random currents (T = 3 steps, 2 positions; 2P + 1 channels, the last group partly empty,
or P channels, one group, so that the lane memories' write forwarding is used), driven as syna_core
drives the unit: pass 1 pools every LIF group's saturated currents,
the MLP runs, pass 2 reads the gate (MA) or the IA gate neuron's spike per lane and step. The gated
currents (max(0, (i * g) >> 8), or q * max(0, i)) equal the reference's on every step, channel and
position, and the MLP's clamps (sat32, IA's sat_M) are counted as the reference counts them. Three IA
layers have an input pinned to 512 (the gate neuron reaches theta exactly: fires) or 511 (does not) by
their output multiplier. The layers run one after another, two of them twice (the pools, the IA
membranes and the gates restart). Without and with idle cycles between the LIF phase's groups (verilog-axis'
cycle_pause, and random), which exercises the lane memories' write forwarding both ways.

The ROMs (syna_att.mem, syna_attw.mem, syna_sigmoid.mem) and the layers (attention.json) are written into
the simulator's working directory by the pytest function at the bottom, which builds the unit at P in
{1, 3, 4, 16}, membrane bits in {8, 12, 32} and MLP weight bits in {4, 8, 16} (one axis at a time around
P = 4, MB = 12, AWB = 8).
"""
from __future__ import annotations

import json
import random
from pathlib import Path
from types import SimpleNamespace

import cocotb
import numpy as np
import pytest
from cocotb.triggers import FallingEdge, ReadOnly

from syna_contract import numerics as nx
from syna_contract.reference import Reference
from unit_helpers import SEED, pack, params, pause_generator, start_clock, unpack

CASE_JSON = "attention.json"
T, HW = 3, 2
# kind, dim, channels (2P + 1: the last group partly empty; P: one group, so the lane memories'
# write forwarding is used), hidden size, the IA input pinned at a channel (dim C) or at step 0 (dim T)
# to 512 (h = 256: fires, exactly at theta) or 511 (h = 255: does not)
LAYERS = (("MA", "T", "2P+1", 2, None), ("IA", "T", "P", 1, 512), ("MA", "C", "P", 3, None),
          ("IA", "C", "2P+1", 2, 511), ("IA", "C", "P", 2, 512), ("MA", "C", "2P+1", 1, None))
ORDER = (0, 1, 2, 3, 4, 5, 2, 1)


# ----------------------------------------------------------------------------- the case (pytest side)
def _mlp_out(cur: np.ndarray, dim: str, w1: np.ndarray, w2: np.ndarray, avg_mult) -> np.ndarray:
    """o = w2 . hid of numerics.md section 6 (used to scale the output multiplier; the check itself is
    the reference's)."""
    c = cur.astype(np.int64)
    total, mx = (c.sum(axis=(1, 2)), c.max(axis=(1, 2))) if dim == "T" else (c.sum(axis=(0, 2)), c.max(axis=(0, 2)))
    avg = nx.rescale(total, *avg_mult)
    s32 = lambda v: np.clip(v, -2 ** 31, 2 ** 31 - 1)            # noqa: E731
    return s32(w2 @ s32(np.maximum(s32(w1 @ avg), 0) + np.maximum(s32(w1 @ mx), 0)))


def make_case(P: int, MB: int, AWB: int, seed: int = SEED) -> dict:
    """Random currents and MLP weights for the layers; multipliers as the exporter makes them (avg: 1/n by
    model_export.quant.fixed_multiplier; out: scaled so that the gate's input spans its range, some of it
    clamped, or so that one IA input is exactly the pinned value)."""
    from model_export.quant import fixed_multiplier
    rng = np.random.default_rng(seed + 100 * P + MB + AWB)
    lo, hi = nx.signed_range(MB)
    wlo, whi = nx.signed_range(AWB)
    layers = []
    for i, (kind, dim, chans, hidden, pin) in enumerate(LAYERS):
        C = 2 * P + 1 if chans == "2P+1" else P
        size = T if dim == "T" else C
        cur = rng.integers(lo // 4, hi // 4 + 1, (T, C, HW))
        cur[rng.random(cur.shape) < 0.05] = lo
        cur[rng.random(cur.shape) < 0.05] = hi
        w1 = rng.integers(wlo, whi + 1, (hidden, size))
        w2 = rng.integers(wlo, whi + 1, (size, hidden))
        n = T * HW if dim == "C" else C * HW
        avg_mult = fixed_multiplier(1 / n)
        o = _mlp_out(cur, dim, w1, w2, avg_mult)
        pinned = False
        if pin is not None and pin <= hi:
            k = 0 if dim == "T" else int(np.argmax(np.abs(o)))
            if o[k] < 0:
                w2[k] = np.clip(-w2[k], wlo, whi)
                o = _mlp_out(cur, dim, w1, w2, avg_mult)
            if o[k] > 0:
                sh = int(o[k]).bit_length() + 5
                m = -(-(pin << sh) // int(o[k]))
                assert (int(o[k]) * m) >> sh == pin and m < 1 << 16, (o[k], m, sh)
                pinned = True
        if not pinned:
            target = 200 if kind == "MA" else 700                 # MA: past the table's +-128; IA: past theta
            m = int(rng.integers(1 << 14, 1 << 15))
            big = max(1, int(np.abs(o).max())) * m
            sh = max(0, min(63, big.bit_length() - target.bit_length()))
        layers.append(dict(name=f"a{i}", kind=kind, dim=dim, C=C, size=size, hidden=hidden, w1=w1.tolist(),
                           w2=w2.tolist(), avg_mult=list(avg_mult), out_mult=[m, sh], cur=cur.tolist()))
    return dict(layers=layers)


def arch_parameters(case: dict, P: int, MB: int, AWB: int) -> dict:
    """The unit's parameters for the case, as syna_hw.rtl_core.generate derives them."""
    ls = case["layers"]
    n_max = max(T * HW if l["dim"] == "C" else l["C"] * HW for l in ls)
    csz = max([l["size"] for l in ls if l["dim"] == "C"] + [1])
    awd = sum(2 * l["size"] * l["hidden"] for l in ls)
    return dict(P=P, MB=MB, T=T, CSZ=-(-csz // P) * P, PSW=min(64, MB + n_max.bit_length() + 1),
                HMAX=max(l["hidden"] for l in ls), AWB=AWB, AWD=awd, AWAW=max(1, (awd - 1).bit_length()),
                NATT=len(case["layers"]), NAW=max(1, (len(case["layers"]) - 1).bit_length()))


def write_roms(case: dict, AWB: int, out: Path) -> None:
    """syna_att.mem (9 fields of 32 bits, field 0 lowest), syna_attw.mem (per layer w1 then w2, int AWB),
    syna_sigmoid.mem (numerics.sigmoid_table), as syna_hw.rtl_core.generate writes them."""
    from syna_hw import rtl_core as rc
    rows, weights = [], []
    for l in case["layers"]:
        f = dict(kind=rc.ATT_KINDS[l["kind"]], dim=rc.ATT_DIMS[l["dim"]], size=l["size"], hidden=l["hidden"],
                 wbase=len(weights), avg_m=l["avg_mult"][0], avg_sh=l["avg_mult"][1], out_m=l["out_mult"][0],
                 out_sh=l["out_mult"][1])
        rows.append(sum(f[name] << (32 * i) for i, name in enumerate(rc.ATT_FIELDS)))
        weights += list(np.ravel(l["w1"])) + list(np.ravel(l["w2"]))
    (out / rc.ATT_MEM).write_text("\n".join(f"{r:0{len(rc.ATT_FIELDS) * 8}x}" for r in rows) + "\n")
    (out / rc.ATTW_MEM).write_text("\n".join(f"{int(w) & ((1 << AWB) - 1):x}" for w in weights) + "\n")
    (out / rc.SIGMOID_MEM).write_text("\n".join(f"{int(v):03x}" for v in nx.sigmoid_table()) + "\n")
    (out / CASE_JSON).write_text(json.dumps(case))


# ----------------------------------------------------------------------------- the bench (cocotb side)
def expected(layer: dict, MB: int) -> tuple[np.ndarray, int]:
    """The reference's gated currents [T, C, HW] and saturation count for the layer."""
    stub = SimpleNamespace(bundle=SimpleNamespace(params={layer["name"]: dict(att_w1=np.array(layer["w1"]),
                                                                              att_w2=np.array(layer["w2"]))}),
                           mem_bits=MB, gate_table=nx.sigmoid_table())
    att = {k: layer[k] for k in ("kind", "dim", "size", "hidden", "avg_mult", "out_mult")}
    cur = np.array(layer["cur"], dtype=np.int64)[:, None, :, None, :]                # [T, N=1, C, H=1, W=HW]
    desc = SimpleNamespace(name=layer["name"], attention=SimpleNamespace(**att))      # as a ConvLif descriptor
    gated, sat = Reference._attention(stub, desc, cur)
    return np.asarray(gated)[:, 0, :, 0, :].astype(np.int64), int(sat)


async def lif_phase(dut, P: int, C: int, t: int, cur: np.ndarray, idle, on_l1=None) -> None:
    """syna_core's LIF phase of step t: issue group n (icg) one cycle, work on it (l1, cg) the next,
    overlapped with the next issue unless the idle generator pauses the issue."""
    G = -(-C // P)
    queue, pending = list(range(HW * G)), None
    dut.t.value = t
    while queue or pending is not None:
        await FallingEdge(dut.clk)
        issue = bool(queue) and not (idle is not None and next(idle))
        n = queue.pop(0) if issue else None
        dut.issue.value = int(issue)
        dut.icg.value = (n % G) if issue else 0
        dut.l1.value = int(pending is not None)
        if pending is not None:
            pos, cg = divmod(pending, G)
            ch = [cg * P + l for l in range(P)]
            dut.cg.value = cg
            dut.first_pos.value = int(pending < G)
            dut.lane_en.value = pack([int(c < C) for c in ch], 1)
            dut.cur.value = pack([int(cur[t, c, pos]) if c < C else 0 for c in ch], params()["MB"])
            if on_l1 is not None:
                await ReadOnly()
                on_l1(pos, ch)
        pending = n
    await FallingEdge(dut.clk)
    dut.issue.value = 0
    dut.l1.value = 0


async def pulse(dut, name: str) -> None:
    await FallingEdge(dut.clk)
    getattr(dut, name).value = 1
    await FallingEdge(dut.clk)
    getattr(dut, name).value = 0


@cocotb.test()
@cocotb.parametrize(idle=[None, "cycle", "random"])
async def attention_matches_reference(dut, idle):
    prm = params()
    P, MB = prm["P"], prm["MB"]
    case = json.loads(Path(CASE_JSON).read_text())
    for name in ("clear", "issue", "l1", "pool", "gated", "mlp_start", "ia_step", "first_pos"):
        getattr(dut, name).value = 0
    dut.aidx.value, dut.icg.value, dut.cg.value, dut.t.value, dut.lane_en.value, dut.cur.value = 0, 0, 0, 0, 0, 0
    await start_clock(dut.clk, dut.rst)
    rng = random.Random(SEED)
    gen = lambda: pause_generator(idle, rng)               # noqa: E731
    saturated = 0
    for k in ORDER:
        layer = case["layers"][k]
        C = layer["C"]
        ref, ref_sat = expected(layer, MB)
        cur = np.array(layer["cur"], dtype=np.int64)
        await FallingEdge(dut.clk)
        dut.aidx.value = k
        await FallingEdge(dut.clk)                          # the parameter ROM's read
        await pulse(dut, "clear")
        assert int(dut.is_ia.value) == (layer["kind"] == "IA")
        # pass 1: pool the saturated currents of every step
        dut.pool.value = 1
        for t in range(T):
            await lif_phase(dut, P, C, t, cur, gen())
            for _ in range(rng.randint(0, 3)):              # the next step's event phase
                await FallingEdge(dut.clk)
        dut.pool.value = 0
        # the MLP
        await FallingEdge(dut.clk)
        dut.mlp_start.value = 1
        sat, cycles = 0, 0
        while True:
            await FallingEdge(dut.clk)
            dut.mlp_start.value = 0
            await ReadOnly()
            sat += int(dut.sat_inc.value)
            if int(dut.mlp_done.value):
                break
            cycles += 1
            assert cycles < 50_000, "the MLP did not finish"
        assert sat == ref_sat, f"layer {k} ({layer['kind']}-{layer['dim']}): {sat} MLP saturations, reference {ref_sat}"
        saturated += sat
        # pass 2: the gated current of every step, channel and position
        got = np.full((T, C, HW), -1 << 40, dtype=np.int64)

        def check(pos, ch):
            gates = unpack(dut.gate.value, 9, P, signed=False)
            gq = [(int(dut.gq.value) >> l) & 1 for l in range(P)]
            for l, c in enumerate(ch):
                if c < C:
                    i = int(cur[t, c, pos])
                    got[t, c, pos] = max(0, (i * gates[l]) >> nx.GATE_FRAC_BITS) if layer["kind"] == "MA" \
                        else gq[l] * max(0, i)
        await FallingEdge(dut.clk)
        dut.gated.value = 1
        for t in range(T):
            await FallingEdge(dut.clk)
            dut.t.value = t
            await pulse(dut, "ia_step")                     # the conv engine finished step t
            await lif_phase(dut, P, C, t, cur, gen(), check)
        dut.gated.value = 0
        bad = np.argwhere(got != ref)
        assert bad.size == 0, (f"layer {k} ({layer['kind']}-{layer['dim']}), idle {idle}: {len(bad)} gated currents "
                               f"differ, first at [t, c, pos] = {bad[0].tolist()}: {got[tuple(bad[0])]} vs "
                               f"{ref[tuple(bad[0])]}")
    dut._log.info(f"{saturated} MLP saturations counted")


# ----------------------------------------------------------------------------- pytest: build and run
PARAMS = [dict(P=4, MB=12, AWB=8), dict(P=1, MB=12, AWB=8), dict(P=3, MB=12, AWB=8), dict(P=16, MB=12, AWB=8),
          dict(P=4, MB=8, AWB=8), dict(P=4, MB=32, AWB=8), dict(P=4, MB=12, AWB=4), dict(P=4, MB=12, AWB=16)]


@pytest.mark.parametrize("sweep", PARAMS, ids=lambda p: f"P{p['P']}-MB{p['MB']}-AWB{p['AWB']}")
def test_attention(sweep, tmp_path):
    from cocotb_runner import run_unit
    case = make_case(**sweep)
    write_roms(case, sweep["AWB"], tmp_path)
    parameters = arch_parameters(case, **sweep)
    run_unit("syna_attention", "test_attention", parameters, tmp_path,
             build_tag=f"P{sweep['P']}-MB{sweep['MB']}-AWB{sweep['AWB']}")
