// The RTL's source files in dependency order, one per line, relative to the repository root:
// the units, then syna_core.v (the controller), then syna_core_top_ddr.v (the top level of a
// weights-in-DDR build) and syna_core_top.v (the top level).
// The one list every consumer reads: syna_hw.rtl_core.rtl_sources() (Verilator harness, cocotb
// benches, Yosys, lint), or a tool directly from the root: `verilator -f rtl/syna.f`, `iverilog -c rtl/syna.f`.
rtl/syna_mem.v
rtl/syna_spkmem.v
rtl/syna_lif.v
rtl/syna_merge.v
rtl/syna_pool_or.v
rtl/syna_counter.v
rtl/syna_popcount.v
rtl/syna_conv_engine.v
rtl/syna_stream_rx.v
rtl/syna_stream_tx.v
rtl/syna_axi_rd.v
rtl/syna_axi_wr.v
rtl/syna_mapdma.v
rtl/syna_axil_regs.v
rtl/syna_attention.v
rtl/syna_core.v
rtl/syna_core_top_ddr.v
rtl/syna_core_top.v
