// The spike-map memory: B banks of W/B bits x D words (docs/rtl.md "Spike memory"), seen by the core
// as one memory of W-bit logical words (W = CMAX) with syna_mem's ports and timing (one write port,
// one synchronous read port, read-first, the read register holding while re = 0).
//
// A map of C channels has a class k (0 .. log2 B, syna_hw.lowering.allocate_spike_maps): the largest k
// with C <= W / 2^k. Its logical address a = (phys_base << k) + p (p: the word's index in the map) is
// stored in bank group a mod 2^k -- banks g*(B>>k) .. g*(B>>k) + (B>>k) - 1, low slice first -- at
// physical address a >> k. The port's k (wk, rk) is the class of the map written / read. A write stores
// the low W/2^k bits of wdata in its group (the rest is zero by construction: the map has no channel
// there); a read returns the group's W/2^k bits zero-extended to W (the group and k are registered with
// the read, as the banks' words are). B = 1 is syna_mem itself (k is then always 0).
`default_nettype none
module syna_spkmem #(
    parameter integer W = 64,           // logical word width (CMAX); a multiple of B
    parameter integer B = 1,            // banks, a power of two
    parameter integer D = 16,           // words per bank (the physical depth)
    parameter integer AW = 4,           // logical address width
    parameter integer PAW = 4,          // physical address width (<= AW)
    parameter integer KW = 1            // width of the class ports
) (
    input  wire          clk,
    input  wire          we,
    input  wire [AW-1:0] waddr,
    input  wire [KW-1:0] wk,
    input  wire [W-1:0]  wdata,
    input  wire          re,
    input  wire [AW-1:0] raddr,
    input  wire [KW-1:0] rk,
    output wire [W-1:0]  rdata
);
    localparam integer BW = W / B;      // bits of one bank
    localparam integer LB = (B > 1) ? $clog2(B) : 1;
    generate
        if (B * BW != W || (B & (B - 1)) != 0 || PAW > AW) begin : bad_params
            syna_spkmem_needs_B_a_power_of_two_dividing_W_and_PAW_le_AW bad ();
        end
        if (B == 1) begin : g_one
            syna_mem #(.W(W), .D(D), .AW(PAW)) u_bank (
                .clk(clk), .we(we), .waddr(waddr[PAW-1:0]), .wdata(wdata), .re(re), .raddr(raddr[PAW-1:0]),
                .rdata(rdata));
        end else begin : g_banks
            // the group of an access: the address's low k bits
            wire [LB-1:0] wgrp = waddr[LB-1:0] & ~({LB{1'b1}} << wk);
            wire [LB-1:0] rgrp = raddr[LB-1:0] & ~({LB{1'b1}} << rk);
            wire [AW-1:0] wphys = waddr >> wk;
            wire [AW-1:0] rphys = raddr >> rk;
            wire [LB-1:0] wslm = ~({LB{1'b1}} << (LB - wk));       // (B >> wk) - 1: slice index mask
            reg  [LB-1:0] rgrp_q;
            reg  [KW-1:0] rk_q;
            initial begin
                rgrp_q = {LB{1'b0}};
                rk_q = {KW{1'b0}};
            end
            always @(posedge clk) if (re) begin
                rgrp_q <= rgrp;
                rk_q <= rk;
            end
            wire [BW-1:0] q [0:B-1];
            genvar j, s;
            for (j = 0; j < B; j = j + 1) begin : g_bank
                // bank j: group j >> (LB - k) of class k, slice j mod (B >> k) of that group
                wire [LB-1:0] jj = j;
                wire          wsel = (jj >> (LB - wk)) == wgrp;
                wire [LB-1:0] wsl = jj & wslm;
                syna_mem #(.W(BW), .D(D), .AW(PAW)) u_bank (
                    .clk(clk), .we(we && wsel), .waddr(wphys[PAW-1:0]), .wdata(wdata[wsl * BW +: BW]),
                    .re(re), .raddr(rphys[PAW-1:0]), .rdata(q[j]));
            end
            // slice s of the word read: bank (group << (LB - k)) + s of the group when s < B >> k, else 0
            wire [LB-1:0] rslm = ~({LB{1'b1}} << (LB - rk_q));
            wire [LB-1:0] rbase = rgrp_q << (LB - rk_q);
            for (s = 0; s < B; s = s + 1) begin : g_rd
                wire [LB-1:0] ss = s;
                wire          in_grp = (ss & ~rslm) == {LB{1'b0}};
                assign rdata[s * BW +: BW] = in_grp ? q[rbase | ss] : {BW{1'b0}};
            end
        end
    endgenerate
endmodule
`default_nettype wire
