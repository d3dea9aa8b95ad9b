"""The independent float semantics of a NIR graph: :func:`run_nir` simulates it (nirtorch wiring, the NIR
equations discretised with forward Euler at ``dt``, as SpikingJelly and snnTorch do), the check of both
the import and the export (docs/nir.md)."""
from __future__ import annotations

import nir
import nirtorch
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from .nir_common import DEFAULT_DT, _read


# =============================================================================== float simulation

class _StatefulLIF(nn.Module):
    """NIR LIF / CubaLIF, forward Euler at ``dt``: I <- I + dt/tau_syn (w_in x - I) (CubaLIF only),
    v <- v + dt/tau (v_leak - v + r I), z = v > v_threshold, v <- v_reset where z."""

    def __init__(self, node, dt: float):
        super().__init__()
        t = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float64))
        self.cuba = isinstance(node, nir.CubaLIF)
        self.register_buffer("k_mem", dt / t(node.tau_mem if self.cuba else node.tau))
        self.register_buffer("r", t(node.r))
        self.register_buffer("v_leak", t(node.v_leak))
        self.register_buffer("v_th", t(node.v_threshold))
        self.register_buffer("v_reset", t(node.v_reset))
        if self.cuba:
            self.register_buffer("k_syn", dt / t(node.tau_syn))
            self.register_buffer("w_in", t(node.w_in))

    def forward(self, x: torch.Tensor, state=None):
        v, i = (torch.zeros_like(x), torch.zeros_like(x)) if state is None else state
        if self.cuba:
            i = i + self.k_syn * (self.w_in * x - i)
            current = i
        else:
            current = x
        v = v + self.k_mem * (self.v_leak - v + self.r * current)
        z = (v > self.v_th).to(x.dtype)
        v = torch.where(z > 0, self.v_reset.expand_as(v), v)
        return z, (v, i)


class _Fn(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def _simulation_map(dt: float) -> dict:
    t = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float64))

    def conv(n):
        stride, pad = tuple(int(v) for v in np.broadcast_to(n.stride, 2)), n.padding
        pad = pad if isinstance(pad, str) else tuple(int(v) for v in np.broadcast_to(pad, 2))
        w, b = t(n.weight), t(n.bias)
        return _Fn(lambda x: F.conv2d(x, w.to(x.dtype), b.to(x.dtype), stride, pad))

    def affine(n):
        w = t(n.weight)
        b = t(n.bias) if isinstance(n, nir.Affine) else torch.zeros(w.shape[0], dtype=torch.float64)
        return _Fn(lambda x: F.linear(x, w.to(x.dtype), b.to(x.dtype)))

    def pool(n, scale_sum: bool):
        k = tuple(int(v) for v in np.broadcast_to(n.kernel_size, 2))
        s = tuple(int(v) for v in np.broadcast_to(n.stride, 2))
        p = tuple(int(v) for v in np.broadcast_to(n.padding, 2))
        return _Fn(lambda x: F.avg_pool2d(x, k, s, p, count_include_pad=True, divisor_override=1 if scale_sum else None))

    return {
        nir.Conv2d: conv, nir.Affine: affine, nir.Linear: affine,
        nir.Flatten: lambda n: _Fn(lambda x: x.flatten(1 + (n.start_dim % x[0].dim()),
                                                      1 + (n.end_dim % x[0].dim()))),
        nir.SumPool2d: lambda n: pool(n, True), nir.AvgPool2d: lambda n: pool(n, False),
        nir.Threshold: lambda n: _Fn(lambda x, th=t(n.threshold): (x > th.to(x.dtype)).to(x.dtype)),
        nir.Scale: lambda n: _Fn(lambda x, s=t(n.scale): x * s.to(x.dtype)),
        nir.LIF: lambda n: _StatefulLIF(n, dt), nir.CubaLIF: lambda n: _StatefulLIF(n, dt),
    }


def run_nir(graph, x: torch.Tensor, dt: float = DEFAULT_DT) -> torch.Tensor:
    """Simulate a NIR graph on time-major float input ``x`` [T, N, ...] in float64; returns the
    graph's output at every step [T, N, ...]. The check for both directions of this module."""
    module = nirtorch.nir_to_torch(_read(graph), _simulation_map(dt), dtype=torch.float64)
    state, outs = None, []
    with torch.no_grad():
        for step in x.double():
            out, state = module(step, state)
            outs.append(out)
    return torch.stack(outs)
