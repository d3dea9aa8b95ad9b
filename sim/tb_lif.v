// Unit bench wrapper of syna_lif (sim/test_lif.py): the plain LIF (ATT = 0) and the gated LIF
// (ATT = 1) side by side on the same inputs, P lanes of MB-bit membranes.
`default_nettype none
module tb_lif #(
    parameter integer P = 4,
    parameter integer MB = 12
) (
    input  wire [P*32-1:0] lif_acc,
    input  wire [P*32-1:0] lif_bias,
    input  wire [P*MB-1:0] lif_thr,
    input  wire [P*MB-1:0] lif_v,
    input  wire            lif_first,
    input  wire [P-1:0]    lif_lane_en,
    output wire [P*MB-1:0] lif_cur,
    output wire [P*MB-1:0] lif_v_next,
    output wire [P-1:0]    lif_spike,
    output wire [P-1:0]    lif_sat,
    // the gated LIF (ATT = 1) on the same inputs
    input  wire [1:0]      glif_gmode,
    input  wire [P*9-1:0]  glif_gate,
    input  wire [P-1:0]    glif_gq,
    output wire [P*MB-1:0] glif_cur,
    output wire [P*MB-1:0] glif_v_next,
    output wire [P-1:0]    glif_spike,
    output wire [P-1:0]    glif_sat
);
    syna_lif #(.P(P), .MB(MB)) u_lif (.acc(lif_acc), .bias(lif_bias), .thr(lif_thr), .v(lif_v), .first(lif_first),
        .lane_en(lif_lane_en), .gmode(2'd0), .gate({P * 9{1'b0}}), .gq({P{1'b0}}), .cur(lif_cur),
        .v_next(lif_v_next), .spike(lif_spike), .sat(lif_sat));
    syna_lif #(.P(P), .MB(MB), .ATT(1)) u_glif (.acc(lif_acc), .bias(lif_bias), .thr(lif_thr), .v(lif_v),
        .first(lif_first), .lane_en(lif_lane_en), .gmode(glif_gmode), .gate(glif_gate), .gq(glif_gq),
        .cur(glif_cur), .v_next(glif_v_next), .spike(glif_spike), .sat(glif_sat));
endmodule
`default_nettype wire
