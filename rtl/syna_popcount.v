// Number of ones in a word (spike counters, saturation counts), combinational.
`default_nettype none
module syna_popcount #(
    parameter integer W = 8,
    parameter integer OW = 4            // >= clog2(W + 1)
) (
    input  wire [W-1:0]  d,
    output reg  [OW-1:0] n
);
`ifdef VERILATOR
    // Simulation speed only: the same count as the loop below, as one builtin popcount per 32-bit word
    // (Verilator does not unroll a 512-bit loop and re-evaluates d in every iteration: about half the
    // paper-size simulation time). Synthesis (Yosys/Vivado) and Icarus read the loop.
    always @* n = $countones(d);
`else
    integer i;
    always @* begin
        n = {OW{1'b0}};
        for (i = 0; i < W; i = i + 1)
            n = n + {{(OW - 1){1'b0}}, d[i]};
    end
`endif
endmodule
`default_nettype wire
