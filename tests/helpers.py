"""Shared test helpers (no tests here): bundles the tests build, the hardware case table, and the checks
more than one test file makes. Imported as ``helpers`` (pytest puts tests/ and sim/ on sys.path,
pyproject.toml); tests never import from another test module. torch is imported only inside the
functions that need it (the host tests run some of these without torch in the process).

- bundles: :func:`random_model` / :func:`random_inputs` / :func:`small_config` (the small random digits
  models of the ``make_bundle`` fixture, tests/conftest.py), :func:`export_demo` (the shipped checkpoint
  as ``make demo`` exports it), :func:`export_digits`, :func:`export_dvs`, :func:`export_dvs_like`,
  :func:`random_events`, :func:`write_nmnist_folder`, :func:`export_ia_t_carry` (an IA-T gate whose
  per-tile restart in a DDR-mode core matters; :func:`reference_without_ia_t_restart` is the core without it);
- :data:`HW_CASES`: the models every executable backend (reference, HLS C-sim, RTL, emulator) must agree
  on, tests/test_backends.py;
- checks: :func:`rtl_check_bitexact` (every spike of every layer through the RTL's tap),
  :func:`hls_assert_same` (HLS C-sim = reference, cycle model included).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CHECKPOINT = REPO / "model_export" / "checkpoints" / "digits_or.pt"
DIGITS_SPEC = dict(steps=4, channels=1, height=8, width=8, encoding="pixels", bits=5, scale=1 / 16, static=True)
DVS_SPEC = dict(steps=4, channels=2, height=8, width=8, encoding="counts", bits=3, scale=1.0, static=False)
DVS_GESTURE_SPEC = dict(steps=4, channels=2, height=16, width=16, encoding="counts", bits=3, scale=1.0, static=False)


# =============================================================================== bundles
def small_config(merge="OR", attention=None, steps=4, width=0.125):
    from model_export.model import make_config
    return make_config("mnist", width=width, input_size=8, steps=steps, merge=merge, attention=attention)


def random_inputs(n=4, steps=4, seed=0):
    return np.random.default_rng(seed).integers(0, 17, (n, steps, 1, 8, 8))


def random_model(cfg, x_int, seed=0):
    import torch

    from model_export.model import SynAResNet
    from model_export.testing import randomize
    xf = torch.from_numpy(x_int / 16.0).float().transpose(0, 1)
    return randomize(SynAResNet(cfg), xf, seed=seed)


def export_demo(out: Path, golden: int = 8) -> Path:
    """The shipped digits checkpoint exported as `make demo` does (numbers not hard-coded here)."""
    from model_export.export import export_checkpoint
    export_checkpoint(CHECKPOINT, out, samples=golden)
    return out


def export_digits(out: Path, golden: int = 4) -> tuple[Path, np.ndarray, np.ndarray]:
    """The shipped digits checkpoint exported as in `make demo`; returns (bundle, held-out x, labels).

    Nothing here depends on the checkpoint's numbers: the lead may replace it."""
    from model_export.checkpoint import load_checkpoint
    from model_export.data import load_split
    from model_export.export import write_bundle

    ck = load_checkpoint(CHECKPOINT)
    x, y = load_split(ck.dataset, "test", ck.model.config)
    settings = ck.quant_settings()
    write_bundle(ck.model, out, settings, ck.input_spec, x[:golden], y[:golden])
    return out, x, y


def export_dvs(out: Path, seed: int = 0, samples: int = 3) -> tuple[Path, np.ndarray]:
    """A small random 2-channel model on 3-bit event counts (a DVS-like input spec, 8x8)."""
    import torch

    from model_export.export import write_bundle
    from model_export.model import SynAResNet, make_config
    from model_export.quant import QuantSettings
    from model_export.testing import randomize

    rng = np.random.default_rng(seed)
    x = rng.integers(0, 8, (samples, 4, 2, 8, 8))
    cfg = make_config("mnist", width=0.125, input_size=8, steps=4, in_channels=2, merge="OR")
    model = randomize(SynAResNet(cfg), torch.from_numpy(x / 4.0).float().transpose(0, 1), seed=seed)
    write_bundle(model, out, QuantSettings(weight_bits=8, input_scale=1.0), DVS_SPEC, x)
    return out, x


def export_dvs_like(out: Path, seed: int = 1, samples: int = 3, weight_bits: int = 6) -> Path:
    """Small random dvs_gesture-preset model: 2 input channels, 3-bit counts, k7 s2 stem, max-pool, 11 classes."""
    import torch

    from model_export.export import write_bundle
    from model_export.model import SynAResNet, make_config
    from model_export.quant import QuantSettings
    from model_export.testing import randomize

    rng = np.random.default_rng(seed)
    x = rng.integers(0, 8, (samples, 4, 2, 16, 16)) * (rng.random((samples, 4, 2, 16, 16)) < 0.3)
    cfg = make_config("dvs_gesture", width=0.125, input_size=16, steps=4)
    model = randomize(SynAResNet(cfg), torch.from_numpy(x / 4.0).float().transpose(0, 1), seed=seed)
    write_bundle(model, out, QuantSettings(weight_bits=weight_bits, input_scale=1.0), DVS_GESTURE_SPEC, x)
    return out


def random_events(rng, n: int, height: int, width: int, t_max: int = 100_000):
    t = np.sort(rng.integers(0, t_max, n))
    return (rng.integers(0, width, n), rng.integers(0, height, n), rng.integers(0, 2, n), t)


def write_nmnist_folder(root: Path, per_digit=(2, 1), seed=0) -> Path:
    """An N-MNIST-shaped folder (Train/Test/<digit>/<k>.bin) of random recordings, a digit-dependent blob each."""
    from host.eventfiles import write_nmnist
    rng = np.random.default_rng(seed)
    for split, n in zip(("Train", "Test"), per_digit):
        for d in range(10):
            (root / split / str(d)).mkdir(parents=True, exist_ok=True)
            for k in range(n):
                m = int(rng.integers(300, 900))
                t = np.sort(rng.integers(0, 300_000, m))
                # a digit-dependent blob, so the classes differ
                cx, cy = 5 + 2.5 * d, 17 + 8 * np.sin(d)
                x = np.clip(rng.normal(cx, 3, m), 0, 33).astype(int)
                y = np.clip(rng.normal(cy, 3, m), 0, 33).astype(int)
                write_nmnist(root / split / str(d) / f"{k:05d}.bin", x, y, rng.integers(0, 2, m), t)
    return root


# =============================================================================== the hardware case table
@dataclass(frozen=True)
class HwCase:
    """One model every backend runs (tests/test_backends.py): a small random digits model with this merge,
    attention (dim, position of numerics.md section 6: MA on the backbone, IA on the shortcuts) and
    quantisation, at ``lanes`` (P) lanes; or (``dvs``) the DVS-like model of :func:`export_dvs_like`."""
    name: str
    merge: str = "OR"
    attention: tuple[str, str] | None = None
    weight_bits: int = 8
    mem_bits: int = 16
    lanes: int = 8
    samples: int = 3
    seed: int = 0
    dvs: bool = False

    def write(self, out: Path) -> Path:
        if self.dvs:
            return export_dvs_like(out, seed=self.seed, samples=self.samples, weight_bits=self.weight_bits)
        from model_export.export import write_bundle
        from model_export.model import AttentionSpec
        from model_export.quant import QuantSettings
        att = AttentionSpec(*self.attention) if self.attention else None
        x = random_inputs(self.samples, seed=self.seed)
        write_bundle(random_model(small_config(self.merge, att), x, seed=self.seed), out,
                     QuantSettings(weight_bits=self.weight_bits, mem_bits=self.mem_bits, input_scale=1 / 16),
                     DIGITS_SPEC, x, attention_check="warn")
        # "warn": the table also runs settings under which attention cannot work (IA at mem_bits 8) on
        # purpose, for bit-exactness; tests/test_attention_checks.py checks that export refuses them
        return out


# Each merge kind at a small and a large lane count (OR 16, 8, 3; AND 16, 4; IAND 1, 32), attention MA+IA
# in dims T and C, saturating 8-bit membranes, a non-native membrane width, 4-bit weights, lane counts
# 1, 3 (groups that do not divide the channels; the HLS core refuses it), 4, 8, 16, 32, and the DVS-like
# model: the features of the lists this table replaced (test_hls.RANDOM_CASES, test_rtl_core's merge x
# lanes grid and ATT_CASES) in 8 models, each built once per backend. Seeds as there (seed = lanes).
HW_CASES = [
    HwCase("or-p16", "OR", lanes=16, samples=5, seed=16),
    HwCase("iand-m8-p1", "IAND", mem_bits=8, lanes=1, samples=5, seed=1),             # mem 8: saturates a lot
    HwCase("and-p16", "AND", lanes=16, seed=16),
    HwCase("maT-iaT-or-m8-p8", "OR", ("T", "a"), mem_bits=8, lanes=8, samples=5, seed=8),   # IA's theta > 8 bits
    HwCase("maC-iaC-iand-w4-m12-p32", "IAND", ("C", "b"), weight_bits=4, mem_bits=12, lanes=32, samples=5,
           seed=32),                                                                  # IA's input saturates
    HwCase("maT-iaT-and-w4-m8-p4", "AND", ("T", "b"), weight_bits=4, mem_bits=8, lanes=4, samples=5, seed=4),
    HwCase("maC-iaC-or-m8-p3", "OR", ("C", "c"), mem_bits=8, lanes=3, seed=3),
    HwCase("dvs-like-p8", lanes=8, weight_bits=6, seed=1, dvs=True),                  # 2 channels, k7 s2 stem, pool
]


def export_ia_t_carry(out: Path, seed: int = 2, samples: int = 3, block: int = 2) -> Path:
    """A MA-T/IA-T digits model (OR, T = 4, 12-bit membranes) whose IA-T gate neuron on ``b<block>.short``
    ends every sample with a membrane far from rest, so that a core which does not restart that neuron at
    each pass-2 output-channel tile (docs/rtl.md "Weights in DDR") gates the later tiles differently.

    The IA MLP (hidden 1) is set to fc1 = 1/4 (sums the pooled step values) and fc2 = k * [1, 0, 0, -1]:
    the gate input is a = A * [1, 0, 0, -1] (A > 0, units of 1/256). From rest (numerics.md section 6,
    theta 256, h = (v + a) >> 1): t = 0 fires when A >= 512, t = 1, 2 stay at 0, t = 3 leaves v = -A/2.
    A neuron carried into the next tile starts at -A/2: h = A/4 at t = 0, which stays shut for A < 1024.
    k puts the float logit of t = 0 at 3 (A ~ 768, the middle of [512, 1024)) on the median sample.
    :func:`reference_without_ia_t_restart` is that wrong core in numpy (tests check it differs)."""
    import torch

    from model_export.export import write_bundle
    from model_export.model import AttentionSpec, attention_logits
    from model_export.quant import QuantSettings
    x = random_inputs(samples, seed=seed)
    model = random_model(small_config("OR", AttentionSpec("T", "a")), x, seed=seed)
    att = dict(model.named_modules())[f"blocks.{block}.short.attn"]
    seen = {}
    hook = att.register_forward_pre_hook(lambda m, inp: seen.update(x=inp[0].detach()))
    with torch.no_grad():
        att.body.fc1.weight.fill_(0.25)
        att.body.fc2.weight.copy_(torch.tensor([[1.0], [0.0], [0.0], [-1.0]]))
        model(torch.from_numpy(x / 16.0).float().transpose(0, 1))
        first = attention_logits(seen["x"], "T", att.body)[:, 0]
        att.body.fc2.weight.mul_(3.0 / float(first.median()))
    hook.remove()
    write_bundle(model, out, QuantSettings(weight_bits=8, mem_bits=12, input_scale=1 / 16), DIGITS_SPEC, x,
                 attention_check="warn")
    return out


def reference_without_ia_t_restart(bundle, x: np.ndarray, ddr) -> "object":
    """The reference run as a DDR-mode core that does NOT restart the IA-T gate neuron per pass-2 tile
    would compute it: the neuron runs the T steps for tile 0's channels, then goes on from its last
    membrane for tile 1's, and so on (tiles of ``ddr``: syna_hw.lowering.ddr_weights). Only to show that a
    test model tells the two apart; the contract (and the reference) restarts it: one gate train per layer."""
    from unittest import mock

    from syna_contract import numerics as nx
    from syna_contract.reference import Reference
    tiles = {l.name: [(g0 * ddr.lanes, (g0 + l.tile_groups) * ddr.lanes) for g0 in range(0, l.groups, l.tile_groups)]
             for l in ddr.layers}

    class Carried(Reference):
        def _attention(self, l, cur, stats=None):
            a = l.attention
            if a.kind != "IA" or a.dim != "T" or len(tiles.get(l.name, ())) < 2:
                return super()._attention(l, cur, stats)
            seen = {}
            real = nx.lif_sequence

            def keep(seq, theta):
                seen["a"] = seq
                return real(seq, theta)
            with mock.patch.object(nx, "lif_sequence", keep):
                _, sat = super()._attention(l, cur, stats)
            a_t = seen["a"]                                              # [T, N] gate inputs
            v = np.zeros(a_t.shape[1:], dtype=np.int64)
            gate = np.zeros(a_t.shape + (cur.shape[2],), dtype=np.int64)  # [T, N, C]
            for lo, hi in tiles[l.name]:
                for t in range(a_t.shape[0]):
                    v, q = nx.lif_step(v, a_t[t], 1 << nx.IA_UNIT_LOG2)
                    gate[t, :, lo:hi] = q[:, None]
            return np.maximum(cur, 0) * gate[:, :, :, None, None], sat

    return Carried(bundle).run(x)


# =============================================================================== checks
def ddr_bytes_by_doc(d) -> int:
    """The bytes a DDR core reads per inference, by docs/hls-core.md's formula (not the implementation's
    ``DdrWeights.bytes_per_inference``, which the tests compare with it): the weights check (the image's
    128-byte header in whole rows, max(128, row_bytes)), then the sum over conv / fc layers of loads x G x
    w_block_bytes, loads = 2 for an attention layer of 2+ tiles (pass 2 reloads), else 1; every tile is
    one range of n x w_block_bytes bytes."""
    from syna_contract import ddr_image as di
    total = max(di.HEADER_FIXED, d.row_bytes)
    for l in d.layers:
        tiles = -(-l.groups // l.tile_groups)
        total += (2 if l.attention and tiles > 1 else 1) * l.groups * l.w_block_bytes
    return total


def rtl_check_bitexact(core, samples=None) -> list:
    """Run a bundle's golden inputs through an RtlCore; assert scores, counts, status and every spike
    map (the simulation tap); return the unpacked output packets (protocol.CoreOutput: .cycles,
    .saturations, ...), one per sample."""
    from syna_contract import protocol as P
    g = core.bundle.golden()
    spec = core.bundle.input_spec
    outs = []
    for i in range(len(g["input"]) if samples is None else samples):
        r = core.run(P.pack_frames(g["input"][i], spec["bits"]), spec["steps"])
        assert not r.timed_out, f"sample {i}: the core did not finish"
        o = P.unpack_output(r.out, core.classes, core.layers)
        np.testing.assert_array_equal(o.scores, g["scores"][i], err_msg=f"sample {i}: scores")
        maps = core.spike_maps(r.taps)
        for name in core.layers:
            gm = g[f"spikes/{name}"][i]
            assert o.spike_counts[name] == int(gm.sum()), f"sample {i} layer {name}: spike count"
            bad = np.argwhere(maps[name] != gm)
            assert bad.size == 0, f"sample {i} layer {name}: {len(bad)} spikes differ, first at [t,c,y,x]={bad[0]}"
        assert o.errors == [], f"sample {i}: status {P.decode_status(o.status)}"
        assert abs(o.cycles - r.cycles) <= 4, (o.cycles, r.cycles)     # core count vs the harness clock
        assert core.reg_read(P.REG_CYCLES) == o.cycles
        assert core.reg_read(P.REG_STATUS) == o.status
        outs.append(o)
    return outs


def hls_assert_same(res, ref, lanes: int, bundle, x: np.ndarray) -> None:
    """HLS C-sim result = reference result (syna_hw.hls_core.compare); the SATURATED status bit exactly
    when the inference saturated; the cycle counter is the documented cycle model, sample by sample."""
    from syna_contract import protocol as pr
    from syna_hw import hls_core as hc
    msg = hc.compare(res, ref)
    assert msg is None, msg
    assert np.array_equal((res.status & pr.STATUS_SATURATED) != 0, res.sample_saturations > 0)
    for i in range(min(len(x), 3)):
        rep = hc.cycle_model(bundle.layers, bundle.input_spec, x[i], {k: v[i] for k, v in ref.spikes.items()}, lanes)
        assert rep.cycles == int(res.cycles[i]), f"sample {i}: C++ counted {res.cycles[i]}, model {rep.cycles}"
        for name, c in rep.layers.items():
            assert int(res.layer_cycles[name][i]) == c, f"layer {name}: {res.layer_cycles[name][i]} vs model {c}"
