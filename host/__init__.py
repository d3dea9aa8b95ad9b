"""syna-fpga host side: runs on a board's PYNQ Python (numpy + pynq only, never torch).

    from host import SpikingCore
    core = SpikingCore("bundle/", backend="pynq", overlay="syna.bit")   # the board
    core = SpikingCore("bundle/", backend="reference")                  # bit-exact simulation
    core.classify(frames); core.classify_batch(x); core.classify_events(x, y, p, t)
    core.counters(); core.energy(); core.throughput_test()

docs/host-driver.md describes the API, the backends and the board install.
pynq is imported only when the pynq backend opens a real overlay.
"""
from .backends import BACKENDS, SIMULATION_BACKENDS, board_present, open_backend
from .core import BatchPrediction, Prediction, SpikingCore, available_simulation_backends, validate_frames
from .demo import demo_stage
from .errors import (BoardNotFoundError, CoreStatusError, DdrWeightsError, DmaError, DmaTimeoutError, HostError,
                     InputError, InterfaceError, ModelMismatchError, StageNotBuiltError)
from .events import events_to_frames, frames_for_spec

__all__ = ["SpikingCore", "Prediction", "BatchPrediction", "events_to_frames", "frames_for_spec", "demo_stage",
           "open_backend", "board_present", "available_simulation_backends", "validate_frames", "BACKENDS",
           "SIMULATION_BACKENDS", "HostError", "InputError", "ModelMismatchError", "InterfaceError",
           "DmaTimeoutError", "DmaError", "CoreStatusError", "StageNotBuiltError", "BoardNotFoundError",
           "DdrWeightsError"]
