// Saturating counter: q += inc each cycle, sticking at 2^W - 1 (never wraps).
// Used for the cycle counter, the saturation counter and the spike counters.
`default_nettype none
module syna_counter #(
    parameter integer W = 32,
    parameter integer IW = 8
) (
    input  wire          clk,
    input  wire          clr,           // synchronous clear (wins over inc)
    input  wire [IW-1:0] inc,
    output reg  [W-1:0]  q
);
    wire [W:0] sum = {1'b0, q} + {{(W + 1 - IW){1'b0}}, inc};
    initial q = {W{1'b0}};
    always @(posedge clk) begin
        if (clr) q <= {W{1'b0}};
        else q <= sum[W] ? {W{1'b1}} : sum[W-1:0];
    end
endmodule
`default_nettype wire
