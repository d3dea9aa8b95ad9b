"""Hardware lowering and the two core generators, numpy only: above :mod:`syna_contract`.

:mod:`.lowering` turns a bundle into one :class:`~.lowering.HwModel` (limits of :mod:`.limits`,
schedule, spike-map liveness, lane-padded ROM rows); :mod:`.hls_core` (the Vitis-HLS core: header,
g++ C-simulation, ctypes binding), :mod:`.rtl_core` (the Verilog twin: configuration ROMs, Verilator
harness, Yosys estimate), :mod:`.cycles` (cycle model) and :mod:`.plan` (on-chip memory vs board)
read it. ``docs/architecture.md`` shows the layering and the modules.
"""
