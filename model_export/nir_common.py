"""What the NIR import and export share: the default time step, the tolerance, the error, and reading
a graph (docs/nir.md). ``model_export.nir_io`` gathers the NIR modules."""
from __future__ import annotations

from pathlib import Path

import nir


DEFAULT_DT = 1e-4          # what SpikingJelly and snnTorch assume when they write NIR
REL_TOL = 1e-6


class NIRError(ValueError):
    """A NIR graph (or model) that cannot cross between NIR and our layer graph; says what and why."""


def _read(graph) -> nir.NIRGraph:
    if isinstance(graph, (str, Path)):
        path = Path(graph)
        if not path.is_file():
            raise NIRError(f"{path}: NIR file not found")
        try:
            return nir.read(path)
        except Exception as e:               # h5py / nir raise many types for a bad file
            raise NIRError(f"{path}: not a readable NIR file ({type(e).__name__}: {e})") from None
    if not isinstance(graph, nir.NIRGraph):
        raise NIRError(f"expected a nir.NIRGraph or a path to a .nir file; got {type(graph).__name__}")
    return graph
