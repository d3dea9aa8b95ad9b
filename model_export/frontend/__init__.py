"""Bring your own SpikingJelly model: ``convert(model, ...)`` -> an hls4ml-style converted model.

    from model_export.frontend import convert
    cm = convert(net, input_shape=(1, 8, 8), steps=4, input_bits=4)     # trace, lower, check
    print(cm.summary())                                                  # layer graph <- your modules
    cm.write("build/mynet")                                              # bundle: ROMs, header, golden
    cm.compile("hls")                                                    # 'reference' | 'hls' | 'rtl'
    scores = cm.predict(x_int)                                           # integer [N, T, C, H, W]
    cm.plan("pynq-z2"); cm.build("pynq-z2")                              # plan; Vitis HLS flow

The model is traced on a sample input (:mod:`.trace`), lowered to the bundle's layer graph
(:mod:`.lower`, which refuses what the integer contract cannot run, naming the module and why),
checked to reproduce the model's float output and every layer's spikes on fresh inputs, and
exported by the project's own quantiser (:mod:`model_export.export`). docs/bring-your-own-model.md.
"""
from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn as nn
from spikingjelly.activation_based import functional

from syna_contract import numerics as nx
from .converted import BuildError, ConvertedConfig, ConvertedModel, ConvertedNet, Result
from .lower import ConversionError, is_leaf, lower
from .trace import record

__all__ = ["convert", "ConvertedModel", "ConversionError", "BuildError", "Result"]

GOLDEN_SAMPLES = 4


def _spec(input_shape, steps, input_bits, input_scale, encoding, static) -> dict:
    shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else ()
    if len(shape) != 3 or not all(isinstance(v, int) and v >= 1 for v in shape):
        raise ValueError(f"input_shape {input_shape!r}; expected (C, H, W) of one time step, positive integers")
    if not (isinstance(steps, int) and steps >= 1):
        raise ValueError(f"steps {steps!r}; expected a positive number of time steps T")
    if not (isinstance(input_bits, int) and 1 <= input_bits <= 16):
        raise ValueError(f"input_bits {input_bits!r}; expected 1..16 (unsigned integer input)")
    if encoding not in ("pixels", "counts"):
        raise ValueError(f"encoding {encoding!r}; expected 'pixels' or 'counts'")
    if input_scale is None:
        input_scale = 1.0 / (2 ** input_bits - 1) if encoding == "pixels" else 1.0
    if not (float(input_scale) > 0 and np.isfinite(input_scale)):
        raise ValueError(f"input_scale {input_scale!r}; expected the positive float value of one input unit")
    c, h, w = shape
    return dict(steps=steps, channels=c, height=h, width=w, encoding=encoding, bits=input_bits,
                scale=float(input_scale), static=bool(static))


def _float_input(x_int: np.ndarray, spec: dict, dtype) -> torch.Tensor:
    return torch.from_numpy(x_int * spec["scale"]).to(dtype).transpose(0, 1).contiguous()


def _check_equivalent(user: nn.Module, net: ConvertedNet, units: dict, x: torch.Tensor, what: str) -> None:
    """The converted net must give the user's model's scores and, layer by layer, its spikes."""
    seen: dict[str, torch.Tensor] = {}
    handles = [u.lif.register_forward_hook(lambda m, a, o, n=n: seen.__setitem__(n, o.clone()))
               for n, u in units.items()]
    try:
        with torch.no_grad():
            functional.reset_net(user)
            want = user(x)
            got = net.spikes(x)
        if want.dim() == 3:                      # per-step scores [T, N, classes]: the readout averages them
            want = want.mean(dim=0)
    finally:
        for h in handles:
            h.remove()
        functional.reset_net(user)
    for name in units:
        if not torch.equal(got[name], seen[name]):
            n = int((got[name] != seen[name]).sum())
            raise ConversionError(f"layer {name} ({units[name].paths['lif']}): {n} spikes of the converted graph differ "
                                  f"from the model's on {what}; the model's forward takes a path the trace did not "
                                  "see (data-dependent control flow?) or uses state the converter does not know")
    scores = got["scores"]
    tol = 1e-4 * (1 + float(want.abs().max()))
    if want.shape != scores.shape or not torch.allclose(scores.double(), want.double(), rtol=1e-4, atol=tol):
        raise ConversionError(f"the converted graph's scores differ from the model's on {what} (max difference "
                              f"{float((scores.double() - want.double()).abs().max()):.3g}); the readout is not "
                              "what the trace recorded")


def convert(model: nn.Module, input_shape, steps: int, *, input_bits: int = 8, input_scale: float | None = None,
            encoding: str = "pixels", static: bool = False, weight_bits: int = nx.DEFAULT_WEIGHT_BITS,
            mem_bits: int = nx.DEFAULT_MEM_BITS, samples: np.ndarray | None = None,
            labels: np.ndarray | None = None, output_dir=None, seed: int = 0) -> ConvertedModel:
    """Convert a multi-step SpikingJelly ``model`` (float input time-major ``[T, N, C, H, W]``,
    scores ``[N, classes]``, or per-step scores ``[T, N, classes]`` read as their mean over T) for the core.

    ``input_shape`` = (C, H, W) of one step and ``steps`` = T; the hardware's input is unsigned
    ``input_bits``-bit integers ``x`` with float value ``x * input_scale`` (default ``1 / (2^bits - 1)``
    for ``'pixels'``, ``1`` for ``'counts'``). ``weight_bits`` / ``mem_bits``: docs/numerics.md.
    ``samples`` (integer [N, T, C, H, W], optional ``labels``) become the bundle's golden vectors;
    without them ``GOLDEN_SAMPLES`` random inputs (``seed``) are used. The user's model is not changed.

    Raises :class:`ConversionError` naming the module (path and type) or the torch operations the
    integer contract cannot run, and why."""
    from ..quant import QuantSettings
    spec = _spec(input_shape, steps, input_bits, input_scale, encoding, static)
    settings = QuantSettings(weight_bits=weight_bits, mem_bits=mem_bits, input_scale=spec["scale"])
    if not isinstance(model, nn.Module):
        raise ValueError(f"model is a {type(model).__name__}; expected a torch.nn.Module")
    user = copy.deepcopy(model).cpu().eval()
    params = list(user.parameters())
    dtype = params[0].dtype if params else torch.float32
    rng = np.random.default_rng(seed)
    hi = 2 ** input_bits
    shape = (steps, spec["channels"], spec["height"], spec["width"])
    if samples is None:
        samples = rng.integers(0, hi, (GOLDEN_SAMPLES,) + shape)
        labels = None
    else:
        from syna_contract.reference import check_input
        samples = check_input(samples, spec)
    probe = rng.integers(0, hi, (2,) + shape)
    x = _float_input(probe, spec, dtype)
    functional.reset_net(user)
    try:
        trace = record(user, x, is_leaf)
    except ConversionError:
        raise
    except Exception as e:
        raise ConversionError(f"{type(model).__name__}'s forward failed on a time-major float input of shape "
                              f"{list(x.shape)} ([T, N, C, H, W]): {type(e).__name__}: {e}") from e
    lowered = lower(trace, steps, spec)
    fc = lowered.layers[-1]
    config = ConvertedConfig(steps, spec["channels"], spec["height"], spec["width"], fc["out_shape"][0],
                             tuple(lowered.layers), type(model).__name__)
    net = ConvertedNet(config, lowered)
    _check_equivalent(user, net, lowered.units, x, "the traced input")
    _check_equivalent(user, net, lowered.units, _float_input(rng.integers(0, hi, (3,) + shape), spec, dtype),
                      "fresh random input")
    _check_equivalent(user, net, lowered.units, _float_input(samples[:16], spec, dtype), "the golden samples")
    return ConvertedModel(net, spec, settings, lowered.sources, np.asarray(samples), labels, output_dir,
                          type(model).__name__)
