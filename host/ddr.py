"""Weights in DDR, the host's side (docs/host-driver.md "Models with weights in DDR").

A core built with ``weights="ddr"`` (docs/hls-core.md) reads its conv / fc weights from the bundle's DDR
weight image (``weights.ddr.bin``, :mod:`syna_contract.ddr_image`) at the address in its WEIGHTS_BASE
register (``protocol.REG_WEIGHTS_BASE``, 64 bits, 4096-aligned). Every backend that runs such a core
takes the image from here: present, its manifest checksum, this model's hash in its header, every value
equal to the bundle's ROMs (``ddr_image.check_image``) and laid out for the core's P. The same checks,
the same errors, on every backend. numpy only.
"""
from __future__ import annotations

from syna_contract import ddr_image
from syna_contract import protocol as P
from syna_contract.bundle import Bundle, BundleError

from .errors import DdrWeightsError

WEIGHTS_MODES = ("rom", "ddr")     # rom: weights in the core's on-chip ROMs; ddr: read from the DDR image


def check_mode(weights: str | None, backend: str) -> None:
    if weights is not None and weights not in WEIGHTS_MODES:
        raise ValueError(f"weights={weights!r} for the {backend} backend; expected one of {WEIGHTS_MODES} "
                         "(or None: rom, or on the board what the overlay's core is)")


def bundle_image(bundle: Bundle, lanes: int | None = None) -> ddr_image.DdrImage:
    """The bundle's DDR image, checked (``ddr_image.check_image``) and, when ``lanes`` is given, laid out
    for that P. Refuses with :class:`BundleError` saying what to export."""
    entry = bundle.manifest.get("ddr_image")
    p = lanes if lanes is not None else "P"
    if entry is None:
        raise BundleError(bundle.root / ddr_image.IMAGE_FILE,
                          f"the bundle has no DDR image; a core with its weights in DDR needs one: export with "
                          f"--ddr-image --lanes {p} (or `python -m model_export ddr-image {bundle.root} --lanes {p}`)")
    img = ddr_image.check_image(bundle)
    if lanes is not None and img.lanes != lanes:
        raise BundleError(bundle.root / entry.get("file", ddr_image.IMAGE_FILE),
                          f"DDR image laid out for P = {img.lanes} lanes; the core has P = {lanes} (a row of a "
                          f"lane group holds P weights): re-export it with --ddr-image --lanes {lanes}")
    return img


def row_bits(img: ddr_image.DdrImage) -> int:
    """Bits of one image row: the width of a DDR-mode core's ``m_axi_gmem`` data bus for this image."""
    return 8 * img.header["row_bytes"]


def check_base(address: int, nbytes: int | None = None, image_bytes: int | None = None) -> None:
    """The image's buffer before the first start: WEIGHTS_BASE set (not 0), a multiple of 4096 (the image's
    sections are page-aligned relative to it), the image inside the core's DDR_ADDR_BITS, and the buffer
    (``nbytes``) holding the whole image (``image_bytes``). The core checks the same and more (its STATUS
    ``weights`` bit); the host says it first, in words."""
    if address == 0:
        raise DdrWeightsError("the DDR image's buffer is at physical address 0: WEIGHTS_BASE would look unset, "
                              "and the core finds no image there; allocate it with pynq.allocate")
    if nbytes is not None and image_bytes is not None and nbytes < image_bytes:
        raise DdrWeightsError(f"the DDR image's buffer holds {nbytes} bytes; the image has {image_bytes}: the core "
                              "would read past the buffer (allocate the image's size)")
    if image_bytes is not None and address + image_bytes > 1 << P.DDR_ADDR_BITS:
        raise DdrWeightsError(f"the DDR image at 0x{address:x} ({image_bytes} bytes) ends beyond the core's "
                              f"{P.DDR_ADDR_BITS}-bit DDR address space")
    if address % P.WEIGHTS_BASE_ALIGN:
        raise DdrWeightsError(f"the DDR image's buffer is at physical address 0x{address:x}, not a multiple of "
                              f"{P.WEIGHTS_BASE_ALIGN}; WEIGHTS_BASE must be 4096-aligned (docs/core-interface.md). "
                              "pynq.allocate returns page-aligned contiguous memory: pass it as allocate=")
    if address >> 64:
        raise DdrWeightsError(f"physical address 0x{address:x} does not fit WEIGHTS_BASE's 64 bits")


def modelled_bytes_per_inference(bundle: Bundle, lanes: int, wbuf_rows: int | None = None) -> int:
    """DDR bytes one inference reads on a DDR-mode core of P = ``lanes`` with a weight buffer of ``wbuf_rows``
    rows (None: the default build), by the HLS core's tiling (``syna_hw.lowering.ddr_weights``, which the
    C-simulation's byte counter is tested equal to)."""
    from syna_hw.limits import HLS
    from syna_hw.lowering import ddr_weights, lower
    return int(ddr_weights(lower(bundle, lanes, target=HLS), wbuf_rows).bytes_per_inference)


# ------------------------------------------------------------------ spike maps in DDR (the scratch buffer)
MAPS_MODES = ("chip", "ddr")       # chip: the core keeps its spike maps on chip; ddr: in a scratch buffer in DDR


def check_maps_mode(maps: str | None, weights: str | None, backend: str) -> None:
    """``maps`` is None (on chip, or on the board what the overlay's core is), ``"chip"`` or ``"ddr"``; ``"ddr"``
    needs the weights in DDR too (the cores build it only so)."""
    if maps is not None and maps not in MAPS_MODES:
        raise ValueError(f"maps={maps!r} for the {backend} backend; expected one of {MAPS_MODES} "
                         "(or None: chip, or on the board what the overlay's core is)")
    if maps == "ddr" and weights not in (None, "ddr"):
        raise ValueError(f"maps='ddr' for the {backend} backend needs weights='ddr' (a core keeps its spike maps in "
                         f"DDR only when its weights are there too); got weights={weights!r}")


def scratch_bytes(bundle: Bundle, lanes: int) -> int:
    """Bytes of the scratch buffer a maps-in-DDR core of this bundle needs (``syna_hw.spill.scratch_layout``:
    the input words and every layer's spike map, all T steps; independent of the core's P and buffers)."""
    from syna_hw.limits import HLS
    from syna_hw.lowering import lower
    from syna_hw.spill import scratch_layout
    return int(scratch_layout(lower(bundle, lanes, target=HLS))[1])


def check_scratch_base(address: int, nbytes: int, need: int) -> None:
    """The scratch buffer before the first start: not at 0, 4096-aligned, holding ``need`` bytes, inside the
    core's DDR address space -- the core checks the same (STATUS ``scratch``); the host says it first."""
    if address == 0:
        raise DdrWeightsError("the scratch buffer is at physical address 0: SCRATCH_BASE would look unset; allocate "
                              "it with pynq.allocate")
    if nbytes < need:
        raise DdrWeightsError(f"the scratch buffer holds {nbytes} bytes; the core's spike maps need {need} (the core "
                              "would write past the buffer): allocate the size syna_hw.spill.scratch_layout gives")
    if address % P.SCRATCH_BASE_ALIGN:
        raise DdrWeightsError(f"the scratch buffer is at physical address 0x{address:x}, not a multiple of "
                              f"{P.SCRATCH_BASE_ALIGN}; SCRATCH_BASE must be 4096-aligned (docs/core-interface.md)")
    if address + need > 1 << P.DDR_ADDR_BITS:
        raise DdrWeightsError(f"the scratch buffer at 0x{address:x} ({need} bytes) ends beyond the core's "
                              f"{P.DDR_ADDR_BITS}-bit DDR address space")


def scratch_traffic_per_inference(bundle: Bundle, lanes: int, wbuf_rows: int | None = None,
                                  acc_rows: int | None = None) -> tuple[int, int]:
    """(bytes read, bytes written) of the scratch buffer per inference on a maps-in-DDR core of P = ``lanes``
    (``syna_hw.cycles.scratch_traffic``: the HLS core's order of work, which its C-sim counts; the RTL twin's
    DMA moves more, docs/rtl.md "Spike maps in DDR")."""
    from syna_hw.cycles import scratch_traffic
    from syna_hw.limits import HLS
    from syna_hw.lowering import lower
    from syna_hw.spill import spill_plan
    hw = lower(bundle, lanes, target=HLS)
    rd, wr = scratch_traffic(hw, spill_plan(hw, wbuf_rows, acc_rows))
    return int(sum(rd.values())), int(sum(wr.values()))
