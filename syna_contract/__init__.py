"""The integer contract in code, numpy only, and the bottom layer of the project.

What every other layer agrees on: the numeric primitives (:mod:`.numerics`, the executable form of
``docs/numerics.md``), the layer graph (:mod:`.graph`), the bundle files (:mod:`.bundle`,
``docs/bundle-format.md``), the bit-exact integer reference (:mod:`.reference`), the energy model
(:mod:`.energy`), the core's wire interface (:mod:`.protocol`, ``docs/core-interface.md``) and the
board table (:mod:`.boards`). It imports nothing else of this project (checked by ``lint-imports``,
see ``docs/architecture.md``).
"""
