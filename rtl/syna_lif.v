// Integer LIF of docs/numerics.md section 3, P neurons (lanes) at once, combinational.
//   i = sat_MB(acc + bias)   (counted: sat[l])
//   h = (v + i) >>> 1        (v = 0 at t = 0: input first)
//   s = h >= theta
//   v' = s ? 0 : h
// Lanes with lane_en = 0 (channels beyond Cout) never spike nor count.
`default_nettype none
module syna_lif #(
    parameter integer P = 4,
    parameter integer MB = 16           // membrane bits, 8..32
) (
    input  wire [P*32-1:0] acc,         // accumulated synaptic current (no bias), int32 per lane
    input  wire [P*32-1:0] bias,        // int32 per lane
    input  wire [P*MB-1:0] thr,         // int MB per lane
    input  wire [P*MB-1:0] v,           // membrane before this step
    input  wire            first,       // t = 0: the membrane starts at 0
    input  wire [P-1:0]    lane_en,
    output wire [P*MB-1:0] v_next,
    output wire [P-1:0]    spike,
    output wire [P-1:0]    sat
);
    localparam signed [32:0] HI = (33'sd1 <<< (MB - 1)) - 33'sd1;
    localparam signed [32:0] LO = -(33'sd1 <<< (MB - 1));
    genvar l;
    generate
        for (l = 0; l < P; l = l + 1) begin : g_lane
            wire signed [32:0]   cur = $signed({acc[l*32+31], acc[l*32 +: 32]}) + $signed({bias[l*32+31], bias[l*32 +: 32]});
            wire                 over = cur > HI;
            wire                 under = cur < LO;
            wire signed [MB-1:0] i_sat = over ? HI[MB-1:0] : (under ? LO[MB-1:0] : cur[MB-1:0]);
            wire signed [MB-1:0] v_in = first ? {MB{1'b0}} : v[l*MB +: MB];
            wire signed [MB:0]   sum = $signed({v_in[MB-1], v_in}) + $signed({i_sat[MB-1], i_sat});
            wire signed [MB-1:0] h = sum[MB:1];                 // arithmetic shift right by 1 (floor)
            wire                 s = lane_en[l] & (h >= $signed(thr[l*MB +: MB]));
            assign v_next[l*MB +: MB] = s ? {MB{1'b0}} : h;
            assign spike[l] = s;
            assign sat[l] = lane_en[l] & (over | under);
        end
    endgenerate
endmodule
`default_nettype wire
