// Top level with exactly the ports of docs/core-interface.md (the same as the
// Vitis HLS core's): ap_clk, ap_rst_n, s_axi_control (AXI4-Lite), s_axis_in and
// m_axis_out (AXI4-Stream, TKEEP, TLAST), interrupt. The spike-map tap and the
// dense-mode input of syna_core are simulation-only and left unconnected here.
`default_nettype none
// The interface names the interrupt port `interrupt` (docs/core-interface.md):
/* verilator lint_off SYMRSVDWORD */
module syna_core_top (
    input  wire        ap_clk,
    input  wire        ap_rst_n,
    input  wire        s_axi_control_AWVALID,
    output wire        s_axi_control_AWREADY,
    input  wire [6:0]  s_axi_control_AWADDR,
    input  wire        s_axi_control_WVALID,
    output wire        s_axi_control_WREADY,
    input  wire [31:0] s_axi_control_WDATA,
    input  wire [3:0]  s_axi_control_WSTRB,
    output wire        s_axi_control_BVALID,
    input  wire        s_axi_control_BREADY,
    output wire [1:0]  s_axi_control_BRESP,
    input  wire        s_axi_control_ARVALID,
    output wire        s_axi_control_ARREADY,
    input  wire [6:0]  s_axi_control_ARADDR,
    output wire        s_axi_control_RVALID,
    input  wire        s_axi_control_RREADY,
    output wire [31:0] s_axi_control_RDATA,
    output wire [1:0]  s_axi_control_RRESP,
    input  wire        s_axis_in_TVALID,
    output wire        s_axis_in_TREADY,
    input  wire [31:0] s_axis_in_TDATA,
    input  wire [3:0]  s_axis_in_TKEEP,
    input  wire        s_axis_in_TLAST,
    output wire        m_axis_out_TVALID,
    input  wire        m_axis_out_TREADY,
    output wire [31:0] m_axis_out_TDATA,
    output wire [3:0]  m_axis_out_TKEEP,
    output wire        m_axis_out_TLAST,
    output wire        interrupt
);
    wire        tap_valid, dbg_busy, dbg_stall;
    wire [7:0]  tap_layer;
    wire [31:0] tap_index;
    wire [1023:0] tap_word;
    wire [63:0] ar_addr;                  // the core's (idle) DDR read port
    wire [7:0]  ar_len;
    wire [3:0]  ar_cache, ar_qos, ar_region;
    wire [2:0]  ar_size, ar_prot;
    wire [1:0]  ar_burst, ar_lock;
    wire        ar_id, ar_valid, r_ready;
    wire [63:0] aw_addr;                  // the core's (idle) DDR write channels
    wire [7:0]  aw_len;
    wire [3:0]  aw_cache, aw_qos, aw_region;
    wire [2:0]  aw_size, aw_prot;
    wire [1:0]  aw_burst, aw_lock;
    wire        aw_id, aw_valid, w_last, w_valid, b_ready;
    wire [63:0] w_data;
    wire [7:0]  w_strb;
    syna_core u_core (
        .ap_clk(ap_clk), .ap_rst_n(ap_rst_n),
        .s_axi_control_AWVALID(s_axi_control_AWVALID), .s_axi_control_AWREADY(s_axi_control_AWREADY),
        .s_axi_control_AWADDR(s_axi_control_AWADDR), .s_axi_control_WVALID(s_axi_control_WVALID),
        .s_axi_control_WREADY(s_axi_control_WREADY), .s_axi_control_WDATA(s_axi_control_WDATA),
        .s_axi_control_WSTRB(s_axi_control_WSTRB), .s_axi_control_BVALID(s_axi_control_BVALID),
        .s_axi_control_BREADY(s_axi_control_BREADY), .s_axi_control_BRESP(s_axi_control_BRESP),
        .s_axi_control_ARVALID(s_axi_control_ARVALID), .s_axi_control_ARREADY(s_axi_control_ARREADY),
        .s_axi_control_ARADDR(s_axi_control_ARADDR), .s_axi_control_RVALID(s_axi_control_RVALID),
        .s_axi_control_RREADY(s_axi_control_RREADY), .s_axi_control_RDATA(s_axi_control_RDATA),
        .s_axi_control_RRESP(s_axi_control_RRESP),
        .s_axis_in_TVALID(s_axis_in_TVALID), .s_axis_in_TREADY(s_axis_in_TREADY),
        .s_axis_in_TDATA(s_axis_in_TDATA), .s_axis_in_TKEEP(s_axis_in_TKEEP), .s_axis_in_TLAST(s_axis_in_TLAST),
        .m_axis_out_TVALID(m_axis_out_TVALID), .m_axis_out_TREADY(m_axis_out_TREADY),
        .m_axis_out_TDATA(m_axis_out_TDATA), .m_axis_out_TKEEP(m_axis_out_TKEEP),
        .m_axis_out_TLAST(m_axis_out_TLAST), .interrupt(interrupt),
        // on-chip weights: the core's DDR read port is tied off (syna_core_top_ddr.v has it)
        .m_axi_gmem_ARADDR(ar_addr), .m_axi_gmem_ARLEN(ar_len), .m_axi_gmem_ARSIZE(ar_size),
        .m_axi_gmem_ARBURST(ar_burst), .m_axi_gmem_ARLOCK(ar_lock), .m_axi_gmem_ARCACHE(ar_cache),
        .m_axi_gmem_ARPROT(ar_prot), .m_axi_gmem_ARQOS(ar_qos), .m_axi_gmem_ARREGION(ar_region), .m_axi_gmem_ARID(ar_id),
        .m_axi_gmem_ARVALID(ar_valid), .m_axi_gmem_ARREADY(1'b0), .m_axi_gmem_RID(1'b0), .m_axi_gmem_RDATA(64'd0),
        .m_axi_gmem_RRESP(2'd0), .m_axi_gmem_RLAST(1'b0), .m_axi_gmem_RVALID(1'b0), .m_axi_gmem_RREADY(r_ready),
        .m_axi_gmem_AWADDR(aw_addr), .m_axi_gmem_AWLEN(aw_len), .m_axi_gmem_AWSIZE(aw_size),
        .m_axi_gmem_AWBURST(aw_burst), .m_axi_gmem_AWLOCK(aw_lock), .m_axi_gmem_AWCACHE(aw_cache),
        .m_axi_gmem_AWPROT(aw_prot), .m_axi_gmem_AWQOS(aw_qos), .m_axi_gmem_AWREGION(aw_region), .m_axi_gmem_AWID(aw_id),
        .m_axi_gmem_AWVALID(aw_valid), .m_axi_gmem_AWREADY(1'b0), .m_axi_gmem_WDATA(w_data), .m_axi_gmem_WSTRB(w_strb),
        .m_axi_gmem_WLAST(w_last), .m_axi_gmem_WVALID(w_valid), .m_axi_gmem_WREADY(1'b0), .m_axi_gmem_BID(1'b0),
        .m_axi_gmem_BRESP(2'd0), .m_axi_gmem_BVALID(1'b0), .m_axi_gmem_BREADY(b_ready),
        .dbg_dense(1'b0), .tap_valid(tap_valid), .tap_layer(tap_layer), .tap_index(tap_index),
        .tap_word(tap_word), .dbg_busy(dbg_busy), .dbg_stall(dbg_stall));
endmodule
`default_nettype wire
