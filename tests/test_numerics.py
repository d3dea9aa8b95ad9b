"""The integer primitives, checked against the worked examples of docs/numerics.md."""
import numpy as np
import pytest

from syna_contract import numerics as nx
from model_export.quant import fixed_multiplier


def test_lif_worked_example():
    currents = np.array([120, 90, -30, 250, -5])[:, None]
    v = np.zeros(1, dtype=np.int64)
    trace = []
    for i in currents:
        v, s = nx.lif_step(v, i, np.array([100]))
        trace.append((int(s[0]), int(v[0])))
    assert trace == [(0, 60), (0, 75), (0, 22), (1, 0), (0, -3)]
    assert nx.lif_sequence(currents, np.array([100]))[:, 0].tolist() == [0, 0, 0, 1, 0]


def test_saturation_is_counted_never_wrapped():
    x, n = nx.saturate(np.array([40000, -40000, 5, 32767, -32768]), 16)
    assert x.tolist() == [32767, -32768, 5, 32767, -32768] and n == 2


def test_merge_worked_example():
    m, r = np.array([0, 1, 1, 0], np.uint8), np.array([0, 0, 1, 1], np.uint8)
    assert nx.merge(m, r, "OR").tolist() == [0, 1, 1, 1]
    assert nx.merge(m, r, "AND").tolist() == [0, 0, 1, 0]
    assert nx.merge(m, r, "IAND").tolist() == [0, 0, 0, 1]
    with pytest.raises(ValueError, match="not in the integer contract"):
        nx.merge(m, r, "ADD")


def test_sigmoid_table():
    g = nx.sigmoid_table()
    assert g.shape == (256,) and g.min() >= 0 and g.max() <= 256
    assert np.all(np.diff(g) >= 0) and g[127] == 126 and g[128] == 130   # 256 sigmoid(-+1/32)


@pytest.mark.parametrize("ratio", [1 / 3, 1 / 64, 1 / 131072, 0.000125 * 16 * 0.01, 7.5])
def test_fixed_multiplier_precision(ratio):
    m, sh = fixed_multiplier(ratio)
    assert 2 ** 14 <= m <= 2 ** 15
    assert abs(m / 2 ** sh - ratio) / ratio < 2 ** -14


def test_rescale_floors():
    assert nx.rescale(np.array([-5, 5]), 1, 1).tolist() == [-3, 2]


@pytest.mark.parametrize("mem_bits", [8, 12, 16])
def test_tiny_weight_channel_still_fires(mem_bits):
    """A channel whose weights are tiny gets the largest threshold; it must stay reachable: the
    float neuron (bias 1.5, threshold 1) fires every other step, and so must the integer one."""
    import torch
    from model_export.model import ConvUnit
    from model_export.quant import QuantSettings, quantize_conv
    unit = ConvUnit(1, 1, 3, 1, 1).eval()
    with torch.no_grad():
        unit.conv.weight.fill_(1e-3)
        unit.bn.bias.fill_(1.5)
    q = quantize_conv(unit, QuantSettings(mem_bits=mem_bits), in_scale=1.0)
    theta = int(q.threshold[0])
    assert theta == nx.max_threshold(mem_bits)           # the clamp applied
    lo, hi = nx.signed_range(mem_bits)
    current = np.clip(int(q.bias[0]), lo, hi)            # zero input: the current is the bias
    spikes = nx.lif_sequence(np.full((6, 1), current), np.array([theta]))[:, 0]
    assert spikes.tolist() == [0, 1, 0, 1, 0, 1]
    # the bound is the largest threshold a neuron at rest reaches in one step at the largest current
    assert (hi >> 1) >= theta and (hi >> 1) < theta + 1
