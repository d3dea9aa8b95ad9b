// Integer LIF of docs/numerics.md section 3, P neurons (lanes) at once, combinational.
//   i = sat_MB(acc + bias)   (counted: sat[l]; the saturated current is also an output, `cur`,
//                             for attention's pooling)
//   [attention gate, ATT = 1 only (numerics.md section 6):
//      gmode 1 (MA): i' = max(0, (i * g) >>> GFB), g = gate[l] in 0..2^GFB (GFB = 8: syna_cfg.vh)
//      gmode 2 (IA): i' = q[l] ? max(0, i) : 0]
//   h = (v + i') >>> 1       (v = 0 at t = 0: input first)
//   s = h >= theta
//   v' = s ? 0 : h
// Lanes with lane_en = 0 (channels beyond Cout) never spike nor count.
`default_nettype none
module syna_lif #(
    parameter integer P = 4,
    parameter integer MB = 16,          // membrane bits, 8..32
    parameter integer ATT = 0,          // 1: the attention gate is built (gmode, gate, gq)
    parameter integer GFB = 8           // MA gate fraction bits (SYNA_GATE_FRAC_BITS of syna_cfg.vh)
) (
    input  wire [P*32-1:0] acc,         // accumulated synaptic current (no bias), int32 per lane
    input  wire [P*32-1:0] bias,        // int32 per lane
    input  wire [P*MB-1:0] thr,         // int MB per lane
    input  wire [P*MB-1:0] v,           // membrane before this step
    input  wire            first,       // t = 0: the membrane starts at 0
    input  wire [P-1:0]    lane_en,
    input  wire [1:0]      gmode,       // 0: no gate, 1: MA, 2: IA (ATT = 1 only)
    input  wire [P*9-1:0]  gate,        // MA gate per lane, 0..256
    input  wire [P-1:0]    gq,          // IA gate spike per lane
    output wire [P*MB-1:0] cur,         // saturated current i (before the gate)
    output wire [P*MB-1:0] v_next,
    output wire [P-1:0]    spike,
    output wire [P-1:0]    sat
);
    localparam signed [32:0] HI = (33'sd1 <<< (MB - 1)) - 33'sd1;
    localparam signed [32:0] LO = -(33'sd1 <<< (MB - 1));
    genvar l;
    generate
        for (l = 0; l < P; l = l + 1) begin : g_lane
            wire signed [32:0]   cs = $signed({acc[l*32+31], acc[l*32 +: 32]}) + $signed({bias[l*32+31], bias[l*32 +: 32]});
            wire                 over = cs > HI;
            wire                 under = cs < LO;
            wire signed [MB-1:0] i_sat = over ? HI[MB-1:0] : (under ? LO[MB-1:0] : cs[MB-1:0]);
            wire signed [MB-1:0] i_eff;
            if (ATT != 0) begin : g_gate
                wire signed [MB+9:0] prod = i_sat * $signed({1'b0, gate[l*9 +: 9]});
                wire signed [MB+9:0] scaled = prod >>> GFB;         // floor; |scaled| <= |i|
                assign i_eff = gmode == 2'd1 ? (scaled[MB+9] ? {MB{1'b0}} : scaled[MB-1:0])
                             : gmode == 2'd2 ? ((gq[l] && !i_sat[MB-1]) ? i_sat : {MB{1'b0}})
                             : i_sat;
            end else begin : g_nogate
                assign i_eff = i_sat;
            end
            wire signed [MB-1:0] v_in = first ? {MB{1'b0}} : v[l*MB +: MB];
            wire signed [MB:0]   sum = $signed({v_in[MB-1], v_in}) + $signed({i_eff[MB-1], i_eff});
            wire signed [MB-1:0] h = sum[MB:1];                 // arithmetic shift right by 1 (floor)
            wire                 s = lane_en[l] & (h >= $signed(thr[l*MB +: MB]));
            assign cur[l*MB +: MB] = i_sat;
            assign v_next[l*MB +: MB] = s ? {MB{1'b0}} : h;
            assign spike[l] = s;
            assign sat[l] = lane_en[l] & (over | under);
        end
    endgenerate
endmodule
`default_nettype wire
