// Spike max-pool = OR over the window (docs/numerics.md section 4). One window
// word per cycle: 'first' starts a new window, 'valid' says 'd' is inside the map
// (padding counts as no spike). y is the OR including this cycle's word.
`default_nettype none
module syna_pool_or #(
    parameter integer W = 8
) (
    input  wire         clk,
    input  wire         first,
    input  wire         valid,
    input  wire [W-1:0] d,
    output wire [W-1:0] y
);
    reg [W-1:0] acc;
    initial acc = {W{1'b0}};
    assign y = (first ? {W{1'b0}} : acc) | (valid ? d : {W{1'b0}});
    always @(posedge clk) acc <= y;
endmodule
`default_nettype wire
