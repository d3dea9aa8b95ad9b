// Unit bench wrapper of syna_conv_engine (sim/test_conv_engine.py): the engine with its three
// memories (input map, weights, accumulators; one-cycle reads as in syna_core), loadable while the
// engine is idle, and the accumulators readable combinationally. P lanes of WB-bit weights; encoder
// words of CIN = 2 values of IB = 5 bits; spike words of up to 16 channels.
`default_nettype none
module tb_conv_engine #(
    parameter integer P = 4,
    parameter integer WB = 8
) (
    input  wire          clk,
    input  wire          rst,
    input  wire          ce_start,
    input  wire          ce_enc,
    input  wire          ce_fc,
    input  wire          ce_dense,
    input  wire [7:0]    ce_scan_base,
    input  wire [15:0]   ce_scan_len,
    input  wire [15:0]   ce_cin,
    input  wire [15:0]   ce_w,
    input  wire [15:0]   ce_ho,
    input  wire [15:0]   ce_wo,
    input  wire [3:0]    ce_k,
    input  wire [1:0]    ce_slog2,
    input  wire [2:0]    ce_pad,
    input  wire [15:0]   ce_g,
    input  wire [15:0]   ce_wbase,
    input  wire [15:0]   ce_kkg,
    input  wire [15:0]   ce_kg,
    input  wire [15:0]   ce_sg,
    input  wire [15:0]   ce_skg,
    input  wire [15:0]   ce_wog,
    output wire          ce_busy,
    output wire          ce_done,
    output wire [31:0]   ce_events,
    output wire [31:0]   ce_ops,
    input  wire          ce_map_we,       // memory loading while idle
    input  wire [7:0]    ce_map_addr,
    input  wire [15:0]   ce_map_data,
    input  wire          ce_w_we,
    input  wire [9:0]    ce_w_addr,
    input  wire [P*WB-1:0] ce_w_data,
    input  wire          ce_acc_we,
    input  wire [7:0]    ce_acc_addr,
    input  wire [P*32-1:0] ce_acc_data,
    output wire [P*32-1:0] ce_acc_q       // acc[ce_acc_addr], combinational
);
    wire        map_re, w_re, acc_re, acc_we;
    wire [7:0]  map_raddr, acc_raddr, acc_waddr;
    wire [9:0]  w_raddr;
    wire [P*32-1:0] acc_wdata;
    reg  [15:0] map_mem [0:255];
    reg  [P*WB-1:0] w_mem [0:1023];
    reg  [P*32-1:0] acc_mem [0:255];
    reg  [15:0] map_q;
    reg  [P*WB-1:0] w_q;
    reg  [P*32-1:0] acc_q;
    always @(posedge clk) begin
        if (ce_map_we) map_mem[ce_map_addr] <= ce_map_data;
        if (ce_w_we) w_mem[ce_w_addr] <= ce_w_data;
        if (ce_acc_we) acc_mem[ce_acc_addr] <= ce_acc_data;
        else if (acc_we) acc_mem[acc_waddr] <= acc_wdata;
        if (map_re) map_q <= map_mem[map_raddr];
        if (w_re) w_q <= w_mem[w_raddr];
        if (acc_re) acc_q <= acc_mem[acc_raddr];
    end
    assign ce_acc_q = acc_mem[ce_acc_addr];
    syna_conv_engine #(.P(P), .WB(WB), .IB(5), .CIN(2), .MW(16), .DW(16), .RAW(8), .WAW(10), .AAW(8), .FW(16)) u_ce (
        .clk(clk), .rst(rst), .start(ce_start), .enc(ce_enc), .fc(ce_fc), .dense(ce_dense),
        .scan_base(ce_scan_base), .scan_len(ce_scan_len), .cin(ce_cin), .w(ce_w), .ho(ce_ho), .wo(ce_wo),
        .k(ce_k), .slog2(ce_slog2), .pad(ce_pad), .pad_y(ce_pad), .g(ce_g), .wbase(ce_wbase), .kkg(ce_kkg), .kg(ce_kg),
        .sg(ce_sg), .skg(ce_skg), .wog(ce_wog), .busy(ce_busy), .done(ce_done),
        .map_re(map_re), .map_raddr(map_raddr), .map_rdata(map_q),
        .w_re(w_re), .w_raddr(w_raddr), .w_rdata(w_q),
        .acc_re(acc_re), .acc_raddr(acc_raddr), .acc_rdata(acc_q),
        .acc_we(acc_we), .acc_waddr(acc_waddr), .acc_wdata(acc_wdata),
        .n_events(ce_events), .n_ops(ce_ops));
endmodule
`default_nettype wire
