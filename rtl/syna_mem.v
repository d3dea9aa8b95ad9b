// Simple dual-port memory: one write port, one synchronous read port (read-first:
// a read of the address being written in the same cycle returns the old word).
// INIT_FILE (HAS_INIT = 1) is loaded with $readmemh, relative to the simulator's
// or synthesiser's working directory. Maps to block RAM (or LUT RAM when small, or
// UltraRAM when large on UltraScale+); BLOCK = 1 asks for block RAM only
// (ram_style = "block", honoured by Yosys and Vivado): the DDR weight buffer's choice,
// made by the planner (syna_hw/placement.py) to leave UltraRAM to other memories.
`default_nettype none
module syna_mem #(
    parameter integer W = 8,            // word width
    parameter integer D = 16,           // depth (words)
    parameter integer AW = 4,           // address width
    parameter integer HAS_INIT = 0,
    parameter INIT_FILE = "none.mem",
    parameter integer BLOCK = 0         // 1: block RAM only
) (
    input  wire          clk,
    input  wire          we,
    input  wire [AW-1:0] waddr,
    input  wire [W-1:0]  wdata,
    input  wire          re,
    input  wire [AW-1:0] raddr,
    output reg  [W-1:0]  rdata
);
    initial rdata = {W{1'b0}};
    // Two copies of one memory: a Verilog attribute takes a constant, not a parameter, so the
    // block-RAM form needs its own declaration (and the $readmemh and port logic that name it).
    generate
        if (BLOCK != 0) begin : g_block
            (* ram_style = "block" *) reg [W-1:0] mem [0:D-1];
            if (HAS_INIT != 0) begin : g_init
                initial $readmemh(INIT_FILE, mem);
            end
            always @(posedge clk) begin
                if (we) mem[waddr] <= wdata;
                if (re) rdata <= mem[raddr];
            end
        end else begin : g_any
            reg [W-1:0] mem [0:D-1];
            if (HAS_INIT != 0) begin : g_init
                initial $readmemh(INIT_FILE, mem);
            end
            always @(posedge clk) begin
                if (we) mem[waddr] <= wdata;
                if (re) rdata <= mem[raddr];
            end
        end
    endgenerate
endmodule
`default_nettype wire
