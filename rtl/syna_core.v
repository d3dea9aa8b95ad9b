// The spiking core: AXI4-Lite control, AXI4-Stream in/out, layer-major event-driven
// schedule (docs/rtl.md). Sizes come from the generated syna_cfg.vh; the layer
// schedule, weights, bias/thresholds and MODEL_HASH32 from the generated ROM files
// (syna_hw/rtl_core.py), loaded with $readmemh from the working directory.
//
// Beside the ports of docs/core-interface.md this module has a simulation tap
// (every write of a spike word: layer, index t*Ho*Wo + y*Wo + x, word) and a
// `dbg_dense` input (1: no zero skipping, to measure the event-driven gain).
// syna_core_top.v wraps it with the interface ports only.
//
// Weights in DDR (syna_cfg.vh defines SYNA_WEIGHTS_DDR; docs/rtl.md "Weights in DDR"): the weight
// memory is a tile buffer of SYNA_WD rows filled through the AXI4 read port m_axi_gmem (syna_axi_rd)
// from the DDR image at WEIGHTS_BASE, one output-channel tile (syna_ddr.mem: tile_groups lane groups)
// before the tile's event phase; a layer of several tiles runs all T steps per tile, re-scanning its
// input. The loads follow the static list syna_tiles.mem (every tile load of an inference, in order)
// and run ahead of the compute: with SYNA_NBUF = 2 (double buffer) load k fills half k mod 2 while
// tile k-1 computes from the other half; with SYNA_NBUF = 1 load k waits until tile k-1 is done.
// The first loads start once the weights check (during the receive) has passed: they overlap the input stream.
// In an on-chip build the port is tied off (ARVALID 0, RREADY 1) and GMEM_DW is unused.
//
// Spike maps in DDR (syna_cfg.vh defines SYNA_MAPS_DDR, with SYNA_WEIGHTS_DDR; docs/rtl.md "Spike maps in
// DDR", syna_hw/spill.py): the input and every spike map live in the scratch buffer at SCRATCH_BASE; the
// spike memory is a staging of one step (region A: the input rows a band needs, region B: the band's
// output positions) filled and written back by syna_mapdma between the phases, through the read port
// (shared with the tile loader, the read data routed by the owner of the command) and the write channels
// (syna_axi_wr). The receive writes the input words to the INPUT region; the encoder replays frame t from
// there into the input banks (one frame). A conv tile runs in bands of output rows (syna_bands.mem), each
// all T steps; the accumulators / membranes hold one band of one tile.
`default_nettype none
// The interface names the interrupt port `interrupt` (docs/core-interface.md):
/* verilator lint_off SYMRSVDWORD */
module syna_core #(
    parameter integer GMEM_DW = 64          // m_axi_gmem data width (DDR builds: syna_cfg.vh SYNA_GMEM_DW)
) (
    input  wire        ap_clk,
    input  wire        ap_rst_n,
    // AXI4-Lite slave
    input  wire        s_axi_control_AWVALID,
    output wire        s_axi_control_AWREADY,
    input  wire [6:0]  s_axi_control_AWADDR,
    input  wire        s_axi_control_WVALID,
    output wire        s_axi_control_WREADY,
    input  wire [31:0] s_axi_control_WDATA,
    input  wire [3:0]  s_axi_control_WSTRB,
    output wire        s_axi_control_BVALID,
    input  wire        s_axi_control_BREADY,
    output wire [1:0]  s_axi_control_BRESP,
    input  wire        s_axi_control_ARVALID,
    output wire        s_axi_control_ARREADY,
    input  wire [6:0]  s_axi_control_ARADDR,
    output wire        s_axi_control_RVALID,
    input  wire        s_axi_control_RREADY,
    output wire [31:0] s_axi_control_RDATA,
    output wire [1:0]  s_axi_control_RRESP,
    // AXI4-Stream in
    input  wire        s_axis_in_TVALID,
    output wire        s_axis_in_TREADY,
    input  wire [31:0] s_axis_in_TDATA,
    input  wire [3:0]  s_axis_in_TKEEP,
    input  wire        s_axis_in_TLAST,
    // AXI4-Stream out
    output wire        m_axis_out_TVALID,
    input  wire        m_axis_out_TREADY,
    output wire [31:0] m_axis_out_TDATA,
    output wire [3:0]  m_axis_out_TKEEP,
    output wire        m_axis_out_TLAST,
    output wire        interrupt,
    // AXI4 read master (weights in DDR): the read channels of the HLS IP's m_axi_gmem
    output wire [63:0] m_axi_gmem_ARADDR,
    output wire [7:0]  m_axi_gmem_ARLEN,
    output wire [2:0]  m_axi_gmem_ARSIZE,
    output wire [1:0]  m_axi_gmem_ARBURST,
    output wire [1:0]  m_axi_gmem_ARLOCK,
    output wire [3:0]  m_axi_gmem_ARCACHE,
    output wire [2:0]  m_axi_gmem_ARPROT,
    output wire [3:0]  m_axi_gmem_ARQOS,
    output wire [3:0]  m_axi_gmem_ARREGION,
    output wire [0:0]  m_axi_gmem_ARID,
    output wire        m_axi_gmem_ARVALID,
    input  wire        m_axi_gmem_ARREADY,
    input  wire [0:0]  m_axi_gmem_RID,
    input  wire [GMEM_DW-1:0] m_axi_gmem_RDATA,
    input  wire [1:0]  m_axi_gmem_RRESP,
    input  wire        m_axi_gmem_RLAST,
    input  wire        m_axi_gmem_RVALID,
    output wire        m_axi_gmem_RREADY,
    // AXI4 write channels (spike maps in DDR: the scratch buffer; idle in other builds)
    output wire [63:0] m_axi_gmem_AWADDR,
    output wire [7:0]  m_axi_gmem_AWLEN,
    output wire [2:0]  m_axi_gmem_AWSIZE,
    output wire [1:0]  m_axi_gmem_AWBURST,
    output wire [1:0]  m_axi_gmem_AWLOCK,
    output wire [3:0]  m_axi_gmem_AWCACHE,
    output wire [2:0]  m_axi_gmem_AWPROT,
    output wire [3:0]  m_axi_gmem_AWQOS,
    output wire [3:0]  m_axi_gmem_AWREGION,
    output wire [0:0]  m_axi_gmem_AWID,
    output wire        m_axi_gmem_AWVALID,
    input  wire        m_axi_gmem_AWREADY,
    output wire [GMEM_DW-1:0] m_axi_gmem_WDATA,
    output wire [GMEM_DW/8-1:0] m_axi_gmem_WSTRB,
    output wire        m_axi_gmem_WLAST,
    output wire        m_axi_gmem_WVALID,
    input  wire        m_axi_gmem_WREADY,
    input  wire [0:0]  m_axi_gmem_BID,
    input  wire [1:0]  m_axi_gmem_BRESP,
    input  wire        m_axi_gmem_BVALID,
    output wire        m_axi_gmem_BREADY,
    // debug / simulation only
    input  wire        dbg_dense,
    output wire        tap_valid,
    output wire [7:0]  tap_layer,
    output wire [31:0] tap_index,
    output wire [1023:0] tap_word,
    output wire        dbg_busy,
    output wire        dbg_stall              // DDR: the compute waits for a weight tile's load (in S_TLD)
);
`include "syna_cfg.vh"
    localparam integer P = SYNA_P, WB = SYNA_WB, MB = SYNA_MB, T = SYNA_T, FW = SYNA_FW;
    localparam integer CIN = SYNA_CIN, IB = SYNA_IB, CMAX = SYNA_CMAX;
    localparam integer MW = (CMAX > CIN) ? CMAX : CIN;
    localparam integer DW = (CMAX > CIN * IB) ? CMAX : CIN * IB;
    localparam integer SAW = SYNA_SAW, IAW = SYNA_IAW, WAW = SYNA_WAW, AAW = SYNA_AAW, BTAW = SYNA_BTAW;
    localparam integer RAW = (SAW > IAW) ? SAW : IAW;
    localparam integer SKW = SYNA_SKW;                     // bits of a spike-memory class (kin, kout)
    localparam integer LAW = SYNA_LAW;
    localparam integer NCLS = SYNA_NCLS, NS = SYNA_NS, NL = SYNA_NL;
    localparam integer NOUT = NCLS + NS + 3;
    localparam integer BTW = P * (32 + MB);
    localparam integer CW = (CIN > 1) ? $clog2(CIN) : 1;
    localparam integer PCW = $clog2(CMAX + 1);
    localparam integer NATT = SYNA_NATT;                  // layers with attention (0: none is built)
`ifdef SYNA_WEIGHTS_DDR
    localparam integer WDDR = 1, ROWB = SYNA_ROWB;        // weights from DDR, image row bytes
    localparam integer NBUF = SYNA_NBUF, NLD = SYNA_NLD, LDAW = SYNA_LDAW;   // tile buffers, tile loads
    localparam integer WBRAM = SYNA_WBRAM;                // 1: the tile buffer in block RAM only (ram_style)
    localparam [6:0] A_WBASE = SYNA_REG_WEIGHTS_BASE;
`else
    localparam integer WDDR = 0, ROWB = 4;
    localparam integer NBUF = 1, NLD = 1, LDAW = 1, WBRAM = 0;
    localparam [6:0] A_WBASE = 7'h48;
`endif
    localparam integer WBAW = WAW + (NBUF > 1 ? 1 : 0);  // weight memory address: NBUF buffers of WD rows
    localparam integer WD_INT = SYNA_WD;
    localparam [WBAW-1:0] WD_OFF = WD_INT[WBAW-1:0];     // the second buffer's first row
`ifdef SYNA_WEIGHTS_DDR
    generate                              // the port must be the configuration's width
        if (GMEM_DW != SYNA_GMEM_DW) begin : bad_gmem_dw
            syna_core_GMEM_DW_differs_from_syna_cfg_SYNA_GMEM_DW set_the_parameter_from_syna_cfg ();
        end
    endgenerate
`endif
    localparam integer RPB = (GMEM_DW / 8 >= ROWB) ? GMEM_DW / 8 / ROWB : 1;   // image rows per beat
    localparam integer RPBW = (RPB > 1) ? $clog2(RPB) : 1;
`ifdef SYNA_WEIGHTS_DDR
    localparam integer GAW = SYNA_DDR_ADDR_BITS;          // DDR byte address bits (protocol.DDR_ADDR_BITS)
    localparam integer HCB = SYNA_DDR_CHECK_BEATS;        // beats of the weights check (syna_ddrhead.mem)
    localparam integer PGS = SYNA_DDR_PAGES;              // the image's 4 KiB pages
    // the longest read burst (the board's HP port: 16 on a Zynq-7000 AXI3 port, 256 AXI4) and the bursts in flight
    localparam integer AXB = SYNA_AXI_MAX_BURST, AXO = SYNA_AXI_OUTSTANDING;
    localparam integer AXF = SYNA_AXI_FIFO;               // beats of the read FIFO (rtl_config.AXI_READ_FIFO)
`else
    localparam integer GAW = 49, HCB = 1, PGS = 1, AXB = 256, AXO = 4, AXF = 512;
`endif
`ifdef SYNA_MAPS_DDR
    localparam integer MPS = 1;                           // spike maps in DDR
    localparam [6:0] A_SBASE = SYNA_REG_SCRATCH_BASE;
    localparam integer SPG = SYNA_SCR_PAGES;              // the scratch buffer's 4 KiB pages
    localparam integer NBD = SYNA_NBAND, BDAW = SYNA_BDAW; // conv bands (syna_bands.mem)
    localparam integer STS = SYNA_STATUS_SCRATCH;
`else
    localparam integer MPS = 0;
    localparam [6:0] A_SBASE = 7'h50;
    localparam integer SPG = 1, NBD = 1, BDAW = 1, STS = 6;
`endif
    localparam integer TWPF = T * SYNA_WPF;               // input words of an inference
    localparam integer NWB = GMEM_DW / 32;                // 32-bit words of a beat

    wire clk = ap_clk;
    wire rst = !ap_rst_n;

    // ------------------------------------------------------------------ controller state
    localparam [4:0] S_IDLE = 5'd0, S_RX = 5'd1, S_LOAD0 = 5'd2, S_LOAD1 = 5'd3, S_CONV = 5'd4, S_LIF = 5'd5,
                     S_POOL = 5'd6, S_MERGE = 5'd7, S_FC = 5'd8, S_FCOUT = 5'd9, S_NEXT = 5'd10, S_SEND = 5'd11,
                     S_WAIT = 5'd12, S_MLP = 5'd13, S_TILE = 5'd14, S_TLD = 5'd15,
                     // maps in DDR: a band's setup (ROM read, latch), a step's DMA jobs, a DMA job, write-back
                     S_BAND = 5'd16, S_BAND1 = 5'd17, S_STEP = 5'd18, S_DWAIT = 5'd19, S_WB = 5'd20;
    reg  [4:0]     state;
    reg  [LAW-1:0] layer;
    reg  [31:0]    t;
    reg            steps_ok, rx_short, rx_long, rx_range, sending;
    reg            rx_fin;                // DDR: the receive ended while the weights check still runs
    reg  [AAW:0]   clr_n;                 // accumulator clear pointer (runs during receive)
    wire           clr_busy = clr_n != SYNA_AD;
    reg  [31:0]    out_ptr;               // index of the next spike word of this layer (t*HoWo + pos)
    reg  [31:0]    scan_ptr;              // first word of this step's input map
    reg            p_pool_r, p_gate_r;    // attention layer: pass 1 (pool the currents) / pass 2 (gated LIF)
    wire           p_pool = (NATT > 0) && p_pool_r;     // constant 0 without attention: no logic left
    wire           p_gate = (NATT > 0) && p_gate_r;
    reg            mlp_go;

    // ------------------------------------------------------------------ registers (AXI4-Lite)
    wire        ap_start, core_done;
    wire [31:0] steps, idle_reg;
    reg  [31:0] last_status, last_cycles, last_sats;
    // IDLE_TIMEOUT register: cycles without an input word that end a receive; 0 selects the default
    wire [31:0] idle_limit = idle_reg == 32'd0 ? SYNA_DEFAULT_IDLE_TIMEOUT : idle_reg;
    wire [31:0] model_hash;
    wire [63:0] weights_base;
    wire [63:0] scratch_base;
    wire        accept = state == S_IDLE && ap_start;
    syna_axil_regs #(
        .A_CTRL(SYNA_REG_CTRL), .A_GIE(SYNA_REG_GIE), .A_IER(SYNA_REG_IER), .A_ISR(SYNA_REG_ISR),
        .A_STEPS(SYNA_REG_STEPS), .A_STATUS(SYNA_REG_STATUS), .A_CYCLES(SYNA_REG_CYCLES),
        .A_SATS(SYNA_REG_SATURATIONS), .A_HASH(SYNA_REG_MODEL_HASH), .A_VERSION(SYNA_REG_VERSION),
        .A_IDLE(SYNA_REG_IDLE_TIMEOUT), .A_WBASE(A_WBASE), .HAS_WBASE(WDDR), .A_SBASE(A_SBASE), .HAS_SBASE(MPS),
        .VERSION(SYNA_VERSION)
    ) u_regs (
        .clk(clk), .rst(rst),
        .awvalid(s_axi_control_AWVALID), .awready(s_axi_control_AWREADY), .awaddr(s_axi_control_AWADDR),
        .wvalid(s_axi_control_WVALID), .wready(s_axi_control_WREADY), .wdata(s_axi_control_WDATA),
        .wstrb(s_axi_control_WSTRB), .bvalid(s_axi_control_BVALID), .bready(s_axi_control_BREADY),
        .bresp(s_axi_control_BRESP), .arvalid(s_axi_control_ARVALID), .arready(s_axi_control_ARREADY),
        .araddr(s_axi_control_ARADDR), .rvalid(s_axi_control_RVALID), .rready(s_axi_control_RREADY),
        .rdata(s_axi_control_RDATA), .rresp(s_axi_control_RRESP),
        .ap_start(ap_start), .accept(accept), .core_idle(state == S_IDLE), .core_done(core_done),
        .steps(steps), .idle_timeout(idle_reg), .weights_base(weights_base), .scratch_base(scratch_base), .status(last_status), .cycles(last_cycles), .saturations(last_sats),
        .model_hash(model_hash), .interrupt(interrupt)
    );

    syna_mem #(.W(32), .D(1), .AW(1), .HAS_INIT(1), .INIT_FILE("syna_hash.mem")) u_hash (
        .clk(clk), .we(1'b0), .waddr(1'b0), .wdata(32'd0), .re(1'b1), .raddr(1'b0), .rdata(model_hash));

    // ------------------------------------------------------------------ schedule
    wire [SYNA_NF*FW-1:0] desc;
    syna_mem #(.W(SYNA_NF * FW), .D(NL), .AW(LAW), .HAS_INIT(1), .INIT_FILE("syna_schedule.mem")) u_sched (
        .clk(clk), .we(1'b0), .waddr({LAW{1'b0}}), .wdata({SYNA_NF * FW{1'b0}}), .re(1'b1), .raddr(layer),
        .rdata(desc));
    wire [FW-1:0] d_kind = desc[F_KIND*FW +: FW], d_enc = desc[F_ENC*FW +: FW], d_op = desc[F_OP*FW +: FW];
    wire [FW-1:0] d_cin = desc[F_CIN*FW +: FW], d_h = desc[F_H*FW +: FW], d_w = desc[F_W*FW +: FW];
    wire [FW-1:0] d_cout = desc[F_COUT*FW +: FW], d_ho = desc[F_HO*FW +: FW], d_wo = desc[F_WO*FW +: FW];
    wire [FW-1:0] d_k = desc[F_K*FW +: FW], d_slog2 = desc[F_SLOG2*FW +: FW], d_pad = desc[F_PAD*FW +: FW];
    wire [FW-1:0] d_g = desc[F_G*FW +: FW], d_wbase = desc[F_WBASE*FW +: FW], d_btbase = desc[F_BTBASE*FW +: FW];
    wire [FW-1:0] d_ina = desc[F_INA*FW +: FW], d_inb = desc[F_INB*FW +: FW], d_out = desc[F_OUT*FW +: FW];
    wire [FW-1:0] d_hw = desc[F_HW*FW +: FW], d_howo = desc[F_HOWO*FW +: FW], d_kkg = desc[F_KKG*FW +: FW];
    wire [FW-1:0] d_kg = desc[F_KG*FW +: FW], d_sg = desc[F_SG*FW +: FW], d_skg = desc[F_SKG*FW +: FW];
    wire [FW-1:0] d_wog = desc[F_WOG*FW +: FW], d_scan = desc[F_SCAN*FW +: FW], d_nlif = desc[F_NLIF*FW +: FW];
    wire [FW-1:0] d_thw = desc[F_THW*FW +: FW];
    wire [FW-1:0] d_kin = desc[F_KIN*FW +: FW], d_kout = desc[F_KOUT*FW +: FW];   // spike-memory classes
    wire          is_fc = d_kind == SYNA_KIND_FC;
    // a conv layer's `op` field is 1 + the index of its attention in syna_att.mem (0: none)
    wire          att_layer = (NATT > 0) && d_kind == SYNA_KIND_CONV && d_op != {FW{1'b0}};

    // ------------------------------------------------------------------ weights in DDR: tiles
    // syna_ddr.mem, one word per layer: w_offset, w_block_bytes, rows, tile_groups (32 bits each)
    wire [127:0]  ddesc;
    generate
        if (WDDR != 0) begin : g_ddr_rom
            syna_mem #(.W(128), .D(NL), .AW(LAW), .HAS_INIT(1), .INIT_FILE("syna_ddr.mem")) u_ddr (
                .clk(clk), .we(1'b0), .waddr({LAW{1'b0}}), .wdata(128'd0), .re(1'b1), .raddr(layer), .rdata(ddesc));
        end else begin : g_no_ddr_rom
            assign ddesc = 128'd0;
        end
    endgenerate
    wire [31:0]   dd_woff = ddesc[31:0], dd_wblk = ddesc[63:32], dd_rows = ddesc[95:64], dd_tg = ddesc[127:96];
    reg  [FW-1:0] g0_r, tg_r;             // this tile: first lane group, lane groups
    reg  [FW-1:0] e_kkg, e_kg, e_sg, e_skg, e_wog;
    reg  [31:0]   e_nlif;
    reg  [CMAX-1:0] new_mask;             // the spike-word lanes this tile writes (lanes >= g0*P)
    wire [FW-1:0] g0e = WDDR != 0 ? g0_r : {FW{1'b0}};
    wire [FW-1:0] g_e = WDDR != 0 ? tg_r : d_g;
    wire [31:0]   nlif_e = WDDR != 0 ? e_nlif : {{(32 - FW){1'b0}}, d_nlif};
    wire [FW-1:0] g_left = d_g - g0_r;
    wire [FW-1:0] tg_next = (dd_tg[FW-1:0] < g_left) ? dd_tg[FW-1:0] : g_left;
    wire          more_tiles = WDDR != 0 && g0_r + tg_r != d_g;

    // ------------------------------------------------------------------ memories
    // input banks: one per input channel, word = value at (t, y, x)
    wire          rx_we, rq_we, rp_we;         // the bank writes: the receive's (on chip) or the replay's (maps in DDR)
    wire [CW-1:0] rq_chan, rp_chan;
    wire [IAW-1:0] rq_addr, rp_addr;
    wire [IB-1:0] rq_val, rp_val;
    wire [CW-1:0] rx_chan = MPS != 0 ? rp_chan : rq_chan;
    wire [IAW-1:0] rx_addr = MPS != 0 ? rp_addr : rq_addr;
    wire [IB-1:0] rx_val = MPS != 0 ? rp_val : rq_val;
    assign rx_we = MPS != 0 ? rp_we : rq_we;
    wire          in_re;
    wire [IAW-1:0] in_raddr;
    wire [CIN*IB-1:0] in_rdata;
    genvar gc;
    generate
        for (gc = 0; gc < CIN; gc = gc + 1) begin : g_in
            syna_mem #(.W(IB), .D(SYNA_ID), .AW(IAW)) u_in (
                .clk(clk), .we(rx_we && rx_chan == gc), .waddr(rx_addr), .wdata(rx_val),
                .re(in_re), .raddr(in_raddr), .rdata(in_rdata[gc*IB +: IB]));
        end
    endgenerate

    // spike maps (one logical word of CMAX channels per (layer, t, y, x)) in SYNA_SB banks of CMAX/SB bits
    // (syna_spkmem.v): a map of class k (schedule fields kin / kout) at logical address (base << k) + p
    reg            spk_we;
    reg  [SAW-1:0] spk_waddr;
    reg  [CMAX-1:0] spk_wdata;
    wire           spk_re;
    wire [SAW-1:0] spk_raddr;
    wire [CMAX-1:0] spk_rdata;
    wire [SKW-1:0] spk_rk;                // the class of the map read: the output's (DDR tile read-modify-write), else the inputs'
    // maps in DDR: the DMA (syna_mapdma) uses both ports while a job runs (state S_DWAIT), with the class dm_k
    wire           dm_on = MPS != 0 && state == S_DWAIT;
    wire           dm_swe, dm_sre;
    wire [SAW-1:0] dm_swaddr, dm_sraddr;
    wire [CMAX-1:0] dm_swdata;
    reg  [SKW-1:0] dm_k;
    syna_spkmem #(.W(CMAX), .B(SYNA_SB), .D(SYNA_SD), .AW(SAW), .PAW(SYNA_SPAW), .KW(SKW)) u_spk (
        .clk(clk), .we(spk_we || (dm_on && dm_swe)), .waddr(dm_on ? dm_swaddr : spk_waddr),
        .wk(dm_on ? dm_k : d_kout[SKW-1:0]), .wdata(dm_on ? dm_swdata : spk_wdata), .re(spk_re || (dm_on && dm_sre)),
        .raddr(dm_on ? dm_sraddr : spk_raddr), .rk(dm_on ? dm_k : spk_rk), .rdata(spk_rdata));

    // weights, bias/threshold
    wire           w_re;
    wire [WAW-1:0] w_raddr;
    wire [P*WB-1:0] w_rdata;
    reg            ld_we;                 // DDR: the tile loader's writes
    reg  [WBAW-1:0] ld_waddr;
    reg  [P*WB-1:0] ld_wdata;
    reg            cbank;                 // DDR, double buffer: the half the compute reads
    generate
        if (WDDR != 0) begin : g_wbuf
            // NBUF halves of WD rows: half b holds rows b*WD .. b*WD+WD-1
            wire [WBAW-1:0] w_raddr_b = {{(WBAW - WAW){1'b0}}, w_raddr}
                                      + ((NBUF > 1 && cbank) ? WD_OFF : {WBAW{1'b0}});
            syna_mem #(.W(P * WB), .D(NBUF * SYNA_WD), .AW(WBAW), .BLOCK(WBRAM)) u_w (
                .clk(clk), .we(ld_we), .waddr(ld_waddr), .wdata(ld_wdata), .re(w_re), .raddr(w_raddr_b),
                .rdata(w_rdata));
        end else begin : g_wrom
            syna_mem #(.W(P * WB), .D(SYNA_WD), .AW(WAW), .HAS_INIT(1), .INIT_FILE("syna_weights.mem")) u_w (
                .clk(clk), .we(1'b0), .waddr({WAW{1'b0}}), .wdata({P * WB{1'b0}}), .re(w_re), .raddr(w_raddr),
                .rdata(w_rdata));
        end
    endgenerate
    reg            bt_re;
    reg  [BTAW-1:0] bt_raddr;
    wire [BTW-1:0] bt_rdata;
    syna_mem #(.W(BTW), .D(SYNA_BTD), .AW(BTAW), .HAS_INIT(1), .INIT_FILE("syna_bt.mem")) u_bt (
        .clk(clk), .we(1'b0), .waddr({BTAW{1'b0}}), .wdata({BTW{1'b0}}), .re(bt_re), .raddr(bt_raddr),
        .rdata(bt_rdata));

    // accumulators and membranes, P lanes per word, address (y*Wo + x)*G + cg
    reg            acc_we, acc_re;
    reg  [AAW-1:0] acc_waddr, acc_raddr;
    reg  [P*32-1:0] acc_wdata;
    wire [P*32-1:0] acc_rdata;
    syna_mem #(.W(P * 32), .D(SYNA_AD), .AW(AAW)) u_acc (
        .clk(clk), .we(acc_we), .waddr(acc_waddr), .wdata(acc_wdata), .re(acc_re), .raddr(acc_raddr),
        .rdata(acc_rdata));
    reg            vm_we, vm_re;
    reg  [AAW-1:0] vm_waddr, vm_raddr;
    wire [P*MB-1:0] vm_wdata, vm_rdata;
    syna_mem #(.W(P * MB), .D(SYNA_AD), .AW(AAW)) u_vm (
        .clk(clk), .we(vm_we), .waddr(vm_waddr), .wdata(vm_wdata), .re(vm_re), .raddr(vm_raddr),
        .rdata(vm_rdata));

    // ------------------------------------------------------------------ input stream
    wire rx_done, rx_err_short, rx_err_long, rx_err_range;
    syna_stream_rx #(.LANE(SYNA_LANE), .IB(IB), .CIN(CIN), .H(SYNA_H), .W(SYNA_W), .T(T), .WPF(SYNA_WPF),
                     .IAW(IAW), .CW(CW)) u_rx (
        .clk(clk), .rst(rst), .start(accept), .store(steps == T && MPS == 0), .idle_limit(idle_limit),
        .hold(iw_hold), .wtake(rx_wtake),
        .s_axis_tvalid(s_axis_in_TVALID), .s_axis_tready(s_axis_in_TREADY), .s_axis_tdata(s_axis_in_TDATA),
        .s_axis_tlast(s_axis_in_TLAST), .done(rx_done), .err_short(rx_err_short), .err_long(rx_err_long),
        .err_range(rx_err_range),
        .in_we(rq_we), .in_chan(rq_chan), .in_addr(rq_addr), .in_val(rq_val));

    // ------------------------------------------------------------------ conv engine
    reg            eng_start;
    wire           eng_busy, eng_done;
    wire           eng_map_re, eng_w_re, eng_acc_re, eng_acc_we;
    wire [RAW-1:0] eng_map_raddr;
    wire [AAW-1:0] eng_acc_raddr, eng_acc_waddr;
    wire [P*32-1:0] eng_acc_wdata;
    wire [31:0]    eng_events, eng_ops;
    wire           enc = d_enc[0] && !is_fc;
    wire [DW-1:0]  in_ext = in_rdata;              // zero-extended
    wire [DW-1:0]  spk_ext = spk_rdata;
    wire [DW-1:0]  eng_map_rdata = enc ? in_ext : spk_ext;
    syna_conv_engine #(.P(P), .WB(WB), .IB(IB), .CIN(CIN), .MW(MW), .DW(DW), .RAW(RAW), .WAW(WAW), .AAW(AAW),
                       .FW(FW)) u_eng (
        .clk(clk), .rst(rst), .start(eng_start), .enc(enc), .fc(is_fc), .dense(dbg_dense),
        .scan_base(scan_ptr[RAW-1:0]), .scan_len(MPS != 0 ? e_scan : d_scan), .cin(d_cin), .w(d_w),
        .ho(MPS != 0 && !is_fc ? e_ho : d_ho), .wo(d_wo),
        .k(d_k[3:0]), .slog2(d_slog2[1:0]), .pad(d_pad[2:0]), .pad_y(MPS != 0 && !is_fc ? e_pady[2:0] : d_pad[2:0]), .g(g_e),
        .wbase(WDDR != 0 ? {FW{1'b0}} : d_wbase), .kkg(WDDR != 0 ? e_kkg : d_kkg), .kg(WDDR != 0 ? e_kg : d_kg),
        .sg(WDDR != 0 ? e_sg : d_sg), .skg(WDDR != 0 ? e_skg : d_skg), .wog(WDDR != 0 ? e_wog : d_wog),
        .busy(eng_busy), .done(eng_done),
        .map_re(eng_map_re), .map_raddr(eng_map_raddr), .map_rdata(eng_map_rdata),
        .w_re(eng_w_re), .w_raddr(w_raddr), .w_rdata(w_rdata),
        .acc_re(eng_acc_re), .acc_raddr(eng_acc_raddr), .acc_rdata(acc_rdata),
        .acc_we(eng_acc_we), .acc_waddr(eng_acc_waddr), .acc_wdata(eng_acc_wdata),
        .n_events(eng_events), .n_ops(eng_ops));
    assign w_re = eng_w_re;
    assign in_re = eng_map_re && enc;
    assign in_raddr = eng_map_raddr[IAW-1:0];

    // ------------------------------------------------------------------ phase counters
    reg  [31:0]    n;                     // LIF: neuron group; merge: read; pool/fc-out: output
    reg  [31:0]    cg;                    // channel group of LIF read / fc-out
    reg  [31:0]    pos;                   // output position within the step (LIF)
    reg  [31:0]    ipos;                  // DDR: index (t*HoWo + pos) of the word whose groups issue (LIF)
    reg  [31:0]    poy, pox, pky, pkx, pt, ptb;  // pool counters, ptb = pt*H*W
    reg            l1_valid, l1_last, l1_first;
    reg  [31:0]    l1_n, l1_cg;
    reg  [CMAX-1:0] word_acc, merge_a;

    // LIF datapath on the words read last cycle
    wire [P-1:0]   lane_en;
    genvar gl;
    generate
        for (gl = 0; gl < P; gl = gl + 1) begin : g_en
            assign lane_en[gl] = (g0e + l1_cg) * P + gl < d_cout;
        end
    endgenerate
    wire [P-1:0]   lif_spike, lif_sat;
    wire [P*MB-1:0] lif_cur;
    wire [P*9-1:0] att_gate;
    wire [P-1:0]   att_gq;
    wire           att_ia;
    wire [1:0]     gmode = p_gate ? (att_ia ? 2'd2 : 2'd1) : 2'd0;
    syna_lif #(.P(P), .MB(MB), .ATT(NATT > 0 ? 1 : 0), .GFB(SYNA_GATE_FRAC_BITS)) u_lif (
        .acc(acc_rdata), .bias(bt_rdata[P*32-1:0]), .thr(bt_rdata[BTW-1:P*32]), .v(vm_rdata),
        .first(t == 0), .lane_en(lane_en), .gmode(gmode), .gate(att_gate), .gq(att_gq), .cur(lif_cur),
        .v_next(vm_wdata), .spike(lif_spike), .sat(lif_sat));

    // attention: the layer's start clears the dim-T pools and IA neuron; in DDR mode each pass-2 tile
    // starts the dim-T IA neuron again (it runs the steps once per tile; its pools are spent by then)
    wire           att_clear = (state == S_LOAD1 && att_layer) || (WDDR != 0 && state == S_TILE && p_gate);
    // attention (docs/rtl.md, "Attention"): built only when the configuration has some
    wire           att_done;
    wire [1:0]     att_sat;
    generate
        if (NATT > 0) begin : g_att
            wire [FW-1:0] aidx = d_op - 1'b1;
            syna_attention #(.P(P), .MB(MB), .T(T), .CSZ(SYNA_ACSZ), .PSW(SYNA_APSW), .HMAX(SYNA_AHMAX),
                             .AWB(SYNA_AWB), .AWD(SYNA_AWD), .AWAW(SYNA_AWAW), .NATT(NATT), .NAW(SYNA_NAW),
                             .SIG_HALF(SYNA_SIG_HALF), .IA_THETA(SYNA_IA_THETA)) u_att (
                .clk(clk), .rst(rst), .aidx(aidx[SYNA_NAW-1:0]), .clear(att_clear),
                .issue(lif_issue), .icg(g0e + cg), .l1(state == S_LIF && l1_valid), .cg(g0e + l1_cg),
                .first_pos(l1_n < g_e),
                .t(t), .pool(p_pool), .gated(p_gate), .lane_en(lane_en), .cur(lif_cur),
                .mlp_start(mlp_go), .mlp_done(att_done), .ia_step(state == S_CONV && eng_done && p_gate),
                .is_ia(att_ia), .gate(att_gate), .gq(att_gq), .sat_inc(att_sat));
        end else begin : g_noatt
            assign att_done = 1'b0;
            assign att_sat = 2'd0;
            assign att_ia = 1'b0;
            assign att_gate = {P * 9{1'b0}};
            assign att_gq = {P{1'b0}};
        end
    endgenerate
    wire [CMAX+P-1:0] spike_ext = lif_spike;
    wire [CMAX+P-1:0] spike_sh = spike_ext << ((g0e + l1_cg) * P);
    // a later tile keeps the lanes the earlier tiles wrote into the word (read when its first group issued)
    wire [CMAX-1:0] word_old = (WDDR != 0 && g0_r != 0) ? (spk_rdata & ~new_mask) : {CMAX{1'b0}};
    wire [CMAX-1:0] spike_word = ((l1_cg == 0) ? word_old : word_acc) | spike_sh[CMAX-1:0];

    wire [CMAX-1:0] merged;
    syna_merge #(.W(CMAX)) u_merge (.op(d_op[1:0]), .m(merge_a), .r(spk_rdata), .y(merged));

    // pool window position
    wire signed [31:0] piy = $signed((poy << d_slog2) + pky) - $signed({29'd0, d_pad[2:0]});
    wire signed [31:0] pix = $signed((pox << d_slog2) + pkx) - $signed({29'd0, d_pad[2:0]});
    wire           p_in = piy >= 0 && pix >= 0 && piy < $signed(d_h) && pix < $signed(d_w);
    wire           p_lastwin = pky + 1 == d_k && pkx + 1 == d_k;
    wire [CMAX-1:0] pooled;
    reg            l1_pin;
    syna_pool_or #(.W(CMAX)) u_pool (.clk(clk), .first(l1_first), .valid(l1_pin), .d(spk_rdata), .y(pooled));

    // spike memory read port
    reg            ctl_spk_re;
    reg  [SAW-1:0] ctl_spk_raddr;
    assign spk_re = (eng_map_re && !enc) || ctl_spk_re;
    assign spk_raddr = eng_busy ? eng_map_raddr[SAW-1:0] : ctl_spk_raddr;
    assign spk_rk = (WDDR != 0 && state == S_LIF) ? d_kout[SKW-1:0] : d_kin[SKW-1:0];

    always @* begin
        ctl_spk_re = 1'b0;
        ctl_spk_raddr = {SAW{1'b0}};
        if (state == S_POOL && pt != p_end) begin
            ctl_spk_re = p_in;
            ctl_spk_raddr = d_ina[SAW-1:0] + ptb[SAW-1:0] + piy[SAW-1:0] * d_w[SAW-1:0] + pix[SAW-1:0];
        end else if (state == S_MERGE && n != m_end) begin
            ctl_spk_re = 1'b1;
            ctl_spk_raddr = (n[0] ? d_inb[SAW-1:0] : d_ina[SAW-1:0]) + n[SAW:1];
        end else if (WDDR != 0 && state == S_LIF && n != nlif_e && cg == 0) begin
            ctl_spk_re = 1'b1;                  // the word's earlier tiles' lanes (spike_word)
            ctl_spk_raddr = d_out[SAW-1:0] + ipos[SAW-1:0];
        end
    end

    // accumulator / membrane / bias ports
    wire lif_issue = state == S_LIF && n != nlif_e;
    wire fco_issue = state == S_FCOUT && n != g_e;
    always @* begin
        acc_re = 1'b0; acc_raddr = {AAW{1'b0}};
        acc_we = 1'b0; acc_waddr = {AAW{1'b0}}; acc_wdata = {P * 32{1'b0}};
        vm_re = 1'b0; vm_raddr = {AAW{1'b0}}; vm_we = 1'b0; vm_waddr = {AAW{1'b0}};
        bt_re = 1'b0; bt_raddr = {BTAW{1'b0}};
        if (eng_busy) begin
            acc_re = eng_acc_re; acc_raddr = eng_acc_raddr;
            acc_we = eng_acc_we; acc_waddr = eng_acc_waddr; acc_wdata = eng_acc_wdata;
        end else if (state == S_RX || state == S_WAIT) begin
            acc_we = clr_busy; acc_waddr = clr_n[AAW-1:0];
        end else if (state == S_LIF) begin
            acc_re = lif_issue; acc_raddr = n[AAW-1:0];
            vm_re = lif_issue; vm_raddr = n[AAW-1:0];
            bt_re = lif_issue; bt_raddr = d_btbase[BTAW-1:0] + g0e[BTAW-1:0] + cg[BTAW-1:0];
            acc_we = l1_valid; acc_waddr = l1_n[AAW-1:0];          // clear for the next step
            vm_we = l1_valid; vm_waddr = l1_n[AAW-1:0];
        end else if (state == S_FCOUT) begin
            acc_re = fco_issue; acc_raddr = n[AAW-1:0];
            bt_re = fco_issue; bt_raddr = d_btbase[BTAW-1:0] + g0e[BTAW-1:0] + n[BTAW-1:0];
            if (WDDR != 0) begin                // the next fc tile accumulates from 0
                acc_we = l1_valid; acc_waddr = l1_n[AAW-1:0];
            end
        end
    end

    // ------------------------------------------------------------------ counters
    wire [PCW-1:0] spk_pop;
    syna_popcount #(.W(CMAX), .OW(PCW)) u_pop (.d(spk_wdata & (WDDR != 0 ? new_mask : {CMAX{1'b1}})), .n(spk_pop));   // this tile's spikes
    wire [31:0] layer_count;
    syna_counter #(.W(32), .IW(PCW)) u_lcnt (.clk(clk), .clr(rst || state == S_LOAD0),
                                             .inc(spk_we ? spk_pop : {PCW{1'b0}}), .q(layer_count));
    localparam integer SPW = $clog2(P + 1);
    localparam integer SIW = $clog2(P + 4);
    wire [SPW-1:0] sat_pop;
    syna_popcount #(.W(P), .OW(SPW)) u_satpop (.d(lif_sat), .n(sat_pop));
    wire [31:0] sat_count;
    // current saturations once per layer (pass 1 of an attention layer), plus the attention MLP's
    wire [SIW-1:0] sat_inc = ((state == S_LIF && l1_valid && !p_gate) ? {{(SIW - SPW){1'b0}}, sat_pop} : {SIW{1'b0}})
                           + {{(SIW - 2){1'b0}}, att_sat};
    syna_counter #(.W(32), .IW(SIW)) u_scnt (.clk(clk), .clr(rst || accept), .inc(sat_inc), .q(sat_count));
    wire [31:0] cyc;
    wire        counting = state != S_IDLE && state != S_SEND;
    syna_counter #(.W(32), .IW(1)) u_cyc (.clk(clk), .clr(rst || accept), .inc(counting), .q(cyc));

    reg  [31:0] counts [0:NS-1];
    reg  [31:0] scores [0:NCLS-1];

    // ------------------------------------------------------------------ output packet
    wire [31:0] status_now = ((rx_short ? 32'd1 : 32'd0) << SYNA_STATUS_FRAME_SHORT)
                           | ((rx_long ? 32'd1 : 32'd0) << SYNA_STATUS_FRAME_LONG)
                           | ((steps_ok ? 32'd0 : 32'd1) << SYNA_STATUS_STEPS_MISMATCH)
                           | ((rx_range ? 32'd1 : 32'd0) << SYNA_STATUS_INPUT_RANGE)
                           | ((ddr_err ? 32'd1 : 32'd0) << SYNA_STATUS_WEIGHTS)
                           | ((scr_err ? 32'd1 : 32'd0) << STS)
                           | ((sat_count != 0 && !ddr_err && !scr_err ? 32'd1 : 32'd0) << SYNA_STATUS_SATURATED);
    localparam integer OIW = $clog2(NOUT + 1);
    wire [OIW-1:0] tx_idx;
    reg  [31:0]    tx_data;
    reg            tx_start;
    // a weights error ends the inference where it is: what was computed is not sent (the contract's packet)
    wire tx_wipe = last_status[SYNA_STATUS_WEIGHTS] || (MPS != 0 && last_status[STS]);
    always @* begin
        if (tx_idx < NCLS + NS && tx_wipe) tx_data = 32'd0;
        else if (tx_idx < NCLS) tx_data = scores[tx_idx];
        else if (tx_idx < NCLS + NS) tx_data = counts[tx_idx - NCLS];
        else if (tx_idx == NCLS + NS) tx_data = last_cycles;
        else if (tx_idx == NCLS + NS + 1) tx_data = last_sats;
        else tx_data = last_status;
    end
    syna_stream_tx #(.N(NOUT), .IW(OIW)) u_tx (
        .clk(clk), .rst(rst), .start(tx_start), .idx(tx_idx), .data(tx_data),
        .m_axis_tvalid(m_axis_out_TVALID), .m_axis_tready(m_axis_out_TREADY), .m_axis_tdata(m_axis_out_TDATA),
        .m_axis_tlast(m_axis_out_TLAST), .done(core_done));
    assign m_axis_out_TKEEP = 4'hf;

    // ------------------------------------------------------------------ tap
    assign tap_valid = spk_we;
    reg  [31:0] tap_idx;
    assign tap_layer = layer;
    assign tap_index = tap_idx;
    assign tap_word = spk_wdata;
    assign dbg_busy = state != S_IDLE;

    // ------------------------------------------------------------------ maps in DDR: plan ROMs, DMA, writers
    // syna_spill.mem, one word per layer (32-bit fields, field 0 lowest): in_off, inb_off, out_off, in_step,
    // out_step, in_pw, out_pw, band0, nband -- scratch byte offsets of the input map(s) and the output map,
    // bytes of a step, 32-bit words per position, the layer's first band in syna_bands.mem and its bands.
    // syna_bands.mem, one word per band: out_row (byte offset of its first output row in a step), out_npos
    // (its output positions), in_row, in_npos (the input rows it reads: byte offset, positions), scan0 (the
    // encoder's first input position), ny (its output rows), pad_y (the engine's row padding for it),
    // tap_off (y0 * Wo).
    wire           rd_cmd_ready, rd_busy, rd_done, rd_err_resp, rd_err_cmd;
    wire           rd_valid, rd_last;
    wire [GMEM_DW-1:0] rd_data;
    reg            scr_err;               // STATUS scratch
    reg  [1:0]     jn;                    // the step's DMA job (3: the write-back)
    reg  [BDAW-1:0] bidx;                 // the band (syna_bands.mem word)
    reg  [FW-1:0]  e_scan, e_ho;
    reg  [3:0]     e_pady;
    reg  [31:0]    tap_base;              // the tap index of the step's (band's) first output position
    reg            dm_start, dm_fin, rp_fin;
    reg  [1:0]     dm_mode;
    reg  [GAW-1:0] dm_addr;
    reg  [31:0]    dm_npos;
    reg  [5:0]     dm_pw;
    reg  [SAW-1:0] dm_base;
    wire [287:0]   spdesc;
    wire [255:0]   bddesc;
    generate
        if (MPS != 0) begin : g_spill_rom
            syna_mem #(.W(288), .D(NL), .AW(LAW), .HAS_INIT(1), .INIT_FILE("syna_spill.mem")) u_spill (
                .clk(clk), .we(1'b0), .waddr({LAW{1'b0}}), .wdata(288'd0), .re(1'b1), .raddr(layer), .rdata(spdesc));
            syna_mem #(.W(256), .D(NBD), .AW(BDAW), .HAS_INIT(1), .INIT_FILE("syna_bands.mem")) u_bands (
                .clk(clk), .we(1'b0), .waddr({BDAW{1'b0}}), .wdata(256'd0), .re(1'b1), .raddr(bidx), .rdata(bddesc));
        end else begin : g_no_spill_rom
            assign spdesc = 288'd0;
            assign bddesc = 256'd0;
        end
    endgenerate
    wire [31:0]    sp_ina = spdesc[31:0], sp_inb = spdesc[63:32], sp_out = spdesc[95:64];
    wire [31:0]    sp_istep = spdesc[127:96], sp_ostep = spdesc[159:128], sp_ipw = spdesc[191:160];
    wire [31:0]    sp_opw = spdesc[223:192], sp_band0 = spdesc[255:224], sp_nband = spdesc[287:256];
    wire [31:0]    bd_orow = bddesc[31:0], bd_onpos = bddesc[63:32], bd_irow = bddesc[95:64];
    wire [31:0]    bd_inpos = bddesc[127:96], bd_scan0 = bddesc[159:128], bd_ny = bddesc[191:160];
    wire [31:0]    bd_pady = bddesc[223:192], bd_tapoff = bddesc[255:224];
    wire           is_conv = d_kind == SYNA_KIND_CONV;
    wire [31:0]    p_end = MPS != 0 ? 32'd1 : T;                     // pool: steps of one run
    wire [31:0]    m_end = MPS != 0 ? 2 * {{(32 - FW){1'b0}}, d_hw} : 2 * {{(32 - FW){1'b0}}, d_thw};
    // the scratch check at accept: SCRATCH_BASE set, 4 KiB-aligned, the buffer inside the port's address bits
    wire           sb_bad = scratch_base == 64'd0 || |scratch_base[11:0] || |scratch_base[63:GAW]
                          || ({1'b0, scratch_base[63:12]} + SPG) > (53'd1 << (GAW - 12));
    // the DMA jobs of a step (jn 0..2, S_STEP), and the write-back's address (S_WB)
    wire [GAW-1:0] sb = scratch_base[GAW-1:0];
    wire [31:0]    t_in = t * sp_istep, t_out = t * sp_ostep;
    reg            job_any, job_raw, job_kout;
    reg  [1:0]     job_mode;
    reg  [GAW-1:0] job_addr;
    reg  [31:0]    job_npos;
    reg  [5:0]     job_pw;
    reg  [SAW-1:0] job_base;
    always @* begin
        job_any = 1'b0; job_raw = 1'b0; job_kout = 1'b0; job_mode = 2'd0;
        job_addr = sb + {{(GAW - 32){1'b0}}, sp_ina + t_in};
        job_npos = {{(32 - FW){1'b0}}, d_hw};
        job_pw = sp_ipw[5:0];
        job_base = d_ina[SAW-1:0];
        if (jn == 2'd0) begin                       // the input map's step (rows), or the encoder's frame
            job_any = 1'b1;
            if (is_conv && enc) begin
                job_raw = 1'b1;
                job_mode = 2'd2;
                job_npos = SYNA_WPF;
            end else if (is_conv) begin
                job_addr = sb + {{(GAW - 32){1'b0}}, sp_ina + t_in + bd_irow};
                job_npos = bd_inpos;
            end
        end else if (jn == 2'd1 && is_conv && g0_r != {FW{1'b0}}) begin   // a later tile: the lanes so far
            job_any = 1'b1;
            job_kout = 1'b1;
            job_addr = sb + {{(GAW - 32){1'b0}}, sp_out + t_out + bd_orow};
            job_npos = bd_onpos;
            job_pw = sp_opw[5:0];
            job_base = d_out[SAW-1:0];
        end else if (jn == 2'd1 && d_kind == SYNA_KIND_MERGE) begin       // the merge's second input
            job_any = 1'b1;
            job_addr = sb + {{(GAW - 32){1'b0}}, sp_inb + t_in};
            job_base = d_inb[SAW-1:0];
        end
    end
    wire [GAW-1:0] wb_addr = sb + {{(GAW - 32){1'b0}}, sp_out + t_out + (is_conv ? bd_orow : 32'd0)};

    // the DMA and its two masters' client ports (the read master below, shared with the tile loader)
    wire           dm_done, dm_err, dm_busy;
    wire           dm_rc_valid, dm_rc_ready, dm_take, dm_wc_valid, dm_w_valid, dm_x_valid, dm_x_last;
    wire [GAW-1:0] dm_rc_addr, dm_wc_addr;
    wire [31:0]    dm_rc_len, dm_wc_len, dm_x_data;
    wire [GMEM_DW-1:0] dm_w_data;
    wire           rd_own_dm;             // the read master's command is the DMA's
    wire           wr_cmd_ready, wr_done, wr_err_resp, wr_err_cmd, wr_in_ready;
    wire           rp_done, rp_ready;
    reg            rp_start;
    // the INPUT writer (during the receive): the input words, packed into beats, to scratch INPUT
    reg            iw_cv, iw_act, iw_bv, iw_pad, iw_err;
    reg  [31:0]    iw_cnt;
    reg  [7:0]     iw_n;
    reg  [GMEM_DW-1:0] iw_beat;
    wire           rx_wtake;
    wire           iw_hold = MPS != 0 && iw_act && iw_bv;
    wire           iw_idle = !iw_cv && !iw_act;
    wire           iw_own = state == S_RX;
    generate
        if (MPS != 0) begin : g_mapdma
            syna_mapdma #(.W(CMAX), .DW(GMEM_DW), .GAW(GAW), .SAW(SAW)) u_dma (
                .clk(clk), .rst(rst), .start(dm_start), .mode(dm_mode), .addr(dm_addr), .npos(dm_npos), .pw(dm_pw),
                .base(dm_base), .done(dm_done), .err(dm_err), .busy(dm_busy),
                .rc_valid(dm_rc_valid), .rc_ready(dm_rc_ready), .rc_addr(dm_rc_addr), .rc_len(dm_rc_len),
                .rd_valid(rd_valid && rd_own_dm), .rd_data(rd_data), .rd_take(dm_take),
                .rd_done(rd_done && rd_own_dm), .rd_err(rd_err_resp || rd_err_cmd),
                .wc_valid(dm_wc_valid), .wc_ready(wr_cmd_ready && !iw_own), .wc_addr(dm_wc_addr), .wc_len(dm_wc_len),
                .w_valid(dm_w_valid), .w_ready(wr_in_ready && !iw_own), .w_data(dm_w_data),
                .wr_done(wr_done && !iw_own), .wr_err(wr_err_resp || wr_err_cmd),
                .s_we(dm_swe), .s_waddr(dm_swaddr), .s_wdata(dm_swdata), .s_re(dm_sre), .s_raddr(dm_sraddr),
                .s_rdata(spk_rdata),
                .x_valid(dm_x_valid), .x_ready(rp_ready), .x_data(dm_x_data), .x_last(dm_x_last));
            // the encoder's frame replayed from INPUT into the input banks (one frame, the receive's unpacking)
            wire rp_s, rp_l, rp_r, rp_wt;
            syna_stream_rx #(.LANE(SYNA_LANE), .IB(IB), .CIN(CIN), .H(SYNA_H), .W(SYNA_W), .T(1), .WPF(SYNA_WPF),
                             .IAW(IAW), .CW(CW)) u_rp (
                .clk(clk), .rst(rst), .start(rp_start), .store(1'b1), .idle_limit(32'hffff_ffff), .hold(1'b0),
                .wtake(rp_wt), .s_axis_tvalid(dm_x_valid), .s_axis_tready(rp_ready), .s_axis_tdata(dm_x_data),
                .s_axis_tlast(dm_x_last), .done(rp_done), .err_short(rp_s), .err_long(rp_l), .err_range(rp_r),
                .in_we(rp_we), .in_chan(rp_chan), .in_addr(rp_addr), .in_val(rp_val));
            wire unused_rp = &{1'b0, rp_s, rp_l, rp_r, rp_wt, dm_busy};
        end else begin : g_no_mapdma
            assign {dm_done, dm_err, dm_busy, dm_rc_valid, dm_take, dm_wc_valid, dm_w_valid, dm_x_valid, dm_x_last} = 9'd0;
            assign dm_rc_addr = {GAW{1'b0}};
            assign dm_wc_addr = {GAW{1'b0}};
            assign {dm_rc_len, dm_wc_len, dm_x_data} = 96'd0;
            assign dm_w_data = {GMEM_DW{1'b0}};
            assign {dm_swe, dm_sre} = 2'd0;
            assign dm_swaddr = {SAW{1'b0}};
            assign dm_sraddr = {SAW{1'b0}};
            assign dm_swdata = {CMAX{1'b0}};
            assign {rp_done, rp_ready, rp_we} = 3'd0;
            assign rp_chan = {CW{1'b0}};
            assign rp_addr = {IAW{1'b0}};
            assign rp_val = {IB{1'b0}};
        end
    endgenerate
    always @(posedge clk) begin
        rp_start <= 1'b0;
        if (rst) begin
            iw_cv <= 1'b0;
            iw_act <= 1'b0;
            iw_bv <= 1'b0;
            iw_pad <= 1'b0;
            iw_err <= 1'b0;
        end else begin
            if (MPS != 0 && state == S_STEP && job_any && job_raw) rp_start <= 1'b1;
            if (accept) begin                     // a receive: the INPUT write, if the scratch can be used
                iw_cv <= MPS != 0 && !sb_bad && steps == T;
                iw_act <= MPS != 0 && !sb_bad && steps == T;
                iw_bv <= 1'b0;
                iw_pad <= 1'b0;
                iw_err <= 1'b0;
                iw_cnt <= 32'd0;
                iw_n <= 8'd0;
            end
            if (iw_cv && iw_own && wr_cmd_ready) iw_cv <= 1'b0;
            if (iw_bv && iw_own && wr_in_ready) iw_bv <= 1'b0;
            if (iw_act && rx_done) iw_pad <= 1'b1;            // a short receive: zeros for the words missing
            if (iw_act && iw_cnt != TWPF && ((rx_wtake && !iw_bv) || (iw_pad && !iw_bv && !rx_wtake))) begin
                iw_beat[iw_n * 32 +: 32] <= rx_wtake ? s_axis_in_TDATA : 32'd0;
                iw_cnt <= iw_cnt + 32'd1;
                if (iw_n == NWB - 1 || iw_cnt + 32'd1 == TWPF) begin
                    iw_bv <= 1'b1;
                    iw_n <= 8'd0;
                end else begin
                    iw_n <= iw_n + 8'd1;
                end
            end
            if (iw_act && iw_own && wr_done) begin
                iw_act <= 1'b0;
                iw_err <= wr_err_resp || wr_err_cmd;
            end
        end
    end

    // ------------------------------------------------------------------ weights in DDR: the tile loader
    // It walks syna_tiles.mem (load k: image byte offset w_offset + g0 * w_block_bytes, tg * w_block_bytes
    // bytes, rows and block rows of a lane group, tg; docs/rtl.md "Weights in DDR") once the weights check
    // passed, one command to syna_axi_rd per load; the beats hold RPB image rows each; row r of lane group
    // j of the tile goes to row r * tg + j of buffer k mod NBUF (the engine's [r][j] order), the block's
    // padding rows are dropped. Load k may start when its buffer is free: k < cp_k + NBUF - cp_hold (cp_k:
    // tiles the compute has taken; cp_hold: it is computing the last one taken). The compute takes tile
    // cp_k in S_TLD once ld_k (loads completed) > cp_k. A failed load (SLVERR/DECERR, or WEIGHTS_BASE past
    // the port's address bits) stops the loads; the compute ends the inference when it reaches that tile.
    // The loads start after the weights check passed (its read comes first on the same port).
    // S_SEND returns to S_IDLE only when no load is in flight (a load never outlives its inference).
    localparam [1:0] L_IDLE = 2'd0, L_ARM = 2'd1, L_CMD = 2'd2, L_DATA = 2'd3;
    reg  [1:0]     lst;                   // loader state
    reg  [31:0]    ld_k;                  // loads completed this inference (= the load in progress)
    reg  [31:0]    cp_k;                  // tiles the compute has taken this inference
    reg            hc_sent, hc_done;      // the weights check (below): its command sent, it is over
    reg            ld_err, ddr_err, tx_fin;   // ddr_err: STATUS weights (the check failed, or a read did)
    wire           cp_hold = state == S_CONV || state == S_LIF || state == S_FC || state == S_FCOUT
                          || state == S_MLP || state == S_BAND || state == S_BAND1 || state == S_STEP
                          || state == S_DWAIT || state == S_WB;
    wire           ld_run = state != S_IDLE && state != S_SEND;
    wire [31:0]    ld_limit = cp_k + NBUF - (cp_hold ? 32'd1 : 32'd0);
    // the loads start once the weights check (below) has passed
    wire           ld_go = WDDR != 0 && ld_run && hc_done && !ddr_err && !ld_err && ld_k != NLD && ld_k < ld_limit;
    wire           ld_bank = NBUF > 1 && ld_k[0];
    wire [159:0]   tdesc;                 // syna_tiles.mem word ld_k: off, len, rows, blk_rows, tg
    generate
        if (WDDR != 0) begin : g_tiles_rom
            syna_mem #(.W(160), .D(NLD), .AW(LDAW), .HAS_INIT(1), .INIT_FILE("syna_tiles.mem")) u_tiles (
                .clk(clk), .we(1'b0), .waddr({LDAW{1'b0}}), .wdata(160'd0), .re(1'b1), .raddr(ld_k[LDAW-1:0]),
                .rdata(tdesc));
        end else begin : g_no_tiles_rom
            assign tdesc = 160'd0;
        end
    endgenerate
    wire [31:0]    tl_off = tdesc[31:0], tl_len = tdesc[63:32], tl_rows = tdesc[95:64];
    wire [31:0]    tl_blk = tdesc[127:96], tl_tg = tdesc[159:128];
    wire [GMEM_DW/8-1:0] rd_keep;
    reg  [RPBW-1:0] ld_sub;               // row within the beat
    reg  [31:0]    ld_row;                // row within the lane group's block
    reg  [31:0]    ld_j;                  // lane group within the tile
    reg  [31:0]    ld_addr;               // buffer row of (ld_row, ld_j)
    wire           rd_take = rd_valid && (ld_sub == RPB - 1);
    // the read master's clients: the weights check and the tile loader first, then the map DMA; the data and
    // the end of a command go to the client whose command was taken (rd_own: the DMA's)
    wire           rd_mine = lst == L_CMD || (hc_cmd && !hc_sent);
    reg            rd_own;
    assign         rd_own_dm = rd_own;
    assign         dm_rc_ready = rd_cmd_ready && !rd_mine;
    always @(posedge clk) begin
        if (rst) rd_own <= 1'b0;
        else if (rd_cmd_ready && (rd_mine || dm_rc_valid)) rd_own <= !rd_mine;
    end
    wire           ld_rvalid = rd_valid && !rd_own;
    wire           ld_rdone = rd_done && !rd_own;
    // The weights check (docs/core-interface.md, STATUS weights), at accept: WEIGHTS_BASE 4 KiB-aligned
    // and base + the image's pages inside the port's GAW address bits, else no read at all; then, while the
    // input is received (S_RX), one command reads the image's first HCB beats and compares them with
    // syna_ddrhead.mem (the bytes this core was generated for); an SLVERR / DECERR fails it too.
    reg  [5:0]     hc_beat;
    wire           hc_cmd = state == S_RX && !hc_done;
    wire           hc_take = hc_cmd && rd_valid;
    wire [GMEM_DW-1:0] hc_want;
    wire           wb_misaligned = |weights_base[11:0];
    wire           wb_outside = ({1'b0, weights_base[63:12]} + PGS) > (53'd1 << (GAW - 12));
    wire [GAW-1:0] cmd_addr = hc_cmd ? weights_base[GAW-1:0] : weights_base[GAW-1:0] + {{(GAW - 32){1'b0}}, tl_off};
    wire [31:0]    cmd_len = hc_cmd ? HCB * (GMEM_DW / 8) : tl_len;
    wire           wb_too_high = |weights_base[63:GAW];
    // waiting for the tile's load (not the hand-over cycle), or (maps in DDR) for a map DMA job
    assign dbg_stall = (state == S_TLD && ld_k <= cp_k) || (MPS != 0 && state == S_DWAIT);
    generate
        if (WDDR != 0) begin : g_axi
            wire [GAW-1:0] araddr;
            wire           arlock;
            syna_axi_rd #(.DATA_WIDTH(GMEM_DW), .ADDR_WIDTH(GAW), .ID_WIDTH(1), .LEN_WIDTH(32), .MAX_BURST(AXB),
                          .MAX_OUTSTANDING(AXO), .FIFO_DEPTH(AXF)) u_rd (
                .clk(clk), .rst(rst), .cmd_valid(rd_mine || dm_rc_valid),
                .cmd_ready(rd_cmd_ready),
                .cmd_addr(rd_mine ? cmd_addr : dm_rc_addr), .cmd_len(rd_mine ? cmd_len : dm_rc_len), .busy(rd_busy),
                .done(rd_done), .err_resp(rd_err_resp),
                .err_cmd(rd_err_cmd), .out_valid(rd_valid), .out_ready(((rd_take || hc_take) && !rd_own) || (dm_take && rd_own)),
                .out_data(rd_data),
                .out_keep(rd_keep), .out_last(rd_last),
                .m_axi_arid(m_axi_gmem_ARID), .m_axi_araddr(araddr), .m_axi_arlen(m_axi_gmem_ARLEN),
                .m_axi_arsize(m_axi_gmem_ARSIZE), .m_axi_arburst(m_axi_gmem_ARBURST), .m_axi_arlock(arlock),
                .m_axi_arcache(m_axi_gmem_ARCACHE), .m_axi_arprot(m_axi_gmem_ARPROT), .m_axi_arqos(m_axi_gmem_ARQOS),
                .m_axi_arvalid(m_axi_gmem_ARVALID), .m_axi_arready(m_axi_gmem_ARREADY), .m_axi_rid(m_axi_gmem_RID),
                .m_axi_rdata(m_axi_gmem_RDATA), .m_axi_rresp(m_axi_gmem_RRESP), .m_axi_rlast(m_axi_gmem_RLAST),
                .m_axi_rvalid(m_axi_gmem_RVALID), .m_axi_rready(m_axi_gmem_RREADY));
            assign m_axi_gmem_ARADDR = {{(64 - GAW){1'b0}}, araddr};
            assign m_axi_gmem_ARLOCK = {1'b0, arlock};
            // the expected beat for hc_beat (synchronous read: addressed with the next beat's index)
            syna_mem #(.W(GMEM_DW), .D(HCB), .AW(6), .HAS_INIT(1), .INIT_FILE("syna_ddrhead.mem")) u_head (
                .clk(clk), .we(1'b0), .waddr(6'd0), .wdata({GMEM_DW{1'b0}}), .re(1'b1),
                .raddr(hc_take ? hc_beat + 6'd1 : hc_beat), .rdata(hc_want));
        end else begin : g_no_axi
            assign {rd_cmd_ready, rd_busy, rd_done, rd_err_resp, rd_err_cmd, rd_valid, rd_last} = 7'd0;
            assign rd_data = {GMEM_DW{1'b0}};
            assign rd_keep = {(GMEM_DW / 8){1'b0}};
            assign m_axi_gmem_ARID = 1'b0;
            assign m_axi_gmem_ARADDR = 64'd0;
            assign m_axi_gmem_ARLEN = 8'd0;
            assign m_axi_gmem_ARSIZE = 3'd0;
            assign m_axi_gmem_ARBURST = 2'd0;
            assign m_axi_gmem_ARLOCK = 2'd0;
            assign m_axi_gmem_ARCACHE = 4'd0;
            assign m_axi_gmem_ARPROT = 3'd0;
            assign m_axi_gmem_ARQOS = 4'd0;
            assign m_axi_gmem_ARVALID = 1'b0;
            assign m_axi_gmem_RREADY = 1'b1;
            assign hc_want = {GMEM_DW{1'b0}};
        end
    endgenerate
    assign m_axi_gmem_ARREGION = 4'd0;
    // ------------------------------------------------------------------ the write channels
    // Only a maps-in-DDR build writes (the scratch buffer); elsewhere they are idle.
    generate
        if (MPS != 0) begin : g_axi_wr
            wire [GAW-1:0] awaddr;
            wire           awlock, wr_busy;
            wire           unused_wr_busy = &{1'b0, wr_busy};
            syna_axi_wr #(.DATA_WIDTH(GMEM_DW), .ADDR_WIDTH(GAW), .ID_WIDTH(1), .LEN_WIDTH(32), .MAX_BURST(AXB),
                          .MAX_OUTSTANDING(AXO)) u_wr (
                .clk(clk), .rst(rst), .cmd_valid(iw_own ? iw_cv : dm_wc_valid), .cmd_ready(wr_cmd_ready),
                .cmd_addr(iw_own ? sb : dm_wc_addr), .cmd_len(iw_own ? TWPF * 4 : dm_wc_len), .busy(wr_busy),
                .done(wr_done), .err_resp(wr_err_resp), .err_cmd(wr_err_cmd),
                .in_valid(iw_own ? iw_bv : dm_w_valid), .in_ready(wr_in_ready), .in_data(iw_own ? iw_beat : dm_w_data),
                .m_axi_awid(m_axi_gmem_AWID), .m_axi_awaddr(awaddr), .m_axi_awlen(m_axi_gmem_AWLEN),
                .m_axi_awsize(m_axi_gmem_AWSIZE), .m_axi_awburst(m_axi_gmem_AWBURST), .m_axi_awlock(awlock),
                .m_axi_awcache(m_axi_gmem_AWCACHE), .m_axi_awprot(m_axi_gmem_AWPROT), .m_axi_awqos(m_axi_gmem_AWQOS),
                .m_axi_awvalid(m_axi_gmem_AWVALID), .m_axi_awready(m_axi_gmem_AWREADY),
                .m_axi_wdata(m_axi_gmem_WDATA), .m_axi_wstrb(m_axi_gmem_WSTRB), .m_axi_wlast(m_axi_gmem_WLAST),
                .m_axi_wvalid(m_axi_gmem_WVALID), .m_axi_wready(m_axi_gmem_WREADY), .m_axi_bid(m_axi_gmem_BID),
                .m_axi_bresp(m_axi_gmem_BRESP), .m_axi_bvalid(m_axi_gmem_BVALID), .m_axi_bready(m_axi_gmem_BREADY));
            assign m_axi_gmem_AWADDR = {{(64 - GAW){1'b0}}, awaddr};
            assign m_axi_gmem_AWLOCK = {1'b0, awlock};
        end else begin : g_no_axi_wr
            assign {wr_cmd_ready, wr_done, wr_err_resp, wr_err_cmd, wr_in_ready} = 5'd0;
            assign m_axi_gmem_AWADDR = 64'd0;
            assign m_axi_gmem_AWLEN = 8'd0;
            assign m_axi_gmem_AWSIZE = 3'd0;
            assign m_axi_gmem_AWBURST = 2'd0;
            assign m_axi_gmem_AWLOCK = 2'd0;
            assign m_axi_gmem_AWCACHE = 4'd0;
            assign m_axi_gmem_AWPROT = 3'd0;
            assign m_axi_gmem_AWQOS = 4'd0;
            assign m_axi_gmem_AWID = 1'b0;
            assign m_axi_gmem_AWVALID = 1'b0;
            assign m_axi_gmem_WDATA = {GMEM_DW{1'b0}};
            assign m_axi_gmem_WSTRB = {(GMEM_DW / 8){1'b0}};
            assign m_axi_gmem_WLAST = 1'b0;
            assign m_axi_gmem_WVALID = 1'b0;
            assign m_axi_gmem_BREADY = 1'b1;
            wire unused_wr = &{1'b0, m_axi_gmem_AWREADY, m_axi_gmem_WREADY, m_axi_gmem_BID, m_axi_gmem_BRESP,
                               m_axi_gmem_BVALID};
        end
    endgenerate
    assign m_axi_gmem_AWREGION = 4'd0;
    wire [P*WB-1:0] ld_row_data = rd_data[ld_sub * ROWB * 8 +: P * WB];
    generate
        if (WDDR != 0) begin : g_loader
    always @(posedge clk) begin
        ld_we <= 1'b0;
        if (rst) begin
            lst <= L_IDLE;
            ld_k <= 32'd0;
            ld_err <= 1'b0;
        end else begin
            if (accept) begin                     // a new inference: its loads start from the first
                ld_k <= 32'd0;
                ld_err <= 1'b0;
            end
            case (lst)
                L_IDLE: if (ld_go) lst <= L_ARM;  // the tile ROM reads word ld_k meanwhile
                L_ARM: begin
                    ld_sub <= {RPBW{1'b0}};
                    ld_row <= 32'd0;
                    ld_j <= 32'd0;
                    ld_addr <= 32'd0;
                    if (!ld_run) lst <= L_IDLE;
                    else if (wb_too_high) begin   // WEIGHTS_BASE beyond the port's address space
                        ld_err <= 1'b1;
                        lst <= L_IDLE;
                    end else lst <= L_CMD;
                end
                L_CMD: if (rd_cmd_ready) lst <= L_DATA;
                default: begin                    // L_DATA
                    if (ld_rvalid) begin
                        ld_we <= ld_row < tl_rows;
                        ld_waddr <= ld_addr[WBAW-1:0] + (ld_bank ? WD_OFF : {WBAW{1'b0}});
                        ld_wdata <= ld_row_data;
                        ld_sub <= (ld_sub == RPB - 1) ? {RPBW{1'b0}} : ld_sub + 1'b1;
                        if (ld_row + 1 == tl_blk) begin
                            ld_row <= 32'd0;
                            ld_j <= ld_j + 1;
                            ld_addr <= ld_j + 1;
                        end else begin
                            ld_row <= ld_row + 1;
                            ld_addr <= ld_addr + tl_tg;
                        end
                    end
                    if (ld_rdone) begin
                        if (rd_err_resp || rd_err_cmd) ld_err <= 1'b1;
                        else ld_k <= ld_k + 1;
                        lst <= L_IDLE;
                    end
                end
            endcase
        end
    end
        end else begin : g_no_loader
            always @(posedge clk) begin
                ld_we <= 1'b0; ld_sub <= {RPBW{1'b0}}; lst <= L_IDLE; ld_k <= 32'd0; ld_err <= 1'b0;
            end
        end
    endgenerate


    // ------------------------------------------------------------------ the schedule
    integer i;
    always @(posedge clk) begin
        if (rst) begin
            state <= S_IDLE;
            layer <= {LAW{1'b0}};
            eng_start <= 1'b0;
            tx_start <= 1'b0;
            spk_we <= 1'b0;
            l1_valid <= 1'b0;
            p_pool_r <= 1'b0;
            p_gate_r <= 1'b0;
            mlp_go <= 1'b0;
            clr_n <= SYNA_AD;
            steps_ok <= 1'b1;
            sending <= 1'b0;
            rx_short <= 1'b0;
            rx_long <= 1'b0;
            rx_range <= 1'b0;
            last_status <= 32'd0;
            last_cycles <= 32'd0;
            last_sats <= 32'd0;
            ddr_err <= 1'b0;
            hc_sent <= 1'b0;
            hc_done <= 1'b1;
            hc_beat <= 6'd0;
            rx_fin <= 1'b0;
            cp_k <= 32'd0;
            cbank <= 1'b0;
            tx_fin <= 1'b0;
            new_mask <= {CMAX{1'b1}};
            scr_err <= 1'b0;
            dm_start <= 1'b0;
        end else begin
            dm_start <= 1'b0;
            eng_start <= 1'b0;
            tx_start <= 1'b0;
            spk_we <= 1'b0;
            mlp_go <= 1'b0;
            if ((state == S_RX || state == S_WAIT) && clr_busy) clr_n <= clr_n + 1'b1;
            case (state)
                S_IDLE: if (accept) begin
                    state <= S_RX;
                    // DDR: the weights check; misaligned or outside the address space: failed, nothing read
                    ddr_err <= WDDR != 0 && (wb_misaligned || wb_outside);
                    scr_err <= MPS != 0 && sb_bad;
                    hc_done <= WDDR == 0 || wb_misaligned || wb_outside;
                    hc_sent <= 1'b0;
                    hc_beat <= 6'd0;
                    rx_fin <= 1'b0;
                    cp_k <= 32'd0;
                    steps_ok <= steps == T;
                    rx_short <= 1'b0;
                    rx_long <= 1'b0;
                    rx_range <= 1'b0;
                    clr_n <= {(AAW + 1){1'b0}};
                    for (i = 0; i < NS; i = i + 1) counts[i] <= 32'd0;
                    for (i = 0; i < NCLS; i = i + 1) scores[i] <= 32'd0;
                end
                S_RX: begin
                    if (rx_done) begin
                        rx_short <= rx_err_short;
                        rx_long <= rx_err_long;
                        rx_range <= rx_err_range;
                    end
                    // the weights check (DDR), alongside the receive
                    if (hc_cmd && !hc_sent && rd_cmd_ready) hc_sent <= 1'b1;
                    if (hc_take) begin
                        hc_beat <= hc_beat + 6'd1;
                        if (rd_data != hc_want) ddr_err <= 1'b1;
                    end
                    if (hc_cmd && rd_done) begin
                        hc_done <= 1'b1;
                        if (rd_err_resp || rd_err_cmd) ddr_err <= 1'b1;
                    end
                    // both done (the on-chip core: the receive alone, as before)
                    if (iw_err) scr_err <= 1'b1;
                    if ((rx_done || rx_fin) && hc_done && iw_idle) begin
                        rx_fin <= 1'b0;
                        if ((rx_done ? (rx_err_short || rx_err_long || rx_err_range) : (rx_short || rx_long || rx_range))
                            || !steps_ok || ddr_err || scr_err || iw_err) begin
                            state <= S_SEND;
                        end else begin
                            state <= S_WAIT;
                        end
                    end else if (rx_done) begin
                        rx_fin <= 1'b1;
                    end
                end
                S_WAIT: if (!clr_busy) begin
                    layer <= {LAW{1'b0}};
                    state <= S_LOAD0;
                end
                S_LOAD0: state <= S_LOAD1;              // schedule ROM read
                S_LOAD1: begin
                    t <= 32'd0;
                    n <= 32'd0;
                    cg <= 32'd0;
                    pos <= 32'd0;
                    out_ptr <= 32'd0;
                    scan_ptr <= d_enc[0] ? 32'd0 : d_ina;
                    l1_valid <= 1'b0;
                    p_pool_r <= att_layer;
                    p_gate_r <= 1'b0;
                    pt <= 32'd0; ptb <= 32'd0; poy <= 32'd0; pox <= 32'd0; pky <= 32'd0; pkx <= 32'd0;
                    ipos <= 32'd0;
                    g0_r <= {FW{1'b0}};
                    new_mask <= {CMAX{1'b1}};
                    jn <= 2'd0;
                    tap_base <= 32'd0;
                    case (d_kind)
                        SYNA_KIND_CONV: if (WDDR != 0) state <= S_TILE; else begin state <= S_CONV; eng_start <= 1'b1; end
                        SYNA_KIND_POOL: state <= MPS != 0 ? S_STEP : S_POOL;
                        SYNA_KIND_MERGE: state <= MPS != 0 ? S_STEP : S_MERGE;
                        default: if (WDDR != 0) state <= S_TILE; else begin state <= S_FC; eng_start <= 1'b1; end
                    endcase
                end
                S_CONV: if (eng_done) begin
                    state <= S_LIF;
                    n <= 32'd0;
                    cg <= 32'd0;
                    pos <= 32'd0;
                end
                S_LIF: begin
                    // issue: read acc/membrane of group n, bias/threshold of group cg
                    l1_valid <= lif_issue;
                    l1_n <= n;
                    l1_cg <= cg;
                    l1_last <= cg + 1 == g_e;
                    if (lif_issue) begin
                        n <= n + 1;
                        cg <= (cg + 1 == g_e) ? 32'd0 : cg + 1;
                        if (cg + 1 == g_e) ipos <= ipos + 1;
                    end
                    // write back: membrane (vm_wdata) and acc = 0 via the port mux; the spike word
                    if (l1_valid) begin
                        word_acc <= spike_word;
                        if (l1_last && !p_pool) begin       // pass 1 of attention writes no spikes
                            spk_we <= 1'b1;
                            spk_waddr <= d_out[SAW-1:0] + out_ptr[SAW-1:0];
                            spk_wdata <= spike_word;
                            tap_idx <= tap_base + out_ptr;
                            out_ptr <= out_ptr + 1;
                        end
                    end
                    if (!lif_issue && !l1_valid && !spk_we) begin
                        if (t + 1 == T && p_pool && more_tiles) begin   // DDR: pass 1 of the next tile
                            g0_r <= g0_r + tg_r;
                            state <= S_TILE;
                        end else if (t + 1 == T && p_pool) begin      // attention: MLP, then pass 2 from t = 0
                            state <= S_MLP;
                            mlp_go <= 1'b1;
                        end else if (MPS != 0) begin                   // maps in DDR: write the band back
                            state <= S_WB;
                        end else if (t + 1 == T && more_tiles) begin   // DDR: the layer's next tile
                            g0_r <= g0_r + tg_r;
                            state <= S_TILE;
                        end else if (t + 1 == T) begin
                            state <= S_NEXT;
                        end else begin
                            t <= t + 1;
                            scan_ptr <= scan_ptr + d_hw;
                            state <= S_CONV;
                            eng_start <= 1'b1;
                        end
                    end
                end
                S_MLP: if (att_done) begin
                    p_pool_r <= 1'b0;
                    p_gate_r <= 1'b1;
                    t <= 32'd0;
                    out_ptr <= 32'd0;
                    ipos <= 32'd0;
                    scan_ptr <= d_enc[0] ? 32'd0 : d_ina;
                    if (WDDR != 0 && g0_r != 0) begin   // DDR, 2+ tiles: pass 2 reloads from tile 0
                        g0_r <= {FW{1'b0}};
                        state <= S_TILE;
                    end else begin
                        state <= S_CONV;
                        eng_start <= 1'b1;
                    end
                end
                S_POOL: begin
                    l1_valid <= pt != p_end;
                    l1_first <= pky == 0 && pkx == 0;
                    l1_last <= p_lastwin;
                    l1_pin <= p_in && pt != p_end;
                    if (pt != p_end) begin
                        if (pkx + 1 != d_k) pkx <= pkx + 1;
                        else begin
                            pkx <= 32'd0;
                            if (pky + 1 != d_k) pky <= pky + 1;
                            else begin
                                pky <= 32'd0;
                                if (pox + 1 != d_wo) pox <= pox + 1;
                                else begin
                                    pox <= 32'd0;
                                    if (poy + 1 != d_ho) poy <= poy + 1;
                                    else begin
                                        poy <= 32'd0;
                                        pt <= pt + 1;
                                        ptb <= ptb + d_hw;
                                    end
                                end
                            end
                        end
                    end
                    if (l1_valid && l1_last) begin
                        spk_we <= 1'b1;
                        spk_waddr <= d_out[SAW-1:0] + out_ptr[SAW-1:0];
                        spk_wdata <= pooled;
                        tap_idx <= tap_base + out_ptr;
                        out_ptr <= out_ptr + 1;
                    end
                    if (pt == p_end && !l1_valid && !spk_we) state <= MPS != 0 ? S_WB : S_NEXT;
                end
                S_MERGE: begin
                    l1_valid <= n != m_end;
                    l1_last <= n[0];
                    if (n != m_end) n <= n + 1;
                    if (l1_valid && !l1_last) merge_a <= spk_rdata;
                    if (l1_valid && l1_last) begin
                        spk_we <= 1'b1;
                        spk_waddr <= d_out[SAW-1:0] + out_ptr[SAW-1:0];
                        spk_wdata <= merged;
                        tap_idx <= tap_base + out_ptr;
                        out_ptr <= out_ptr + 1;
                    end
                    if (n == m_end && !l1_valid && !spk_we) state <= MPS != 0 ? S_WB : S_NEXT;
                end
                S_FC: if (eng_done) begin
                    if (MPS != 0 && t + 1 != T) begin       // maps in DDR: the fc's next input step
                        t <= t + 1;
                        jn <= 2'd0;
                        state <= S_STEP;
                    end else begin
                        state <= S_FCOUT;
                        n <= 32'd0;
                    end
                end
                S_FCOUT: begin
                    l1_valid <= fco_issue;
                    l1_n <= n;
                    if (fco_issue) n <= n + 1;
                    if (l1_valid) begin
                        for (i = 0; i < P; i = i + 1)
                            if ((g0e + l1_n) * P + i < NCLS)
                                scores[(g0e + l1_n) * P + i] <= acc_rdata[i*32 +: 32] + bt_rdata[i*32 +: 32];
                    end
                    if (!fco_issue && !l1_valid) begin
                        if (more_tiles) begin               // DDR: the next tile of classes
                            g0_r <= g0_r + tg_r;
                            state <= S_TILE;
                        end else begin
                            state <= S_NEXT;
                        end
                    end
                end
                S_NEXT: begin
                    if (!is_fc) counts[layer] <= layer_count;
                    if (is_fc || layer + 1 == NL) begin
                        state <= S_SEND;
                    end else begin
                        layer <= layer + 1'b1;
                        state <= S_LOAD0;
                    end
                end
                S_SEND: begin
                    if (!sending) begin
                        // first cycle in S_SEND: latch the results, start the packet
                        sending <= 1'b1;
                        tx_start <= 1'b1;
                        last_cycles <= cyc + NOUT;
                        last_sats <= (ddr_err || scr_err) ? 32'd0 : sat_count;
                        last_status <= status_now;
                    end
                    if (core_done) tx_fin <= 1'b1;
                    if ((core_done || tx_fin) && lst == L_IDLE) begin   // DDR: no load in flight
                        state <= S_IDLE;
                        sending <= 1'b0;
                        tx_fin <= 1'b0;
                    end
                end
                S_TILE: begin                           // DDR: set up the tile at g0, then load it
                    tg_r <= tg_next;
                    e_kkg <= d_k * d_k * tg_next;
                    e_kg <= d_k * tg_next;
                    e_sg <= tg_next << d_slog2;
                    e_skg <= (d_k * tg_next) << d_slog2;
                    e_wog <= d_wo * tg_next;
                    e_nlif <= d_howo * tg_next;
                    new_mask <= ~(({{(CMAX - 1){1'b0}}, 1'b1} << (g0_r * P)) - 1'b1);
                    t <= 32'd0;
                    n <= 32'd0;
                    cg <= 32'd0;
                    out_ptr <= 32'd0;
                    ipos <= 32'd0;
                    scan_ptr <= d_enc[0] ? 32'd0 : d_ina;
                    l1_valid <= 1'b0;
                    state <= S_TLD;
                end
                S_TLD: begin                            // DDR: wait for the tile's load (tile cp_k)
                    if (ld_k > cp_k) begin
                        cp_k <= cp_k + 1;
                        cbank <= NBUF > 1 && cp_k[0];
                        if (MPS != 0) begin                 // maps in DDR: the fc's steps, a conv tile's bands
                            state <= is_fc ? S_STEP : S_BAND;
                            bidx <= sp_band0[BDAW-1:0];
                            jn <= 2'd0;
                        end else begin
                            state <= is_fc ? S_FC : S_CONV;
                            eng_start <= 1'b1;
                        end
                    end else if (ld_err) begin
                        ddr_err <= 1'b1;                // STATUS weights: the rest is not computed
                        state <= S_SEND;
                    end
                end
                S_BAND: state <= S_BAND1;               // maps in DDR: the band ROM reads word bidx
                S_BAND1: begin
                    e_nlif <= bd_onpos * tg_r;
                    e_ho <= bd_ny[FW-1:0];
                    e_pady <= bd_pady[3:0];
                    t <= 32'd0;
                    jn <= 2'd0;
                    state <= S_STEP;
                end
                S_STEP: begin                           // maps in DDR: the step's next DMA job, or its compute
                    n <= 32'd0;
                    cg <= 32'd0;
                    pos <= 32'd0;
                    out_ptr <= 32'd0;
                    ipos <= 32'd0;
                    pt <= 32'd0; ptb <= 32'd0; poy <= 32'd0; pox <= 32'd0; pky <= 32'd0; pkx <= 32'd0;
                    l1_valid <= 1'b0;
                    tap_base <= t * {{(32 - FW){1'b0}}, d_howo} + (is_conv ? bd_tapoff : 32'd0);
                    scan_ptr <= enc ? bd_scan0 : {{(32 - FW){1'b0}}, d_ina};
                    e_scan <= is_fc ? d_hw : bd_inpos[FW-1:0];
                    if (job_any) begin
                        state <= S_DWAIT;
                        dm_start <= 1'b1;
                        dm_fin <= 1'b0;
                        rp_fin <= !job_raw;
                        dm_k <= job_kout ? d_kout[SKW-1:0] : d_kin[SKW-1:0];
                        dm_mode <= job_mode; dm_addr <= job_addr; dm_npos <= job_npos; dm_pw <= job_pw;
                        dm_base <= job_base;
                    end else begin
                        case (d_kind)
                            SYNA_KIND_POOL: state <= S_POOL;
                            SYNA_KIND_MERGE: state <= S_MERGE;
                            SYNA_KIND_CONV: begin state <= S_CONV; eng_start <= 1'b1; end
                            default: begin state <= S_FC; eng_start <= 1'b1; end
                        endcase
                    end
                end
                S_DWAIT: begin                          // maps in DDR: a DMA job (and the replay of a frame)
                    if (dm_done) dm_fin <= 1'b1;
                    if (rp_done) rp_fin <= 1'b1;
                    if (dm_done && dm_err) begin
                        scr_err <= 1'b1;                // STATUS scratch: the rest is not computed
                        state <= S_SEND;
                    end else if ((dm_done || dm_fin) && (rp_done || rp_fin)) begin
                        if (jn == 2'd3) begin           // the write-back is over: the next step, band, tile
                            jn <= 2'd0;
                            if (t + 1 != T) begin
                                t <= t + 1;
                                state <= S_STEP;
                            end else if (is_conv && bidx + 1'b1 != sp_band0[BDAW-1:0] + sp_nband[BDAW-1:0]) begin
                                bidx <= bidx + 1'b1;
                                state <= S_BAND;
                            end else if (is_conv && more_tiles) begin
                                g0_r <= g0_r + tg_r;
                                state <= S_TILE;
                            end else begin
                                state <= S_NEXT;
                            end
                        end else begin
                            jn <= jn + 2'd1;
                            state <= S_STEP;
                        end
                    end
                end
                S_WB: begin                             // maps in DDR: write the step's output back
                    jn <= 2'd3;
                    state <= S_DWAIT;
                    dm_start <= 1'b1;
                    dm_fin <= 1'b0;
                    rp_fin <= 1'b1;
                    dm_k <= d_kout[SKW-1:0];
                    dm_mode <= 2'd1;
                    dm_addr <= wb_addr;
                    dm_npos <= is_conv ? bd_onpos : {{(32 - FW){1'b0}}, d_howo};
                    dm_pw <= sp_opw[5:0];
                    dm_base <= d_out[SAW-1:0];
                end
                default: state <= S_IDLE;
            endcase
        end
    end
endmodule
`default_nettype wire
