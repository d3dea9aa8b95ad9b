"""Table IX topologies as plain data, without torch: what ``make_config`` builds, for numpy-only callers.

``config_dict(preset, **knobs)`` is ``model.make_config(preset, **knobs).to_dict()`` (the keys
``syna_contract.graph.build_graph`` reads), so the planner (``syna plan --preset ...``) can lay out
a network without importing torch. ``model.py`` imports its ``PRESETS`` from here (one place);
``tests/test_placement.py`` checks that both paths give the same config and layer graph.
"""
from __future__ import annotations

# Table IX. Knobs (width, input size, classes, T, channels, merge, attention) override these.
PRESETS: dict[str, dict] = {
    "dvs_gesture": dict(in_channels=2, input_size=128, num_classes=11, steps=32,
                        stem_kernel=7, stem_stride=2, stem_maxpool=True),
    "cifar10_dvs": dict(in_channels=2, input_size=128, num_classes=10, steps=16,
                        stem_kernel=3, stem_stride=2, stem_maxpool=True, input_pool=48),
    "mnist": dict(in_channels=1, input_size=28, num_classes=10, steps=16,
                  stem_kernel=3, stem_stride=1, stem_maxpool=False),
    # N-MNIST (not in Table IX): the MNIST topology on 2 polarity channels of 34x34, T = 10.
    "nmnist": dict(in_channels=2, input_size=34, num_classes=10, steps=10,
                   stem_kernel=3, stem_stride=1, stem_maxpool=False),
}
# model.ModelConfig's defaults for the keys a preset leaves out
DEFAULTS = dict(preset="mnist", in_channels=1, input_size=28, num_classes=10, steps=16, width=1.0, stem_kernel=3,
                stem_stride=1, stem_maxpool=False, input_pool=0, merge="OR", attention=None)


def config_dict(preset: str, **knobs) -> dict:
    """The model config of a Table IX preset with ``knobs`` applied (``None`` keeps the preset's)."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; expected one of {sorted(PRESETS)}")
    unknown = sorted(set(knobs) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"unknown model knobs {unknown}; expected some of {sorted(DEFAULTS)}")
    d = dict(DEFAULTS, **PRESETS[preset], preset=preset)
    d.update({k: v for k, v in knobs.items() if v is not None})
    return d
