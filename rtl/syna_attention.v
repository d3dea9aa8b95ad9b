// SynA attention (MA / IA in dims T and C) of docs/numerics.md section 6, for the layer the
// controller is running (docs/rtl.md, "Attention"). Built only when the configuration has
// attention (SYNA_NATT > 0 in syna_cfg.vh).
//
// Pass 1 of an attention layer: the LIF phase hands over the saturated currents of every
// output word (`pool`, `cur`, P lanes of channel group `cg`, step `t`); they are pooled into
// one entry per step (dim T: the lanes' sum and max) or per channel (dim C: entry cg*P + l
// from lane l), as an exact 64-bit sum and the maximum.
// MLP (`mlp_start` .. `mlp_done`), one multiply-accumulate per cycle (avg and max side by side):
//     avg[i] = (sum[i] * m_avg) >>> sh_avg                 (int64, as the reference)
//     hid[j] = sat32(relu(sat32(w1[j] . avg)) + relu(sat32(w1[j] . max)))
//     o[i]   = sat32(w2[i] . hid)
//     MA: gate[i] = SIGMOID[clamp(((o * m_out) >>> sh_out) + 128, 0, 255)]
//     IA: gate[i] = sat_MB((o * m_out) >>> sh_out)          (the IA LIF's input)
// every clamp counted (`sat_inc`, at most 3 a cycle). Pass 2: `gate`/`gq` per lane of group
// `cg` at step `t` for the gated LIF; `ia_step` advances the IA gate LIF (theta 256, v = 0 at
// the layer's start) by one step: dim T one neuron on input gate[t], dim C one per channel.
// Parameters of the layer come from the attention ROM (syna_att.mem, word `aidx`), weights
// from syna_attw.mem (per layer w1 [hidden][size] then w2 [size][hidden], one per word), the
// sigmoid table from syna_sigmoid.mem.
`default_nettype none
module syna_attention #(
    parameter integer P = 4,
    parameter integer MB = 16,
    parameter integer ASZ = 4,          // pooled entries: max size, a multiple of P
    parameter integer HMAX = 1,         // max hidden size
    parameter integer AWB = 8,          // MLP weight bits
    parameter integer AWD = 1,          // MLP weight ROM depth
    parameter integer AWAW = 1,
    parameter integer NATT = 1,         // attention layers (words of syna_att.mem)
    parameter integer NAW = 1
) (
    input  wire           clk,
    input  wire           rst,
    input  wire [NAW-1:0] aidx,         // this layer's attention (stable through the layer)
    input  wire           clear,        // start of pass 1: pools and IA membranes to their start values
    input  wire           pool,         // pass 1: pool `cur` of group `cg` at step `t`
    input  wire [31:0]    t,
    input  wire [31:0]    cg,
    input  wire [P-1:0]   lane_en,
    input  wire [P*MB-1:0] cur,
    input  wire           mlp_start,
    output reg            mlp_done,
    input  wire           ia_step,
    output wire           is_ia,
    output wire [P*9-1:0] gate,
    output wire [P-1:0]   gq,
    output wire [1:0]     sat_inc
);
    localparam integer AF = 9;                          // fields of an attention ROM word, 32 bits each
    localparam integer GVW = (MB > 10) ? MB : 10;       // MA gate 0..256 or IA input (MB bits), signed
    localparam signed [63:0] LO = -(64'sd1 <<< (MB - 1));
    localparam signed [63:0] HI = (64'sd1 <<< (MB - 1)) - 64'sd1;
    localparam signed [63:0] S32_HI = 64'sd2147483647;
    localparam signed [63:0] S32_LO = -64'sd2147483648;
    localparam integer HW = (HMAX > 1) ? $clog2(HMAX) : 1;

    // ------------------------------------------------------------------ parameters of the layer
    wire [AF*32-1:0] prm;
    syna_mem #(.W(AF * 32), .D(NATT), .AW(NAW), .HAS_INIT(1), .INIT_FILE("syna_att.mem")) u_prm (
        .clk(clk), .we(1'b0), .waddr({NAW{1'b0}}), .wdata({AF * 32{1'b0}}), .re(1'b1), .raddr(aidx), .rdata(prm));
    wire        a_ia = prm[0];
    wire        a_dim = prm[32];                         // 0: T, 1: C
    wire [31:0] a_size = prm[64 +: 32];
    wire [31:0] a_hid = prm[96 +: 32];
    wire [31:0] a_wbase = prm[128 +: 32];
    wire [15:0] a_avgm = prm[160 +: 16];
    wire [6:0]  a_avgsh = prm[192 +: 7];
    wire [15:0] a_outm = prm[224 +: 16];
    wire [6:0]  a_outsh = prm[256 +: 7];
    assign is_ia = a_ia;

    // ------------------------------------------------------------------ pooling (pass 1)
    // dim T: the valid lanes' sum and max of this word
    reg  signed [63:0] lsum;
    reg  signed [MB-1:0] lmax;
    integer li;
    always @* begin
        lsum = 64'sd0;
        lmax = LO[MB-1:0];
        for (li = 0; li < P; li = li + 1)
            if (lane_en[li]) begin
                lsum = lsum + {{(64 - MB){cur[li*MB + MB - 1]}}, cur[li*MB +: MB]};
                if ($signed(cur[li*MB +: MB]) > lmax) lmax = cur[li*MB +: MB];
            end
    end

    wire [ASZ*64-1:0]  ps_all;
    wire [ASZ*MB-1:0]  pm_all;
    wire [ASZ*GVW-1:0] gv_all;
    wire [ASZ-1:0]     q_all;
    reg                s3_valid;
    reg  [31:0]        s3_idx;
    reg  [GVW-1:0]     s3_val;
    wire               s3_ma_sel;
    wire [8:0]         sig_rdata;
    wire [GVW-1:0]     s3_wdata = a_ia ? s3_val : {{(GVW - 9){1'b0}}, sig_rdata};
    wire [GVW-1:0]     gv_t = (t < ASZ) ? gv_all[t[15:0] * GVW +: GVW] : {GVW{1'b0}};
    genvar e;
    generate
        for (e = 0; e < ASZ; e = e + 1) begin : g_e
            reg  signed [63:0]    ps;
            reg  signed [MB-1:0]  pm;
            reg  signed [GVW-1:0] gv;
            reg  signed [MB-1:0]  iav;
            reg                   q;
            wire signed [MB-1:0]  c_l = cur[(e % P)*MB +: MB];
            wire                  hit_t = !a_dim && t == e;
            wire                  hit_c = a_dim && cg == e / P && lane_en[e % P];
            // IA gate LIF (numerics.md 6.4): h = (v + a) >>> 1, fire at h >= 256, hard reset
            wire signed [GVW-1:0] ia_in = a_dim ? gv : gv_t;
            wire signed [63:0]    ia_sum = {{(64 - MB){iav[MB-1]}}, iav} + {{(64 - GVW){ia_in[GVW-1]}}, ia_in};
            wire signed [63:0]    ia_h = ia_sum >>> 1;
            wire                  ia_fire = ia_h >= 64'sd256;
            always @(posedge clk) begin
                if (clear) begin
                    ps <= 64'sd0;
                    pm <= LO[MB-1:0];
                    iav <= {MB{1'b0}};
                    q <= 1'b0;
                end else begin
                    if (pool && hit_t) begin
                        ps <= ps + lsum;
                        if (lmax > pm) pm <= lmax;
                    end else if (pool && hit_c) begin
                        ps <= ps + {{(64 - MB){c_l[MB-1]}}, c_l};
                        if (c_l > pm) pm <= c_l;
                    end
                    if (ia_step && (a_dim || e == 0)) begin
                        q <= ia_fire;
                        iav <= ia_fire ? {MB{1'b0}} : ia_h[MB-1:0];
                    end
                end
                if (s3_valid && s3_idx == e) gv <= s3_wdata;
            end
            assign ps_all[e*64 +: 64] = ps;
            assign pm_all[e*MB +: MB] = pm;
            assign gv_all[e*GVW +: GVW] = gv;
            assign q_all[e] = q;
        end
    endgenerate

    // ------------------------------------------------------------------ gates of the lanes (pass 2)
    genvar l;
    generate
        for (l = 0; l < P; l = l + 1) begin : g_lane
            wire [31:0] idx = cg * P + l;
            wire [GVW-1:0] gc = (idx < ASZ) ? gv_all[idx[15:0] * GVW +: GVW] : {GVW{1'b0}};
            wire           qc = (idx < ASZ) ? q_all[idx[15:0]] : 1'b0;
            assign gate[l*9 +: 9] = a_dim ? gc[8:0] : gv_t[8:0];
            assign gq[l] = a_dim ? qc : q_all[0];
        end
    endgenerate

    // ------------------------------------------------------------------ MLP
    localparam [1:0] PH_HID = 2'd0, PH_WAIT = 2'd1, PH_OUT = 2'd2;
    reg             m_run, m_active;
    reg  [1:0]      m_ph;
    reg                s2_valid, s2_ph, s2_last;
    reg  [31:0]        s2_idx;
    reg  signed [63:0] s2_pa, s2_pm;
    wire            issuing = m_run && m_ph != PH_WAIT;
    reg  [31:0]     m_i, m_j;
    reg  [AWAW-1:0] m_wa;
    reg  [31:0]     hid [0:HMAX-1];
    wire [AWB-1:0]  w_rdata;
    syna_mem #(.W(AWB), .D(AWD), .AW(AWAW), .HAS_INIT(1), .INIT_FILE("syna_attw.mem")) u_w (
        .clk(clk), .we(1'b0), .waddr({AWAW{1'b0}}), .wdata({AWB{1'b0}}), .re(issuing), .raddr(m_wa), .rdata(w_rdata));

    // stage 1: operands (and the weight read)
    reg                 s1_valid, s1_ph, s1_last;
    reg  [31:0]         s1_idx;
    reg  signed [63:0]  s1_a;          // phase 0: pooled sum; phase 1: hid[j]
    reg  signed [MB-1:0] s1_m;         // phase 0: pooled max
    wire last_i = m_i + 1 == a_size;
    wire last_j = m_j + 1 == a_hid;
    always @(posedge clk) begin
        if (rst) begin
            m_run <= 1'b0;
            m_active <= 1'b0;
            s1_valid <= 1'b0;
        end else begin
            s1_valid <= issuing;
            if (mlp_start) begin
                m_run <= 1'b1;
                m_active <= 1'b1;
                m_ph <= PH_HID;
                m_i <= 32'd0;
                m_j <= 32'd0;
                m_wa <= a_wbase[AWAW-1:0];
            end else if (m_run && m_ph == PH_WAIT) begin
                // hid[] is complete once the last hidden dot product has left the pipeline
                if (!s1_valid && !s2_valid) m_ph <= PH_OUT;
            end else if (m_run) begin
                m_wa <= m_wa + 1'b1;
                s1_ph <= m_ph == PH_OUT;
                if (m_ph == PH_HID) begin              // hid[j] += w1[j][i] * (avg[i], max[i]), i inner
                    s1_a <= ps_all[m_i[15:0] * 64 +: 64];
                    s1_m <= pm_all[m_i[15:0] * MB +: MB];
                    s1_idx <= m_j;
                    s1_last <= last_i;
                    if (!last_i) m_i <= m_i + 1;
                    else begin
                        m_i <= 32'd0;
                        if (!last_j) m_j <= m_j + 1;
                        else begin
                            m_j <= 32'd0;
                            m_ph <= PH_WAIT;
                        end
                    end
                end else begin                         // o[i] += w2[i][j] * hid[j], j inner
                    s1_a <= {{32{hid[m_j[HW-1:0]][31]}}, hid[m_j[HW-1:0]]};
                    s1_idx <= m_i;
                    s1_last <= last_j;
                    if (!last_j) m_j <= m_j + 1;
                    else begin
                        m_j <= 32'd0;
                        m_i <= m_i + 1;
                        if (last_i) m_run <= 1'b0;
                    end
                end
            end
            if (m_active && !m_run && !mlp_start && !s1_valid && !s2_valid && !s3_valid) m_active <= 1'b0;
        end
    end

    // stage 2: products
    wire signed [AWB-1:0] w_s = w_rdata;
    wire signed [63:0] avg_p = s1_a * $signed({1'b0, a_avgm});      // int64 product (numpy's wrap)
    wire signed [63:0] avg = avg_p >>> a_avgsh;
    wire signed [63:0] w64 = {{(64 - AWB){w_s[AWB-1]}}, w_s};
    always @(posedge clk) begin
        if (rst) s2_valid <= 1'b0;
        else begin
            s2_valid <= s1_valid;
            s2_ph <= s1_ph;
            s2_last <= s1_last;
            s2_idx <= s1_idx;
            s2_pa <= (s1_ph ? s1_a : avg) * w64;
            s2_pm <= {{(64 - MB){s1_m[MB-1]}}, s1_m} * w64;
        end
    end

    // stage 3: accumulate; at the end of a dot product saturate, and make the gate
    reg  signed [63:0] za, zm;
    wire signed [63:0] za_f = za + s2_pa;
    wire signed [63:0] zm_f = zm + s2_pm;
    wire za_hi = za_f > S32_HI, za_lo = za_f < S32_LO;
    wire zm_hi = zm_f > S32_HI, zm_lo = zm_f < S32_LO;
    wire signed [63:0] za_s = za_hi ? S32_HI : za_lo ? S32_LO : za_f;     // sat32(w1 . avg), or o
    wire signed [63:0] zm_s = zm_hi ? S32_HI : zm_lo ? S32_LO : zm_f;
    wire signed [63:0] h_f = (za_s[63] ? 64'sd0 : za_s) + (zm_s[63] ? 64'sd0 : zm_s);
    wire h_hi = h_f > S32_HI;
    wire signed [63:0] h_s = h_hi ? S32_HI : h_f;
    wire signed [63:0] sc_p = za_s * $signed({1'b0, a_outm});
    wire signed [63:0] scaled = sc_p >>> a_outsh;
    wire signed [63:0] k_f = scaled + 64'sd128;
    wire [7:0] k = k_f[63] ? 8'd0 : (k_f > 64'sd255) ? 8'd255 : k_f[7:0];
    wire ia_hi = scaled > HI, ia_lo = scaled < LO;
    wire signed [63:0] ia_v = ia_hi ? HI : ia_lo ? LO : scaled;
    wire fin = s2_valid && s2_last;
    assign sat_inc = !fin ? 2'd0
                   : !s2_ph ? {1'b0, za_hi | za_lo} + {1'b0, zm_hi | zm_lo} + {1'b0, h_hi}
                   : {1'b0, za_hi | za_lo} + {1'b0, a_ia & (ia_hi | ia_lo)};
    syna_mem #(.W(9), .D(256), .AW(8), .HAS_INIT(1), .INIT_FILE("syna_sigmoid.mem")) u_sig (
        .clk(clk), .we(1'b0), .waddr(8'd0), .wdata(9'd0), .re(fin && s2_ph), .raddr(k), .rdata(sig_rdata));
    always @(posedge clk) begin
        if (rst) begin
            s3_valid <= 1'b0;
            mlp_done <= 1'b0;
        end else begin
            mlp_done <= m_active && !m_run && !mlp_start && !s1_valid && !s2_valid && !s3_valid;
            s3_valid <= fin && s2_ph;
            s3_idx <= s2_idx;
            s3_val <= ia_v[GVW-1:0];
            if (mlp_start) begin
                za <= 64'sd0;
                zm <= 64'sd0;
            end else if (s2_valid) begin
                za <= s2_last ? 64'sd0 : za_f;
                zm <= s2_last ? 64'sd0 : zm_f;
            end
            if (fin && !s2_ph) hid[s2_idx[HW-1:0]] <= h_s[31:0];
        end
    end
endmodule
`default_nettype wire
