"""The core emulated at stream level with the numpy integer reference (no clock).

``CoreEmulator(bundle).transfer(in_words, steps)`` takes what the DMA would send
(one input packet, TLAST on its last word, or on none with ``tlast=False``) and
returns the output packet the core would send, per ``docs/core-interface.md``.
The input errors are checked independently and add up (whatever STEPS):

- ``steps`` (the STEPS register) other than the model's T: ``steps_mismatch``, nothing computed;
- fewer words than T frames: ``frame_short`` (TLAST early, or -- without TLAST -- the
  sender stopped and the core's idle timeout ended the receive); more, or all of them
  without TLAST: ``frame_long`` (the core drains up to TLAST);
- a lane of the words the core reads (at most one sample's) that holds more than
  ``input.bits`` bits, or an unused lane at a frame's end that is not 0: ``input_range``;
- after any input error the scores, spike counts and saturations are 0 and the
  status says why -- the packet is always sent, so a DMA never hangs;
- otherwise :class:`syna_contract.reference.Reference` runs the sample: scores,
  one spike count per spiking layer (manifest order), saturations (status bit
  ``saturated`` when any), and cycles 0 (a model has no clock).

Same interface as the HLS core's and the RTL twin's Python models
(``.transfer(words, steps)``, ``.model_hash32``). numpy only.
"""
from __future__ import annotations

import numpy as np

from syna_contract.bundle import Bundle, load_bundle
from syna_contract.reference import Reference

from syna_contract import protocol as P


def spiking_layers(bundle: Bundle) -> list[str]:
    """The layers with a spike count in the output packet: every layer but ``fc``, manifest order."""
    return [l.name for l in bundle.descriptors if l.spiking]


def n_classes(bundle: Bundle) -> int:
    return next(l for l in bundle.descriptors if not l.spiking).channels


class CoreEmulator:
    """The core at stream level: input packet words in, output packet words out."""

    def __init__(self, bundle: Bundle | str):
        self.bundle = bundle if isinstance(bundle, Bundle) else load_bundle(bundle)
        self.reference = Reference(self.bundle)
        spec = self.bundle.input_spec
        self.steps = spec["steps"]
        self.shape = (spec["steps"], spec["channels"], spec["height"], spec["width"])
        self.bits = spec["bits"]
        self.words_per_sample = P.words_per_sample(*self.shape, self.bits)
        self.layers = spiking_layers(self.bundle)
        self.classes = n_classes(self.bundle)
        self.model_hash32 = P.model_hash32(self.bundle.model_hash)
        self.inferences = 0

    def transfer(self, in_words: np.ndarray, steps: int, tlast: bool = True) -> np.ndarray:
        words = np.asarray(in_words, dtype=np.uint32).ravel()
        self.inferences += 1
        status = 0
        if steps != self.steps:
            status |= P.STATUS_STEPS_MISMATCH
        if words.size < self.words_per_sample:
            status |= P.STATUS_FRAME_SHORT
        elif words.size > self.words_per_sample or not tlast:
            status |= P.STATUS_FRAME_LONG
        if not P.lanes_in_range(words[:self.words_per_sample], *self.shape[1:], self.bits):
            status |= P.STATUS_INPUT_RANGE
        if status:
            return P.pack_output(np.zeros(self.classes), [0] * len(self.layers), 0, 0, status)
        x = P.unpack_frames(words, self.shape, self.bits)
        res = self.reference.run(x[None], keep_spikes=False)
        sat = sum(int(v) for v in res.saturations.values())
        if sat:
            status |= P.STATUS_SATURATED
        counts = [int(res.spike_counts[name][0]) for name in self.layers]
        return P.pack_output(res.scores[0], counts, 0, sat, status)
