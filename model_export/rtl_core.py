"""Moved to :mod:`syna_hw.rtl_core` (docs/architecture.md); kept so ``python -m model_export.rtl_core`` still works."""
from syna_hw.rtl_core import main

if __name__ == "__main__":
    raise SystemExit(main())
