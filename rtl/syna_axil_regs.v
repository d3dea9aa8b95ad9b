// AXI4-Lite control/status registers (docs/core-interface.md, syna_contract/protocol.py):
// 0x00 CTRL (ap_ctrl_hs: bit0 ap_start W1 cleared when the core accepts, bit1
// ap_done clear-on-read, bit2 ap_idle, bit3 ap_ready), 0x04 GIE, 0x08 IER,
// 0x0C ISR (toggle on write 1), 0x10 STEPS, 0x18 STATUS, 0x20 CYCLES,
// 0x28 SATURATIONS, 0x30 MODEL_HASH, 0x38 VERSION, 0x40 IDLE_TIMEOUT (RW). Offsets come from the
// generated syna_cfg.vh via parameters. One outstanding read and write.
// HAS_WBASE = 1 (weights in DDR): 0x48/0x4C WEIGHTS_BASE (RW, 64 bits, low word first), the weight
// image's byte address; otherwise those offsets read 0 and ignore writes, as before.
// HAS_SBASE = 1 (spike maps in DDR): 0x50/0x54 SCRATCH_BASE (RW, 64 bits, low word first), the scratch
// buffer's byte address; otherwise those offsets read 0 and ignore writes.
`default_nettype none
module syna_axil_regs #(
    parameter [6:0] A_CTRL = 7'h00, A_GIE = 7'h04, A_IER = 7'h08, A_ISR = 7'h0c, A_STEPS = 7'h10,
    parameter [6:0] A_STATUS = 7'h18, A_CYCLES = 7'h20, A_SATS = 7'h28, A_HASH = 7'h30, A_VERSION = 7'h38,
    parameter [6:0] A_IDLE = 7'h40,
    parameter [6:0] A_WBASE = 7'h48,
    parameter integer HAS_WBASE = 0,
    parameter [6:0] A_SBASE = 7'h50,
    parameter integer HAS_SBASE = 0,
    parameter integer VERSION = 2
) (
    input  wire        clk,
    input  wire        rst,
    input  wire        awvalid,
    output wire        awready,
    input  wire [6:0]  awaddr,
    input  wire        wvalid,
    output wire        wready,
    input  wire [31:0] wdata,
    input  wire [3:0]  wstrb,
    output reg         bvalid,
    input  wire        bready,
    output wire [1:0]  bresp,
    input  wire        arvalid,
    output wire        arready,
    input  wire [6:0]  araddr,
    output reg         rvalid,
    input  wire        rready,
    output reg  [31:0] rdata,
    output wire [1:0]  rresp,
    // core side
    output reg         ap_start,        // pending start
    input  wire        accept,          // pulse: the core took the start
    input  wire        core_idle,
    input  wire        core_done,       // pulse: inference finished
    output reg  [31:0] steps,
    output reg  [31:0] idle_timeout,
    output wire [63:0] weights_base,
    output wire [63:0] scratch_base,
    input  wire [31:0] status,
    input  wire [31:0] cycles,
    input  wire [31:0] saturations,
    input  wire [31:0] model_hash,
    output wire        interrupt
);
    reg        aw_ok, w_ok;
    reg  [6:0] aw_addr;
    reg [31:0] w_data;
    reg  [3:0] w_strb;
    reg        ap_done, gie, ier, isr;
    reg [63:0] wbase_r;
    assign weights_base = HAS_WBASE != 0 ? wbase_r : 64'd0;
    reg [63:0] sbase_r;
    assign scratch_base = HAS_SBASE != 0 ? sbase_r : 64'd0;

    assign awready = !aw_ok && !bvalid;
    assign wready = !w_ok && !bvalid;
    assign bresp = 2'b00;
    assign arready = !rvalid;
    assign rresp = 2'b00;
    assign interrupt = gie && isr;

    wire do_write = aw_ok && w_ok && !bvalid;
    wire [31:0] mask = {{8{w_strb[3]}}, {8{w_strb[2]}}, {8{w_strb[1]}}, {8{w_strb[0]}}};
    wire [6:0] ra = {araddr[6:2], 2'b00};
    wire [6:0] wa = {aw_addr[6:2], 2'b00};

    always @(posedge clk) begin
        if (rst) begin
            aw_ok <= 1'b0; w_ok <= 1'b0; bvalid <= 1'b0; rvalid <= 1'b0; rdata <= 32'd0;
            ap_start <= 1'b0; ap_done <= 1'b0; gie <= 1'b0; ier <= 1'b0; isr <= 1'b0; steps <= 32'd0;
            idle_timeout <= 32'd0;
            wbase_r <= 64'd0;
            sbase_r <= 64'd0;
        end else begin
            if (awvalid && awready) begin aw_ok <= 1'b1; aw_addr <= awaddr; end
            if (wvalid && wready) begin w_ok <= 1'b1; w_data <= wdata; w_strb <= wstrb; end
            if (bvalid && bready) bvalid <= 1'b0;
            if (accept) ap_start <= 1'b0;
            if (core_done) begin
                ap_done <= 1'b1;
                if (ier) isr <= 1'b1;
            end
            if (do_write) begin
                aw_ok <= 1'b0; w_ok <= 1'b0; bvalid <= 1'b1;
                if (wa == A_CTRL && w_strb[0] && w_data[0]) ap_start <= 1'b1;
                if (wa == A_GIE && w_strb[0]) gie <= w_data[0];
                if (wa == A_IER && w_strb[0]) ier <= w_data[0];
                if (wa == A_ISR && w_strb[0] && w_data[0]) isr <= !isr;
                if (wa == A_STEPS) steps <= (steps & ~mask) | (w_data & mask);
                if (wa == A_IDLE) idle_timeout <= (idle_timeout & ~mask) | (w_data & mask);
                if (HAS_WBASE != 0 && wa == A_WBASE) wbase_r[31:0] <= (wbase_r[31:0] & ~mask) | (w_data & mask);
                if (HAS_WBASE != 0 && wa == A_WBASE + 7'd4)
                    wbase_r[63:32] <= (wbase_r[63:32] & ~mask) | (w_data & mask);
                if (HAS_SBASE != 0 && wa == A_SBASE) sbase_r[31:0] <= (sbase_r[31:0] & ~mask) | (w_data & mask);
                if (HAS_SBASE != 0 && wa == A_SBASE + 7'd4)
                    sbase_r[63:32] <= (sbase_r[63:32] & ~mask) | (w_data & mask);
            end
            if (rvalid && rready) rvalid <= 1'b0;
            if (arvalid && arready) begin
                rvalid <= 1'b1;
                case (ra)
                    A_CTRL: begin
                        rdata <= {28'd0, core_idle && !ap_start, core_idle, ap_done, ap_start};
                        if (!core_done) ap_done <= 1'b0;               // clear on read
                    end
                    A_GIE: rdata <= {31'd0, gie};
                    A_IER: rdata <= {31'd0, ier};
                    A_ISR: rdata <= {31'd0, isr};
                    A_STEPS: rdata <= steps;
                    A_STATUS: rdata <= status;
                    A_CYCLES: rdata <= cycles;
                    A_SATS: rdata <= saturations;
                    A_HASH: rdata <= model_hash;
                    A_VERSION: rdata <= VERSION;
                    A_IDLE: rdata <= idle_timeout;
                    A_WBASE: rdata <= weights_base[31:0];
                    A_WBASE + 7'd4: rdata <= weights_base[63:32];
                    A_SBASE: rdata <= scratch_base[31:0];
                    A_SBASE + 7'd4: rdata <= scratch_base[63:32];
                    default: rdata <= 32'd0;
                endcase
            end
        end
    end
endmodule
`default_nettype wire
