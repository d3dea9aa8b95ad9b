// Residual merge of two spike words (docs/numerics.md section 4):
// op 0 OR: m | r;  op 1 AND: m & r;  op 2 IAND: r & ~m (shortcut passes where the backbone is silent).
`default_nettype none
module syna_merge #(
    parameter integer W = 8
) (
    input  wire [1:0]   op,
    input  wire [W-1:0] m,              // backbone spikes
    input  wire [W-1:0] r,              // shortcut spikes
    output wire [W-1:0] y
);
    assign y = (op == 2'd0) ? (m | r) : (op == 2'd1) ? (m & r) : (r & ~m);
endmodule
`default_nettype wire
