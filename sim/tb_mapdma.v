// Unit bench wrapper of syna_mapdma (sim/test_mapdma.py): the DMA with the masters it drives in the core
// (syna_axi_rd, syna_axi_wr) and a staging memory (syna_mem, W bits x D words); the AXI4 port m_axi_*
// goes to cocotbext-axi's AxiRam; the staging has a back door (bd_*) for the bench to write and read it.
`default_nettype none
module tb_mapdma #(
    parameter integer W = 128,
    parameter integer DW = 64,
    parameter integer SAW = 6,
    parameter integer MAX_BURST = 16
) (
    input  wire            clk,
    input  wire            rst,
    input  wire            start,
    input  wire [1:0]      mode,
    input  wire [31:0]     addr,
    input  wire [31:0]     npos,
    input  wire [5:0]      pw,
    input  wire [SAW-1:0]  base,
    output wire            done,
    output wire            err,
    output wire            busy,
    output wire            x_valid,
    input  wire            x_ready,
    output wire [31:0]     x_data,
    output wire            x_last,
    // back door to the staging (used while no job runs)
    input  wire            bd_we,
    input  wire [SAW-1:0]  bd_addr,
    input  wire [W-1:0]    bd_wdata,
    output wire [W-1:0]    bd_rdata,
    // AXI4 master
    output wire [0:0]      m_axi_arid,
    output wire [31:0]     m_axi_araddr,
    output wire [7:0]      m_axi_arlen,
    output wire [2:0]      m_axi_arsize,
    output wire [1:0]      m_axi_arburst,
    output wire            m_axi_arlock,
    output wire [3:0]      m_axi_arcache,
    output wire [2:0]      m_axi_arprot,
    output wire            m_axi_arvalid,
    input  wire            m_axi_arready,
    input  wire [0:0]      m_axi_rid,
    input  wire [DW-1:0]   m_axi_rdata,
    input  wire [1:0]      m_axi_rresp,
    input  wire            m_axi_rlast,
    input  wire            m_axi_rvalid,
    output wire            m_axi_rready,
    output wire [0:0]      m_axi_awid,
    output wire [31:0]     m_axi_awaddr,
    output wire [7:0]      m_axi_awlen,
    output wire [2:0]      m_axi_awsize,
    output wire [1:0]      m_axi_awburst,
    output wire            m_axi_awlock,
    output wire [3:0]      m_axi_awcache,
    output wire [2:0]      m_axi_awprot,
    output wire            m_axi_awvalid,
    input  wire            m_axi_awready,
    output wire [DW-1:0]   m_axi_wdata,
    output wire [DW/8-1:0] m_axi_wstrb,
    output wire            m_axi_wlast,
    output wire            m_axi_wvalid,
    input  wire            m_axi_wready,
    input  wire [0:0]      m_axi_bid,
    input  wire [1:0]      m_axi_bresp,
    input  wire            m_axi_bvalid,
    output wire            m_axi_bready
);
    wire           rc_valid, rc_ready, rd_valid, rd_take, rd_done, rd_err_resp, rd_err_cmd, rd_busy, rd_last;
    wire [31:0]    rc_addr, rc_len, wc_addr, wc_len;
    wire [DW-1:0]  rd_data, w_data;
    wire [DW/8-1:0] rd_keep;
    wire           wc_valid, wc_ready, w_valid, w_ready, wr_done, wr_err_resp, wr_err_cmd, wr_busy;
    wire           s_we, s_re;
    wire [SAW-1:0] s_waddr, s_raddr;
    wire [W-1:0]   s_wdata, s_rdata;
    wire [3:0]     arqos, awqos;
    syna_mapdma #(.W(W), .DW(DW), .GAW(32), .SAW(SAW)) u_dma (
        .clk(clk), .rst(rst), .start(start), .mode(mode), .addr(addr), .npos(npos), .pw(pw), .base(base),
        .done(done), .err(err), .busy(busy),
        .rc_valid(rc_valid), .rc_ready(rc_ready), .rc_addr(rc_addr), .rc_len(rc_len),
        .rd_valid(rd_valid), .rd_data(rd_data), .rd_take(rd_take), .rd_done(rd_done),
        .rd_err(rd_err_resp || rd_err_cmd),
        .wc_valid(wc_valid), .wc_ready(wc_ready), .wc_addr(wc_addr), .wc_len(wc_len),
        .w_valid(w_valid), .w_ready(w_ready), .w_data(w_data), .wr_done(wr_done), .wr_err(wr_err_resp || wr_err_cmd),
        .s_we(s_we), .s_waddr(s_waddr), .s_wdata(s_wdata), .s_re(s_re), .s_raddr(s_raddr), .s_rdata(s_rdata),
        .x_valid(x_valid), .x_ready(x_ready), .x_data(x_data), .x_last(x_last));
    syna_axi_rd #(.DATA_WIDTH(DW), .ADDR_WIDTH(32), .MAX_BURST(MAX_BURST), .FIFO_DEPTH(2 * MAX_BURST)) u_rd (
        .clk(clk), .rst(rst), .cmd_valid(rc_valid), .cmd_ready(rc_ready), .cmd_addr(rc_addr), .cmd_len(rc_len),
        .busy(rd_busy), .done(rd_done), .err_resp(rd_err_resp), .err_cmd(rd_err_cmd),
        .out_valid(rd_valid), .out_ready(rd_take), .out_data(rd_data), .out_keep(rd_keep), .out_last(rd_last),
        .m_axi_arid(m_axi_arid), .m_axi_araddr(m_axi_araddr), .m_axi_arlen(m_axi_arlen), .m_axi_arsize(m_axi_arsize),
        .m_axi_arburst(m_axi_arburst), .m_axi_arlock(m_axi_arlock), .m_axi_arcache(m_axi_arcache),
        .m_axi_arprot(m_axi_arprot), .m_axi_arqos(arqos), .m_axi_arvalid(m_axi_arvalid),
        .m_axi_arready(m_axi_arready), .m_axi_rid(m_axi_rid), .m_axi_rdata(m_axi_rdata), .m_axi_rresp(m_axi_rresp),
        .m_axi_rlast(m_axi_rlast), .m_axi_rvalid(m_axi_rvalid), .m_axi_rready(m_axi_rready));
    syna_axi_wr #(.DATA_WIDTH(DW), .ADDR_WIDTH(32), .MAX_BURST(MAX_BURST)) u_wr (
        .clk(clk), .rst(rst), .cmd_valid(wc_valid), .cmd_ready(wc_ready), .cmd_addr(wc_addr), .cmd_len(wc_len),
        .busy(wr_busy), .done(wr_done), .err_resp(wr_err_resp), .err_cmd(wr_err_cmd),
        .in_valid(w_valid), .in_ready(w_ready), .in_data(w_data),
        .m_axi_awid(m_axi_awid), .m_axi_awaddr(m_axi_awaddr), .m_axi_awlen(m_axi_awlen), .m_axi_awsize(m_axi_awsize),
        .m_axi_awburst(m_axi_awburst), .m_axi_awlock(m_axi_awlock), .m_axi_awcache(m_axi_awcache),
        .m_axi_awprot(m_axi_awprot), .m_axi_awqos(awqos), .m_axi_awvalid(m_axi_awvalid),
        .m_axi_awready(m_axi_awready), .m_axi_wdata(m_axi_wdata), .m_axi_wstrb(m_axi_wstrb),
        .m_axi_wlast(m_axi_wlast), .m_axi_wvalid(m_axi_wvalid), .m_axi_wready(m_axi_wready), .m_axi_bid(m_axi_bid),
        .m_axi_bresp(m_axi_bresp), .m_axi_bvalid(m_axi_bvalid), .m_axi_bready(m_axi_bready));
    syna_mem #(.W(W), .D(1 << SAW), .AW(SAW)) u_stage (
        .clk(clk), .we(s_we || bd_we), .waddr(busy ? s_waddr : bd_addr), .wdata(busy ? s_wdata : bd_wdata),
        .re(s_re || !busy), .raddr(busy ? s_raddr : bd_addr), .rdata(s_rdata));
    assign bd_rdata = s_rdata;
    wire unused = &{1'b0, rd_busy, rd_last, rd_keep, wr_busy, arqos, awqos};
endmodule
`default_nettype wire
