// Top level of a weights-in-DDR build (syna_cfg.vh defines SYNA_WEIGHTS_DDR; docs/rtl.md "Weights
// in DDR"): the ports of syna_core_top.v plus the AXI4 master m_axi_gmem of the HLS IP's DDR mode
// (reads only: the write channels are there for the port list and stay idle). GMEM_DW must be the
// configuration's SYNA_GMEM_DW (one image row, at least 32 bits). The spike-map tap and the
// dense-mode input of syna_core are simulation-only and left unconnected here.
`default_nettype none
// The interface names the interrupt port `interrupt` (docs/core-interface.md):
/* verilator lint_off SYMRSVDWORD */
module syna_core_top_ddr #(
    parameter integer GMEM_DW = 64          // m_axi_gmem data width (weights in DDR: syna_cfg.vh SYNA_GMEM_DW)
) (
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
    output wire        interrupt,
    // AXI4 master m_axi_gmem (weights in DDR; tied off in an on-chip build): reads only, the write
    // channels are there for the HLS IP's port list and stay idle
    output wire [63:0] m_axi_gmem_ARADDR,
    output wire [7:0]  m_axi_gmem_ARLEN,
    output wire [2:0]  m_axi_gmem_ARSIZE,
    output wire [1:0]  m_axi_gmem_ARBURST,
    output wire [1:0]  m_axi_gmem_ARLOCK,
    output wire [3:0]  m_axi_gmem_ARCACHE,
    output wire [2:0]  m_axi_gmem_ARPROT,
    output wire [3:0]  m_axi_gmem_ARQOS,
    output wire [3:0]  m_axi_gmem_ARREGION,
    output wire [0:0]  m_axi_gmem_ARID,
    output wire        m_axi_gmem_ARVALID,
    input  wire        m_axi_gmem_ARREADY,
    input  wire [0:0]  m_axi_gmem_RID,
    input  wire [GMEM_DW-1:0] m_axi_gmem_RDATA,
    input  wire [1:0]  m_axi_gmem_RRESP,
    input  wire        m_axi_gmem_RLAST,
    input  wire        m_axi_gmem_RVALID,
    output wire        m_axi_gmem_RREADY,
    output wire [63:0] m_axi_gmem_AWADDR,
    output wire [7:0]  m_axi_gmem_AWLEN,
    output wire [2:0]  m_axi_gmem_AWSIZE,
    output wire [1:0]  m_axi_gmem_AWBURST,
    output wire [1:0]  m_axi_gmem_AWLOCK,
    output wire [3:0]  m_axi_gmem_AWCACHE,
    output wire [2:0]  m_axi_gmem_AWPROT,
    output wire [3:0]  m_axi_gmem_AWQOS,
    output wire [3:0]  m_axi_gmem_AWREGION,
    output wire [0:0]  m_axi_gmem_AWID,
    output wire        m_axi_gmem_AWVALID,
    input  wire        m_axi_gmem_AWREADY,
    output wire [GMEM_DW-1:0] m_axi_gmem_WDATA,
    output wire [GMEM_DW/8-1:0] m_axi_gmem_WSTRB,
    output wire        m_axi_gmem_WLAST,
    output wire        m_axi_gmem_WVALID,
    input  wire        m_axi_gmem_WREADY,
    input  wire [0:0]  m_axi_gmem_BID,
    input  wire [1:0]  m_axi_gmem_BRESP,
    input  wire        m_axi_gmem_BVALID,
    output wire        m_axi_gmem_BREADY
);
    assign m_axi_gmem_AWADDR = 64'd0;
    assign m_axi_gmem_AWLEN = 8'd0;
    assign m_axi_gmem_AWSIZE = 3'd0;
    assign m_axi_gmem_AWBURST = 2'd0;
    assign m_axi_gmem_AWLOCK = 2'd0;
    assign m_axi_gmem_AWCACHE = 4'd0;
    assign m_axi_gmem_AWPROT = 3'd0;
    assign m_axi_gmem_AWQOS = 4'd0;
    assign m_axi_gmem_AWREGION = 4'd0;
    assign m_axi_gmem_AWID = 1'b0;
    assign m_axi_gmem_AWVALID = 1'b0;
    assign m_axi_gmem_WDATA = {GMEM_DW{1'b0}};
    assign m_axi_gmem_WSTRB = {(GMEM_DW / 8){1'b0}};
    assign m_axi_gmem_WLAST = 1'b0;
    assign m_axi_gmem_WVALID = 1'b0;
    assign m_axi_gmem_BREADY = 1'b1;
    wire        tap_valid, dbg_busy, dbg_stall;
    wire [7:0]  tap_layer;
    wire [31:0] tap_index;
    wire [1023:0] tap_word;
    syna_core #(.GMEM_DW(GMEM_DW)) u_core (
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
        .m_axi_gmem_ARADDR(m_axi_gmem_ARADDR), .m_axi_gmem_ARLEN(m_axi_gmem_ARLEN),
        .m_axi_gmem_ARSIZE(m_axi_gmem_ARSIZE), .m_axi_gmem_ARBURST(m_axi_gmem_ARBURST),
        .m_axi_gmem_ARLOCK(m_axi_gmem_ARLOCK), .m_axi_gmem_ARCACHE(m_axi_gmem_ARCACHE),
        .m_axi_gmem_ARPROT(m_axi_gmem_ARPROT), .m_axi_gmem_ARQOS(m_axi_gmem_ARQOS),
        .m_axi_gmem_ARREGION(m_axi_gmem_ARREGION), .m_axi_gmem_ARID(m_axi_gmem_ARID),
        .m_axi_gmem_ARVALID(m_axi_gmem_ARVALID), .m_axi_gmem_ARREADY(m_axi_gmem_ARREADY),
        .m_axi_gmem_RID(m_axi_gmem_RID), .m_axi_gmem_RDATA(m_axi_gmem_RDATA), .m_axi_gmem_RRESP(m_axi_gmem_RRESP),
        .m_axi_gmem_RLAST(m_axi_gmem_RLAST), .m_axi_gmem_RVALID(m_axi_gmem_RVALID),
        .m_axi_gmem_RREADY(m_axi_gmem_RREADY),
        .dbg_dense(1'b0), .tap_valid(tap_valid), .tap_layer(tap_layer), .tap_index(tap_index),
        .tap_word(tap_word), .dbg_busy(dbg_busy), .dbg_stall(dbg_stall));
endmodule
`default_nettype wire
