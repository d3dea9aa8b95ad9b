"""Checkpoint -> export bundle (manifest, ROMs, C++ header, golden vectors)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from . import numerics as nx
from .bundle import FORMAT_NAME, GOLDEN, MANIFEST, load_bundle, model_hash, sha256_file, write_header, write_rom
from .checkpoint import load_checkpoint
from .fakequant import run_quant
from .graph import INPUT, build_graph
from .quant import QuantModel, QuantSettings, UnsupportedError, fixed_multiplier, quantize_model


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().double().numpy().round().astype(np.int64)


def _check_bound(name: str, bound: int, bits: int, what: str) -> None:
    if bound >= 2 ** (bits - 1):
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
            bound = int(np.abs(w).reshape(-1, w.shape[-1]).sum(axis=0).max()) * xmax + int(np.abs(b).max())
            _check_bound(name, bound, nx.ACC_BITS, "synaptic current")
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
            bound = pool * int(np.abs(w).sum(axis=0).max()) + pool * int(np.abs(b).max())
            _check_bound(name, bound, nx.SCORE_BITS, "class score")
            l.update(weight_bits=q.fc.weight_bits, score_scale=q.fc.scale / pool)
            params[name] = dict(weights=w, bias=b)
    return layers, params


ROM_BITS = {"bias": nx.BIAS_BITS}


def write_bundle(model, out: Path, settings: QuantSettings, input_spec: dict,
                 samples: np.ndarray | None = None, labels: np.ndarray | None = None,
                 extra: dict | None = None) -> Path:
    """Quantise ``model`` and write a bundle into ``out`` (replaced if it exists).

    ``samples`` (integer, [K, T, C, H, W]) become the golden vectors, computed
    by the torch fake-quant model (the PyTorch side of every bit-exact check)."""
    out = Path(out)
    model = model.eval()
    q = quantize_model(model, settings)
    layers, params = bundle_layers(q, input_spec)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for l in tqdm(layers, desc="ROMs", unit="layer", leave=False):
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
        write_golden(out, q, samples, labels)
        manifest["golden"] = dict(file=GOLDEN, sha256=sha256_file(out / GOLDEN), samples=int(len(samples)))
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1))
    write_header(out, manifest, params)
    return out


def write_golden(out: Path, q: QuantModel, samples: np.ndarray, labels: np.ndarray | None,
                 batch: int = 8) -> None:
    """Golden vectors from the torch fake-quant: input, every layer's spikes at every step, scores."""
    chunks: list = []
    with torch.no_grad():
        for i in tqdm(range(0, len(samples), batch), desc="golden vectors", unit="batch", leave=False):
            x = torch.from_numpy(samples[i:i + batch].astype(np.float64)).transpose(0, 1)
            chunks.append(run_quant(q, x))
    arrays = {"input": samples.astype(np.uint16),
              "scores": np.concatenate([c.scores.numpy() for c in chunks]).astype(np.int64)}
    for name in chunks[0].spikes:
        arrays[f"spikes/{name}"] = np.concatenate(
            [c.spikes[name].transpose(0, 1).numpy() for c in chunks]).astype(np.uint8)
        arrays[f"saturations/{name}"] = np.array([c.saturations.get(name, 0) for c in chunks]).sum()
    if labels is not None:
        arrays["labels"] = np.asarray(labels, dtype=np.int64)
    np.savez_compressed(out / GOLDEN, **arrays)


def export_checkpoint(checkpoint: str | Path, out: str | Path, weight_bits: int | None = None,
                      mem_bits: int = nx.DEFAULT_MEM_BITS, samples: int = 8) -> Path:
    """The ``export`` command: golden samples come from the checkpoint's dataset (held-out split).

    ``weight_bits`` defaults to the bits the checkpoint was fine-tuned for, else 8."""
    from .data import load_split
    ck = load_checkpoint(checkpoint)
    spec = ck.input_spec
    bits = weight_bits or ck.weight_bits(nx.DEFAULT_WEIGHT_BITS)
    settings = QuantSettings(weight_bits=bits, mem_bits=mem_bits, input_scale=spec["scale"])
    x = y = None
    if samples > 0:
        x, y = load_split(ck.dataset, "test", ck.model.config, limit=samples)
    path = write_bundle(ck.model, Path(out), settings, spec, x, y,
                        extra=dict(source=dict(checkpoint=Path(checkpoint).name, dataset=ck.dataset)))
    load_bundle(path)  # what we wrote must load
    return path
