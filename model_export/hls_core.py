"""Moved to :mod:`syna_hw.hls_core` (docs/architecture.md); kept so ``python -m model_export.hls_core`` still works."""
from syna_hw.hls_core import main

if __name__ == "__main__":
    raise SystemExit(main())
