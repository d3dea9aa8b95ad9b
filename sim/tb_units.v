// Unit-test wrapper: every rtl/ unit behind its own prefixed ports, so that one
// build (Verilator) serves all unit tests (sim/test_units.py). Parameters are
// small and deliberately odd (MB = 12, P = 4, WB = 6, 2 encoder channels).
`default_nettype none
module tb_units (
    input  wire          clk,
    input  wire          rst,
    // ---- syna_lif (P = 4, MB = 12)
    input  wire [127:0]  lif_acc,
    input  wire [127:0]  lif_bias,
    input  wire [47:0]   lif_thr,
    input  wire [47:0]   lif_v,
    input  wire          lif_first,
    input  wire [3:0]    lif_lane_en,
    output wire [47:0]   lif_v_next,
    output wire [3:0]    lif_spike,
    output wire [3:0]    lif_sat,
    // ---- syna_lif with the attention gate (ATT = 1), on the same inputs
    input  wire [1:0]    glif_gmode,
    input  wire [35:0]   glif_gate,
    input  wire [3:0]    glif_gq,
    output wire [47:0]   glif_cur,
    output wire [47:0]   glif_v_next,
    output wire [3:0]    glif_spike,
    output wire [3:0]    glif_sat,
    // ---- syna_merge (W = 16)
    input  wire [1:0]    mg_op,
    input  wire [15:0]   mg_m,
    input  wire [15:0]   mg_r,
    output wire [15:0]   mg_y,
    // ---- syna_pool_or (W = 16)
    input  wire          po_first,
    input  wire          po_valid,
    input  wire [15:0]   po_d,
    output wire [15:0]   po_y,
    // ---- syna_counter (W = 8, IW = 4: saturates quickly) and syna_popcount (W = 37)
    input  wire          ct_clr,
    input  wire [3:0]    ct_inc,
    output wire [7:0]    ct_q,
    input  wire [36:0]   pc_d,
    output wire [5:0]    pc_n,
    // ---- syna_conv_engine with its memories (P = 4, WB = 6, IB = 5, CIN = 2)
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
    input  wire [23:0]   ce_w_data,
    input  wire          ce_acc_we,
    input  wire [7:0]    ce_acc_addr,
    input  wire [127:0]  ce_acc_data,
    output wire [127:0]  ce_acc_q,       // acc[ce_acc_addr], combinational
    // ---- syna_stream_rx (LANE 4, IB 3, CIN 2, H 3, W 5, T 2 -> WPF 4)
    input  wire          rx_start,
    input  wire          rx_store,
    input  wire          rx_tvalid,
    output wire          rx_tready,
    input  wire [31:0]   rx_tdata,
    input  wire          rx_tlast,
    output wire          rx_done,
    output wire          rx_err_short,
    output wire          rx_err_long,
    output wire          rx_err_range,
    output wire          rx_we,
    output wire [0:0]    rx_chan,
    output wire [4:0]    rx_addr,
    output wire [2:0]    rx_val,
    // ---- syna_stream_tx (N = 5): word i = 0x1000 + i
    input  wire          tx_start,
    output wire          tx_tvalid,
    input  wire          tx_tready,
    output wire [31:0]   tx_tdata,
    output wire          tx_tlast,
    output wire          tx_done,
    // ---- syna_axil_regs
    input  wire          axil_awvalid,
    output wire          axil_awready,
    input  wire [6:0]    axil_awaddr,
    input  wire [2:0]    axil_awprot,
    input  wire          axil_wvalid,
    output wire          axil_wready,
    input  wire [31:0]   axil_wdata,
    input  wire [3:0]    axil_wstrb,
    output wire          axil_bvalid,
    input  wire          axil_bready,
    output wire [1:0]    axil_bresp,
    input  wire          axil_arvalid,
    output wire          axil_arready,
    input  wire [6:0]    axil_araddr,
    input  wire [2:0]    axil_arprot,
    output wire          axil_rvalid,
    input  wire          axil_rready,
    output wire [31:0]   axil_rdata,
    output wire [1:0]    axil_rresp,
    output wire          rg_ap_start,
    input  wire          rg_accept,
    input  wire          rg_core_idle,
    input  wire          rg_core_done,
    output wire [31:0]   rg_steps,
    output wire [31:0]   rg_idle,
    input  wire [31:0]   rg_status,
    input  wire [31:0]   rg_cycles,
    input  wire [31:0]   rg_sats,
    input  wire [31:0]   rg_hash,
    output wire          rg_interrupt
);
    wire [47:0] lif_cur;
    syna_lif #(.P(4), .MB(12)) u_lif (.acc(lif_acc), .bias(lif_bias), .thr(lif_thr), .v(lif_v), .first(lif_first),
        .lane_en(lif_lane_en), .gmode(2'd0), .gate(36'd0), .gq(4'd0), .cur(lif_cur), .v_next(lif_v_next),
        .spike(lif_spike), .sat(lif_sat));
    syna_lif #(.P(4), .MB(12), .ATT(1)) u_glif (.acc(lif_acc), .bias(lif_bias), .thr(lif_thr), .v(lif_v),
        .first(lif_first), .lane_en(lif_lane_en), .gmode(glif_gmode), .gate(glif_gate), .gq(glif_gq),
        .cur(glif_cur), .v_next(glif_v_next), .spike(glif_spike), .sat(glif_sat));
    syna_merge #(.W(16)) u_merge (.op(mg_op), .m(mg_m), .r(mg_r), .y(mg_y));
    syna_pool_or #(.W(16)) u_pool (.clk(clk), .first(po_first), .valid(po_valid), .d(po_d), .y(po_y));
    syna_counter #(.W(8), .IW(4)) u_ct (.clk(clk), .clr(ct_clr | rst), .inc(ct_inc), .q(ct_q));
    syna_popcount #(.W(37), .OW(6)) u_pc (.d(pc_d), .n(pc_n));

    // conv engine + memories
    wire        map_re, w_re, acc_re, acc_we;
    wire [7:0]  map_raddr, acc_raddr, acc_waddr;
    wire [9:0]  w_raddr;
    wire [127:0] acc_wdata;
    reg  [15:0] map_mem [0:255];
    reg  [23:0] w_mem [0:1023];
    reg  [127:0] acc_mem [0:255];
    reg  [15:0] map_q;
    reg  [23:0] w_q;
    reg  [127:0] acc_q;
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
    syna_conv_engine #(.P(4), .WB(6), .IB(5), .CIN(2), .MW(16), .DW(16), .RAW(8), .WAW(10), .AAW(8), .FW(16)) u_ce (
        .clk(clk), .rst(rst), .start(ce_start), .enc(ce_enc), .fc(ce_fc), .dense(ce_dense),
        .scan_base(ce_scan_base), .scan_len(ce_scan_len), .cin(ce_cin), .w(ce_w), .ho(ce_ho), .wo(ce_wo),
        .k(ce_k), .slog2(ce_slog2), .pad(ce_pad), .g(ce_g), .wbase(ce_wbase), .kkg(ce_kkg), .kg(ce_kg),
        .sg(ce_sg), .skg(ce_skg), .wog(ce_wog), .busy(ce_busy), .done(ce_done),
        .map_re(map_re), .map_raddr(map_raddr), .map_rdata(map_q),
        .w_re(w_re), .w_raddr(w_raddr), .w_rdata(w_q),
        .acc_re(acc_re), .acc_raddr(acc_raddr), .acc_rdata(acc_q),
        .acc_we(acc_we), .acc_waddr(acc_waddr), .acc_wdata(acc_wdata),
        .n_events(ce_events), .n_ops(ce_ops));

    syna_stream_rx #(.LANE(4), .IB(3), .CIN(2), .H(3), .W(5), .T(2), .WPF(4), .IAW(5), .CW(1)) u_rx (
        .clk(clk), .rst(rst), .start(rx_start), .store(rx_store), .idle_limit(32'd50), .s_axis_tvalid(rx_tvalid),
        .s_axis_tready(rx_tready), .s_axis_tdata(rx_tdata), .s_axis_tlast(rx_tlast), .done(rx_done),
        .err_short(rx_err_short), .err_long(rx_err_long), .err_range(rx_err_range), .in_we(rx_we), .in_chan(rx_chan),
        .in_addr(rx_addr), .in_val(rx_val));

    wire [2:0] tx_idx;
    syna_stream_tx #(.N(5), .IW(3)) u_tx (.clk(clk), .rst(rst), .start(tx_start), .idx(tx_idx),
        .data(32'h1000 + {29'd0, tx_idx}), .m_axis_tvalid(tx_tvalid), .m_axis_tready(tx_tready),
        .m_axis_tdata(tx_tdata), .m_axis_tlast(tx_tlast), .done(tx_done));

    syna_axil_regs u_regs (.clk(clk), .rst(rst),
        .awvalid(axil_awvalid), .awready(axil_awready), .awaddr(axil_awaddr), .wvalid(axil_wvalid),
        .wready(axil_wready), .wdata(axil_wdata), .wstrb(axil_wstrb), .bvalid(axil_bvalid), .bready(axil_bready),
        .bresp(axil_bresp), .arvalid(axil_arvalid), .arready(axil_arready), .araddr(axil_araddr),
        .rvalid(axil_rvalid), .rready(axil_rready), .rdata(axil_rdata), .rresp(axil_rresp),
        .ap_start(rg_ap_start), .accept(rg_accept), .core_idle(rg_core_idle), .core_done(rg_core_done),
        .steps(rg_steps), .idle_timeout(rg_idle), .status(rg_status), .cycles(rg_cycles), .saturations(rg_sats), .model_hash(rg_hash),
        .interrupt(rg_interrupt));
endmodule
`default_nettype wire
