"""The host driver's errors: each says what was found and what was expected."""
from __future__ import annotations


class HostError(RuntimeError):
    """Base class of the driver's run-time errors."""


class InputError(ValueError):
    """Input that does not match the bundle's input spec (raised before any hardware is touched)."""


class ModelMismatchError(HostError):
    """The core's MODEL_HASH register is not the bundle's MODEL_HASH32: wrong bitstream for this bundle."""


class InterfaceError(HostError):
    """The core speaks another interface: version, register map (.hwh) or packet size differ from protocol.py."""


class DmaTimeoutError(HostError, TimeoutError):
    """A DMA transfer did not complete in time; the driver has reset the DMA and the core."""


class DmaError(HostError):
    """The AXI DMA reported an error (internal, slave or decode error) or moved the wrong number of bytes."""


class CoreStatusError(HostError):
    """The core's status word reports an error (frame short / long, steps mismatch, input range, weights)."""


class StageNotBuiltError(HostError, ImportError):
    """A simulation backend whose stage (HLS core, RTL twin) is not built in this checkout."""


class BoardNotFoundError(HostError):
    """The pynq backend was asked for, but there is no board (or no pynq) here."""


class DdrWeightsError(HostError):
    """Weights in DDR cannot be used as asked: the overlay's core and the ``weights`` option disagree, or
    the image's memory is not what the core needs (a physical address that is not 4096-aligned)."""
