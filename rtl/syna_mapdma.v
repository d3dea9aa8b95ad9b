// The spike-map DMA of a maps-in-DDR core (docs/rtl.md "Spike maps in DDR"): moves spike words between
// the scratch buffer in DDR and the on-chip staging (syna_spkmem), one job at a time, through the
// core's AXI read master (syna_axi_rd, shared with the weight tile loader: the core routes the read
// data to the client whose command was taken) and write master (syna_axi_wr).
//
// A map position is PW 32-bit words in DDR (pw = ceil(C/32), bit b of word w = channel 32w + b,
// little-endian) and one CMAX-bit word in the staging (the channels >= 32*pw are 0). Jobs (start pulse,
// mode, byte address `addr` (a multiple of 4), `npos` positions, `pw`, staging logical base `base`):
// - M_IN  (0): read npos*pw words from addr, write position i to the staging at base + i;
// - M_OUT (1): read the staging at base + i, write its pw words to addr + 4*pw*i;
// - M_RAW (2): read npos words from addr and hand them, in order, to a 32-bit stream (x_valid / x_ready,
//   x_last on the last word): the encoder's input frame replayed from the INPUT region.
// The read starts at addr rounded down to the beat (the master's rule) and drops the words before addr.
// done pulses at the end; err with it when a read or write was answered SLVERR / DECERR (or refused).
// One 32-bit word moves per cycle (a M_OUT position costs pw + 2 cycles plus one cycle per beat).
`default_nettype none
module syna_mapdma #(
    parameter integer W = 64,               // staging word bits (CMAX)
    parameter integer DW = 64,              // AXI data width
    parameter integer GAW = 32,             // byte address bits
    parameter integer SAW = 8               // staging logical address bits
) (
    input  wire            clk,
    input  wire            rst,
    input  wire            start,
    input  wire [1:0]      mode,
    input  wire [GAW-1:0]  addr,
    input  wire [31:0]     npos,
    input  wire [5:0]      pw,
    input  wire [SAW-1:0]  base,
    output reg             done,
    output reg             err,
    output wire            busy,
    // read master (command, data routed to this client, end)
    output wire            rc_valid,
    input  wire            rc_ready,
    output wire [GAW-1:0]  rc_addr,
    output wire [31:0]     rc_len,
    input  wire            rd_valid,
    input  wire [DW-1:0]   rd_data,
    output wire            rd_take,
    input  wire            rd_done,
    input  wire            rd_err,
    // write master
    output wire            wc_valid,
    input  wire            wc_ready,
    output wire [GAW-1:0]  wc_addr,
    output wire [31:0]     wc_len,
    output wire            w_valid,
    input  wire            w_ready,
    output wire [DW-1:0]   w_data,
    input  wire            wr_done,
    input  wire            wr_err,
    // staging
    output reg             s_we,
    output reg  [SAW-1:0]  s_waddr,
    output wire [W-1:0]    s_wdata,
    output wire            s_re,
    output wire [SAW-1:0]  s_raddr,
    input  wire [W-1:0]    s_rdata,
    // raw word stream (M_RAW)
    output wire            x_valid,
    input  wire            x_ready,
    output wire [31:0]     x_data,
    output wire            x_last
);
    localparam integer NW = DW / 32;                        // words per beat
    localparam integer SZ = $clog2(DW / 8);
    localparam integer NWB = (NW > 1) ? $clog2(NW) : 1;
    localparam integer NWM = NW - 1;
    localparam [NWB-1:0] SWL = NWM[NWB-1:0];                // the last word of a beat
    localparam integer PWW = (W + 31) / 32;                 // words of a staging word
    localparam integer WX = PWW * 32;
    localparam [1:0] M_IN = 2'd0, M_OUT = 2'd1, M_RAW = 2'd2;
    localparam [2:0] D_IDLE = 3'd0, D_RCMD = 3'd1, D_RD = 3'd2, D_WCMD = 3'd3, D_ISSUE = 3'd4, D_LATCH = 3'd5,
                     D_EMIT = 3'd6, D_END = 3'd7;

    reg  [2:0]     st;
    reg  [1:0]     md;
    reg  [GAW-1:0] a;
    reg  [31:0]    total;                                   // words of the job
    reg  [31:0]    nw;                                      // words moved
    reg  [5:0]     npw;
    reg  [5:0]     wi;                                      // word within the position
    reg  [31:0]    pidx;                                    // position
    reg  [SAW-1:0] sbase;
    reg  [NWB-1:0] sw;                                      // word within the beat
    reg  [WX-1:0]  pos;                                     // the position being assembled / emitted
    reg  [DW-1:0]  beat;
    reg            bvalid;
    reg            e_rd, e_wr;
    wire [GAW-1:0] a_words = a >> 2;                        // the word address
    wire [NWB-1:0] skip = (NW > 1) ? a_words[NWB-1:0] : {NWB{1'b0}};   // words before addr in its beat
    wire           last_word = nw + 32'd1 == total;

    assign busy = st != D_IDLE;
    assign rc_valid = st == D_RCMD;
    assign rc_addr = {a[GAW-1:SZ], {SZ{1'b0}}};
    assign rc_len = {{(32 - NWB - 2){1'b0}}, skip, 2'b00} + (total << 2);
    assign wc_valid = st == D_WCMD;
    assign wc_addr = a;
    assign wc_len = total << 2;

    // ---------------------------------------------------------------- reads (M_IN, M_RAW)
    wire [31:0]    rword = rd_data[sw * 32 +: 32];
    wire           rd_here = st == D_RD && rd_valid && nw != total;
    wire           rd_go = rd_here && (md != M_RAW || x_ready);   // a word moves this cycle
    assign rd_take = st == D_RD && rd_valid && (nw == total || (rd_go && (sw == SWL || last_word)));
    assign x_valid = rd_here && md == M_RAW;
    assign x_data = rword;
    assign x_last = last_word;
    reg  [WX-1:0]  pos_in;
    always @* begin
        pos_in = (wi == 6'd0) ? {WX{1'b0}} : pos;
        pos_in[wi * 32 +: 32] = rword;
    end
    assign s_wdata = pos[W-1:0];

    // ---------------------------------------------------------------- writes (M_OUT)
    assign s_re = st == D_ISSUE;
    assign s_raddr = sbase + pidx[SAW-1:0];
    assign w_valid = bvalid;
    assign w_data = beat;
    wire [WX-1:0]  rext = {{(WX - W){1'b0}}, s_rdata};

    always @(posedge clk) begin
        if (rst) begin
            st <= D_IDLE;
            done <= 1'b0;
            err <= 1'b0;
            s_we <= 1'b0;
            bvalid <= 1'b0;
        end else begin
            done <= 1'b0;
            s_we <= 1'b0;
            if (bvalid && w_ready) bvalid <= 1'b0;       // the beat went out
            case (st)
                D_IDLE: if (start) begin
                    md <= mode;
                    a <= addr;
                    npw <= pw;
                    total <= (mode == M_RAW) ? npos : npos * {26'd0, pw};
                    nw <= 32'd0;
                    wi <= 6'd0;
                    pidx <= 32'd0;
                    sbase <= base;
                    e_rd <= 1'b0;
                    e_wr <= 1'b0;
                    err <= 1'b0;
                    bvalid <= 1'b0;
                    st <= (npos == 32'd0) ? D_END : (mode == M_OUT) ? D_WCMD : D_RCMD;
                end
                D_RCMD: if (rc_ready) begin
                    st <= D_RD;
                    sw <= skip;
                end
                D_RD: begin
                    if (rd_go) begin
                        nw <= nw + 32'd1;
                        sw <= (sw == SWL) ? {NWB{1'b0}} : sw + 1'b1;
                        if (md == M_IN) begin
                            pos <= pos_in;
                            if (wi + 6'd1 == npw) begin
                                wi <= 6'd0;
                                s_we <= 1'b1;
                                s_waddr <= sbase + pidx[SAW-1:0];
                                pidx <= pidx + 32'd1;
                            end else begin
                                wi <= wi + 6'd1;
                            end
                        end
                    end
                    if (rd_done) begin
                        e_rd <= rd_err;
                        st <= D_END;
                    end
                end
                D_WCMD: if (wc_ready) begin
                    st <= D_ISSUE;
                    sw <= skip;
                end
                D_ISSUE: st <= D_LATCH;                     // the staging read
                D_LATCH: begin
                    pos <= rext;
                    wi <= 6'd0;
                    st <= D_EMIT;
                end
                D_EMIT: begin
                    if (!bvalid && nw != total) begin
                        beat[sw * 32 +: 32] <= pos[wi * 32 +: 32];
                        nw <= nw + 32'd1;
                        sw <= (sw == SWL) ? {NWB{1'b0}} : sw + 1'b1;
                        if (sw == SWL || last_word) bvalid <= 1'b1;
                        if (wi + 6'd1 == npw) begin
                            wi <= 6'd0;
                            pidx <= pidx + 32'd1;
                            if (!last_word) st <= D_ISSUE;
                        end else begin
                            wi <= wi + 6'd1;
                        end
                    end
                    if (wr_done) begin                       // every beat taken and answered
                        e_wr <= wr_err;
                        st <= D_END;
                    end
                end
                default: begin                              // D_END
                    done <= 1'b1;
                    err <= e_rd || e_wr;
                    st <= D_IDLE;
                end
            endcase
        end
    end
endmodule
`default_nettype wire
