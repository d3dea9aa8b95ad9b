// Event-driven conv engine with P output-channel lanes (docs/rtl.md, "Conv engine").
//
// One run scans `scan_len` words of an input map (spike words of one time step,
// or the encoder's input values), starting at `scan_base`, position by position
// (row-major, width w). For every non-zero input (an event: channel ci at
// (iy, ix), value val) it adds the weight slice of every kernel offset that lands
// on an output neuron, P output channels per cycle:
//
//     acc[oy][ox][cg*P + l] += w[ci][ky][kx][cg*P + l] * val      (val = 1 for spikes)
//
// Zero words and zero channels cost nothing beyond the scan (one word per cycle,
// overlapped with the accumulation): cycles follow the synaptic operations.
// `fc` = 1: every position maps onto output (0, 0) (global sum-pool + FC).
// `dense` = 1 (measurement only): no zero skipping, every channel of every word
// is an event (adds w * 0 for silent inputs), for the event-driven/dense ratio.
//
// Memories are outside: map (1-cycle read), weights (P*WB per word, 1-cycle read),
// accumulators (P*32 per word, 1-cycle read-first, separate write port).
// Pipeline: scan -> word FIFO -> pick (lowest set channel) -> event -> ops
// (ky, kx, cg) -> read -> accumulate + write. A read of the address written in
// the previous cycle is forwarded.
`default_nettype none
module syna_conv_engine #(
    parameter integer P = 4,
    parameter integer WB = 8,           // weight bits
    parameter integer IB = 5,           // encoder input bits
    parameter integer CIN = 1,          // encoder input channels (lanes of an input word)
    parameter integer MW = 8,           // channel mask width: max(CMAX, CIN)
    parameter integer DW = 8,           // map word width: max(CMAX, CIN*IB)
    parameter integer RAW = 8,          // map address width
    parameter integer WAW = 10,         // weight address width
    parameter integer AAW = 6,          // accumulator address width
    parameter integer FW = 16           // parameter field width
) (
    input  wire           clk,
    input  wire           rst,
    input  wire           start,        // pulse; parameters below stay stable until done
    input  wire           enc,          // input words are CIN values of IB bits (encoder)
    input  wire           fc,           // every position maps to output (0, 0)
    input  wire           dense,        // no zero skipping (measurement)
    input  wire [RAW-1:0] scan_base,
    input  wire [FW-1:0]  scan_len,
    input  wire [FW-1:0]  cin,          // valid input channels (dense mode)
    input  wire [FW-1:0]  w,            // input map width (positions per row)
    input  wire [FW-1:0]  ho,
    input  wire [FW-1:0]  wo,
    input  wire [3:0]     k,
    input  wire [1:0]     slog2,        // stride = 1 << slog2
    input  wire [2:0]     pad,
    input  wire [2:0]     pad_y,        // the rows' padding (pad, or a band's: maps in DDR, docs/rtl.md)
    input  wire [FW-1:0]  g,            // output channel groups: ceil(Cout / P)
    input  wire [FW-1:0]  wbase,        // this layer's first weight word
    input  wire [FW-1:0]  kkg,          // K*K*G: weight words per input channel
    input  wire [FW-1:0]  kg,           // K*G
    input  wire [FW-1:0]  sg,           // S*G
    input  wire [FW-1:0]  skg,          // S*K*G
    input  wire [FW-1:0]  wog,          // Wo*G
    output wire           busy,
    output reg            done,         // pulse when the last accumulation is written
    // map read port
    output wire           map_re,
    output wire [RAW-1:0] map_raddr,
    input  wire [DW-1:0]  map_rdata,
    // weight read port
    output wire           w_re,
    output wire [WAW-1:0] w_raddr,
    input  wire [P*WB-1:0] w_rdata,
    // accumulator ports
    output wire           acc_re,
    output wire [AAW-1:0] acc_raddr,
    input  wire [P*32-1:0] acc_rdata,
    output wire           acc_we,
    output wire [AAW-1:0] acc_waddr,
    output wire [P*32-1:0] acc_wdata,
    // statistics of the run (cleared by start)
    output reg  [31:0]    n_events,
    output reg  [31:0]    n_ops
);
    localparam integer GW = 12;          // geometry temporaries
    localparam integer FD = 4;           // word FIFO depth

    // ------------------------------------------------------------------ scan
    reg           running;
    reg           scanning;
    reg  [FW-1:0] spos;                  // words issued
    reg  [FW-1:0] sx, sy;
    reg  [2:0]    fcount;
    reg           r1_valid;
    wire          issue = scanning && ({1'b0, fcount} + {3'b0, r1_valid} < FD);

    // geometry of the issued position (iy, ix) for this layer's kernel, stride, padding
    wire [GW-1:0] iy = fc ? {GW{1'b0}} : sy[GW-1:0];
    wire [GW-1:0] ix = fc ? {GW{1'b0}} : sx[GW-1:0];
    wire [GW-1:0] smask = (12'd1 << slog2) - 12'd1;
    wire [GW-1:0] ey = iy + {9'b0, pad_y};
    wire [GW-1:0] ex = ix + {9'b0, pad};
    wire [GW-1:0] sho = (ho[GW-1:0] - 12'd1) << slog2;
    wire [GW-1:0] swo = (wo[GW-1:0] - 12'd1) << slog2;
    wire [GW-1:0] lo_y = (ey > sho) ? ey - sho : {GW{1'b0}};
    wire [GW-1:0] lo_x = (ex > swo) ? ex - swo : {GW{1'b0}};
    wire [GW-1:0] kyf = lo_y + ((ey - lo_y) & smask);         // first kernel row that lands on an output
    wire [GW-1:0] kxf = lo_x + ((ex - lo_x) & smask);
    wire [GW-1:0] km1 = {8'b0, k} - 12'd1;
    wire [GW-1:0] hi_y = (ey < km1) ? ey : km1;
    wire [GW-1:0] hi_x = (ex < km1) ? ex : km1;
    wire          vy = kyf <= hi_y;
    wire          vx = kxf <= hi_x;
    wire [GW-1:0] ny = vy ? ((hi_y - kyf) >> slog2) + 12'd1 : {GW{1'b0}};
    wire [GW-1:0] nx = vx ? ((hi_x - kxf) >> slog2) + 12'd1 : {GW{1'b0}};
    wire [GW-1:0] oyf = (ey - kyf) >> slog2;
    wire [GW-1:0] oxf = (ex - kxf) >> slog2;
    wire [WAW-1:0] woff = kyf * kg[WAW-1:0] + kxf * g[WAW-1:0];
    wire [AAW-1:0] aoff = oyf * wog[AAW-1:0] + oxf * g[AAW-1:0];

    reg  [3:0]     r1_ny, r1_nx;
    reg  [WAW-1:0] r1_woff;
    reg  [AAW-1:0] r1_aoff;

    always @(posedge clk) begin
        if (rst) begin
            scanning <= 1'b0;
            r1_valid <= 1'b0;
            spos <= {FW{1'b0}};
            sx <= {FW{1'b0}};
            sy <= {FW{1'b0}};
        end else if (start) begin
            scanning <= scan_len != {FW{1'b0}};
            r1_valid <= 1'b0;
            spos <= {FW{1'b0}};
            sx <= {FW{1'b0}};
            sy <= {FW{1'b0}};
        end else begin
            r1_valid <= issue && (ny != 0) && (nx != 0);
            if (issue) begin
                r1_ny <= ny[3:0];
                r1_nx <= nx[3:0];
                r1_woff <= woff;
                r1_aoff <= aoff;
                spos <= spos + 1'b1;
                if (spos + 1'b1 == scan_len) scanning <= 1'b0;
                if (sx + 1'b1 == w) begin
                    sx <= {FW{1'b0}};
                    sy <= sy + 1'b1;
                end else begin
                    sx <= sx + 1'b1;
                end
            end
        end
    end
    assign map_re = issue;
    assign map_raddr = scan_base + spos[RAW-1:0];

    // channel mask of the word read last cycle: spike bits, non-zero encoder values, or (dense) all channels
    wire [MW-1:0] mask_spk = map_rdata[MW-1:0];
    wire [MW-1:0] mask_enc;
    wire [MW-1:0] mask_all;
    genvar c;
    generate
        for (c = 0; c < MW; c = c + 1) begin : g_mask
            if (c < CIN) begin : g_enc
                assign mask_enc[c] = |map_rdata[c*IB +: IB];
            end else begin : g_zero
                assign mask_enc[c] = 1'b0;
            end
`ifndef VERILATOR
            assign mask_all[c] = c < cin;
`endif
        end
    endgenerate
`ifdef VERILATOR
    // Simulation speed only: the same mask (bits below cin set) as one shift instead of MW compares, which
    // the simulator re-evaluates at every eval because dense is a top-level input (about a third of the
    // paper-size simulation time). Synthesis (Yosys/Vivado) and Icarus read the compares above.
    assign mask_all = {MW{1'b1}} >> (MW - cin);
`endif
    wire [MW-1:0] r1_mask = dense ? mask_all : (enc ? mask_enc : mask_spk);

    // ------------------------------------------------------------------ word FIFO
    localparam integer FEW = DW + MW + 8 + WAW + AAW;
    reg  [FEW-1:0] fifo [0:FD-1];
    reg  [1:0]     fhead, ftail;
    wire           push = r1_valid && (r1_mask != {MW{1'b0}});
    wire           pop;
    always @(posedge clk) begin
        if (rst || start) begin
            fhead <= 2'd0;
            ftail <= 2'd0;
            fcount <= 3'd0;
        end else begin
            if (push) begin
                fifo[ftail] <= {map_rdata, r1_mask, r1_ny, r1_nx, r1_woff, r1_aoff};
                ftail <= ftail + 2'd1;
            end
            if (pop) fhead <= fhead + 2'd1;
            fcount <= fcount + {2'b0, push} - {2'b0, pop};
        end
    end
    wire [FEW-1:0] fh = fifo[fhead];

    // ------------------------------------------------------------------ pick: lowest set channel
    reg            pk_valid;
    reg  [DW-1:0]  pk_word;
    reg  [MW-1:0]  pk_mask;
    reg  [3:0]     pk_ny, pk_nx;
    reg  [WAW-1:0] pk_woff;
    reg  [AAW-1:0] pk_aoff;
    // priority encoder: isolate the lowest set bit, then OR-reduce its index bits
    localparam integer CIW = (MW > 1) ? $clog2(MW) : 1;
    wire [MW-1:0]  pk_low = pk_mask & (~pk_mask + 1'b1);
    wire [CIW-1:0] ci_enc;
    genvar b, i;
    generate
        for (b = 0; b < CIW; b = b + 1) begin : g_ci
            wire [MW-1:0] sel;
            for (i = 0; i < MW; i = i + 1) begin : g_sel
                assign sel[i] = (i >> b) & 1;
            end
            assign ci_enc[b] = |(pk_low & sel);
        end
    endgenerate
    wire [15:0]    ci = ci_enc;
    wire           ev_ready;
    wire           pk_take = pk_valid && ev_ready;
    wire [MW-1:0]  pk_rest = pk_mask & (pk_mask - 1'b1);       // clear the lowest set bit
    wire           pk_need = !pk_valid || (pk_take && pk_rest == {MW{1'b0}});
    assign pop = pk_need && (fcount != 3'd0);
    always @(posedge clk) begin
        if (rst || start) begin
            pk_valid <= 1'b0;
        end else if (pk_need) begin
            pk_valid <= fcount != 3'd0;
            {pk_word, pk_mask, pk_ny, pk_nx, pk_woff, pk_aoff} <= fh;
        end else if (pk_take) begin
            pk_mask <= pk_rest;
        end
    end
    wire [15:0] pk_val = enc ? {{(16 - IB){1'b0}}, pk_word[(ci % CIN)*IB +: IB]}
                             : {15'd0, pk_word[ci % DW]};

    // ------------------------------------------------------------------ event register
    reg            ev_valid;
    reg  [WAW-1:0] ev_wbase;
    reg  [AAW-1:0] ev_abase;
    reg  [3:0]     ev_ny, ev_nx;
    reg  [15:0]    ev_val;
    wire           op_load;
    assign ev_ready = !ev_valid || op_load;
    always @(posedge clk) begin
        if (rst || start) begin
            ev_valid <= 1'b0;
            n_events <= 32'd0;
        end else if (ev_ready) begin
            ev_valid <= pk_take;
            if (pk_take) begin
                ev_wbase <= wbase[WAW-1:0] + ci * kkg[WAW-1:0] + pk_woff;
                ev_abase <= pk_aoff;
                ev_ny <= pk_ny;
                ev_nx <= pk_nx;
                ev_val <= pk_val;
                n_events <= n_events + 32'd1;
            end
        end
    end

    // ------------------------------------------------------------------ ops: (ky, kx, cg) of one event
    reg            op_valid;
    reg  [WAW-1:0] op_wa, col_wa, row_wa;
    reg  [AAW-1:0] op_aa, col_aa, row_aa;
    reg  [3:0]     jy, jx, op_ny, op_nx;
    reg  [FW-1:0]  cg;
    reg  [15:0]    op_val;
    wire           last_cg = cg + 1'b1 == g;
    wire           last_x = jx + 4'd1 == op_nx;
    wire           last_y = jy + 4'd1 == op_ny;
    wire           op_last = last_cg && last_x && last_y;
    assign op_load = ev_valid && (!op_valid || op_last);
    always @(posedge clk) begin
        if (rst || start) begin
            op_valid <= 1'b0;
            n_ops <= 32'd0;
        end else begin
            if (op_valid) n_ops <= n_ops + 32'd1;
            if (op_load) begin
                op_valid <= 1'b1;
                op_wa <= ev_wbase; col_wa <= ev_wbase; row_wa <= ev_wbase;
                op_aa <= ev_abase; col_aa <= ev_abase; row_aa <= ev_abase;
                op_ny <= ev_ny; op_nx <= ev_nx; op_val <= ev_val;
                jy <= 4'd0; jx <= 4'd0; cg <= {FW{1'b0}};
            end else if (op_valid) begin
                if (op_last) begin
                    op_valid <= 1'b0;
                end else if (!last_cg) begin
                    cg <= cg + 1'b1;
                    op_wa <= op_wa + 1'b1;
                    op_aa <= op_aa + 1'b1;
                end else if (!last_x) begin                     // next kernel column: kx += s, ox -= 1
                    cg <= {FW{1'b0}};
                    jx <= jx + 4'd1;
                    col_wa <= col_wa + sg[WAW-1:0];
                    col_aa <= col_aa - g[AAW-1:0];
                    op_wa <= col_wa + sg[WAW-1:0];
                    op_aa <= col_aa - g[AAW-1:0];
                end else begin                                  // next kernel row: ky += s, oy -= 1
                    cg <= {FW{1'b0}};
                    jx <= 4'd0;
                    jy <= jy + 4'd1;
                    row_wa <= row_wa + skg[WAW-1:0];
                    row_aa <= row_aa - wog[AAW-1:0];
                    col_wa <= row_wa + skg[WAW-1:0];
                    col_aa <= row_aa - wog[AAW-1:0];
                    op_wa <= row_wa + skg[WAW-1:0];
                    op_aa <= row_aa - wog[AAW-1:0];
                end
            end
        end
    end
    assign w_re = op_valid;
    assign w_raddr = op_wa;
    assign acc_re = op_valid;
    assign acc_raddr = op_aa;

    // ------------------------------------------------------------------ accumulate (read-modify-write)
    reg            x_valid, p_valid;
    reg  [AAW-1:0] x_aa, p_aa;
    reg  [15:0]    x_val;
    reg  [P*32-1:0] p_sum;
    wire           fwd = p_valid && (p_aa == x_aa);
    wire [P*32-1:0] sum;
    genvar l;
    generate
        for (l = 0; l < P; l = l + 1) begin : g_lane
            wire signed [WB-1:0] wl = w_rdata[l*WB +: WB];
            wire signed [31:0]   base = fwd ? p_sum[l*32 +: 32] : acc_rdata[l*32 +: 32];
            // encoder: multiply by the input value; spikes: accumulate only (val is 0/1)
            wire signed [16:0]   xv = {1'b0, x_val};
            wire signed [47:0]   prod = wl * xv;               // |w * x| < 2^31 (exporter's bound)
            wire signed [31:0]   addend = enc ? prod[31:0]
                                              : (x_val[0] ? {{(32 - WB){wl[WB-1]}}, wl} : 32'sd0);
            assign sum[l*32 +: 32] = base + addend;
        end
    endgenerate
    always @(posedge clk) begin
        if (rst || start) begin
            x_valid <= 1'b0;
            p_valid <= 1'b0;
        end else begin
            x_valid <= op_valid;
            x_aa <= op_aa;
            x_val <= op_val;
            p_valid <= x_valid;
            p_aa <= x_aa;
            p_sum <= sum;
        end
    end
    assign acc_we = x_valid;
    assign acc_waddr = x_aa;
    assign acc_wdata = sum;

    // ------------------------------------------------------------------ done
    wire idle_all = !scanning && !r1_valid && fcount == 3'd0 && !pk_valid && !ev_valid && !op_valid && !x_valid;
    always @(posedge clk) begin
        if (rst) begin
            running <= 1'b0;
            done <= 1'b0;
        end else begin
            done <= 1'b0;
            if (start) running <= 1'b1;
            else if (running && idle_all) begin
                running <= 1'b0;
                done <= 1'b1;
            end
        end
    end
    assign busy = running;
endmodule
`default_nettype wire
