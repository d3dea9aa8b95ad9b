// SynA attention (MA / IA in dims T and C) of docs/numerics.md section 6, for the layer the
// controller is running (docs/rtl.md, "Attention"). Built only when the configuration has
// attention (SYNA_NATT > 0 in syna_cfg.vh).
//
// Pass 1 of an attention layer: the LIF phase hands over the saturated currents of every
// output word (`pool`, `cur`, P lanes of channel group `cg`, step `t`); they are pooled
//   dim T: one entry per step (registers, T of them): the valid lanes' sum and max;
//   dim C: one entry per channel, kept in P lane memories of CSZ/P words (channel cg*P + l in
//          word cg of lane l): read when the LIF phase issues group `icg`, updated one cycle
//          later (`cg`), the previous cycle's write forwarded;
// as exact sums (PSW bits: enough for any sum of the layer, so equal to the contract's int64)
// and maxima.
// MLP (`mlp_start` .. `mlp_done`), one multiply-accumulate per cycle (avg and max side by side):
//     avg[i] = (sum[i] * m_avg) >>> sh_avg                 (int64, as the reference)
//     hid[j] = sat32(relu(sat32(w1[j] . avg)) + relu(sat32(w1[j] . max)))
//     o[i]   = sat32(w2[i] . hid)
//     MA: gate[i] = SIGMOID[clamp(((o * m_out) >>> sh_out) + 128, 0, 255)]
//     IA: gate[i] = sat_MB((o * m_out) >>> sh_out)          (the IA LIF's input)
// every clamp counted (`sat_inc`, at most 3 a cycle); dim T gates in registers, dim C gates in
// P lane memories (read with the LIF phase's issue, like the pools).
// Pass 2 (`gated`): `gate` / `gq` per lane of group `cg` at step `t` for the gated LIF. The IA gate
// LIF (theta 256, v = 0 at the layer's start): dim T one neuron, advanced by `ia_step` (once per
// step, before its LIF phase) on input gate[t]; dim C one per channel, advanced where the LIF phase
// meets the channel's group at the step's first position (`first_pos`), its membrane and gate spike
// kept in the (then unused) pool lane memories.
// Parameters of the layer come from the attention ROM (syna_att.mem, word `aidx`), weights from
// syna_attw.mem (per layer w1 [hidden][size] then w2 [size][hidden], one per word), the sigmoid
// table from syna_sigmoid.mem.
`default_nettype none
module syna_attention #(
    parameter integer P = 4,
    parameter integer MB = 16,
    parameter integer T = 4,
    parameter integer CSZ = 4,          // dim-C entries: the largest dim-C size rounded up to P (P if none)
    parameter integer PSW = 48,         // pooled sum bits
    parameter integer HMAX = 1,         // max hidden size
    parameter integer AWB = 8,          // MLP weight bits
    parameter integer AWD = 1,          // MLP weight ROM depth
    parameter integer AWAW = 1,
    parameter integer NATT = 1,         // attention layers (words of syna_att.mem)
    parameter integer NAW = 1,
    parameter integer SIG_HALF = 128,   // sigmoid index offset (SYNA_SIG_HALF of syna_cfg.vh): table of 2*SIG_HALF
    parameter integer IA_THETA = 256    // IA gate neuron's threshold (SYNA_IA_THETA of syna_cfg.vh)
) (
    input  wire           clk,
    input  wire           rst,
    input  wire [NAW-1:0] aidx,         // this layer's attention (stable through the layer)
    input  wire           clear,        // start of pass 1: dim-T pools and the dim-T IA membrane
    input  wire           issue,        // the LIF phase reads group `icg` this cycle
    input  wire [31:0]    icg,
    input  wire           l1,           // ... and works on group `cg` (read last cycle) this cycle
    input  wire [31:0]    cg,
    input  wire           first_pos,    // l1 is at the step's first output position
    input  wire [31:0]    t,
    input  wire           pool,         // pass 1
    input  wire           gated,        // pass 2
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
    localparam integer GD = CSZ / P;                    // words of a lane memory
    localparam integer GAW = (GD > 1) ? $clog2(GD) : 1;
    localparam integer PLW = $clog2(P + 1);
    localparam integer TW = (T > 1) ? $clog2(T) : 1;
    localparam integer HW = (HMAX > 1) ? $clog2(HMAX) : 1;
    localparam integer QW = PSW + MB;                   // pool word: {sum, max}; pass 2 IA-C: {.., q, v}
    localparam signed [63:0] LO = -(64'sd1 <<< (MB - 1));
    localparam signed [63:0] HI = (64'sd1 <<< (MB - 1)) - 64'sd1;
    localparam signed [63:0] S32_HI = 64'sd2147483647;
    localparam signed [63:0] S32_LO = -64'sd2147483648;

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

    // ------------------------------------------------------------------ MLP state (declared first)
    localparam [1:0] PH_HID = 2'd0, PH_WAIT = 2'd1, PH_OUT = 2'd2;
    reg             m_run, m_active;
    reg  [1:0]      m_ph;
    reg  [31:0]     m_i, m_j;           // i: pooled / output index, j: hidden index
    reg  [31:0]     m_iw, m_il;         // i as (word, lane) of the lane memories: i = iw * P + il
    reg  [AWAW-1:0] m_wa;
    wire            issuing = m_run && m_ph != PH_WAIT;
    reg             s1_valid, s1_ph, s1_last;
    reg  [31:0]     s1_idx, s1_iw, s1_il;
    reg  signed [63:0]  s1_a;           // phase 0 dim T: pooled sum; phase 1: hid[j]
    reg  signed [MB-1:0] s1_m;          // phase 0 dim T: pooled max
    reg             s2_valid, s2_ph, s2_last;
    reg  [31:0]     s2_idx, s2_iw, s2_il;
    reg  signed [63:0] s2_pa, s2_pm;
    reg             s3_valid;
    reg  [31:0]     s3_idx, s3_iw, s3_il;
    reg  [GVW-1:0]  s3_val;
    wire [8:0]      sig_rdata;
    wire [GVW-1:0]  s3_wdata = a_ia ? s3_val : {{(GVW - 9){1'b0}}, sig_rdata};

    // ------------------------------------------------------------------ dim T: registers per step
    reg  signed [PSW-1:0] lsum;
    reg  signed [MB-1:0]  lmax;
    integer li;
    always @* begin
        lsum = {PSW{1'b0}};
        lmax = LO[MB-1:0];
        for (li = 0; li < P; li = li + 1)
            if (lane_en[li]) begin
                lsum = lsum + {{(PSW - MB){cur[li*MB + MB - 1]}}, cur[li*MB +: MB]};
                if ($signed(cur[li*MB +: MB]) > lmax) lmax = cur[li*MB +: MB];
            end
    end
    wire [T*PSW-1:0] pst_all;
    wire [T*MB-1:0]  pmt_all;
    wire [T*GVW-1:0] gvt_all;
    wire [GVW-1:0]   gv_t = (t < T) ? gvt_all[t[TW-1:0] * GVW +: GVW] : {GVW{1'b0}};
    genvar e;
    generate
        for (e = 0; e < T; e = e + 1) begin : g_t
            reg signed [PSW-1:0] ps;
            reg signed [MB-1:0]  pm;
            reg [GVW-1:0]        gv;
            always @(posedge clk) begin
                if (clear) begin
                    ps <= {PSW{1'b0}};
                    pm <= LO[MB-1:0];
                end else if (pool && l1 && !a_dim && t == e) begin
                    ps <= ps + lsum;
                    if (lmax > pm) pm <= lmax;
                end
                if (s3_valid && !a_dim && s3_idx == e) gv <= s3_wdata;
            end
            assign pst_all[e*PSW +: PSW] = ps;
            assign pmt_all[e*MB +: MB] = pm;
            assign gvt_all[e*GVW +: GVW] = gv;
        end
    endgenerate
    // the dim-T IA gate neuron: h = (v + a[t]) >>> 1, fire at h >= IA_THETA, hard reset
    reg  signed [MB-1:0] iat_v;
    reg                  iat_q;
    wire signed [MB+1:0] iat_h = ($signed({{2{iat_v[MB-1]}}, iat_v}) + $signed({{2{gv_t[MB-1]}}, gv_t[MB-1:0]})) >>> 1;
    wire                 iat_fire = iat_h >= IA_THETA;
    always @(posedge clk) begin
        if (clear) begin
            iat_v <= {MB{1'b0}};
            iat_q <= 1'b0;
        end else if (ia_step && !a_dim) begin
            iat_q <= iat_fire;
            iat_v <= iat_fire ? {MB{1'b0}} : iat_h[MB-1:0];
        end
    end

    // ------------------------------------------------------------------ dim C: P lane memories
    // pool / IA word of lane l at address cg: pass 1 {sum, max}; pass 2 (IA) {q in bit MB, v}
    wire [GAW-1:0] mr_addr = issuing ? m_iw[GAW-1:0] : icg[GAW-1:0];
    reg            fw_v;
    reg  [31:0]    fw_cg;
    wire           fwd = fw_v && fw_cg == cg;
    wire           restart = t == 0 && first_pos;          // a pool's or IA membrane's first visit
    wire [P*QW-1:0] q_rdata;
    wire [P*QW-1:0] q_wdata;
    reg  [P*QW-1:0] fw_data;
    wire [P*GVW-1:0] g_rdata;
    wire           q_we = l1 && a_dim && (pool || (gated && a_ia && first_pos));
    genvar l;
    generate
        for (l = 0; l < P; l = l + 1) begin : g_lane
            wire [QW-1:0]         word = fwd ? fw_data[l*QW +: QW] : q_rdata[l*QW +: QW];
            wire signed [PSW-1:0] w_sum = restart ? {PSW{1'b0}} : word[MB +: PSW];
            wire signed [MB-1:0]  w_max = restart ? LO[MB-1:0] : word[MB-1:0];
            wire signed [MB-1:0]  c_l = cur[l*MB +: MB];
            wire signed [PSW-1:0] n_sum = w_sum + (lane_en[l] ? {{(PSW - MB){c_l[MB-1]}}, c_l} : {PSW{1'b0}});
            wire signed [MB-1:0]  n_max = (lane_en[l] && c_l > w_max) ? c_l : w_max;
            // IA-C gate neuron of channel cg*P + l
            wire signed [MB-1:0]  ia_vp = restart ? {MB{1'b0}} : word[MB-1:0];
            wire [GVW-1:0]        ia_a = g_rdata[l*GVW +: GVW];
            wire signed [MB+1:0]  ia_h = ($signed({{2{ia_vp[MB-1]}}, ia_vp}) + $signed({{2{ia_a[MB-1]}}, ia_a[MB-1:0]})) >>> 1;
            wire                  ia_fire = ia_h >= IA_THETA;
            wire [QW-1:0]         ia_word = {{(PSW - 1){1'b0}}, ia_fire, ia_fire ? {MB{1'b0}} : ia_h[MB-1:0]};
            assign q_wdata[l*QW +: QW] = pool ? {n_sum, n_max} : ia_word;
            syna_mem #(.W(QW), .D(GD), .AW(GAW)) u_q (
                .clk(clk), .we(q_we), .waddr(cg[GAW-1:0]), .wdata(q_wdata[l*QW +: QW]), .re(issue || issuing),
                .raddr(mr_addr), .rdata(q_rdata[l*QW +: QW]));
            // gates of dim C: written by the MLP (one lane at a time), read with the LIF phase
            syna_mem #(.W(GVW), .D(GD), .AW(GAW)) u_g (
                .clk(clk), .we(s3_valid && a_dim && s3_il == l), .waddr(s3_iw[GAW-1:0]), .wdata(s3_wdata),
                .re(issue), .raddr(icg[GAW-1:0]), .rdata(g_rdata[l*GVW +: GVW]));
            assign gate[l*9 +: 9] = a_dim ? ia_a[8:0] : gv_t[8:0];
            assign gq[l] = a_dim ? (first_pos ? ia_fire : word[MB]) : iat_q;
        end
    endgenerate
    always @(posedge clk) begin
        if (rst) fw_v <= 1'b0;
        else begin
            fw_v <= q_we;
            fw_cg <= cg;
            fw_data <= q_wdata;
        end
    end

    // ------------------------------------------------------------------ MLP
    reg  [31:0]     hid [0:HMAX-1];
    wire [AWB-1:0]  w_rdata;
    syna_mem #(.W(AWB), .D(AWD), .AW(AWAW), .HAS_INIT(1), .INIT_FILE("syna_attw.mem")) u_w (
        .clk(clk), .we(1'b0), .waddr({AWAW{1'b0}}), .wdata({AWB{1'b0}}), .re(issuing), .raddr(m_wa), .rdata(w_rdata));
    wire last_i = m_i + 1 == a_size;
    wire last_j = m_j + 1 == a_hid;
    wire last_il = m_il + 1 == P;
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
                m_i <= 32'd0; m_iw <= 32'd0; m_il <= 32'd0;
                m_j <= 32'd0;
                m_wa <= a_wbase[AWAW-1:0];
            end else if (m_run && m_ph == PH_WAIT) begin
                // hid[] is complete once the last hidden dot product has left the pipeline
                if (!s1_valid && !s2_valid) m_ph <= PH_OUT;
            end else if (m_run) begin
                m_wa <= m_wa + 1'b1;
                s1_ph <= m_ph == PH_OUT;
                s1_iw <= m_iw;
                s1_il <= m_il;
                if (m_ph == PH_HID) begin              // hid[j] += w1[j][i] * (avg[i], max[i]), i inner
                    s1_a <= {{(64 - PSW){pst_all[m_i[TW-1:0] * PSW + PSW - 1]}}, pst_all[m_i[TW-1:0] * PSW +: PSW]};
                    s1_m <= pmt_all[m_i[TW-1:0] * MB +: MB];
                    s1_idx <= m_j;
                    s1_last <= last_i;
                    if (!last_i) begin
                        m_i <= m_i + 1;
                        m_il <= last_il ? 32'd0 : m_il + 1;
                        if (last_il) m_iw <= m_iw + 1;
                    end else begin
                        m_i <= 32'd0; m_iw <= 32'd0; m_il <= 32'd0;
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
                        m_il <= last_il ? 32'd0 : m_il + 1;
                        if (last_il) m_iw <= m_iw + 1;
                        if (last_i) m_run <= 1'b0;
                    end
                end
            end
            if (m_active && !m_run && !mlp_start && !s1_valid && !s2_valid && !s3_valid) m_active <= 1'b0;
        end
    end

    // stage 2: operands (dim C: the lane of the pool word read at issue) and products
    wire [QW-1:0] c_word = q_rdata[s1_il[15:0] * QW +: QW];
    wire signed [PSW-1:0] c_sum = c_word[MB +: PSW];
    wire signed [63:0] op_sum = a_dim ? {{(64 - PSW){c_sum[PSW-1]}}, c_sum} : s1_a;
    wire signed [MB-1:0] op_max = a_dim ? c_word[MB-1:0] : s1_m;
    // Narrow multipliers, exact: |avg| < 2^MB (m_avg / 2^sh_avg is 1/n rounded to 15 bits, every pooled
    // value is within the MB-bit range; the generator checks it), |hid| < 2^31, |max| < 2^(MB-1).
    wire signed [AWB-1:0] w_s = w_rdata;
    wire signed [PSW-1:0] sum_n = op_sum[PSW-1:0];
    wire signed [PSW+16:0] avg_p = sum_n * $signed({1'b0, a_avgm});
    wire signed [PSW+16:0] avg_w = avg_p >>> a_avgsh;
    wire signed [MB+1:0]  avg = avg_w[MB+1:0];
    wire signed [MB+AWB+1:0] pa_h = avg * w_s;                       // w1 . avg term
    wire signed [31:0]      hid_n = s1_a[31:0];
    wire signed [31+AWB:0]  pa_o = hid_n * w_s;                // w2 . hid term
    wire signed [MB+AWB-1:0] pm_h = op_max * w_s;                    // w1 . max term
    always @(posedge clk) begin
        if (rst) s2_valid <= 1'b0;
        else begin
            s2_valid <= s1_valid;
            s2_ph <= s1_ph;
            s2_last <= s1_last;
            s2_idx <= s1_idx;
            s2_iw <= s1_iw;
            s2_il <= s1_il;
            s2_pa <= s1_ph ? {{(32 - AWB){pa_o[31 + AWB]}}, pa_o} : {{(62 - MB - AWB){pa_h[MB + AWB + 1]}}, pa_h};
            s2_pm <= {{(64 - MB - AWB){pm_h[MB + AWB - 1]}}, pm_h};
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
    wire signed [31:0] o32 = za_s[31:0];
    wire signed [48:0] sc_p = o32 * $signed({1'b0, a_outm});
    wire signed [48:0] sc_w = sc_p >>> a_outsh;
    wire signed [63:0] scaled = {{15{sc_w[48]}}, sc_w};
    localparam signed [63:0] K_MAX = 2 * SIG_HALF - 1;
    wire signed [63:0] k_f = scaled + SIG_HALF;
    wire [7:0] k = k_f[63] ? 8'd0 : (k_f > K_MAX) ? K_MAX[7:0] : k_f[7:0];
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
            s3_iw <= s2_iw;
            s3_il <= s2_il;
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
