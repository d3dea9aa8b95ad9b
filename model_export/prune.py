"""Pruning silent shortcuts out of a bundle's layer graph (natural pruning, paper V-B3).

A residual block's shortcut ``bK.short`` feeds an OR merge ``bK.merge`` with
the backbone ``bK.main1``. If the shortcut emits no spike, ``m | 0 = m``: the
merge passes the backbone unchanged, so dropping the shortcut conv and the
merge, and letting the merge's readers read the backbone, changes no score and
no spike of any remaining layer. That holds for exactly the inputs on which the
shortcut is silent; ``export --prune-silent-shortcuts`` decides on the held-out
split with the integer reference, then re-runs both bundles and refuses to
write a pruned bundle that differs on any of those samples.

AND and IAND merges are refused: with a silent shortcut their output is
constant zero (``m & 0``, ``0 & ~m``), so the whole rest of the network would
have to go, not one branch.
"""
from __future__ import annotations

import numpy as np


class PruneError(ValueError):
    """A shortcut that cannot be pruned; the message says which and why."""


def shortcut_merges(layers: list[dict]) -> dict[str, dict]:
    """shortcut layer name -> its merge layer (the merge's second input is the shortcut)."""
    return {l["inputs"][1]: l for l in layers if l["kind"] == "merge"}


def silent_shortcuts(layers: list[dict], spike_counts: dict[str, np.ndarray]) -> list[str]:
    """Shortcut layers with zero spikes in every sample of ``spike_counts`` (layer -> [N] totals)."""
    out = []
    for name in shortcut_merges(layers):
        counts = np.asarray(spike_counts[name])
        if counts.size and not counts.any():
            out.append(name)
    return out


def prune_layers(layers: list[dict], shortcuts: list[str]) -> tuple[list[dict], list[dict]]:
    """Drop each shortcut and its merge; readers of the merge read the backbone instead.

    Returns the new layer list (copies; the input is not changed) and one record per pruned
    shortcut: ``{"shortcut", "merge", "backbone"}``."""
    merges = shortcut_merges(layers)
    readers: dict[str, list[str]] = {}
    for l in layers:
        for src in l["inputs"]:
            readers.setdefault(src, []).append(l["name"])
    drop: set[str] = set()
    rewire: dict[str, str] = {}
    records = []
    for s in shortcuts:
        if s not in merges:
            known = sorted(merges) or "none"
            raise PruneError(f"{s!r} is not a shortcut feeding a merge; shortcuts here: {known}")
        m = merges[s]
        if m["op"] != "OR":
            raise PruneError(f"{s!r} feeds a {m['op']} merge: with a silent shortcut it outputs only zeros, so "
                             "dropping the branch alone is not equivalent; only OR merges can be pruned")
        other = [r for r in readers.get(s, []) if r != m["name"]]
        if other:
            raise PruneError(f"{s!r} is also read by {other}; it cannot be dropped")
        backbone = m["inputs"][0]
        drop.update((s, m["name"]))
        rewire[m["name"]] = backbone
        records.append(dict(shortcut=s, merge=m["name"], backbone=backbone))
    out = []
    for l in layers:
        if l["name"] in drop:
            continue
        l = dict(l, inputs=[_follow(src, rewire) for src in l["inputs"]])
        out.append(l)
    return out, records


def _follow(src: str, rewire: dict[str, str]) -> str:
    while src in rewire:
        src = rewire[src]
    return src
