"""Checkpoint -> export bundle (manifest, ROMs, C++ header, golden vectors).

With pruning (``prune.py``), silent shortcuts leave the layer graph before
anything is written; ``export_checkpoint(..., prune_silent_shortcuts=True)``
finds them with the integer reference on the held-out split and verifies the
pruned bundle against the unpruned one on the same samples.
"""
from __future__ import annotations

import json
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from .progress import progress

from syna_contract import numerics as nx
from syna_contract.bundle import FORMAT_NAME, GOLDEN, MANIFEST, load_bundle, model_hash, sha256_file, write_rom
from syna_contract.ddr_image import check_lanes, write_image
from .checkpoint import load_checkpoint
from .fakequant import run_quant
from syna_contract.checks import AttentionSettingsError, check_attention, check_bundle, raise_on_errors
from syna_contract.graph import INPUT, build_graph
from .prune import PruneError, prune_layers
from .quant import QuantModel, QuantSettings, UnsupportedError, fixed_multiplier, quantize_model


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().double().numpy().round().astype(np.int64)


def _check_bound(name: str, bound: int, bits: int, what: str) -> None:
    if not nx.fits_signed(bound, bits):
        raise UnsupportedError(
            f"layer {name}: worst-case {what} {bound} does not fit the {bits}-bit accumulator; "
            f"use fewer weight bits or a smaller model")


def bundle_layers(q: QuantModel, input_spec: dict) -> tuple[list[dict], dict[str, dict[str, np.ndarray]]]:
    """The manifest's layer list (without files) and the integer arrays for each ROM."""
    layers = build_graph(q.config)
    params: dict[str, dict[str, np.ndarray]] = {}
    xmax_input = 2 ** input_spec["bits"] - 1
    for l in layers:
        name = l["name"]
        if l["kind"] == "conv_lif":
            qc = q.convs[name]
            w = _np(qc.weight).transpose(1, 2, 3, 0)                 # OIHW -> [Cin][K][K][Cout]
            b, th = _np(qc.bias), _np(qc.threshold)
            xmax = xmax_input if INPUT in l["inputs"] else 1
            _check_bound(name, int(nx.conv_acc_bound(w, b, xmax).max()), nx.ACC_BITS, "synaptic current")
            _check_bound(name, int(np.abs(b).max()), nx.BIAS_BITS, "bias")
            l.update(weight_bits=qc.weight_bits, encoder=INPUT in l["inputs"],
                     scale="per_channel" if qc.per_channel else "per_tensor")
            params[name] = dict(weights=w, bias=b, threshold=th)
            if qc.attention is not None:
                a = qc.attention
                steps, (c, h, wd) = q.config.steps, l["out_shape"]
                pooled = c * h * wd if a.dim == "T" else steps * h * wd
                l["attention"] = dict(kind=a.kind, dim=a.dim, size=steps if a.dim == "T" else c,
                                      hidden=int(a.w1.shape[0]), weight_bits=a.weight_bits,
                                      avg_mult=list(fixed_multiplier(1.0 / pooled)), out_mult=list(a.out_mult))
                params[name].update(att_w1=_np(a.w1), att_w2=_np(a.w2))
        elif l["kind"] == "fc":
            c, h, wd = l["in_shape"]
            w, b = _np(q.fc.weight).T, _np(q.fc.bias)                 # [Cin][classes]
            pool = q.config.steps * h * wd
            _check_bound(name, int(nx.score_bound(w, b, pool).max()), nx.SCORE_BITS, "class score")
            l.update(weight_bits=q.fc.weight_bits, score_scale=q.fc.scale / pool)
            params[name] = dict(weights=w, bias=b)
    return layers, params


ROM_BITS = {"bias": nx.BIAS_BITS}


ATTENTION_CHECKS = ("refuse", "warn")


def _report(findings, check: str, what: str) -> None:
    """Print every attention finding (stderr); with ``check="refuse"`` raise on the errors."""
    for f in findings:
        if f.level == "warning" or check == "warn":
            print(f"warning: {f.layer}: {f.message}", file=sys.stderr)
    if check == "refuse":
        raise_on_errors(findings, what)


def write_bundle(model, out: Path, settings: QuantSettings, input_spec: dict,
                 samples: np.ndarray | None = None, labels: np.ndarray | None = None,
                 extra: dict | None = None, prune: Sequence[str] = (), ddr_lanes: int | None = None,
                 attention_check: str = "refuse") -> Path:
    """Quantise ``model`` and write a bundle into ``out`` (replaced if it exists).

    ``samples`` (integer, [K, T, C, H, W]) become the golden vectors, computed
    by the torch fake-quant model (the PyTorch side of every bit-exact check).
    ``prune``: shortcut layers to drop (``prune.prune_layers``); each must be silent
    on every golden sample, else :class:`PruneError`. ``ddr_lanes``: also write the DDR weight
    image for P = ``ddr_lanes`` lanes (``syna_contract.ddr_image``; outside the model hash).
    ``attention_check``: settings under which attention cannot work (``syna_contract.checks``: IA
    gates that can never fire, attention sums that clamp heavily on the golden samples) raise
    :class:`AttentionSettingsError` with the reason and the counts (``"refuse"``, and nothing is
    left in ``out``) or are printed as warnings (``"warn"``). Lesser findings are always printed."""
    if attention_check not in ATTENTION_CHECKS:
        raise ValueError(f"attention_check {attention_check!r}; expected one of {ATTENTION_CHECKS}")
    out = Path(out)
    if ddr_lanes is not None:
        check_lanes(ddr_lanes)                 # before anything is written
    model = model.eval()
    q = quantize_model(model, settings)
    layers, params = bundle_layers(q, input_spec)
    static = dict(layers=layers, input=input_spec, numerics=dict(mem_bits=settings.mem_bits))
    _report(check_attention(static, params), attention_check, "export")     # before anything is written
    if prune:
        layers, _ = prune_layers(layers, list(prune))
        kept = {l["name"] for l in layers}
        params = {k: v for k, v in params.items() if k in kept}
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for l in progress(layers, desc="ROMs", unit="layer", leave=False):
        for rom, values in params.get(l["name"], {}).items():
            bits = ROM_BITS.get(rom, settings.mem_bits if rom == "threshold" else l.get("weight_bits"))
            if rom.startswith("att_"):
                bits = l["attention"]["weight_bits"]
            write_rom(out, l, rom, values, bits)
    manifest = dict(
        format=FORMAT_NAME, format_version=nx.FORMAT_VERSION,
        model_config=q.config.to_dict(), input=input_spec,
        numerics=dict(mem_bits=settings.mem_bits, acc_bits=nx.ACC_BITS, bias_bits=nx.BIAS_BITS,
                      score_bits=nx.SCORE_BITS, weight_bits=settings.weight_bits,
                      gate_frac_bits=nx.GATE_FRAC_BITS, sigmoid_index_bits=nx.SIGMOID_INDEX_BITS,
                      sigmoid_step_log2=nx.SIGMOID_STEP_LOG2, ia_unit_log2=nx.IA_UNIT_LOG2),
        layers=layers, **(extra or {}))
    manifest["model_hash"] = model_hash(manifest)
    if samples is not None:
        write_golden(out, q, samples, labels, layers=[l["name"] for l in layers], silent=list(prune))
        manifest["golden"] = dict(file=GOLDEN, sha256=sha256_file(out / GOLDEN), samples=int(len(samples)))
    if ddr_lanes is not None:
        manifest["ddr_image"] = write_image(out, manifest, params, ddr_lanes)
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1))
    if samples is not None and len(samples) and any(l.get("attention") for l in layers):
        # measured on the golden samples by the integer reference: clamps inside attention, IA gate spikes
        findings = [f for f in check_bundle(load_bundle(out, check_golden=False), samples)
                    if f.kind in ("saturations", "silent_gate")]
        try:
            _report(findings, attention_check, f"export ({len(samples)} golden samples)")
        except AttentionSettingsError:
            shutil.rmtree(out)
            raise
    return out


def write_golden(out: Path, q: QuantModel, samples: np.ndarray, labels: np.ndarray | None,
                 batch: int = 8, layers: list[str] | None = None, silent: Sequence[str] = ()) -> None:
    """Golden vectors from the torch fake-quant: input, every layer's spikes at every step, scores.

    ``layers``: the bundle's layers (default all); ``silent``: pruned shortcuts, checked to have
    no spike in any golden sample."""
    chunks: list = []
    with torch.no_grad():
        for i in progress(range(0, len(samples), batch), desc="golden vectors", unit="batch", leave=False):
            x = torch.from_numpy(samples[i:i + batch].astype(np.float64)).transpose(0, 1)
            chunks.append(run_quant(q, x))
    arrays = {"input": samples.astype(np.uint16),
              "scores": np.concatenate([c.scores.numpy() for c in chunks]).astype(np.int64)}
    for name in silent:
        fired = sum(int(c.spikes[name].sum()) for c in chunks)
        if fired:
            raise PruneError(f"shortcut {name!r} fires {fired} times on the golden samples; a pruned bundle "
                             "would differ from the model on them")
    for name in chunks[0].spikes:
        if layers is not None and name not in layers:
            continue
        arrays[f"spikes/{name}"] = np.concatenate(
            [c.spikes[name].transpose(0, 1).numpy() for c in chunks]).astype(np.uint8)
        arrays[f"saturations/{name}"] = np.array([c.saturations.get(name, 0) for c in chunks]).sum()
    if labels is not None:
        arrays["labels"] = np.asarray(labels, dtype=np.int64)
    np.savez_compressed(out / GOLDEN, **arrays)


def export_checkpoint(checkpoint: str | Path, out: str | Path, weight_bits: int | None = None,
                      mem_bits: int = nx.DEFAULT_MEM_BITS, samples: int = 8, prune_silent_shortcuts: bool = False,
                      prune_samples: int | None = None, ddr_lanes: int | None = None,
                      attention_check: str = "refuse") -> Path:
    """The ``export`` command: golden samples come from the checkpoint's dataset (held-out split).

    ``weight_bits`` defaults to the bits the checkpoint was fine-tuned for, else 8.
    ``prune_silent_shortcuts``: see :func:`prune_silent`. ``ddr_lanes``: see :func:`write_bundle`."""
    from .data import load_split
    from .recipe import dataset_kwargs
    ck = load_checkpoint(checkpoint)
    spec = ck.input_spec
    settings = ck.quant_settings(weight_bits, mem_bits)
    _, split_opts = dataset_kwargs(ck.meta.get("train_args", {}))
    x = y = None
    if samples > 0:
        x, y = load_split(ck.dataset, "test", ck.model.config, limit=samples, **split_opts)
    extra = dict(source=dict(checkpoint=Path(checkpoint).name, dataset=ck.dataset))
    if not prune_silent_shortcuts:
        path = write_bundle(ck.model, Path(out), settings, spec, x, y, extra=extra, ddr_lanes=ddr_lanes,
                            attention_check=attention_check)
        load_bundle(path)  # what we wrote must load
        return path
    xd, _ = load_split(ck.dataset, "test", ck.model.config, limit=prune_samples, **split_opts)
    return prune_silent(ck.model, Path(out), settings, spec, xd, x, y, extra, ddr_lanes=ddr_lanes,
                            attention_check=attention_check)


def prune_silent(model, out: Path, settings: QuantSettings, input_spec: dict, decide: np.ndarray,
                 samples: np.ndarray | None, labels: np.ndarray | None, extra: dict, split: str = "test",
                 ddr_lanes: int | None = None, attention_check: str = "refuse") -> Path:
    """Write a bundle without the shortcuts the integer model leaves silent on every sample of ``decide``.

    The unpruned bundle is written to a temporary directory and run through the integer reference
    on ``decide``; shortcuts without a spike are pruned; then both bundles run ``decide`` again and
    must agree on every score and on every spike of every remaining layer (else :class:`PruneError`).
    The manifest's ``pruning`` records the split, the number of samples and what was pruned."""
    from .prune import silent_shortcuts
    from syna_contract.reference import Reference
    out = Path(out)
    with tempfile.TemporaryDirectory(prefix="unpruned-", dir=out.parent if out.parent.exists() else None) as tmp:
        full = load_bundle(write_bundle(model, Path(tmp) / "bundle", settings, input_spec, extra=extra,
                                        attention_check=attention_check))
        ref_full = Reference(full)
        counts = ref_full.run(decide, keep_spikes=False).spike_counts
        silent = silent_shortcuts(full.layers, counts)
        _, records = prune_layers(full.layers, silent)
        info = dict(method="shortcut LIF silent in the integer reference", split=split, samples=int(len(decide)),
                    pruned=records)
        path = write_bundle(model, out, settings, input_spec, samples, labels, prune=silent,
                            extra=dict(extra, pruning=info), ddr_lanes=ddr_lanes,
                            attention_check=attention_check)
        pruned = load_bundle(path)
        if silent:
            _verify_identical(ref_full, Reference(pruned), decide, silent)
    return path


def _verify_identical(full, pruned, x: np.ndarray, silent: list[str], batch: int = 64) -> None:
    """Scores and every remaining layer's spikes equal on ``x``; the pruned shortcuts silent there."""
    for i in progress(range(0, len(x), batch), desc="verify pruned bundle", unit="batch", leave=False):
        a, b = full.run(x[i:i + batch]), pruned.run(x[i:i + batch])
        if not np.array_equal(a.scores, b.scores):
            raise PruneError(f"pruned bundle: scores differ from the unpruned bundle on samples {i}..{i + batch}")
        for name, s in b.spikes.items():
            if not np.array_equal(a.spikes[name], s):
                raise PruneError(f"pruned bundle: layer {name} spikes differ on samples {i}..{i + batch}")
        for name in silent:
            if a.spikes[name].any():
                raise PruneError(f"shortcut {name} fires on samples {i}..{i + batch}")
