"""Hardware lowering and the two core generators, numpy only: above :mod:`syna_contract`.

:mod:`.hls_core` (the Vitis-HLS core: header generation, g++ C-simulation, ctypes binding),
:mod:`.rtl_core` (the Verilog twin: configuration ROMs, Verilator harness, Yosys estimate) and
:mod:`.plan` (on-chip memory vs board). ``docs/architecture.md`` shows the layering.
"""
