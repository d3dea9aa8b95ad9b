"""Concrete tracing: one real forward pass of a PyTorch model, recorded as a dataflow graph.

``record(model, x, is_leaf)`` runs ``model(x)`` once and records

- every call of a *leaf* module (``is_leaf(module)``: what the converter understands as a
  whole, e.g. a SpikingJelly ``Conv2d`` or ``LIFNode``) with the tensors it read and wrote;
- every torch operation run outside leaf modules (``a + b``, ``x.mean((3, 4))``,
  ``torch.logical_or``...), through a :class:`torch.overrides.TorchFunctionMode`, with the
  tensors it read and wrote and the module whose ``forward`` ran it.

Tensors are identified by ``(id(tensor), tensor._version)``, so in-place operations
(``x += y``) give a new key; every recorded tensor is kept alive until the trace is dropped,
so ids are not reused. Unlike ``torch.fx`` symbolic tracing this runs the model's real
``forward`` (shape checks, ``functional.reset_net``, Python control flow all work) and sees
exactly the operations of that run; the converter then checks its result on fresh inputs.
:func:`replay` re-runs a recorded sub-graph on other tensors (the converter uses it to ask
what a merge or a readout computes, by value, not by name).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch
import torch.nn as nn
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten, tree_map

Key = tuple[int, int]          # (id(tensor), tensor._version)


def key(t: torch.Tensor) -> Key:
    with torch._C.DisableTorchFunction():
        return id(t), int(t._version)


@dataclass(frozen=True)
class Ref:
    """A tensor argument of a recorded call: its key at call time and the tensor itself."""
    key: Key
    tensor: torch.Tensor


@dataclass
class Node:
    index: int                 # execution order
    kind: str                  # "module" or "op"
    target: Any                # the module (kind "module") or the torch function (kind "op")
    path: str                  # the module's path (module) / the path of the module whose forward ran it (op)
    args: Any                  # (args, kwargs) with tensors replaced by Ref
    in_keys: list[Key]         # tensor inputs, in argument order
    out: Any                   # the output (tensors replaced by Ref)
    out_keys: list[Key]

    @property
    def name(self) -> str:
        if self.kind == "module":
            return f"{self.path} ({type(self.target).__name__})"
        return getattr(self.target, "__name__", str(self.target))


@dataclass
class Trace:
    nodes: list[Node]
    input_key: Key
    output: Any                               # the model's output (tensors replaced by Ref)
    producer: dict[Key, Node]
    consumers: dict[Key, list[Node]]
    values: dict[Key, torch.Tensor]           # every recorded tensor, as it was when recorded
    calls: dict[int, int]                     # id(module) -> times called as a leaf
    paths: dict[int, str]                     # id(module) -> path
    _keep: list = field(default_factory=list, repr=False)

    def value(self, k: Key) -> torch.Tensor:
        return self.values[k]


def _refs(tree, keep: list, values: dict):
    def f(v):
        if isinstance(v, torch.Tensor):
            k = key(v)
            keep.append(v)
            if k not in values:
                with torch._C.DisableTorchFunction():
                    values[k] = v.detach().clone()
            return Ref(k, v)
        return v
    return tree_map(f, tree)


def _keys(tree) -> list[Key]:
    leaves, _ = tree_flatten(tree, is_leaf=lambda v: isinstance(v, Ref))
    return [v.key for v in leaves if isinstance(v, Ref)]


class _Recorder(TorchFunctionMode):
    def __init__(self, is_leaf: Callable[[nn.Module], bool]):
        super().__init__()
        self.is_leaf = is_leaf
        self.nodes: list[Node] = []
        self.keep: list = []
        self.values: dict[Key, torch.Tensor] = {}
        self.scope: list[str] = [""]
        self.leaf_depth = 0
        self.paused = 0
        self.pending: dict[int, list] = {}
        self.calls: dict[int, int] = {}

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if self.leaf_depth or self.paused:
            return func(*args, **kwargs)
        self.paused += 1
        try:
            before = _refs((args, kwargs), self.keep, self.values)   # keys before an in-place op bumps them
        finally:
            self.paused -= 1
        out = func(*args, **kwargs)
        if any(isinstance(v, torch.Tensor) for v in tree_flatten(out)[0]):
            self.paused += 1
            try:
                rout = _refs(out, self.keep, self.values)
                self.nodes.append(Node(len(self.nodes), "op", func, self.scope[-1], before, _keys(before),
                                       rout, _keys(rout)))
            finally:
                self.paused -= 1
        return out

    # ---------------------------------------------------------------- module hooks
    def pre_hook(self, path: str):
        def hook(module, args, kwargs):
            self.paused += 1
            try:
                self.scope.append(path)
                if self.is_leaf(module):
                    if self.leaf_depth == 0:
                        self.pending.setdefault(id(module), []).append(
                            _refs((args, kwargs), self.keep, self.values))
                        self.calls[id(module)] = self.calls.get(id(module), 0) + 1
                    self.leaf_depth += 1
            finally:
                self.paused -= 1
        return hook

    def post_hook(self, path: str):
        def hook(module, args, kwargs, output):
            self.paused += 1
            try:
                if self.is_leaf(module):
                    self.leaf_depth -= 1
                    if self.leaf_depth == 0:
                        before = self.pending[id(module)].pop()
                        rout = _refs(output, self.keep, self.values)
                        self.nodes.append(Node(len(self.nodes), "module", module, path, before, _keys(before),
                                               rout, _keys(rout)))
                self.scope.pop()
            finally:
                self.paused -= 1
        return hook


def record(model: nn.Module, x: torch.Tensor, is_leaf: Callable[[nn.Module], bool]) -> Trace:
    """Run ``model(x)`` once and record its dataflow (see the module doc)."""
    rec = _Recorder(is_leaf)
    handles = []
    paths = {}
    for path, m in model.named_modules():
        paths.setdefault(id(m), path)
        handles.append(m.register_forward_pre_hook(rec.pre_hook(path), with_kwargs=True))
        handles.append(m.register_forward_hook(rec.post_hook(path), with_kwargs=True))
    x = x.clone()
    try:
        with torch.no_grad(), rec:
            inp = _refs(x, rec.keep, rec.values)
            out = model(x)
        rec.paused += 1
        rout = _refs(out, rec.keep, rec.values)
    finally:
        for h in handles:
            h.remove()
    producer: dict[Key, Node] = {}
    consumers: dict[Key, list[Node]] = {}
    for n in rec.nodes:
        for k in n.in_keys:
            consumers.setdefault(k, []).append(n)
        for k in n.out_keys:
            if k not in n.in_keys:       # a call that returns its input object unchanged (x.float() of a float,
                producer[k] = n          # nn.Identity) does not produce it: its readers see the real producer
    return Trace(rec.nodes, inp.key, rout, producer, consumers, rec.values, rec.calls, paths, rec.keep)


def replay(nodes: list[Node], env: dict[Key, torch.Tensor]) -> dict[Key, torch.Tensor]:
    """Re-run recorded ``nodes`` (in order) with the tensors of ``env`` in place of the recorded ones.

    Arguments whose key is not in ``env`` (parameters, constants) are used as recorded. Returns
    ``env`` extended by every node's outputs."""
    env = dict(env)

    def arg(v):
        if isinstance(v, Ref):
            return env.get(v.key, v.tensor)
        return v

    with torch.no_grad():
        for n in sorted(nodes, key=lambda n: n.index):
            args, kwargs = tree_map(arg, n.args, is_leaf=lambda v: isinstance(v, Ref))
            out = n.target(*args, **kwargs)
            recorded, _ = tree_flatten(n.out, is_leaf=lambda v: isinstance(v, Ref))
            got, _ = tree_flatten(out)
            for r, g in zip(recorded, got):
                if isinstance(r, Ref):
                    env[r.key] = g
    return env
