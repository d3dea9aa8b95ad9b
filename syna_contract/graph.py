"""The layer graph of a SynA-ResNet: the one place that knows the topology.

The exporter writes this list into ``manifest.json`` (plus ROM references);
the fake-quant model walks it; the integer reference, the HLS core and the RTL
read it back from the manifest. Needs no torch.

Layer kinds (the layer descriptor format, docs/bundle-format.md):
- ``conv_lif``   conv + bias, saturate, [attention], integer LIF -> binary spikes
- ``maxpool_or`` k x k max-pool of binary spikes (= OR), zero padding
- ``merge``      bitwise OR / AND / IAND of two spike maps (inputs: backbone, shortcut)
- ``fc``         global sum-pool + FC, summed over T -> integer class scores
"""
from __future__ import annotations

import copy

from .numerics import conv_out_size

INPUT = "input"
LAYER_KINDS = ("conv_lif", "maxpool_or", "merge", "fc")


def _conv(name, src, in_shape, cout, k, s, p):
    c, h, w = in_shape
    out = [cout, conv_out_size(h, k, s, p), conv_out_size(w, k, s, p)]
    return dict(name=name, kind="conv_lif", inputs=[src], in_shape=list(in_shape), out_shape=out,
                kernel=k, stride=s, padding=p)


def build_graph(config) -> list[dict]:
    """Layers in execution order for a :class:`model_export.model.ModelConfig` (or its dict)."""
    cfg = config if isinstance(config, dict) else config.to_dict()
    if cfg.get("chain"):     # a plain feed-forward chain (model_export/nir_io.py): its layer list is its config
        return copy.deepcopy(list(cfg["chain"]))
    widths = [max(1, int(round(c * cfg["width"]))) for c in (64, 128, 256, 512)]
    layers: list[dict] = []

    def add(layer: dict) -> dict:
        layers.append(layer)
        return layer

    k, s = cfg["stem_kernel"], cfg["stem_stride"]
    size = cfg["input_size"]
    cur = add(_conv("stem", INPUT, [cfg["in_channels"], size, size], widths[0], k, s, k // 2))
    if cfg["stem_maxpool"]:
        c, h, w = cur["out_shape"]
        cur = add(dict(name="pool", kind="maxpool_or", inputs=[cur["name"]], in_shape=cur["out_shape"],
                       out_shape=[c, conv_out_size(h, 3, 2, 1), conv_out_size(w, 3, 2, 1)],
                       kernel=3, stride=2, padding=1))
    for i in range(4):
        cur = add(_conv(f"f{i}", cur["name"], cur["out_shape"], widths[0], 3, 1, 1))
    for b, cout in enumerate(widths[1:]):
        block_in = cur
        m0 = add(_conv(f"b{b}.main0", block_in["name"], block_in["out_shape"], cout, 3, 2, 1))
        m1 = add(_conv(f"b{b}.main1", m0["name"], m0["out_shape"], cout, 3, 1, 1))
        sc = add(_conv(f"b{b}.short", block_in["name"], block_in["out_shape"], cout, 1, 2, 0))
        cur = add(dict(name=f"b{b}.merge", kind="merge", op=cfg["merge"], inputs=[m1["name"], sc["name"]],
                       in_shape=m1["out_shape"], out_shape=m1["out_shape"]))
        cur = add(_conv(f"b{b}.post0", cur["name"], cur["out_shape"], cout, 3, 1, 1))
        cur = add(_conv(f"b{b}.post1", cur["name"], cur["out_shape"], cout, 3, 1, 1))
    add(dict(name="fc", kind="fc", inputs=[cur["name"]], in_shape=cur["out_shape"],
             out_shape=[cfg["num_classes"]]))
    return layers


def spiking_layers(layers: list[dict]) -> list[str]:
    """Names of the layers whose output is a spike map (everything but ``fc``)."""
    return [l["name"] for l in layers if l["kind"] != "fc"]
